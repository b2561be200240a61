"""Text helpers every stage shares: plain text of untrusted values, Markdown to text, names, JSON in HTML.

Pure functions, no I/O. The catalog (summaries), citations (every format) and
the site (pages, search index, exports) all read record text through these,
so a value is cleaned, shortened or split the same way wherever it appears.
"""

from __future__ import annotations

import functools
import html
import json
import re
import threading
from html.parser import HTMLParser
from typing import Any

import markdown

from builder.core.markdown_budget import markdown_budget_problem

# C0/C1 control characters other than tab, line feed and carriage return, plus
# the code points XML 1.0 forbids. They have no business in published text.
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_SPACES_RE = re.compile(r"\s+")
_NAME_PARTICLES = {"van", "von", "der", "den", "de", "del", "della", "di", "da", "du", "le", "la", "dos", "das", "ter"}


def clean(text: str | None) -> str:
    """Text with control characters removed (line breaks kept)."""
    if not text:
        return ""
    # Printable text (nearly all of it) has none of those characters: skip the regex.
    return text if text.isprintable() else _CONTROL_RE.sub("", text)


def one_line(text: str | None) -> str:
    """Text on one line: control characters removed, whitespace collapsed."""
    text = clean(text)
    # The only white space printable text can hold is the ASCII space.
    if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        return text
    return _SPACES_RE.sub(" ", text).strip()


def truncate_text(text: str, limit: int) -> str:
    """Cut at a word boundary and mark the cut with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.") + "…"


# ---------------------------------------------------------------- names

@functools.lru_cache(maxsize=4096)  # every citation format splits the same names again
def split_name(name: str) -> tuple[str, str]:
    """(given, family) of a full name as written in a record.

    "Family, Given" is taken as written. Otherwise the last word is the family
    name, together with any lower-case particles before it ("van der Waals").
    A single word is a family name alone.
    """
    name = one_line(name)
    if "," in name:
        family, _, given = name.partition(",")
        return given.strip(), family.strip()
    words = name.split(" ")
    if len(words) == 1:
        return "", name
    start = len(words) - 1
    while start > 1 and words[start - 1] in _NAME_PARTICLES:
        start -= 1
    return " ".join(words[:start]), " ".join(words[start:])


def initials(given: str) -> str:
    """'Ada Augusta' -> 'A. A.', 'Jean-Paul' -> 'J.-P.'."""
    parts = []
    for word in given.split():
        # The first letter of each hyphen-joined piece; pieces without a
        # letter (quotes, braces, digits) contribute nothing.
        letters = [next((ch for ch in piece if ch.isalpha()), "") for piece in word.split("-")]
        letters = [ch for ch in letters if ch]
        if letters:
            parts.append("-".join(ch + "." for ch in letters))
    return " ".join(parts)


# ---------------------------------------------------------------- Markdown to plain text

_SKIPPED_TAGS = frozenset({"script", "style"})


class _TextExtractor(HTMLParser):
    """Collects the text of an HTML fragment, skipping script and style bodies."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


_MARKDOWN = threading.local()

# Text that Markdown renders as plain paragraphs, word for word: letters, digits and
# punctuation with no meaning to Markdown (none for emphasis, code, links, HTML,
# entities or escapes), spaces and line feeds...
_NOT_PLAIN_MARKDOWN = re.compile(r"[^\w \n.,;:'\"?!()/%$@-]|_")
# ...and no line that Markdown could read as a block: list item, rule, setext heading,
# numbered list or indented code. Such lines (and everything else) go to Markdown.
_BLOCK_START = re.compile(r"^ *[-\d]|^    ", re.MULTILINE)


def is_plain_markdown(source: str) -> bool:
    """True when Markdown would render ``source`` as plain paragraphs of its own words."""
    return _NOT_PLAIN_MARKDOWN.search(source) is None and _BLOCK_START.search(source) is None


def markdown_to_text(source: str) -> str:
    """Plain text of a Markdown description, whitespace collapsed.

    Rendering first (rather than stripping `*` and `#` by hand) gives the words
    a reader sees, link texts included and URLs left out.
    """
    # Most descriptions are prose without any Markdown; rendering them cost 0.4 ms each,
    # and the text is just the source with its white space collapsed.
    if is_plain_markdown(source) or markdown_budget_problem(source) is not None:
        # Over the budget (validate refuses it; previews build with --allow-invalid),
        # the source itself is the text: Markdown would recurse or take quadratic time.
        return _SPACES_RE.sub(" ", source).strip()
    return _rendered_text(source)


@functools.lru_cache(maxsize=32768)  # above the 10,000 studies of the largest archives
def _rendered_text(source: str) -> str:
    # Cached: the catalog renders each description for its summary, and the page's
    # JSON-LD needs the same text again (in the forked page workers too).
    converter = getattr(_MARKDOWN, "converter", None)
    if converter is None:
        # One converter per thread: building one compiles its whole grammar,
        # which cost more than the conversion itself at 10,000 studies.
        converter = _MARKDOWN.converter = markdown.Markdown(output_format="html")
    rendered = converter.reset().convert(source)
    parser = _TextExtractor()
    parser.feed(rendered)
    parser.close()
    return _SPACES_RE.sub(" ", html.unescape("".join(parser.parts))).strip()


# ---------------------------------------------------------------- JSON inside HTML

_SCRIPT_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


def json_for_script(value: Any) -> str:
    """Compact JSON, keys sorted, that can sit inside an HTML ``<script>`` element.

    Escaping ``<``, ``>`` and ``&`` as JSON unicode escapes means no ``</script>``
    or ``<!--`` can appear, while the parsed JSON is unchanged. Sorted keys make
    the published bytes independent of the order a dict was filled in.
    """
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    # Five str.replace passes over a page's JSON-LD beat one regex with a callback (measured: 20% faster).
    for unsafe, escaped in _SCRIPT_ESCAPES:
        text = text.replace(unsafe, escaped)
    return text
