"""S3 stores through s3fs: read-only sources, and the archive's writable store."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable
from urllib.parse import urlsplit

from builder.data.storage.base import (
    CORS_PROBE_ORIGIN,
    MAX_LISTED_OBJECTS,
    Budget,
    ChecksumMismatch,
    ObjectExists,
    ObjectInfo,
    StorageError,
    Store,
    WritableStore,
)

_S3_FILESYSTEMS: dict[tuple, object] = {}


def _s3_filesystem(endpoint_url: str | None, anonymous: bool, timeout: float, *, pool: int = 10):
    """One s3fs filesystem per process and endpoint (creating one costs a session set-up)."""
    key = (endpoint_url, anonymous, timeout, pool, os.getpid())
    fs = _S3_FILESYSTEMS.get(key)
    if fs is None:
        import s3fs

        fs = s3fs.S3FileSystem(
            anon=anonymous,
            endpoint_url=endpoint_url,
            skip_instance_cache=True,
            config_kwargs={
                "connect_timeout": timeout,
                "read_timeout": timeout,
                "retries": {"max_attempts": 1, "mode": "standard"},
                "max_pool_connections": pool,
                # botocore hashes every request body for SigV4 over plain http (a third SHA-256 of each
                # copied byte). Puts carry ChecksumSHA256, which S3 verifies, so the payload hash adds
                # nothing: 128 x 1 MiB local -> moto, 16 threads, load 2.6: our CPU 1.72 -> 1.33 s.
                "s3": {"payload_signing_enabled": False},
            },
        )
        fs.retries = 1  # our budget decides; s3fs would otherwise retry with back-off
        _S3_FILESYSTEMS[key] = fs
    return fs


async def _send_origin(fs, bucket: str) -> None:
    """Make the s3fs client send an Origin header, as a browser would, so the answer shows the bucket's CORS."""
    await fs.set_session()
    client = await fs.get_s3(bucket)
    if getattr(client, "_bioarchive_origin", False):
        return

    def add_origin(request, **_kwargs) -> None:
        request.headers["Origin"] = CORS_PROBE_ORIGIN

    client.meta.events.register("before-sign.s3.GetObject", add_origin)
    client._bioarchive_origin = True


