"""Fixity: is every archived copy still complete and still the bytes that were reviewed?

Run weekly by .github/workflows/fixity.yml (read credentials only), by
default on the archive's own store (:func:`run_archive_fixity`):

- every run compares every archived version's manifest
  (``<ACCESSION>/v<VERSION>/manifest.json``) with the store's listing:
  objects missing (FIX001), stray objects under an archived version (FIX002),
  objects of another size (FIX003);
- every run also re-hashes one slice of the objects: an object's slice is a
  hash of its key modulo ``[archive.fixity] cycle_runs`` and the run number
  is the ISO week (or ``--run``), so every object is re-hashed once every
  ``cycle_runs`` runs, and the slices never move as the archive grows.
  At most ``byte_budget`` object bytes are read (FIX006 when a slice is larger).
  Where the store keeps its own SHA-256 of an object (S3's
  ``x-amz-checksum-sha256``) and ``use_store_checksums`` is on, that is
  compared instead of downloading the object. A differing hash is FIX004.

:func:`run_fixity` (``bioarchive fixity --sources``) is the older check of the
depositors' sources: each released study's images are read again and their
metadata fingerprints compared with images.lock (SUB021, SUB030, SUB020,
SUB023, SUB024).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from builder.core.checks import Diagnostic, Severity, has_errors, sort_diagnostics
from builder.core.settings import ArchiveSettings
from builder.curation import checks as sub
from builder.curation.submission import utc_today
from builder.model.publication import is_public

REPORT_FORMAT = "bioarchive-fixity"
REPORT_VERSION = 1


@dataclass(slots=True)
class ImageFixity:
    name: str
    url: str
    status: str  # ok | changed | unreadable | not pinned
    pinned: str | None
    live: str | None


@dataclass(slots=True)
class StudyFixity:
    accession: str
    images: list[ImageFixity] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)


@dataclass(slots=True)
class FixityReport:
    today: dt.date
    studies: list[StudyFixity] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # accession -> why (embargoed, withdrawn)
    diagnostics: list[Diagnostic] = field(default_factory=list)  # records that could not be checked

    @property
    def problems(self) -> list[Diagnostic]:
        found = list(self.diagnostics)
        for s in self.studies:
            found.extend(s.diagnostics)
        return sort_diagnostics([d for d in found if d.severity is Severity.ERROR])

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": REPORT_FORMAT,
            "version": REPORT_VERSION,
            "date": self.today.isoformat(),
            "ok": self.ok,
            "summary": {
                "studies_checked": len(self.studies),
                "images_checked": sum(len(s.images) for s in self.studies),
                "problems": len(self.problems),
                "skipped": len(self.skipped),
            },
            "problems": [d.to_dict() for d in self.problems],
            "studies": [
                {
                    "accession": s.accession,
                    "ok": s.ok,
                    "images": [
                        {"name": i.name, "url": i.url, "status": i.status, "pinned": i.pinned, "live": i.live}
                        for i in s.images
                    ],
                }
                for s in self.studies
            ],
            "skipped": self.skipped,
        }


def run_fixity(root: Path, settings: ArchiveSettings, *, today: dt.date | None = None) -> FixityReport:
    """Check every published study under ``root``."""
    from builder.curation.check_study import check_studies
    from builder.curation.lock import LockError, check_lock_entries, image_name, image_targets, read_lock
    from builder.model.study import Status
    from builder.records.load import RecordSet, load_records

    root = Path(root)
    today = today or utc_today()
    report = FixityReport(today=today)
    records = load_records(root, settings, hints=False)
    studies = []
    for record in records.records:
        if record.study is None:
            errors = [d for d in record.diagnostics if d.severity is Severity.ERROR]
            report.diagnostics.extend(
                Diagnostic.of(
                    sub.IMAGE_UNREACHABLE,
                    f"{record.file} does not validate ({errors[0].check}: {errors[0].message}), so its data "
                    "could not be checked",
                    file=record.file,
                    hint="Repair the record on main (run `bioarchive validate` to see every error).",
                )
                for _ in errors[:1]
            )
            continue
        study = record.study
        if study.status is Status.WITHDRAWN:
            report.skipped[study.accession] = "withdrawn"
        elif not is_public(study, today):
            report.skipped[study.accession] = f"embargoed until {study.release_date.isoformat()}"
        else:
            studies.append((record, study))

    # The images are read by the one "check a study" service that validate and review use.
    checked = check_studies(root, settings, RecordSet(records=[r for r, _ in studies]), hints=False)
    outcomes = {key: outcome for check in checked for key, outcome in check.outcomes.items()}

    for record, study in studies:
        result = StudyFixity(accession=study.accession)
        folder = record.path.parent.name
        result.diagnostics.extend(
            d for d in check_lock_entries(root, folder, record.raw) if d.check != sub.LOCK_STALE_ENTRY.id
        )
        try:
            lock = read_lock(root, folder)
        except LockError:
            lock = None
        for target in image_targets(study):
            name = image_name(target.key)
            outcome = outcomes.get(target.key)
            pinned_entry = lock.images.get(name) if lock is not None else None
            pinned = pinned_entry.fingerprint if pinned_entry else None
            facts = outcome.facts if outcome is not None else None
            live = facts.fingerprint if facts is not None and facts.fingerprint else None
            image_errors = [d for d in (outcome.diagnostics if outcome else []) if d.severity is Severity.ERROR]
            if live is None or image_errors:
                status = "unreadable"
                reason = "; ".join(f"{d.check}: {d.message}" for d in image_errors[:3]) or "no metadata was returned"
                result.diagnostics.append(
                    Diagnostic.of(
                        sub.IMAGE_UNREACHABLE,
                        f"image '{name}' of {study.accession} ({target.url}) could not be read: {reason}",
                        file=record.file,
                        field=name,
                    )
                )
            elif pinned is None:
                status = "not pinned"
            elif pinned != live:
                status = "changed"
                result.diagnostics.append(
                    Diagnostic.of(
                        sub.LOCK_FINGERPRINT_CHANGED,
                        f"image '{name}' of {study.accession} ({target.url}) changed since it was pinned: "
                        f"{pinned} in images.lock, {live} now",
                        file=f"studies/{folder}/images.lock",
                        field=name,
                        extra={"pinned": pinned, "live": live},
                    )
                )
            else:
                status = "ok"
            result.images.append(ImageFixity(name=name, url=target.url, status=status, pinned=pinned, live=live))
        result.diagnostics = sort_diagnostics(result.diagnostics)
        report.studies.append(result)
    return report


def render_text(report: FixityReport) -> str:
    lines = []
    for s in report.studies:
        for image in s.images:
            lines.append(f"{image.status:>10}  {s.accession}/{image.name}  {image.url}")
    for accession, why in sorted(report.skipped.items()):
        lines.append(f"{'skipped':>10}  {accession}  ({why})")
    for d in report.problems:
        lines.append(f"ERROR {d.check} {d.location}: {d.message}")
        if d.hint:
            lines.append(f"      fix: {d.hint}")
    summary = report.to_dict()["summary"]
    lines.append(
        f"{summary['studies_checked']} published studies, {summary['images_checked']} images checked: "
        + ("no problems." if report.ok else f"{summary['problems']} problem(s).")
    )
    return "\n".join(lines) + "\n"


def render_markdown(report: FixityReport) -> str:
    from builder.curation.review import md, md_code, md_text

    summary = report.to_dict()["summary"]
    verdict = "✅ all published data is present and unchanged" if report.ok else f"❌ {summary['problems']} problem(s)"
    lines = [
        f"# Fixity check {report.today.isoformat()}",
        "",
        f"{summary['studies_checked']} published studies, {summary['images_checked']} images: {verdict}.",
        "",
    ]
    if report.problems:
        lines += ["## Problems", ""]
        for d in report.problems:
            lines.append(f"- **{d.check}** {md_code(d.location)}: {md_text(d.message)}")
            if d.hint:
                lines.append(f"  - Fix: {md_text(d.hint)}")
        lines.append("")
    lines += ["## Images", "", "| study | image | status | URL |", "|---|---|---|---|"]
    for s in report.studies:
        for image in s.images:
            lines.append(f"| {md(s.accession)} | {md(image.name)} | {image.status} | {md_code(image.url)} |")
    lines.append("")
    return "\n".join(lines)


# ------------------------------------------------------------------ the archive's copies

ARCHIVE_REPORT_FORMAT = "bioarchive-archive-fixity"
_VERSION_PART = re.compile(r"^v([1-9][0-9]*)$")
_ACCESSION_PART = re.compile(r"^[A-Z][A-Z0-9]*-[0-9]+$")


@dataclass(slots=True)
class VersionFixity:
    accession: str
    version: int
    images: int = 0
    objects: int = 0
    bytes: int = 0
    rehashed: int = 0
    problems: int = 0


@dataclass(slots=True)
class ArchiveFixityReport:
    store: str
    today: dt.date
    run: int
    cycle_runs: int
    versions: list[VersionFixity] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)  # version prefixes without a manifest (ingest not done)
    rehashed_objects: int = 0
    rehashed_bytes: int = 0
    store_checksums: int = 0  # objects verified by the store's own SHA-256, without a download
    slice_bytes: int = 0  # bytes of this run's slice (all of it is re-hashed unless over the budget)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def problems(self) -> list[Diagnostic]:
        return sort_diagnostics([d for d in self.diagnostics if d.severity is Severity.ERROR])

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": ARCHIVE_REPORT_FORMAT,
            "version": 1,
            "date": self.today.isoformat(),
            "store": self.store,
            "ok": self.ok,
            "run": self.run,
            "slice": self.run % self.cycle_runs,
            "cycle_runs": self.cycle_runs,
            "summary": {
                "versions_checked": len(self.versions),
                "objects_listed": sum(v.objects for v in self.versions),
                "bytes_listed": sum(v.bytes for v in self.versions),
                "objects_rehashed": self.rehashed_objects,
                "bytes_rehashed": self.rehashed_bytes,
                "verified_by_store_checksum": self.store_checksums,
                "problems": len(self.problems),
            },
            "problems": [d.to_dict() for d in self.problems],
            "warnings": [d.to_dict() for d in self.diagnostics if d.severity is not Severity.ERROR],
            "versions": [
                {"accession": v.accession, "version": v.version, "images": v.images, "objects": v.objects,
                 "bytes": v.bytes, "rehashed": v.rehashed, "problems": v.problems}
                for v in self.versions
            ],
            "unfinished": self.unfinished,
        }


def run_number(today: dt.date) -> int:
    """One run per week, numbered from a fixed day: the same week always checks the same slice."""
    return today.toordinal() // 7


def rotation_slice(accession: str, version: int, image: str, key: str, cycle_runs: int) -> int:
    """The slice of the rotation an object belongs to: fixed by its identity, whatever else the store holds."""
    digest = hashlib.sha256(f"{accession}/v{version}/{image}/{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % cycle_runs


@dataclass(frozen=True, slots=True)
class _Sampled:
    accession: str
    version: int
    image: str
    key: str  # the store key
    size: int
    sha256: str


def _version_of(key: str) -> tuple[str, int] | None:
    parts = key.split("/", 2)
    if len(parts) < 3 or not _ACCESSION_PART.match(parts[0]):
        return None
    match = _VERSION_PART.match(parts[1])
    return (parts[0], int(match.group(1))) if match else None


def _finding(check: Any, message: str, accession: str, version: int, image: str | None, key: str | None,
             **extra: Any) -> Diagnostic:
    data = {"study": accession, "version": version, "image": image, "object": key, **extra}
    return Diagnostic.of(check, message, field=key, extra={k: v for k, v in data.items() if v is not None})


def run_archive_fixity(
    root: Path, settings: ArchiveSettings, *, store: Any = None, run: int | None = None,
    today: dt.date | None = None, progress: Any = None,
) -> ArchiveFixityReport:
    """Check every archived version in the archive store (see the module's description).

    ``store`` defaults to the store in ``[archive.store]``; ``run`` to the week's number;
    ``progress(nbytes)`` is called per block re-hashed.
    """
    from itertools import groupby

    from builder.core import layout
    from builder.data.archive import archive_store_url, open_archive_store
    from builder.data.manifest import ManifestError, VersionManifest, parallel_map, sha256_of
    from builder.data.storage import StorageError

    config = settings.fixity
    today = today or utc_today()
    run = run_number(today) if run is None else run
    if store is None:
        url = archive_store_url(settings, Path(root))
        if "://" not in url and not Path(url).is_dir():
            # Nothing ingested yet (a fresh clone): nothing to check, and a check creates no folder.
            return ArchiveFixityReport(store=url, today=today, run=run, cycle_runs=config.cycle_runs)
        store = open_archive_store(settings, Path(root))
    report = ArchiveFixityReport(store=store.url, today=today, run=run, cycle_runs=config.cycle_runs)
    wanted_slice = run % config.cycle_runs
    sample: list[_Sampled] = []

    # S3 and the local store list in key order, so each version's objects come together.
    listing = store.iter_objects("")
    for version_id, group in groupby(listing, key=lambda info: _version_of(info.key)):
        if version_id is None:
            continue  # derived artifacts and anything outside <ACCESSION>/v<N>/
        accession, version = version_id
        listed = {info.key: info for info in group}
        manifest_key = layout.manifest_key(accession, version)
        if manifest_key not in listed:
            report.unfinished.append(layout.version_prefix(accession, version))
            continue
        result = VersionFixity(accession, version)
        report.versions.append(result)
        before = len(report.diagnostics)
        try:
            data = store.get_document(manifest_key)
            manifest = VersionManifest.from_bytes(data or b"", where=store.location(manifest_key))
            if manifest.accession != accession or manifest.version != version:
                raise ManifestError(f"{store.location(manifest_key)} describes {manifest.accession} "
                                    f"v{manifest.version}")
        except (ManifestError, StorageError) as exc:
            report.diagnostics.append(_finding(
                sub.FIXITY_MANIFEST_UNREADABLE, f"{accession} v{version}: {exc}", accession, version, None,
                manifest_key))
            result.problems = 1
            continue
        expected: dict[str, tuple[str, Any]] = {}
        for name, image in manifest.images.items():
            base = layout.archived_image_prefix(accession, version, name)
            for entry in image.objects:
                expected[f"{base}/{entry.key}"] = (name, entry)
        result.images = len(manifest.images)
        result.objects = len(expected)
        result.bytes = sum(entry.size for _, entry in expected.values())
        for key, (name, entry) in sorted(expected.items()):
            info = listed.get(key)
            if info is None:
                report.diagnostics.append(_finding(
                    sub.FIXITY_OBJECT_MISSING,
                    f"{accession} v{version} image '{name}': {store.location(key)} is missing "
                    f"({entry.size} bytes, sha256 {entry.sha256} in the manifest)", accession, version, name, key))
            elif info.size != entry.size:
                report.diagnostics.append(_finding(
                    sub.FIXITY_OBJECT_RESIZED,
                    f"{accession} v{version} image '{name}': {store.location(key)} has {info.size} bytes, "
                    f"the manifest says {entry.size}", accession, version, name, key,
                    expected_size=entry.size, size=info.size))
            elif rotation_slice(accession, version, name, entry.key, config.cycle_runs) == wanted_slice:
                sample.append(_Sampled(accession, version, name, key, entry.size, entry.sha256))
        for key in sorted(set(listed) - set(expected) - {manifest_key}):
            report.diagnostics.append(_finding(
                sub.FIXITY_OBJECT_EXTRA,
                f"{accession} v{version}: {store.location(key)} ({listed[key].size} bytes) is not in the "
                "version's manifest", accession, version, None, key))
        result.problems = len(report.diagnostics) - before

    report.slice_bytes = sum(s.size for s in sample)
    budgeted: list[_Sampled] = []
    spent = 0
    for item in sample:  # in key order: a budget too small always covers the same objects first
        if spent + item.size > config.byte_budget and budgeted:
            break
        budgeted.append(item)
        spent += item.size
    if len(budgeted) < len(sample):
        report.diagnostics.append(Diagnostic.of(
            sub.FIXITY_BUDGET_TOO_SMALL,
            f"slice {wanted_slice} of {config.cycle_runs} holds {report.slice_bytes} bytes in {len(sample)} objects; "
            f"the byte budget ({config.byte_budget}) re-hashed {len(budgeted)} of them. Every object is re-hashed "
            f"within {config.cycle_runs} runs only with byte_budget >= {report.slice_bytes}",
            extra={"slice_bytes": report.slice_bytes, "byte_budget": config.byte_budget},
        ))

    def verify(item: _Sampled) -> tuple[_Sampled, str | None, int, bool, str | None]:
        try:
            if config.use_store_checksums:
                info = store.stat(item.key)
                if info is not None and info.sha256:
                    return item, info.sha256, 0, True, None
            size, digest = sha256_of(store, item.key, progress)
            return item, digest, size, False, None
        except StorageError as exc:
            return item, None, 0, False, f"{exc.check}: {exc.message}"

    per_version = {(v.accession, v.version): v for v in report.versions}
    for item, digest, nbytes, by_store, error in parallel_map(verify, budgeted, config.workers):
        report.rehashed_objects += 1
        report.rehashed_bytes += nbytes
        report.store_checksums += by_store
        per_version[(item.accession, item.version)].rehashed += 1
        where = f"{item.accession} v{item.version} image '{item.image}': {store.location(item.key)}"
        if error is not None:
            report.diagnostics.append(_finding(
                sub.FIXITY_OBJECT_MISSING, f"{where} could not be read ({error})", item.accession, item.version,
                item.image, item.key))
        elif digest != item.sha256:
            source = "the store's own checksum says" if by_store else "its bytes now hash to"
            report.diagnostics.append(_finding(
                sub.FIXITY_OBJECT_CORRUPTED,
                f"{where}: {source} sha256 {digest}, the manifest says {item.sha256}", item.accession,
                item.version, item.image, item.key, sha256=digest, expected_sha256=item.sha256))
        else:
            continue
        per_version[(item.accession, item.version)].problems += 1
    report.diagnostics = sort_diagnostics(report.diagnostics)
    return report


def render_archive_text(report: ArchiveFixityReport) -> str:
    doc = report.to_dict()
    summary = doc["summary"]
    lines = [f"archive store {report.store}: run {report.run}, slice {doc['slice']} of {report.cycle_runs}"]
    for v in report.versions:
        state = "ok" if not v.problems else f"{v.problems} problem(s)"
        lines.append(f"{state:>14}  {v.accession} v{v.version}  {v.images} image(s), {v.objects} objects, "
                     f"{v.bytes} bytes, {v.rehashed} re-hashed")
    for prefix in report.unfinished:
        lines.append(f"{'unfinished':>14}  {prefix}  (no manifest: not archived yet; `bioarchive ingest` continues it)")
    for d in report.diagnostics:
        lines.append(f"{d.severity.value.upper()} {d.check}: {d.message}")
        if d.hint:
            lines.append(f"      fix: {d.hint}")
    lines.append(
        f"{summary['versions_checked']} archived versions, {summary['objects_listed']} objects listed, "
        f"{summary['objects_rehashed']} re-hashed ({summary['bytes_rehashed']} bytes read, "
        f"{summary['verified_by_store_checksum']} by the store's checksum): "
        + ("no problems." if report.ok else f"{summary['problems']} problem(s).")
    )
    return "\n".join(lines) + "\n"


def render_archive_markdown(report: ArchiveFixityReport) -> str:
    from builder.curation.review import md, md_text

    doc = report.to_dict()
    summary = doc["summary"]
    verdict = ("✅ every archived copy is complete and unchanged" if report.ok
               else f"❌ {summary['problems']} problem(s)")
    lines = [
        f"# Archive fixity {report.today.isoformat()}", "",
        f"{summary['versions_checked']} archived versions, {summary['objects_listed']} objects; "
        f"slice {doc['slice']} of {report.cycle_runs}: {summary['objects_rehashed']} objects re-hashed: {verdict}.", "",
    ]
    if report.diagnostics:
        lines += ["## Findings", ""]
        for d in report.diagnostics:
            lines.append(f"- **{d.check}** {md_text(d.message)}")
            if d.hint:
                lines.append(f"  - Fix: {md_text(d.hint)}")
        lines.append("")
    lines += ["## Versions", "", "| study | version | objects | re-hashed | problems |", "|---|---|---|---|---|"]
    for v in report.versions:
        lines.append(f"| {md(v.accession)} | {v.version} | {v.objects} | {v.rehashed} | {v.problems} |")
    lines.append("")
    return "\n".join(lines)
