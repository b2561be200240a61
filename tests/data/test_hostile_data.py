"""Hostile Zarr data and unfriendly servers: each costs one clear diagnostic, never the build.

Every case runs through inspect_images, i.e. in an isolated worker, as a real
build would. Bombs are crafted as compressed bytes directly (gzip members of
zeros, zstd RLE blocks), so the test never holds the inflated data itself.
"""

from __future__ import annotations

import gzip
import json
import os
import resource
import shutil
import struct
import time
from pathlib import Path

import numpy as np
import pytest

from builder.core.settings import ArchiveSettings, Limits
from builder.data.inspection import ImageTarget, inspect_images
from builder.testing.ngff_writer import write_image

BOMB_BYTES = 3 * 1024**3  # what one 64 x 64 chunk inflates to
WORKER_MEMORY = 1024**3


@pytest.fixture(scope="module")
def hostile_root(http_server) -> Path:
    root = http_server.root / "hostile"
    root.mkdir(exist_ok=True)
    return root


def fresh_image(root: Path, name: str, version: str = "0.4", compressor="zstd") -> Path:
    path = root / name
    if path.exists():
        shutil.rmtree(path)
    data = np.arange(64 * 64, dtype=np.uint8).reshape(64, 64)
    return write_image(path, data, axes="yx", version=version, levels=1, chunks=(64, 64), compressor=compressor)


def edit_json(path: Path, change) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def array_doc(image: Path, version: str) -> Path:
    return image / "0" / (".zarray" if version == "0.4" else "zarr.json")


def chunk_file(image: Path, version: str) -> Path:
    return image / "0" / ("0/0" if version == "0.4" else "c/0/0")


def run(settings: ArchiveSettings, url: str, root: Path, *, kind="image", untrusted=True,
        cache: Path | None = None):
    target = ImageTarget("OIA-000001/hostile/img", url, kind, untrusted=untrusted)
    out = inspect_images([target], settings, root, thumbnails=cache is not None, cache_dir=cache)
    return out[target.key]


def settings_for(root: Path, **limits) -> ArchiveSettings:
    limits.setdefault("worker_memory_bytes", WORKER_MEMORY)
    return ArchiveSettings(storage_root=str(root), limits=Limits(**limits))


def only(outcome, check):
    errors = [d for d in outcome.diagnostics if d.severity.value == "error"]
    assert [d.check for d in errors] == [check], outcome.diagnostics
    return errors[0]


# ------------------------------------------------------------------ codecs and dtypes

@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_pickle_codec_is_refused_before_any_chunk_is_read(hostile_root, http, tmp_path, version):
    image = fresh_image(hostile_root, f"pickle-{version}.zarr", version)

    def to_pickle(doc):
        if version == "0.4":
            doc["compressor"] = {"id": "pickle", "protocol": 5}
        else:
            doc["codecs"] = [{"name": "bytes"}, {"name": "numcodecs.pickle", "configuration": {}}]

    edit_json(array_doc(image, version), to_pickle)
    outcome = run(settings_for(http.root), http.url_for(image), http.root, untrusted=False, cache=tmp_path)
    d = only(outcome, "SAF003")
    assert http.url_for(image) in d.message and "pickle" in d.message
    assert d.extra["document"] == f"0/{array_doc(image, version).name}"
    assert not any("/0/0" in r.path or "/c/" in r.path for r in http.log)  # no chunk fetched


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_object_dtype_is_refused(hostile_root, http, tmp_path, version):
    image = fresh_image(hostile_root, f"object-{version}.zarr", version)
    edit_json(array_doc(image, version), lambda d: d.update({"dtype": "|O"} if version == "0.4" else
                                                          {"data_type": "object"}))
    d = only(run(settings_for(http.root), http.url_for(image), http.root, untrusted=False, cache=tmp_path), "SAF004")
    assert "object" in d.message or "|O" in d.message


