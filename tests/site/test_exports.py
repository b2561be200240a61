import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from datacite import schema45
from hypothesis import given, settings
from hypothesis import strategies as st
from pybtex.database import parse_string

from builder.catalog.assembly import PRIVATE_STUDY_FIELDS, build_catalog
from builder.core.text import clean, one_line
from builder.model.study import Study
from builder.site import exports
from builder.site.exports import (
    CITATION_FORMATS,
    CSV_COLUMNS,
    CSV_FORMULA_STARTS,
    csv_cell,
    study_summary,
    write_atomic,
    write_exports,
)
from tests.support.catalog import (
    EMBARGO_MARKER,
    EMBARGOED_ACCESSION,
    HOSTILE_TEXT,
    HOSTILE_TITLE,
    TODAY,
    example_history,
    example_image_facts,
    example_studies,
    hostile_study,
    image_facts,
    settings_for_tests,
    study_record,
)

NS = {"a": "http://www.w3.org/2005/Atom", "s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
EXTRA_PAGES = ["browse/", "search/", "guides/deposit/", "studies/OIA-000002/v1/"]


@pytest.fixture
def full_catalog(catalog_settings):
    """Released, withdrawn, embargoed and hostile studies together."""
    return build_catalog(example_studies() + [hostile_study()], example_image_facts(), catalog_settings, TODAY,
                         history=example_history())


@pytest.fixture
def site(tmp_path, full_catalog, catalog_settings):
    written = write_exports(full_catalog, tmp_path, catalog_settings, extra_pages=EXTRA_PAGES)
    return tmp_path, written


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_writes_every_export(site, full_catalog):
    out, written = site
    expected = {"api/index.json", "api/studies.json", "catalog.csv", "sitemap.xml", "feed.xml", "robots.txt",
                "search/catalog-index.js"}
    for cs in full_catalog.studies:
        expected.add(f"api/studies/{cs.accession}.json")  # citations are inside, not files of their own
    assert {p.relative_to(out).as_posix() for p in written} == expected
    assert all(p.is_file() for p in written)
    assert not list(out.rglob("*.tmp"))


def test_embargoed_study_appears_in_no_export(site):
    out, _ = site
    for path in out.rglob("*"):
        if path.is_file():
            text = read(path)
            assert EMBARGO_MARKER not in text, path
            assert EMBARGOED_ACCESSION not in text, path
            assert "secret-card.webp" not in text, path
    assert not (out / "studies" / EMBARGOED_ACCESSION).exists()


def test_exports_are_deterministic(tmp_path, catalog_settings):
    def build(folder: Path) -> dict[str, bytes]:
        catalog = build_catalog(example_studies() + [hostile_study()], example_image_facts(), catalog_settings,
                                TODAY, history=example_history())
        write_exports(catalog, folder, catalog_settings, extra_pages=EXTRA_PAGES)
        return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}

    assert build(tmp_path / "a") == build(tmp_path / "b")


def test_rewriting_replaces_files(site, full_catalog, catalog_settings):
    out, _ = site
    (out / "robots.txt").write_text("stale", encoding="utf-8")
    write_exports(full_catalog, out, catalog_settings)
    assert read(out / "robots.txt").startswith("User-agent: *")


def test_write_atomic_leaves_no_partial_file(tmp_path):
    target = tmp_path / "busy"
    target.mkdir()  # renaming a file over a folder fails
    with pytest.raises(OSError):
        write_atomic(target, "data")
    assert [p.name for p in tmp_path.iterdir()] == ["busy"]
    assert write_atomic(tmp_path / "ok.txt", "é").read_bytes() == "é".encode()


