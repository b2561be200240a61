"""The build's use of the archive store: stored facts and thumbnails, no pixel reads, fallback to the copy."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from builder.core.settings import ArchiveSettings, load_settings
from builder.curation.ingest import ingest
from builder.data import archive
from builder.records.load import load_records
from builder.site.build import BuildReport, inspect_study_images
from tests.curation.test_ingest import lock, make_archive, source_folder


def served_archive(tmp_path: Path, http, accession: str) -> tuple[Path, str]:
    """An archive whose storage root is the test HTTP server (so every source read is logged)."""
    root = make_archive(tmp_path, [accession])
    src = source_folder(root, accession)
    served = http.root / f"served-{tmp_path.name}" / accession / src.name
    shutil.copytree(src, served)
    toml = root / "archive.toml"
    toml.write_text(toml.read_text().replace('storage_root = "example-data"',
                                             f'storage_root = "{http.url_for(served.parent.parent)}"'))
    lock(root, accession)
    return root, served.relative_to(http.root).as_posix()


def facts_for_build(root: Path, settings: ArchiveSettings) -> tuple[dict, BuildReport]:
    studies = [r.study for r in load_records(root, settings).records if r.study is not None]
    report = BuildReport(site_dir=root / "site")
    facts = inspect_study_images(studies, settings, root, dt.date.today(), root / ".cache/thumbnails", report,
                                 progress=False)
    return facts, report


def test_the_build_reads_no_pixel_data_of_an_ingested_image(tmp_path, http):
    root, served = served_archive(tmp_path, http, "OIA-000005")
    settings = load_settings(root)
    assert ingest(root, settings).ok
    http.log.clear()
    facts, report = facts_for_build(root, settings)
    assert [r for r in http.log if r.path.startswith(served)] == []  # not one request to the source
    [image] = facts.values()
    assert image.thumbnails and all((root / ".cache/thumbnails" / f).is_file() for f in image.thumbnails.values())
    assert "OIA-000005/v1/mouse-whole-body.ome.zarr" in image.url  # readers are pointed at the archive's copy
    assert report.images_failed == 0


def test_without_ingest_the_build_reads_the_source(tmp_path, http):
    root, served = served_archive(tmp_path, http, "OIA-000005")
    http.log.clear()
    facts, _ = facts_for_build(root, load_settings(root))
    assert facts and any(r.path.startswith(served + "/0/0") for r in http.log)  # chunks, for the thumbnail


def test_an_unreadable_source_falls_back_to_the_archived_copy_and_says_so(tmp_path, http):
    root, served = served_archive(tmp_path, http, "OIA-000005")
    settings = load_settings(root)
    assert ingest(root, settings).ok
    # Version 2 is merged but not ingested yet, and the depositor's server is gone.
    record = root / "studies/OIA-000005/study.yaml"
    text = record.read_text().replace("version: 1\n", "version: 2\n", 1)
    text += ("changelog:\n  - version: 2\n    date: 2026-11-30\n"
             "    description: Corrected the voxel size of the overview after recalibration.\n")
    record.write_text(text)
    assert "version: 2" in record.read_text()
    http.fail(served, 404)
    facts, report = facts_for_build(root, settings)
    [image] = facts.values()
    assert "OIA-000005/v1/" in image.url and image.thumbnails
    [warning] = [d for d in report.diagnostics if d.check == "ARC007"]
    assert "version 1" in warning.message and "archived copy" in warning.message
    assert report.images_failed == 0


def test_derived_artifacts_are_keyed_by_content_and_never_replaced(tmp_path):
    store = archive.LocalArchiveStore(tmp_path / "store")
    assert archive.load_derived(store, "0" * 32 + "-1--5") is None
    assert archive.facts_key("a" * 32 + "-3--99").startswith("derived/aa/")


@pytest.mark.parametrize("url", ["ftp://x/y", "https://bucket.example.org/a"])
def test_the_store_url_must_be_a_folder_or_s3(tmp_path, url):
    settings = ArchiveSettings(store={"url": url})
    with pytest.raises(archive.StorageError) as err:
        archive.open_archive_store(settings, tmp_path)
    assert err.value.check == "SAF002" and "[archive.store]" in err.value.message


def test_published_access_points_at_the_archive_copy_and_keeps_the_source_as_provenance(tmp_path, http):
    from builder.catalog.assembly import build_catalog

    root, served = served_archive(tmp_path, http, "OIA-000005")
    settings = load_settings(root)
    assert ingest(root, settings).ok
    facts, _ = facts_for_build(root, settings)
    studies = [r.study for r in load_records(root, settings).records if r.study is not None]
    catalog = build_catalog(studies, facts, settings, dt.date.today())
    [image] = [img for s in catalog.studies for img in s.images]
    assert image.access.archived_version == 1
    assert image.access.relative == "OIA-000005/v1/mouse-whole-body.ome.zarr"
    assert image.access.source == studies[0].datasets[0].images[0].url  # the depositor's URL, as provenance
    assert served not in (image.access.https or "") and served not in image.python_snippet
    store_folder = settings.store.url.rstrip("/")
    assert f"{store_folder}/OIA-000005/v1/mouse-whole-body.ome.zarr" in image.python_snippet


def test_without_ingest_access_is_the_depositors_copy(tmp_path, http):
    from builder.catalog.assembly import build_catalog

    root, served = served_archive(tmp_path, http, "OIA-000005")
    settings = load_settings(root)
    facts, _ = facts_for_build(root, settings)
    studies = [r.study for r in load_records(root, settings).records if r.study is not None]
    [image] = [img for s in build_catalog(studies, facts, settings, dt.date.today()).studies for img in s.images]
    assert image.access.archived_version is None and image.access.source is None
    assert image.access.relative == studies[0].datasets[0].images[0].url  # the record's path below the storage root
