"""`bioarchive new`: a scaffold at the next free accession that guides and validates."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from builder.cli import main
from builder.commands import new as new_command
from builder.core.checks import Severity
from builder.core.settings import load_settings
from builder.records.load import load_record
from tests.support.records import ARCHIVE_TOML, make_record, write_record

FLAGS = [
    "--title",
    "Nuclear shape: a study of mouse cells",
    "--author",
    "Ada Lovelace",
    "--email",
    "ada@example.org",
    "--organism",
    "NCBITaxon:10090",
    "--imaging-method",
    "FBbi:00000251",
    "--licence",
    "CC0-1.0",
]


def archive(tmp_path: Path) -> Path:
    (tmp_path / "archive.toml").write_text(ARCHIVE_TOML)
    return tmp_path


def new(root: Path, *args: str, input: str | None = None):
    return CliRunner().invoke(main, ["new", "--root", str(root), *args], input=input, catch_exceptions=False)


def test_scaffold_with_flags_validates(tmp_path):
    root = archive(tmp_path)
    result = new(root, "--yes", *FLAGS)
    assert result.exit_code == 0, result.output
    assert "created studies/OIA-000001/study.yaml" in result.output
    path = root / "studies/OIA-000001/study.yaml"
    text = path.read_text()
    assert text.splitlines()[0] == "# yaml-language-server: $schema=../../schema/study.schema.json"
    checked = load_record(path, load_settings(root), root=root)
    assert checked.study is not None
    # What is left to do is exactly the guidance text the depositor replaces with their own words.
    assert {d.check for d in checked.diagnostics if d.severity is Severity.ERROR} == {"MOD050"}
    study = checked.study
    assert study.title == "Nuclear shape: a study of mouse cells"  # the colon is quoted safely
    assert study.licence == "CC0-1.0"
    assert study.organisms[0].label == "Mus musculus"  # resolved from the term list
    assert study.imaging_methods[0].label == "confocal microscopy"
    assert not [d for d in checked.diagnostics if d.check.startswith("ONT")]


def test_guidance_text_left_in_place_is_flagged(tmp_path):
    root = archive(tmp_path)
    new(root, "--yes", *FLAGS)
    checked = load_record(root / "studies/OIA-000001/study.yaml", load_settings(root), root=root)
    leftovers = [d for d in checked.diagnostics if d.check == "MOD050"]
    assert {d.field for d in leftovers} >= {"description", "datasets[0].acquisition.instrument"}
    # Guidance text must never reach the public site: it is an error, not a warning.
    assert all(d.severity is Severity.ERROR for d in leftovers)


def test_next_accession_is_one_above_the_highest(tmp_path):
    root = archive(tmp_path)
    write_record(root, make_record(accession="OIA-000003"))
    write_record(root, make_record(accession="OIA-000010"))
    (root / "studies" / "not-an-accession").mkdir()
    result = new(root, "--yes", *FLAGS)
    assert "OIA-000011" in result.output
    assert (root / "studies/OIA-000011/study.yaml").is_file()


def test_human_organism_adds_human_data_to_fill_in(tmp_path):
    root = archive(tmp_path)
    flags = list(FLAGS)
    flags[flags.index("NCBITaxon:10090")] = "NCBITaxon:9606"
    new(root, "--yes", *flags)
    path = root / "studies/OIA-000001/study.yaml"
    assert "human_data:" in path.read_text()
    checked = load_record(path, load_settings(root), root=root)
    assert {d.check for d in checked.diagnostics if d.severity is Severity.ERROR} == {"MOD004"}
    assert {d.field for d in checked.diagnostics if d.check == "MOD004"} == {
        "human_data.ethics_statement",
        "human_data.consent_statement",
    }


def test_without_flags_and_without_a_terminal_it_never_prompts(tmp_path):
    root = archive(tmp_path)
    result = new(root)  # CliRunner's stdin is not a terminal
    assert result.exit_code == 0
    checked = load_record(root / "studies/OIA-000001/study.yaml", load_settings(root), root=root)
    assert {d.field for d in checked.diagnostics if d.check in ("MOD004", "MOD006", "MOD022")} == {
        "title",
        "authors[0].name",
        "authors[0].email",
    }


def test_prompts_for_what_flags_do_not_give(tmp_path, monkeypatch):
    monkeypatch.setattr(new_command, "stdin_is_terminal", lambda: True)
    root = archive(tmp_path)
    answers = (
        "Mitosis in zebrafish embryos\nGrace Hopper\ngrace@example.org\nNCBITaxon:7955\nFBbi:00000369\nCC-BY-4.0\n"
    )
    result = new(root, input=answers)
    assert result.exit_code == 0, result.output
    checked = load_record(root / "studies/OIA-000001/study.yaml", load_settings(root), root=root)
    assert checked.study is not None
    assert checked.study.contact.name == "Grace Hopper"
    assert checked.study.organisms[0].label == "Danio rerio"
    assert checked.study.imaging_methods[0].label == "SPIM"


def test_unknown_term_asks_for_its_label_when_interactive(tmp_path, monkeypatch):
    monkeypatch.setattr(new_command, "stdin_is_terminal", lambda: True)
    root = archive(tmp_path)
    flags = list(FLAGS)
    flags[flags.index("NCBITaxon:10090")] = "NCBITaxon:999999"
    result = new(root, *flags, input="Imaginary beast\n")
    assert result.exit_code == 0, result.output
    text = (root / "studies/OIA-000001/study.yaml").read_text()
    assert 'label: "Imaginary beast"' in text


def test_malformed_organism_id_is_refused(tmp_path):
    root = archive(tmp_path)
    flags = list(FLAGS)
    flags[flags.index("NCBITaxon:10090")] = "9606"
    result = CliRunner().invoke(main, ["new", "--root", str(root), "--yes", *flags])
    assert result.exit_code == 2
    assert "not a NCBITaxon id" in result.output
    assert not (root / "studies").exists()


def test_licence_outside_the_archive_list_is_refused(tmp_path):
    root = archive(tmp_path)
    flags = list(FLAGS)
    flags[flags.index("CC0-1.0")] = "MIT"
    result = CliRunner().invoke(main, ["new", "--root", str(root), "--yes", *flags])
    assert result.exit_code == 2 and "CC0-1.0, CC-BY-4.0" in result.output


def test_malformed_email_is_refused(tmp_path):
    root = archive(tmp_path)
    flags = list(FLAGS)
    flags[flags.index("ada@example.org")] = "ada at example"
    result = CliRunner().invoke(main, ["new", "--root", str(root), "--yes", *flags])
    assert result.exit_code == 2 and "'ada at example' is not an email address" in result.output
