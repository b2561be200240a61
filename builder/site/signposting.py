"""FAIR Signposting (levels 1 and 2) of study landing pages, and the per-study metadata files they point at.

Level 1: ``<link>`` elements in the head of every study landing page
(:func:`head_links`), so a harvester that reads one page finds the study's
persistent identifier (``cite-as``), its metadata in each format
(``describedby``, with media type and profile), its data (``item``), its
licence, its authors' ORCIDs and its types. Level 2: the same links, with
every image rather than the first few, as a linkset document per study
(``studies/<ACC>/linkset.json``, ``application/linkset+json``, RFC 9264),
announced by the page with ``rel="linkset"``. See https://signposting.org/FAIR/.

Earlier versions' pages (``studies/<ACC>/v<N>/``) signpost themselves: their own ``cite-as`` (version
DOI or page), RO-Crate and linkset, with ``latest-version`` / ``predecessor-version`` /
``successor-version`` (RFC 5829); the latest page links its ``predecessor-version``.

Only studies in the catalog get links, so an embargoed study has none.
A withdrawn study's tombstone keeps its identifier, type and linkset (what
was published and why it went) but no data or metadata formats.

:func:`write_study_metadata` writes the linkset, the RO-Crate
(:mod:`builder.site.rocrate`) and the Croissant description
(:mod:`builder.site.croissant`) of a study next to its page.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from builder.catalog.citation import orcid_url
from builder.catalog.model import CatalogStudy
from builder.core.settings import ArchiveSettings
from builder.site.landing import CROISSANT_PROFILE, ROCRATE_PROFILE, cite_as, findable_doi, site_root

LINKSET_FILE = "linkset.json"
LINKSET_TYPE = "application/linkset+json"
ROCRATE_FILE = "ro-crate-metadata.json"
CROISSANT_FILE = "croissant.json"
SCHEMA_TYPES = ("https://schema.org/Dataset", "https://schema.org/AboutPage")
# Zarr has no registered media type; this is the one zarr-python's docs and OME tools use for a Zarr store.
ZARR_TYPE = "application/x-zarr"
# DataCite's content negotiation (https://support.datacite.org/docs/datacite-content-resolver): the metadata
# of a DataCite DOI in each format, at <resolver>/<media type>/<DOI>.
DATACITE_NEGOTIATION = "https://data.crosscite.org"
DATACITE_FORMATS = (
    ("application/vnd.datacite.datacite+json", "https://schema.datacite.org/meta/kernel-4/"),
    ("application/vnd.datacite.datacite+xml", "https://schema.datacite.org/meta/kernel-4/"),
)
# Level 1 keeps the head short (the page has a size budget); the linkset lists every image.
MAX_HEAD_ITEMS = 10


@dataclass(frozen=True)
class Link:
    """One typed link of a landing page (a ``<link>`` element, a linkset target)."""

    rel: str
    href: str
    type: str | None = None
    profile: str | None = None

    def html(self) -> str:
        attrs = [("rel", self.rel), ("href", self.href)]
        if self.type:
            attrs.append(("type", self.type))
        if self.profile:
            attrs.append(("profile", self.profile))
        return "<link " + " ".join(f'{k}="{html.escape(v, quote=True)}"' for k, v in attrs) + ">"


def version_page(cs: CatalogStudy, settings: ArchiveSettings, version: int) -> CatalogStudy:
    """The entry of an earlier version (builder.catalog.assembly.past_version_entry) placed at its own page,
    ``studies/<ACC>/v<N>/``, so that its identifier, linkset and RO-Crate name that page, not the latest."""
    url_path = f"{cs.url_path}v{version}/"
    return cs.model_copy(update={"url_path": url_path, "url": site_root(settings) + url_path})


def _pages_of_versions(cs: CatalogStudy) -> list[int]:
    # An earlier version has a page when its record read and it was released (the version list's rule).
    return sorted(v.version for v in cs.versions if not v.current and v.title is not None)


def version_links(cs: CatalogStudy, settings: ArchiveSettings, *, latest_path: str | None = None) -> list[Link]:
    """RFC 5829 links between the pages of a study's versions, as FAIR Signposting uses them.

    The latest page (``latest_path`` None) links its ``predecessor-version``; an earlier version's page
    (``cs`` is that version, ``latest_path`` the study's page) links ``latest-version`` and its
    ``predecessor-version`` and ``successor-version`` among the versions that have pages."""
    site = site_root(settings)
    pages = _pages_of_versions(cs)
    if latest_path is None:
        return [Link("predecessor-version", f"{site}{cs.url_path}v{pages[-1]}/")] if pages else []
    links = [Link("latest-version", site + latest_path)]
    earlier = [v for v in pages if v < cs.version]
    later = [v for v in pages if v > cs.version]
    if earlier:
        links.append(Link("predecessor-version", f"{site}{latest_path}v{earlier[-1]}/"))
    links.append(Link("successor-version", f"{site}{latest_path}v{later[0]}/" if later else site + latest_path))
    return links


def study_links(cs: CatalogStudy, settings: ArchiveSettings, *, max_items: int | None = None,
                latest_path: str | None = None) -> list[Link]:
    """Every signposting link of a study's landing page, in a stable order.

    ``latest_path`` marks ``cs`` as an earlier version at its own page (:func:`version_page`): its
    metadata is its own RO-Crate (the API document and Croissant describe the latest version only)."""
    site = site_root(settings)
    folder = site + cs.url_path
    links = [Link("cite-as", cite_as(cs))]
    links += [Link("type", t) for t in SCHEMA_TYPES]
    if not cs.withdrawn:
        if latest_path is None:
            links += [
                Link("describedby", f"{site}api/studies/{cs.accession}.json", "application/json",
                     f"{site}api/index.json"),
                Link("describedby", folder + ROCRATE_FILE, "application/ld+json", ROCRATE_PROFILE),
                Link("describedby", folder + CROISSANT_FILE, "application/ld+json", CROISSANT_PROFILE),
            ]
        else:
            links.append(Link("describedby", folder + ROCRATE_FILE, "application/ld+json", ROCRATE_PROFILE))
        links += datacite_links(cs)
        links.append(Link("license", cs.licence.url))
        for author in cs.study.authors:
            orcid = orcid_url(author.orcid)
            if orcid:
                links.append(Link("author", orcid))
        items = [Link("item", url, ZARR_TYPE) for url in image_urls(cs)]
        links += items if max_items is None else items[:max_items]
    return links + version_links(cs, settings, latest_path=latest_path)


def datacite_links(cs: CatalogStudy) -> list[Link]:
    """DataCite JSON and XML of a study with a findable DOI, as DataCite's content negotiation serves them.

    Not files of the site: the API document already holds both formats (citation_formats), and two more
    files per study are 20,000 files at 10,000 studies, where creating a file costs about as much as
    rendering a page (builder.site.exports). The DOI's registration agency serves the metadata the archive
    registered (builder.curation.doi registers this same export), at a stable URL per format."""
    doi = findable_doi(cs)
    if doi is None:
        return []
    return [Link("describedby", f"{DATACITE_NEGOTIATION}/{media_type}/{doi}", media_type, profile)
            for media_type, profile in DATACITE_FORMATS]


def image_urls(cs: CatalogStudy) -> list[str]:
    """The public address of each image of the study (its archive copy when ingested), deduplicated."""
    seen: dict[str, None] = {}
    for image in cs.images:
        if image.access.https:
            seen.setdefault(image.access.https, None)
    return list(seen)


def head_links(cs: CatalogStudy, settings: ArchiveSettings, *, version: int | None = None) -> str:
    """The ``<link>`` elements of the page head (level 1), plus the linkset (level 2).

    ``version``: ``cs`` is that earlier version's entry, for its page ``studies/<ACC>/v<N>/``."""
    latest_path = None
    if version is not None:
        latest_path, cs = cs.url_path, version_page(cs, settings, version)
    links = study_links(cs, settings, max_items=MAX_HEAD_ITEMS, latest_path=latest_path)
    links.append(Link("linkset", site_root(settings) + cs.url_path + LINKSET_FILE, LINKSET_TYPE))
    return "\n".join(link.html() for link in links)


def archived_links(cs: CatalogStudy, settings: ArchiveSettings, manifest: Any) -> list[Link]:
    """Items for the archive's copies of an ingested study: each image, and the download manifest."""
    from builder.data.archive import archive_public_url
    from builder.site.downloads import DOWNLOAD_JSON

    archived = getattr(manifest, "images", None) or {}
    urls = [archive_public_url(settings, cs.accession, cs.version, image.name)
            for image in cs.images if image.name in archived]
    links = [Link("item", url, ZARR_TYPE) for url in dict.fromkeys(u for u in urls if u)]
    if links:  # the build writes the download manifest of every archived study with a public address
        links.append(Link("item", site_root(settings) + cs.url_path + DOWNLOAD_JSON, "application/json"))
    return links


def linkset(cs: CatalogStudy, settings: ArchiveSettings, manifest: Any = None, *,
            latest_path: str | None = None) -> dict[str, Any]:
    """The study's linkset document (RFC 9264 JSON): one context, the landing page, with every link
    (with the archive's copies and download manifest when the study is ingested). ``latest_path``: ``cs``
    is an earlier version at its own page (:func:`version_page`)."""
    context: dict[str, Any] = {"anchor": cs.url}
    links = study_links(cs, settings, latest_path=latest_path)
    if not cs.withdrawn and latest_path is None:
        known = {link.href for link in links}
        links += [link for link in archived_links(cs, settings, manifest) if link.href not in known]
    for link in links:
        target: dict[str, str] = {"href": link.href}
        if link.type:
            target["type"] = link.type
        if link.profile:
            target["profile"] = link.profile
        context.setdefault(link.rel, []).append(target)
    return {"linkset": [context]}


# The archive store of the build in progress, opened once per worker process (None: nothing ingested).
_ARCHIVE_STORES: dict[tuple[str, str], Any] = {}


def archived_manifest(cs: CatalogStudy, settings: ArchiveSettings, root: Path | None) -> Any:
    """The content manifest of the study's current version in the archive store, or None when not ingested.

    Its sizes and checksums are custody's, verified on ingest; the build reads manifests only, never pixels."""
    from builder.data.archive import archive_store_url, open_archive_store, read_version_manifest
    from builder.data.manifest import ManifestError
    from builder.data.storage import StorageError

    if root is None or cs.withdrawn or not cs.images:
        return None
    key = (str(root), settings.site_url)
    if key not in _ARCHIVE_STORES:
        store = None
        try:
            url = archive_store_url(settings, root)
            if "://" in url or Path(url).is_dir():
                store = open_archive_store(settings, root)
        except StorageError:
            store = None
        _ARCHIVE_STORES[key] = store
    store = _ARCHIVE_STORES[key]
    if store is None:
        return None
    try:
        return read_version_manifest(store, cs.accession, cs.version)
    except (StorageError, ManifestError):
        # Fixity reports a bad manifest; the crate then gives the sizes the inspection measured.
        return None


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"


def study_metadata_documents(cs: CatalogStudy, settings: ArchiveSettings, manifest: Any = None,
                             api_json: str | None = None) -> list[tuple[str, str]]:
    """(site path, text) of a study's linkset, RO-Crate and Croissant description.

    ``manifest``: the version's content manifest, when ingested; ``api_json``: the study's API document text
    (the build has just made it)."""
    from builder.site.croissant import study_croissant
    from builder.site.rocrate import study_crate

    documents = [(cs.url_path + LINKSET_FILE, _dump(linkset(cs, settings, manifest)))]
    if not cs.withdrawn:
        documents.append((cs.url_path + ROCRATE_FILE, _dump(study_crate(cs, settings, manifest))))
        documents.append((cs.url_path + CROISSANT_FILE, _dump(study_croissant(cs, settings, api_json))))
    return documents


def version_metadata_documents(past: CatalogStudy, settings: ArchiveSettings, latest_path: str,
                               manifest: Any = None) -> list[tuple[str, str]]:
    """(site path, text) of an earlier version's linkset and RO-Crate, next to its page ``v<N>/``.

    ``past`` is placed at its page already (:func:`version_page`); ``manifest`` is that version's."""
    from builder.site.rocrate import study_crate

    documents = [(past.url_path + LINKSET_FILE, _dump(linkset(past, settings, manifest, latest_path=latest_path)))]
    if not past.withdrawn:
        documents.append((past.url_path + ROCRATE_FILE, _dump(study_crate(past, settings, manifest))))
    return documents


def write_version_metadata(site_dir: Path, current: CatalogStudy, past_entries: list[CatalogStudy],
                           settings: ArchiveSettings, root: Path | None = None) -> None:
    """Write the linkset and RO-Crate of each earlier version with a page (entries of past_version_entry)."""
    for entry in past_entries:
        placed = version_page(entry, settings, entry.version)
        manifest = archived_manifest(placed, settings, root)
        for relative, text in version_metadata_documents(placed, settings, current.url_path, manifest):
            target = site_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)


def write_study_metadata(site_dir: Path, cs: CatalogStudy, settings: ArchiveSettings, *, manifest: Any = None,
                         api_json: str | None = None) -> None:
    """Write the study's machine-readable descriptions into the site folder, next to its page."""
    for relative, text in study_metadata_documents(cs, settings, manifest, api_json):
        target = site_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)


__all__ = ["CROISSANT_FILE", "DATACITE_FORMATS", "LINKSET_FILE", "LINKSET_TYPE", "ROCRATE_FILE", "Link", "cite_as",
           "datacite_links", "head_links", "linkset", "study_links", "study_metadata_documents", "version_links",
           "version_metadata_documents", "version_page", "write_study_metadata", "write_version_metadata"]
