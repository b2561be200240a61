"""A safe, fast YAML reader for records written by strangers.

PyYAML's C parser (libyaml) turns the text into events; this module builds
plain Python values from them itself, one event at a time, so that it can:

- refuse what a study record never needs and an attacker loves: anchors and
  aliases (the "billion laughs"), tags that construct objects, several
  documents, absurd nesting or node counts, oversized files;
- report duplicate keys (YAML silently keeps the last one);
- remember where every value came from (line and column), so that a model
  error can point at ``file:line:column``;
- remember the source text of plain scalars that YAML 1.1 reads as something
  other than text (``NO`` -> false, ``012345`` -> 5349), so that a type error
  can say "put it in quotes".

Building from events rather than ``compose()`` matters for safety, not just
speed: libyaml's composer recurses in C and crashes the interpreter on a few
hundred thousand nested brackets, well within the file size limit.

Most records are plain block YAML, and for those a line reader (the "fast
path" at the end of this module) gives the same data, positions and plain
scalar sources about twice as fast as the events; at the first thing outside
its narrow subset it steps aside and the event path reads the text, with all
the refusals and diagnostics. Tests compare the two paths on generated and
edited documents.

Every problem comes back as a :class:`~builder.core.checks.Diagnostic`; nothing in
here raises on bad input.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

import yaml
from yaml import events as ev
from yaml.constructor import SafeConstructor
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from builder.core.checks import Diagnostic, Severity

try:  # libyaml is part of the PyYAML wheels; the pure parser is the fallback
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - exercised only without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

Path_ = tuple[str | int, ...]

_TAG = "tag:yaml.org,2002:"
_STR, _NULL, _BOOL, _INT, _FLOAT, _TIMESTAMP = (
    _TAG + "str", _TAG + "null", _TAG + "bool", _TAG + "int", _TAG + "float", _TAG + "timestamp"
)
_SCALAR_TAGS = {_STR, _NULL, _BOOL, _INT, _FLOAT, _TIMESTAMP, "!"}
_COLLECTION_TAGS = {_TAG + "map", _TAG + "seq", "!"}
_IMPLICIT = Resolver.yaml_implicit_resolvers
_CONSTRUCTOR = SafeConstructor()
_KIND_WORDS = {
    _NULL: "empty (null)",
    _BOOL: "a true/false value",
    _INT: "a whole number",
    _FLOAT: "a decimal number",
    _TIMESTAMP: "a date",
}


@dataclass(slots=True)
class YamlDocument:
    """A parsed record: plain data, where each value sits, and what went wrong.

    ``data`` is None whenever a diagnostic is an error: a half-read record is
    never validated further.
    """

    data: Any
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    # Source text of plain scalars that YAML 1.1 read as non-text (see module doc).
    plain_scalars: dict[Path_, tuple[str, str]] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # Only with load_yaml(spans=True), for tools that edit the text in place:
    # path -> (start, end) character offsets of the key, and of the value with
    # its kind ("scalar", "block_map", "flow_map", "block_seq", "flow_seq").
    key_spans: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    value_spans: dict[Path_, tuple[int, int, str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.data is not None and not any(d.severity is Severity.ERROR for d in self.diagnostics)

    def position(self, path: Path_) -> tuple[int, int] | None:
        """Where ``path`` is written, or its nearest written ancestor."""
        path = tuple(path)
        while True:
            found = self.positions.get(path)
            if found is not None or not path:
                return found
            path = path[:-1]


def format_path(path: Path_) -> str:
    """('datasets', 0, 'biosample') -> 'datasets[0].biosample'."""
    out: list[str] = []
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        else:
            out.append(("." if out else "") + str(part))
    return "".join(out)


def describe_plain_scalar(tag: str) -> str:
    return _KIND_WORDS.get(tag, "a non-text value")


class _Refused(Exception):
    """Stops the event loop at the first structural refusal."""


def _check(id: str):
    from builder.core.checks import get_check

    return get_check(id)


def load_yaml(
    data: bytes | str,
    *,
    file: str | None = None,
    max_bytes: int = 256 * 1024,
    max_depth: int = 40,
    max_nodes: int = 20_000,
    spans: bool = False,
    fast: bool = True,
) -> YamlDocument:
    """Parse one record. Never raises on bad input; problems are diagnostics.

    ``fast=False`` always builds from libyaml's events (tests compare the two paths).
    """
    doc = YamlDocument(data=None)

    def fail(id: str, message: str, line: int | None = None, column: int | None = None, **kw: Any) -> YamlDocument:
        doc.diagnostics.append(Diagnostic.of(_check(id), message, file=file, line=line, column=column, **kw))
        doc.data = None
        return doc

    if isinstance(data, str):
        try:
            raw = data.encode("utf-8")
        except UnicodeEncodeError as exc:  # lone surrogates: not text any editor would save
            line = data.count("\n", 0, exc.start) + 1
            return fail("REC003", f"the text holds an invalid character (a lone surrogate) at line {line}", line)
    else:
        raw = data
    if len(raw) > max_bytes:
        return fail(
            "REC002",
            f"the file is {len(raw):,} bytes; records may be at most {max_bytes:,} bytes",
        )
    if isinstance(data, str):
        text = data
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
            byte = raw[exc.start]
            guess = " (it looks like Latin-1 or Windows-1252 text)" if 0x80 <= byte <= 0xFF else ""
            return fail(
                "REC003",
                f"byte 0x{byte:02X} at line {line}, column {column} is not valid UTF-8{guess}",
                line,
                column,
            )
    text = text.removeprefix("\ufeff")  # a UTF-8 byte order mark is harmless
    if "\x00" in text:
        offset = text.index("\x00")
        line = text.count("\n", 0, offset) + 1
        return fail(
            "REC004",
            f"the file contains a NUL character at line {line}; is it a text file?",
            line,
            offset - (text.rfind("\n", 0, offset) + 1) + 1,
            hint="Records are plain UTF-8 text. Save the file from a text editor, not a word processor.",
        )

    if fast and not spans:
        try:
            read = _fast_read(text, max_depth, max_nodes)
        except _NumberTooLarge:
            read = None  # the event path reports it with its line
        if read is not None:
            doc.data, doc.positions, doc.plain_scalars = read
            return doc

    if _parse(_Loader, text, doc, fail, file, max_depth, max_nodes, spans):
        # libyaml >= 0.2.5 gives up at 1,000 open brackets while it scans ahead,
        # before _build has seen the one past max_depth. PyYAML's own parser
        # streams (and has no C recursion): it reaches the refusal, with its place.
        doc = YamlDocument(data=None)
        _parse(yaml.SafeLoader, text, doc, fail, file, max_depth, max_nodes, spans)
    if doc.diagnostics and any(d.severity is Severity.ERROR for d in doc.diagnostics):
        doc.data = None
    return doc


def _parse(
    loader_class: Any, text: str, doc: YamlDocument, fail: Any, file: str | None, max_depth: int, max_nodes: int,
    spans: bool,
) -> bool:
    """Build ``doc`` from the events of ``loader_class``; True if libyaml stopped at
    its own nesting limit before _build could refuse the nesting."""
    loader = loader_class(text)
    try:
        _build(loader, doc, fail, file, max_depth, max_nodes, spans)
    except _Refused:
        doc.data = None
    except yaml.YAMLError as exc:
        if (
            loader_class is not yaml.SafeLoader
            and isinstance(exc, yaml.MarkedYAMLError)
            and "maximum nesting depth" in (exc.problem or "")
        ):
            return True
        _syntax_error(exc, text, fail)
    except RecursionError:  # pragma: no cover - the pure parser only, on extreme input
        fail("REC009", "the document is nested too deeply to read")
    finally:
        loader.dispose()
    return False


def _mark(event: ev.Event) -> tuple[int, int]:
    m = event.start_mark
    if m is None:  # the parser marks every event; (0, 0) would say "position unknown"
        return (0, 0)
    return (m.line + 1, m.column + 1)


def _build(
    loader: Any, doc: YamlDocument, fail: Any, file: str | None, max_depth: int, max_nodes: int, spans: bool
) -> None:
    # The hot loop of validation: classes and dicts are bound to locals, and
    # plain text scalars (most of a record) take the shortest path.
    positions = doc.positions
    plain_scalars = doc.plain_scalars
    implicit = _IMPLICIT
    Scalar, MapStart, SeqStart = ev.ScalarEvent, ev.MappingStartEvent, ev.SequenceStartEvent
    MapEnd, SeqEnd, DocStart, StreamEnd, Alias = (
        ev.MappingEndEvent, ev.SequenceEndEvent, ev.DocumentStartEvent, ev.StreamEndEvent, ev.AliasEvent
    )
    # Each frame: [container, path, is_mapping, pending_key, pending_key_path]
    stack: list[list[Any]] = []
    documents = 0
    nodes = 0
    root: Any = None
    have_root = False
    get_event = loader.get_event

    def refuse(id: str, message: str, event: ev.Event, **kw: Any) -> NoReturn:
        fail(id, message, *_mark(event), **kw)
        raise _Refused

    while True:
        event = get_event()
        cls = type(event)
        if cls is Scalar or cls is MapStart or cls is SeqStart:
            nodes += 1
            if nodes > max_nodes:
                refuse("REC009", f"the document has more than {max_nodes:,} values; records are far smaller", event)
            if event.anchor is not None:
                refuse(
                    "REC007",
                    f"anchor `&{event.anchor}` refused: records may not use anchors (&) or aliases (*)",
                    event,
                )
            parent = stack[-1] if stack else None
            if parent is not None and parent[2]:
                key = parent[3]
                if key is None:
                    # A mapping key.
                    if cls is not Scalar:
                        refuse("REC011", "a key here is a list or mapping; keys must be plain field names", event)
                    key = event.value
                    mark = event.start_mark
                    line = mark.line + 1
                    key_path = (*parent[1], key)
                    if key_path in positions:  # this mapping already has the key
                        first = positions[key_path][0]
                        doc.diagnostics.append(Diagnostic.of(
                            _check("REC006"),
                            f"the key `{key if len(key) <= 60 else key[:59] + '…'}` appears twice in the same "
                            f"mapping: first at line {first}, "
                            f"again at line {line}",
                            file=file, line=line, column=mark.column + 1, field=format_path(key_path),
                        ))
                        parent[3] = _DUPLICATE
                        parent[4] = (*parent[1], "<duplicate>")
                        continue
                    parent[3] = key
                    parent[4] = key_path
                    positions[key_path] = (line, mark.column + 1)
                    if spans:
                        doc.key_spans[key_path] = (mark.index, event.end_mark.index)
                    continue
                path: Path_ = parent[4]
            elif parent is None:
                path = ()
                positions[path] = _mark(event)
            else:
                path = (*parent[1], len(parent[0]))
                mark = event.start_mark
                positions[path] = (mark.line + 1, mark.column + 1)

            if spans:
                if cls is Scalar:
                    kind = "scalar"
                else:
                    kind = ("flow_" if event.flow_style else "block_") + ("map" if cls is MapStart else "seq")
                doc.value_spans[path] = (event.start_mark.index, event.end_mark.index, kind)

            if cls is Scalar:
                value = event.value
                tag = event.tag
                if tag is None and event.implicit[0] and (len(value) < 6 or not value[0].isalpha()):
                    # (YAML 1.1 reads no word of 6+ letters as anything but text: skip the regexes.)
                    resolvers = implicit.get(value[:1] if value else "")
                    if resolvers is not None:
                        for resolved, regexp in resolvers:
                            if regexp.match(value):
                                if resolved != _STR:
                                    plain_scalars[path] = (value, resolved)
                                    try:
                                        value = _construct(resolved, value)
                                    except _NumberTooLarge as exc:
                                        refuse("REC012", _too_large_message(exc.text), event,
                                               field=format_path(path))
                                break
                elif tag is not None:
                    try:
                        value = _tagged_scalar(event, refuse)
                    except _NumberTooLarge as exc:
                        refuse("REC012", _too_large_message(exc.text), event, field=format_path(path))
                if parent is None:
                    root, have_root = value, True
                elif parent[2]:
                    if parent[3] is not _DUPLICATE:
                        parent[0][parent[3]] = value
                    parent[3] = None
                else:
                    parent[0].append(value)
                continue

            # Mapping or sequence start.
            tag = event.tag
            if tag is not None and tag not in _COLLECTION_TAGS:
                refuse("REC008", f"the tag `{tag}` is refused: records may not use YAML tags", event)
            if len(stack) >= max_depth:
                refuse("REC009", f"values are nested more than {max_depth} levels deep here", event)
            is_map = cls is MapStart
            container: Any = {} if is_map else []
            if parent is not None:
                if parent[2]:
                    if parent[3] is not _DUPLICATE:
                        parent[0][parent[3]] = container
                    parent[3] = None
                else:
                    parent[0].append(container)
            stack.append([container, path, is_map, None, None])
            continue

        if cls is MapEnd or cls is SeqEnd:
            frame = stack.pop()
            if spans:
                start, _, kind = doc.value_spans[frame[1]]
                doc.value_spans[frame[1]] = (start, event.end_mark.index, kind)
            if not stack:
                root, have_root = frame[0], True
            continue
        if cls is DocStart:
            documents += 1
            if documents > 1:
                refuse(
                    "REC005",
                    "the file holds more than one YAML document (a second one starts here with `---`)",
                    event,
                )
            continue
        if cls is Alias:
            refuse(
                "REC007",
                f"alias `*{event.anchor}` refused: records may not use anchors (&) or aliases (*)",
                event,
            )
        if cls is StreamEnd or event is None:
            break
        # StreamStart and DocumentEnd carry nothing.

    if documents == 0 or not have_root:
        fail("REC010", "the file is empty; a study record is a YAML mapping of fields", 1, 1)
        return
    if not isinstance(root, dict):
        kind = "a list" if isinstance(root, list) else "a single value"
        fail("REC010", f"the file holds {kind}, but a study record must be a mapping of `field: value` lines", 1, 1)
        return
    doc.data = root


_DUPLICATE = object()  # marks the value of a repeated key, which is read and dropped


def _tagged_scalar(event: ev.ScalarEvent, refuse: Callable[..., NoReturn]) -> Any:
    """A scalar with an explicit tag: only the plain YAML types are allowed."""
    tag = event.tag
    if tag is None or tag not in _SCALAR_TAGS:  # None: the caller sends tagged scalars only
        refuse("REC008", f"the tag `{tag}` is refused: records may not use YAML tags", event)
    if tag == "!":  # the non-specific tag: text
        return event.value
    return _construct(tag, event.value)


# Integers in records are years, versions and counts. Bigger ones are refused before they are built:
# Python refuses to print integers over 4,300 digits, and hexadecimal ones are not limited while reading.
MAX_INT_BITS = 64
_MAX_INT_TEXT = 40  # characters of a plain integer (sign, 0x/0o/0b prefix and '_' included) worth converting


class _NumberTooLarge(Exception):
    """An integer beyond MAX_INT_BITS; the caller knows where it is."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _too_large_message(text: str) -> str:
    shown = text if len(text) <= 24 else f"{text[:12]}…{text[-6:]} ({len(text):,} characters)"
    return (f"the number {shown} is too large: numbers in records have at most {MAX_INT_BITS} bits "
            "(about 19 digits); quote it if it is text")


