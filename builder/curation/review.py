"""The review report: everything a curator needs to judge a pull request's studies.

For each study a pull request changes: the verdict, every finding grouped by
severity (records validation, image data, submission rules, images.lock), the
completeness score with hints, ontology terms with the labels the archive's
term lists give, image facts with thumbnails, and for an edit a field-level
diff plus the unified diff of study.yaml. Written as Markdown and JSON, one
pair per study, with the thumbnails copied beside them.

Everything shown comes from strangers' records: Markdown is escaped so a
title cannot inject links, images or HTML into the report.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from builder.core.checks import Diagnostic, Severity, has_errors, sort_diagnostics, unique_diagnostics
from builder.core.layout import image_key
from builder.core.settings import ArchiveSettings
from builder.curation.check_study import OutsideFile
from builder.curation.submission import (
    RECORD_NAME,
    STUDIES_DIR,
    StudyChange,
    as_date,
    as_int,
    base_accessions,
    check_change,
    collect_changes,
    utc_today,
)

REPORT_FORMAT = "bioarchive-review"
REPORT_VERSION = 1
MAX_DIFF_LINES = 400
MAX_FIELD_CHANGES = 200
MAX_VALUE_CHARS = 120
THUMBNAILS_DIR = "thumbnails"
COMPLETENESS_PREFIX = "CMP"


# ---------------------------------------------------------------- field-level diff


@dataclass(frozen=True, slots=True)
class FieldChange:
    path: str  # "authors[1].orcid"
    kind: str  # added | removed | changed
    old: Any = None
    new: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "old": self.old, "new": self.new}


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def field_changes(old: Any, new: Any, path: str = "") -> list[FieldChange]:
    """Leaf-level differences between two plain-data records, in document order."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[FieldChange] = []
        for key in [*old, *(k for k in new if k not in old)]:
            sub = _join(path, key)
            if key not in new:
                out.append(FieldChange(sub, "removed", old=old[key]))
            elif key not in old:
                out.append(FieldChange(sub, "added", new=new[key]))
            else:
                out.extend(field_changes(old[key], new[key], sub))
        return out
    if isinstance(old, list) and isinstance(new, list):
        out = []
        for i in range(max(len(old), len(new))):
            sub = _join(path, i)
            if i >= len(new):
                out.append(FieldChange(sub, "removed", old=old[i]))
            elif i >= len(old):
                out.append(FieldChange(sub, "added", new=new[i]))
            else:
                out.extend(field_changes(old[i], new[i], sub))
        return out
    if old != new or type(old) is not type(new):
        return [FieldChange(path or "(record)", "changed", old=old, new=new)]
    return []


