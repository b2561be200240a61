"""bioarchive download: a real archive ingested into a store served over HTTP, a real build, a served site."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from builder.core import layout
from builder.core.settings import load_settings
from builder.curation.ingest import ingest
from builder.data.download import DownloadError, NotPublished, download_study, find_study
from tests.support.catalog import study_record
from tests.support.site import serve_folder

REPO = Path(__file__).resolve().parents[2]
ACCESSIONS = ["OIA-000002", "OIA-000005"]
EMBARGOED = "OIA-000090"


def _cli(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("BIOARCHIVE_SITE_URL", None)
    proc = subprocess.run([sys.executable, "-m", "builder.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"bioarchive {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def published(tmp_path_factory, http_server):
    """Two studies ingested into a store under the HTTP server's root (its public_url), built and served."""
    root = tmp_path_factory.mktemp("download") / "repo"
    (root / "studies").mkdir(parents=True)
    (root / "example-data").mkdir()
    store_name = f"store-{uuid.uuid4().hex[:8]}"
    store = http_server.root / store_name
    text = (REPO / "archive.toml").read_text()
    text = text.replace('url = "archive-store"', f'url = "{store}"')
    text = text.replace('\npublic_url = ""', f'\npublic_url = "{http_server.url}/{store_name}"')
    (root / "archive.toml").write_text(text)
    for acc in ACCESSIONS:
        shutil.copytree(REPO / "studies" / acc, root / "studies" / acc)
        shutil.copytree(REPO / "example-data" / acc, root / "example-data" / acc)
    if (REPO / "ontology").is_dir():
        shutil.copytree(REPO / "ontology", root / "ontology")
    secret = study_record(EMBARGOED, release_date="2099-01-01")
    secret["datasets"][0]["images"] = [{"name": "secret", "url": "OIA-000002/brain-overview.ome.zarr"}]
    (root / "studies" / EMBARGOED).mkdir()
    (root / "studies" / EMBARGOED / "study.yaml").write_text(yaml.safe_dump(secret, sort_keys=False))
    for acc in ACCESSIONS:
        _cli(root, "lock", f"studies/{acc}")
    report = ingest(root, load_settings(root), [f"studies/{acc}" for acc in ACCESSIONS])
    assert report.ok, [d.message for d in report.diagnostics]

    from builder.site.build import build

    site = root / "site"
    build(root, site_dir=site, console=None, history=False, allow_invalid=True)
    with serve_folder(site) as url:
        yield root, site, url, store


def _manifest_objects(store: Path, accession: str) -> dict[str, str]:
    """relative path in the download folder -> SHA-256, from the archive's own manifest."""
    doc = json.loads((store / layout.manifest_key(accession, 1)).read_text())
    return {f"{name}.ome.zarr/{o['key']}": o["sha256"]
            for name, image in doc["images"].items() for o in image["objects"]}


def _files(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in folder.rglob("*") if p.is_file()}


def test_the_site_publishes_a_download_manifest_from_the_archive(published):
    root, site, url, store = published
    doc = json.loads((site / "studies/OIA-000002/download.json").read_text())
    assert doc["accession"] == "OIA-000002" and doc["version"] == 1
    [image] = doc["images"]
    assert image["url"].endswith("/OIA-000002/v1/brain-overview.ome.zarr")
    lines = (site / "studies/OIA-000002/download.txt").read_text().splitlines()
    assert len(lines) == len(image["manifest"]["objects"]) == doc["object_count"]
    assert not (site / "studies" / EMBARGOED).exists()


def test_download_fetches_every_object_verified_then_a_rerun_fetches_nothing(published, tmp_path, http_server):
    root, site, url, store = published
    first = _cli(tmp_path, "download", "OIA-000002", "-o", "out", "--site", url)
    assert "every object verified" in first.stderr
    got = _files(tmp_path / "out" / "OIA-000002")
    assert got == _manifest_objects(store, "OIA-000002")
    # A rerun keeps what is complete and verified: no object is requested again.
    before = len([r for r in http_server.log if "/OIA-000002/v1/" in r.path])
    second = _cli(tmp_path, "download", "OIA-000002", "-o", "out", "--site", url)
    assert "0 object(s) downloaded" in second.stderr
    assert len([r for r in http_server.log if "/OIA-000002/v1/" in r.path]) == before


