"""The archive's layout (builder.core.layout): one image key, one place for paths and file names."""

from __future__ import annotations

import pytest

from builder.core import layout


def test_image_key_and_its_name():
    key = layout.image_key("OIA-000001", "confocal", "cell-01")
    assert key == "OIA-000001/confocal/cell-01"
    assert layout.image_key_name(key) == "cell-01"


def test_repository_paths():
    assert layout.record_path("OIA-000001") == "studies/OIA-000001/study.yaml"
    assert layout.lock_path("OIA-000001") == "studies/OIA-000001/images.lock"


def test_store_keys_and_what_they_refuse():
    assert layout.archived_image_prefix("OIA-000001", 2, "cell-01") == "OIA-000001/v2/cell-01.ome.zarr"
    assert layout.manifest_key("OIA-000001", 1) == "OIA-000001/v1/manifest.json"
    checksum = "ab" + "0" * 62
    assert layout.derived_prefix(checksum) == f"derived/ab/{checksum}"
    for bad in (lambda: layout.version_prefix("../etc", 1), lambda: layout.version_prefix("OIA-000001", 0),
                lambda: layout.archived_image_prefix("OIA-000001", 1, "../x"),
                lambda: layout.derived_prefix("not-a-checksum")):
        with pytest.raises(layout.LayoutError):
            bad()


def test_file_names_are_defined_once():
    """Every module that needs a record or lock name gets it from core.layout (the same object)."""
    from builder.curation import lock, submission
    from builder.records import load

    assert load.RECORD_NAME is layout.RECORD_NAME and submission.RECORD_NAME is layout.RECORD_NAME
    assert lock.LOCK_NAME is layout.LOCK_NAME and submission.STUDIES_DIR is layout.STUDIES_DIR