def test_api_studies_json(site, full_catalog):
    out, _ = site
    doc = json.loads(read(out / "api/studies.json"))
    assert doc["format_version"] == exports.API_FORMAT_VERSION == 2
    assert doc["count"] == 4
    assert [s["accession"] for s in doc["studies"]] == [s.accession for s in full_catalog.studies]
    first = next(s for s in doc["studies"] if s["accession"] == "OIA-000002")
    assert first["organisms"] == [{"id": "NCBITaxon:9606", "label": "Homo sapiens"},
                                  {"id": "NCBITaxon:10090", "label": "Mus musculus"}]
    assert first["status"] == "published" and first["image_count"] == 2
    tomb = next(s for s in doc["studies"] if s["accession"] == "OIA-000003")
    assert tomb["status"] == "withdrawn" and tomb["card_thumbnail"] is None


def test_api_index_describes_every_field(site):
    out, _ = site
    description = json.loads(read(out / "api/index.json"))
    summary = json.loads(read(out / "api/studies.json"))["studies"][0]
    assert set(description["study_summary_fields"]) == set(summary)
    assert description["csv_columns"] == list(CSV_COLUMNS)
    assert description["format_version"] == exports.API_FORMAT_VERSION


def test_study_documents(site, full_catalog):
    out, _ = site
    doc = json.loads(read(out / "api/studies/OIA-000001.json"))
    study = full_catalog.get("OIA-000001").study
    # The record as published: everything but the contact emails, which curators read in Git.
    assert doc["record"] == study.model_dump(mode="json", exclude=PRIVATE_STUDY_FIELDS)
    assert all("email" not in author for author in doc["record"]["authors"])
    assert doc["images"][0]["facts"]["shape"] == [2, 10, 512, 512]
    assert doc["images"][0]["access"]["https"] == "https://data.example.org/oia/mesc/cell-01.ome.zarr"
    assert doc["derived"]["licence"]["url"] == "https://creativecommons.org/licenses/by/4.0/"
    assert doc["format_version"] == 2 and "citation_files" not in doc
    assert set(doc["citation_formats"]) == {f.key for f in CITATION_FORMATS}
    tomb = json.loads(read(out / "api/studies/OIA-000003.json"))
    assert tomb["status"] == "withdrawn" and tomb["withdrawal_reason"]
    assert "datasets" not in tomb["record"] and tomb["images"] == []
    assert "zebrafish/heart.ome.zarr" not in read(out / "api/studies/OIA-000003.json")
    hostile = json.loads(read(out / "api/studies/OIA-000666.json"))
    assert hostile["record"]["title"] == HOSTILE_TITLE
    assert hostile["record"]["description"] == HOSTILE_TEXT.strip()


def test_csv_parses_and_defuses_formulas(site):
    out, _ = site
    rows = list(csv.reader(io.StringIO(read(out / "catalog.csv"), newline="")))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 5
    for row in rows[1:]:
        assert len(row) == len(CSV_COLUMNS)
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    hostile = next(r for r in rows if r[0] == "OIA-000666")
    record = dict(zip(CSV_COLUMNS, hostile))
    assert record["title"] == HOSTILE_TITLE
    assert record["keywords"].startswith("'=HYPERLINK(")
    assert record["keywords"][1:].split("; ") == ['=HYPERLINK("http://evil")', "+1+1", "-2", "@SUM(A1)",
                                                 '<xml attr="x">', "東京"]
    assert csv_cell("-2") == "'-2" and csv_cell("plain") == "plain" and csv_cell("a\x07b") == "ab"


def test_sitemap_lists_every_page(site, full_catalog):
    out, _ = site
    root = ET.fromstring(read(out / "sitemap.xml"))
    locs = [u.findtext("s:loc", namespaces=NS) for u in root.findall("s:url", NS)]
    assert locs[0] == "https://archive.example.org/"
    assert {f"https://archive.example.org/{p}" for p in EXTRA_PAGES} <= set(locs)
    assert {cs.url for cs in full_catalog.studies} <= set(locs)
    assert len(locs) == len(set(locs)) == 1 + len(EXTRA_PAGES) + 4
    lastmods = {u.findtext("s:loc", namespaces=NS): u.findtext("s:lastmod", namespaces=NS)
                for u in root.findall("s:url", NS)}
    assert lastmods["https://archive.example.org/studies/OIA-000002/"] == "2025-01-10"


