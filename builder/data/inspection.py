"""The data stage: image URLs from the records -> ImageFacts, thumbnails and diagnostics.

    outcomes = inspect_images(targets, settings, root, thumbnails=True, cache_dir=cache)

For each image, in its own worker process (builder.data.workers):

1. open the store (builder.data.storage), refusing unsafe URLs;
2. fetch the NGFF metadata with as few requests as possible: ``zarr.json``
   first (NGFF 0.5), ``.zattrs`` only when it is missing (0.4: one 404), then
   the array metadata of each pyramid level; never ome-zarr-py's probing;
3. parse (builder.data.ngff.read) and validate (builder.data.ngff.checks) the documents,
   and refuse unsafe arrays before opening them (builder.data.arrays);
4. look the image up in the cache by the metadata fingerprint, the ETags the
   store gave and the render settings: an unchanged image costs only its
   metadata requests;
5. otherwise read only the chunks one plane of the chosen pyramid level needs,
   render the thumbnails (builder.data.render) and cache facts and files.

Every problem becomes one Diagnostic (IMG/NET/SAF) naming the URL, the Zarr
path and the key; nothing here raises for bad data.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, overload

from builder.core.checks import Diagnostic, get_check, has_errors, unique_diagnostics
from builder.core.settings import ArchiveSettings
from builder.data import checks as C
from builder.data import host_budget
from builder.data.checks import image_diagnostic
from builder.data.ngff import read as ngff
from builder.data.ngff.checks import check_multiscale, check_omero, validate_group
from builder.data.storage import StorageError, Store, open_store, resolve_url
from builder.model.image import ImageFacts

# Bump when rendering changes, so cached thumbnails are redrawn.
RENDER_VERSION = 2  # 2: label images filled per object
MAX_LABELS = 16  # label images read per image (their group documents only)
MAX_THUMBNAIL_CHANNELS = 8
MAX_LEVELS = 64  # a 2**64 pyramid is absurd; each level costs one metadata request
KIND_PHRASES = {"image": "an image", "plate": "a plate", "labels": "a label image"}
LABELS_VARIANT = "labels"  # ImageFacts.thumbnails key of the outline overlay (smallest size)


@dataclass(slots=True)
class ImageTarget:
    key: str  # "<ACCESSION>/<dataset>/<image>"
    url: str  # as written in the record
    kind: str = "image"  # image | plate | labels; "auto" (command line): whatever the data declares
    untrusted: bool = True

    @classmethod
    def from_command_line(cls, url: str) -> ImageTarget:
        """A trusted target for a URL typed on the command line (local paths made absolute).

        The command line is trusted, so a local path need not lie below the storage root."""
        if "://" not in url:
            url = str(Path(url).expanduser().resolve())
        return cls(key="cli", url=url, kind="auto", untrusted=False)


@dataclass(slots=True)
class ImageOutcome:
    key: str
    facts: ImageFacts | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    requests: int = 0  # made while inspecting (0 when served from the cache without a worker)
    bytes_read: int = 0
    not_found: int = 0
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "facts": self.facts.model_dump(mode="json") if self.facts else None,
            "diagnostics": [d.to_dict() for d in self.diagnostics],
            "requests": self.requests,
            "bytes_read": self.bytes_read,
            "not_found": self.not_found,
            "cached": self.cached,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ImageOutcome:
        return cls(
            key=d["key"],
            facts=ImageFacts.model_validate(d["facts"]) if d.get("facts") else None,
            diagnostics=[Diagnostic.from_dict(x) for x in d.get("diagnostics", [])],
            requests=d.get("requests", 0),
            bytes_read=d.get("bytes_read", 0),
            not_found=d.get("not_found", 0),
            cached=d.get("cached", False),
        )


# Control flow within one image's inspection (caught in this module, turned into the
# outcome's diagnostics); it never reaches a caller, so it is no ArchiveError.
class Stop(Exception):
    """Inspection cannot go on; the diagnostics say why."""

    def __init__(self, *diagnostics: Diagnostic) -> None:
        super().__init__(diagnostics[0].message if diagnostics else "stopped")
        self.diagnostics = list(diagnostics)


# ------------------------------------------------------------------ public API

def inspect_images(
    targets: list[ImageTarget],
    settings: ArchiveSettings,
    root: Path,
    *,
    thumbnails: bool = False,
    cache_dir: Path | None = None,
    scheduler: Any = None,
    progress: bool = False,
    max_workers: int | None = None,
) -> dict[str, ImageOutcome]:
    """Inspect every target, each in an isolated worker; returns key -> outcome (every key present)."""
    if thumbnails and cache_dir is None:
        raise ValueError("thumbnails=True needs a cache_dir to write them to")
    if cache_dir is not None:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
    failed_hosts = host_budget.probe_hosts(targets, settings, root)  # hosts that did not answer: asked once
    scopes = [host_budget.scopes_of(t, settings, root) for t in targets]
    markers = tempfile.TemporaryDirectory(prefix="bioarchive-budget-")
    ledger = host_budget.Ledger(Path(markers.name))
    outcomes: dict[str, ImageOutcome] = {}
    todo: list[int] = []
    for index, target in enumerate(targets):
        url = _display_url(target.url, settings, root)
        failure = failed_hosts.get(host_budget.http_host(url) or "")
        if failure is not None:
            outcomes[target.key] = ImageOutcome(target.key, None, [host_budget.probe_diagnostic(failure, url)])
        else:
            todo.append(index)
    payloads = [
        {
            "target": {"key": t.key, "url": t.url, "kind": t.kind, "untrusted": t.untrusted},
            "settings": settings.model_dump(mode="json"),
            "root": str(root),
            "thumbnails": thumbnails,
            "cache_dir": str(cache_dir) if cache_dir is not None else None,
            "budget": {"folder": markers.name, "scopes": [asdict(scope) for scope in scopes[i]]},
        }
        for i, t in ((i, targets[i]) for i in todo)
    ]
    done = 0
    if progress:
        for key in outcomes:
            done += 1
            print(f"[{done}/{len(targets)}] {key}: errors (host not answering)", file=sys.stderr, flush=True)
    with markers:
        _run_workers(targets, todo, payloads, scopes, ledger, outcomes, settings, root, done=done,
                     progress=progress, max_workers=max_workers, scheduler=scheduler)
    return {t.key: outcomes[t.key] for t in targets if t.key in outcomes}


def _run_workers(targets, todo, payloads, scopes, ledger, outcomes, settings, root, *, done, progress,
                 max_workers, scheduler) -> None:
    from builder.data.workers import run_many

    limits = settings.limits
    timeout_s = limits.image_timeout_s + min(_grace(), max(0.5, limits.image_timeout_s / 4))
    for index, result in run_many(
        inspect_payload,
        payloads,
        memory_bytes=limits.worker_memory_bytes,
        timeout_s=timeout_s,
        # I/O bound: more images at once than cores; decoding stays in the isolated workers
        max_workers=max_workers or max(1, min(len(payloads), limits.image_workers)),
        scheduler=scheduler,
    ):
        target = targets[todo[index]]
        if result.ok:
            outcome = ImageOutcome.from_dict(result.value)
            ledger.charge(scopes[todo[index]], result.value.get("seconds", 0.0))
        else:
            outcome = ImageOutcome(target.key, None, [_worker_failure(target, settings, root, result)])
            ledger.charge(scopes[todo[index]], timeout_s)
        outcomes[target.key] = outcome
        done += 1
        if progress:
            status = "errors" if has_errors(outcome.diagnostics) else ("cached" if outcome.cached else "ok")
            print(f"[{done}/{len(targets)}] {target.key}: {status}", file=sys.stderr, flush=True)


def _grace() -> float:
    from builder.data.workers import GRACE_S

    return GRACE_S


def _worker_failure(target: ImageTarget, settings: ArchiveSettings, root: Path, result) -> Diagnostic:
    url = _display_url(target.url, settings, root)
    if result.failure == "memory":
        return image_diagnostic(
            C.SAF009, f"decoding needed more than {settings.limits.worker_memory_bytes} bytes of memory "
            "(limits.worker_memory_bytes); a chunk inflates far beyond its declared size", url=url)
    if result.failure == "timeout":
        return image_diagnostic(
            C.SAF010, f"the image worker gave no result within {settings.limits.image_timeout_s:g} s "
            "(limits.image_timeout_s) and was stopped", url=url)
    return image_diagnostic(C.SAF010, f"the image worker failed ({result.failure}: {result.detail})", url=url)


def _display_url(url: str, settings: ArchiveSettings, root: Path) -> str:
    try:
        return resolve_url(url, settings, root)
    except Exception:  # noqa: BLE001 - display only; the worker reports the real problem
        return url


def inspect_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """Worker entry point: plain data in, plain data out (picklable for processes and Dask)."""
    import zarr

    # Fewer chunks decoded at once keeps a bomb's peak (and any honest image's) small.
    zarr.config.set({"async.concurrency": 4, "threading.max_workers": 2})
    settings = ArchiveSettings.model_validate(payload["settings"])
    target = ImageTarget(**payload["target"])
    budget = payload.get("budget")
    spent = host_budget.used_up(budget["folder"], budget["scopes"]) if budget else None
    if spent is not None:
        url = _display_url(target.url, settings, Path(payload["root"]))
        return ImageOutcome(target.key, None, [host_budget.budget_diagnostic(spent, url)]).to_dict()
    started = time.monotonic()
    cache_dir = Path(payload["cache_dir"]) if payload.get("cache_dir") else None
    outcome = inspect_image(
        target, settings, Path(payload["root"]), thumbnails=payload["thumbnails"], cache_dir=cache_dir
    )
    return outcome.to_dict() | {"seconds": time.monotonic() - started}  # charged to the record and host


def inspect_image(
    target: ImageTarget,
    settings: ArchiveSettings,
    root: Path,
    *,
    thumbnails: bool = False,
    cache_dir: Path | None = None,
) -> ImageOutcome:
    """Inspect one image in this process (callers normally go through inspect_images' workers)."""
    url = _display_url(target.url, settings, root)
    store: Store | None = None
    inspection: Inspection | None = None
    diagnostics: list[Diagnostic] = []
    facts: ImageFacts | None = None
    cached = False
    try:
        store = open_store(target.url, settings, root, untrusted=target.untrusted)
        url = store.url
        inspection = Inspection(store, settings, target, url)
        facts, cached = inspection.run(thumbnails=thumbnails, cache_dir=cache_dir)
        diagnostics = inspection.diagnostics
    except Stop as stop:
        diagnostics = (inspection.diagnostics if inspection else []) + stop.diagnostics
    except StorageError as exc:
        diagnostics = (inspection.diagnostics if inspection else []) + [_storage_diagnostic(exc, url)]
    if store is not None:
        for check_id, message in store.notes:
            diagnostics.append(image_diagnostic(get_check(check_id), message, url=url))
    outcome = ImageOutcome(target.key, facts, _dedupe(diagnostics), cached=cached)
    if store is not None:
        outcome.requests = store.usage.requests
        outcome.bytes_read = store.usage.bytes
        outcome.not_found = store.usage.not_found
    return outcome


def _storage_diagnostic(exc: StorageError, url: str) -> Diagnostic:
    return image_diagnostic(get_check(exc.check), exc.message, url=exc.url or url, doc=exc.key or "")


def _dedupe(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """Each problem once: repeats, and later errors about a key the NGFF models already refused."""
    refused: set[tuple[str, str]] = set()  # (document, key) of IMG002 errors, which come first
    out = []
    for d in unique_diagnostics(diagnostics):
        doc, key = d.extra.get("document", ""), d.extra.get("key", "")
        if key and d.severity.value == "error":
            if any(doc == rdoc and (rkey == key or rkey.startswith((key + ".", key + "["))) for rdoc, rkey in refused):
                continue  # e.g. "axes must be a non-empty list" after the models' "Length of axes (0)"
            if d.check == "IMG002":
                refused.add((doc, key))
        out.append(d)
    return out


# ------------------------------------------------------------------ one image

@dataclass(slots=True)
class ImageParts:
    """One multiscale image (or label image) as fetched: group, multiscale, checked arrays."""

    prefix: str  # path of the group inside the store, "" or ending in "/"
    group: ngff.GroupMeta
    multiscale: ngff.Multiscale
    arrays: dict[str, ngff.ArrayMeta]  # level path -> metadata
    safe: set[str]  # level paths that passed the safety checks


class Inspection:
    """Fetch, check and (maybe) render one image; collects diagnostics as it goes."""

    def __init__(self, store: Store, settings: ArchiveSettings, target: ImageTarget, url: str) -> None:
        self.store = store
        self.settings = settings
        self.limits = settings.limits
        self.target = target
        self.url = url
        self.documents: dict[str, Any] = {}  # key -> parsed JSON, every document fetched
        self.fingerprinted: list[str] = []  # keys the fingerprint covers, in fetch order
        self.diagnostics: list[Diagnostic] = []
        self.listing: list[tuple[str, int, str | None]] | None = None
        self._listed: set[str] | None = None
        self.consolidated: dict[str, Any] | None = None  # path -> node metadata, from the root zarr.json
        self.tile_size = 64  # pixels per well in a plate montage, set by render_plate

    # -- fetching ---------------------------------------------------------------
    def fetch_json(self, key: str, *, fingerprint: bool = True) -> Any | None:
        if key in self.documents:
            return self.documents[key]
        if self.consolidated is not None and key.endswith("/zarr.json"):
            # Zarr v3 consolidated metadata in the root zarr.json lists every node: no request, no probe
            doc = self.consolidated.get(key[: -len("/zarr.json")])
            if doc is not None:
                self.documents[key] = doc
                if fingerprint:
                    self.fingerprinted.append(key)
            return doc
        if self.listing is not None and key not in self._listed_keys:
            return None  # the listing already says it is missing: no 404 probe
        raw = self.store.get_document(key)
        if raw is None:
            return None
        try:
            doc = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise Stop(image_diagnostic(C.SAF011, f"not valid JSON ({type(exc).__name__}: {str(exc)[:120]})",
                                        url=self.url, doc=key)) from exc
        if not isinstance(doc, dict):
            raise Stop(image_diagnostic(C.SAF011, "not a JSON object", url=self.url, doc=key))
        self.documents[key] = doc
        if fingerprint:
            self.fingerprinted.append(key)
        return doc

    @property
    def _listed_keys(self) -> set[str]:
        if self._listed is None:
            self._listed = {k for k, _, _ in self.listing or []}
        return self._listed

    @overload
    def open_group(self, prefix: str, zarr_format: int | None = None, *, fingerprint: bool = True,
                   required: Literal[True] = True) -> ngff.GroupMeta: ...

    @overload
    def open_group(self, prefix: str, zarr_format: int | None = None, *, fingerprint: bool = True,
                   required: bool) -> ngff.GroupMeta | None: ...

    def open_group(self, prefix: str, zarr_format: int | None = None, *, fingerprint: bool = True,
                   required: bool = True) -> ngff.GroupMeta | None:
        """The group at ``prefix``: zarr.json first, .zattrs only if that is missing (or the format is known)."""
        formats = [zarr_format] if zarr_format else [3, 2]
        for fmt in formats:
            key = prefix + ngff.GROUP_DOC[fmt]
            doc = self.fetch_json(key, fingerprint=fingerprint)
            if doc is None:
                continue
            try:
                return ngff.parse_group(doc, fmt, key)
            except ngff.NgffError as exc:
                raise Stop(image_diagnostic(C.IMG002, exc.message, url=self.url, doc=key, key=exc.key)) from exc
        if not required:
            return None
        tried = " or ".join(prefix + ngff.GROUP_DOC[f] for f in formats)
        raise Stop(image_diagnostic(
            C.NET002, f"not found at {self.store.location(prefix)}; is this URL the OME-Zarr group?",
            url=self.url, doc=tried))

    def fetch_arrays(self, prefix: str, group: ngff.GroupMeta, paths: list[str], *,
                     fingerprint: bool = True) -> dict[str, ngff.ArrayMeta]:
        arrays: dict[str, ngff.ArrayMeta] = {}
        for path in paths:
            key = prefix + ngff.array_doc_key(path, group.zarr_format)
            doc = self.fetch_json(key, fingerprint=fingerprint)
            if doc is None:
                self.diagnostics.append(image_diagnostic(
                    C.IMG011, f"pyramid level '{path}' has no array metadata ({key} not found)",
                    url=self.url, doc=key))
                continue
            try:
                arrays[path] = ngff.parse_array(doc, group.zarr_format, key)
            except ngff.NgffError as exc:
                self.diagnostics.append(image_diagnostic(C.IMG011, exc.message, url=self.url, doc=key, key=exc.key))
        return arrays

    # -- the image kinds ------------------------------------------------------------
    def load_image(self, prefix: str, group: ngff.GroupMeta) -> ImageParts:
        from builder.data.arrays import check_array

        try:
            ms = ngff.parse_multiscale(group)
        except ngff.NgffError as exc:
            ms, problem = None, image_diagnostic(C.IMG002, exc.message, url=self.url, doc=exc.doc, key=exc.key)
        if ms is not None and len(ms.paths) > MAX_LEVELS:  # before the models, which are slow on huge lists
            raise Stop(image_diagnostic(
                C.SAF011, f"{len(ms.paths)} pyramid levels declared; at most {MAX_LEVELS} are read", url=self.url,
                doc=group.doc_key, key=f"{group.key_prefix}multiscales[0].datasets"))
        self.diagnostics += validate_group(group, self.url)
        if group.version not in ngff.SUPPORTED_VERSIONS:
            raise Stop()
        if ms is None:
            raise Stop(problem)
        arrays = self.fetch_arrays(prefix, group, ms.paths)
        safe = set()
        for path, meta in arrays.items():
            problems = check_array(meta, self.limits, self.url)
            self.diagnostics += problems
            if not has_errors(problems) and len(meta.shape) == len(ms.axes):
                safe.add(path)
        self.diagnostics += check_multiscale(group, ms, arrays, self.url)
        self.diagnostics += check_omero(group, ms, arrays.get(ms.paths[0]), self.url)
        if not arrays:
            raise Stop()
        return ImageParts(prefix, group, ms, arrays, safe)

    def find_labels(self, prefix: str, image: ngff.GroupMeta) -> tuple[list[str], list[ImageParts]]:
        """Names of the image's label images, and those we could load (group documents only)."""
        group = self.open_group(prefix + "labels/", image.zarr_format, required=False)
        if group is None:
            return [], []
        if group.version is None:
            group.version = image.version  # ome-zarr-py writes 0.5 labels groups without ome.version
        self.diagnostics += [d for d in validate_group(group, self.url) if d.check != "IMG001"]
        try:
            names = ngff.label_names(group)
        except ngff.NgffError as exc:
            self.diagnostics.append(image_diagnostic(C.IMG015, exc.message, url=self.url, doc=exc.doc, key=exc.key))
            return [], []
        loaded: list[ImageParts] = []
        for name in names[:MAX_LABELS]:
            lprefix = f"{prefix}labels/{name}/"
            try:
                lgroup = self.open_group(lprefix, image.zarr_format, required=False)
                if lgroup is None or lgroup.kind != "labels":
                    self.diagnostics.append(image_diagnostic(
                        C.IMG015, f"label image '{name}' is listed but has no image-label multiscales",
                        url=self.url, doc=group.doc_key, key=f"{group.key_prefix}labels"))
                    continue
                self.diagnostics += validate_group(lgroup, self.url)
                ms = ngff.parse_multiscale(lgroup)
                loaded.append(ImageParts(lprefix, lgroup, ms, {}, set()))
            except ngff.NgffError as exc:
                self.diagnostics.append(image_diagnostic(C.IMG015, exc.message, url=self.url, doc=exc.doc,
                                                         key=exc.key))
            except Stop as stop:
                self.diagnostics += stop.diagnostics
        return names, loaded

    def run(self, *, thumbnails: bool, cache_dir: Path | None) -> tuple[ImageFacts | None, bool]:
        if self.store.kind in ("s3", "local"):
            # One listing (when it is short) answers "are there labels?", "how big?" and
            # "which chunks changed?" without 404 probes.
            self.listing = self.store.list_prefix("")
        root = self.open_group("")
        if root.zarr_format == 3 and root.consolidated:
            self.consolidated = root.consolidated
        kind = root.kind
        if kind == "labels-group" and self.target.kind in ("labels", "auto"):
            try:
                first = ngff.label_names(root)[0]
            except (ngff.NgffError, IndexError):
                raise Stop(image_diagnostic(C.IMG015, "the labels group lists no label image", url=self.url,
                                            doc=root.doc_key, key=f"{root.key_prefix}labels")) from None
            prefix = f"{first}/"
            root = self.open_group(prefix, root.zarr_format)
            kind = root.kind
        else:
            prefix = ""
        if kind is None or kind in ("well", "labels-group"):
            self.diagnostics += validate_group(root, self.url)
            if kind is not None:
                self.diagnostics.append(image_diagnostic(
                    C.IMG010, f"this is a {kind.replace('-', ' ')}, not an image, plate or label image; point the "
                    "record at the image or plate group", url=self.url, doc=root.doc_key))
            raise Stop()
        if kind != self.target.kind and self.target.kind != "auto":
            self.diagnostics.append(image_diagnostic(
                C.IMG010, f"the record says kind '{self.target.kind}' but the data is {KIND_PHRASES.get(kind, kind)}",
                url=self.url,
                doc=root.doc_key))
        if kind == "plate":
            return self.run_plate(root, thumbnails=thumbnails, cache_dir=cache_dir)
        return self.run_image(prefix, root, thumbnails=thumbnails, cache_dir=cache_dir)

    def run_image(self, prefix: str, group: ngff.GroupMeta, *, thumbnails: bool, cache_dir: Path | None):
        parts = self.load_image(prefix, group)
        label_names: list[str] = []
        label_parts: list[ImageParts] = []
        if group.kind == "image":
            label_names, label_parts = self.find_labels(prefix, group)
        cache_key = self.cache_key(thumbnails)
        cached = self.cached_facts(cache_dir, cache_key, thumbnails)
        if cached is not None:
            return cached, True
        try:
            facts = ngff.image_facts(
                self.url, group, parts.arrays, labels=label_names, size_bytes=self.size_bytes(),
                fingerprint=self.fingerprint(),
            )
        except ngff.NgffError as exc:
            raise Stop(image_diagnostic(C.IMG002, exc.message, url=self.url, doc=exc.doc, key=exc.key)) from exc
        if thumbnails and cache_dir is not None:
            if not self.rendered(lambda: self.render_image(facts, parts, label_parts, cache_dir, cache_key)):
                return facts, False  # facts without thumbnails: not cached, so the next build tries again
        self.store_facts(cache_dir, cache_key, facts)
        return facts, False

    def run_plate(self, group: ngff.GroupMeta, *, thumbnails: bool, cache_dir: Path | None):
        self.check_plate_size(group)  # before the models: their validation of a huge plate takes minutes
        self.diagnostics += validate_group(group, self.url)
        if group.version not in ngff.SUPPORTED_VERSIONS:
            raise Stop()
        try:
            wells = ngff.plate_wells(group)
        except ngff.NgffError as exc:
            raise Stop(image_diagnostic(C.IMG012, exc.message, url=self.url, doc=exc.doc, key=exc.key)) from exc
        rows = len(group.ome["plate"].get("rows") or [])
        columns = len(group.ome["plate"].get("columns") or [])
        outside = [w.path for w in wells if w.row >= rows or w.column >= columns]
        if outside:
            self.diagnostics.append(image_diagnostic(
                C.IMG012, f"wells {outside[:5]} have row/column indexes outside the plate's {rows} x {columns}",
                url=self.url, doc=group.doc_key, key=f"{group.key_prefix}plate.wells"))
        well_group, field_parts = self.load_well_field(group, wells[0], required=True)
        try:
            plate = ngff.plate_facts(group, well_group)
            facts = ngff.image_facts(self.url, field_parts.group, field_parts.arrays, fingerprint="")
        except ngff.NgffError as exc:
            raise Stop(image_diagnostic(C.IMG012, exc.message, url=self.url, doc=exc.doc, key=exc.key)) from exc
        cache_key = self.cache_key(thumbnails)
        cached = self.cached_facts(cache_dir, cache_key, thumbnails)
        if cached is not None:
            return cached, True
        facts = facts.model_copy(update={
            "kind": "plate", "ngff_version": group.version or "unknown", "plate": plate,
            "name": group.ome["plate"].get("name") if isinstance(group.ome["plate"].get("name"), str) else None,
            "fingerprint": self.fingerprint(), "size_bytes": self.size_bytes(),
        })
        if thumbnails and cache_dir is not None:
            if not self.rendered(lambda: self.render_plate(facts, group, wells, rows, columns, field_parts,
                                                           cache_dir, cache_key)):
                return facts, False
        self.store_facts(cache_dir, cache_key, facts)
        return facts, False

    def rendered(self, render) -> bool:
        """Run a renderer; a failure costs the thumbnails (with its diagnostic), never the facts."""
        try:
            render()
        except Stop as stop:
            self.diagnostics += stop.diagnostics
            return False
        except StorageError as exc:
            self.diagnostics.append(_storage_diagnostic(exc, self.url))
            return False
        return True

    def check_plate_size(self, group: ngff.GroupMeta) -> None:
        plate = group.ome.get("plate")
        if not isinstance(plate, dict):
            return
        sizes = {k: len(v) if isinstance(v, list) else 0 for k, v in
                 (("rows", plate.get("rows")), ("columns", plate.get("columns")), ("wells", plate.get("wells")))}
        limit = self.limits.max_plate_wells
        if sizes["wells"] > limit:
            raise Stop(image_diagnostic(
                C.IMG012, f"{sizes['wells']} wells, over limits.max_plate_wells ({limit})", url=self.url,
                doc=group.doc_key, key=f"{group.key_prefix}plate.wells"))
        if sizes["rows"] * sizes["columns"] > limit:
            raise Stop(image_diagnostic(
                C.IMG012, f"a plate of {sizes['rows']} rows x {sizes['columns']} columns exceeds "
                f"limits.max_plate_wells ({limit})", url=self.url, doc=group.doc_key,
                key=f"{group.key_prefix}plate.rows"))

    @overload
    def load_well_field(self, plate: ngff.GroupMeta, well: ngff.WellRef, *, required: Literal[True],
                        fingerprint: bool = True) -> tuple[ngff.GroupMeta, ImageParts]: ...

    @overload
    def load_well_field(self, plate: ngff.GroupMeta, well: ngff.WellRef, *, required: bool,
                        fingerprint: bool = True) -> tuple[ngff.GroupMeta, ImageParts] | None: ...

    def load_well_field(self, plate: ngff.GroupMeta, well: ngff.WellRef, *, required: bool,
                        fingerprint: bool = True) -> tuple[ngff.GroupMeta, ImageParts] | None:
        """The well's group and its first field's image (metadata only)."""
        wprefix = f"{well.path}/"
        wgroup = self.open_group(wprefix, plate.zarr_format, fingerprint=fingerprint, required=False)
        if wgroup is None or wgroup.kind != "well":
            diag = image_diagnostic(
                C.IMG012, f"well '{well.path}' listed in plate.wells has no well metadata",
                url=self.url, doc=wprefix + ngff.GROUP_DOC[plate.zarr_format])
            if required:
                raise Stop(diag)
            self.diagnostics.append(diag)
            return None
        if fingerprint:
            self.diagnostics += validate_group(wgroup, self.url)
        try:
            field_path = ngff.well_fields(wgroup)[0]
        except ngff.NgffError as exc:
            diag = image_diagnostic(C.IMG012, exc.message, url=self.url, doc=exc.doc, key=exc.key)
            if required:
                raise Stop(diag) from exc
            self.diagnostics.append(diag)
            return None
        fprefix = f"{wprefix}{field_path}/"
        fgroup = self.open_group(fprefix, plate.zarr_format, fingerprint=fingerprint)
        if fingerprint:
            parts = self.load_image(fprefix, fgroup)
        else:
            parts = self.load_field_quietly(fprefix, fgroup)
        return wgroup, parts

    def load_field_quietly(self, prefix: str, group: ngff.GroupMeta) -> ImageParts:
        """Another well's field, for the montage: only its smallest usable level is fetched and checked."""
        from builder.data.arrays import check_array

        ms = ngff.parse_multiscale(group)
        size = self.tile_size
        arrays: dict[str, ngff.ArrayMeta] = {}
        safe: set[str] = set()
        # Pyramids halve per level: walk from the smallest up until one covers the tile.
        for path in reversed(ms.paths):
            got = self.fetch_arrays(prefix, group, [path], fingerprint=False)
            if path not in got:
                break
            meta = got[path]
            arrays[path] = meta
            if not has_errors(check_array(meta, self.limits, self.url)) and len(meta.shape) == len(ms.axes):
                safe.add(path)
            names = [a.name for a in ms.axes]
            if "y" in names and "x" in names and len(meta.shape) == len(names):
                if max(meta.shape[names.index("y")], meta.shape[names.index("x")]) >= size:
                    break
        return ImageParts(prefix, group, ms, arrays, safe)

    # -- cache -----------------------------------------------------------------
    def fingerprint(self) -> str:
        return ngff.fingerprint({k: self.documents[k] for k in self.fingerprinted})

    def size_bytes(self) -> int | None:
        return sum(size for _, size, _ in self.listing) if self.listing is not None else None

    def cache_key(self, thumbnails: bool) -> str:
        """Changes whenever the metadata, an ETag the store gave, the listing, or the render settings change."""
        material = {
            "fingerprint": self.fingerprint(),
            "etags": {k: self.store.etags.get(k) for k in self.fingerprinted},
            "listing": sorted(self.listing) if self.listing is not None else None,
            "thumbnails": thumbnails,
            "sizes": self.settings.thumbnail_sizes if thumbnails else None,
            "format": self.settings.thumbnail_format if thumbnails else None,
            "render_version": RENDER_VERSION,
            "kind": self.target.kind,
            "limits": self.limits.model_dump(mode="json"),
        }
        return hashlib.sha256(ngff.canonical_json(material)).hexdigest()

    def _facts_file(self, cache_dir: Path) -> Path:
        name = hashlib.sha256(f"{self.target.kind} {self.url}".encode()).hexdigest()[:24]
        return cache_dir / "facts" / f"{name}.json"

    def cached_facts(self, cache_dir: Path | None, cache_key: str, thumbnails: bool) -> ImageFacts | None:
        if cache_dir is None:
            return None
        path = self._facts_file(cache_dir)
        try:
            entry = json.loads(path.read_text())
            if entry.get("cache_key") != cache_key:
                return None
            facts = ImageFacts.model_validate(entry["facts"])
            if thumbnails and not all((cache_dir / f).is_file() for f in facts.thumbnails.values()):
                return None
            self.diagnostics = [Diagnostic.from_dict(d) for d in entry.get("diagnostics", [])]
            return facts
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def store_facts(self, cache_dir: Path | None, cache_key: str, facts: ImageFacts) -> None:
        if cache_dir is None:
            return
        path = self._facts_file(cache_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        entry = {
            "cache_key": cache_key,
            "facts": facts.model_dump(mode="json"),
            # Warnings found on the first read are part of the result; store notes (CORS) are re-derived.
            "diagnostics": [d.to_dict() for d in self.diagnostics],
        }
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(entry, sort_keys=True))
        tmp.replace(path)

    # -- thumbnails ------------------------------------------------------------------
    def plane(self, parts: ImageParts, level_path: str, channels: list[int] | None,
              default_z: int | None, default_t: int | None):
        """One (c, y, x) plane of one level: default/middle z, default/first t, the given channels."""
        import numpy as np

        from builder.data.arrays import check_selection, read_selection

        meta = parts.arrays[level_path]
        names = [a.name for a in parts.multiscale.axes]
        selection: list[slice | int] = []
        channel_pick: list[int] | None = None
        level0 = parts.arrays.get(parts.multiscale.paths[0], meta)
        for axis, n in zip(names, meta.shape):
            if axis in ("y", "x"):
                selection.append(slice(0, n))
            elif axis == "c":
                wanted = [c for c in (channels or range(n)) if c < n][:MAX_THUMBNAIL_CHANNELS] or [0]
                selection.append(slice(min(wanted), max(wanted) + 1))
                channel_pick = [c - min(wanted) for c in wanted]
            elif axis == "t":
                selection.append(default_t if default_t is not None and default_t < n else 0)
            elif axis == "z":
                z0 = level0.shape[names.index("z")] if len(level0.shape) == len(names) else n
                z = default_z if default_z is not None and default_z < z0 else z0 // 2
                # z may be downsampled in lower levels: keep the same physical plane
                selection.append(min(n - 1, z * n // max(z0, 1)))
            else:
                selection.append(n // 2)
        problems = check_selection(meta, tuple(selection), self.limits, self.url, prefix="")
        if problems:
            raise Stop(*problems)
        try:
            data = read_selection(self.store, self.documents, meta, parts.prefix + level_path, tuple(selection))
        except StorageError:
            raise
        except MemoryError:
            raise
        except Exception as exc:  # noqa: BLE001 - codecs raise anything on a chunk that does not decode: name the array
            raise Stop(image_diagnostic(
                C.IMG013, f"reading level '{level_path}' failed: {type(exc).__name__}: {str(exc)[:200]}",
                url=self.url, doc=meta.doc_key)) from exc
        kept = [a for a, s in zip(names, selection) if not isinstance(s, int)]
        data = np.moveaxis(data, [kept.index("y"), kept.index("x")], [-2, -1])
        if "c" in kept:
            data = np.moveaxis(data, kept.index("c"), 0)[channel_pick]
        else:
            data = data[np.newaxis]
        while data.ndim > 3:  # other non-spatial axes were taken at their middle
            data = data[:, 0]
        return data

    def choose_level(self, parts: ImageParts, size: int) -> str | None:
        """The level to read for ``size``, or None when every level was refused (SAF0xx say why)."""
        from builder.model.image import LevelFacts

        safe_levels = [
            LevelFacts(path=p, shape=parts.arrays[p].shape, chunks=parts.arrays[p].chunks)
            for p in parts.multiscale.paths if p in parts.safe
        ]
        if not safe_levels:
            return None
        return safe_levels[ngff.choose_level(safe_levels, parts.multiscale.axes, size)].path

    def render_image(self, facts: ImageFacts, parts: ImageParts, labels: list[ImageParts], cache_dir: Path,
                     cache_key: str) -> None:
        from builder.data import render

        if "y" not in [a.name for a in facts.axes] or "x" not in [a.name for a in facts.axes]:
            return
        active = [i for i, ch in enumerate(facts.channels) if ch.active] or list(range(len(facts.channels)))
        files: dict[str, str] = {}
        smallest = min(self.settings.thumbnail_sizes.items(), key=lambda kv: kv[1], default=None)
        planes_by_level: dict[str, Any] = {}  # sizes that share a level read its chunks once
        for name, size in sorted(self.settings.thumbnail_sizes.items(), key=lambda kv: kv[1]):
            level = self.choose_level(parts, size)
            if level is None:
                return
            if level not in planes_by_level:
                planes_by_level[level] = self.plane(parts, level, active, facts.default_z, facts.default_t)
            planes = planes_by_level[level]
            shown = [facts.channels[i] for i in active if i < len(facts.channels)]
            if facts.kind == "labels":
                image = render.render_labels(planes[0], size)
            else:
                image = render.render_thumbnail(planes, shown, size)
            files[name] = self.write_thumbnail(cache_dir, cache_key, name, image)
            if labels and smallest is not None and name == smallest[0]:
                overlay = self.label_overlay(parts, level, labels[0], facts, image)
                if overlay is not None:
                    files[LABELS_VARIANT] = self.write_thumbnail(cache_dir, cache_key, LABELS_VARIANT, overlay)
        facts.thumbnails = files
        facts.thumbnail_alt = alt_text(facts)

    def label_overlay(self, parts: ImageParts, level: str, label: ImageParts, facts: ImageFacts, image):
        """The first label image's outlines over the thumbnail, from its level matching the image's y/x size."""
        from builder.data import render
        from builder.data.arrays import check_array

        names = [a.name for a in parts.multiscale.axes]
        want = parts.arrays[level].shape
        wy, wx = want[names.index("y")], want[names.index("x")]
        lnames = [a.name for a in label.multiscale.axes]
        if "y" not in lnames or "x" not in lnames:
            return None
        for path in label.multiscale.paths:
            arrays = self.fetch_arrays(label.prefix, label.group, [path], fingerprint=False)
            meta = arrays.get(path)
            if meta is None or len(meta.shape) != len(lnames):
                return None
            ly, lx = meta.shape[lnames.index("y")], meta.shape[lnames.index("x")]
            if ly <= wy and lx <= wx:
                problems = check_array(meta, self.limits, self.url)
                if has_errors(problems):
                    self.diagnostics += problems
                    return None
                label.arrays[path] = meta
                label.safe.add(path)
                try:
                    planes = self.plane(label, path, None, facts.default_z, facts.default_t)
                except Stop as stop:
                    self.diagnostics += [
                        image_diagnostic(C.IMG015, f"label outlines not drawn: {d.message}", url=self.url,
                                         doc=label.prefix + label.group.doc_key) for d in stop.diagnostics
                    ]
                    return None
                return render.overlay_outlines(image, render.label_outlines(planes[0]))
        return None

    def render_plate(self, facts: ImageFacts, group: ngff.GroupMeta, wells: list[ngff.WellRef], rows: int,
                     columns: int, first: ImageParts, cache_dir: Path, cache_key: str) -> None:
        from builder.data import render

        files: dict[str, str] = {}
        largest = max(self.settings.thumbnail_sizes.values(), default=256)
        # One tile per well, read once at the size of the largest montage's cells.
        self.tile_size = max(8, largest // max(rows, columns, 1))
        tiles: dict[tuple[int, int], Any] = {}
        shown = 0
        for i, well in enumerate(wells):
            if well.row >= rows or well.column >= columns:
                continue
            try:
                if i == 0:
                    parts = first
                else:
                    loaded = self.load_well_field(group, well, required=False, fingerprint=False)
                    if loaded is None:
                        continue
                    parts = loaded[1]
                level = self.choose_level(parts, self.tile_size)
                if level is None:
                    continue
                active = [j for j, ch in enumerate(facts.channels) if ch.active] or None
                planes = self.plane(parts, level, active, facts.default_z, facts.default_t)
                channel_facts = [facts.channels[j] for j in (active or range(len(facts.channels)))
                                 if j < len(facts.channels)]
                tiles[(well.row, well.column)] = render.render_thumbnail(planes, channel_facts, self.tile_size)
                shown += 1
            except StorageError as exc:
                if exc.check == "SAF008":
                    self.diagnostics.append(image_diagnostic(
                        C.IMG014, f"the montage shows {shown} of {len(wells)} wells: {exc.message}", url=self.url,
                        doc=group.doc_key))
                    break
                raise
            except Stop as stop:
                self.diagnostics += stop.diagnostics
            except ngff.NgffError as exc:
                self.diagnostics.append(image_diagnostic(C.IMG012, exc.message, url=self.url, doc=exc.doc,
                                                         key=exc.key))
        for name, size in sorted(self.settings.thumbnail_sizes.items(), key=lambda kv: kv[1]):
            image = render.render_plate_montage(tiles, rows, columns, size)
            files[name] = self.write_thumbnail(cache_dir, cache_key, name, image)
        facts.thumbnails = files
        facts.thumbnail_alt = alt_text(facts)

    def write_thumbnail(self, cache_dir: Path, cache_key: str, name: str, image) -> str:
        from builder.data import render

        fmt = self.settings.thumbnail_format
        file_name = f"{cache_key[:32]}-{name}.{fmt}"
        image_format: Literal["webp", "png"]
        if fmt == "webp":
            image_format = "webp"
        elif fmt == "png":
            image_format = "png"
        else:  # the settings field is a plain string
            raise ValueError(f"unknown image format {fmt!r}; use 'webp' or 'png'")
        data = render.encode_image(image, image_format)
        path = cache_dir / file_name
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        return file_name


def alt_text(facts: ImageFacts) -> str:
    """What the thumbnail shows, for screen readers: kind, channels, dimensions, pixel size."""
    dims = " x ".join(f"{n} {a.name}" for a, n in zip(facts.axes, facts.shape) if a.name != "c")
    channels = [c for c in facts.channels if c.active] or facts.channels
    names = ", ".join(c.label for c in channels[:6]) + (" and more" if len(channels) > 6 else "")
    if facts.kind == "plate" and facts.plate is not None:
        p = facts.plate
        text = (f"Montage of HCS plate {facts.name or ''} ({p.rows} rows x {p.columns} columns, {p.wells} wells, "
                f"{p.fields_per_well} field(s) per well), one field per well")
    elif facts.kind == "labels":
        text = f"Label image {facts.name or ''}, each object in its own colour ({dims})"
    else:
        text = f"Image {facts.name or ''} ({dims})"
    if channels and facts.kind != "labels":
        text += f"; channels: {names}"
    sizes = facts.pixel_sizes
    if "x" in sizes:
        scale, unit = sizes["x"]
        text += f"; pixel size {scale:g} {unit or 'units'}"
    return " ".join(text.split())


__all__ = ["ImageOutcome", "ImageTarget", "alt_text", "inspect_image", "inspect_images"]
