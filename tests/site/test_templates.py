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
    mkdocs_config_for,
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


def test_the_default_mkdocs_yml_keeps_the_repositorys_look_and_the_frame_rule():
    """The example archive's mkdocs.yml and the package default differ only in what an archive adds."""
    default = yaml.safe_load(DEFAULT_MKDOCS_CONFIG.read_text())
    repository = yaml.safe_load((REPO / "mkdocs.yml").read_text())
    assert page_dependent_features(default) == []
    for key in ("markdown_extensions", "plugins", "not_in_nav", "validation", "extra_css", "extra_javascript",
                "use_directory_urls"):
        assert default[key] == repository[key], key
    assert {k: v for k, v in repository["theme"].items() if k != "custom_dir"} == default["theme"]
    nav = yaml.safe_dump(default["nav"])
    for page in ("index.md", "search/index.md", "studies/index.md", "reference/metadata.md", "reference/checks.md"):
        assert page in nav
    assert "guides/" not in nav, "the default nav names only pages the builder generates"