def test_oversized_chunks_and_absurd_shapes(hostile_root, tmp_path):
    image = fresh_image(hostile_root, "huge-chunks.zarr")
    edit_json(array_doc(image, "0.4"), lambda d: d.update({"shape": [100000, 100000], "chunks": [50000, 50000]}))
    outcome = run(settings_for(hostile_root), "huge-chunks.zarr", tmp_path, cache=tmp_path / "c")
    d = only(outcome, "SAF005")
    assert "max_chunk_bytes" in d.message and d.extra["key"] == "chunks"
    assert outcome.facts is not None and outcome.facts.shape == [100000, 100000]  # described, not read

    absurd = fresh_image(hostile_root, "absurd.zarr", "0.5")
    edit_json(array_doc(absurd, "0.5"), lambda d: d.update({"shape": [2**60, 2**60]}))
    outcome = run(settings_for(hostile_root), "absurd.zarr", tmp_path, cache=tmp_path / "c")
    assert "SAF007" in [d.check for d in outcome.diagnostics]
    assert "2**40" in outcome.diagnostics[0].message or str(2**40) in outcome.diagnostics[0].message


def zstd_rle_bomb(size: int) -> bytes:
    """A valid zstd frame of RLE blocks: 4 bytes per 128 KiB of zeros, content size declared up front."""
    block = 128 * 1024
    out = bytearray(struct.pack("<I", 0xFD2FB528))
    out.append(0xE0)  # 8-byte content size, single segment, no checksum, no dictionary
    out += struct.pack("<Q", size)
    remaining = size
    while remaining:
        n = min(block, remaining)
        remaining -= n
        header = (1 if remaining == 0 else 0) | (1 << 1) | (n << 3)
        out += header.to_bytes(3, "little") + b"\x00"
    return bytes(out)


