"""Shared text helpers (builder.core.text)."""

from __future__ import annotations

import json

from builder.core.text import clean, is_plain_markdown, json_for_script, markdown_to_text, one_line, truncate_text


def test_clean_and_one_line():
    assert clean("a\x00b\x1bc\nd") == "abc\nd"
    assert clean(None) == ""
    assert one_line("  two\n\tlines \x07 ") == "two lines"


def test_truncate_cuts_at_a_word():
    assert truncate_text("short", 10) == "short"
    assert truncate_text("one two three four five", 12) == "one two…"


def test_markdown_to_text_plain_and_rendered():
    assert is_plain_markdown("Plain words, nothing else.")
    assert not is_plain_markdown("**bold**")
    assert markdown_to_text("Plain  words,\nnothing else.") == "Plain words, nothing else."
    assert (
        markdown_to_text("We imaged **nuclei** with [confocal](https://example.org).")
        == "We imaged nuclei with confocal."
    )


def test_json_for_script_cannot_end_the_script_and_sorts_keys():
    value = {"z": "</script><!-- & \u2028", "a": 1}
    text = json_for_script(value)
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == value
    assert text.index('"a"') < text.index('"z"')  # the same bytes whatever order the dict was filled in


def test_text_of_markdown_over_the_budget_is_its_source_collapsed():
    from builder.core.text import markdown_to_text

    nested = "- " * 500 + "deep"
    assert markdown_to_text(nested) == nested.strip()