def show_value(value: Any) -> str:
    """A short, one-line rendering of a record value."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, (dt.date, dt.datetime)):
        text = value.isoformat()
    else:
        text = json.dumps(value, ensure_ascii=False, default=str, sort_keys=False)
    text = " ".join(text.split())
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def describe_change(change: FieldChange) -> str:
    if change.kind == "added":
        return f"{change.path}: added {show_value(change.new)}"
    if change.kind == "removed":
        return f"{change.path}: removed (was {show_value(change.old)})"
    return f"{change.path}: {show_value(change.old)} → {show_value(change.new)}"


def unified_diff(old_text: str | None, new_text: str | None, path: str) -> list[str]:
    lines = list(
        difflib.unified_diff(
            (old_text or "").splitlines(),
            (new_text or "").splitlines(),
            fromfile=f"a/{path}" if old_text is not None else "/dev/null",
            tofile=f"b/{path}" if new_text is not None else "/dev/null",
            lineterm="",
        )
    )
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[:MAX_DIFF_LINES], f"... {len(lines) - MAX_DIFF_LINES} more lines"]
    return lines


# ---------------------------------------------------------------- the report model


@dataclass(slots=True)
class TermRow:
    field: str
    id: str
    label: str  # as the record gives it
    known_label: str | None  # from the archive's term lists
    status: str  # ok | mismatch | unverified


@dataclass(slots=True)
class ImageRow:
    key: str
    name: str
    url: str
    facts: dict[str, Any] | None
    thumbnails: dict[str, str] = field(default_factory=dict)  # size -> path relative to the report
    pinned: str | None = None  # fingerprint in images.lock
    fingerprint_status: str = "not checked"  # matches | differs | not pinned | unreadable | not checked


@dataclass(slots=True)
class StudyReview:
    folder: str
    accession: str
    title: str | None
    change: str  # new study | new version | withdrawal | deletion | embargoed edit | edit | unchanged
    version: int | None
    previous_version: int | None
    state: str  # published | embargoed until YYYY-MM-DD | withdrawn | deleted
    diagnostics: list[Diagnostic] = field(default_factory=list)
    completeness: int | None = None
    hints: list[dict[str, Any]] = field(default_factory=list)  # check, field, line, message, fix
    terms: list[TermRow] = field(default_factory=list)
    images: list[ImageRow] = field(default_factory=list)
    field_changes: list[FieldChange] = field(default_factory=list)
    field_changes_total: int = 0
    lock_changes: list[str] = field(default_factory=list)  # "cells: fingerprint sha256:… → sha256:…"
    diff: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counts = {s.value: 0 for s in Severity}
        for d in self.diagnostics:
            counts[d.severity.value] += 1
        return counts

    @property
    def ok(self) -> bool:
        return self.counts["error"] == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "folder": self.folder,
            "accession": self.accession,
            "title": self.title,
            "change": self.change,
            "version": self.version,
            "previous_version": self.previous_version,
            "state": self.state,
            "ok": self.ok,
            "counts": self.counts,
            "diagnostics": [d.to_dict() for d in self.diagnostics],
            "completeness": {"score": self.completeness, "hints": self.hints},
            "terms": [vars_of(t) for t in self.terms],
            "images": [vars_of(i) for i in self.images],
            "field_changes": [c.to_dict() for c in self.field_changes],
            "field_changes_total": self.field_changes_total,
            "lock_changes": self.lock_changes,
            "diff": self.diff,
        }


def vars_of(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__slots__}


@dataclass(slots=True)
class ReviewReport:
    base: str
    today: dt.date
    studies: list[StudyReview] = field(default_factory=list)
    data_checked: bool = True
    # Files the pull request changes outside the study folders, and the findings about them (SUB016, SUB017).
    outside_files: list[OutsideFile] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.studies) and not has_errors(self.diagnostics)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": REPORT_FORMAT,
            "version": REPORT_VERSION,
            "base": self.base,
            "date": self.today.isoformat(),
            "data_checked": self.data_checked,
            "ok": self.ok,
            "outside_files": [f.to_dict() for f in self.outside_files],
            "diagnostics": [d.to_dict() for d in self.diagnostics],
            "studies": [s.to_dict() for s in self.studies],
        }


# ---------------------------------------------------------------- building it


def _describe(change: StudyChange, today: dt.date) -> tuple[str, str, int | None, int | None]:
    new, old = change.new_raw or {}, change.old_raw or {}
    version = as_int(new.get("version", 1)) if change.new_raw else None
    previous = as_int(old.get("version", 1)) if change.old_raw else None
    release = as_date(new.get("release_date"))
    if change.kind == "deleted":
        return "deletion", "deleted", version, previous
    if change.new_raw is None:
        return (
            ("other files only" if change.kind == "unchanged" else "unreadable record"),
            "not readable",
            None,
            previous,
        )
    if new.get("status") == "withdrawn":
        state = "withdrawn"
    elif release is not None and release > today:
        state = f"embargoed until {release.isoformat()}"
    else:
        state = "published"
    if change.kind == "added" or change.taken_since_branching:
        kind = "new study"
    elif new.get("status") == "withdrawn" and old.get("status") != "withdrawn":
        kind = "withdrawal"
    elif previous is not None and version is not None and version > previous:
        kind = f"new version {version} (published: {previous})"
    elif (as_date(old.get("release_date")) or today) > today:
        kind = "edit of an embargoed study"
    else:
        kind = "edit"
    return kind, state, version, previous


def _image_rows(
    study: Any, outcomes: dict[str, Any], lock: Any, out_dir: Path, cache_dir: Path | None
) -> list[ImageRow]:
    from builder.curation.lock import image_name

    rows: list[ImageRow] = []
    for dataset, image in study.images():
        key = image_key(study.accession, dataset.name, image.name)
        outcome = outcomes.get(key)
        facts = outcome.facts if outcome is not None else None
        row = ImageRow(key=key, name=image.name, url=image.url, facts=facts.model_dump(mode="json") if facts else None)
        pinned = lock.images.get(image_name(key)) if lock is not None else None
        row.pinned = pinned.fingerprint if pinned else None
        if outcome is None:
            row.fingerprint_status = "not checked"
        elif facts is None or not facts.fingerprint:
            row.fingerprint_status = "unreadable"
        elif pinned is None:
            row.fingerprint_status = "not pinned"
        else:
            row.fingerprint_status = "matches" if pinned.fingerprint == facts.fingerprint else "differs"
        if facts is not None and cache_dir is not None:
            for size, name in sorted(facts.thumbnails.items()):
                source = cache_dir / name
                if not source.is_file():
                    continue
                target = (
                    out_dir / THUMBNAILS_DIR / study.accession / f"{dataset.name}--{image.name}--{size}{source.suffix}"
                )
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
                row.thumbnails[size] = target.relative_to(out_dir).as_posix()
        rows.append(row)
    return rows


def _term_rows(study: Any, root: Path) -> list[TermRow]:
    from builder.model.ontology import label_matches, study_terms
    from builder.records.terms import load_term_index
    from builder.records.yaml_source import format_path

    index, _ = load_term_index(root)
    rows = []
    for path, curie, label in study_terms(study):
        term = index.get(curie)
        if term is None:
            status, known = "unverified", None
        else:
            status, known = ("ok" if label_matches(term, label) else "mismatch"), term.label
        rows.append(TermRow(field=format_path((*path, "id")), id=curie, label=label, known_label=known, status=status))
    return rows


def build_review(
    root: Path,
    base: str,
    settings: ArchiveSettings,
    *,
    out_dir: Path,
    data: bool = True,
    today: dt.date | None = None,
    cache_dir: Path | None = None,
) -> ReviewReport:
    """Review every study changed since ``base``; thumbnails are copied under ``out_dir``.

    Each study is checked by the one service validate uses
    (:func:`builder.curation.check_study.check_studies`: record, image data,
    images.lock), plus the pull-request rules; files the pull request changes
    outside the study folders are listed for the curator (SUB016, SUB017).
    """
    from builder.core import git as gitops
    from builder.curation.check_study import check_studies, outside_file_warnings, outside_study_files
    from builder.curation.lock import LockError, check_lock_entries, read_lock
    from builder.curation.submission import mixed_changes
    from builder.records.load import load_records

    root = Path(root)
    today = today or utc_today()
    report = ReviewReport(base=base, today=today, data_checked=data)
    taken = base_accessions(root, base, settings)
    paths = gitops.changed_paths(root, base)
    changes = collect_changes(root, base, settings, paths=paths)
    present = [c for c in changes if c.new_text is not None]
    records = load_records(root, settings, [root / STUDIES_DIR / c.folder / RECORD_NAME for c in present])
    if data:
        cache_dir = cache_dir or root / ".cache" / "review-thumbnails"
    checked = check_studies(root, settings, records, data=data, thumbnails=True, cache_dir=cache_dir, content=data)
    by_folder = {c.record.path.parent.name: c for c in checked}
    report.outside_files = outside_study_files(root, settings, paths)
    report.diagnostics = sort_diagnostics([*mixed_changes(paths), *outside_file_warnings(report.outside_files)])

    for change in changes:
        kind, state, version, previous = _describe(change, today)
        check = by_folder.get(change.folder)
        record = check.record if check is not None else None
        study = record.study if record is not None else None
        title = (change.new_raw or change.old_raw or {}).get("title")
        review = StudyReview(
            folder=change.folder,
            accession=change.accession,
            title=title if isinstance(title, str) else None,
            change=kind,
            version=version,
            previous_version=previous,
            state=state,
        )
        found: list[Diagnostic] = [*check_change(change, settings, taken, today)]
        if change.new_raw is not None:
            found.extend(check_lock_entries(root, change.folder, change.new_raw))
        if record is not None:
            # Completeness hints get their own section rather than crowding the findings.
            found.extend(d for d in record.diagnostics if not d.check.startswith(COMPLETENESS_PREFIX))
            review.completeness = record.completeness
        if study is not None and check is not None:
            review.hints = _hints(study, record)
            review.terms = _term_rows(study, root)
            try:
                lock = read_lock(root, change.folder)
            except LockError:
                lock = None
            review.images = _image_rows(study, check.outcomes, lock, out_dir, cache_dir)
        if change.kind == "edited":
            all_changes = field_changes(change.old_raw or {}, change.new_raw or {})
            review.field_changes_total = len(all_changes)
            review.field_changes = all_changes[:MAX_FIELD_CHANGES]
        if change.old_text != change.new_text:
            review.diff = unified_diff(change.old_text, change.new_text, change.record_path)
        if change.lock_changed and change.kind == "edited":
            review.lock_changes = _lock_changes(root, base, change.folder)
        review.diagnostics = unique_diagnostics(sort_diagnostics(found))
        report.studies.append(review)
    return report


def _lock_changes(root: Path, base: str, folder: str) -> list[str]:
    """What changed in images.lock since the base branch, one line per image."""
    from builder.core import git as gitops
    from builder.curation.lock import LockError, parse_lock, read_lock

    def load(read: Any) -> dict[str, Any]:
        try:
            lock = read()
        except LockError:
            return {}
        return lock.images if lock is not None else {}

    old_bytes = gitops.file_at(root, base, Path(STUDIES_DIR) / folder / "images.lock")
    old = load(lambda: parse_lock(old_bytes) if old_bytes is not None else None)
    new = load(lambda: read_lock(root, folder))
    lines = []
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name), new.get(name)
        if before is None and after is not None:
            lines.append(f"{name}: pinned ({after.kind}, NGFF {after.ngff_version}, {after.fingerprint[:19]}…)")
        elif after is None and before is not None:
            lines.append(f"{name}: no longer pinned (was {before.fingerprint[:19]}…)")
        elif before is not None and after is not None:
            for label in ("url", "kind", "ngff_version", "fingerprint"):
                a, b = getattr(before, label), getattr(after, label)
                if a != b:
                    lines.append(f"{name}: {label} {show_value(a)} → {show_value(b)}")
    return lines


def _hints(study: Any, record: Any) -> list[dict[str, Any]]:
    """Completeness hints with where they apply and what to add."""
    from builder.core.checks import get_check
    from builder.model.completeness import assess
    from builder.records.yaml_source import format_path

    out = []
    for hint in assess(study).hints:
        line, _ = record.position(hint.path) or (None, None)
        out.append(
            {
                "check": hint.check,
                "field": format_path(hint.path),
                "line": line,
                "message": hint.message,
                "fix": get_check(hint.check).fix,
            }
        )
    return out


# ---------------------------------------------------------------- Markdown

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def md(text: Any) -> str:
    """Record text as inert Markdown: one line, every markup character escaped."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


