"""Content manifests: every object of an image with its size and SHA-256, and the image's tree checksum.

The tree checksum is the one DANDI computes for Zarr data (the
``zarr-checksum`` package: ``<md5>-<object count>--<total bytes>``, an MD5
tree over the objects' MD5s), so the figure in ``images.lock`` and in the
archive's manifests means the same thing elsewhere. SHA-256 per object is
what the archive verifies copies with (S3 keeps it as ``x-amz-checksum-sha256``).

:func:`manifest_of` reads every object once, in blocks (memory: one block per
worker), with ``max_workers`` reads at once, and takes both digests from the
same read. Stores that list (local folders, S3) give the keys; plain HTTP
cannot list, so the keys come from the Zarr metadata itself: the NGFF
documents name the child groups (pyramid levels, labels, wells, fields) and
each array's shape and chunk grid name its chunk keys (a chunk that is absent
is the fill value, as in Zarr, and not part of the image).

Manifests read back from the archive store are untrusted JSON:
:meth:`ImageManifest.from_json` and :meth:`VersionManifest.from_bytes` check
every field and raise :class:`ManifestError` naming the first bad one.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from builder.core.errors import InvalidInputError
from builder.data.storage import BLOCK_SIZE, ObjectInfo, StorageError, Store

MANIFEST_FORMAT = "bioarchive-manifest"
MANIFEST_VERSION = 1
# Enumerating chunk keys from metadata (HTTP) stops here: a declared grid this
# large is absurd for one image, and each key costs a request.
MAX_ENUMERATED_KEYS = 1_000_000

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_TREE = re.compile(r"^[0-9a-f]{32}-[0-9]+--[0-9]+$")
_ACCESSION = re.compile(r"^[A-Z][A-Z0-9]*-[0-9]+$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
# One path segment of an object key: no empty, "." or ".." parts, no control characters.
_SEGMENT = re.compile(r"^[^/\x00-\x1f\x7f]+$")

Progress = Callable[[int], None]


class ManifestError(InvalidInputError):
    """A manifest document is not one the builder writes; the message names the field."""


@dataclass(frozen=True, slots=True)
class ObjectEntry:
    key: str  # relative to the image root, e.g. "0/c/0/0/0"
    size: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "sha256": self.sha256, "size": self.size}


@dataclass(frozen=True, slots=True)
class ImageManifest:
    image: str
    tree_checksum: str  # zarr-checksum's digest "<md5>-<count>--<bytes>"
    objects: tuple[ObjectEntry, ...]
    total_bytes: int

    @property
    def object_count(self) -> int:
        return len(self.objects)

    def by_key(self) -> dict[str, ObjectEntry]:
        return {entry.key: entry for entry in self.objects}

    def to_json(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "objects": [entry.to_json() for entry in self.objects],
            "total_bytes": self.total_bytes,
            "tree_checksum": self.tree_checksum,
        }

    @classmethod
    def from_json(cls, doc: Any, *, where: str = "manifest") -> ImageManifest:
        """Strict parsing: exactly the fields :meth:`to_json` writes, each checked."""
        _fields(doc, {"image", "objects", "total_bytes", "tree_checksum"}, where)
        image = doc["image"]
        if not isinstance(image, str) or not _NAME.match(image):
            raise ManifestError(f"{where}: `image` must be an image name, not {image!r}")
        where = f"{where}, image '{image}'"
        tree = doc["tree_checksum"]
        if not isinstance(tree, str) or not _TREE.match(tree):
            raise ManifestError(f"{where}: `tree_checksum` {tree!r} is not a zarr-checksum digest")
        raw_objects = doc["objects"]
        if not isinstance(raw_objects, list):
            raise ManifestError(f"{where}: `objects` must be a list")
        objects = []
        seen: set[str] = set()
        for number, raw in enumerate(raw_objects):
            spot = f"{where}, objects[{number}]"
            _fields(raw, {"key", "sha256", "size"}, spot)
            key, size, sha = raw["key"], raw["size"], raw["sha256"]
            if not isinstance(key, str) or not _valid_key(key):
                raise ManifestError(f"{spot}: `key` {key!r} is not a relative object key")
            if key in seen:
                raise ManifestError(f"{spot}: `key` {key!r} is listed twice")
            seen.add(key)
            if not _whole(size):
                raise ManifestError(f"{spot} ({key}): `size` must be a whole number of bytes, not {size!r}")
            if not isinstance(sha, str) or not _SHA256.match(sha):
                raise ManifestError(f"{spot} ({key}): `sha256` {sha!r} is not a hex SHA-256")
            objects.append(ObjectEntry(key, size, sha))
        total = doc["total_bytes"]
        if not _whole(total) or total != sum(entry.size for entry in objects):
            raise ManifestError(f"{where}: `total_bytes` {total!r} is not the sum of the objects' sizes")
        count, size = tree.split("--")[0].rsplit("-", 1)[1], tree.split("--")[1]
        if int(count) != len(objects) or int(size) != total:
            raise ManifestError(
                f"{where}: `tree_checksum` {tree} counts {count} objects, {size} bytes; "
                f"the manifest lists {len(objects)} objects, {total} bytes"
            )
        return cls(image=image, tree_checksum=tree, objects=tuple(sorted(objects, key=lambda e: e.key)),
                   total_bytes=total)


@dataclass(frozen=True, slots=True)
class VersionManifest:
    accession: str
    version: int
    images: dict[str, ImageManifest]
    created: str  # ISO 8601, UTC

    def to_bytes(self) -> bytes:
        doc = {
            "accession": self.accession,
            "created": self.created,
            "format": MANIFEST_FORMAT,
            "format_version": MANIFEST_VERSION,
            "images": {name: self.images[name].to_json() for name in sorted(self.images)},
            "version": self.version,
        }
        return (json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=True) + "\n").encode("ascii")

    @classmethod
    def from_bytes(cls, data: bytes, *, where: str = "manifest.json") -> VersionManifest:
        try:
            doc = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ManifestError(f"{where}: not JSON ({exc})") from None
        _fields(doc, {"accession", "created", "format", "format_version", "images", "version"}, where)
        if doc["format"] != MANIFEST_FORMAT or doc["format_version"] != MANIFEST_VERSION:
            raise ManifestError(
                f"{where}: format {doc['format']!r} version {doc['format_version']!r}; this builder reads "
                f"{MANIFEST_FORMAT!r} version {MANIFEST_VERSION}"
            )
        accession, version, created = doc["accession"], doc["version"], doc["created"]
        if not isinstance(accession, str) or not _ACCESSION.match(accession):
            raise ManifestError(f"{where}: `accession` {accession!r} is not an accession")
        if not _whole(version) or version < 1:
            raise ManifestError(f"{where}: `version` must be a whole number from 1, not {version!r}")
        if not isinstance(created, str) or not created:
            raise ManifestError(f"{where}: `created` must be a date and time")
        images = doc["images"]
        if not isinstance(images, dict):
            raise ManifestError(f"{where}: `images` must be an object of image name -> manifest")
        parsed: dict[str, ImageManifest] = {}
        for name, raw in images.items():
            manifest = ImageManifest.from_json(raw, where=f"{where} ({accession} v{version})")
            if manifest.image != name:
                raise ManifestError(f"{where}: images['{name}'] describes image '{manifest.image}'")
            parsed[name] = manifest
        return cls(accession=accession, version=version, images=parsed, created=created)


def _fields(doc: Any, expected: set[str], where: str) -> None:
    if not isinstance(doc, dict):
        raise ManifestError(f"{where}: must be a JSON object")
    missing, extra = expected - set(doc), set(doc) - expected
    if missing or extra:
        parts = []
        if missing:
            parts.append("missing " + ", ".join(sorted(missing)))
        if extra:
            parts.append("unknown " + ", ".join(sorted(map(str, extra))))
        raise ManifestError(f"{where}: {'; '.join(parts)}")


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _valid_key(key: str) -> bool:
    parts = key.split("/")
    return bool(key) and all(_SEGMENT.match(p) and p not in {".", ".."} for p in parts)


# ------------------------------------------------------------------ checksums

def tree_checksum(entries: list[tuple[str, int, str]]) -> str:
    """The zarr-checksum tree digest from (key, size, md5 hex) of every object of an image."""
    from zarr_checksum.tree import ZarrChecksumTree

    tree = ZarrChecksumTree()
    for key, size, md5 in entries:
        tree.add_leaf(path=PurePosixPath(key), size=size, digest=md5)  # type: ignore[arg-type]
    return str(tree.process().digest)


@dataclass(frozen=True, slots=True)
class _Hashed:
    key: str
    size: int
    sha256: str
    md5: str


def hash_object(store: Store, key: str, progress: Progress | None = None) -> _Hashed:
    """SHA-256 and MD5 of one object from one streamed read."""
    sha = hashlib.sha256()
    md5 = hashlib.md5(usedforsecurity=False)
    size = 0
    for block in store.stream(key, block_size=BLOCK_SIZE):
        sha.update(block)
        md5.update(block)
        size += len(block)
        if progress is not None:
            progress(len(block))
    return _Hashed(key, size, sha.hexdigest(), md5.hexdigest())


def sha256_of(store: Store, key: str, progress: Progress | None = None) -> tuple[int, str]:
    """(size, SHA-256) of one object, streamed: fixity re-hashes with this."""
    sha = hashlib.sha256()
    size = 0
    for block in store.stream(key, block_size=BLOCK_SIZE):
        sha.update(block)
        size += len(block)
        if progress is not None:
            progress(len(block))
    return size, sha.hexdigest()


def parallel_map(
    function: Callable[[Any], Any], items: Iterator[Any] | list[Any], max_workers: int,
) -> Iterator[Any]:
    """``function`` over ``items`` on ``max_workers`` threads, at most twice that many queued (bounded memory).

    Results come in completion order. The first exception stops submitting and is raised.
    """
    iterator = iter(items)
    with ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="hash") as pool:
        pending: set[Future[Any]] = set()
        try:
            for item in itertools.islice(iterator, 2 * max(1, max_workers)):
                pending.add(pool.submit(function, item))
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    result = future.result()
                    nxt = next(iterator, _END)
                    if nxt is not _END:
                        pending.add(pool.submit(function, nxt))
                    yield result
        finally:
            for future in pending:
                future.cancel()


_END = object()


def manifest_of(
    store: Store, prefix: str = "", *, max_workers: int = 8, progress: Progress | None = None,
    image: str | None = None,
) -> ImageManifest:
    """The manifest of the image below ``prefix`` in ``store``: every object read once, in parallel.

    ``progress`` is called (from worker threads) with the number of bytes of each block read.
    ``image`` names the image in the manifest (default: the last part of the store's URL,
    without ``.ome.zarr``).
    """
    prefix = prefix.strip("/")
    name = image or _image_name(store.url if not prefix else prefix)
    base = f"{prefix}/" if prefix else ""
    if store.can_list:
        candidates: Iterator[str] = (info.key for info in store.iter_objects(prefix))
        missing_ok = False
    else:
        candidates = (base + key for key in zarr_keys(store, prefix))
        missing_ok = True

    def read(key: str) -> _Hashed | None:
        try:
            return hash_object(store, key, progress)
        except StorageError as exc:
            if missing_ok and exc.check == "NET002":
                return None  # a chunk never written: the fill value, not an object of the image
            raise

    hashed = [h for h in parallel_map(read, candidates, max_workers) if h is not None]
    entries = sorted(
        (_Hashed(h.key[len(base):], h.size, h.sha256, h.md5) for h in hashed), key=lambda h: h.key
    )
    tree = tree_checksum([(h.key, h.size, h.md5) for h in entries])
    return ImageManifest(
        image=name, tree_checksum=tree,
        objects=tuple(ObjectEntry(h.key, h.size, h.sha256) for h in entries),
        total_bytes=sum(h.size for h in entries),
    )


def _image_name(location: str) -> str:
    last = location.rstrip("/").rsplit("/", 1)[-1]
    for suffix in (".ome.zarr", ".zarr"):
        if last.endswith(suffix):
            last = last[: -len(suffix)]
    return last if _NAME.match(last) else "image"


# ------------------------------------------------------------------ keys from Zarr metadata (HTTP)

class _Walk:
    """Keys of a Zarr hierarchy found from its metadata documents alone (no listing)."""

    def __init__(self, store: Store, prefix: str) -> None:
        self.store = store
        self.base = f"{prefix}/" if prefix else ""
        self.keys: list[str] = []
        self.enumerated = 0
        self.seen: set[str] = set()
        self.lock = threading.Lock()

    def document(self, key: str) -> dict[str, Any] | None:
        data = self.store.get_document(self.base + key)
        if data is None:
            return None
        try:
            doc = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise StorageError("IMG011", f"{self.store.location(self.base + key)} is not JSON ({exc})",
                               url=self.store.url, key=self.base + key) from None
        if not isinstance(doc, dict):
            raise StorageError("IMG011", f"{self.store.location(self.base + key)} is not a JSON object",
                               url=self.store.url, key=self.base + key)
        self.keys.append(key)
        return doc

    def node(self, path: str) -> None:
        if path in self.seen:
            return
        self.seen.add(path)
        at = f"{path}/" if path else ""
        v3 = self.document(at + "zarr.json")
        if v3 is not None:
            if v3.get("node_type") == "array":
                self.array(path, v3, 3)
            else:
                attrs = _dict(v3.get("attributes"))
                self.children(path, _dict(attrs.get("ome")) or attrs)
            return
        zarray = self.document(at + ".zarray")
        zattrs = self.document(at + ".zattrs")
        if zarray is not None:
            self.array(path, zarray, 2)
            return
        if self.document(at + ".zgroup") is not None or zattrs is not None:
            self.children(path, zattrs or {})

    def children(self, path: str, attrs: dict[str, Any]) -> None:
        names: list[Any] = []  # checked one by one below
        for multiscale in _list(attrs.get("multiscales")):
            names.extend(d.get("path") for d in _list(multiscale.get("datasets")))
        labels = attrs.get("labels")
        if isinstance(labels, list):  # this is the labels group: its entries are label images
            names.extend(labels)
        elif not path:
            names.append("labels")  # an image's labels group, if there is one
        plate = attrs.get("plate")
        if isinstance(plate, dict):
            for well in _list(plate.get("wells")):
                names.append(well.get("path"))
        names.extend(i.get("path") for i in _list(_dict(attrs.get("well")).get("images")))
        at = f"{path}/" if path else ""
        for child in names:
            if not isinstance(child, str) or not _valid_key(child):
                continue  # the NGFF checks report bad paths; custody only reads what is valid
            parts = child.split("/")
            for depth in range(1, len(parts)):  # a plate's row groups between the plate and its wells
                self.node(at + "/".join(parts[:depth]))
            self.node(at + child)

    def array(self, path: str, meta: dict[str, Any], zarr_format: int) -> None:
        where = self.store.location(self.base + (f"{path}/" if path else "") + ("zarr.json" if zarr_format == 3
                                                                                  else ".zarray"))
        shape = meta.get("shape")
        if zarr_format == 3:
            chunks = _dict(_dict(meta.get("chunk_grid")).get("configuration")).get("chunk_shape")
            encoding = _dict(meta.get("chunk_key_encoding"))
            enc_config = _dict(encoding.get("configuration"))
            if encoding.get("name", "default") == "v2":
                separator, lead = enc_config.get("separator", "."), ""
            else:
                separator, lead = enc_config.get("separator", "/"), "c"
        else:
            chunks = meta.get("chunks")
            separator, lead = meta.get("dimension_separator") or ".", ""
        if (not isinstance(shape, list) or not isinstance(chunks, list) or len(shape) != len(chunks)
                or not all(_whole(n) for n in shape) or not all(_whole(n) and n > 0 for n in chunks)):
            raise StorageError("IMG011", f"{where}: shape {shape!r} and chunks {chunks!r} do not describe a "
                               "chunk grid", url=self.store.url, key=where)
        if separator not in (".", "/"):
            raise StorageError("IMG011", f"{where}: chunk key separator {separator!r} is not '.' or '/'",
                               url=self.store.url, key=where)
        counts = [math.ceil(n / c) for n, c in zip(shape, chunks, strict=True)]
        total = math.prod(counts) if shape else 1
        self.enumerated += total
        if self.enumerated > MAX_ENUMERATED_KEYS:
            raise StorageError(
                "SAF007", f"{where}: the declared chunk grids name more than {MAX_ENUMERATED_KEYS} chunks; "
                "an image this large must be served from a store that can list (S3)",
                url=self.store.url, key=where,
            )
        at = f"{path}/" if path else ""
        for index in itertools.product(*(range(n) for n in counts)):
            cell = separator.join(str(i) for i in index) if index else "0"
            if lead:
                cell = f"{lead}{separator}{cell}" if index else lead
            self.keys.append(at + cell)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def zarr_keys(store: Store, prefix: str = "") -> list[str]:
    """Every key a Zarr hierarchy can hold below ``prefix``, from its metadata (relative to ``prefix``).

    Metadata documents that exist and every chunk key of every array the NGFF
    metadata names; chunks that were never written are among them (readers skip 404s).
    """
    walk = _Walk(store, prefix.strip("/"))
    walk.node("")
    if not walk.keys:
        raise StorageError("NET002", f"{store.location(prefix)} holds no Zarr metadata (zarr.json, .zgroup, "
                           ".zattrs)", url=store.url, key=prefix or None)
    return walk.keys


__all__ = [
    "MANIFEST_FORMAT", "ImageManifest", "ManifestError", "ObjectEntry", "ObjectInfo", "VersionManifest",
    "hash_object", "manifest_of", "parallel_map", "sha256_of", "tree_checksum", "zarr_keys",
]
