"""`bioarchive lock` on real OME-Zarr images, and the fingerprint comparison."""

from __future__ import annotations

import json
import shutil

from click.testing import CliRunner

from builder.cli import main
from builder.data.inspection import inspect_images
from builder.curation.lock import check_lock, image_targets, parse_lock, read_lock
from builder.records.load import load_record
from builder.core.settings import load_settings
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
