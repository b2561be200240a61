"""A study folder may hold its image table (images.tsv) beside the record: not a stray file (SUB012)."""

from __future__ import annotations

import datetime as dt

from builder.core.settings import load_settings
from builder.curation.submission import check_changes
from tests.support.gitrepo import ArchiveRepo


def test_images_tsv_is_part_of_a_study_folder(archive_repo: ArchiveRepo) -> None:
    archive_repo.add_study("OIA-000003")
    archive_repo.write("studies/OIA-000003/images.tsv", "dataset\tname\turl\n")
    archive_repo.write("studies/OIA-000003/notes.tsv", "my notes")
    found = check_changes(archive_repo.root, "main", load_settings(archive_repo.root), today=dt.date(2026, 1, 1))
    stray = [(d.check, d.file) for d in found if d.check == "SUB012"]
    assert stray == [("SUB012", "studies/OIA-000003/notes.tsv")]
    assert "images.tsv" in next(d.message for d in found if d.check == "SUB012")
