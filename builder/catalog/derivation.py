"""Links between derived studies and their sources, in both directions, for pages and exports.

A derived study names its sources in ``derived_from`` (checked by `bioarchive
validate`, builder.curation.derived). The catalog carries each edge twice: on
the derived study (``based_on``: where it came from) and on the source
(``derived_studies``: "Built on this study"). Only studies the catalog
publishes take part: an embargoed derived study is not announced on its
source's page before its release, a withdrawn one no longer is, and a source
that is not in the catalog gets no link (validate refuses it anyway).
"""

from __future__ import annotations

from builder.catalog.model import CatalogStudy, StudyLink


def source_links(entry: CatalogStudy, by_accession: dict[str, CatalogStudy]) -> list[StudyLink]:
    """The sources of ``entry`` that the catalog publishes, in the record's order."""
    links = []
    for given in entry.study.derived_from:
        source = by_accession.get(given.accession)
        if source is None or source.accession == entry.accession:
            continue
        version = given.version or source.version
        # a pinned earlier version has its own page; the latest is the study's page
        suffix = "" if version == source.version else f"v{version}/"
        links.append(StudyLink(
            accession=source.accession, title=source.title, url=source.url + suffix,
            url_path=source.url_path + suffix,
            version=version, image=given.image, checksum=given.checksum, relation=given.relation.value,
            description=given.description, doi=source.version_dois.get(version) or source.concept_doi,
        ))
    return links


def link_derived_studies(entries: list[CatalogStudy]) -> None:
    """Fill ``based_on`` and ``derived_studies`` of every entry (sorted by accession, so builds are stable)."""
    by_accession = {e.accession: e for e in entries}
    for entry in entries:
        entry.based_on = source_links(entry, by_accession)
        entry.derived_studies = []
    for entry in sorted(entries, key=lambda e: e.accession):
        if entry.withdrawn:
            continue  # taken down: no longer offered as reuse of its sources
        for link in entry.based_on:
            by_accession[link.accession].derived_studies.append(StudyLink(
                accession=entry.accession, title=entry.title, url=entry.url, url_path=entry.url_path,
                version=entry.version,
                image=link.image, checksum=link.checksum, relation=link.relation, description=link.description,
                doi=entry.doi,
            ))
