"""Submission rules: what a pull request may do to the studies on the base branch.

Records validation (builder.records.load) checks each record on its own; these
rules compare the records a pull request touches with the base branch:

- a new study must not take an accession the base already uses (SUB001);
- a published study changes only as a new version: ``version`` raised by one
  and a changelog entry for it (SUB002, SUB003, SUB009), never re-embargoed
  (SUB008) and never given another accession (SUB005);
- a study is never deleted, only withdrawn (SUB004, SUB007);
- embargoed studies are reviewed like any other, and flagged (SUB006).

"Base" is the tip of the base branch the pull request merges into (what will
be published next to it); "changed" means changed since the merge base, as
:func:`builder.core.git.changed_paths` reports.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from builder.core import git as gitops
from builder.core.checks import Diagnostic, sort_diagnostics
from builder.core.layout import IMAGE_TABLE_NAME, LOCK_NAME, RECORD_NAME, STUDIES_DIR
from builder.core.settings import ArchiveSettings
from builder.curation import checks as sub
from builder.model.publication import is_released
from builder.records.raw import as_date, as_int, load_record_text, parse_record_text

# A changelog description shorter than this cannot say both what changed and why.
MIN_CHANGELOG_CHARS = 20

ChangeKind = Literal["added", "edited", "deleted", "unchanged"]


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def line_of_key(text: str | None, key: str) -> int | None:
    """1-based line of a top-level ``key:`` in a record's text (for annotations)."""
    if not text:
        return None
    pattern = re.compile(rf"^{re.escape(key)}\s*:", re.MULTILINE)
    m = pattern.search(text)
    return text.count("\n", 0, m.start()) + 1 if m else None


def _entry_where(change: StudyChange, version: int, key: str = "description") -> dict[str, int | None]:
    entries = (change.new_raw or {}).get("changelog")
    if isinstance(entries, list):
        for index, entry in enumerate(entries):
            if isinstance(entry, dict) and as_int(entry.get("version")) == version:
                return where(change, "changelog", index, key)
    return where(change, "changelog")


def where(change: StudyChange, *path: str | int) -> dict[str, int | None]:
    """line/column keyword arguments for a diagnostic about ``path`` in the new record."""
    position = change.new_positions.get(tuple(path))
    if position is not None:
        return {"line": position[0], "column": position[1]}
    return {"line": line_of_key(change.new_text, str(path[0])) if path else None}


@dataclass
class StudyChange:
    """One study folder a pull request touched, with its record before and after."""

    folder: str  # the folder name under studies/, normally the accession
    kind: ChangeKind
    new_text: str | None  # study.yaml in the work tree
    old_text: str | None  # study.yaml on the base branch
    new_raw: dict[str, Any] | None
    old_raw: dict[str, Any] | None
    # study.yaml was absent at the merge base but present at the base tip:
    # someone else's study took this folder after the branch was made.
    taken_since_branching: bool = False
    lock_changed: bool = False
    paths: list[Path] = field(default_factory=list)
    # Where each value of the new record is written: path -> (line, column).
    new_positions: dict[tuple, tuple[int, int]] = field(default_factory=dict)
    root: Path | None = None

    @property
    def symlinks(self) -> list[str]:
        """Changed paths in the folder that are symbolic links (or lie below one)."""
        if self.root is None:
            return []
        root = self.root
        return [
            p.as_posix() for p in self.paths
            if any(root.joinpath(*p.parts[: i + 1]).is_symlink() for i in range(len(p.parts)))
        ]

    @property
    def stray_files(self) -> list[str]:
        """Files this change adds or edits in the folder that are neither record nor lock."""
        return [
            p.as_posix() for p in self.paths
            if p.parts[2:] not in ((RECORD_NAME,), (LOCK_NAME,), (IMAGE_TABLE_NAME,)) and self.root is not None
            and p.as_posix() not in self.symlinks and (self.root / p).is_file()
        ]

    @property
    def record_path(self) -> str:
        return f"{STUDIES_DIR}/{self.folder}/{RECORD_NAME}"

    @property
    def accession(self) -> str:
        for raw in (self.new_raw, self.old_raw):
            if raw and isinstance(raw.get("accession"), str):
                return raw["accession"]
        return self.folder

    @property
    def record_changed(self) -> bool:
        return self.new_raw != self.old_raw


def _decode(data: bytes | None) -> str | None:
    return None if data is None else data.decode("utf-8", "replace")


def study_folders(paths: list[Path]) -> list[str]:
    """Study folder names that ``paths`` (repo-relative) touch."""
    # A bare file (or link) directly under studies/ counts too: it is flagged, not ignored.
    folders = {p.parts[1] for p in paths if len(p.parts) >= 2 and p.parts[0] == STUDIES_DIR}
    return sorted(folders)


