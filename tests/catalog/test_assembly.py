import ast
import datetime as dt
import json

import pytest

from builder.catalog.assembly import (
    FacetValue,
    PastVersion,
    build_catalog,
    image_access,
    licence_info,
    markdown_to_text,
    python_snippet,
    truncate_text,
    viewer_links,
)
from builder.model.study import Study
from tests.support.catalog import (
    EMBARGO_MARKER,
    EMBARGOED_ACCESSION,
    TODAY,
    example_history,
    example_image_facts,
    example_studies,
    settings_for_tests,
    study_record,
    synthetic_catalog,
)


def test_future_studies_are_left_out_entirely(sample_catalog):
    accessions = [s.accession for s in sample_catalog.studies]
    assert EMBARGOED_ACCESSION not in accessions
    text = sample_catalog.to_json()
    assert EMBARGO_MARKER not in text
    assert EMBARGOED_ACCESSION not in text
    assert "secret-card.webp" not in text
    # Drosophila only occurs in the embargoed study: no facet may count it.
    assert all(v.value != "NCBITaxon:7227" for v in sample_catalog.facets["organism"])


def test_release_day_is_inclusive(catalog_settings):
    record = study_record("OIA-000010", release_date=TODAY.isoformat())
    study = Study.model_validate(record)
    assert [s.accession for s in build_catalog([study], {}, catalog_settings, TODAY).studies] == ["OIA-000010"]
    day_before = TODAY - dt.timedelta(days=1)
    assert build_catalog([study], {}, catalog_settings, day_before).studies == []


def test_studies_newest_first_with_withdrawn_kept_as_tombstone(sample_catalog):
    assert [s.accession for s in sample_catalog.studies] == ["OIA-000001", "OIA-000002", "OIA-000003"]
    tomb = sample_catalog.get("OIA-000003")
    assert tomb.withdrawn and tomb.withdrawal_reason.startswith("The depositors")
    assert tomb.images == [] and tomb.card_thumbnail is None
    assert tomb.citation  # still citable
    assert [s.accession for s in sample_catalog.listed_studies] == ["OIA-000001", "OIA-000002"]


def test_stats_count_listed_studies(sample_catalog):
    stats = sample_catalog.stats
    assert stats.studies == 2
    assert stats.withdrawn == 1
    assert stats.images == 4  # 2 + plate + unreadable control
    assert stats.organisms == 2  # mouse, human
    assert stats.imaging_methods == 2
    assert stats.total_bytes == 2_000_000 + 3_000_000 + 50_000_000


def test_facets(sample_catalog):
    f = sample_catalog.facets
    assert f["organism"] == [
        FacetValue("NCBITaxon:10090", "Mus musculus", 2),
        FacetValue("NCBITaxon:9606", "Homo sapiens", 1),
    ]
    assert {v.value: v.count for v in f["imaging_method"]} == {"FBbi:00000251": 1, "FBbi:00000246": 1}
    assert f["biological_scale"] == [
        FacetValue("cell", "cell", 2),
        FacetValue("molecular machine", "molecular machine", 1),
    ]
    assert {v.value for v in f["data_type"]} == {"reference images", "systematic phenotyping"}
    assert {v.value: v.label for v in f["licence"]} == {
        "CC-BY-4.0": "Creative Commons Attribution 4.0 International",
        "CC0-1.0": "Creative Commons Zero v1.0 Universal",
    }
    assert f["release_year"] == [FacetValue("2025", "2025", 1), FacetValue("2024", "2024", 1)]


def test_facet_counts_match_studies_at_scale():
    catalog = synthetic_catalog(300, seed=3)
    for facet, attr in (("organism", "organisms"), ("imaging_method", "imaging_methods")):
        for value in catalog.facets[facet]:
            assert value.count == sum(any(t.id == value.value for t in getattr(s, attr)) for s in catalog.studies)
    assert sum(v.count for v in catalog.facets["release_year"]) == 300
    assert sum(v.count for v in catalog.facets["licence"]) == 300
    counts = [v.count for v in catalog.facets["organism"]]
    assert counts == sorted(counts, reverse=True)


