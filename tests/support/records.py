"""A minimal valid study record, for any test that needs one.

Plain functions (usable anywhere) and fixtures (registered by conftest)::

    record = make_record(title="Another title", keywords=["x"])
    path = write_record(tmp_path, record)       # tmp_path/studies/OIA-000001/study.yaml

Overrides replace top-level fields; pass ``DROP`` to remove a field.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

DROP = object()

ARCHIVE_TOML = """\
[archive]
accession_prefix = "OIA-"
accession_digits = 6
licences = ["CC0-1.0", "CC-BY-4.0"]
storage_root = "example-data"
"""

_BASE: dict[str, Any] = {
    "schema_version": 2,
    "accession": "OIA-000001",
    "title": "Nuclear shape of mouse fibroblasts",
    "description": "Widefield fluorescence images of mouse embryonic fibroblasts stained for DNA.",
    "authors": [{"name": "Ada Lovelace", "email": "ada@example.org", "contact": True}],
    "licence": "CC-BY-4.0",
    "release_date": "2024-01-15",
    "data_type": "reference images",
    "biological_scale": ["cell"],
    "datasets": [
        {
            "name": "fibroblasts",
            "title": "Fixed fibroblasts",
            "biosample": {
                "organisms": [{"id": "NCBITaxon:10090", "label": "Mus musculus"}],
                "biological_entity": "embryonic fibroblasts",
            },
            "specimen": {"preparation_protocol": "Fixed in 4% PFA, stained with Hoechst 33342."},
            "acquisition": {
                "imaging_method": [{"id": "FBbi:00000246", "label": "fluorescence microscopy"}],
                "instrument": "Nikon Ti2 widefield microscope",
            },
            "images": [{"name": "cells1", "url": "fibroblasts/cells1.ome.zarr"}],
        }
    ],
}


def make_record(**overrides: Any) -> dict[str, Any]:
    """A fresh valid record (schema_version 2) with top-level fields replaced."""
    record = copy.deepcopy(_BASE)
    for key, value in overrides.items():
        if value is DROP:
            record.pop(key, None)
        else:
            record[key] = value
    return record


def record_yaml(record: dict[str, Any]) -> str:
    return yaml.safe_dump(record, sort_keys=False, allow_unicode=True)


def write_record(root: Path, record: dict[str, Any] | str, accession: str | None = None) -> Path:
    """Write root/studies/<accession>/study.yaml (and a default archive.toml if absent)."""
    root = Path(root)
    if not (root / "archive.toml").exists():
        root.mkdir(parents=True, exist_ok=True)
        (root / "archive.toml").write_text(ARCHIVE_TOML)
    if accession is None:
        accession = record["accession"] if isinstance(record, dict) else "OIA-000001"
    path = root / "studies" / str(accession) / "study.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(record if isinstance(record, str) else record_yaml(record), encoding="utf-8")
    return path


@pytest.fixture
def study_record() -> dict[str, Any]:
    """A valid record as a dict; change it freely."""
    return make_record()


@pytest.fixture
def record_archive(tmp_path: Path) -> Path:
    """An archive root with archive.toml and one valid study, OIA-000001."""
    write_record(tmp_path, make_record())
    return tmp_path
