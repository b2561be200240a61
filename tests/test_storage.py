"""builder.storage against a real HTTP server, moto's S3 server and local folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from builder.settings import ArchiveSettings, Limits
from builder.storage import Budget, HttpStore, LocalStore, S3Store, StorageError, open_store


def settings_for(tmp_path: Path, **limits) -> ArchiveSettings:
    return ArchiveSettings(storage_root=str(tmp_path), limits=Limits(**limits))


@pytest.fixture
def blob_dir(http) -> Path:
    folder = http.root / "blobs"
    folder.mkdir(exist_ok=True)
    (folder / "a.bin").write_bytes(bytes(range(256)) * 4)
    (folder / "doc.json").write_bytes(b'{"x": 1}')
    return folder


def test_http_get_range_suffix_and_missing(http, blob_dir, tmp_path):
    store = open_store(http.url_for(blob_dir), settings_for(tmp_path), tmp_path, untrusted=False)
    assert isinstance(store, HttpStore)
    assert store.get("a.bin") == bytes(range(256)) * 4
    assert store.get("a.bin", start=10, end=14) == bytes([10, 11, 12, 13])
    assert store.get("a.bin", suffix=3) == bytes([253, 254, 255])
    assert store.get("missing.json") is None
    assert store.usage.requests == 4 and store.usage.not_found == 1
    assert store.usage.bytes == 1024 + 4 + 3
    assert [r.range for r in http.log] == [None, "bytes=10-13", "bytes=-3", None]
    assert store.etags["a.bin"].startswith('"')
    assert store.cors_ok is True and store.notes == []


def test_http_server_ignoring_ranges(http, blob_dir, tmp_path):
    http.ranges = False
    store = open_store(http.url_for(blob_dir), settings_for(tmp_path), tmp_path, untrusted=False)
    assert store.get("a.bin", start=10, end=14) == bytes([10, 11, 12, 13])
    assert store.get("a.bin", suffix=2) == bytes([254, 255])
    assert store.usage.bytes == 2 * 1024  # the budget counts what came over the wire


def test_http_without_cors_warns(http, blob_dir, tmp_path):
    http.cors = False
    store = open_store(http.url_for(blob_dir), settings_for(tmp_path), tmp_path, untrusted=False)
    store.get("doc.json")
    assert store.notes and store.notes[0][0] == "NET006"
    assert "vizarr" in store.notes[0][1] and "enable CORS on the bucket" in store.notes[0][1]


@pytest.mark.parametrize("status, check", [(403, "NET003"), (401, "NET003"), (500, "NET007")])
def test_http_errors_name_the_url(http, blob_dir, tmp_path, status, check):
    http.fail("blobs/doc.json", status)
    store = open_store(http.url_for(blob_dir), settings_for(tmp_path), tmp_path, untrusted=False)
    with pytest.raises(StorageError) as err:
        store.get("doc.json")
    assert err.value.check == check
    assert http.url_for(blob_dir / "doc.json") in err.value.message and str(status) in err.value.message


def test_http_redirect_to_other_host_is_refused(http, blob_dir, tmp_path):
    http.redirect("blobs/doc.json", "http://localhost:9/elsewhere/doc.json")
    store = open_store(http.url_for(blob_dir), settings_for(tmp_path), tmp_path, untrusted=False)
    with pytest.raises(StorageError) as err:
        store.get("doc.json")
    assert err.value.check == "NET005"
    assert f"127.0.0.1:{http.port}" in err.value.message and "localhost:9" in err.value.message


def test_http_redirect_on_same_host_is_followed(http, blob_dir, tmp_path):
    http.redirect("blobs/old.json", f"{http.url}/blobs/doc.json")
    store = open_store(http.url_for(blob_dir), settings_for(tmp_path), tmp_path, untrusted=False)
    assert store.get("old.json") == b'{"x": 1}'


def test_http_hanging_server_times_out(http, blob_dir, tmp_path):
    http.hang("blobs/doc.json", 3)
    store = open_store(http.url_for(blob_dir), settings_for(tmp_path, request_timeout_s=0.5), tmp_path,
                       untrusted=False)
    with pytest.raises(StorageError) as err:
        store.get("doc.json")
    assert err.value.check == "NET004" and "doc.json" in err.value.message


def test_connection_refused(refused_url, tmp_path):
    store = open_store(refused_url + "/img.zarr", settings_for(tmp_path), tmp_path, untrusted=False)
    with pytest.raises(StorageError) as err:
        store.get("zarr.json")
    assert err.value.check == "NET001" and "connection refused" in err.value.message


def test_budgets(http, blob_dir, tmp_path):
    store = open_store(http.url_for(blob_dir), settings_for(tmp_path, max_image_requests=2), tmp_path,
                       untrusted=False)
    store.get("doc.json")
    store.get("doc.json")
    with pytest.raises(StorageError) as err:
        store.get("doc.json")
    assert err.value.check == "SAF008" and "max_image_requests" in err.value.message
    small = open_store(http.url_for(blob_dir), settings_for(tmp_path, max_image_bytes_read=100), tmp_path,
                       untrusted=False)
    with pytest.raises(StorageError) as err:
        small.get("a.bin")
    assert err.value.check == "SAF008" and "max_image_bytes_read" in err.value.message
    doc_limit = open_store(http.url_for(blob_dir), settings_for(tmp_path, max_metadata_bytes=100), tmp_path,
                           untrusted=False)
    with pytest.raises(StorageError) as err:
        doc_limit.get_document("a.bin")
    assert err.value.check == "SAF011"


def test_untrusted_urls_are_refused(tmp_path):
    settings = settings_for(tmp_path)
    for url, check in (
        ("file:///etc/passwd", "SAF002"),
        ("http://example.org/img.zarr", "SAF002"),
        ("https://127.0.0.1/img.zarr", "SAF002"),
        ("https://169.254.169.254/latest", "SAF002"),
        ("ftp://example.org/x", "SAF002"),
        ("../outside.zarr", "SAF001"),
        ("/etc", "SAF001"),
    ):
        with pytest.raises(StorageError) as err:
            open_store(url, settings, tmp_path, untrusted=True)
        assert err.value.check == check, url
        assert url in err.value.message


def test_local_store_is_confined_to_the_root(tmp_path):
    root = tmp_path / "storage"
    (root / "img.zarr").mkdir(parents=True)
    (root / "img.zarr" / "zarr.json").write_text("{}")
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    os.symlink(secret, root / "img.zarr" / "leak.json")
    os.symlink(tmp_path, root / "escape.zarr")
    settings = ArchiveSettings(storage_root=str(root))
    store = open_store("img.zarr", settings, tmp_path, untrusted=True)
    assert isinstance(store, LocalStore)
    assert store.get("zarr.json") == b"{}"
    assert store.get("nothing.json") is None
    with pytest.raises(StorageError) as err:
        store.get("leak.json")
    assert err.value.check == "SAF001" and "outside the storage root" in err.value.message
    with pytest.raises(StorageError) as err:
        store.get("../../secret.txt")
    assert err.value.check == "SAF001"
    with pytest.raises(StorageError) as err:
        open_store("escape.zarr", settings, tmp_path, untrusted=True)
    assert err.value.check == "SAF001"
    # The command line is trusted: any local path reads.
    trusted = open_store(str(tmp_path), settings, tmp_path, untrusted=False)
    assert trusted.get("secret.txt") == b"top secret"


def test_local_listing_and_ranges(tmp_path):
    (tmp_path / "img" / "0").mkdir(parents=True)
    (tmp_path / "img" / "0" / "c").write_bytes(b"abcdef")
    store = LocalStore(tmp_path / "img", Budget.from_limits(Limits()))
    assert store.get("0/c", start=2, end=4) == b"cd"
    assert store.get("0/c", suffix=2) == b"ef"
    assert [(k, n) for k, n, _ in store.list_prefix("")] == [("0/c", 6)]


def test_s3_get_range_list_and_missing(s3_server, tmp_path):
    s3_server.put("storage-test/img.zarr/zarr.json", b'{"a": 1}')
    s3_server.put("storage-test/img.zarr/0/c/0", b"0123456789")
    settings = ArchiveSettings(storage_root=str(tmp_path), s3_endpoint_url=s3_server.endpoint_url)
    store = open_store(f"s3://{s3_server.bucket}/storage-test/img.zarr", settings, tmp_path)
    assert isinstance(store, S3Store)
    assert store.get("zarr.json") == b'{"a": 1}'
    assert store.get("0/c/0", start=2, end=5) == b"234"
    assert store.get("0/c/0", suffix=2) == b"89"
    assert store.get("missing.json") is None
    listed = sorted((k, n) for k, n, _ in store.list_prefix(""))
    assert listed == [("0/c/0", 10), ("zarr.json", 8)]
    # one request per read: no HEAD before GET
    assert store.usage.requests == 5 and store.usage.not_found == 1
    assert store.etags["zarr.json"]


def test_s3_requests_carry_an_origin_and_read_the_cors_answer(s3_server, tmp_path):
    # moto's server sends CORS headers on every answer (flask-cors), so a bucket without CORS cannot be
    # staged here; the missing-header warning is the shared Store._note_cors, tested over HTTP above.
    # What S3-specific is checked: the request carries an Origin, and the answer's header is read.
    from builder.storage import CORS_PROBE_ORIGIN

    settings = ArchiveSettings(storage_root=str(tmp_path), s3_endpoint_url=s3_server.endpoint_url)
    s3_server.put("cors/zarr.json", b"{}")
    store = open_store(f"s3://{s3_server.bucket}/cors", settings, tmp_path)
    assert store.get("zarr.json") == b"{}"
    assert store.cors_ok is True and store.notes == []
    sent = []
    store.fs.s3.meta.events.register("before-send.s3.GetObject", lambda request, **_: sent.append(request.headers))
    store.get("zarr.json")
    assert sent and sent[0]["Origin"] == CORS_PROBE_ORIGIN.encode()


def test_s3_missing_bucket_and_refused_endpoint(s3_server, tmp_path, refused_url):
    settings = ArchiveSettings(storage_root=str(tmp_path), s3_endpoint_url=s3_server.endpoint_url)
    store = open_store("s3://no-such-bucket/img.zarr", settings, tmp_path)
    assert store.get("zarr.json") is None
    dead = ArchiveSettings(storage_root=str(tmp_path), s3_endpoint_url=refused_url,
                           limits=Limits(request_timeout_s=2))
    store = open_store("s3://bucket/img.zarr", dead, tmp_path)
    with pytest.raises(StorageError) as err:
        store.get("zarr.json")
    assert err.value.check == "NET001" and refused_url in err.value.message
