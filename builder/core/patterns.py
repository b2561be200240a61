"""Regular expressions that leave Python: valid in Python and in ECMA-262 unicode mode.

Editors check records against schema/study.schema.json with JavaScript schema
engines, so every pattern the schema carries is written in the common subset:
``[0-9]``, never ``\\d`` (Python's ``\\d`` also matches fullwidth and Arabic-Indic
digits, which made look-alike accessions pass), and no identity escapes such as
``\\-`` outside character classes (a syntax error in unicode mode).
"""

from __future__ import annotations

_ECMA_SYNTAX = frozenset("^$\\.*+?()[]{}|/")


def escape(text: str) -> str:
    """``text`` as a literal in both dialects (only the characters both call syntax are escaped)."""
    return "".join("\\" + ch if ch in _ECMA_SYNTAX else ch for ch in text)


def accession_regex(prefix: str, digits: int) -> str:
    """The accession syntax (no anchors): the prefix, then ``digits`` ASCII digits."""
    return f"{escape(prefix)}[0-9]{{{digits}}}"
