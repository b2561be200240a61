"""Page frames: pages outside the nav are filled into frames MkDocs rendered once per kind."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from builder.site.frames import (
    PAGE_INDEPENDENT_FEATURES,
    PAGE_INDEPENDENT_PLUGINS,
    FramedPage,
    FrameError,
    FrameKind,
    Frames,
    folder_prefixes,
    front_matter,
    page_dependent_features,
    refuse_page_dependent_features,
)
from builder.site.mkdocs_site import run_mkdocs, stage_overrides, write_mkdocs_config
from builder.site.pages import (
    copy_hand_written_docs,
    doc_pages,
    framed_study_pages,
    make_environment,
    render_site_pages,
    template_search_path,
)
from builder.site.templates import theme_search_path
from tests.support.catalog import example_history

REPO = Path(__file__).resolve().parents[2]


def test_folder_prefixes_run_from_the_root_to_the_page():
    assert folder_prefixes("studies/OIA-000001/v2/") == ["", "studies/", "studies/OIA-000001/",
                                                         "studies/OIA-000001/v2/"]
    assert folder_prefixes("") == [""]


def test_a_page_is_framed_below_the_deepest_folder_that_holds_a_built_page():
    frames = Frames.for_pages(["", "studies/", "browse/organism/", "guides/submitting/"])
    kind, rest = frames.kind_of(FramedPage("studies/OIA-000001/", "t", "d", "b"))
    assert (kind.prefix, kind.depth, rest) == ("studies/", 1, "OIA-000001/")
    kind, rest = frames.kind_of(FramedPage("studies/OIA-000001/v2/", "t", "d", "b", image="https://x/i.webp"))
    assert (kind.prefix, kind.depth, kind.has_image, rest) == ("studies/", 2, True, "OIA-000001/v2/")
    kind, rest = frames.kind_of(FramedPage("browse/organism/mus-musculus/page/2/", "t", "", "b"))
    assert (kind.prefix, kind.depth, kind.has_description) == ("browse/organism/", 3, False)
    # A page with a built page below it would link differently from its frame.
    with pytest.raises(FrameError, match="cannot be framed"):
        frames.kind_of(FramedPage("guides/", "t", "d", "b"))


def _one_frame() -> tuple[Frames, FrameKind, int]:
    """Frames of a site with a home page only, planned for one kind of page one folder down."""
    frames = Frames.for_pages([""])
    kind = FrameKind("", 1)
    frames.need(kind)
    return frames, kind, frames.kinds[kind]


def test_a_frame_fills_values_by_position_never_by_search():
    frames, kind, number = _one_frame()
    marker = frames._marker
    text = (f"<title>{marker(number, 'title')} - Site</title><meta content='{marker(number, 'description')}'>"
            f"<link href='https://x/{frames._rest(kind, number)}'><main>{marker(number, 'body')}</main>")
    page = FramedPage("OIA-1/", "A title", "A description", "<p>body with oiaframe markers-like text: "
                      + marker(number, "title") + "</p>")
    frames.parsed[kind] = _parse(frames, kind, text)
    out = frames.fill(page)
    assert out.startswith("<title>A title - Site</title><meta content='A description'><link href='https://x/OIA-1/'>")
    # A page's own text is never searched for markers: it comes out as it went in.
    assert out.endswith(page.body + "</main>")


def _parse(frames: Frames, kind: FrameKind, text: str):
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / frames.frame_path(kind) / "index.html"
        target.parent.mkdir(parents=True)
        target.write_text(text, encoding="utf-8")
        frames.parse(Path(tmp))
        assert not target.parent.exists(), "parsing removes the frame from the site"
    return frames.parsed[kind]


def test_a_marker_the_theme_changed_stops_the_build(tmp_path):
    frames, kind, number = _one_frame()
    # Say an override printed the title through `| upper`: the filler cannot find it.
    text = (f"<title>{frames._marker(number, 'title').upper()}</title>{frames._marker(number, 'description')}"
            f"{frames._rest(kind, number)}{frames._marker(number, 'body')}")
    target = tmp_path / frames.frame_path(kind) / "index.html"
    target.parent.mkdir(parents=True)
    target.write_text(text)
    with pytest.raises(FrameError, match="oia-page.html"):
        frames.parse(tmp_path)


def test_framed_pages_are_byte_for_byte_what_mkdocs_writes(tmp_path, sample_catalog, catalog_settings):
    """Every kind of framed page, filled, equals the same page rendered by MkDocs itself."""
    docs = tmp_path / "docs"
    copy_hand_written_docs(REPO / "docs", docs)
    env = make_environment(template_search_path(REPO))
    history = example_history()
    framed: list[FramedPage] = []
    # A small page size makes listings of several pages, so later listing pages are framed too.
    settings = catalog_settings.model_copy(update={"studies_per_page": 1, "facet_studies_per_page": 1})
    render_site_pages(sample_catalog, settings, docs_dir=docs, env=env, cache_dir=None, history=history,
                      framed=framed.append)
    paths = {p.url_path for p in framed}
    assert {"studies/OIA-000001/", "studies/page/2/"} <= paths
    assert any(p.startswith("browse/organism/") for p in paths)
    assert any(re.fullmatch(r"studies/OIA-\d+/v\d+/", p) for p in paths), "earlier versions are framed"
    frames = Frames.for_pages(doc_pages(docs))
    for page in [*framed, *framed_study_pages(sample_catalog, history)]:
        frames.need(frames.kind_of(page)[0])
    frames.write_docs(docs)
    # The same pages as MkDocs pages of their own, next to the frames.
    for page in framed:
        target = docs / page.url_path / "index.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(front_matter(page.meta()), encoding="utf-8")
    site = tmp_path / "site"
    overrides = stage_overrides(theme_search_path(REPO), tmp_path / "overrides")
    config = write_mkdocs_config(base_config=REPO / "mkdocs.yml", docs_dir=docs, site_dir=site,
                                 custom_dir=overrides, settings=settings, target=tmp_path / "mkdocs.yml")
    run_mkdocs(config)
    frames.parse(site)
    for page in framed:
        assert frames.fill(page) == (site / page.url_path / "index.html").read_text(encoding="utf-8"), page.url_path
    assert not list(site.rglob("oia-frame-*")), "frames are removed from the site once parsed"


def test_the_built_site_holds_no_frame_or_marker(built_site):
    for path in built_site.site.rglob("*"):
        assert "oia-frame" not in path.name
        if path.is_file() and path.suffix in {".html", ".json", ".xml", ".txt", ".csv"}:
            assert "oiaframe" not in path.read_text(encoding="utf-8", errors="replace"), path


@pytest.mark.parametrize("jinja_filter", ["lower", "upper", "e", "forceescape", "tojson", "striptags", "urlencode",
                                          "replace(' ', '_')"])
def test_a_marker_printed_through_any_filter_stops_the_build(tmp_path, jinja_filter):
    """Markers hold characters every filter changes: a value the theme escapes for
    another context (say `| tojson` inside a script) is never filled as HTML."""
    import jinja2

    frames, kind, number = _one_frame()
    env = jinja2.Environment(autoescape=False)
    title = env.from_string("{{ t | " + jinja_filter + " }}").render(t=frames._marker(number, "title"))
    text = (f"<title>{frames._marker(number, 'title')}</title><script>var t = {title};</script>"
            f"{frames._marker(number, 'description')}{frames._marker(number, 'body')}")
    target = tmp_path / frames.frame_path(kind) / "index.html"
    target.parent.mkdir(parents=True)
    target.write_text(text)
    with pytest.raises(FrameError, match="oia-page.html"):
        frames.parse(tmp_path)


def test_a_site_without_site_url_has_no_canonical_address_to_fill(tmp_path):
    frames, kind, number = _one_frame()
    text = (f"<title>{frames._marker(number, 'title')}</title>{frames._marker(number, 'description')}"
            f"<main>{frames._marker(number, 'body')}</main>")
    frames.parsed[kind] = _parse(frames, kind, text)
    assert frames.fill(FramedPage("OIA-1/", "T", "D", "B")) == "<title>T</title>D<main>B</main>"


# ---------------------------------------------------------------- the rule frames rest on, enforced

def test_the_repositorys_mkdocs_yml_keeps_the_frame_rule():
    refuse_page_dependent_features(REPO / "mkdocs.yml")  # does not raise
    assert page_dependent_features({"theme": {"name": "material"}}) == []  # MkDocs' default plugins: search
    assert page_dependent_features({"plugins": {"search": {"lang": "en"}}, "theme": "material"}) == []
    assert page_dependent_features({"plugins": [{"material/search": {"lang": "en"}}]}) == []


def test_plugins_hooks_and_features_outside_the_allow_list_are_named():
    found = page_dependent_features({
        "plugins": ["search", {"blog": {"enabled": False}}, "social"],
        "hooks": ["hooks/related.py"],
        "theme": {"name": "material", "features": ["navigation.tabs", "navigation.instant", "content.action.edit"]},
    })
    assert found == ["the plugin 'blog' (plugins:)", "the plugin 'social' (plugins:)",
                     "the hook 'hooks/related.py' (hooks:)",
                     "the theme feature 'navigation.instant' (theme: features:)",
                     "the theme feature 'content.action.edit' (theme: features:)"]
    assert set(PAGE_INDEPENDENT_PLUGINS) >= {"search"} and "navigation.instant" not in PAGE_INDEPENDENT_FEATURES


def test_a_config_that_inherits_and_adds_a_feature_is_refused_with_a_fix(tmp_path):
    config = tmp_path / "mkdocs.yml"
    config.write_text("INHERIT: default:mkdocs.yml\ntheme:\n  features: [navigation.instant]\n"
                      "plugins:\n  - search\n  - tags\n")
    with pytest.raises(FrameError) as info:
        refuse_page_dependent_features(config)
    message = str(info.value)
    assert str(config) in message
    assert "the plugin 'tags'" in message and "the theme feature 'navigation.instant'" in message
    assert "frozen" in message and "remove it from mkdocs.yml" in message and "PAGE_INDEPENDENT_FEATURES" in message


def test_an_unreadable_mkdocs_yml_is_a_clear_error(tmp_path):
    config = tmp_path / "mkdocs.yml"
    config.write_text("theme: [unclosed\n")
    with pytest.raises(FrameError, match="cannot read the MkDocs configuration"):
        refuse_page_dependent_features(config)
    config.write_text("INHERIT: nowhere.yml\n")
    with pytest.raises(FrameError, match="nowhere.yml"):
        refuse_page_dependent_features(config)


def test_the_build_stops_before_writing_anything_when_mkdocs_yml_breaks_the_rule(tmp_path, sample_catalog,
                                                                                 catalog_settings):
    from builder.site.build import build_site_from_catalog

    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "mkdocs.yml").write_text("INHERIT: default:mkdocs.yml\nplugins: [search, privacy]\n")
    site = archive / "site"
    site.mkdir()
    (site / "index.html").write_text("the old site")
    with pytest.raises(FrameError, match="the plugin 'privacy'"):
        build_site_from_catalog(sample_catalog, catalog_settings, archive, site, cache_dir=None, workers=1)
    assert (site / "index.html").read_text() == "the old site"
    assert sorted(p.name for p in archive.iterdir()) == ["mkdocs.yml", "site"]