_CODE_SPAN = re.compile(r"`([^`]+)`")


def md_text(text: Any) -> str:
    """A message as Markdown: its `code spans` kept as (inert) code, everything else escaped."""
    value = " ".join(str(text).split())
    out, last = [], 0
    for m in _CODE_SPAN.finditer(value):
        out.append(_MD_SPECIAL.sub(r"\\\1", value[last : m.start()]))
        out.append(md_code(m.group(1)))
        last = m.end()
    out.append(_MD_SPECIAL.sub(r"\\\1", value[last:]))
    return "".join(out)


def md_code(text: Any) -> str:
    """Inline code that a backtick inside cannot break out of."""
    value = " ".join(str(text).split())
    fence = "`" * (max((len(m) for m in re.findall(r"`+", value)), default=0) + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


_SEVERITY_HEADINGS = (
    (Severity.ERROR, "Errors (must be fixed)"),
    (Severity.WARNING, "Warnings (check these)"),
    (Severity.INFO, "Notes"),
)


def _verdict(review: StudyReview) -> str:
    c = review.counts
    summary = f"{c['error']} error(s), {c['warning']} warning(s), {c['info']} note(s)"
    if c["error"]:
        return f"❌ **Changes needed** — {summary}"
    if c["warning"]:
        return f"⚠️ **Ready for a curator, with warnings** — {summary}"
    return f"✅ **Ready for a curator** — {summary}"


def _pixel_sizes(facts: dict[str, Any]) -> str:
    parts = [
        f"{a['name']} {a['scale']:g} {a.get('unit') or ''}".strip()
        for a in facts.get("axes", [])
        if a.get("type") == "space" and a.get("scale") is not None
    ]
    return ", ".join(parts) or "—"


def _shape(facts: dict[str, Any]) -> str:
    names = [a["name"] for a in facts.get("axes", [])]
    shape = facts.get("shape", [])
    if names and len(names) == len(shape):
        return " × ".join(f"{n}{s}" for n, s in zip(names, shape))
    return " × ".join(map(str, shape)) or "—"


def _image_details(facts: dict[str, Any]) -> str:
    """dtype, pyramid levels, stored size, plate layout and label images, as one clause."""
    parts = []
    if facts.get("dtype"):
        parts.append(str(facts["dtype"]))
    if facts.get("levels"):
        parts.append(f"{len(facts['levels'])} pyramid level(s)")
    if facts.get("size_bytes"):
        parts.append(f"{facts['size_bytes'] / 1e6:.1f} MB stored")
    plate = facts.get("plate")
    if plate:
        parts.append(
            f"plate {plate['rows']} × {plate['columns']} ({plate['wells']} wells, "
            f"{plate['fields_per_well']} field(s) per well)"
        )
    if facts.get("labels"):
        parts.append("labels: " + ", ".join(map(str, facts["labels"])))
    return (" — " + md("; ".join(parts))) if parts else ""


def render_study_markdown(review: StudyReview, *, heading_level: int = 2, thumbnails: bool = True) -> str:
    h = "#" * heading_level
    lines: list[str] = []
    title = f" — {md(review.title)}" if review.title else ""
    lines.append(f"{h} {md(review.accession)}{title}")
    lines.append("")
    lines.append(_verdict(review))
    lines.append("")
    version = f"{review.version}" if review.version is not None else "—"
    lines.append(f"- **Change:** {md(review.change)}")
    lines.append(f"- **State:** {md(review.state)}")
    lines.append(
        f"- **Version:** {version}" + (f" (base: {review.previous_version})" if review.previous_version else "")
    )
    lines.append(f"- **Record:** {md_code(f'{STUDIES_DIR}/{review.folder}/{RECORD_NAME}')}")
    lines.append("")

    lines.append(f"{h}# Check results")
    lines.append("")
    if not review.diagnostics:
        lines.append("No findings.")
        lines.append("")
    for severity, heading in _SEVERITY_HEADINGS:
        group = [d for d in review.diagnostics if d.severity is severity]
        if not group:
            continue
        lines.append(f"**{heading}: {len(group)}**")
        lines.append("")
        for d in group:
            where = md_code(d.location) if d.file else ""
            field_note = f" (field {md_code(d.field)})" if d.field else ""
            lines.append(f"- **{d.check}** {where}{field_note}: {md_text(d.message)}")
            if d.hint:
                lines.append(f"  - Fix: {md_text(d.hint)}")
        lines.append("")

    if review.completeness is not None:
        lines.append(f"{h}# Completeness: {review.completeness}/100")
        lines.append("")
        if review.hints:
            for hint in review.hints:
                lines.append(f"- **{hint['check']}** (field {md_code(hint['field'])}): {md_text(hint['message'])}")
                lines.append(f"  - Fix: {md_text(hint['fix'])}")
        else:
            lines.append("Every recommended field is filled in.")
        lines.append("")

    if review.terms:
        lines.append(f"{h}# Ontology terms")
        lines.append("")
        lines.append("| field | id | label in the record | label in the term list | check |")
        lines.append("|---|---|---|---|---|")
        marks = {
            "ok": "✅ matches",
            "mismatch": "❌ differs: is the id right?",
            "unverified": "❔ not in the term lists",
        }
        for t in review.terms:
            lines.append(
                f"| {md_code(t.field)} | {md_code(t.id)} | {md(t.label)} | "
                f"{md(t.known_label or '—')} | {marks[t.status]} |"
            )
        lines.append("")

    if review.images:
        lines.append(f"{h}# Images")
        lines.append("")
        lines.append("| image | kind | NGFF | shape | pixel size | channels | images.lock |")
        lines.append("|---|---|---|---|---|---|---|")
        for row in review.images:
            f = row.facts
            if f is None:
                lines.append(f"| {md(row.name)} | — | — | — | — | — | {row.fingerprint_status} |")
                continue
            channels = ", ".join(c.get("label", "") for c in f.get("channels", [])) or "—"
            lines.append(
                f"| {md(row.name)} | {md(f.get('kind'))} | {md(f.get('ngff_version'))} | {md(_shape(f))} | "
                f"{md(_pixel_sizes(f))} | {md(channels)} | {row.fingerprint_status} |"
            )
        lines.append("")
        for row in review.images:
            details = _image_details(row.facts) if row.facts else ""
            lines.append(f"- {md(row.name)}: {md_code(row.url)}{details}")
            if thumbnails and row.thumbnails:
                size = "card" if "card" in row.thumbnails else min(row.thumbnails)
                lines.append(f"  ![thumbnail of {md(row.name)}]({row.thumbnails[size]})")
                if "labels" in row.thumbnails:
                    lines.append(f"  ![label outlines of {md(row.name)}]({row.thumbnails['labels']})")
        lines.append("")

    if review.field_changes:
        lines.append(f"{h}# What changed")
        lines.append("")
        for change in review.field_changes:
            lines.append(f"- {md_code(describe_change(change))}")
        hidden = review.field_changes_total - len(review.field_changes)
        if hidden > 0:
            lines.append(f"- … and {hidden} more (see the diff below)")
        lines.append("")
    if review.lock_changes:
        lines.append(f"{h}# images.lock changes")
        lines.append("")
        lines.extend(f"- {md_code(line)}" for line in review.lock_changes)
        lines.append("")
    if review.diff:
        lines.append("<details><summary>Unified diff of study.yaml</summary>")
        lines.append("")
        fence = "`" * max(
            3, max((len(m) for diff_line in review.diff for m in re.findall(r"`{3,}", diff_line)), default=0) + 1
        )
        lines.append(f"{fence}diff")
        lines.extend(review.diff)
        lines.append(fence)
        lines.append("")
        lines.append("</details>")
        lines.append("")
    return "\n".join(lines)


def render_outside_files(report: ReviewReport) -> str:
    """The files changed outside the study folders, each for a curator to look at, and the findings about them."""
    if not report.outside_files and not report.diagnostics:
        return ""
    lines = ["## Files changed outside the study folders", ""]
    if report.outside_files:
        lines.append("A curator must look at each of these before merging: they are not part of any study's record.")
        lines.append("")
        lines.append("| file | what it is | check |")
        lines.append("|---|---|---|")
        for f in report.outside_files:
            verdict = "❌ not allowed in a submission" if f.refused else "⚠️ look at it"
            lines.append(f"| {md_code(f.path)} | {md(f.note)} | {verdict} |")
        lines.append("")
    for severity, heading in _SEVERITY_HEADINGS:
        group = [d for d in report.diagnostics if d.severity is severity]
        if not group:
            continue
        lines.append(f"**{heading}: {len(group)}**")
        lines.append("")
        for d in group:
            lines.append(f"- **{d.check}** {md_code(d.location)}: {md_text(d.message)}")
            if d.hint:
                lines.append(f"  - Fix: {md_text(d.hint)}")
        lines.append("")
    return "\n".join(lines)


def render_markdown(report: ReviewReport, *, thumbnails: bool = True) -> str:
    lines = ["# Review report", ""]
    outside = render_outside_files(report)
    if not report.studies:
        lines.append(f"No study records changed since {md_code(report.base)}.")
        if outside:
            lines += ["", outside]
        return "\n".join(lines) + "\n"
    errors = sum(s.counts["error"] for s in report.studies) + sum(
        d.severity is Severity.ERROR for d in report.diagnostics
    )
    verdict = "❌ changes needed" if errors else "✅ no errors"
    lines.append(
        f"{len(report.studies)} changed stud{'y' if len(report.studies) == 1 else 'ies'} compared with "
        f"{md_code(report.base)} on {report.today.isoformat()}: {verdict}."
    )
    if not report.data_checked:
        lines.append("")
        lines.append("Image data was not read (`--no-data`): no image facts, thumbnails or fingerprint checks.")
    lines.append("")
    lines.append("| study | change | state | errors | warnings | notes |")
    lines.append("|---|---|---|---|---|---|")
    for s in report.studies:
        c = s.counts
        lines.append(
            f"| {md(s.accession)} | {md(s.change)} | {md(s.state)} | {c['error']} | {c['warning']} | {c['info']} |"
        )
    lines.append("")
    if outside:
        lines.append(outside)
    for s in report.studies:
        lines.append(render_study_markdown(s, thumbnails=thumbnails))
    return "\n".join(lines)


def write_report(report: ReviewReport, out_dir: Path) -> list[Path]:
    """<ACCESSION>.md and .json per study, plus README.md and review.json for all."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for s in report.studies:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", s.folder)
        md_path = out_dir / f"{safe}.md"
        md_path.write_text("# Review report\n\n" + render_study_markdown(s), "utf-8")
        json_path = out_dir / f"{safe}.json"
        json_path.write_text(json.dumps(s.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n", "utf-8")
        written += [md_path, json_path]
    index = out_dir / "README.md"
    index.write_text(render_markdown(report), "utf-8")
    combined = out_dir / "review.json"
    combined.write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n", "utf-8")
    return [*written, index, combined]
