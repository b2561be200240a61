"""Upload a study's converted images to the staging S3 bucket: resumable, verified by checksum.

Each local file is compared with the object already in the bucket (size and
ETag, which S3 computes as the MD5 of the object, or of its parts for a
multipart upload of known part size): equal objects are skipped, so an
interrupted upload resumes where it stopped, and every object sent is checked
again after the upload. Only then are the record's image URLs rewritten in
place, at the spans the archive's YAML reader gives for each `url:` value, so
the depositor's comments, order and layout stay exactly as written.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from builder.convert.errors import ConversionError
from builder.convert.record_text import read_record
from builder.core.settings import ArchiveSettings
from builder.records.yaml_source import YamlDocument

PART_BYTES = 8 * 2**20  # multipart part size we ask s3fs for; the local ETag is computed with the same


@dataclass
class UploadReport:
    images: dict[str, str] = field(default_factory=dict)  # image name -> new URL
    sent: int = 0
    skipped: int = 0
    bytes_sent: int = 0


def _part_size(size: int) -> int:
    from s3fs.core import calculate_chunksize

    return calculate_chunksize(size, chunksize=PART_BYTES)  # s3fs raises it for files of over 10,000 parts


def expected_etag(path: Path) -> str:
    """The ETag S3 gives the object s3fs uploads from ``path``: MD5 of a single PUT, or of the part MD5s."""
    size = path.stat().st_size
    part = _part_size(size)
    with open(path, "rb") as f:
        if size < min(5 * 2**30, 2 * part):  # s3fs sends these in one PUT
            digest = hashlib.md5(usedforsecurity=False)
            while block := f.read(2**20):
                digest.update(block)
            return digest.hexdigest()
        digests = []
        while block := f.read(part):
            digests.append(hashlib.md5(block, usedforsecurity=False).digest())
    return f"{hashlib.md5(b''.join(digests), usedforsecurity=False).hexdigest()}-{len(digests)}"


def local_images(study: dict[str, Any], folder: Path) -> dict[str, Path]:
    """Image name -> local OME-Zarr folder, for every image whose URL is a path that exists in the study folder."""
    found = {}
    datasets = study.get("datasets")
    for dataset in datasets if isinstance(datasets, list) else []:
        images = dataset.get("images") if isinstance(dataset, dict) else None
        for image in images if isinstance(images, list) else []:
            if not isinstance(image, dict) or not isinstance(image.get("url"), str):
                continue
            url = image["url"]
            if "://" in url:
                continue
            path = (folder / url).resolve()
            if path.is_dir() and path.is_relative_to(folder.resolve()):
                found[str(image["name"])] = path
    return found


def _filesystem(endpoint_url: str | None):
    import s3fs

    options: dict[str, Any] = {"client_kwargs": {"endpoint_url": endpoint_url}} if endpoint_url else {}
    return s3fs.S3FileSystem(anon=False, **options)


def upload_study(
    folder: Path,
    destination: str,
    *,
    endpoint_url: str | None = None,
    progress: bool = False,
    settings: ArchiveSettings | None = None,
) -> UploadReport:
    """Upload the study's local images below ``destination`` (s3://bucket/prefix) and rewrite its record."""
    record = folder / "study.yaml"
    try:
        text = record.read_text("utf-8").removeprefix("\ufeff")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConversionError("CNV013", str(record), f"{type(exc).__name__}: {exc}") from None
    doc = read_record(text, str(record), settings, spans=True)
    study = doc.data
    accession = str(study.get("accession") or "")
    if not ACCESSION_KEY.fullmatch(accession):
        raise ConversionError(
            "CNV013", str(record), f"accession {accession!r} is not an accession like OIA-000042 (letters, digits, -)"
        )
    images = local_images(study, folder)
    if not images:
        raise ConversionError(
            "UPL002",
            str(record),
            f"no image URL of the record points at a converted image in {folder.name}/ (e.g. images/<name>.ome.zarr)",
        )
    if not destination.startswith("s3://") or len(destination) <= 5:
        raise ConversionError("UPL003", destination, "the staging area must be an s3://bucket/prefix address")
    base = destination[5:].rstrip("/") + f"/{accession}"
    fs = _filesystem(endpoint_url)
    files = [(name, path, p) for name, path in images.items() for p in sorted(path.rglob("*")) if p.is_file()]
    total = sum(p.stat().st_size for _, _, p in files)
    report = UploadReport()
    bar = _progress(progress)
    task = bar.add_task("uploading", total=total) if bar else None
    try:
        if bar:
            bar.start()
        for _name, path, file in files:
            key = f"{base}/{path.name}/{file.relative_to(path).as_posix()}"
            etag = expected_etag(file)
            if _matches(fs, key, file, etag):
                report.skipped += 1
            else:
                try:
                    fs.put_file(str(file), key, chunksize=_part_size(file.stat().st_size))
                except Exception as exc:  # noqa: BLE001 - credentials, network, bucket policy: one clear message
                    raise ConversionError("UPL003", f"s3://{key}", f"{type(exc).__name__}: {exc}") from None
                verify_uploaded(fs, key, file, etag)
                report.sent += 1
                report.bytes_sent += file.stat().st_size
            if bar:
                bar.advance(task, file.stat().st_size)
    finally:
        if bar:
            bar.stop()
    for name, path in images.items():
        report.images[name] = f"s3://{base}/{path.name}"
    record.write_text(rewrite_urls(text, doc, report.images), encoding="utf-8")
    return report