def test_a_damaged_or_partial_file_is_fetched_again_and_nothing_half_written_remains(published, tmp_path):
    root, site, url, store = published
    study = find_study("OIA-000005", url)
    report = download_study(study, tmp_path)
    assert report.fetched == sum(i.manifest.object_count for i in study.images) and report.kept == 0
    files = sorted(p for p in (tmp_path / "OIA-000005").rglob("*") if p.is_file())
    damaged, missing = files[-1], files[0]
    damaged.write_bytes(b"not the published bytes")
    missing.unlink()
    (missing.parent / (missing.name + ".partial")).write_bytes(b"half")  # a killed earlier run
    again = download_study(study, tmp_path)
    assert again.fetched == 2 and again.kept == report.fetched - 2
    assert _files(tmp_path / "OIA-000005") == _manifest_objects(store, "OIA-000005")


def test_only_the_chosen_images_and_an_unknown_image_is_named(published, tmp_path):
    root, site, url, store = published
    proc = _cli(tmp_path, "download", "OIA-000002", "--image", "nope", "--site", url, check=False)
    assert proc.returncode == 2 and "'nope'" in proc.stderr and "brain-overview" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "OIA-000002").exists()
    _cli(tmp_path, "download", "OIA-000002", "--image", "brain-overview", "--site", url)
    assert {p.split("/")[0] for p in _files(tmp_path / "OIA-000002")} == {"brain-overview.ome.zarr"}


def test_unknown_and_embargoed_accessions_are_clear_errors(published, tmp_path):
    root, site, url, store = published
    for accession in ("OIA-123456", EMBARGOED):
        proc = _cli(tmp_path, "download", accession, "--site", url, check=False)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert f"{accession} is not published" in proc.stderr and "embargo" in proc.stderr
    with pytest.raises(NotPublished):
        find_study(EMBARGOED, url)


def test_a_corrupted_object_in_the_store_is_an_error_naming_it_and_is_not_kept(published, tmp_path, http_server):
    root, site, url, store = published
    study = find_study("OIA-000002", url)
    entry = study.images[0].manifest.objects[-1]
    path = store / layout.archived_image_prefix("OIA-000002", 1, "brain-overview") / entry.key
    original = path.read_bytes()
    try:
        path.write_bytes(original[:-1] + bytes([original[-1] ^ 1]) if original else b"x")
        with pytest.raises(DownloadError, match=f"brain-overview', object {entry.key}.*SHA-256"):
            download_study(study, tmp_path)
        target = tmp_path / "OIA-000002" / "brain-overview.ome.zarr" / entry.key
        assert not target.exists() and not target.with_name(target.name + ".partial").exists()
    finally:
        path.write_bytes(original)


def test_a_network_failure_names_the_object(published, tmp_path, http_server):
    root, site, url, store = published
    study = find_study("OIA-000002", url)
    entry = study.images[0].manifest.objects[0]
    key = f"{store.name}/{layout.archived_image_prefix('OIA-000002', 1, 'brain-overview')}/{entry.key}"
    http_server.fail(key, 503)
    try:
        with pytest.raises(DownloadError, match=f"object {entry.key}.*HTTP 503.*run the command again"):
            download_study(study, tmp_path)
    finally:
        http_server.failures.clear()
    refused = _cli(tmp_path, "download", "OIA-000002", "--site", "http://127.0.0.1:9/", check=False)
    assert refused.returncode == 2 and "could not be read" in refused.stderr and "Traceback" not in refused.stderr


def test_a_hostile_manifest_cannot_write_outside_the_folder(published, tmp_path):
    from builder.data.download import parse_download_manifest

    root, site, url, store = published
    doc = json.loads((site / "studies/OIA-000002/download.json").read_text())
    doc["images"][0]["manifest"]["objects"][0]["key"] = "../../escape"
    with pytest.raises(DownloadError, match="objects\\[0\\].*not a relative object key"):
        parse_download_manifest(doc, where="download.json")


def test_the_wget_command_on_the_page_fetches_every_listed_object(published, tmp_path):
    import html
    import re
    import shlex

    root, site, url, store = published
    page = (site / "studies/OIA-000002/index.html").read_text()
    [command] = re.findall(r'<code data-tool="wget">(.*?)</code>', page, flags=re.S)
    args = shlex.split(html.unescape(command))
    # The page names the public site; here the same files are served at the test server's address.
    args[-1] = args[-1].replace(load_settings(root).site_url, url)
    proc = subprocess.run(["wget", "-q", *args[1:]], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    copy = tmp_path / store.name / "OIA-000002" / "v1"
    assert _files(copy) == _manifest_objects(store, "OIA-000002")
