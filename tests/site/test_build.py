"""`bioarchive build` end to end: a real build of the example archive.

The build runs once per session (tests/support/site.py: ``built_site``):
records, image inspection with thumbnails, catalog, pages, exports, search
index and a real `mkdocs build`.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from builder.site.build import build
from builder.site.pages import PageError
from tests.support.site import (
    BROKEN_ACCESSION,
    BROKEN_MARKER,
    EMBARGO_ACCESSION,
    SITE_EMBARGO_MARKER,
)


def _tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_pages_exist_at_stable_urls(built_site):
    site = built_site.site
    assert built_site.published, "the example archive publishes studies"
    for path in ("index.html", "search/index.html", "studies/index.html", "browse/index.html",
                 "browse/organism/index.html", "browse/imaging-method/index.html", "browse/scale/index.html",
                 "browse/data-type/index.html", "browse/licence/index.html", "browse/year/index.html",
                 "reference/metadata/index.html", "reference/checks/index.html", "reference/api/index.html",
                 "guides/policies/index.html", "catalog.json", "search/catalog-index.json",
                 "search/catalog-store.json", "sitemap.xml", "404.html"):
        assert (site / path).is_file(), path
    for accession in built_site.published:
        page = built_site.page(f"studies/{accession}/")
        assert "<title>" in page and accession in page
        assert '<script type="application/ld+json">' in page
        # Citation downloads come from the study's API document, which holds every format.
        linked = set(re.findall(r'href="([^"]+)" type="[^"]+" data-oia-cite="([a-z_]+)"', page))
        assert {key for _, key in linked} == {"bibtex", "ris", "csl_json", "cff", "datacite_json", "datacite_xml"}
        assert {href for href, _ in linked} == {f"../../api/studies/{accession}.json"}
        document = json.loads((site / "api" / "studies" / f"{accession}.json").read_text())
        assert set(document["citation_formats"]) == {key for _, key in linked}
        assert not (site / "studies" / accession / "cite").exists()


def test_study_pages_are_small_and_out_of_nav_and_material_search(built_site):
    site = built_site.site
    for accession in built_site.published:
        size = (site / "studies" / accession / "index.html").stat().st_size
        assert size < 60_000, (accession, size)
    policies = built_site.page("guides/policies/")
    assert "studies/OIA-" not in policies  # every page carries the nav: no study may be in it
    material = json.loads((site / "search" / "search_index.json").read_text())
    locations = [doc["location"] for doc in material["docs"]]
    assert any(loc.startswith("guides/policies/") for loc in locations)
    assert not any(loc.startswith("studies/") for loc in locations)


def test_thumbnails_are_published_with_alt_text(built_site):
    site = built_site.site
    home = built_site.page("")
    thumbs = re.findall(r'<img src="(thumbnails/[^"]+)" alt="([^"]+)"', home)
    assert thumbs, "the newest releases show thumbnails"
    for src, alt in thumbs:
        assert (site / src).is_file() and alt.strip()
    store = json.loads((site / "search" / "catalog-store.json").read_text())
    column = store["columns"].index("thumbnail")
    for row in store["studies"]:
        if row[column]:
            assert (site / row[column]).is_file()


def test_embargoed_study_is_absent_everywhere(built_site):
    for path in built_site.site.rglob("*"):
        if path.is_file() and path.suffix in {".html", ".json", ".xml", ".csv", ".txt", ".bib", ".ris", ".cff", ".md"}:
            text = path.read_text(encoding="utf-8", errors="replace")
            assert SITE_EMBARGO_MARKER not in text, path
            assert EMBARGO_ACCESSION not in text, path
    assert not (built_site.site / "studies" / EMBARGO_ACCESSION).exists()


def test_broken_record_is_reported_and_skipped(built_site):
    report = built_site.report
    assert any(BROKEN_ACCESSION in skipped for skipped in report.studies_skipped)
    assert any(d.file and BROKEN_ACCESSION in d.file for d in report.errors)
    assert not (built_site.site / "studies" / BROKEN_ACCESSION).exists()
    assert BROKEN_MARKER not in (built_site.site / "catalog.json").read_text()


def test_a_failing_build_leaves_the_old_site_intact(built_site, tmp_path):
    site = tmp_path / "site"
    import shutil

    shutil.copytree(built_site.site, site)
    before = _tree_digest(site)
    broken = tmp_path / "templates" / "pages"
    broken.mkdir(parents=True)
    (broken / "study.html").write_text("{% for x in %}broken{% endfor %}")
    with pytest.raises(PageError):
        build(built_site.root, site_dir=site, today=built_site.today, console=None, history=False,
              template_dirs=[tmp_path / "templates"], allow_invalid=True)
    assert _tree_digest(site) == before
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".site.")]
    assert leftovers == [], leftovers


def test_build_command_reports_and_replaces_the_site(built_site, tmp_path):
    from builder.cli import main

    site = tmp_path / "out"
    (site / "stale").mkdir(parents=True)
    (site / "stale" / "old.html").write_text("old")
    result = CliRunner().invoke(main, ["build", "--root", str(built_site.root), "--site-dir", str(site),
                                       "--today", built_site.today.isoformat(), "--no-history", "--allow-invalid",
                                       "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "left out because of errors" in result.output and BROKEN_ACCESSION in result.output
    assert (site / "index.html").is_file() and not (site / "stale").exists()


def test_a_record_with_errors_stops_the_build_and_keeps_the_live_site(built_site, tmp_path):
    # Publishing must not silently drop a study whose record broke: the old site stays up.
    from builder.cli import main

    site = tmp_path / "live"
    site.mkdir()
    (site / "index.html").write_text("the live site")
    result = CliRunner().invoke(main, ["build", "--root", str(built_site.root), "--site-dir", str(site),
                                       "--today", built_site.today.isoformat(), "--no-history"])
    assert result.exit_code == 1
    assert "have errors" in result.output and "--allow-invalid" in result.output
    assert BROKEN_ACCESSION in result.output and "error" in result.output
    assert [p.name for p in site.iterdir()] == ["index.html"]
    assert (site / "index.html").read_text() == "the live site"


def test_build_command_rejects_a_negative_worker_count(built_site):
    from builder.cli import main

    result = CliRunner().invoke(main, ["build", "--root", str(built_site.root), "--workers", "-1"])
    assert result.exit_code == 2 and "--workers" in result.output


def test_build_command_rejects_a_bad_date(built_site):
    from builder.cli import main

    result = CliRunner().invoke(main, ["build", "--root", str(built_site.root), "--today", "tomorrow"])
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output


def test_a_failing_export_stops_the_build(built_site, tmp_path, monkeypatch):
    """Exports run in a child process; its failure must still keep the old site."""
    import builder.site.exports

    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("the old site")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full while writing catalog.csv")

    monkeypatch.setattr(builder.site.exports, "write_exports", broken)
    from builder.site.build import BuildFailed

    with pytest.raises(BuildFailed, match="disk full"):
        build(built_site.root, site_dir=site, today=built_site.today, console=None, history=False,
              allow_invalid=True)
    assert [p.name for p in site.iterdir()] == ["index.html"]
    assert (site / "index.html").read_text() == "the old site"
    assert [p.name for p in tmp_path.iterdir()] == ["site"]


def test_study_pages_have_link_previews(built_site):
    accession = built_site.published[0]
    page = built_site.page(f"studies/{accession}/")
    assert '<meta property="og:title"' in page and accession in page
    image = re.search(r'<meta property="og:image" content="([^"]+)">', page)
    assert image and image.group(1).startswith("https://") and "/thumbnails/" in image.group(1)
    assert (built_site.site / "thumbnails" / image.group(1).rsplit("/", 1)[1]).is_file()


def _git(root, *args):
    import subprocess

    env = {"GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "T",
           "GIT_COMMITTER_EMAIL": "t@example.org", "PATH": "/usr/bin:/bin", "HOME": str(root)}
    subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


def test_earlier_versions_from_git_history_get_their_own_pages(built_site, tmp_path):
    import shutil

    import yaml

    root = tmp_path / "archive"
    shutil.copytree(built_site.root, root, ignore=shutil.ignore_patterns("site", ".site.*"))
    accession = built_site.published[0]
    record = root / "studies" / accession / "study.yaml"
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "v1")
    data = yaml.safe_load(record.read_text())
    first_title = data["title"]
    data["version"] = int(data.get("version", 1)) + 1
    data["title"] = "Second edition: " + first_title
    data["changelog"] = [*(data.get("changelog") or []),
                         {"version": data["version"], "date": built_site.today.isoformat(),
                          "description": "Retitled for the second edition of the data set."}]
    record.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    _git(root, "commit", "-q", "-am", "v2")
    site = tmp_path / "site"
    build(root, site_dir=site, today=built_site.today, console=None, history=True, allow_invalid=True)
    current = (site / "studies" / accession / "index.html").read_text()
    assert "Second edition" in current and "Retitled for the second edition" in current
    old = site / "studies" / accession / f"v{data['version'] - 1}" / "index.html"
    assert old.is_file()
    text = old.read_text()
    assert "An earlier version" in text and "Second edition" not in text.split("oia-study-head")[1][:2000]


def test_theme_links_are_right_on_every_generated_page(tmp_path):
    """The theme renders blocks shared by off-nav pages once (site_overrides/oia-page.html):
    on every page each tab and nav link must still lead where the home page's do."""
    from urllib.parse import urljoin

    from builder.site.build import build_site_from_catalog
    from tests.support.catalog import settings_for_tests, synthetic_catalog

    settings = settings_for_tests(studies_per_page=2, facet_studies_per_page=3)
    catalog = synthetic_catalog(12)
    site = tmp_path / "site"
    build_site_from_catalog(catalog, settings, Path(__file__).resolve().parents[2], site, cache_dir=None)
    tab = re.compile(r'<a href="([^"]*)" class="md-tabs__link')
    light_nav = re.compile(r'<li class="md-nav__item"><a href="([^"]*)" class="md-nav__link">')

    def targets(page: Path, pattern: re.Pattern[str]) -> list[str]:
        url = "https://x.org/" + page.parent.relative_to(site).as_posix() + "/"
        return [urljoin(url, href) for href in pattern.findall(page.read_text(encoding="utf-8"))]

    tabs = targets(site / "index.html", tab)
    assert "https://x.org/browse/" in tabs and "https://x.org/guides/" in tabs
    pages = [p for p in site.rglob("index.html") if p.parent.relative_to(site).parts[:1] in {("studies",), ("browse",)}]
    assert any("page" in p.parts for p in pages) and any(len(p.parts) - len(site.parts) >= 4 for p in pages)
    for page in pages:
        assert targets(page, tab) == tabs, page
        assert targets(page, light_nav) in ([], tabs), page


