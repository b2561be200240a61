"""Content manifests on real stores: a local folder, the local HTTP server and moto S3."""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from pathlib import Path

import numpy as np
import pytest

from builder.data.manifest import (
    ImageManifest,
    ManifestError,
    ObjectEntry,
    VersionManifest,
    manifest_of,
    zarr_keys,
)
from builder.data.storage import Budget, HttpStore, LocalStore, S3Store, StorageError
from builder.testing.ngff_writer import write_image, write_labels, write_plate


def budget() -> Budget:
    return Budget(max_bytes=10**9, max_requests=10**6, max_seconds=120, request_timeout_s=20,
                  max_document_bytes=10**6)


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("manifest") / "cells.ome.zarr"
    rng = np.random.default_rng(3)
    write_image(path, rng.integers(0, 4000, (2, 3, 64, 80), dtype=np.uint16), axes="czyx",
                chunks=(1, 1, 32, 32), levels=2)
    write_labels(path, "nuclei", rng.integers(0, 3, (3, 64, 80), dtype=np.uint8))
    return path


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def zarr_checksum_of(folder: Path) -> str:
    from zarr_checksum import compute_zarr_checksum
    from zarr_checksum.generators import yield_files_local

    return compute_zarr_checksum(yield_files_local(str(folder))).digest


def test_local_manifest_matches_zarr_checksum_and_hashlib(image_folder):
    files = files_of(image_folder)
    store = LocalStore(image_folder, budget())
    seen: list[int] = []
    manifest = manifest_of(store, max_workers=4, progress=seen.append)
    # The figure zarr-checksum itself computes from the folder (DANDI's checksum).
    assert manifest.tree_checksum == zarr_checksum_of(image_folder)
    assert manifest.image == "cells"
    assert [e.key for e in manifest.objects] == sorted(files)
    for entry in manifest.objects:
        assert entry.size == len(files[entry.key])
        assert entry.sha256 == hashlib.sha256(files[entry.key]).hexdigest()
    assert manifest.total_bytes == sum(map(len, files.values())) == sum(seen)
    # Every byte was read exactly once.
    assert store.usage.bytes == manifest.total_bytes


def test_one_changed_byte_changes_the_tree_checksum(image_folder, tmp_path):
    copy = tmp_path / "cells.ome.zarr"
    shutil.copytree(image_folder, copy)
    before = manifest_of(LocalStore(copy, budget()))
    chunk = copy / "0" / "c" / "0" / "0" / "0" / "0"
    data = bytearray(chunk.read_bytes())
    data[len(data) // 2] ^= 0x01
    chunk.write_bytes(bytes(data))
    after = manifest_of(LocalStore(copy, budget()))
    assert after.tree_checksum != before.tree_checksum
    assert after.tree_checksum == zarr_checksum_of(copy)
    changed = [k for k, e in after.by_key().items() if before.by_key()[k] != e]
    assert changed == ["0/c/0/0/0/0"]


def test_http_manifest_walks_the_metadata_and_matches_the_folder(image_folder, http):
    folder = http.root / f"m-{uuid.uuid4().hex[:8]}" / "cells.ome.zarr"
    shutil.copytree(image_folder, folder)
    store = HttpStore(http.url_for(folder), budget(), untrusted=False)
    assert not store.can_list
    manifest = manifest_of(store, max_workers=4)
    assert manifest == manifest_of(LocalStore(folder, budget()))
    assert manifest.tree_checksum == zarr_checksum_of(folder)


def test_http_walk_finds_plate_wells_fields_and_v2_chunks(http):
    rng = np.random.default_rng(5)
    for version in ("0.4", "0.5"):
        folder = http.root / f"p-{uuid.uuid4().hex[:8]}" / "plate.ome.zarr"
        wells = {("A", "1"): [rng.integers(0, 9, (2, 40, 40), dtype=np.uint16)],
                 ("B", "2"): [rng.integers(0, 9, (2, 40, 40), dtype=np.uint16)] * 2}
        write_plate(folder, wells, version=version, chunks=(1, 16, 16))
        store = HttpStore(http.url_for(folder), budget(), untrusted=False)
        manifest = manifest_of(store, max_workers=3)
        assert [e.key for e in manifest.objects] == sorted(files_of(folder)), version
        assert manifest.tree_checksum == zarr_checksum_of(folder)


def test_http_walk_skips_chunks_never_written(http, tmp_path):
    folder = http.root / f"s-{uuid.uuid4().hex[:8]}" / "sparse.ome.zarr"
    write_image(folder, np.zeros((64, 64), dtype=np.uint8), axes="yx", chunks=(32, 32), levels=1)
    written = files_of(folder)
    store = HttpStore(http.url_for(folder), budget(), untrusted=False)
    assert len(zarr_keys(store)) >= len(written)
    assert [e.key for e in manifest_of(store).objects] == sorted(written)


def test_http_walk_refuses_an_absurd_chunk_grid(http):
    folder = http.root / f"a-{uuid.uuid4().hex[:8]}" / "huge.ome.zarr"
    folder.mkdir(parents=True)
    (folder / "zarr.json").write_text(json.dumps({"zarr_format": 3, "node_type": "group", "attributes": {"ome": {
        "version": "0.5", "multiscales": [{"datasets": [{"path": "0"}]}]}}}))
    (folder / "0").mkdir()
    (folder / "0" / "zarr.json").write_text(json.dumps({
        "zarr_format": 3, "node_type": "array", "shape": [10**6, 10**6],
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [10, 10]}}}))
    with pytest.raises(StorageError) as err:
        manifest_of(HttpStore(http.url_for(folder), budget(), untrusted=False))
    assert err.value.check == "SAF007" and "0/zarr.json" in err.value.message


