import json
import re

import pytest
import yaml
from citeproc import (
    Citation,
    CitationItem,
    CitationStylesBibliography,
    CitationStylesStyle,
    formatter,
)
from citeproc.source.json import CiteProcJSON
from datacite import schema45
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from lxml import etree
from pybtex.database import parse_string

from builder.catalog.assembly import build_catalog
from builder.catalog.citation import (
    BIBTEX_ESCAPES,
    citation_text,
    jsonld_script,
    to_bibtex,
    to_cff,
    to_csl_json,
    to_datacite,
    to_datacite_xml,
    to_jsonld,
    to_ris,
)
from builder.core.text import initials, one_line, split_name
from builder.model.study import Study
from tests.support.catalog import HOSTILE_NAME, HOSTILE_TITLE, TODAY, study_record

_UNESCAPE = re.compile("|".join(re.escape(v) for v in sorted(BIBTEX_ESCAPES.values(), key=len, reverse=True)))
_INVERSE = {v: k for k, v in BIBTEX_ESCAPES.items()}


def bibtex_unescape(text: str) -> str:
    """Inverse of the documented escape table, plus the braces around 'and' and ','."""
    text = text.replace("{and}", "and").replace("{AND}", "AND").replace("{,}", ",")
    return _UNESCAPE.sub(lambda m: _INVERSE[m.group(0)], text)


def test_split_name_and_initials():
    assert split_name("Ada Lovelace") == ("Ada", "Lovelace")
    assert split_name("Ludwig van Beethoven") == ("Ludwig", "van Beethoven")
    assert split_name("Curie, Marie Skłodowska") == ("Marie Skłodowska", "Curie")
    assert split_name("Plato") == ("", "Plato")
    assert initials("Jean-Paul Ada") == "J.-P. A."


def test_citation_text(sample_catalog, catalog_settings):
    cs = sample_catalog.get("OIA-000002")
    assert citation_text(cs, catalog_settings) == (
        "Lovelace, A., & van Beethoven, L. (2024). Genome-wide RNAi screen of mitotic timing in HeLa cells "
        "(Version 2) [Data set]. Open Image Archive. OIA-000002. https://archive.example.org/studies/OIA-000002/"
    )


def test_citation_text_shortens_long_author_lists(catalog_settings):
    record = study_record("OIA-000020")
    record["authors"] = [
        {"name": f"Given{i} Family{i}", **({"contact": True, "email": "a@example.org"} if i == 0 else {})}
        for i in range(25)
    ]
    cs = build_catalog([Study.model_validate(record)], {}, catalog_settings, TODAY).studies[0]
    text = citation_text(cs, catalog_settings)
    assert "Family18, G." in text and "Family19" not in text and ", … Family24, G. (2025)" in text


def test_bibtex_parses_back(sample_catalog, catalog_settings):
    cs = sample_catalog.get("OIA-000001")
    data = parse_string(to_bibtex(cs, catalog_settings), "bibtex")
    entry = data.entries["OIA-000001"]
    assert entry.type == "misc"
    assert [str(p) for p in entry.persons["author"]] == ["Lovelace, Ada", "van Beethoven, Ludwig"]
    assert entry.fields["title"] == "{Three-dimensional nuclear architecture of mouse embryonic stem cells}"
    assert entry.fields["year"] == "2025"
    assert entry.fields["url"] == "https://archive.example.org/studies/OIA-000001/"


def test_bibtex_hostile_strings_escaped_and_intact(hostile_catalog, catalog_settings):
    cs = hostile_catalog.studies[0]
    bib = to_bibtex(cs, catalog_settings)
    data = parse_string(bib, "bibtex")  # raises on unbalanced braces
    entry = data.entries["OIA-000666"]
    title = entry.fields["title"]
    assert title.startswith("{") and title.endswith("}")
    assert bibtex_unescape(title[1:-1]) == one_line(HOSTILE_TITLE)
    # "and" inside the name must not split it into two authors.
    persons = entry.persons["author"]
    assert len(persons) == 2
    given, family = split_name(HOSTILE_NAME)
    assert bibtex_unescape(" ".join(persons[0].last_names)) == family
    assert bibtex_unescape(" ".join(persons[0].first_names + persons[0].middle_names)) == given
    assert "Åström-Ñúñez" in bib
    # Nothing that could end a field or run LaTeX is left bare.
    body = title[1:-1]
    assert not re.search(r"(?<!\\)[%#&$_]", body)


