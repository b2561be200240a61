"""The submitting guide end to end: new --from, convert, upload to a staging bucket (moto's S3 server), lock."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from click.testing import CliRunner

from builder.cli import main
from builder.core.settings import load_settings
from builder.records.load import SCAFFOLD_TEXTS, load_record
from tests.convert.test_prefill import FLAGS, archive, confocal_tiff


def _describe(record: Path) -> None:
    """What the depositor writes by hand: the texts no file knows."""
    text = record.read_text()
    answers = {
        "description": "Nuclei and actin of fixed mouse fibroblasts imaged on a confocal microscope.",
        "dataset_title": "Fixed mouse fibroblasts, two channels",
        "biological_entity": "mouse embryonic fibroblasts",
        "preparation_protocol": "Fixed in 4% PFA for 10 min, stained with Hoechst 33342 and phalloidin.",
        "signal_contrast": "Alexa Fluor 568 phalloidin",
    }
    for key, answer in answers.items():
        text = text.replace(SCAFFOLD_TEXTS[key], answer)
    record.write_text(text)


def test_the_guide_from_a_tiff_to_an_uploaded_locked_study(tmp_path, s3_server, monkeypatch):
    monkeypatch.setenv("BIOARCHIVE_S3_ENDPOINT_URL", s3_server.endpoint_url)
    root = archive(tmp_path)
    image = confocal_tiff(tmp_path / "cells.ome.tif")
    runner = CliRunner()
    monkeypatch.chdir(root)

    # 1. the record, prefilled from the file
    result = runner.invoke(main, ["new", *FLAGS, "--from", str(image)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    study = root / "studies/OIA-000001"
    # 2. the images, converted next to it (git-ignored)
    result = runner.invoke(main, ["convert", str(image), "-o", "studies/OIA-000001/images/"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert (study / "images/cells.ome.zarr/zarr.json").is_file()
    # 3. what only the depositor knows
    _describe(study / "study.yaml")
    # 4. upload, URLs rewritten, lock
    staging = "s3://bioarchive-test/staging"
    result = runner.invoke(main, ["upload", "studies/OIA-000001", "--to", staging], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Pinned 1 image(s)" in result.output
    text = (study / "study.yaml").read_text()
    assert "url: s3://bioarchive-test/staging/OIA-000001/cells.ome.zarr" in text
    assert "# A dataset groups images" in text  # comments kept
    checked = load_record(study / "study.yaml", load_settings(root), root=root)
    assert checked.study is not None and not [d for d in checked.diagnostics if d.severity.value == "error"]
    assert (study / "images.lock").is_file()

    local = sorted(
        p.relative_to(study / "images").as_posix()
        for p in (study / "images").rglob("*")
        if p.is_file() and p.name != ".gitignore"
    )
    listed = s3_server.client().list_objects_v2(Bucket="bioarchive-test", Prefix="staging/OIA-000001/")
    remote = sorted(o["Key"][len("staging/OIA-000001/") :] for o in listed["Contents"])
    assert remote == local

    # 5. resumable and verified: a second run sends nothing; a damaged object is sent again
    result = runner.invoke(main, ["upload", "studies/OIA-000001", "--to", staging, "--no-lock"])
    assert result.exit_code == 1 and "UPL002" in result.output  # the URLs now point at the bucket
    # point the record at the local copy again to re-run the upload
    (study / "study.yaml").write_text(text.replace("s3://bioarchive-test/staging/OIA-000001/", "images/"))
    damaged = next(k for k in remote if k.endswith("zarr.json"))
    s3_server.put(f"staging/OIA-000001/{damaged}", b"{}")
    result = runner.invoke(main, ["upload", "studies/OIA-000001", "--to", staging, "--no-lock"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "uploaded 1 object(s)" in result.output and f"{len(local) - 1} already there" in result.output
    body = s3_server.client().get_object(Bucket="bioarchive-test", Key=f"staging/OIA-000001/{damaged}")["Body"].read()
    assert body == (study / "images" / damaged).read_bytes()


def test_upload_without_converted_images_says_what_to_do(tmp_path):
    root = archive(tmp_path)
    runner = CliRunner()
    runner.invoke(
        main, ["new", "--root", str(root), *FLAGS, "--imaging-method", "FBbi:00000246"], catch_exceptions=False
    )
    result = runner.invoke(main, ["upload", str(root / "studies/OIA-000001"), "--to", "s3://b/p"])
    assert result.exit_code == 1 and "UPL002" in result.output and "bioarchive convert" in result.output


def test_multipart_etag_matches_s3(tmp_path, s3_server):
    """Objects over the part size are multipart uploads: their ETag is the MD5 of the part MD5s."""
    from builder.convert import upload

    path = tmp_path / "big.bin"
    path.write_bytes(np.random.default_rng(0).bytes(2 * upload.PART_BYTES + 1000))
    fs = upload._filesystem(s3_server.endpoint_url)
    fs.put_file(str(path), "bioarchive-test/multipart/big.bin", chunksize=upload._part_size(path.stat().st_size))
    assert upload._matches(fs, "bioarchive-test/multipart/big.bin", path, upload.expected_etag(path), refresh=True)
    assert upload.expected_etag(path).endswith("-3")
