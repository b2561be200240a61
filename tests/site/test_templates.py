"""Where templates, theme and mkdocs.yml come from: the archive's folders over the builder's package data."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import builder
from builder.site.frames import page_dependent_features
from builder.site.pages import FramedPage, PageError, PageWriter, SiteRenderer, ThumbnailStore, make_environment
from builder.site.templates import (
    DEFAULT_MKDOCS_CONFIG,
    DEFAULT_TEMPLATES,
    DEFAULT_THEME,
    DefaultConfigUnknown,
    mkdocs_config_for,
    readable_mkdocs_config,
    template_search_path,
    theme_search_path,
)

REPO = Path(__file__).resolve().parents[2]
STUDY = "studies/OIA-000001/"


def study_page(catalog, settings, archive: Path) -> str:
    """The body of one study page rendered with the archive's template search path."""
    pages: list[FramedPage] = []
    writer = PageWriter(archive / "docs", pages.append)
    renderer = SiteRenderer(catalog, settings, make_environment(template_search_path(archive)), writer,
                            ThumbnailStore(None))
    renderer.render_all(today=catalog.generated)
    return next(p.body for p in pages if p.url_path == STUDY)


def test_the_defaults_are_package_data_not_files_of_the_repository():
    package = Path(builder.__file__).resolve().parent
    for folder in (DEFAULT_TEMPLATES, DEFAULT_THEME):
        assert folder.is_dir() and folder.is_relative_to(package / "site")
    assert (DEFAULT_TEMPLATES / "pages" / "study.html").is_file()
    assert (DEFAULT_THEME / "oia-page.html").is_file()
    assert DEFAULT_MKDOCS_CONFIG.is_file() and DEFAULT_MKDOCS_CONFIG.is_relative_to(package)
    assert not (REPO / "templates").exists() and not (REPO / "site_overrides").exists()
    pyproject = (REPO / "pyproject.toml").read_text()
    for pattern in ('"site/templates/**/*"', '"site/theme/**/*"', '"site/mkdocs.yml"'):
        assert pattern in pyproject, f"{pattern} is not shipped in the wheel"


def test_an_archive_replaces_one_block_of_the_default_study_page(tmp_path, sample_catalog, catalog_settings):
    archive = tmp_path / "archive"
    (archive / "templates" / "pages").mkdir(parents=True)
    (archive / "templates" / "pages" / "study.html").write_text(
        '{% extends "default:pages/study.html" %}\n'
        '{% block study_data %}<section id="data"><p>Ask the curators for {{ entry.accession }}.</p></section>'
        '{% endblock %}\n'
        '{% block study_description %}<p class="ours">Before the description</p>{{ super() }}{% endblock %}\n')
    default = study_page(sample_catalog, catalog_settings, tmp_path / "bare")
    ours = study_page(sample_catalog, catalog_settings, archive)
    assert "Ask the curators for OIA-000001." in ours
    assert "Every image is an" in default and "Every image is an" not in ours  # the block is replaced
    assert '<p class="ours">Before the description</p>' in ours and 'id="description-title"' in ours  # super()
    # Everything outside the two blocks is the default's, byte for byte.
    for start, end in (('<div class="oia-study">', "</header>"), ('id="datasets-title"', "</section>"),
                       ('id="cite"', "</script>")):
        assert default.split(start, 1)[1].split(end, 1)[0] == ours.split(start, 1)[1].split(end, 1)[0], start


def test_the_default_prefix_always_names_the_builders_template(tmp_path):
    """An archive's template of the same name does not shadow ``default:``, so extending it never recurses."""
    archive = tmp_path / "archive"
    (archive / "templates" / "pages").mkdir(parents=True)
    (archive / "templates" / "pages" / "_macros.html").write_text("{% macro nothing() %}{% endmacro %}")
    env = make_environment(template_search_path(archive))
    assert env.get_template("pages/_macros.html").filename.startswith(str(archive))
    assert env.get_template("default:pages/_macros.html").filename == str(DEFAULT_TEMPLATES / "pages" / "_macros.html")


