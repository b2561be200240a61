"""Derived studies: every ``derived_from`` source checked against the archive itself.

A derived study (annotations, segmentations, tracks, feature tables, trained
models) names the archived studies it was made from. A source must be a study
of this archive, released by the one publication policy
(builder.model.publication) in the version named, holding the image named, and
that image's content must still be what the derived data were made from: the
``checksum`` is compared with the source version's images.lock
(``content.tree_checksum``, the zarr-checksum digest custody publishes in the
version's manifest too). Earlier versions are read from Git history, so a
derived study may pin a version that a later one replaced.

:func:`check_derived_sources` adds the findings (DRV001-DRV008) to each record;
`bioarchive validate` calls it after loading the records.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from builder.core.checks import Check, Diagnostic
from builder.core.errors import ArchiveError
from builder.core.layout import lock_path, record_path
from builder.core.settings import ArchiveSettings
from builder.curation import derived_checks as drv
from builder.curation.lock import ImageLock, LockError, parse_lock
from builder.model.publication import Visibility, study_visibility, version_visibility
from builder.model.study import DerivedSource, Study
from builder.records.load import RecordResult, RecordSet

# Names listed in a message when an image is not found: enough to spot a typo, never a whole screen.
MAX_LISTED_NAMES = 8


@dataclass(slots=True)
class SourceVersion:
    """One version of a source study: its record (None if it no longer reads) and its lock at that version."""

    study: Study | None
    lock: ImageLock | None


@dataclass(slots=True)
class SourceStudy:
    """What the archive holds of one accession named as a source."""

    accession: str
    current: Study | None  # None: no such study, or its record does not validate
    problem: str | None = None  # why ``current`` is None
    versions: dict[int, SourceVersion] = field(default_factory=dict)
    history_read: bool = False
    history_problem: str | None = None


class SourceIndex:
    """Source studies looked up once each: the loaded records first, then the archive's files and Git history."""

    def __init__(self, root: Path, settings: ArchiveSettings, records: RecordSet) -> None:
        self.root = Path(root)
        self.settings = settings
        self.loaded = {r.study.accession: r for r in records.records if r.study is not None}
        self._found: dict[str, SourceStudy] = {}

    def study(self, accession: str) -> SourceStudy:
        if accession not in self._found:
            self._found[accession] = self._look_up(accession)
        return self._found[accession]

    def _look_up(self, accession: str) -> SourceStudy:
        if not self.settings.accession_pattern.fullmatch(accession):
            # checked before any path is made from it: no '../' or other folder becomes a lookup
            example = self.settings.format_accession(1)
            return SourceStudy(accession, None, f"it is not an accession of this archive (they look like {example})")
        relative = record_path(accession)
        result = self.loaded.get(accession)
        if result is None:
            path = self.root / relative
            if path.is_symlink() or not path.is_file():
                return SourceStudy(accession, None, f"there is no {relative}")
            from builder.records.load import load_record

            result = load_record(path, self.settings, root=self.root, hints=False)
        if result.study is None or not result.ok:
            return SourceStudy(accession, None, f"its record {result.file} has errors, so it cannot be a source")
        current = result.study
        source = SourceStudy(accession, current)
        source.versions[current.version] = SourceVersion(current, self._current_lock(accession))
        return source

    def _current_lock(self, accession: str) -> ImageLock | None:
        path = self.root / lock_path(accession)
        if path.is_symlink() or not path.is_file():
            return None
        try:
            return parse_lock(path.read_bytes())
        except LockError:
            return None  # the source's own validation reports it; here it simply pins nothing

    def version(self, source: SourceStudy, version: int) -> SourceVersion | None:
        """The record and lock of an earlier ``version``, from the Git history of the source's record."""
        if version in source.versions:
            return source.versions[version]
        if not source.history_read:
            source.history_read = True
            self._read_history(source)
        return source.versions.get(version)

    def _read_history(self, source: SourceStudy) -> None:
        from builder.catalog.history import version_history
        from builder.core import git as gitops

        try:
            history = version_history(self.root, Path(record_path(source.accession)), settings=self.settings)
            locks = gitops.files_at(self.root, [(p.commit, Path(lock_path(source.accession))) for p in history])
        except ArchiveError as exc:
            source.history_problem = str(exc)
            return
        for past, text in zip(history, locks, strict=True):
            lock = None
            if text is not None:
                try:
                    lock = parse_lock(text)
                except LockError:
                    lock = None
            source.versions.setdefault(past.version, SourceVersion(past.study, lock))


