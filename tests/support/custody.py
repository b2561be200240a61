"""An example study locked and ingested into an archive store on moto's S3 server (shared by site tests)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

from builder.core.settings import load_settings
from builder.curation.ingest import ingest

REPO = Path(__file__).resolve().parents[2]


def ingested_s3_archive(root: Path, s3_server, accession: str, bucket_prefix: str = "archive") -> str:
    """A repository at ``root`` holding one example study, its store on a fresh public moto bucket.

    The study is locked with the real CLI and ingested; returns the bucket name.
    """
    bucket = s3_server.make_bucket(f"{bucket_prefix}-{uuid.uuid4().hex[:8]}")
    (root / "studies").mkdir(parents=True)
    (root / "example-data").mkdir()
    text = (REPO / "archive.toml").read_text()
    text = text.replace('url = "archive-store"', f'url = "s3://{bucket}/store"')
    text = text.replace('\npublic_url = ""', f'\npublic_url = "{s3_server.endpoint_url}/{bucket}/store"\n'
                                           f'endpoint_url = "{s3_server.endpoint_url}"')
    (root / "archive.toml").write_text(text)
    shutil.copytree(REPO / "studies" / accession, root / "studies" / accession)
    shutil.copytree(REPO / "example-data" / accession, root / "example-data" / accession)
    if (REPO / "ontology").is_dir():
        shutil.copytree(REPO / "ontology", root / "ontology")
    proc = subprocess.run([sys.executable, "-m", "builder.cli", "lock", f"studies/{accession}"], cwd=root,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = ingest(root, load_settings(root), [f"studies/{accession}"])
    assert report.ok, [d.message for d in report.diagnostics]
    return bucket
