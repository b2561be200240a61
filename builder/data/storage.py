"""Read-only access to OME-Zarr data in a local folder, over HTTP(S) or in S3.

One small interface, :class:`Store`, so every later step (metadata, arrays,
thumbnails) is the same code for all three places::

    store = open_store(url, settings, root, untrusted=True)
    store.get("zarr.json")                 # bytes, or None when the object does not exist
    store.get("0/c/0/0/0", start=0, end=8)   # a byte range (end exclusive); suffix=N for the last N
    store.list_prefix("")                  # [(key, size, etag)] when listing is cheap, else None

Every store counts its requests and bytes and enforces one image's budget from
``settings.limits`` (bytes, requests, wall time, per-request timeout): data from
strangers' pull requests must cost bounded work. Problems raise
:class:`StorageError` carrying a registered check id (NET/SAF), the URL and the key.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import socket
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from builder.core.settings import ArchiveSettings, Limits, storage_root_path

# A cheap listing answers in one request; beyond this many objects we stop and
# report the size as unknown instead of crawling a huge bucket.
MAX_LISTED_OBJECTS = 1000
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
# Browsers send an Origin header; viewers need the answer to allow it.
CORS_PROBE_ORIGIN = "https://viewer.example.org"


class StorageError(Exception):
    """One clear problem reaching or reading storage: a check id, a message, the URL and key."""

    def __init__(self, check: str, message: str, *, url: str, key: str | None = None) -> None:
        super().__init__(message)
        self.check = check
        self.message = message
        self.url = url
        self.key = key


@dataclass(slots=True)
class Budget:
    """What reading one image may cost. Exceeding any bound is error SAF008 (or NET004 for time)."""

    max_bytes: int
    max_requests: int
    max_seconds: float
    request_timeout_s: float
    max_document_bytes: int

    @classmethod
    def from_limits(cls, limits: Limits) -> Budget:
        return cls(
            max_bytes=limits.max_image_bytes_read,
            max_requests=limits.max_image_requests,
            max_seconds=limits.image_timeout_s,
            request_timeout_s=limits.request_timeout_s,
            max_document_bytes=limits.max_metadata_bytes,
        )


@dataclass(slots=True)
class RequestRecord:
    key: str
    status: int  # HTTP-like: 200/206 found, 404 missing
    nbytes: int
    byte_range: str | None = None


@dataclass(slots=True)
class Usage:
    requests: int = 0
    bytes: int = 0
    not_found: int = 0
    log: list[RequestRecord] = field(default_factory=list)


class Store(ABC):
    """A read-only key/value view of one Zarr hierarchy, with accounting and a budget.

    Subclasses implement :meth:`_fetch` (one request) and may implement :meth:`_list`.
    """

    kind = "store"

    def __init__(self, url: str, budget: Budget) -> None:
        self.url = url.rstrip("/")
        self.budget = budget
        self.usage = Usage()
        self.started = time.monotonic()
        self.etags: dict[str, str] = {}  # key -> ETag (or mtime/size token) of objects read
        self.notes: list[tuple[str, str]] = []  # (check id, message) warnings found while reading
        self.cors_ok: bool | None = None

    # -- interface ---------------------------------------------------------------
    def location(self, key: str = "") -> str:
        """The address of one key, for messages."""
        return f"{self.url}/{key}" if key else self.url

    def get(
        self,
        key: str,
        *,
        start: int | None = None,
        end: int | None = None,
        suffix: int | None = None,
        max_bytes: int | None = None,
    ) -> bytes | None:
        """The object's bytes (or a range of them), or None when it does not exist."""
        self._check_budget(key)
        remaining = self.budget.max_bytes - self.usage.bytes
        cap = remaining if max_bytes is None else min(max_bytes, remaining)
        status, data, etag = self._fetch(key, start, end, suffix, cap)
        rng = None
        if start is not None or suffix is not None:
            rng = f"-{suffix}" if suffix is not None else f"{start}-{'' if end is None else end - 1}"
        self.usage.requests += 1
        self.usage.log.append(RequestRecord(key, status, len(data or b""), rng))
        if data is None:
            self.usage.not_found += 1
            return None
        self.usage.bytes += len(data)
        if etag:
            self.etags[key] = etag
        return data

    def get_document(self, key: str) -> bytes | None:
        """A metadata document, refused beyond ``limits.max_metadata_bytes``."""
        return self.get(key, max_bytes=self.budget.max_document_bytes)

    def list_prefix(self, prefix: str = "") -> list[tuple[str, int, str | None]] | None:
        """(key, size, etag-like token) below prefix when one cheap listing covers it, else None."""
        self._check_budget(prefix or "/")
        listed = self._list(prefix)
        self.usage.requests += 1
        self.usage.log.append(RequestRecord(f"LIST {prefix or '/'}", 200, 0))
        return listed

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    # -- helpers for subclasses ------------------------------------------------
    def _check_budget(self, key: str) -> None:
        if self.usage.requests >= self.budget.max_requests:
            raise StorageError(
                "SAF008",
                f"reading {self.url} needed more than {self.budget.max_requests} requests "
                f"(limits.max_image_requests); stopped before '{key}'",
                url=self.url, key=key,
            )
        if self.elapsed > self.budget.max_seconds:
            raise StorageError(
                "NET004",
                f"reading {self.url} took longer than {self.budget.max_seconds:g} s (limits.image_timeout_s); "
                f"stopped before '{key}'",
                url=self.url, key=key,
            )

    def _too_big(self, key: str, cap: int) -> StorageError:
        if cap >= self.budget.max_bytes - self.usage.bytes:
            return StorageError(
                "SAF008",
                f"reading {self.location(key)} would exceed the {self.budget.max_bytes} bytes allowed per image "
                "(limits.max_image_bytes_read)",
                url=self.url, key=key,
            )
        return StorageError(
            "SAF011",
            f"{self.location(key)} is larger than {cap} bytes (limits.max_metadata_bytes)",
            url=self.url, key=key,
        )

    def _note_cors(self, allowed: str | None) -> None:
        """Record, from the first answer, whether a browser on another origin may read this store."""
        if self.cors_ok is not None:
            return
        self.cors_ok = allowed in ("*", CORS_PROBE_ORIGIN)
        if not self.cors_ok:
            self.notes.append((
                "NET006",
                f"{self.url} sends no Access-Control-Allow-Origin header for Origin {CORS_PROBE_ORIGIN}: "
                "browser viewers such as vizarr cannot open this image; enable CORS on the bucket",
            ))

    def _time_left(self) -> float:
        return max(0.05, self.budget.max_seconds - self.elapsed)

    @abstractmethod
    def _fetch(
        self, key: str, start: int | None, end: int | None, suffix: int | None, cap: int
    ) -> tuple[int, bytes | None, str | None]:
        """One request: (status, data or None when missing, etag). Reads at most ``cap`` bytes."""

    def _list(self, prefix: str) -> list[tuple[str, int, str | None]] | None:
        return None