# Files that decide how studies are checked or published. The pull-request check
# runs with the pull request's checkout, so a submission must not change them.
ARCHIVE_FILES = ("archive.toml", "ontology/", "schema/", "builder/", "templates/", "site_overrides/",
                 "mkdocs.yml", "pyproject.toml", ".github/", ".ci/", "scripts/")


def mixed_changes(paths: list[Path]) -> list[Diagnostic]:
    """SUB016 for archive files changed in the same pull request as studies."""
    names = [p.as_posix() for p in paths]
    if not any(n.startswith(STUDIES_DIR + "/") for n in names):
        return []
    return [
        Diagnostic.of(sub.MIXED_WITH_ARCHIVE_FILES,
                      f"{name} is changed in the same pull request as studies/; "
                      "a submission may change only files under studies/",
                      file=name)
        for name in names
        if name in ARCHIVE_FILES or name.startswith(tuple(f for f in ARCHIVE_FILES if f.endswith("/")))
    ]


def collect_changes(
    root: Path, base: str, settings: ArchiveSettings, *, paths: list[Path] | None = None
) -> list[StudyChange]:
    """Every study folder changed since the merge base with ``base``, before and after."""
    paths = gitops.changed_paths(root, base) if paths is None else paths
    fork_point = gitops.merge_base(root, base)
    changes: list[StudyChange] = []
    for folder in study_folders(paths):
        record = Path(STUDIES_DIR) / folder / RECORD_NAME
        lock = Path(STUDIES_DIR) / folder / LOCK_NAME
        work_file = root / record
        # Never follow links a pull request adds: they could point anywhere on the runner.
        new_text = work_file.read_text("utf-8", "replace") if _plain_file(root, record) else None
        old_text = _decode(gitops.file_at(root, base, record))
        at_fork = gitops.file_at(root, fork_point, record)
        new_lock = (root / lock).read_bytes() if _plain_file(root, lock) else None
        old_lock = gitops.file_at(root, base, lock)
        new_doc = load_record_text(new_text, settings)
        if new_text is None and old_text is None:
            kind: ChangeKind = "unchanged"  # a folder without a record: records validation reports it
        elif new_text is None:
            kind = "deleted"
        elif old_text is None:
            kind = "added"
        else:
            kind = "edited"
        changes.append(
            StudyChange(
                folder=folder,
                kind=kind,
                new_text=new_text,
                old_text=old_text,
                new_raw=new_doc.data if new_doc is not None and new_doc.ok and isinstance(new_doc.data, dict) else None,
                old_raw=parse_record_text(old_text, settings),
                taken_since_branching=at_fork is None and old_text is not None and new_text is not None,
                lock_changed=new_lock != old_lock,
                paths=[p for p in paths if p.parts[:2] == (STUDIES_DIR, folder)],
                new_positions=dict(new_doc.positions) if new_doc is not None else {},
                root=root,
            )
        )
    return changes


def _plain_file(root: Path, rel: Path) -> bool:
    """A regular file at root/rel reached without following a link inside the archive."""
    steps = [root.joinpath(*rel.parts[: i + 1]) for i in range(len(rel.parts))]
    return (root / rel).is_file() and not any(step.is_symlink() for step in steps)


def base_accessions(root: Path, base: str, settings: ArchiveSettings) -> set[str]:
    """Accessions in use on the base branch (study folder names)."""
    return {
        name for name in gitops.list_dir_at(root, base, Path(STUDIES_DIR)) if settings.accession_pattern.fullmatch(name)
    }


def _is_released(raw: dict[str, Any] | None, today: dt.date) -> bool:
    """The record (as plain data) was released by ``today``, by the publication policy."""
    return raw is not None and bool(raw) and is_released(as_date(raw.get("release_date")), today)


