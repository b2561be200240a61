"""The site stage: a staging docs folder -> `mkdocs build` -> site/, swapped in whole.

`mkdocs build` runs with a generated configuration that INHERITs the
repository's mkdocs.yml and only redirects docs_dir, site_dir and the theme's
custom_dir to the staging folders, so the look and navigation stay in
mkdocs.yml and site_overrides/. MkDocs runs as a child process: a crash or a
memory peak there cannot take the builder down, and its peak RSS is measurable.

The new site is built into a fresh folder next to site/ and only renamed into
place once everything succeeded, so a failed build leaves the old site intact.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from builder.core.errors import StageError
from builder.core.settings import ArchiveSettings

MKDOCS_CONFIG = "mkdocs.yml"
# The site_overrides/ shipped with the builder; an archive's own folder of the
# same name is layered over it.
DEFAULT_OVERRIDES = Path(__file__).resolve().parents[2] / "site_overrides"


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


def overrides_search_path(root: Path, extra: list[Path] | None = None) -> list[Path]:
    """Theme override folders, highest priority first (like a template search path)."""
    dirs = [*(extra or []), root / "site_overrides", DEFAULT_OVERRIDES]
    seen: list[Path] = []
    for d in dirs:
        d = d.resolve()
        if d.is_dir() and d not in seen:
            seen.append(d)
    return seen


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
    """A configuration that inherits the repository's mkdocs.yml.

    Paths in the inherited file resolve against the generated file's folder,
    so every path is given here as an absolute path. Names and URLs come from
    archive.toml, the one place a deployment configures.
    """
    config: dict = {
        "INHERIT": str(base_config.resolve()),
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


def new_site_dir(site_dir: Path, kind: str = "new") -> Path:
    """An empty folder next to site_dir, so the final renames stay on one filesystem."""
    site_dir = site_dir.resolve()
    site_dir.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{site_dir.name}.{kind}-", dir=site_dir.parent))


def swap_in(new_site: Path, site_dir: Path, *, delete_old_in_background: bool = False) -> None:
    """Replace site_dir by new_site with two renames, then delete the old site.

    The window in which site_dir is missing is two rename(2) calls long; a
    half-written site is never visible under site_dir. Deleting the old site
    (tens of thousands of files) can take longer than the build on a slow
    disk; with ``delete_old_in_background`` a detached `rm -rf` does it, so
    the build is done as soon as the new site is in place.
    """
    site_dir = site_dir.resolve()
    old: Path | None = None
    if site_dir.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{site_dir.name}.old-", dir=site_dir.parent))
        os.rmdir(old)
        os.rename(site_dir, old)
    try:
        os.rename(new_site, site_dir)
    except OSError:
        if old is not None:
            os.rename(old, site_dir)
        raise
    if old is None:
        return
    if delete_old_in_background and shutil.which("rm"):
        subprocess.Popen(["rm", "-rf", "--", str(old)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    else:
        shutil.rmtree(old, ignore_errors=True)


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
