"""Identifiers in records (`xrefs:`): any prefix bioregistry registers validates, with no code per prefix."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.core.checks import Severity
from builder.core.settings import ArchiveSettings
from builder.records.load import load_record
from tests.support.records import make_record, record_yaml, write_record

REPO = Path(__file__).resolve().parents[2]

SETTINGS = ArchiveSettings()


def load_with(tmp_path: Path, study_xrefs: list, dataset_xrefs: list | None = None):
    record = make_record()
    record["xrefs"] = study_xrefs
    if dataset_xrefs is not None:
        record["datasets"][0]["xrefs"] = dataset_xrefs
    text = record_yaml(record)
    return load_record(write_record(tmp_path, text, accession="OIA-000001"), SETTINGS, root=tmp_path), text


def of(result, check_id: str):
    return [d for d in result.diagnostics if d.check == check_id]


# one id per registry the issue names, written as depositors write them (case of the prefix varies)
WELL_FORMED = {
    "NCBIGene:5347": ("NCBIGene:5347", "ncbi.nlm.nih.gov/gene/5347"),
    "ensembl:ENSG00000166851": ("ensembl:ENSG00000166851", "ensembl.org/id/ENSG00000166851"),
    "HGNC:9077": ("HGNC:9077", "9077"),
    "UniProt:P53350": ("UniProt:P53350", "P53350"),
    "PDB:2OWB": ("PDB:2OWB", "2OWB"),
    "EMDB:EMD-1234": ("EMDB:EMD-1234", "EMD-1234"),
    "EMPIAR:10002": ("EMPIAR:10002", "10002"),
    "CHEBI:CHEBI:15377": ("CHEBI:15377", "15377"),
    "pubchem.compound:2244": ("pubchem.compound:2244", "2244"),
    "CMPO:0000118": ("CMPO:0000118", "0000118"),
    "GO:0007049": ("GO:0007049", "0007049"),
    "Cellosaurus:CVCL_0030": ("Cellosaurus:CVCL_0030", "cellosaurus.org/CVCL_0030"),
    "RRID:AB_2298772": ("RRID:AB_2298772", "AB_2298772"),
    "UBERON:0000955": ("UBERON:0000955", "0000955"),
    "CL:0000236": ("CL:0000236", "0000236"),
    "MONDO:0005148": ("MONDO:0005148", "0005148"),
    "EFO:0004091": ("EFO:0004091", "0004091"),
}


def test_registered_ids_of_every_named_registry_validate_and_link_for_reviewers(tmp_path):
    result, _ = load_with(tmp_path, [{"id": given} for given in WELL_FORMED])
    assert result.study is not None
    assert not [d for d in result.diagnostics if d.severity is Severity.ERROR], \
        [(d.check, d.message) for d in result.diagnostics if d.severity is Severity.ERROR]
    shown = {d.field: d for d in of(result, "XRF012")}
    assert len(shown) == len(WELL_FORMED)
    for i, (_, (canonical, in_url)) in enumerate(WELL_FORMED.items()):
        d = shown[f"xrefs[{i}].id"]
        assert d.extra["curie"].lower() == canonical.lower(), (d.extra, canonical)
        assert d.extra["url"] and in_url in d.extra["url"], d.extra
        assert d.severity is Severity.INFO and d.line is not None


def test_unregistered_prefix_is_xrf010_at_its_line(tmp_path):
    result, text = load_with(tmp_path, [{"id": "NCBIGene:5347"}], [{"id": "GENEX:5347", "label": "PLK1"}])
    [d] = of(result, "XRF010")
    assert d.severity is Severity.ERROR
    assert "GENEX" in d.message and "bioregistry.io" in d.message
    assert d.field == "datasets[0].xrefs[0].id"
    assert "GENEX:5347" in text.splitlines()[d.line - 1]
    assert "NCBIGene:5347" in d.hint


@pytest.mark.parametrize("given, pattern_part, example", [
    ("NCBIGene:PLK1", "^\\d+$", "NCBIGene:"),
    ("UniProt:not-an-accession", "[O,P,Q]", "UniProt:"),
    ("CMPO:118x", "CMPO", "CMPO:"),
])
def test_malformed_local_id_is_xrf011_naming_pattern_and_example(tmp_path, given, pattern_part, example):
    result, _ = load_with(tmp_path, [{"id": given}])
    [d] = of(result, "XRF011")
    assert d.severity is Severity.ERROR and d.field == "xrefs[0].id"
    assert pattern_part in d.message and f"for example {example}" in d.message, d.message


def test_not_a_curie_at_all_is_xrf011_from_the_model(tmp_path):
    result, _ = load_with(tmp_path, [{"id": "PLK1"}])
    [d] = of(result, "XRF011")
    assert result.study is None and "prefix:id" in d.message and d.line is not None


@pytest.mark.parametrize("where, given, suggestion", [
    (("biosample", "organisms"), "NCBITaxon_7070", "NCBITaxon:7070"),
    (("acquisition", "imaging_method"), "FBbi_00000369", "FBbi:00000369"),
])
def test_idr_style_underscored_term_gets_ont001_with_the_corrected_curie(tmp_path, where, given, suggestion):
    record = make_record()
    record["datasets"][0][where[0]][where[1]] = [{"id": given, "label": "as IDR writes it"}]
    text = record_yaml(record)
    result = load_record(write_record(tmp_path, text, accession="OIA-000001"), SETTINGS, root=tmp_path)
    [d] = of(result, "ONT001")
    assert f"write {suggestion}" in d.message, d.message
    assert given in text.splitlines()[d.line - 1]


def test_the_identifiers_guide_example_validates(tmp_path):
    import yaml

    guide = (Path(__file__).parents[2] / "docs/guides/identifiers.md").read_text(encoding="utf-8")
    example = yaml.safe_load(guide.split("```yaml\n", 1)[1].split("```", 1)[0])
    result, _ = load_with(tmp_path, example["xrefs"], example["datasets"][0]["xrefs"])
    assert result.study is not None
    assert not [d for d in result.diagnostics if d.check.startswith(("XRF01", "MOD"))
                and d.severity is Severity.ERROR]
    assert len(of(result, "XRF012")) == 4


def test_bare_taxon_number_gets_mod003_with_the_prefixed_form(tmp_path):
    record = make_record()
    record["datasets"][0]["biosample"]["organisms"] = [{"id": 7070, "label": "Tribolium castaneum"}]
    text = record_yaml(record)
    result = load_record(write_record(tmp_path, text, accession="OIA-000001"), SETTINGS, root=tmp_path)
    [d] = of(result, "MOD003")
    assert "id: NCBITaxon:7070" in d.hint, d.hint
    assert "7070" in text.splitlines()[d.line - 1]


def test_a_record_without_identifiers_does_not_pay_for_the_registry():
    """Importing bioregistry takes ~3 s; validating a record that names no identifier must not import it."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from builder.core.settings import load_settings\n"
        "from builder.records.load import load_record\n"
        "root = Path.cwd()\n"
        "result = load_record(root / 'studies/OIA-000002/study.yaml', load_settings(root), root=root)\n"
        "assert result.study is not None\n"
        "print('bioregistry' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
