"""A new study whose image is another published study's data (issue 16): flagged, refused under another licence."""

from __future__ import annotations

import json

import yaml

from builder.core.settings import load_settings
from builder.curation.check_study import check_studies
from builder.records.load import load_records
from tests.support.gitrepo import ArchiveRepo, lock_text

NEW = "OIA-000003"


def own_images(repo: ArchiveRepo) -> None:
    """The shared test archive puts both published studies on one image; give OIA-000002 its own."""
    repo.add_study("OIA-000002", title="Mouse brain sections imaged by light sheet", image_name="brain",
                   image_url="images/brain.ome.zarr")


def findings(repo: ArchiveRepo, accession: str = NEW) -> list:
    settings = load_settings(repo.root)
    records = load_records(repo.root, settings)
    checked = check_studies(repo.root, settings, records, data=False, image_reuse=True)
    record = next(c.record for c in checked if c.record.accession == accession)
    return [d for d in record.diagnostics if d.check in ("SUB040", "SUB041")]


def test_the_same_url_under_the_same_licence_is_flagged_for_the_reviewer(archive_repo: ArchiveRepo) -> None:
    own_images(archive_repo)
    archive_repo.add_study(NEW, title="Someone else's HeLa cells", image_name="mine", image_url="images/brain.ome.zarr")
    (d,) = findings(archive_repo)
    assert d.check == "SUB040" and d.severity.value == "warning"
    assert "image 'mine' of OIA-000003" in d.message and "image 'brain' of the published study OIA-000002" in d.message
    assert "(the same URL)" in d.message and d.file == "studies/OIA-000003/study.yaml" and d.line is not None
    assert d.field == "datasets[0].images[0].url" and "derived_from" in d.hint
    assert findings(archive_repo, "OIA-000001") == [] and findings(archive_repo, "OIA-000002") == []


def test_the_same_content_under_another_url_and_licence_is_refused(archive_repo: ArchiveRepo) -> None:
    own_images(archive_repo)
    archive_repo.add_study(NEW, title="Someone else's HeLa cells", image_name="copy", image_url="images/copy.ome.zarr")
    archive_repo.edit_study(NEW, "licence: CC-BY-4.0", "licence: CC0-1.0")
    # the copy's lock pins OIA-000001's content checksum (the same bytes, uploaded elsewhere)
    lock = json.loads(archive_repo.read("studies/OIA-000001/images.lock"))
    entry = dict(lock["images"]["cells"], url="images/copy.ome.zarr", fingerprint="sha256:" + "0" * 64)
    archive_repo.write(f"studies/{NEW}/images.lock", json.dumps(
        {"accession": NEW, "images": {"copy": entry}, "lock_version": 2}))
    (d,) = findings(archive_repo)
    assert d.check == "SUB041" and d.severity.value == "error"
    assert "image 'cells' of the published study OIA-000001 (the same content checksum)" in d.message
    assert "published under CC-BY-4.0, but this study is licensed CC0-1.0" in d.message
    assert d.extra["source_accession"] == "OIA-000001" and d.extra["source_image"] == "cells"


def test_the_same_metadata_fingerprint_is_a_match(archive_repo: ArchiveRepo) -> None:
    own_images(archive_repo)
    archive_repo.add_study(NEW, image_name="copy", image_url="images/other.ome.zarr")
    lock = json.loads(lock_text(NEW, {"copy": "images/other.ome.zarr"}))
    lock["images"]["copy"]["fingerprint"] = json.loads(
        archive_repo.read("studies/OIA-000002/images.lock"))["images"]["brain"]["fingerprint"]
    archive_repo.write(f"studies/{NEW}/images.lock", json.dumps(lock))
    (d,) = findings(archive_repo)
    assert d.check == "SUB040" and "OIA-000002" in d.message and "the same metadata fingerprint" in d.message


def test_a_declared_derived_study_is_neither_flagged_nor_refused(archive_repo: ArchiveRepo) -> None:
    own_images(archive_repo)
    archive_repo.add_study(NEW, image_name="labels", image_url="images/brain.ome.zarr")
    archive_repo.edit_study(NEW, "licence: CC-BY-4.0", "licence: CC0-1.0")
    checksum = json.loads(archive_repo.read("studies/OIA-000002/images.lock"))["images"]["brain"]["content"]
    text = archive_repo.read(f"studies/{NEW}/study.yaml") + yaml.safe_dump({"derived_from": [
        {"accession": "OIA-000002", "image": "brain", "checksum": checksum["tree_checksum"]}]})
    archive_repo.write(f"studies/{NEW}/study.yaml", text)
    assert findings(archive_repo) == []


def test_embargoed_studies_and_broken_locks_are_not_sources(archive_repo: ArchiveRepo) -> None:
    own_images(archive_repo)
    archive_repo.add_study("OIA-000004", release_date="2999-01-01", image_url="images/secret.ome.zarr")
    archive_repo.add_study("OIA-000005", image_url="images/five.ome.zarr")
    archive_repo.write("studies/OIA-000005/images.lock", "{not json")
    archive_repo.add_study(NEW, image_url="images/secret.ome.zarr")
    assert findings(archive_repo) == []
    archive_repo.add_study(NEW, image_url="images/five.ome.zarr")
    assert findings(archive_repo) == []
