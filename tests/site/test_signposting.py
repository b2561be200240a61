"""FAIR Signposting on the built example site, read the way a FAIR assessment tool reads it:
parse the head of each landing page, follow every link into the served site, check its type and profile."""

from __future__ import annotations

import json
import urllib.request
from html.parser import HTMLParser

from builder.core.settings import load_settings
from builder.site.signposting import LINKSET_TYPE, ROCRATE_PROFILE, head_links, linkset
from tests.support.site import EMBARGO_ACCESSION

PAGE_BUDGET = 60 * 1024
LEVEL_1_RELATIONS = {"cite-as", "describedby", "item", "license", "author", "type", "linkset"}


class HeadLinks(HTMLParser):
    """The <link> elements of a page's <head>, as (rel, attributes)."""

    def __init__(self) -> None:
        super().__init__()
        self.in_head = False
        self.links: list[dict[str, str]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "head":
            self.in_head = True
        elif tag == "link" and self.in_head:
            self.links.append({k: v or "" for k, v in attrs})

    def handle_endtag(self, tag):
        if tag == "head":
            self.in_head = False


def head_of(text: str) -> list[dict[str, str]]:
    parser = HeadLinks()
    parser.feed(text)
    return parser.links


def fetch(url: str) -> tuple[str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.headers.get_content_type(), response.read()


def test_every_landing_page_signposts_its_identifier_metadata_data_licence_authors_and_types(built_site, site_url):
    settings = load_settings(built_site.root)
    public = settings.site_url if settings.site_url.endswith("/") else settings.site_url + "/"
    catalog = json.loads((built_site.site / "catalog.json").read_text())
    listed = [s for s in catalog["studies"] if not s["withdrawn"]]
    assert listed
    for study in listed:
        accession, page_url = study["accession"], study["url"]
        text = built_site.page(study["url_path"])
        assert len(text.encode()) < PAGE_BUDGET, accession
        links = [link for link in head_of(text) if link.get("rel") in LEVEL_1_RELATIONS]
        by_rel: dict[str, list[dict[str, str]]] = {}
        for link in links:
            by_rel.setdefault(link["rel"], []).append(link)
        assert {"cite-as", "describedby", "license", "type", "linkset"} <= set(by_rel), accession
        assert [link["href"] for link in by_rel["cite-as"]] == [page_url]  # no findable DOI in the example
        assert {link["href"] for link in by_rel["type"]} == {"https://schema.org/Dataset",
                                                              "https://schema.org/AboutPage"}
        assert by_rel["license"][0]["href"] == study["licence"]["url"]
        orcids = [f"https://orcid.org/{a['orcid']}" for a in study["study"]["authors"] if a.get("orcid")]
        assert [link["href"] for link in by_rel.get("author", [])] == orcids
        https = {i["access"]["https"] for i in study["images"] if i["access"]["https"]}
        assert {link["href"] for link in by_rel.get("item", [])} <= https and (bool(https) == ("item" in by_rel))

        # Follow every link that lies in the site, as a harvester would, and check what it finds.
        def served(href: str) -> str:
            assert href.startswith(public), href
            return site_url.rstrip("/") + "/" + href[len(public):]

        media, body = fetch(served(by_rel["cite-as"][0]["href"]))
        assert media == "text/html" and accession.encode() in body
        described = {link["profile"]: link for link in by_rel["describedby"]}
        assert set(described) == {f"{public}api/index.json", ROCRATE_PROFILE, "http://mlcommons.org/croissant/1.0"}
        for profile, link in described.items():
            media, body = fetch(served(link["href"]))
            assert media == "application/json" and link["type"] in {"application/json", "application/ld+json"}
            document = json.loads(body)
            if profile == ROCRATE_PROFILE:
                descriptor = next(e for e in document["@graph"] if e["@id"] == "ro-crate-metadata.json")
                assert descriptor["conformsTo"]["@id"] == profile
            elif "croissant" in profile:
                assert document["conformsTo"] == profile and document["url"] == page_url
            else:
                assert document["accession"] == accession
        (linkset_link,) = by_rel["linkset"]
        assert linkset_link["type"] == LINKSET_TYPE
        _, body = fetch(served(linkset_link["href"]))
        (context,) = json.loads(body)["linkset"]
        assert context["anchor"] == page_url
        # Level 2 holds every level-1 link (and every image, where the head lists the first ones).
        for link in links:
            if link["rel"] != "linkset":
                assert link["href"] in {t["href"] for t in context[link["rel"]]}, (accession, link)
        assert {t["href"] for t in context.get("item", [])} == https


def test_an_embargoed_study_has_no_links_and_no_linkset(built_site):
    assert not (built_site.site / "studies" / EMBARGO_ACCESSION).exists()
    for path in built_site.site.rglob("linkset.json"):
        assert EMBARGO_ACCESSION not in path.read_text(encoding="utf-8"), path


def test_a_tombstone_keeps_its_identifier_and_type_but_points_at_no_data(sample_catalog, catalog_settings):
    study = sample_catalog.studies[0].model_copy(update={"withdrawn": True, "withdrawal_reason": "duplicate"})
    rels = [link["rel"] for link in head_of("<head>" + head_links(study, catalog_settings) + "</head>")]
    assert set(rels) == {"cite-as", "type", "linkset"}
    assert set(linkset(study, catalog_settings)["linkset"][0]) == {"anchor", "cite-as", "type"}


def test_link_values_are_escaped_in_the_head(hostile_catalog, catalog_settings):
    for study in hostile_catalog.studies:
        for link in head_of("<head>" + head_links(study, catalog_settings) + "</head>"):
            assert link["href"].startswith("https://"), link
