"""Machine-readable exports of the catalog, written next to the site's pages.

:func:`write_exports` writes, below ``out_dir``:

======================================  ==============================================
``api/index.json``                      what the API files are and the fields they hold
``api/studies.json``                    one summary per study (``API_FORMAT_VERSION``)
``api/studies/<ACCESSION>.json``        the whole record plus derived facts and image facts
``catalog.csv``                         one row per study, safe to open in a spreadsheet
``sitemap.xml``                         every study page plus the pages the caller lists
``feed.xml``                            Atom feed of the newest releases
``robots.txt``                          allows everything, names the sitemap
``search/catalog-index.js``             the browser decoder of the compact search index
======================================  ==============================================

Citations of a study in BibTeX, RIS, CSL-JSON, CITATION.cff and DataCite JSON
and XML (:func:`citation_formats`) are in its API document
(``citation_formats``), from which the download buttons of its page make the
files in the browser (``assets/javascripts/archive.js``); they are not files
of their own: six small files per study were 60,000 files at 10,000 studies,
and creating a file cost about as much as rendering a page on the machines
that build the site (and inlining them in the page would add ~14 KB to it).

Only what the catalog holds is exported, so embargoed studies appear nowhere.
Withdrawn studies stay as tombstones: their summary, citations and a
record without its datasets (no image locations), flagged ``withdrawn``.
Each file is written to a temporary name and renamed into place, so a reader
never sees half a file. Given the same catalog the bytes are the same.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from builder.catalog.assembly import PRIVATE_STUDY_FIELDS, Catalog, CatalogStudy
from builder.catalog.citation import (
    to_bibtex,
    to_cff,
    to_csl_json,
    to_datacite,
    to_datacite_xml,
    to_ris,
)
from builder.core.settings import ArchiveSettings
from builder.core.text import clean, one_line
from builder.site.search_index import decoder_script

API_FORMAT_VERSION = 2  # 2: citation_formats in study documents replace the citation_files links
FEED_ENTRIES = 50
SITEMAP_MAX_URLS = 50_000  # the sitemaps.org limit per file
ATOM_NS = "http://www.w3.org/2005/Atom"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
# Spreadsheets run cells that start with these as formulas (OWASP: CSV injection).
CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")

CSV_COLUMNS = (
    "accession", "version", "status", "title", "release_date", "licence", "organisms", "organism_ids",
    "imaging_methods", "imaging_method_ids", "biological_scales", "data_type", "image_count", "total_bytes",
    "authors", "keywords", "url", "withdrawal_reason",
)


# ---------------------------------------------------------------- citations

@dataclass(frozen=True)
class CitationFormat:
    key: str  # the key in an API document's citation_formats
    label: str  # the download button's text
    file_name: str  # of the download; {accession} is the study's
    media_type: str


CITATION_FORMATS: tuple[CitationFormat, ...] = (
    CitationFormat("bibtex", "BibTeX", "{accession}.bib", "application/x-bibtex"),
    CitationFormat("ris", "RIS", "{accession}.ris", "application/x-research-info-systems"),
    CitationFormat("csl_json", "CSL-JSON", "{accession}.csl.json", "application/vnd.citationstyles.csl+json"),
    # Tools (cffconvert, GitHub) look for this exact name.
    CitationFormat("cff", "Citation File Format", "CITATION.cff", "application/x-yaml"),
    CitationFormat("datacite_json", "DataCite JSON", "{accession}.datacite.json",
                   "application/vnd.datacite.datacite+json"),
    CitationFormat("datacite_xml", "DataCite XML", "{accession}.datacite.xml",
                   "application/vnd.datacite.datacite+xml"),
)


def citation_formats(cs: CatalogStudy, settings: ArchiveSettings) -> dict[str, Any]:
    """An API document's citation_formats (keys of CITATION_FORMATS): the text
    formats as strings, CSL-JSON and DataCite JSON as JSON values."""
    datacite = to_datacite(cs, settings, validate=False)  # tests validate; 6 ms a study adds up
    return {
        "bibtex": to_bibtex(cs, settings),
        "ris": to_ris(cs, settings),
        "csl_json": [to_csl_json(cs, settings)],
        "cff": to_cff(cs, settings),
        "datacite_json": datacite,
        "datacite_xml": to_datacite_xml(cs, settings, data=datacite),
    }


def citation_links(accession: str) -> list[tuple[CitationFormat, str]]:
    """(format, download file name) of each citation download of a study page."""
    return [(f, f.file_name.format(accession=accession)) for f in CITATION_FORMATS]


# ---------------------------------------------------------------- JSON API

def _json(value: Any, *, indent: int | None = None) -> str:
    separators = (",", ": ") if indent else (",", ":")
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=indent, separators=separators) + "\n"


def _terms(terms: Iterable[Any]) -> list[dict[str, str]]:
    return [{"id": t.id, "label": t.label} for t in terms]


def study_summary(cs: CatalogStudy) -> dict[str, Any]:
    """The entry of one study in api/studies.json."""
    return {
        "accession": cs.accession,
        "version": cs.version,
        "title": cs.study.title,
        "summary": cs.summary,
        "release_date": cs.release_date.isoformat(),
        "year": cs.year,
        "status": "withdrawn" if cs.withdrawn else "published",
        "licence": cs.licence.id,
        "organisms": _terms(cs.organisms),
        "imaging_methods": _terms(cs.imaging_methods),
        "biological_scales": cs.scales,
        "data_type": cs.data_type,
        "image_count": cs.image_count,
        "total_bytes": cs.total_bytes,
        "authors": [a.name for a in cs.study.authors],
        "url": cs.url,
        "api_url": f"api/studies/{cs.accession}.json",
        "card_thumbnail": cs.card_thumbnail,
        "doi": cs.doi,
        # Reuse counts over the months the archive shows (COUNTER; all access methods).
        "views": cs.usage.total.views if cs.usage else 0,
        "downloads": cs.usage.total.downloads if cs.usage else 0,
        "highly_used": bool(cs.usage and cs.usage.highly_used),
    }


def study_document(cs: CatalogStudy, settings: ArchiveSettings) -> dict[str, Any]:
    """api/studies/<ACCESSION>.json: the record plus everything derived from it."""
    # A tombstone keeps who, what and why, never where the data was.
    private = {**PRIVATE_STUDY_FIELDS, "datasets": True} if cs.withdrawn else PRIVATE_STUDY_FIELDS
    record = cs.study.model_dump(mode="json", exclude=private)
    return {
        "format_version": API_FORMAT_VERSION,
        "accession": cs.accession,
        "version": cs.version,
        "status": "withdrawn" if cs.withdrawn else "published",
        "withdrawal_reason": cs.withdrawal_reason,
        "url": cs.url,
        "doi": cs.doi,
        "concept_doi": cs.concept_doi,
        "version_dois": {str(v): d for v, d in sorted(cs.version_dois.items())},
        "usage": cs.usage.model_dump(mode="json") if cs.usage else None,
        "citation": cs.citation,
        "citation_formats": citation_formats(cs, settings),
        "derived": {
            "release_date": cs.release_date.isoformat(),
            "year": cs.year,
            "licence": cs.licence.model_dump(mode="json"),
            "organisms": _terms(cs.organisms),
            "imaging_methods": _terms(cs.imaging_methods),
            "biological_scales": cs.scales,
            "data_type": cs.data_type,
            "image_count": cs.image_count,
            "total_bytes": cs.total_bytes,
            "summary": cs.summary,
            "card_thumbnail": cs.card_thumbnail,
        },
        "images": [image.model_dump(mode="json") for image in cs.images],
        "versions": [v.model_dump(mode="json") for v in cs.versions],
        # Derived data both ways (builder.catalog.derivation): the sources, and the studies built on this one.
        "based_on": [link.model_dump(mode="json") for link in cs.based_on],
        "derived_studies": [link.model_dump(mode="json") for link in cs.derived_studies],
        "record": record,
    }


def api_description(catalog: Catalog) -> dict[str, Any]:
    """api/index.json: a description of the JSON files, for people and programs."""
    return {
        "format_version": API_FORMAT_VERSION,
        "archive": catalog.archive.model_dump(mode="json"),
        "generated": catalog.generated.isoformat(),
        "files": {
            "api/studies.json": "Every released study, newest first: {format_version, generated, count, studies}. "
                                "Withdrawn studies are listed with status 'withdrawn'.",
            "api/studies/<ACCESSION>.json": "One study: the record as deposited (schema/study.schema.json), "
                                            "derived facts, image facts and access URLs, versions, "
                                            "based_on (the studies it was derived from) and derived_studies "
                                            "(the studies built on it), the "
                                            "citation as text and in citation_formats: "
                                            + ", ".join(f"{f.key} ({f.label})" for f in CITATION_FORMATS) + ".",
            "catalog.csv": "One row per study, columns as in csv_columns. Cells that a spreadsheet would run as "
                           "a formula (starting with = + - @ or a tab) are prefixed with an apostrophe.",
            "feed.xml": "Atom feed of the newest releases.",
            "sitemap.xml": "Every page, for search engines.",
        },
        "study_summary_fields": {
            "accession": "stable identifier of the study",
            "version": "version of the record, raised on every change after publication",
            "title": "title as deposited",
            "summary": "plain-text start of the description",
            "release_date": "ISO 8601 date of publication",
            "year": "year of release_date",
            "status": "'published' or 'withdrawn'",
            "licence": "SPDX licence id",
            "organisms": "NCBI Taxonomy terms [{id, label}]",
            "imaging_methods": "FBbi terms [{id, label}]",
            "biological_scales": "REMBI biological scales",
            "data_type": "kind of study",
            "image_count": "number of OME-Zarr images (plates count once)",
            "total_bytes": "stored bytes of the images, where known",
            "authors": "author names in citation order",
            "url": "landing page",
            "api_url": "path of the full study document, relative to the site root",
            "card_thumbnail": "file name of the card thumbnail, or null",
            "doi": "DOI to cite the current version by (DataCite, findable), or null",
            "views": "page views over the archive's recent months (COUNTER, after robot and double-click "
                     "filtering; people and machines)",
            "downloads": "data downloads over the same months (COUNTER requests)",
            "highly_used": "whether views plus downloads reach the archive's highly-used threshold",
        },
        "csv_columns": list(CSV_COLUMNS),
        "stats": catalog.stats.model_dump(mode="json"),
    }


def studies_document(catalog: Catalog) -> dict[str, Any]:
    return {
        "format_version": API_FORMAT_VERSION,
        "generated": catalog.generated.isoformat(),
        "archive": catalog.archive.model_dump(mode="json"),
        "count": len(catalog.studies),
        "studies": [study_summary(cs) for cs in catalog.studies],
    }


# ---------------------------------------------------------------- CSV

def csv_cell(value: Any) -> str:
    """Text safe in a spreadsheet: a cell that would start a formula gets a leading apostrophe."""
    text = clean(str(value))
    if text.startswith(CSV_FORMULA_STARTS):
        return "'" + text
    return text


def catalog_csv(catalog: Catalog) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for cs in catalog.studies:
        study = cs.study
        row: dict[str, Any] = {
            "accession": cs.accession,
            "version": cs.version,
            "status": "withdrawn" if cs.withdrawn else "published",
            "title": study.title,
            "release_date": cs.release_date.isoformat(),
            "licence": cs.licence.id,
            "organisms": "; ".join(t.label for t in cs.organisms),
            "organism_ids": "; ".join(t.id for t in cs.organisms),
            "imaging_methods": "; ".join(t.label for t in cs.imaging_methods),
            "imaging_method_ids": "; ".join(t.id for t in cs.imaging_methods),
            "biological_scales": "; ".join(cs.scales),
            "data_type": cs.data_type,
            "image_count": cs.image_count,
            "total_bytes": cs.total_bytes,
            "authors": "; ".join(a.name for a in study.authors),
            "keywords": "; ".join(study.keywords),
            "url": cs.url,
            "withdrawal_reason": cs.withdrawal_reason or "",
        }
        # Numbers are ours and stay numbers; every text cell is defused.
        writer.writerow([row[c] if isinstance(row[c], int) else csv_cell(row[c]) for c in CSV_COLUMNS])
    return buffer.getvalue()


# ---------------------------------------------------------------- XML: sitemap and Atom

def _xml(root: ET.Element) -> str:
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _site(settings: ArchiveSettings) -> str:
    return settings.site_url if settings.site_url.endswith("/") else settings.site_url + "/"


def sitemap_entries(catalog: Catalog, settings: ArchiveSettings,
                    extra_pages: Iterable[str] = ()) -> list[tuple[str, str | None]]:
    """(absolute URL, lastmod) of every page: the home page, extra pages, every study page."""
    site = _site(settings)
    entries: dict[str, str | None] = {site: None}
    for page in extra_pages:
        path = page.lstrip("/")
        if "://" in path:
            raise ValueError(f"extra page {page!r} must be a path from the site root")
        entries.setdefault(site + path, None)
    for cs in catalog.studies:
        current = next((v for v in cs.versions if v.current), None)
        changed = current.date if current is not None and current.date else cs.release_date
        entries[cs.url] = max(changed, cs.release_date).isoformat()
    return list(entries.items())


def sitemap_xml(entries: list[tuple[str, str | None]]) -> str:
    ET.register_namespace("", SITEMAP_NS)
    urlset = ET.Element(f"{{{SITEMAP_NS}}}urlset")
    for loc, lastmod in entries:
        url = ET.SubElement(urlset, f"{{{SITEMAP_NS}}}url")
        ET.SubElement(url, f"{{{SITEMAP_NS}}}loc").text = clean(loc)
        if lastmod:
            ET.SubElement(url, f"{{{SITEMAP_NS}}}lastmod").text = lastmod
    return _xml(urlset)


def sitemap_index_xml(sitemap_urls: list[str]) -> str:
    ET.register_namespace("", SITEMAP_NS)
    index = ET.Element(f"{{{SITEMAP_NS}}}sitemapindex")
    for loc in sitemap_urls:
        ET.SubElement(ET.SubElement(index, f"{{{SITEMAP_NS}}}sitemap"), f"{{{SITEMAP_NS}}}loc").text = loc
    return _xml(index)


def _timestamp(day: Any) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def atom_feed(catalog: Catalog, settings: ArchiveSettings, *, entries: int = FEED_ENTRIES) -> str:
    """Atom 1.0 feed of the newest released studies (withdrawn ones left out)."""
    ET.register_namespace("", ATOM_NS)
    site = _site(settings)
    newest = sorted(catalog.listed_studies, key=lambda s: (s.release_date, s.accession), reverse=True)[:entries]

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            element.text = clean(text)
        return element

    def updated(cs: CatalogStudy) -> Any:
        current = next((v for v in cs.versions if v.current), None)
        return max(cs.release_date, current.date) if current is not None and current.date else cs.release_date

    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    sub(feed, "id", site)
    sub(feed, "title", f"{one_line(settings.name)}: new studies")
    # The newest change among the entries dates the feed (not the build time),
    # so rebuilding without changes changes nothing.
    sub(feed, "updated", _timestamp(max((updated(cs) for cs in newest), default=catalog.generated)))
    sub(feed, "link", rel="self", href=site + "feed.xml", type="application/atom+xml")
    sub(feed, "link", rel="alternate", href=site, type="text/html")
    sub(sub(feed, "author"), "name", one_line(settings.publisher or settings.name))
    sub(feed, "generator", "bioarchive")
    for cs in newest:
        entry = sub(feed, "entry")
        sub(entry, "id", cs.url)
        sub(entry, "title", one_line(cs.study.title), type="text")
        sub(entry, "link", rel="alternate", href=cs.url, type="text/html")
        sub(entry, "published", _timestamp(cs.release_date))
        sub(entry, "updated", _timestamp(updated(cs)))
        for author in cs.study.authors:
            sub(sub(entry, "author"), "name", one_line(author.name))
        for term in [*cs.organisms, *cs.imaging_methods]:
            sub(entry, "category", term=term.id, label=one_line(term.label))
        sub(entry, "summary", cs.summary, type="text")
        sub(entry, "rights", cs.licence.name, type="text")
    return _xml(feed)


def robots_txt(settings: ArchiveSettings) -> str:
    return f"User-agent: *\nAllow: /\n\nSitemap: {_site(settings)}sitemap.xml\n"


# ---------------------------------------------------------------- writing

def write_atomic(path: Path, content: str | bytes) -> Path:
    """Write to a temporary file in the same folder, then rename over the target."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _site_documents(catalog: Catalog, settings: ArchiveSettings,
                    extra_pages: Iterable[str] = ()) -> Iterator[tuple[str, str]]:
    """(path, content) of the files that describe the whole catalog."""
    yield "api/index.json", _json(api_description(catalog), indent=2)
    yield "api/studies.json", _json(studies_document(catalog))
    yield "catalog.csv", catalog_csv(catalog)
    yield "feed.xml", atom_feed(catalog, settings)
    yield "robots.txt", robots_txt(settings)
    yield "search/catalog-index.js", decoder_script()
    entries = sitemap_entries(catalog, settings, extra_pages)
    if len(entries) <= SITEMAP_MAX_URLS:
        yield "sitemap.xml", sitemap_xml(entries)
    else:
        parts = [entries[i:i + SITEMAP_MAX_URLS] for i in range(0, len(entries), SITEMAP_MAX_URLS)]
        for number, part in enumerate(parts, start=1):
            yield f"sitemap-{number}.xml", sitemap_xml(part)
        yield "sitemap.xml", sitemap_index_xml(
            [f"{_site(settings)}sitemap-{n}.xml" for n in range(1, len(parts) + 1)])


