"""Per-study download manifests: every archived object of a study's current version, with size and SHA-256.

For each listed (released, not withdrawn) study whose current version is
archived (its content manifest exists in the archive store) and whose store
has a public address (``[archive.store] public_url``), the build writes:

==================================  ===================================================
``studies/<ACCESSION>/download.json``  the objects of every image: key, size, SHA-256
``studies/<ACCESSION>/download.txt``   one public URL per object (``wget -x -i``, aria2c)
==================================  ===================================================

``bioarchive download`` (builder.data.download) reads the JSON from the
published site, so a user needs no clone of the archive. The figures come
from the archive's own manifest, which custody wrote after verifying every
copy; the build reads manifests only, never pixel data. Embargoed studies are
not in the catalog, so nothing about them is written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from builder.catalog.assembly import Catalog, CatalogStudy
from builder.core import layout
from builder.core.settings import ArchiveSettings

DOWNLOAD_FORMAT = "bioarchive-download"
DOWNLOAD_FORMAT_VERSION = 1
DOWNLOAD_JSON = "download.json"
DOWNLOAD_LIST = "download.txt"


def download_paths(accession: str) -> tuple[str, str]:
    """Site paths (relative to the root) of a study's download manifest and URL list."""
    return f"studies/{accession}/{DOWNLOAD_JSON}", f"studies/{accession}/{DOWNLOAD_LIST}"


def download_document(entry: CatalogStudy, manifest: Any, public_url: str) -> dict[str, Any]:
    """The download manifest of one study from its version's content manifest (only the images it lists)."""
    base = public_url.rstrip("/")
    names = [img.name for img in entry.images]
    images = []
    for name in names:
        image = manifest.images.get(name)
        if image is None:
            continue  # not archived (yet): the page still shows the source address
        images.append({
            "name": name,
            "url": f"{base}/{layout.archived_image_prefix(entry.accession, entry.version, name)}",
            "manifest": image.to_json(),
        })
    return {
        "format": DOWNLOAD_FORMAT,
        "format_version": DOWNLOAD_FORMAT_VERSION,
        "accession": entry.accession,
        "version": entry.version,
        "study_url": entry.url,
        "total_bytes": sum(i["manifest"]["total_bytes"] for i in images),
        "object_count": sum(len(i["manifest"]["objects"]) for i in images),
        "images": images,
    }


def url_list(document: dict[str, Any]) -> str:
    return "".join(f"{image['url']}/{obj['key']}\n" for image in document["images"]
                   for obj in image["manifest"]["objects"])


def write_download_manifests(catalog: Catalog, settings: ArchiveSettings, root: Path, out_dir: Path) -> int:
    """Write the download manifests of every archived listed study below ``out_dir``; returns how many."""
    from builder.data.archive import archive_store_url, open_archive_store, read_version_manifest
    from builder.data.storage import StorageError

    if not settings.store.public_url:
        return 0  # no public address: nothing a visitor could download from
    try:
        url = archive_store_url(settings, root)
        if "://" not in url and not Path(url).is_dir():
            return 0  # nothing ingested yet
        store = open_archive_store(settings, root)
    except StorageError:
        return 0
    written = 0
    for entry in catalog.listed_studies:
        if entry.withdrawn or not entry.images:
            continue
        manifest = read_version_manifest(store, entry.accession, entry.version)
        if manifest is None:
            continue
        document = download_document(entry, manifest, settings.store.public_url)
        if not document["images"]:
            continue
        json_path, list_path = download_paths(entry.accession)
        target = out_dir / json_path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(document, sort_keys=True, separators=(",", ":")) + "\n", encoding="utf-8")
        (out_dir / list_path).write_text(url_list(document), encoding="utf-8")
        written += 1
    return written


__all__ = ["DOWNLOAD_FORMAT", "DOWNLOAD_FORMAT_VERSION", "download_document", "download_paths", "url_list",
           "write_download_manifests"]
