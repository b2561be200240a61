"""The catalog: every published study with the facts the site and exports need.

Pure: studies + image facts + today's date in, one :class:`Catalog` out. No
files, no network. What is published follows the publication policy in
:mod:`builder.model.publication`, applied here to every entry and version:

- a study whose ``release_date`` lies after ``today`` is left out entirely, so
  no page, citation, export, feed entry or search entry can ever mention it;
- a withdrawn study stays as a tombstone (accession, metadata, citation and
  withdrawal reason) but loses its image access links, thumbnail and facet
  counts, so nothing invites reuse of data that was taken down;
- an earlier version gets an entry of its own (:func:`past_version_entry`)
  only when it was itself released.

Every later stage (pages, exports, citations, the search index) reads the
catalog and never the raw records, so the embargo rule cannot be bypassed by a
side path.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter, defaultdict
from typing import Any
from urllib.parse import quote

from builder.catalog.citation import citation_text
from builder.catalog.derivation import link_derived_studies, source_links
from builder.catalog.model import (  # re-exported: the catalog's types are imported from here too
    CATALOG_FORMAT_VERSION,
    FACETS,
    KNOWN_LICENCES,
    PRIVATE_STUDY_FIELDS,
    ArchiveInfo,
    Catalog,
    CatalogImage,
    CatalogStats,
    CatalogStudy,
    FacetValue,
    ImageAccess,
    Licence,
    PastVersion,
    VersionEntry,
    ViewerLink,
    licence_info,
)
from builder.catalog.registry import StudyDois, UsageSummary
from builder.core import layout
from builder.core.layout import image_key
from builder.core.settings import ArchiveSettings
from builder.core.text import markdown_to_text, truncate_text
from builder.model.image import ImageFacts
from builder.model.publication import Visibility, is_public, published_on, study_visibility, version_visibility
from builder.model.study import ImageRef, OntologyTerm, Study

# Viewers that open an OME-Zarr straight from an HTTPS URL in the browser.
VIZARR_URL = "https://hms-dbmi.github.io/vizarr/"
NEUROGLANCER_URL = "https://neuroglancer-demo.appspot.com/"
NGFF_VALIDATOR_URL = "https://ome.github.io/ome-ngff-validator/"

SUMMARY_CHARS = 240


# ---------------------------------------------------------------- pure helpers

def _s3_to_https(s3_url: str, settings: ArchiveSettings) -> str | None:
    """Public HTTPS address of an s3:// object, when one can be known."""
    bucket, _, key = s3_url[len("s3://"):].partition("/")
    if not bucket:
        return None
    if settings.s3_endpoint_url:
        endpoint = settings.s3_endpoint_url.rstrip("/")
        # Viewers run in the browser and need HTTPS; a plain-HTTP endpoint (a
        # local test server) has no public address to offer.
        if not endpoint.lower().startswith("https://"):
            return None
        return f"{endpoint}/{bucket}/{key}" if key else f"{endpoint}/{bucket}"
    if "." in bucket:
        # Dotted bucket names break the TLS certificate of virtual-hosted URLs.
        return f"https://s3.amazonaws.com/{bucket}/{key}"
    return f"https://{bucket}.s3.amazonaws.com/{key}"


def image_access(url: str, settings: ArchiveSettings) -> ImageAccess:
    """All the addresses one image can be read from, given its record URL."""
    lower = url.lower()
    if lower.startswith("s3://"):
        return ImageAccess(s3=url, https=_s3_to_https(url, settings))
    if lower.startswith("https://"):
        return ImageAccess(https=url)
    relative = url.strip("/")
    root = settings.storage_root.rstrip("/")
    public = settings.storage_public_url.rstrip("/")
    s3 = f"{root}/{relative}" if root.lower().startswith("s3://") else None
    https: str | None = None
    if public.lower().startswith("https://"):
        https = f"{public}/{relative}"
    elif root.lower().startswith("https://"):
        https = f"{root}/{relative}"
    elif s3 is not None:
        https = _s3_to_https(s3, settings)
    return ImageAccess(s3=s3, https=https, relative=relative)


def archived_version_of(accession: str, name: str, facts: ImageFacts | None) -> int | None:
    """The version whose archive copy the facts were read from (the build takes ingested images' facts
    from the archive store and sets their URL to the copy), or None for a depositor's copy."""
    if facts is None:
        return None
    pattern = rf"(?:^|/){re.escape(accession)}/v([0-9]{{1,9}})/{re.escape(name)}\.ome\.zarr$"
    found = re.search(pattern, facts.url.rstrip("/"))
    return int(found.group(1)) if found else None