def _construct(tag: str, value: str) -> Any:
    if tag == _STR:
        return value
    if tag == _NULL:
        return None
    if tag == _BOOL:
        return SafeConstructor.bool_values.get(value.lower(), value)
    if tag == _INT and len(value) > _MAX_INT_TEXT:
        raise _NumberTooLarge(value)
    try:
        node = ScalarNode(tag, value)
        if tag == _INT:
            number = _CONSTRUCTOR.construct_yaml_int(node)
            if isinstance(number, int) and number.bit_length() > MAX_INT_BITS:
                raise _NumberTooLarge(value)
            return number
        if tag == _FLOAT:
            return _CONSTRUCTOR.construct_yaml_float(node)
        if tag == _TIMESTAMP:
            return _CONSTRUCTOR.construct_yaml_timestamp(node)
    except (ValueError, OverflowError, TypeError):
        # e.g. 2024-02-30 or a 5000-digit number: keep the text, the model explains.
        return value
    return value  # pragma: no cover - all scalar tags are handled above


# ---------------------------------------------------------------- syntax errors

def _syntax_error(exc: yaml.YAMLError, text: str, fail: Any) -> None:
    line = column = None
    problem = str(exc)
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        if mark is not None:
            line, column = mark.line + 1, mark.column + 1
        problem = exc.problem or exc.context or "syntax error"
        if exc.context and exc.problem:
            problem = f"{exc.problem} ({exc.context}"
            context_mark, problem_mark = exc.context_mark, exc.problem_mark
            if context_mark is not None and problem_mark is not None and context_mark.line != problem_mark.line:
                problem += f" at line {context_mark.line + 1}"
            problem += ")"
    elif isinstance(exc, yaml.reader.ReaderError):
        position = exc.position
        line = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
        code_point = exc.character if isinstance(exc.character, int) else ord(exc.character)
        problem = f"the character #x{code_point:04X} is not allowed in YAML"
    lines = text.splitlines()
    source_line = lines[line - 1] if line and line <= len(lines) else ""
    earlier = reversed(lines[: line - 1]) if line else iter(())
    previous = next((text_line for text_line in earlier
                     if text_line.strip() and not text_line.lstrip().startswith("#")), "")
    fail("REC004", f"YAML syntax error: {problem}", line, column, hint=_syntax_hint(problem, source_line, previous))


