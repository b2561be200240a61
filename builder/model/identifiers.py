"""Syntax and checksums of the identifiers records carry. Pure functions."""

from __future__ import annotations

import re

# ASCII digits ([0-9], never \d): see builder.core.patterns.
ORCID_RE = re.compile(r"^(?:https?://orcid\.org/)?([0-9]{4}-[0-9]{4}-[0-9]{4}-[0-9]{3}[0-9X])$")
ROR_RE = re.compile(r"^(?:https?://ror\.org/)?(0[a-hj-km-np-tv-z0-9]{6}[0-9]{2})$")
DOI_RE = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:)?(10\.[0-9]{4,9}/\S+)$", re.IGNORECASE)
PMID_RE = re.compile(r"^[0-9]{1,9}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# CURIE prefixes the archive knows, with the local-id syntax each requires.
CURIE_RULES: dict[str, re.Pattern[str]] = {
    "NCBITaxon": re.compile(r"^[1-9][0-9]{0,9}$"),
    "FBbi": re.compile(r"^[0-9]{8}$"),
    "EFO": re.compile(r"^[0-9]{7}$"),
    "UBERON": re.compile(r"^[0-9]{7}$"),
    "CL": re.compile(r"^[0-9]{7}$"),
    "GO": re.compile(r"^[0-9]{7}$"),
    "CHEBI": re.compile(r"^[0-9]{1,7}$"),
    "NCIT": re.compile(r"^C[0-9]{1,7}$"),
}
CURIE_RE = re.compile(r"^([A-Za-z][A-Za-z0-9_]*):([^\s:]+)$")
# Identifiers in `xrefs:`: any registered prefix (dots and dashes occur: pubchem.compound), and a local id
# that may repeat the prefix as registries print it (CHEBI:CHEBI:15377); the registry pattern decides the rest.
XREF_RE = re.compile(r"^([A-Za-z][A-Za-z0-9_.\-]*):(\S{1,200})$")


def orcid_checksum_ok(orcid: str) -> bool:
    """ISO 7064 11,2 check digit, as ORCID specifies."""
    digits = orcid.replace("-", "")
    total = 0
    for ch in digits[:-1]:
        total = (total + int(ch)) * 2
    result = (12 - total % 11) % 11
    check = "X" if result == 10 else str(result)
    return digits[-1] == check


def normalise_orcid(value: str) -> str | None:
    m = ORCID_RE.match(value.strip())
    return m.group(1) if m else None


def ror_checksum_ok(ror_id: str) -> bool:
    """ROR ids end in a 2-digit ISO 7064 mod 97-10 checksum of the base-32 body."""
    alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    body, check = ror_id[1:7], ror_id[7:]
    number = 0
    for ch in body:
        number = number * 32 + alphabet.index(ch)
    return 98 - (number * 100 % 97) == int(check)


def normalise_doi(value: str) -> str | None:
    m = DOI_RE.match(value.strip())
    return m.group(1) if m else None


def split_curie(value: str) -> tuple[str, str] | None:
    m = CURIE_RE.match(value)
    return (m.group(1), m.group(2)) if m else None
