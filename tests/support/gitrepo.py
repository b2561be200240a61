"""A real Git repository holding a small archive, for submission and review tests.

``archive_repo`` gives a repository whose ``main`` branch has archive.toml and
two published studies (OIA-000001, OIA-000002), checked out on a pull-request
branch ``submission`` made from main. Tests edit files, commit, and run the
same ``bioarchive`` commands the workflows run with ``main`` as the base.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ARCHIVE_TOML = """\
[archive]
name = "Test Archive"
short_name = "TA"
publisher = "Test Archive"
site_url = "https://archive.example.org/"
repo_url = "https://github.com/example/archive"
accession_prefix = "OIA-"
accession_digits = 6
licences = ["CC0-1.0", "CC-BY-4.0"]
storage_root = "example-data"
"""

# A valid record as a depositor writes it: a schema line and comments that
# tools rewriting the file must keep.
STUDY_TEMPLATE = """\
# yaml-language-server: $schema=../../schema/study.schema.json
# Study record; see docs/guides/submitting.md.
schema_version: 2
accession: {accession}
version: {version}
status: published
title: {title}
description: >-
  Confocal images of fixed HeLa cells stained for nuclei and microtubules,
  acquired to test the archive's submission rules.
authors:
  - name: Ada Lovelace
    orcid: 0000-0002-1825-0097
    affiliations:
      - name: European Molecular Biology Laboratory
    contact: true
    email: ada@example.org
licence: CC-BY-4.0
release_date: {release_date}
data_type: reference images
biological_scale: [cell]
datasets:
  - name: cells
    title: HeLa cells, nuclei and microtubules
    biosample:
      organisms:
        - id: NCBITaxon:9606
          label: Homo sapiens
      biological_entity: HeLa cells
    specimen:
      preparation_protocol: Fixed in 4% PFA for 10 minutes and stained with Hoechst.
    acquisition:
      imaging_method:
        - id: FBbi:00000246
          label: fluorescence microscopy
      instrument: Zeiss LSM 980
    images:
      - name: {image_name}
        url: {image_url}
human_data:
  ethics_statement: HeLa is an established cell line; no ethics approval was needed.
  consent_statement: Not applicable to an established cell line.
  deidentified: true
"""

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test Depositor",
    "GIT_AUTHOR_EMAIL": "depositor@example.org",
    "GIT_COMMITTER_NAME": "Test Depositor",
    "GIT_COMMITTER_EMAIL": "depositor@example.org",
}


def lock_text(accession: str, images: dict[str, str]) -> str:
    """An images.lock for ``images`` (name -> url) with made-up fingerprints, for
    tests that check the lock's entries without reading data."""
    from builder.curation.lock import ContentChecksum, ImageLock, LockEntry

    return ImageLock(
        accession=accession,
        images={
            name: LockEntry(
                url=url,
                fingerprint="sha256:" + hashlib.sha256(url.encode()).hexdigest(),
                ngff_version="0.5",
                kind="image",
                content=ContentChecksum(hashlib.md5(url.encode()).hexdigest() + "-1--1", 1, 1),
            )
            for name, url in images.items()
        },
    ).to_text()


def study_text(
    accession: str,
    *,
    version: int = 1,
    title: str = "HeLa cells imaged by confocal microscopy",
    release_date: dt.date | str = "2024-01-15",
    image_name: str = "cells",
    image_url: str = "images/cells.ome.zarr",
    changelog: list[dict[str, Any]] | None = None,
) -> str:
    text = STUDY_TEMPLATE.format(
        accession=accession,
        version=version,
        title=title,
        release_date=release_date,
        image_name=image_name,
        image_url=image_url,
    )
    if changelog:
        text += yaml.safe_dump({"changelog": changelog}, sort_keys=False, default_flow_style=False)
    return text


class ArchiveRepo:
    """A temporary archive repository driven through the real ``git`` command."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def git(self, *args: str) -> str:
        env = {**os.environ, **GIT_IDENTITY}
        for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
            env.pop(key, None)
        proc = subprocess.run(
            ["git", "-C", str(self.root), *args], capture_output=True, text=True, env=env, check=False
        )
        if proc.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
        return proc.stdout

    def write(self, rel: str | Path, text: str | bytes) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    def read(self, rel: str | Path) -> str:
        return (self.root / rel).read_text(encoding="utf-8")

    def add_study(self, accession: str, *, lock: bool = True, **fields: Any) -> Path:
        """Write a valid record (and, unless ``lock=False``, an images.lock listing its image)."""
        if lock:
            image = {fields.get("image_name", "cells"): fields.get("image_url", "images/cells.ome.zarr")}
            self.write(f"studies/{accession}/images.lock", lock_text(accession, image))
        return self.write(f"studies/{accession}/study.yaml", study_text(accession, **fields))

    def add_image(self, url: str, *, size: int = 64, channels: int = 2, version: str = "0.5") -> Path:
        """Write a small OME-Zarr image where the record's relative ``url`` points (example-data/)."""
        import numpy as np

        from builder.testing.ngff_writer import write_image

        data = np.random.default_rng(size * 10 + channels).integers(0, 4000, (channels, 1, size, size), dtype="uint16")
        return write_image(
            self.root / "example-data" / url,
            data,
            version=version,  # type: ignore[arg-type]
            levels=2,
            scale={"y": 0.25, "x": 0.25, "z": 1.0},
            channels=[{"label": f"ch{i}"} for i in range(channels)],
        )

    def edit_study(self, accession: str, old: str, new: str) -> None:
        rel = f"studies/{accession}/study.yaml"
        text = self.read(rel)
        assert old in text, f"{old!r} not in {rel}"
        self.write(rel, text.replace(old, new, 1))

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    def checkout(self, branch: str, *, new: bool = False) -> None:
        self.git("checkout", "-q", *(["-b"] if new else []), branch)


def make_archive_repo(root: Path) -> ArchiveRepo:
    root.mkdir(parents=True, exist_ok=True)
    repo = ArchiveRepo(root)
    repo.git("init", "-q", "-b", "main")
    repo.git("config", "commit.gpgsign", "false")
    repo.write("archive.toml", ARCHIVE_TOML)
    # example-data/ stands for object storage: images live outside Git.
    repo.write(".gitignore", "/review/\n/.cache/\n/example-data/\n")
    repo.add_study("OIA-000001")
    repo.add_study("OIA-000002", title="Mouse brain sections imaged by light sheet", image_name="brain")
    repo.commit("Publish OIA-000001 and OIA-000002")
    repo.checkout("submission", new=True)
    return repo


@pytest.fixture
def archive_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ArchiveRepo:
    """An archive on ``main`` with two published studies, checked out on branch ``submission``."""
    repo = make_archive_repo(tmp_path / "archive")
    monkeypatch.chdir(repo.root)
    for key, value in GIT_IDENTITY.items():
        monkeypatch.setenv(key, value)
    return repo
