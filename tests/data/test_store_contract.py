"""One suite of store cases run against every backend: local folder, HTTP (read-only) and moto S3.

Modelled on zarr-python's StoreTests: a base class holds the cases, each
backend's subclass says how to make a store holding given objects. The
writable cases run on the archive's stores (local folder and S3).
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import pytest

from builder.core.settings import ArchiveSettings
from builder.data.storage import (
    Budget,
    ChecksumMismatch,
    LocalArchiveStore,
    LocalStore,
    ObjectExists,
    S3ArchiveStore,
    S3Store,
    StorageError,
    open_store,
)

OBJECTS = {
    "zarr.json": b'{"zarr_format": 3, "node_type": "group"}',
    "0/zarr.json": b'{"zarr_format": 3, "node_type": "array"}',
    "0/c/0/0": bytes(range(256)) * 40,
    "0/c/0/1": b"\x00" * 3000,
    "0/c/1/0": b"",
    "a.b/x": b"sorted after 0/ and before a/",
    "a/y": b"y",
}


def budget() -> Budget:
    return Budget(max_bytes=10**9, max_requests=10**6, max_seconds=120, request_timeout_s=20,
                  max_document_bytes=10**6)


class ReadableStoreCases:
    """Cases every store passes; subclasses implement ``make(objects) -> Store``."""

    lists = True

    def make(self, objects: dict[str, bytes]):
        raise NotImplementedError

    def test_get_whole_range_suffix_and_missing(self):
        store = self.make(OBJECTS)
        assert store.get("0/c/0/0") == OBJECTS["0/c/0/0"]
        assert store.get("0/c/0/0", start=5, end=9) == bytes([5, 6, 7, 8])
        assert store.get("0/c/0/0", suffix=2) == bytes([254, 255])
        assert store.get("missing") is None
        assert store.usage.not_found == 1

    def test_stream_yields_bounded_blocks_of_the_whole_object(self):
        store = self.make(OBJECTS)
        blocks = list(store.stream("0/c/0/0", block_size=1000))
        assert b"".join(blocks) == OBJECTS["0/c/0/0"]
        assert max(len(b) for b in blocks) <= 1000
        assert list(store.stream("0/c/1/0")) in ([], [b""])

    def test_stream_of_a_missing_object_is_net002(self):
        store = self.make(OBJECTS)
        with pytest.raises(StorageError) as err:
            list(store.stream("0/c/9/9"))
        assert err.value.check == "NET002" and "0/c/9/9" in err.value.message

    def test_stream_refuses_an_object_over_the_limit(self):
        store = self.make(OBJECTS)
        with pytest.raises(StorageError) as err:
            list(store.stream("0/c/0/0", block_size=512, max_bytes=4000))
        assert err.value.check == "SAF008" and "max_object_bytes" in err.value.message

    def test_stat(self):
        store = self.make(OBJECTS)
        info = store.stat("0/c/0/1")
        assert info is not None and info.size == 3000 and info.key == "0/c/0/1"
        assert store.stat("nothing/here") is None

    def test_iter_objects_lists_everything_in_key_order(self):
        store = self.make(OBJECTS)
        if not self.lists:
            assert not store.can_list
            with pytest.raises(StorageError) as err:
                list(store.iter_objects(""))
            assert err.value.check == "NET007" and "cannot be listed" in err.value.message
            return
        listed = list(store.iter_objects(""))
        assert [o.key for o in listed] == sorted(OBJECTS)
        assert {o.key: o.size for o in listed} == {k: len(v) for k, v in OBJECTS.items()}
        assert [o.key for o in store.iter_objects("0/c")] == ["0/c/0/0", "0/c/0/1", "0/c/1/0"]
        assert list(store.iter_objects("nothing")) == []


class WritableStoreCases(ReadableStoreCases):
    """Cases of the archive's stores; subclasses also implement ``make_empty() -> WritableStore``."""

    keeps_sha256 = False

    def make(self, objects):
        store = self.make_empty()
        for key, data in objects.items():
            store.put(key, data)
        return store

    def test_put_streams_blocks_and_reports_the_sha256(self):
        store = self.make_empty()
        data = bytes(range(256)) * 1000
        blocks = (data[i:i + 4096] for i in range(0, len(data), 4096))
        info = store.put("img/0/c/0", blocks, size=len(data), sha256=hashlib.sha256(data).hexdigest())
        assert info.size == len(data) and info.sha256 == hashlib.sha256(data).hexdigest()
        assert store.get("img/0/c/0") == data
        stat = store.stat("img/0/c/0")
        assert stat.size == len(data)
        if self.keeps_sha256:
            assert stat.sha256 == hashlib.sha256(data).hexdigest()

    def test_an_existing_object_is_never_replaced(self):
        store = self.make_empty()
        store.put("v1/x", b"first")
        with pytest.raises(ObjectExists) as err:
            store.put("v1/x", b"second")
        assert err.value.check == "ARC002" and "v1/x" in err.value.message and "never replaced" in err.value.message
        assert store.get("v1/x") == b"first"

    def test_bytes_not_matching_their_checksum_are_not_stored(self):
        store = self.make_empty()
        with pytest.raises(ChecksumMismatch) as err:
            store.put("v1/y", b"payload", sha256=hashlib.sha256(b"other").hexdigest())
        assert err.value.check == "ARC003" and "v1/y" in err.value.message
        assert store.stat("v1/y") is None
        assert list(store.iter_objects("")) == []

    def test_a_write_interrupted_midway_leaves_no_object(self):
        store = self.make_empty()

        def failing_blocks():
            yield b"a" * 1000
            raise OSError("source connection reset")

        with pytest.raises(OSError):
            store.put("v1/z", failing_blocks())
        assert store.stat("v1/z") is None
        assert list(store.iter_objects("")) == []

    def test_a_wrong_size_is_refused(self):
        store = self.make_empty()
        with pytest.raises(StorageError) as err:
            store.put("v1/s", iter([b"12345"]), size=6)
        assert err.value.check == "ARC003" and "expected 6" in err.value.message
        assert store.stat("v1/s") is None


