"""The YAML reader refuses hostile input with located, explained diagnostics."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import yaml as _yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builder.core.checks import Diagnostic, Severity
from builder.records.yaml_source import _fast_read, format_path, load_yaml


def only(doc, check: str) -> Diagnostic:
    found = [d for d in doc.diagnostics if d.check == check]
    assert len(found) == 1, doc.diagnostics
    return found[0]


def test_plain_record_is_read_with_positions():
    doc = load_yaml(b"title: Cells\nauthors:\n  - name: Ada\n    email: a@b.org\n", file="s.yaml")
    assert doc.ok and doc.diagnostics == []
    assert doc.data == {"title": "Cells", "authors": [{"name": "Ada", "email": "a@b.org"}]}
    assert doc.positions[("title",)] == (1, 1)
    assert doc.positions[("authors", 0)] == (3, 5)
    assert doc.positions[("authors", 0, "email")] == (4, 5)
    assert doc.position(("authors", 0, "email", "nothing")) == (4, 5)


def test_yaml_11_scalars_are_typed_and_their_source_kept():
    doc = load_yaml(b"country: NO\ngrant: 012345\nday: 2024-01-15\nq: 'NO'\n")
    assert doc.data == {"country": False, "grant": 5349, "day": dt.date(2024, 1, 15), "q": "NO"}
    assert doc.plain_scalars[("country",)] == ("NO", "tag:yaml.org,2002:bool")
    assert doc.plain_scalars[("grant",)][0] == "012345"
    assert ("q",) not in doc.plain_scalars


def test_impossible_date_stays_text_for_the_model_to_explain():
    assert load_yaml(b"d: 2024-02-30\n").data == {"d": "2024-02-30"}


def test_duplicate_key_names_both_lines():
    doc = load_yaml(b"title: a\nlicence: x\ntitle: b\n", file="s.yaml")
    d = only(doc, "REC006")
    assert d.severity is Severity.ERROR
    assert "first at line 1, again at line 3" in d.message
    assert (d.file, d.line, d.column, d.field) == ("s.yaml", 3, 1, "title")
    assert doc.data is None


def test_several_documents_are_refused():
    d = only(load_yaml(b"a: 1\n---\nb: 2\n"), "REC005")
    assert d.line == 2 and "more than one YAML document" in d.message


def test_non_utf8_byte_is_located():
    d = only(load_yaml(b"title: ok\nname: Jos\xe9\n", file="s.yaml"), "REC003")
    assert (d.line, d.column) == (2, 10)
    assert "0xE9" in d.message and "Latin-1" in d.message
    assert "UTF-8" in d.hint


def test_byte_order_mark_is_fine():
    doc = load_yaml("\ufefftitle: Cells\n".encode())
    assert doc.ok and doc.data == {"title": "Cells"}


def test_oversized_file_is_refused_before_parsing():
    d = only(load_yaml(b"a: " + b"x" * 2000, max_bytes=1000), "REC002")
    assert "2,003 bytes" in d.message and "1,000" in d.message


def test_alias_is_refused_without_expanding_a_billion_laughs():
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i-1}"] * 9) + "]")
    started = time.perf_counter()
    doc = load_yaml("\n".join(lines).encode())
    assert time.perf_counter() - started < 0.5
    d = only(doc, "REC007")
    assert (d.line, d.column) == (1, 5) and "&a0" in d.message


def test_alias_alone_is_refused():
    d = only(load_yaml(b"a: x\nb: *x\n"), "REC007")
    assert d.line == 2 and "*x" in d.message


def test_python_tags_are_refused():
    d = only(load_yaml(b"a: !!python/object/apply:os.system [echo hi]\n"), "REC008")
    assert d.line == 1 and "python/object/apply" in d.message


def test_custom_tag_on_scalar_is_refused():
    d = only(load_yaml(b"a: !secret x\n"), "REC008")
    assert "quotes" in d.hint


def test_deep_nesting_is_refused_without_crashing():
    doc = load_yaml(b"[" * 200_000, max_bytes=1_000_000, max_depth=40)
    d = only(doc, "REC009")
    assert "40 levels" in d.message and d.line == 1


def test_too_many_nodes_are_refused():
    text = "items:\n" + "".join(f"  - {i}\n" for i in range(300))
    d = only(load_yaml(text.encode(), max_nodes=100), "REC009")
    assert "100" in d.message


def test_syntax_error_gives_line_and_a_hint_about_colons():
    d = only(load_yaml(b"title: ok\ndescription: Mitosis: an atlas\n"), "REC004")
    assert d.line == 2 and "quotes" in d.hint


def test_syntax_error_hint_about_tabs():
    d = only(load_yaml(b"a:\n\tb: 1\n"), "REC004")
    assert d.line == 2 and "tabs" in d.hint


def test_unclosed_quote_is_explained():
    d = only(load_yaml(b"title: 'never closed\nb: 1\n"), "REC004")
    assert "never closed" in d.hint or "closed" in d.hint


def test_control_character_is_located():
    d = only(load_yaml(b"title: ab\x07c\n"), "REC004")
    assert d.line == 1 and "#x0007" in d.message


def test_empty_file_and_non_mapping_are_refused():
    assert "empty" in only(load_yaml(b""), "REC010").message
    assert "a list" in only(load_yaml(b"- a\n- b\n"), "REC010").message
    assert "single value" in only(load_yaml(b"just text\n"), "REC010").message


def test_complex_key_is_refused():
    d = only(load_yaml(b"? [a, b]\n: 1\n"), "REC011")
    assert d.line == 1


def test_format_path():
    assert format_path(("datasets", 0, "images", 2, "url")) == "datasets[0].images[2].url"
    assert format_path(()) == ""


# ---------------------------------------------------------------- never an exception

def _assert_only_diagnostics(doc) -> None:
    assert all(isinstance(d, Diagnostic) for d in doc.diagnostics)
    if doc.data is None:
        assert doc.diagnostics
    else:
        assert isinstance(doc.data, dict)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_arbitrary_bytes_give_diagnostics_not_exceptions(data):
    _assert_only_diagnostics(load_yaml(data, max_bytes=500))


YAMLISH = st.text(
    alphabet=st.sampled_from(list("ab1:-[]{}#&*!|>'\"\n\t ,?%@`~.\\\x00\x85\u2028é0")), max_size=200
)


@settings(max_examples=400, deadline=None)
@given(YAMLISH)
def test_yamlish_text_gives_diagnostics_not_exceptions(text):
    _assert_only_diagnostics(load_yaml(text.encode("utf-8", "surrogatepass")))


def test_lone_surrogate_in_text_is_refused():
    d = only(load_yaml("a: 1\nb: \ud800\n"), "REC003")
    assert d.line == 2


def test_overindented_field_gets_an_indentation_hint_not_a_quoting_one():
    d = only(load_yaml(b"authors:\n- name: Ada Lovelace\n    country: UK\n  email: a@b.org\n"), "REC004")
    assert d.line == 3 and "indented further" in d.hint
    colon = only(load_yaml(b"title: ok\ndescription: Mitosis: an atlas\n"), "REC004")
    assert "quotes" in colon.hint


def test_words_of_six_letters_or_more_are_always_text():
    """The loader skips YAML's type guessing for long words; this holds only while
    every letter-initial YAML 1.1 value (true, False, null, off...) is short."""
    import re

    from yaml.resolver import Resolver

    for first, resolvers in Resolver.yaml_implicit_resolvers.items():
        if first and first.isalpha():
            for _, regexp in resolvers:
                words = re.findall(r"[A-Za-z]+", regexp.pattern)
                assert all(len(w) < 6 for w in words), (first, regexp.pattern)
    doc = load_yaml(b"a: FALSE\nb: Falsehood\nc: Nikon Ti2\nd: null\n")
    assert doc.data == {"a": False, "b": "Falsehood", "c": "Nikon Ti2", "d": None}


# ---------------------------------------------------------------- the fast path agrees with the event path


def _both_ways(text: str | bytes, **kw):
    """The fast reader and the event path give the same document, to the position."""
    fast = load_yaml(text, **kw)
    slow = load_yaml(text, fast=False, **kw)
    assert repr(fast.data) == repr(slow.data)
    assert list(fast.positions.items()) == list(slow.positions.items())
    assert fast.plain_scalars == slow.plain_scalars
    assert fast.diagnostics == slow.diagnostics
    return fast


FAST_CASES = [
    "title: Cells\nauthors:\n  - name: Ada\n    email: a@b.org\n",
    "# comment\n\nx:\n  - 1\n  -  'q'\n  - k: v\n    j: w\n",
    "a:\n- b\n- c\nd: 1\n",
    "a:\n  b:\n    c: NO\n  d: 012345\ne: 2024-01-15\nf: 2024-02-30\ng: ~\nh: 1.5e3\ni: .inf\nj: =\n",
    "a:\nb:\n  -\n",
    "a:\n\n  # note\n  b: 1\nc:\n",
    "a: long text\n  folded over\n   three lines\nb: x\n",
    "- a\n- b\n",
    "a: b\n  - c\n",
    "a: 'it''s\n  folded''\n\n  with a blank line '\nb: 1\n",
    "a: 'never closed\n",
    "a: 'closed' trailing\n",
    "a: \"double\"\nb: \"esc\\tape\"\n",
    "a: []\nb: {}\nc:\n  - []\n  - {}\nd: [1]\n",
    "a: value # comment\n",
    "a: value\n    # deeper comment\nb: 1\n",
    "a: value\n\n  after a blank line\n",
    "a: 1\na: 2\n",
    "a: &x 1\nb: *x\n",
    "a: !tag x\n",
    "a: 1\n---\nb: 2\n",
    "---\na: 1\n",
    "a: 1\n...\n",
    "a:\n  - - x\n",
    "a:\n  - \n  - x\n",
    "a: |\n  literal\n",
    "a: x\r\nb: y\r\n",
    "a:\tx\n",
    "  a: 1\n  b:\n  - x\n  c: 2\n",
    "a:\n  b: 1\n c: 2\n",
    "a:\n   b: 1\n  c: 2\n",
    "a: -5\nb: -x\nc: x-\n",
    "a: key: value\n",
    "a: x:\n",
    "a: x:y\nb: http://example.org/a#b\n",
    "k" * 1100 + ": 1\n",
    "a:\n  b:\n    - c:\n        - d\n      e: f\n    - g\n",
    "roles:\n- writing\n- name: x\n  roles:\n  - y\n  z: 1\n",
    "a: 'x'\n  b\n",
    "a:\n  'quoted on its own line'\nb:\n  plain on\n  two lines\nc:\n  []\n",
    "a: Jos\u00e9 \U0001F600\n",
    "a: \u2028\n",
    "a: caf\u00e9\nb: '\u00fc''x'\n",
    "",
    "# only a comment\n",
    "just text\n",
    "a: 1\nb",
    "a:\n- x\n  y\n- z\n",
    # one-line lists
    "roles: [conceptualization, investigation, data curation]\n",
    "a:\n  - [x, 1, NO,  y ]\n  - [a]\nb: [ 2024-01-01 ,yes]\nc:\n  [1, 2]\n",
    "a: [a,]\n", "a: [a, [b]]\n", "a: [a: b]\n", "a: [a, 'b']\n", "a: [a, b]x\n", "a: [a\n  , b]\n", "a: [ ]\n",
    "a: [x, 'y']\n", "a: [x #y]\n", "a: {b: 1}\n",
    # literal and folded blocks
    "a: |\n  x\n\n   y\n  z  \n\nb: 1\n", "a: |-\n  x\n  y\n\n\nb: 1\n", "a: |\n  x", "a: |\n  x\n",
    "a:\n- |\n  x\n- y\n", "a: |\n\n  x\n", "a: |\n  x\n     \nb: 1\n", "a: |\n    x\n  y\nb: 1\n", "a: |\nb: 1\n",
    "a: |\n  # not a comment\n  ---\nb: 1\n", "- a: |\n    x\n  b: 2\n", "a:\n  - b: |\n      x\n    c: 2\n",
    "a: |\n  x\n y\n", "a: | \n  x\n", "a: |+\n  x\n\n", "a: |2\n   x\n", "a: >\n  x\n  y\n\n  z\n\n\n  w\nb: 1\n",
    "a: >-\n  x\n\n\nb: 1\n", "a: >\n  x\n    y\n  z\n", "a: >\n  x\n", "x:\n- >-\n  a\n  b\n- c\n",
    "a: >\n  x  \n  y\n",
    "a: |\n  x\n# comment\n  y\n", "a: >\n  x\n\t\n",
]


def test_fast_path_agrees_with_the_event_path_on_tricky_text():
    for text in FAST_CASES:
        _both_ways(text)
        _both_ways(text, max_depth=2, max_nodes=5)


def test_fast_path_reads_a_hand_written_record():
    text = (
        "# yaml-language-server: $schema=../../schema/study.schema.json\n"
        "title: \"Knockdowns in HeLa cells: a phenotyping plate\"\n"
        "description: |\n  HeLa cells were imaged.\n\n  | column | siRNA |\n  |---|---|\n"
        "authors:\n  - name: Tomás Okafor\n    roles: [formal analysis, software]\n"
        "    affiliations:\n      - name: EMBL\n        ror: https://ror.org/03mstc592\n"
        "human_data:\n  ethics_statement: >-\n    HeLa is an established\n    cell line.\n"
        "release_date: 2025-03-14\n"
    )
    assert _fast_read(text, 40, 20_000) is not None
    doc = _both_ways(text)
    assert doc.data["description"] == "HeLa cells were imaged.\n\n| column | siRNA |\n|---|---|\n"
    assert doc.data["human_data"]["ethics_statement"] == "HeLa is an established cell line."
    assert doc.positions[("authors", 0, "roles", 1)] == (10, 30)


def test_fast_path_reads_a_dumped_record():
    """The common case must stay on the fast path (or validation slows down 2x)."""
    record = {"schema_version": 2, "title": "Mitosis: an atlas", "description": "word " * 60,
              "authors": [{"name": "Ada", "contact": True, "roles": ["writing"]}], "keywords": [],
              "release_date": "2024-01-01", "year": 2020, "empty": None}
    for kw in ({}, {"allow_unicode": True, "width": 100}, {"indent": 4}):
        text = "# header\n" + _yaml.safe_dump(record, sort_keys=False, **kw)
        assert _fast_read(text, 40, 20_000) is not None, text
        _both_ways(text)


_scalars = st.one_of(
    st.lists(st.sampled_from(list("ab Z09:-#'\"., é\u00a0/\n") + ["NO", "yes", "1e3", "0x1F", "null", "  "]),
             max_size=20).map("".join),
    st.integers(-10**20, 10**20), st.booleans(), st.none(), st.floats(allow_nan=False), st.dates(),
)
_keys = st.text(alphabet=st.sampled_from(list("abcxyz_-19")), min_size=1, max_size=8)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_keys, _values, min_size=1, max_size=6), st.integers(20, 120), st.integers(2, 5),
       st.booleans(), st.sampled_from([None, False]))
def test_fast_path_agrees_on_dumped_documents(data, width, indent, unicode, flow):
    text = _yaml.safe_dump(data, sort_keys=False, width=width, indent=indent, allow_unicode=unicode,
                           default_flow_style=flow)
    _both_ways(text)
    _both_ways(text, max_depth=3, max_nodes=30)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_keys, _values, min_size=1, max_size=5), st.data())
def test_fast_path_agrees_on_edited_documents(data, draw):
    _edited_documents_agree(data, draw)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.deferred(lambda: st.dictionaries(_field_names, _record_values, min_size=1, max_size=6)), st.data())
def test_fast_path_agrees_on_edited_record_like_documents(data, draw):
    _edited_documents_agree(data, draw)


def _edited_documents_agree(data, draw):
    """Dumped records with random edits: stray indicators, indentation, quotes, breaks."""
    text = _yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=40)
    for _ in range(draw.draw(st.integers(1, 4))):
        at = draw.draw(st.integers(0, len(text)))
        edit = draw.draw(st.sampled_from([" ", "  ", "\n", "\n  ", "- ", ": ", " #", "'", "''", '"', "#", "&a ",
                                          "*a", "!x ", "|", ">", "[", "]", "{", "}", "---\n", "\t", "x", "-", ":"]))
        if draw.draw(st.booleans()):
            text = text[:at] + edit + text[at:]
        else:
            text = text[:at] + text[at + len(edit):]
    _both_ways(text)


@settings(max_examples=400, deadline=None)
@given(YAMLISH)
def test_fast_path_agrees_on_yamlish_text(text):
    _both_ways(text.encode("utf-8", "surrogatepass"))


def test_hostile_nesting_never_crashes_either_path():
    for text in (b"[" * 100_000, b"a: " + b"[" * 100_000, b"- " * 100_000 + b"x\n"):
        d = only(_both_ways(text, max_bytes=1_000_000, max_depth=40), "REC009")
        assert "40 levels" in d.message
    # `{{` is a mapping used as a key: refused as that, before any depth is reached.
    assert only(_both_ways(b"{" * 100_000, max_bytes=1_000_000, max_depth=40), "REC011").line == 1
    deep = "".join(" " * i + f"k{i}:\n" for i in range(700)).encode()
    d = only(load_yaml(deep, max_bytes=1_000_000, max_depth=40), "REC009")
    assert "40 levels" in d.message and d.line == 41
    deep_items = "".join(" " * (2 * i) + "- \n" for i in range(700)).encode()
    assert load_yaml(deep_items, max_bytes=1_000_000, max_depth=40).data is None
    # Nesting allowed by the caller's limit is read the same both ways.
    _both_ways(deep[: deep.index(b"k60:")], max_bytes=1_000_000, max_depth=100, max_nodes=10**6)


_words = st.lists(st.sampled_from(["cell", "Mitosis:", "a", "NO", "on", "12", "0.5", "2024-01-15", "x-y", "it's", "#1",
                                   "é", "s3://b/k", "~", "null", "-", "'q'", '"d"', "yes", "1e3"]),
                  min_size=1, max_size=25).map(" ".join)
_field_names = st.from_regex(r"[a-z_][a-z0-9_]{0,7}", fullmatch=True)
_record_values = st.recursive(
    st.one_of(_words, st.integers(0, 10**6), st.booleans(), st.none(), st.dates()),
    lambda inner: st.lists(inner.filter(lambda v: not isinstance(v, list)), min_size=1, max_size=4)
    | st.dictionaries(_field_names, inner, min_size=1, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_field_names, _record_values, min_size=1, max_size=8), st.integers(30, 120), st.integers(2, 4),
       st.booleans())
def test_fast_path_agrees_on_record_like_documents(data, width, indent, unicode):
    """Block-style documents like the records people and `yaml.safe_dump` write: mostly the fast path."""
    text = _yaml.safe_dump(data, sort_keys=False, width=width, indent=indent, allow_unicode=unicode,
                           default_flow_style=False)
    _both_ways(text)
    _both_ways(text, max_depth=3, max_nodes=30)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["|", "|-", ">", ">-", "[a, b]", "[x,  NO , 1]", "[]"]),
       st.lists(st.tuples(st.integers(0, 5),
                          st.sampled_from(["", "x", "a b", "#c", "- d", "e: f", " ", "'q'", "y  ", "[z]"])),
                max_size=8),
       st.sampled_from(["", "- ", "k:\n  "]), st.sampled_from(["", "b: 1\n", "  c: 2\n", "- x\n", "b: 1"]))
def test_fast_path_agrees_on_blocks_and_one_line_lists(header, body, lead, tail):
    """Hand-written text: literal and folded blocks, one-line lists, odd indentation around them."""
    text = lead + "a: " + header + "\n" + "".join(" " * indent + line + "\n" for indent, line in body) + tail
    _both_ways(text)
    _both_ways(text, max_depth=2, max_nodes=6)


@pytest.mark.parametrize(("number", "shown"), [
    ("0x" + "f" * 20_000, "(20,002 characters)"),  # hexadecimal: Python reads it, but cannot print it
    ("9" * 5_000, "(5,000 characters)"),  # beyond Python's 4,300-digit conversion limit
    ("18446744073709551616", "18446744073709551616"),  # 2**64: one bit too many
])
@pytest.mark.parametrize("fast", [True, False])
def test_huge_integers_are_refused_where_they_stand(number, shown, fast):
    text = f"title: Nuclei\npublications:\n  - year: {number}\n"
    doc = load_yaml(text, file="study.yaml", fast=fast)
    [d] = doc.diagnostics
    assert doc.data is None
    assert (d.check, d.line, d.column, d.field) == ("REC012", 3, 11, "publications[0].year")
    assert shown in d.message and "64 bits" in d.message


def test_tagged_and_listed_huge_integers_are_refused_and_normal_ones_read():
    [d] = load_yaml("sizes: [1, !!int 0x" + "f" * 40 + "]\n").diagnostics
    assert d.check == "REC012" and d.field == "sizes[1]"
    doc = load_yaml("year: 2024\nversion: 0xff\nbig: 9223372036854775807\n")
    assert doc.data == {"year": 2024, "version": 255, "big": 2**63 - 1} and not doc.diagnostics
