"""The store interface every backend implements, with its accounting and budget.

A :class:`Store` is a key/value view of one prefix (a folder, an https prefix,
an s3:// prefix). The read side serves inspection (``get`` with byte ranges,
``get_document``, a cheap ``list_prefix``) and custody (``iter_objects``: the
full listing, ``stream``: an object in blocks, ``stat``). Writable stores (the
archive's own store; see :class:`WritableStore`) add ``put``, which replaces
an object only as a whole: a reader sees the old object or the new one,
never a part.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from builder.core.errors import StorageAccessError
from builder.core.settings import Limits

# A cheap listing answers in one request; beyond this many objects we stop and
# report the size as unknown instead of crawling a huge bucket.
MAX_LISTED_OBJECTS = 1000
# Browsers send an Origin header; viewers need the answer to allow it.
CORS_PROBE_ORIGIN = "https://viewer.example.org"
# Streaming reads and writes move this much at a time: memory per transfer.
BLOCK_SIZE = 1024 * 1024


class StorageError(StorageAccessError):
    """One clear problem reaching or reading storage: a check id, a message, the URL and key."""

    def __init__(self, check: str, message: str, *, url: str, key: str | None = None) -> None:
        super().__init__(message)
        self.check = check
        self.message = message
        self.url = url
        self.key = key


@dataclass(slots=True)
class Budget:
    """What reading one image may cost. Exceeding any bound is error SAF008 (or NET004 for time)."""

    max_bytes: int
    max_requests: int
    max_seconds: float
    request_timeout_s: float
    max_document_bytes: int

    @classmethod
    def from_limits(cls, limits: Limits) -> Budget:
        return cls(
            max_bytes=limits.max_image_bytes_read,
            max_requests=limits.max_image_requests,
            max_seconds=limits.image_timeout_s,
            request_timeout_s=limits.request_timeout_s,
            max_document_bytes=limits.max_metadata_bytes,
        )

    @classmethod
    def unbounded(cls, request_timeout_s: float = 60.0, max_document_bytes: int = 64 * 1024 * 1024) -> Budget:
        """For the archive's own store: its contents were bounded when they were ingested."""
        return cls(
            max_bytes=2**62, max_requests=2**62, max_seconds=float("inf"),
            request_timeout_s=request_timeout_s, max_document_bytes=max_document_bytes,
        )


@dataclass(slots=True)
class RequestRecord:
    key: str
    status: int  # HTTP-like: 200/206 found, 404 missing
    nbytes: int
    byte_range: str | None = None


@dataclass(slots=True)
class Usage:
    requests: int = 0
    bytes: int = 0
    not_found: int = 0
    log: list[RequestRecord] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """One object as a listing or a stat reports it."""

    key: str  # relative to the store's root
    size: int
    etag: str | None = None
    # The store's own SHA-256 of the whole object (hex), when it keeps one
    # (S3 objects written with ChecksumAlgorithm=SHA256 in one part).
    sha256: str | None = None


