"""`bioarchive fixity` on a real archive with real OME-Zarr images."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from builder.cli import main
from tests.support.gitrepo import ArchiveRepo


def _archive(repo: ArchiveRepo) -> None:
    """Two published studies with pinned data, one embargoed, one withdrawn."""
    repo.checkout("main")
    repo.add_image("images/cells.ome.zarr")
    repo.add_image("images/brain.ome.zarr", size=32)
    repo.add_study("OIA-000002", lock=False, title="Mouse brain sections imaged by light sheet",
                   image_name="brain", image_url="images/brain.ome.zarr")
    for accession in ("OIA-000001", "OIA-000002"):
        assert CliRunner().invoke(main, ["lock", f"studies/{accession}"]).exit_code == 0
    repo.add_study("OIA-000003", lock=False, release_date="2999-01-01", image_url="images/not-yet.ome.zarr")
    repo.add_study("OIA-000004", lock=False, image_url="images/gone.ome.zarr")
    repo.edit_study("OIA-000004", "status: published", "status: withdrawn\nwithdrawal_reason: Consent was revoked.")
    repo.commit("Archive")


def fixity(*args: str):
    """The source check (`--sources`): the depositors' data against images.lock."""
    return CliRunner().invoke(main, ["fixity", "--root", ".", "--sources", *args], env={"GITHUB_STEP_SUMMARY": ""})


