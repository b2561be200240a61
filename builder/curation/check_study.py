"""Checking studies fully, written once: records, image data and images.lock.

`bioarchive validate`, the review report and fixity all ask the same question of
a study: does its record validate, can its images be read and do they follow
NGFF, and is the data still what images.lock pinned? :func:`check_studies`
answers it for loaded records; :func:`validate_archive` adds the choice of
records (paths or a Git ref) and the pull-request rules that validate prints.

Image findings are placed on the record's `url:` line of the image (the data
stage's own location inside the image is kept in ``extra["image_field"]``), so
a depositor sees every problem in the file they edit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from builder.core.checks import Diagnostic, Severity, sort_diagnostics
from builder.core.errors import StageError
from builder.core.layout import RECORD_NAME, STUDIES_DIR, image_key
from builder.core.settings import ArchiveSettings
from builder.curation import checks as sub
from builder.records.checks import REC001
from builder.records.load import RecordResult, RecordSet

if TYPE_CHECKING:
    from builder.data.inspection import ImageOutcome
    from builder.model.study import Study

VALIDATE_FORMAT = "bioarchive-validate"
VALIDATE_VERSION = 1

Loc = tuple[str | int, ...]


@dataclass(slots=True)
class StudyCheck:
    """One record fully checked: its findings live on the record, its images' outcomes here."""

    record: RecordResult
    # image key "<ACCESSION>/<dataset>/<image>" -> what the data stage found (empty without data)
    outcomes: dict[str, ImageOutcome] = field(default_factory=dict)

    @property
    def study(self) -> Study | None:
        return self.record.study

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return self.record.diagnostics

    @property
    def ok(self) -> bool:
        return self.record.ok


@dataclass(slots=True)
class ArchiveCheck:
    """What validate reports: every record checked, plus findings tied to no record."""

    records: RecordSet
    studies: list[StudyCheck]
    data_checked: bool

    @property
    def ok(self) -> bool:
        return self.records.ok

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return self.records.diagnostics

    def to_dict(self) -> dict[str, Any]:
        """The `validate --format json` document (stable: see builder.commands.validate)."""
        return {
            "format": VALIDATE_FORMAT,
            "version": VALIDATE_VERSION,
            "ok": self.ok,
            "summary": {"records": len(self.records.records), **count_severities(self.diagnostics)},
            "records": [
                {
                    "file": r.file,
                    "accession": r.accession,
                    "valid": r.ok,
                    "completeness": r.completeness,
                    "diagnostics": [d.to_dict() for d in sort_diagnostics(r.diagnostics)],
                }
                for r in self.records.records
            ],
            "diagnostics": [d.to_dict() for d in sort_diagnostics(self.records.extra_diagnostics)],
        }


def count_severities(diagnostics: list[Diagnostic]) -> dict[str, int]:
    counts = {"errors": 0, "warnings": 0, "info": 0}
    names = {Severity.ERROR: "errors", Severity.WARNING: "warnings", Severity.INFO: "info"}
    for d in diagnostics:
        counts[names[d.severity]] += 1
    return counts


# ---------------------------------------------------------------- the one service

def readable(study: Study) -> bool:
    """Whose images are read: a withdrawn study's data may be gone for good reasons (its page is a tombstone)."""
    return study.status.value != "withdrawn"


def check_studies(
    root: Path,
    settings: ArchiveSettings,
    records: RecordSet,
    *,
    data: bool = True,
    read: Callable[[Study], bool] = readable,
    thumbnails: bool = False,
    cache_dir: Path | None = None,
    hints: bool = True,
    content: bool = False,
    today: dt.date | None = None,
    image_reuse: bool = False,
) -> list[StudyCheck]:
    """Check every loaded record fully: its images (when ``data``) and images.lock.

    With ``content`` (review), every byte of each image is also compared with the
    content checksum in images.lock (SUB026; builder.curation.lock.check_content).

    ``records`` come from :func:`builder.records.load.load_records`, which has
    already checked the records themselves. For each valid study ``read``
    accepts, every image is inspected (all of them in one concurrent run) and
    its findings are added to the record's diagnostics, with the lock's
    fingerprint check (SUB021) and the channel hints that only the data can
    give (CMP012, when ``hints``). With ``image_reuse`` every record, read or not, is compared
    with the other published studies' images (SUB040-041, builder.curation.image_reuse; ``today``
    decides what is published); validate and review do not pass it yet (the shared test archive
    puts every study on one image). Raises :class:`StageError` when the image
    checks as a whole cannot run (e.g. no worker process could start).
    """
    from builder.curation.image_reuse import check_image_reuse
    from builder.curation.lock import check_content, check_lock, image_targets
    from builder.curation.submission import utc_today

    if image_reuse:  # another published study's images (SUB040-041)
        check_image_reuse(root, settings, records, today or utc_today())
    checks = [StudyCheck(record=r) for r in records.records]
    if not data:
        return checks
    to_read = [c for c in checks if c.study is not None and read(c.study)]
    targets = [t for c in to_read for t in image_targets(c.study)]
    if not targets:
        return checks
    from builder.data.inspection import inspect_images  # imported here: zarr is slow to import

    try:
        outcomes = inspect_images(targets, settings, root, thumbnails=thumbnails, cache_dir=cache_dir)
    except Exception as exc:  # the data stage isolates each image; this is the machinery failing
        raise StageError(
            f"the image checks could not run ({type(exc).__name__}: {exc}); "
            "run with --no-data to check the records alone"
        ) from exc
    for check in to_read:
        study = check.study
        assert study is not None  # to_read holds valid studies only
        prefix = f"{study.accession}/"
        check.outcomes = {k: o for k, o in outcomes.items() if k.startswith(prefix)}
        check.record.diagnostics.extend(_image_findings(check.record, study, check.outcomes))
        check.record.diagnostics.extend(check_lock(root, study, check.outcomes))
        if content:
            check.record.diagnostics.extend(check_content(root, study, settings))
        if hints:
            check.record.diagnostics.extend(_channel_hints(check.record, study, check.outcomes))
    return checks


