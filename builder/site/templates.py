"""Where the site's templates and theme come from: the archive's folders over the builder's.

The builder ships its default Jinja templates (``builder/site/templates/``),
its MkDocs theme overrides (``builder/site/theme/``) and a default
``mkdocs.yml`` as package data, so an installed wheel builds a site for an
archive that holds only its records, data and archive.toml.

An archive overrides any template by putting a file of the same name in its
own ``templates/`` folder, which comes first in the search path. To change one
block instead of copying a whole template, it extends the default through the
``default:`` prefix (the pattern datasette uses)::

    {% extends "default:pages/study.html" %}
    {% block study_header %}...{{ super() }}...{% endblock %}

The prefix always names the builder's own template, so an override can extend
the template it replaces without extending itself.

An archive's ``mkdocs.yml`` may likewise start from the builder's default
with ``INHERIT: default:mkdocs.yml`` and add only its own settings (its nav,
copyright): MkDocs merges mappings key by key and replaces lists. MkDocs
itself knows no prefix, so the build hands it a copy of the file that names
the default by its installed path (:func:`readable_mkdocs_config`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

import jinja2

from builder.core.errors import InvalidInputError

PACKAGE_DIR = Path(__file__).resolve().parent
# The builder's defaults, shipped as package data (pyproject.toml: package-data).
DEFAULT_TEMPLATES = PACKAGE_DIR / "templates"
DEFAULT_THEME = PACKAGE_DIR / "theme"
DEFAULT_MKDOCS_CONFIG = PACKAGE_DIR / "mkdocs.yml"
# An archive's own folders of the same role, relative to its root.
ARCHIVE_TEMPLATES = "templates"
ARCHIVE_THEME = "site_overrides"
DEFAULT_PREFIX = "default"


def template_search_path(root: Path, extra: Iterable[Path] = ()) -> list[Path]:
    """Template folders, highest priority first: given ones, the archive's, the builder's."""
    folders: list[Path] = []
    for folder in (*extra, root / ARCHIVE_TEMPLATES, DEFAULT_TEMPLATES):
        folder = folder.resolve()
        if folder.is_dir() and folder not in folders:
            folders.append(folder)
    return folders


def template_loader(search_path: list[Path]) -> jinja2.BaseLoader:
    """The search path, plus ``default:<name>`` for the builder's own template of that name."""
    return jinja2.ChoiceLoader([
        jinja2.FileSystemLoader([str(p) for p in search_path]),
        jinja2.PrefixLoader({DEFAULT_PREFIX: jinja2.FileSystemLoader(str(DEFAULT_TEMPLATES))}, delimiter=":"),
    ])


def template_source(name: str) -> str:
    """The text of one of the builder's default templates (say, a script served next to an export)."""
    return (DEFAULT_TEMPLATES / name).read_text(encoding="utf-8")


def theme_search_path(root: Path, extra: Iterable[Path] = ()) -> list[Path]:
    """Theme override folders, highest priority first: given ones, the archive's, the builder's."""
    folders: list[Path] = []
    for folder in (*extra, root / ARCHIVE_THEME, DEFAULT_THEME):
        folder = folder.resolve()
        if folder.is_dir() and folder not in folders:
            folders.append(folder)
    return folders


def mkdocs_config_for(root: Path, name: str = "mkdocs.yml") -> Path:
    """The archive's mkdocs.yml, or the builder's default when the archive has none."""
    own = root / name
    return own if own.is_file() else DEFAULT_MKDOCS_CONFIG


# A top-level `INHERIT: default:<name>` line (quoted or not).
_DEFAULT_INHERIT = re.compile(r"^INHERIT:[ \t]*(?P<q>['\"]?)default:(?P<name>[^'\"\s]*)(?P=q)[ \t]*$", re.MULTILINE)


class DefaultConfigUnknown(InvalidInputError):
    """An ``INHERIT: default:...`` names something the builder does not ship."""


def readable_mkdocs_config(config: Path, folder: Path) -> Path:
    """``config`` as MkDocs reads it: with ``INHERIT: default:mkdocs.yml``, a copy in ``folder`` naming the
    builder's default by its path; otherwise ``config`` itself. Relative paths in the file keep their meaning:
    the build gives every path MkDocs needs as an absolute one (mkdocs_site.write_mkdocs_config)."""
    text = config.read_text("utf-8")
    match = _DEFAULT_INHERIT.search(text)
    if match is None:
        return config
    if match["name"] != DEFAULT_MKDOCS_CONFIG.name:
        raise DefaultConfigUnknown(
            f"{config}: INHERIT names {DEFAULT_PREFIX}:{match['name']}, which the builder does not ship. "
            f"Fix: write INHERIT: {DEFAULT_PREFIX}:{DEFAULT_MKDOCS_CONFIG.name} (the builder's default), "
            "or a path to a file of your own.")
    folder.mkdir(parents=True, exist_ok=True)
    readable = folder / f"inheriting-{config.name}"
    line = f"INHERIT: {json.dumps(str(DEFAULT_MKDOCS_CONFIG))}"
    readable.write_text(text[:match.start()] + line + text[match.end():], "utf-8")
    return readable


__all__ = ["ARCHIVE_TEMPLATES", "ARCHIVE_THEME", "DEFAULT_MKDOCS_CONFIG", "DEFAULT_PREFIX", "DEFAULT_TEMPLATES",
           "DEFAULT_THEME", "DefaultConfigUnknown", "mkdocs_config_for", "readable_mkdocs_config", "template_loader",
           "template_search_path", "template_source", "theme_search_path"]
