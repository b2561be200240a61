"""Reading and validating a study's image table (``studies/<ACC>/images.tsv``), streamed.

A screen's table holds hundreds of thousands of rows, so rows are never
models: :class:`ImageTableReader` reads one bounded line at a time, checks
each cell with a validator chosen once per column, and yields the row's
cells in their canonical form (identifiers as ``Prefix:id``). Validation
(:func:`validate_image_table`) and publication (builder.site.image_tables)
read the table through this one reader, so the site publishes exactly what
validation accepted.

The format is IANA text/tab-separated-values: a header line of column
names, one line per row, cells separated by tabs, no quoting (a tab cannot
occur in a cell). Identifier prefixes, patterns and resolvers come from the
bioregistry package's bundled registry (offline).
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from pydantic import TypeAdapter, ValidationError

from builder.core.checks import Check, Diagnostic
from builder.core.errors import InvalidInputError
from builder.core.layout import IMAGE_TABLE_NAME
from builder.model.image_table import (
    MULTIPLE_SEPARATOR,
    REQUIRED_COLUMNS,
    STANDARD_COLUMNS,
    UNITS_BY_MEANING,
    ColumnMeaning,
    TableColumn,
)
from builder.model.study import NAME_RE, ImageKind, ImageUrl, Study
from builder.records.table_checks import (
    TAB001,
    TAB002,
    TAB003,
    TAB004,
    TAB005,
    TAB006,
    TAB007,
    TAB008,
    TAB009,
    TAB010,
    TAB011,
    TAB012,
    TAB013,
    TAB014,
    TAB015,
    TAB016,
    TAB017,
    TAB018,
    TAB019,
    TAB020,
    TAB021,
    TAB022,
    TAB023,
)

# Bounds that keep a hostile table from costing more than a normal one: a line is
# read at most MAX_LINE_BYTES at a time (a 10 MB cell never sits in memory whole).
MAX_LINE_BYTES = 64 * 1024
MAX_CELL_CHARS = 2000
MAX_TABLE_BYTES = 1024**3
MAX_ROWS = 2_000_000
# Each check lists this many findings, then one TAB023 line counts the rest.
LISTED_PER_CHECK = 20

_BOM = b"\xef\xbb\xbf"
# Control characters (tab is the separator; CR ends a CRLF line) and bidirectional overrides.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# An opening tag, comment or character reference: what a browser or spreadsheet would interpret.
_HTML = re.compile(r"<[A-Za-z!/?]|&#?[A-Za-z0-9]+;")
_SUSPECT_LINE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069<&]")
FORMULA_STARTS = ("=", "+", "-", "@")
_FORMULA_LINE = re.compile(r"(?:^|\t)[ ]*[=+\-@]")
MEMO_PER_COLUMN = 100_000  # distinct values remembered per column (bounded memory)
_WELL = re.compile(r"^([A-Za-z]{1,2})0*([0-9]{1,3})$")
_FIELD = re.compile(r"^[0-9]{1,4}$")
_NUMBER = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")
_KINDS = {k.value for k in ImageKind}
_URL = TypeAdapter(ImageUrl)


class CellProblem(InvalidInputError):
    """A cell's value is refused; carries the check and the depositor's message."""

    def __init__(self, check: Check, message: str) -> None:
        super().__init__(message)
        self.check = check
        self.message = message


def table_path_of(record_path: Path) -> Path:
    """The table beside a record (``studies/<ACC>/study.yaml`` -> ``studies/<ACC>/images.tsv``)."""
    return record_path.parent / IMAGE_TABLE_NAME


# ---------------------------------------------------------------- identifiers (bioregistry)

@dataclass(frozen=True, slots=True)
class Registry:
    prefix: str  # bioregistry's normalised prefix, e.g. "ncbigene"
    shown: str  # the prefix written in canonical CURIEs, e.g. "NCBIGene"
    pattern: re.Pattern[str] | None
    banana: str | None  # a prefix some registries repeat inside the local id (CVCL_, CHEBI:)


def registry_package() -> Any:
    """The bioregistry package, imported on first use: its import takes ~3 s here (it loads requests and the
    bundled registry), which every command would pay, and `bioarchive validate` of one record must stay < 1 s."""
    import bioregistry

    return bioregistry


@lru_cache(maxsize=4096)
def registry_of(prefix: str) -> Registry | None:
    """The registry a prefix names (any case, any synonym), or None for an unregistered prefix."""
    normalised = registry_package().normalize_prefix(prefix)
    if normalised is None:
        return None
    pattern = registry_package().get_pattern(normalised)
    # The registry's preferred spelling (NCBIGene, CHEBI), else the one the record declared (CMPO)
    shown = registry_package().get_preferred_prefix(normalised) or prefix
    return Registry(
        prefix=normalised,
        shown=shown,
        pattern=re.compile(pattern) if pattern else None,
        banana=registry_package().get_banana(normalised),
    )


def resolver_url(curie: str) -> str | None:
    """Where an identifier resolves (the registry's own page), e.g. NCBIGene:5347 -> ncbi.nlm.nih.gov/gene/5347."""
    prefix, _, local = curie.partition(":")
    registry = registry_of(prefix)
    return registry_package().get_iri(registry.prefix, local) if registry and local else None


def _strip_banana(registry: Registry, local: str) -> str:
    banana = registry.banana
    if banana and local.startswith(banana) and local[len(banana):len(banana) + 1] in (":", "_"):
        return local[len(banana) + 1:]
    return local


def _identifier_parser(column: TableColumn) -> Callable[[str], str]:
    registries = [r for r in (registry_of(p) for p in column.identifiers) if r is not None]
    by_prefix = {r.prefix: r for r in registries}
    bananas = {r.banana: r for r in registries if r.banana}
    listed = ", ".join(column.identifiers)

    def parse(value: str) -> str:
        registry: Registry | None = None
        head, colon, tail = value.partition(":")
        banana_head = re.split(r"[:_]", value, maxsplit=1)[0]
        if banana_head in bananas and (colon == "" or head == banana_head):
            registry, local = bananas[banana_head], _strip_banana(bananas[banana_head], value)
        elif colon:
            named = registry_of(head)
            if named is None:
                raise CellProblem(TAB013, f"'{value}' names the prefix '{head}', which no registry uses; "
                                          f"this column takes {listed} identifiers")
            registry = by_prefix.get(named.prefix)
            if registry is None:
                raise CellProblem(TAB014, f"'{value}' is a {named.shown} identifier; this column takes {listed}")
            local = _strip_banana(registry, tail)
        elif len(registries) == 1:
            registry, local = registries[0], value
        else:
            raise CellProblem(TAB013, f"'{value}' has no prefix; write it as one of {listed} and a colon, "
                                      f"e.g. {registries[0].shown}:{value}")
        if not local or (registry.pattern is not None and not registry.pattern.match(local)):
            example = registry_package().get_example(registry.prefix)
            raise CellProblem(TAB013, f"'{value}' is not a well-formed {registry.shown} id"
                                      + (f" (ids look like {registry.shown}:{example})" if example else ""))
        return f"{registry.shown}:{local}"

    return parse


def _quantity_parser(column: TableColumn) -> Callable[[str], str]:
    units = UNITS_BY_MEANING[column.meaning]
    listed = ", ".join(sorted(units))

    def parse(value: str) -> str:
        number, _, unit = value.partition(" ")
        unit = unit.strip() or (column.unit or "")
        if column.unit is not None and unit != column.unit:
            raise CellProblem(TAB015, f"'{value}': the column's values are in {column.unit}; write the bare number")
        if not _NUMBER.match(number) or not math.isfinite(float(number)):
            raise CellProblem(TAB015, f"'{value}' is not a number followed by a unit, e.g. 10 {sorted(units)[0]}")
        if unit not in units:
            raise CellProblem(TAB015, f"'{value}': unit '{unit or '(none)'}' is not known; use one of {listed}")
        return f"{number} {unit}"

    return parse


def _text(value: str) -> str:
    return value


def cell_parser(column: TableColumn) -> Callable[[str], str]:
    """The one validator of a declared column's single values."""
    if column.identifiers:
        return _identifier_parser(column)
    if column.meaning in UNITS_BY_MEANING:
        return _quantity_parser(column)
    return _text


def declaration_problems(columns: list[TableColumn]) -> list[tuple[int, str]]:
    """(column index, message) for declared registry prefixes bioregistry does not know."""
    problems = []
    for index, column in enumerate(columns):
        for prefix in column.identifiers:
            if registry_of(prefix) is None:
                problems.append((index, f"column '{column.name}' declares the identifier prefix '{prefix}', "
                                        "which no registry uses (see https://bioregistry.io for prefixes)"))
    return problems


# ---------------------------------------------------------------- plates

@dataclass(frozen=True, slots=True)
class PlateLayout:
    """The wells and fields an inspected plate holds (from its ImageFacts)."""

    wells: frozenset[str]  # canonical "A1"
    fields_per_well: int


def canonical_well(value: str) -> str | None:
    match = _WELL.match(value)
    return f"{match.group(1).upper()}{int(match.group(2))}" if match else None


def plate_layout(row_names: list[str], column_names: list[str], fields_per_well: int) -> PlateLayout:
    wells = {canonical_well(f"{r}{c}") for r in row_names for c in column_names}
    return PlateLayout(frozenset(w for w in wells if w), fields_per_well)


# ---------------------------------------------------------------- the reader

@dataclass
class TableSummary:
    rows: int = 0
    columns: list[str] = field(default_factory=list)
    sha256: str = ""
    size: int = 0


class ImageTableReader:
    """Streams one image table; :meth:`rows` yields the canonical cells of every accepted row.

    Diagnostics collect in :attr:`diagnostics` (each check listed at most
    LISTED_PER_CHECK times, the rest counted in one TAB023 line at the end).
    """

    def __init__(self, path: Path, study: Study, *, file: str,
                 plates: Mapping[str, PlateLayout] | None = None) -> None:
        self.path = path
        self.study = study
        self.file = file
        self.plates = plates or {}
        self.diagnostics: list[Diagnostic] = []
        self.summary = TableSummary()
        self._counts: Counter[str] = Counter()

    # -- reporting

    def _report(self, check: Check, message: str, line: int | None = None, column: int | None = None,
                name: str | None = None) -> None:
        self._counts[check.id] += 1
        if self._counts[check.id] <= LISTED_PER_CHECK:
            self.diagnostics.append(Diagnostic.of(check, message, file=self.file, line=line, column=column,
                                                  field=name))

    def _finish(self) -> None:
        for check_id, count in sorted(self._counts.items()):
            if count > LISTED_PER_CHECK:
                self.diagnostics.append(Diagnostic.of(
                    TAB023, f"{count - LISTED_PER_CHECK:,} more {check_id} problems in {self.file} are not listed",
                    file=self.file))

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)

    # -- reading

    def _open(self) -> object | None:
        name = str(self.path)
        if os.path.islink(name):
            self._report(TAB001, f"{self.file} is a symbolic link; tables are read only as plain files", 1)
            return None
        try:
            handle = open(name, "rb")  # noqa: SIM115 - closed by rows()
            size = os.fstat(handle.fileno()).st_size
        except OSError as exc:
            self._report(TAB001, f"cannot read {self.file}: {exc.strerror or exc}")
            return None
        if size > MAX_TABLE_BYTES:
            handle.close()
            self._report(TAB009, f"the table is {size:,} bytes; tables may be at most {MAX_TABLE_BYTES:,} bytes")
            return None
        self.summary.size = size
        return handle

    def _lines(self, handle: object, digest: object) -> Iterator[tuple[int, bytes | None]]:
        """(line number, bytes without the line end), or None for a line over the bound (already reported)."""
        readline = handle.readline  # type: ignore[attr-defined]
        update = digest.update  # type: ignore[attr-defined]
        number = 0
        while True:
            raw = readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            update(raw)
            number += 1
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                while raw and not raw.endswith(b"\n"):  # skip the rest of the line, a bounded piece at a time
                    raw = readline(MAX_LINE_BYTES)
                    update(raw)
                self._report(TAB018, f"line {number} is longer than {MAX_LINE_BYTES:,} bytes; "
                                     f"cells hold at most {MAX_CELL_CHARS:,} characters", number)
                yield number, None
                continue
            yield number, raw.rstrip(b"\r\n") if raw.endswith(b"\n") else raw

    def _decode(self, raw: bytes, number: int) -> str | None:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            cell = raw[: exc.start].count(b"\t") + 1
            self._report(TAB002, f"line {number} has bytes that are not UTF-8 (at byte {exc.start + 1} of the line, "
                                 f"cell {cell}); the file was probably saved as Latin-1 or Windows-1252",
                         number, cell)
            return None

    def _header(self, text: str) -> list[str] | None:
        names = text.split("\t")
        declared = {c.name for c in (self.study.image_table.columns if self.study.image_table else [])}
        ok = True
        seen: set[str] = set()
        for index, name in enumerate(names, start=1):
            if name in seen:
                self._report(TAB005, f"column '{name}' appears twice in the header", 1, index, name)
                ok = False
            seen.add(name)
            if name not in STANDARD_COLUMNS and name not in declared:
                known = ", ".join(list(STANDARD_COLUMNS) + sorted(declared))
                self._report(TAB005, f"column '{name[:80]}' is not declared in study.yaml `image_table: columns:`; "
                                     f"known columns: {known}", 1, index, name[:80])
                ok = False
        for required in REQUIRED_COLUMNS:
            if required not in seen:
                self._report(TAB004, f"the header has no '{required}' column (it has: {', '.join(names)[:300]})", 1)
                ok = False
        return names if ok else None

    def rows(self) -> Iterator[list[str]]:
        handle = self._open()
        if handle is None:
            self._finish()
            return
        digest = hashlib.sha256()
        try:
            yield from self._rows(handle, digest)
        finally:
            handle.close()  # type: ignore[attr-defined]
            self.summary.sha256 = digest.hexdigest()
            self._finish()

    def _rows(self, handle: object, digest: object) -> Iterator[list[str]]:
        lines = self._lines(handle, digest)
        first = next(lines, None)
        if first is None or first[1] is None:
            if first is None:
                self._report(TAB004, f"{self.file} is empty; the first line names the columns", 1)
            return
        raw_header = first[1]
        if raw_header.startswith(_BOM):
            self._report(TAB003, "the file starts with a UTF-8 byte-order mark", 1, 1)
            raw_header = raw_header[len(_BOM):]
        header_text = self._decode(raw_header, 1)
        if header_text is None:
            return
        names = self._header(header_text)
        if names is None:
            return
        self.summary.columns = names
        width = len(names)
        validators = [self._validator(name) for name in names]
        # Screens repeat their values (a few hundred genes per plate, a handful of phenotypes):
        # each distinct value of a column is checked once. Names are unique, so not remembered.
        memos: list[dict[str, str]] = [{} if n == "name" else {"": ""} for n in names]
        index = {name: i for i, name in enumerate(names)}
        at_dataset, at_name, at_url = index["dataset"], index["name"], index["url"]
        at_kind, at_well, at_field = index.get("kind"), index.get("well"), index.get("field")
        datasets = {d.name for d in self.study.datasets}
        record_images = {i.name: i.url for _, i in self.study.images()}
        seen_names: set[str] = set()
        urls: dict[str, str | None] = {}
        rows = 0
        for number, raw in lines:
            if raw is None:
                continue
            if not raw.strip():
                continue  # blank lines (often at the end) carry nothing
            rows += 1
            if rows > MAX_ROWS:
                self._report(TAB009, f"the table has more than {MAX_ROWS:,} rows", number)
                return
            text = self._decode(raw, number)
            if text is None:
                continue
            cells = text.split("\t")
            if len(cells) != width:
                self._report(TAB006, f"line {number} has {len(cells)} cells; the header has {width} columns "
                                     f"({', '.join(names)})", number, min(len(cells), width))
                continue
            good = True
            if _SUSPECT_LINE.search(text) is not None:
                good = self._hostile_cells(cells, names, number)
            # The fast path: every cell a value this column has already accepted (only the
            # unique name is new), and the line neither long nor formula-like. Measured at
            # 200,000 rows it is what keeps validation within a few csv.reader passes.
            found: list[str | None] = list(map(dict.get, memos, cells))
            misses = found.count(None)
            name_cell = cells[at_name]
            if (misses == 1 and found[at_name] is None and NAME_RE.match(name_cell)
                    and len(text) <= MAX_CELL_CHARS and _FORMULA_LINE.search(text) is None):
                found[at_name] = name_cell
            else:
                good = self._cells(cells, found, names, validators, memos, at_name, number, text) and good
            if not good:
                continue
            out = cast(list[str], found)  # every cell filled: by the memo, the name, or _cells
            for required in (at_dataset, at_name, at_url):
                if not out[required]:
                    self._report(TAB010, f"the '{names[required]}' cell is empty", number, required + 1,
                                 names[required])
                    good = False
            if not good:
                continue
            if out[at_dataset] not in datasets:
                self._report(TAB008, f"dataset '{out[at_dataset]}' is not in the record; "
                                     f"datasets: {', '.join(sorted(datasets))}", number, at_dataset + 1, "dataset")
                good = False
            image_name = out[at_name]
            if image_name in seen_names:
                self._report(TAB007, f"image name '{image_name}' is used by an earlier row", number, at_name + 1,
                             "name")
                good = False
            elif image_name in record_images and record_images[image_name] != out[at_url]:
                self._report(TAB007, f"image name '{image_name}' is an image of study.yaml with another URL",
                             number, at_name + 1, "name")
                good = False
            seen_names.add(image_name)
            url = out[at_url]
            if url not in urls:
                urls[url] = self._url_problem(url)
            if urls[url] is not None:
                self._report(TAB011, str(urls[url]), number, at_url + 1, "url")
                good = False
            if good and at_well is not None and out[at_well]:
                good = self._in_plate(out, url, at_well, at_field, at_kind, number)
            if good:
                yield out
        self.summary.rows = rows

    def _cells(self, cells: list[str], out: list[str | None], names: list[str], validators: list[Callable[[str], str]],
               memos: list[dict[str, str]], at_name: int, number: int, text: str) -> bool:
        """Check each cell of a row not taken by the fast path; fills ``out`` with the canonical values."""
        good = True
        long_line = len(text) > MAX_CELL_CHARS
        formula_line = _FORMULA_LINE.search(text) is not None
        for position, raw in enumerate(cells):
            value = raw.strip()
            if not value:
                out[position] = ""
                continue
            if long_line and len(value) > MAX_CELL_CHARS:
                self._report(TAB018, f"the cell holds {len(value):,} characters; at most {MAX_CELL_CHARS:,}",
                             number, position + 1, names[position])
                good = False
                continue
            if formula_line and value[0] in FORMULA_STARTS and not _NUMBER.match(value):
                self._report(TAB019, f"'{value[:60]}' starts like a formula; published as text with a leading '",
                             number, position + 1, names[position])
            if out[position] is not None and position != at_name:
                continue  # accepted before
            try:
                result = validators[position](value)
            except CellProblem as problem:
                self._report(problem.check, problem.message, number, position + 1, names[position])
                good = False
                continue
            out[position] = result
            memo = memos[position]
            if position != at_name and len(memo) < MEMO_PER_COLUMN:
                memo[raw] = result  # keyed as written, so the fast path needs no strip
        return good

    def _validator(self, name: str) -> Callable[[str], str]:
        if name == "name":
            return _image_name
        if name == "kind":
            return _kind
        if name == "well":
            return _well
        if name == "field":
            return _field
        if name == "plate":
            return _plate
        if name in ("dataset", "url"):
            return _text
        column = self.study.image_table.column(name) if self.study.image_table else None
        assert column is not None  # the header was checked against the declaration
        single = cell_parser(column)
        if column.multiple:
            def several(value: str) -> str:
                parts = [p.strip() for p in value.split(MULTIPLE_SEPARATOR)]
                if any(not p for p in parts):
                    raise CellProblem(TAB016, f"'{value}' has an empty value between '|' separators")
                return MULTIPLE_SEPARATOR.join(single(p) for p in parts)
            return several

        def one(value: str) -> str:
            if MULTIPLE_SEPARATOR in value:
                raise CellProblem(TAB016, f"'{value}' holds several values; column '{name}' takes one "
                                          "(declare it with `multiple: true` if several are meant)")
            return single(value)
        return one

    def _hostile_cells(self, cells: list[str], names: list[str], number: int) -> bool:
        good = True
        for position, value in enumerate(cells):
            control = _CONTROL.search(value)
            if control is not None:
                self._report(TAB017, f"the cell holds the control character U+{ord(control.group()):04X}",
                             number, position + 1, names[position])
                good = False
            elif _HTML.search(value) is not None:
                self._report(TAB017, f"'{value[:60]}' holds HTML markup", number, position + 1, names[position])
                good = False
        return good

    @staticmethod
    def _url_problem(url: str) -> str | None:
        try:
            _URL.validate_python(url)
        except ValidationError as exc:
            return str(exc.errors()[0]["msg"])
        return None

    def _in_plate(self, out: list[str], url: str, at_well: int, at_field: int | None, at_kind: int | None,
                  number: int) -> bool:
        layout = self.plates.get(url)
        if layout is None:
            return True  # not inspected (yet): the well is checked once the plate is
        well = out[at_well]
        if well not in layout.wells:
            self._report(TAB021, f"well {well} is not in the plate at {url} (it has {len(layout.wells)} wells)",
                         number, at_well + 1, "well")
            return False
        if at_field is not None and out[at_field] and int(out[at_field]) >= layout.fields_per_well:
            self._report(TAB021, f"field {out[at_field]} is not in well {well}: the plate has "
                                 f"{layout.fields_per_well} field(s) per well, numbered from 0",
                         number, at_field + 1, "field")
            return False
        return True


