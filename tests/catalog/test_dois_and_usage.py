"""DOIs and reuse counts in the catalog, every citation format, JSON-LD, the API and the landing page.

They come from registry/dois.json (only findable DOIs) and usage/<YYYY-MM>.json,
written by `bioarchive doi` and `bioarchive usage` (tests/curation/test_doi.py
and test_usage.py); here the files are written directly.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import yaml
from datacite import schema45

from builder.catalog.assembly import build_catalog
from builder.catalog.citation import (
    citation_text,
    to_bibtex,
    to_cff,
    to_csl_json,
    to_datacite,
    to_datacite_xml,
    to_jsonld,
    to_ris,
)
from builder.catalog.registry import (
    DOIS_FILE,
    DoiRecord,
    DoiRegistry,
    MonthUsage,
    StudyDois,
    StudyUsage,
    UsageCounts,
    findable_dois,
    usage_summaries,
)
from tests.support.catalog import EMBARGOED_ACCESSION

PREFIX = "10.80000"


def dois_for(accession: str, version: int) -> StudyDois:
    base = f"{PREFIX}/{accession.lower()}"
    return StudyDois(concept=base, versions={v: f"{base}.v{v}" for v in range(1, version + 1)})


def test_catalog_entries_carry_findable_dois_and_counts(catalog_studies, catalog_images, catalog_settings,
                                                        catalog_today):
    dois = {s.accession: dois_for(s.accession, s.version) for s in catalog_studies}
    usage = {s.accession: _summary(views=10) for s in catalog_studies}
    catalog = build_catalog(catalog_studies, catalog_images, catalog_settings, catalog_today, dois=dois, usage=usage)
    for entry in catalog.studies:
        assert entry.concept_doi == f"{PREFIX}/{entry.accession.lower()}"
        assert entry.doi == f"{PREFIX}/{entry.accession.lower()}.v{entry.version}"
        assert entry.usage is not None and entry.usage.total.views == 10
    # The embargoed study is not in the catalog, so neither is its DOI, even when one is (wrongly) offered.
    assert catalog.get(EMBARGOED_ACCESSION) is None
    assert f"{PREFIX}/{EMBARGOED_ACCESSION.lower()}" not in catalog.to_json()


def test_every_citation_format_cites_the_doi(sample_catalog, catalog_settings):
    entry = next(s for s in sample_catalog.studies if not s.withdrawn)
    doi = f"{PREFIX}/{entry.accession.lower()}.v{entry.version}"
    cs = entry.model_copy(update={"doi": doi, "concept_doi": f"{PREFIX}/{entry.accession.lower()}"})
    url = f"https://doi.org/{doi}"
    assert citation_text(cs, catalog_settings).endswith(url)
    assert f"doi = {{{doi}}}" in to_bibtex(cs, catalog_settings)
    assert f"DO  - {doi}\r\n" in to_ris(cs, catalog_settings)
    assert to_csl_json(cs, catalog_settings)["DOI"] == doi
    cff = yaml.safe_load(to_cff(cs, catalog_settings))
    assert cff["doi"] == doi and {"type": "doi", "value": doi} in [
        {k: i[k] for k in ("type", "value")} for i in cff["identifiers"]]
    data = to_datacite(cs, catalog_settings)
    assert data["doi"] == doi and not list(schema45.validator.iter_errors(data))
    relations = {(r["relationType"], r["relatedIdentifier"]) for r in data["relatedIdentifiers"]}
    assert ("IsVersionOf", cs.concept_doi) in relations
    # The fast XML writer gives the package's own XML, identifier included.
    xml = to_datacite_xml(cs, catalog_settings, data=data)
    assert xml == schema45.tostring(data) and f'<identifier identifierType="DOI">{doi}</identifier>' in xml
    ld = to_jsonld(cs, catalog_settings)
    assert url in ld["identifier"] and cs.accession in ld["identifier"]
    # Without a DOI nothing changes.
    assert "doi" not in to_datacite(entry, catalog_settings) and "DOI" not in to_csl_json(entry, catalog_settings)


def test_reader_hands_only_findable_dois_and_sums_months(tmp_path):
    registry = DoiRegistry(prefix=PREFIX, dois={
        f"{PREFIX}/oia-000001": DoiRecord(accession="OIA-000001", state="findable", url="https://a/",
                                          updated=dt.date(2026, 12, 1)),
        f"{PREFIX}/oia-000001.v1": DoiRecord(accession="OIA-000001", version=1, state="findable", url="https://a/",
                                             updated=dt.date(2026, 12, 1)),
        f"{PREFIX}/oia-000002": DoiRecord(accession="OIA-000002", state="registered", url="https://b/",
                                          updated=dt.date(2026, 12, 1)),
    })
    (tmp_path / "registry").mkdir()
    (tmp_path / DOIS_FILE).write_text(registry.to_json())
    found = findable_dois(tmp_path)
    assert set(found) == {"OIA-000001"} and found["OIA-000001"].for_version(1) == f"{PREFIX}/oia-000001.v1"
    assert findable_dois(tmp_path / "nothing") == {}
    assert usage_summaries(tmp_path, months=12, threshold=1) == {}


def _summary(views: int):
    from builder.catalog.registry import UsageSummary

    return UsageSummary(months=["2026-11"], regular=UsageCounts(views=views), highly_used=views >= 5)


def test_the_built_site_shows_dois_and_use_and_never_an_embargoed_doi(tmp_path):
    """A real build of the example archive with a registry and a month of counts."""
    from builder.site.build import build
    from tests.support.site import EMBARGO_ACCESSION, make_example_archive

    root = make_example_archive(tmp_path)
    with (root / "archive.toml").open("a") as handle:
        handle.write("\n")
    settings_text = (root / "archive.toml").read_text()
    if "[archive.usage]" in settings_text:
        settings_text = settings_text.replace("highly_used_threshold = 1000", "highly_used_threshold = 20")
    else:
        settings_text += "\n[archive.usage]\nhighly_used_threshold = 20\n"
    (root / "archive.toml").write_text(settings_text)
    released = sorted(p.parent.name for p in (root / "studies").glob("*/study.yaml")
                      if p.parent.name not in (EMBARGO_ACCESSION,))
    first = released[0]
    records = {
        f"{PREFIX}/{first.lower()}": DoiRecord(accession=first, state="findable", url="https://x/",
                                               updated=dt.date.today()),
        f"{PREFIX}/{first.lower()}.v1": DoiRecord(accession=first, version=1, state="findable", url="https://x/",
                                                 updated=dt.date.today()),
        # A registry that (wrongly) says findable for an embargoed study must still never show it.
        f"{PREFIX}/{EMBARGO_ACCESSION.lower()}": DoiRecord(accession=EMBARGO_ACCESSION, state="findable",
                                                           url="https://x/", updated=dt.date.today()),
    }
    (root / "registry").mkdir(exist_ok=True)
    (root / DOIS_FILE).write_text(DoiRegistry(prefix=PREFIX, dois=records).to_json())
    (root / "usage").mkdir(exist_ok=True)
    month = MonthUsage(month="2026-11", studies={
        first: StudyUsage(regular=UsageCounts(views=25, downloads=4, unique_users=7, unique_downloads=2),
                          machine=UsageCounts(downloads=3, unique_users=1, unique_downloads=1)),
        EMBARGO_ACCESSION: StudyUsage(regular=UsageCounts(views=99)),
    })
    (root / "usage" / "2026-11.json").write_text(month.to_json())

    report = build(root, site_dir=root / "site", today=dt.date.today(), console=None, history=False,
                   allow_invalid=True)
    site = Path(report.site_dir)
    page = (site / "studies" / first / "index.html").read_text()
    assert f"https://doi.org/{PREFIX}/{first.lower()}.v1" in page
    assert "Highly used" in page and "25 views" in page and "7 downloads" in page
    api = json.loads((site / "api" / "studies" / f"{first}.json").read_text())
    assert api["doi"] == f"{PREFIX}/{first.lower()}.v1" and api["concept_doi"] == f"{PREFIX}/{first.lower()}"
    assert api["usage"]["regular"]["views"] == 25 and api["usage"]["highly_used"] is True
    listing = json.loads((site / "api" / "studies.json").read_text())
    summary = next(s for s in listing["studies"] if s["accession"] == first)
    assert summary["doi"] == api["doi"] and summary["views"] == 25 and summary["downloads"] == 7
    secret = f"{PREFIX}/{EMBARGO_ACCESSION.lower()}"
    for path in site.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".json", ".xml", ".bib", ".ris", ".cff", ".txt"):
            assert secret not in path.read_text(errors="replace"), path
