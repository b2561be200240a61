"""images.lock: the metadata fingerprints of a study's images, pinned in Git.

``bioarchive lock studies/<ACCESSION>`` reads every image of the study and
writes ``studies/<ACCESSION>/images.lock``; the depositor commits it. Review
and the weekly fixity run compare live fingerprints with the pinned ones, so
data that changes (or vanishes) under a published record is noticed.

The file is JSON with sorted keys and a fixed layout, so the same data always
gives the same bytes and Git diffs stay readable::

    {
      "accession": "OIA-000001",
      "images": {
        "cells": {"fingerprint": "sha256:...", "kind": "image", "ngff_version": "0.5",
                  "url": "images/cells.ome.zarr"}
      },
      "lock_version": 1
    }

Images are keyed by their name, which is unique within a study.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from builder.core.errors import InvalidInputError
from builder.core.checks import Diagnostic
from builder.curation import checks as sub
from builder.core.layout import LOCK_NAME, RECORD_NAME, STUDIES_DIR, image_key, image_key_name

LOCK_VERSION = 1
_ENTRY_KEYS = {"url", "fingerprint", "ngff_version", "kind"}


class LockError(InvalidInputError):
    """images.lock is missing fields or is not JSON; the message says which."""


@dataclass(frozen=True, slots=True)
class LockEntry:
    url: str
    fingerprint: str
    ngff_version: str
    kind: str

    def to_dict(self) -> dict[str, str]:
        return {"fingerprint": self.fingerprint, "kind": self.kind, "ngff_version": self.ngff_version, "url": self.url}


@dataclass(frozen=True, slots=True)
class ImageLock:
    accession: str
    images: dict[str, LockEntry]

    def to_text(self) -> str:
        doc = {
            "accession": self.accession,
            "images": {name: self.images[name].to_dict() for name in sorted(self.images)},
            "lock_version": LOCK_VERSION,
        }
        return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def lock_path(root: Path, folder: str) -> Path:
    return Path(root) / STUDIES_DIR / folder / LOCK_NAME


def lock_rel_path(folder: str) -> str:
    return f"{STUDIES_DIR}/{folder}/{LOCK_NAME}"


def parse_lock(text: str | bytes) -> ImageLock:
    """Parse images.lock; :class:`LockError` explains what is wrong."""
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LockError(f"not JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise LockError("the top level must be a JSON object")
    if doc.get("lock_version") != LOCK_VERSION:
        raise LockError(f"lock_version is {doc.get('lock_version')!r}, this builder writes {LOCK_VERSION}")
    accession = doc.get("accession")
    images = doc.get("images")
    if not isinstance(accession, str) or not isinstance(images, dict):
        raise LockError("it needs an `accession` string and an `images` object")
    entries: dict[str, LockEntry] = {}
    for name, entry in images.items():
        if not isinstance(entry, dict) or set(entry) != _ENTRY_KEYS or not all(
            isinstance(v, str) for v in entry.values()
        ):
            raise LockError(f"image '{name}' needs exactly the text fields {', '.join(sorted(_ENTRY_KEYS))}")
        entries[name] = LockEntry(**entry)
    return ImageLock(accession=accession, images=entries)


def read_lock(root: Path, folder: str) -> ImageLock | None:
    """The study's lock, None when it has none; :class:`LockError` when unreadable."""
    path = lock_path(root, folder)
    if path.is_symlink() or path.parent.is_symlink():
        raise LockError("it is a symbolic link; commit the file itself")
    if not path.is_file():
        return None
    return parse_lock(path.read_bytes())


def record_images(raw: dict[str, Any]) -> dict[str, str]:
    """Image name -> url as the record (plain data) lists them."""
    images: dict[str, str] = {}
    datasets = raw.get("datasets")
    for dataset in datasets if isinstance(datasets, list) else []:
        entries = dataset.get("images") if isinstance(dataset, dict) else None
        for image in entries if isinstance(entries, list) else []:
            if isinstance(image, dict) and isinstance(image.get("name"), str):
                images[image["name"]] = str(image.get("url", ""))
    return images


def _fix(folder: str) -> str:
    return f"run `bioarchive lock {STUDIES_DIR}/{folder}` and commit {lock_rel_path(folder)}"


