"""Custody: copy each image of an accepted, locked study into the archive's store, verified.

For every version of a study the archive holds exactly one complete copy:
``<ACCESSION>/v<VERSION>/<image>.ome.zarr/...`` plus the version's manifest,
written last (``builder.data.archive``). One run, per study:

1. the study must be valid, released, not withdrawn, and locked with content
   checksums (``images.lock`` version 2);
2. a version already archived (its manifest exists) is compared with the
   lock: equal, nothing is read or written (idempotent: 0 object bytes);
   different, error ARC002 (archived versions never change);
3. otherwise each image's source (the record's URL, untrusted: the storage
   guards apply) is listed and bounded by ``[archive.store]`` limits before
   any byte is copied; objects are streamed in parallel into the store, each
   hashed (SHA-256 and MD5) on the way, retried with back-off on transient
   failures; objects a killed run already stored are verified, not copied;
4. the image's tree checksum, computed from those hashes, must equal the
   lock's (ARC001 otherwise); facts and thumbnails are computed once from the
   archive copy and stored under the content checksum;
5. the manifest is written last. A run killed at any moment leaves no
   manifest, so nothing counts as archived, and the next run continues.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from builder.core import layout
from builder.core.checks import Diagnostic, get_check
from builder.core.errors import ArchiveError
from builder.core.settings import ArchiveSettings
from builder.curation import checks as C
from builder.data import archive
from builder.data.storage import (
    BLOCK_SIZE,
    Budget,
    ObjectExists,
    ObjectInfo,
    StorageError,
    Store,
    WritableStore,
    open_store,
)
from builder.model.publication import data_is_public

T = TypeVar("T")

# Failures worth another attempt: connection trouble, slowness, 5xx answers.
TRANSIENT_CHECKS = frozenset({"NET001", "NET004", "NET007"})
BACKOFF_BASE_S = 0.2
BACKOFF_MAX_S = 10.0


class CustodyError(ArchiveError):
    """One image (or study) cannot be archived; carries the diagnostic that says why."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


@dataclass(slots=True)
class ImageResult:
    accession: str
    version: int
    image: str
    status: str  # "archived" | "already archived" | "failed"
    objects: int = 0
    bytes_total: int = 0
    objects_copied: int = 0
    bytes_copied: int = 0  # object bytes transferred from the source into the store
    objects_verified: int = 0  # already in the store from an earlier, interrupted run
    tree_checksum: str | None = None


@dataclass(slots=True)
class IngestReport:
    images: list[ImageResult] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    studies_archived: list[str] = field(default_factory=list)

    @property
    def bytes_copied(self) -> int:
        return sum(i.bytes_copied for i in self.images)

    @property
    def ok(self) -> bool:
        return not any(d.severity.value == "error" for d in self.diagnostics)


@dataclass(frozen=True, slots=True)
class LockedContent:
    tree_checksum: str
    total_bytes: int | None
    objects: int | None


def locked_content(entry: Any) -> LockedContent | None:
    """The content checksum a lock entry pins (lock version 2), or None for a version-1 entry."""
    content = getattr(entry, "content", None)
    if content is not None and not isinstance(content, str):
        tree = getattr(content, "tree_checksum", None)
        total = getattr(content, "total_bytes", None)
        count = getattr(content, "objects", None)
        if not isinstance(count, int):
            count = getattr(content, "object_count", None)
    else:
        tree = content if isinstance(content, str) else (
            getattr(entry, "tree_checksum", None) or getattr(entry, "content_checksum", None))
        total = getattr(entry, "total_bytes", None)
        count = getattr(entry, "object_count", None)
    if not tree:
        return None
    return LockedContent(tree, total, count if isinstance(count, int) else None)


def _diagnostic(check, message: str, *, file: str | None = None, **extra: Any) -> Diagnostic:
    return Diagnostic.of(check, message, file=file, extra={k: v for k, v in extra.items() if v is not None})


def _storage_diagnostic(exc: StorageError, study: str, image: str, file: str | None = None) -> Diagnostic:
    check = get_check(exc.check)
    return _diagnostic(check, f"{study} image {image!r}: {exc.message}", file=file, study=study, image=image,
                       object=exc.key)


