"""How much Markdown one record field may ask of the renderer: shared by validate and the site.

Python-Markdown recurses once per nested block (500 nested list markers end in a
RecursionError) and its HTML handling grows quadratically with unclosed tags
(8,000 `<a ` took 72 s, 200 take 0.09 s). `bioarchive validate` refuses a field
over the budget (MOD029), so a build never meets one; the renderer asks the same
function before converting, so the two can never disagree. Pure, no I/O.
"""

from __future__ import annotations

import re

MAX_MARKDOWN_CHARS = 20_000  # a description's length limit (LongText) and the renderer's
MAX_MARKDOWN_DEPTH = 16  # nested lists and block quotes, counted at the start of a line
MAX_MARKDOWN_TAGS = 200  # raw HTML tags ('<' then a letter, '/', '!' or '?') in one field

_CONTAINER = re.compile(r"[ \t]*(?:>|(?:[-*+]|[0-9]{1,9}[.)])(?=[ \t]|$))[ \t]*")
_TAG = re.compile(r"<[A-Za-z/!?]")


def nesting_depth(line: str) -> int:
    """Block containers a line opens: list markers and '>' at its start, plus one per 4 columns of indent."""
    indent = len(line) - len(line.lstrip(" \t"))
    depth = len(line[:indent].expandtabs(4)) // 4
    pos = 0
    while True:
        m = _CONTAINER.match(line, pos)
        if m is None or m.end() == pos:
            return depth
        depth += 1
        pos = m.end()


def markdown_budget_problem(text: str | None) -> str | None:
    """Why ``text`` is over the Markdown budget, or None when the renderer can take it."""
    if not text:
        return None
    if len(text) > MAX_MARKDOWN_CHARS:
        return f"the text is {len(text):,} characters long; at most {MAX_MARKDOWN_CHARS:,} are published"
    tags = len(_TAG.findall(text))
    if tags > MAX_MARKDOWN_TAGS:
        return (f"the text holds {tags:,} HTML tags; at most {MAX_MARKDOWN_TAGS} are rendered per field "
                "(write links as [text](https://...))")
    for number, line in enumerate(text.splitlines(), 1):
        if len(line) > MAX_MARKDOWN_DEPTH and (line[:1] in " \t-*+>" or line[:1].isdigit()):
            depth = nesting_depth(line)
            if depth > MAX_MARKDOWN_DEPTH:
                return (f"line {number} of the text nests lists or quotes {depth} levels deep; "
                        f"at most {MAX_MARKDOWN_DEPTH} are rendered")
    return None