def archive_access(source_url: str, accession: str, version: int, name: str, settings: ArchiveSettings) -> ImageAccess:
    """Where readers get the archive's copy of an image; the record's URL stays as provenance."""
    from builder.data.archive import archive_public_url  # the store's public address: one place

    prefix = layout.archived_image_prefix(accession, version, name)
    store = settings.store.url.rstrip("/")
    s3 = f"{store}/{prefix}" if store.lower().startswith("s3://") else None
    https = archive_public_url(settings, accession, version, name)
    if https is None and s3 is not None:
        https = _s3_to_https(s3, settings)
    return ImageAccess(s3=s3, https=https, relative=prefix, archived_version=version, source=source_url)


def viewer_links(https_url: str | None, facts: ImageFacts | None, name: str) -> list[ViewerLink]:
    """Links that open the image in browser viewers; none without HTTPS."""
    if not https_url:
        return []
    source = quote(https_url, safe=":/")
    links = [ViewerLink(name="OME-NGFF validator", url=f"{NGFF_VALIDATOR_URL}?source={source}")]
    if facts is None or facts.kind != "plate":
        links.insert(0, ViewerLink(name="vizarr", url=f"{VIZARR_URL}?source={source}"))
        # NGFF 0.5 is stored as Zarr v3, which Neuroglancer reads as "zarr3://".
        scheme = "zarr3" if facts is not None and facts.ngff_version.startswith("0.5") else "zarr"
        state = {"layers": [{"type": "image", "source": f"{scheme}://{https_url}", "name": name}]}
        fragment = quote(json.dumps(state, separators=(",", ":")), safe="")
        links.insert(1, ViewerLink(name="Neuroglancer", url=f"{NEUROGLANCER_URL}#!{fragment}"))
    return links


def python_snippet(access: ImageAccess, facts: ImageFacts | None, settings: ArchiveSettings) -> str:
    """A runnable Python snippet that opens the image with zarr.

    Every value is written with repr(), which always yields a valid Python
    string literal, so a hostile URL cannot break out of the string.
    """
    lines = ['# pip install "zarr>=3.1" fsspec aiohttp s3fs', "import zarr", ""]
    if access.https:
        lines.append(f'group = zarr.open_group({access.https!r}, mode="r")')
    elif access.s3:
        options: dict[str, Any] = {"anon": True}
        if settings.s3_endpoint_url:
            options["endpoint_url"] = settings.s3_endpoint_url
        lines.append(f'group = zarr.open_group({access.s3!r}, mode="r", storage_options={options!r})')
    else:
        # A local folder (the storage root, or the archive store when archived): relative to a clone.
        root = settings.store.url if access.archived_version is not None else settings.storage_root
        path = f"{root.rstrip('/')}/{access.relative}"
        lines.append("# the path is inside a clone of the archive's repository")
        lines.append(f'group = zarr.open_group({path!r}, mode="r")')
    lines.append("print(group.attrs.asdict())  # the OME-NGFF metadata")
    if facts is not None and facts.kind == "plate":
        lines.append("# a plate: wells are groups named <row>/<column>, fields below them")
    else:
        level = facts.levels[0].path if facts is not None and facts.levels else "0"
        axes = ", ".join(a.name for a in facts.axes) if facts is not None and facts.axes else None
        comment = f"  # full resolution, axes ({axes})" if axes else "  # full resolution"
        lines.append(f"image = group[{level!r}]{comment}")
        lines.append("print(image.shape, image.dtype)")
    return "\n".join(lines) + "\n"


def _catalog_image(accession: str, dataset_name: str, dataset_title: str, ref: ImageRef,
                   images: dict[str, ImageFacts], settings: ArchiveSettings) -> CatalogImage:
    key = image_key(accession, dataset_name, ref.name)
    facts = images.get(key)
    archived = archived_version_of(accession, ref.name, facts)
    if archived is not None and facts is not None:
        access = archive_access(ref.url, accession, archived, ref.name, settings)
        # The published facts name the copy readers are pointed at.
        facts = facts.model_copy(update={"url": access.https or access.s3 or access.relative})
    else:
        access = image_access(ref.url, settings)
    if facts is not None and archived is None and "://" not in facts.url:
        # A local storage root resolves to a path on the build machine; the
        # catalog is published, so it keeps the path below the storage root.
        facts = facts.model_copy(update={"url": access.relative or ref.url})
    return CatalogImage(
        dataset=dataset_name,
        dataset_title=dataset_title,
        name=ref.name,
        title=ref.title,
        kind=ref.kind.value,
        ref=key,
        facts=facts,
        access=access,
        viewers=viewer_links(access.https, facts, ref.title or ref.name),
        python_snippet=python_snippet(access, facts, settings),
    )