def image_locations(study: Study) -> dict[str, Loc]:
    """Image key -> the record path of its `url:` (the first image of a repeated name: XRF004 reports the rest)."""
    where: dict[str, Loc] = {}
    for d, dataset in enumerate(study.datasets):
        for i, image in enumerate(dataset.images):
            where.setdefault(image_key(study.accession, dataset.name, image.name), ("datasets", d, "images", i, "url"))
    return where


def _image_findings(record: RecordResult, study: Study, outcomes: dict[str, ImageOutcome]) -> list[Diagnostic]:
    from builder.records.yaml_source import format_path

    found: list[Diagnostic] = []
    for key, loc in image_locations(study).items():
        outcome = outcomes.get(key)
        if outcome is None:
            continue
        line, column = record.position(loc) or (None, None)
        url_field = format_path(loc)
        for d in outcome.diagnostics:
            extra = dict(d.extra)
            if d.field and d.field != url_field:
                # The data stage names the object inside the image; keep it, point at the record field.
                extra["image_field"] = d.field
            found.append(Diagnostic(
                check=d.check, severity=d.severity, message=d.message, hint=d.hint,
                file=d.file or record.file, line=d.line or line, column=d.column or column,
                field=url_field, extra=extra,
            ))
    return found


def _channel_hints(record: RecordResult, study: Study, outcomes: dict[str, ImageOutcome]) -> list[Diagnostic]:
    from builder.core.checks import get_check
    from builder.model.completeness import channel_hints

    channels: dict[str, int] = {}  # dataset name -> most channels any of its images has
    for key, loc in image_locations(study).items():
        outcome = outcomes.get(key)
        if outcome is None or outcome.facts is None or outcome.facts.kind == "labels":
            continue
        dataset_name = study.datasets[int(loc[1])].name
        channels[dataset_name] = max(channels.get(dataset_name, 0), len(outcome.facts.channels))
    if not channels:
        return []
    found = []
    for hint in channel_hints(study, channels):
        line, column = record.position(hint.path) or (None, None)
        # hint.check is an id the model computed (the model imports no checks module)
        found.append(Diagnostic.of(get_check(hint.check), hint.message, file=record.file, line=line,
                                   column=column, field=hint.field))
    return found


# ---------------------------------------------------------------- validate: which records, which rules

def validate_archive(
    root: Path,
    settings: ArchiveSettings,
    paths: list[Path] | None = None,
    *,
    changed_since: str | None = None,
    data: bool = True,
) -> ArchiveCheck:
    """`bioarchive validate`: check the records named by ``paths`` (None: all of them).

    With ``changed_since`` only records of studies changed since that Git ref
    are checked, with the pull-request rules (builder.curation.submission) and
    a warning for every changed file outside the study folders (SUB017).
    Raises :class:`builder.core.git.GitError` for an unknown ref.
    """
    from builder.records.load import load_records

    extra: list[Diagnostic] = []
    targets: list[Path] | None = None  # None: every record
    if paths:
        targets, missing = record_targets(root, paths)
        extra.extend(missing)
    if changed_since is not None:
        from builder.core import git as gitops
        from builder.curation.submission import check_changes

        changed = gitops.changed_paths(root, changed_since)
        changed_records = records_of_changed_studies(root, changed)
        if targets is None:
            targets = changed_records
        else:
            wanted = {p.resolve() for p in changed_records}
            targets = [p for p in targets if p.resolve() in wanted]
        extra.extend(check_changes(root, changed_since, settings))
        extra.extend(outside_file_warnings(outside_study_files(root, settings, changed)))

    records = load_records(root, settings, targets)
    from builder.curation.derived import check_derived_sources
    from builder.curation.submission import utc_today

    check_derived_sources(root, settings, records, utc_today())  # sources of derived studies (DRV)
    # Findings about a record's file (e.g. pull-request rules) go with that record.
    by_file = {r.file: r for r in records.records}
    for diagnostic in extra:
        owner = by_file.get(diagnostic.file or "")
        (owner.diagnostics if owner is not None else records.extra_diagnostics).append(diagnostic)
    studies = check_studies(root, settings, records, data=data)
    return ArchiveCheck(records=records, studies=studies, data_checked=data)


