"""Every check the archive runs: a stable id, a severity, a title and a fix.

Checks are declared in their area's module (CHECK_MODULES) with
:func:`register`; :func:`all_checks` imports them all so that the CLI and the
generated metadata reference list every check from this code, never from a
hand-kept copy. Ids never change meaning once published; retire, don't reuse.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


@dataclass(frozen=True, slots=True)
class Check:
    id: str
    severity: Severity
    title: str
    fix: str
    area: str


_REGISTRY: dict[str, Check] = {}

# The modules that declare checks, one per area, in documentation order.
# Imported by name so that core imports no stage; a missing module is an error.
CHECK_MODULES = (
    "builder.records.checks",
    "builder.records.table_checks",
    "builder.data.checks",
    "builder.curation.checks",
    "builder.curation.publication_checks",
    "builder.curation.derived_checks",
    "builder.convert.checks",
)


def register(id: str, severity: Severity | str, title: str, fix: str, *, area: str) -> Check:
    """Declare a check once, at import time of its area module."""
    if id in _REGISTRY:
        raise RuntimeError(f"check id {id} declared twice")
    check = Check(id=id, severity=Severity(severity), title=title, fix=fix, area=area)
    _REGISTRY[id] = check
    return check


def all_checks() -> list[Check]:
    for module in CHECK_MODULES:
        importlib.import_module(module)
    return sorted(_REGISTRY.values(), key=lambda c: c.id)


def get_check(id: str) -> Check:
    if id not in _REGISTRY:
        all_checks()
    return _REGISTRY[id]


@dataclass(slots=True)
class Diagnostic:
    """One finding about one place: what is wrong, where, and how to fix it."""

    check: str
    severity: Severity
    message: str
    hint: str | None = None
    file: str | None = None
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based
    field: str | None = None  # e.g. "datasets[0].biosample.organisms[0].id"
    # dataclasses.field: the name `field` is shadowed by the attribute above
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def of(cls, check: Check, message: str, **kwargs: Any) -> Diagnostic:
        severity = kwargs.pop("severity", None) or check.severity
        hint = kwargs.pop("hint", None) or check.fix
        return cls(check=check.id, severity=Severity(severity), message=message, hint=hint, **kwargs)

    @property
    def location(self) -> str:
        parts = [self.file or "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "check": self.check,
            "severity": self.severity.value,
            "message": self.message,
            "hint": self.hint,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "field": self.field,
        }
        if self.extra:
            d["extra"] = self.extra
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Diagnostic:
        return cls(
            check=d["check"],
            severity=Severity(d["severity"]),
            message=d["message"],
            hint=d.get("hint"),
            file=d.get("file"),
            line=d.get("line"),
            column=d.get("column"),
            field=d.get("field"),
            extra=d.get("extra") or {},
        )


def has_errors(diagnostics: list[Diagnostic]) -> bool:
    return any(d.severity is Severity.ERROR for d in diagnostics)


def unique_diagnostics(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """Each finding once, in the order given: the same check and message at the same place is a repeat."""
    seen: set[tuple] = set()
    out = []
    for d in diagnostics:
        identity = (d.check, d.file, d.line, d.column, d.field, d.message)
        if identity not in seen:
            seen.add(identity)
            out.append(d)
    return out


def sort_diagnostics(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return sorted(
        diagnostics,
        key=lambda d: (d.file or "", d.line or 0, d.column or 0, d.severity.rank, d.check),
    )
