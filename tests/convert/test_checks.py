"""Conversion and upload problems are registered checks; records are read within the archive's bounds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from builder.cli import main
from builder.convert import checks
from builder.convert.errors import ConversionError
from builder.core.checks import Check, all_checks

RECORD = """# my study, hand-written
accession: OIA-000001   # assigned by renumber
title: 'Nuclear shape'
datasets:
  - title: Fixed cells
    images:
      # the first field
      - name: cells
        url: images/cells.ome.zarr   # converted by bioarchive convert
        description: two channels
      - {name: other, url: "images/other.ome.zarr", kind: image}
      - name: remote
        url: https://example.org/remote.ome.zarr
"""


def test_conversion_and_upload_ids_are_in_the_registry_and_listed():
    ids = {c.id for c in all_checks()}
    declared = {name for name, value in vars(checks).items() if isinstance(value, Check)}
    assert {f"CNV{n:03d}" for n in range(1, 15)} | {"UPL001", "UPL002", "UPL003"} == declared <= ids
    listed = json.loads(CliRunner().invoke(main, ["checks", "--format", "json"]).output)
    areas = {c["id"]: c["area"] for c in listed}
    assert areas["CNV009"] == "conversion" and areas["UPL001"] == "upload"
    # the error's fix is the registry's, never a second copy
    error = ConversionError("CNV010", "plate/", "fields differ")
    assert error.fix == checks.CNV010.fix and "CNV010" in str(error)
    with pytest.raises(ValueError):
        ConversionError("CNV999", "x", "no such id")


def test_rewrite_keeps_the_depositors_file_byte_for_byte_apart_from_the_urls():
    from builder.convert.record_text import read_record
    from builder.convert.upload import rewrite_urls

    doc = read_record(RECORD, "study.yaml", spans=True)
    new = {"cells": "s3://staging/OIA-000001/cells.ome.zarr", "other": "s3://staging/OIA-000001/o #1.ome.zarr"}
    rewritten = rewrite_urls(RECORD, doc, new)
    expected = RECORD.replace("images/cells.ome.zarr", "s3://staging/OIA-000001/cells.ome.zarr").replace(
        '"images/other.ome.zarr"', '"s3://staging/OIA-000001/o #1.ome.zarr"'
    )
    assert rewritten == expected
    reread = read_record(rewritten, "study.yaml").data
    assert [i["url"] for i in reread["datasets"][0]["images"]] == [
        new["cells"],
        new["other"],
        "https://example.org/remote.ome.zarr",
    ]


def _study(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "studies" / "OIA-000001"
    (folder / "images" / "cells.ome.zarr").mkdir(parents=True)
    (folder / "images" / "cells.ome.zarr" / "zarr.json").write_text("{}")
    (folder / "study.yaml").write_text(text)
    return folder


@pytest.mark.parametrize(
    ("text", "reader_check"),
    [
        (RECORD.replace("title: 'Nuclear shape'", "title: &t 'Nuclear shape'\nalso: *t"), "REC0"),
        (RECORD.replace("title: 'Nuclear shape'", "version: 123456789012345678901234567890"), "REC012"),
        ("- just\n- a list\n", None),
    ],
)
def test_upload_refuses_a_record_the_reader_refuses(tmp_path, text, reader_check):
    folder = _study(tmp_path, text)
    result = CliRunner().invoke(main, ["upload", str(folder), "--to", "s3://bucket/staging", "--no-lock"])
    assert result.exit_code == 1 and "CNV013" in result.output and "Traceback" not in result.output
    assert "study.yaml" in result.output
    if reader_check:
        assert reader_check in result.output
    assert (folder / "study.yaml").read_text() == text  # untouched


def test_upload_refuses_an_accession_that_is_not_one_key(tmp_path):
    folder = _study(tmp_path, RECORD.replace("OIA-000001 ", "../../other "))
    result = CliRunner().invoke(main, ["upload", str(folder), "--to", "s3://bucket/staging", "--no-lock"])
    assert result.exit_code == 1 and "CNV013" in result.output and "../../other" in result.output


def test_prefill_reads_the_scaffold_within_the_bounds(tmp_path):
    from builder.convert.prefill import prefill_record
    from builder.core.settings import ArchiveSettings

    with pytest.raises(ConversionError) as info:
        prefill_record("accession: OIA-000001\nversion: 99999999999999999999999\ndatasets: []\n", [], ArchiveSettings(),
                       method_given=False, folder=tmp_path)
    assert info.value.code == "CNV013" and "REC012" in info.value.message
    with pytest.raises(ConversionError) as info:
        prefill_record("accession: OIA-000001\ndatasets: []\n", [], ArchiveSettings(), method_given=False)
    assert info.value.code == "CNV013" and "datasets" in info.value.message


def test_upload_to_a_store_that_refuses_is_upl003(tmp_path, s3_server):
    folder = _study(tmp_path, RECORD)
    runner = CliRunner()
    result = runner.invoke(main, ["upload", str(folder), "--to", "https://example.org/x", "--no-lock"])
    assert result.exit_code == 1 and "UPL003" in result.output and "s3://bucket/prefix" in result.output
    result = runner.invoke(
        main,
        ["upload", str(folder), "--to", "s3://no-such-bucket/staging", "--endpoint-url", s3_server.endpoint_url,
         "--no-lock"],
    )
    assert result.exit_code == 1 and "UPL003" in result.output and "no-such-bucket" in result.output
    assert "Traceback" not in result.output
    assert "images/cells.ome.zarr" in (folder / "study.yaml").read_text()  # URLs rewritten only after success


def test_an_object_that_differs_after_upload_is_upl001(tmp_path, s3_server):
    from builder.convert import upload

    local = tmp_path / "chunk"
    local.write_bytes(np.arange(1000, dtype=np.uint16).tobytes())
    s3_server.put("staging/chunk", b"something else")  # what the store holds after a botched PUT
    fs = upload._filesystem(s3_server.endpoint_url)
    with pytest.raises(ConversionError) as info:
        upload.verify_uploaded(fs, "bioarchive-test/staging/chunk", local, upload.expected_etag(local))
    assert info.value.code == "UPL001" and "staging/chunk" in info.value.file
    s3_server.put("staging/chunk", local.read_bytes())
    upload.verify_uploaded(fs, "bioarchive-test/staging/chunk", local, upload.expected_etag(local))


def test_an_output_the_validator_rejects_never_gets_its_name_cnv007(tmp_path):
    """The last guard before the rename: the archive's own inspector must accept what was written."""
    from builder.convert.run import _validate
    from builder.core.settings import ArchiveSettings
    from builder.testing.ngff_writer import write_image

    written = write_image(tmp_path / "work.ome.zarr", np.zeros((1, 64, 64), np.uint16), axes="cyx", levels=1)
    meta = json.loads((written / "zarr.json").read_text())
    meta["attributes"]["ome"]["multiscales"][0]["axes"][1]["type"] = "time"  # y declared as time: not NGFF
    (written / "zarr.json").write_text(json.dumps(meta))
    with pytest.raises(ConversionError) as info:
        _validate([written], [tmp_path / "final.ome.zarr"], ArchiveSettings(), tmp_path)
    assert info.value.code == "CNV007" and "final.ome.zarr" in info.value.file and "IMG" in info.value.message
