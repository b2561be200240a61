"""The site stage: a staging docs folder -> `mkdocs build` -> site/, swapped in whole.

`mkdocs build` runs with a generated configuration that INHERITs the
archive's mkdocs.yml (or the builder's default) and only redirects docs_dir,
site_dir and the theme's custom_dir to the staging folders, so the look and
navigation stay in mkdocs.yml and the theme overrides (the archive's
site_overrides/ merged over the builder's, builder/site/templates.py). MkDocs runs as a child process: a crash or a
memory peak there cannot take the builder down, and its peak RSS is measurable.

The new site is built into a fresh folder next to site/ and only swapped into
place once everything succeeded, so a failed or killed build leaves the old
site intact, and the next build removes what a killed one left behind.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from builder.core.errors import StageError
from builder.core.settings import ArchiveSettings

MKDOCS_CONFIG = "mkdocs.yml"


class SiteBuildError(StageError):
    """`mkdocs build` failed; ``output`` holds what it printed."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


@dataclass(frozen=True)
class MkDocsRun:
    seconds: float
    output: str

    @property
    def warnings(self) -> list[str]:
        """MkDocs' warnings (a broken link in a hand-written page, a missing nav entry)."""
        return [line for line in self.output.splitlines() if line.startswith("WARNING")]


def stage_overrides(search_path: list[Path], target: Path) -> Path:
    """Merge the override folders into one custom_dir (lowest priority copied first)."""
    target.mkdir(parents=True, exist_ok=True)
    for folder in reversed(search_path):
        shutil.copytree(folder, target, dirs_exist_ok=True)
    return target


def write_mkdocs_config(
    *,
    base_config: Path,
    docs_dir: Path,
    site_dir: Path,
    custom_dir: Path,
    settings: ArchiveSettings,
    target: Path,
) -> Path:
    """A configuration that inherits the archive's mkdocs.yml (or the builder's default).

    Paths in the inherited file resolve against the generated file's folder,
    so every path is given here as an absolute path. Names and URLs come from
    archive.toml, the one place a deployment configures.
    """
    from builder.site.templates import readable_mkdocs_config

    config: dict = {
        "INHERIT": str(readable_mkdocs_config(base_config, target.parent).resolve()),
        "docs_dir": str(docs_dir.resolve()),
        "site_dir": str(site_dir.resolve()),
        "site_name": settings.name,
        "site_url": settings.site_url,
        "theme": {"custom_dir": str(custom_dir.resolve())},
    }
    if settings.repo_url:
        config["repo_url"] = settings.repo_url
        config["repo_name"] = settings.repo_url.rstrip("/").split("://", 1)[-1].split("/", 1)[-1]
    target.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return target


def run_mkdocs(config_file: Path, *, timeout_s: float | None = None) -> MkDocsRun:
    """Run `mkdocs build` on a generated config; raise SiteBuildError on failure."""
    import time

    started = time.perf_counter()
    env = dict(os.environ)
    # Material prints an end-of-life notice on every build: not news to our users.
    env.setdefault("NO_MKDOCS_2_WARNING", "1")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--config-file", str(config_file)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout_s,
        check=False,
    )
    output = (proc.stdout or "") + (proc.stderr or "")
    if proc.returncode != 0:
        raise SiteBuildError(f"mkdocs build failed (exit code {proc.returncode})", output)
    return MkDocsRun(seconds=time.perf_counter() - started, output=output)


# Work folders next to site/, hidden so that neither GitHub Pages' upload nor
# the archive sees them. Their names carry the builder's process id, so the
# next build can tell the leftovers of a killed build from a build still running.
WORK_KINDS = ("new", "extra", "aside", "old")
_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def new_site_dir(site_dir: Path, kind: str = "new") -> Path:
    """An empty folder next to site_dir, so the final renames stay on one filesystem."""
    site_dir = site_dir.resolve()
    site_dir.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{site_dir.name}.{kind}-{os.getpid()}-", dir=site_dir.parent))


