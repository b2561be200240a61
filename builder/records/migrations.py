"""Upgrading records written for older schema versions.

A migration is a pure function from a raw record (plain data, as read from
YAML) of version N to one of version N+1; migrations chain up to the current
``SCHEMA_VERSION``. Each also lists the edits it made (rename a key, wrap a
value in a list, set a value) so :func:`rewrite_text` can apply the same
changes to the file's text in place, keeping comments, quoting and layout.
The rewritten text is parsed again and must give exactly the migrated data;
if it does not, the file is written out afresh (comments lost) and the caller
is told.

Versions:

1. the early draft: ``license`` (not ``licence``), one ``organism:`` term per
   biosample and one ``imaging_method:`` term per acquisition. Records of
   version 1 may lack ``schema_version``; the draft keys identify them.
2. current: ``licence``, ``organisms: [...]``, ``imaging_method: [...]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import yaml

from builder.core.errors import InvalidInputError
from builder.model.study import SCHEMA_VERSION
from builder.records.yaml_source import YamlDocument, load_yaml

Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Edit:
    op: Literal["rename", "wrap_list", "set", "insert_first"]
    path: Loc
    value: Any = None  # new key name (rename), new value (set, insert_first: (key, value))


Migration = Callable[[dict[str, Any]], tuple[dict[str, Any], list[Edit]]]


def _renamed(mapping: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """The mapping with one key renamed in place (key order kept)."""
    return {(new if k == old else k): v for k, v in mapping.items()}


def v1_to_v2(raw: dict[str, Any]) -> tuple[dict[str, Any], list[Edit]]:
    edits: list[Edit] = []
    out = dict(raw)
    if "license" in out and "licence" not in out:
        out = _renamed(out, "license", "licence")
        edits.append(Edit("rename", ("license",), "licence"))
    datasets = out.get("datasets")
    if isinstance(datasets, list):
        new_datasets = []
        for d, dataset in enumerate(datasets):
            if isinstance(dataset, dict):
                dataset = dict(dataset)
                biosample = dataset.get("biosample")
                if isinstance(biosample, dict) and "organism" in biosample and "organisms" not in biosample:
                    biosample = _renamed(biosample, "organism", "organisms")
                    biosample["organisms"] = [biosample["organisms"]]
                    dataset["biosample"] = biosample
                    edits.append(Edit("rename", ("datasets", d, "biosample", "organism"), "organisms"))
                    edits.append(Edit("wrap_list", ("datasets", d, "biosample", "organism")))
                acquisition = dataset.get("acquisition")
                if isinstance(acquisition, dict) and "imaging_method" in acquisition and not isinstance(
                    acquisition["imaging_method"], list
                ):
                    acquisition = dict(acquisition)
                    acquisition["imaging_method"] = [acquisition["imaging_method"]]
                    dataset["acquisition"] = acquisition
                    edits.append(Edit("wrap_list", ("datasets", d, "acquisition", "imaging_method")))
            new_datasets.append(dataset)
        out["datasets"] = new_datasets
    if "schema_version" in out:
        out["schema_version"] = 2
        edits.append(Edit("set", ("schema_version",), 2))
    else:
        out = {"schema_version": 2, **out}
        edits.append(Edit("insert_first", (), ("schema_version", 2)))
    return out, edits


# from-version -> migration to the next version
MIGRATIONS: dict[int, Migration] = {1: v1_to_v2}


def record_version(raw: Any) -> int | None:
    """The schema version a raw record is written for (None: cannot tell)."""
    if not isinstance(raw, dict):
        return None
    version = raw.get("schema_version")
    if isinstance(version, int) and not isinstance(version, bool):
        return version
    if version is None and _looks_like_v1(raw):
        return 1
    return None


def _looks_like_v1(raw: dict[str, Any]) -> bool:
    if "license" in raw:
        return True
    datasets = raw.get("datasets")
    for dataset in datasets if isinstance(datasets, list) else []:
        if isinstance(dataset, dict):
            biosample = dataset.get("biosample")
            if isinstance(biosample, dict) and "organism" in biosample:
                return True
    return False


def needs_migration(raw: Any) -> bool:
    version = record_version(raw)
    return version is not None and version < SCHEMA_VERSION


class MigrationError(InvalidInputError):
    """The record cannot be migrated (unknown or newer version)."""


def migrate_raw(raw: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[int, list[Edit]]]]:
    """The record upgraded to the current version, with each step's edits."""
    version = record_version(raw)
    if version is None:
        raise MigrationError("the record has no usable `schema_version`")
    if version > SCHEMA_VERSION:
        raise MigrationError(
            f"the record is written for schema version {version}, newer than this builder's {SCHEMA_VERSION}; "
            "update the builder"
        )
    steps: list[tuple[int, list[Edit]]] = []
    while version < SCHEMA_VERSION:
        if version not in MIGRATIONS:
            raise MigrationError(f"no migration from schema version {version}")
        raw, edits = MIGRATIONS[version](raw)
        steps.append((version, edits))
        version += 1
    return raw, steps