def gzip_bomb(size: int) -> bytes:
    """Concatenated gzip members of zeros (a valid gzip stream): ~1 KiB per MiB of output."""
    member_size = 64 * 1024**2
    member = gzip.compress(bytes(member_size), compresslevel=9, mtime=0)
    return member * (size // member_size)


@pytest.mark.parametrize("version, compressor, bomb", [
    ("0.4", "gzip", gzip_bomb),
    ("0.5", "zstd", zstd_rle_bomb),
])
def test_decompression_bomb_costs_one_error(hostile_root, http, tmp_path, version, compressor, bomb):
    image = fresh_image(hostile_root, f"bomb-{version}.zarr", version, compressor=compressor)
    chunk_file(image, version).write_bytes(bomb(BOMB_BYTES))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    outcome = run(settings_for(http.root), http.url_for(image), http.root, untrusted=False, cache=tmp_path)
    d = only(outcome, "SAF009")
    assert http.url_for(image) in d.message and "worker_memory_bytes" in d.message
    # the parent never inflated anything
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024
    assert time.monotonic() - started < 60


def test_chunk_that_does_not_decode(hostile_root, tmp_path):
    image = fresh_image(hostile_root, "garbage.zarr", "0.5")
    chunk_file(image, "0.5").write_bytes(b"this is not zstd")
    outcome = run(settings_for(hostile_root), "garbage.zarr", tmp_path, cache=tmp_path / "c")
    d = only(outcome, "IMG013")
    assert "level '0'" in d.message and d.extra["document"] == "0/zarr.json"
    # the facts survive a failed thumbnail, and nothing is cached: the next build tries again
    assert outcome.facts.shape == [64, 64] and outcome.facts.thumbnails == {}
    again = run(settings_for(hostile_root), "garbage.zarr", tmp_path, cache=tmp_path / "c")
    assert not again.cached and [d.check for d in again.diagnostics] == ["IMG013"]


# ------------------------------------------------------------------ metadata documents

def test_invalid_and_oversized_metadata(hostile_root, tmp_path):
    image = fresh_image(hostile_root, "badjson.zarr", "0.5")
    (image / "zarr.json").write_text('{"zarr_format": 3, "node_type": "group", ')
    d = only(run(settings_for(hostile_root), "badjson.zarr", tmp_path), "SAF011")
    assert "not valid JSON" in d.message and d.extra["document"] == "zarr.json"
    big = fresh_image(hostile_root, "bigjson.zarr", "0.5")
    edit_json(big / "zarr.json", lambda d: d["attributes"].update({"padding": "x" * 5000}))
    d = only(run(settings_for(hostile_root, max_metadata_bytes=4096), "bigjson.zarr", tmp_path), "SAF011")
    assert "max_metadata_bytes" in d.message


def test_not_ngff_and_deep_nesting(hostile_root, tmp_path):
    image = fresh_image(hostile_root, "plain.zarr", "0.5")
    edit_json(image / "zarr.json", lambda d: d.update({"attributes": {}}))
    assert only(run(settings_for(hostile_root), "plain.zarr", tmp_path), "IMG001")
    deep = fresh_image(hostile_root, "deep.zarr", "0.5")
    (deep / "zarr.json").write_text("[" * 100000 + "]" * 100000)
    assert only(run(settings_for(hostile_root), "deep.zarr", tmp_path), "SAF011")


def test_missing_level_array(hostile_root, tmp_path):
    image = fresh_image(hostile_root, "nolevel.zarr", "0.4")
    (image / "0" / ".zarray").unlink()
    d = only(run(settings_for(hostile_root), "nolevel.zarr", tmp_path), "IMG011")
    assert "0/.zarray" in d.message


# ------------------------------------------------------------------ servers and paths

def test_not_found(http, tmp_path):
    url = f"{http.url}/hostile/no-such-image.zarr"
    d = only(run(settings_for(http.root), url, http.root, untrusted=False), "NET002")
    assert url in d.message and "zarr.json or .zattrs" in d.message


def test_forbidden(hostile_root, http):
    image = fresh_image(hostile_root, "forbidden.zarr", "0.5")
    http.fail("hostile/forbidden.zarr", 403)
    d = only(run(settings_for(http.root), http.url_for(image), http.root, untrusted=False), "NET003")
    assert "403" in d.message and http.url_for(image) in d.message


def test_connection_refused(refused_url, tmp_path):
    d = only(run(settings_for(tmp_path), refused_url + "/img.zarr", tmp_path, untrusted=False), "NET001")
    assert refused_url.split("//")[1] in d.message


def test_hanging_server(hostile_root, http):
    image = fresh_image(hostile_root, "slow.zarr", "0.5")
    http.hang("hostile/slow.zarr", 20)
    started = time.monotonic()
    d = only(run(settings_for(http.root, request_timeout_s=1), http.url_for(image), http.root, untrusted=False),
             "NET004")
    assert time.monotonic() - started < 10 and "zarr.json" in d.message


def test_trickling_server_is_stopped_by_the_worker_timeout(hostile_root, http, tmp_path):
    image = fresh_image(hostile_root, "trickle.zarr", "0.5")
    http.trickle("hostile/trickle.zarr/0/c", 0.3)
    started = time.monotonic()
    outcome = run(settings_for(http.root, image_timeout_s=2), http.url_for(image), http.root, untrusted=False,
                  cache=tmp_path)
    d = only(outcome, "SAF010")
    assert "image_timeout_s" in d.message and time.monotonic() - started < 15


def test_cross_host_redirect(hostile_root, http):
    image = fresh_image(hostile_root, "moved.zarr", "0.5")
    http.redirect("hostile/moved.zarr", "http://localhost:1/elsewhere/zarr.json")
    d = only(run(settings_for(http.root), http.url_for(image), http.root, untrusted=False), "NET005")
    assert f"127.0.0.1:{http.port}" in d.message and "localhost:1" in d.message


def test_paths_escaping_the_storage_root(tmp_path):
    storage = tmp_path / "storage"
    storage.mkdir()
    outside = fresh_image(tmp_path, "outside.zarr", "0.5")
    os.symlink(outside, storage / "link.zarr")
    settings = settings_for(storage)
    d = only(run(settings, "../outside.zarr", tmp_path), "SAF001")
    assert "../outside.zarr" in d.message
    d = only(run(settings, "link.zarr", tmp_path), "SAF001")
    assert "outside the storage root" in d.message
    # a symlinked chunk inside an honest image
    inside = fresh_image(storage, "inside.zarr", "0.5")
    secret = tmp_path / "secret"
    secret.write_bytes(b"\x00" * 16)
    chunk = chunk_file(inside, "0.5")
    chunk.unlink()
    os.symlink(secret, chunk)
    d = only(run(settings, "inside.zarr", tmp_path, cache=tmp_path / "c"), "SAF001")
    assert "c/0/0" in d.message


def test_untrusted_file_and_private_urls(tmp_path):
    settings = settings_for(tmp_path)
    assert only(run(settings, "file:///etc/passwd", tmp_path), "SAF002")
    assert only(run(settings, "https://169.254.169.254/latest/meta-data", tmp_path), "SAF002")
    assert only(run(settings, "https://100.64.0.1/carrier-grade-nat/image.zarr", tmp_path), "SAF002")
    assert only(run(settings, "https://[::ffff:10.0.0.1]/mapped.zarr", tmp_path), "SAF002")


def test_a_redirect_that_changes_the_scheme_is_not_followed(hostile_root, http):
    image = fresh_image(hostile_root, "scheme.zarr", "0.5")
    http.redirect("hostile/scheme.zarr", f"https://127.0.0.1:{http.port}/hostile/scheme.zarr/zarr.json")
    d = only(run(settings_for(http.root), http.url_for(image), http.root, untrusted=False), "NET005")
    assert "from http:// to https://" in d.message


def test_one_bad_image_does_not_stop_the_others(hostile_root, http_server, tmp_path):
    good = fresh_image(hostile_root, "good.zarr", "0.5")
    bomb = fresh_image(hostile_root, "bomb-mixed.zarr", "0.4", compressor="gzip")
    chunk_file(bomb, "0.4").write_bytes(gzip_bomb(BOMB_BYTES))
    targets = [ImageTarget("a", "good.zarr"), ImageTarget("b", "bomb-mixed.zarr"), ImageTarget("c", "missing.zarr")]
    out = inspect_images(targets, settings_for(hostile_root), tmp_path, thumbnails=True, cache_dir=tmp_path / "c")
    assert out["a"].facts is not None and out["a"].diagnostics == []
    assert [d.check for d in out["b"].diagnostics] == ["SAF009"]
    assert [d.check for d in out["c"].diagnostics] == ["NET002"]
    assert good.exists()


def test_absurd_plate_layout_is_refused(tmp_path):
    from builder.testing.ngff_writer import write_plate

    field = np.ones((1, 16, 16), dtype=np.uint8)
    root = tmp_path / "storage"
    path = write_plate(root / "p.zarr", {("A", "1"): [field]}, version="0.4", axes="cyx", levels=1)
    edit_json(path / ".zattrs", lambda d: d["plate"].update(
        {"rows": [{"name": f"R{i}"} for i in range(100000)], "columns": [{"name": f"C{i}"} for i in range(100)]}))
    d = only(run(settings_for(root), "p.zarr", tmp_path, kind="plate", cache=tmp_path / "c"), "IMG012")
    assert "100000 rows x 100 columns" in d.message and "max_plate_wells" in d.message


def test_absurd_number_of_levels_is_refused_before_fetching_them(hostile_root, http):
    image = fresh_image(hostile_root, "levels.zarr", "0.5")

    def many_levels(doc):
        ms = doc["attributes"]["ome"]["multiscales"][0]
        ms["datasets"] = [dict(ms["datasets"][0], path=str(i)) for i in range(5000)]

    edit_json(image / "zarr.json", many_levels)
    d = only(run(settings_for(http.root), http.url_for(image), http.root, untrusted=False), "SAF011")
    assert "5000 pyramid levels" in d.message and d.extra["key"] == "attributes.ome.multiscales[0].datasets"
    assert http.requests == 1