def study_api_path(cs: CatalogStudy) -> str:
    return f"api/studies/{cs.accession}.json"


def study_api_json(cs: CatalogStudy, settings: ArchiveSettings) -> str:
    """The text of api/studies/<ACCESSION>.json."""
    # Compact: Python's JSON encoder is five times slower when it indents.
    return _json(study_document(cs, settings))


def iter_export_documents(catalog: Catalog, settings: ArchiveSettings,
                          extra_pages: Iterable[str] = (), *, studies: bool = True) -> Iterator[tuple[str, str]]:
    """(path relative to the site root, content) of every export, one at a time. Pure.

    A generator, so a writer holds one study's files at a time, never the
    whole archive's (hundreds of megabytes at 10,000 studies).
    """
    yield from _site_documents(catalog, settings, extra_pages)
    if studies:  # the build writes them with the study pages, which share their citations
        for cs in catalog.studies:
            yield study_api_path(cs), study_api_json(cs, settings)


def _check_relative(relative: str) -> None:
    """A path below the output folder: relative, without "..", empty or "." parts."""
    parts = relative.split("/")
    if relative.startswith("/") or "\\" in relative or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"export path {relative!r} leaves the output folder")


def write_exports(catalog: Catalog, out_dir: Path, settings: ArchiveSettings, *,
                  extra_pages: Iterable[str] = (), atomic: bool = True, studies: bool = True) -> list[Path]:
    """Write every export below out_dir; returns the paths written, in a stable order.

    ``extra_pages`` are site-root paths ("browse/", "guides/deposit/") of the
    pages besides study pages that belong in the sitemap. With ``studies``
    False the per-study API documents are left to the caller.

    Files are written as they are made (streaming: memory stays at one
    study's files). With ``atomic`` each goes through a temporary file and a
    rename, for a folder readers may be looking at; without it (a fresh
    private folder that is moved into place whole, as the build does) each is
    written directly, which saves a temporary file and a rename per file.
    """
    out_dir = Path(out_dir)
    # Every path is checked before anything is written: a bad accession
    # cannot leave half an export behind.
    for cs in catalog.studies:
        _check_relative(study_api_path(cs))
    out_dir.mkdir(parents=True, exist_ok=True)
    made: set[str] = set()
    written = []
    for relative, content in iter_export_documents(catalog, settings, extra_pages, studies=studies):
        _check_relative(relative)
        target = out_dir / relative
        if atomic:
            written.append(write_atomic(target, content))
            continue
        folder, _, _ = relative.rpartition("/")
        if folder and folder not in made:
            os.makedirs(out_dir / folder, exist_ok=True)
            made.add(folder)
        with open(target, "w", encoding="utf-8", newline="") as fh:
            fh.write(content)
        written.append(target)
    return sorted(written, key=lambda p: p.relative_to(out_dir).as_posix())
