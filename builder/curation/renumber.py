"""Renumbering a new study: move it to the next free accession.

For the collision SUB001 reports: another study took the accession on the
base branch while this one waited in a pull request. The folder is renamed,
the ``accession:`` line of study.yaml rewritten (every other byte kept) and
images.lock updated. Published studies are never renumbered.
"""

from __future__ import annotations

import re
from pathlib import Path

from builder.core import git as gitops
from builder.core.errors import CommandError
from builder.core.layout import RECORD_NAME, STUDIES_DIR
from builder.core.settings import ArchiveSettings
from builder.curation.lock import LockError, lock_path, parse_lock


class RenumberError(CommandError):
    """The study cannot be renumbered; the message says why and what to do."""


def used_accession_numbers(root: Path, base: str, settings: ArchiveSettings) -> set[int]:
    """Numbers of accessions used in the work tree or on the base branch."""
    names = set(gitops.list_dir_at(root, base, Path(STUDIES_DIR)))
    studies = root / STUDIES_DIR
    if studies.is_dir():
        names |= {p.name for p in studies.iterdir() if p.is_dir()}
    numbers = {settings.accession_number(name) for name in names}
    return {n for n in numbers if n is not None}


def next_free_accession(root: Path, base: str, settings: ArchiveSettings) -> str:
    # Always above the highest: numbers of withdrawn or abandoned studies are never reused.
    return settings.format_accession(max(used_accession_numbers(root, base, settings), default=0) + 1)


def rewrite_accession_line(text: str, old: str, new: str) -> str | None:
    """The record text with its top-level accession changed, or None when there is no such line."""
    pattern = re.compile(rf"^(accession\s*:\s*)(['\"]?){re.escape(old)}\2(\s*(#.*)?)$", re.MULTILINE)
    rewritten, count = pattern.subn(lambda m: f"{m.group(1)}{m.group(2)}{new}{m.group(2)}{m.group(3)}", text)
    return rewritten if count == 1 else None


def renumber_study(root: Path, folder: str, base: str, settings: ArchiveSettings) -> tuple[str, str]:
    """Move studies/<folder> to the next free accession; returns (old, new)."""
    source = root / STUDIES_DIR / folder
    record = source / RECORD_NAME
    if not record.is_file():
        raise RenumberError(f"{STUDIES_DIR}/{folder}/{RECORD_NAME} does not exist; give the folder of your study")
    fork_point = gitops.merge_base(root, base)
    if gitops.file_at(root, fork_point, Path(STUDIES_DIR) / folder / RECORD_NAME) is not None:
        raise RenumberError(
            f"{folder} was already on {base} when your branch was made: it is a published accession and "
            "accessions never change. Only a new study can be renumbered."
        )
    new = next_free_accession(root, base, settings)
    text = record.read_text("utf-8")
    rewritten = rewrite_accession_line(text, folder, new)
    if rewritten is None:
        raise RenumberError(
            f"{STUDIES_DIR}/{folder}/{RECORD_NAME} has no line `accession: {folder}`; "
            "make the accession field match the folder name, then run this again"
        )
    lock_text = None
    lock_file = lock_path(root, folder)
    if lock_file.is_file():
        try:
            lock = parse_lock(lock_file.read_bytes())
        except LockError as exc:
            raise RenumberError(
                f"{STUDIES_DIR}/{folder}/images.lock cannot be read ({exc}); delete it, renumber, "
                f"then run `bioarchive lock {STUDIES_DIR}/<new accession>`"
            ) from exc
        lock_text = type(lock)(accession=new, images=lock.images).to_text()
    target = root / STUDIES_DIR / new
    source.rename(target)
    (target / RECORD_NAME).write_text(rewritten, "utf-8")
    if lock_text is not None:
        (target / "images.lock").write_text(lock_text, "utf-8")
    return folder, new