_KEY_LINE = re.compile(r"^(\s*)(- )?[A-Za-z_][\w-]*:(\s|$)")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _syntax_hint(problem: str, source_line: str, previous_line: str = "") -> str:
    p = problem.lower()
    if "\t" in source_line or "'\\t'" in p or "tab" in p:
        return "YAML does not allow tabs for indentation: replace the tabs on this line with spaces."
    if "mapping values are not allowed" in p:
        previous_key = _KEY_LINE.match(previous_line)
        if _KEY_LINE.match(source_line) and previous_key and _indent(source_line) > _indent(previous_line) + (
            2 if previous_key.group(2) else 0
        ):
            return (
                "This line is indented further than the field above it, so YAML reads it as part of that "
                "field's value. Line it up with the other fields of the same block."
            )
        return (
            "A value on this line contains `: ` (a colon and a space). Put the whole value in "
            'quotes, e.g. title: "Mitosis: a time-lapse atlas".'
        )
    if "cannot start any token" in p:
        return "A value starts with a character YAML reserves (such as @, ` or %). Put the value in quotes."
    if "could not find expected ':'" in p:
        return "A line is not in `key: value` form, or a quoted value is not closed. Check this line and the one above."
    if "did not find expected key" in p or "expected <block end>" in p:
        return (
            "The indentation is inconsistent: fields of the same mapping must start in the same column, "
            "and list items (`- `) must line up."
        )
    if "found unexpected end of stream" in p or "found unexpected end" in p:
        return "A quote or bracket is opened but never closed."
    if "found undefined tag handle" in p:
        return "Values starting with `!` are read as YAML tags: put the value in quotes."
    if "is not allowed in yaml" in p or "special characters" in p:
        return "Remove the control character (often pasted from a PDF or word processor)."
    return ("Check the indentation and quoting on this line and the line above; "
            "quote values that contain ': ' or start with special characters.")


