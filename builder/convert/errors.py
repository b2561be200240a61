"""Conversion and upload problems: a registered check id, the file, what is wrong and what to do.

These are errors of the depositor's own files on their own machine, not
diagnostics of a record, so they are raised and printed by the commands
rather than collected; their ids, titles and fixes are declared once in
builder.convert.checks.
"""

from __future__ import annotations

from dataclasses import dataclass

from builder.convert import checks
from builder.core.checks import Check
from builder.core.errors import InvalidInputError


@dataclass
class ConversionError(InvalidInputError):
    code: str
    file: str
    message: str

    def __post_init__(self) -> None:
        if not isinstance(getattr(checks, self.code, None), Check):
            raise ValueError(f"unknown conversion error code {self.code}")

    @property
    def check(self) -> Check:
        return getattr(checks, self.code)

    @property
    def fix(self) -> str:
        return self.check.fix

    def __str__(self) -> str:
        return f"{self.file}: {self.code} {self.message}\n  fix: {self.fix}"

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "file": self.file, "message": self.message, "fix": self.fix}
