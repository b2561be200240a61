"""Content-checksum rate against hashlib.sha256 on the same bytes, side by side in one run.

    .venv/bin/python benchmarks/hashing.py [--mib 512] [--chunk-kib 1024] [--rounds 3]

Writes ``--mib`` MiB of random bytes as ``--chunk-kib`` KiB objects into a
temporary folder (read back from the page cache, so the disk is not measured)
and times, alternating rounds:

- ``hashlib.sha256`` over the same bytes held in memory, one thread (the goal's yardstick);
- ``hashlib.sha256`` + ``md5`` over them in memory, one thread: the digests a
  manifest needs (SHA-256 per object; MD5 per object for zarr-checksum's tree);
- ``manifest_of`` on the folder (LocalStore: listing, streamed reads, both
  digests, the tree checksum) with 1, 2 and 8 workers.

Prints MB/s and the ratio to the yardstick.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from builder.data.manifest import manifest_of  # noqa: E402
from builder.data.storage import Budget, LocalStore  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=512)
    parser.add_argument("--chunk-kib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="hashing-"))
    try:
        chunk = args.chunk_kib * 1024
        count = args.mib * 1024 * 1024 // chunk
        blobs = [os.urandom(chunk) for _ in range(count)]
        for number, blob in enumerate(blobs):
            path = folder / "0" / "c" / str(number // 100) / str(number % 100)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(blob)
        total = chunk * count

        def sha_only() -> None:
            for blob in blobs:
                hashlib.sha256(blob).digest()

        def sha_and_md5() -> None:
            for blob in blobs:
                hashlib.sha256(blob).digest()
                hashlib.md5(blob, usedforsecurity=False).digest()

        def ours(workers: int):
            return lambda: manifest_of(LocalStore(folder, Budget.unbounded()), max_workers=workers)

        cases = {
            "hashlib.sha256, memory, 1 thread": sha_only,
            "hashlib sha256+md5, memory, 1 thread": sha_and_md5,
            "manifest_of, folder, 1 worker": ours(1),
            "manifest_of, folder, 2 workers": ours(2),
            "manifest_of, folder, 8 workers": ours(8),
        }
        ours(8)()  # warm the page cache
        best: dict[str, float] = {}
        for _ in range(args.rounds):
            for name, run in cases.items():
                started = time.perf_counter()
                run()
                elapsed = time.perf_counter() - started
                best[name] = min(best.get(name, elapsed), elapsed)
        base = total / best["hashlib.sha256, memory, 1 thread"]
        print(f"{total / 2**20:.0f} MiB in {count} objects of {args.chunk_kib} KiB; {os.cpu_count()} CPUs; "
              f"best of {args.rounds} alternating rounds")
        for name, seconds in best.items():
            rate = total / seconds
            print(f"  {name:<40} {rate / 1e6:8.0f} MB/s  {rate / base:5.2f}x")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
