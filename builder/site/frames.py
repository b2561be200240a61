"""Page frames: the theme's HTML around generated pages, rendered once per kind.

Generated pages that are not in the nav (study pages, earlier versions,
tombstones, browse listings) differ from each other only in their body,
title, description, link-preview image and URL: the theme's header, tabs,
nav, footer and scripts around them come out the same for every page at the
same depth below the same nav folder, because MkDocs makes every link in
them relative to the page. So `mkdocs build` renders one *frame* per kind of
page, a page whose values are marker tokens, and :class:`Frames` fills the
frames with each page's values. At 10,000 studies this saves MkDocs ~2.3 ms
a page (Material's template, the Markdown set-up, the front matter), which
was as long as a whole bare MkDocs build; the pages are byte for byte what
MkDocs would have written for them.

Markers are random per build (a nonce), so no record and no hand-written
page can contain one; values are put in by position, never by searching a
page's text. Every frame is checked after parsing: a marker the theme
printed through a filter that escapes or transforms it (HTML or JSON
escaping, case, tags, URL encoding) is left over and stops the build, so an
HTML-escaped value is never filled into another context.

The rule frames rest on (nothing outside a page's own values depends on the
page) is enforced before MkDocs runs: a plugin, hook or theme feature outside
an allow-list known to keep it stops the build
(:func:`refuse_page_dependent_features`).
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from builder.core.errors import StageError

# The theme template of every generated page (builder/site/theme/oia-page.html, or an archive's site_overrides/).
PAGE_TEMPLATE = "oia-page.html"
DEFAULT_HIDE = ("navigation", "toc")
# The per-page values a frame holds a marker for (the page's path is the fifth).
SLOTS = ("title", "description", "image", "body", "head")


class FrameError(StageError):
    """A frame could not be made or filled (the build stops; site/ is kept)."""


_NOT_PRINTABLE_ASCII = re.compile(r"[^\x20-\x7e]")


def _yaml_escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    if 0xD800 <= code <= 0xDFFF:  # a lone surrogate cannot be written in YAML (or UTF-8)
        code = 0xFFFD
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def front_matter(meta: dict[str, Any]) -> str:
    """Front matter MkDocs reads back exactly, whatever the text holds.

    One line of JSON (JSON is YAML), so no line of it can be the "---" that
    ends front matter. Outside printable ASCII every character is written as
    a YAML escape (JSON's own escapes would write characters beyond the BMP
    as surrogate pairs, which YAML refuses), so no raw control or
    line-separator character reaches the YAML parser.
    """
    text = json.dumps(meta, ensure_ascii=False, separators=(",", ":"))
    return "---\n" + _NOT_PRINTABLE_ASCII.sub(_yaml_escape, text) + "\n---\n"


def page_meta(*, title: str, description: str, hide: Iterable[str], scripts: Iterable[str], searchable: bool,
              image: str | None, body: str, in_nav: bool = True, head: str = "") -> dict[str, Any]:
    """The front matter of a generated page (title, description and image arrive escaped;
    ``head`` is HTML for the page head: the signposting links of a study landing page)."""
    meta: dict[str, Any] = {"template": PAGE_TEMPLATE, "title": title, "description": description,
                            "hide": list(hide)}
    if scripts:
        meta["oia_scripts"] = list(scripts)
    if not in_nav:
        meta["oia_light_nav"] = True
    if not searchable:
        meta["search"] = {"exclude": True}
    if image:  # an absolute URL, for link previews (Open Graph)
        meta["oia_image"] = image
    meta["oia_html"] = body
    if head:
        meta["oia_head"] = head
    return meta


@dataclass(frozen=True)
class FrameKind:
    """What makes two framed pages' surroundings the same."""

    prefix: str  # the longest folder of the page's path that holds a page MkDocs builds ("studies/")
    depth: int  # folders below the prefix ("OIA-000001/" 1, "OIA-000001/v2/" 2)
    hide: tuple[str, ...] = DEFAULT_HIDE
    scripts: tuple[str, ...] = ()
    has_image: bool = False
    has_description: bool = True  # without one, the theme prints the site's description