def test_facet_label_is_the_most_used_label(catalog_settings):
    def with_label(acc, label):
        record = study_record(acc)
        record["datasets"][0]["biosample"]["organisms"] = [{"id": "NCBITaxon:10090", "label": label}]
        return Study.model_validate(record)

    studies = [
        with_label("OIA-000011", "mouse"),
        with_label("OIA-000012", "Mus musculus"),
        with_label("OIA-000013", "Mus musculus"),
    ]
    catalog = build_catalog(studies, {}, catalog_settings, TODAY)
    assert catalog.facets["organism"] == [FacetValue("NCBITaxon:10090", "Mus musculus", 3)]


def test_derived_facts(sample_catalog):
    cs = sample_catalog.get("OIA-000001")
    assert cs.url_path == "studies/OIA-000001/"
    assert cs.url == "https://archive.example.org/studies/OIA-000001/"
    assert cs.year == 2025 and cs.image_count == 2 and cs.total_bytes == 5_000_000
    assert cs.licence.url == "https://creativecommons.org/licenses/by/4.0/"
    assert cs.card_thumbnail == "a1b2c3-card.webp"
    assert [t.id for t in cs.organisms] == ["NCBITaxon:10090"]
    assert cs.summary.startswith("We imaged nuclear architecture in mouse")  # Markdown removed
    assert "https://example.org/protocol" not in cs.summary
    assert cs.citation.startswith("Lovelace, A., & van Beethoven, L. (2025). Three-dimensional")


def test_images_carry_access_viewers_and_snippet(sample_catalog):
    cs = sample_catalog.get("OIA-000001")
    local, remote = cs.images
    assert local.ref == "OIA-000001/confocal/cell-01"
    assert local.access.relative == "mesc/cell-01.ome.zarr"
    assert local.access.https == "https://data.example.org/oia/mesc/cell-01.ome.zarr"
    assert [v.name for v in local.viewers] == ["vizarr", "Neuroglancer", "OME-NGFF validator"]
    assert "zarr3%3A%2F%2Fhttps" in local.viewers[1].url  # NGFF 0.5 is Zarr v3
    assert "zarr%3A%2F%2Fhttps" in remote.viewers[1].url  # NGFF 0.4
    ast.parse(local.python_snippet)
    assert "'https://data.example.org/oia/mesc/cell-01.ome.zarr'" in local.python_snippet

    plate = sample_catalog.get("OIA-000002").images[0]
    assert plate.access.s3 == "s3://screens/hela/plate1.ome.zarr"
    assert plate.access.https == "https://screens.s3.amazonaws.com/hela/plate1.ome.zarr"
    assert [v.name for v in plate.viewers] == ["OME-NGFF validator"]  # vizarr cannot open plates
    unread = sample_catalog.get("OIA-000002").images[1]
    assert unread.facts is None and unread.python_snippet


def test_no_viewers_without_https():
    settings = settings_for_tests(storage_root="example-data", storage_public_url="")
    access = image_access("mesc/cell.ome.zarr", settings)
    assert access.https is None and access.relative == "mesc/cell.ome.zarr"
    assert viewer_links(access.https, None, "x") == []
    snippet = python_snippet(access, None, settings)
    assert "'example-data/mesc/cell.ome.zarr'" in snippet
    ast.parse(snippet)
    # A plain-HTTP S3 endpoint (a local test server) gives no public HTTPS URL either.
    local_s3 = settings_for_tests(
        storage_root="s3://bucket/root", storage_public_url="", s3_endpoint_url="http://127.0.0.1:5000"
    )
    access = image_access("a/b.ome.zarr", local_s3)
    assert access.s3 == "s3://bucket/root/a/b.ome.zarr" and access.https is None
    snippet = python_snippet(access, None, local_s3)
    assert "'endpoint_url': 'http://127.0.0.1:5000'" in snippet
    ast.parse(snippet)


