"""Earlier versions of a study, recovered from Git history, for version pages.

A study's versions are the values its ``version`` field took along the
first-parent history of the published branch (each merged pull request is
one step there). For every version this returns when it first appeared and
the last commit that still carried it: edits made while a study was under
embargo keep the version number, so the last state is what was published.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from builder.catalog.assembly import PastVersion
from builder.core import git as gitops
from builder.core.settings import ArchiveSettings, load_settings
from builder.model.publication import published_on
from builder.model.study import Study
from builder.records.migrations import migrate_raw
from builder.records.raw import as_int, parse_record_text


def _commits_touching(root: Path, ref: str, record_path: Path) -> list[tuple[str, dt.date]]:
    """(commit, commit date) of first-parent commits that changed the file, oldest first."""
    gitops.resolve_commit(root, ref)
    out = gitops.run_git(
        root, "log", "--first-parent", "--reverse", "--format=%H %cI", ref, "--", f"./{record_path.as_posix()}"
    ).stdout.decode()
    commits = []
    for line in out.splitlines():
        commit, _, when = line.partition(" ")
        commits.append((commit, dt.datetime.fromisoformat(when).astimezone(dt.UTC).date()))
    return commits


def _study(raw: dict | None) -> Study | None:
    """The published record as today's model reads it.

    Old records are migrated first, and validated without today's allow-lists:
    a version published under a licence the archive no longer accepts for new
    studies stays published under it.
    """
    if raw is None:
        return None
    try:
        migrated, _steps = migrate_raw(raw)
        return Study.model_validate(migrated)
    except ValueError:
        return None  # a record no migration can read is listed without content


def _published_on(version: int, study: Study | None, first_seen: dt.date) -> dt.date:
    """The day a version was published: the release date of the first, the changelog date of later ones."""
    if study is not None:
        if version == study.version and version == 1:
            return study.release_date
        for entry in study.changelog:
            if entry.version == version:
                return published_on(entry.date, study.release_date)
    return first_seen


def version_history(
    root: Path, record_path: Path, *, ref: str = "HEAD", settings: ArchiveSettings | None = None
) -> list[PastVersion]:
    """Every version of the record at ``record_path`` (relative to root) in the history of ``ref``.

    Sorted by version. A version is listed once: with the date it first
    appeared and the last commit (and record) that carried it. Whether a
    version was ever released is the caller's question (see
    ``PastVersion.study.release_date``).
    """
    root = Path(root)
    settings = settings or load_settings(root)
    record_path = Path(record_path)
    first_seen: dict[int, dt.date] = {}
    last: dict[int, tuple[str, dict | None]] = {}
    commits = _commits_touching(root, ref, record_path)
    texts = gitops.files_at(root, [(commit, record_path) for commit, _ in commits])
    for (commit, date), text in zip(commits, texts, strict=True):
        raw = parse_record_text(text, settings)
        if raw is None:
            continue  # deleted or unreadable in this commit
        version = as_int(raw.get("version", 1))
        if version is None:
            continue
        first_seen.setdefault(version, date)
        last[version] = (commit, raw)
    versions = []
    for v in sorted(last):
        study = _study(last[v][1])
        versions.append(PastVersion(version=v, date=_published_on(v, study, first_seen[v]), commit=last[v][0],
                                    study=study))
    return versions