def quote_hint(field_name: str, source: str, tag: str) -> str:
    """The fix for a YAML 1.1 surprise: quote the value so it stays text."""
    kind = describe_plain_scalar(tag)
    what = f"`{source}`" if source else "the empty value"
    return (
        f"YAML read {what} as {kind}, not as text. Put it in quotes to keep it as written: "
        f'{field_name}: "{source}"'
    )


# ---------------------------------------------------------------- the fast path
#
# Most records are plain block YAML: `key: value` lines, `- ` items, quoted or
# plain one-liners, long plain or single-quoted text folded over indented
# lines. For those, reading the lines directly is ~3x faster than building
# from libyaml's events (each event is a Python object with two Mark objects).
# The fast reader is deliberately narrow: at anything outside that subset --
# any indicator it does not handle (&, *, !, |, >, %, @, `, ?, flow
# collections other than [] and {}), a tab, a CR or other line break, a
# control or non-BMP character, a document marker, a duplicate key, a comment
# where folding could be affected, unexpected indentation, too deep or too
# many nodes -- it returns None and the event path reads the text instead,
# with every refusal and diagnostic. So it only ever has to agree with the
# event path on documents that are valid and plain; tests compare the two.

# Anything but LF, printable ASCII and BMP text (no NEL, LS, PS, BOM,
# surrogates or non-characters) sends the text to the event path.
_FAST_UNSAFE = re.compile("[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]")
_FAST_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*):(?: +|$)")
# Characters that make a scalar something other than plain text when they start it.
_FAST_NOT_PLAIN = frozenset("-?:,[]{}#&*!|>'\"%@`")
_FAST_SINGLE = re.compile(r"'([^']*(?:''[^']*)*)'")
_FAST_DOUBLE = re.compile(r'"([^"\\]*)"')
# One match per line: indentation, `- ` (an item), `key: ` (a field), the rest.
# (A key longer than libyaml's 1,024-character limit for simple keys is not read as one: the event path explains.)
_FAST_LINE = re.compile(r"^( *)(-(?: +|$))?(?:([A-Za-z_][A-Za-z0-9_-]{0,999}):(?: +|$))?(.*)$", re.M)


