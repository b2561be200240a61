"""Real storage servers on 127.0.0.1 for tests: an HTTP file server and moto's S3 server.

Both are session-scoped and listen on free ports; other areas' tests may reuse them.

``http_server`` -> :class:`HttpServer`
    Serves a temporary folder (``http_server.root``) over HTTP/1.1 with Range
    requests, ETags and CORS headers. Use ``http_server.url_for(path)`` to get
    ``http://127.0.0.1:<port>/<path>`` for a file or folder below the root.
    It records every request in ``http_server.log`` (``Request(path, status,
    nbytes, range)``); ``http_server.reset()`` clears the log and every
    failure rule (the ``http`` fixture does that for you before each test).
    Make it misbehave for paths starting with a prefix:

    - ``http_server.fail(prefix, 404)`` / ``fail(prefix, 403)``: answer that status;
    - ``http_server.hang(prefix, seconds)``: wait before answering (a slow or hung server);
    - ``http_server.trickle(prefix, seconds)``: send the body one byte every ``seconds``
      (a server that keeps the connection alive but never finishes);
    - ``http_server.redirect(prefix, "http://other-host/...")``: 302 to another place;
    - ``http_server.cors = False``: send no Access-Control-Allow-Origin header;
    - ``http_server.ranges = False``: ignore Range headers (answer 200 with the whole object).

``http`` -> the same server, reset for this test.

``s3_server`` -> :class:`S3Server`
    moto's ``ThreadedMotoServer`` (a real S3-protocol HTTP server) with one public
    bucket ``s3_server.bucket``. ``s3_server.upload(local_folder, prefix)`` copies
    a folder into it with boto3 and returns ``s3://<bucket>/<prefix>``;
    ``s3_server.endpoint_url`` is what ``ArchiveSettings.s3_endpoint_url`` needs;
    ``s3_server.put(key, bytes)`` writes one object. The bucket allows anonymous GET
    and LIST and has a CORS rule for every origin (moto's server sends CORS headers
    for any Origin anyway); ``s3_server.make_bucket(name)`` adds another such bucket.

``ngff_samples`` -> dict name -> folder of small OME-Zarr datasets written with
    builder/ngff/writer.py into ``http_server.root/samples`` (so each is also at
    ``http_server.url_for(folder)``): ``image2d``/``image3d``/``image4d``/``image5d``
    (yx, zyx, czyx, tczyx) and ``plate``, each as ``-0.4`` and ``-0.5``; the 4D
    images carry a label image ``cells``.

``refused_url`` -> an http://127.0.0.1:<port> URL where nothing listens (connection refused).
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import os
import posixpath
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest


@dataclass(slots=True)
class Request:
    path: str
    status: int
    nbytes: int
    range: str | None = None
    method: str = "GET"


@dataclass
class HttpServer:
    root: Path
    host: str = "127.0.0.1"
    port: int = 0
    cors: bool = True
    ranges: bool = True
    log: list[Request] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    delays: dict[str, float] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    trickles: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url_for(self, path: str | Path) -> str:
        rel = Path(path).relative_to(self.root).as_posix() if Path(path).is_absolute() else str(path)
        return f"{self.url}/{rel.strip('/')}"

    def reset(self) -> None:
        with self.lock:
            self.log.clear()
            self.failures.clear()
            self.delays.clear()
            self.redirects.clear()
            self.trickles.clear()
            self.cors = True
            self.ranges = True

    def fail(self, prefix: str, status: int) -> None:
        self.failures[prefix.strip("/")] = status

    def hang(self, prefix: str, seconds: float) -> None:
        self.delays[prefix.strip("/")] = seconds

    def trickle(self, prefix: str, seconds_per_byte: float) -> None:
        self.trickles[prefix.strip("/")] = seconds_per_byte

    def redirect(self, prefix: str, target: str) -> None:
        self.redirects[prefix.strip("/")] = target

    # -- request-log summaries --------------------------------------------------
    @property
    def requests(self) -> int:
        return len(self.log)

    @property
    def bytes_sent(self) -> int:
        return sum(r.nbytes for r in self.log)

    @property
    def not_found(self) -> int:
        return sum(1 for r in self.log if r.status == 404)

    def _rule(self, rules: dict, path: str):
        for prefix, value in rules.items():
            if path.startswith(prefix):
                return value
        return None


def _handler(server: HttpServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # headers and body go out in two writes: without this, delayed ACKs add 40 ms per request
        disable_nagle_algorithm = True

        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def _record(self, status: int, nbytes: int, rng: str | None = None) -> None:
            with server.lock:
                server.log.append(Request(self._rel, status, nbytes, rng, self.command))

        def _cors(self) -> None:
            if server.cors:
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Access-Control-Expose-Headers", "Content-Length, Content-Range, ETag")

        def _empty(self, status: int, extra: dict | None = None) -> None:
            self._record(status, 0)  # before answering, so the client never sees a stale log
            self.send_response(status)
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self._cors()
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_HEAD(self) -> None:
            self.do_GET(head=True)

        def do_GET(self, head: bool = False) -> None:
            self._rel = posixpath.normpath(unquote(urlsplit(self.path).path)).lstrip("/")
            delay = server._rule(server.delays, self._rel)
            if delay:
                time.sleep(delay)
            status = server._rule(server.failures, self._rel)
            if status:
                return self._empty(status)
            target = server._rule(server.redirects, self._rel)
            if target:
                return self._empty(302, {"Location": target})
            path = server.root / self._rel
            if ".." in Path(self._rel).parts or not path.is_file():
                return self._empty(404)
            data = path.read_bytes()
            etag = '"' + hashlib.md5(data).hexdigest() + '"'
            rng = self.headers.get("Range")
            status = 200
            if rng and rng.startswith("bytes=") and server.ranges:
                spec = rng[6:]
                start_s, _, end_s = spec.partition("-")
                size = len(data)
                if start_s == "":
                    start, end = max(0, size - int(end_s)), size - 1
                else:
                    start = int(start_s)
                    end = min(size - 1, int(end_s)) if end_s else size - 1
                if start >= size:
                    return self._empty(416, {"Content-Range": f"bytes */{size}"})
                body = data[start:end + 1]
                status = 206
            else:
                body = data
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Last-Modified", email.utils.formatdate(path.stat().st_mtime, usegmt=True))
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
            self._cors()
            self._record(status, 0 if head else len(body), rng)
            self.end_headers()
            pause = server._rule(server.trickles, self._rel)
            if not head:
                try:
                    if pause:
                        for i in range(len(body)):
                            self.wfile.write(body[i:i + 1])
                            self.wfile.flush()
                            time.sleep(pause)
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

    return Handler


@pytest.fixture(scope="session")
def http_server():
    root = Path(tempfile.mkdtemp(prefix="bioarchive-http-"))
    server = HttpServer(root=root)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    httpd.daemon_threads = True
    server.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, name="test-http-server", daemon=True)
    thread.start()
    yield server
    httpd.shutdown()
    httpd.server_close()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def http(http_server: HttpServer) -> HttpServer:
    http_server.reset()
    yield http_server
    http_server.reset()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def refused_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


@dataclass
class S3Server:
    endpoint_url: str
    bucket: str
    _server: object = None

    def client(self):
        import boto3

        return boto3.client(
            "s3", endpoint_url=self.endpoint_url, region_name="us-east-1",
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )

    def upload(self, folder: str | Path, prefix: str) -> str:
        folder = Path(folder)
        client = self.client()
        prefix = prefix.strip("/")
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                client.upload_file(str(path), self.bucket, f"{prefix}/{path.relative_to(folder).as_posix()}")
        return f"s3://{self.bucket}/{prefix}"

    def put(self, key: str, data: bytes, bucket: str | None = None) -> None:
        self.client().put_object(Bucket=bucket or self.bucket, Key=key, Body=data)

    def make_bucket(self, name: str) -> str:
        client = self.client()
        client.create_bucket(Bucket=name)
        client.put_bucket_policy(Bucket=name, Policy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"},
                {"Effect": "Allow", "Principal": "*", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{name}"},
            ],
        }))
        client.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": [
            {"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "HEAD"], "AllowedHeaders": ["*"]}]})
        return name


@pytest.fixture(scope="session")
def s3_server():
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    s3 = S3Server(endpoint_url=f"http://127.0.0.1:{port}", bucket="bioarchive-test", _server=server)
    s3.make_bucket(s3.bucket)  # public, with CORS, as archives publish their buckets
    yield s3
    server.stop()


@pytest.fixture(scope="session")
def ngff_samples(http_server: HttpServer) -> dict[str, Path]:
    import numpy as np

    from builder.testing.ngff_writer import write_image, write_labels, write_plate

    base = http_server.root / "samples"
    rng = np.random.default_rng(7)
    samples: dict[str, Path] = {}
    for version in ("0.4", "0.5"):
        for name, axes, shape in (
            ("image2d", "yx", (96, 128)),
            ("image3d", "zyx", (5, 64, 80)),
            ("image4d", "czyx", (2, 3, 96, 128)),
            ("image5d", "tczyx", (2, 2, 3, 64, 64)),
        ):
            data = rng.integers(0, 4000, shape, dtype=np.uint16)
            chunks = tuple(1 if a in "tcz" else 32 for a in axes)
            path = write_image(base / f"{name}-{version}.zarr", data, axes=axes, version=version, levels=3,
                               chunks=chunks)
            samples[f"{name}-{version}"] = path
        labels = np.zeros((3, 96, 128), np.uint8)
        labels[:, 10:40, 10:60] = 1
        labels[:, 50:90, 70:120] = 2
        write_labels(samples[f"image4d-{version}"], "cells", labels)
        field = rng.integers(0, 4000, (2, 64, 64), dtype=np.uint16)
        samples[f"plate-{version}"] = write_plate(
            base / f"plate-{version}.zarr",
            {("A", "1"): [field], ("A", "2"): [field // 2], ("B", "1"): [field // 3, field]},
            version=version, axes="cyx", levels=2, chunks=(1, 32, 32),
        )
    return samples
