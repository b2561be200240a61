"""Submission rules on real Git repositories: a base branch `main` and a PR branch."""

from __future__ import annotations

import datetime as dt

import pytest

from builder.core.checks import Severity, has_errors
from builder.core.git import GitError
from builder.core.settings import load_settings
from builder.curation.submission import check_changes
from builder.records.raw import parse_record_text
from tests.support.gitrepo import ArchiveRepo, lock_text

TODAY = dt.date(2025, 6, 1)
V2_ENTRY = """changelog:
  - version: 2
    date: 2025-05-30
    description: Corrected the title, which named the wrong cell line.
"""


def run(repo: ArchiveRepo, base: str = "main") -> list:
    return check_changes(repo.root, base, load_settings(repo.root), today=TODAY)


def ids(diagnostics: list) -> list[str]:
    return [d.check for d in diagnostics]


def test_a_new_valid_study_passes(archive_repo: ArchiveRepo) -> None:
    archive_repo.add_study("OIA-000003")
    archive_repo.commit("Add OIA-000003")
    assert run(archive_repo) == []


def test_uncommitted_new_study_is_checked_too(archive_repo: ArchiveRepo) -> None:
    archive_repo.add_study("OIA-000003", version=3)
    assert ids(run(archive_repo)) == ["SUB010"]


def test_accession_taken_on_base_after_branching_is_an_error(archive_repo: ArchiveRepo) -> None:
    archive_repo.add_study("OIA-000003")
    archive_repo.commit("My study")
    archive_repo.checkout("main")
    archive_repo.add_study("OIA-000003", title="Someone else's study of zebrafish")
    archive_repo.commit("Another PR merged first")
    archive_repo.checkout("submission")
    found = run(archive_repo)
    assert ids(found) == ["SUB001"]
    (d,) = found
    assert d.severity is Severity.ERROR
    assert d.file == "studies/OIA-000003/study.yaml" and d.line == 4
    assert "bioarchive renumber studies/OIA-000003" in d.message


def test_new_record_claiming_an_existing_accession_is_an_error(archive_repo: ArchiveRepo) -> None:
    archive_repo.add_study("OIA-000003")
    archive_repo.edit_study("OIA-000003", "accession: OIA-000003", "accession: OIA-000001")
    found = run(archive_repo)
    assert ids(found) == ["SUB001"]
    assert "OIA-000001 is already used" in found[0].message


def test_editing_a_published_study_without_a_new_version_is_refused(archive_repo: ArchiveRepo) -> None:
    archive_repo.edit_study("OIA-000001", "title: HeLa", "title: Fixed HeLa")
    archive_repo.commit("Edit")
    found = run(archive_repo)
    assert ids(found) == ["SUB002", "SUB003"]
    version, changelog = found
    assert "must be 2 (found 1)" in version.message and version.line == 5
    assert "set `version: 2`" in version.message
    assert "version 2 has no changelog entry" in changelog.message


def test_version_bump_with_changelog_entry_passes(archive_repo: ArchiveRepo) -> None:
    archive_repo.edit_study("OIA-000001", "title: HeLa", "title: Fixed HeLa")
    archive_repo.edit_study("OIA-000001", "version: 1", "version: 2")
    archive_repo.write(
        "studies/OIA-000001/study.yaml", archive_repo.read("studies/OIA-000001/study.yaml") + V2_ENTRY
    )
    archive_repo.commit("Edit as version 2")
    assert run(archive_repo) == []


def test_version_raised_by_two_is_refused(archive_repo: ArchiveRepo) -> None:
    archive_repo.edit_study("OIA-000001", "version: 1", "version: 3")
    archive_repo.write(
        "studies/OIA-000001/study.yaml",
        archive_repo.read("studies/OIA-000001/study.yaml") + V2_ENTRY.replace("version: 2", "version: 3"),
    )
    assert ids(run(archive_repo)) == ["SUB002"]


def test_changing_the_licence_of_a_published_study_is_flagged(archive_repo: ArchiveRepo) -> None:
    _edit_as_version_2(archive_repo, "2025-05-30")
    archive_repo.edit_study("OIA-000001", "licence: CC-BY-4.0", "licence: CC0-1.0")
    found = run(archive_repo)
    assert ids(found) == ["SUB014"]
    assert found[0].severity is Severity.WARNING and "from CC-BY-4.0 to CC0-1.0" in found[0].message


