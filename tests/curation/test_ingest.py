"""bioarchive ingest: custody of the example studies in a local folder and in moto's S3, from real sources."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from builder.core import layout
from builder.core.settings import load_settings
from builder.curation.ingest import ingest
from builder.data import archive
from builder.data.storage import LocalArchiveStore, S3ArchiveStore

# Image workers fork from a server process started once per test process; it must already hold
# the S3 test credentials (tests/support/stores.py sets them only when the S3 server starts).
for _name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
    os.environ.setdefault(_name, "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

REPO = Path(__file__).resolve().parents[2]
BIOARCHIVE = [sys.executable, "-m", "builder.cli"]


def make_archive(tmp_path: Path, accessions: list[str], store_url: str = "archive-store") -> Path:
    """A copy of the example archive holding only ``accessions``, with its own store."""
    root = tmp_path / "repo"
    (root / "studies").mkdir(parents=True)
    (root / "example-data").mkdir()
    text = (REPO / "archive.toml").read_text()
    text = text.replace('url = "archive-store"', f'url = "{store_url}"')
    (root / "archive.toml").write_text(text)
    for acc in accessions:
        shutil.copytree(REPO / "studies" / acc, root / "studies" / acc)
        shutil.copytree(REPO / "example-data" / acc, root / "example-data" / acc)
    if (REPO / "ontology").is_dir():
        shutil.copytree(REPO / "ontology", root / "ontology")
    return root


def run_cli(root: Path, *args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = str(REPO)
    proc = subprocess.run([*BIOARCHIVE, *args], cwd=root, env=full_env, capture_output=True, text=True,
                          timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"bioarchive {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def lock(root: Path, accession: str, env: dict | None = None) -> None:
    run_cli(root, "lock", f"studies/{accession}", env=env)


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def stored_objects(folder: Path) -> int:
    """Objects in a local store folder (a put in progress is a hidden .partial file, no object)."""
    return sum(1 for p in folder.rglob("*") if p.is_file() and not p.name.endswith(".partial"))


def source_folder(root: Path, accession: str) -> Path:
    return next((root / "example-data" / accession).glob("*.ome.zarr"))


@pytest.fixture
def brain(tmp_path):
    root = make_archive(tmp_path, ["OIA-000002"])
    lock(root, "OIA-000002")
    return root


def test_ingest_copies_every_object_verified_and_writes_the_manifest_last(brain):
    settings = load_settings(brain)
    report = ingest(brain, settings, ["studies/OIA-000002"])
    assert report.ok, [d.message for d in report.diagnostics]
    store_root = brain / "archive-store"
    copy = store_root / layout.archived_image_prefix("OIA-000002", 1, "brain-overview")
    assert files_of(copy) == files_of(source_folder(brain, "OIA-000002"))
    [image] = report.images
    assert image.status == "archived" and image.bytes_copied == sum(map(len, files_of(copy).values()))
    store = LocalArchiveStore(store_root)
    manifest = archive.read_version_manifest(store, "OIA-000002", 1)
    entry = manifest.images["brain-overview"]
    assert entry.tree_checksum == image.tree_checksum
    for obj in entry.objects:
        assert hashlib.sha256((copy / obj.key).read_bytes()).hexdigest() == obj.sha256
    # The manifest is the last object written: every other object is older.
    manifest_path = store_root / layout.manifest_key("OIA-000002", 1)
    newest_other = max(p.stat().st_mtime_ns for p in store_root.rglob("*") if p.is_file() and p != manifest_path)
    assert manifest_path.stat().st_mtime_ns >= newest_other
    # Facts and thumbnails were derived once, from the copy, keyed by the content checksum.
    facts = archive.load_derived(store, entry.tree_checksum, brain / "thumbs")
    assert facts is not None and facts.thumbnails and all((brain / "thumbs" / f).is_file()
                                                          for f in facts.thumbnails.values())


def test_a_second_ingest_transfers_no_object_bytes(brain):
    settings = load_settings(brain)
    first = ingest(brain, settings)
    assert first.ok and first.bytes_copied > 0
    before = files_of(brain / "archive-store")
    second = ingest(brain, settings)
    assert second.ok and second.bytes_copied == 0
    assert [i.status for i in second.images] == ["already archived"]
    assert files_of(brain / "archive-store") == before
    proc = run_cli(brain, "ingest", "--quiet")
    assert "0 B of object bytes transferred" in proc.stderr and "already archived" in proc.stderr


def test_a_source_changed_after_locking_is_caught_and_nothing_is_marked_archived(brain):
    chunk = next(p for p in sorted(source_folder(brain, "OIA-000002").rglob("*")) if p.is_file()
                 and p.name[0].isdigit())
    data = bytearray(chunk.read_bytes())
    data[len(data) // 2] ^= 0xFF
    chunk.write_bytes(bytes(data))
    report = ingest(brain, load_settings(brain))
    [problem] = [d for d in report.diagnostics if d.severity.value == "error"]
    assert problem.check == "ARC001"
    assert "OIA-000002" in problem.message and "brain-overview" in problem.message
    assert problem.file == "studies/OIA-000002/images.lock"
    assert not (brain / "archive-store" / layout.manifest_key("OIA-000002", 1)).exists()


def test_an_archived_version_is_never_overwritten(brain):
    settings = load_settings(brain)
    assert ingest(brain, settings).ok
    before = files_of(brain / "archive-store")
    # The depositor changes a chunk and re-locks without raising the version.
    chunk = sorted(p for p in source_folder(brain, "OIA-000002").rglob("*") if p.is_file()
                   and p.name[0].isdigit())[-1]
    chunk.write_bytes(chunk.read_bytes()[::-1])
    lock(brain, "OIA-000002")
    report = ingest(brain, settings)
    [problem] = report.diagnostics
    assert problem.check == "ARC002"
    rel = chunk.relative_to(source_folder(brain, "OIA-000002")).as_posix()
    assert "OIA-000002 v1" in problem.message and "brain-overview" in problem.message and rel in problem.message
    assert problem.extra["object"] == rel
    assert files_of(brain / "archive-store") == before
    proc = run_cli(brain, "ingest", env={}, check=False)
    assert proc.returncode == 1 and "ARC002" in proc.stderr and "Traceback" not in proc.stderr


def test_limits_apply_before_any_byte_is_copied(brain):
    settings = load_settings(brain)
    settings = settings.model_copy(update={"store": settings.store.model_copy(update={"max_object_bytes": 1000})})
    report = ingest(brain, settings)
    [problem] = report.diagnostics
    assert problem.check == "ARC005" and "max_object_bytes" in problem.message and problem.extra.get("object")
    assert not any(p.is_file() for p in (brain / "archive-store").rglob("*"))


def test_embargoed_studies_stay_with_the_depositor(tmp_path):
    root = make_archive(tmp_path, ["OIA-000006"])  # released 2027-06-01
    lock(root, "OIA-000006")
    report = ingest(root, load_settings(root))
    assert report.ok and report.images == []
    assert not any(p.is_file() for p in (root / "archive-store").rglob("*"))


def test_an_unlocked_study_is_not_ingested(tmp_path):
    root = make_archive(tmp_path, ["OIA-000002"])
    (root / "studies/OIA-000002/images.lock").unlink()
    report = ingest(root, load_settings(root))
    [problem] = report.diagnostics
    assert problem.check == "ARC004" and "no images.lock" in problem.message


def test_ingest_from_s3_into_s3_and_build_facts_from_there(tmp_path, s3_server):
    root = make_archive(tmp_path, ["OIA-000005"], store_url=f"s3://{s3_server.make_bucket('archive-s3')}/store")
    src = source_folder(root, "OIA-000005")
    url = s3_server.upload(src, "deposits/mouse-ct.ome.zarr")
    record = root / "studies/OIA-000005/study.yaml"
    record.write_text(record.read_text().replace("url: OIA-000005/mouse-ct.ome.zarr", f"url: {url}"))
    env = {"BIOARCHIVE_S3_ENDPOINT_URL": s3_server.endpoint_url}
    lock(root, "OIA-000005", env=env)
    os.environ["BIOARCHIVE_S3_ENDPOINT_URL"] = s3_server.endpoint_url
    try:
        settings = load_settings(root)
        report = ingest(root, settings)
        assert report.ok, [d.message for d in report.diagnostics]
        assert [i.status for i in report.images] == ["archived"]
        store = S3ArchiveStore("s3://archive-s3/store", endpoint_url=s3_server.endpoint_url)
        prefix = layout.archived_image_prefix("OIA-000005", 1, "mouse-whole-body")
        copied = {o.key[len(prefix) + 1:]: o for o in store.iter_objects(prefix)}
        assert set(copied) == set(files_of(src))
        # S3 keeps the SHA-256 of every object we put: fixity can use it without reading.
        manifest = archive.read_version_manifest(store, "OIA-000005", 1)
        some = manifest.images["mouse-whole-body"].objects[0]
        assert store.stat(f"{prefix}/{some.key}").sha256 == some.sha256
        assert ingest(root, settings).bytes_copied == 0
    finally:
        del os.environ["BIOARCHIVE_S3_ENDPOINT_URL"]


def test_transient_source_failures_are_retried(tmp_path, http):
    root = make_archive(tmp_path, ["OIA-000005"])
    src = source_folder(root, "OIA-000005")
    # The storage root is an HTTP server: the record's relative URL is read over HTTP (no listing).
    served = http.root / f"deposit-{tmp_path.name}" / "OIA-000005" / src.name
    shutil.copytree(src, served)
    toml = root / "archive.toml"
    toml.write_text(toml.read_text().replace('storage_root = "example-data"',
                                             f'storage_root = "{http.url_for(served.parent.parent)}"'))
    lock(root, "OIA-000005")
    rel = served.relative_to(http.root).as_posix()
    http.fail(rel + "/0/0", 503)  # the chunks of the first pyramid level answer 503 for a while

    def end_outage() -> None:  # the outage ends a moment after the first refused request
        deadline = time.monotonic() + 60
        while not any(r.status == 503 for r in list(http.log)) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)
        http.failures.pop(rel + "/0/0", None)

    threading.Thread(target=end_outage, daemon=True).start()
    settings = load_settings(root)
    settings = settings.model_copy(update={"store": settings.store.model_copy(update={"retries": 10})})
    report = ingest(root, settings)
    assert report.ok, [d.message for d in report.diagnostics]
    assert [i.status for i in report.images] == ["archived"]
    assert any(r.status == 503 for r in http.log)
    copy = root / "archive-store" / layout.archived_image_prefix("OIA-000005", 1, "mouse-whole-body")
    assert files_of(copy) == files_of(src)


@pytest.mark.slow
def test_an_ingest_killed_at_any_moment_resumes_and_never_looks_complete(tmp_path, s3_server):
    """SIGKILL the ingest process at several points; a rerun finishes and the copy is exact."""
    root = make_archive(tmp_path, ["OIA-000001"])  # a plate of 518 objects
    src = source_folder(root, "OIA-000001")
    url = s3_server.upload(src, f"deposits/{tmp_path.name}/plate1.ome.zarr")
    record = root / "studies/OIA-000001/study.yaml"
    record.write_text(record.read_text().replace("url: OIA-000001/plate1.ome.zarr", f"url: {url}"))
    env = {**os.environ, "BIOARCHIVE_S3_ENDPOINT_URL": s3_server.endpoint_url, "PYTHONPATH": str(REPO)}
    lock(root, "OIA-000001", env=env)
    store_root = root / "archive-store"
    prefix = store_root / layout.archived_image_prefix("OIA-000001", 1, "plate1")
    manifest = store_root / layout.manifest_key("OIA-000001", 1)
    seen_counts = []
    for at_objects in (5, 60, 200, 400):
        proc = subprocess.Popen([*BIOARCHIVE, "ingest", "--quiet", "--transfers", "4"], cwd=root, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            count = stored_objects(prefix)
            if count >= at_objects:
                break
            time.sleep(0.01)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        if manifest.exists():
            break  # this run finished before the kill point
        seen_counts.append(stored_objects(prefix))
        # A reader never sees the half-copied version as archived.
        assert archive.read_version_manifest(LocalArchiveStore(store_root), "OIA-000001", 1) is None
    assert seen_counts and seen_counts == sorted(seen_counts)
    report = ingest(root, load_settings(root).model_copy(update={"s3_endpoint_url": s3_server.endpoint_url}))
    assert report.ok, [d.message for d in report.diagnostics]
    [image] = report.images
    assert image.objects_verified >= seen_counts[-1] - 4  # what the killed runs stored is kept, not re-copied
    assert files_of(prefix) == files_of(src)
    listed = [o.key for o in LocalArchiveStore(store_root).iter_objects("")]
    assert not [k for k in listed if k.endswith(".partial")]  # a killed put's temporary file is no object
    assert json.loads(manifest.read_bytes())["accession"] == "OIA-000001"


def test_a_manifest_the_builder_did_not_write_is_reported_not_trusted(brain):
    manifest = brain / "archive-store" / layout.manifest_key("OIA-000002", 1)
    manifest.parent.mkdir(parents=True)
    manifest.write_bytes(b'{"accession": "OIA-000002", "images": "everything is fine"}')
    report = ingest(brain, load_settings(brain))
    [problem] = report.diagnostics
    assert problem.check == "ARC006" and "OIA-000002/v1/manifest.json" in problem.message
    assert report.images == [] and manifest.read_bytes().startswith(b'{"accession"')
