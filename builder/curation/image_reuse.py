"""A study whose image is another published study's data (same URL, or same content).

Re-publishing someone's CC-BY images as CC0 under a new accession passed
validate and review (issue 16). Each checked study's images are compared with
the images of every other study the archive publishes, by

- the resolved URL (the record's ``url:``, made absolute like the data stage does),
- the metadata fingerprint and the content checksum (``content.tree_checksum``)
  pinned in images.lock (the same digest custody's manifest publishes).

Only earlier studies count as sources: accessions are given in order (`bioarchive
new`; validate refuses a taken or renumbered one), so the lower accession holds
the original and the later one is flagged. A match is a warning for the reviewer (SUB040, both accessions and image
names); under a different licence it is an error (SUB041). A study that
declares the source under ``derived_from:`` (that accession, and that image or
the whole study) gets neither: its sources are checked by
builder.curation.derived (DRV) and cited on both pages.

Cost: one small JSON read per other study (its images.lock) and one record read
per study that matched; records already loaded are reused.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from builder.core.checks import Diagnostic
from builder.core.layout import LOCK_NAME, RECORD_NAME, STUDIES_DIR, image_key
from builder.core.settings import ArchiveSettings
from builder.curation.lock import ImageLock, LockError, parse_lock
from builder.curation.publication_checks import IMAGE_OF_PUBLISHED_STUDY, IMAGE_REUSED_UNDER_OTHER_LICENCE
from builder.model.publication import data_is_public
from builder.model.study import Study
from builder.records.load import RecordResult, RecordSet

MAX_LOCK_BYTES = 4 * 1024 * 1024  # a lock of 3,500 images is ~1.5 MB


@dataclass(frozen=True, slots=True)
class PublishedImage:
    accession: str
    image: str
    how: str  # "the same URL" / "the same content checksum" / "the same metadata fingerprint"


def _norm_url(url: str, settings: ArchiveSettings, root: Path) -> str:
    from builder.data.storage import resolve_url

    try:
        return resolve_url(url, settings, root).rstrip("/")
    except Exception:  # noqa: BLE001 - an unusable URL is reported by the data checks
        return url.rstrip("/")


def _read_lock(folder: Path) -> ImageLock | None:
    path = folder / LOCK_NAME
    try:
        if not path.is_file() or path.is_symlink() or path.stat().st_size > MAX_LOCK_BYTES:
            return None
        return parse_lock(path.read_bytes())
    except (OSError, LockError):
        return None  # the study's own checks report an unreadable lock (SUB019)


class PublishedImages:
    """Every other study's images by URL, fingerprint and content checksum (from their images.lock)."""

    def __init__(self, root: Path, settings: ArchiveSettings, records: RecordSet, today: dt.date) -> None:
        self.root, self.settings, self.today = root, settings, today
        self.loaded = {r.study.accession: r.study for r in records.records if r.study is not None}
        self.by_key: dict[tuple[str, str], list[tuple[str, str]]] = {}  # (kind, value) -> [(accession, image)]
        self._studies: dict[str, Study | None] = {}
        studies = root / STUDIES_DIR
        for folder in sorted(studies.iterdir()) if studies.is_dir() else []:
            lock = _read_lock(folder) if folder.is_dir() and not folder.is_symlink() else None
            if lock is None or lock.accession != folder.name:
                continue
            for name, entry in lock.images.items():
                refs = [("url", _norm_url(entry.url, settings, root)), ("fingerprint", entry.fingerprint)]
                if entry.content is not None:
                    refs.append(("checksum", entry.content.tree_checksum))
                for ref in refs:
                    self.by_key.setdefault(ref, []).append((lock.accession, name))

    def study(self, accession: str) -> Study | None:
        """The current record of a study, when it validates (only for studies that matched)."""
        if accession in self.loaded:
            return self.loaded[accession]
        if accession not in self._studies:
            from builder.records.load import load_records

            path = self.root / STUDIES_DIR / accession / RECORD_NAME
            found = load_records(self.root, self.settings, [path]).records if path.is_file() else []
            self._studies[accession] = found[0].study if found else None
        return self._studies[accession]

    def matches(self, study: Study, lock: ImageLock | None, image: str, url: str) -> list[PublishedImage]:
        refs = [("url", _norm_url(url, self.settings, self.root), "the same URL")]
        entry = lock.images.get(image) if lock is not None else None
        if entry is not None:
            if entry.content is not None:
                refs.append(("checksum", entry.content.tree_checksum, "the same content checksum"))
            refs.append(("fingerprint", entry.fingerprint, "the same metadata fingerprint"))
        found: dict[tuple[str, str], PublishedImage] = {}
        for kind, value, how in refs:
            for accession, name in self.by_key.get((kind, value), []):
                if accession >= study.accession or (accession, name) in found:
                    continue  # the earlier study holds the original (accessions are given in order)
                other = self.study(accession)
                if other is not None and data_is_public(other, self.today):
                    found[(accession, name)] = PublishedImage(accession, name, how)
        return list(found.values())


def _declared(study: Study, source: PublishedImage) -> bool:
    return any(d.accession == source.accession and d.image in (None, source.image) for d in study.derived_from)


def check_image_reuse(root: Path, settings: ArchiveSettings, records: RecordSet, today: dt.date) -> None:
    """Add SUB040/SUB041 to every record whose images are another published study's data."""
    checked = [r for r in records.records if r.study is not None]
    if not checked:
        return
    index = PublishedImages(root, settings, records, today)
    for record in checked:
        record.diagnostics.extend(_findings(record, index))


def _findings(record: RecordResult, index: PublishedImages) -> list[Diagnostic]:
    study = record.study
    assert study is not None
    lock = _read_lock(index.root / STUDIES_DIR / study.accession)
    found = []
    for d, dataset in enumerate(study.datasets):
        for i, image in enumerate(dataset.images):
            loc = ("datasets", d, "images", i, "url")
            line, column = record.position(loc) or (None, None)
            field = f"datasets[{d}].images[{i}].url"
            key = image_key(study.accession, dataset.name, image.name)
            for source in index.matches(study, lock, image.name, image.url):
                if _declared(study, source):
                    continue
                other = index.study(source.accession)
                assert other is not None
                what = (f"image {image.name!r} of {study.accession} (dataset {dataset.name!r}) is the data of "
                        f"image {source.image!r} of the published study {source.accession} ({source.how})")
                extra = {"image": key, "source_accession": source.accession, "source_image": source.image,
                         "match": source.how}
                if other.licence != study.licence:
                    found.append(Diagnostic.of(
                        IMAGE_REUSED_UNDER_OTHER_LICENCE,
                        f"{what}, published under {other.licence}, but this study is licensed {study.licence} and "
                        f"does not declare {source.accession} under derived_from",
                        file=record.file, line=line, column=column, field=field, extra=extra))
                else:
                    found.append(Diagnostic.of(IMAGE_OF_PUBLISHED_STUDY, what, file=record.file, line=line,
                                               column=column, field=field, extra=extra))
    return found
