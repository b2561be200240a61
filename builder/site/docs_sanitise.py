"""Hand-written pages (docs/) sanitised like record text, after MkDocs has rendered them.

docs/ changes by pull request like any record, and raw HTML in Markdown is the
attack: a ``<script>``, an ``onclick=``, a ``javascript:`` link or an
``<iframe>`` in a guide would be published live. Sanitising the Markdown
source is not sound (nh3 would escape the ``<`` and ``&`` of code blocks and
break Markdown's own syntax), so this runs on MkDocs' output: the content of
each hand-written page (the theme's ``<article class="md-content__inner ...">``)
goes through nh3 with the allow-list of study pages plus what Markdown and the
theme's extensions write for prose (div/span with classes, headings' ids, code
blocks, images, details). The theme's own scripts around the content are
untouched. Only pages copied from docs/ unchanged are handled (a generated page
of the same path replaced the hand-written one and is the builder's own).

A page the allow-list leaves as it is keeps its bytes exactly (nh3 re-serialises
HTML, so the cleaned text is compared with the page cleaned by a cleaner that
allows everything the page contains); only a page that loses something is
rewritten. No page needs an escape hatch today, so there is none.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import nh3

from builder.core.errors import StageError
from builder.site.pages import _ALLOWED_ATTRIBUTES as RECORD_ATTRIBUTES
from builder.site.pages import _ALLOWED_TAGS as RECORD_TAGS

CONTENT_START = '<article class="md-content__inner md-typeset">'
CONTENT_END = "</article>"
DANGEROUS_CONTENT = {"script", "style", "iframe", "object", "embed", "noscript", "template", "svg", "math"}
# Published verbatim by MkDocs (static files), so they would run in the site's origin.
ACTIVE_SUFFIXES = {".html", ".htm", ".xhtml", ".js", ".mjs", ".svg"}
LINK_SCHEMES = {"http", "https", "mailto"}  # as in record text
DOCS_TAGS = RECORD_TAGS | {
    "div", "span", "img", "details", "summary", "figure", "figcaption", "kbd", "mark", "caption", "colgroup",
    "col", "section", "input", "label", "s", "u", "small",
}
DOCS_ATTRIBUTES = {
    **{tag: set(attrs) for tag, attrs in RECORD_ATTRIBUTES.items()},
    "img": {"src", "alt", "width", "height", "loading"},
    "ol": {"start"},
    "input": {"type", "checked", "disabled"},
    "details": {"open"},
    "*": {"id", "class", "title"},
}
_SCHEME = re.compile(r"^\s*([a-zA-Z][a-zA-Z0-9+.\-]*):")


class UnsafeDocsFile(StageError):
    """docs/ holds a file MkDocs would publish as is and that a browser would run."""


_DOCS_CLEANER = nh3.Cleaner(
    tags=DOCS_TAGS,
    clean_content_tags=DANGEROUS_CONTENT,
    attributes=DOCS_ATTRIBUTES,
    url_schemes=LINK_SCHEMES,
    link_rel=None,  # the project's own pages: its links are its own
    strip_comments=True,
)


class _Inventory(HTMLParser):
    """Every tag, attribute and URL scheme in a piece of HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.attributes: dict[str, set[str]] = {}
        self.schemes: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = self.attributes.setdefault(tag, set())
        for name, value in attrs:
            names.add(name)
            match = _SCHEME.match(value or "")
            if match:
                self.schemes.add(match.group(1).lower())


def clean_docs_html(fragment: str) -> str:
    """The fragment with everything outside the docs allow-list removed; unchanged (same bytes) when nothing is."""
    cleaned = _DOCS_CLEANER.clean(fragment)
    inventory = _Inventory()
    inventory.feed(fragment)
    inventory.close()
    tags = set(inventory.attributes) - DANGEROUS_CONTENT
    if tags != set(inventory.attributes):
        return cleaned  # a script, iframe ... : certainly rewritten
    everything = nh3.Cleaner(
        tags=tags, attributes=inventory.attributes, url_schemes=inventory.schemes | LINK_SCHEMES,
        link_rel=None, strip_comments=True, clean_content_tags=set(),
    )
    return fragment if everything.clean(fragment) == cleaned else cleaned


def hand_written_pages(source: Path, docs_dir: Path) -> list[Path]:
    """Markdown pages of ``source`` (docs/) that reached the staging docs folder unchanged, relative paths."""
    if not source.is_dir():
        return []
    active = sorted(p.relative_to(source).as_posix() for p in source.rglob("*")
                    if p.is_file() and p.suffix.lower() in ACTIVE_SUFFIXES)
    if active:
        raise UnsafeDocsFile(
            f"docs/ holds files a browser would run, which MkDocs publishes unchanged: {', '.join(active)}. "
            "Write hand-written pages as Markdown (.md); scripts and styles of the site belong in the theme "
            "overrides (site_overrides/), which curators review as code."
        )
    pages = []
    for page in sorted(source.rglob("*.md")):
        rel = page.relative_to(source)
        staged = docs_dir / rel
        if staged.is_file() and staged.read_bytes() == page.read_bytes():
            pages.append(rel)
    return pages


def built_page(site_dir: Path, page: Path) -> Path | None:
    """The HTML MkDocs wrote for a Markdown page (directory URLs or not)."""
    stem = page.with_suffix("")
    candidates = [site_dir / stem.parent / "index.html"] if stem.name in ("index", "README") else [
        site_dir / stem / "index.html", site_dir / stem.with_suffix(".html")]
    return next((c for c in candidates if c.is_file()), None)


def sanitise_hand_written_pages(source: Path, docs_dir: Path, site_dir: Path) -> list[Path]:
    """Sanitise the built HTML of every hand-written page; returns the pages that were rewritten."""
    rewritten = []
    for page in hand_written_pages(source, docs_dir):
        html_file = built_page(site_dir, page)
        if html_file is None:
            continue  # not built (excluded by the configuration): nothing published
        text = html_file.read_text(encoding="utf-8")
        start = text.find(CONTENT_START)
        end = text.rfind(CONTENT_END)  # the last one: a page's own "</article>" cannot end the region early
        if start < 0 or end < start:
            raise StageError(
                f"docs/{page.as_posix()}: the theme's page has no {CONTENT_START} ... {CONTENT_END} around the "
                "content, so the page cannot be sanitised; keep that element in the theme overrides' main.html."
            )
        start += len(CONTENT_START)
        content = text[start:end]
        clean = clean_docs_html(content)
        if clean != content:
            html_file.write_text(text[:start] + clean + text[end:], encoding="utf-8")
            rewritten.append(page)
    return rewritten
