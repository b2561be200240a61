"""The local preview: serve a built site on 127.0.0.1 and say which changes need a rebuild.

`bioarchive serve` builds with builder.site.build, serves site/ with
:func:`make_server` and watches :func:`watched_paths` through
:func:`rebuild_filter`.
"""

from __future__ import annotations

import functools
import http.server
from pathlib import Path

# What a rebuild depends on, relative to the archive root.
WATCHED = ("studies", "templates", "site_overrides", "docs", "mkdocs.yml", "archive.toml")


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Serves site/ by path, looked up per request, so a rebuild's swap shows at once."""

    def __init__(self, *args, site_dir: Path, **kwargs) -> None:
        super().__init__(*args, directory=str(site_dir), **kwargs)

    def log_message(self, format: str, *args) -> None:
        pass


def make_server(site_dir: Path, host: str = "127.0.0.1", port: int = 8000) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(SiteHandler, site_dir=site_dir)
    return http.server.ThreadingHTTPServer((host, port), handler)


def watched_paths(root: Path) -> list[Path]:
    return [root / name for name in WATCHED if (root / name).exists()]


def rebuild_filter(root: Path, site_dir: Path):
    """Ignore changes inside site/, the cache and editor droppings."""
    from watchfiles import DefaultFilter

    ignored = [site_dir.resolve(), (root / ".cache").resolve()]
    default = DefaultFilter()

    def accept(change, path: str) -> bool:
        p = Path(path).resolve()
        if any(p == i or i in p.parents for i in ignored):
            return False
        return default(change, path)

    return accept
