"""Custody throughput: `bioarchive ingest` against `s5cmd cp` on the same >= 1 GB OME-Zarr, side by side.

    .venv/bin/python benchmarks/ingest.py [--gib 1.0] [--chunk-mib 1] [--transfers 16]

Writes an NGFF 0.5 image of random (incompressible) uint16 pixels in many
chunks, starts moto's S3 server in a process of its own (so neither tool
shares an interpreter with it), and times, in one run:

- local folder -> S3: our ingest (listing, copy, SHA-256 + MD5 of every
  object, the tree checksum compared with the lock, manifest) and s5cmd cp;
- S3 -> S3: the same, from a bucket holding the deposit;
- a second ingest of the same study: object bytes transferred and time.

Deriving facts and thumbnails is timed on its own (it is not a copy).
Prints a Markdown table for benchmarks/README.md, and the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

S5CMD = Path(sys.executable).parent / "s5cmd"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc, endpoint
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("moto server did not start")


def write_image(path: Path, gib: float, chunk_mib: float) -> tuple[int, int]:
    """An NGFF 0.5 image (z, y, x) of random uint16, one level, chunks of ``chunk_mib``."""
    from builder.testing.ngff_writer import write_image as write_ngff

    plane_y, plane_x = 2048, 4096
    planes = max(1, int(gib * 1024**3 // (plane_y * plane_x * 2)))
    rng = np.random.default_rng(11)
    data = rng.integers(0, 65535, (planes, plane_y, plane_x), dtype=np.uint16)
    chunk_rows = max(1, int(chunk_mib * 1024**2 // (plane_x * 2)))
    write_ngff(path, data, axes="zyx", version="0.5", levels=1, chunks=(1, chunk_rows, plane_x))
    files = [p for p in path.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def make_repo(base: Path, image_url: str, store_url: str) -> Path:
    root = base / "repo"
    (root / "studies").mkdir(parents=True, exist_ok=True)
    text = (REPO / "archive.toml").read_text().replace('url = "archive-store"', f'url = "{store_url}"')
    (root / "archive.toml").write_text(text)
    study = root / "studies/OIA-000005"
    if study.exists():
        shutil.rmtree(study)
    shutil.copytree(REPO / "studies/OIA-000005", study)
    record = study / "study.yaml"
    record.write_text(record.read_text().replace("url: OIA-000005/mouse-ct.ome.zarr", f"url: {image_url}"))
    (study / "images.lock").unlink(missing_ok=True)
    return root


def bioarchive(root: Path, *args: str, env: dict) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "builder.cli", *args], cwd=root, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def s5cmd(source: str, target: str, env: dict, workers: int) -> float:
    started = time.perf_counter()
    subprocess.run([str(S5CMD), "--endpoint-url", env["S3_ENDPOINT_URL"], "--numworkers", str(workers),
                    "cp", source, target], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def our_ingest(root: Path, env: dict, transfers: int) -> tuple[float, int]:
    """Time one ingest in-process (no thumbnails), returning (seconds, object bytes transferred)."""
    from builder.core.settings import load_settings
    from builder.curation.ingest import ingest

    os.environ.update(env)
    settings = load_settings(root)
    started = time.perf_counter()
    report = ingest(root, settings, transfers=transfers, derive=False)
    elapsed = time.perf_counter() - started
    if not report.ok or not report.images:
        raise SystemExit("\n".join(d.message for d in report.diagnostics) or "nothing was ingested")
    return elapsed, report.bytes_copied


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=1.0)
    parser.add_argument("--chunk-mib", type=float, default=1.0)
    parser.add_argument("--transfers", type=int, default=16)
    args = parser.parse_args()
    import boto3

    base = Path(tempfile.mkdtemp(prefix="bioarchive-bench-ingest-"))
    moto, endpoint = start_moto()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1", "S3_ENDPOINT_URL": endpoint,
           "BIOARCHIVE_S3_ENDPOINT_URL": endpoint, "PYTHONPATH": str(REPO)}
    os.environ.update({k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")})
    try:
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        for bucket in ("deposits", "ours", "theirs"):
            client.create_bucket(Bucket=bucket)
        # Depositors' buckets are public: review and ingest read them anonymously.
        client.put_bucket_policy(Bucket="deposits", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::deposits/*"},
            {"Effect": "Allow", "Principal": "*", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::deposits"},
        ]}))
        # Writing 1 GB of random pixels takes minutes on a small machine: kept between runs.
        cache = Path(tempfile.gettempdir()) / f"bioarchive-bench-image-{args.gib:g}g-{args.chunk_mib:g}m"
        image = cache / "bench.ome.zarr"
        started = time.perf_counter()
        if not (image / "zarr.json").is_file():
            shutil.rmtree(image.parent, ignore_errors=True)
            write_image(image, args.gib, args.chunk_mib)
        files = [p for p in image.rglob("*") if p.is_file()]
        count, size = len(files), sum(p.stat().st_size for p in files)
        print(f"image: {count} objects, {size / 1e9:.2f} GB, ready in {time.perf_counter() - started:.1f} s",
              file=sys.stderr)
        rows = []

        def row(what: str, seconds: float, moved: int) -> None:
            rows.append((what, seconds, moved))
            print(f"{what}: {seconds:.1f} s, {moved / seconds / 1e6:.0f} MB/s", file=sys.stderr)

        # local -> S3
        root = make_repo(base, str(image), "s3://ours/local")
        (root / "archive.toml").write_text((root / "archive.toml").read_text().replace(
            'storage_root = "example-data"', f'storage_root = "{image.parent}"'))
        record = root / "studies/OIA-000005/study.yaml"
        record.write_text(record.read_text().replace(f"url: {image}", f"url: {image.name}"))
        lock_s = bioarchive(root, "lock", "studies/OIA-000005", env=env)
        print(f"lock (reads every byte once, hashing): {lock_s:.1f} s", file=sys.stderr)
        row("s5cmd cp, local -> S3", s5cmd(f"{image}/*", "s3://theirs/local/", env, args.transfers), size)
        seconds, moved = our_ingest(root, env, args.transfers)
        row("bioarchive ingest, local -> S3 (verified)", seconds, moved)
        seconds, moved = our_ingest(root, env, args.transfers)
        rows.append(("second bioarchive ingest, local -> S3", seconds, moved))
        print(f"second ingest: {seconds:.2f} s, {moved} object bytes transferred", file=sys.stderr)

        # S3 -> S3: the deposit is in a bucket
        subprocess.run([str(S5CMD), "--endpoint-url", endpoint, "cp", f"{image}/*", "s3://deposits/bench.ome.zarr/"],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        root = make_repo(base / "s3", "s3://deposits/bench.ome.zarr", "s3://ours/s3")
        bioarchive(root, "lock", "studies/OIA-000005", env=env)
        row("s5cmd cp, S3 -> S3", s5cmd("s3://deposits/bench.ome.zarr/*", "s3://theirs/s3/", env, args.transfers),
            size)
        seconds, moved = our_ingest(root, env, args.transfers)
        row("bioarchive ingest, S3 -> S3 (verified)", seconds, moved)

        load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
        print(f"\n{count} objects, {size / 1e9:.2f} GB, transfers {args.transfers}; {load}\n")
        print("| run | seconds | MB/s | object bytes transferred |")
        print("|---|---|---|---|")
        for what, seconds, moved in rows:
            rate = f"{moved / seconds / 1e6:.0f}" if moved else "-"
            print(f"| {what} | {seconds:.1f} | {rate} | {moved:,} |")
        theirs = {w.split(", ")[1]: s for w, s, _ in rows if w.startswith("s5cmd")}
        for what, seconds, _moved in rows:
            if what.startswith("bioarchive ingest"):
                path = what.split(", ")[1].split(" (")[0]
                print(f"\n{path}: ours {theirs[path] / seconds:.2f}x s5cmd's throughput")
    finally:
        moto.terminate()
        moto.wait()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
