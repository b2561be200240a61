"""The archive's own store: opening it, what an archived version is, and stored facts and thumbnails.

Custody writes (``bioarchive ingest``, builder.curation.ingest) and every
reader (the build, fixity) agree here on three rules:

- keys come only from ``builder.core.layout`` (accession, version, image name,
  content checksum), never from a path in a record;
- a version is archived exactly when its manifest exists: the manifest is
  written last, so a reader never takes a half-copied version for a complete one;
- nothing is overwritten: a new version is a new prefix, and derived
  artifacts (facts, thumbnails) are keyed by the content checksum, so the
  same bytes always have the same artifacts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from builder.core import layout
from builder.core.checks import Diagnostic, get_check
from builder.core.settings import ArchiveSettings
from builder.data.storage import (
    Budget,
    LocalArchiveStore,
    ObjectExists,
    S3ArchiveStore,
    StorageError,
    WritableStore,
)
from builder.model.image import ImageFacts

FACTS_NAME = "facts.json"
DERIVED_FORMAT = 1  # bump when facts.json changes meaning; older artifacts are then recomputed


def archive_store_url(settings: ArchiveSettings, root: Path) -> str:
    """The store's URL: ``s3://...`` as configured, or the local folder as an absolute path."""
    url = settings.store.url
    if url.lower().startswith("s3://"):
        return url.rstrip("/")
    if "://" in url:
        raise StorageError(
            "SAF002", f"[archive.store] url {url!r}: use a folder or s3://bucket/prefix", url=url,
        )
    path = Path(url)
    return str(path if path.is_absolute() else root / path)


def open_archive_store(settings: ArchiveSettings, root: Path) -> WritableStore:
    """The archive's store, for writing (ingest) and for reading (build, fixity)."""
    url = archive_store_url(settings, root)
    budget = Budget.unbounded(request_timeout_s=settings.store.request_timeout_s,
                              max_document_bytes=max(settings.limits.max_metadata_bytes, 256 * 1024 * 1024))
    if url.startswith("s3://"):
        return S3ArchiveStore(url, budget, endpoint_url=settings.store.endpoint_url or settings.s3_endpoint_url,
                              max_connections=max(10, settings.store.transfers * 2))
    return LocalArchiveStore(Path(url), budget)


def archive_image_location(settings: ArchiveSettings, root: Path, accession: str, version: int, image: str) -> str:
    """Where a process reads the archived copy of an image (s3:// or a local path)."""
    return f"{archive_store_url(settings, root)}/{layout.archived_image_prefix(accession, version, image)}"


def archive_public_url(settings: ArchiveSettings, accession: str, version: int, image: str) -> str | None:
    """The HTTPS address readers use for the archived copy, when the store has one (``public_url``)."""
    public = settings.store.public_url.rstrip("/")
    if not public:
        return None
    return f"{public}/{layout.archived_image_prefix(accession, version, image)}"


# ------------------------------------------------------------------ tree checksums

def tree_checksum(entries: list[tuple[str, int, str]]) -> str:
    """DANDI's Zarr tree checksum (``<md5>-<files>--<bytes>``) from (key, size, md5 hex) of every object.

    Custody computes it from the MD5s it takes while copying, without a second read.
    """
    from builder.data.manifest import tree_checksum as zarr_tree_checksum

    return zarr_tree_checksum(entries)


# ------------------------------------------------------------------ archived versions

def read_version_manifest(store: WritableStore, accession: str, version: int) -> Any | None:
    """The version's manifest (builder.data.manifest.VersionManifest), or None: not (completely) archived."""
    from builder.data.manifest import VersionManifest

    data = store.get_document(layout.manifest_key(accession, version))
    if data is None:
        return None
    try:
        return VersionManifest.from_bytes(data)
    except (ValueError, KeyError, TypeError) as exc:
        raise StorageError(
            "ARC006", f"{store.location(layout.manifest_key(accession, version))} is not a manifest the "
            f"builder wrote: {exc}", url=store.url, key=layout.manifest_key(accession, version),
        ) from None


def archived_versions(store: WritableStore, accession: str, up_to: int) -> list[int]:
    """Versions 1..up_to of a study that are archived (their manifest exists), newest first."""
    found = []
    for version in range(up_to, 0, -1):
        if store.stat(layout.manifest_key(accession, version)) is not None:
            found.append(version)
    return found


# ------------------------------------------------------------------ derived artifacts