def verify_uploaded(fs, key: str, file: Path, etag: str) -> None:
    """UPL001 unless the object now at ``key`` has the local file's size and ETag (read fresh, not cached)."""
    if not _matches(fs, key, file, etag, refresh=True):
        raise ConversionError("UPL001", f"s3://{key}", f"after upload the object's size/ETag differ from {file}")


def _matches(fs, key: str, file: Path, etag: str, refresh: bool = False) -> bool:
    try:
        info = fs.info(key, refresh=True) if refresh else fs.info(key)
    except FileNotFoundError:
        return False
    except Exception as exc:  # noqa: BLE001 - botocore raises many types; name the object
        raise ConversionError("UPL003", f"s3://{key}", f"{type(exc).__name__}: {exc}") from None
    remote = str(info.get("ETag") or info.get("etag") or "").strip('"')
    return int(info.get("size", -1)) == file.stat().st_size and remote == etag


# A URL written as a plain YAML scalar needs no quotes; anything else is written double-quoted (JSON escaping).
_PLAIN_URL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~/:+-]*")
ACCESSION_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")  # one key segment; validate checks the real pattern


def rewrite_urls(text: str, doc: YamlDocument, new_urls: dict[str, str]) -> str:
    """The record text with each uploaded image's `url:` value replaced, everything else byte for byte.

    ``doc`` is the reader's parse of ``text`` with spans; only the value span of
    `datasets[i].images[j].url` changes, so comments, order and quoting style elsewhere stay.
    """
    study = doc.data if isinstance(doc.data, dict) else {}
    changes: list[tuple[int, int, str]] = []
    for i, dataset in enumerate(study.get("datasets") or []):
        if not isinstance(dataset, dict):
            continue
        for j, image in enumerate(dataset.get("images") or []):
            if not isinstance(image, dict) or str(image.get("name")) not in new_urls:
                continue
            span = doc.value_spans.get(("datasets", i, "images", j, "url"))
            if span is None or span[2] != "scalar":
                continue
            url = new_urls[str(image["name"])]
            changes.append((span[0], span[1], url if _PLAIN_URL.fullmatch(url) else json.dumps(url)))
    for start, end, replacement in sorted(changes, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def _progress(enabled: bool):
    if not enabled:
        return None
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