def _image_name(value: str) -> str:
    if not NAME_RE.match(value):
        raise CellProblem(TAB011, f"'{value[:60]}' is not a usable image name: use letters, digits, '.', '_' "
                                  "and '-', starting with a letter or digit")
    return value


def _plate(value: str) -> str:
    if not NAME_RE.match(value):
        raise CellProblem(TAB012, f"'{value[:60]}' is not a usable plate name: letters, digits, '.', '_', '-'")
    return value


def _kind(value: str) -> str:
    if value not in _KINDS:
        raise CellProblem(TAB011, f"kind '{value[:60]}' is not one of: {', '.join(sorted(_KINDS))}")
    return value


def _well(value: str) -> str:
    well = canonical_well(value)
    if well is None:
        raise CellProblem(TAB012, f"well '{value[:60]}' is not a row letter and a column number such as A01")
    return well


def _field(value: str) -> str:
    if not _FIELD.match(value):
        raise CellProblem(TAB012, f"field '{value[:60]}' is not a whole number from 0")
    return str(int(value))


# ---------------------------------------------------------------- validation entry points

def validate_image_table(path: Path, study: Study, *, file: str,
                         plates: Mapping[str, PlateLayout] | None = None) -> ImageTableReader:
    """Stream the whole table; the returned reader holds the diagnostics and the summary."""
    reader = ImageTableReader(path, study, file=file, plates=plates)
    for _ in reader.rows():
        pass
    return reader