# ---------------------------------------------------------------- editing the text in place

def _line_start(text: str, offset: int) -> int:
    return text.rfind("\n", 0, offset) + 1


def _apply_edits(text: str, doc: YamlDocument, edits: list[Edit]) -> str | None:
    """The text with the edits applied, or None when an edit has no place in it."""
    changes: list[tuple[int, int, str]] = []  # (start, end, replacement)
    for edit in edits:
        if edit.op == "rename":
            key_span = doc.key_spans.get(edit.path)
            if key_span is None:
                return None
            changes.append((key_span[0], key_span[1], str(edit.value)))
        elif edit.op == "set":
            span = doc.value_spans.get(edit.path)
            if span is None or span[2] != "scalar":
                return None
            changes.append((span[0], span[1], str(edit.value)))
        elif edit.op == "insert_first":
            span = doc.value_spans.get(())
            if span is None or span[2] != "block_map":
                return None
            start = _line_start(text, span[0])
            key, value = edit.value
            changes.append((start, start, f"{key}: {value}\n"))
        elif edit.op == "wrap_list":
            span = doc.value_spans.get(edit.path)
            if span is None:
                return None
            start, end, kind = span
            if kind != "block_map":
                changes.append((start, start, "["))
                changes.append((end, end, "]"))
                continue
            column = start - _line_start(text, start)
            changes.append((start, start, "- "))
            # Indent the rest of the block (and comments inside it) under the new "- ".
            position = text.find("\n", start, end)
            while position != -1 and position + 1 < end:
                line_start = position + 1
                line_end = text.find("\n", line_start)
                line = text[line_start: line_end if line_end != -1 else len(text)]
                indent = len(line) - len(line.lstrip(" "))
                if line.strip() and indent >= column:
                    changes.append((line_start, line_start, "  "))
                position = line_end
        else:  # pragma: no cover - Edit.op is a closed set
            return None
    for start, end, replacement in sorted(changes, key=lambda c: (c[0], c[1]), reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


@dataclass(slots=True)
class Rewrite:
    text: str
    from_version: int
    to_version: int
    comments_kept: bool


def rewrite_text(text: str) -> Rewrite | None:
    """Migrate a record's text to the current version (None: already current).

    Raises MigrationError when the text is not a readable record or cannot be
    migrated.
    """
    doc = load_yaml(text, spans=True, max_bytes=16 * 1024 * 1024, max_nodes=1_000_000)
    if not doc.ok:
        problem = doc.diagnostics[0] if doc.diagnostics else None
        where = f" (line {problem.line})" if problem and problem.line else ""
        raise MigrationError(f"the file is not readable YAML{where}: {problem.message if problem else ''}")
    version = record_version(doc.data)
    if version is None:
        raise MigrationError("the record has no usable `schema_version`")
    if version == SCHEMA_VERSION:
        return None
    migrated, steps = migrate_raw(doc.data)
    current = text
    kept = True
    for _, edits in steps:
        step_doc = load_yaml(current, spans=True, max_bytes=16 * 1024 * 1024, max_nodes=1_000_000)
        patched = _apply_edits(current, step_doc, edits) if step_doc.ok else None
        if patched is None:
            kept = False
            break
        current = patched
    if kept:
        check = load_yaml(current, max_bytes=16 * 1024 * 1024, max_nodes=1_000_000)
        kept = check.ok and check.data == migrated
    if not kept:
        current = _dump(migrated, text)
    return Rewrite(text=current, from_version=version, to_version=SCHEMA_VERSION, comments_kept=kept)


def _dump(raw: dict[str, Any], original: str) -> str:
    """A fresh rendering of the record, keeping the leading comment lines (e.g. the $schema line)."""
    header = []
    for line in original.splitlines():
        if line.startswith("#"):
            header.append(line)
        else:
            break
    body = yaml.safe_dump(raw, sort_keys=False, allow_unicode=True, width=100)
    return "\n".join(header) + ("\n" if header else "") + body


__all__ = [
    "MIGRATIONS",
    "Edit",
    "MigrationError",
    "Rewrite",
    "migrate_raw",
    "needs_migration",
    "record_version",
    "rewrite_text",
    "v1_to_v2",
]
