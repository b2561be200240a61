"""Hand-written docs/ pages are sanitised like record text after a real `mkdocs build` (issue 16)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from builder.core.errors import ArchiveError
from builder.core.settings import ArchiveSettings
from builder.site.docs_sanitise import UnsafeDocsFile, clean_docs_html, hand_written_pages, sanitise_hand_written_pages
from builder.site.mkdocs_site import run_mkdocs, stage_overrides, write_mkdocs_config
from builder.site.templates import theme_search_path

REPO = Path(__file__).resolve().parents[2]

HOSTILE = """# Helpful page

Read the <b>guide</b> first.

<script>document.title = "owned-by-script"</script>

<p onclick="alert('owned-by-onclick')">Click here</p>

[a link](javascript:void(document.cookie))

<iframe src="https://evil.example.org/owned-by-iframe"></iframe>

<div class="admonition note"><p>kept</p></div>

    code with <script> stays text in a code block
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("docs-site")
    source = tmp / "docs"
    shutil.copytree(REPO / "docs", source)
    (source / "guides" / "helpful.md").write_text(HOSTILE, encoding="utf-8")
    docs_dir = tmp / "staging"
    shutil.copytree(source, docs_dir)
    (docs_dir / "index.md").write_text("# Home\n\nGenerated.\n", encoding="utf-8")
    site = tmp / "site"
    config = write_mkdocs_config(
        base_config=REPO / "mkdocs.yml", docs_dir=docs_dir, site_dir=site,
        custom_dir=stage_overrides(theme_search_path(REPO), tmp / "overrides"), settings=ArchiveSettings(),
        target=tmp / "mkdocs.yml",
    )
    run_mkdocs(config)
    before = {p: p.read_bytes() for p in site.rglob("*.html")}
    rewritten = sanitise_hand_written_pages(source, docs_dir, site)
    return site, before, rewritten


def test_script_onclick_javascript_links_and_iframes_do_not_reach_the_site(built):
    site, before, rewritten = built
    assert rewritten == [Path("guides/helpful.md")]
    page = (site / "guides" / "helpful" / "index.html").read_text(encoding="utf-8")
    assert before[site / "guides" / "helpful" / "index.html"].decode().count("owned-by-script") >= 1
    for marker in ("owned-by-script", "owned-by-onclick", "owned-by-iframe", "javascript:", "<iframe"):
        assert marker not in page, marker
    assert "javascript:" in before[site / "guides" / "helpful" / "index.html"].decode()
    assert "<b>guide</b>" in page and "Click here" in page and '<div class="admonition note">' in page
    assert "code with &lt;script&gt; stays text" in page
    assert page.count("<script") == before[site / "guides" / "helpful" / "index.html"].decode().count("<script") - 1
    assert "</html>" in page  # the theme's page around the content is intact


def test_the_existing_guides_keep_their_bytes(built):
    site, before, _ = built
    guides = [p for p in before if "helpful" not in p.as_posix()]
    assert any(p.as_posix().endswith("guides/submitting/index.html") for p in guides)
    for path in guides:
        assert path.read_bytes() == before[path], path


def test_generated_pages_replacing_hand_written_ones_are_left_to_the_builder(tmp_path):
    source, staged = tmp_path / "docs", tmp_path / "staging"
    for folder in (source, staged):
        folder.mkdir()
        (folder / "about.md").write_text("# About\n", encoding="utf-8")
    (source / "index.md").write_text("# Hand-written home\n", encoding="utf-8")
    (staged / "index.md").write_text("# Generated home\n", encoding="utf-8")
    assert hand_written_pages(source, staged) == [Path("about.md")]


def test_files_a_browser_would_run_are_refused_in_docs(tmp_path):
    source = tmp_path / "docs"
    (source / "extra").mkdir(parents=True)
    (source / "extra" / "page.html").write_text("<script>alert(1)</script>", encoding="utf-8")
    with pytest.raises(UnsafeDocsFile) as err:
        hand_written_pages(source, tmp_path)
    assert isinstance(err.value, ArchiveError) and "extra/page.html" in str(err.value) and ".md" in str(err.value)


def test_safe_html_keeps_its_exact_bytes():
    fragment = '<h2 id="x">T<a class="headerlink" href="#x" title="Permanent link">&para;</a></h2>\n<p>a<br/>b</p>'
    assert clean_docs_html(fragment) == fragment
    assert clean_docs_html('<a href="https://e.org" onmouseover="x()">e</a>') == '<a href="https://e.org">e</a>'
