"""Downloading a published study's images: from the site's download manifest to verified files on disk.

The study's download manifest (``studies/<ACCESSION>/download.json``, written
by the build from the archive's own content manifest) names every object of
every archived image with its size and SHA-256, and each image's public URL.
Only the site and the archive's public store are needed: no clone, no keys.

- Parallel: ``workers`` objects at once, each streamed in blocks (memory: one
  block per worker).
- Resumable: an object already on disk with the published size and SHA-256 is
  kept; anything else is fetched again. Bytes arrive under a temporary name
  (``<name>.partial``) and are renamed into place only once verified, so a
  killed download never leaves a file that looks complete.
- Verified: an object whose size or SHA-256 differs from the manifest is an
  error naming the object (its temporary file is removed).
- Untrusted input: the manifest is parsed strictly (each image's objects by
  :meth:`builder.data.manifest.ImageManifest.from_json`), and every key is
  checked to stay inside the image's folder before any file is written.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from builder.core.errors import ArchiveError, InvalidInputError
from builder.data.manifest import ImageManifest, ManifestError, ObjectEntry, parallel_map

DOWNLOAD_FORMAT = "bioarchive-download"
DOWNLOAD_FORMAT_VERSION = 1
BLOCK = 1 << 20
RETRIES = 3
MAX_MANIFEST_BYTES = 256 * 1024 * 1024
PARTIAL_SUFFIX = ".partial"

Progress = Callable[[int], None]


class DownloadError(ArchiveError):
    """A download could not go on; the message names the study, image or object and what to do."""


class NotPublished(DownloadError):
    """The site does not publish the study (unknown accession, or under embargo)."""


@dataclass(frozen=True, slots=True)
class ImageDownload:
    name: str
    url: str  # the image's public URL (its objects are below it)
    manifest: ImageManifest


@dataclass(frozen=True, slots=True)
class StudyDownload:
    accession: str
    version: int
    site: str
    images: tuple[ImageDownload, ...]

    @property
    def total_bytes(self) -> int:
        return sum(i.manifest.total_bytes for i in self.images)


@dataclass
class DownloadReport:
    accession: str
    version: int
    folder: Path
    fetched: int = 0  # objects downloaded in this run
    kept: int = 0  # objects already on disk, verified
    bytes_fetched: int = 0
    images: list[str] = field(default_factory=list)


def _site_base(site: str) -> str:
    if not site.lower().startswith(("http://", "https://")):
        raise DownloadError(f"site {site!r} is not an http(s) address; pass the archive's site, e.g. "
                            "--site https://archive.example.org/")
    return site if site.endswith("/") else site + "/"


def _get(session: requests.Session, url: str, timeout: float) -> requests.Response | None:
    """GET with retries on connection failures and 5xx; None on 404/410."""
    last: Exception | None = None
    for _ in range(RETRIES):
        try:
            response = session.get(url, timeout=timeout)
        except requests.RequestException as exc:
            last = exc
            continue
        if response.status_code in (404, 410):
            return None
        if response.status_code >= 500:
            last = DownloadError(f"HTTP {response.status_code}")
            continue
        if response.status_code != 200:
            raise DownloadError(f"{url} answered HTTP {response.status_code}; check the address and try again")
        return response
    raise DownloadError(f"{url} could not be read ({last}); check the network and run the command again "
                        "(files already downloaded are kept)")


def _json(response: requests.Response, url: str) -> Any:
    if len(response.content) > MAX_MANIFEST_BYTES:
        raise DownloadError(f"{url} is larger than {MAX_MANIFEST_BYTES} bytes: not a download manifest")
    try:
        return json.loads(response.content)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DownloadError(f"{url} is not JSON ({exc}); the site may be mid-publication: try again later") \
            from None


def find_study(accession: str, site: str, *, session: requests.Session | None = None,
               timeout: float = 30.0) -> StudyDownload:
    """The study's current version and its archived images, from the site's download manifest."""
    base = _site_base(site)
    session = session or requests.Session()
    if not isinstance(accession, str) or "/" in accession or not accession.strip():
        raise DownloadError(f"{accession!r} is not an accession (e.g. OIA-000001)")
    url = f"{base}studies/{quote(accession)}/download.json"
    response = _get(session, url, timeout)
    if response is None:
        api = _get(session, f"{base}api/studies/{quote(accession)}.json", timeout)
        if api is None:
            raise NotPublished(
                f"{accession} is not published at {base}: the accession is unknown, or the study is under "
                "embargo until its release date. Check the accession on the site's study list."
            )
        doc = _json(api, f"{base}api/studies/{accession}.json")
        if isinstance(doc, dict) and doc.get("withdrawn"):
            raise DownloadError(f"{accession} was withdrawn; its images are no longer distributed "
                                f"(see {base}studies/{accession}/)")
        raise DownloadError(
            f"{accession} is published at {base} but has no archived copy to download yet (no "
            f"studies/{accession}/download.json); read the images in place from the addresses on its page"
        )
    return parse_download_manifest(_json(response, url), where=url, site=base)


def parse_download_manifest(doc: Any, *, where: str, site: str = "") -> StudyDownload:
    """Strict parsing of a download manifest; raises DownloadError naming the first bad field."""
    try:
        if not isinstance(doc, dict):
            raise ManifestError(f"{where}: must be a JSON object")
        if doc.get("format") != DOWNLOAD_FORMAT or doc.get("format_version") != DOWNLOAD_FORMAT_VERSION:
            raise ManifestError(f"{where}: format {doc.get('format')!r} version {doc.get('format_version')!r}; "
                                f"this builder reads {DOWNLOAD_FORMAT!r} version {DOWNLOAD_FORMAT_VERSION} "
                                "(upgrade the package: pip install -U bioarchive)")
        accession, version, images = doc.get("accession"), doc.get("version"), doc.get("images")
        if not isinstance(accession, str) or not isinstance(version, int) or isinstance(version, bool):
            raise ManifestError(f"{where}: `accession` and `version` must be a string and a whole number")
        if not isinstance(images, list):
            raise ManifestError(f"{where}: `images` must be a list")
        parsed = []
        for number, raw in enumerate(images):
            spot = f"{where}, images[{number}]"
            if not isinstance(raw, dict) or not isinstance(raw.get("url"), str) or \
                    not raw["url"].lower().startswith(("http://", "https://")):
                raise ManifestError(f"{spot}: `url` must be an http(s) address")
            manifest = ImageManifest.from_json(raw.get("manifest"), where=spot)
            if raw.get("name") != manifest.image:
                raise ManifestError(f"{spot}: `name` {raw.get('name')!r} is not the manifest's image")
            parsed.append(ImageDownload(manifest.image, raw["url"].rstrip("/"), manifest))
    except ManifestError as exc:
        raise DownloadError(f"{exc}. The site's download manifest is damaged: report it to the archive") from None
    return StudyDownload(accession, version, site, tuple(parsed))


def _inside(folder: Path, key: str) -> Path:
    target = (folder / key).resolve()
    if not target.is_relative_to(folder.resolve()):
        raise DownloadError(f"object key {key!r} leaves the image folder; the manifest is not trusted")
    return target


def _verified(path: Path, entry: ObjectEntry) -> bool:
    try:
        if path.stat().st_size != entry.size:
            return False
    except OSError:
        return False
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(BLOCK):
            sha.update(block)
    return sha.hexdigest() == entry.sha256


def _fetch(session: requests.Session, url: str, target: Path, entry: ObjectEntry, label: str,
           timeout: float, progress: Progress | None) -> int:
    """Stream one object into ``target.partial``, verify, rename; returns bytes fetched."""
    partial = target.with_name(target.name + PARTIAL_SUFFIX)
    target.parent.mkdir(parents=True, exist_ok=True)
    last: str = ""
    for _ in range(RETRIES):
        sha = hashlib.sha256()
        size = 0
        try:
            with session.get(url, stream=True, timeout=timeout) as response:
                if response.status_code in (403, 404, 410):
                    partial.unlink(missing_ok=True)
                    raise DownloadError(f"{label}: {url} answered HTTP {response.status_code}; the archive's "
                                        "store no longer serves it: report it to the archive")
                if response.status_code != 200:
                    last = f"HTTP {response.status_code}"
                    continue
                with open(partial, "wb") as out:
                    for block in response.iter_content(BLOCK):
                        size += len(block)
                        if size > entry.size:
                            break  # more than published: stop reading, it fails below
                        sha.update(block)
                        out.write(block)
                        if progress is not None:
                            progress(len(block))
        except requests.RequestException as exc:
            last = str(exc)
            continue
        if size != entry.size or sha.hexdigest() != entry.sha256:
            partial.unlink(missing_ok=True)
            raise DownloadError(
                f"{label}: {url} sent {size} bytes with SHA-256 {sha.hexdigest()}; the published object is "
                f"{entry.size} bytes with SHA-256 {entry.sha256}. Nothing was kept; run the command again, "
                "and report it to the archive if it repeats"
            )
        os.replace(partial, target)
        return size
    raise DownloadError(f"{label}: {url} could not be downloaded ({last}); check the network and run the "
                        "command again (verified files are kept, the rest resumes)")


def download_study(
    study: StudyDownload, out_dir: Path, *, images: Iterable[str] = (), workers: int = 8,
    timeout: float = 60.0, progress: Progress | None = None, session: requests.Session | None = None,
    on_total: Callable[[int], None] | None = None,
) -> DownloadReport:
    """Every object of the chosen images into ``out_dir/<ACCESSION>/<image>.ome.zarr/``, verified."""
    wanted = list(images)
    known = {i.name: i for i in study.images}
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise InvalidInputError(
            f"{study.accession} has no archived image named {', '.join(map(repr, unknown))}; its images: "
            f"{', '.join(sorted(known)) or 'none'}"
        )
    chosen = [known[n] for n in wanted] if wanted else list(study.images)
    folder = out_dir / study.accession
    report = DownloadReport(study.accession, study.version, folder, images=[i.name for i in chosen])
    session = session or requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=workers, pool_maxsize=workers)
    session.mount("http://", adapter)
    session.mount("https://", adapter)

    jobs: list[tuple[ImageDownload, ObjectEntry, Path]] = []
    for image in chosen:
        image_dir = folder / f"{image.name}.ome.zarr"
        for entry in image.manifest.objects:
            jobs.append((image, entry, _inside(image_dir, entry.key)))
    if on_total is not None:
        on_total(sum(entry.size for _, entry, _ in jobs))
    lock = threading.Lock()

    def one(job: tuple[ImageDownload, ObjectEntry, Path]) -> None:
        image, entry, target = job
        if _verified(target, entry):
            with lock:
                report.kept += 1
            if progress is not None:
                progress(entry.size)
            return
        label = f"{study.accession}, image '{image.name}', object {entry.key}"
        url = f"{image.url}/{quote(entry.key)}"
        fetched = _fetch(session, url, target, entry, label, timeout, progress)
        with lock:
            report.fetched += 1
            report.bytes_fetched += fetched

    for _ in parallel_map(one, jobs, workers):
        pass
    return report


__all__ = ["DownloadError", "DownloadReport", "NotPublished", "StudyDownload", "download_study", "find_study",
           "parse_download_manifest"]