def source_budget(settings: ArchiveSettings) -> Budget:
    """What reading one source may cost during custody: the [archive.store] limits, with retries."""
    store = settings.store
    return Budget(
        max_bytes=store.max_image_bytes * (store.retries + 1) + 64 * 1024 * 1024,
        max_requests=(store.max_image_objects + 10) * (store.retries + 2),
        max_seconds=float("inf"),
        request_timeout_s=store.request_timeout_s,
        max_document_bytes=settings.limits.max_metadata_bytes,
    )


# ------------------------------------------------------------------ one object

class _Hashing:
    """Passes blocks through while hashing them: MD5 for the tree checksum, SHA-256 (optional) for the manifest.

    A put computes the SHA-256 itself (the store verifies with it), so copies ask for MD5 only:
    one digest fewer per byte (128 x 1 MiB local -> moto, 16 threads: our CPU 1.33 -> 1.05 s).
    """

    def __init__(
        self, blocks: Iterator[bytes], on_bytes: Callable[[int], None] | None = None, *, sha256: bool = True,
    ) -> None:
        self.blocks = blocks
        self.sha256 = hashlib.sha256() if sha256 else None
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0
        self.on_bytes = on_bytes

    def sha256_hex(self) -> str:
        assert self.sha256 is not None, "created with sha256=False"
        return self.sha256.hexdigest()

    def __iter__(self) -> Iterator[bytes]:
        for block in self.blocks:
            if self.sha256 is not None:
                self.sha256.update(block)
            self.md5.update(block)
            self.size += len(block)
            if self.on_bytes:
                self.on_bytes(len(block))
            yield block


@dataclass(slots=True)
class CopiedObject:
    key: str  # relative to the image root
    size: int
    sha256: str
    md5: str
    copied: bool  # False: it was in the store already (verified)


def _with_retries(action: Callable[[], T], retries: int, what: str) -> T:
    attempt = 0
    while True:
        try:
            return action()
        except StorageError as exc:
            if exc.check not in TRANSIENT_CHECKS or attempt >= retries:
                raise
        except OSError as exc:  # a local read or write failing half-way
            if attempt >= retries:
                raise StorageError("NET007", f"{what}: {exc}", url=what) from None
        # full jitter: many transfers retrying at once must not hit the source together
        time.sleep(random.uniform(0, min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2**attempt)))
        attempt += 1


def copy_object(
    source: Store, target: WritableStore, info: ObjectInfo, target_prefix: str, existing: ObjectInfo | None,
    *, max_object_bytes: int, on_bytes: Callable[[int], None] | None = None,
) -> CopiedObject:
    """Stream one object from the source into the store, hashing it; verify instead if it is there already."""
    target_key = f"{target_prefix}/{info.key}"
    if existing is not None and existing.size == info.size:
        # Left by an interrupted run (puts are whole, so it is complete): hash the archive's copy.
        hashing = _Hashing(target.stream(target_key))
        for _ in hashing:
            pass
        return CopiedObject(info.key, hashing.size, hashing.sha256_hex(), hashing.md5.hexdigest(), False)
    hashing = _Hashing(source.stream(info.key, max_bytes=max_object_bytes), on_bytes, sha256=False)
    try:
        # A different left-over of an unfinished version (no manifest: nobody reads it) is replaced.
        stored = target.put(target_key, hashing, overwrite=existing is not None)
    except ObjectExists:
        # Another ingest wrote it meanwhile: verify that copy instead.
        return copy_object(source, target, info, target_prefix, target.stat(target_key),
                           max_object_bytes=max_object_bytes)
    if stored.sha256 is None or stored.size != hashing.size:
        raise StorageError("ARC003", f"{target.location(target_key)}: the store did not confirm what it received",
                           url=target.url, key=target_key)
    return CopiedObject(info.key, hashing.size, stored.sha256, hashing.md5.hexdigest(), True)


# ------------------------------------------------------------------ one image