def test_a_one_word_changelog_entry_is_refused(archive_repo: ArchiveRepo) -> None:
    archive_repo.edit_study("OIA-000001", "version: 1", "version: 2")
    archive_repo.write(
        "studies/OIA-000001/study.yaml",
        archive_repo.read("studies/OIA-000001/study.yaml")
        + "changelog:\n  - version: 2\n    date: 2025-05-30\n    description: fix\n",
    )
    found = run(archive_repo)
    assert ids(found) == ["SUB003"]
    assert "says only 'fix'" in found[0].message and found[0].line is not None


@pytest.mark.parametrize(
    ("date", "problem"), [("2025-09-01", "is in the future"), ("2025-06-02", None), ("2025-05-30", None)]
)
def test_new_changelog_entry_dated_in_the_future_is_flagged(archive_repo: ArchiveRepo, date: str, problem) -> None:
    _edit_as_version_2(archive_repo, date)
    found = run(archive_repo)
    if problem is None:
        assert found == []
    else:
        assert ids(found) == ["SUB013"] and problem in found[0].message and found[0].line is not None


def test_new_changelog_entry_dated_before_the_previous_one_is_flagged(archive_repo: ArchiveRepo) -> None:
    archive_repo.checkout("main")
    _edit_as_version_2(archive_repo, "2025-05-30")
    archive_repo.commit("Version 2 published")
    archive_repo.git("branch", "-f", "submission", "main")
    archive_repo.checkout("submission")
    archive_repo.edit_study("OIA-000001", "\nversion: 2", "\nversion: 3")
    archive_repo.write(
        "studies/OIA-000001/study.yaml",
        archive_repo.read("studies/OIA-000001/study.yaml")
        + "  - version: 3\n    date: 2025-01-01\n    description: Added the acquisition parameters we had left out.\n",
    )
    found = run(archive_repo)
    assert ids(found) == ["SUB013"] and "before the previous entry's date 2025-05-30" in found[0].message


def _edit_as_version_2(repo: ArchiveRepo, date: str) -> None:
    repo.edit_study("OIA-000001", "title: HeLa", "title: Fixed HeLa")
    repo.edit_study("OIA-000001", "\nversion: 1", "\nversion: 2")
    repo.write(
        "studies/OIA-000001/study.yaml",
        repo.read("studies/OIA-000001/study.yaml") + V2_ENTRY.replace("2025-05-30", date),
    )


def test_rewriting_earlier_changelog_entries_is_refused(archive_repo: ArchiveRepo) -> None:
    archive_repo.checkout("main")
    archive_repo.edit_study("OIA-000001", "version: 1", "version: 2")
    archive_repo.write(
        "studies/OIA-000001/study.yaml", archive_repo.read("studies/OIA-000001/study.yaml") + V2_ENTRY
    )
    archive_repo.commit("Version 2 published")
    archive_repo.git("branch", "-f", "submission", "main")
    archive_repo.checkout("submission")
    archive_repo.edit_study("OIA-000001", "\nversion: 2", "\nversion: 3")
    archive_repo.edit_study("OIA-000001", "named the wrong cell line", "was wrong")
    assert ids(run(archive_repo)) == ["SUB003", "SUB009"]


def test_comment_only_changes_need_no_new_version(archive_repo: ArchiveRepo) -> None:
    archive_repo.edit_study("OIA-000001", "# Study record;", "# The study record;")
    assert run(archive_repo) == []


def test_changing_images_lock_of_a_published_study_needs_a_new_version(archive_repo: ArchiveRepo) -> None:
    lock = archive_repo.read("studies/OIA-000001/images.lock").replace("sha256:", "sha256:0")
    archive_repo.write("studies/OIA-000001/images.lock", lock)
    found = run(archive_repo)
    assert ids(found) == ["SUB002", "SUB003"]
    assert "images.lock" in found[0].message


def test_deleting_a_published_study_is_refused(archive_repo: ArchiveRepo) -> None:
    archive_repo.git("rm", "-q", "-r", "studies/OIA-000002")
    archive_repo.commit("Delete")
    found = run(archive_repo)
    assert ids(found) == ["SUB004"]
    assert "withdraw" in found[0].hint and "OIA-000002 is published" in found[0].message


