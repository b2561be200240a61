"""Derived studies: `validate` checks every `derived_from` source against the archive's records,
its publication policy, its images.lock and its Git history (a real repository, real CLI)."""

from __future__ import annotations

import hashlib
import json

import yaml
from click.testing import CliRunner

from builder.cli import main
from builder.core.settings import load_settings
from builder.curation.check_study import validate_archive
from tests.support.gitrepo import ArchiveRepo, lock_text, study_text

DERIVED = "OIA-000003"


def pinned(url: str) -> str:
    # lock_text pins this made-up tree checksum for an image at ``url``
    return hashlib.md5(url.encode()).hexdigest() + "-1--1"


BRAIN = pinned("images/cells.ome.zarr")  # OIA-000002's image "brain" (the default url)


def add_derived(repo: ArchiveRepo, sources: list[dict], accession: str = DERIVED, **fields) -> None:
    text = study_text(accession, title="Hand-drawn labels of brain sections", image_name="labels",
                      image_url="derived/labels.ome.zarr", **fields)
    text += yaml.safe_dump({"derived_from": sources}, sort_keys=False)
    repo.write(f"studies/{accession}/study.yaml", text)
    repo.write(f"studies/{accession}/images.lock",
               lock_text(accession, {"labels": "derived/labels.ome.zarr"}))


def drv_findings(repo: ArchiveRepo, accession: str = DERIVED) -> list:
    result = validate_archive(repo.root, load_settings(repo.root), data=False)
    record = next(r for r in result.records.records if r.accession == accession)
    return [d for d in record.diagnostics if d.check.startswith("DRV")]


def test_a_source_that_exists_is_released_and_matches_passes(archive_repo: ArchiveRepo) -> None:
    add_derived(archive_repo, [
        {"accession": "OIA-000002", "version": 1, "image": "brain", "checksum": BRAIN, "relation": "segmentation"},
        {"accession": "OIA-000001", "relation": "annotation", "description": "the whole study, latest version"},
    ])
    assert drv_findings(archive_repo) == []


def test_unknown_and_hostile_accessions_are_refused_with_the_field(archive_repo: ArchiveRepo) -> None:
    add_derived(archive_repo, [{"accession": "OIA-000099"}, {"accession": "../../archive"}])
    found = drv_findings(archive_repo)
    assert [d.check for d in found] == ["DRV001", "DRV001"]
    assert "OIA-000099" in found[0].message and "there is no studies/OIA-000099/study.yaml" in found[0].message
    assert found[0].field == "derived_from[0].accession" and found[0].line is not None
    assert "not an accession of this archive (they look like OIA-000001)" in found[1].message
    assert found[0].hint and "archived here first" in found[0].hint


def test_an_embargoed_source_is_refused(archive_repo: ArchiveRepo) -> None:
    archive_repo.add_study("OIA-000004", release_date="2999-01-01")
    add_derived(archive_repo, [{"accession": "OIA-000004"}])
    (found,) = drv_findings(archive_repo)
    assert found.check == "DRV002" and "2999-01-01" in found.message and "not released yet" in found.message


def test_unknown_version_image_and_checksum_are_refused(archive_repo: ArchiveRepo) -> None:
    add_derived(archive_repo, [
        {"accession": "OIA-000002", "version": 5},
        {"accession": "OIA-000002", "image": "nope", "checksum": BRAIN},
        {"accession": "OIA-000002", "image": "brain", "checksum": "0" * 32 + "-1--1"},
        {"accession": "OIA-000002", "image": "brain"},
        {"accession": "OIA-000002", "checksum": BRAIN},
        {"accession": DERIVED},
    ])
    found = drv_findings(archive_repo)
    assert [(d.check, d.field) for d in found] == [
        ("DRV003", "derived_from[0].version"),
        ("DRV004", "derived_from[1].image"),
        ("DRV005", "derived_from[2].checksum"),
        ("DRV006", "derived_from[3].image"),
        ("DRV006", "derived_from[4].checksum"),
        ("DRV007", "derived_from[5].accession"),
    ]
    assert "latest version is 1" in found[0].message
    assert "has no image 'nope' (its images: brain)" in found[1].message
    assert BRAIN in found[2].message and "OIA-000002 version 1" in found[2].message
    assert "gives `image` without `checksum`" in found[3].message


