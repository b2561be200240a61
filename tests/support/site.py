"""Fixtures for the website: one real build of the example archive per session.

- ``example_archive``  a copy of the repository's archive (archive.toml,
                       mkdocs.yml, docs/, studies/, example-data/) in a temp
                       folder, plus two records of our own: an embargoed study
                       (``EMBARGO_ACCESSION``, its texts carry
                       ``SITE_EMBARGO_MARKER``) and a broken record
                       (``BROKEN_ACCESSION``)
- ``built_site``       ``bioarchive build`` of that archive (real data stage,
                       real ``mkdocs build``), run once per session
- ``site_url``         the built site served over HTTP on 127.0.0.1
- ``serve_folder(path)`` a context manager serving any folder the same way

If the repository holds no example studies yet, the archive gets two small
studies with images written by builder/ngff/writer.py, so the site tests do
not depend on another stage's data to run.
"""

from __future__ import annotations

import datetime as dt
import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml

SITE_EMBARGO_MARKER = "Quokkaembargoword"
EMBARGO_ACCESSION = "OIA-999998"
BROKEN_ACCESSION = "OIA-999999"
BROKEN_MARKER = "Brokenrecordword"
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class BuiltSite:
    root: Path
    site: Path
    report: object  # builder.site.build.BuildReport
    today: dt.date

    def page(self, url_path: str) -> str:
        return (self.site / url_path.strip("/") / "index.html").read_text(encoding="utf-8")

    @property
    def published(self) -> list[str]:
        import json

        catalog = json.loads((self.site / "catalog.json").read_text())
        return [s["accession"] for s in catalog["studies"] if not s["withdrawn"]]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # a browser dropping a connection it no longer needs is not a test failure


@contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1 (a free port); yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


def _write_yaml(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _own_examples(root: Path) -> None:
    """Two small studies with real OME-Zarr images, for an archive without examples."""
    from builder.testing.ngff_writer import write_image
    from tests.support.catalog import study_record

    rng = np.random.default_rng(1)
    data = (rng.random((2, 4, 64, 64)) * 1000).astype("uint16")
    write_image(root / "example-data" / "site-tests" / "cells.ome.zarr", data, axes="czyx", levels=2,
                scale={"z": 0.5, "y": 0.2, "x": 0.2},
                channels=[{"label": "DNA", "color": "0000FF"}, {"label": "Actin", "color": "00FF00"}])
    write_image(root / "example-data" / "site-tests" / "tissue.ome.zarr", data[0, 0], axes="yx", levels=2,
                version="0.4")
    first = study_record("OIA-000001", release_date="2024-05-01")
    first["datasets"][0]["images"] = [{"name": "cells", "url": "site-tests/cells.ome.zarr", "title": "Cells"}]
    second = study_record("OIA-000002", title="Tissue sections of the zebrafish retina imaged by widefield",
                          release_date="2025-02-01", licence="CC0-1.0", keywords=["retina"])
    second["datasets"][0]["biosample"]["organisms"] = [{"id": "NCBITaxon:7955", "label": "Danio rerio"}]
    second["datasets"][0]["images"] = [{"name": "tissue", "url": "site-tests/tissue.ome.zarr"}]
    for record in (first, second):
        _write_yaml(root / "studies" / record["accession"] / "study.yaml", record)


def make_example_archive(root: Path) -> Path:
    for name in ("archive.toml", "mkdocs.yml"):
        if (REPO_ROOT / name).is_file():
            shutil.copy2(REPO_ROOT / name, root / name)
    for name in ("docs", "studies", "example-data"):
        if (REPO_ROOT / name).is_dir():
            shutil.copytree(REPO_ROOT / name, root / name, dirs_exist_ok=True)
    if not any((root / "studies").glob("*/study.yaml")):
        _own_examples(root)

    from tests.support.catalog import study_record

    embargoed = study_record(
        EMBARGO_ACCESSION,
        title=f"{SITE_EMBARGO_MARKER} light-sheet atlas under embargo",
        description=f"{SITE_EMBARGO_MARKER}: this study must not appear anywhere before its release date.",
        keywords=[SITE_EMBARGO_MARKER],
        release_date="2099-01-01",
    )
    embargoed["datasets"][0]["images"] = [{"name": "secret", "url": "embargoed/secret.ome.zarr"}]
    _write_yaml(root / "studies" / EMBARGO_ACCESSION / "study.yaml", embargoed)
    broken = study_record(BROKEN_ACCESSION, title=f"{BROKEN_MARKER} record with errors",
                          licence="All rights reserved")
    del broken["datasets"][0]["acquisition"]
    _write_yaml(root / "studies" / BROKEN_ACCESSION / "study.yaml", broken)
    return root


@pytest.fixture(scope="session")
def example_archive(tmp_path_factory) -> Path:
    return make_example_archive(tmp_path_factory.mktemp("archive"))


@pytest.fixture(scope="session")
def built_site(example_archive) -> BuiltSite:
    from builder.site.build import build

    today = dt.date.today()
    site = example_archive / "site"
    report = build(example_archive, site_dir=site, today=today, console=None, history=False, allow_invalid=True)
    return BuiltSite(root=example_archive, site=site, report=report, today=today)


@pytest.fixture(scope="session")
def site_url(built_site) -> Iterator[str]:
    with serve_folder(built_site.site) as url:
        yield url


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium driven by playwright (``playwright install`` cannot run here)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
