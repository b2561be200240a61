"""The JSON-LD of every study page keeps the Bioschemas Dataset profile's minimum and recommended properties."""

from __future__ import annotations

import json
import re

from builder.catalog.citation import BIOSCHEMAS_DATASET_PROFILE

# Bioschemas Dataset profile, version 1.0-RELEASE (https://bioschemas.org/profiles/Dataset/1.0-RELEASE),
# its marginality table written out here so a change of the builder cannot quietly drop one.
PROFILE_VERSION = "1.0-RELEASE"
MINIMUM = ("@context", "@type", "http://purl.org/dc/terms/conformsTo", "description", "identifier", "keywords",
           "license", "name", "url")
RECOMMENDED = ("citation", "creator", "distribution", "includedInDataCatalog", "isAccessibleForFree",
               "measurementTechnique", "version")
JSONLD = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)


def _jsonld(page: str) -> dict:
    (text,) = JSONLD.findall(page)
    return json.loads(text)


def test_the_builder_declares_the_profile_version_listed_here():
    assert BIOSCHEMAS_DATASET_PROFILE.endswith("/" + PROFILE_VERSION)


def test_every_study_page_has_the_minimum_and_recommended_properties(built_site):
    catalog = json.loads((built_site.site / "catalog.json").read_text())
    listed = [s for s in catalog["studies"] if not s["withdrawn"]]
    assert listed
    for study in listed:
        doc = _jsonld(built_site.page(study["url_path"]))
        accession = study["accession"]
        missing = [p for p in MINIMUM if doc.get(p) in (None, "", [])]
        assert not missing, (accession, missing)
        assert doc["@type"] == "Dataset" and doc["@context"].rstrip("/") in {"https://schema.org",
                                                                             "http://schema.org"}
        assert doc["http://purl.org/dc/terms/conformsTo"]["@id"] == BIOSCHEMAS_DATASET_PROFILE
        assert doc["url"] == study["url"] and doc["license"] == study["licence"]["url"]
        # Recommended: each is there whenever the record has what it is made from.
        has = {
            "citation": any(p.get("doi") or p.get("pubmed_id") for p in study["study"]["publications"]),
            "creator": bool(study["study"]["authors"]),
            "distribution": any(i["access"]["https"] or i["access"]["s3"] for i in study["images"]),
            "includedInDataCatalog": True,
            "isAccessibleForFree": True,
            "measurementTechnique": bool(study["imaging_methods"]),
            "version": True,
        }
        assert set(has) == set(RECOMMENDED)
        absent = [p for p in RECOMMENDED if has[p] and doc.get(p) in (None, "", [])]
        assert not absent, (accession, absent)
        for person in doc["creator"]:
            assert person["@type"] in {"Person", "Organization"} and person["name"]
        # Google's Dataset rules (which harvesters of Bioschemas follow too): 50 to 5000 characters.
        assert 50 <= len(doc["description"]) <= 5000, accession
