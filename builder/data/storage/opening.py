"""Opening the store for a URL: which backend, and which URLs an untrusted record may name."""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

from builder.core.settings import ArchiveSettings, storage_root_path
from builder.data.storage.base import Budget, StorageError, Store
from builder.data.storage.http import HttpStore, _is_public_address
from builder.data.storage.local import LocalStore
from builder.data.storage.s3 import S3Store

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def is_loopback_url(url: str) -> bool:
    return (urlsplit(url).hostname or "") in LOOPBACK_HOSTS


def _refuse_private_host(url: str) -> None:
    """Untrusted https URLs must not reach the builder's own network (SSRF)."""
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return  # unresolvable: the request itself reports NET001 with the URL
    for info in infos:
        # The clearest message, before any request. A rebinding DNS server can answer
        # differently when urllib3 connects: HttpStore checks the connected address as well.
        text = str(info[4][0])
        if not _is_public_address(text):
            address = text.split("%")[0]
            raise StorageError(
                "SAF002",
                f"{url}: host {host} resolves to the non-public address {address}; only public hosts are read",
                url=url,
            )


def _local_root(settings: ArchiveSettings, root: Path) -> Path:
    """The storage root as a folder; only called once a URL root has been ruled out."""
    folder = storage_root_path(settings, root)
    if folder is None:
        raise StorageError("SAF001", f"the storage root {settings.storage_root} is not a local folder",
                           url=settings.storage_root)
    return folder


def resolve_url(url: str, settings: ArchiveSettings, root: Path) -> str:
    """A record's URL made absolute: s3:// and http(s):// stay; a relative path joins the storage root."""
    if "://" in url or url.startswith("file:"):
        return url.rstrip("/")
    base = settings.storage_root
    if "://" in base:
        return base.rstrip("/") + "/" + url.strip("/")
    folder = _local_root(settings, root)
    return str((folder / url) if not Path(url).is_absolute() else Path(url))


def open_store(
    url: str,
    settings: ArchiveSettings,
    root: Path,
    *,
    untrusted: bool = True,
    budget: Budget | None = None,
) -> Store:
    """The store for one image URL (as written in a record or on the command line).

    Relative paths resolve below ``settings.storage_root``. Untrusted URLs (from
    records) may not use file://, absolute paths, paths escaping the storage
    root (also through symbolic links) or private addresses. Plain http is read
    only from 127.0.0.1 (tests, local previews). The command line
    (``untrusted=False``) may also name any absolute local path.
    """
    budget = budget or Budget.from_limits(settings.limits)
    lower = url.lower()
    if lower.startswith("file:"):
        raise StorageError("SAF002", f"{url}: file:// URLs are refused; give a path relative to the storage root",
                           url=url)
    if lower.startswith("s3://"):
        return S3Store(url, budget, endpoint_url=settings.s3_endpoint_url, anonymous=settings.s3_anonymous)
    if lower.startswith("https://") or lower.startswith("http://"):
        if lower.startswith("http://") and not is_loopback_url(url):
            raise StorageError("SAF002", f"{url}: plain http:// is only read from 127.0.0.1; use https://", url=url)
        if untrusted and lower.startswith("https://"):
            _refuse_private_host(url)
        return HttpStore(url, budget, untrusted=untrusted)
    if "://" in url:
        raise StorageError("SAF002", f"{url}: unsupported URL scheme; use s3://, https:// or a relative path",
                           url=url)
    path = Path(url)
    if path.is_absolute():
        if untrusted:
            raise StorageError("SAF001", f"{url} must be a path inside the storage root, not an absolute path",
                               url=url)
        return LocalStore(path, budget)  # the command line names any local folder
    if "://" in settings.storage_root:
        return open_store(resolve_url(url, settings, root), settings, root, untrusted=untrusted, budget=budget)
    folder = _local_root(settings, root)
    if not untrusted:
        return LocalStore(folder / url, budget)
    if ".." in path.parts:
        raise StorageError("SAF001", f"{url} must be a path inside the storage root {folder}, without '..'",
                           url=url)
    return LocalStore(folder / url, budget, confine=folder)