def _versions(study: Study, history: list[PastVersion], today: dt.date) -> list[VersionEntry]:
    changes = {c.version: c.description for c in study.changelog}
    dates = {c.version: c.date for c in study.changelog}
    entries: dict[int, VersionEntry] = {}
    for past in sorted(history, key=lambda p: (p.version, p.date, p.commit)):
        if version_visibility(past.version, past.study, study, today) in (None, Visibility.EMBARGOED):
            continue
        entries[past.version] = VersionEntry(
            version=past.version,
            date=published_on(past.date, past.study.release_date) if past.study is not None else past.date,
            commit=past.commit,
            title=past.study.title if past.study is not None else None,
            changes=changes.get(past.version),
        )
    latest_commit = None
    current_date = dates.get(study.version)
    matching = [p for p in history if p.version == study.version]
    if matching:
        latest = max(matching, key=lambda p: (p.date, p.commit))
        latest_commit = latest.commit
        current_date = current_date or latest.date
    entries[study.version] = VersionEntry(
        version=study.version,
        date=published_on(current_date, study.release_date) if current_date else study.release_date,
        commit=latest_commit,
        title=study.title,
        changes=changes.get(study.version),
        current=True,
    )
    return sorted(entries.values(), key=lambda e: e.version, reverse=True)


def catalog_study(study: Study, images: dict[str, ImageFacts], settings: ArchiveSettings, today: dt.date,
                  history: list[PastVersion] | None = None, *, url_path: str | None = None,
                  dois: StudyDois | None = None, usage: UsageSummary | None = None) -> CatalogStudy:
    """The catalog entry of one public study (the caller checks :func:`~builder.model.publication.is_public`).

    ``url_path`` places the entry elsewhere than "studies/<ACCESSION>/", e.g.
    an earlier version's own page "studies/<ACCESSION>/v1/", so that its
    citation and JSON-LD point at that version.
    """
    withdrawn = study_visibility(study, today) is Visibility.TOMBSTONE
    all_images = [
        _catalog_image(study.accession, d.name, d.title, ref, images, settings) for d, ref in study.images()
    ]
    facts = [img.facts for img in all_images if img.facts is not None]
    thumb = next((f for f in facts if f.thumbnails.get("card")), None)
    site = settings.site_url if settings.site_url.endswith("/") else settings.site_url + "/"
    url_path = url_path or f"studies/{study.accession}/"
    entry = CatalogStudy(
        accession=study.accession,
        version=study.version,
        url_path=url_path,
        url=site + url_path,
        study=study,
        images=[] if withdrawn else all_images,
        organisms=study.organisms,
        imaging_methods=study.imaging_methods,
        scales=sorted({s.value for s in study.biological_scale}),
        data_type=study.data_type.value,
        licence=licence_info(study.licence),
        release_date=study.release_date,
        year=study.release_date.year,
        image_count=len(all_images),
        total_bytes=sum(f.size_bytes or 0 for f in facts),
        card_thumbnail=None if withdrawn or thumb is None else thumb.thumbnails["card"],
        card_thumbnail_alt=None if withdrawn or thumb is None else (thumb.thumbnail_alt or study.title),
        summary=truncate_text(markdown_to_text(study.description), SUMMARY_CHARS),
        withdrawn=withdrawn,
        withdrawal_reason=study.withdrawal_reason if withdrawn else None,
        versions=_versions(study, history or [], today),
    )
    if dois is not None:
        # Only findable DOIs reach here (builder.catalog.registry.findable_dois).
        entry.concept_doi = dois.concept
        entry.version_dois = dict(dois.versions)
        entry.doi = dois.for_version(study.version) or dois.concept
    entry.usage = usage
    entry.citation = citation_text(entry, settings)
    return entry


def past_version_entry(current: CatalogStudy, past: PastVersion, images: dict[str, ImageFacts],
                       settings: ArchiveSettings, today: dt.date,
                       published: dict[str, CatalogStudy] | None = None) -> CatalogStudy | None:
    """The entry of an earlier version for its own page, or None when that version has none.

    A version without a readable record, or never released, has no page; a
    withdrawal of the current version makes every earlier one a tombstone too.
    ``published`` (the catalog's studies by accession) gives a derived study's
    earlier version the sources its own record named.
    """
    visibility = version_visibility(past.version, past.study, current.study, today)
    if past.study is None or visibility in (None, Visibility.EMBARGOED):
        return None
    dois = StudyDois(concept=current.concept_doi, versions=current.version_dois) if current.concept_doi else None
    entry = catalog_study(past.study, images, settings, today, dois=dois)
    if visibility is Visibility.TOMBSTONE:
        entry.withdrawn = True
        entry.withdrawal_reason = current.withdrawal_reason
        entry.images = []
        entry.card_thumbnail = None
    elif published is not None:
        entry.based_on = source_links(entry, published)
    entry.versions = current.versions
    return entry