class Store(ABC):
    """A key/value view of one Zarr hierarchy (or the archive), with accounting and a budget.

    Subclasses implement :meth:`_fetch` (one request) and may implement
    :meth:`_list`, :meth:`_iter_objects`, :meth:`_stream` and :meth:`_stat`.
    """

    kind = "store"
    writable = False

    def __init__(self, url: str, budget: Budget) -> None:
        self.url = url.rstrip("/")
        self.budget = budget
        self.usage = Usage()
        self.started = time.monotonic()
        self.etags: dict[str, str] = {}  # key -> ETag (or mtime/size token) of objects read
        self.notes: list[tuple[str, str]] = []  # (check id, message) warnings found while reading
        self.cors_ok: bool | None = None
        # Custody streams from many threads at once; the counters must add up.
        self._accounting = threading.Lock()

    # -- interface ---------------------------------------------------------------
    def location(self, key: str = "") -> str:
        """The address of one key, for messages."""
        return f"{self.url}/{key}" if key else self.url

    def get(
        self,
        key: str,
        *,
        start: int | None = None,
        end: int | None = None,
        suffix: int | None = None,
        max_bytes: int | None = None,
    ) -> bytes | None:
        """The object's bytes (or a range of them), or None when it does not exist."""
        self._check_budget(key)
        remaining = self.budget.max_bytes - self.usage.bytes
        cap = remaining if max_bytes is None else min(max_bytes, remaining)
        status, data, etag = self._fetch(key, start, end, suffix, cap)
        rng = None
        if start is not None or suffix is not None:
            rng = f"-{suffix}" if suffix is not None else f"{start}-{'' if end is None else end - 1}"
        with self._accounting:
            self.usage.requests += 1
            self.usage.log.append(RequestRecord(key, status, len(data or b""), rng))
            if data is None:
                self.usage.not_found += 1
                return None
            self.usage.bytes += len(data)
            if etag:
                self.etags[key] = etag
        return data

    def get_document(self, key: str) -> bytes | None:
        """A metadata document, refused beyond ``limits.max_metadata_bytes``."""
        return self.get(key, max_bytes=self.budget.max_document_bytes)

    def list_prefix(self, prefix: str = "") -> list[tuple[str, int, str | None]] | None:
        """(key, size, etag-like token) below prefix when one cheap listing covers it, else None."""
        self._check_budget(prefix or "/")
        listed = self._list(prefix)
        self._count(f"LIST {prefix or '/'}", 200, 0)
        return listed

    @property
    def can_list(self) -> bool:
        """Whether :meth:`iter_objects` works here (plain HTTP servers cannot list)."""
        return type(self)._iter_objects is not Store._iter_objects

    def iter_objects(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object below ``prefix`` (keys relative to the store), in key order, however many."""
        if not self.can_list:
            raise StorageError(
                "NET007", f"{self.location(prefix)} cannot be listed ({self.kind} storage has no listing)",
                url=self.url, key=prefix or None,
            )
        self._check_budget(prefix or "/")
        yield from self._iter_objects(prefix.strip("/"))

    def stream(self, key: str, *, block_size: int = BLOCK_SIZE, max_bytes: int | None = None) -> Iterator[bytes]:
        """The object's bytes in blocks of at most ``block_size``; error NET002 when it does not exist.

        Nothing is read before the first ``next()``. More than ``max_bytes`` (or the budget) is SAF008.
        """
        self._check_budget(key)
        cap = self.budget.max_bytes - self.usage.bytes
        if max_bytes is not None:
            cap = min(cap, max_bytes)
        total = 0
        found = False
        try:
            for block in self._stream(key, block_size):
                found = True
                total += len(block)
                if total > cap:
                    raise StorageError(
                        "SAF008",
                        f"{self.location(key)} is larger than the {cap} bytes allowed "
                        + ("(limits.max_object_bytes)" if max_bytes is not None and cap == max_bytes
                           else "(the read budget)"),
                        url=self.url, key=key,
                    )
                with self._accounting:
                    self.usage.bytes += len(block)
                yield block
        except FileNotFoundError:
            self._count(key, 404, 0)
            raise StorageError("NET002", f"{self.location(key)} does not exist", url=self.url, key=key) from None
        self._count(key, 200 if found or total == 0 else 200, total)

    def stat(self, key: str) -> ObjectInfo | None:
        """Size, etag and (where the store keeps one) SHA-256 of one object, or None when missing."""
        self._check_budget(key)
        info = self._stat(key)
        self._count(f"STAT {key}", 200 if info else 404, 0)
        return info

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    # -- helpers for subclasses ------------------------------------------------
    def _count(self, key: str, status: int, nbytes: int) -> None:
        with self._accounting:
            self.usage.requests += 1
            if status == 404:
                self.usage.not_found += 1
            self.usage.log.append(RequestRecord(key, status, nbytes))

    def _check_budget(self, key: str) -> None:
        if self.usage.requests >= self.budget.max_requests:
            raise StorageError(
                "SAF008",
                f"reading {self.url} needed more than {self.budget.max_requests} requests "
                f"(limits.max_image_requests); stopped before '{key}'",
                url=self.url, key=key,
            )
        if self.elapsed > self.budget.max_seconds:
            raise StorageError(
                "NET004",
                f"reading {self.url} took longer than {self.budget.max_seconds:g} s (limits.image_timeout_s); "
                f"stopped before '{key}'",
                url=self.url, key=key,
            )

    def _too_big(self, key: str, cap: int) -> StorageError:
        if cap >= self.budget.max_bytes - self.usage.bytes:
            return StorageError(
                "SAF008",
                f"reading {self.location(key)} would exceed the {self.budget.max_bytes} bytes allowed per image "
                "(limits.max_image_bytes_read)",
                url=self.url, key=key,
            )
        return StorageError(
            "SAF011",
            f"{self.location(key)} is larger than {cap} bytes (limits.max_metadata_bytes)",
            url=self.url, key=key,
        )

    def _note_cors(self, allowed: str | None) -> None:
        """Record, from the first answer, whether a browser on another origin may read this store."""
        if self.cors_ok is not None:
            return
        self.cors_ok = allowed in ("*", CORS_PROBE_ORIGIN)
        if not self.cors_ok:
            self.notes.append((
                "NET006",
                f"{self.url} sends no Access-Control-Allow-Origin header for Origin {CORS_PROBE_ORIGIN}: "
                "browser viewers such as vizarr cannot open this image; enable CORS on the bucket",
            ))

    def _time_left(self) -> float:
        return max(0.05, self.budget.max_seconds - self.elapsed)

    @abstractmethod
    def _fetch(
        self, key: str, start: int | None, end: int | None, suffix: int | None, cap: int
    ) -> tuple[int, bytes | None, str | None]:
        """One request: (status, data or None when missing, etag). Reads at most ``cap`` bytes."""

    def _list(self, prefix: str) -> list[tuple[str, int, str | None]] | None:
        return None

    def _iter_objects(self, prefix: str) -> Iterator[ObjectInfo]:
        raise NotImplementedError  # pragma: no cover - guarded by can_list

    def _stream(self, key: str, block_size: int) -> Iterator[bytes]:
        """Blocks of one object; raise FileNotFoundError when it does not exist. Default: one GET."""
        data = self._fetch(key, None, None, None, self.budget.max_bytes - self.usage.bytes)[1]
        if data is None:
            raise FileNotFoundError(key)
        for begin in range(0, len(data), block_size):
            yield data[begin:begin + block_size]

    def _stat(self, key: str) -> ObjectInfo | None:
        data = self._fetch(key, None, None, None, self.budget.max_bytes - self.usage.bytes)[1]
        return None if data is None else ObjectInfo(key, len(data))


class ObjectExists(StorageError):
    """A put with ``overwrite=False`` found the key already there (immutability)."""

    def __init__(self, url: str, key: str) -> None:
        super().__init__(
            "ARC002", f"{url}/{key} exists already; archived objects are never replaced", url=url, key=key,
        )


class ChecksumMismatch(StorageError):
    """The bytes a put received are not the bytes the writer announced (nothing was stored)."""

    def __init__(self, url: str, key: str, expected: str, actual: str) -> None:
        super().__init__(
            "ARC003", f"{url}/{key}: received bytes hash to sha256 {actual}, expected {expected}; not stored",
            url=url, key=key,
        )


class WritableStore(Store):
    """A store the archive owns: objects are written whole, and only where nothing is yet.

    ``put`` takes the bytes as an iterable of blocks (streamed: memory is one
    block per transfer) and the SHA-256 the writer computed or expects; the
    store verifies what it received against it where it can (S3 checks
    ``ChecksumSHA256``; the local store hashes while it writes) and refuses
    to replace an existing object unless ``overwrite`` is given.
    """

    writable = True

    def put(
        self, key: str, blocks: Iterable[bytes] | bytes, *, size: int | None = None,
        sha256: str | None = None, overwrite: bool = False,
    ) -> ObjectInfo:
        """Write one object whole; returns what the store now holds (always with the SHA-256 of the bytes received).

        ObjectExists when it is there already.
        """
        if isinstance(blocks, (bytes, bytearray, memoryview)):
            data = bytes(blocks)
            size = len(data)
            blocks = [data]
        info = self._put(key, iter(blocks), size, sha256, overwrite)
        self._count(f"PUT {key}", 200, info.size)
        return info

    def clear_interrupted(self, prefix: str) -> int:
        """Remove what killed writes below ``prefix`` left (temporary files, unfinished uploads; never an object).

        Returns how many were removed. Run it only when no other writer works on the prefix.
        """
        return 0

    @abstractmethod
    def _put(
        self, key: str, blocks: Iterator[bytes], size: int | None, sha256: str | None, overwrite: bool
    ) -> ObjectInfo:
        """Write the object whole (a reader never sees part of it), verifying ``sha256`` when given."""


def _slice(data: bytes, start: int | None, end: int | None, suffix: int | None) -> bytes:
    if suffix is not None:
        return data[-suffix:] if suffix else b""
    return data[start or 0:end]