def test_large_sitemaps_are_split(tmp_path, full_catalog, catalog_settings, monkeypatch):
    monkeypatch.setattr(exports, "SITEMAP_MAX_URLS", 3)
    write_exports(full_catalog, tmp_path, catalog_settings, extra_pages=EXTRA_PAGES)
    index = ET.fromstring(read(tmp_path / "sitemap.xml"))
    parts = [s.findtext("s:loc", namespaces=NS) for s in index.findall("s:sitemap", NS)]
    assert parts == [f"https://archive.example.org/sitemap-{n}.xml" for n in (1, 2, 3)]
    urls = []
    for n in (1, 2, 3):
        part = ET.fromstring(read(tmp_path / f"sitemap-{n}.xml"))
        urls += [u.findtext("s:loc", namespaces=NS) for u in part.findall("s:url", NS)]
    assert len(urls) == 9


def test_atom_feed(site, full_catalog):
    out, _ = site
    feed = ET.fromstring(read(out / "feed.xml"))
    assert feed.tag == "{http://www.w3.org/2005/Atom}feed"
    assert feed.findtext("a:id", namespaces=NS) == "https://archive.example.org/"
    entries = feed.findall("a:entry", NS)
    ids = [e.findtext("a:id", namespaces=NS) for e in entries]
    assert ids == [cs.url for cs in sorted(full_catalog.listed_studies,
                                           key=lambda s: (s.release_date, s.accession), reverse=True)]
    assert "https://archive.example.org/studies/OIA-000003/" not in ids  # withdrawn
    hostile = entries[ids.index("https://archive.example.org/studies/OIA-000666/")]
    assert hostile.findtext("a:title", namespaces=NS) == one_line(HOSTILE_TITLE)
    assert "\u2028" not in hostile.findtext("a:summary", namespaces=NS)
    assert hostile.find("a:category", NS).get("label") == 'Mus <i>musculus</i> "&"'
    for entry in entries:
        assert entry.findtext("a:updated", namespaces=NS).endswith("T00:00:00Z")
    assert feed.findtext("a:updated", namespaces=NS) == "2025-03-14T00:00:00Z"


def test_robots_txt_names_the_sitemap(site):
    out, _ = site
    assert "Sitemap: https://archive.example.org/sitemap.xml" in read(out / "robots.txt").splitlines()


def test_citation_formats_parse(site, full_catalog):
    """Every study document carries its citation in each format, each parsed by its own reader."""
    out, _ = site
    for cs in full_catalog.studies:
        formats = json.loads(read(out / f"api/studies/{cs.accession}.json"))["citation_formats"]
        bib = parse_string(formats["bibtex"], "bibtex")
        assert list(bib.entries) == [cs.accession]
        assert formats["ris"].startswith("TY  - DATA\r\n")
        assert formats["csl_json"][0]["id"] == cs.accession
        assert yaml.safe_load(formats["cff"])["cff-version"] == "1.2.0"
        schema45.validator.validate(formats["datacite_json"])
        assert ET.fromstring(formats["datacite_xml"].encode()).tag.endswith("resource")
    # Tombstones keep their citation.
    assert "@misc{OIA-000003," in json.loads(read(out / "api/studies/OIA-000003.json"))["citation_formats"]["bibtex"]


def test_without_studies_the_exports_leave_study_documents_to_the_caller(tmp_path, full_catalog, catalog_settings):
    written = write_exports(full_catalog, tmp_path, catalog_settings, studies=False)
    assert written and not (tmp_path / "api" / "studies").exists()
    assert (tmp_path / "api" / "studies.json").is_file()


def test_study_summary_of_hostile_study(hostile_catalog):
    summary = study_summary(hostile_catalog.studies[0])
    assert summary["title"] == HOSTILE_TITLE
    assert json.loads(json.dumps(summary))["authors"][0] == 'Robert "Bobby" O\'Brien and {Drop} Tables'