class Ingest:
    """Custody of the studies of one archive into one store."""

    def __init__(
        self, root: Path, settings: ArchiveSettings, store: WritableStore | None = None, *,
        transfers: int | None = None, progress: Any = None, derive: bool = True, open_store_now: bool = True,
    ) -> None:
        self.root = root
        self.settings = settings
        self._store = store if store is not None or not open_store_now else archive.open_archive_store(settings, root)
        self.transfers = transfers or settings.store.transfers
        self.progress = progress  # a rich Progress, or None
        self.derive = derive
        self.report = IngestReport()
        self._lock = threading.Lock()

    @property
    def store(self) -> WritableStore:
        if self._store is None:
            self._store = archive.open_archive_store(self.settings, self.root)
        return self._store

    # -- sources ----------------------------------------------------------------
    def source_objects(self, source: Store, accession: str, image: str) -> list[ObjectInfo]:
        """Every object of the source image, bounded by the limits before any is copied."""
        limits = self.settings.store
        if source.can_list:
            objects = []
            for info in source.iter_objects(""):
                objects.append(info)
                if len(objects) > limits.max_image_objects:
                    break
        else:
            # Plain HTTP lists nothing: the Zarr metadata names the keys, a HEAD each gives the sizes
            # (a chunk never written has none: the fill value, not an object).
            from builder.data.manifest import parallel_map, zarr_keys

            keys = zarr_keys(source, "")
            if len(keys) > limits.max_image_objects:
                objects = [ObjectInfo(k, 0) for k in keys]
            else:
                stats = parallel_map(source.stat, keys, self.transfers)
                objects = sorted((info for info in stats if info is not None), key=lambda info: info.key)
        where = f"{accession} image {image!r}"
        if len(objects) > limits.max_image_objects:
            raise CustodyError(_diagnostic(
                C.OVER_CUSTODY_LIMITS, f"{where}: more than {limits.max_image_objects} objects "
                "([archive.store] max_image_objects); nothing was copied", study=accession, image=image))
        for info in objects:
            if info.size > limits.max_object_bytes:
                raise CustodyError(_diagnostic(
                    C.OVER_CUSTODY_LIMITS, f"{where}: object {info.key} has {info.size} bytes, more than "
                    f"{limits.max_object_bytes} ([archive.store] max_object_bytes); nothing was copied",
                    study=accession, image=image, object=info.key))
        total = sum(info.size for info in objects)
        if total > limits.max_image_bytes:
            raise CustodyError(_diagnostic(
                C.OVER_CUSTODY_LIMITS, f"{where}: {total} bytes, more than {limits.max_image_bytes} "
                "([archive.store] max_image_bytes); nothing was copied", study=accession, image=image))
        if not objects:
            raise CustodyError(_diagnostic(
                get_check("NET002"), f"{where}: the source {source.url} holds no objects", study=accession,
                image=image))
        return objects

    def ingest_image(self, study: Any, image: Any, locked: LockedContent, lock_file: str) -> Any:
        """Copy and verify one image; returns its ImageManifest (nothing is marked archived here)."""
        from builder.data.manifest import ImageManifest, ObjectEntry

        accession, version = study.accession, study.version
        result = ImageResult(accession, version, image.name, "failed")
        self.report.images.append(result)
        source = open_store(image.url, self.settings, self.root, untrusted=True,
                            budget=source_budget(self.settings))
        objects = _with_retries(lambda: self.source_objects(source, accession, image.name),
                                self.settings.store.retries, source.url)
        total = sum(o.size for o in objects)
        where = f"{accession} v{version} image {image.name!r}"
        if locked.objects is not None and locked.total_bytes is not None and (
            len(objects) != locked.objects or total != locked.total_bytes
        ):
            raise CustodyError(_diagnostic(
                C.CONTENT_NOT_AS_LOCKED,
                f"{where}: the source holds {len(objects)} objects, {total} bytes; images.lock pins "
                f"{locked.objects} objects, {locked.total_bytes} bytes. Nothing was copied",
                file=lock_file, study=accession, image=image.name))
        prefix = layout.archived_image_prefix(accession, version, image.name)
        # The version has no manifest, so no reader uses this prefix: clear what a killed run left.
        self.store.clear_interrupted(prefix)
        existing = {info.key[len(prefix) + 1:]: info for info in self.store.iter_objects(prefix)}
        result.objects, result.bytes_total = len(objects), total
        task = None
        if self.progress is not None:
            task = self.progress.add_task(f"{accession}/{image.name}", total=total)

        def advance(n: int) -> None:
            if task is not None:
                self.progress.advance(task, n)

        def one(info: ObjectInfo) -> CopiedObject:
            copied = _with_retries(
                lambda: copy_object(source, self.store, info, prefix, existing.get(info.key),
                                    max_object_bytes=self.settings.store.max_object_bytes, on_bytes=advance),
                self.settings.store.retries, source.location(info.key),
            )
            if not copied.copied:
                advance(copied.size)
            return copied

        copied: list[CopiedObject] = []
        with ThreadPoolExecutor(max_workers=self.transfers, thread_name_prefix="ingest") as pool:
            futures = [pool.submit(one, info) for info in objects]
            try:
                for future in as_completed(futures):
                    copied.append(future.result())
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
        copied.sort(key=lambda c: c.key)
        by_key = {o.key: o for o in objects}
        for item in copied:
            if item.size != by_key[item.key].size:
                raise CustodyError(_diagnostic(
                    C.TRANSFER_CORRUPTED, f"{where}: object {item.key} was listed with {by_key[item.key].size} "
                    f"bytes but {item.size} were read", study=accession, image=image.name, object=item.key))
            expected = by_key[item.key].sha256
            if expected is not None and expected != item.sha256:
                raise CustodyError(_diagnostic(
                    C.CONTENT_NOT_AS_LOCKED, f"{where}: object {item.key} changed while it was copied",
                    study=accession, image=image.name, object=item.key))
        tree = archive.tree_checksum([(c.key, c.size, c.md5) for c in copied])
        result.objects_copied = sum(1 for c in copied if c.copied)
        result.bytes_copied = sum(c.size for c in copied if c.copied)
        result.objects_verified = sum(1 for c in copied if not c.copied)
        result.tree_checksum = tree
        if tree != locked.tree_checksum:
            raise CustodyError(_diagnostic(
                C.CONTENT_NOT_AS_LOCKED,
                f"{where}: the copied content has tree checksum {tree}, images.lock pins {locked.tree_checksum}; "
                "the version was not marked archived", file=lock_file, study=accession, image=image.name))
        result.status = "archived"
        return ImageManifest(
            image=image.name, tree_checksum=tree,
            objects=tuple(ObjectEntry(key=c.key, size=c.size, sha256=c.sha256) for c in copied),
            total_bytes=sum(c.size for c in copied),
        )

    # -- derived artifacts ----------------------------------------------------------
    def derive_artifacts(self, study: Any, manifests: dict[str, Any]) -> list[Diagnostic]:
        """Facts and thumbnails of each image, computed once from the archive's copy."""
        from builder.data.inspection import ImageTarget, inspect_images

        todo = []
        kinds = {image.name: (dataset, image) for dataset, image in study.images()}
        for name, manifest in manifests.items():
            if self.store.stat(archive.facts_key(manifest.tree_checksum)) is None:
                dataset, image = kinds[name]
                todo.append((manifest, ImageTarget(
                    key=layout.image_key(study.accession, dataset.name, name),
                    url=archive.archive_image_location(self.settings, self.root, study.accession, study.version,
                                                       name),
                    kind=image.kind.value, untrusted=False)))
        if not todo:
            return []
        # The archive's own copy is trusted and complete; its reader may use the store's credentials.
        settings = self.settings.model_copy(update={
            "s3_endpoint_url": self.settings.store.endpoint_url or self.settings.s3_endpoint_url,
            "s3_anonymous": False,
        })
        diagnostics: list[Diagnostic] = []
        with tempfile.TemporaryDirectory(prefix="bioarchive-derive-") as folder:
            outcomes = inspect_images([t for _, t in todo], settings, self.root, thumbnails=True,
                                      cache_dir=Path(folder))
            for manifest, target in todo:
                outcome = outcomes[target.key]
                diagnostics.extend(d for d in outcome.diagnostics if d.check != "NET006")
                if outcome.facts is not None:
                    archive.store_derived(self.store, manifest.tree_checksum, outcome.facts, Path(folder))
        return diagnostics

    # -- one study -------------------------------------------------------------------
    def ingest_guarded(self, study: Any, lock: Any, record_file: str) -> None:
        """:meth:`ingest_study`, its failures turned into the report's diagnostics."""
        try:
            self.ingest_study(study, lock, record_file)
        except CustodyError as exc:
            self.report.diagnostics.append(exc.diagnostic)
        except StorageError as exc:  # the archive store itself (manifest, listing)
            self.report.diagnostics.append(_diagnostic(
                get_check(exc.check), f"{study.accession}: archive store: {exc.message}", study=study.accession,
                object=exc.key))

    def ingest_study(self, study: Any, lock: Any, record_file: str) -> None:
        from builder.data.manifest import VersionManifest

        accession, version = study.accession, study.version
        lock_file = layout.lock_path(accession)
        if lock is None:
            raise CustodyError(_diagnostic(C.NOT_READY_FOR_CUSTODY, f"{accession}: no images.lock",
                                           file=lock_file, study=accession))
        wanted: dict[str, LockedContent] = {}
        for _dataset, image in study.images():
            entry = lock.images.get(image.name)
            content = locked_content(entry) if entry is not None else None
            if content is None:
                raise CustodyError(_diagnostic(
                    C.NOT_READY_FOR_CUSTODY,
                    f"{accession} image {image.name!r}: images.lock pins no content checksum"
                    + (" (lock version 1)" if entry is not None else " (the image is not in the lock)"),
                    file=lock_file, study=accession, image=image.name))
            wanted[image.name] = content
        archived = archive.read_version_manifest(self.store, accession, version)
        if archived is not None:
            self.check_archived(study, archived, wanted, lock_file)
            return
        manifests: dict[str, Any] = {}
        for _dataset, image in study.images():
            try:
                manifests[image.name] = self.ingest_image(study, image, wanted[image.name], lock_file)
            except StorageError as exc:
                raise CustodyError(_storage_diagnostic(exc, accession, image.name, lock_file)) from None
        if self.derive:
            self.report.diagnostics.extend(self.derive_artifacts(study, manifests))
        document = VersionManifest(
            accession=accession, version=version, images=manifests,
            created=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        )
        try:
            # Last: from this moment the version counts as archived.
            self.store.put(layout.manifest_key(accession, version), document.to_bytes())
        except ObjectExists:
            # Another run finished the same version meanwhile: it must hold the same content.
            archived = archive.read_version_manifest(self.store, accession, version)
            self.check_archived(study, archived, wanted, lock_file)
            return
        self.report.studies_archived.append(accession)

    def check_archived(self, study: Any, archived: Any, wanted: dict[str, LockedContent], lock_file: str) -> None:
        """An archived version is never rewritten: it must hold what the lock pins now."""
        accession, version = study.accession, study.version
        for name, content in wanted.items():
            entry = archived.images.get(name)
            if entry is not None and entry.tree_checksum == content.tree_checksum:
                self.report.images.append(ImageResult(
                    accession, version, name, "already archived", objects=len(entry.objects),
                    bytes_total=entry.total_bytes, tree_checksum=entry.tree_checksum))
                continue
            detail = "is not in it" if entry is None else f"has content {entry.tree_checksum}"
            first = self.first_difference(study, name, entry) if entry is not None else None
            raise CustodyError(_diagnostic(
                C.ARCHIVED_VERSION_IMMUTABLE,
                f"{accession} v{version} is archived and image {name!r} {detail}; images.lock pins "
                f"{content.tree_checksum}" + (f" (first differing object: {first})" if first else "")
                + f". Archived versions never change: publish the new content as v{version + 1}",
                file=lock_file, study=accession, image=name, object=first))

    def first_difference(self, study: Any, name: str, archived_image: Any) -> str | None:
        """The first object whose source differs from the archived copy (for the error message)."""
        image = next(img for _d, img in study.images() if img.name == name)
        try:
            source = open_store(image.url, self.settings, self.root, untrusted=True,
                                budget=source_budget(self.settings))
            listed = {o.key: o for o in self.source_objects(source, study.accession, name)}
        except (StorageError, CustodyError):
            return None
        archived_objects = {o.key: o for o in archived_image.objects}
        for key in sorted(set(listed) | set(archived_objects)):
            if key not in listed or key not in archived_objects or listed[key].size != archived_objects[key].size:
                return key
        for key in sorted(listed):
            digest = hashlib.sha256()
            for block in source.stream(key, block_size=BLOCK_SIZE):
                digest.update(block)
            if digest.hexdigest() != archived_objects[key].sha256:
                return key
        return None


