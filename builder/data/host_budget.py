"""Time budgets across images: probe each HTTP(S) host once, bound the wall time per host and per record.

A host that accepts connections and never answers cost 5.1 s per image, one
image after another (40 images: 203 s; a 3,500-image study about five hours).
So, before any worker starts:

- every http(s) host with two or more images is asked once, in parallel, for the
  group document of its first image, within ``limits.host_probe_timeout_s``;
  a host that does not answer (a timeout or a refused connection) is not asked
  again: each of its images gets one NET008 naming the host and the time waited;
- the seconds the workers spend are added up per record (``limits.record_timeout_s``)
  and per host (``limits.host_timeout_s``); once a record or host has used up its
  budget, its images not yet started are not read (NET009). So a record costs at
  most its budget plus one ``image_timeout_s`` per concurrent worker, whatever
  its image count; spent time, not wall time, so a large honest build is not cut.

A host with a single image is not probed: that image's own first request is
the probe, and the request counts of single-image inspections stay as they were.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from builder.core.checks import Diagnostic
from builder.core.settings import ArchiveSettings
from builder.data import checks as C
from builder.data.checks import image_diagnostic
from builder.data.storage import StorageError, open_store, resolve_url
from builder.data.storage.base import Budget


class ImageTarget(Protocol):
    """What this module reads of builder.data.inspection.ImageTarget (which imports this module)."""

    key: str
    url: str
    untrusted: bool

MAX_PROBES_AT_ONCE = 16  # probes only wait on the network
UNANSWERED = ("NET001", "NET004")  # refused or timed out; any other answer (even 404) means the host is up


@dataclass(frozen=True, slots=True)
class ProbeFailure:
    host: str
    waited_s: float
    reason: str


@dataclass(frozen=True, slots=True)
class Scope:
    """A record or a host whose images share one time budget."""

    name: str  # "record OIA-000001" / "host data.example.org"
    setting: str  # "record_timeout_s" / "host_timeout_s"
    seconds: float

    @property
    def marker(self) -> str:
        return hashlib.sha256(self.name.encode()).hexdigest()[:32]


class Ledger:
    """Seconds spent per scope, kept by the parent as results arrive.

    A scope that has used up its budget gets a marker file in ``folder``, which
    each worker checks before it reads an image (the payloads were all handed to
    the worker pool at the start, so the parent cannot take them back). Workers
    of a Dask cluster on other machines do not see the folder; there only each
    image's own ``image_timeout_s`` bounds the time.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.spent: dict[Scope, float] = defaultdict(float)

    def charge(self, scopes: list[Scope], seconds: float) -> None:
        for scope in scopes:
            self.spent[scope] += seconds
            if self.spent[scope] >= scope.seconds:
                (self.folder / scope.marker).write_text(json.dumps(asdict(scope)), encoding="utf-8")


def used_up(folder: str, scopes: list[dict]) -> Scope | None:
    """The first of an image's scopes that has used up its budget (read by the worker)."""
    for raw in scopes:
        scope = Scope(**raw)
        if (Path(folder) / scope.marker).exists():
            return scope
    return None


def http_host(url: str) -> str | None:
    """The host (and port) of an http(s) URL, without user info; None for other stores."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return None
    return (parts.hostname or "") + (f":{parts.port}" if parts.port else "")


def record_of(target: ImageTarget) -> str:
    return target.key.split("/", 1)[0]


def _resolved(url: str, settings: ArchiveSettings, root: Path) -> str:
    try:
        return resolve_url(url, settings, root)
    except Exception:  # noqa: BLE001 - the worker reports an unusable URL with its own check
        return url


def probe_hosts(targets: Sequence[ImageTarget], settings: ArchiveSettings, root: Path) -> dict[str, ProbeFailure]:
    """host -> why it failed, for every http(s) host with two or more images that did not answer its probe."""
    by_host: dict[str, list[ImageTarget]] = defaultdict(list)
    for target in targets:
        host = http_host(_resolved(target.url, settings, root))
        if host:
            by_host[host].append(target)
    probed = {host: group[0] for host, group in by_host.items() if len(group) > 1}
    if not probed:
        return {}
    with ThreadPoolExecutor(max_workers=min(MAX_PROBES_AT_ONCE, len(probed)), thread_name_prefix="probe") as pool:
        results = dict(zip(probed, pool.map(lambda t: _probe(t, settings, root), probed.values())))
    return {host: failure for host, failure in results.items() if failure is not None}


def _probe(target: ImageTarget, settings: ArchiveSettings, root: Path) -> ProbeFailure | None:
    limits = settings.limits
    timeout = limits.host_probe_timeout_s
    budget = Budget(max_bytes=limits.max_metadata_bytes, max_requests=2, max_seconds=timeout + 1,
                    request_timeout_s=timeout, max_document_bytes=limits.max_metadata_bytes)
    started = time.monotonic()
    try:
        store = open_store(target.url, settings, root, untrusted=target.untrusted, budget=budget)
        store.get_document("zarr.json")
    except StorageError as exc:
        if exc.check in UNANSWERED:
            url = _resolved(target.url, settings, root)
            return ProbeFailure(http_host(url) or url, time.monotonic() - started, exc.message)
        return None  # refused for another reason: each image's worker reports it
    except Exception:  # noqa: BLE001 - a probe only decides whether to skip; the workers report real problems
        return None
    return None


def probe_diagnostic(failure: ProbeFailure, url: str) -> Diagnostic:
    return image_diagnostic(
        C.NET008,
        f"host {failure.host} did not answer within {failure.waited_s:.1f} s (limits.host_probe_timeout_s); "
        f"this image was not read ({failure.reason})",
        url=url,
    )


def scopes_of(target: ImageTarget, settings: ArchiveSettings, root: Path) -> list[Scope]:
    limits = settings.limits
    scopes = [Scope(f"record {record_of(target)}", "record_timeout_s", limits.record_timeout_s)]
    host = http_host(_resolved(target.url, settings, root))
    if host:
        scopes.append(Scope(f"host {host}", "host_timeout_s", limits.host_timeout_s))
    return scopes


def budget_diagnostic(scope: Scope, url: str) -> Diagnostic:
    return image_diagnostic(
        C.NET009,
        f"not read: the {scope.name} used up its {scope.seconds:g} s (limits.{scope.setting}) on earlier images",
        url=url,
    )