def test_paths_cannot_leave_the_output_folder(tmp_path, catalog_settings):
    study = Study.model_validate(study_record("../../escape"))  # no accession pattern in this context
    catalog = build_catalog([study], {}, catalog_settings, TODAY)
    with pytest.raises(ValueError, match="leaves the output folder"):
        write_exports(catalog, tmp_path / "site", catalog_settings)
    assert not (tmp_path / "escape").exists()


def test_feed_keeps_only_the_newest(full_catalog, catalog_settings):
    feed = ET.fromstring(exports.atom_feed(full_catalog, catalog_settings, entries=1))
    assert [e.findtext("a:id", namespaces=NS) for e in feed.findall("a:entry", NS)] == [
        "https://archive.example.org/studies/OIA-000666/"]


def test_csv_keeps_line_breaks_inside_quoted_cells(tmp_path, catalog_settings):
    study = Study.model_validate(study_record("OIA-000040", title="Two-line title,\nwith a comma and \"quotes\""))
    catalog = build_catalog([study], {}, catalog_settings, TODAY)
    rows = list(csv.reader(io.StringIO(exports.catalog_csv(catalog), newline="")))
    assert rows[1][CSV_COLUMNS.index("title")] == 'Two-line title,\nwith a comma and "quotes"'


def test_build_machine_paths_are_not_published(tmp_path):
    settings = settings_for_tests(storage_root="example-data", storage_public_url="")
    facts = {"OIA-000001/confocal/cell-01": image_facts("/home/runner/archive/example-data/mesc/cell-01.ome.zarr")}
    catalog = build_catalog([example_studies()[0]], facts, settings, TODAY)
    write_exports(catalog, tmp_path, settings)
    text = read(tmp_path / "api/studies/OIA-000001.json")
    assert "/home/runner" not in text
    assert json.loads(text)["images"][0]["facts"]["url"] == "mesc/cell-01.ome.zarr"


def test_an_empty_archive_exports_cleanly(tmp_path, catalog_settings):
    catalog = build_catalog([], {}, catalog_settings, TODAY)
    written = write_exports(catalog, tmp_path, catalog_settings)
    assert {p.relative_to(tmp_path).as_posix() for p in written} == {
        "api/index.json", "api/studies.json", "catalog.csv", "sitemap.xml", "feed.xml", "robots.txt",
        "search/catalog-index.js"}
    assert json.loads(read(tmp_path / "api/studies.json"))["count"] == 0
    assert ET.fromstring(read(tmp_path / "feed.xml")).findall("a:entry", NS) == []


_CELL_TEXT = st.lists(st.one_of(st.sampled_from(list("=+-@\t\r\n,;\"'|") + ["=cmd|' /C calc'!A0"]),
                                st.text(st.characters(exclude_categories=("Cs",)), max_size=6)),
                      min_size=1, max_size=10).map("".join)


@settings(max_examples=80, deadline=None)
@given(text=_CELL_TEXT)
def test_any_cell_text_is_defused_and_recoverable(text):
    cell = csv_cell(text)
    assert not cell.startswith(CSV_FORMULA_STARTS)
    parsed = next(csv.reader(io.StringIO(_csv_line([cell]), newline="")))
    defused = clean(text).startswith(CSV_FORMULA_STARTS)
    assert parsed[0] == ("'" + clean(text) if defused else clean(text))


def _csv_line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()


def test_no_export_publishes_a_contact_email(sample_catalog, catalog_settings, tmp_path):
    emails = {a.email for cs in sample_catalog.studies for a in cs.study.authors if a.email}
    assert emails
    written = write_exports(sample_catalog, tmp_path, catalog_settings)
    leaks = [(p.name, e) for p in written for e in emails if e in p.read_text(encoding="utf-8", errors="replace")]
    assert leaks == []
