"""Stage 1 of the pipeline: study records on disk -> validated Study models + Diagnostics.

``load_record`` reads one ``studies/<ACCESSION>/study.yaml``; ``load_records``
reads all of them (or a chosen few) and adds the rules that span records.
Every problem is a Diagnostic with file, line, column and field; nothing here
raises on bad input.

Validating one record never parses the others: the folder name must equal the
accession, so accession uniqueness is a folder listing.
"""

from __future__ import annotations

import difflib
import gc
import os
import re
import types
import typing
import unicodedata
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from builder.core.checks import Diagnostic, get_check, has_errors, sort_diagnostics
from builder.core.layout import RECORD_NAME, STUDIES_DIR
from builder.core.settings import ArchiveSettings
from builder.model.completeness import assess
from builder.model.ontology import TermIndex, check_terms, raw_terms, study_terms, use_known_labels
from builder.model.study import SCHEMA_VERSION, Study, is_human_taxon
from builder.records.checks import (
    MOD028,
    MOD030,
    MOD050,
    ONT003,
    ONT004,
    ONT006,
    REC001,
    REC002,
    XRF001,
    XRF002,
    XRF003,
    XRF004,
    XRF005,
)
from builder.records.image_table import table_diagnostics, table_path_of
from builder.records.migrations import record_version
from builder.records.terms import load_term_index
from builder.records.xrefs import xref_diagnostics
from builder.records.yaml_source import (
    YamlDocument,
    describe_plain_scalar,
    format_path,
    load_yaml,
    quote_hint,
)

# Texts `bioarchive new` writes for the depositor to replace. They satisfy the
# model so a scaffold validates, so a record still holding one gets MOD050.
SCAFFOLD_TEXTS: dict[str, str] = {
    "description": "Describe the study in a few sentences: its aims, the samples, how they were imaged "
    "and what the images show.",
    "dataset_title": "Describe this group of images in a short title",
    "biological_entity": "Name what was imaged, e.g. HeLa cells or adult mouse brain",
    "preparation_protocol": "Describe how the samples were prepared: fixation, staining, mounting.",
    "instrument": "Name the microscope, e.g. Zeiss LSM 980 with Airyscan 2",
    "signal_contrast": "Name the dye, stain or contrast of this channel, e.g. Hoechst 33342",  # new --from
}
_SCAFFOLD_VALUES = set(SCAFFOLD_TEXTS.values())

Loc = tuple[str | int, ...]


_DROPPED = object()  # RecordResult.raw_data after compact(): read again from source


@dataclass(slots=True)
class RecordResult:
    """One record: the validated study (None when invalid) and what was found."""

    path: Path
    file: str  # as shown in messages: relative to the archive root where possible
    study: Study | None
    # The plain data read from YAML (None when unreadable); read it as ``raw``.
    raw_data: Any
    positions: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    completeness: int | None = None  # 0-100, for valid studies
    # The file's bytes. load_records drops ``positions`` to save memory (a
    # position map costs ~15x the text); position() rebuilds it from these.
    source: bytes | None = None

    @property
    def raw(self) -> Any:
        """The plain data read from YAML (None when unreadable)."""
        if self.raw_data is _DROPPED:
            # Dropped by compact(): read again from the text, not kept (a one-off need, e.g. fixity).
            return load_yaml(
                self.source or b"", max_bytes=len(self.source or b"") + 1, max_depth=10_000, max_nodes=10**9
            ).data
        return self.raw_data

    @property
    def declared_accession(self) -> str | None:
        """The accession the record states, if it states one."""
        if self.study is not None:
            return self.study.accession
        data = self.raw_data
        if isinstance(data, dict) and isinstance(data.get("accession"), str):
            return data["accession"]
        return None

    @property
    def accession(self) -> str | None:
        """The accession the record declares, else its folder name."""
        return self.declared_accession or self.path.parent.name or None

    @property
    def ok(self) -> bool:
        return self.study is not None and not has_errors(self.diagnostics)

    def position(self, loc: Loc) -> tuple[int, int] | None:
        """(line, column) where ``loc`` is written, or where its nearest written parent is."""
        if not self.positions and self.source is not None:
            self.positions = load_yaml(
                self.source, max_bytes=len(self.source) + 1, max_depth=10_000, max_nodes=10**9
            ).positions
        loc = tuple(loc)
        while True:
            found = self.positions.get(loc)
            if found is not None or not loc:
                return found
            loc = loc[:-1]

    def compact(self) -> None:
        """Drop what ``source`` can rebuild: the position map, and the raw data of
        a valid record (the Study holds the same facts). ~40% less memory."""
        if self.source is not None:
            self.positions = {}
            if self.study is not None:
                self.raw_data = _DROPPED