def test_ris_line_format(sample_catalog, hostile_catalog, catalog_settings):
    for cs in (sample_catalog.get("OIA-000002"), hostile_catalog.studies[0]):
        ris = to_ris(cs, catalog_settings)
        assert ris.endswith("ER  - \r\n")
        lines = ris.split("\r\n")[:-1]
        assert lines[0] == "TY  - DATA"
        for line in lines:
            assert re.fullmatch(r"[A-Z][A-Z0-9]  - [^\r\n]*", line), line
        tags = {}
        for line in lines:
            tags.setdefault(line[:2], []).append(line[6:])
        assert tags["AN"] == [cs.accession]
        assert tags["PY"] == [str(cs.year)]
    assert tags["TI"] == [one_line(HOSTILE_TITLE)]
    assert tags["AU"][0] == "Tables, Robert \"Bobby\" O'Brien and {Drop}"


CSL_VARIABLES = {
    "id", "type", "title", "author", "issued", "publisher", "archive", "archive_location", "number", "version",
    "URL", "abstract", "keyword", "status", "note", "DOI",
}


def test_csl_json_renders_with_citeproc(sample_catalog, hostile_catalog, catalog_settings):
    items = [to_csl_json(sample_catalog.get("OIA-000001"), catalog_settings),
             to_csl_json(hostile_catalog.studies[0], catalog_settings)]
    for item in items:
        assert set(item) <= CSL_VARIABLES
        assert item["type"] == "dataset"
    items = json.loads(json.dumps(items))
    assert items[1]["title"] == one_line(HOSTILE_TITLE)
    source = CiteProcJSON(items)
    style = CitationStylesStyle("harvard-cite-them-right", validate=False)
    bibliography = CitationStylesBibliography(style, source, formatter.plain)
    for item in items:
        bibliography.register(Citation([CitationItem(item["id"])]))
    rendered = [str(entry) for entry in bibliography.bibliography()]
    assert any("Lovelace" in r and "2025" in r for r in rendered)


def test_cff_is_yaml_with_version_1_2_0(sample_catalog, hostile_catalog, catalog_settings):
    doc = yaml.safe_load(to_cff(sample_catalog.get("OIA-000001"), catalog_settings))
    assert doc["cff-version"] == "1.2.0"
    assert {"cff-version", "message", "title", "authors"} <= set(doc)
    assert doc["type"] == "dataset"
    assert doc["authors"][0] == {"family-names": "Lovelace", "given-names": "Ada",
                                 "affiliation": "European Molecular Biology Laboratory",
                                 "orcid": "https://orcid.org/0000-0002-1825-0097"}
    assert doc["date-released"].isoformat() == "2025-03-14"
    assert doc["license"] == "CC-BY-4.0"
    assert doc["preferred-citation"]["doi"] == "10.1038/s41592-021-01326-w"
    assert {i["type"] for i in doc["identifiers"]} <= {"doi", "url", "swh", "other"}

    hostile = yaml.safe_load(to_cff(hostile_catalog.studies[0], catalog_settings))
    assert hostile["title"] == one_line(HOSTILE_TITLE)
    assert hostile["keywords"][0] == '=HYPERLINK("http://evil")'


def test_datacite_validates(sample_catalog, hostile_catalog, catalog_settings):
    for cs in [*sample_catalog.studies, *hostile_catalog.studies]:
        data = to_datacite(cs, catalog_settings)
        schema45.validator.validate(data)  # raises on any schema error
        assert schema45.validate(data)
    data = to_datacite(sample_catalog.get("OIA-000002"), catalog_settings)
    assert data["types"]["resourceTypeGeneral"] == "Dataset"
    assert {"alternateIdentifier": "OIA-000002", "alternateIdentifierType": "Accession"} in data["alternateIdentifiers"]
    assert data["creators"][0]["nameIdentifiers"][0]["nameIdentifier"] == "https://orcid.org/0000-0002-1825-0097"
    assert data["rightsList"][0]["rightsIdentifier"] == "cc0-1.0"
    assert any(s.get("valueUri") == "http://purl.obolibrary.org/obo/NCBITaxon_9606" for s in data["subjects"])
    assert {"date": "2025-01-10", "dateType": "Updated"} in data["dates"]
    withdrawn = to_datacite(sample_catalog.get("OIA-000003"), catalog_settings)
    assert any(d["dateType"] == "Withdrawn" for d in withdrawn["dates"])


