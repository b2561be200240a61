"""The built site in a real Chromium, served over HTTP on 127.0.0.1.

Every test fails on a console error or a failed request inside the site.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


class PageWatch:
    """Collects console errors and failed same-site requests of one page."""

    def __init__(self, page, base: str) -> None:
        self.problems: list[str] = []
        page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        # A request the browser aborts because the page moved on is no failure;
        # broken addresses show as HTTP errors below.
        page.on(
            "requestfailed",
            lambda r: (
                self.problems.append(f"request failed: {r.url} {r.failure}")
                if r.url.startswith(base) and "ERR_ABORTED" not in (r.failure or "")
                else None
            ),
        )
        page.on(
            "response",
            lambda r: (
                self.problems.append(f"HTTP {r.status}: {r.url}")
                if r.status >= 400 and r.url.startswith(base)
                else None
            ),
        )

    def check(self) -> None:
        assert not self.problems, self.problems


@pytest.fixture
def page(chromium, site_url):
    context = chromium.new_context(viewport=DESKTOP, accept_downloads=True)
    page = context.new_page()
    watch = PageWatch(page, site_url)
    page.watch = watch
    yield page
    context.close()
    watch.check()


def _study(built_site) -> str:
    return built_site.published[0]


def _wait_ready(page) -> None:
    page.wait_for_selector("#oia-search[data-ready=true]", timeout=10_000)


def _results(page) -> list[str]:
    return page.eval_on_selector_all(".oia-result__meta", "els => els.map(e => e.textContent.split(' · ')[0])")


def test_landing_page(page, site_url, built_site):
    accession = _study(built_site)
    page.goto(f"{site_url}studies/{accession}/")
    assert accession in page.title()
    heading = page.inner_text("h1")
    assert heading.strip()
    ld = json.loads(page.text_content('script[type="application/ld+json"]'))
    assert ld["@type"] == "Dataset" and ld["name"] == heading.strip()
    assert accession in json.dumps(ld)
    for img in page.query_selector_all("img"):
        assert (img.get_attribute("alt") or "").strip(), img.get_attribute("src")
    # Thumbnails load for real.
    widths = page.eval_on_selector_all(
        ".oia-image__media img", "imgs => imgs.map(i => i.complete ? i.naturalWidth : -1)"
    )
    assert widths and all(w > 0 for w in widths), widths
    # "Get this image" opens and offers an address with a copy button.
    page.click(".oia-access summary")
    assert page.is_visible(".oia-access .oia-copy__value")


def test_citation_downloads(page, site_url, built_site):
    """Each "How to cite" button saves its format as a file named after the accession."""
    accession = _study(built_site)
    page.goto(f"{site_url}studies/{accession}/")
    expected = {
        "BibTeX": (f"{accession}.bib", lambda t: t.startswith(f"@misc{{{accession},")),
        "RIS": (f"{accession}.ris", lambda t: t.startswith("TY  - DATA")),
        "CSL-JSON": (f"{accession}.csl.json", lambda t: json.loads(t)[0]["id"] == accession),
        "Citation File Format": ("CITATION.cff", lambda t: "cff-version: 1.2.0" in t),
        "DataCite JSON": (f"{accession}.datacite.json", lambda t: json.loads(t)["titles"]),
        "DataCite XML": (f"{accession}.datacite.xml", lambda t: t.startswith("<?xml") and accession in t),
    }
    for label, (file_name, looks_right) in expected.items():
        with page.expect_download() as info:
            page.click(f"a[data-oia-cite]:text-is('{label}')")
        assert info.value.suggested_filename == file_name
        text = Path(info.value.path()).read_text(encoding="utf-8")
        assert looks_right(text), (label, text[:200])
    # The BibTeX file is the study's own BibTeX, byte for byte.
    with page.expect_download() as info:
        page.click("a[data-oia-cite]:text-is('BibTeX')")
    document = json.loads((built_site.site / "api" / "studies" / f"{accession}.json").read_text())
    assert Path(info.value.path()).read_text(encoding="utf-8") == document["citation_formats"]["bibtex"]


def test_one_letter_prefix_search(page, site_url):
    page.goto(f"{site_url}search/")
    _wait_ready(page)
    total = len(_results(page))
    assert total > 0
    page.fill("#oia-search-q", "m")
    page.wait_for_function("() => new URLSearchParams(location.search).get('query') === 'm'")
    _wait_ready(page)
    assert 0 < len(_results(page)) <= total
    assert int(page.get_attribute("#oia-search", "data-search-ms")) < 100


def test_accession_search(page, site_url, built_site):
    accession = built_site.published[-1]
    page.goto(f"{site_url}search/?query={accession}")
    _wait_ready(page)
    assert _results(page)[0] == accession
    assert "1 study matches" in page.inner_text("#oia-search-status")
    page.click(".oia-result")
    page.wait_for_url(f"**/studies/{accession}/")


def test_facet_filter_updates_counts_results_and_url(page, site_url):
    page.goto(f"{site_url}search/")
    _wait_ready(page)
    before = _results(page)
    boxes = page.query_selector_all('fieldset[data-facet="organism"] input[type=checkbox]')
    assert len(boxes) >= 2, "the examples show more than one organism"
    value = boxes[-1].get_attribute("value")
    expected = int(boxes[-1].evaluate("b => b.closest('li').querySelector('[data-count]').textContent"))
    boxes[-1].check()
    page.wait_for_function("v => new URLSearchParams(location.search).getAll('organism').includes(v)", arg=value)
    after = _results(page)
    assert len(after) == expected < len(before)
    # Counts of the other facets follow the filter.
    year_counts = page.eval_on_selector_all(
        'fieldset[data-facet="release_year"] [data-count]', "els => els.map(e => parseInt(e.textContent, 10))"
    )
    assert sum(year_counts) == expected
    # Back undoes the filter.
    page.go_back()
    page.wait_for_function("() => !new URLSearchParams(location.search).has('organism')")
    assert _results(page) == before
    assert not page.is_checked(f'fieldset[data-facet="organism"] input[value="{value}"]')
    # Forward brings it back, from the URL alone.
    page.go_forward()
    page.wait_for_function("v => new URLSearchParams(location.search).getAll('organism').includes(v)", arg=value)
    assert _results(page) == after


def test_keyboard_search_from_home(page, site_url):
    page.goto(site_url)
    page.focus(".oia-searchbox--hero input")
    page.keyboard.type("mouse")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search/?query=mouse")
    _wait_ready(page)
    assert page.input_value("#oia-search-q") == "mouse"


@pytest.mark.parametrize("path", ["", "studies/{acc}/", "search/", "studies/", "browse/organism/"])
def test_phone_width_has_no_horizontal_scroll(chromium, site_url, built_site, path):
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    watch = PageWatch(page, site_url)
    page.goto(site_url + path.format(acc=_study(built_site)))
    page.wait_for_load_state("networkidle")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    context.close()
    watch.check()
    assert overflow <= 0, overflow


def test_no_broken_links_or_console_errors(chromium, site_url):
    """Visit every page reachable inside the site; check every link, image, script and stylesheet."""
    context = chromium.new_context(viewport=DESKTOP)
    page = context.new_page()
    watch = PageWatch(page, site_url)
    seen_pages: set[str] = set()
    queue = [site_url]
    checked: dict[str, int] = {}
    while queue and len(seen_pages) < 150:
        url = queue.pop(0)
        if url in seen_pages:
            continue
        seen_pages.add(url)
        page.goto(url)
        refs = page.eval_on_selector_all(
            "a[href], img[src], link[href], script[src]", "els => els.map(e => e.href || e.src)"
        )
        for ref in refs:
            target = urljoin(url, ref).split("#")[0]
            if not target.startswith(site_url):
                continue
            if target not in checked:
                try:
                    with urllib.request.urlopen(target) as response:
                        checked[target] = response.status
                except urllib.error.HTTPError as exc:
                    checked[target] = exc.code
            path = urlparse(target).path
            if path.endswith(("/", ".html")) and target not in seen_pages and "?" not in target:
                queue.append(target)
    context.close()
    watch.check()
    broken = {u: s for u, s in checked.items() if s != 200}
    assert not broken, broken
    assert len(seen_pages) > 10


@pytest.mark.parametrize("path", ["", "studies/{acc}/", "search/"])
def test_every_control_has_an_accessible_name(page, site_url, built_site, path):
    page.goto(site_url + path.format(acc=_study(built_site)))
    unnamed = page.eval_on_selector_all(
        "input:not([type=hidden]), button, select, textarea",
        """els => els.filter(e => e.checkVisibility({visibilityProperty: true, opacityProperty: true}))
                    .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                                  && !e.getAttribute('title') && !(e.textContent || '').trim())
                    .map(e => e.outerHTML.slice(0, 120))""",
    )
    assert unnamed == []


def test_facets_work_from_the_keyboard(page, site_url):
    page.goto(f"{site_url}search/")
    _wait_ready(page)
    first = page.locator('fieldset[data-facet="licence"] input[type=checkbox]').first
    first.focus()
    page.keyboard.press("Space")
    value = first.get_attribute("value")
    page.wait_for_function("v => new URLSearchParams(location.search).getAll('licence').includes(v)", arg=value)
    assert first.is_checked()
