"""Records of schema version 1 are upgraded to version 2, keeping comments and layout."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from builder.cli import main
from builder.core.settings import ArchiveSettings
from builder.model.study import Study
from builder.records.load import load_record
from builder.records.migrations import (
    MigrationError,
    migrate_raw,
    needs_migration,
    record_version,
    rewrite_text,
    v1_to_v2,
)
from tests.support.records import ARCHIVE_TOML

V1_TEXT = """\
# yaml-language-server: $schema=../../schema/study.schema.json
# An old draft record.
schema_version: 1
accession: OIA-000001
title: Nuclear shape of mouse fibroblasts
description: Widefield fluorescence images of mouse embryonic fibroblasts stained for DNA.
authors:
  - {name: Ada Lovelace, email: ada@example.org, contact: true}
license: CC-BY-4.0   # chosen by the lab
release_date: 2024-01-15
data_type: reference images
biological_scale: [cell]
datasets:
  - name: fibroblasts
    title: Fixed fibroblasts
    biosample:
      organism:
        id: NCBITaxon:10090  # the mouse
        # strain C57BL/6
        label: Mus musculus
      biological_entity: embryonic fibroblasts
    specimen:
      preparation_protocol: Fixed in 4% PFA, stained with Hoechst 33342.
    acquisition:
      imaging_method: {id: "FBbi:00000246", label: fluorescence microscopy}  # widefield
      instrument: Nikon Ti2 widefield microscope
    images:
      - name: cells1
        url: fibroblasts/cells1.ome.zarr