def test_withdrawing_a_published_study_is_a_new_version_and_flagged(archive_repo: ArchiveRepo) -> None:
    archive_repo.edit_study(
        "OIA-000002", "status: published", "status: withdrawn\nwithdrawal_reason: Consent was revoked."
    )
    archive_repo.edit_study("OIA-000002", "version: 1", "version: 2")
    archive_repo.write(
        "studies/OIA-000002/study.yaml",
        archive_repo.read("studies/OIA-000002/study.yaml")
        + "changelog:\n  - version: 2\n    date: 2025-05-30\n    description: Withdrawn because consent was revoked.\n",
    )
    found = run(archive_repo)
    assert ids(found) == ["SUB007"]
    assert found[0].severity is Severity.INFO and "tombstone" in found[0].message
    assert not has_errors(found)


def test_renaming_a_study_folder_is_a_deletion_plus_a_new_study(archive_repo: ArchiveRepo) -> None:
    archive_repo.git("mv", "studies/OIA-000002", "studies/OIA-000007")
    archive_repo.edit_study("OIA-000007", "accession: OIA-000002", "accession: OIA-000007")
    found = run(archive_repo)
    assert ids(found) == ["SUB004"]
    assert "If you moved the folder, move it back" in found[0].message


def test_changing_the_accession_field_is_refused(archive_repo: ArchiveRepo) -> None:
    archive_repo.edit_study("OIA-000001", "accession: OIA-000001", "accession: OIA-000009")
    found = run(archive_repo)
    assert "SUB005" in ids(found)
    d = next(d for d in found if d.check == "SUB005")
    assert "put `accession: OIA-000001` back" in d.message and d.line == 4


def test_new_embargoed_study_is_reviewed_and_flagged(archive_repo: ArchiveRepo) -> None:
    archive_repo.add_study("OIA-000003", release_date="2026-01-01")
    found = run(archive_repo)
    assert ids(found) == ["SUB006"]
    assert found[0].severity is Severity.INFO and "embargoed until 2026-01-01" in found[0].message


def test_editing_an_embargoed_study_needs_no_new_version(archive_repo: ArchiveRepo) -> None:
    archive_repo.checkout("main")
    archive_repo.add_study("OIA-000003", release_date="2026-01-01")
    archive_repo.commit("Embargoed study accepted")
    archive_repo.git("branch", "-f", "submission", "main")
    archive_repo.checkout("submission")
    archive_repo.edit_study("OIA-000003", "title: HeLa", "title: Better HeLa")
    assert ids(run(archive_repo)) == ["SUB006"]


def test_re_embargoing_a_published_study_is_refused(archive_repo: ArchiveRepo) -> None:
    archive_repo.edit_study("OIA-000001", "release_date: 2024-01-15", "release_date: 2030-01-01")
    archive_repo.edit_study("OIA-000001", "version: 1", "version: 2")
    archive_repo.write(
        "studies/OIA-000001/study.yaml", archive_repo.read("studies/OIA-000001/study.yaml") + V2_ENTRY
    )
    found = run(archive_repo)
    assert ids(found) == ["SUB008"]


def test_unreadable_base_record_is_a_warning(archive_repo: ArchiveRepo) -> None:
    archive_repo.checkout("main")
    archive_repo.write("studies/OIA-000002/study.yaml", "title: [unclosed\n")
    archive_repo.commit("Broken on main")
    archive_repo.git("branch", "-f", "submission", "main")
    archive_repo.checkout("submission")
    archive_repo.add_study("OIA-000002", title="Mouse brain sections imaged by light sheet", image_name="brain")
    assert ids(run(archive_repo)) == ["SUB011"]


def test_stray_files_in_a_study_folder_are_flagged(archive_repo: ArchiveRepo) -> None:
    archive_repo.add_study("OIA-000003")
    archive_repo.write("studies/OIA-000003/raw/cells.tif", b"II*\x00" + b"\x00" * 64)
    archive_repo.write("studies/OIA-000001/notes.txt", "my notes")
    archive_repo.write("studies/README.md", "not a study")
    found = run(archive_repo)
    assert [(d.check, d.file) for d in found] == [
        ("SUB012", "studies/OIA-000001/notes.txt"),
        ("SUB012", "studies/OIA-000003/raw/cells.tif"),
        ("SUB012", "studies/README.md"),
    ]
    assert found[0].severity is Severity.WARNING and "images are referenced by URL" in found[0].message


