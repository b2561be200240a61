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

from builder import gitops
from builder.catalog import PastVersion
from builder.model.study import Study
from builder.settings import ArchiveSettings, load_settings
from builder.submission import as_int, parse_record_text


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


def _study(raw: dict | None, settings: ArchiveSettings) -> Study | None:
    if raw is None:
        return None
    try:
        return Study.model_validate(
            raw, context={"accession_pattern": settings.accession_pattern, "licences": settings.licences}
        )
    except ValueError:
        return None  # an old record that today's model rejects is listed without content


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
    for (commit, date), text in zip(commits, texts):
        raw = parse_record_text(text, settings)
        if raw is None:
            continue  # deleted or unreadable in this commit
        version = as_int(raw.get("version", 1))
        if version is None:
            continue
        first_seen.setdefault(version, date)
        last[version] = (commit, raw)
    return [
        PastVersion(version=v, date=first_seen[v], commit=last[v][0], study=_study(last[v][1], settings))
        for v in sorted(last)
    ]