def test_unreadable_images_are_named_with_their_check_and_url(built_site, tmp_path):
    import shutil

    from builder.cli import main

    root = tmp_path / "archive"
    shutil.copytree(built_site.root, root, ignore=shutil.ignore_patterns("site", ".site.*", ".cache"))
    accession = built_site.published[0]
    record = root / "studies" / accession / "study.yaml"
    text = record.read_text()
    url = re.search(r"^\s*url: (\S+)$", text, re.M).group(1)
    record.write_text(text.replace(f"url: {url}", "url: moved-away/gone.ome.zarr", 1))
    result = CliRunner().invoke(main, ["build", "--root", str(root), "--site-dir", str(tmp_path / "site"),
                                       "--today", built_site.today.isoformat(), "--no-history", "--allow-invalid"])
    assert result.exit_code == 0, result.output
    assert "1 image(s) could not be read" in result.output
    assert "moved-away/gone.ome.zarr" in result.output
    assert re.search(r"error .*(IMG|NET)\d{3}", result.output)


def test_the_sitemap_lists_exactly_the_pages_that_exist(built_site):
    """Every address in sitemap.xml is a page of the site, and every generated page is in it."""
    import xml.etree.ElementTree as ET

    from builder.core.settings import load_settings

    site_url = load_settings(built_site.root).site_url.rstrip("/") + "/"
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    listed = {loc.text.removeprefix(site_url) for loc in
              ET.fromstring((built_site.site / "sitemap.xml").read_text()).findall("s:url/s:loc", ns)}
    for path in listed:
        assert (built_site.site / path / "index.html").is_file(), path
    pages = {p.parent.relative_to(built_site.site).as_posix() + "/" for p in built_site.site.rglob("index.html")}
    pages = {"" if p == "./" else p for p in pages}
    generated = {p for p in pages if p.startswith(("studies/", "browse/")) or p in ("", "search/")}
    assert generated <= listed, sorted(generated - listed)