def _changelog(raw: dict[str, Any] | None) -> list[dict[str, Any]]:
    entries = (raw or {}).get("changelog") or []
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def check_change(
    change: StudyChange, settings: ArchiveSettings, taken: set[str], today: dt.date
) -> list[Diagnostic]:
    """The submission rules for one changed study."""
    out: list[Diagnostic] = []
    path = change.record_path
    new, old = change.new_raw, change.old_raw

    if change.kind == "deleted":
        released = _is_released(old, today)
        what = "published" if released else "embargoed (not yet released)"
        out.append(
            Diagnostic.of(
                sub.STUDY_DELETED,
                f"{path} was deleted, but {change.accession} is {what} on the base branch and deleting "
                "studies is refused: accessions and their pages stay for good. If you moved the folder, "
                "move it back.",
                file=path,
            )
        )
        return out

    for link in change.symlinks:
        out.append(
            Diagnostic.of(
                sub.SYMLINK,
                f"{link} is a symbolic link; commit the file itself (links are not followed, so this "
                "study was checked as if the file were missing)",
                file=link,
            )
        )

    for stray in change.stray_files:
        out.append(
            Diagnostic.of(
                sub.STRAY_FILE,
                f"{stray} is not part of a study record: a study folder holds only {RECORD_NAME}, "
                f"{LOCK_NAME} and {IMAGE_TABLE_NAME}; remove it (images are referenced by URL, not committed)",
                file=stray,
            )
        )

    if new is None:
        return out  # unreadable: records validation explains why

    if change.kind == "added" or change.taken_since_branching:
        accession = new.get("accession") if isinstance(new.get("accession"), str) else change.folder
        if change.taken_since_branching or accession in taken:
            out.append(
                Diagnostic.of(
                    sub.ACCESSION_TAKEN,
                    f"accession {accession} is already used on the base branch by another study "
                    "(it was probably taken after you created yours); run "
                    f"`bioarchive renumber {STUDIES_DIR}/{change.folder}` to move your study to the next "
                    "free accession, then commit",
                    file=path,
                    **where(change, "accession"),
                    field="accession",
                )
            )
        if change.kind == "added" or change.taken_since_branching:
            version = as_int(new.get("version"))
            if (version not in (None, 1)) or _changelog(new):
                out.append(
                    Diagnostic.of(
                        sub.NEW_STUDY_VERSION,
                        f"{accession} is a new study but has version {version} and "
                        f"{len(_changelog(new))} changelog entries; a new study starts at `version: 1` "
                        "with no changelog",
                        file=path,
                        **where(change, "version"),
                        field="version",
                    )
                )
    elif change.kind == "edited":
        if old is None:
            out.append(
                Diagnostic.of(
                    sub.RECORD_UNREADABLE_AT_BASE,
                    f"the base branch's {path} is not readable YAML, so the version rules were not checked",
                    file=path,
                )
            )
        else:
            out.extend(_check_edit(change, today))

    out.extend(_state_notes(change, today))
    return out


def _check_edit(change: StudyChange, today: dt.date) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    path = change.record_path
    new, old = change.new_raw or {}, change.old_raw or {}

    old_acc, new_acc = old.get("accession"), new.get("accession")
    if old_acc != new_acc:
        out.append(
            Diagnostic.of(
                sub.ACCESSION_CHANGED,
                f"accession was changed from {old_acc} to {new_acc}; accessions never change once assigned — "
                f"put `accession: {old_acc}` back",
                file=path,
                **where(change, "accession"),
                field="accession",
            )
        )

    if not _is_released(old, today):
        return out  # still embargoed on the base: editable freely until release

    if not change.record_changed and not change.lock_changed:
        return out  # only comments or layout changed

    what = "its record" if change.record_changed else "its images.lock (the pinned image data)"
    old_version, new_version = as_int(old.get("version")) or 1, as_int(new.get("version"))
    if new_version is None:
        new_version = 1 if "version" not in new else None
    expected = old_version + 1
    if new_version != expected:
        out.append(
            Diagnostic.of(
                sub.VERSION_NOT_RAISED,
                f"{change.accession} is published as version {old_version} and this change edits {what}, "
                f"so `version` must be {expected} (found {new.get('version', 'none')}); "
                f"set `version: {expected}` and add a changelog entry for version {expected}",
                file=path,
                **where(change, "version"),
                field="version",
            )
        )

    old_entries = _changelog(old)
    new_entries = _changelog(new)
    if new_entries[: len(old_entries)] != old_entries:
        out.append(
            Diagnostic.of(
                sub.CHANGELOG_REWRITTEN,
                f"the published changelog of {change.accession} was changed: its first {len(old_entries)} "
                "entries must stay exactly as published; restore them and add one new entry at the end",
                file=path,
                **where(change, "changelog"),
                field="changelog",
            )
        )

    # The entry belongs to the version the depositor raised to, or the one they should have.
    entry_version = new_version if new_version is not None and new_version > old_version else expected
    entry = next((e for e in new_entries if as_int(e.get("version")) == entry_version), None)
    if entry is None:
        out.append(
            Diagnostic.of(
                sub.CHANGELOG_MISSING,
                f"{change.accession} version {entry_version} has no changelog entry; add under `changelog:` "
                f"an entry with `version: {entry_version}`, `date: {today.isoformat()}` and a `description` "
                "saying what changed and why",
                file=path,
                **(where(change, "changelog") if "changelog" in new else where(change, "version")),
                field="changelog",
            )
        )
    else:
        out.extend(_check_entry_date(change, entry, old_entries, entry_version, today))
        description = str(entry.get("description") or "").strip()
        if len(description) < MIN_CHANGELOG_CHARS:
            out.append(
                Diagnostic.of(
                    sub.CHANGELOG_MISSING,
                    f"the changelog entry for version {entry_version} says only {description!r}; describe "
                    f"what changed and why in at least {MIN_CHANGELOG_CHARS} characters "
                    "(e.g. 'Corrected the pixel size of image cells: the microscope export was wrong')",
                    file=path,
                    **_entry_where(change, entry_version),
                    field="changelog",
                )
            )

    if old.get("licence") != new.get("licence"):
        out.append(
            Diagnostic.of(
                sub.LICENCE_CHANGED,
                f"the licence of published {change.accession} changes from {old.get('licence')} to "
                f"{new.get('licence')}; earlier versions stay available under {old.get('licence')} "
                "(licences cannot be revoked), and every rights holder must agree to the new one",
                file=path,
                **where(change, "licence"),
                field="licence",
            )
        )

    new_release = as_date(new.get("release_date"))
    if new_release is not None and new_release > today:
        out.append(
            Diagnostic.of(
                sub.RE_EMBARGOED,
                f"{change.accession} was released on {as_date(old.get('release_date'))} and cannot be embargoed "
                f"again until {new_release}; put the published `release_date` back",
                file=path,
                **where(change, "release_date"),
                field="release_date",
            )
        )
    return out