def test_datacite_xml_escapes(hostile_catalog, catalog_settings):
    cs = hostile_catalog.studies[0]
    xml = to_datacite_xml(cs, catalog_settings)
    root = etree.fromstring(xml.encode("utf-8"))
    ns = {"d": "http://datacite.org/schema/kernel-4"}
    assert root.find("d:titles/d:title", ns).text == one_line(HOSTILE_TITLE)
    assert root.find("d:creators/d:creator/d:creatorName", ns).text == "Tables, Robert \"Bobby\" O'Brien and {Drop}"
    assert "</script>" not in xml  # lxml escaped the angle brackets


BIOSCHEMAS_REQUIRED = {"@context", "@type", "@id", "name", "description", "identifier", "url", "keywords", "license"}
BIOSCHEMAS_RECOMMENDED = {"creator", "datePublished", "version", "includedInDataCatalog", "distribution",
                          "measurementTechnique", "citation", "isAccessibleForFree"}


def test_jsonld_bioschemas_dataset(sample_catalog, catalog_settings):
    doc = json.loads(json.dumps(to_jsonld(sample_catalog.get("OIA-000001"), catalog_settings)))
    assert BIOSCHEMAS_REQUIRED | BIOSCHEMAS_RECOMMENDED <= set(doc)
    assert doc["@type"] == "Dataset" and doc["@context"] == "https://schema.org"
    assert doc["http://purl.org/dc/terms/conformsTo"]["@id"] == "https://bioschemas.org/profiles/Dataset/1.0-RELEASE"
    assert 50 <= len(doc["description"]) <= 5000
    assert doc["license"] == "https://creativecommons.org/licenses/by/4.0/"
    person = doc["creator"][0]
    assert person["@type"] == "Person" and person["@id"] == "https://orcid.org/0000-0002-1825-0097"
    assert person["affiliation"][0]["@id"] == "https://ror.org/03mstc592"
    assert doc["includedInDataCatalog"] == {"@type": "DataCatalog", "name": "Open Image Archive",
                                            "url": "https://archive.example.org/"}
    assert doc["distribution"][0] == {
        "@type": "DataDownload", "name": "confocal/cell-01",
        "contentUrl": "https://data.example.org/oia/mesc/cell-01.ome.zarr",
        "encodingFormat": "OME-Zarr", "contentSize": "2000000 B",
    }
    assert doc["measurementTechnique"][0]["@id"] == "http://purl.obolibrary.org/obo/FBbi_00000251"
    assert doc["taxonomicRange"][0] == {"@type": "Taxon", "@id": "http://purl.obolibrary.org/obo/NCBITaxon_10090",
                                        "name": "Mus musculus", "identifier": "NCBITaxon:10090",
                                        "url": "http://purl.obolibrary.org/obo/NCBITaxon_10090"}
    assert doc["about"][0]["@type"] == "DefinedTerm" and doc["about"][0]["termCode"] == "NCBITaxon:10090"
    assert doc["citation"][0]["@id"] == "https://doi.org/10.1038/s41592-021-01326-w"
    assert doc["citation"][0]["sameAs"] == ["https://pubmed.ncbi.nlm.nih.gov/34887551/"]
    assert doc["funding"][0]["funder"]["name"] == "Wellcome Trust"


def test_jsonld_script_cannot_be_broken_out_of(hostile_catalog, catalog_settings):
    cs = hostile_catalog.studies[0]
    script = jsonld_script(cs, catalog_settings)
    assert script.startswith('<script type="application/ld+json">') and script.endswith("</script>")
    inner = script[len('<script type="application/ld+json">'):-len("</script>")]
    assert "<" not in inner and ">" not in inner and "&" not in inner
    assert "\u2028" not in inner
    assert json.loads(inner) == to_jsonld(cs, catalog_settings)
    assert json.loads(inner)["name"] == one_line(HOSTILE_TITLE)


