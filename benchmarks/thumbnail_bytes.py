"""Requests and bytes per thumbnail against a real HTTP server and moto's S3 server.

    .venv/bin/python benchmarks/thumbnail_bytes.py [--images 200] [--size 256]

For one 2-channel, 3-level image (NGFF 0.4 and 0.5) it prints what the data
stage fetched for one ``card`` thumbnail next to the minimal set: the group
document, the array documents of the levels and the chunks of the chosen level
that one plane of the active channels covers. Then it times thumbnails over
many images (copies of a smaller image at distinct URLs), first run and cached
rebuild, and does the same with ome-zarr-py's ``parse_url`` + ``Reader`` path.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from builder.core.settings import ArchiveSettings
from builder.data.inspection import ImageTarget, inspect_image, inspect_images
from builder.data.ngff import read as ngff
from builder.data.render import encode_image, render_thumbnail
from builder.testing.ngff_writer import write_image


class HttpLog:
    """The request log of the HTTP server subprocess, read over HTTP."""

    def __init__(self, url: str) -> None:
        self.url = url

    def url_for(self, path: Path, root: Path) -> str:
        return f"{self.url}/{path.relative_to(root).as_posix()}"

    def summary(self) -> dict:
        import requests

        return requests.get(f"{self.url}/__log__", timeout=10).json()

    def reset(self) -> None:
        import requests

        requests.get(f"{self.url}/__reset__", timeout=10)


def serve_http(root: str, port: int) -> None:
    """Run the tests' HTTP server (ranges, ETags, CORS, request log) in this process until killed."""
    import json as _json
    from http.server import ThreadingHTTPServer

    from tests.support.stores import HttpServer, _handler

    server = HttpServer(root=Path(root))
    base = _handler(server)

    class Handler(base):
        def do_GET(self, head: bool = False) -> None:
            if self.path in ("/__log__", "/__reset__"):
                if self.path == "/__reset__":
                    server.reset()
                body = _json.dumps(
                    {"requests": server.requests, "bytes": server.bytes_sent, "not_found": server.not_found}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            super().do_GET(head)

    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    httpd.daemon_threads = True
    httpd.serve_forever()


def wait_for(url: str) -> None:
    import requests

    for _ in range(100):
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


def start_servers(work: Path):
    """The HTTP server and moto's S3 server, each in its own process: the benchmark is only the client."""
    import json as _json
    import subprocess

    import boto3

    http_port, s3_port = free_port(), free_port()
    http_proc = subprocess.Popen([sys.executable, __file__, "--serve-http", str(work), str(http_port)])
    moto_proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(s3_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    http = HttpLog(f"http://127.0.0.1:{http_port}")
    endpoint = f"http://127.0.0.1:{s3_port}"
    wait_for(f"{http.url}/__log__")
    wait_for(endpoint)
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket="bench")
    client.put_bucket_policy(
        Bucket="bench",
        Policy=_json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bench/*"},
                    {"Effect": "Allow", "Principal": "*", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::bench"},
                ],
            }
        ),
    )
    return http, endpoint, client, (http_proc, moto_proc)


def upload(client, folder: Path, prefix: str) -> str:
    for f in sorted(folder.rglob("*")):
        if f.is_file():
            client.upload_file(str(f), "bench", f"{prefix}/{f.relative_to(folder).as_posix()}")
    return f"s3://bench/{prefix}"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def minimal_set(path: Path, version: str, size: int) -> tuple[list[str], int]:
    """Keys and bytes a thumbnail cannot do without: group doc, level docs, chunks of one plane."""
    import json

    fmt = 3 if version == "0.5" else 2
    group_key = ngff.GROUP_DOC[fmt]
    group = ngff.parse_group(json.loads((path / group_key).read_text()), fmt, group_key)
    ms = ngff.parse_multiscale(group)
    keys = [group_key]
    arrays = {}
    for p in ms.paths:
        key = ngff.array_doc_key(p, fmt)
        keys.append(key)
        arrays[p] = ngff.parse_array(json.loads((path / key).read_text()), fmt, key)
    from builder.model.image import LevelFacts

    levels = [LevelFacts(path=p, shape=arrays[p].shape, chunks=arrays[p].chunks) for p in ms.paths]
    chosen = levels[ngff.choose_level(levels, ms.axes, size)]
    names = [a.name for a in ms.axes]
    z0 = arrays[ms.paths[0]].shape[names.index("z")]
    shape, chunks = chosen.shape, chosen.chunks
    z = (z0 // 2) * shape[names.index("z")] // z0
    grid = []
    for axis, n, c in zip(names, shape, chunks):
        if axis in ("y", "x"):
            grid.append(range(math.ceil(n / c)))
        elif axis == "z":
            grid.append([z // c])
        else:
            grid.append(range(math.ceil(n / c)))  # every channel is active
    import itertools

    sep = "/"
    for idx in itertools.product(*grid):
        if fmt == 3:
            keys.append(f"{chosen.path}/c/" + sep.join(map(str, idx)))
        else:
            keys.append(f"{chosen.path}/" + sep.join(map(str, idx)))
    total = sum((path / k).stat().st_size for k in keys if (path / k).exists())
    return keys, total


def ome_zarr_py_thumbnail(url: str, size: int) -> bytes:
    """The usual ome-zarr-py path: parse_url + Reader, dask arrays, compute one plane."""
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    location = parse_url(url)
    node = list(Reader(location)())[0]
    levels = node.data
    names = [a["name"] if isinstance(a, dict) else a for a in node.metadata["axes"]]
    iy, ix = names.index("y"), names.index("x")
    order = sorted(range(len(levels)), key=lambda i: max(levels[i].shape[iy], levels[i].shape[ix]))
    chosen = next(
        (levels[i] for i in order if max(levels[i].shape[iy], levels[i].shape[ix]) >= size), levels[order[-1]]
    )
    selection = []
    for axis, n in zip(names, chosen.shape):
        selection.append(slice(None) if axis in ("c", "y", "x") else n // 2)
    planes = np.asarray(chosen[tuple(selection)].compute())
    if "c" not in names:
        planes = planes[np.newaxis]
    return encode_image(render_thumbnail(planes, [], size), "webp")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--serve-http", nargs=2, metavar=("ROOT", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_http:
        serve_http(args.serve_http[0], int(args.serve_http[1]))
        return

    work = Path(tempfile.mkdtemp(prefix="bioarchive-bench-"))
    http, endpoint, client, processes = start_servers(work)
    settings = ArchiveSettings(storage_root=str(work), s3_endpoint_url=endpoint, thumbnail_sizes={"card": args.size})
    rng = np.random.default_rng(1)
    try:
        print(f"# one {args.size}px thumbnail of a (2, 16, 1024, 1024) uint16 image, 3 levels, chunks 1x1x256x256\n")
        big = rng.integers(0, 4000, (2, 16, 1024, 1024), dtype=np.uint16)
        print("| store | NGFF | requests | 404s | bytes read | minimal requests | minimal bytes | ratio |")
        print("|---|---|---|---|---|---|---|---|")
        for version in ("0.5", "0.4"):
            path = write_image(
                work / f"big-{version}.zarr", big, axes="czyx", version=version, levels=3, chunks=(1, 1, 256, 256)
            )
            keys, minimal = minimal_set(path, version, args.size)
            s3_url = upload(client, path, f"big-{version}.zarr")
            for store, url in (("http", http.url_for(path, work)), ("s3", s3_url)):
                o = inspect_image(
                    ImageTarget("k", url, "image", untrusted=False),
                    settings,
                    work,
                    thumbnails=True,
                    cache_dir=work / f"cache-one-{store}-{version}",
                )
                assert o.facts and o.facts.thumbnails, o.diagnostics
                print(
                    f"| {store} | {version} | {o.requests} | {o.not_found} | {o.bytes_read} | {len(keys)} | "
                    f"{minimal} | {o.bytes_read / minimal:.3f} |"
                )
            http.reset()
            try:
                ome_zarr_py_thumbnail(http.url_for(path, work), args.size)
                log = http.summary()
                print(
                    f"| http, ome-zarr-py Reader | {version} | {log['requests']} | {log['not_found']} | "
                    f"{log['bytes']} | {len(keys)} | {minimal} | {log['bytes'] / minimal:.3f} |"
                )
            except Exception as exc:  # noqa: BLE001 - report, keep measuring the rest
                print(f"| http, ome-zarr-py Reader | {version} | failed: {type(exc).__name__}: {exc} | | | | | |")

        print(f"\n# {args.images} images (2, 512, 512) uint16, 3 levels, chunks 1x256x256, {args.size}px thumbnails\n")
        small = rng.integers(0, 4000, (2, 512, 512), dtype=np.uint16)
        template = write_image(
            work / "many" / "template.zarr", small, axes="cyx", version="0.5", levels=3, chunks=(1, 256, 256)
        )
        for i in range(args.images):
            shutil.copytree(template, work / "many" / f"img{i:04d}.zarr")
        shutil.rmtree(template)
        print("| path | store | first run s | thumbnails/s | cached rebuild s | requests/image |")
        print("|---|---|---|---|---|---|")
        for store in ("http", "s3"):
            if store == "http":
                urls = [http.url_for(work / "many" / f"img{i:04d}.zarr", work) for i in range(args.images)]
            else:
                urls = [
                    upload(client, work / "many" / f"img{i:04d}.zarr", f"many/img{i:04d}.zarr")
                    for i in range(args.images)
                ]
            targets = [ImageTarget(f"k{i}", u, "image", untrusted=False) for i, u in enumerate(urls)]
            cache = work / f"cache-many-{store}"
            t0 = time.monotonic()
            out = inspect_images(targets, settings, work, thumbnails=True, cache_dir=cache)
            first = time.monotonic() - t0
            bad = [k for k, o in out.items() if not (o.facts and o.facts.thumbnails)]
            assert not bad, out[bad[0]].diagnostics
            per_first = sum(o.requests for o in out.values()) / len(out)
            t0 = time.monotonic()
            again = inspect_images(targets, settings, work, thumbnails=True, cache_dir=cache)
            cached = time.monotonic() - t0
            assert all(o.cached for o in again.values())
            per = sum(o.requests for o in again.values()) / len(again)
            print(
                f"| bioarchive, isolated workers (2) | {store} | {first:.1f} | {len(targets) / first:.1f} | "
                f"{cached:.1f} | {per_first:.1f} first, {per:.1f} cached |"
            )
        # one image at a time in this process: the cost of each path without isolation or parallelism
        os.environ.update(
            {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        )  # ome-zarr-py's parse_url takes no S3 options
        for store in ("http", "s3"):
            urls = [
                http.url_for(work / "many" / f"img{i:04d}.zarr", work)
                if store == "http"
                else f"s3://bench/many/img{i:04d}.zarr"
                for i in range(args.images)
            ]
            t0 = time.monotonic()
            requests = 0
            for url in urls:
                o = inspect_image(
                    ImageTarget("k", url, "image", untrusted=False),
                    settings,
                    work,
                    thumbnails=True,
                    cache_dir=work / f"inproc-{store}",
                )
                requests += o.requests
            took = time.monotonic() - t0
            print(
                f"| bioarchive, in-process, sequential | {store} | {took:.1f} | {len(urls) / took:.1f} | | "
                f"{requests / len(urls):.1f} |"
            )
            http.reset()
            t0 = time.monotonic()
            for url in urls:
                ome_zarr_py_thumbnail(url, args.size)
            took = time.monotonic() - t0
            if store == "http":
                log = http.summary()
                counted = f"{log['requests'] / len(urls):.1f} ({log['not_found'] / len(urls):.1f} 404s)"
            else:
                counted = "not counted (moto keeps no request log)"
            print(
                f"| ome-zarr-py Reader, in-process, sequential | {store} | {took:.1f} | {len(urls) / took:.1f} | "
                f"(no cache) | {counted} |"
            )
    finally:
        for proc in processes:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
