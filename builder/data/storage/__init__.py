"""Access to OME-Zarr data and to the archive's own store: a local folder, HTTP(S) or S3.

One small interface, :class:`Store` (``base``), with one module per backend
(``local``, ``http``, ``s3``), so every later step (metadata, arrays,
thumbnails, custody) is the same code for all three places::

    store = open_store(url, settings, root, untrusted=True)
    store.get("zarr.json")                 # bytes, or None when the object does not exist
    store.get("0/c/0/0/0", start=0, end=8)   # a byte range (end exclusive); suffix=N for the last N
    store.list_prefix("")                  # [(key, size, etag)] when listing is cheap, else None
    store.iter_objects("")                 # every ObjectInfo(key, size, etag, sha256) (local, S3)
    store.stream("0/c/0/0/0")              # the object in blocks, bounded memory
    store.stat("0/c/0/0/0")                # ObjectInfo or None

The archive's own store is writable (:class:`WritableStore`: ``put`` writes
an object whole, never replacing one unless asked): :class:`LocalArchiveStore`
and :class:`S3ArchiveStore`, opened by ``builder.data.archive``.

Every store counts its requests and bytes and enforces one image's budget from
``settings.limits`` (bytes, requests, wall time, per-request timeout): data from
strangers' pull requests must cost bounded work. Problems raise
:class:`StorageError` carrying a registered check id (NET/SAF/ARC), the URL and the key.
"""

from builder.data.storage.base import (
    BLOCK_SIZE,
    CORS_PROBE_ORIGIN,
    MAX_LISTED_OBJECTS,
    Budget,
    ChecksumMismatch,
    ObjectExists,
    ObjectInfo,
    RequestRecord,
    StorageError,
    Store,
    Usage,
    WritableStore,
)
from builder.data.storage.http import (
    HttpStore,
    PrivatePeerError,
    _guarded_https_classes,
    _is_public_address,
    _private_peer,
)
from builder.data.storage.local import LocalArchiveStore, LocalStore
from builder.data.storage.opening import LOOPBACK_HOSTS, is_loopback_url, open_store, resolve_url
from builder.data.storage.s3 import S3ArchiveStore, S3Store

__all__ = [
    "BLOCK_SIZE", "CORS_PROBE_ORIGIN", "LOOPBACK_HOSTS", "MAX_LISTED_OBJECTS", "Budget", "ChecksumMismatch",
    "HttpStore", "LocalArchiveStore", "LocalStore", "ObjectExists", "ObjectInfo", "PrivatePeerError",
    "RequestRecord", "S3ArchiveStore", "S3Store", "StorageError", "Store", "Usage", "WritableStore",
    "_guarded_https_classes", "_is_public_address", "_private_peer", "is_loopback_url", "open_store", "resolve_url",
]