def _work_folders(site_dir: Path) -> list[tuple[str, int | None, Path]]:
    """(kind, owner pid or None, path) of every work folder next to site_dir."""
    pattern = re.compile(rf"^\.{re.escape(site_dir.name)}\.({'|'.join(WORK_KINDS)})-(?:(\d+)-)?")
    found = []
    for entry in os.scandir(site_dir.parent):
        match = pattern.match(entry.name)
        if match and entry.is_dir(follow_symlinks=False):
            found.append((match.group(1), int(match.group(2)) if match.group(2) else None, Path(entry.path)))
    return found


def _running(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def clear_interrupted_builds(site_dir: Path) -> list[Path]:
    """Undo what killed builds left next to site_dir; returns the folders removed.

    A build killed between the two renames of a swap (on filesystems without
    an atomic exchange) left site_dir missing and the old site aside: it is
    put back. Half-built sites and exports of killed builds are deleted (old
    sites in the background); folders of builds still running (their process
    is alive) are left alone.
    """
    site_dir = site_dir.resolve()
    if not site_dir.parent.is_dir():
        return []
    leftovers = [(kind, path) for kind, pid, path in _work_folders(site_dir) if not _running(pid)]
    if not site_dir.exists():
        aside = sorted((p for kind, p in leftovers if kind == "aside"), key=lambda p: p.stat().st_mtime)
        if aside:
            os.rename(aside[-1], site_dir)
            leftovers = [(kind, p) for kind, p in leftovers if p != aside[-1]]
    for kind, path in leftovers:
        # Old sites are large and harmless: deleting them must not slow the build down.
        _delete(path, background=kind == "old")
    return [path for _, path in leftovers]


@functools.cache
def _renameat2() -> Any:
    try:
        return getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    except OSError:
        return None


def exchange(first: Path, second: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where that is not supported."""
    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(first), None, str(second))


def swap_in(new_site: Path, site_dir: Path, *, delete_old_in_background: bool = False) -> None:
    """Replace site_dir by new_site, so that one of them is in place at every instant; then delete the old site.

    On Linux the two folders are exchanged in one rename(2). Elsewhere the old
    site is renamed aside and the new one into place; a build killed between
    those two renames leaves the old site aside, and the next build puts it
    back (:func:`clear_interrupted_builds`). site_dir stays a plain folder
    (GitHub Pages uploads folders, not symlinks). Deleting the old site (tens
    of thousands of files) can take longer than the build on a slow disk; with
    ``delete_old_in_background`` a detached `rm -rf` does it, so the build is
    done as soon as the new site is in place.
    """
    site_dir = site_dir.resolve()
    if not site_dir.exists():
        os.rename(new_site, site_dir)
        return
    if exchange(new_site, site_dir):
        old = new_site  # now holds the old site
    else:
        old = Path(tempfile.mkdtemp(prefix=f".{site_dir.name}.aside-{os.getpid()}-", dir=site_dir.parent))
        os.rmdir(old)
        os.rename(site_dir, old)
        try:
            os.rename(new_site, site_dir)
        except OSError:
            os.rename(old, site_dir)
            raise
    # Named as an old site, so a later build leaves its deletion to the background too.
    doomed = new_site_dir(site_dir, "old")
    os.rename(old, doomed / "site")
    _delete(doomed, background=delete_old_in_background)


def _delete(path: Path, *, background: bool) -> None:
    if background and shutil.which("rm"):
        subprocess.Popen(["rm", "-rf", "--", str(path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    else:
        shutil.rmtree(path, ignore_errors=True)

def discard(path: Path | None) -> None:
    if path is not None:
        shutil.rmtree(path, ignore_errors=True)


def scratch_dir(prefix: str) -> Path:
    """A temporary folder, in memory (/dev/shm) when the machine has it.

    Staging holds a few small files per study that live for one build; on a
    slow shared disk, writing and deleting them cost more than rendering them.
    """
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return Path(tempfile.mkdtemp(prefix=prefix, dir=shm))
    return Path(tempfile.mkdtemp(prefix=prefix))


def merge_into(source: Path, target: Path) -> None:
    """Move everything under source into target (same filesystem), replacing files.

    Folders that exist in both are merged; the rest move with one rename each.
    """
    for entry in os.scandir(source):
        destination = target / entry.name
        if entry.is_dir(follow_symlinks=False) and destination.is_dir():
            merge_into(Path(entry.path), destination)
            continue
        if destination.is_dir() and not destination.is_symlink():
            shutil.rmtree(destination)
        os.replace(entry.path, destination)