def _slice(data: bytes, start: int | None, end: int | None, suffix: int | None) -> bytes:
    if suffix is not None:
        return data[-suffix:] if suffix else b""
    return data[start or 0:end]


# ------------------------------------------------------------------ local folders

class LocalStore(Store):
    """A folder. With ``confine`` set, every key must resolve (symlinks included) inside it."""

    kind = "local"

    def __init__(self, path: Path, budget: Budget, *, confine: Path | None = None) -> None:
        super().__init__(str(path), budget)
        self.path = path
        self.confine = confine.resolve() if confine is not None else None
        self._resolve("")  # refuse an image folder outside the root before any read

    def _resolve(self, key: str) -> Path:
        target = (self.path / key) if key else self.path
        if self.confine is not None:
            real = target.resolve()
            if not real.is_relative_to(self.confine):
                raise StorageError(
                    "SAF001",
                    f"{target} resolves to {real}, outside the storage root {self.confine}",
                    url=self.url, key=key or None,
                )
            return real
        return target

    def _fetch(self, key, start, end, suffix, cap):
        path = self._resolve(key)
        try:
            with path.open("rb") as fh:
                stat = os.fstat(fh.fileno())
                size = stat.st_size
                if suffix is not None:
                    begin = max(0, size - suffix)
                    stop = size
                else:
                    begin = min(start or 0, size)
                    stop = size if end is None else min(end, size)
                if stop - begin > cap:
                    raise self._too_big(key, cap)
                fh.seek(begin)
                data = fh.read(max(0, stop - begin))
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return 404, None, None
        except PermissionError:
            raise StorageError("NET003", f"{path} is not readable (permission denied)", url=self.url, key=key)
        return 200, data, f"{stat.st_mtime_ns}-{stat.st_size}"

    def _list(self, prefix):
        base = self._resolve(prefix.rstrip("/")) if prefix else self._resolve("")
        found: list[tuple[str, int, str | None]] = []
        for folder, dirs, files in os.walk(base):
            for name in files:
                full = Path(folder) / name
                if full.is_symlink():
                    real = full.resolve()
                    if not real.is_file() or (self.confine is not None and not real.is_relative_to(self.confine)):
                        continue  # a dangling link, or one the reads would refuse (SAF001)
                stat = full.stat()
                found.append((full.relative_to(self.path.resolve() if self.confine else self.path).as_posix(),
                              stat.st_size, f"{stat.st_mtime_ns}-{stat.st_size}"))
                if len(found) > MAX_LISTED_OBJECTS:
                    return None
        return found


