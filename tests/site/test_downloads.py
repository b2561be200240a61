"""Download manifests and the page's copy-paste commands, run as shown against moto serving an archive store."""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from builder.core import layout
from tests.support.custody import ingested_s3_archive

# Image workers fork from a server process started once per test process: it must hold the credentials.
for _name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
    os.environ.setdefault(_name, "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

REPO = Path(__file__).resolve().parents[2]
ACCESSION = "OIA-000002"
PAGE_BUDGET = 60 * 1024
S5CMD = REPO / ".venv" / "bin" / "s5cmd"


def _cli(cwd: Path, *args: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "builder.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def s3_archive(tmp_path_factory, s3_server):
    """OIA-000002 ingested into moto's S3 (public bucket), the site built from it."""
    root = tmp_path_factory.mktemp("s3-downloads") / "repo"
    bucket = ingested_s3_archive(root, s3_server, ACCESSION)

    from builder.site.build import build

    site = root / "site"
    build(root, site_dir=site, console=None, history=False, allow_invalid=True)
    manifest = json.loads(s3_server.client().get_object(
        Bucket=bucket, Key=f"store/{layout.manifest_key(ACCESSION, 1)}")["Body"].read())
    return root, site, bucket, manifest


def _snippets(page: str) -> dict[str, str]:
    found = re.findall(r'<code data-tool="([a-z0-9-]+)">(.*?)</code>', page, flags=re.S)
    return {tool: html.unescape(text) for tool, text in found}


def _expected(manifest: dict) -> dict[str, str]:
    """Files a copy of the version's prefix holds: each image's objects, and the manifest itself."""
    return {f"{name}.ome.zarr/{o['key']}": o["sha256"]
            for name, image in manifest["images"].items() for o in image["objects"]}


def _files(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in folder.rglob("*") if p.is_file()}


def test_the_download_manifest_lists_every_archived_object_with_size_and_checksum(s3_archive):
    root, site, bucket, manifest = s3_archive
    doc = json.loads((site / f"studies/{ACCESSION}/download.json").read_text())
    assert {i["name"]: i["manifest"] for i in doc["images"]} == manifest["images"]
    assert doc["total_bytes"] == sum(i["total_bytes"] for i in manifest["images"].values())
    urls = (site / f"studies/{ACCESSION}/download.txt").read_text().split()
    assert len(urls) == doc["object_count"] and all(u.startswith(doc["images"][0]["url"] + "/") for u in urls)


def test_the_s5cmd_command_on_the_page_copies_the_study_verified(s3_archive, tmp_path):
    root, site, bucket, manifest = s3_archive
    page = (site / f"studies/{ACCESSION}/index.html").read_text()
    assert len(page.encode()) < PAGE_BUDGET
    command = shlex.split(_snippets(page)["s5cmd"])
    assert command[0] == "s5cmd"
    proc = subprocess.run([str(S5CMD), *command[1:]], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")})
    assert proc.returncode == 0, proc.stderr
    got = _files(tmp_path / ACCESSION)
    got.pop(layout.MANIFEST_NAME)
    assert got == _expected(manifest)


def test_the_aws_cli_command_on_the_page_copies_the_study(s3_archive, tmp_path):
    root, site, bucket, manifest = s3_archive
    if shutil.which("aws") is None:
        pytest.fail("aws-cli is not installed: pip install awscli (the page's aws command is tested with it)")
    command = shlex.split(_snippets((site / f"studies/{ACCESSION}/index.html").read_text())["aws-cli"])
    proc = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = _files(tmp_path / ACCESSION)
    got.pop(layout.MANIFEST_NAME)
    assert got == _expected(manifest)


def test_the_rclone_command_on_the_page_copies_the_study(s3_archive, tmp_path):
    root, site, bucket, manifest = s3_archive
    if shutil.which("rclone") is None:
        pytest.fail("rclone is not installed: apt-get install rclone (.ci/run installs it)")
    command = shlex.split(_snippets((site / f"studies/{ACCESSION}/index.html").read_text())["rclone"])
    assert command[0] == "rclone"
    # No credentials and no rclone config of the machine: the command must work for a stranger.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RCLONE_"))}
    env |= {"HOME": str(tmp_path), "RCLONE_CONFIG": str(tmp_path / "no-rclone.conf")}
    proc = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    got = _files(tmp_path / ACCESSION)
    got.pop(layout.MANIFEST_NAME)
    assert got == _expected(manifest)


def test_the_python_snippets_on_the_page_read_the_archived_copy(s3_archive, tmp_path):
    root, site, bucket, manifest = s3_archive
    snippets = _snippets((site / f"studies/{ACCESSION}/index.html").read_text())
    [image] = manifest["images"].values()
    shapes = []
    for tool in ("zarr", "ome-zarr"):
        proc = subprocess.run([sys.executable, "-c", snippets[tool]], cwd=tmp_path, capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 0, f"{tool} snippet failed:\n{proc.stderr}"
        shapes.append(proc.stdout)
    # Both readers see the same full-resolution shape.
    first_shape = re.search(r"^0 (\([0-9, ]+\))", shapes[0], flags=re.M)
    assert first_shape and first_shape.group(1) in shapes[1], shapes


NAPARI_READ = """
import json, sys
import napari
import npe2
from napari.components import ViewerModel

assert callable(napari.Viewer) and callable(napari.run)  # the two calls the snippet makes around open()
npe2.PluginManager.instance().discover()  # what napari.Viewer() does on start
viewer = ViewerModel()
viewer.open(sys.argv[1], plugin=sys.argv[2])
print(json.dumps([[type(layer).__name__, list((layer.data[0] if layer.multiscale else layer.data).shape)]
                  for layer in viewer.layers]))
"""


def test_the_napari_snippet_opens_the_archived_copy_with_napari_ome_zarr(s3_archive, tmp_path):
    """The snippet's open call runs in napari's own viewer model with the napari-ome-zarr reader; only the
    window (napari.Viewer's Qt canvas, which needs OpenGL) is not opened here."""
    root, site, bucket, manifest = s3_archive
    snippet = _snippets((site / f"studies/{ACCESSION}/index.html").read_text())["napari"]
    match = re.search(r'^viewer = napari\.Viewer\(\)\nviewer\.open\(("[^"]+"), plugin="([^"]+)"\)\nnapari\.run\(\)$',
                      snippet, flags=re.M)
    assert match, snippet
    url, plugin = json.loads(match.group(1)), match.group(2)
    assert url.startswith("http://127.0.0.1:") and plugin == "napari-ome-zarr"
    proc = subprocess.run([sys.executable, "-c", NAPARI_READ, url, plugin], cwd=tmp_path, capture_output=True,
                          text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    layers = json.loads(proc.stdout.strip().splitlines()[-1])
    # OIA-000002's overview: one image layer per channel, each the full-resolution z, y, x
    assert layers == [["Image", [48, 176, 224]], ["Image", [48, 176, 224]]]


def test_a_site_without_a_public_archive_store_shows_no_download_commands(built_site):
    for accession in built_site.published:
        assert not (built_site.site / "studies" / accession / "download.json").exists()
        assert 'data-tool="s5cmd"' not in built_site.page(f"studies/{accession}/")