@dataclass(slots=True)
class RecordSet:
    records: list[RecordResult] = field(default_factory=list)
    # Findings about no single record (e.g. an unreadable archive term list).
    extra_diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def studies(self) -> dict[str, Study]:
        """Valid studies by accession (records with errors are left out)."""
        return {r.study.accession: r.study for r in self.records if r.ok and r.study is not None}

    @property
    def diagnostics(self) -> list[Diagnostic]:
        out = list(self.extra_diagnostics)
        for r in self.records:
            out.extend(r.diagnostics)
        return sort_diagnostics(out)

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)


# ---------------------------------------------------------------- one record


def validation_context(settings: ArchiveSettings) -> dict[str, Any]:
    return {
        "accession_pattern": settings.accession_pattern,
        "accession_example": settings.format_accession(1),
        "licences": settings.licences,
    }


def display_path(path: Path, root: Path | None) -> str:
    if root is not None:
        prefix = str(root).rstrip("/") + "/"
        text = str(path)
        if text.startswith(prefix) and "/../" not in text:  # the common case: no path parsing, no disk
            return text[len(prefix) :].replace("\\", "/")
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except (ValueError, OSError):
            pass
    return path.as_posix()


def load_record(
    path: Path,
    settings: ArchiveSettings,
    *,
    text: bytes | None = None,
    root: Path | None = None,
    terms: TermIndex | None = None,
    hints: bool = True,
    context: dict[str, Any] | None = None,
) -> RecordResult:
    """Read and validate one record file (or ``text`` as if it were that file).

    ``context`` is ``validation_context(settings)``, for callers that validate many records.
    """
    path = Path(path)
    file = display_path(path, root)
    from_disk = text is None
    if text is None:
        limit = settings.limits.max_record_bytes
        name = str(path)
        if os.path.islink(name) or os.path.islink(os.path.dirname(name)):
            # A link in a pull request could make CI read any file on the runner.
            return RecordResult(
                path,
                file,
                None,
                None,
                diagnostics=[
                    Diagnostic.of(
                        REC001,
                        f"{file} is a symbolic link; records are read only as plain files",
                        hint="commit the record itself (git rm the link, then add the file)",
                        file=file,
                    )
                ],
            )
        try:
            text = _read_at_most(name, limit + 1)  # never more than the limit, whatever the file's size
        except OSError as exc:
            reason = exc.strerror or str(exc)
            return RecordResult(
                path,
                file,
                None,
                None,
                diagnostics=[Diagnostic.of(REC001, f"cannot read {file}: {reason}", file=file)],
            )
        if len(text) > limit:
            size = path.stat().st_size
            return RecordResult(
                path,
                file,
                None,
                None,
                diagnostics=[
                    Diagnostic.of(
                        REC002,
                        f"the file is {size:,} bytes; records may be at most {limit:,} bytes",
                        file=file,
                    )
                ],
            )
    limits = settings.limits
    doc = load_yaml(
        text,
        file=file,
        max_bytes=limits.max_record_bytes,
        max_depth=limits.max_yaml_depth,
        max_nodes=limits.max_yaml_nodes,
    )
    result = RecordResult(path, file, None, doc.data, doc.positions, list(doc.diagnostics), source=bytes(text))
    if not doc.ok:
        return result
    raw = doc.data
    if _MAY_HIDE_CHARACTERS.search(text, 3 if text.startswith(b"\xef\xbb\xbf") else 0):
        result.diagnostics.extend(_hidden_characters(raw, doc, file))

    # Where the record lives must agree with what it says.
    if path.name != RECORD_NAME:
        result.diagnostics.append(
            Diagnostic.of(
                XRF005,
                f"the record is named {path.name}; records are studies/<ACCESSION>/{RECORD_NAME}",
                file=file,
                line=1,
                column=1,
            )
        )
    accession = raw.get("accession")
    if isinstance(accession, str) and path.name == RECORD_NAME and path.parent.name != accession:
        line, column = doc.positions.get(("accession",), (1, 1))
        result.diagnostics.append(
            Diagnostic.of(
                XRF001,
                f"the record says accession {accession}, but it is in the folder {path.parent.name}/",
                file=file,
                line=line,
                column=column,
                field="accession",
                hint=f"Keep the folder and the accession equal: the accession assigned to this folder is "
                f"{path.parent.name}; if {accession} is right, the folder must be studies/{accession}/.",
            )
        )

    version = record_version(raw)
    if version is not None and version < SCHEMA_VERSION:
        # Other errors of an old record are mostly the format change itself: say only what fixes them all.
        line, column = doc.positions.get(("schema_version",), (1, 1))
        written = (
            "schema_version is missing, and the record uses the early draft format"
            if ("schema_version" not in raw)
            else f"schema_version {version} is not the current version {SCHEMA_VERSION}"
        )
        result.diagnostics.append(
            Diagnostic.of(
                MOD030,
                f"{written}; run `bioarchive migrate {file}` to upgrade it, then validate again",
                file=file,
                line=line,
                column=column,
                field="schema_version",
            )
        )
        return result
    try:
        study = Study.model_validate(raw, context=context if context is not None else validation_context(settings))
    except ValidationError as exc:
        result.diagnostics.extend(model_diagnostics(exc, doc, file))
        terms = terms if terms is not None else load_term_index(root)[0]
        result.diagnostics.extend(_ontology_diagnostics(raw_terms(raw), terms, doc, file, only_mismatches=True))
        return result
    result.study = study
    result.diagnostics.extend(_within_study_rules(study, doc, file))
    result.diagnostics.extend(xref_diagnostics(study, doc, file))
    if from_disk:  # a record given as text (e.g. from Git history) has no table beside it on disk
        table = table_path_of(path)
        result.diagnostics.extend(table_diagnostics(
            path, study, file=display_path(table, root), record_file=file, position=result.position))
    result.diagnostics.extend(_scaffold_leftovers(study, doc, file))

    terms = terms if terms is not None else load_term_index(root)[0]
    result.diagnostics.extend(_ontology_diagnostics(study_terms(study), terms, doc, file))
    use_known_labels(study, terms)  # after the check, which compares what the record wrote

    report = assess(study)
    result.completeness = report.score
    if hints:
        for hint in report.hints:
            # On the field when it is written (even empty); else by the title, where it can be added.
            written_at = doc.positions.get(tuple(hint.path))
            hint_line, hint_column = written_at or _place(doc, hint.path if len(hint.path) > 1 else ("title",))
            result.diagnostics.append(
                Diagnostic.of(
                    get_check(hint.check),
                    hint.message,
                    file=file,
                    line=hint_line,
                    column=hint_column,
                    field=hint.field or format_path(hint.path) or None,
                )
            )
    return result