# ------------------------------------------------------------------ HTTP(S)

def _is_public_address(text: str) -> bool:
    """Whether an address may be read from an untrusted URL: globally routable unicast only.

    This also refuses carrier-grade NAT (100.64.0.0/10), benchmarking, documentation and
    multicast ranges. An IPv6 scope id ("fe80::1%eth0") is dropped; IPv4-mapped IPv6 is judged
    as the IPv4 address it carries, so every Python version gives the same answer.
    """
    address = ipaddress.ip_address(text.split("%")[0])
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


class PrivatePeerError(Exception):
    """An untrusted https connection reached a non-public address (DNS rebinding): SAF002.

    Deliberately not an OSError: urllib3 would then treat it as a broken connection (retry
    budget, MaxRetryError) and requests would turn it into a generic ConnectionError (NET001);
    as a plain Exception it passes both unchanged (urllib3 still closes the connection).
    """

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"host {host} connected to the non-public address {address}")
        self.host = host
        self.address = address


@functools.cache
def _guarded_https_classes() -> tuple[type, type, type]:
    """requests/urllib3 classes whose https connections refuse a non-public peer once connected.

    ``_refuse_private_host`` resolves the name once, before any request; urllib3 resolves it
    again when connecting, so a rebinding DNS server could answer a public address first and
    127.0.0.1 or 169.254.169.254 second. Checking ``getpeername()`` of the socket actually
    connected, before TLS or any byte of the request, closes that window.

    Not covered: requests through a proxy (HTTPS_PROXY). The proxy resolves the name and
    connects, so our socket's peer is the proxy; those go through requests' own
    ProxyManager with stock connections, and the proxy must enforce egress rules itself.

    Returns (adapter, connection pool, connection) classes; built on first use because
    requests is imported only when an HTTP store is opened.
    """
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPSConnection
    from urllib3.connectionpool import HTTPSConnectionPool
    from urllib3.exceptions import NewConnectionError

    class PublicPeerHTTPSConnection(HTTPSConnection):
        def _new_conn(self):
            sock = super()._new_conn()
            try:
                peer = sock.getpeername()[0]
            except OSError as exc:  # reset already: nothing verified, so nothing is read
                sock.close()
                raise NewConnectionError(self, f"Failed to establish a new connection: {exc}") from exc
            if not _is_public_address(peer):
                sock.close()
                raise PrivatePeerError(self.host, peer.split("%")[0])
            return sock

    class PublicPeerHTTPSConnectionPool(HTTPSConnectionPool):
        ConnectionCls = PublicPeerHTTPSConnection

    class PublicPeerAdapter(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            super().init_poolmanager(*args, **kwargs)
            # A copy: the module-level mapping is shared by every PoolManager.
            self.poolmanager.pool_classes_by_scheme = {
                **self.poolmanager.pool_classes_by_scheme, "https": PublicPeerHTTPSConnectionPool,
            }

    return PublicPeerAdapter, PublicPeerHTTPSConnectionPool, PublicPeerHTTPSConnection


def _private_peer(exc: BaseException | None) -> PrivatePeerError | None:
    """The PrivatePeerError behind an exception, should requests or urllib3 ever wrap it."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, PrivatePeerError):
            return current
        todo.extend([current.__cause__, current.__context__, getattr(current, "reason", None)])
        todo.extend(arg for arg in current.args if isinstance(arg, BaseException))
    return None


class HttpStore(Store):
    """An http(s) prefix. Redirects are followed only on the same host; CORS is recorded.

    ``untrusted`` https stores (URLs from records) check the address each connection
    actually reached and refuse non-public ones (SAF002), see :func:`_guarded_https_classes`.
    """

    kind = "http"

    def __init__(self, url: str, budget: Budget, *, session=None, untrusted: bool = True) -> None:
        super().__init__(url, budget)
        import requests  # deferred: only HTTP stores need it

        self._requests = requests
        self.session = session or requests.Session()
        self.host = urlsplit(self.url).netloc
        self.untrusted = untrusted
        if untrusted:
            # Also on a session passed in: an untrusted store never reads without the guard.
            # Redirects stay on the same host and scheme, so they use this adapter too.
            adapter_cls = _guarded_https_classes()[0]
            self.session.mount("https://", adapter_cls())

    def _private_peer_error(self, peer: PrivatePeerError, url: str, key: str) -> StorageError:
        return StorageError(
            "SAF002",
            f"{url}: host {peer.host} connected to the non-public address {peer.address}; "
            "only public hosts are read",
            url=self.url, key=key,
        )

    def _fetch(self, key, start, end, suffix, cap):
        requests = self._requests
        url = self.location(key)
        headers = {"Origin": CORS_PROBE_ORIGIN, "Accept-Encoding": "identity"}
        if suffix is not None:
            headers["Range"] = f"bytes=-{suffix}"
        elif start is not None:
            headers["Range"] = f"bytes={start}-" + ("" if end is None else str(end - 1))
        timeout = min(self.budget.request_timeout_s, self._time_left())
        for _hop in range(4):
            try:
                resp = self.session.get(url, headers=headers, stream=True, allow_redirects=False, timeout=timeout)
            except PrivatePeerError as exc:
                raise self._private_peer_error(exc, url, key) from None
            except requests.exceptions.Timeout:
                raise StorageError(
                    "NET004", f"{url} did not answer within {timeout:g} s (limits.request_timeout_s)",
                    url=self.url, key=key,
                ) from None
            except requests.exceptions.ConnectionError as exc:
                peer = _private_peer(exc)
                if peer is not None:
                    raise self._private_peer_error(peer, url, key) from None
                raise StorageError(
                    "NET001", f"cannot connect to {urlsplit(url).netloc} for {url}: {_reason(exc)}",
                    url=self.url, key=key,
                ) from None
            if resp.is_redirect:
                target = requests.compat.urljoin(url, resp.headers.get("Location", ""))
                resp.close()
                target_host = urlsplit(target).netloc
                if urlsplit(target).scheme != urlsplit(url).scheme:
                    raise StorageError(
                        "NET005",
                        f"{url} redirects from {urlsplit(url).scheme}:// to {urlsplit(target).scheme}:// "
                        f"({target}); not followed",
                        url=self.url, key=key,
                    )
                if target_host != self.host:
                    raise StorageError(
                        "NET005",
                        f"{url} redirects from host {self.host} to another host {target_host} ({target}); "
                        "not followed",
                        url=self.url, key=key,
                    )
                url = target
                continue
            break
        else:
            raise StorageError("NET007", f"{url} redirects in a loop", url=self.url, key=key)
        with resp:
            if resp.status_code == 404 or resp.status_code == 410:
                return 404, None, None
            if resp.status_code in (401, 403):
                raise StorageError(
                    "NET003", f"{url} answered {resp.status_code} {resp.reason}: access denied",
                    url=self.url, key=key,
                )
            if resp.status_code == 416:  # a range past the end of a short object
                return 206, b"", resp.headers.get("ETag")
            if resp.status_code not in (200, 206):
                raise StorageError(
                    "NET007", f"{url} answered {resp.status_code} {resp.reason}", url=self.url, key=key
                )
            self._note_cors(resp.headers.get("Access-Control-Allow-Origin"))
            declared = resp.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > cap and resp.status_code == 200 and (
                start is None and suffix is None
            ):
                raise self._too_big(key, cap)
            chunks: list[bytes] = []
            total = 0
            try:
                for piece in resp.iter_content(64 * 1024):
                    total += len(piece)
                    if total > cap:
                        raise self._too_big(key, cap)
                    if self.elapsed > self.budget.max_seconds:
                        raise StorageError(
                            "NET004",
                            f"{url} sent data too slowly: over {self.budget.max_seconds:g} s "
                            "(limits.image_timeout_s)",
                            url=self.url, key=key,
                        )
                    chunks.append(piece)
            except (requests.exceptions.Timeout, requests.exceptions.ConnectionError) as exc:
                raise StorageError(
                    "NET004", f"{url} stopped sending data: {_reason(exc)}", url=self.url, key=key
                ) from None
            data = b"".join(chunks)
            if resp.status_code == 200 and (start is not None or suffix is not None):
                data = _slice(data, start, end, suffix)  # server ignored the Range header
                self.usage.bytes += total - len(data)  # the budget counts what came over the wire
            return resp.status_code, data, resp.headers.get("ETag")



def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out", "No route to host"):
        if marker in text:
            return marker.lower()
    return type(exc).__name__


# ------------------------------------------------------------------ S3

_S3_FILESYSTEMS: dict[tuple, object] = {}


def _s3_filesystem(endpoint_url: str | None, anonymous: bool, timeout: float):
    """One s3fs filesystem per process and endpoint (creating one costs a session set-up)."""
    key = (endpoint_url, anonymous, timeout, os.getpid())
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
        except Exception as exc:  # botocore and aiohttp raise many types; name the endpoint
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


# ------------------------------------------------------------------ opening a URL

def is_loopback_url(url: str) -> bool:
    return (urlsplit(url).hostname or "") in LOOPBACK_HOSTS


def _refuse_private_host(url: str) -> None:
    """Untrusted https URLs must not reach the builder's own network (SSRF)."""
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return  # unresolvable: the request itself reports NET001 with the URL
    for info in infos:
        # The clearest message, before any request. A rebinding DNS server can answer
        # differently when urllib3 connects: HttpStore checks the connected address as well.
        text = str(info[4][0])
        if not _is_public_address(text):
            address = text.split("%")[0]
            raise StorageError(
                "SAF002",
                f"{url}: host {host} resolves to the non-public address {address}; only public hosts are read",
                url=url,
            )


def resolve_url(url: str, settings: ArchiveSettings, root: Path) -> str:
    """A record's URL made absolute: s3:// and http(s):// stay; a relative path joins the storage root."""
    if "://" in url or url.startswith("file:"):
        return url.rstrip("/")
    base = settings.storage_root
    if "://" in base:
        return base.rstrip("/") + "/" + url.strip("/")
    folder = storage_root_path(settings, root)
    return str((folder / url) if not Path(url).is_absolute() else Path(url))


def open_store(
    url: str,
    settings: ArchiveSettings,
    root: Path,
    *,
    untrusted: bool = True,
    budget: Budget | None = None,
) -> Store:
    """The store for one image URL (as written in a record or on the command line).

    Relative paths resolve below ``settings.storage_root``. Untrusted URLs (from
    records) may not use file://, absolute paths, paths escaping the storage
    root (also through symbolic links) or private addresses. Plain http is read
    only from 127.0.0.1 (tests, local previews). The command line
    (``untrusted=False``) may also name any absolute local path.
    """
    budget = budget or Budget.from_limits(settings.limits)
    lower = url.lower()
    if lower.startswith("file:"):
        raise StorageError("SAF002", f"{url}: file:// URLs are refused; give a path relative to the storage root",
                           url=url)
    if lower.startswith("s3://"):
        return S3Store(url, budget, endpoint_url=settings.s3_endpoint_url, anonymous=settings.s3_anonymous)
    if lower.startswith("https://") or lower.startswith("http://"):
        if lower.startswith("http://") and not is_loopback_url(url):
            raise StorageError("SAF002", f"{url}: plain http:// is only read from 127.0.0.1; use https://", url=url)
        if untrusted and lower.startswith("https://"):
            _refuse_private_host(url)
        return HttpStore(url, budget, untrusted=untrusted)
    if "://" in url:
        raise StorageError("SAF002", f"{url}: unsupported URL scheme; use s3://, https:// or a relative path",
                           url=url)
    path = Path(url)
    if path.is_absolute():
        if untrusted:
            raise StorageError("SAF001", f"{url} must be a path inside the storage root, not an absolute path",
                               url=url)
        return LocalStore(path, budget)  # the command line names any local folder
    if "://" in settings.storage_root:
        return open_store(resolve_url(url, settings, root), settings, root, untrusted=untrusted, budget=budget)
    folder = storage_root_path(settings, root)
    if not untrusted:
        return LocalStore(folder / url, budget)
    if ".." in path.parts:
        raise StorageError("SAF001", f"{url} must be a path inside the storage root {folder}, without '..'",
                           url=url)
    return LocalStore(folder / url, budget, confine=folder)
