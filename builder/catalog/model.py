"""The catalog's data model: every published study with the facts the site and exports need.

Plain values, no decisions: :mod:`builder.catalog.assembly` fills them by the
publication policy, :mod:`builder.catalog.citation` and the site read them.
Kept apart from the assembly so that citations (which the assembly calls)
can read the model without an import cycle.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, NamedTuple
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from builder.catalog.registry import UsageSummary
from builder.model.image import ImageFacts
from builder.model.study import OntologyTerm, Study

CATALOG_FORMAT_VERSION = 1


# ---------------------------------------------------------------- licences

class Licence(BaseModel):
    """A licence as people read it: SPDX id, full name and the canonical URL."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    url: str


# Licences an archive may put on its allow-list. Unknown SPDX ids still get a
# working link (the SPDX licence page), so a new allow-list entry never breaks
# the build.
KNOWN_LICENCES: dict[str, Licence] = {
    lic.id: lic
    for lic in (
        Licence(id="CC0-1.0", name="Creative Commons Zero v1.0 Universal",
                url="https://creativecommons.org/publicdomain/zero/1.0/"),
        Licence(id="CC-BY-4.0", name="Creative Commons Attribution 4.0 International",
                url="https://creativecommons.org/licenses/by/4.0/"),
        Licence(id="CC-BY-SA-4.0", name="Creative Commons Attribution Share Alike 4.0 International",
                url="https://creativecommons.org/licenses/by-sa/4.0/"),
        Licence(id="CC-BY-NC-4.0", name="Creative Commons Attribution Non Commercial 4.0 International",
                url="https://creativecommons.org/licenses/by-nc/4.0/"),
        Licence(id="ODbL-1.0", name="Open Data Commons Open Database License v1.0",
                url="https://opendatacommons.org/licenses/odbl/1-0/"),
        Licence(id="PDDL-1.0", name="Open Data Commons Public Domain Dedication & License 1.0",
                url="https://opendatacommons.org/licenses/pddl/1-0/"),
    )
}


def licence_info(spdx_id: str) -> Licence:
    known = KNOWN_LICENCES.get(spdx_id)
    if known is not None:
        return known
    return Licence(id=spdx_id, name=spdx_id, url=f"https://spdx.org/licenses/{quote(spdx_id, safe='')}.html")


# ---------------------------------------------------------------- history

class PastVersion(BaseModel):
    """One earlier published version of a study, as recovered from Git history.

    ``study`` is None when the old record no longer validates against today's
    model (the version is still listed, just without its content).
    """

    model_config = ConfigDict(arbitrary_types_allowed=False)

    version: int
    date: dt.date
    commit: str
    study: Study | None = None


class VersionEntry(BaseModel):
    """A line of a study's version list."""

    version: int
    date: dt.date | None = None
    commit: str | None = None
    title: str | None = None
    changes: str | None = None  # the changelog text for this version, if any
    current: bool = False


# ---------------------------------------------------------------- images

class ImageAccess(BaseModel):
    """Where one OME-Zarr can be read from. Each is None when not available."""

    s3: str | None = None
    https: str | None = None
    relative: str | None = None  # path below the storage root (or below the archive store, when archived)
    # Custody: the archived version readers are pointed at (None: not ingested, the depositor's copy),
    # and the record's own URL kept as provenance.
    archived_version: int | None = None
    source: str | None = None


class ViewerLink(BaseModel):
    name: str
    url: str


class CatalogImage(BaseModel):
    dataset: str
    dataset_title: str
    name: str
    title: str | None = None
    kind: str
    ref: str  # "<ACCESSION>/<dataset>/<image>", the key of the image facts
    facts: ImageFacts | None = None
    access: ImageAccess
    viewers: list[ViewerLink] = Field(default_factory=list)
    python_snippet: str


class StudyLink(BaseModel):
    """One edge between a derived study and a source it was made from (builder.catalog.derivation).

    On the derived study's entry it names the source; on the source's entry it names the derived study.
    ``image``, ``checksum`` and ``relation`` describe the source image used, in both directions."""

    accession: str
    title: str
    url: str  # absolute landing page (of the pinned version, when it is an earlier one)
    url_path: str  # the same page relative to the site root
    version: int | None = None  # the source version (on a derived entry) or the derived study's version
    image: str | None = None
    checksum: str | None = None
    relation: str = "other"
    description: str | None = None
    doi: str | None = None


# ---------------------------------------------------------------- catalog

