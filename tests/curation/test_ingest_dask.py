"""bioarchive ingest on a Dask cluster: one task per study, the same copies as on this machine."""

from __future__ import annotations

import pickle
import socket

import pytest

from builder.core import layout
from builder.core.settings import load_settings
from builder.curation.ingest import ingest
from builder.data import archive
from builder.data.storage import LocalArchiveStore
from tests.curation.test_ingest import files_of, lock, make_archive, run_cli, source_folder

distributed = pytest.importorskip("distributed")


def test_ingest_on_a_local_cluster_archives_every_study_as_a_local_run_does(tmp_path):
    studies = {"OIA-000002": "brain-overview", "OIA-000005": "mouse-whole-body"}
    root = make_archive(tmp_path, list(studies))
    for accession in studies:
        lock(root, accession)
    settings = load_settings(root)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        report = ingest(root, settings, scheduler=cluster.scheduler_address)
    assert report.ok, [d.message for d in report.diagnostics]
    assert sorted(report.studies_archived) == sorted(studies)
    assert sorted(i.status for i in report.images) == ["archived", "archived"]
    store = LocalArchiveStore(root / "archive-store")
    for accession, image in studies.items():
        copy = root / "archive-store" / layout.archived_image_prefix(accession, 1, image)
        assert files_of(copy) == files_of(source_folder(root, accession))
        entry = archive.read_version_manifest(store, accession, 1).images[image]
        assert archive.load_derived(store, entry.tree_checksum) is not None  # facts derived on the worker
    # A second run on the machine itself finds both versions archived: 0 object bytes.
    again = ingest(root, settings)
    assert again.ok and again.bytes_copied == 0


def test_a_study_task_survives_the_trip_to_a_worker_process(tmp_path):
    """Remote workers receive the task pickled: the record and the lock must travel whole."""
    from builder.curation.lock import read_lock
    from builder.records.load import load_records

    root = make_archive(tmp_path, ["OIA-000002"])
    lock(root, "OIA-000002")
    settings = load_settings(root)
    [record] = load_records(root, settings).records
    job = (root, settings, record.study, read_lock(root, "OIA-000002"), record.file, 2, False)
    root2, settings2, study2, lock2, file2, _transfers, _derive = pickle.loads(pickle.dumps(job))
    assert study2 == record.study and settings2 == settings and file2 == record.file
    assert lock2.images.keys() == read_lock(root, "OIA-000002").images.keys()


def test_an_unreachable_scheduler_is_a_clear_error_and_nothing_is_copied(tmp_path):
    root = make_archive(tmp_path, ["OIA-000002"])
    lock(root, "OIA-000002")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = run_cli(root, "ingest", "--quiet", "--scheduler", f"tcp://127.0.0.1:{port}", check=False)
    assert proc.returncode == 1, proc.stderr
    assert "ARC008" in proc.stderr and f"127.0.0.1:{port}" in proc.stderr and "Traceback" not in proc.stderr
    assert not any(p.is_file() for p in (root / "archive-store").rglob("*"))