# ------------------------------------------------------------------ the command's entry point

def _ingest_one_study(job: tuple[Path, ArchiveSettings, Any, Any, str, int | None, bool]) -> IngestReport:
    """A Dask task: custody of one study, with the archive store opened from the settings on the worker."""
    root, settings, study, lock, record_file, transfers, derive = job
    run = Ingest(root, settings, transfers=transfers, derive=derive)
    run.ingest_guarded(study, lock, record_file)
    return run.report


def _ingest_on_dask(run: Ingest, jobs: list[tuple[Any, Any, str]], scheduler: Any) -> None:
    """One Dask task per study (a study's images share its manifest, written last by the same task).

    The workers must see the repository at ``run.root`` and reach the archive store with the
    settings' credentials (a LocalCluster does; a remote cluster needs both).
    """
    from builder.data.workers import map_on_dask

    payloads = [(run.root, run.settings, study, lock, file, run.transfers, run.derive) for study, lock, file in jobs]
    task = run.progress.add_task("studies", total=len(jobs)) if run.progress is not None and jobs else None
    for index, outcome in map_on_dask(_ingest_one_study, payloads, scheduler):
        study = jobs[index][0]
        if isinstance(outcome, BaseException):
            run.report.diagnostics.append(_diagnostic(
                C.INGEST_ON_DASK_FAILED, f"{study.accession}: the Dask task failed: {type(outcome).__name__}: "
                f"{outcome}; nothing counts as archived until its manifest is written, so run ingest again",
                study=study.accession))
        else:
            run.report.images.extend(outcome.images)
            run.report.diagnostics.extend(outcome.diagnostics)
            run.report.studies_archived.extend(outcome.studies_archived)
        if task is not None:
            run.progress.advance(task, 1)