def facts_key(tree: str) -> str:
    return f"{layout.derived_prefix(tree)}/{FACTS_NAME}"


def thumbnail_key(tree: str, file_name: str) -> str:
    return f"{layout.derived_prefix(tree)}/{layout._name(file_name, 'thumbnail file name')}"


def store_derived(store: WritableStore, tree: str, facts: ImageFacts, thumbnail_dir: Path) -> None:
    """Facts and thumbnails of the bytes with this checksum; thumbnails first, the facts (which name them) last."""
    for file_name in sorted(set(facts.thumbnails.values())):
        try:
            store.put(thumbnail_key(tree, file_name), (thumbnail_dir / file_name).read_bytes())
        except ObjectExists:
            pass  # the same bytes gave the same thumbnail before
    document = {"format": DERIVED_FORMAT, "tree_checksum": tree, "facts": facts.model_dump(mode="json")}
    try:
        store.put(facts_key(tree), json.dumps(document, sort_keys=True).encode())
    except ObjectExists:
        pass


def load_derived(store: WritableStore, tree: str, thumbnail_dir: Path | None = None) -> ImageFacts | None:
    """Stored facts of the bytes with this checksum (thumbnails copied into ``thumbnail_dir``), or None."""
    data = store.get_document(facts_key(tree))
    if data is None:
        return None
    try:
        document = json.loads(data)
        if document.get("format") != DERIVED_FORMAT or document.get("tree_checksum") != tree:
            return None
        facts = ImageFacts.model_validate(document["facts"])
    except (ValueError, KeyError, TypeError):
        return None
    if thumbnail_dir is not None:
        thumbnail_dir.mkdir(parents=True, exist_ok=True)
        for file_name in sorted(set(facts.thumbnails.values())):
            target = thumbnail_dir / file_name
            if target.is_file():
                continue
            blob = store.get(thumbnail_key(tree, file_name))
            if blob is None:
                return None  # facts without their thumbnails: treat as not derived yet
            partial = target.with_suffix(target.suffix + ".partial")
            partial.write_bytes(blob)
            partial.replace(target)
    return facts


# ------------------------------------------------------------------ the build's use of the archive

@dataclass(slots=True)
class ArchivedImage:
    key: str  # image key "<ACCESSION>/<dataset>/<image>"
    version: int  # the archived version the facts come from
    facts: ImageFacts
    current: bool  # the study's current version (False: an older archived version, used as a fallback)


def archived_image_facts(
    studies: list[Any], settings: ArchiveSettings, root: Path, thumbnail_dir: Path,
) -> dict[str, ArchivedImage]:
    """Facts (and thumbnails, copied into ``thumbnail_dir``) of every image the archive holds.

    For each study, the newest archived version up to its current one; an
    image found only in an older version is returned with ``current=False``
    so the build can fall back to it when the source cannot be read. Reads
    manifests and derived artifacts only: no pixel data.
    """
    found: dict[str, ArchivedImage] = {}
    if not studies:
        return found
    try:
        url = archive_store_url(settings, root)
        if "://" not in url and not Path(url).is_dir():
            return found  # nothing ingested yet (a fresh clone)
        store = open_archive_store(settings, root)
    except StorageError:
        return found
    for study in studies:
        for version in archived_versions(store, study.accession, study.version):
            manifest = read_version_manifest(store, study.accession, version)
            if manifest is None:
                continue
            for dataset, image in study.images():
                key = layout.image_key(study.accession, dataset.name, image.name)
                entry = manifest.images.get(image.name)
                if key in found or entry is None:
                    continue
                facts = load_derived(store, entry.tree_checksum, thumbnail_dir)
                if facts is None:
                    continue
                location = (archive_public_url(settings, study.accession, version, image.name)
                            or archive_image_location(settings, root, study.accession, version, image.name))
                facts = facts.model_copy(update={"url": location})
                found[key] = ArchivedImage(key, version, facts, current=version == study.version)
    return found


def archive_fallback(archived: ArchivedImage, problems: list[Diagnostic]) -> Diagnostic:
    """ARC007: the build shows the archived copy because the source could not be read (and says why)."""
    reason = problems[0].message if problems else "the source could not be read"
    return Diagnostic.of(
        get_check("ARC007"),
        f"{archived.key}: {reason}; the site shows the archived copy of version {archived.version}",
        extra={"image": archived.key, "version": archived.version},
    )