def _fast_read(text: str, max_depth: int, max_nodes: int) -> tuple[dict, dict, dict] | None:
    """(data, positions, plain_scalars) of a plain block document, or None: use the event path."""
    if _FAST_UNSAFE.search(text) is not None:
        return None
    if max_depth < 1:
        return None
    # Open collections are the one in locals plus its ancestors on the stack:
    # a new one may start while len(stack) + 1 < max_depth, as in _build.
    deepest = max_depth - 1
    rows = _FAST_LINE.findall(text)
    n = len(rows)
    if n != text.count("\n") + 1:  # pragma: no cover - one row per line, always
        return None
    rows.append(("", "", "", ""))  # a blank row after the last: every row has a next one
    lines: list[str] | None = None  # the raw lines, split only for quoted text
    positions: dict[Path_, tuple[int, int]] = {}
    plain_scalars: dict[Path_, tuple[str, str]] = {}
    implicit = _IMPLICIT
    not_plain = _FAST_NOT_PLAIN
    # The open block collection (indent, is_mapping, container, path, indentless
    # list) is held in locals; its ancestors are on the stack.
    cind, cmap, cless = -1, True, False
    ccont: Any = None  # a dict when cmap, else a list: the flag, not the type, tells which
    cpath: Path_ = ()
    stack: list[tuple[int, bool, Any, Path_, bool]] = []
    pending: Path_ | None = None  # a `key:` of ccont whose value starts on a later line
    pkey: str = ""
    nodes = 0
    root: dict | None = None
    skip = -1  # rows up to here belong to text already read
    for i, (ind_s, dash, key, rest) in enumerate(rows):
        if i <= skip:
            continue
        if not dash and not key and (not rest or rest[0] == "#"):
            continue  # blank or comment
        ind = len(ind_s)
        if pending is not None:
            if ind > cind or (ind == cind and dash):
                # The value of `pkey:` starts on this line.
                if dash or key:
                    if len(stack) >= deepest:
                        return None
                    nodes += 1
                    container: Any = {} if not dash else []
                    ccont[pkey] = container
                    stack.append((cind, cmap, ccont, cpath, cless))
                    cind, cmap, ccont, cpath, cless = ind, not dash, container, pending, ind == cind
                    pending = None
                else:
                    if lines is None:
                        lines = text.split("\n")
                    got = _fast_scalar(rest.rstrip(" "), lines, i, cind, pending, positions, plain_scalars)
                    if got is None:
                        return None
                    value, plain, skip = got
                    if plain is None:  # a one-line list
                        if len(stack) >= deepest:
                            return None
                        nodes += len(value)
                    if plain and (len(value) < 6 or not value[0].isalpha()) and value[:1] in implicit:
                        value = _fast_resolve(value, pending, plain_scalars)
                    nodes += 1
                    ccont[pkey] = value
                    pending = None
                    continue
            else:  # nothing follows `key:`: the value is empty (null)
                nodes += 1
                plain_scalars[pending] = ("", _NULL)
                pending = None
        if ind != cind or (cless and not dash):
            while cind > ind or (cless and cind == ind and not dash):
                if not stack:
                    return None  # text after the root mapping ended
                cind, cmap, ccont, cpath, cless = stack.pop()
            if cind != ind:
                if root is not None or dash or not key:
                    return None  # unexpected indentation, or not a mapping at the root
                root = ccont = {}
                cind, cmap, cpath, cless = ind, True, (), False
                positions[()] = (i + 1, ind + 1)
                nodes += 1
        if not cmap:  # a list item
            if not dash:
                return None
            path: Path_ = cpath + (len(ccont),)
            ind += len(dash)
            positions[path] = (i + 1, ind + 1)
            if not key:
                if not rest or (rest[0] == "-" and (len(rest) == 1 or rest[1] == " ")):
                    return None  # an empty item or a list in a list: the event path reads those
                if lines is None:
                    lines = text.split("\n")
                got = _fast_scalar(rest.rstrip(" "), lines, i, cind, path, positions, plain_scalars)
                if got is None:
                    return None
                value, plain, skip = got
                if plain is None:  # a one-line list
                    if len(stack) >= deepest:
                        return None
                    nodes += len(value)
                elif plain and (len(value) < 6 or not value[0].isalpha()) and value[:1] in implicit:
                    value = _fast_resolve(value, path, plain_scalars)
                nodes += 1
                ccont.append(value)
                continue
            # `- key: value`: a mapping that starts on the item's line.
            if len(stack) >= deepest:
                return None
            nodes += 1
            container = {}
            ccont.append(container)
            stack.append((cind, cmap, ccont, cpath, cless))
            cind, cmap, ccont, cpath, cless = ind, True, container, path, False
        elif dash or not key:
            return None
        # `key: value` in the mapping ccont.
        if key in ccont:
            return None  # a duplicate: the event path reports it
        key_path: Path_ = cpath + (key,)
        positions[key_path] = (i + 1, ind + 1)
        if not rest:
            nodes += 1
            ccont[key] = None
            pending, pkey = key_path, key
            continue
        if rest[0] in not_plain:
            if lines is None:
                lines = text.split("\n")
            got = _fast_scalar(rest.rstrip(" "), lines, i, cind, key_path, positions, plain_scalars)
            if got is None:
                return None
            value, plain, skip = got
            if plain is None:  # a one-line list
                if len(stack) >= deepest:
                    return None
                nodes += len(value)
        else:
            # The common case, inline: plain text, maybe folded over more-indented lines.
            if rest[-1] == " ":
                rest = rest.rstrip(" ")
            if ": " in rest or rest[-1] == ":" or " #" in rest:
                return None
            following = rows[i + 1]
            if len(following[0]) > cind and (following[1] or following[2] or following[3]):
                folded = _fast_fold(rows, i, cind, rest)
                if folded is None:
                    return None
                rest, skip = folded
            value = rest
            # (Only words starting with one of the resolvers' first characters may be other than text.)
            if (len(value) < 6 or not value[0].isalpha()) and value[0] in implicit:
                value = _fast_resolve(value, key_path, plain_scalars)
        nodes += 2
        ccont[key] = value
    if pending is not None:
        nodes += 1
        plain_scalars[pending] = ("", _NULL)
    if root is None or nodes > max_nodes:
        return None
    return root, positions, plain_scalars


