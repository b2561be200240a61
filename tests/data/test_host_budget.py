"""Hosts that never answer, and records that use up their time: bounded whatever the image count (issue 16)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from builder.core.settings import ArchiveSettings, Limits
from builder.data.inspection import ImageTarget, inspect_images


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never sends a byte (a host that hangs every request)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.held: list[socket.socket] = []
        self.running = True
        self.thread = threading.Thread(target=self._accept, name="silent-server", daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self.held.append(conn)  # kept open, never answered

    def close(self) -> None:
        self.running = False
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def silent_server():
    server = SilentServer()
    yield server
    server.close()


def settings_for(root: Path, **limits) -> ArchiveSettings:
    return ArchiveSettings(storage_root=str(root), limits=Limits(**limits))


def test_forty_images_on_a_host_that_never_answers_cost_one_probe(silent_server, tmp_path):
    settings = settings_for(tmp_path, request_timeout_s=1, host_probe_timeout_s=1)
    host = f"127.0.0.1:{silent_server.port}"
    targets = [ImageTarget(f"OIA-000001/d/img{i}", f"http://{host}/img{i}.zarr") for i in range(40)]
    started = time.monotonic()
    outcomes = inspect_images(targets, settings, tmp_path)
    elapsed = time.monotonic() - started
    # Without the probe: 40 x the request timeout one after another. The figure is in benchmarks/README.md.
    assert elapsed < 15, elapsed
    assert silent_server.accepted == 1  # asked once, not once per image
    assert list(outcomes) == [t.key for t in targets]
    for target in targets:
        [d] = outcomes[target.key].diagnostics
        assert d.check == "NET008" and f"host {host}" in d.message and "1.0 s" in d.message
        assert "limits.host_probe_timeout_s" in d.message and d.extra["url"] == target.url
        assert outcomes[target.key].facts is None


def test_a_host_that_answers_its_probe_is_read_normally(http, ngff_samples, tmp_path):
    url = http.url_for(ngff_samples["image2d-0.5"])
    targets = [ImageTarget(f"OIA-000001/d/img{i}", url, untrusted=False) for i in range(3)]
    outcomes = inspect_images(targets, settings_for(tmp_path), tmp_path)
    assert all(o.facts is not None and not o.diagnostics for o in outcomes.values())
    assert http.log[0].path.endswith("image2d-0.5.zarr/zarr.json")  # the probe: the first image's group


def test_a_single_image_is_not_probed(http, ngff_samples, tmp_path):
    url = http.url_for(ngff_samples["image2d-0.5"])
    outcome = inspect_images([ImageTarget("OIA-000001/d/a", url, untrusted=False)], settings_for(tmp_path),
                             tmp_path)["OIA-000001/d/a"]
    assert outcome.facts is not None and outcome.requests == http.requests  # no request beyond the image's own


def test_a_record_that_used_up_its_time_skips_its_remaining_images(http, ngff_samples, tmp_path):
    good = http.url_for(ngff_samples["image2d-0.5"])
    http.hang("samples/slow", 3)  # answers, but later than request_timeout_s
    slow = [http.url + f"/samples/slow{i}.zarr" for i in range(11)]
    targets = [ImageTarget("OIA-000001/d/good", good, untrusted=False)]
    targets += [ImageTarget(f"OIA-000001/d/slow{i}", u, untrusted=False) for i, u in enumerate(slow)]
    targets.append(ImageTarget("OIA-000002/d/other", good, untrusted=False))  # another record is not cut
    settings = settings_for(tmp_path, request_timeout_s=1, record_timeout_s=2)
    started = time.monotonic()
    outcomes = inspect_images(targets, settings, tmp_path, max_workers=1)
    elapsed = time.monotonic() - started
    assert elapsed < 10, elapsed  # one after another without the budget: 11 x 1 s and more
    checks = [[d.check for d in outcomes[t.key].diagnostics] for t in targets[1:-1]]
    assert checks.count(["NET004"]) >= 2
    skipped = [outcomes[t.key].diagnostics[0] for t in targets[1:-1] if outcomes[t.key].diagnostics[0].check
               == "NET009"]
    assert len(skipped) >= 6, checks
    assert "record OIA-000001" in skipped[0].message and "limits.record_timeout_s" in skipped[0].message
    assert outcomes["OIA-000001/d/good"].facts is not None and outcomes["OIA-000002/d/other"].facts is not None


def test_a_host_that_used_up_its_time_skips_its_remaining_images(http, ngff_samples, tmp_path):
    http.hang("samples/slow", 3)
    targets = [ImageTarget(f"OIA-00000{i % 3 + 1}/d/slow{i}", http.url + f"/samples/slow{i}.zarr", untrusted=False)
               for i in range(9)]
    targets.insert(0, ImageTarget("OIA-000004/d/good", http.url_for(ngff_samples["image2d-0.5"]), untrusted=False))
    settings = settings_for(tmp_path, request_timeout_s=1, host_timeout_s=2)
    outcomes = inspect_images(targets, settings, tmp_path, max_workers=1)
    skipped = [d for o in outcomes.values() for d in o.diagnostics if d.check == "NET009"]
    assert len(skipped) >= 4
    assert f"host 127.0.0.1:{http.port}" in skipped[0].message and "limits.host_timeout_s" in skipped[0].message
