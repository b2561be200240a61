"""Offline term checks: resolve labels, flag wrong ids, note what cannot be checked."""

from __future__ import annotations

from pathlib import Path

from builder.model.ontology import (
    Term,
    TermIndex,
    check_terms,
    label_matches,
    parse_term_list,
    study_terms,
)
from builder.model.study import Study
from builder.records.terms import load_term_index
from tests.support.records import make_record


def test_term_list_entries_as_text_or_mapping():
    terms, problems = parse_term_list(
        {
            "terms": {
                "NCBITaxon:9606": "Homo sapiens",
                "FBbi:00000251": {"label": "confocal microscopy", "synonyms": ["LSCM"]},
            }
        },
        "test.yaml",
    )
    assert problems == []
    assert terms == [
        Term("NCBITaxon:9606", "Homo sapiens", (), "test.yaml"),
        Term("FBbi:00000251", "confocal microscopy", ("LSCM",), "test.yaml"),
    ]


def test_term_list_problems_are_described():
    terms, problems = parse_term_list(
        {"terms": {"Taxon:1": "x", "NCBITaxon:12": 5, "NCBITaxon:13": {"label": "y", "synonyms": "z"}}}, "t"
    )
    assert [t.id for t in terms] == ["NCBITaxon:13"]
    assert any("`Taxon:1` is not a CURIE" in p for p in problems)
    assert any("`NCBITaxon:12`" in p for p in problems)
    assert any("synonyms must be a list" in p for p in problems)
    assert parse_term_list([1, 2], "t") == (
        [],
        ["the file must be a mapping with a `terms:` mapping of CURIE to label"],
    )


def test_labels_match_ignoring_case_spacing_and_synonyms():
    term = Term("NCBITaxon:10090", "Mus musculus", ("mouse",))
    assert label_matches(term, "mus  Musculus")
    assert label_matches(term, "Mouse")
    assert not label_matches(term, "Rattus norvegicus")


def test_findings_show_both_labels():
    index = TermIndex()
    index.extend([Term("NCBITaxon:9601", "Pongo abelii")])
    findings = check_terms(
        [
            (("datasets", 0, "biosample", "organisms", 0), "NCBITaxon:9601", "Homo sapiens"),
            (("datasets", 0, "biosample", "organisms", 1), "NCBITaxon:1", "root"),
        ],
        index,
    )
    assert [f.kind for f in findings] == ["label_mismatch", "unknown"]
    assert findings[0].message == "NCBITaxon:9601 is 'Pongo abelii', but the record says 'Homo sapiens'"
    assert "could not be checked offline" in findings[1].message


def test_study_terms_have_their_paths():
    record = make_record()
    record["datasets"][0]["acquisition"]["imaging_method"].append(
        {"id": "FBbi:00000251", "label": "confocal microscopy"}
    )
    study = Study.model_validate(record)
    assert study_terms(study) == [
        (("datasets", 0, "biosample", "organisms", 0), "NCBITaxon:10090", "Mus musculus"),
        (("datasets", 0, "acquisition", "imaging_method", 0), "FBbi:00000246", "fluorescence microscopy"),
        (("datasets", 0, "acquisition", "imaging_method", 1), "FBbi:00000251", "confocal microscopy"),
    ]


def test_bundled_lists_load_cleanly_and_hold_the_common_terms():
    index, problems = load_term_index(None)
    assert problems == []
    taxa = [t for t in index.terms if t.startswith("NCBITaxon:")]
    assert len(taxa) >= 60
    expected = {
        "NCBITaxon:9606": "Homo sapiens",
        "NCBITaxon:10090": "Mus musculus",
        "NCBITaxon:10116": "Rattus norvegicus",
        "NCBITaxon:7955": "Danio rerio",
        "NCBITaxon:7227": "Drosophila melanogaster",
        "NCBITaxon:6239": "Caenorhabditis elegans",
        "NCBITaxon:4932": "Saccharomyces cerevisiae",
        "NCBITaxon:3702": "Arabidopsis thaliana",
        "NCBITaxon:9601": "Pongo abelii",
        "FBbi:00000246": "fluorescence microscopy",
        "FBbi:00000251": "confocal microscopy",
        "FBbi:00000243": "bright-field microscopy",
        "FBbi:00000253": "spinning disk confocal microscopy",
        "FBbi:00000258": "transmission electron microscopy (TEM)",
        "FBbi:00000332": "structured illumination microscopy (SIM)",
    }
    assert {k: index.label(k) for k in expected} == expected


def test_archive_lists_add_and_correct(tmp_path: Path):
    (tmp_path / "ontology").mkdir()
    (tmp_path / "ontology" / "extra.yaml").write_text(
        "terms:\n  NCBITaxon:8022: Oncorhynchus mykiss\n"
        "  NCBITaxon:10090: {label: Mus musculus, synonyms: [lab mouse]}\n"
    )
    index, problems = load_term_index(tmp_path)
    assert problems == []
    assert index.label("NCBITaxon:8022") == "Oncorhynchus mykiss"
    assert label_matches(index.get("NCBITaxon:10090"), "lab mouse")


def test_unreadable_archive_list_is_reported(tmp_path: Path):
    (tmp_path / "ontology").mkdir()
    (tmp_path / "ontology" / "dup.yaml").write_text("terms:\n  NCBITaxon:1: a\n  NCBITaxon:1: b\n")
    index, problems = load_term_index(tmp_path)
    assert [p.check for p in problems] == ["REC006"]
    assert problems[0].file == "ontology/dup.yaml"
    assert index.label("NCBITaxon:9606") == "Homo sapiens"  # the bundled lists still load


def test_edited_archive_list_is_read_again(tmp_path: Path):
    (tmp_path / "ontology").mkdir()
    path = tmp_path / "ontology" / "extra.yaml"
    path.write_text("terms:\n  NCBITaxon:8022: Oncorhynchus mykiss\n")
    assert load_term_index(tmp_path)[0].label("NCBITaxon:8022") == "Oncorhynchus mykiss"
    path.write_text("terms:\n  NCBITaxon:8022: rainbow trout, as the lab calls it\n")
    assert load_term_index(tmp_path)[0].label("NCBITaxon:8022") == "rainbow trout, as the lab calls it"


def test_obsolete_terms_are_flagged_whatever_the_label():
    terms, problems = parse_term_list(
        {
            "terms": {
                "FBbi:00000242": {"label": "old", "obsolete": True},
                "FBbi:00000250": {"label": "x", "obsolete": "yes"},
            }
        },
        "t",
    )
    assert [t.obsolete for t in terms] == [True, False]
    assert problems == ["`FBbi:00000250`: obsolete must be true or false"]
    index = TermIndex()
    index.extend(terms)
    findings = check_terms([((), "FBbi:00000242", "something else")], index)
    assert [f.kind for f in findings] == ["label_mismatch", "obsolete"]
