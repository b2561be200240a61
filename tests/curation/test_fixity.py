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
    return CliRunner().invoke(main, ["fixity", "--root", ".", *args], env={"GITHUB_STEP_SUMMARY": ""})


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
        main, ["fixity", "--root", ".", "--report", str(report)], env={"GITHUB_STEP_SUMMARY": str(summary)}
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