def test_a_build_without_worker_processes_writes_the_same_site(built_site, tmp_path):
    """--workers 0 (and machines without fork) write every file in one process, with the same bytes."""
    report = build(built_site.root, site_dir=tmp_path / "site", today=built_site.today, console=None,
                   history=False, allow_invalid=True, workers=0)
    assert report.pages == built_site.report.pages

    def files(site: Path) -> dict[str, bytes]:
        # MkDocs' own search index and sitemap.xml.gz hold build times; the rest must match.
        return {p.relative_to(site).as_posix(): p.read_bytes() for p in site.rglob("*")
                if p.is_file() and p.name not in ("search_index.json", "sitemap.xml.gz")}

    ours, theirs = files(tmp_path / "site"), files(built_site.site)
    assert sorted(ours) == sorted(theirs)
    assert [name for name in ours if ours[name] != theirs[name]] == []


def test_the_report_counts_each_thumbnail_once(built_site):
    assert built_site.report.thumbnails == len(list((built_site.site / "thumbnails").iterdir()))


def test_a_worker_killed_mid_build_stops_the_build_and_keeps_the_site(built_site, tmp_path, monkeypatch):
    """Say the machine ran out of memory and a worker was killed: a clear error, the old site stays."""
    import os
    import signal

    import builder.site.exports
    from builder.site.build import BuildFailed

    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("the old site")
    monkeypatch.setattr(builder.site.exports, "write_exports", lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL))
    with pytest.raises(BuildFailed, match="stopped unexpectedly"):
        build(built_site.root, site_dir=site, today=built_site.today, console=None, history=False,
              allow_invalid=True, workers=2)
    assert [p.name for p in site.iterdir()] == ["index.html"]
    assert [p.name for p in tmp_path.iterdir()] == ["site"]