@pytest.mark.parametrize("fmt", [to_bibtex, to_ris, to_cff, to_datacite_xml, jsonld_script])
def test_control_characters_never_reach_output(fmt, catalog_settings):
    record = study_record("OIA-000030", title="Bell \x07 and escape \x1b characters in a title")
    cs = build_catalog([Study.model_validate(record)], {}, catalog_settings, TODAY).studies[0]
    out = fmt(cs, catalog_settings)
    assert "\x07" not in out and "\x1b" not in out


# Any text a record may carry: every Unicode category, line breaks and the
# characters each format treats as syntax, more often than chance would pick them.
_SYNTAX = st.sampled_from(list('{}\\%&#$_^~"\'<>@=+-,;:|\n\r\t') + ["</script>", " and ", "]]>", "<!--"])
_TEXT = st.lists(st.one_of(_SYNTAX, st.text(st.characters(exclude_categories=("Cs",)), max_size=8)),
                 min_size=1, max_size=12).map("".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=_TEXT, name=_TEXT, keyword=_TEXT)
def test_any_text_survives_every_format(title, name, keyword, catalog_settings):
    title = f"Study of {title}"
    record = study_record("OIA-000050", title=title, keywords=[f"k {keyword}"])
    record["authors"][0]["name"] = f"Given {name} Family"
    try:
        study = Study.model_validate(record)
    except ValueError:
        event("refused by the model")
        return  # the model refused it (length, blank): nothing to publish
    cs = build_catalog([study], {}, catalog_settings, TODAY).studies[0]
    expected = one_line(study.title)

    bib = parse_string(to_bibtex(cs, catalog_settings), "bibtex").entries["OIA-000050"]
    assert bibtex_unescape(bib.fields["title"][1:-1]) == expected
    assert len(bib.persons["author"]) == 2

    for line in to_ris(cs, catalog_settings).split("\r\n")[:-1]:
        assert re.fullmatch(r"[A-Z][A-Z0-9]  - [^\r\n]*", line)

    assert yaml.safe_load(to_cff(cs, catalog_settings))["title"] == expected
    assert json.loads(json.dumps(to_csl_json(cs, catalog_settings)))["title"] == expected

    data = to_datacite(cs, catalog_settings)
    schema45.validator.validate(data)
    root = etree.fromstring(to_datacite_xml(cs, catalog_settings).encode("utf-8"))
    assert root.find("{http://datacite.org/schema/kernel-4}titles/{http://datacite.org/schema/kernel-4}title").text \
        == expected

    script = jsonld_script(cs, catalog_settings)
    inner = script[len('<script type="application/ld+json">'):-len("</script>")]
    assert "</" not in inner and "<!--" not in inner
    assert json.loads(inner)["name"] == expected


def test_identifier_urls():
    from builder.catalog.citation import doi_url, orcid_url

    assert doi_url("10.1002/(SICI)1097-4636<123::AID>3.0.CO;2-X") == \
        "https://doi.org/10.1002/(SICI)1097-4636%3C123::AID%3E3.0.CO;2-X"
    assert orcid_url("0000-0002-1825-0097") == "https://orcid.org/0000-0002-1825-0097"


def test_jsonld_distribution_is_capped(catalog_settings):
    from builder.catalog.citation import JSONLD_MAX_DISTRIBUTIONS

    record = study_record("OIA-000060")
    record["datasets"][0]["images"] = [{"name": f"img-{i}", "url": f"many/img-{i}.ome.zarr"} for i in range(150)]
    cs = build_catalog([Study.model_validate(record)], {}, catalog_settings, TODAY).studies[0]
    doc = to_jsonld(cs, catalog_settings)
    assert len(doc["distribution"]) == JSONLD_MAX_DISTRIBUTIONS
    assert doc["distribution"][0]["contentUrl"] == "https://data.example.org/oia/many/img-0.ome.zarr"


# ---------------------------------------------------------------- fast writers vs the reference libraries

_TRICKY = [
    "plain", "", " lead", "trail ", "a: b", "a:b", "ends:", ":", "-", "- x", "-x", "?", "? x", "#x", "a #b", "a#b",
    "---", "...", "..x", "'quoted'", 'say "hi"', "it's", "yes", "No", "null", "~", "1", "1.5", "0x1F", "1e3",
    "2024-01-02", "12:30", "<<", "=", "@home", "`tick`", "%pct", "[a]", "{b}", "a, b", "&x", "*x", "!x", "|x", ">x",
    "Ünïcödé ß 中文", "naïve — dash…", "\u00a0nbsp", "emoji 🧬", "tab\there", "line\nbreak", "cr\rx", "\u2028sep",
    "x" * 900, "A & B < C > D", "\ufeffbom", "true", "OFF", ".inf", "+1", "0o17", "1_000",
]


