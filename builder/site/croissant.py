"""The Croissant description of a study (``studies/<ACC>/croissant.json``), for machine-learning tools.

Croissant 1.0 (MLCommons) describes a dataset's files and the records in
them. A study's one file here is its API document (``api/studies/<ACC>.json``,
with its SHA-256, since Croissant requires a checksum of every file object);
its record set ``images`` holds one record per image, read from that
document by JSONPath: the image's name, dataset, kind, public OME-Zarr
address and size. A loader (``mlcroissant.Dataset(...).records("images")``)
gets the image list and opens each OME-Zarr with the field's readers.
"""

from __future__ import annotations

import hashlib
from typing import Any

from builder.catalog.model import CatalogStudy
from builder.core.settings import ArchiveSettings
from builder.core.text import one_line
from builder.site.landing import CROISSANT_PROFILE, cite_as, site_root

# The context every Croissant 1.0 document carries (the specification's; mlcroissant warns on any other).
CROISSANT_CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
    "samplingRate": "cr:samplingRate",
    "equivalentProperty": "cr:equivalentProperty",
}
RECORD_FILE_ID = "study-record"
IMAGE_FIELDS = (  # (field name, description, data type, JSONPath into the API document)
    ("name", "The image's name within its study", "sc:Text", "$.images[*].name"),
    ("dataset", "The dataset of the study the image belongs to", "sc:Text", "$.images[*].dataset"),
    ("kind", "What the image is (image, label, ...)", "sc:Text", "$.images[*].kind"),
    ("url", "The public address of the OME-Zarr image", "sc:URL", "$.images[*].access.https"),
)


def study_croissant(cs: CatalogStudy, settings: ArchiveSettings, api_json: str | None = None) -> dict[str, Any]:
    """The Croissant JSON-LD of a study; ``api_json`` is the text of its API document (made when not given)."""
    if api_json is None:
        from builder.site.exports import study_api_json

        api_json = study_api_json(cs, settings)
    study = cs.study
    record_url = f"{site_root(settings)}api/studies/{cs.accession}.json"
    fields = [
        {
            "@type": "cr:Field",
            "@id": f"images/{name}",
            "name": name,
            "description": description,
            "dataType": data_type,
            "source": {"fileObject": {"@id": RECORD_FILE_ID}, "extract": {"jsonPath": path}},
        }
        for name, description, data_type, path in IMAGE_FIELDS
    ]
    creators = [{"@type": "sc:Person", "name": one_line(a.name),
                 **({"url": f"https://orcid.org/{a.orcid}"} if a.orcid else {})} for a in study.authors]
    return {
        "@context": CROISSANT_CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": CROISSANT_PROFILE,
        "name": one_line(study.title),
        "description": cs.summary or one_line(study.title),
        "url": cs.url,
        "citeAs": cite_as(cs),
        "license": cs.licence.url,
        "version": f"{cs.version}.0.0",  # Croissant asks for MAJOR.MINOR.PATCH
        "datePublished": cs.release_date.isoformat(),
        "creator": creators,
        "keywords": [one_line(k) for k in study.keywords],
        "publisher": {"@type": "sc:Organization", "name": one_line(settings.name), "url": site_root(settings)},
        "distribution": [
            {
                "@type": "cr:FileObject",
                "@id": RECORD_FILE_ID,
                "name": RECORD_FILE_ID,
                "description": "The study's record and image list (the archive's API document)",
                "contentUrl": record_url,
                "encodingFormat": "application/json",
                "sha256": hashlib.sha256(api_json.encode("utf-8")).hexdigest(),
            }
        ],
        "recordSet": [
            {
                "@type": "cr:RecordSet",
                "@id": "images",
                "name": "images",
                "description": "One record per image of the study, each an OME-Zarr image",
                "field": fields,
            }
        ],
    }


__all__ = ["CROISSANT_CONTEXT", "study_croissant"]
