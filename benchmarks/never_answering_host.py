"""Images on a host that accepts connections and never answers: seconds for N images, default limits.

    .venv/bin/python benchmarks/never_answering_host.py [--images 40] [--probe-timeout 10]

Before the host probe (issue 16) 40 such images took 203 s (5.1 s each, one
after another); now the host is asked once and every image gets NET008, so the
time is about one probe timeout whatever the image count.
"""

from __future__ import annotations

import argparse
import os
import socket
import tempfile
import threading
import time
from pathlib import Path


def silent_server() -> tuple[socket.socket, list[socket.socket]]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(256)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(sock.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return sock, held


def main() -> None:
    from builder.core.settings import ArchiveSettings, Limits
    from builder.data.inspection import ImageTarget, inspect_images

    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--probe-timeout", type=float, default=Limits().host_probe_timeout_s)
    args = parser.parse_args()
    sock, held = silent_server()
    port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        settings = ArchiveSettings(storage_root=tmp, limits=Limits(host_probe_timeout_s=args.probe_timeout))
        targets = [ImageTarget(f"OIA-000001/d/i{n}", f"http://127.0.0.1:{port}/i{n}.zarr") for n in range(args.images)]
        started = time.monotonic()
        outcomes = inspect_images(targets, settings, Path(tmp))
        seconds = time.monotonic() - started
    checks = {d.check for o in outcomes.values() for d in o.diagnostics}
    print(f"{args.images} images on a never-answering host: {seconds:.1f} s "
          f"(probe timeout {args.probe_timeout:g} s, connections accepted {len(held)}, checks {sorted(checks)}, "
          f"load {os.getloadavg()[0]:.1f})")
    sock.close()


if __name__ == "__main__":
    main()