def table_diagnostics(record_path: Path, study: Study, *, file: str, record_file: str,
                      position: Callable[[tuple], tuple[int, int] | None]) -> list[Diagnostic]:
    """The records stage's hook: the table beside a record, checked against its declaration."""
    path = table_path_of(record_path)
    exists = os.path.lexists(path)
    if study.image_table is None:
        if not exists:
            return []
        return [Diagnostic.of(TAB022, f"{file} is beside the record, but study.yaml has no `image_table:`",
                              file=file, line=1)]
    out: list[Diagnostic] = []
    for index, message in declaration_problems(study.image_table.columns):
        loc = ("image_table", "columns", index, "identifiers")
        line, column = position(loc) or position(("image_table",)) or (None, None)
        out.append(Diagnostic.of(TAB020, message, file=record_file, line=line, column=column,
                                 field=f"image_table.columns[{index}].identifiers"))
    if out:
        return out
    if not exists:
        line, column = position(("image_table",)) or (None, None)
        return [Diagnostic.of(TAB001, f"study.yaml declares `image_table:`, but {file} does not exist",
                              file=record_file, line=line, column=column, field="image_table")]
    return validate_image_table(path, study, file=file).diagnostics


def column_meanings(study: Study) -> dict[str, ColumnMeaning]:
    declared = {c.name: c.meaning for c in (study.image_table.columns if study.image_table else [])}
    return declared