def test_symbolic_links_are_refused_and_never_followed(archive_repo: ArchiveRepo, tmp_path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("accession: OIA-000003\ntoken: do-not-leak\n")
    (archive_repo.root / "studies/OIA-000003").mkdir(parents=True)
    (archive_repo.root / "studies/OIA-000003/study.yaml").symlink_to(secret)
    (archive_repo.root / "studies/OIA-000004").symlink_to(tmp_path)
    archive_repo.commit("Links")
    found = run(archive_repo)
    assert [(d.check, d.file) for d in found] == [
        ("SUB015", "studies/OIA-000003/study.yaml"),
        ("SUB015", "studies/OIA-000004"),
    ]
    assert all("do-not-leak" not in d.message for d in found)


def test_yaml_aliases_are_not_expanded() -> None:
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"
    assert parse_record_text(bomb, load_settings()) is None


def test_lock_problems_are_reported_without_reading_data(archive_repo: ArchiveRepo) -> None:
    archive_repo.add_study("OIA-000003", lock=False)
    archive_repo.add_study("OIA-000004", lock=False)
    archive_repo.write("studies/OIA-000004/images.lock", "{not json")
    archive_repo.add_study("OIA-000005", lock=False)
    archive_repo.write("studies/OIA-000005/images.lock", lock_text("OIA-000005", {"old": "images/old.ome.zarr"}))
    archive_repo.add_study("OIA-000006", lock=False)
    archive_repo.write(
        "studies/OIA-000006/images.lock", lock_text("OIA-000006", {"cells": "images/moved.ome.zarr"})
    )
    found = run(archive_repo)
    assert [(d.check, d.file) for d in found] == [
        ("SUB024", "studies/OIA-000003/study.yaml"),
        ("SUB023", "studies/OIA-000004/images.lock"),
        ("SUB020", "studies/OIA-000005/images.lock"),
        ("SUB022", "studies/OIA-000005/images.lock"),
        ("SUB022", "studies/OIA-000006/images.lock"),
    ]
    assert all("bioarchive lock studies/OIA-00000" in d.message for d in found)


def test_unknown_base_is_explained(archive_repo: ArchiveRepo) -> None:
    with pytest.raises(GitError, match="git fetch origin main"):
        run(archive_repo, base="origin/main")


# ---------------------------------------------------------------- through the CLI, as pr.yml runs it

def _added(repo: ArchiveRepo) -> None:
    repo.add_study("OIA-000003")


def _edited_without_version(repo: ArchiveRepo) -> None:
    repo.edit_study("OIA-000001", "title: HeLa", "title: Fixed HeLa")


def _edited_as_new_version(repo: ArchiveRepo) -> None:
    _edited_without_version(repo)
    repo.edit_study("OIA-000001", "\nversion: 1\n", "\nversion: 2\n")
    repo.write("studies/OIA-000001/study.yaml", repo.read("studies/OIA-000001/study.yaml") + V2_ENTRY)


def _colliding(repo: ArchiveRepo) -> None:
    repo.add_study("OIA-000003")
    repo.commit("Mine")
    repo.checkout("main")
    repo.add_study("OIA-000003", title="Someone else's zebrafish study")
    repo.commit("Theirs")
    repo.checkout("submission")


def _renumbered(repo: ArchiveRepo) -> None:
    from click.testing import CliRunner

    from builder.cli import main

    _colliding(repo)
    assert CliRunner().invoke(main, ["renumber", "studies/OIA-000003", "--base", "main"]).exit_code == 0


def _withdrawn(repo: ArchiveRepo) -> None:
    repo.edit_study("OIA-000002", "status: published", "status: withdrawn\nwithdrawal_reason: Consent was revoked.")
    repo.edit_study("OIA-000002", "\nversion: 1\n", "\nversion: 2\n")
    repo.write(
        "studies/OIA-000002/study.yaml",
        repo.read("studies/OIA-000002/study.yaml")
        + "changelog:\n  - version: 2\n    date: 2025-05-30\n    description: Withdrawn because consent was revoked.\n",
    )


def _deleted(repo: ArchiveRepo) -> None:
    repo.git("rm", "-q", "-r", "studies/OIA-000002")


def _embargoed(repo: ArchiveRepo) -> None:
    repo.add_study("OIA-000003", release_date="2999-01-01")


@pytest.mark.parametrize(
    ("scenario", "exit_code", "expected"),
    [
        (_added, 0, []),
        (_edited_without_version, 1, [("error", "SUB002", "`version` must be 2 (found 1)"),
                                      ("error", "SUB003", "version 2 has no changelog entry")]),
        (_edited_as_new_version, 0, []),
        (_colliding, 1, [("error", "SUB001", "run `bioarchive renumber studies/OIA-000003`")]),
        (_renumbered, 0, []),
        (_withdrawn, 0, [("info", "SUB007", "page stays as a tombstone")]),
        (_deleted, 1, [("error", "SUB004", "deleting studies is refused")]),
        (_embargoed, 0, [("info", "SUB006", "embargoed until 2999-01-01")]),
    ],
    ids=lambda v: v.__name__.strip("_") if callable(v) else None,
)
def test_validate_changed_since_gives_the_verdict(archive_repo: ArchiveRepo, scenario, exit_code, expected) -> None:
    import json

    from click.testing import CliRunner

    from builder.cli import main

    scenario(archive_repo)
    result = CliRunner().invoke(main, ["validate", "--changed-since", "main", "--no-data", "--format", "json"])
    assert result.exit_code == exit_code, result.output
    doc = json.loads(result.stdout)
    found = [d for r in doc["records"] for d in r["diagnostics"]] + doc["diagnostics"]
    submission = [(d["severity"], d["check"], d["message"]) for d in found if d["check"].startswith("SUB")]
    assert len(submission) == len(expected), submission
    for (severity, check, message), (want_severity, want_check, want_text) in zip(submission, expected):
        assert (severity, check) == (want_severity, want_check)
        assert want_text in message


@pytest.mark.parametrize(
    "text",
    [
        "datasets: 5\naccession: OIA-000003\nversion: [1]\nchangelog: 7\nrelease_date: soon\n",
        "datasets:\n  - images: 3\n  - 4\nstatus: withdrawn\n",
        "- just\n- a list\n",
        "accession: OIA-000003\nversion: true\nrelease_date: 2999-01-01\n",
        "title: [unclosed\n",
        "\x00\x01binary",
    ],
)
def test_hostile_records_never_crash_the_rules_or_the_review(archive_repo: ArchiveRepo, text: str) -> None:
    from click.testing import CliRunner

    from builder.cli import main

    archive_repo.write("studies/OIA-000003/study.yaml", text)
    archive_repo.write("studies/OIA-000001/study.yaml", text)  # an edit of a published study, too
    run(archive_repo)
    result = CliRunner().invoke(main, ["review", "--changed-since", "main", "--no-data"])
    assert result.exit_code == 1, result.output  # invalid records are errors, not tracebacks
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_every_bioarchive_command_in_the_guides_parses() -> None:
    """The guides' commands use commands and options that exist (parsed by the real CLI)."""
    import re
    import shlex

    import click

    from builder.cli import main
    from tests.conftest import REPO_ROOT

    found = 0
    for guide in ("submitting.md", "reviewing.md"):
        text = (REPO_ROOT / "docs" / "guides" / guide).read_text()
        text = text.replace("\\\n", " ")
        lines = re.findall(r"^\s*(bioarchive [^\n`]+)", text, re.MULTILINE) + re.findall(r"`(bioarchive [^`]+)`", text)
        for line in lines:
            words = shlex.split(line.split("&&")[0])
            command = main.get_command(click.Context(main), words[1])
            assert command is not None, f"{guide}: no command {words[1]!r}"
            if len(words) > 2:  # an invocation, not just the command's name
                try:
                    command.make_context(words[1], words[2:])  # raises UsageError on unknown options
                except click.BadParameter as exc:
                    # The depositor's own files (raw/cells_01.ome.tif) are not in the repository:
                    # options and arguments parsed, only the file itself is missing.
                    if "does not exist" not in exc.format_message():
                        raise
            found += 1
    assert found >= 8


def test_a_submission_cannot_loosen_the_settings_that_judge_it(archive_repo: ArchiveRepo) -> None:
    settings = archive_repo.read("archive.toml")
    archive_repo.write("archive.toml", settings.replace('"CC-BY-4.0"', '"CC-BY-4.0", "LicenseRef-AllRightsReserved"'))
    archive_repo.write("ontology/relabel.yaml", "terms:\n  NCBITaxon:10090: Homo sapiens\n")
    archive_repo.add_study("OIA-000003")
    archive_repo.commit("My study, and a licence I need")
    found = [d for d in run(archive_repo) if d.check == "SUB016"]
    assert {d.file for d in found} == {"archive.toml", "ontology/relabel.yaml"}
    assert all(d.severity is Severity.ERROR for d in found)
    assert "only files under studies/" in found[0].message and "pull request of their own" in found[0].hint


def test_settings_changed_without_studies_are_a_maintainers_change(archive_repo: ArchiveRepo) -> None:
    archive_repo.write("archive.toml", archive_repo.read("archive.toml") + "\n# reviewed by maintainers\n")
    archive_repo.write("docs/guides/extra.md", "# Notes\n")
    archive_repo.commit("Settings only")
    assert run(archive_repo) == []