def _check_entry_date(
    change: StudyChange, entry: dict[str, Any], old_entries: list[dict[str, Any]], version: int, today: dt.date
) -> list[Diagnostic]:
    date = as_date(entry.get("date"))
    if date is None:
        return []  # a missing or malformed date is a records validation error
    earlier = [d for d in (as_date(e.get("date")) for e in old_entries) if d is not None]
    # A day of slack: the depositor's calendar may be ahead of UTC.
    if date > today + dt.timedelta(days=1):
        problem = f"is in the future (today is {today.isoformat()})"
    elif earlier and date < max(earlier):
        problem = f"is before the previous entry's date {max(earlier).isoformat()}"
    else:
        return []
    return [
        Diagnostic.of(
            sub.CHANGELOG_DATE,
            f"the changelog entry for version {version} is dated {date.isoformat()}, which {problem}; "
            "date it with the day of the change",
            file=change.record_path,
            **_entry_where(change, version, "date"),
            field="changelog",
        )
    ]


def _state_notes(change: StudyChange, today: dt.date) -> list[Diagnostic]:
    new = change.new_raw or {}
    out: list[Diagnostic] = []
    release = as_date(new.get("release_date"))
    if release is not None and release > today and not _is_released(change.old_raw, today):
        out.append(
            Diagnostic.of(
                sub.EMBARGOED,
                f"{change.accession} is embargoed until {release.isoformat()}: it is reviewed now, stays off "
                "the website (no page, no citation) and is published by the daily build on that date",
                file=change.record_path,
                **where(change, "release_date"),
                field="release_date",
            )
        )
    if new.get("status") == "withdrawn" and (change.old_raw or {}).get("status") != "withdrawn":
        out.append(
            Diagnostic.of(
                sub.WITHDRAWN,
                f"{change.accession} will be withdrawn: its page stays as a tombstone showing the reason "
                f"{str(new.get('withdrawal_reason') or '')!r}",
                file=change.record_path,
                **where(change, "status"),
                field="status",
            )
        )
    return out


def check_changes(
    root: Path, base: str, settings: ArchiveSettings, *, today: dt.date | None = None
) -> list[Diagnostic]:
    """The submission rules for every study changed since ``base`` (no image data read).

    Raises :class:`builder.core.git.GitError` when ``base`` is unknown or ``root``
    is not a repository; callers print its message.
    """
    from builder.curation import lock  # lock imports this module's constants

    today = today or utc_today()
    root = Path(root)
    taken = base_accessions(root, base, settings)
    paths = gitops.changed_paths(root, base)
    diagnostics: list[Diagnostic] = mixed_changes(paths)
    for change in collect_changes(root, base, settings, paths=paths):
        diagnostics.extend(check_change(change, settings, taken, today))
        if change.new_raw is not None:
            diagnostics.extend(lock.check_lock_entries(root, change.folder, change.new_raw))
    return sort_diagnostics(diagnostics)
