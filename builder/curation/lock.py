"""images.lock: what a study's images are, pinned in Git: metadata fingerprint and content checksum.

``bioarchive lock studies/<ACCESSION>`` reads every image of the study (its
metadata, and every byte once, streaming, in parallel) and writes
``studies/<ACCESSION>/images.lock``; the depositor commits it. Review compares
the sources with it (metadata and content), ingest copies exactly the pinned
content into the archive, and fixity checks the archive's copies.

The file is JSON with sorted keys and a fixed layout, so the same data always
gives the same bytes and Git diffs stay readable (lock version 2)::

    {
      "accession": "OIA-000001",
      "images": {
        "cells": {"content": {"objects": 41, "total_bytes": 1843211,
                              "tree_checksum": "9c1f...-41--1843211"},
                  "fingerprint": "sha256:...", "kind": "image", "ngff_version": "0.5",
                  "url": "images/cells.ome.zarr"}
      },
      "lock_version": 2
    }

``tree_checksum`` is the Zarr tree checksum DANDI computes (the zarr-checksum
package) over every object of the image. Version-1 files (metadata only) are
still read: their entries have no content (warning SUB025), and the next
``bioarchive lock`` rewrites them as version 2. Images are keyed by their
name, which is unique within a study.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from builder.core.checks import Diagnostic
from builder.core.errors import InvalidInputError
from builder.core.layout import LOCK_NAME, RECORD_NAME, STUDIES_DIR, image_key, image_key_name
from builder.curation import checks as sub

LOCK_VERSION = 2
READABLE_VERSIONS = (1, 2)
_V1_KEYS = {"url", "fingerprint", "ngff_version", "kind"}
_V2_KEYS = _V1_KEYS | {"content"}
_CONTENT_KEYS = {"tree_checksum", "total_bytes", "objects"}
_TREE = re.compile(r"^([0-9a-f]{32})-([0-9]+)--([0-9]+)$")


class LockError(InvalidInputError):
    """images.lock is missing fields or is not JSON; the message says which."""


@dataclass(frozen=True, slots=True)
class ContentChecksum:
    """What every byte of an image adds up to: zarr-checksum's tree digest, its bytes and objects."""

    tree_checksum: str
    total_bytes: int
    objects: int

    def to_dict(self) -> dict[str, Any]:
        return {"objects": self.objects, "total_bytes": self.total_bytes, "tree_checksum": self.tree_checksum}

    @classmethod
    def of(cls, manifest: Any) -> ContentChecksum:
        """From a builder.data.manifest.ImageManifest."""
        return cls(manifest.tree_checksum, manifest.total_bytes, len(manifest.objects))

    def describe(self) -> str:
        return f"{self.objects} objects, {self.total_bytes} bytes, tree checksum {self.tree_checksum}"


@dataclass(frozen=True, slots=True)
class LockEntry:
    url: str
    fingerprint: str
    ngff_version: str
    kind: str
    content: ContentChecksum | None = None  # None: read from a version-1 lock, not yet re-locked

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "fingerprint": self.fingerprint, "kind": self.kind, "ngff_version": self.ngff_version, "url": self.url,
        }
        if self.content is not None:
            doc["content"] = self.content.to_dict()
        return doc