"""


def test_v1_to_v2_is_a_pure_rewrite_of_the_data():
    raw = yaml.safe_load(V1_TEXT)
    before = yaml.safe_load(V1_TEXT)
    new, edits = v1_to_v2(raw)
    assert raw == before  # the input is not modified
    assert list(new)[:9] == ["schema_version", "accession", "title", "description", "authors", "licence",
                             "release_date", "data_type", "biological_scale"]
    assert new["schema_version"] == 2 and new["licence"] == "CC-BY-4.0" and "license" not in new
    dataset = new["datasets"][0]
    assert dataset["biosample"]["organisms"] == [{"id": "NCBITaxon:10090", "label": "Mus musculus"}]
    assert dataset["acquisition"]["imaging_method"] == [{"id": "FBbi:00000246", "label": "fluorescence microscopy"}]
    assert {e.op for e in edits} == {"rename", "wrap_list", "set"}
    Study.model_validate(new)


def test_versions_are_recognised():
    assert record_version({"schema_version": 2}) == 2
    assert record_version({"license": "CC0-1.0"}) == 1  # a draft record without schema_version
    assert record_version({"datasets": [{"biosample": {"organism": {}}}]}) == 1
    assert record_version({"title": "x"}) is None and record_version([1]) is None
    assert needs_migration({"schema_version": 1}) and not needs_migration({"schema_version": 2})


def test_newer_version_is_refused():
    with pytest.raises(MigrationError, match="newer than this builder"):
        migrate_raw({"schema_version": 99})


def test_rewrite_keeps_comments_and_layout():
    result = rewrite_text(V1_TEXT)
    assert result is not None and result.comments_kept
    assert (result.from_version, result.to_version) == (1, 2)
    text = result.text
    for comment in ("# An old draft record.", "# chosen by the lab", "# the mouse", "# strain C57BL/6", "# widefield"):
        assert comment in text
    assert "licence: CC-BY-4.0   # chosen by the lab" in text
    assert "      organisms:\n        - id: NCBITaxon:10090  # the mouse\n" in text
    assert "          label: Mus musculus\n" in text
    assert 'imaging_method: [{id: "FBbi:00000246", label: fluorescence microscopy}]  # widefield' in text
    # Only the migrated lines changed.
    changed = [(a, b) for a, b in zip(V1_TEXT.splitlines(), text.splitlines()) if a != b]
    assert len(changed) == 7  # version, licence, organism(s), id, its comment, label, imaging_method
    study = Study.model_validate(yaml.safe_load(text))
    assert study.organisms[0].id == "NCBITaxon:10090"


def test_current_record_needs_nothing():
    assert rewrite_text(rewrite_text(V1_TEXT).text) is None


def test_draft_without_schema_version_gets_one():
    text = V1_TEXT.replace("schema_version: 1\n", "")
    result = rewrite_text(text)
    assert result.comments_kept and "\nschema_version: 2\naccession: OIA-000001\n" in result.text


def test_layout_that_cannot_be_patched_is_rewritten_in_full():
    data = yaml.safe_load(V1_TEXT)
    del data["schema_version"]
    flow = "# header comment\n" + yaml.safe_dump(data, default_flow_style=True, width=10_000)
    result = rewrite_text(flow)
    assert result is not None and not result.comments_kept
    assert result.text.startswith("# header comment\n")
    Study.model_validate(yaml.safe_load(result.text))


def test_unreadable_record_is_a_migration_error():
    with pytest.raises(MigrationError, match="line 2"):
        rewrite_text("a: 1\na: 2\n")


def test_old_record_fails_validation_until_migrated(tmp_path: Path):
    path = tmp_path / "studies" / "OIA-000001" / "study.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(V1_TEXT)
    result = load_record(path, ArchiveSettings(), root=tmp_path)
    # Only the one fix that matters, not the format differences it will remove.
    [d] = result.diagnostics
    assert d.check == "MOD030" and d.line == 3 and d.field == "schema_version"
    assert "run `bioarchive migrate studies/OIA-000001/study.yaml`" in d.message
    path.write_text(V1_TEXT.replace("schema_version: 1\n", ""))
    [d] = load_record(path, ArchiveSettings(), root=tmp_path).diagnostics
    assert d.check == "MOD030" and "early draft format" in d.message


def test_migrate_command_check_then_rewrite(tmp_path: Path):
    (tmp_path / "archive.toml").write_text(ARCHIVE_TOML)
    path = tmp_path / "studies" / "OIA-000001" / "study.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(V1_TEXT)
    runner = CliRunner()
    check = runner.invoke(main, ["migrate", "--root", str(tmp_path), "--check"])
    assert check.exit_code == 1
    assert "studies/OIA-000001/study.yaml: written for schema version 1" in check.output
    assert path.read_text() == V1_TEXT  # --check writes nothing
    done = runner.invoke(main, ["migrate", "--root", str(tmp_path), str(path)])
    assert done.exit_code == 0 and "migrated from schema version 1 to 2" in done.output
    assert runner.invoke(main, ["migrate", "--root", str(tmp_path), "--check"]).exit_code == 0
    validated = runner.invoke(main, ["validate", "--root", str(tmp_path), "--no-data"])
    assert validated.exit_code == 0, validated.output


def test_migrate_command_reports_unreadable_files(tmp_path: Path):
    (tmp_path / "archive.toml").write_text(ARCHIVE_TOML)
    path = tmp_path / "studies" / "OIA-000001" / "study.yaml"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"title: caf\xe9\n")
    result = CliRunner().invoke(main, ["migrate", "--root", str(tmp_path)])
    assert result.exit_code == 1 and "cannot read" in result.output


@pytest.mark.parametrize("datasets", [True, 5, "text", None, [1, None, {"biosample": []}]])
def test_odd_shapes_do_not_break_version_detection(datasets):
    assert record_version({"datasets": datasets}) is None


def test_migrate_command_takes_folders_and_reports_missing_paths(tmp_path: Path):
    (tmp_path / "archive.toml").write_text(ARCHIVE_TOML)
    path = tmp_path / "studies" / "OIA-000001" / "study.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(V1_TEXT)
    result = CliRunner().invoke(main, ["migrate", "--root", str(tmp_path), str(path.parent), str(tmp_path / "nope")])
    assert result.exit_code == 1  # the missing path
    assert "nope: does not exist" in result.output and "migrated from schema version 1 to 2" in result.output
    assert "schema_version: 2" in path.read_text()
