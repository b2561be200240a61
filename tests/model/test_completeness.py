"""The completeness score rewards recommended metadata and says what is missing."""

from __future__ import annotations

import copy

from builder.model.completeness import WEIGHTS, assess
from builder.model.study import Study
from tests.support.records import make_record

RICH_DATASET_EXTRAS = {
    "description": "Fibroblasts fixed at passage 3 and stained for DNA.",
}


def rich_record() -> dict:
    record = make_record(
        description="x" * 250,
        keywords=["fibroblast", "nucleus", "DNA"],
        funding=[{"funder": "Wellcome Trust", "grant_id": "221052/Z/20/Z"}],
        publications=[{"title": "Nuclei", "authors": "Lovelace A", "year": 2024, "doi": "10.1038/s41592-021-01326-w"}],
        authors=[{
            "name": "Ada Lovelace", "email": "ada@example.org", "contact": True, "orcid": "0000-0002-1825-0097",
            "roles": ["writing"], "affiliations": [{"name": "EMBL", "ror": "https://ror.org/03mstc592"}],
        }],
    )
    dataset = record["datasets"][0]
    dataset.update(RICH_DATASET_EXTRAS)
    dataset["acquisition"]["parameters"] = "20x/0.75 objective, 0.325 um pixels"
    dataset["specimen"]["signal_contrast"] = [{"channel": "DAPI", "contrast": "Hoechst 33342", "target": "nuclei"}]
    return record


def test_weights_add_up_to_100():
    assert sum(WEIGHTS.values()) == 100


def test_complete_record_scores_100_without_hints():
    report = assess(Study.model_validate(rich_record()))
    assert report.score == 100 and report.hints == []


def test_minimal_record_scores_low_with_a_hint_per_missing_field():
    report = assess(Study.model_validate(make_record()))
    assert report.score < 10
    hints = {(h.check, h.field) for h in report.hints}
    assert hints == {
        ("CMP001", "authors[0].orcid"),
        ("CMP010", "authors[0].affiliations"),
        ("CMP011", None),
        ("CMP003", "keywords"),
        ("CMP004", "publications"),
        ("CMP005", "funding"),
        ("CMP006", "datasets[0].acquisition.parameters"),
        ("CMP007", "datasets[0].specimen.signal_contrast"),
        ("CMP008", None),
        ("CMP009", "datasets[0].description"),
    }


def test_partial_credit_for_some_authors():
    record = rich_record()
    second = copy.deepcopy(record["authors"][0])
    second.update(name="Charles Babbage", contact=False, orcid=None)
    second["affiliations"] = [{"name": "University of Cambridge"}]
    record["authors"].append(second)
    report = assess(Study.model_validate(record))
    assert report.parts["orcid"] == 0.5 and report.parts["ror"] == 0.5
    assert report.score == 100 - round(WEIGHTS["orcid"] / 2 + WEIGHTS["ror"] / 2)
    assert [(h.check, h.path) for h in report.hints] == [
        ("CMP001", ("authors", 1, "name")),
        ("CMP002", ("authors", 1, "affiliations", 0, "name")),
    ]
    assert "Charles Babbage has no ORCID iD" in report.hints[0].message


def test_short_description_gets_partial_credit():
    report = assess(Study.model_validate({**rich_record(), "description": "y" * 100}))
    assert report.parts["description"] == 0.5
    [hint] = report.hints
    assert hint.check == "CMP008" and "100 characters" in hint.message


def test_channels_found_in_the_images_but_not_described():
    from builder.model.completeness import channel_hints

    study = Study.model_validate(rich_record())  # one channel described (DAPI)
    [hint] = channel_hints(study, {"fibroblasts": 3})
    assert hint.check == "CMP012" and hint.field == "datasets[0].specimen.signal_contrast"
    assert "have 3 channels, but signal_contrast describes 1" in hint.message
    assert channel_hints(study, {"fibroblasts": 1}) == []
    # Nothing described at all is CMP007's business, not repeated here.
    assert channel_hints(Study.model_validate(make_record()), {"fibroblasts": 3}) == []
