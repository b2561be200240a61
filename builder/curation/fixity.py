"""Fixity: is every published study's data still there, and still what was pinned?

Run weekly by .github/workflows/fixity.yml. Each released, non-withdrawn
study's images are read again and their metadata fingerprints compared with
images.lock. Images that vanished or became unreadable (SUB030), changed
(SUB021), or were never pinned (SUB020, SUB023, SUB024) are problems;
records that no longer validate are reported too, since their data cannot
be checked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from builder.core.checks import Diagnostic, Severity, has_errors, sort_diagnostics
from builder.curation import checks as sub
from builder.core.settings import ArchiveSettings
from builder.curation.submission import utc_today

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
        elif not study.is_released(today):
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