def _fast_resolve(value: str, path: Path_, plain_scalars: dict[Path_, tuple[str, str]]) -> Any:
    """A plain scalar as the event path reads it (YAML 1.1 implicit types)."""
    resolvers = _IMPLICIT.get(value[:1] if value else "")
    if resolvers is not None:
        for resolved, regexp in resolvers:
            if regexp.match(value):
                if resolved != _STR:
                    plain_scalars[path] = (value, resolved)
                    return _construct(resolved, value)
                break
    return value


def _fast_fold(rows: list[tuple[str, str, str, str]], i: int, block_indent: int, first: str) -> tuple[str, int] | None:
    """Plain text whose first line ``first`` is row ``i``, folded over the more-indented rows after it."""
    parts = [first]
    n = len(rows)
    while i + 1 < n:
        ind_s, dash, key, rest = rows[i + 1]
        if len(ind_s) <= block_indent or not (dash or key or rest):
            break
        if dash or key:
            return None
        rest = rest.rstrip(" ")
        if rest[0] in _FAST_NOT_PLAIN or ": " in rest or rest[-1] == ":" or " #" in rest:
            return None
        parts.append(rest)
        i += 1
    return " ".join(parts), i


def _fast_scalar(
    t: str, lines: list[str], i: int, block_indent: int,
    path: Path_, positions: dict[Path_, tuple[int, int]], plain_scalars: dict[Path_, tuple[str, str]],
) -> tuple[Any, bool | None, int] | None:
    """The value ``t`` of ``path`` that starts on line ``i`` (trailing spaces
    removed), with any continuation lines: (value, plain?, last line index), None
    for the event path. ``plain`` is None for a list written on one line
    (``[a, b]``, ``[]``; or ``{}``), whose items' places go into ``positions``."""
    first = t[0]
    if first == "'":
        m = _FAST_SINGLE.match(t)
        if m is not None:
            if m.end() != len(t):
                return None
            value = m.group(1)
            return (value.replace("''", "'") if "''" in value else value), False, i
        # Single-quoted text folded over several lines.
        value = t[1:]
        if "'" in value.replace("''", ""):
            return None
        breaks = 0
        nlines = len(lines)
        while True:
            i += 1
            if i >= nlines:
                return None
            line = lines[i]
            s = line.strip(" ")
            if not s:
                breaks += 1
                continue
            if len(line) - len(line.lstrip(" ")) <= block_indent:
                return None
            value += "\n" * breaks if breaks else " "
            breaks = 0
            if "'" not in s.replace("''", ""):
                value += s  # no closing quote yet
                continue
            m = _FAST_SINGLE.match("'" + s)
            if m is None or m.end() != len(s) + 1:
                return None  # text after the closing quote
            value += m.group(1)
            return value.replace("''", "'"), False, i
    if first == '"':
        m = _FAST_DOUBLE.match(t)
        if m is None or m.end() != len(t):
            return None
        return m.group(1), False, i
    if first in _FAST_NOT_PLAIN:
        if t == "[]":
            return [], None, i
        if t == "{}":
            return {}, None, i
        if first == "[" and t[-1] == "]":
            items = _fast_flow_list(t, lines[i], i, path, positions, plain_scalars)
            return None if items is None else (items, None, i)
        if t in _FAST_BLOCK_HEADERS:
            return _fast_block(t, lines, i, block_indent)
        return None
    if ": " in t or t[-1] == ":" or " #" in t:
        return None
    # Plain text folded over more-indented lines.
    nlines = len(lines)
    parts: list[str] | None = None
    while i + 1 < nlines:
        line = lines[i + 1]
        s = line.lstrip(" ")
        if not s or len(line) - len(s) <= block_indent:
            break
        s = s.rstrip(" ")
        if s[0] in _FAST_NOT_PLAIN or ": " in s or s[-1] == ":" or " #" in s:
            return None
        if parts is None:
            parts = [t]
        parts.append(s)
        i += 1
    if parts is not None:
        t = " ".join(parts)
    return t, True, i


