"""A screen's image table on the site: JSON shards for its landing page and the API, plus TSV and CSV.

For every listed study with an ``images.tsv`` the build writes, under
``api/studies/<ACCESSION>/images/``:

- ``index.json``: columns, their meanings, the row count and the shard files;
- ``rows-NNNNN.json``: SHARD_ROWS rows each (the landing page loads one per page);
- ``values.json``: for each filter column (gene, reagent, phenotype), every
  value and the shards holding it, so a filter loads only those shards;
- ``images.tsv`` and ``images.csv``: the whole table, with cells that a
  spreadsheet would run as a formula defused (a leading ``'``).

Rows come from the records stage's one streamed reader, so only what
validation accepts is published; the landing page itself holds no row and
stays the same size whatever the table's length.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from builder.catalog.model import Catalog, CatalogStudy
from builder.core.layout import IMAGE_TABLE_NAME, STUDIES_DIR
from builder.model.image_table import FILTER_MEANINGS, STANDARD_COLUMNS
from builder.records.image_table import FORMULA_STARTS, ImageTableReader

# 500 rows of a screen table are ~60 KB of JSON (~8 KB gzipped): one request per page of the table.
SHARD_ROWS = 500


def image_table_dir(accession: str) -> str:
    return f"api/studies/{accession}/images"


def defuse_cell(value: str) -> str:
    """A cell as text for spreadsheets: one starting with = + - @ (or a tab or CR) gets a leading '."""
    if value and (value[0] in FORMULA_STARTS or value[0] in "\t\r"):
        return "'" + value
    return value


def _meanings(entry: CatalogStudy) -> dict[str, str]:
    table = entry.study.image_table
    declared = {c.name: c.meaning.value for c in table.columns} if table else {}
    return {name: declared.get(name, name) for name in STANDARD_COLUMNS} | declared


def write_study_table(entry: CatalogStudy, table: Path, site: Path) -> int:
    """Write one study's shards, value index, TSV and CSV; returns the number of rows published."""
    out = site / image_table_dir(entry.accession)
    out.mkdir(parents=True, exist_ok=True)
    reader = ImageTableReader(table, entry.study, file=f"{STUDIES_DIR}/{entry.accession}/{IMAGE_TABLE_NAME}")
    rows = reader.rows()
    meanings = _meanings(entry)
    shards: list[str] = []
    values: dict[str, dict[str, list[int]]] = {}
    published = 0
    buffer: list[list[str]] = []
    columns: list[str] = []
    filters: list[tuple[int, str]] = []

    def flush() -> None:
        name = f"rows-{len(shards) + 1:05d}.json"
        (out / name).write_text(json.dumps({"rows": buffer}, ensure_ascii=False, separators=(",", ":")),
                                encoding="utf-8")
        shards.append(name)
        buffer.clear()

    with (out / "images.tsv").open("w", encoding="utf-8", newline="") as tsv, \
            (out / "images.csv").open("w", encoding="utf-8", newline="") as csv_file:
        csv_out = csv.writer(csv_file)
        for row in rows:
            if not columns:
                columns = reader.summary.columns
                filters = [(i, c) for i, c in enumerate(columns) if meanings.get(c) in FILTER_MEANINGS]
                tsv.write("\t".join(columns) + "\n")
                csv_out.writerow(columns)
            defused = [defuse_cell(v) for v in row]
            tsv.write("\t".join(defused) + "\n")
            csv_out.writerow(defused)
            shard = len(shards)  # 0-based shard number of this row
            for i, column in filters:
                for value in row[i].split("|") if row[i] else ():
                    holders = values.setdefault(column, {}).setdefault(value, [])
                    if not holders or holders[-1] != shard:
                        holders.append(shard)
            buffer.append(row)
            published += 1
            if len(buffer) == SHARD_ROWS:
                flush()
        if buffer:
            flush()
    columns = columns or reader.summary.columns
    index = {
        "accession": entry.accession,
        "columns": [{"name": c, "meaning": meanings.get(c, c)} for c in columns],
        "rows": published,
        "shard_rows": SHARD_ROWS,
        "shards": shards,
        "filters": [c for _, c in filters],
        "values": "values.json",
        "tsv": "images.tsv",
        "csv": "images.csv",
    }
    (out / "values.json").write_text(json.dumps(values, ensure_ascii=False, separators=(",", ":")),
                                     encoding="utf-8")
    (out / "index.json").write_text(json.dumps(index, ensure_ascii=False, indent=1), encoding="utf-8")
    return published


def write_image_tables(catalog: Catalog, root: Path, site: Path) -> dict[str, int]:
    """Every listed, not withdrawn study's table; returns rows published per accession."""
    written: dict[str, int] = {}
    for entry in catalog.listed_studies:
        if entry.withdrawn or entry.study.image_table is None:
            continue
        table = root / STUDIES_DIR / entry.accession / IMAGE_TABLE_NAME
        if table.is_file() and not table.is_symlink():
            written[entry.accession] = write_study_table(entry, table, site)
    return written
