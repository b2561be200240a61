"""The archive's exceptions: one base class, a few kinds that say who can fix what.

Every exception the builder raises on purpose derives from :class:`ArchiveError`,
so a command can catch that one class and print its message (never a
traceback). The kinds keep the built-in class that callers caught before
(``ValueError`` for bad input, ``RuntimeError`` for a stage or tool that
failed), so ``except ValueError`` around a lock or NGFF parse still works.

Findings about records and data are not exceptions: they are
:class:`builder.core.checks.Diagnostic` values. An exception here means a step
could not go on.

Private control-flow exceptions (e.g. ``_Refused`` in the YAML reader, which
stops an event loop) stay outside this hierarchy on purpose: they never leave
their module, so no caller should be able to catch them as archive errors.
"""

from __future__ import annotations


class ArchiveError(Exception):
    """Base of every error the builder raises on purpose; ``str(error)`` is the message to print."""


class InvalidInputError(ArchiveError, ValueError):
    """Input the builder was given (a record, lock file, NGFF document, name) cannot be used as it is."""


class StorageAccessError(ArchiveError):
    """Storage could not be reached or read, or refused a request (HTTP, S3, local folders)."""


class StageError(ArchiveError, RuntimeError):
    """A stage (pages, frames, MkDocs, the build) stopped; what it was writing is left untouched."""


class ToolError(ArchiveError, RuntimeError):
    """An outside tool the builder drives (Git) could not answer."""


class CommandError(ArchiveError):
    """A command cannot do what it was asked (e.g. renumber a study that has no record)."""