def ingest(
    root: Path, settings: ArchiveSettings, folders: list[str] | None = None, *,
    store: WritableStore | None = None, transfers: int | None = None, progress: Any = None,
    today: dt.date | None = None, derive: bool = True, scheduler: Any = None,
) -> IngestReport:
    """Ingest the given studies (``studies/<ACC>`` folders or accessions), or every one.

    ``scheduler`` (a Dask scheduler address ``tcp://host:port`` or a ``distributed.Client``) runs one
    task per study on that cluster; each task opens the archive store from ``settings`` (so ``store``
    must be None then).
    """
    from builder.curation.lock import LockError, read_lock
    from builder.records.load import load_records

    if scheduler is not None and store is not None:
        raise ValueError("ingest on a Dask scheduler opens the archive store from the settings; pass no store")
    today = today or dt.date.today()
    records = load_records(root, settings)
    by_accession = {}
    for result in records.records:
        by_accession[Path(result.file).parent.name] = result
    wanted = [Path(f.rstrip("/")).name for f in folders] if folders else sorted(by_accession)
    # On Dask each task opens the store itself: none is opened here.
    run = Ingest(root, settings, store, transfers=transfers, progress=progress, derive=derive,
                 open_store_now=scheduler is None)
    jobs: list[tuple[Any, Any, str]] = []
    for accession in wanted:
        found = by_accession.get(accession)
        if found is None:
            run.report.diagnostics.append(_diagnostic(
                C.NOT_READY_FOR_CUSTODY, f"{accession}: no record {layout.record_path(accession)}",
                study=accession))
            continue
        study = found.study
        if study is None:
            run.report.diagnostics.append(_diagnostic(
                C.NOT_READY_FOR_CUSTODY, f"{accession}: the record has errors (run `bioarchive validate`)",
                file=found.file, study=accession))
            continue
        if not data_is_public(study, today):
            continue  # embargoed data stays with the depositor until release; withdrawn needs no copy
        try:
            lock = read_lock(root, accession)
        except LockError as exc:
            run.report.diagnostics.append(_diagnostic(
                C.NOT_READY_FOR_CUSTODY, f"{accession}: images.lock cannot be read: {exc}",
                file=layout.lock_path(accession), study=accession))
            continue
        jobs.append((study, lock, found.file))
    if scheduler is None:
        for study, lock, record_file in jobs:
            run.ingest_guarded(study, lock, record_file)
    else:
        try:
            _ingest_on_dask(run, jobs, scheduler)
        except OSError as exc:  # distributed raises OSError (or its TimeoutError) when nobody answers
            run.report.diagnostics.append(_diagnostic(
                C.INGEST_ON_DASK_FAILED,
                f"the Dask scheduler {scheduler} cannot be reached ({exc}); nothing was copied"))
    return run.report
