"""The pure Study model: what it accepts, what it derives, and the context rules."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from pydantic import ValidationError

from builder.model.study import SCHEMA_VERSION, Study
from tests.support.records import DROP, make_record

CONTEXT = {"accession_pattern": re.compile(r"OIA-\d{6}"), "accession_example": "OIA-000001", "licences": ["CC0-1.0"]}


def error_types(record, context=None) -> list[tuple[str, tuple]]:
    with pytest.raises(ValidationError) as exc:
        Study.model_validate(record, context=context)
    return [(e["type"], e["loc"]) for e in exc.value.errors()]


def test_minimal_record_is_valid_and_derives_facts():
    study = Study.model_validate(make_record())
    assert study.schema_version == SCHEMA_VERSION
    assert study.release_date == dt.date(2024, 1, 15)
    assert study.contact.name == "Ada Lovelace"
    assert [t.id for t in study.organisms] == ["NCBITaxon:10090"]
    assert [t.label for t in study.imaging_methods] == ["fluorescence microscopy"]
    assert [(d.name, i.name) for d, i in study.images()] == [("fibroblasts", "cells1")]


def test_text_is_stripped_and_image_urls_lose_trailing_slashes():
    record = make_record(title="   Nuclear shape of mouse fibroblasts  ")
    record["datasets"][0]["images"][0]["url"] = "s3://bucket/cells1.ome.zarr/"
    study = Study.model_validate(record)
    assert study.title == "Nuclear shape of mouse fibroblasts"
    assert study.datasets[0].images[0].url == "s3://bucket/cells1.ome.zarr"


def test_archive_rules_come_from_the_context():
    record = make_record(accession="S-BIAD1", licence="CC-BY-4.0")
    Study.model_validate(record)  # without context: no archive rules
    assert error_types(record, CONTEXT) == [("MOD031", ("accession",)), ("MOD032", ("licence",))]


def test_identifiers_are_normalised():
    record = make_record(
        authors=[{"name": "Ada", "email": "a@b.org", "contact": True, "orcid": "https://orcid.org/0000-0002-1825-0097",
                  "affiliations": [{"name": "EMBL", "ror": "03mstc592"}]}],
        publications=[{"title": "T", "authors": "A", "year": 2020, "doi": "https://doi.org/10.1038/abc",
                       "pubmed_id": 123}],
    )
    study = Study.model_validate(record)
    assert study.authors[0].orcid == "0000-0002-1825-0097"
    assert study.authors[0].affiliations[0].ror == "https://ror.org/03mstc592"
    assert study.publications[0].doi == "10.1038/abc" and study.publications[0].pubmed_id == "123"


def test_organisms_are_required_per_biosample():
    record = make_record()
    record["datasets"][0]["biosample"]["organisms"] = []
    assert error_types(record) == [("too_short", ("datasets", 0, "biosample", "organisms"))]


def test_unknown_fields_are_refused_everywhere():
    record = make_record(extra_field=1)
    record["datasets"][0]["biosample"]["colour"] = "blue"
    assert sorted(error_types(record)) == [
        ("extra_forbidden", ("datasets", 0, "biosample", "colour")),
        ("extra_forbidden", ("extra_field",)),
    ]


def test_missing_schema_version_is_required():
    assert error_types(make_record(schema_version=DROP)) == [("missing", ("schema_version",))]


def _fields_without_examples(name: str, node: dict) -> list[str]:
    missing = []
    for field, prop in node.get("properties", {}).items():
        nested = "$ref" in prop or any("$ref" in a for a in prop.get("anyOf", [])) or "$ref" in prop.get("items", {})
        if not (nested or "examples" in prop or "enum" in prop or "const" in prop):
            missing.append(f"{name}.{field}")
    return missing


def test_every_field_shows_an_example_in_the_metadata_reference():
    # The reference page and editor completion both read the schema's examples.
    schema = Study.model_json_schema()
    missing = _fields_without_examples("Study", schema)
    for name, node in schema.get("$defs", {}).items():
        missing += _fields_without_examples(name, node)
    assert missing == [], f"add examples=[...] to these fields: {missing}"


def test_the_top_level_examples_make_a_valid_record():
    record = make_record()
    record["keywords"] = Study.model_fields["keywords"].examples[0]
    record["release_date"] = dt.date.fromisoformat(Study.model_fields["release_date"].examples[0])
    record["title"] = Study.model_fields["title"].examples[0]
    assert Study.model_validate(record).title.startswith("A 3D atlas")


# ---------------------------------------------------------------- hostile text and URLs (issue 16)

@pytest.mark.parametrize("url", [
    "https://user:secret@data.example.org/cells1.ome.zarr",
    "https://token@data.example.org/cells1.ome.zarr",
    "s3://AKIA:secret@bucket/cells1.ome.zarr",
])
def test_image_urls_with_credentials_are_refused_without_repeating_them(url):
    record = make_record()
    record["datasets"][0]["images"][0]["url"] = url
    with pytest.raises(ValidationError) as exc:
        Study.model_validate(record)
    [err] = exc.value.errors()
    assert err["type"] == "MOD027" and err["loc"] == ("datasets", 0, "images", 0, "url")
    assert "secret" not in err["msg"] and "user name or password" in err["msg"]


def test_an_at_sign_in_the_path_is_not_user_info():
    record = make_record()
    record["datasets"][0]["images"][0]["url"] = "https://data.example.org/v@2/cells1.ome.zarr"
    assert Study.model_validate(record).datasets[0].images[0].url.endswith("v@2/cells1.ome.zarr")


@pytest.mark.parametrize(("text", "words"), [
    ("- " * 500 + "deep", "500 levels deep"),  # a RecursionError in Python-Markdown
    ("Nuclei <a " * 300, "300 HTML tags"),  # quadratic time in the renderer
])
def test_markdown_over_the_rendering_budget_is_refused(text, words):
    from builder.core.markdown_budget import markdown_budget_problem

    for where in ("description", "dataset", "image"):
        record = make_record()
        if where == "description":
            record["description"] = text
        elif where == "dataset":
            record["datasets"][0]["description"] = text
        else:
            record["datasets"][0]["images"][0]["description"] = text
        with pytest.raises(ValidationError) as exc:
            Study.model_validate(record)
        [err] = exc.value.errors()
        assert err["type"] == "MOD029" and words in err["msg"], err
    assert markdown_budget_problem(text) is not None  # the renderer asks the same question


def test_markdown_within_the_budget_passes():
    record = make_record(description="Nuclei of fibroblasts.\n\n- a\n  - b\n    - c\n\n> quoted <b>bold</b> text")
    assert Study.model_validate(record).description.startswith("Nuclei")