def _read_at_most(name: str, most: int) -> bytes:
    """The file's first ``most`` bytes (all of a smaller file), in one read when it
    is as big as its size says: no ``most``-sized buffer for a 4 kB record."""
    with open(name, "rb", buffering=0) as fh:
        data = fh.read(min(os.fstat(fh.fileno()).st_size + 1, most))
        while len(data) < most:  # grown since the stat, or a size the system does not know
            more = fh.read(most - len(data))
            if not more:
                break
            data += more
    return data


# Characters that hide or disguise text: C0/C1 controls (but tab and newlines),
# bidirectional embeddings, overrides and isolates. A title that renders
# "exe.png" backwards, or an escape sequence in a CI log, starts here.
_HIDING = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
# The same, as UTF-8 bytes, plus zero-width characters and backslashes (escapes in
# double quotes): a cheap test on the file that spares clean records the walk.
_MAY_HIDE_CHARACTERS = re.compile(
    rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\\]|\xc2[\x80-\x9f]|\xe2\x80[\x8b-\x8d\xaa-\xae]|\xe2\x81[\xa0\xa6-\xa9]"
    rb"|\xef\xbb\xbf"
)


def _hidden_characters(raw: Any, doc: YamlDocument, file: str) -> list[Diagnostic]:
    """MOD028 for text with control or direction-changing characters, or nothing visible."""
    out: list[Diagnostic] = []

    def visit(value: Any, loc: Loc) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                visit(item, (*loc, key))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                visit(item, (*loc, i))
        elif isinstance(value, str):
            found = _HIDING.search(value)
            if found:
                char = found.group()
                message = (
                    f"{_field_label(loc)} contains the invisible character U+{ord(char):04X} "
                    f"({unicodedata.name(char, 'a control character')}) at character {found.start() + 1}"
                )
            elif value and not value.strip(_INVISIBLE + " \t\r\n"):
                message = f"{_field_label(loc)} has no visible characters, only zero-width ones"
            else:
                return
            line, column = _place(doc, loc)
            out.append(
                Diagnostic.of(MOD028, message, file=file, line=line, column=column, field=format_path(loc) or None)
            )

    visit(raw, ())
    return out


