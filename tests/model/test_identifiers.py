"""Checksums and syntax of ORCID, ROR, DOI and CURIEs, on real identifiers."""

import pytest

from builder.model.identifiers import (
    normalise_doi,
    normalise_orcid,
    orcid_checksum_ok,
    ror_checksum_ok,
    split_curie,
)


@pytest.mark.parametrize("orcid", ["0000-0002-1825-0097", "0000-0001-5109-3700", "0000-0002-1694-233X"])
def test_real_orcids_pass_the_checksum(orcid):
    assert orcid_checksum_ok(orcid)


def test_a_mistyped_orcid_fails_the_checksum():
    assert not orcid_checksum_ok("0000-0002-1825-0098")


def test_orcid_urls_are_normalised():
    assert normalise_orcid("https://orcid.org/0000-0002-1825-0097") == "0000-0002-1825-0097"
    assert normalise_orcid("0000-0002-1825-009") is None


@pytest.mark.parametrize("ror", ["03vek6s52", "05dxps055", "02jx3x895", "03mstc592"])
def test_real_ror_ids_pass_the_checksum(ror):
    assert ror_checksum_ok(ror)


def test_a_mistyped_ror_fails_the_checksum():
    assert not ror_checksum_ok("03vek6s53")


def test_dois_are_normalised_from_links():
    assert normalise_doi("https://doi.org/10.1038/s41592-021-01326-w") == "10.1038/s41592-021-01326-w"
    assert normalise_doi("doi:10.1038/X") == "10.1038/X"
    assert normalise_doi("not a doi") is None


def test_curies_split_on_the_first_colon_only():
    assert split_curie("NCBITaxon:9606") == ("NCBITaxon", "9606")
    assert split_curie("txid9606") is None
    assert split_curie("NCBITaxon: 9606") is None
