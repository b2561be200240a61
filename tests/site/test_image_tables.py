"""A screen's image table on the built site: shards, TSV/CSV with formulas defused, a landing page that does not
grow with the table, and the table in real Chromium (rows, filter by gene, pages)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from builder.site.build import build
from builder.site.image_tables import SHARD_ROWS, defuse_cell
from builder.testing.ngff_writer import write_plate
from tests.support.catalog import study_record
from tests.support.records import ARCHIVE_TOML
from tests.support.site import REPO_ROOT, serve_folder

ACC = "OIA-000001"
COLUMNS = [
    {"name": "gene", "meaning": "gene", "identifiers": ["NCBIGene"]},
    {"name": "gene_symbol", "meaning": "gene_symbol"},
    {"name": "sirna", "meaning": "sirna"},
    {"name": "phenotype", "meaning": "phenotype", "identifiers": ["CMPO"], "multiple": True},
]
HEADER = ["dataset", "name", "url", "kind", "plate", "well", "field", "gene", "gene_symbol", "sirna", "phenotype"]


def table_rows(count: int) -> list[list[str]]:
    rows = []
    for i in range(count):
        gene = "PLK1" if i % 97 == 5 else f"G{i % 1000}"
        gene_id = "NCBIGene:5347" if gene == "PLK1" else f"NCBIGene:{10000 + i % 1000}"
        sirna = '=HYPERLINK("http://evil.example","x")' if i == 3 else f"s{i}"
        rows.append(["screen", f"w{i:06d}", "screen/plate1.ome.zarr", "plate", "plate1", "A1", "0", gene_id, gene,
                     sirna, "CMPO:0000077|CMPO:0000118" if gene == "PLK1" else "CMPO:0000077"])
    return rows


def screen_archive(root: Path, rows: int) -> Path:
    root.mkdir(parents=True)
    (root / "archive.toml").write_text(ARCHIVE_TOML)
    for name in ("mkdocs.yml",):
        shutil.copy2(REPO_ROOT / name, root / name)
    (root / "docs").mkdir()
    (root / "docs" / "index.md").write_text("# Archive\n")
    write_plate(root / "example-data/screen/plate1.ome.zarr", {("A", "1"): [np.zeros((1, 16, 16), "uint8")]},
                levels=1)
    record = study_record(ACC, title="A genome-wide siRNA screen of mitosis in HeLa cells")
    record["datasets"][0]["name"] = "screen"
    record["datasets"][0]["images"] = [{"name": "plate1", "url": "screen/plate1.ome.zarr", "kind": "plate"}]
    record["image_table"] = {"columns": COLUMNS}
    folder = root / "studies" / ACC
    folder.mkdir(parents=True)
    (folder / "study.yaml").write_text(yaml.safe_dump(record, sort_keys=False), encoding="utf-8")
    with (folder / "images.tsv").open("w", encoding="utf-8") as out:
        out.write("\t".join(HEADER) + "\n")
        for row in table_rows(rows):
            out.write("\t".join(row) + "\n")
    return root


@pytest.fixture(scope="module")
def sites(tmp_path_factory) -> dict[int, Path]:
    built = {}
    for rows in (10, 50_000):
        root = screen_archive(tmp_path_factory.mktemp(f"screen{rows}") / "archive", rows)
        report = build(root, site_dir=root / "site", today=dt.date(2026, 1, 1), console=None, history=False,
                       allow_invalid=True)
        assert [d.check for d in report.diagnostics if d.check.startswith("TAB")] == ["TAB019"]  # the formula
        built[rows] = root / "site"
    return built


def test_shards_index_and_values(sites) -> None:
    api = sites[50_000] / "api" / "studies" / ACC / "images"
    index = json.loads((api / "index.json").read_text())
    assert index["rows"] == 50_000 and len(index["shards"]) == 50_000 // SHARD_ROWS
    assert [c["name"] for c in index["columns"]] == HEADER
    assert set(index["filters"]) == {"gene", "gene_symbol", "sirna", "phenotype"}
    first = json.loads((api / index["shards"][0]).read_text())["rows"]
    assert first[0][:2] == ["screen", "w000000"] and len(first) == SHARD_ROWS
    values = json.loads((api / "values.json").read_text())
    assert values["gene_symbol"]["PLK1"] == list(range(len(index["shards"])))[: len(values["gene_symbol"]["PLK1"])]
    assert values["gene"]["NCBIGene:5347"]


def test_tsv_and_csv_defuse_formulas(sites) -> None:
    api = sites[10] / "api" / "studies" / ACC / "images"
    with (api / "images.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == HEADER and len(rows) == 11
    assert rows[4][HEADER.index("sirna")] == "'=HYPERLINK(\"http://evil.example\",\"x\")"
    tsv = (api / "images.tsv").read_text(encoding="utf-8").splitlines()
    assert tsv[4].split("\t")[HEADER.index("sirna")].startswith("'=")
    assert defuse_cell("-1") == "'-1" and defuse_cell("@x") == "'@x" and defuse_cell("PLK1") == "PLK1"


def test_landing_page_does_not_grow_with_the_table(sites) -> None:
    small = (sites[10] / "studies" / ACC / "index.html").read_text(encoding="utf-8")
    large = (sites[50_000] / "studies" / ACC / "index.html").read_text(encoding="utf-8")
    assert abs(len(large) - len(small)) < 200, (len(small), len(large))
    assert "w000009" not in large and "images.tsv" in large and "data-oia-image-table" in large


def test_table_in_chromium_shows_rows_filters_by_gene_and_pages(sites, chromium) -> None:
    with serve_folder(sites[50_000]) as url:
        page = chromium.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{url}/studies/{ACC}/")
        rows = page.locator("#image-table tbody tr")
        rows.first.wait_for()
        assert rows.count() == 50
        assert rows.nth(0).locator("td").nth(1).inner_text() == "w000000"
        assert "50000 rows" in page.locator("[data-oia-table-status]").inner_text()
        page.click("[data-oia-page='next']")
        page.wait_for_function("document.querySelector('#image-table tbody td:nth-child(2)').textContent"
                               " === 'w000050'")
        assert "Page 2 of 1000" in page.locator("[data-oia-page-label]").inner_text()
        page.select_option("[data-oia-filter-column]", "gene_symbol")
        page.fill("[data-oia-filter-value]", "plk1")
        page.click("[data-oia-filter-apply]")
        page.wait_for_function("document.querySelector('[data-oia-table-status]').textContent"
                               ".indexOf('matching') >= 0")
        expected = sum(1 for i in range(50_000) if i % 97 == 5)
        assert f"{expected} matching rows" in page.locator("[data-oia-table-status]").inner_text()
        symbols = {rows.nth(i).locator("td").nth(6).inner_text() for i in range(rows.count())}
        assert symbols == {"PLK1"}
        assert "CMPO:0000077, CMPO:0000118" in rows.nth(0).inner_text()
        page.click("[data-oia-filter-clear]")
        page.wait_for_function("document.querySelector('[data-oia-table-status]').textContent === '50000 rows'")
        assert not errors, errors
        page.close()


def test_the_example_screen_publishes_its_table(built_site) -> None:
    index = json.loads((built_site.site / "api/studies/OIA-000001/images/index.json").read_text())
    assert index["rows"] == 36 and "gene_symbol" in index["filters"]
    assert "data-oia-image-table" in built_site.page("studies/OIA-000001/")