class TestLocalStore(ReadableStoreCases):
    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path):
        self.folder = tmp_path / "store"

    def make(self, objects):
        for key, data in objects.items():
            (self.folder / key).parent.mkdir(parents=True, exist_ok=True)
            (self.folder / key).write_bytes(data)
        return LocalStore(self.folder, budget(), confine=self.folder)


class TestHttpStore(ReadableStoreCases):
    lists = False

    @pytest.fixture(autouse=True)
    def _server(self, http):
        self.http = http
        self.folder = http.root / f"contract-{uuid.uuid4().hex[:8]}"

    def make(self, objects):
        for key, data in objects.items():
            (self.folder / key).parent.mkdir(parents=True, exist_ok=True)
            (self.folder / key).write_bytes(data)
        settings = ArchiveSettings(storage_root=str(self.folder))
        return open_store(self.http.url_for(self.folder), settings, self.folder, untrusted=False)

    def test_stat_is_one_head_request(self):
        store = self.make(OBJECTS)
        self.http.log.clear()
        assert store.stat("0/c/0/1").size == 3000
        assert [(r.method, r.nbytes) for r in self.http.log] == [("HEAD", 0)]


class TestS3Store(ReadableStoreCases):
    @pytest.fixture(autouse=True)
    def _server(self, s3_server):
        self.s3 = s3_server
        self.prefix = f"contract-{uuid.uuid4().hex[:8]}"

    def make(self, objects):
        for key, data in objects.items():
            self.s3.put(f"{self.prefix}/{key}", data)
        return S3Store(f"s3://{self.s3.bucket}/{self.prefix}", budget(), endpoint_url=self.s3.endpoint_url)

    def test_listing_pages_past_one_thousand_objects(self):
        client = self.s3.client()
        for i in range(1003):
            client.put_object(Bucket=self.s3.bucket, Key=f"{self.prefix}/many/{i:05d}", Body=b"x")
        store = S3Store(f"s3://{self.s3.bucket}/{self.prefix}", budget(), endpoint_url=self.s3.endpoint_url)
        keys = [o.key for o in store.iter_objects("many")]
        assert keys == [f"many/{i:05d}" for i in range(1003)]
        assert store.list_prefix("many") is None  # the cheap listing still stops at one page