def _place(doc: YamlDocument, loc: Loc) -> tuple[int | None, int | None]:
    pos = doc.position(loc)
    return pos if pos is not None else (None, None)


def _within_study_rules(study: Study, doc: YamlDocument, file: str) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    seen: dict[str, int] = {}
    for d, dataset in enumerate(study.datasets):
        if dataset.name in seen:
            first_line = _place(doc, ("datasets", seen[dataset.name], "name"))[0]
            line, column = _place(doc, ("datasets", d, "name"))
            out.append(
                Diagnostic.of(
                    XRF003,
                    f"the dataset name '{dataset.name}' is used twice "
                    f"(datasets[{seen[dataset.name]}] at line {first_line} "
                    f"and datasets[{d}])",
                    file=file,
                    line=line,
                    column=column,
                    field=f"datasets[{d}].name",
                )
            )
        else:
            seen[dataset.name] = d
    images: dict[str, tuple[int, int]] = {}
    for d, dataset in enumerate(study.datasets):
        for i, image in enumerate(dataset.images):
            if image.name in images:
                fd, fi = images[image.name]
                first_line = _place(doc, ("datasets", fd, "images", fi, "name"))[0]
                line, column = _place(doc, ("datasets", d, "images", i, "name"))
                out.append(
                    Diagnostic.of(
                        XRF004,
                        f"the image name '{image.name}' is used twice in this study (first at line {first_line}); "
                        "image names are unique across all datasets of a study",
                        file=file,
                        line=line,
                        column=column,
                        field=f"datasets[{d}].images[{i}].name",
                    )
                )
            else:
                images[image.name] = (d, i)
    return out


def _scaffold_leftovers(study: Study, doc: YamlDocument, file: str) -> list[Diagnostic]:
    places: list[tuple[Loc, str]] = [(("description",), study.description)]
    for d, dataset in enumerate(study.datasets):
        places += [
            (("datasets", d, "title"), dataset.title),
            (("datasets", d, "biosample", "biological_entity"), dataset.biosample.biological_entity),
            (("datasets", d, "specimen", "preparation_protocol"), dataset.specimen.preparation_protocol),
            (("datasets", d, "acquisition", "instrument"), dataset.acquisition.instrument),
            *(
                (("datasets", d, "specimen", "signal_contrast", i, "contrast"), signal.contrast)
                for i, signal in enumerate(dataset.specimen.signal_contrast)
            ),
        ]
    out = []
    for loc, value in places:
        if value in _SCAFFOLD_VALUES:
            line, column = _place(doc, loc)
            out.append(
                Diagnostic.of(
                    MOD050,
                    f"{_field_label(loc)} still holds the guidance text that `bioarchive new` wrote",
                    file=file,
                    line=line,
                    column=column,
                    field=format_path(loc),
                )
            )
    return out


def _ontology_diagnostics(
    found_terms: list, terms: TermIndex, doc: YamlDocument, file: str, *, only_mismatches: bool = False
) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for finding in check_terms(found_terms, terms):
        if only_mismatches and finding.kind != "label_mismatch":
            continue
        if finding.kind == "label_mismatch":
            loc = (*finding.path, "label")
            check = ONT003
            hint = (
                f"If {finding.curie} is right, write label: {finding.known_label}. "
                f"If '{finding.given_label}' is right, "
                "the id is wrong: look it up again (https://www.ebi.ac.uk/ols4)."
            )
        elif finding.kind == "obsolete":
            loc = (*finding.path, "id")
            check = ONT006
            hint = None
        else:
            loc = (*finding.path, "id")
            check = ONT004
            hint = None
        line, column = _place(doc, loc)
        out.append(
            Diagnostic.of(
                check,
                finding.message,
                file=file,
                line=line,
                column=column,
                field=format_path(loc),
                hint=hint,
                extra={"curie": finding.curie, "given_label": finding.given_label, "known_label": finding.known_label},
            )
        )
    return out