def check_lock_entries(root: Path, folder: str, raw: dict[str, Any]) -> list[Diagnostic]:
    """Does images.lock pin exactly the record's images? (No data is read.)

    Withdrawn studies are exempt: their data may be gone for good reasons.
    """
    if raw.get("status") == "withdrawn":
        return []
    images = record_images(raw)
    if not images:
        return []
    rel = lock_rel_path(folder)
    try:
        lock = read_lock(root, folder)
    except LockError as exc:
        return [
            Diagnostic.of(
                sub.LOCK_UNREADABLE,
                f"{rel} cannot be read: {exc}; delete it, {_fix(folder)}",
                file=rel,
            )
        ]
    if lock is None:
        return [
            Diagnostic.of(
                sub.LOCK_MISSING,
                f"{STUDIES_DIR}/{folder} has no {LOCK_NAME} pinning its {len(images)} image(s); {_fix(folder)}",
                file=f"{STUDIES_DIR}/{folder}/{RECORD_NAME}",
            )
        ]
    out: list[Diagnostic] = []
    for name, url in sorted(images.items()):
        entry = lock.images.get(name)
        if entry is None:
            out.append(
                Diagnostic.of(
                    sub.LOCK_IMAGE_MISSING,
                    f"image '{name}' ({url}) is not pinned in {rel}; {_fix(folder)}",
                    file=rel,
                    field=name,
                )
            )
        elif entry.url != url:
            out.append(
                Diagnostic.of(
                    sub.LOCK_STALE_ENTRY,
                    f"{rel} pins image '{name}' at {entry.url}, but the record now says {url}; {_fix(folder)}",
                    file=rel,
                    field=name,
                )
            )
    for name in sorted(set(lock.images) - set(images)):
        out.append(
            Diagnostic.of(
                sub.LOCK_STALE_ENTRY,
                f"{rel} pins image '{name}', which the record no longer lists; {_fix(folder)}",
                file=rel,
                field=name,
            )
        )
    return out


def compare_fingerprints(
    folder: str, lock: ImageLock, live: dict[str, str | None]
) -> list[Diagnostic]:
    """Live fingerprints (image name -> fingerprint, None when unreadable) against the pinned ones.

    Images missing from the lock are :func:`check_lock_entries`' business;
    unreadable images are reported by the data checks.
    """
    rel = lock_rel_path(folder)
    out: list[Diagnostic] = []
    for name, fingerprint in sorted(live.items()):
        entry = lock.images.get(name)
        if entry is None or fingerprint is None or fingerprint == entry.fingerprint:
            continue
        out.append(
            Diagnostic.of(
                sub.LOCK_FINGERPRINT_CHANGED,
                f"image '{name}' ({entry.url}) has changed since it was pinned: fingerprint "
                f"{_short(entry.fingerprint)} in {rel}, {_short(fingerprint)} now. If the change is intended, "
                f"{_fix(folder)}; otherwise restore the data",
                file=rel,
                field=name,
                extra={"pinned": entry.fingerprint, "live": fingerprint},
            )
        )
    return out


def _short(fingerprint: str) -> str:
    return fingerprint if len(fingerprint) <= 23 else fingerprint[:23] + "…"


def image_targets(study: Any) -> list[Any]:
    """One ImageTarget per image of a Study, keyed "<ACCESSION>/<dataset>/<image>" like validation does."""
    from builder.data.inspection import ImageTarget  # imported here: zarr is slow to import

    targets = []
    seen: set[str] = set()
    for dataset in study.datasets:
        for image in dataset.images:
            key = image_key(study.accession, dataset.name, image.name)
            if key not in seen:
                seen.add(key)
                targets.append(ImageTarget(key=key, url=image.url, kind=image.kind.value, untrusted=True))
    return targets


def image_name(key: str) -> str:
    return image_key_name(key)


def lock_from_outcomes(study: Any, outcomes: dict[str, Any]) -> tuple[ImageLock | None, list[Diagnostic]]:
    """The lock for ``study`` from inspected images; None (and why) when an image could not be read."""
    from builder.core.checks import has_errors

    entries: dict[str, LockEntry] = {}
    problems: list[Diagnostic] = []
    urls = {image.name: image.url for _, image in study.images()}
    for key, outcome in sorted(outcomes.items()):
        name = image_name(key)
        if outcome.facts is None or not outcome.facts.fingerprint or has_errors(outcome.diagnostics):
            problems.extend(d for d in outcome.diagnostics if d.severity.value == "error")
            if not outcome.diagnostics:
                problems.append(
                    Diagnostic.of(
                        sub.IMAGE_UNREACHABLE,
                        f"image '{name}' ({urls.get(name, key)}) gave no metadata to pin",
                        field=name,
                    )
                )
            continue
        entries[name] = LockEntry(
            url=urls.get(name, outcome.facts.url),
            fingerprint=outcome.facts.fingerprint,
            ngff_version=outcome.facts.ngff_version,
            kind=outcome.facts.kind,
        )
    if problems:
        return None, problems
    return ImageLock(accession=study.accession, images=entries), []


def check_lock(root: Path, study: Any, outcomes: dict[str, Any]) -> list[Diagnostic]:
    """Live fingerprints of a study's inspected images against its images.lock (SUB021).

    ``outcomes`` is what ``builder.data.inspection.inspect_images`` returned for the
    study's images (keys "<ACCESSION>/<dataset>/<image>"). Missing or stale lock
    entries are :func:`check_lock_entries`' findings, unreadable images the
    data checks'; this reports only pinned images whose data changed.
    """
    try:
        lock = read_lock(root, study.accession)
    except LockError:
        return []  # reported by check_lock_entries as SUB023
    if lock is None:
        return []
    prefix = f"{study.accession}/"
    live = {
        image_name(key): (outcome.facts.fingerprint if outcome.facts is not None else None)
        for key, outcome in outcomes.items()
        if key.startswith(prefix)
    }
    return compare_fingerprints(study.accession, lock, live)
