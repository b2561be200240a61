"""`bioarchive validate`: grouped human output, stable JSON, GitHub annotations, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from builder.cli import main
from tests.support.records import make_record, record_yaml, write_record


def run(root: Path, *args: str):
    result = CliRunner().invoke(main, ["validate", "--root", str(root), *args], catch_exceptions=False)
    return result


def bad_licence_archive(tmp_path: Path) -> Path:
    write_record(tmp_path, make_record())
    write_record(tmp_path, make_record(accession="OIA-000002", licence="MIT"))
    return tmp_path


def test_valid_archive_exits_0_with_completeness(tmp_path):
    write_record(tmp_path, make_record())
    result = run(tmp_path, "--no-data")
    assert result.exit_code == 0, result.output
    assert "studies/OIA-000001/study.yaml" in result.output
    assert "completeness" in result.output and "valid" in result.output
    assert "1 record checked: 0 errors" in result.output


def test_error_exits_1_with_location_check_message_and_fix(tmp_path):
    root = bad_licence_archive(tmp_path)
    text = (root / "studies/OIA-000002/study.yaml").read_text()
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if ln.startswith("licence:"))
    result = run(root, "--no-data")
    assert result.exit_code == 1
    out = result.output
    assert f"studies/OIA-000002/study.yaml:{line}:1" in out
    assert "MOD032" in out and "licence 'MIT' is not accepted" in out
    assert "fix:" in out and "invalid" in out
    assert "2 records checked: 1 error" in out


def test_warnings_alone_exit_0(tmp_path):
    record = make_record()
    record["datasets"][0]["biosample"]["organisms"] = [{"id": "NCBITaxon:10116", "label": "Mus musculus"}]
    write_record(tmp_path, record)
    result = run(tmp_path, "--no-data")
    assert result.exit_code == 0
    assert "ONT003" in result.output and "NCBITaxon:10116 is 'Rattus norvegicus'" in result.output


def test_json_document_is_stable(tmp_path):
    root = bad_licence_archive(tmp_path)
    result = run(root, "--no-data", "--format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.output)
    assert doc["format"] == "bioarchive-validate" and doc["version"] == 1 and doc["ok"] is False
    assert doc["summary"]["records"] == 2 and doc["summary"]["errors"] == 1
    by_file = {r["file"]: r for r in doc["records"]}
    bad = by_file["studies/OIA-000002/study.yaml"]
    assert bad["valid"] is False and bad["accession"] == "OIA-000002" and bad["completeness"] is None
    [error] = [d for d in bad["diagnostics"] if d["severity"] == "error"]
    assert set(error) >= {"check", "severity", "message", "hint", "file", "line", "column", "field"}
    assert error["check"] == "MOD032" and error["field"] == "licence" and error["line"] > 1
    good = by_file["studies/OIA-000001/study.yaml"]
    assert good["valid"] is True and isinstance(good["completeness"], int)
    assert doc["diagnostics"] == []


def test_github_format_prints_workflow_commands(tmp_path):
    root = bad_licence_archive(tmp_path)
    result = run(root, "--no-data", "--format", "github")
    assert result.exit_code == 1
    errors = [ln for ln in result.output.splitlines() if ln.startswith("::error ")]
    assert len(errors) == 1
    assert errors[0].startswith("::error file=studies/OIA-000002/study.yaml,line=")
    assert ",col=1,title=MOD032::" in errors[0] and "Fix: " in errors[0]
    assert any(ln.startswith("::notice ") for ln in result.output.splitlines())


def test_github_format_escapes_newlines_and_commas():
    from builder.commands.validate import github_lines
    from builder.core.checks import Diagnostic, Severity

    d = Diagnostic("REC004", Severity.ERROR, "bad\nthing 100%", hint=None, file="a,b:c.yaml", line=3, column=2)
    assert github_lines([d]) == ["::error file=a%2Cb%3Ac.yaml,line=3,col=2,title=REC004::bad%0Athing 100%25"]


def test_paths_select_records(tmp_path):
    root = bad_licence_archive(tmp_path)
    assert run(root, "--no-data", str(root / "studies/OIA-000001")).exit_code == 0
    assert run(root, "--no-data", str(root / "studies/OIA-000001/study.yaml")).exit_code == 0
    assert run(root, "--no-data", str(root / "studies/OIA-000002")).exit_code == 1
    whole = run(root, "--no-data", "--format", "json", str(root / "studies"))
    assert json.loads(whole.output)["summary"]["records"] == 2


def test_missing_path_is_an_error(tmp_path):
    write_record(tmp_path, make_record())
    result = run(tmp_path, "--no-data", str(tmp_path / "studies/OIA-000404"))
    assert result.exit_code == 1
    assert "REC001" in result.output and "does not exist" in result.output


def test_unreadable_yaml_is_reported_not_raised(tmp_path):
    write_record(tmp_path, "title: [unclosed\n", accession="OIA-000001")
    result = run(tmp_path, "--no-data")
    assert result.exit_code == 1 and "REC004" in result.output and "Traceback" not in result.output


def test_changed_since_checks_only_changed_records(archive_repo):
    repo = archive_repo
    repo.edit_study("OIA-000002", "Mouse brain sections", "Rat brain sections")
    repo.write("studies/OIA-000003/study.yaml", record_yaml(make_record(accession="OIA-000003", licence="MIT")))
    result = run(repo.root, "--no-data", "--changed-since", "main", "--format", "json")
    doc = json.loads(result.output)
    files = sorted(r["file"] for r in doc["records"])
    assert files == ["studies/OIA-000002/study.yaml", "studies/OIA-000003/study.yaml"]
    assert result.exit_code == 1
    # The submission rules ran: OIA-000002 is published and changed without a new version.
    assert any(
        d["check"].startswith("SUB") for d in doc["diagnostics"] + [x for r in doc["records"] for x in r["diagnostics"]]
    )


def test_changed_since_warns_about_files_outside_the_study_folders(archive_repo):
    repo = archive_repo
    repo.add_study("OIA-000003")
    repo.write("docs/news.md", "<script>alert(1)</script>\n")
    result = run(repo.root, "--no-data", "--changed-since", "main", "--format", "json")
    assert result.exit_code == 0, result.output  # a warning: the curator decides
    (finding,) = [d for d in json.loads(result.output)["diagnostics"] if d["check"] == "SUB017"]
    assert finding["severity"] == "warning" and finding["file"] == "docs/news.md"
    assert "holds a <script> element" in finding["message"]
    human = run(repo.root, "--no-data", "--changed-since", "main")
    assert "SUB017" in human.output and "docs/news.md" in human.output


def test_changed_since_unknown_ref_is_a_clear_error(archive_repo):
    result = CliRunner().invoke(
        main, ["validate", "--root", str(archive_repo.root), "--no-data", "--changed-since", "no-such-branch"]
    )
    assert result.exit_code != 0 and "no-such-branch" in result.output


def lock(repo, accession: str) -> None:
    result = CliRunner().invoke(main, ["lock", str(repo.root / "studies" / accession)], catch_exceptions=False)
    assert result.exit_code == 0, result.output


def test_image_findings_land_on_the_url_line(archive_repo):
    repo = archive_repo
    repo.add_image("images/cells.ome.zarr")
    lock(repo, "OIA-000001")
    repo.write(
        "studies/OIA-000002/study.yaml",
        repo.read("studies/OIA-000002/study.yaml").replace("images/cells.ome.zarr", "images/missing.ome.zarr"),
    )
    result = run(repo.root, "--format", "json", str(repo.root / "studies"))
    doc = json.loads(result.output)
    by_file = {r["file"]: r for r in doc["records"]}
    text = repo.read("studies/OIA-000002/study.yaml")
    url_line = next(i for i, ln in enumerate(text.splitlines(), 1) if "images/missing.ome.zarr" in ln)
    found = [d for d in by_file["studies/OIA-000002/study.yaml"]["diagnostics"] if d["severity"] == "error"]
    assert found, by_file["studies/OIA-000002/study.yaml"]
    assert all(d["line"] == url_line and d["field"].endswith(".url") for d in found)
    assert not [d for d in by_file["studies/OIA-000001/study.yaml"]["diagnostics"] if d["severity"] == "error"]
    assert result.exit_code == 1


@pytest.mark.parametrize("command", ["validate", "new", "schema"])
def test_broken_archive_toml_is_a_clear_error(tmp_path, command):
    (tmp_path / "archive.toml").write_text("[archive]\naccession_prefix = 12\n")
    result = CliRunner().invoke(main, [command, "--root", str(tmp_path)])
    assert result.exit_code == 1
    assert "cannot read" in result.output and "archive.toml" in result.output and "accession_prefix" in result.output


def test_undescribed_channels_found_in_the_image_are_hinted(archive_repo):
    repo = archive_repo
    repo.add_image("images/cells.ome.zarr", channels=2)
    repo.edit_study(
        "OIA-000001",
        "      preparation_protocol: Fixed in 4% PFA for 10 minutes and stained with Hoechst.\n",
        "      preparation_protocol: Fixed in 4% PFA for 10 minutes and stained with Hoechst.\n"
        "      signal_contrast:\n        - {channel: ch0, contrast: Hoechst 33342, target: nuclei}\n",
    )
    result = run(repo.root, "--format", "json", str(repo.root / "studies/OIA-000001"))
    [record] = json.loads(result.output)["records"]
    [hint] = [d for d in record["diagnostics"] if d["check"] == "CMP012"]
    assert "have 2 channels, but signal_contrast describes 1" in hint["message"]
    text = repo.read("studies/OIA-000001/study.yaml")
    assert hint["line"] == next(i for i, ln in enumerate(text.splitlines(), 1) if "signal_contrast:" in ln)


def test_control_characters_from_a_record_cannot_drive_the_terminal(tmp_path):
    record = make_record(licence="MIT\x1b[2J\x1b]0;pwned\x07")
    write_record(tmp_path, record)
    for fmt in ("human", "github"):
        result = run(tmp_path, "--no-data", "--format", fmt)
        assert result.exit_code == 1
        assert "\x1b" not in result.output and "\x07" not in result.output
        assert "MIT\\x1b[2J" in result.output


def test_findings_about_archive_files_are_shown_too(tmp_path):
    write_record(tmp_path, make_record())
    (tmp_path / "ontology").mkdir()
    (tmp_path / "ontology" / "lab.yaml").write_text("terms: [not, a, mapping]\n")
    result = run(tmp_path, "--no-data")
    assert result.exit_code == 1
    assert "ontology/lab.yaml" in result.output and "ONT005" in result.output
    doc = json.loads(run(tmp_path, "--no-data", "--format", "json").output)
    assert [d["check"] for d in doc["diagnostics"]] == ["ONT005"]


def test_a_record_named_twice_is_checked_once(tmp_path):
    write_record(tmp_path, make_record())
    folder = tmp_path / "studies/OIA-000001"
    doc = json.loads(run(tmp_path, "--no-data", "--format", "json", str(folder), str(folder / "study.yaml")).output)
    assert doc["summary"]["records"] == 1 and doc["ok"] is True


def test_image_data_changed_since_it_was_locked_is_an_error(archive_repo):
    repo = archive_repo
    repo.add_image("images/cells.ome.zarr", channels=2)
    lock(repo, "OIA-000001")
    assert run(repo.root, str(repo.root / "studies/OIA-000001")).exit_code == 0
    repo.add_image("images/cells.ome.zarr", channels=3)  # the depositor re-exports the data
    result = run(repo.root, "--format", "json", str(repo.root / "studies/OIA-000001"))
    [record] = json.loads(result.output)["records"]
    [changed] = [d for d in record["diagnostics"] if d["check"] == "SUB021"]
    assert changed["severity"] == "error" and "'cells'" in changed["message"]
    assert "bioarchive lock studies/OIA-000001" in changed["hint"] or "bioarchive lock" in changed["message"]
    assert result.exit_code == 1


def test_a_withdrawn_studys_data_is_not_read(archive_repo):
    repo = archive_repo
    repo.edit_study("OIA-000002", "images/cells.ome.zarr", "images/gone.ome.zarr")
    published = run(repo.root, "--format", "json", str(repo.root / "studies/OIA-000002"))
    assert published.exit_code == 1  # the missing image is reported while the study is published
    repo.edit_study(
        "OIA-000002", "status: published\n", "status: withdrawn\nwithdrawal_reason: Consent was withdrawn.\n"
    )
    result = run(repo.root, "--format", "json", str(repo.root / "studies/OIA-000002"))
    [record] = json.loads(result.output)["records"]
    assert not [d for d in record["diagnostics"] if d["severity"] == "error"], record
    assert result.exit_code == 0


def test_outside_an_archive_nothing_passes_silently(tmp_path):
    result = run(tmp_path / "nowhere", "--no-data")
    assert result.exit_code == 1
    assert "is not an archive" in result.output and "archive.toml" in result.output
