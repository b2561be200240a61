"""The RO-Crate of a study version (``studies/<ACC>/ro-crate-metadata.json``), made with the rocrate library.

The root data entity is the study version (the record's title, description,
licence, release date, version, identifier), with its authors (ORCID as
their identifier when known), its publications and each image as a
web-based data entity: an OME-Zarr image is a folder, so a ``Dataset`` at
its public address, with its size and, when custody has ingested it, the
archive's content checksum (zarr-checksum's tree digest) and the count of
objects, whose SHA-256 each are in the study's download manifest. A derived
study's root ``isBasedOn`` its source studies (RO-Crate's provenance property).
"""

from __future__ import annotations

from typing import Any

from builder.catalog.citation import doi_url, orcid_url
from builder.catalog.model import CatalogStudy
from builder.core.settings import ArchiveSettings
from builder.core.text import one_line
from builder.site.landing import ROCRATE_VERSION, cite_as, site_root

OME_ZARR_FORMAT = "https://ngff.openmicroscopy.org/"


def _image_entity(image: Any, archived: Any) -> dict[str, Any]:
    props: dict[str, Any] = {"@type": "Dataset", "name": one_line(image.title or f"{image.dataset}/{image.name}"),
                             "encodingFormat": "OME-Zarr", "conformsTo": {"@id": OME_ZARR_FORMAT}}
    if archived is not None:
        props["contentSize"] = str(archived.total_bytes)
        props["numberOfItems"] = archived.object_count
    elif image.facts is not None and image.facts.size_bytes:
        props["contentSize"] = str(image.facts.size_bytes)
    return props


def _linked_study(link: Any) -> dict[str, Any]:
    # RO-Crate 1.2 makes every Dataset entity a data entity of this crate (the rocrate library refuses one
    # not in hasPart); a source study is not part of this crate, so it is a CreativeWork of type Dataset.
    props: dict[str, Any] = {"@type": "CreativeWork", "additionalType": "https://schema.org/Dataset",
                             "name": one_line(link.title),
                             "identifier": doi_url(link.doi) if link.doi else link.accession}
    if link.version is not None:
        props["version"] = str(link.version)
    return props


def study_crate(cs: CatalogStudy, settings: ArchiveSettings, manifest: Any = None) -> dict[str, Any]:
    """The RO-Crate metadata document of the study's current version.

    ``manifest`` is the version's content manifest from the archive store
    (builder.data.manifest.VersionManifest), when its images are ingested.
    """
    from rocrate.model.contextentity import ContextEntity
    from rocrate.model.person import Person
    from rocrate.rocrate import ROCrate

    study = cs.study
    crate = ROCrate(version=ROCRATE_VERSION)
    root = crate.root_dataset
    root["name"] = one_line(study.title)
    root["description"] = cs.summary or one_line(study.title)
    root["identifier"] = cite_as(cs)
    root["url"] = cs.url
    root["version"] = str(cs.version)
    root["datePublished"] = cs.release_date.isoformat()
    root["license"] = crate.add(ContextEntity(crate, cs.licence.url, properties={
        "@type": "CreativeWork", "name": one_line(cs.licence.name), "identifier": cs.licence.id}))
    root["publisher"] = crate.add(ContextEntity(crate, site_root(settings), properties={
        "@type": "Organization", "name": one_line(settings.name)}))
    authors = []
    for number, author in enumerate(study.authors, start=1):
        orcid = orcid_url(author.orcid)
        person_id = orcid or f"#author-{number}"
        authors.append(crate.add(Person(crate, person_id, properties={"name": one_line(author.name)})))
    if authors:
        root["author"] = authors
    publications = []
    for pub in study.publications:
        if not pub.doi and not pub.pubmed_id:
            continue
        pub_id = doi_url(pub.doi) if pub.doi else f"https://pubmed.ncbi.nlm.nih.gov/{pub.pubmed_id}/"
        publications.append(crate.add(ContextEntity(crate, pub_id, properties={
            "@type": "ScholarlyArticle", "name": one_line(pub.title), "datePublished": str(pub.year)})))
    if publications:
        root["citation"] = publications
    # Derived data: each source study (its version's page) as a contextual Dataset the root isBasedOn.
    sources = [crate.add(ContextEntity(crate, link.url, properties=_linked_study(link))) for link in cs.based_on]
    if sources:
        root["isBasedOn"] = sources
    # The record (the API document) describes the study in the archive's own terms.
    crate.add_file(f"{site_root(settings)}api/studies/{cs.accession}.json", properties={
        "name": f"Study record of {cs.accession}", "encodingFormat": "application/json"})
    from builder.data.archive import archive_public_url

    archived_images = getattr(manifest, "images", {}) or {}
    seen: set[str] = set()
    for number, image in enumerate(cs.images, start=1):
        archived = archived_images.get(image.name)
        # The archive's copy when ingested (what the sizes and checksums describe), else the source's address;
        # an image with neither is still described, as a local entity of the crate.
        url = (archive_public_url(settings, cs.accession, cs.version, image.name) if archived else None) or \
            image.access.https
        entity_id = (url.rstrip("/") + "/") if url else f"#image-{number}"
        if entity_id in seen:
            continue
        seen.add(entity_id)
        entity = crate.add_dataset(entity_id, properties=_image_entity(image, archived))
        if archived is not None:
            # A flattened graph: the checksum is an entity of its own (RO-Crate allows no nested objects).
            checksum = ContextEntity(crate, f"#zarr-checksum-{archived.tree_checksum}", properties={
                "@type": "PropertyValue", "propertyID": "zarr-checksum", "value": archived.tree_checksum})
            entity["identifier"] = crate.add(checksum)
    return crate.metadata.generate()


__all__ = ["study_crate"]
