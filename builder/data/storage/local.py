"""A local folder as a store: read side for sources, and the archive's default writable store."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from builder.data.storage.base import (
    MAX_LISTED_OBJECTS,
    Budget,
    ChecksumMismatch,
    ObjectExists,
    ObjectInfo,
    StorageError,
    Store,
    WritableStore,
)

# Temporary files of writes in progress; a killed run leaves them, never a half object.
PARTIAL_SUFFIX = ".partial"


class LocalStore(Store):
    """A folder. With ``confine`` set, every key must resolve (symlinks included) inside it."""

    kind = "local"

    def __init__(self, path: Path, budget: Budget, *, confine: Path | None = None) -> None:
        super().__init__(str(path), budget)
        self.path = path
        self.confine = confine.resolve() if confine is not None else None
        self._resolve("")  # refuse an image folder outside the root before any read

    def _resolve(self, key: str) -> Path:
        target = (self.path / key) if key else self.path
        if self.confine is not None:
            real = target.resolve()
            if not real.is_relative_to(self.confine):
                raise StorageError(
                    "SAF001",
                    f"{target} resolves to {real}, outside the storage root {self.confine}",
                    url=self.url, key=key or None,
                )
            return real
        return target

    def _fetch(self, key, start, end, suffix, cap):
        path = self._resolve(key)
        try:
            with path.open("rb") as fh:
                stat = os.fstat(fh.fileno())
                size = stat.st_size
                if suffix is not None:
                    begin = max(0, size - suffix)
                    stop = size
                else:
                    begin = min(start or 0, size)
                    stop = size if end is None else min(end, size)
                if stop - begin > cap:
                    raise self._too_big(key, cap)
                fh.seek(begin)
                data = fh.read(max(0, stop - begin))
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return 404, None, None
        except PermissionError:
            raise StorageError("NET003", f"{path} is not readable (permission denied)", url=self.url, key=key) from None
        return 200, data, f"{stat.st_mtime_ns}-{stat.st_size}"

    def _list(self, prefix):
        base = self._resolve(prefix.rstrip("/")) if prefix else self._resolve("")
        found: list[tuple[str, int, str | None]] = []
        for folder, _dirs, files in os.walk(base):
            for name in files:
                full = Path(folder) / name
                if full.is_symlink():
                    real = full.resolve()
                    if not real.is_file() or (self.confine is not None and not real.is_relative_to(self.confine)):
                        continue  # a dangling link, or one the reads would refuse (SAF001)
                stat = full.stat()
                found.append((full.relative_to(self.path.resolve() if self.confine else self.path).as_posix(),
                              stat.st_size, f"{stat.st_mtime_ns}-{stat.st_size}"))
                if len(found) > MAX_LISTED_OBJECTS:
                    return None
        return found



    def _walk(self, prefix: str) -> Iterator[tuple[Path, str]]:
        """(file, key) below prefix in key order; symbolic links the reads would refuse are skipped."""
        base_root = self.path.resolve() if self.confine else self.path
        start = self._resolve(prefix) if prefix else self._resolve("")
        if start.is_file():
            yield start, start.relative_to(base_root).as_posix()
            return
        for folder, dirs, files in os.walk(start):
            dirs.sort()
            for name in sorted(files):
                full = Path(folder) / name
                if name.endswith(PARTIAL_SUFFIX):
                    continue
                if full.is_symlink():
                    real = full.resolve()
                    if not real.is_file() or (self.confine is not None and not real.is_relative_to(self.confine)):
                        continue
                yield full, full.relative_to(base_root).as_posix()

    def _iter_objects(self, prefix):
        # os.walk's order is not key order ("a/b" vs "a.b"): sort the keys of each folder's subtree.
        entries = [ObjectInfo(key, full.stat().st_size, self._token(full)) for full, key in self._walk(prefix)]
        yield from sorted(entries, key=lambda info: info.key)

    @staticmethod
    def _token(path: Path) -> str:
        stat = path.stat()
        return f"{stat.st_mtime_ns}-{stat.st_size}"

    def _stream(self, key, block_size):
        path = self._resolve(key)
        try:
            fh = path.open("rb")
        except (NotADirectoryError, IsADirectoryError):
            raise FileNotFoundError(key) from None
        except PermissionError:
            raise StorageError("NET003", f"{path} is not readable (permission denied)", url=self.url, key=key) from None
        with fh:
            while block := fh.read(block_size):
                yield block

    def _stat(self, key):
        path = self._resolve(key)
        try:
            if not path.is_file():
                return None
            return ObjectInfo(key, path.stat().st_size, self._token(path))
        except OSError:
            return None


class LocalArchiveStore(LocalStore, WritableStore):
    """The archive's store in a local folder: each put is a temporary file renamed into place.

    The rename is atomic on one file system, so a reader (or a run killed
    half-way) sees the whole object or none; without ``overwrite`` the object is
    linked into place, which fails if it exists, so two writers never replace each other.
    """

    kind = "local"

    def __init__(self, path: Path, budget: Budget | None = None) -> None:
        path.mkdir(parents=True, exist_ok=True)
        super().__init__(path, budget or Budget.unbounded(), confine=path)

    def _target(self, key: str) -> Path:
        if not key or key.startswith("/") or ".." in key.split("/") or key.endswith(PARTIAL_SUFFIX):
            raise StorageError("SAF001", f"{key!r} is not a key the archive writes", url=self.url, key=key)
        target = self.path / key
        target.parent.mkdir(parents=True, exist_ok=True)
        self._resolve(key)  # a symbolic link planted in the store may not lead a write outside it
        return target

    def clear_interrupted(self, prefix: str) -> int:
        base = self._resolve(prefix.strip("/")) if prefix.strip("/") else self._resolve("")
        removed = 0
        for path in base.rglob(f"*{PARTIAL_SUFFIX}") if base.is_dir() else ():
            if path.is_file() and not path.is_symlink():
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def _put(self, key, blocks, size, sha256, overwrite):
        target = self._target(key)
        digest = hashlib.sha256()
        written = 0
        fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=PARTIAL_SUFFIX)
        temp = Path(temp_name)
        try:
            with os.fdopen(fd, "wb") as fh:
                for block in blocks:
                    fh.write(block)
                    digest.update(block)
                    written += len(block)
                fh.flush()
                os.fsync(fh.fileno())
            actual = digest.hexdigest()
            if sha256 is not None and actual != sha256:
                raise ChecksumMismatch(self.url, key, sha256, actual)
            if size is not None and written != size:
                raise StorageError(
                    "ARC003", f"{self.location(key)}: received {written} bytes, expected {size}; not stored",
                    url=self.url, key=key,
                )
            os.chmod(temp, 0o444)  # archived objects are read-only, a small guard against accidents
            if overwrite:
                os.replace(temp, target)
            else:
                try:
                    os.link(temp, target)
                except FileExistsError:
                    raise ObjectExists(self.url, key) from None
        finally:
            temp.unlink(missing_ok=True)
        return ObjectInfo(key, written, self._token(target), actual)