# ---------------------------------------------------------------- pydantic errors -> diagnostics

_TYPE_WORDS = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list (lines starting with `- `)",
    "dict_type": "a mapping of fields (indented `key: value` lines)",
    "model_type": "a mapping of fields (indented `key: value` lines)",
    "model_attributes_type": "a mapping of fields (indented `key: value` lines)",
    "date_type": "a date (YYYY-MM-DD)",
    "enum": None,
}
_DATE_ERRORS = {
    "date_parsing",
    "date_from_datetime_parsing",
    "date_from_datetime_inexact",
    "date_type",
    "date_past",
    "date_future",
    "datetime_parsing",
    "datetime_type",
}
_LENGTH_ERRORS = {"too_short", "too_long", "string_too_short", "string_too_long"}
_MAX_MESSAGE = 400
# Model errors whose message already names the field.
_SELF_CONTAINED = {"MOD030", "MOD031", "MOD032", "MOD040", "MOD041", "MOD042", "MOD043", "MOD044"}
_RANGE_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


def _describe_input(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"the true/false value {str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"the text '{shown}'"
    return f"a {type(value).__name__}"


def _field_label(loc: Loc) -> str:
    return f"`{format_path(loc)}`" if loc else "the record"


def _enum_choices(expected: str) -> list[str]:
    return re.findall(r"'([^']*)'", expected)


def _bare_term_prefix(loc: Loc, text: str) -> str | None:
    """NCBITaxon or FBbi when an ontology term's id was written as a bare number (IDR's `7070`)."""
    if len(loc) < 3 or loc[-1] != "id" or not text.isdigit():
        return None
    return {"organisms": "NCBITaxon", "imaging_method": "FBbi"}.get(str(loc[-3]))


def model_diagnostics(exc: ValidationError, doc: YamlDocument, file: str) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    raw = doc.data
    for err in exc.errors(include_url=False):
        loc: Loc = tuple(err["loc"])
        etype: str = err["type"]
        value = err.get("input")
        ctx = err.get("ctx") or {}
        hint: str | None = None
        extra: dict[str, Any] = {}
        point_at: Loc = loc

        if etype == "missing":
            check = "MOD001"
            name = loc[-1] if loc else "?"
            parent = loc[:-1]
            where = f" in {_field_label(parent)}" if parent else ""
            message = f"the required field `{name}` is missing{where}"
            hint = (
                f"Add `{name}:`"
                + (f" under {_field_label(parent)}" if parent else "")
                + "; `bioarchive new` writes a record with every required field."
            )
        elif etype == "extra_forbidden":
            check = "MOD002"
            name = str(loc[-1])
            if len(name) > 60:
                name = name[:59] + "…"
            allowed = _field_names_at(loc[:-1])
            guess = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6) if allowed else []
            message = f"unknown field `{name}`" + (f" in {_field_label(loc[:-1])}" if loc[:-1] else "")
            if guess:
                message += f"; did you mean `{guess[0]}`?"
                hint = f"Rename `{name}` to `{guess[0]}`."
            elif allowed:
                hint = f"Fields allowed here: {', '.join(allowed)}."
            if name in ("license", "organism"):
                hint = (hint or "") + " This looks like an older record format: run `bioarchive migrate` on this file."
        elif etype in ("enum", "literal_error"):
            check = "MOD005"
            choices = _enum_choices(str(ctx.get("expected", "")))
            message = (
                f"{_field_label(loc)} is {_describe_input(value)}; allowed: {', '.join(choices) or ctx.get('expected')}"
            )
            if isinstance(value, str) and choices:
                guess = difflib.get_close_matches(value.lower(), choices, n=1, cutoff=0.6)
                if guess:
                    message += f" (did you mean '{guess[0]}'?)"
                    hint = f"Write '{guess[0]}'."
        elif etype in _DATE_ERRORS:
            check = "MOD008"
            message = f"{_field_label(loc)} is {_describe_input(value)}, which is not a valid date"
            if etype == "date_from_datetime_inexact":
                message = f"{_field_label(loc)} has a time of day; give the date only"
        elif etype in _TYPE_WORDS or etype.endswith(("_type", "_parsing")):
            check = "MOD003"
            wanted = _TYPE_WORDS.get(etype) or etype.replace("_type", "").replace("_parsing", "")
            message = f"{_field_label(loc)} must be {wanted}, not {_describe_input(value)}"
            source = doc.plain_scalars.get(loc)
            if source is not None and etype == "string_type":
                text, tag = source
                message = f"{_field_label(loc)} must be text, but YAML read `{text}` as {describe_plain_scalar(tag)}"
                hint = quote_hint(str(loc[-1]) if loc else "value", text, tag)
                extra["yaml_source"] = text
                term_prefix = _bare_term_prefix(loc, text)
                if term_prefix is not None:  # quoting a bare taxon number would only trade MOD003 for ONT001
                    hint = f"Write the ontology prefix and a colon before the number: id: {term_prefix}:{text}"
            elif etype in ("list_type",) and isinstance(value, (str, dict)):
                hint = "Write each entry on its own line starting with `- `, indented under the field."
        elif etype in _LENGTH_ERRORS:
            check = "MOD006"
            if "string" in etype:
                n = len(value) if isinstance(value, str) else "?"
                if etype == "string_too_short":
                    message = (
                        f"{_field_label(loc)} is too short ({n} characters); write at least {ctx.get('min_length')}"
                    )
                else:
                    message = (
                        f"{_field_label(loc)} is too long ({n} characters); at most {ctx.get('max_length')} allowed"
                    )
            else:
                n = len(value) if isinstance(value, (list, dict, str)) else "?"
                if etype == "too_short":
                    entries = "entry" if ctx.get("min_length") == 1 else "entries"
                    message = f"{_field_label(loc)} needs at least {ctx.get('min_length')} {entries} (found {n})"
                else:
                    message = f"{_field_label(loc)} has too many entries ({n}); at most {ctx.get('max_length')}"
        elif etype in _RANGE_ERRORS:
            check = "MOD007"
            bound = {
                "greater_than": "greater than",
                "greater_than_equal": "at least",
                "less_than": "less than",
                "less_than_equal": "at most",
            }[etype]
            limit = next(iter(ctx.values()), "?")
            message = f"{_field_label(loc)} is {value}; it must be {bound} {limit}"
        elif _is_registered(etype):
            check = etype
            message = err["msg"]
            if loc and etype not in _SELF_CONTAINED:
                message = f"{_field_label(loc)}: {message}"
            point_at, field_loc = _root_rule_location(etype, raw, loc)
            if field_loc is not None:
                loc = field_loc
        else:
            check = "MOD009"
            message = f"{_field_label(loc)}: {err['msg']}"

        line, column = _place(doc, point_at)
        if len(message) > _MAX_MESSAGE:  # values quoted from hostile input stay readable
            message = message[: _MAX_MESSAGE - 1] + "…"
        out.append(
            Diagnostic.of(
                get_check(check),
                message,
                file=file,
                line=line,
                column=column,
                field=format_path(loc) or None,
                hint=hint,
                extra=extra,
            )
        )
    return out