def test_s3_https_mapping():
    https_endpoint = settings_for_tests(s3_endpoint_url="https://s3.embl.de/")
    assert image_access("s3://bk/x.zarr", https_endpoint).https == "https://s3.embl.de/bk/x.zarr"
    aws = settings_for_tests()
    assert image_access("s3://my.dotted/x.zarr", aws).https == "https://s3.amazonaws.com/my.dotted/x.zarr"


def test_snippet_survives_hostile_values():
    settings = settings_for_tests()
    url = "https://h.example.org/a'b\"c\\d.zarr"
    snippet = python_snippet(image_access(url, settings), None, settings)
    tree = ast.parse(snippet)  # still valid Python
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "open_group"
    ]
    assert [ast.literal_eval(call.args[0]) for call in calls] == [url]


def test_versions_from_history(sample_catalog):
    versions = sample_catalog.get("OIA-000002").versions
    assert [(v.version, v.current) for v in versions] == [(2, True), (1, False)]
    assert versions[0].changes.startswith("Added the second plate")
    assert versions[1].commit == "a" * 40 and versions[1].title.endswith("(first release)")


def test_history_of_an_embargoed_earlier_version_is_hidden(catalog_settings):
    study = example_studies()[0]
    hidden = study.model_copy(update={"release_date": dt.date(2099, 1, 1)})
    current = study.model_copy(update={"version": 2})
    history = {study.accession: [PastVersion(version=1, date=dt.date(2025, 1, 1), commit="c" * 40, study=hidden)]}
    catalog = build_catalog([current], {}, catalog_settings, TODAY, history=history)
    assert [v.version for v in catalog.studies[0].versions] == [2]


def test_duplicate_accessions_are_refused(catalog_settings):
    study = example_studies()[0]
    with pytest.raises(ValueError, match="OIA-000001"):
        build_catalog([study, study], {}, catalog_settings, TODAY)


def test_to_json_is_deterministic_and_round_trips(catalog_settings):
    a = build_catalog(example_studies(), example_image_facts(), catalog_settings, TODAY, history=example_history())
    b = build_catalog(
        list(reversed(example_studies())),
        dict(reversed(list(example_image_facts().items()))),
        catalog_settings,
        TODAY,
        history=example_history(),
    )
    assert a.to_json() == b.to_json()
    assert json.loads(a.to_json())["format_version"] == 1


def test_contact_emails_are_never_published(catalog_settings):
    catalog = build_catalog(example_studies(), example_image_facts(), catalog_settings, TODAY)
    emails = {a.email for cs in catalog.studies for a in cs.study.authors if a.email}
    assert emails  # the records have them; curators read them in Git
    published = catalog.to_json()
    assert not [e for e in emails if e in published]
    assert '"name"' in published and "orcid" in published  # the rest of each author stays


def test_hostile_text_survives_into_the_catalog(hostile_catalog):
    cs = hostile_catalog.studies[0]
    assert cs.study.title.startswith('Nuclei "quoted" {braced} </script>')
    assert "Åström café 東京 🦠" in cs.summary
    assert "\n" not in cs.summary
    assert cs.citation.startswith("Tables, R. B. O. a. D., & Åström-Ñúñez, Z. (2025). Nuclei")


def test_text_helpers():
    assert (
        markdown_to_text("# Head\n\nSome *bold* [link](https://x.org) <script>evil()</script> &amp; done")
        == "Head Some bold link & done"
    )
    assert truncate_text("one two three four", 10) == "one two…"
    assert len(truncate_text("x" * 50, 10)) == 10
    assert licence_info("MIT").url == "https://spdx.org/licenses/MIT.html"


