"""How the website build scales: our build against a bare `mkdocs build`.

For each size N (default 1,000 and 10,000) this script

1. makes a synthetic catalog of N released studies (tests/support/catalog.py)
   with its thumbnails already in a cache folder, as after the data stage (no
   image is read: the data stage is measured elsewhere);
2. times our build from that catalog: pages, `mkdocs build`, exports, search
   index, thumbnails, swap (``builder.site.build.build_site_from_catalog``);
3. times a plain `mkdocs build` (Material theme, its search plugin, a nav of
   listing pages only) of N bare pages holding the same titles and
   descriptions;
4. reports wall time, peak RSS of the build's processes, study page sizes and
   the search index size (gzipped), and times a one-letter and an accession
   query in Chromium on the built search page.

Each build runs under a fresh wrapper process, whose RUSAGE_CHILDREN maxrss is
the peak RSS of that build's process tree alone.

Usage:  .venv/bin/python benchmarks/build_site.py [--sizes 1000 10000] [--workdir DIR] [--no-browser]
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import os
import pickle
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


# ---------------------------------------------------------------- inputs


def prepare(n: int, work: Path) -> Path:
    """Catalog JSON, cached thumbnails and bare pages for size n."""
    from PIL import Image

    from tests.support.catalog import synthetic_catalog

    folder = work / f"n{n}"
    if (folder / "catalog.pickle").is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    catalog = synthetic_catalog(n)
    cache = folder / "cache"
    cache.mkdir(exist_ok=True)
    sample = cache / "_sample.webp"
    Image.new("RGB", (256, 256), (20, 90, 120)).save(sample, "WEBP")
    names = {name for s in catalog.studies for img in s.images if img.facts for name in img.facts.thumbnails.values()}
    for name in names:
        os.link(sample, cache / name)
    sample.unlink()
    # Handed to the measured build as a pickle: the pipeline holds the catalog
    # in memory, and parsing 100 MB of catalog JSON would double the build's
    # peak memory and add seconds no real build spends.
    (folder / "catalog.pickle").write_bytes(pickle.dumps(catalog, protocol=pickle.HIGHEST_PROTOCOL))
    write_bare_site(catalog, folder / "bare")
    return folder


def write_bare_site(catalog, bare: Path) -> None:
    """N plain Markdown pages and a config whose nav lists listing pages only."""
    docs = bare / "docs"
    (docs / "studies").mkdir(parents=True, exist_ok=True)
    (docs / "index.md").write_text("# Bare archive\n\nEvery study as a plain Markdown page.\n")
    per_page = 24
    listing = []
    for s in catalog.studies:
        organisms = ", ".join(t.label for t in s.organisms)
        methods = ", ".join(t.label for t in s.imaging_methods)
        (docs / "studies" / f"{s.accession}.md").write_text(
            f"# {s.study.title}\n\n{s.study.description}\n\n"
            f"- Accession: {s.accession}\n- Organism: {organisms}\n- Imaging method: {methods}\n"
            f"- Licence: {s.licence.id}\n- Released: {s.release_date}\n- Images: {s.image_count}\n",
            encoding="utf-8",
        )
        listing.append(f"- [{s.study.title}]({s.accession}.md)")
    pages = [listing[i : i + per_page] for i in range(0, len(listing), per_page)]
    for number, chunk in enumerate(pages, start=1):
        name = "index.md" if number == 1 else f"page-{number}.md"
        nxt = f"\n[Next page](page-{number + 1}.md)\n" if number < len(pages) else ""
        (docs / "studies" / name).write_text(f"# Studies, page {number}\n\n" + "\n".join(chunk) + "\n" + nxt)
    (bare / "mkdocs.yml").write_text(
        "site_name: Bare archive\nsite_url: https://example.org/\n"
        "theme:\n  name: material\n  font: false\n"
        "plugins:\n  - search\n"
        "nav:\n  - Home: index.md\n  - Studies: studies/index.md\n"
    )


# ---------------------------------------------------------------- measured runs


def measured(command: list[str]) -> dict:
    """Run a command under a fresh wrapper: wall time and peak RSS of its process tree."""
    wrapper = [sys.executable, __file__, "--measure", "--", *command]
    started = time.perf_counter()
    proc = subprocess.run(wrapper, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"wall_s": round(wall, 1), "cpu_s": stats["cpu_s"], "peak_rss_mb": stats["peak_rss_mb"]}


def measure_main(command: list[str]) -> None:
    proc = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-5000:])
        sys.exit(proc.returncode)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU seconds (user + system) of the whole process tree: on a shared
    # machine wall time varies with other load, the work done much less.
    print(
        json.dumps({"peak_rss_mb": round(usage.ru_maxrss / 1024), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1)})
    )


def ours_main(folder: Path) -> None:
    """The measured body of our build (in its own process)."""
    from builder.site.build import build_site_from_catalog
    from tests.support.catalog import settings_for_tests

    # Not part of a build (the pipeline hands over the catalog it made): the
    # collector is held off while millions of objects are unpickled.
    gc.disable()
    catalog = pickle.loads((folder / "catalog.pickle").read_bytes())  # written by prepare(), above
    gc.enable()
    report = build_site_from_catalog(
        catalog, settings_for_tests(), REPO, folder / "site-ours", cache_dir=folder / "cache"
    )
    stages = {name: round(seconds, 1) for name, seconds in report.timings.items()}
    (folder / "stages.json").write_text(json.dumps({"page_count": report.pages, **stages}))


# ---------------------------------------------------------------- outputs


def gz_size(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=6))


def sizes(folder: Path) -> dict:
    site = folder / "site-ours"
    pages = [p.stat().st_size for p in (site / "studies").glob("OIA-*/index.html")]
    index = site / "search" / "catalog-index.json"
    store = site / "search" / "catalog-store.json"
    material = folder / "bare" / "site" / "search" / "search_index.json"
    return {
        "study_page_kb_max": round(max(pages) / 1024, 1),
        "study_page_kb_median": round(statistics.median(pages) / 1024, 1),
        "search_index_mb_gz": round(gz_size(index) / 1e6, 2),
        "search_store_mb_gz": round(gz_size(store) / 1e6, 2),
        "search_index_mb_raw": round(index.stat().st_size / 1e6, 2),
        "bare_material_index_mb_gz": round(gz_size(material) / 1e6, 2) if material.is_file() else None,
    }


def browser_queries(folder: Path) -> dict:
    """Load the search page and time queries in Chromium (the page records its own timing)."""
    from playwright.sync_api import sync_playwright

    from tests.support.site import CHROMIUM, CHROMIUM_ARGS, serve_folder

    out: dict = {}
    with serve_folder(folder / "site-ours") as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        started = time.perf_counter()
        page.goto(base + "search/")
        page.wait_for_selector("#oia-search[data-ready=true]", timeout=120_000)
        out["search_page_ready_ms"] = round((time.perf_counter() - started) * 1000)
        for label, query in (("one_letter_ms", "m"), ("accession_ms", "OIA-000123"), ("two_words_ms", "cell mouse")):
            timings = []
            for _ in range(3):
                page.evaluate("() => { document.getElementById('oia-search').removeAttribute('data-ready'); }")
                page.fill("#oia-search-q", "")
                page.fill("#oia-search-q", query)
                page.press("#oia-search-q", "Enter")
                page.wait_for_selector("#oia-search[data-ready=true]")
                timings.append(int(page.get_attribute("#oia-search", "data-search-ms")))
            out[label] = max(timings)
            out[label.replace("_ms", "_hits")] = page.eval_on_selector_all(".oia-result", "e => e.length")
            if label == "accession_ms":
                out["accession_first_hit"] = page.eval_on_selector(
                    ".oia-result__meta", "e => e.textContent.split(' · ')[0]"
                )
        browser.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bioarchive-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results = []
    for n in args.sizes:
        started = time.perf_counter()
        folder = prepare(n, work)
        print(f"[n={n}] inputs ready in {time.perf_counter() - started:.0f} s ({folder})", flush=True)
        # Both builds start without an earlier site (deleting one is no part of
        # building), on a quiet disk: each waits until the deletions and the
        # other build's writes have reached the disk (os.sync), so neither
        # pays for the other's file system work.
        for old in (folder / "site-ours", folder / "bare" / "site"):
            shutil.rmtree(old, ignore_errors=True)
        os.sync()
        ours = measured([sys.executable, __file__, "--ours", str(folder)])
        ours["stages_s"] = json.loads((folder / "stages.json").read_text())
        print(f"[n={n}] ours: {ours}", flush=True)
        os.sync()
        bare = measured([sys.executable, "-m", "mkdocs", "build", "--quiet", "-f", str(folder / "bare" / "mkdocs.yml")])
        print(f"[n={n}] bare mkdocs: {bare}", flush=True)
        row = {
            "studies": n,
            "ours": ours,
            "bare": bare,
            "ratio": round(ours["wall_s"] / bare["wall_s"], 2),
            **sizes(folder),
        }
        if not args.no_browser:
            row["browser"] = browser_queries(folder)
        results.append(row)
        print(json.dumps(row), flush=True)
    print()
    print(
        "| studies | ours s (cpu s) | ours peak MB | bare mkdocs s (cpu s) | bare peak MB | ours/bare "
        "| study page KB (max/median) | search index MB gz (+store) | one-letter ms | accession ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        b = r.get("browser", {})
        print(
            f"| {r['studies']:,} | {r['ours']['wall_s']} ({r['ours']['cpu_s']}) | {r['ours']['peak_rss_mb']} | "
            f"{r['bare']['wall_s']} ({r['bare']['cpu_s']}) | "
            f"{r['bare']['peak_rss_mb']} | {r['ratio']} | {r['study_page_kb_max']}/{r['study_page_kb_median']} | "
            f"{r['search_index_mb_gz']} (+{r['search_store_mb_gz']}) | {b.get('one_letter_ms', '–')} | "
            f"{b.get('accession_ms', '–')} |"
        )
    for r in results:
        print(f"stages at {r['studies']:,} (s): {r['ours']['stages_s']}")
    if len(results) > 1:
        a, z = results[0], results[-1]
        growth = (z["ours"]["wall_s"] / z["studies"]) / (a["ours"]["wall_s"] / a["studies"])
        print(f"\nper-study time at {z['studies']:,} vs {a['studies']:,}: x{growth:.2f} (1.0 = linear)")
    print(f"\nwork folder: {work}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--measure":
        measure_main(sys.argv[3:])
    elif len(sys.argv) > 1 and sys.argv[1] == "--ours":
        ours_main(Path(sys.argv[2]))
    else:
        main()