def _fast_flow_list(
    t: str, line: str, i: int, path: Path_,
    positions: dict[Path_, tuple[int, int]], plain_scalars: dict[Path_, tuple[str, str]],
) -> list | None:
    """``[a, b, c]`` on one line, of plain words only (no quotes, colons, #, nesting)."""
    inner = t[1:-1]
    if "[" in inner or "]" in inner or "{" in inner or "}" in inner or ":" in inner or "#" in inner:
        return None
    column = len(line.rstrip(" ")) - len(t) + 2  # 1-based column just after `[`
    items: list[Any] = []
    for piece in inner.split(","):
        word = piece.strip(" ")
        if not word or word[0] in _FAST_NOT_PLAIN:
            return None  # an empty entry (`[a,,b]`, `[a,]`), quotes or another indicator
        item_path = (*path, len(items))
        positions[item_path] = (i + 1, column + len(piece) - len(piece.lstrip(" ")))
        column += len(piece) + 1
        if (len(word) < 6 or not word[0].isalpha()) and word[0] in _IMPLICIT:
            word = _fast_resolve(word, item_path, plain_scalars)
        items.append(word)
    return items


_FAST_BLOCK_HEADERS = frozenset(("|", "|-", ">", ">-"))


def _fast_block(header: str, lines: list[str], i: int, block_indent: int) -> tuple[str, bool, int] | None:
    """A literal (``|``, ``|-``) or folded (``>``, ``>-``) block whose header is on
    line ``i``; its text starts on the next line, which sets the indentation."""
    n = len(lines)
    j = i + 1
    if j >= n:
        return None
    line = lines[j]
    s = line.lstrip(" ")
    indent = len(line) - len(s)
    if not s or indent <= block_indent:
        return None  # leading blank lines or an empty block: the event path reads those
    folded = header[0] == ">"
    out: list[str] = []
    last = j
    while j < n:
        line = lines[j]
        s = line.lstrip(" ")
        if not s:
            if len(line) > indent:
                return None  # a line of spaces only, longer than the indentation: text, not a break
            out.append("")
        elif len(line) - len(s) < indent:
            break
        elif folded and len(line) - len(s) > indent:
            return None  # more-indented lines are not folded: the event path reads those
        else:
            out.append(line[indent:])
            last = j
        j += 1
    if last == n - 1:
        return None  # no line break after the last line
    del out[last - i:]
    if folded:
        # One break between lines becomes a space; of k > 1 breaks, k - 1 stay.
        parts: list[str] = []
        breaks = 0
        for text in out:
            if not text:
                breaks += 1
                continue
            if parts:
                parts.append("\n" * breaks if breaks else " ")
            parts.append(text)
            breaks = 0
        value = "".join(parts)
    else:
        value = "\n".join(out)
    return (value if header[-1] == "-" else value + "\n"), False, last
