"""Stage 1: records on disk become Study models or located, explained diagnostics."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from builder.core.checks import Severity
from builder.core.settings import ArchiveSettings, Limits, load_settings
from builder.records.load import load_record, load_records
from tests.support.records import DROP, make_record, record_yaml, write_record

SETTINGS = ArchiveSettings()


def line_of(text: str, needle: str, nth: int = 1) -> int:
    count = 0
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            count += 1
            if count == nth:
                return number
    raise AssertionError(f"{needle!r} not in text")


def check(tmp_path: Path, record: dict | str, accession: str = "OIA-000001"):
    text = record if isinstance(record, str) else record_yaml(record)
    path = write_record(tmp_path, text, accession=accession)
    return load_record(path, SETTINGS, root=tmp_path), text


def the(result, check_id: str):
    found = [d for d in result.diagnostics if d.check == check_id]
    assert len(found) == 1, [(d.check, d.message) for d in result.diagnostics]
    return found[0]


def errors(result):
    return [d for d in result.diagnostics if d.severity is Severity.ERROR]


def test_valid_record_gives_a_study_and_no_errors(tmp_path):
    result, _ = check(tmp_path, make_record())
    assert result.study is not None and result.ok
    assert errors(result) == []
    assert result.study.accession == "OIA-000001"
    assert 0 <= result.completeness <= 100
    assert result.file == "studies/OIA-000001/study.yaml"


# ---------------------------------------------------------------- generic field errors


def test_missing_required_field(tmp_path):
    result, _ = check(tmp_path, make_record(title=DROP))
    d = the(result, "MOD001")
    assert d.field == "title" and "required field `title` is missing" in d.message
    assert d.file == "studies/OIA-000001/study.yaml" and d.line == 1
    assert result.study is None


def test_missing_nested_field_points_at_its_parent(tmp_path):
    record = make_record()
    del record["datasets"][0]["acquisition"]["instrument"]
    result, text = check(tmp_path, record)
    d = the(result, "MOD001")
    assert d.field == "datasets[0].acquisition.instrument"
    assert d.line == line_of(text, "acquisition:")


def test_unknown_field_suggests_the_closest_name(tmp_path):
    record = make_record()
    record["titel"] = record.pop("title")
    result, text = check(tmp_path, record)
    d = the(result, "MOD002")
    assert "unknown field `titel`; did you mean `title`?" in d.message
    assert (d.line, d.column, d.field) == (line_of(text, "titel:"), 1, "titel")


def test_unknown_nested_field_uses_that_level_names(tmp_path):
    record = make_record()
    acq = record["datasets"][0]["acquisition"]
    acq["imaging_methods"] = acq.pop("imaging_method")
    result, text = check(tmp_path, record)
    d = the(result, "MOD002")
    assert "did you mean `imaging_method`?" in d.message
    assert d.line == line_of(text, "imaging_methods:") and d.column == 5


def test_old_licence_spelling_points_to_migrate(tmp_path):
    record = make_record()
    record["license"] = record.pop("licence")
    result, _ = check(tmp_path, record)
    d = the(result, "MOD002")
    assert "did you mean `licence`?" in d.message and "bioarchive migrate" in d.hint


@pytest.mark.parametrize(
    "yaml_value, source",
    [("NO", "NO"), ("012345", "012345"), ("yes", "yes"), ("1.10", "1.10"), ("2024-05-01", "2024-05-01")],
)
def test_yaml_11_values_where_text_is_expected_say_to_quote(tmp_path, yaml_value, source):
    record = make_record(funding=[{"funder": "Wellcome Trust", "grant_id": "PLACEHOLDER"}])
    text = record_yaml(record).replace("PLACEHOLDER", yaml_value)
    result, _ = check(tmp_path, text)
    d = the(result, "MOD003")
    assert d.field == "funding[0].grant_id"
    assert f"YAML read `{source}`" in d.message
    assert f'grant_id: "{source}"' in d.hint and "quotes" in d.hint
    assert d.line == line_of(text, "grant_id:")


def test_wrong_type_names_the_expected_type(tmp_path):
    result, text = check(tmp_path, make_record(keywords="cells, nuclei"))
    d = the(result, "MOD003")
    assert "must be a list" in d.message and "the text 'cells, nuclei'" in d.message
    assert "- " in d.hint
    assert d.line == line_of(text, "keywords:")


def test_blank_text(tmp_path):
    record = make_record()
    record["datasets"][0]["biosample"]["biological_entity"] = "   "
    result, text = check(tmp_path, record)
    d = the(result, "MOD004")
    assert d.field == "datasets[0].biosample.biological_entity" and "empty" in d.message
    assert d.line == line_of(text, "biological_entity:")


def test_enum_value_lists_choices_and_suggests(tmp_path):
    record = make_record()
    record["datasets"][0]["images"][0]["kind"] = "plates"
    result, text = check(tmp_path, record)
    d = the(result, "MOD005")
    assert "allowed: image, plate, labels" in d.message and "did you mean 'plate'" in d.message
    assert d.line == line_of(text, "kind: plates")


def test_too_short_text(tmp_path):
    result, text = check(tmp_path, make_record(description="Too short."))
    d = the(result, "MOD006")
    assert "too short (10 characters); write at least 25" in d.message
    assert d.line == line_of(text, "description:")


def test_too_long_text_counts_characters(tmp_path):
    result, text = check(tmp_path, make_record(title="Mitosis " * 80))
    d = the(result, "MOD006")
    assert "is too long (640 characters); at most 500 allowed" in d.message
    assert d.line == line_of(text, "title:") and d.field == "title"


def test_empty_list_needs_an_entry(tmp_path):
    result, _ = check(tmp_path, make_record(authors=[]))
    d = the(result, "MOD006")
    assert "needs at least 1 entry" in d.message and d.field == "authors"


def test_number_out_of_range(tmp_path):
    result, text = check(tmp_path, make_record(publications=[{"title": "Old", "authors": "Hooke R", "year": 1500}]))
    d = the(result, "MOD007")
    assert "is 1500; it must be at least 1600" in d.message
    assert d.line == line_of(text, "year:")


def test_impossible_date(tmp_path):
    text = record_yaml(make_record()).replace("'2024-01-15'", "2024-02-30")
    result, _ = check(tmp_path, text)
    d = the(result, "MOD008")
    assert "2024-02-30" in d.message and "not a valid date" in d.message
    assert d.line == line_of(text, "release_date:")


def test_a_number_too_long_to_be_a_number_is_refused_where_it_stands(tmp_path):
    text = record_yaml(make_record(publications=[{"title": "T", "authors": "A", "year": 2000}]))
    text = text.replace("year: 2000", "year: " + "9" * 5000)
    result, _ = check(tmp_path, text)
    d = the(result, "REC012")
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if ln.lstrip().startswith("year: 999"))
    assert d.line == line and "too large" in d.message and "quote it" in d.message


def test_error_types_without_their_own_check_fall_back_to_mod009():
    # The record model raises no `multiple_of` error today; a future constraint
    # must still come out as a located diagnostic, not vanish or crash.
    from pydantic import BaseModel, Field, ValidationError

    from builder.records.load import model_diagnostics
    from builder.records.yaml_source import load_yaml

    class Plate(BaseModel):
        wells: int = Field(multiple_of=8)

    doc = load_yaml(b"wells: 95\n", file="plate.yaml")
    try:
        Plate.model_validate(doc.data)
    except ValidationError as exc:
        [d] = model_diagnostics(exc, doc, "plate.yaml")
    assert (d.check, d.field, d.line) == ("MOD009", "wells", 1)
    assert "multiple of 8" in d.message


# ---------------------------------------------------------------- errors the model raises


def _author(**kw):
    return {"name": "Ada Lovelace", "email": "ada@example.org", "contact": True, **kw}


@pytest.mark.parametrize(
    "check_id, record, field, words",
    [
        ("MOD020", make_record(authors=[_author(orcid="0000-0002-1825-0098")]), "authors[0].orcid", "check digit"),
        (
            "MOD021",
            make_record(authors=[_author(affiliations=[{"name": "EMBL", "ror": "03mstc593"}])]),
            "authors[0].affiliations[0].ror",
            "not a valid ROR id",
        ),
        ("MOD022", make_record(authors=[_author(email="ada-at-example")]), "authors[0].email", "not an email"),
        (
            "MOD023",
            make_record(publications=[{"title": "T", "authors": "A", "year": 2020, "doi": "doi 10"}]),
            "publications[0].doi",
            "not a DOI",
        ),
        (
            "MOD024",
            make_record(publications=[{"title": "T", "authors": "A", "year": 2020, "pubmed_id": "PMC12"}]),
            "publications[0].pubmed_id",
            "not a PubMed id",
        ),
        ("MOD025", make_record(links=[{"url": "www.example.org", "description": "lab"}]), "links[0].url", "https://"),
        ("MOD031", make_record(accession="S-BIAD1"), "accession", "expected like OIA-000001"),
        ("MOD032", make_record(licence="CC-BY-NC-4.0"), "licence", "CC0-1.0, CC-BY-4.0"),
        ("MOD030", make_record(schema_version=1), "schema_version", "bioarchive migrate"),
    ],
)
def test_model_errors_are_located_on_their_field(tmp_path, check_id, record, field, words):
    result, _ = check(tmp_path, record)
    d = the(result, check_id)
    assert d.field == field and words in d.message and d.severity is Severity.ERROR
    assert d.line is not None and d.column is not None


def test_bad_dataset_name_and_image_url(tmp_path):
    record = make_record()
    record["datasets"][0]["name"] = "my dataset"
    record["datasets"][0]["images"][0]["url"] = "http://example.org/a.zarr"
    result, text = check(tmp_path, record)
    assert the(result, "MOD026").line == line_of(text, "name: my dataset")
    d = the(result, "MOD027")
    assert "plain http://" in d.message and d.line == line_of(text, "url: http://")


def test_two_contacts_point_at_the_second(tmp_path):
    record = make_record(authors=[_author(), _author(name="Charles Babbage")])
    result, text = check(tmp_path, record)
    d = the(result, "MOD040")
    assert "found 2" in d.message
    assert d.line == line_of(text, "contact: true", nth=2) and d.field == "authors[1].contact"


def test_contact_without_email_points_at_the_contact(tmp_path):
    record = make_record(authors=[{"name": "Ada Lovelace", "contact": True}])
    result, text = check(tmp_path, record)
    d = the(result, "MOD041")
    assert "Ada Lovelace" in d.message and d.field == "authors[0].email"
    assert d.line == line_of(text, "contact: true")


def test_withdrawn_without_reason_points_at_status(tmp_path):
    result, text = check(tmp_path, make_record(status="withdrawn"))
    d = the(result, "MOD042")
    assert d.line == line_of(text, "status: withdrawn") and d.field == "withdrawal_reason"


def test_human_images_without_human_data_point_at_the_taxon(tmp_path):
    record = make_record()
    record["datasets"][0]["biosample"]["organisms"] = [{"id": "NCBITaxon:9606", "label": "Homo sapiens"}]
    result, text = check(tmp_path, record)
    d = the(result, "MOD043")
    assert d.line == line_of(text, "NCBITaxon:9606") and d.field == "human_data"


def test_human_images_must_be_deidentified(tmp_path):
    record = make_record(
        human_data={
            "ethics_statement": "Approved by board X, ref 12.",
            "consent_statement": "Written consent.",
            "deidentified": False,
        }
    )
    record["datasets"][0]["biosample"]["organisms"] = [{"id": "NCBITaxon:9606", "label": "Homo sapiens"}]
    result, text = check(tmp_path, record)
    d = the(result, "MOD044")
    assert d.line == line_of(text, "deidentified: false") and d.field == "human_data.deidentified"


# ---------------------------------------------------------------- ontology terms


def _organism(record, curie, label):
    record["datasets"][0]["biosample"]["organisms"] = [{"id": curie, "label": label}]
    return record


def test_malformed_curie(tmp_path):
    result, text = check(tmp_path, _organism(make_record(), "NCBITaxon9606", "Homo sapiens"))
    d = the(result, "ONT001")
    assert "is not a CURIE" in d.message and d.line == line_of(text, "NCBITaxon9606")


def test_term_from_the_wrong_ontology(tmp_path):
    result, _ = check(tmp_path, _organism(make_record(), "FBbi:00000246", "fluorescence microscopy"))
    d = the(result, "ONT002")
    assert "must be a NCBITaxon term" in d.message
    assert d.field == "datasets[0].biosample.organisms[0]"


def test_wrong_taxon_shows_both_names(tmp_path):
    record = _organism(make_record(), "NCBITaxon:9601", "Homo sapiens")
    record["human_data"] = {"ethics_statement": "n/a", "consent_statement": "n/a", "deidentified": True}
    result, text = check(tmp_path, record)
    d = the(result, "ONT003")
    assert d.severity is Severity.WARNING
    assert d.message == "NCBITaxon:9601 is 'Pongo abelii', but the record says 'Homo sapiens'"
    assert d.line == line_of(text, "label: Homo sapiens") and d.field == "datasets[0].biosample.organisms[0].label"
    assert result.ok  # a warning does not make the record invalid


def test_common_name_synonym_is_accepted(tmp_path):
    result, _ = check(tmp_path, _organism(make_record(), "NCBITaxon:10090", "mouse"))
    assert not [d for d in result.diagnostics if d.check.startswith("ONT")]


@pytest.mark.parametrize("given", ["mouse", "<script>alert(1)</script>"])
def test_known_terms_are_published_under_the_term_lists_label(tmp_path, given):
    # Pages, facets and browse URLs must not depend on how a depositor spelled a term.
    result, _ = check(tmp_path, _organism(make_record(), "NCBITaxon:10090", given))
    assert result.study.organisms[0].label == "Mus musculus"


def test_unknown_terms_keep_the_records_label(tmp_path):
    result, _ = check(tmp_path, _organism(make_record(), "NCBITaxon:1234567", "Imaginaria fictiva"))
    assert result.study.organisms[0].label == "Imaginaria fictiva"


def test_unknown_term_is_information_only(tmp_path):
    result, text = check(tmp_path, _organism(make_record(), "NCBITaxon:999999", "Imaginary beast"))
    d = the(result, "ONT004")
    assert d.severity is Severity.INFO and "could not be checked offline" in d.message
    assert d.line == line_of(text, "NCBITaxon:999999")


def test_archive_term_lists_extend_the_bundled_ones(tmp_path):
    (tmp_path / "ontology").mkdir()
    (tmp_path / "ontology" / "local.yaml").write_text("terms:\n  NCBITaxon:999999: Imaginary beast\n")
    write_record(tmp_path, _organism(make_record(), "NCBITaxon:999999", "Imaginary beast"))
    records = load_records(tmp_path, SETTINGS)
    assert not [d for d in records.diagnostics if d.check.startswith("ONT")]


def test_broken_archive_term_list_is_reported(tmp_path):
    (tmp_path / "ontology").mkdir()
    (tmp_path / "ontology" / "bad.yaml").write_text("terms:\n  Taxon9606: human\n")
    write_record(tmp_path, make_record())
    records = load_records(tmp_path, SETTINGS)
    d = [d for d in records.diagnostics if d.check == "ONT005"]
    assert d and d[0].file == "ontology/bad.yaml" and "Taxon9606" in d[0].message


# ---------------------------------------------------------------- files and folders


def test_folder_must_equal_accession(tmp_path):
    result, text = check(tmp_path, make_record(accession="OIA-000007"), accession="OIA-000001")
    d = the(result, "XRF001")
    assert "accession OIA-000007" in d.message and "OIA-000001/" in d.message
    assert d.line == line_of(text, "accession:")


def test_accession_taken_by_another_folder(tmp_path):
    write_record(tmp_path, make_record())
    write_record(tmp_path, make_record(), accession="OIA-000002")  # a copy that kept the old accession
    records = load_records(tmp_path, SETTINGS)
    d = [d for d in records.diagnostics if d.check == "XRF002"]
    assert len(d) == 1 and d[0].file == "studies/OIA-000002/study.yaml"
    assert "already used by studies/OIA-000001/study.yaml" in d[0].message


def test_accession_collision_found_when_validating_one_record(tmp_path):
    write_record(tmp_path, make_record())
    copy_path = write_record(tmp_path, make_record(), accession="OIA-000002")
    records = load_records(tmp_path, SETTINGS, [copy_path])
    assert [d.check for d in records.diagnostics if d.severity is Severity.ERROR] == ["XRF001", "XRF002"]


def test_dataset_names_unique(tmp_path):
    record = make_record()
    record["datasets"].append(copy.deepcopy(record["datasets"][0]))
    record["datasets"][1]["images"][0]["name"] = "cells2"
    result, text = check(tmp_path, record)
    d = the(result, "XRF003")
    assert "'fibroblasts' is used twice" in d.message
    assert d.line == line_of(text, "name: fibroblasts", nth=2) and d.field == "datasets[1].name"


def test_image_names_unique_across_datasets(tmp_path):
    record = make_record()
    record["datasets"].append(copy.deepcopy(record["datasets"][0]))
    record["datasets"][1]["name"] = "second"
    result, text = check(tmp_path, record)
    d = the(result, "XRF004")
    assert "'cells1' is used twice" in d.message and f"first at line {line_of(text, 'name: cells1')}" in d.message
    assert d.line == line_of(text, "name: cells1", nth=2)


def test_record_file_must_be_named_study_yaml(tmp_path):
    path = tmp_path / "OIA-000001" / "record.yml"
    path.parent.mkdir()
    path.write_text(record_yaml(make_record()))
    result = load_record(path, SETTINGS)
    assert "named record.yml" in the(result, "XRF005").message


def test_missing_file(tmp_path):
    result = load_record(tmp_path / "studies" / "OIA-000001" / "study.yaml", SETTINGS, root=tmp_path)
    d = the(result, "REC001")
    assert "cannot read studies/OIA-000001/study.yaml" in d.message


def test_oversized_file_is_not_read(tmp_path):
    small = ArchiveSettings(limits=Limits(max_record_bytes=100))
    path = write_record(tmp_path, make_record())
    d = the(load_record(path, small), "REC002")
    assert "at most 100 bytes" in d.message


def test_yaml_errors_carry_the_file(tmp_path):
    result, _ = check(tmp_path, "title: a\ntitle: b\n")
    d = the(result, "REC006")
    assert d.file == "studies/OIA-000001/study.yaml" and d.line == 2


def test_validating_some_records_parses_only_those(tmp_path):
    good = write_record(tmp_path, make_record())
    write_record(tmp_path, "this: [is: broken", accession="OIA-000002")
    records = load_records(tmp_path, SETTINGS, [good])
    assert [r.file for r in records.records] == ["studies/OIA-000001/study.yaml"]
    assert records.ok and list(records.studies) == ["OIA-000001"]
    everything = load_records(tmp_path, SETTINGS)
    assert not everything.ok and len(everything.records) == 2


def test_completeness_hints_are_information(tmp_path):
    result, _ = check(tmp_path, make_record())
    hints = [d for d in result.diagnostics if d.check.startswith("CMP")]
    assert hints and all(d.severity is Severity.INFO for d in hints)


# ---------------------------------------------------------------- never an exception


def _mutations():
    leaf = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True),
        st.text(max_size=30),
        st.dates(),
        st.lists(st.text(max_size=5), max_size=3),
        st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    )
    return st.lists(st.tuples(st.integers(min_value=0, max_value=10_000), leaf, st.booleans()), min_size=1, max_size=4)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))


@hsettings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(_mutations())
def test_mutated_records_give_diagnostics_not_exceptions(tmp_path, mutations):
    record = make_record(human_data={"ethics_statement": "e", "consent_statement": "c", "deidentified": True})
    for index, value, delete in mutations:
        paths = [p for p in _paths(record) if p]
        path = paths[index % len(paths)]
        parent = record
        for part in path[:-1]:
            parent = parent[part]
        if delete and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = value
    text = yaml.safe_dump(record, sort_keys=False, allow_unicode=True)
    result = load_record(tmp_path / "studies" / "OIA-000001" / "study.yaml", SETTINGS, text=text.encode())
    for d in result.diagnostics:
        assert d.message and d.check and d.file
    errors = [d for d in result.diagnostics if d.severity is Severity.ERROR]
    # No model without an error that says why; a model can come with errors of
    # rules checked around it (say MOD028 on a title of one control character),
    # and then the record is still not ok.
    if result.study is None:
        assert any(d.check[:3] in ("MOD", "ONT", "REC") for d in errors)
    assert result.ok == (result.study is not None and not errors)


def test_a_hidden_character_makes_a_valid_model_not_ok(tmp_path):
    record = make_record()
    record["datasets"][0]["title"] = "\x08"
    text = yaml.safe_dump(record, sort_keys=False, allow_unicode=True)
    result = load_record(tmp_path / "studies" / "OIA-000001" / "study.yaml", SETTINGS, text=text.encode())
    assert [d.check for d in result.diagnostics if d.severity is Severity.ERROR] == ["MOD028"]
    assert not result.ok


_VALID_TEXT = record_yaml(make_record()).encode()


@hsettings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=len(_VALID_TEXT)),
            st.integers(min_value=0, max_value=3),
            st.binary(min_size=0, max_size=3),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_text_edits_of_a_valid_record_give_diagnostics_not_exceptions(edits):
    """Typos, stray bytes and cut lines in the text: located diagnostics, never a traceback."""
    data = bytearray(_VALID_TEXT)
    for at, remove, insert in edits:
        at = min(at, len(data))
        data[at : at + remove] = insert
    result = load_record(Path("studies/OIA-000001/study.yaml"), SETTINGS, text=bytes(data))
    for d in result.diagnostics:
        assert d.message and d.file == "studies/OIA-000001/study.yaml"
        if d.check.startswith(("REC00", "MOD", "ONT00")) and d.check not in ("REC002",):
            assert d.line is not None or d.check == "REC010"


def test_positions_are_rebuilt_on_demand_after_loading_many(tmp_path):
    path = write_record(tmp_path, make_record())
    text = path.read_text()
    [result] = load_records(tmp_path, SETTINGS).records
    assert result.positions == {}  # dropped to keep 10,000 records in memory cheaply
    assert result.position(("datasets", 0, "images", 0, "url")) == (line_of(text, "url:"), 5)
    assert result.raw == yaml.safe_load(text)  # also rebuilt from the text
    assert result.accession == "OIA-000001"


def test_wrong_taxon_is_shown_even_when_the_record_has_errors(tmp_path):
    record = _organism(make_record(licence="CC BY"), "NCBITaxon:9601", "Homo sapiens")
    result, text = check(tmp_path, record)
    assert result.study is None
    assert the(result, "MOD032")
    d = the(result, "ONT003")
    assert "NCBITaxon:9601 is 'Pongo abelii'" in d.message and d.line == line_of(text, "label: Homo sapiens")


def test_huge_values_are_clipped_in_messages(tmp_path):
    record = make_record(**{"x" * 5000: 1})
    record["datasets"][0]["images"][0]["url"] = "http://" + "a" * 1900
    result, _ = check(tmp_path, record)
    assert len(the(result, "MOD002").message) < 200
    assert len(the(result, "MOD027").message) <= 400


def test_obsolete_term_is_a_warning(tmp_path):
    record = make_record()
    record["datasets"][0]["acquisition"]["imaging_method"] = [
        {"id": "FBbi:00000242", "label": "wide field light micrograph"}
    ]
    result, text = check(tmp_path, record)
    d = the(result, "ONT006")
    assert d.severity is Severity.WARNING and "FBbi:00000242 ('wide field light micrograph') is obsolete" in d.message
    assert d.line == line_of(text, "FBbi:00000242") and result.ok


def test_a_symlinked_record_is_refused_not_followed(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("token: hunter2\n")
    write_record(tmp_path, make_record())
    link_dir = tmp_path / "studies" / "OIA-000002"
    link_dir.mkdir()
    (link_dir / "study.yaml").symlink_to(secret)
    result = load_record(link_dir / "study.yaml", load_settings(tmp_path), root=tmp_path)
    [finding] = result.diagnostics
    assert finding.check == "REC001" and finding.severity == "error"
    assert "symbolic link" in finding.message and finding.file == "studies/OIA-000002/study.yaml"
    assert "hunter2" not in finding.message and result.study is None


def test_a_record_exactly_at_the_size_limit_is_read_and_one_byte_more_is_not(tmp_path):
    path = write_record(tmp_path, make_record())
    size = path.stat().st_size
    assert load_record(path, ArchiveSettings(limits=Limits(max_record_bytes=size))).ok
    d = the(load_record(path, ArchiveSettings(limits=Limits(max_record_bytes=size - 1))), "REC002")
    assert f"{size:,} bytes" in d.message


def test_records_read_through_the_fast_yaml_path_report_the_same_places(tmp_path):
    """A record with findings gets the same diagnostics whichever YAML path read it."""
    import builder.records.load as records_module
    from builder.records.yaml_source import load_yaml

    record = make_record()
    record["authors"][0]["orcid"] = "0000-0002-1825-0098"
    record["datasets"][0]["biosample"]["organisms"][0]["label"] = "wrong label"
    text = record_yaml(record).replace("title:", "titel:", 1)
    from builder.records.yaml_source import _fast_read

    assert _fast_read(text, 40, 20_000) is not None  # the test means something only if the fast path reads it
    fast = check(tmp_path, text)[0].diagnostics

    def event_path(*args, **kwargs):
        return load_yaml(*args, fast=False, **kwargs)

    original = records_module.load_yaml
    records_module.load_yaml = event_path
    try:
        slow = check(tmp_path, text)[0].diagnostics
    finally:
        records_module.load_yaml = original
    assert fast and fast == slow
    assert {d.check for d in fast} >= {"MOD002", "MOD020"}


# ---------------------------------------------------------------- hidden characters, human taxa, strict types


def test_a_right_to_left_override_in_a_title_is_refused(tmp_path):
    result, text = check(tmp_path, make_record(title="Mitosis atlas \u202egnp.exe of HeLa cells"))
    d = the(result, "MOD028")
    assert d.severity is Severity.ERROR and "U+202E" in d.message and "RIGHT-TO-LEFT OVERRIDE" in d.message
    assert d.field == "title" and d.line == line_of(text, "title:")


def test_an_escape_sequence_in_double_quotes_is_refused(tmp_path):
    text = record_yaml(make_record()).replace("title: ", 'title: "\\e[31mRed alert\\e[0m"  #', 1)
    result, _ = check(tmp_path, text)
    d = the(result, "MOD028")
    assert "U+001B" in d.message and d.field == "title"


def test_a_keyword_of_only_zero_width_characters_is_refused(tmp_path):
    result, _ = check(tmp_path, make_record(keywords=["mitosis", "\u200b\u200b"]))
    d = the(result, "MOD028")
    assert "no visible characters" in d.message and d.field == "keywords[1]"


def test_clean_text_with_accents_and_rtl_script_passes(tmp_path):
    result, _ = check(tmp_path, make_record(title="Mitose de cellules HeLa — étude ‏עברית‎ 細胞"))
    assert not [d for d in result.diagnostics if d.check == "MOD028"]


@pytest.mark.parametrize(
    "organism",
    [
        {"id": "NCBITaxon:9605", "label": "Homo"},
        {"id": "NCBITaxon:63221", "label": "Homo sapiens neanderthalensis"},
        {"id": "NCBITaxon:9601", "label": "Homo sapiens"},  # a mistyped id with a human label
    ],
)
def test_any_human_taxon_or_label_needs_human_data(tmp_path, organism):
    record = make_record()
    record["datasets"][0]["biosample"]["organisms"] = [organism]
    record.pop("human_data", None)
    result, _ = check(tmp_path, record)
    assert "MOD043" in {d.check for d in result.diagnostics}
    assert result.study is None


@pytest.mark.parametrize(
    "field, value, check_id, wanted",
    [
        ("version", "1", "MOD003", "a whole number"),
        ("schema_version", "2", "MOD003", "a whole number"),
        ("release_date", 1700000000, "MOD008", "not a valid date"),  # not read as a Unix timestamp
    ],
)
def test_values_of_the_wrong_type_are_refused_not_coerced(tmp_path, field, value, check_id, wanted):
    result, _ = check(tmp_path, make_record(**{field: value}))
    d = the(result, check_id)
    assert wanted in d.message and d.field == field


def test_a_quoted_year_or_a_number_as_contact_flag_is_refused(tmp_path):
    record = make_record(publications=[{"title": "Mitosis", "authors": "Hooke R", "year": "2010"}])
    record["authors"][0]["contact"] = 1
    result, _ = check(tmp_path, record)
    fields = {d.field for d in result.diagnostics if d.check == "MOD003"}
    assert {"publications[0].year", "authors[0].contact"} <= fields


def test_a_completeness_hint_points_at_the_field_when_it_is_written(tmp_path):
    result, text = check(tmp_path, make_record(keywords=[]))
    d = the(result, "CMP003")
    assert d.line == line_of(text, "keywords: []") and d.field == "keywords"


def test_a_completeness_hint_for_an_absent_field_points_where_it_can_be_added(tmp_path):
    result, text = check(tmp_path, make_record(keywords=DROP))
    d = the(result, "CMP003")
    assert d.line == line_of(text, "title:")
