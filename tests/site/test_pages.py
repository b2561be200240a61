"""The pages stage: escaping, sanitised Markdown, page content and URLs.

Pages are rendered from the catalog fixtures into a temporary staging folder;
no MkDocs here (tests/site/test_build.py runs the real build).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from pathlib import Path

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builder.catalog.assembly import build_catalog
from builder.site.build import build_site_from_catalog  # noqa: F401 - the module must import cleanly
from builder.site.frames import FramedPage
from builder.site.pages import (
    PageWriter,
    SiteRenderer,
    ThumbnailStore,
    front_matter,
    make_environment,
    relative_url,
    render_markdown,
    template_search_path,
    term_url,
    write_reference_pages,
)
from tests.support.catalog import (
    EMBARGO_MARKER,
    EMBARGOED_ACCESSION,
    HOSTILE_TITLE,
    example_history,
    example_image_facts,
    example_studies,
    hostile_study,
    settings_for_tests,
)


def render(catalog, settings, tmp_path: Path, *, history=None, images=None, search_path=None, cache_dir=None):
    """Render every page; framed pages (outside the nav) are written as Markdown too, so tests read all alike."""
    docs = tmp_path / "docs"
    env = make_environment(search_path or template_search_path(Path(__file__).resolve().parents[2]))

    def as_markdown(page: FramedPage) -> None:
        target = docs / page.url_path / "index.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(front_matter(page.meta()), encoding="utf-8")
        writer.framed_pages.append(page)

    writer = PageWriter(docs, as_markdown)
    renderer = SiteRenderer(catalog, settings, env, writer, ThumbnailStore(cache_dir))
    renderer.render_all(history=history, images=images, today=catalog.generated)
    return writer, docs


def meta_of(docs: Path, url_path: str) -> dict:
    """A generated page's front matter, read back by MkDocs' own parser."""
    from mkdocs.utils.meta import get_data

    text = (docs / url_path.strip("/") / "index.md").read_text()
    markdown, meta = get_data(text)
    assert markdown.strip() == "", "generated pages carry everything in front matter"
    return meta


def body(docs: Path, url_path: str) -> str:
    return meta_of(docs, url_path)["oia_html"]


# ---------------------------------------------------------------- Markdown from records

def test_markdown_is_rendered_and_sanitised():
    out = render_markdown(
        "# Intro\n\nSome **bold** text and a [link](https://example.org/x).\n\n"
        "<script>alert('x')</script>\n\n<iframe src=\"https://evil.example\"></iframe>\n\n"
        "<img src=x onerror=alert(1)>\n\n<a href=\"javascript:alert(1)\">click</a> "
        "[js](javascript:alert(2)) <p onclick=\"alert(3)\" style=\"color:red\">para</p>\n\n"
        "<svg onload=alert(4)><circle/></svg> <object data=x></object>"
    )
    text = str(out)
    assert "<strong>bold</strong>" in text
    assert '<a href="https://example.org/x" rel="nofollow ugc noopener">link</a>' in text
    for bad in ("<script", "alert(", "<iframe", "onerror", "onclick", "javascript:", "<img", "<svg",
                "onload", "<object", "style="):
        assert bad not in text, bad
    # The description's "# Intro" cannot compete with the page's own headings.
    assert "<h3>Intro</h3>" in text and "<h1>" not in text


def test_markdown_keeps_harmless_structure():
    text = str(render_markdown("- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n`code` and *em*"))
    assert "<ul>" in text and "<table>" in text and "<code>code</code>" in text and "<em>em</em>" in text


def test_empty_markdown_is_empty():
    assert str(render_markdown(None)) == "" and str(render_markdown("")) == ""


# ---------------------------------------------------------------- small helpers

@pytest.mark.parametrize(
    ("target", "base", "expected"),
    [
        ("studies/OIA-000001/", "", "studies/OIA-000001/"),
        ("", "studies/OIA-000001/", "../../"),
        ("search/", "studies/OIA-000001/v1/", "../../../search/"),
        ("thumbnails/a.webp", "studies/OIA-000001/", "../../thumbnails/a.webp"),
        ("studies/OIA-000001/", "studies/OIA-000001/", "./"),
        ("studies/OIA-000001/#cite", "browse/", "../studies/OIA-000001/#cite"),
        ("https://example.org/", "studies/X/", "https://example.org/"),
    ],
)
def test_relative_url(target, base, expected):
    assert relative_url(target, base) == expected


def test_term_urls():
    assert term_url("NCBITaxon:10090") == "https://www.ncbi.nlm.nih.gov/Taxonomy/Browser/wwwtax.cgi?id=10090"
    assert term_url("FBbi:00000251") == "http://purl.obolibrary.org/obo/FBbi_00000251"
    assert term_url("nonsense") is None
    # As an identifier (JSON-LD @id, DataCite valueUri) every term is named by its OBO PURL.
    assert term_url("NCBITaxon:10090", identifier=True) == "http://purl.obolibrary.org/obo/NCBITaxon_10090"
    assert term_url("FBbi:00000251", identifier=True) == "http://purl.obolibrary.org/obo/FBbi_00000251"


def test_front_matter_round_trips_any_text():
    """MkDocs must read back exactly what was written, and never run it as a template."""
    from mkdocs.utils.meta import get_data

    hostile = ("{{ config }} {% raw %}{% endraw %}{{ 7*7 }} 100% \n---\n...\n"
               "\u2028\u2029\x85\x00\x7f 🦠 東京 \\ud83e \"quotes\" \\ end\ud800")
    meta = {"title": "t", "oia_html": hostile}
    text = front_matter(meta)
    assert text.count("\n") == 3 and text.isascii()
    markdown, parsed = get_data(text)
    assert markdown == ""
    assert parsed["oia_html"] == hostile.replace("\ud800", "\ufffd")
    # The theme prints it with `{{ page.meta.oia_html }}`: data, not template.
    page = {"meta": parsed}
    rendered = jinja2.Environment().from_string("{{ page.meta.oia_html }}").render(page=page, config="SECRET")
    assert "SECRET" not in rendered and "49" not in rendered


# ---------------------------------------------------------------- hostile records

def test_hostile_record_is_escaped_everywhere(tmp_path):
    settings = settings_for_tests()
    catalog = build_catalog([hostile_study()], {}, settings, dt.date(2026, 6, 1))
    _writer, docs = render(catalog, settings, tmp_path)
    page = body(docs, "studies/OIA-000666/")
    assert "<script>alert(1)" not in page and "</script><script>" not in page
    assert "<b>bold</b>" not in page and "<i>musculus</i>" not in page
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "100% $x_1^2$" in page  # text stays text (the theme prints the body as data)
    assert "Institute of &#34;Quotes&#34; &amp; &lt;Tags&gt;" in page
    # The JSON-LD parses and cannot close its script element early.
    ld = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.DOTALL).group(1)
    assert "</" not in ld and "<" not in ld
    assert json.loads(ld)["name"] == HOSTILE_TITLE
    # The theme prints title and description unescaped, so the stub escapes them.
    meta = meta_of(docs, "studies/OIA-000666/")
    assert "<" not in meta["title"] and "&lt;/script&gt;" in meta["title"]
    assert "<" not in meta["description"]
    # Listings, cards and the home page escape too.
    for url in ("", "studies/", "browse/organism/"):
        text = body(docs, url)
        assert "<script>alert" not in text and "<b>bold</b>" not in text and "<i>musculus" not in text


# ---------------------------------------------------------------- page content

@pytest.fixture
def rendered(sample_catalog, catalog_settings, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    for name in ("a1b2c3-card.webp", "a1b2c3-preview.webp", "d4e5f6-card.webp", "dead-card.webp",
                 "secret-card.webp"):
        (cache / name).write_bytes(b"RIFF0000WEBP")
    catalog = build_catalog(
        example_studies(),
        example_image_facts(), catalog_settings, sample_catalog.generated, history=example_history(),
    )
    writer, docs = render(catalog, catalog_settings, tmp_path / "out", history=example_history(),
                                     images=example_image_facts(), cache_dir=cache)
    return catalog, writer, docs


def test_study_landing_page(rendered):
    catalog, writer, docs = rendered
    page = body(docs, "studies/OIA-000001/")
    assert "Three-dimensional nuclear architecture of mouse embryonic stem cells" in page
    assert 'href="https://orcid.org/0000-0002-1825-0097"' in page
    assert 'href="https://ror.org/03mstc592"' in page
    assert 'href="https://doi.org/10.1038/s41592-021-01326-w"' in page
    assert 'href="https://pubmed.ncbi.nlm.nih.gov/34887551/"' in page
    assert 'href="https://www.ncbi.nlm.nih.gov/Taxonomy/Browser/wwwtax.cgi?id=10090"' in page
    assert 'href="http://purl.obolibrary.org/obo/FBbi_00000251"' in page
    assert ">Mus musculus</a>" in page and ">confocal microscopy</a>" in page
    assert "Wellcome Trust" in page and "221052/Z/20/Z" in page
    assert "CC-BY-4.0" in page and "14 March 2025" in page
    # Image facts: dimensions, pixel sizes with units, channel colours, size.
    assert "x 512" in page and "z 0.5 µm" in page and "background:#0000FF" in page and "2 MB" in page
    assert 'alt="Nuclei in blue, GFP in green"' in page
    assert 'src="../../thumbnails/a1b2c3-preview.webp"' in page
    # How to get the data: addresses with copy buttons, a snippet, viewers.
    assert 'value="https://data.example.org/oia/mesc/cell-01.ome.zarr"' in page
    assert "data-copy-target=" in page and "zarr.open_group(" in page
    assert "vizarr" in page and "Neuroglancer" in page and "OME-NGFF validator" in page
    # How to cite, with every download.
    assert catalog.get("OIA-000001").citation.split(" (")[0] in html.unescape(page)
    # Each download names its format and file; the browser makes the file from the study's API document.
    links = re.findall(r'href="([^"]+)" type="[^"]+" data-oia-cite="([a-z_]+)" data-oia-file="([^"]+)"', page)
    assert {(href, key, name) for href, key, name in links} == {
        ("../../api/studies/OIA-000001.json", key, name) for key, name in (
            ("bibtex", "OIA-000001.bib"), ("ris", "OIA-000001.ris"), ("csl_json", "OIA-000001.csl.json"),
            ("cff", "CITATION.cff"), ("datacite_json", "OIA-000001.datacite.json"),
            ("datacite_xml", "OIA-000001.datacite.xml"))}
    assert '<script type="application/ld+json">' in page
    # Front matter: out of Material's search, no nav and toc sidebars.
    meta = meta_of(docs, "studies/OIA-000001/")
    assert meta["search"] == {"exclude": True} and meta["template"] == "oia-page.html"
    framed = {p.url_path for p in writer.framed_pages}
    assert "studies/OIA-000001/" in framed  # studies are never in the nav: MkDocs renders a frame for them


def test_study_page_is_small(rendered):
    _, writer, _ = rendered
    sizes = {p.url_path: p.body_bytes for p in writer.pages if p.url_path.startswith("studies/OIA-")}
    assert sizes and max(sizes.values()) < 40_000, sizes  # leaves room for the theme's chrome under 60 KB


def test_plate_and_unreadable_image(rendered):
    _, _, docs = rendered
    page = body(docs, "studies/OIA-000002/")
    assert "8 × 12, 96 wells" in page
    assert "could not read this image" in page  # ctrl-1 has no facts
    assert "s3://screens/hela/plate1.ome.zarr" in page
    assert "Human data" in page


def test_withdrawn_study_is_a_tombstone(rendered):
    _catalog, _, docs = rendered
    page = body(docs, "studies/OIA-000003/")
    assert "This study has been withdrawn" in page and "images were mislabelled" in page
    assert "How to cite" in page
    for leak in ("zarr.open_group", "Get this image", "dead-card.webp", "vizarr", "heart.ome.zarr"):
        assert leak not in page, leak
    # Not listed anywhere.
    for url in ("", "studies/"):
        assert "OIA-000003" not in body(docs, url)


def test_embargoed_study_is_nowhere(rendered):
    _, writer, docs = rendered
    assert not (docs / "studies" / EMBARGOED_ACCESSION).exists()
    for folder in (docs,):
        for path in folder.rglob("*"):
            if path.is_file():
                text = path.read_text(errors="replace")
                text += json.dumps(meta_of(docs, str(path.parent.relative_to(docs)) + "/"), ensure_ascii=False)
                assert EMBARGO_MARKER not in text and EMBARGOED_ACCESSION not in text, path
    assert not any("secret" in p.url_path for p in writer.pages)


def test_earlier_version_has_its_own_url(rendered):
    _, _, docs = rendered
    page = body(docs, "studies/OIA-000002/v1/")
    assert "RNAi screen of mitotic timing (first release)" in page
    assert "An earlier version" in page and 'href="../"' in page
    current = body(docs, "studies/OIA-000002/")
    assert 'href="v1/"' in current and "Added the second plate" in current


def test_browse_listings_and_pagination(sample_catalog, catalog_settings, tmp_path):
    settings = catalog_settings.model_copy(update={"studies_per_page": 1, "facet_studies_per_page": 1})
    writer, docs = render(sample_catalog, settings, tmp_path)
    urls = {p.url_path for p in writer.pages}
    assert {"studies/", "studies/page/2/", "browse/", "browse/organism/", "browse/organism/mus-musculus/",
            "browse/imaging-method/", "browse/scale/cell/", "browse/data-type/", "browse/licence/cc0-1-0/",
            "browse/year/2025/", "search/", ""} <= urls
    first = body(docs, "studies/")
    assert 'rel="next" href="page/2/"' in first and 'aria-current="page"' in first
    second = body(docs, "studies/page/2/")
    assert 'rel="prev" href="../../"' in second
    # Listing pages are reachable from the nav; studies never are.
    assert "nav" not in meta_of(docs, "studies/")
    mouse = body(docs, "browse/organism/mus-musculus/")
    assert "NCBITaxon:10090" in mouse


def test_facet_listings_have_their_own_page_size(sample_catalog, catalog_settings, tmp_path):
    settings = catalog_settings.model_copy(update={"studies_per_page": 1, "facet_studies_per_page": 50})
    writer, _ = render(sample_catalog, settings, tmp_path)
    urls = {p.url_path for p in writer.pages}
    assert "studies/page/2/" in urls  # the all-studies listing pages by studies_per_page
    assert not [u for u in urls if u.startswith("browse/") and "/page/" in u]  # facets hold 50 a page


def test_home_page_summarises_the_archive(rendered):
    catalog, _, docs = rendered
    page = body(docs, "")
    assert f">{catalog.stats.studies}</dd>" in page and f">{catalog.stats.images}</dd>" in page
    assert "Newest releases" in page and 'action="search/"' in page
    assert 'src="thumbnails/a1b2c3-card.webp"' in page and "alt=" in page


def test_search_page_has_every_facet(rendered):
    _catalog, _, docs = rendered
    page = body(docs, "search/")
    for key in ("organism", "imaging_method", "biological_scale", "data_type", "licence", "release_year"):
        assert f'data-facet="{key}"' in page
    assert 'value="NCBITaxon:10090"' in page
    meta = meta_of(docs, "search/")
    assert meta["oia_scripts"][0].endswith("lunr-2.3.9.min.js")


def test_every_image_has_alt_text(rendered):
    _, writer, docs = rendered
    for page in writer.pages:
        text = body(docs, page.url_path)
        for tag in re.findall(r"<img\b[^>]*>", text):
            assert re.search(r'\balt="[^"]+"', tag), (page.url_path, tag)


def test_templates_are_overridable(sample_catalog, catalog_settings, tmp_path):
    mine = tmp_path / "my-templates" / "pages"
    mine.mkdir(parents=True)
    (mine / "home.html").write_text("<h1>Our own home for {{ catalog.stats.studies }} studies</h1>")
    search_path = template_search_path(tmp_path / "nowhere", [tmp_path / "my-templates"])
    _, docs = render(sample_catalog, catalog_settings, tmp_path / "out", search_path=search_path)
    assert "Our own home for 2 studies" in body(docs, "")
    assert "Newest releases" not in body(docs, "")
    assert "How to cite" in body(docs, "studies/OIA-000001/")  # the others still come from the defaults


def test_metadata_reference_lists_every_field_and_check(tmp_path, catalog_settings):
    from builder.core.checks import all_checks
    from builder.model.study import Author, Dataset, Study

    write_reference_pages(tmp_path, template_search_path(Path(__file__).resolve().parents[2]), catalog_settings)
    reference = (tmp_path / "reference" / "metadata.md").read_text()
    for model in (Study, Dataset, Author):
        assert f"## {model.__name__} {{ #" in reference
        for name in model.model_fields:
            assert f"| `{name}` |" in reference, (model.__name__, name)
    assert "| `title` | string | **yes** |" in reference
    assert "`CC-BY-4.0`" in reference
    checks = (tmp_path / "reference" / "checks.md").read_text()
    for check in all_checks():
        assert f"`{check.id}`" in checks


def test_a_study_with_hundreds_of_images_stays_small(tmp_path, catalog_settings):
    from builder.model.study import Study
    from tests.support.catalog import image_facts, study_record

    record = study_record("OIA-000777")
    record["datasets"][0]["images"] = [{"name": f"well-{i:03d}", "url": f"big/well-{i:03d}.ome.zarr",
                                        "title": f"Well {i} of a long screen"} for i in range(300)]
    study = Study.model_validate(record)
    facts = {f"OIA-000777/confocal/well-{i:03d}": image_facts(f"https://data.example.org/oia/big/well-{i:03d}.ome.zarr",
                                                              thumbnail=f"{i:032x}-card.webp")
             for i in range(300)}
    catalog = build_catalog([study], facts, catalog_settings, dt.date(2026, 6, 1))
    writer, docs = render(catalog, catalog_settings, tmp_path)
    size = next(p.body_bytes for p in writer.pages if p.url_path == "studies/OIA-000777/")
    assert size < 45_000, size  # plus the theme's chrome (~12 KB): under 60 KB
    page = body(docs, "studies/OIA-000777/")
    assert "more images in this dataset" in page and "api/studies/OIA-000777.json" in page


def test_a_page_that_cannot_be_rendered_names_its_study(sample_catalog, catalog_settings, tmp_path):
    from builder.site.pages import PageError

    mine = tmp_path / "tpl" / "pages"
    mine.mkdir(parents=True)
    (mine / "study.html").write_text("{{ study.no_such_field }}")
    search_path = template_search_path(tmp_path / "nowhere", [tmp_path / "tpl"])
    with pytest.raises(PageError, match="OIA-00000[12]"):
        render(sample_catalog, catalog_settings, tmp_path / "out", search_path=search_path)


PROSE = st.lists(st.sampled_from(list("ab XY éß東\n.,;:'\"?!()/%$@-09") + ["\n\n", "   ", " \n"]),
                 min_size=1, max_size=60).map("".join)


@given(PROSE)
@settings(max_examples=400, deadline=None)
def test_prose_takes_a_short_cut_to_the_same_html(text):
    """Plain prose skips Markdown (builder.site.pages._plain_paragraphs); the HTML must be what Markdown gives."""
    import builder.site.pages as pages

    full = pages._CLEANER.clean(pages._MARKDOWN.reset().convert(text))
    if pages._is_plain_prose(text):
        assert pages._plain_paragraphs(text) == full
    assert str(render_markdown(text)) == pages._HEADING.sub(
        lambda m: f"<{m.group(1)}h{min(int(m.group(2)) + 2, 6)}>", full)


def test_entry_pages_name_every_page_of_every_listing(sample_catalog, catalog_settings):
    from builder.site.pages import entry_pages, facet_entries

    settings = catalog_settings.model_copy(update={"studies_per_page": 1, "facet_studies_per_page": 1})
    pages = entry_pages(sample_catalog, settings)
    listed = len(sample_catalog.listed_studies)
    assert listed >= 2
    assert [p for p in pages if p.startswith("studies/")] == ["studies/"] + [
        f"studies/page/{n}/" for n in range(2, listed + 1)]
    for entries in facet_entries(sample_catalog).values():
        for e in entries:
            assert e.url_path in pages
            assert all(f"{e.url_path}page/{n}/" in pages for n in range(2, len(e.studies) + 1))
    assert len(pages) == len(set(pages))


def test_markdown_over_the_budget_is_shown_as_escaped_text_not_rendered():
    # 500 nested list markers made Python-Markdown recurse past the stack; 8,000 unclosed
    # tags took over a minute. validate refuses both (MOD029); a preview must still build.
    from builder.site.pages import render_markdown

    nested = "- " * 500 + "deep <b>"
    html_out = str(render_markdown(nested))
    assert html_out.startswith("<p>- - ") and "deep &lt;b&gt;" in html_out and "<li>" not in html_out
    tags = "<a " * 8000
    assert str(render_markdown(tags)).count("&lt;a") == 8000


def test_markdown_within_the_budget_still_renders():
    from builder.site.pages import render_markdown

    assert "<li>" in str(render_markdown("- one\n- two"))