def record_targets(root: Path, paths: list[Path]) -> tuple[list[Path], list[Diagnostic]]:
    """Record files that ``paths`` name (files, study folders, folders of studies), and those that name none."""
    from builder.records.load import record_paths

    targets: list[Path] = []
    problems: list[Diagnostic] = []
    for given in paths:
        path = given if given.is_absolute() else Path.cwd() / given
        if path.is_dir():
            if (path / RECORD_NAME).is_file():
                targets.append(path / RECORD_NAME)
            elif path.resolve() == (root / STUDIES_DIR).resolve():
                targets.extend(record_paths(root))
            else:
                found = sorted(path.glob(f"*/{RECORD_NAME}"))
                if not found:
                    problems.append(Diagnostic.of(
                        REC001, f"{given} holds no study records (no */{RECORD_NAME})", file=str(given),
                    ))
                targets.extend(found)
        elif path.is_file():
            targets.append(path)
        else:
            problems.append(Diagnostic.of(REC001, f"{given} does not exist", file=str(given)))
    return targets, problems


def records_of_changed_studies(root: Path, changed: list[Path]) -> list[Path]:
    """Records of studies with any changed file (a changed images.lock re-checks its record)."""
    folders = {Path(rel).parts[1] for rel in changed if len(Path(rel).parts) >= 3 and Path(rel).parts[0] == STUDIES_DIR}
    records = (root / STUDIES_DIR / f / RECORD_NAME for f in sorted(folders))
    return [p for p in records if p.is_file()]


# ---------------------------------------------------------------- files a submission changes outside studies/

@dataclass(frozen=True, slots=True)
class OutsideFile:
    """A file a pull request changes outside the study folders, and why a curator should look at it."""

    path: str  # relative to the archive root, POSIX
    kind: str  # archive file | site page | storage data | tests | other
    note: str
    # SUB016 already refuses archive files; everything else is shown with a warning (SUB017).
    refused: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "note": self.note, "refused": self.refused}


def outside_study_files(root: Path, settings: ArchiveSettings, changed: list[Path]) -> list[OutsideFile]:
    """Every changed file outside studies/, when the change also touches studies/ (a submission)."""
    from builder.core.settings import storage_root_path
    from builder.curation.submission import ARCHIVE_FILES

    names = sorted({PurePosixPath(Path(p).as_posix()).as_posix() for p in changed})
    if not any(n.startswith(STUDIES_DIR + "/") for n in names):
        return []
    storage = storage_root_path(settings, root)
    storage_rel: str | None = None
    if storage is not None:
        try:
            storage_rel = storage.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            storage_rel = None  # outside the repository: a pull request cannot change it
    folders = tuple(f for f in ARCHIVE_FILES if f.endswith("/"))
    found = []
    for name in names:
        if name.startswith(STUDIES_DIR + "/"):
            continue
        if name in ARCHIVE_FILES or name.startswith(folders):
            found.append(OutsideFile(name, "archive file", "decides how studies are checked or published", True))
        elif name.startswith("docs/"):
            note = "hand-written site page, published as it is"
            if _holds_script(root / name):
                note += "; it holds a <script> element, which would run on the archive's site"
            found.append(OutsideFile(name, "site page", note))
        elif storage_rel and storage_rel != "." and (name == storage_rel or name.startswith(storage_rel + "/")):
            found.append(OutsideFile(name, "storage data",
                                     "image data under the storage root, possibly another study's"))
        elif name.startswith("tests/"):
            found.append(OutsideFile(name, "tests", "test code, which CI runs with the pull request's checkout"))
        else:
            found.append(OutsideFile(name, "other", "outside the study folders"))
    return found


def _holds_script(path: Path) -> bool:
    # Never follow a link a pull request adds; read a bounded prefix only.
    if path.is_symlink() or not path.is_file():
        return False
    with path.open("rb") as handle:
        return b"<script" in handle.read(1_000_000).lower()


def outside_file_warnings(files: list[OutsideFile]) -> list[Diagnostic]:
    """SUB017 for each outside file that SUB016 does not already refuse."""
    return [
        Diagnostic.of(sub.OUTSIDE_STUDY_FILES, f"{f.path} is changed in the same pull request as studies/: {f.note}",
                      file=f.path, extra={"kind": f.kind})
        for f in files
        if not f.refused
    ]
