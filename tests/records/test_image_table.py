"""Image tables (studies/<ACC>/images.tsv): streamed validation through the records stage, on real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.core.checks import Severity
from builder.core.settings import load_settings
from builder.records.image_table import (
    MAX_CELL_CHARS,
    ImageTableReader,
    PlateLayout,
    plate_layout,
    registry_of,
    resolver_url,
    validate_image_table,
)
from builder.records.load import load_records
from tests.support.records import make_record, write_record

COLUMNS = [
    {"name": "gene", "meaning": "gene", "identifiers": ["NCBIGene", "ENSEMBL"]},
    {"name": "gene_symbol", "meaning": "gene_symbol"},
    {"name": "sirna", "meaning": "sirna"},
    {"name": "phenotype", "meaning": "phenotype", "identifiers": ["CMPO"], "multiple": True},
    {"name": "compound", "meaning": "compound", "identifiers": ["CHEBI", "pubchem.compound"]},
    {"name": "concentration", "meaning": "concentration"},
    {"name": "cell_line", "meaning": "cell_line", "identifiers": ["Cellosaurus"]},
    {"name": "antibody", "meaning": "antibody", "identifiers": ["RRID"]},
    {"name": "time_point", "meaning": "time_point", "unit": "h"},
]
HEADER = ["dataset", "name", "url", "kind", "plate", "well", "field",
          "gene", "gene_symbol", "sirna", "phenotype", "compound", "concentration", "cell_line", "antibody",
          "time_point"]
GOOD_ROW = ["fibroblasts", "p1_A01_0", "fibroblasts/plate1.ome.zarr", "plate", "plate1", "A01", "0",
            "NCBIGene:5347", "PLK1", "s448", "CMPO:0000077|CMPO:0000118", "CHEBI:15377", "10 nM", "CVCL_0030",
            "RRID:AB_2138153", "48"]


def screen(tmp_path: Path, rows: list[list[str]] | bytes, header: list[str] = HEADER,
           columns: list[dict] | None = None) -> Path:
    record = make_record(image_table={"columns": COLUMNS if columns is None else columns})
    path = write_record(tmp_path, record)
    table = path.parent / "images.tsv"
    if isinstance(rows, bytes):
        table.write_bytes(rows)
    else:
        table.write_text("\n".join("\t".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    return tmp_path


def findings(root: Path) -> list:
    records = load_records(root, load_settings(root))
    return [d for d in records.diagnostics if d.check.startswith("TAB")]


def row(**changes: str) -> list[str]:
    out = list(GOOD_ROW)
    for name, value in changes.items():
        out[HEADER.index(name)] = value
    return out


def only(root: Path, check: str) -> list:
    found = findings(root)
    assert found, "expected a finding"
    assert {d.check for d in found} == {check}, [(d.check, d.message) for d in found]
    return found


def test_a_good_table_passes_and_rows_come_out_canonical(tmp_path: Path) -> None:
    root = screen(tmp_path, [GOOD_ROW, row(name="p1_A02_0", well="a2", gene="ENSEMBL:ENSG00000166851",
                                           cell_line="cellosaurus:CVCL_0030", compound="pubchem.compound:962")])
    assert findings(root) == []
    records = load_records(root, load_settings(root))
    study = records.studies["OIA-000001"]
    reader = ImageTableReader(root / "studies/OIA-000001/images.tsv", study, file="images.tsv")
    rows = list(reader.rows())
    assert reader.summary.rows == 2 and len(reader.summary.sha256) == 64
    assert rows[0][HEADER.index("cell_line")] == "Cellosaurus:0030" or rows[0][HEADER.index("cell_line")].endswith(
        ":0030")
    assert rows[1][HEADER.index("well")] == "A2"
    assert rows[0][HEADER.index("phenotype")] == "CMPO:0000077|CMPO:0000118"
    assert rows[0][HEADER.index("concentration")] == "10 nM"


def test_errors_point_at_row_and_column_with_the_column_name(tmp_path: Path) -> None:
    root = screen(tmp_path, [GOOD_ROW, row(name="p1_A02_0", gene="NCBIGene:PLK1")])
    (d,) = only(root, "TAB013")
    assert d.file == "studies/OIA-000001/images.tsv" and d.line == 3 and d.column == HEADER.index("gene") + 1
    assert d.field == "gene" and "NCBIGene" in d.message and d.hint
    assert d.severity is Severity.ERROR


def test_unknown_column(tmp_path: Path) -> None:
    (d,) = only(screen(tmp_path, [GOOD_ROW + ["x"]], header=HEADER + ["genee"]), "TAB005")
    assert d.line == 1 and d.field == "genee" and "declared" in d.message


def test_missing_required_column(tmp_path: Path) -> None:
    header = [h for h in HEADER if h != "url"]
    found = only(screen(tmp_path, [[c for h, c in zip(HEADER, GOOD_ROW) if h != "url"]], header=header), "TAB004")
    assert "url" in found[0].message


def test_duplicate_image_names(tmp_path: Path) -> None:
    (d,) = only(screen(tmp_path, [GOOD_ROW, row(well="B01")]), "TAB007")
    assert d.line == 3 and d.field == "name"


def test_unknown_dataset(tmp_path: Path) -> None:
    (d,) = only(screen(tmp_path, [row(dataset="screen")]), "TAB008")
    assert "fibroblasts" in d.message


def test_identifier_from_an_undeclared_registry(tmp_path: Path) -> None:
    (d,) = only(screen(tmp_path, [row(gene="CHEBI:15377")]), "TAB014")
    assert "NCBIGene" in d.message


def test_unregistered_prefix_and_bare_ids(tmp_path: Path) -> None:
    found = only(screen(tmp_path, [row(gene="NCBIGen:5347"), row(name="b", gene="5347")]), "TAB013")
    assert "no registry" in found[0].message and "no prefix" in found[1].message


def test_declared_prefix_unknown_to_the_registry(tmp_path: Path) -> None:
    columns = [dict(COLUMNS[0], identifiers=["NCBIGen"])]
    root = screen(tmp_path, [GOOD_ROW[:8]], header=HEADER[:8], columns=columns)
    (d,) = only(root, "TAB020")
    assert d.file.endswith("study.yaml") and d.field == "image_table.columns[0].identifiers" and d.line


def test_declaration_errors_from_the_model(tmp_path: Path) -> None:
    root = screen(tmp_path, [GOOD_ROW[:8]], header=HEADER[:8], columns=[{"name": "gene", "meaning": "gene"}])
    (d,) = only(root, "TAB020")
    assert "identifiers" in d.message and d.file.endswith("study.yaml")


def test_unknown_units(tmp_path: Path) -> None:
    found = only(screen(tmp_path, [row(concentration="10 nanomolar"), row(name="b", concentration="ten nM"),
                                   row(name="c", time_point="48 min")]), "TAB015")
    assert "nanomolar" in found[0].message and len(found) == 3


def test_several_values_in_a_single_column(tmp_path: Path) -> None:
    (d,) = only(screen(tmp_path, [row(gene="NCBIGene:5347|NCBIGene:1")]), "TAB016")
    assert "multiple: true" in d.message


def test_ragged_rows(tmp_path: Path) -> None:
    (d,) = only(screen(tmp_path, [GOOD_ROW[:-2], row(name="b")]), "TAB006")
    assert d.line == 2 and "14 cells" in d.message


def test_html_and_control_characters(tmp_path: Path) -> None:
    found = only(screen(tmp_path, [row(gene_symbol="<script>alert(1)</script>"),
                                   row(name="b", sirna="s4\x0048"), row(name="c", sirna="s\u202e84")]), "TAB017")
    assert "HTML" in found[0].message and "U+0000" in found[1].message and "U+202E" in found[2].message


def test_formula_injection_is_a_warning_and_the_value_stays(tmp_path: Path) -> None:
    root = screen(tmp_path, [row(sirna='=HYPERLINK("http://evil","x")')])
    (d,) = only(root, "TAB019")
    assert d.severity is Severity.WARNING and d.field == "sirna"


def test_ten_megabyte_cell_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    import tracemalloc

    huge = row(sirna="A" * 10_000_000)
    root = screen(tmp_path, [huge, row(name="b")])
    tracemalloc.start()
    found = findings(root)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert [d.check for d in found] == ["TAB018"] and found[0].line == 2
    assert peak < 2_000_000, peak  # the 10 MB line is read in 64 KiB pieces


def test_long_cell_within_a_line(tmp_path: Path) -> None:
    (d,) = only(screen(tmp_path, [row(sirna="A" * (MAX_CELL_CHARS + 1))]), "TAB018")
    assert d.field == "sirna"


def test_non_utf8_bytes(tmp_path: Path) -> None:
    text = ("\t".join(HEADER) + "\n" + "\t".join(row(gene_symbol="X")) + "\n").encode()
    text = text.replace(b"\tX\t", b"\tM\xfcller\t")
    (d,) = only(screen(tmp_path, text), "TAB002")
    assert d.line == 2 and d.column == HEADER.index("gene_symbol") + 1 and "Latin-1" in d.message


def test_byte_order_mark_is_a_warning_and_ignored(tmp_path: Path) -> None:
    text = b"\xef\xbb\xbf" + ("\t".join(HEADER) + "\r\n" + "\t".join(GOOD_ROW) + "\r\n").encode()
    (d,) = only(screen(tmp_path, text), "TAB003")
    assert d.severity is Severity.WARNING


def test_bad_names_urls_kinds_and_positions(tmp_path: Path) -> None:
    root = screen(tmp_path, [row(name="../x"), row(name="b", url="http://host/p.zarr"), row(name="c", kind="well"),
                             row(name="d", well="A"), row(name="e", field="-1"), row(name="f", url="")])
    found = findings(root)
    checks = [d.check for d in found if d.check != "TAB019"]
    assert checks == ["TAB011", "TAB011", "TAB011", "TAB012", "TAB012", "TAB010"]
    assert "https" in found[1].message


def test_table_without_declaration_and_declaration_without_table(tmp_path: Path) -> None:
    path = write_record(tmp_path, make_record())
    (path.parent / "images.tsv").write_text("dataset\tname\turl\n")
    (d,) = findings(tmp_path)
    assert d.check == "TAB022"
    (path.parent / "images.tsv").unlink()
    write_record(tmp_path, make_record(image_table={"columns": []}))
    (d,) = findings(tmp_path)
    assert d.check == "TAB001" and d.field == "image_table"


def test_a_link_is_not_read(tmp_path: Path) -> None:
    root = screen(tmp_path, [GOOD_ROW])
    table = root / "studies/OIA-000001/images.tsv"
    secret = tmp_path / "secret.tsv"
    table.rename(secret)
    table.symlink_to(secret)
    (d,) = only(root, "TAB001")
    assert "link" in d.message


def test_empty_table(tmp_path: Path) -> None:
    assert only(screen(tmp_path, b""), "TAB004")


def test_findings_are_bounded_per_check(tmp_path: Path) -> None:
    rows = [row(name=f"r{i}", gene="NCBIGene:x") for i in range(100)]
    found = findings(screen(tmp_path, rows))
    assert [d.check for d in found].count("TAB013") == 20
    (summary,) = [d for d in found if d.check == "TAB023"]
    assert "80 more TAB013" in summary.message


def test_rows_must_name_wells_the_inspected_plate_holds(tmp_path: Path) -> None:
    import numpy as np

    from builder.data.inspection import ImageTarget, inspect_image
    from builder.testing.ngff_writer import write_plate

    field_image = np.zeros((1, 8, 8), dtype="uint8")
    root = screen(tmp_path, [GOOD_ROW, row(name="b", well="C01"), row(name="c", well="B02", field="1")])
    write_plate(root / "example-data/fibroblasts/plate1.ome.zarr", {("A", "1"): [field_image]},
                rows=["A", "B"], columns=["1", "2"], levels=1)
    settings = load_settings(root)
    outcome = inspect_image(ImageTarget("OIA-000001/fibroblasts/p", "fibroblasts/plate1.ome.zarr", "plate"),
                            settings, root)
    assert outcome.facts is not None and outcome.facts.plate is not None, outcome.diagnostics
    plate = outcome.facts.plate
    layout = plate_layout(plate.row_names, plate.column_names, plate.fields_per_well)
    root = screen(tmp_path, [GOOD_ROW, row(name="b", well="C01"), row(name="c", well="B02", field="1")])
    study = load_records(root, settings).studies["OIA-000001"]
    reader = validate_image_table(root / "studies/OIA-000001/images.tsv", study, file="images.tsv",
                                  plates={"fibroblasts/plate1.ome.zarr": layout})
    checks = [(d.check, d.line, d.field) for d in reader.diagnostics]
    assert checks == [("TAB021", 3, "well"), ("TAB021", 4, "field")]
    assert layout == PlateLayout(frozenset({"A1", "A2", "B1", "B2"}), 1)


@pytest.mark.parametrize(("prefix", "expected"), [("ncbigene", "NCBIGene"), ("CHEBI", "CHEBI"), ("nope", None)])
def test_registry_prefixes_come_from_bioregistry(prefix: str, expected: str | None) -> None:
    registry = registry_of(prefix)
    assert (registry.shown if registry else None) == expected


def test_resolver_urls() -> None:
    assert resolver_url("NCBIGene:5347") == "https://www.ncbi.nlm.nih.gov/gene/5347"


def test_tables_over_the_row_bound_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import builder.records.image_table as image_table

    monkeypatch.setattr(image_table, "MAX_ROWS", 3)  # the real bound is 2,000,000 rows
    rows = [row(name=f"r{i}") for i in range(5)]
    (d,) = only(screen(tmp_path, rows), "TAB009")
    assert "more than 3 rows" in d.message and d.line == 5


def test_validate_prints_the_table_location(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from builder.cli import main

    root = screen(tmp_path, [GOOD_ROW, row(name="b", gene="NCBIGene:PLK1")])
    result = CliRunner().invoke(main, ["validate", "--root", str(root)], catch_exceptions=False)
    assert result.exit_code == 1
    assert f"studies/OIA-000001/images.tsv:3:{HEADER.index('gene') + 1}" in result.output
    assert "TAB013" in result.output and "Traceback" not in result.output


def test_the_example_screen_has_a_valid_gene_and_sirna_table(repo_root: Path) -> None:
    records = load_records(repo_root, load_settings(repo_root), [repo_root / "studies/OIA-000001/study.yaml"])
    assert [d for d in records.diagnostics if d.check.startswith("TAB")] == []
    study = records.studies["OIA-000001"]
    reader = ImageTableReader(repo_root / "studies/OIA-000001/images.tsv", study, file="images.tsv")
    rows = list(reader.rows())
    assert len(rows) == 36  # wells B-G x columns 2-7 of plate 1
    symbols = {r[reader.summary.columns.index("gene_symbol")] for r in rows}
    assert symbols == {"", "PLK1", "KIF11", "INCENP", "COPB1"}


def test_the_screens_guide_examples_validate(tmp_path: Path, repo_root: Path) -> None:
    import re

    import yaml

    guide = (repo_root / "docs/guides/screens.md").read_text(encoding="utf-8")
    declaration = yaml.safe_load(re.search(r"```yaml\n(.*?)```", guide, re.S).group(1))["image_table"]
    tsv = re.search(r"```\n(dataset\t.*?)```", guide, re.S).group(1)
    record = make_record(image_table=declaration)
    record["datasets"][0]["name"] = "screen"
    path = write_record(tmp_path, record)
    (path.parent / "images.tsv").write_text(tsv, encoding="utf-8")
    assert findings(tmp_path) == []
