"""`bioarchive inspect` and `bioarchive thumbnail` on local paths, HTTP and S3 URLs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from builder.cli import main


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no archive.toml here: default settings

    def invoke(*args):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return invoke


def test_inspect_local_path_human(cli, ngff_samples):
    result = cli("inspect", str(ngff_samples["image5d-0.4"]))
    assert result.exit_code == 0, result.output
    out = result.output
    assert "kind:         image" in out and "NGFF version: 0.4" in out
    assert "axes:         tczyx  shape [2, 2, 3, 64, 64]  dtype uint16" in out
    assert "level 2 '2': shape [2, 2, 3, 16, 16]" in out
    assert "pixel size:   z 1 micrometer" in out and "channel 1:" in out
    assert "fingerprint:  sha256:" in out and "problems:     none" in out


def test_inspect_http_plate_json(cli, http, ngff_samples):
    result = cli("inspect", http.url_for(ngff_samples["plate-0.5"]), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["facts"]["kind"] == "plate" and data["facts"]["plate"]["wells"] == 3
    assert data["diagnostics"] == [] and data["requests"] == http.requests


def test_inspect_s3_labels(cli, s3_server, ngff_samples, monkeypatch):
    monkeypatch.setenv("BIOARCHIVE_S3_ENDPOINT_URL", s3_server.endpoint_url)
    url = s3_server.upload(ngff_samples["image4d-0.5"], "cli/image4d.zarr")
    result = cli("inspect", url, "--format", "json")
    assert result.exit_code == 0, result.output
    facts = json.loads(result.output)["facts"]
    assert facts["labels"] == ["cells"] and facts["url"] == url and facts["size_bytes"] > 0
    result = cli("inspect", url + "/labels/cells")
    assert "kind:         labels" in result.output


def test_inspect_reports_problems_and_fails(cli, http):
    url = f"{http.url}/no/such.zarr"
    result = cli("inspect", url)
    assert result.exit_code == 1
    assert "error NET002" in result.output and url in result.output and "fix:" in result.output


@pytest.mark.parametrize("name, size", [("thumb.png", 100), ("thumb.webp", 64)])
def test_thumbnail_writes_the_file(cli, ngff_samples, tmp_path, name, size):
    out = tmp_path / name
    result = cli("thumbnail", str(ngff_samples["image3d-0.5"]), "-o", str(out), "--size", str(size))
    assert result.exit_code == 0, result.output
    with Image.open(out) as im:
        assert im.size == (size, size) and im.format == name.split(".")[1].upper()
    assert "Image image3d-0.5" in result.output


def test_thumbnail_with_label_outlines_and_of_a_plate(cli, ngff_samples, tmp_path):
    result = cli("thumbnail", str(ngff_samples["image4d-0.4"]), "-o", str(tmp_path / "l.png"), "--labels")
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "l.png") as im:
        pixels = np.asarray(im.convert("RGB"))
    assert (pixels == [255, 255, 0]).all(axis=-1).any()  # the outline colour
    result = cli("thumbnail", str(ngff_samples["plate-0.4"]), "-o", str(tmp_path / "p.png"))
    assert result.exit_code == 0 and "Montage of HCS plate" in result.output
    result = cli("thumbnail", str(ngff_samples["image2d-0.4"]), "-o", str(tmp_path / "x.png"), "--labels")
    assert result.exit_code == 1 and "no label image" in result.output


def test_thumbnail_refuses_unknown_formats(cli, ngff_samples, tmp_path):
    result = CliRunner().invoke(main, ["thumbnail", str(ngff_samples["image2d-0.5"]), "-o", str(tmp_path / "a.jpg")])
    assert result.exit_code == 2 and ".png or .webp" in result.output