@pytest.mark.parametrize("text", _TRICKY)
def test_cff_writer_matches_yaml(text):
    from builder.catalog.citation import _NotSure, _yaml_mapping

    doc = {"title": text, "authors": [{"family-names": text, "given-names": "A"}, {"name": text}],
           "keywords": [text, "x"], "date-released": TODAY, "nested": {"year": 2020, "list": [{"name": text}]},
           "none": None}
    for dumper in (yaml.SafeDumper, getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
        expected = yaml.dump(doc, Dumper=dumper, sort_keys=False, allow_unicode=True, width=1000)
        try:
            written = "".join(_yaml_mapping(doc, 0, []))
        except _NotSure:
            continue  # to_cff then calls yaml.dump itself
        assert written == expected
        assert yaml.safe_load(written) == doc


def test_cff_writer_takes_the_common_cases(sample_catalog, hostile_catalog, catalog_settings):
    from builder.catalog.citation import _yaml_mapping

    for text in ["plain", "", "a: b", "1", "yes", "2024-01-02", "it's", "Ünïcödé 中文", "#x", "- x", "trail "]:
        assert "".join(_yaml_mapping({"k": text}, 0, [])) == yaml.dump(
            {"k": text}, Dumper=yaml.SafeDumper, sort_keys=False, allow_unicode=True, width=1000)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    for catalog in (sample_catalog, hostile_catalog):
        for cs in catalog.studies:
            text = to_cff(cs, catalog_settings)
            assert yaml.safe_load(text) == yaml.safe_load(yaml.dump(yaml.safe_load(text), Dumper=dumper))


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30))
def test_cff_writer_matches_yaml_on_any_text(text):
    from builder.catalog.citation import _NotSure, _yaml_mapping

    doc = {"title": text, "authors": [{"name": text}], "keywords": [text]}
    try:
        written = "".join(_yaml_mapping(doc, 0, []))
    except _NotSure:
        event("left to yaml.dump")
        return
    for dumper in (yaml.SafeDumper, getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
        assert written == yaml.dump(doc, Dumper=dumper, sort_keys=False, allow_unicode=True, width=1000)


@pytest.mark.parametrize("text", _TRICKY)
def test_datacite_xml_writer_matches_the_package(text, sample_catalog, catalog_settings):
    from builder.catalog.citation import _datacite_xml, _NotSure

    for cs in sample_catalog.studies:
        data = to_datacite(cs, catalog_settings, validate=False)
        data["titles"] = [{"title": text}]
        data["creators"][0]["name"] = text
        data["creators"][0]["affiliation"] = [{"name": text, "affiliationIdentifier": text,
                                               "affiliationIdentifierScheme": "ROR", "schemeUri": "https://ror.org"}]
        data["subjects"].append({"subject": text, "subjectScheme": text, "valueUri": "https://x/?a=1&b=2"})
        data["descriptions"].append({"description": text, "descriptionType": "Other"})
        data["fundingReferences"] = [{"funderName": text, "funderIdentifier": text, "funderIdentifierType": "ROR",
                                      "awardNumber": text}]
        data["dates"].append({"date": "2024", "dateType": "Withdrawn", "dateInformation": text})
        try:
            written = _datacite_xml(data)
        except _NotSure:
            with pytest.raises(ValueError):  # lxml refuses what the fast writer leaves to it
                schema45.tostring(data)
            continue
        assert written == schema45.tostring(data)
        assert to_datacite_xml(cs, catalog_settings, data=data) == written


def test_datacite_xml_writer_leaves_unknown_fields_to_the_package(sample_catalog, catalog_settings):
    cs = sample_catalog.studies[0]
    data = to_datacite(cs, catalog_settings) | {"doi": "10.1234/abc"}
    assert to_datacite_xml(cs, catalog_settings, data=data) == schema45.tostring(data)
    assert "<identifier" in to_datacite_xml(cs, catalog_settings, data=data)
