"""`bioarchive lock` on real OME-Zarr images, and the fingerprint comparison."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from builder.cli import main
from builder.core import layout
from builder.core.settings import load_settings
from builder.curation.lock import (
    LockError,
    check_content,
    check_lock,
    check_lock_entries,
    image_targets,
    migrate_lock,
    parse_lock,
    read_lock,
)
from builder.data.inspection import inspect_images
from builder.records.load import load_record
from tests.support.gitrepo import ArchiveRepo

RECORD = "studies/OIA-000003/study.yaml"
LOCK = "studies/OIA-000003/images.lock"


def _lock(*args: str):
    return CliRunner().invoke(main, ["lock", *args])


def test_lock_pins_every_image_deterministically(archive_repo: ArchiveRepo) -> None:
    archive_repo.add_image("images/new.ome.zarr")
    archive_repo.add_study("OIA-000003", lock=False, image_name="new", image_url="images/new.ome.zarr")
    result = _lock("studies/OIA-000003")
    assert result.exit_code == 0, result.output + result.stderr
    assert "Pinned 1 image(s) in studies/OIA-000003/images.lock" in result.output
    text = archive_repo.read(LOCK)
    doc = json.loads(text)
    assert list(doc) == ["accession", "images", "lock_version"]
    entry = doc["images"]["new"]
    assert entry["url"] == "images/new.ome.zarr" and entry["kind"] == "image" and entry["ngff_version"] == "0.5"
    assert entry["fingerprint"].startswith("sha256:") and len(entry["fingerprint"]) == 71
    # Lock version 2 pins the content: zarr-checksum's own figure for the folder, every byte counted.
    assert doc["lock_version"] == 2
    folder = archive_repo.root / "example-data/images/new.ome.zarr"
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert entry["content"] == {
        "tree_checksum": _zarr_checksum(folder), "objects": len(files),
        "total_bytes": sum(p.stat().st_size for p in files),
    }
    # Same data, same bytes.
    again = _lock("studies/OIA-000003")
    assert again.exit_code == 0 and "is up to date" in again.output
    assert archive_repo.read(LOCK) == text
    assert parse_lock(text).to_text() == text


def test_lock_writes_nothing_when_an_image_is_missing(archive_repo: ArchiveRepo) -> None:
    archive_repo.add_study("OIA-000003", lock=False, image_url="images/absent.ome.zarr")
    result = _lock("studies/OIA-000003")
    assert result.exit_code == 1
    assert "Nothing was written" in result.stderr and "absent.ome.zarr" in result.stderr
    assert not (archive_repo.root / LOCK).exists()


def test_lock_refuses_an_invalid_record(archive_repo: ArchiveRepo) -> None:
    archive_repo.add_study("OIA-000003", lock=False)
    archive_repo.edit_study("OIA-000003", "licence: CC-BY-4.0", "licence: proprietary")
    result = _lock("studies/OIA-000003")
    assert result.exit_code == 1
    assert "has errors" in result.stderr and "licence" in result.stderr
    assert not (archive_repo.root / LOCK).exists()


def test_lock_explains_a_wrong_folder(archive_repo: ArchiveRepo) -> None:
    result = _lock("studies/OIA-000099")
    assert result.exit_code == 1 and "does not exist" in result.stderr


def test_changed_data_no_longer_matches_the_lock(archive_repo: ArchiveRepo) -> None:
    archive_repo.add_image("images/new.ome.zarr")
    archive_repo.add_study("OIA-000003", lock=False, image_name="new", image_url="images/new.ome.zarr")
    assert _lock("studies/OIA-000003").exit_code == 0
    settings = load_settings(archive_repo.root)
    study = load_record(archive_repo.root / RECORD, settings, root=archive_repo.root).study
    outcomes = inspect_images(image_targets(study), settings, archive_repo.root)
    assert check_lock(archive_repo.root, study, outcomes) == []

    # The depositor re-exports the image with three channels: the metadata changes.
    shutil.rmtree(archive_repo.root / "example-data/images/new.ome.zarr")
    archive_repo.add_image("images/new.ome.zarr", channels=3)
    outcomes = inspect_images(image_targets(study), settings, archive_repo.root)
    (finding,) = check_lock(archive_repo.root, study, outcomes)
    assert finding.check == "SUB021" and finding.file == LOCK and finding.field == "new"
    assert "run `bioarchive lock studies/OIA-000003` and commit studies/OIA-000003/images.lock" in finding.message
    assert finding.extra["pinned"] == read_lock(archive_repo.root, "OIA-000003").images["new"].fingerprint


def _zarr_checksum(folder) -> str:
    from zarr_checksum import compute_zarr_checksum
    from zarr_checksum.generators import yield_files_local

    return compute_zarr_checksum(yield_files_local(str(folder))).digest


V1 = {
    "accession": "OIA-000003",
    "images": {"new": {"fingerprint": "sha256:" + "0" * 64, "kind": "image", "ngff_version": "0.5",
                       "url": "images/new.ome.zarr"}},
    "lock_version": 1,
}


def test_a_version_1_lock_is_read_warned_about_and_rewritten(archive_repo: ArchiveRepo) -> None:
    archive_repo.add_image("images/new.ome.zarr")
    archive_repo.add_study("OIA-000003", lock=False, image_name="new", image_url="images/new.ome.zarr")
    archive_repo.write(LOCK, json.dumps(V1))
    lock = read_lock(archive_repo.root, "OIA-000003")
    assert lock.version == 1 and lock.images["new"].content is None
    with pytest.raises(LockError, match="no content checksum"):
        lock.to_text()  # a version-2 file always pins content
    raw = load_record(archive_repo.root / RECORD, load_settings(archive_repo.root), root=archive_repo.root).raw
    (warning,) = check_lock_entries(archive_repo.root, "OIA-000003", raw)
    assert warning.check == "SUB025" and warning.field == "new" and "lock version 1" in warning.message
    # `bioarchive lock` migrates: it reads the data and writes version 2.
    assert _lock("studies/OIA-000003").exit_code == 0
    doc = json.loads(archive_repo.read(LOCK))
    assert doc["lock_version"] == 2 and "content" in doc["images"]["new"]
    assert check_lock_entries(archive_repo.root, "OIA-000003", raw) == []


def test_migrate_lock_fills_in_content() -> None:
    from builder.curation.lock import ContentChecksum

    content = ContentChecksum("0" * 32 + "-3--10", 10, 3)
    lock = migrate_lock(json.dumps(V1), {"new": content})
    assert lock.images["new"].content == content and json.loads(lock.to_text())["lock_version"] == 2


@pytest.mark.parametrize(("change", "words"), [
    (lambda d: d.update(lock_version=3), "lock_version is 3"),
    (lambda d: d.update(lock_version=True), "lock_version is True"),
    (lambda d: d["images"]["new"].pop("content"), "needs exactly the fields content"),
    (lambda d: d["images"]["new"].update(content="abc"), "content needs exactly"),
    (lambda d: d["images"]["new"]["content"].update(tree_checksum="x"), "not a zarr-checksum digest"),
    (lambda d: d["images"]["new"]["content"].update(objects=-1), "objects must be a whole number"),
    (lambda d: d["images"]["new"]["content"].update(objects=4), "counts 3 objects"),
    (lambda d: d.update(extra=1), "exactly the fields accession"),
])
def test_bad_version_2_locks_are_refused_with_the_field(change, words) -> None:
    doc = json.loads(json.dumps(V1))
    doc["lock_version"] = 2
    doc["images"]["new"]["content"] = {"tree_checksum": "0" * 32 + "-3--10", "total_bytes": 10, "objects": 3}
    parse_lock(json.dumps(doc))  # the unchanged document is fine
    change(doc)
    with pytest.raises(LockError) as err:
        parse_lock(json.dumps(doc))
    assert words in str(err.value)


def _locked_study(archive_repo: ArchiveRepo):
    archive_repo.add_image("images/new.ome.zarr")
    archive_repo.add_study("OIA-000003", lock=False, image_name="new", image_url="images/new.ome.zarr")
    assert _lock("studies/OIA-000003").exit_code == 0
    settings = load_settings(archive_repo.root)
    study = load_record(archive_repo.root / RECORD, settings, root=archive_repo.root).study
    return settings, study


def _flip_a_byte_of_a_chunk(folder):
    chunk = sorted(p for p in (folder / "0").rglob("*") if p.is_file() and p.name != "zarr.json")[0]
    data = bytearray(chunk.read_bytes())
    data[-1] ^= 0xFF
    chunk.write_bytes(bytes(data))
    return chunk.relative_to(folder).as_posix()


def test_review_catches_a_chunk_changed_after_locking(archive_repo: ArchiveRepo) -> None:
    settings, study = _locked_study(archive_repo)
    assert check_content(archive_repo.root, study, settings) == []
    folder = archive_repo.root / "example-data/images/new.ome.zarr"
    _flip_a_byte_of_a_chunk(folder)  # same size, same metadata: only the content tells
    outcomes = inspect_images(image_targets(study), settings, archive_repo.root)
    assert check_lock(archive_repo.root, study, outcomes) == []
    (finding,) = check_content(archive_repo.root, study, settings)
    assert finding.check == "SUB026" and finding.file == LOCK and finding.field == "new"
    assert finding.extra["study"] == "OIA-000003" and finding.extra["image"] == "new"
    assert "OIA-000003 image 'new'" in finding.message and _zarr_checksum(folder) in finding.message


def test_review_names_the_first_changed_object_from_the_archived_manifest(archive_repo: ArchiveRepo) -> None:
    from builder.data.archive import open_archive_store
    from builder.data.manifest import VersionManifest, manifest_of
    from builder.data.storage import Budget, LocalStore

    settings, study = _locked_study(archive_repo)
    folder = archive_repo.root / "example-data/images/new.ome.zarr"
    archived = manifest_of(LocalStore(folder, Budget.unbounded()), image="new")
    store = open_archive_store(settings, archive_repo.root)
    store.put(layout.manifest_key("OIA-000003", 1),
              VersionManifest("OIA-000003", 1, {"new": archived}, "2026-12-02T00:00:00+00:00").to_bytes())
    changed = _flip_a_byte_of_a_chunk(folder)
    (finding,) = check_content(archive_repo.root, study, settings)
    assert finding.extra["object"] == changed and f"object {changed} has other bytes" in finding.message


def test_a_deleted_chunk_is_caught_with_the_counts(archive_repo: ArchiveRepo) -> None:
    settings, study = _locked_study(archive_repo)
    pinned = read_lock(archive_repo.root, "OIA-000003").images["new"].content
    folder = archive_repo.root / "example-data/images/new.ome.zarr"
    chunk = sorted(p for p in (folder / "0").rglob("*") if p.is_file() and p.name != "zarr.json")[0]
    size = chunk.stat().st_size
    chunk.unlink()
    (finding,) = check_content(archive_repo.root, study, settings)
    assert finding.check == "SUB026"
    assert (f"it now has {pinned.objects - 1} objects, {pinned.total_bytes - size} bytes "
            f"(locked: {pinned.objects} objects, {pinned.total_bytes} bytes)") in finding.message