def check_derived_sources(root: Path, settings: ArchiveSettings, records: RecordSet,
                          today: dt.date) -> None:
    """Add the DRV findings of every record that names ``derived_from`` sources to that record."""
    index: SourceIndex | None = None
    for record in records.records:
        study = record.study
        if study is None or not study.derived_from:
            continue
        index = index or SourceIndex(root, settings, records)
        for number, source in enumerate(study.derived_from):
            record.diagnostics.extend(_check_source(index, record, study, number, source, today))


def _check_source(index: SourceIndex, record: RecordResult, study: Study, number: int,
                  given: DerivedSource, today: dt.date) -> list[Diagnostic]:
    def finding(check: Check, message: str, part: str | None = None) -> Diagnostic:
        from builder.records.yaml_source import format_path

        loc: tuple[str | int, ...] = ("derived_from", number) + ((part,) if part else ())
        line, column = record.position(loc) or (None, None)
        return Diagnostic.of(check, message, file=record.file, line=line, column=column, field=format_path(loc),
                             extra={"source": given.accession})

    where = f"derived_from[{number}]"
    if given.accession == study.accession:
        return [finding(drv.SOURCE_IS_SELF, f"{where} names {study.accession}, this study itself", "accession")]
    if (given.image is None) != (given.checksum is None):
        present, missing = ("image", "checksum") if given.checksum is None else ("checksum", "image")
        return [finding(drv.SOURCE_CHECKSUM_MISSING,
                        f"{where} ({given.accession}) gives `{present}` without `{missing}`", present)]
    source = index.study(given.accession)
    if source.current is None:
        return [finding(drv.SOURCE_UNKNOWN, f"{where} names {given.accession}, which is not a study of this archive: "
                                            f"{source.problem}", "accession")]
    current = source.current
    version = given.version or current.version
    if version > current.version:
        return [finding(drv.SOURCE_VERSION_UNKNOWN,
                        f"{where} names version {version} of {given.accession}, whose latest version is "
                        f"{current.version}", "version")]
    found = index.version(source, version)
    if found is None:
        why = f" (its history could not be read: {source.history_problem})" if source.history_problem else ""
        return [finding(drv.SOURCE_VERSION_UNKNOWN,
                        f"{where} names version {version} of {given.accession}, which is not in the archive's "
                        f"history of that study{why}", "version")]
    if version == current.version:
        visibility: Visibility | None = study_visibility(current, today)
    else:
        visibility = version_visibility(version, found.study, current, today)
    label = f"{given.accession} version {version}"
    if visibility is Visibility.EMBARGOED:
        release = found.study.release_date.isoformat() if found.study is not None else "an unknown date"
        return [finding(drv.SOURCE_NOT_RELEASED,
                        f"{where} names {label}, which is not released yet (release date {release})",
                        "accession")]
    findings: list[Diagnostic] = []
    if visibility is Visibility.TOMBSTONE:
        reason = current.withdrawal_reason or "no reason given"
        findings.append(finding(drv.SOURCE_WITHDRAWN, f"{where} names {label}, which was withdrawn: {reason}",
                                "accession"))
    if given.image is None or given.checksum is None:
        return findings  # the whole study version is the source; versions are immutable once published
    if found.study is None:
        findings.append(finding(drv.SOURCE_IMAGE_UNKNOWN, f"{where}: the record of {label} no longer reads, so "
                                                          f"image '{given.image}' cannot be checked", "image"))
        return findings
    names = [image.name for _, image in found.study.images()]
    if given.image not in names:
        shown = ", ".join(names[:MAX_LISTED_NAMES]) + (f" and {len(names) - MAX_LISTED_NAMES} more"
                                                       if len(names) > MAX_LISTED_NAMES else "")
        findings.append(finding(drv.SOURCE_IMAGE_UNKNOWN,
                                f"{where}: {label} has no image '{given.image}' (its images: {shown})", "image"))
        return findings
    entry = found.lock.images.get(given.image) if found.lock is not None else None
    pinned = entry.content.tree_checksum if entry is not None and entry.content is not None else None
    if pinned is None:
        findings.append(finding(drv.SOURCE_CHECKSUM_DIFFERS,
                                f"{where}: {label} pins no content checksum for image '{given.image}' (its "
                                f"images.lock has none), so the checksum {given.checksum} cannot be confirmed",
                                "checksum"))
    elif given.checksum.strip().lower() != pinned:
        findings.append(finding(drv.SOURCE_CHECKSUM_DIFFERS,
                                f"{where}: checksum {given.checksum} is not the content checksum {pinned} that "
                                f"{label} pins for image '{given.image}'", "checksum"))
    return findings