class TestLocalArchiveStore(WritableStoreCases):
    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path):
        self.folder = tmp_path / "archive"

    def make_empty(self):
        return LocalArchiveStore(self.folder)

    def test_objects_are_read_only_files_and_no_temporary_file_stays(self):
        store = self.make_empty()
        store.put("A/v1/x", b"data")
        path = self.folder / "A/v1/x"
        assert path.stat().st_mode & 0o222 == 0
        assert sorted(p.name for p in path.parent.iterdir()) == ["x"]

    def test_a_left_over_partial_file_is_no_object(self):
        store = self.make_empty()
        (self.folder / "A/v1").mkdir(parents=True)
        (self.folder / "A/v1/.x.123.partial").write_bytes(b"half")
        assert list(store.iter_objects("")) == []

    def test_clearing_interrupted_writes_removes_temporary_files_only(self):
        store = self.make_empty()
        store.put("A/v1/img/x", b"kept")
        (self.folder / "A/v1/img/.y.123.partial").write_bytes(b"half")
        assert store.clear_interrupted("A/v1/img") == 1
        assert sorted(p.name for p in (self.folder / "A/v1/img").iterdir()) == ["x"]

    def test_keys_cannot_leave_the_store(self, tmp_path):
        store = self.make_empty()
        outside = tmp_path / "outside"
        outside.mkdir()
        (self.folder / "link").symlink_to(outside)
        for key in ("../escape", "/abs", "link/file"):
            with pytest.raises(StorageError) as err:
                store.put(key, b"x")
            assert err.value.check == "SAF001"
        assert list(outside.iterdir()) == []


class TestS3ArchiveStore(WritableStoreCases):
    keeps_sha256 = True

    @pytest.fixture(autouse=True)
    def _server(self, s3_server):
        self.s3 = s3_server
        self.prefix = f"archive-{uuid.uuid4().hex[:8]}"

    def make_empty(self, **kwargs):
        return S3ArchiveStore(f"s3://{self.s3.bucket}/{self.prefix}", endpoint_url=self.s3.endpoint_url, **kwargs)

    def test_large_objects_go_up_in_parts_and_are_verified_whole(self):
        store = self.make_empty(part_size=5 * 1024 * 1024)
        data = hashlib.sha256(b"seed").digest() * (11 * 1024 * 1024 // 32)
        blocks = (data[i:i + 1024 * 1024] for i in range(0, len(data), 1024 * 1024))
        info = store.put("big", blocks, size=len(data), sha256=hashlib.sha256(data).hexdigest())
        assert info.size == len(data)
        assert b"".join(store.stream("big")) == data
        with pytest.raises(ChecksumMismatch):
            store.put("big2", iter([data]), sha256="0" * 64)
        assert store.stat("big2") is None
        uploads = self.s3.client().list_multipart_uploads(Bucket=self.s3.bucket, Prefix=self.prefix)
        assert uploads.get("Uploads", []) == []  # the refused upload was aborted, not left behind

    def test_clearing_interrupted_writes_aborts_unfinished_uploads(self):
        store = self.make_empty()
        store.put("A/v1/img/x", b"kept")
        client = self.s3.client()
        client.create_multipart_upload(Bucket=self.s3.bucket, Key=f"{self.prefix}/A/v1/img/y")
        assert store.clear_interrupted("A/v1/img") == 1
        assert client.list_multipart_uploads(Bucket=self.s3.bucket, Prefix=self.prefix).get("Uploads", []) == []
        assert [o.key for o in store.iter_objects("A")] == ["A/v1/img/x"]

    def test_a_failed_put_names_the_bucket(self):
        store = S3ArchiveStore("s3://no-such-bucket-here/x", endpoint_url=self.s3.endpoint_url)
        with pytest.raises(StorageError) as err:
            store.put("k", b"x")
        assert "no-such-bucket-here" in err.value.message


def test_local_archive_store_is_readable_by_inspection_paths(tmp_path: Path):
    # The archive's local store is also a plain LocalStore for readers (build, fixity).
    store = LocalArchiveStore(tmp_path / "a")
    store.put("x/zarr.json", b"{}")
    reader = LocalStore(tmp_path / "a", budget(), confine=tmp_path / "a")
    assert reader.get_document("x/zarr.json") == b"{}"