class CatalogStudy(BaseModel):
    accession: str
    version: int
    url_path: str  # "studies/<ACCESSION>/", relative to the site root
    url: str  # absolute landing page URL
    study: Study
    images: list[CatalogImage] = Field(default_factory=list)
    organisms: list[OntologyTerm] = Field(default_factory=list)
    imaging_methods: list[OntologyTerm] = Field(default_factory=list)
    scales: list[str] = Field(default_factory=list)
    data_type: str
    licence: Licence
    release_date: dt.date
    year: int
    image_count: int
    total_bytes: int
    card_thumbnail: str | None = None  # file name in the thumbnail cache
    card_thumbnail_alt: str | None = None
    summary: str  # plain text, at most SUMMARY_CHARS characters
    citation: str = ""
    withdrawn: bool = False
    withdrawal_reason: str | None = None
    versions: list[VersionEntry] = Field(default_factory=list)
    # From registry/dois.json, findable DOIs only (builder.catalog.registry): the DOI
    # to cite this version by (its own, else the concept DOI), the study's concept DOI
    # and every version's DOI.
    doi: str | None = None
    concept_doi: str | None = None
    version_dois: dict[int, str] = Field(default_factory=dict)
    usage: UsageSummary | None = None  # reuse counts (usage/<YYYY-MM>.json)
    # Derived data (added value): the sources this study was made from, and the public studies made from it.
    based_on: list[StudyLink] = Field(default_factory=list)
    derived_studies: list[StudyLink] = Field(default_factory=list)

    @property
    def title(self) -> str:
        return self.study.title


class ArchiveInfo(BaseModel):
    name: str
    short_name: str
    publisher: str
    site_url: str
    repo_url: str = ""


class CatalogStats(BaseModel):
    """Counts over the listed (released, not withdrawn) studies."""

    studies: int
    withdrawn: int
    images: int
    organisms: int
    imaging_methods: int
    total_bytes: int


class FacetValue(NamedTuple):
    """One value of a facet: (value, label, number of studies); a tuple in JSON."""

    value: str
    label: str
    # Shadows tuple.count(), which nothing here uses; "count" is the published name.
    count: int  # type: ignore[assignment]


FACETS = ("organism", "imaging_method", "biological_scale", "data_type", "licence", "release_year")


class Catalog(BaseModel):
    format_version: int = CATALOG_FORMAT_VERSION
    generated: dt.date
    archive: ArchiveInfo
    studies: list[CatalogStudy]  # released only, newest first; withdrawn ones flagged
    stats: CatalogStats
    facets: dict[str, list[FacetValue]]

    @property
    def listed_studies(self) -> list[CatalogStudy]:
        """Studies to list, count and search: released and not withdrawn."""
        return [s for s in self.studies if not s.withdrawn]

    def get(self, accession: str) -> CatalogStudy | None:
        return next((s for s in self.studies if s.accession == accession), None)

    def by_accession(self) -> dict[str, CatalogStudy]:
        """Every study of the catalog by its accession (a new mapping on each call: keep it if you need it often)."""
        return {s.accession: s for s in self.studies}

    def to_json(self, *, indent: int | None = None) -> str:
        """The same catalog always gives the same bytes (keys sorted). Contact emails are left out:
        curators read them in Git; a published bulk list of addresses only feeds spammers."""
        # Study by study, each dumped and encoded before the next: dumping the whole catalog at
        # once made millions of live dicts that the cyclic GC rescanned (6 s at 10,000 studies,
        # now 1.6 s). The pieces are joined exactly as json.dumps lays out one document.
        head = self.model_dump(mode="json", exclude={"studies"})
        head["studies"] = []
        text = _dumps(head, indent)
        # Keys are sorted, so "studies" (the last field) ends the document.
        empty = '"studies": []' + ("}" if indent is None else "\n}")
        if not text.endswith(empty):  # pragma: no cover - only if a later-sorting field is added
            data = self.model_dump(mode="json", exclude={"studies": {"__all__": {"study": PRIVATE_STUDY_FIELDS}}})
            return _dumps(data, indent)
        private = {"study": PRIVATE_STUDY_FIELDS}
        parts = [_dumps(s.model_dump(mode="json", exclude=private), indent) for s in self.studies]
        if not parts:
            studies = "[]"
        elif indent is None:
            studies = "[" + ", ".join(parts) + "]"
        else:
            # Each study sits two levels deep; a raw line break in JSON text is always layout
            # (strings escape theirs), so indenting every line is exact.
            unit = " " * indent if isinstance(indent, int) else indent
            inner = "\n" + unit * 2
            studies = "[" + inner + ("," + inner).join(p.replace("\n", inner) for p in parts) + "\n" + unit + "]"
        return text[: -len(empty)] + '"studies": ' + studies + empty[len('"studies": []'):]


def _dumps(data: Any, indent: int | None) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, indent=indent)


# Fields of a record that are never published: contact emails stay in Git for curators.
PRIVATE_STUDY_FIELDS: dict = {"authors": {"__all__": {"email"}}}
