from __future__ import annotations

import json

from click.testing import CliRunner

from builder.cli import main
from builder.core.settings import load_settings
from builder.curation.submission import check_changes
from tests.support.gitrepo import ArchiveRepo


def _collide(repo: ArchiveRepo) -> None:
    """My new OIA-000003 waits in a PR while main takes OIA-000003 and OIA-000004."""
    repo.add_study("OIA-000003", title="My HeLa study, waiting for review")
    repo.edit_study("OIA-000003", "accession: OIA-000003", "accession: OIA-000003  # assigned by bioarchive new")
    repo.commit("My study")
    repo.checkout("main")
    repo.add_study("OIA-000003", title="Zebrafish embryos in light sheet")
    repo.add_study("OIA-000004", title="Yeast in widefield fluorescence")
    repo.commit("Two other PRs merged")
    repo.checkout("submission")


def test_renumber_moves_a_colliding_study_to_the_next_free_accession(archive_repo: ArchiveRepo) -> None:
    _collide(archive_repo)
    before = archive_repo.read("studies/OIA-000003/study.yaml")
    result = CliRunner().invoke(main, ["renumber", "studies/OIA-000003", "--base", "main"])
    assert result.exit_code == 0, result.output
    assert "Moved studies/OIA-000003 to studies/OIA-000005" in result.output
    after = archive_repo.read("studies/OIA-000005/study.yaml")
    # Only the accession changed: comments and layout stay.
    assert after == before.replace("accession: OIA-000003", "accession: OIA-000005")
    assert "# assigned by bioarchive new" in after
    lock = json.loads(archive_repo.read("studies/OIA-000005/images.lock"))
    assert lock["accession"] == "OIA-000005" and list(lock["images"]) == ["cells"]
    assert not (archive_repo.root / "studies/OIA-000003").exists()

    # Committed, the pull request passes the submission rules and merges cleanly.
    archive_repo.commit("Renumber OIA-000003 to OIA-000005")
    assert check_changes(archive_repo.root, "main", load_settings(archive_repo.root)) == []
    archive_repo.git("merge", "-q", "main", "-m", "Merge main")
    assert "Zebrafish" in archive_repo.read("studies/OIA-000003/study.yaml")


def test_renumber_refuses_a_published_study(archive_repo: ArchiveRepo) -> None:
    result = CliRunner().invoke(main, ["renumber", "studies/OIA-000001", "--base", "main"])
    assert result.exit_code == 1
    assert "accessions never change" in result.output
    assert (archive_repo.root / "studies/OIA-000001/study.yaml").is_file()


def test_renumber_skips_numbers_used_only_in_the_work_tree(archive_repo: ArchiveRepo) -> None:
    archive_repo.add_study("OIA-000003")
    archive_repo.add_study("OIA-000008")
    result = CliRunner().invoke(main, ["renumber", "studies/OIA-000003", "--base", "main"])
    assert result.exit_code == 0, result.output
    assert (archive_repo.root / "studies/OIA-000009/study.yaml").is_file()


def test_renumber_explains_an_unknown_base(archive_repo: ArchiveRepo) -> None:
    archive_repo.add_study("OIA-000003")
    result = CliRunner().invoke(main, ["renumber", "studies/OIA-000003"])
    assert result.exit_code == 1
    assert "git fetch origin main" in result.output
