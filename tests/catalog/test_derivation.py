"""Derived studies in the catalog: both directions, only between studies the catalog publishes."""

from __future__ import annotations

import datetime as dt

from builder.catalog.assembly import build_catalog
from builder.catalog.citation import to_datacite
from builder.catalog.registry import StudyDois
from builder.model.study import Study
from tests.support.catalog import settings_for_tests, study_record

TODAY = dt.date(2026, 6, 1)
SETTINGS = settings_for_tests()


def study(accession: str, *, sources: list[dict] | None = None, **fields) -> Study:
    record = study_record(accession, **fields)
    if sources:
        record["derived_from"] = sources
    return Study.model_validate(record)


def catalog(*studies: Study, dois: dict[str, StudyDois] | None = None):
    return build_catalog(list(studies), {}, SETTINGS, TODAY, dois=dois)


def test_links_go_both_ways_and_a_pinned_earlier_version_links_its_own_page():
    source = study("OIA-000001", version=3, changelog=[
        {"version": 2, "date": "2025-01-01", "description": "Second version of the images"},
        {"version": 3, "date": "2025-02-01", "description": "Third version of the images"}])
    derived = study("OIA-000002", sources=[
        {"accession": "OIA-000001", "version": 2, "relation": "tracking"}, {"accession": "OIA-000001"}])
    built = catalog(source, derived)
    forward = built.get("OIA-000002").based_on
    assert [(link.version, link.url_path) for link in forward] == [
        (2, "studies/OIA-000001/v2/"), (3, "studies/OIA-000001/")]
    assert forward[0].url == "https://archive.example.org/studies/OIA-000001/v2/"
    reverse = built.get("OIA-000001").derived_studies
    assert [(link.accession, link.relation) for link in reverse] == [("OIA-000002", "tracking"),
                                                                      ("OIA-000002", "other")]


def test_an_embargoed_or_withdrawn_derived_study_is_not_announced_on_its_source():
    source = study("OIA-000001")
    embargoed = study("OIA-000002", release_date="2030-01-01", sources=[{"accession": "OIA-000001"}])
    withdrawn = study("OIA-000003", status="withdrawn", withdrawal_reason="Labels were wrong",
                      sources=[{"accession": "OIA-000001"}])
    built = catalog(source, embargoed, withdrawn)
    assert built.get("OIA-000001").derived_studies == []
    assert built.get("OIA-000002") is None
    assert [link.accession for link in built.get("OIA-000003").based_on] == ["OIA-000001"]


def test_a_source_the_catalog_does_not_publish_gets_no_link():
    hidden = study("OIA-000001", release_date="2030-01-01")
    derived = study("OIA-000002", sources=[{"accession": "OIA-000001"}, {"accession": "OIA-000404"}])
    assert catalog(hidden, derived).get("OIA-000002").based_on == []


def test_datacite_cites_the_other_study_by_its_doi_when_it_has_one():
    source = study("OIA-000001")
    derived = study("OIA-000002", sources=[{"accession": "OIA-000001"}])
    built = catalog(source, derived, dois={
        "OIA-000001": StudyDois(concept="10.5555/oia.000001", versions={1: "10.5555/oia.000001.v1"}),
        "OIA-000002": StudyDois(concept="10.5555/oia.000002", versions={1: "10.5555/oia.000002.v1"})})
    derived_metadata = to_datacite(built.get("OIA-000002"), SETTINGS)  # validates against schema 4.5
    assert {"relatedIdentifier": "10.5555/oia.000001.v1", "relatedIdentifierType": "DOI",
            "relationType": "IsDerivedFrom", "resourceTypeGeneral": "Dataset"} in derived_metadata["relatedIdentifiers"]
    source_metadata = to_datacite(built.get("OIA-000001"), SETTINGS)
    assert {"relatedIdentifier": "10.5555/oia.000002.v1", "relatedIdentifierType": "DOI",
            "relationType": "IsSourceOf", "resourceTypeGeneral": "Dataset"} in source_metadata["relatedIdentifiers"]


def test_an_earlier_version_of_a_derived_study_lists_the_sources_its_own_record_named():
    from builder.catalog.assembly import PastVersion, past_version_entry

    first_source = study("OIA-000001")
    second_source = study("OIA-000003")
    # version 1 was made from OIA-000001; version 2 (current) from OIA-000003 only
    earlier = study("OIA-000002", sources=[{"accession": "OIA-000001"}])
    current = study("OIA-000002", version=2, sources=[{"accession": "OIA-000003"}], changelog=[
        {"version": 2, "date": "2026-05-01", "description": "New labels on another study's images"}])
    built = catalog(first_source, second_source, current)
    entry = built.get("OIA-000002")
    assert [link.accession for link in entry.based_on] == ["OIA-000003"]
    past = PastVersion(version=1, date=dt.date(2026, 1, 1), commit="0" * 40, study=earlier)
    page = past_version_entry(entry, past, {}, SETTINGS, TODAY, built.by_accession())
    assert page is not None and [link.accession for link in page.based_on] == ["OIA-000001"]
    assert page.based_on[0].url_path == "studies/OIA-000001/"
    # without the catalog (callers that have none) the entry simply names no sources
    assert past_version_entry(entry, past, {}, SETTINGS, TODAY).based_on == []