@dataclass
class FramedPage:
    """A generated page to be put in a frame: its path and escaped values."""

    url_path: str
    title: str  # escaped
    description: str  # escaped
    body: str  # HTML
    image: str | None = None  # escaped absolute URL
    hide: tuple[str, ...] = DEFAULT_HIDE
    scripts: tuple[str, ...] = ()
    head: str = ""  # HTML for the head (<link> elements), empty on most pages

    def meta(self) -> dict[str, Any]:
        """The front matter MkDocs would need to render this page itself (frames stand in for it)."""
        return page_meta(title=self.title, description=self.description, hide=self.hide, scripts=self.scripts,
                         searchable=False, image=self.image, body=self.body, in_nav=False,
                         head=self.head)

    def values(self, rest: str) -> dict[str, str]:
        return {"title": self.title, "description": self.description, "image": self.image or "",
                "body": self.body, "path": rest, "head": self.head}


def folder_prefixes(url_path: str) -> list[str]:
    """"a/b/c/" -> ["", "a/", "a/b/", "a/b/c/"]."""
    parts = [p for p in url_path.split("/") if p]
    return [""] + ["/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]


@dataclass
class Frame:
    """A rendered frame split at its markers: parts[0], slot 0, parts[1], ..."""

    parts: list[str]
    slots: list[str]

    def fill(self, values: dict[str, str]) -> str:
        out = [self.parts[0]]
        for slot, part in zip(self.slots, self.parts[1:], strict=True):
            out.append(values[slot])
            out.append(part)
        return "".join(out)


@dataclass
class Frames:
    """The frames of one build: planned before MkDocs runs, parsed after.

    ``anchors`` are the folders that hold pages MkDocs builds (every folder
    prefix of their paths): a framed page's surroundings link to nothing
    deeper, so its frame is the longest anchor it lies under plus a depth.
    """

    anchors: set[str]
    nonce: str = field(default_factory=lambda: secrets.token_hex(8))
    kinds: dict[FrameKind, int] = field(default_factory=dict)  # kind -> frame number
    parsed: dict[FrameKind, Frame] = field(default_factory=dict)

    @classmethod
    def for_pages(cls, built_pages: Iterable[str]) -> Frames:
        anchors: set[str] = set()
        for url_path in built_pages:
            anchors.update(folder_prefixes(url_path))
        return cls(anchors)

    # -- planning (before MkDocs)

    def kind_of(self, page: FramedPage) -> tuple[FrameKind, str]:
        """The frame kind of a page and the part of its path below the kind's prefix."""
        prefix = ""
        for candidate in folder_prefixes(page.url_path):
            if candidate in self.anchors:
                prefix = candidate
        rest = page.url_path[len(prefix):]
        depth = rest.count("/")
        if depth == 0:
            raise FrameError(f"the generated page {page.url_path!r} has a page of the site below it; "
                             "it cannot be framed")
        kind = FrameKind(prefix, depth, tuple(page.hide), tuple(page.scripts), bool(page.image),
                         bool(page.description))
        return kind, rest

    def need(self, kind: FrameKind) -> None:
        self.kinds.setdefault(kind, len(self.kinds))

    def _marker(self, number: int, slot: str) -> str:
        # The tail holds what every escaping or transforming filter changes
        # (HTML and JSON escapes, case, tags, spaces, URL encoding), so a
        # marker the theme printed through any filter is left over, and stops
        # the build, instead of being filled with a value escaped for another
        # context (say, HTML-escaped text inside a <script>).
        return f"oiaframe{self.nonce}n{number}{slot}<&\"' X\\>"

    def _folder(self, number: int) -> str:
        return f"oia-frame-{self.nonce}-{number}"

    def _rest(self, kind: FrameKind, number: int) -> str:
        return (self._folder(number) + "/") * kind.depth

    def frame_path(self, kind: FrameKind) -> str:
        """Where MkDocs builds the frame of ``kind`` (a directory URL)."""
        number = self.kinds[kind]
        return kind.prefix + self._rest(kind, number)

    def write_docs(self, docs_dir: Path) -> list[Path]:
        """One Markdown page per needed frame kind, for MkDocs to render."""
        written = []
        for kind, number in self.kinds.items():
            meta = FramedPage(
                "", title=self._marker(number, "title"),
                description=self._marker(number, "description") if kind.has_description else "",
                body=self._marker(number, "body"), image=self._marker(number, "image") if kind.has_image else None,
                hide=kind.hide, scripts=kind.scripts, head=self._marker(number, "head"),
            ).meta()
            target = docs_dir / self.frame_path(kind) / "index.md"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(front_matter(meta), encoding="utf-8")
            written.append(target)
        return written

    # -- after MkDocs

    def parse(self, site_dir: Path, *, remove: bool = True) -> None:
        """Read every frame MkDocs built, split it at its markers, and (``remove``) delete it from the site."""
        for kind, number in self.kinds.items():
            page_file = site_dir / self.frame_path(kind) / "index.html"
            try:
                text = page_file.read_text(encoding="utf-8")
            except OSError as exc:
                raise FrameError(f"MkDocs did not build the page frame {self.frame_path(kind)}: {exc}") from exc
            tokens = {self._marker(number, slot): slot for slot in SLOTS}
            tokens[self._rest(kind, number)] = "path"
            pattern = re.compile("|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True)))
            pieces = pattern.split(text)
            slots = [tokens[m] for m in pattern.findall(text)]
            # Every value the page has must be filled somewhere, and no piece
            # of a marker may be left (say, one the theme upper-cased or cut).
            # (The path shows only in the canonical address, which a site without site_url has not.)
            needed = {"title", "body"} | ({"description"} if kind.has_description else set()) | (
                {"image"} if kind.has_image else set())
            leftover = [p for p in pieces if self.nonce in p.lower() or "oiaframe" in p.lower()
                        or self._folder(number) in p.lower()]
            if leftover or not needed <= set(slots):
                raise FrameError(
                    f"the theme printed a value of the page frame {self.frame_path(kind)} in a form the builder "
                    "cannot fill (check oia-page.html in site_overrides/ or builder/site/theme/, and its blocks)")
            self.parsed[kind] = Frame(pieces, slots)
        if remove:
            for kind, number in self.kinds.items():
                shutil.rmtree(site_dir / kind.prefix / self._folder(number), ignore_errors=True)

    def fill(self, page: FramedPage) -> str:
        kind, rest = self.kind_of(page)
        frame = self.parsed.get(kind)
        if frame is None:
            raise FrameError(f"no page frame was made for {page.url_path!r} ({kind})")
        return frame.fill(page.values(rest))

    def write(self, page: FramedPage, site_dir: Path) -> int:
        """Fill the page's frame and write it as <url_path>index.html below site_dir; returns its size."""
        data = self.fill(page).encode("utf-8")
        target = site_dir / page.url_path / "index.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as fh:
            fh.write(data)
        return len(data)


# ---------------------------------------------------------------- the rule frames rest on

# A frame is rendered once and filled for thousands of pages, so nothing in it
# outside the page's own values (title, description, image, body, path) may
# depend on the page. These plugins and theme features are known to keep that
# rule; anything else an archive's mkdocs.yml enables stops the build.
PAGE_INDEPENDENT_PLUGINS: dict[str, str] = {
    # Indexes the pages MkDocs builds; framed pages are excluded from it (front matter).
    "search": "indexes built pages only; framed pages are excluded from Material's search",
    "material/search": "the same plugin under its full name",
}
PAGE_INDEPENDENT_FEATURES: dict[str, str] = {
    # The nav around a page is the same for every page of one frame kind:
    # framed pages are outside the nav, and its links are relative to the page's depth.
    "navigation.tabs": "the nav, the same for every page of a frame kind",
    "navigation.sections": "the nav, the same for every page of a frame kind",
    "navigation.indexes": "the nav, the same for every page of a frame kind",
    "navigation.top": "a back-to-top button, the same on every page",
    "navigation.footer": "previous/next links, which pages outside the nav do not have",
    "search.suggest": "behaviour of the search box script",
    "search.highlight": "behaviour of the search box script",
    "content.code.copy": "copy buttons added in the browser to code blocks of the body",
    "toc.follow": "behaviour of the table of contents, which framed pages hide",
}
# MkDocs' own default when mkdocs.yml lists no plugins.
DEFAULT_PLUGINS = ("search",)


def _plugin_names(plugins: Any) -> list[str]:
    """Names from mkdocs.yml's ``plugins``: a list of names or one-key mappings, or a mapping."""
    if plugins is None:
        return list(DEFAULT_PLUGINS)
    if isinstance(plugins, dict):
        return [str(name) for name in plugins]
    if isinstance(plugins, list):
        names: list[str] = []
        for item in plugins:
            names.extend(str(name) for name in (item if isinstance(item, dict) else [item]))
        return names
    return [str(plugins)]


def page_dependent_features(config: dict[str, Any]) -> list[str]:
    """What a MkDocs configuration enables beyond the page-independent allow-lists, one line each."""
    found = []
    for name in _plugin_names(config.get("plugins")):
        # The allow-list is about what a plugin is, not its options: a disabled one is refused too.
        if name not in PAGE_INDEPENDENT_PLUGINS:
            found.append(f"the plugin {name!r} (plugins:)")
    hooks = config.get("hooks") or []
    for hook in hooks if isinstance(hooks, list) else [hooks]:
        found.append(f"the hook {str(hook)!r} (hooks:)")
    theme = config.get("theme")
    features = theme.get("features") if isinstance(theme, dict) else None
    for feature in features if isinstance(features, list) else ([features] if features else []):
        if str(feature) not in PAGE_INDEPENDENT_FEATURES:
            found.append(f"the theme feature {str(feature)!r} (theme: features:)")
    return found


def refuse_page_dependent_features(config_file: Path) -> None:
    """Stop the build when the site's mkdocs.yml (with what it INHERITs) breaks the rule frames rest on."""
    import tempfile

    from mkdocs.exceptions import ConfigurationError
    from mkdocs.utils import yaml_load

    from builder.site.templates import readable_mkdocs_config

    try:
        with tempfile.TemporaryDirectory(prefix="mkdocs-config-") as tmp:
            with open(readable_mkdocs_config(config_file, Path(tmp)), "rb") as fh:
                config = yaml_load(fh)
    except (OSError, ConfigurationError) as exc:
        raise FrameError(f"{config_file}: cannot read the MkDocs configuration: {exc}") from exc
    if not isinstance(config, dict):
        raise FrameError(f"{config_file}: the MkDocs configuration is not a mapping of settings")
    found = page_dependent_features(config)
    if found:
        raise FrameError(
            f"{config_file} enables " + "; ".join(found) + ". Study pages, earlier versions, tombstones and "
            "listings are filled into page frames that MkDocs renders once per kind of page "
            "(builder/site/frames.py), so anything a plugin, hook or theme feature makes from the page would be "
            "the same, frozen, on thousands of pages. Fix: remove it from mkdocs.yml; if it is truly the same on "
            "every page, add it to PAGE_INDEPENDENT_PLUGINS or PAGE_INDEPENDENT_FEATURES in "
            "builder/site/frames.py, with a test that shows it.")


__all__ = ["DEFAULT_HIDE", "PAGE_INDEPENDENT_FEATURES", "PAGE_INDEPENDENT_PLUGINS", "PAGE_TEMPLATE", "Frame",
           "FrameError", "FrameKind", "FramedPage", "Frames", "folder_prefixes", "front_matter",
           "page_dependent_features", "page_meta", "refuse_page_dependent_features"]