def _is_registered(check_id: str) -> bool:
    try:
        get_check(check_id)
    except KeyError:
        return False
    return True


def _root_rule_location(check: str, raw: Any, loc: Loc) -> tuple[Loc, Loc | None]:
    """Study-level rules point at the field a depositor must change, not at line 1."""
    if loc or not isinstance(raw, dict):
        return loc, None
    authors: list[Any] = raw["authors"] if isinstance(raw.get("authors"), list) else []
    if check == "MOD040":
        contacts = [i for i, a in enumerate(authors) if isinstance(a, dict) and a.get("contact") is True]
        if len(contacts) > 1:
            target: tuple[str | int, ...] = ("authors", contacts[1], "contact")
            return target, target
        return ("authors",), ("authors",)
    if check == "MOD041":
        for i, a in enumerate(authors):
            if isinstance(a, dict) and a.get("contact") is True:
                return ("authors", i, "contact"), ("authors", i, "email")
        return ("authors",), ("authors",)
    if check == "MOD042":
        return ("status",), ("withdrawal_reason",)
    if check == "MOD043":
        if "human_data" in raw:
            return ("human_data",), ("human_data",)
        for d, dataset in enumerate(raw.get("datasets") or []):
            organisms = ((dataset or {}).get("biosample") or {}).get("organisms") if isinstance(dataset, dict) else None
            for o, term in enumerate(organisms or []):
                if isinstance(term, dict) and is_human_taxon(term.get("id", ""), term.get("label", "")):
                    target = ("datasets", d, "biosample", "organisms", o, "id")
                    return target, ("human_data",)
        return ("datasets",), ("human_data",)
    if check == "MOD044":
        return ("human_data", "deidentified"), ("human_data", "deidentified")
    return loc, None