def test_an_earlier_version_can_be_placed_at_its_own_url(catalog_settings):
    from builder.catalog.assembly import catalog_study

    past = example_history()["OIA-000002"][0].study
    entry = catalog_study(past, {}, catalog_settings, TODAY, url_path="studies/OIA-000002/v1/")
    assert entry.url == "https://archive.example.org/studies/OIA-000002/v1/"
    assert entry.version == 1
    assert entry.citation.endswith(
        "(Version 1) [Data set]. Open Image Archive. OIA-000002. https://archive.example.org/studies/OIA-000002/v1/"
    )


def test_build_machine_paths_stay_out_of_the_catalog(catalog_settings):
    from tests.support.catalog import image_facts

    facts = {"OIA-000001/confocal/cell-01": image_facts("/home/runner/archive/example-data/mesc/cell-01.ome.zarr")}
    catalog = build_catalog([example_studies()[0]], facts, catalog_settings, TODAY)
    assert "/home/runner" not in catalog.to_json()
    assert catalog.studies[0].images[0].facts.url == "mesc/cell-01.ome.zarr"
    assert facts["OIA-000001/confocal/cell-01"].url.startswith("/home/runner")  # the input is left alone


def test_a_version_committed_under_embargo_is_dated_by_its_release(catalog_settings):
    study = example_studies()[0]  # released 2025-03-14
    history = {study.accession: [PastVersion(version=1, date=dt.date(2025, 1, 2), commit="d" * 40, study=study)]}
    catalog = build_catalog([study], {}, catalog_settings, TODAY, history=history)
    assert [(v.version, v.date, v.commit) for v in catalog.studies[0].versions] == [(1, dt.date(2025, 3, 14), "d" * 40)]


# ---------------------------------------------------------------- fast paths, same bytes


@pytest.mark.parametrize(
    "source",
    [
        "Plain prose, with commas; colons: and (brackets)!",
        "Two\n\nparagraphs\nand  breaks  \nhere.",
        "Ünïcödé ß 中文 text",
        "1. a list",
        "1986. A year",
        " 2. indented list",
        "- item",
        "-5 degrees",
        "text\n---",
        "text\n===",
        "    code",
        "a *b* c",
        "a_b_c",
        "snake_case",
        "[link](http://x)",
        "<b>html</b>",
        "AT&T",
        "&copy; 2020",
        "`code`",
        "# Title",
        "> quote",
        "a\\b",
        "50% of $5 @ lab / day?",
        "'single' and \"double\"",
        "",
        "   ",
        "\n\n",
        "٣. Arabic digit",
        "trailing \n",
        "x\r\ny",
        "tab\tx",
        "a\u00a0b",
    ],
)
def test_markdown_to_text_fast_path_matches_markdown(source):
    from builder.core.text import _rendered_text

    assert markdown_to_text(source) == _rendered_text.__wrapped__(source)


def test_markdown_fast_path_is_taken_for_prose_only():
    from builder.core.text import is_plain_markdown as _is_plain_markdown

    assert _is_plain_markdown("We imaged 20 cells (HeLa), at 37 degrees: see text.\n\nMore here.")
    for source in ("1. x", "- x", "a *b*", "a_b", "&amp;", "<i>", "    code", "x\t"):
        assert not _is_plain_markdown(source)


@pytest.mark.parametrize("count", [0, 1, 3])
@pytest.mark.parametrize("indent", [None, 0, 2, 4])
def test_to_json_is_json_dumps_of_the_whole_catalog(count, indent):
    from builder.catalog.assembly import PRIVATE_STUDY_FIELDS

    catalog = synthetic_catalog(3)
    catalog = catalog.model_copy(update={"studies": catalog.studies[:count]})
    data = catalog.model_dump(mode="json", exclude={"studies": {"__all__": {"study": PRIVATE_STUDY_FIELDS}}})
    assert catalog.to_json(indent=indent) == json.dumps(data, sort_keys=True, ensure_ascii=False, indent=indent)
