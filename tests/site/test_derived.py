"""Derived studies on the built example site: OIA-000007 (brain-region labels) is built on OIA-000002's image.

Both directions are checked where each format's own reader reads them: the pages' sections, the API
documents, JSON-LD as RDF (rdflib), DataCite JSON by the datacite package's 4.5 validator, DataCite XML
parsed, and the RO-Crate loaded with the rocrate library."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from urllib.parse import urljoin

import rdflib
from datacite import schema45
from rocrate.rocrate import ROCrate

from builder.site.signposting import ROCRATE_FILE

SOURCE, DERIVED = "OIA-000002", "OIA-000007"
SCHEMA = rdflib.Namespace("http://schema.org/")


class Sections(HTMLParser):
    """The links inside <section id=...> elements of a page: section id -> [href]."""

    def __init__(self) -> None:
        super().__init__()
        self.current: str | None = None
        self.depth = 0
        self.links: dict[str, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "section":
            if self.current is None and values.get("id"):
                self.current, self.depth = values["id"], 0
                self.links[self.current] = []
            elif self.current is not None:
                self.depth += 1
        elif tag == "a" and self.current is not None:
            self.links[self.current].append(values.get("href") or "")

    def handle_endtag(self, tag):
        if tag == "section" and self.current is not None:
            if self.depth == 0:
                self.current = None
            else:
                self.depth -= 1


def sections(text: str) -> dict[str, list[str]]:
    parser = Sections()
    parser.feed(text)
    return parser.links


def jsonld_graph(text: str) -> rdflib.Graph:
    (script,) = re.findall(r'<script type="application/ld\+json">(.*?)</script>', text, flags=re.S)
    document = json.loads(script)
    # schema.org's own context maps every term to http://schema.org/ (@vocab); given inline, nothing is fetched.
    assert document["@context"] == "https://schema.org"
    document["@context"] = {"@vocab": "http://schema.org/"}
    return rdflib.Graph().parse(data=json.dumps(document), format="json-ld")


def api(built_site, accession: str) -> dict:
    return json.loads((built_site.site / "api" / "studies" / f"{accession}.json").read_text())


def test_the_source_page_lists_built_on_this_study_and_the_derived_page_its_source(built_site):
    source_links = sections(built_site.page(f"studies/{SOURCE}/"))
    derived_links = sections(built_site.page(f"studies/{DERIVED}/"))
    base = "https://archive.invalid/studies/{}/"
    assert urljoin(base.format(SOURCE), source_links["built-on"][0]) == base.format(DERIVED)
    assert urljoin(base.format(DERIVED), derived_links["derived-from"][0]) == base.format(SOURCE)
    assert "derived-from" not in source_links and "built-on" not in derived_links
    derived_text = built_site.page(f"studies/{DERIVED}/")
    assert "brain-overview" in derived_text and "cdf7de61aaa4ac60695037320f6b1051-16--1652753" in derived_text
    # the other examples build on nothing and are built on by nothing
    other = sections(built_site.page("studies/OIA-000003/"))
    assert "built-on" not in other and "derived-from" not in other


def test_the_api_documents_carry_both_directions(built_site):
    source, derived = api(built_site, SOURCE), api(built_site, DERIVED)
    (based_on,) = derived["based_on"]
    assert (based_on["accession"], based_on["version"], based_on["image"], based_on["relation"]) == \
        (SOURCE, 1, "brain-overview", "segmentation")
    assert based_on["checksum"] == "cdf7de61aaa4ac60695037320f6b1051-16--1652753"
    (built_on,) = source["derived_studies"]
    assert built_on["accession"] == DERIVED and built_on["url"] == derived["url"]
    assert derived["derived_studies"] == [] and source["based_on"] == []
    assert derived["record"]["derived_from"][0]["accession"] == SOURCE


def test_jsonld_states_isbasedon_from_both_pages(built_site):
    source_url = rdflib.URIRef(api(built_site, SOURCE)["url"])
    derived_url = rdflib.URIRef(api(built_site, DERIVED)["url"])
    edge = (derived_url, SCHEMA.isBasedOn, source_url)
    forward = jsonld_graph(built_site.page(f"studies/{DERIVED}/"))
    reverse = jsonld_graph(built_site.page(f"studies/{SOURCE}/"))
    assert edge in forward
    assert edge in reverse  # the source's @reverse states the same triple
    assert (source_url, SCHEMA.isBasedOn, None) not in reverse


def test_datacite_metadata_relates_source_and_derived_and_validates(built_site):
    source = api(built_site, SOURCE)["citation_formats"]
    derived = api(built_site, DERIVED)["citation_formats"]
    for document in (source["datacite_json"], derived["datacite_json"]):
        assert list(schema45.validator.iter_errors(document)) == []
    relations = {(r["relationType"], r["relatedIdentifier"])
                 for r in derived["datacite_json"]["relatedIdentifiers"]}
    assert ("IsDerivedFrom", api(built_site, SOURCE)["url"]) in relations
    relations = {(r["relationType"], r["relatedIdentifier"]) for r in source["datacite_json"]["relatedIdentifiers"]}
    assert ("IsSourceOf", api(built_site, DERIVED)["url"]) in relations
    ns = {"d": "http://datacite.org/schema/kernel-4"}
    root = ET.fromstring(derived["datacite_xml"].encode())
    xml_relations = {(e.get("relationType"), e.text) for e in root.iterfind(".//d:relatedIdentifier", ns)}
    assert ("IsDerivedFrom", api(built_site, SOURCE)["url"]) in xml_relations


def test_the_ro_crate_of_the_derived_study_is_based_on_its_source(built_site):
    folder = built_site.site / "studies" / DERIVED
    assert (folder / ROCRATE_FILE).is_file()
    crate = ROCrate(str(folder))
    (source,) = crate.root_dataset["isBasedOn"]
    assert source.id == api(built_site, SOURCE)["url"]
    assert source["identifier"] == SOURCE and source["version"] == "1"
    assert "isBasedOn" not in ROCrate(str(built_site.site / "studies" / SOURCE)).root_dataset.properties()
