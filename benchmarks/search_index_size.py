"""Size and build time of the catalog search (lunr index + metadata store).

Everything the search page downloads is the index plus the store; the goal is
under 1.5 MB gzipped at 10,000 studies. Run from the repository root:

    .venv/bin/python benchmarks/search_index_size.py [N ...]

Prints, per catalog size: seconds to make and validate the synthetic records,
to build the catalog, and to build the index and store; then the raw and
gzipped sizes of the index, the store and both together.
"""

from __future__ import annotations

import gzip
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from builder.catalog.assembly import build_catalog
from builder.site.search_index import build_search_index
from tests.support.catalog import (
    TODAY,
    settings_for_tests,
    synthetic_image_facts,
    synthetic_studies,
)

GOAL_GZIPPED_BYTES = 1.5 * 1024 * 1024


def megabytes(n: int) -> str:
    return f"{n / 1024 / 1024:.2f} MB"


def measure(n: int) -> dict[str, float]:
    started = time.perf_counter()
    studies = synthetic_studies(n)
    records_seconds = time.perf_counter() - started
    images = synthetic_image_facts(studies)
    started = time.perf_counter()
    catalog = build_catalog(studies, images, settings_for_tests(), TODAY)
    catalog_seconds = time.perf_counter() - started
    started = time.perf_counter()
    index_json, store_json = build_search_index(catalog)
    build_seconds = time.perf_counter() - started
    index_raw, store_raw = index_json.encode(), store_json.encode()
    index_gz, store_gz = gzip.compress(index_raw, 9), gzip.compress(store_raw, 9)
    return {
        "studies": n,
        "records_s": records_seconds,
        "catalog_s": catalog_seconds,
        "build_s": build_seconds,
        "index_raw": len(index_raw),
        "index_gz": len(index_gz),
        "store_raw": len(store_raw),
        "store_gz": len(store_gz),
        "total_gz": len(index_gz) + len(store_gz),
    }


def main(sizes: list[int]) -> int:
    print(
        f"{'studies':>8} {'records s':>9} {'catalog s':>9} {'index s':>8} {'index raw':>10} {'index gz':>9} "
        f"{'store raw':>10} {'store gz':>9} {'total gz':>9}  goal"
    )
    failed = False
    for n in sizes:
        r = measure(n)
        ok = r["total_gz"] <= GOAL_GZIPPED_BYTES
        failed |= n >= 10_000 and not ok
        print(
            f"{n:>8} {r['records_s']:>9.1f} {r['catalog_s']:>9.1f} {r['build_s']:>8.1f} "
            f"{megabytes(r['index_raw']):>10} "
            f"{megabytes(r['index_gz']):>9} {megabytes(r['store_raw']):>10} {megabytes(r['store_gz']):>9} "
            f"{megabytes(r['total_gz']):>9}  {'ok' if ok else 'OVER'} (< {megabytes(int(GOAL_GZIPPED_BYTES))})"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main([int(a) for a in sys.argv[1:]] or [1_000, 10_000]))