def test_an_earlier_version_is_checked_against_its_own_lock_from_git(archive_repo: ArchiveRepo) -> None:
    # version 2 of OIA-000002 replaces the image's bytes (a new url, so a new pinned checksum)
    archive_repo.add_study("OIA-000002", version=2, title="Mouse brain sections imaged by light sheet",
                           image_name="brain", image_url="images/brain-v2.ome.zarr",
                           changelog=[{"version": 2, "date": "2024-06-01", "description": "Re-exported images"}])
    archive_repo.commit("OIA-000002 version 2")
    new = pinned("images/brain-v2.ome.zarr")
    add_derived(archive_repo, [
        {"accession": "OIA-000002", "version": 1, "image": "brain", "checksum": BRAIN},
        {"accession": "OIA-000002", "version": 2, "image": "brain", "checksum": new},
        {"accession": "OIA-000002", "version": 2, "image": "brain", "checksum": BRAIN},
        {"accession": "OIA-000002", "image": "brain", "checksum": BRAIN},  # latest is 2 now: pin the version
    ])
    found = drv_findings(archive_repo)
    assert [(d.check, d.field) for d in found] == [("DRV005", "derived_from[2].checksum"),
                                                    ("DRV005", "derived_from[3].checksum")]
    assert "OIA-000002 version 2" in found[1].message and new in found[1].message


def test_a_withdrawn_source_is_a_warning(archive_repo: ArchiveRepo) -> None:
    archive_repo.edit_study("OIA-000001", "status: published",
                            "status: withdrawn\nwithdrawal_reason: Consent was withdrawn by a donor")
    add_derived(archive_repo, [{"accession": "OIA-000001"}])
    (found,) = drv_findings(archive_repo)
    assert found.check == "DRV008" and found.severity.value == "warning"
    assert "Consent was withdrawn by a donor" in found.message


def test_validate_reports_drv_as_json_without_a_traceback(archive_repo: ArchiveRepo) -> None:
    add_derived(archive_repo, [{"accession": "OIA-000002", "image": "brain", "checksum": "f" * 32 + "-9--9"}])
    result = CliRunner().invoke(main, ["validate", "--no-data", "--format", "json"])
    assert result.exit_code == 1, result.output
    document = json.loads(result.output)
    record = next(r for r in document["records"] if r["accession"] == DERIVED)
    (finding,) = [d for d in record["diagnostics"] if d["check"].startswith("DRV")]
    assert finding["check"] == "DRV005" and finding["field"] == "derived_from[0].checksum"
    assert finding["file"] == f"studies/{DERIVED}/study.yaml" and finding["line"] > 1
    assert "Traceback" not in result.output


def test_the_policies_guide_example_is_the_example_study_and_validates(repo_root):
    """The guide's `derived_from` block is OIA-000007's, and the example archive validates without DRV findings."""
    import re

    guide = (repo_root / "docs" / "guides" / "policies.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(derived_from:\n.*?)```", guide, flags=re.S)
    assert block is not None
    record = yaml.safe_load((repo_root / "studies" / "OIA-000007" / "study.yaml").read_text(encoding="utf-8"))
    (shown,) = yaml.safe_load(block.group(1))["derived_from"]
    (source,) = record["derived_from"]
    shown.pop("description"), source.pop("description")  # the guide shortens the prose
    assert shown == source
    result = validate_archive(repo_root, load_settings(repo_root), [repo_root / "studies" / "OIA-000007"], data=False)
    assert result.ok and not [d for d in result.diagnostics if d.check.startswith("DRV")]