# The model's field names at a location, for "did you mean".


def _field_names_at(loc: Loc) -> list[str]:
    model = _model_at(tuple(p if isinstance(p, str) else 0 for p in loc))
    return list(model.model_fields) if model is not None else []


def _unwrap(annotation: Any) -> Any:
    """Annotated[X, ...] / list[X] / X | None -> the BaseModel inside, if any."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated or origin in (list, tuple, set):
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            inner = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = inner[0] if len(inner) == 1 else None
        else:
            return annotation


_MODEL_AT_CACHE: dict[Loc, type[BaseModel] | None] = {}


def _model_at(loc: Loc) -> type[BaseModel] | None:
    if loc in _MODEL_AT_CACHE:
        return _MODEL_AT_CACHE[loc]
    model: Any = Study
    for part in loc:
        if isinstance(part, int):
            continue  # list index: the item type was unwrapped with the field
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
            model = None
            break
        model = _unwrap(model.model_fields[part].annotation)
    result = model if isinstance(model, type) and issubclass(model, BaseModel) and not issubclass(model, Enum) else None
    _MODEL_AT_CACHE[loc] = result
    return result


# ---------------------------------------------------------------- all records


def record_paths(root: Path) -> list[Path]:
    """studies/<folder>/study.yaml of every study folder, in folder order.

    A folder without study.yaml is listed too: reading it reports REC001.
    """
    studies = root / STUDIES_DIR
    try:
        entries = list(os.scandir(studies))
    except OSError:
        return []
    return [
        Path(f"{e.path}/{RECORD_NAME}")
        for e in sorted(entries, key=lambda e: e.name)
        if not e.name.startswith(".") and e.is_dir()
    ]


def load_records(
    root: Path, settings: ArchiveSettings, paths: list[Path] | None = None, *, hints: bool = True
) -> RecordSet:
    """Validate the archive's records (or only ``paths``) with cross-record rules."""
    root = Path(root)
    terms, term_diagnostics = load_term_index(root)
    targets = record_paths(root) if paths is None else [Path(p) for p in paths]
    records = RecordSet(extra_diagnostics=list(term_diagnostics))
    # Loading makes millions of long-lived, acyclic objects; the cyclic garbage
    # collector would rescan them again and again (a third of the time at
    # 3,000 records). Nothing here makes cycles, so pause it while loading.
    context = validation_context(settings)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        seen: set[Path] = set()
        for path in targets:
            if not path.is_absolute():
                path = root / path
            if path in seen:  # the same record named twice (e.g. its folder and its file)
                continue
            seen.add(path)
            result = load_record(path, settings, root=root, terms=terms, hints=hints, context=context)
            result.compact()
            records.records.append(result)
    finally:
        if gc_was_enabled:
            gc.enable()
    _accession_collisions(records, root)
    return records


def _accession_collisions(records: RecordSet, root: Path) -> None:
    studies_dir = root / STUDIES_DIR
    claimed: dict[str, RecordResult] = {}
    for r in records.records:
        accession = r.declared_accession
        if not accession:
            continue
        other: str | None = None
        if accession in claimed and claimed[accession].path != r.path:
            other = claimed[accession].file
        elif r.path.parent.name != accession:
            owner = studies_dir / accession / RECORD_NAME
            if owner.is_file() and owner.resolve() != r.path.resolve():
                other = display_path(owner, root)
        claimed.setdefault(accession, r)
        if other is not None:
            line, column = r.position(("accession",)) or (None, None)
            r.diagnostics.append(
                Diagnostic.of(
                    XRF002,
                    f"the accession {accession} is already used by {other}",
                    file=r.file,
                    line=line,
                    column=column,
                    field="accession",
                )
            )