def test_extending_a_default_that_does_not_exist_names_the_study(tmp_path, sample_catalog, catalog_settings):
    archive = tmp_path / "archive"
    (archive / "templates" / "pages").mkdir(parents=True)
    (archive / "templates" / "pages" / "study.html").write_text('{% extends "default:pages/no-such.html" %}')
    with pytest.raises(PageError, match="OIA-00000[12]"):
        study_page(sample_catalog, catalog_settings, archive)


def test_search_paths_put_the_archive_first_and_skip_missing_folders(tmp_path):
    archive = tmp_path / "archive"
    assert template_search_path(archive) == [DEFAULT_TEMPLATES]
    assert theme_search_path(archive) == [DEFAULT_THEME]
    (archive / "templates").mkdir(parents=True)
    (archive / "site_overrides").mkdir()
    extra = tmp_path / "extra"
    extra.mkdir()
    assert template_search_path(archive, [extra]) == [extra.resolve(), (archive / "templates").resolve(),
                                                      DEFAULT_TEMPLATES]
    assert theme_search_path(archive) == [(archive / "site_overrides").resolve(), DEFAULT_THEME]


def test_an_archive_without_mkdocs_yml_gets_the_builders_default(tmp_path):
    assert mkdocs_config_for(tmp_path) == DEFAULT_MKDOCS_CONFIG
    (tmp_path / "mkdocs.yml").write_text("site_name: ours\n")
    assert mkdocs_config_for(tmp_path) == tmp_path / "mkdocs.yml"


def test_the_repositorys_mkdocs_yml_starts_from_the_default_and_repeats_none_of_it(tmp_path):
    """The example archive's look is the package default's: its own file adds only its nav and copyright."""
    from mkdocs.utils import yaml_load

    default = yaml.safe_load(DEFAULT_MKDOCS_CONFIG.read_text())
    repository = yaml.safe_load((REPO / "mkdocs.yml").read_text())
    assert repository["INHERIT"] == "default:mkdocs.yml"
    assert page_dependent_features(default) == []
    assert set(repository) == {"INHERIT", "copyright", "nav"}, "settings of the site's look belong in the default"
    with open(readable_mkdocs_config(REPO / "mkdocs.yml", tmp_path), "rb") as fh:
        merged = yaml_load(fh)
    assert merged["theme"] == default["theme"] and merged["markdown_extensions"] == default["markdown_extensions"]
    assert merged["plugins"] == default["plugins"] and merged["not_in_nav"] == default["not_in_nav"]
    assert merged["nav"] == repository["nav"], "the repository's nav replaces the default's whole"
    nav = yaml.safe_dump(default["nav"])
    for page in ("index.md", "search/index.md", "studies/index.md", "reference/metadata.md", "reference/checks.md"):
        assert page in nav
    assert "guides/" not in nav, "the default nav names only pages the builder generates"


@pytest.mark.parametrize("line", ["INHERIT: default:mkdocs.yml", "INHERIT: 'default:mkdocs.yml'",
                                  'INHERIT: "default:mkdocs.yml"'])
def test_an_archive_config_inheriting_the_default_is_given_to_mkdocs_by_path(tmp_path, line):
    own = tmp_path / "mkdocs.yml"
    own.write_text(f"# ours\n{line}\ncopyright: Ours\n")
    readable = readable_mkdocs_config(own, tmp_path / "staging")
    assert readable != own and own.read_text().startswith("# ours\n" + line), "the archive's file is not touched"
    raw = yaml.safe_load(readable.read_text())
    assert raw == {"INHERIT": str(DEFAULT_MKDOCS_CONFIG), "copyright": "Ours"}


def test_a_config_without_the_prefix_is_read_as_it_is(tmp_path):
    own = tmp_path / "mkdocs.yml"
    own.write_text("INHERIT: base.yml\nsite_name: x\n# INHERIT: default:mkdocs.yml in a comment\n")
    assert readable_mkdocs_config(own, tmp_path / "staging") == own
    assert not (tmp_path / "staging").exists()


def test_an_unknown_default_config_is_refused_with_the_fix(tmp_path):
    own = tmp_path / "mkdocs.yml"
    own.write_text("INHERIT: default:theme.yml\n")
    with pytest.raises(DefaultConfigUnknown, match=r"default:theme.yml.*Fix: write INHERIT: default:mkdocs.yml"):
        readable_mkdocs_config(own, tmp_path / "staging")