@dataclass(frozen=True, slots=True)
class ImageLock:
    accession: str
    images: dict[str, LockEntry]
    version: int = LOCK_VERSION  # the version of the file it was read from

    def to_text(self) -> str:
        """Lock version 2; every entry must pin its content (``bioarchive lock`` computes it)."""
        unpinned = sorted(name for name, entry in self.images.items() if entry.content is None)
        if unpinned:
            raise LockError(f"image(s) {', '.join(unpinned)} have no content checksum; a version-2 lock pins it")
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
    """Parse images.lock (version 1 or 2); :class:`LockError` explains what is wrong."""
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LockError(f"not JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise LockError("the top level must be a JSON object")
    version = doc.get("lock_version")
    if isinstance(version, bool) or version not in READABLE_VERSIONS:
        raise LockError(f"lock_version is {version!r}; this builder reads versions 1 and 2 and writes {LOCK_VERSION}")
    if set(doc) != {"accession", "images", "lock_version"}:
        raise LockError("it needs exactly the fields accession, images and lock_version")
    accession = doc.get("accession")
    images = doc.get("images")
    if not isinstance(accession, str) or not isinstance(images, dict):
        raise LockError("it needs an `accession` string and an `images` object")
    keys = _V1_KEYS if version == 1 else _V2_KEYS
    entries: dict[str, LockEntry] = {}
    for name, entry in images.items():
        if not isinstance(entry, dict) or set(entry) != keys or not all(
            isinstance(entry[k], str) for k in _V1_KEYS
        ):
            raise LockError(
                f"image '{name}' needs exactly the fields {', '.join(sorted(keys))}"
                + (" (content: an object; the others: text)" if version == 2 else " (all text)")
            )
        content = _parse_content(name, entry["content"]) if version == 2 else None
        entries[name] = LockEntry(
            url=entry["url"], fingerprint=entry["fingerprint"], ngff_version=entry["ngff_version"],
            kind=entry["kind"], content=content,
        )
    return ImageLock(accession=accession, images=entries, version=version)


def _parse_content(name: str, raw: Any) -> ContentChecksum:
    where = f"image '{name}': content"
    if not isinstance(raw, dict) or set(raw) != _CONTENT_KEYS:
        raise LockError(f"{where} needs exactly the fields {', '.join(sorted(_CONTENT_KEYS))}")
    tree, total, objects = raw["tree_checksum"], raw["total_bytes"], raw["objects"]
    match = _TREE.match(tree) if isinstance(tree, str) else None
    if match is None:
        raise LockError(f"{where}.tree_checksum {tree!r} is not a zarr-checksum digest (<md5>-<objects>--<bytes>)")
    for field_name, value in (("total_bytes", total), ("objects", objects)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise LockError(f"{where}.{field_name} must be a whole number, not {value!r}")
    if int(match.group(2)) != objects or int(match.group(3)) != total:
        raise LockError(f"{where}: the tree checksum counts {match.group(2)} objects and {match.group(3)} bytes, "
                        f"the entry {objects} and {total}")
    return ContentChecksum(tree, total, objects)


def migrate_lock(text: str | bytes, contents: dict[str, ContentChecksum]) -> ImageLock:
    """A lock of any readable version, with content checksums filled in from ``contents`` (name -> content).

    A version-1 lock needs a content checksum for every image (``bioarchive lock`` reads the data for it).
    """
    lock = parse_lock(text)
    images = {
        name: LockEntry(entry.url, entry.fingerprint, entry.ngff_version, entry.kind,
                        contents.get(name, entry.content))
        for name, entry in lock.images.items()
    }
    return ImageLock(accession=lock.accession, images=images)


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
    for name in sorted(n for n in images if n in lock.images and lock.images[n].content is None):
        out.append(
            Diagnostic.of(
                sub.LOCK_NO_CONTENT,
                f"{rel} pins only the metadata of image '{name}' (lock version {lock.version}); review cannot "
                f"compare its bytes and ingest will refuse it; {_fix(folder)}",
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


def lock_from_outcomes(
    study: Any, outcomes: dict[str, Any], contents: dict[str, ContentChecksum] | None = None,
) -> tuple[ImageLock | None, list[Diagnostic]]:
    """The lock for ``study`` from inspected images (and their content checksums, name -> content);
    None (and why) when an image could not be read."""
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
            content=(contents or {}).get(name),
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


# ------------------------------------------------------------------ content checksums (every byte)

def content_budget(settings: Any) -> Any:
    """What reading one whole image may cost: the archive's custody limits ([archive.store]), not the
    metadata inspection's (which reads a few chunks)."""
    from builder.data.storage import Budget

    store = settings.store
    return Budget(
        max_bytes=store.max_image_bytes + 64 * 1024 * 1024,  # the metadata documents on top
        max_requests=store.max_image_objects + 1000,
        max_seconds=float("inf"),
        request_timeout_s=store.request_timeout_s,
        max_document_bytes=settings.limits.max_metadata_bytes,
    )


def image_contents(
    study: Any, settings: Any, root: Path, *, max_workers: int | None = None,
    progress: Any = None, names: set[str] | None = None,
) -> tuple[dict[str, Any], list[Diagnostic]]:
    """The content manifest of every image of ``study`` (name -> ImageManifest), read from its source.

    Every byte is read once, streaming, ``max_workers`` objects at once (default: the
    ``[archive.store] transfers`` setting). ``progress(image_name, nbytes)`` is called per
    block read. Images that cannot be read are left out, with a diagnostic naming study,
    image and object.
    """
    from builder.data.manifest import manifest_of
    from builder.data.storage import StorageError, open_store

    workers = max_workers or settings.store.transfers
    manifests: dict[str, Any] = {}
    problems: list[Diagnostic] = []
    seen: set[str] = set()
    for _dataset, image in study.images():
        if image.name in seen or (names is not None and image.name not in names):
            continue
        seen.add(image.name)
        hook = (lambda n, name=image.name: progress(name, n)) if progress is not None else None
        try:
            store = open_store(image.url, settings, root, untrusted=True, budget=content_budget(settings))
            manifests[image.name] = manifest_of(store, max_workers=workers, progress=hook, image=image.name)
        except StorageError as exc:
            where = f" (object {exc.key})" if exc.key else ""
            problems.append(Diagnostic.of(
                sub.IMAGE_UNREACHABLE,
                f"{study.accession} image '{image.name}' ({image.url}){where} could not be read to its last byte: "
                f"{exc.check}: {exc.message}",
                field=image.name,
                extra={"study": study.accession, "image": image.name, "object": exc.key, "cause": exc.check},
            ))
    return manifests, problems


def contents_of(manifests: dict[str, Any]) -> dict[str, ContentChecksum]:
    return {name: ContentChecksum.of(manifest) for name, manifest in manifests.items()}


def first_difference(reference: Any, live: Any) -> tuple[str, str] | None:
    """(object key, what differs) of the first object, in key order, where two manifests differ."""
    old, new = reference.by_key(), live.by_key()
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before is None:
            return key, "is new"
        if after is None:
            return key, "is missing"
        if before.size != after.size:
            return key, f"has {after.size} bytes instead of {before.size}"
        if before.sha256 != after.sha256:
            return key, f"has other bytes (sha256 {after.sha256[:12]}…, locked {before.sha256[:12]}…)"
    return None


def compare_content(
    folder: str, lock: ImageLock, live: dict[str, Any], references: dict[str, Any] | None = None,
) -> list[Diagnostic]:
    """Live content manifests (name -> ImageManifest) against the lock's content checksums (SUB026).

    ``references`` (tree checksum -> ImageManifest, e.g. from the archive store's manifests)
    let the message name the first object that differs; without one, the counts do.
    """
    rel = lock_rel_path(folder)
    out: list[Diagnostic] = []
    for name, manifest in sorted(live.items()):
        entry = lock.images.get(name)
        if entry is None or entry.content is None or manifest.tree_checksum == entry.content.tree_checksum:
            continue
        pinned = entry.content
        reference = (references or {}).get(pinned.tree_checksum)
        difference = first_difference(reference, manifest) if reference is not None else None
        extra: dict[str, Any] = {
            "study": lock.accession, "image": name, "pinned": pinned.tree_checksum, "live": manifest.tree_checksum,
        }
        if difference is not None:
            extra["object"] = difference[0]
            detail = f"object {difference[0]} {difference[1]}"
        else:
            detail = (f"it now has {len(manifest.objects)} objects, {manifest.total_bytes} bytes "
                      f"(locked: {pinned.objects} objects, {pinned.total_bytes} bytes)")
        out.append(Diagnostic.of(
            sub.LOCK_CONTENT_CHANGED,
            f"{lock.accession} image '{name}' ({entry.url}) is not the content pinned in {rel}: {detail}; "
            f"tree checksum {manifest.tree_checksum} now, {pinned.tree_checksum} locked. If the change is "
            f"intended, {_fix(folder)}; otherwise restore the data",
            file=rel, field=name, extra=extra,
        ))
    return out


def reference_manifests(settings: Any, root: Path, accession: str, up_to: int) -> dict[str, Any]:
    """Tree checksum -> ImageManifest of every archived version of a study (empty when none is readable).

    Read access to the archive store only; used to name the first changed object.
    """
    from builder.core import layout
    from builder.data.manifest import ManifestError, VersionManifest
    from builder.data.storage import StorageError

    found: dict[str, Any] = {}
    try:
        from builder.data.archive import archive_store_url, open_archive_store

        url = archive_store_url(settings, root)
        if "://" not in url and not Path(url).is_dir():
            return found
        store = open_archive_store(settings, root)
        for version in range(max(1, up_to), 0, -1):
            data = store.get_document(layout.manifest_key(accession, version))
            if data is None:
                continue
            for manifest in VersionManifest.from_bytes(data).images.values():
                found.setdefault(manifest.tree_checksum, manifest)
    except (StorageError, ManifestError, OSError):
        return found  # naming the object is a courtesy; the change itself is still reported
    return found


def check_content(
    root: Path, study: Any, settings: Any, *, max_workers: int | None = None, progress: Any = None,
) -> list[Diagnostic]:
    """Every byte of the study's sources against the content checksums in its images.lock (SUB026).

    Images the lock does not pin with content are skipped (SUB025 says so); unreadable
    ones are reported (SUB030) with the object that failed.
    """
    try:
        lock = read_lock(root, study.accession)
    except LockError:
        return []  # SUB023, from check_lock_entries
    if lock is None:
        return []
    pinned = {name for name, entry in lock.images.items() if entry.content is not None}
    if not pinned:
        return []
    live, problems = image_contents(study, settings, root, max_workers=max_workers, progress=progress,
                                    names=pinned)
    out = [d for d in problems]
    changed = [name for name, m in live.items()
               if m.tree_checksum != getattr(lock.images[name].content, "tree_checksum", None)]
    references = reference_manifests(settings, root, study.accession, study.version) if changed else {}
    out.extend(compare_content(study.accession, lock, live, references))
    return out


@dataclass
class LockOutcome:
    """What ``lock_study`` did: the lock written (or already up to date), or why nothing was written."""

    accession: str | None
    rel_path: str  # studies/<ACCESSION>/images.lock
    lock: ImageLock | None = None
    record_errors: list[Diagnostic] | None = None  # the record is invalid: nothing was read
    problems: list[Diagnostic] | None = None  # images that could not be read: nothing was written
    changed: bool = False  # False with a lock: the file was already up to date
    total_bytes: int = 0
    objects: int = 0


def lock_study(folder: Path, settings: Any, root: Path, *, workers: int | None = None,
               progress: Any = None, announce: Any = None) -> LockOutcome:
    """Pin the study in ``folder``: read every image's metadata and every byte once, then write images.lock.

    Nothing is written when the record is invalid or an image cannot be read, so a lock always
    describes data that was really there; the file is replaced whole (never half-written).
    ``progress(image_name, nbytes)`` is called per block read; ``announce(text)`` before reading.
    """
    from builder.core.checks import has_errors
    from builder.data.inspection import inspect_images
    from builder.records.load import load_record

    rel = f"{STUDIES_DIR}/{folder.name}/{LOCK_NAME}"
    result = load_record(folder / RECORD_NAME, settings, root=root, hints=False)
    if result.study is None or has_errors(result.diagnostics):
        errors = [d for d in result.diagnostics if d.severity.value == "error"]
        return LockOutcome(accession=None, rel_path=rel, record_errors=errors)
    study = result.study
    targets = image_targets(study)
    if announce is not None:
        announce(f"Reading {len(targets)} image(s) of {study.accession} ...")
    outcomes = inspect_images(targets, settings, root, thumbnails=False)
    manifests, unread = image_contents(study, settings, root, max_workers=workers, progress=progress)
    lock, problems = lock_from_outcomes(study, outcomes, contents_of(manifests))
    problems = (problems or []) + unread
    if unread or lock is None:
        return LockOutcome(accession=study.accession, rel_path=rel, problems=problems)
    outcome = LockOutcome(accession=study.accession, rel_path=rel, lock=lock,
                          total_bytes=sum(m.total_bytes for m in manifests.values()),
                          objects=sum(len(m.objects) for m in manifests.values()))
    path = lock_path(root, folder.name)
    text = lock.to_text()
    if path.is_file() and path.read_text("utf-8") == text:
        return outcome
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, "utf-8")
    partial.replace(path)
    outcome.changed = True
    return outcome
