"""Safe access to untrusted Zarr arrays: allow-lists and size limits before any byte is decoded.

zarr does no size checks and decodes whatever codec a document names (field
notes), so every array goes through :func:`check_array` before it is opened and
every read through :func:`check_selection`. Arrays are then read with zarr over
:class:`ZarrView`, a read-only zarr store on top of our :class:`~builder.data.storage.Store`:
metadata comes only from the documents we already fetched and checked, chunks
from the store (with its request/byte budget). Decoding itself runs in a worker
process with a memory limit (:mod:`builder.data.workers`), which catches what no
declaration reveals: a chunk declared small that inflates to gigabytes.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Iterable
from typing import Any, Literal

import numpy as np

from builder.core.checks import Diagnostic
from builder.core.settings import Limits
from builder.data import checks as C
from builder.data.checks import image_diagnostic
from builder.data.ngff.read import ArrayMeta
from builder.data.storage import Store

# Codecs whose decoders are plain, well-tested C libraries and cannot run code.
ALLOWED_V2_COMPRESSORS = {"blosc", "zstd", "gzip", "zlib", "lz4", "bz2"}
ALLOWED_V2_FILTERS: set[str] = set()  # none: filters are rare in images and some carry dtypes (object)
ALLOWED_V3_CODECS = {"bytes", "transpose", "blosc", "zstd", "gzip", "crc32c", "sharding_indexed"}
ALLOWED_DTYPES = {
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32", "float64",
}
METADATA_NAMES = {"zarr.json", ".zarray", ".zattrs", ".zgroup", ".zmetadata"}


def check_array(meta: ArrayMeta, limits: Limits, url: str, *, prefix: str = "") -> list[Diagnostic]:
    """Refusals (SAF003-SAF007) for one array, decided from its metadata alone."""
    doc = f"{prefix}{meta.doc_key}"
    out: list[Diagnostic] = []
    allowed = ALLOWED_V3_CODECS if meta.zarr_format == 3 else ALLOWED_V2_COMPRESSORS | ALLOWED_V2_FILTERS
    for name, key in zip(meta.codecs, meta.codec_keys):
        if key.startswith("filters") and name not in ALLOWED_V2_FILTERS:
            out.append(image_diagnostic(C.SAF003, f"filter '{name}' is not allowed (no filters are read)",
                                        url=url, doc=doc, key=key))
        elif name not in allowed:
            out.append(image_diagnostic(
                C.SAF003, f"codec '{name}' is not allowed; allowed: {', '.join(sorted(allowed))}",
                url=url, doc=doc, key=key))
    if meta.dtype not in ALLOWED_DTYPES:
        out.append(image_diagnostic(
            C.SAF004, f"dtype {meta.dtype} is not allowed; use bool, (u)int8-64 or float16/32/64",
            url=url, doc=doc, key="dtype" if meta.zarr_format == 2 else "data_type"))
    chunk_key = "chunks" if meta.zarr_format == 2 else "chunk_grid.configuration.chunk_shape"
    if len(meta.chunks) != len(meta.shape):
        out.append(image_diagnostic(C.SAF007, f"chunks {meta.chunks} and shape {meta.shape} differ in length",
                                    url=url, doc=doc, key=chunk_key))
        return out
    huge = [n for n in meta.shape if n < 0 or n > limits.max_array_dimension]
    if huge:
        out.append(image_diagnostic(
            C.SAF007, f"shape {meta.shape} declares sizes {huge} beyond limits.max_array_dimension "
            f"({limits.max_array_dimension})", url=url, doc=doc, key="shape"))
    if any(c <= 0 for c in meta.chunks) or any(c > limits.max_array_dimension for c in meta.chunks):
        out.append(image_diagnostic(C.SAF007, f"chunk shape {meta.chunks} has sizes that are zero, negative or absurd",
                                    url=url, doc=doc, key=chunk_key))
        return out
    if meta.shard_shape is not None:
        if len(meta.shard_shape) != len(meta.chunks) or any(
            s <= 0 or s % c for s, c in zip(meta.shard_shape, meta.chunks)
        ):
            out.append(image_diagnostic(
                C.SAF007, f"shard shape {meta.shard_shape} is not a multiple of the chunk shape {meta.chunks}",
                url=url, doc=doc, key="chunk_grid.configuration.chunk_shape"))
            return out
        index_bytes = math.prod(s // c for s, c in zip(meta.shard_shape, meta.chunks)) * 16
        if index_bytes > limits.max_chunk_bytes:
            out.append(image_diagnostic(
                C.SAF005, f"shard index of {index_bytes} bytes exceeds limits.max_chunk_bytes "
                f"({limits.max_chunk_bytes})", url=url, doc=doc, key="codecs"))
    itemsize = meta.itemsize or 8
    chunk_bytes = math.prod(meta.chunks) * itemsize
    if chunk_bytes > limits.max_chunk_bytes:
        out.append(image_diagnostic(
            C.SAF005, f"one chunk {meta.chunks} of {meta.dtype} decodes to {chunk_bytes} bytes, over "
            f"limits.max_chunk_bytes ({limits.max_chunk_bytes})", url=url, doc=doc, key=chunk_key))
    return out


def selection_cost(meta: ArrayMeta, selection: tuple[slice | int, ...]) -> tuple[int, int]:
    """(decoded bytes of the result, decoded bytes of every chunk the selection touches)."""
    itemsize = meta.itemsize or 8
    out_items = 1
    chunk_items = 1
    for sel, n, c in zip(selection, meta.shape, meta.chunks):
        if isinstance(sel, int):
            start, stop = sel, sel + 1
        else:
            start, stop, _ = sel.indices(n)
        count = max(0, stop - start)
        out_items *= count
        touched = (math.ceil(stop / c) - start // c) if count else 0
        chunk_items *= touched * c
    return out_items * itemsize, chunk_items * itemsize


def check_selection(
    meta: ArrayMeta, selection: tuple[slice | int, ...], limits: Limits, url: str, *, prefix: str = ""
) -> list[Diagnostic]:
    result, decoded = selection_cost(meta, selection)
    worst = max(result, decoded)
    if worst > limits.max_selection_bytes:
        return [image_diagnostic(
            C.SAF006, f"the thumbnail would decode {worst} bytes from this level (chunks {meta.chunks}), over "
            f"limits.max_selection_bytes ({limits.max_selection_bytes})", url=url, doc=f"{prefix}{meta.doc_key}",
            key="shape")]
    return []


# ------------------------------------------------------------------ zarr over our store

def _zarr_store_class():
    """Build the zarr Store subclass lazily: importing zarr costs ~0.3 s that pure callers never pay."""
    from zarr.abc.store import ByteRequest, OffsetByteRequest, RangeByteRequest, SuffixByteRequest
    from zarr.abc.store import Store as ZarrStore
    from zarr.core.buffer import Buffer, BufferPrototype

    class ZarrView(ZarrStore):
        """Read-only zarr store: metadata from checked documents, chunks from our Store."""

        supports_writes = False
        supports_deletes = False
        supports_partial_writes = False
        supports_listing = False

        def __init__(self, store: Store, documents: dict[str, Any]) -> None:
            super().__init__(read_only=True)
            self.store = store
            self.documents = documents  # key -> parsed JSON, already checked

        def __eq__(self, other: object) -> bool:
            return self is other

        def __hash__(self) -> int:
            return id(self)

        async def get(self, key: str, prototype: BufferPrototype, byte_range: ByteRequest | None = None
                      ) -> Buffer | None:
            name = key.rsplit("/", 1)[-1]
            if name in METADATA_NAMES:
                # zarr never fetches metadata itself: an unchecked document must not reach its parser
                doc = self.documents.get(key)
                return None if doc is None else prototype.buffer.from_bytes(json.dumps(doc).encode())
            if byte_range is None:
                data = self.store.get(key)
            elif isinstance(byte_range, RangeByteRequest):
                data = self.store.get(key, start=byte_range.start, end=byte_range.end)
            elif isinstance(byte_range, OffsetByteRequest):
                data = self.store.get(key, start=byte_range.offset)
            elif isinstance(byte_range, SuffixByteRequest):
                data = self.store.get(key, suffix=byte_range.suffix)
            else:
                raise TypeError(f"unexpected byte range {byte_range!r}")
            return None if data is None else prototype.buffer.from_bytes(data)

        async def get_partial_values(self, prototype: BufferPrototype,
                                     key_ranges: Iterable[tuple[str, ByteRequest | None]]) -> list[Buffer | None]:
            return [await self.get(k, prototype, r) for k, r in key_ranges]

        async def exists(self, key: str) -> bool:
            return key in self.documents

        async def set(self, key: str, value: Buffer) -> None:
            raise PermissionError("read-only")

        async def delete(self, key: str) -> None:
            raise PermissionError("read-only")

        async def list(self) -> AsyncIterator[str]:
            for key in list(self.documents):
                yield key

        async def list_prefix(self, prefix: str) -> AsyncIterator[str]:
            for key in list(self.documents):
                if key.startswith(prefix):
                    yield key

        async def list_dir(self, prefix: str) -> AsyncIterator[str]:
            prefix = prefix.rstrip("/") + "/" if prefix else ""
            seen = set()
            for key in list(self.documents):
                if key.startswith(prefix):
                    head = key[len(prefix):].split("/", 1)[0]
                    if head not in seen:
                        seen.add(head)
                        yield head

    return ZarrView


_ZARR_VIEW = None


def zarr_view(store: Store, documents: dict[str, Any]):
    global _ZARR_VIEW
    if _ZARR_VIEW is None:
        _ZARR_VIEW = _zarr_store_class()
    return _ZARR_VIEW(store, documents)


def read_selection(
    store: Store, documents: dict[str, Any], meta: ArrayMeta, array_path: str, selection: tuple[slice | int, ...]
) -> np.ndarray:
    """Read one checked selection of one checked array. Call only after check_array/check_selection."""
    import zarr

    view = zarr_view(store, documents)
    # parse_array read the document as v2 only when told 2, as v3 otherwise: the same split here
    zarr_format: Literal[2, 3] = 2 if meta.zarr_format == 2 else 3
    array = zarr.open_array(store=view, path=array_path, mode="r", zarr_format=zarr_format)
    return np.asarray(array[selection])
