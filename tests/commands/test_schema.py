"""`bioarchive schema`: the committed JSON Schema is current and carries the archive's rules."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from builder.cli import main
from builder.commands.schema import SCHEMA_PATH, render_schema, study_schema
from builder.core.settings import ArchiveSettings, load_settings
from tests.support.records import ARCHIVE_TOML


def test_committed_schema_is_current(repo_root):
    committed = (repo_root / SCHEMA_PATH).read_text(encoding="utf-8")
    assert committed == render_schema(load_settings(repo_root)), (
        "schema/study.schema.json is stale: run `bioarchive schema` and commit it"
    )


def test_schema_carries_archive_rules():
    settings = ArchiveSettings(licences=["CC0-1.0"], accession_prefix="XYZ-", accession_digits=4)
    schema = study_schema(settings)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["$id"].startswith("urn:bioarchive:")
    props = schema["properties"]
    assert props["licence"]["enum"] == ["CC0-1.0"]
    assert props["accession"]["pattern"] == "^XYZ-[0-9]{4}$"  # valid in Python and ECMA-262 unicode mode
    assert props["schema_version"]["const"] == 2
    assert schema["additionalProperties"] is False
    assert "Dataset" in schema["$defs"]


def test_write_then_check(tmp_path: Path):
    (tmp_path / "archive.toml").write_text(ARCHIVE_TOML)
    runner = CliRunner()
    stale = runner.invoke(main, ["schema", "--root", str(tmp_path), "--check"])
    assert stale.exit_code == 1 and "out of date" in stale.output
    wrote = runner.invoke(main, ["schema", "--root", str(tmp_path)])
    assert wrote.exit_code == 0 and "wrote schema/study.schema.json" in wrote.output
    json.loads((tmp_path / SCHEMA_PATH).read_text())
    assert runner.invoke(main, ["schema", "--root", str(tmp_path), "--check"]).exit_code == 0
    # Changing the archive's licences makes the schema stale again.
    (tmp_path / "archive.toml").write_text(ARCHIVE_TOML.replace('"CC0-1.0", ', ""))
    assert runner.invoke(main, ["schema", "--root", str(tmp_path), "--check"]).exit_code == 1
