"""Benchmark: validating study records at archive scale.

Generates N synthetic records (default 10,000) in a temporary archive, then:

1. validates all of them in this process (one core) and prints records/s and
   peak memory;
2. times `bioarchive validate <one record> --no-data` as a subprocess inside
   that archive: what a depositor waits for. It must not parse the other
   records (goal: under 1 s);
3. times `bioarchive validate --no-data` over the whole archive.

Usage: .venv/bin/python benchmarks/validate_records.py [--records N] [--keep DIR] [--repeat K]
(--keep DIR reuses the archive already generated there.)
Goals: >= 2,000 records/s in process; one record < 1 s end to end.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from builder.core.settings import load_settings
from builder.records.load import load_records

TAXA = [
    ("NCBITaxon:9606", "Homo sapiens"),
    ("NCBITaxon:10090", "Mus musculus"),
    ("NCBITaxon:7955", "Danio rerio"),
    ("NCBITaxon:7227", "Drosophila melanogaster"),
    ("NCBITaxon:3702", "Arabidopsis thaliana"),
]
METHODS = [
    ("FBbi:00000246", "fluorescence microscopy"),
    ("FBbi:00000251", "confocal microscopy"),
    ("FBbi:00000369", "SPIM"),
    ("FBbi:00000258", "transmission electron microscopy (TEM)"),
]
WORDS = [
    "cell",
    "nucleus",
    "mitosis",
    "membrane",
    "organoid",
    "tissue",
    "embryo",
    "neuron",
    "actin",
    "tubulin",
    "screen",
    "atlas",
]


def synthetic_record(n: int, rng: random.Random) -> dict:
    datasets = []
    human = False
    for d in range(rng.randint(1, 3)):
        taxon = rng.choice(TAXA)
        human = human or taxon[0] == "NCBITaxon:9606"
        datasets.append(
            {
                "name": f"set{d}",
                "title": f"Dataset {d} of study {n}",
                "description": " ".join(rng.choices(WORDS, k=20)),
                "biosample": {
                    "organisms": [{"id": taxon[0], "label": taxon[1]}],
                    "biological_entity": rng.choice(WORDS) + " samples",
                },
                "specimen": {
                    "preparation_protocol": " ".join(rng.choices(WORDS, k=30)),
                    "signal_contrast": [{"channel": "DAPI", "contrast": "Hoechst 33342", "target": "nuclei"}],
                },
                "acquisition": {
                    "imaging_method": [{"id": m[0], "label": m[1]} for m in rng.sample(METHODS, rng.randint(1, 2))],
                    "instrument": "Zeiss LSM 980",
                    "parameters": "63x/1.4 oil, 0.1 um pixels",
                },
                "images": [
                    {
                        "name": f"s{d}i{i}",
                        "url": f"s3://bucket/study{n}/set{d}/img{i}.ome.zarr",
                        "kind": rng.choice(["image", "plate"]),
                    }
                    for i in range(rng.randint(1, 5))
                ],
            }
        )
    record = {
        "schema_version": 2,
        "accession": f"OIA-{n:06d}",
        "title": f"Synthetic study {n}: " + " ".join(rng.choices(WORDS, k=6)),
        "description": " ".join(rng.choices(WORDS, k=rng.randint(10, 80))),
        "authors": [
            {
                "name": f"Author {a}",
                "email": f"a{a}@example.org",
                "contact": a == 0,
                "orcid": "0000-0002-1825-0097",
                "roles": ["writing"],
                "affiliations": [{"name": "European Molecular Biology Laboratory", "ror": "https://ror.org/03mstc592"}],
            }
            for a in range(rng.randint(1, 6))
        ],
        "licence": rng.choice(["CC0-1.0", "CC-BY-4.0"]),
        "keywords": rng.sample(WORDS, 3),
        "release_date": f"20{rng.randint(10, 25)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
        "funding": [{"funder": "Wellcome Trust", "grant_id": f"{n}/Z/20/Z"}],
        "publications": [{"title": "A paper", "authors": "Author 0", "year": 2020, "doi": f"10.1234/study.{n}"}],
        "data_type": "reference images",
        "biological_scale": ["cell"],
        "datasets": datasets,
    }
    if human:
        record["human_data"] = {
            "ethics_statement": "Approved by the ethics board, ref 2020-1.",
            "consent_statement": "Written informed consent.",
            "deidentified": True,
        }
    return record


def generate(root: Path, count: int) -> int:
    root.mkdir(parents=True, exist_ok=True)
    (root / "archive.toml").write_text((REPO / "archive.toml").read_text())
    rng = random.Random(1)
    total = 0
    for n in range(1, count + 1):
        folder = root / "studies" / f"OIA-{n:06d}"
        folder.mkdir(parents=True)
        text = "# yaml-language-server: $schema=../../schema/study.schema.json\n" + yaml.safe_dump(
            synthetic_record(n, rng), sort_keys=False
        )
        (folder / "study.yaml").write_text(text)
        total += len(text)
    return total


def timed_cli(root: Path, *args: str, runs: int) -> list[float]:
    exe = REPO / ".venv" / "bin" / "bioarchive"
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.run([str(exe), "validate", *args], check=False, cwd=root, capture_output=True)
        times.append(time.perf_counter() - started)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"bioarchive validate failed: {proc.stderr.decode()[-2000:]}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, help="generate the archive here and keep it (reused if already there)")
    parser.add_argument(
        "--repeat", type=int, default=1, help="validate the archive K times in process (cold each time)"
    )
    args = parser.parse_args()

    root = args.keep or Path(tempfile.mkdtemp(prefix="bioarchive-bench-"))
    try:
        started = time.perf_counter()
        existing = sorted((root / "studies").glob("*/study.yaml")) if (root / "studies").is_dir() else []
        if existing:
            args.records = len(existing)
            size = sum(p.stat().st_size for p in existing)
            print(f"reusing {args.records:,} records ({size / 1e6:.1f} MB of YAML) in {root}")
        else:
            size = generate(root, args.records)
            print(
                f"generated {args.records:,} records ({size / 1e6:.1f} MB of YAML) "
                f"in {time.perf_counter() - started:.1f} s"
            )
        settings = load_settings(root)

        # Every run is cold: nothing is cached between runs, in memory or on disk.
        for run in range(args.repeat):
            gc.collect()
            usage_before = resource.getrusage(resource.RUSAGE_SELF)
            rss_before = usage_before.ru_maxrss
            started = time.perf_counter()
            cpu_started = time.process_time()
            records = load_records(root, settings)
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
            usage = resource.getrusage(resource.RUSAGE_SELF)
            rss_after = usage.ru_maxrss
            errors = sum(1 for d in records.diagnostics if d.severity.value == "error")
            label = f"run {run + 1}: " if args.repeat > 1 else ""
            print(
                f"{label}in process: {len(records.records):,} records in {elapsed:.2f} s = "
                f"{len(records.records) / elapsed:,.0f} records/s "
                f"(one core; {errors} errors, {len(records.diagnostics):,} diagnostics)"
            )
            print(
                f"{label}CPU time {cpu:.2f} s = {len(records.records) / cpu:,.0f} records/s of CPU "
                f"(user {usage.ru_utime - usage_before.ru_utime:.2f} s, "
                f"system {usage.ru_stime - usage_before.ru_stime:.2f} s, "
                f"{usage.ru_minflt - usage_before.ru_minflt:,} page faults); "
                f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
            )
            print(f"{label}peak RSS {rss_after / 1024:.0f} MB (was {rss_before / 1024:.0f} MB before validating)")
            del records
            gc.collect()

        sample = sorted((root / "studies").iterdir())[: min(1000, args.records)]
        tracemalloc.start()
        load_records(root, settings, [p / "study.yaml" for p in sample])
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"tracemalloc peak for {len(sample):,} records kept in one RecordSet: {peak / 1e6:.1f} MB "
            f"({peak / len(sample) / 1e3:.1f} kB per record)"
        )

        one = f"studies/OIA-{args.records // 2:06d}/study.yaml"
        times = timed_cli(root, one, "--no-data", runs=5)
        print(
            f"`bioarchive validate {one} --no-data` in a {args.records:,}-record archive: "
            f"median {statistics.median(times):.3f} s, max {max(times):.3f} s (goal < 1 s)"
        )
        times = timed_cli(root, "--no-data", "--format", "json", runs=1)
        print(f"`bioarchive validate --no-data --format json` over all {args.records:,} records: {times[0]:.2f} s")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