def _term_facet(terms: list[OntologyTerm]) -> list[FacetValue]:
    """Count studies per term id; the label shown is the most used one."""
    counts: Counter[str] = Counter(t.id for t in terms)
    labels: dict[str, Counter[str]] = defaultdict(Counter)
    for t in terms:
        labels[t.id][t.label] += 1
    values = []
    for term_id, count in counts.items():
        label = min(labels[term_id].items(), key=lambda kv: (-kv[1], kv[0]))[0]
        values.append(FacetValue(term_id, label, count))
    return sorted(values, key=lambda v: (-v.count, v.label.casefold(), v.value))


def _plain_facet(values: list[tuple[str, str]]) -> list[FacetValue]:
    counts = Counter(values)
    return sorted((FacetValue(v, label, n) for (v, label), n in counts.items()),
                  key=lambda f: (-f.count, f.label.casefold(), f.value))


def compute_facets(studies: list[CatalogStudy]) -> dict[str, list[FacetValue]]:
    """Facet values with the number of studies carrying each (one per study)."""
    years = Counter(str(s.year) for s in studies)
    return {
        "organism": _term_facet([t for s in studies for t in s.organisms]),
        "imaging_method": _term_facet([t for s in studies for t in s.imaging_methods]),
        "biological_scale": _plain_facet([(v, v) for s in studies for v in s.scales]),
        "data_type": _plain_facet([(s.data_type, s.data_type) for s in studies]),
        "licence": _plain_facet([(s.licence.id, s.licence.name) for s in studies]),
        # Years read best in time order, newest first.
        "release_year": [FacetValue(y, y, n) for y, n in sorted(years.items(), reverse=True)],
    }


def compute_stats(studies: list[CatalogStudy], withdrawn: int) -> CatalogStats:
    return CatalogStats(
        studies=len(studies),
        withdrawn=withdrawn,
        images=sum(s.image_count for s in studies),
        organisms=len({t.id for s in studies for t in s.organisms}),
        imaging_methods=len({t.id for s in studies for t in s.imaging_methods}),
        total_bytes=sum(s.total_bytes for s in studies),
    )


def build_catalog(
    studies: list[Study],
    images: dict[str, ImageFacts],
    settings: ArchiveSettings,
    today: dt.date,
    *,
    history: dict[str, list[PastVersion]] | None = None,
    dois: dict[str, StudyDois] | None = None,
    usage: dict[str, UsageSummary] | None = None,
) -> Catalog:
    """The published catalog as of ``today``.

    ``images`` maps "<ACCESSION>/<dataset>/<image>" to what the data stage
    learned; images it could not read are simply absent. ``history`` maps an
    accession to its earlier versions; ``dois`` to its findable DOIs and
    ``usage`` to its reuse counts (both read by builder.catalog.registry).
    Only public studies get them: an embargoed study has no DOI or count here.
    """
    seen: set[str] = set()
    for study in studies:
        if study.accession in seen:
            raise ValueError(f"accession {study.accession} appears in more than one record")
        seen.add(study.accession)

    released = [s for s in studies if is_public(s, today)]
    dois, usage = dois or {}, usage or {}
    entries = [catalog_study(s, images, settings, today, (history or {}).get(s.accession),
                             dois=dois.get(s.accession), usage=usage.get(s.accession)) for s in released]
    entries.sort(key=lambda e: (e.release_date, e.accession), reverse=True)
    link_derived_studies(entries)  # derived studies and their sources, both ways
    listed = [e for e in entries if not e.withdrawn]
    return Catalog(
        generated=today,
        archive=ArchiveInfo(
            name=settings.name,
            short_name=settings.short_name,
            publisher=settings.publisher,
            site_url=settings.site_url,
            repo_url=settings.repo_url,
        ),
        studies=entries,
        stats=compute_stats(listed, withdrawn=len(entries) - len(listed)),
        facets=compute_facets(listed),
    )


__all__ = [
    # the catalog's types, defined in builder.catalog.model
    "CATALOG_FORMAT_VERSION", "FACETS", "KNOWN_LICENCES", "PRIVATE_STUDY_FIELDS", "ArchiveInfo", "Catalog",
    "CatalogImage", "CatalogStats", "CatalogStudy", "FacetValue", "ImageAccess", "Licence", "PastVersion",
    "VersionEntry", "ViewerLink", "licence_info",
    # the assembly
    "NEUROGLANCER_URL", "NGFF_VALIDATOR_URL", "SUMMARY_CHARS", "VIZARR_URL", "build_catalog", "catalog_study",
    "compute_facets", "compute_stats", "image_access", "past_version_entry", "python_snippet", "viewer_links",
]
