"""Image-table validation at screen scale: N rows through the records stage's streamed reader.

Prints the time and peak RSS of validating a synthetic 384-well screen table
(gene, siRNA, phenotypes, compound, concentration) and, side by side in the
same process, a plain ``csv.reader`` pass over the same file (the floor any
Python reader pays). Goal (issue 12): 200,000 rows in under 5 s and 300 MB.

    .venv/bin/python benchmarks/image_table.py [--rows 200000]
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import tempfile
import time
from pathlib import Path

from builder.model.study import Study
from builder.records.image_table import validate_image_table

COLUMNS = [
    {"name": "gene", "meaning": "gene", "identifiers": ["NCBIGene", "ENSEMBL"]},
    {"name": "gene_symbol", "meaning": "gene_symbol"},
    {"name": "sirna", "meaning": "sirna"},
    {"name": "phenotype", "meaning": "phenotype", "identifiers": ["CMPO"], "multiple": True},
    {"name": "compound", "meaning": "compound", "identifiers": ["CHEBI"]},
    {"name": "concentration", "meaning": "concentration"},
    {"name": "cell_line", "meaning": "cell_line", "identifiers": ["Cellosaurus"]},
]
HEADER = ["dataset", "name", "url", "kind", "plate", "well", "field", *(c["name"] for c in COLUMNS)]


def study() -> Study:
    dataset = {
        "name": "screen", "title": "Genome-wide siRNA screen in HeLa",
        "biosample": {"organisms": [{"id": "NCBITaxon:9606", "label": "Homo sapiens"}],
                      "biological_entity": "HeLa cells"},
        "specimen": {"preparation_protocol": "Reverse transfection, fixed after 48 h, Hoechst."},
        "acquisition": {"imaging_method": [{"id": "FBbi:00000246", "label": "fluorescence microscopy"}],
                        "instrument": "Olympus ScanR"},
        "images": [{"name": "plate0000", "url": "screen/plate0000.ome.zarr", "kind": "plate"}],
    }
    return Study.model_validate({
        "schema_version": 2, "accession": "OIA-000001", "title": "A genome-wide siRNA screen",
        "description": "Synthetic screen table for the validation benchmark.",
        "authors": [{"name": "A", "email": "a@example.org", "contact": True}], "licence": "CC-BY-4.0",
        "release_date": "2024-01-01", "data_type": "reference images", "biological_scale": ["cell"],
        "human_data": {"ethics_statement": "Established cell line", "consent_statement": "Not applicable",
                       "deidentified": True},
        "datasets": [dataset], "image_table": {"columns": COLUMNS},
    })


def write_table(path: Path, rows: int) -> None:
    rows_per_plate = 384
    with path.open("w", encoding="utf-8") as out:
        out.write("\t".join(HEADER) + "\n")
        for i in range(rows):
            plate, well = divmod(i, rows_per_plate)
            r, c = divmod(well, 24)
            well_name = f"{chr(65 + r)}{c + 1:02d}"
            phenotype = "CMPO:0000077|CMPO:0000118" if i % 7 == 0 else "CMPO:0000077"
            out.write("\t".join([
                "screen", f"p{plate:04d}_{well_name}_0", f"screen/plate{plate:04d}.ome.zarr", "plate",
                f"plate{plate:04d}", well_name, "0", f"NCBIGene:{1000 + i % 20000}", f"GENE{i % 20000}",
                f"s{100000 + i}", phenotype, "CHEBI:15377", "10 nM", "CVCL_0030",
            ]) + "\n")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    record = study()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "images.tsv"
        write_table(path, args.rows)
        size_mb = path.stat().st_size / 1e6
        before = peak_rss_mb()
        started = time.perf_counter()
        with path.open(newline="", encoding="utf-8") as fh:
            plain_rows = sum(1 for _ in csv.reader(fh, delimiter="\t"))
        plain_s = time.perf_counter() - started
        started = time.perf_counter()
        reader = validate_image_table(path, record, file="images.tsv")
        ours_s = time.perf_counter() - started
        problems = [d for d in reader.diagnostics if d.severity == "error"]
        assert not problems, problems[:3]
        assert reader.summary.rows == args.rows == plain_rows - 1
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    print(f"table: {args.rows:,} rows, {size_mb:.1f} MB")
    print(f"csv.reader pass:  {plain_s:6.2f} s")
    print(f"validation:       {ours_s:6.2f} s  ({ours_s / plain_s:.1f}x csv.reader)  goal < 5 s")
    print(f"peak RSS:         {peak_rss_mb():6.0f} MB (before reading: {before:.0f} MB)  goal < 300 MB")


if __name__ == "__main__":
    main()