class S3Store(Store):
    """An s3://bucket/prefix read with single GET requests (no HEAD first) through s3fs."""

    kind = "s3"

    def __init__(self, url: str, budget: Budget, *, endpoint_url: str | None, anonymous: bool = True) -> None:
        super().__init__(url, budget)
        parts = urlsplit(self.url)
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        self.endpoint_url = endpoint_url
        self.anonymous = anonymous
        self.fs = _s3_filesystem(endpoint_url, anonymous, budget.request_timeout_s)

    def _object(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix and key else (key or self.prefix)

    def _run(self, coro_fn: Callable, key: str):
        import asyncio

        from fsspec.asyn import sync

        timeout = min(self.budget.request_timeout_s, self._time_left())
        try:
            return sync(self.fs.loop, asyncio.wait_for, coro_fn(), timeout + 1)
        except FileNotFoundError:
            return None
        except PermissionError:
            raise StorageError(
                "NET003", f"{self.location(key)}: access denied (anonymous read not allowed)",
                url=self.url, key=key,
            ) from None
        except TimeoutError as exc:
            raise StorageError(
                "NET004", f"{self.location(key)} did not answer within {timeout:g} s", url=self.url, key=key
            ) from exc
        except StorageError:
            raise
        except Exception as exc:  # noqa: BLE001 - botocore and aiohttp raise many types; name the endpoint
            name = type(exc).__name__
            text = str(exc)
            if "NoSuchBucket" in text or "NoSuchKey" in text:
                return None
            if "AccessDenied" in text or "Forbidden" in text:
                raise StorageError("NET003", f"{self.location(key)}: access denied", url=self.url, key=key) from None
            if "Timeout" in name or "timed out" in text.lower():
                raise StorageError(
                    "NET004", f"{self.location(key)} did not answer within {timeout:g} s", url=self.url, key=key
                ) from None
            if "Connect" in name or "connect" in text.lower():
                raise StorageError(
                    "NET001",
                    f"cannot connect to the S3 endpoint {self.endpoint_url or 'AWS'} for {self.location(key)}",
                    url=self.url, key=key,
                ) from None
            raise StorageError(
                "NET007", f"{self.location(key)}: S3 error {name}: {text[:200]}", url=self.url, key=key
            ) from None

    def _fetch(self, key, start, end, suffix, cap):
        kwargs = {"Bucket": self.bucket, "Key": self._object(key)}
        if suffix is not None:
            kwargs["Range"] = f"bytes=-{suffix}"
        elif start is not None:
            kwargs["Range"] = f"bytes={start}-" + ("" if end is None else str(end - 1))

        async def get_object():
            await _send_origin(self.fs, self.bucket)
            resp = await self.fs._call_s3("get_object", **kwargs)
            headers = resp.get("ResponseMetadata", {}).get("HTTPHeaders", {})
            self._note_cors(headers.get("access-control-allow-origin"))
            body = resp["Body"]
            try:
                length = resp.get("ContentLength")
                if length is not None and length > cap:
                    raise self._too_big(key, cap)
                parts: list[bytes] = []
                total = 0
                while True:  # read(n) returns what has arrived, not n bytes: loop to the end
                    piece = await body.read(min(cap + 1 - total, 1024 * 1024) or 1)
                    if not piece:
                        break
                    parts.append(piece)
                    total += len(piece)
                    if total > cap:
                        raise self._too_big(key, cap)
                data = b"".join(parts)
            finally:
                body.close()
            return data, resp.get("ETag")

        result = self._run(get_object, key)
        if result is None:
            return 404, None, None
        data, etag = result
        return (206 if "Range" in kwargs else 200), data, etag

    def _list(self, prefix):
        full = self._object(prefix.rstrip("/")) if prefix else self.prefix

        async def list_objects():
            return await self.fs._call_s3(
                "list_objects_v2", Bucket=self.bucket, Prefix=(full + "/") if full else "", MaxKeys=MAX_LISTED_OBJECTS
            )

        resp = self._run(list_objects, prefix or "/")
        if resp is None or resp.get("IsTruncated"):
            return None
        strip = len(self.prefix) + 1 if self.prefix else 0
        return [(o["Key"][strip:], int(o["Size"]), o.get("ETag")) for o in resp.get("Contents", [])]

    def _iter_objects(self, prefix):
        full = self._object(prefix) if prefix else self.prefix
        strip = len(self.prefix) + 1 if self.prefix else 0
        token = None
        while True:
            kwargs = {"Bucket": self.bucket, "Prefix": (full + "/") if full else ""}
            if token:
                kwargs["ContinuationToken"] = token

            async def list_page(kwargs=kwargs):
                return await self.fs._call_s3("list_objects_v2", **kwargs)

            resp = self._run(list_page, prefix or "/")
            self._count(f"LIST {prefix or '/'}", 200, 0)
            if resp is None:
                return
            for entry in resp.get("Contents", []):  # S3 lists in key order
                yield ObjectInfo(entry["Key"][strip:], int(entry["Size"]), entry.get("ETag"))
            token = resp.get("NextContinuationToken")
            if not resp.get("IsTruncated") or not token:
                return

    def _stream(self, key, block_size):
        async def get_object():
            return await self.fs._call_s3("get_object", Bucket=self.bucket, Key=self._object(key))

        resp = self._run(get_object, key)
        if resp is None:
            raise FileNotFoundError(key)
        if resp.get("ETag"):
            self.etags[key] = resp["ETag"]
        body = resp["Body"]

        async def next_block() -> bytes:
            # read(n) returns what has arrived, often far less than n: gather a whole block in
            # one trip to the event loop, not one trip per network packet.
            parts: list[bytes] = []
            got = 0
            while got < block_size:
                piece = await body.read(block_size - got)
                if not piece:
                    break
                parts.append(piece)
                got += len(piece)
            return b"".join(parts)

        try:
            while True:
                block = self._run(next_block, key)
                if not block:
                    return
                yield block
        finally:
            body.close()

    def _stat(self, key):
        if self.anonymous:
            return self._stat_by_range(key)
        async def head_object():
            return await self.fs._call_s3(
                "head_object", Bucket=self.bucket, Key=self._object(key), ChecksumMode="ENABLED"
            )

        resp = self._run(head_object, key)
        if resp is None:
            return None
        return ObjectInfo(key, int(resp["ContentLength"]), resp.get("ETag"), _full_object_sha256(resp))


    def _stat_by_range(self, key):
        """Size from a one-byte GET: public buckets grant GetObject, and a HEAD may be refused without it."""
        async def first_byte():
            resp = await self.fs._call_s3("get_object", Bucket=self.bucket, Key=self._object(key), Range="bytes=0-0")
            resp["Body"].close()
            return resp

        try:
            resp = self._run(first_byte, key)
        except StorageError as exc:
            if "InvalidRange" in exc.message or "416" in exc.message:
                return ObjectInfo(key, 0)  # an empty object has no first byte
            raise
        if resp is None:
            return None
        total = (resp.get("ContentRange") or "").rpartition("/")[2]
        size = int(total) if total.isdigit() else int(resp.get("ContentLength", 0))
        return ObjectInfo(key, size, resp.get("ETag"))


def _full_object_sha256(resp: dict) -> str | None:
    """S3's own SHA-256 of the whole object, hex; None for multipart (composite) checksums."""
    value = resp.get("ChecksumSHA256")
    if not value or "-" in value or resp.get("ChecksumType") == "COMPOSITE":
        return None
    try:
        return base64.b64decode(value).hex()
    except ValueError:
        return None


class S3ArchiveStore(S3Store, WritableStore):
    """The archive's store in an S3 bucket: whole-object puts, checked by S3 against our SHA-256.

    Objects up to ``part_size`` go up in one PUT carrying ``ChecksumSHA256`` (S3
    refuses the body if it does not match and keeps the checksum for fixity);
    larger ones in a multipart upload with per-part checksums, completed only
    after the whole object's SHA-256 matched. ``If-None-Match: *`` makes S3
    itself refuse to replace an existing object.
    """

    def __init__(
        self, url: str, budget: Budget | None = None, *, endpoint_url: str | None,
        part_size: int = 16 * 1024 * 1024, max_connections: int = 32,
    ) -> None:
        budget = budget or Budget.unbounded()
        Store.__init__(self, url, budget)
        parts = urlsplit(self.url)
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        self.endpoint_url = endpoint_url
        self.anonymous = False
        self.part_size = part_size
        self.fs = _s3_filesystem(endpoint_url, False, budget.request_timeout_s, pool=max_connections)

    def clear_interrupted(self, prefix: str) -> int:
        full = self._object(prefix.strip("/"))
        resp = self._call(prefix, "list_multipart_uploads", Bucket=self.bucket, Prefix=full)
        uploads = resp.get("Uploads", [])
        for upload in uploads:
            self._abort(upload["Key"], upload["Key"], upload["UploadId"])
        return len(uploads)

    def _put(self, key, blocks, size, sha256, overwrite):
        digest = hashlib.sha256()
        buffer = bytearray()
        upload_id = None
        parts: list[dict] = []
        written = 0
        object_key = self._object(key)
        try:
            for block in blocks:
                digest.update(block)
                written += len(block)
                buffer += block
                while len(buffer) >= self.part_size:
                    if upload_id is None:
                        upload_id = self._create_upload(key, object_key)
                    parts.append(self._upload_part(key, object_key, upload_id, len(parts) + 1,
                                                   bytes(buffer[:self.part_size])))
                    del buffer[:self.part_size]
            actual = digest.hexdigest()
            if sha256 is not None and actual != sha256:
                raise ChecksumMismatch(self.url, key, sha256, actual)
            if size is not None and written != size:
                raise StorageError(
                    "ARC003", f"{self.location(key)}: received {written} bytes, expected {size}; not stored",
                    url=self.url, key=key,
                )
            if upload_id is None:
                self._put_whole(key, object_key, bytes(buffer), actual, overwrite)
            else:
                if buffer:
                    parts.append(self._upload_part(key, object_key, upload_id, len(parts) + 1, bytes(buffer)))
                self._complete(key, object_key, upload_id, parts, overwrite)
                upload_id = None
        finally:
            if upload_id is not None:  # nothing half-written stays behind as an upload in progress
                self._abort(key, object_key, upload_id)
        return ObjectInfo(key, written, None, actual)

    def _call(self, key: str, method: str, overwrite: bool = True, **kwargs):
        async def call():
            return await self.fs._call_s3(method, **kwargs)

        try:
            result = self._run(call, key)
        except StorageError as exc:
            # s3fs turns S3's 412 PreconditionFailed (If-None-Match) into FileExistsError
            if not overwrite and any(m in exc.message for m in ("PreconditionFailed", "FileExistsError", "412")):
                raise ObjectExists(self.url, key) from None
            raise
        if result is None:
            raise StorageError("NET002", f"{self.location(key)}: bucket {self.bucket} does not exist",
                               url=self.url, key=key)
        return result

    def _put_whole(self, key, object_key, data, sha256_hex, overwrite):
        kwargs = {
            "Bucket": self.bucket, "Key": object_key, "Body": data, "ChecksumAlgorithm": "SHA256",
            "ChecksumSHA256": base64.b64encode(bytes.fromhex(sha256_hex)).decode(),
        }
        if not overwrite:
            kwargs["IfNoneMatch"] = "*"
        self._call(key, "put_object", overwrite, **kwargs)

    def _create_upload(self, key, object_key):
        resp = self._call(key, "create_multipart_upload", Bucket=self.bucket, Key=object_key,
                          ChecksumAlgorithm="SHA256")
        return resp["UploadId"]

    def _upload_part(self, key, object_key, upload_id, number, data):
        checksum = base64.b64encode(hashlib.sha256(data).digest()).decode()
        resp = self._call(key, "upload_part", Bucket=self.bucket, Key=object_key, UploadId=upload_id,
                          PartNumber=number, Body=data, ChecksumAlgorithm="SHA256", ChecksumSHA256=checksum)
        return {"PartNumber": number, "ETag": resp["ETag"], "ChecksumSHA256": checksum}

    def _complete(self, key, object_key, upload_id, parts, overwrite):
        kwargs = {"Bucket": self.bucket, "Key": object_key, "UploadId": upload_id,
                  "MultipartUpload": {"Parts": parts}}
        if not overwrite:
            kwargs["IfNoneMatch"] = "*"
        self._call(key, "complete_multipart_upload", overwrite, **kwargs)

    def _abort(self, key, object_key, upload_id):
        try:
            self._call(key, "abort_multipart_upload", Bucket=self.bucket, Key=object_key, UploadId=upload_id)
        except StorageError:
            pass  # the bucket's lifecycle rule removes stale uploads (docs/guides/operating.md)