def test_s3_manifest_matches_the_local_one(image_folder, s3_server):
    prefix = f"manifest-{uuid.uuid4().hex[:8]}/cells.ome.zarr"
    url = s3_server.upload(image_folder, prefix)
    store = S3Store(url, budget(), endpoint_url=s3_server.endpoint_url)
    local = manifest_of(LocalStore(image_folder, budget()))
    assert manifest_of(store, max_workers=6) == local
    # A prefix inside a store: keys stay relative to the image.
    parent = S3Store(url.rsplit("/", 1)[0], budget(), endpoint_url=s3_server.endpoint_url)
    assert manifest_of(parent, "cells.ome.zarr") == local


def test_read_errors_name_the_object(image_folder, http):
    folder = http.root / f"e-{uuid.uuid4().hex[:8]}" / "cells.ome.zarr"
    shutil.copytree(image_folder, folder)
    http.fail(http.url_for(folder / "0" / "c" / "1").split(http.url, 1)[1], 500)
    with pytest.raises(StorageError) as err:
        manifest_of(HttpStore(http.url_for(folder), budget(), untrusted=False))
    assert err.value.key is not None and err.value.key.startswith("0/c/1/")
    assert err.value.key in err.value.message


def sample_manifest() -> ImageManifest:
    objects = (ObjectEntry("0/c/0", 3, hashlib.sha256(b"abc").hexdigest()),
               ObjectEntry("zarr.json", 2, hashlib.sha256(b"{}").hexdigest()))
    from builder.data.manifest import tree_checksum

    tree = tree_checksum([("0/c/0", 3, hashlib.md5(b"abc").hexdigest()),
                          ("zarr.json", 2, hashlib.md5(b"{}").hexdigest())])
    return ImageManifest("cells", tree, objects, 5)


def test_version_manifest_round_trips():
    version = VersionManifest("OIA-000001", 2, {"cells": sample_manifest()}, "2026-12-02T05:00:00+00:00")
    data = version.to_bytes()
    assert VersionManifest.from_bytes(data) == version
    assert VersionManifest.from_bytes(data).to_bytes() == data


@pytest.mark.parametrize(("change", "words"), [
    (lambda d: d.pop("version"), "missing version"),
    (lambda d: d.update(extra=1), "unknown extra"),
    (lambda d: d.update(format="other"), "format 'other'"),
    (lambda d: d.update(accession="../x"), "`accession`"),
    (lambda d: d.update(version=True), "`version`"),
    (lambda d: d["images"]["cells"]["objects"][0].update(key="../../etc/passwd"), "not a relative object key"),
    (lambda d: d["images"]["cells"]["objects"][0].update(size=-1), "`size`"),
    (lambda d: d["images"]["cells"]["objects"][0].update(sha256="xyz"), "`sha256`"),
    (lambda d: d["images"]["cells"]["objects"].append(dict(d["images"]["cells"]["objects"][0])), "listed twice"),
    (lambda d: d["images"]["cells"].update(total_bytes=6), "`total_bytes`"),
    (lambda d: d["images"]["cells"].update(tree_checksum="0" * 32 + "-3--5"), "counts 3 objects"),
    (lambda d: d["images"].update(other=d["images"]["cells"]), "describes image 'cells'"),
])
def test_untrusted_manifests_are_refused_with_the_field(change, words):
    doc = json.loads(VersionManifest("OIA-000001", 1, {"cells": sample_manifest()}, "2026-12-02").to_bytes())
    change(doc)
    with pytest.raises(ManifestError) as err:
        VersionManifest.from_bytes(json.dumps(doc).encode())
    assert words in str(err.value)


def test_not_json_is_a_manifest_error():
    with pytest.raises(ManifestError, match="not JSON"):
        VersionManifest.from_bytes(b"\xff{")