def test_intact_archive_passes(archive_repo: ArchiveRepo) -> None:
    _archive(archive_repo)
    result = fixity("--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["ok"] and doc["summary"] == {"studies_checked": 2, "images_checked": 2, "problems": 0, "skipped": 2}
    assert doc["skipped"] == {"OIA-000003": "embargoed until 2999-01-01", "OIA-000004": "withdrawn"}
    assert [i["status"] for s in doc["studies"] for i in s["images"]] == ["ok", "ok"]


def test_vanished_and_changed_data_fail_with_a_report(archive_repo: ArchiveRepo, tmp_path: Path) -> None:
    _archive(archive_repo)
    shutil.rmtree(archive_repo.root / "example-data/images/brain.ome.zarr")
    shutil.rmtree(archive_repo.root / "example-data/images/cells.ome.zarr")
    archive_repo.add_image("images/cells.ome.zarr", channels=3)
    report = tmp_path / "fixity.md"
    summary = tmp_path / "summary.md"

    result = CliRunner().invoke(
        main, ["fixity", "--root", ".", "--sources", "--report", str(report)], env={"GITHUB_STEP_SUMMARY": str(summary)}
    )
    assert result.exit_code == 1
    assert "   changed  OIA-000001/cells  images/cells.ome.zarr" in result.stdout
    assert "unreadable  OIA-000002/brain  images/brain.ome.zarr" in result.stdout
    assert "2 published studies, 2 images checked: 2 problem(s)." in result.stdout
    text = report.read_text()
    assert "❌ 2 problem(s)" in text and "**SUB021**" in text and "**SUB030**" in text
    assert summary.read_text() == text + "\n"

    doc = json.loads(fixity("--format", "json").stdout)
    assert [(p["check"], p["field"]) for p in doc["problems"]] == [("SUB021", "cells"), ("SUB030", "brain")]


def test_a_published_study_without_a_lock_is_a_problem(archive_repo: ArchiveRepo) -> None:
    _archive(archive_repo)
    (archive_repo.root / "studies/OIA-000001/images.lock").unlink()
    result = fixity("--format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert [p["check"] for p in doc["problems"]] == ["SUB024"]
    assert "bioarchive lock studies/OIA-000001" in doc["problems"][0]["message"]


def test_an_invalid_record_on_main_is_reported(archive_repo: ArchiveRepo) -> None:
    _archive(archive_repo)
    archive_repo.edit_study("OIA-000002", "licence: CC-BY-4.0", "licence: all rights reserved")
    result = fixity()
    assert result.exit_code == 1
    assert "studies/OIA-000002/study.yaml does not validate" in result.stdout


# ------------------------------------------------------------------ the archive's copies (the default)

import datetime as dt  # noqa: E402
import uuid  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from builder.core import layout  # noqa: E402
from builder.core.settings import ArchiveSettings  # noqa: E402
from builder.curation.fixity import rotation_slice, run_archive_fixity  # noqa: E402
from builder.data.manifest import VersionManifest, manifest_of  # noqa: E402
from builder.data.storage import Budget, LocalArchiveStore, LocalStore, S3ArchiveStore  # noqa: E402
from builder.testing.ngff_writer import write_image  # noqa: E402

TODAY = dt.date(2026, 12, 2)


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("fixity-images")
    rng = np.random.default_rng(11)
    found = {}
    for name, shape in (("cells", (2, 64, 64)), ("tissue", (1, 48, 80))):
        path = base / f"{name}.ome.zarr"
        write_image(path, rng.integers(0, 900, shape, dtype=np.uint16), axes="cyx", chunks=(1, 16, 16), levels=2)
        found[name] = path
    return found


def archive_version(store, accession: str, version: int, images: dict[str, Path]) -> VersionManifest:
    """What ingest leaves in the store, written with the layout's keys: the objects, then the manifest."""
    manifests = {}
    for name, folder in images.items():
        manifest = manifest_of(LocalStore(folder, Budget.unbounded()), image=name)
        base = layout.archived_image_prefix(accession, version, name)
        for entry in manifest.objects:
            store.put(f"{base}/{entry.key}", (folder / entry.key).read_bytes(), sha256=entry.sha256)
        manifests[name] = manifest
    document = VersionManifest(accession, version, manifests, "2026-12-01T00:00:00+00:00")
    store.put(layout.manifest_key(accession, version), document.to_bytes())
    return document


def settings_with(**fixity) -> ArchiveSettings:
    return ArchiveSettings.model_validate({"fixity": {"cycle_runs": 1, **fixity}})


def a_chunk(document: VersionManifest, image: str = "cells") -> str:
    entry = [e for e in document.images[image].objects if "/c/" in e.key or e.key[0].isdigit()][0]
    return f"{layout.archived_image_prefix(document.accession, document.version, image)}/{entry.key}"


@pytest.fixture(params=["local", "s3"])
def archive(request, tmp_path, images):
    """A fresh archive store holding two archived versions: (store, {accession: manifest}, raw writer)."""
    if request.param == "local":
        store = LocalArchiveStore(tmp_path / "store")

        def overwrite(key: str, data: bytes) -> None:
            target = store.path / key
            target.chmod(0o644)
            target.write_bytes(data)

        def delete(key: str) -> None:
            (store.path / key).unlink()

        def add(key: str, data: bytes) -> None:
            (store.path / key).parent.mkdir(parents=True, exist_ok=True)
            (store.path / key).write_bytes(data)
    else:
        s3 = request.getfixturevalue("s3_server")
        prefix = f"archive-{uuid.uuid4().hex[:8]}"
        store = S3ArchiveStore(f"s3://{s3.bucket}/{prefix}", endpoint_url=s3.endpoint_url)
        client = s3.client()

        def overwrite(key: str, data: bytes) -> None:  # a plain PUT, as a stray writer would send it
            client.put_object(Bucket=s3.bucket, Key=f"{prefix}/{key}", Body=data)

        def delete(key: str) -> None:
            client.delete_object(Bucket=s3.bucket, Key=f"{prefix}/{key}")

        add = overwrite
    documents = {
        "OIA-000001": archive_version(store, "OIA-000001", 1, {"cells": images["cells"]}),
        "OIA-000002": archive_version(store, "OIA-000002", 3, images),
    }
    return store, documents, {"overwrite": overwrite, "delete": delete, "add": add}


def test_a_clean_archive_passes_and_every_object_is_rehashed(archive, tmp_path):
    store, documents, _ = archive
    report = run_archive_fixity(tmp_path, settings_with(), store=store, today=TODAY)
    assert report.ok, report.problems
    listed = sum(len(m.objects) for d in documents.values() for m in d.images.values())
    doc = report.to_dict()
    assert doc["summary"]["versions_checked"] == 2 and doc["summary"]["objects_listed"] == listed
    assert doc["summary"]["objects_rehashed"] == listed  # one slice: everything, every run
    if store.kind == "s3":  # S3 kept the SHA-256 of each put: verified without a download
        assert doc["summary"]["verified_by_store_checksum"] == listed and doc["summary"]["bytes_rehashed"] == 0
    else:
        assert doc["summary"]["bytes_rehashed"] == doc["summary"]["bytes_listed"]


def test_one_corrupted_byte_is_reported_with_its_key_and_study(archive, tmp_path):
    store, documents, raw = archive
    key = a_chunk(documents["OIA-000002"], "tissue")
    data = bytearray(store.get(key))
    data[0] ^= 0x01
    raw["overwrite"](key, bytes(data))  # same size: only a re-hash tells
    report = run_archive_fixity(tmp_path, settings_with(), store=store, today=TODAY)
    (problem,) = report.problems
    assert problem.check == "FIX004" and problem.extra["object"] == key
    assert problem.extra["study"] == "OIA-000002" and problem.extra["image"] == "tissue"
    assert "OIA-000002 v3 image 'tissue'" in problem.message and key in problem.message


def test_a_deleted_chunk_and_a_stray_object_are_reported(archive, tmp_path):
    store, documents, raw = archive
    gone = a_chunk(documents["OIA-000001"])
    raw["delete"](gone)
    stray = f"{layout.archived_image_prefix('OIA-000002', 3, 'cells')}/0/c/9/9/9"
    raw["add"](stray, b"not archived")
    resized = a_chunk(documents["OIA-000002"], "cells")
    raw["overwrite"](resized, store.get(resized) + b"x")
    report = run_archive_fixity(tmp_path, settings_with(), store=store, today=TODAY)
    found = {(d.check, d.extra["study"], d.extra["object"]) for d in report.problems}
    assert found == {("FIX001", "OIA-000001", gone), ("FIX002", "OIA-000002", stray),
                     ("FIX003", "OIA-000002", resized)}


def test_the_store_checksum_catches_a_replaced_object_without_a_download(tmp_path, images, s3_server):
    store = S3ArchiveStore(f"s3://{s3_server.bucket}/archive-{uuid.uuid4().hex[:8]}",
                           endpoint_url=s3_server.endpoint_url)
    document = archive_version(store, "OIA-000001", 1, {"cells": images["cells"]})
    key = a_chunk(document)
    data = bytearray(store.get(key))
    data[-1] ^= 0xFF
    s3_server.client().put_object(Bucket=s3_server.bucket, Key=f"{store.prefix}/{key}", Body=bytes(data),
                                  ChecksumAlgorithm="SHA256")
    report = run_archive_fixity(tmp_path, settings_with(), store=store, today=TODAY)
    (problem,) = report.problems
    assert problem.check == "FIX004" and "the store's own checksum" in problem.message
    assert report.rehashed_bytes == 0
    # Without trusting the store, the bytes themselves are read and tell the same.
    (again,) = run_archive_fixity(tmp_path, settings_with(use_store_checksums=False), store=store,
                                  today=TODAY).problems
    assert again.extra["object"] == key and "its bytes now hash to" in again.message


def test_the_rotation_rehashes_every_object_once_per_cycle(tmp_path, images):
    store = LocalArchiveStore(tmp_path / "store")
    document = archive_version(store, "OIA-000002", 1, images)
    settings = settings_with(cycle_runs=4)
    seen: list[int] = []
    for run in range(8, 12):  # any four consecutive runs
        report = run_archive_fixity(tmp_path, settings, store=store, run=run)
        assert report.ok
        seen.append(report.rehashed_objects)
    total = sum(len(m.objects) for m in document.images.values())
    assert sum(seen) == total and all(seen)  # each object exactly once in the cycle, every slice non-empty
    # An object's slice depends only on its identity: archiving more does not move the others.
    before = run_archive_fixity(tmp_path, settings, store=store, run=9).versions[0].rehashed
    archive_version(store, "OIA-000005", 1, {"cells": images["cells"]})
    after = run_archive_fixity(tmp_path, settings, store=store, run=9)
    assert [(v.accession, v.rehashed) for v in after.versions][0] == ("OIA-000002", before)
    entry = document.images["cells"].objects[0]
    assert 0 <= rotation_slice("OIA-000002", 1, "cells", entry.key, 4) < 4


def test_a_budget_too_small_is_a_warning_and_rehashes_what_it_can(tmp_path, images):
    store = LocalArchiveStore(tmp_path / "store")
    archive_version(store, "OIA-000001", 1, {"cells": images["cells"]})
    report = run_archive_fixity(tmp_path, settings_with(byte_budget=1000), store=store, today=TODAY)
    assert report.ok and report.rehashed_bytes <= max(1000, report.rehashed_bytes) and report.rehashed_objects >= 1
    (warning,) = report.diagnostics
    assert warning.check == "FIX006" and f"byte_budget >= {report.slice_bytes}" in warning.message


def test_an_unreadable_manifest_and_an_unfinished_version(tmp_path, images):
    store = LocalArchiveStore(tmp_path / "store")
    archive_version(store, "OIA-000001", 1, {"cells": images["cells"]})
    store.put(layout.manifest_key("OIA-000001", 2), b'{"format": "something else"}')
    store.put(f"{layout.archived_image_prefix('OIA-000003', 1, 'cells')}/zarr.json", b"{}")  # ingest under way
    report = run_archive_fixity(tmp_path, settings_with(), store=store, today=TODAY)
    (problem,) = report.problems
    assert problem.check == "FIX005" and problem.extra["study"] == "OIA-000001" and problem.extra["version"] == 2
    assert report.unfinished == ["OIA-000003/v1"]


def test_the_command_checks_the_archive_store_by_default(archive_repo: ArchiveRepo, images) -> None:
    store = LocalArchiveStore(archive_repo.root / "archive-store")
    document = archive_version(store, "OIA-000001", 1, {"cells": images["cells"]})
    result = fixity_archive("--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["summary"]["versions_checked"] == 1
    (store.path / a_chunk(document)).unlink()
    result = fixity_archive("--report", "fixity.md")
    assert result.exit_code == 1 and "FIX001" in result.stdout
    assert "FIX001" in (archive_repo.root / "fixity.md").read_text()


def fixity_archive(*args: str):
    return CliRunner().invoke(main, ["fixity", "--root", ".", *args], env={"GITHUB_STEP_SUMMARY": ""})


def test_a_fresh_clone_without_a_store_has_nothing_to_check(tmp_path):
    report = run_archive_fixity(tmp_path, ArchiveSettings(), today=TODAY)
    assert report.ok and report.versions == [] and not (tmp_path / "archive-store").exists()
