"""The URLs the archive publishes for ontology terms: one rule per CURIE prefix.

In core, not the model: building a URL percent-encodes (urllib), and the
model imports no URL handling. Pages link readers to a term; linked-data
exports (JSON-LD, DataCite) name it. Both ask :func:`term_url`.
"""

from __future__ import annotations

from urllib.parse import quote

OBO_PURL = "http://purl.obolibrary.org/obo/"
# Prefixes whose authority has a better page for readers than the OBO PURL
# (NCBITaxon's PURL leads to an ontology browser; NCBI's page is the record itself).
_TERM_PAGES = {"NCBITaxon": "https://www.ncbi.nlm.nih.gov/Taxonomy/Browser/wwwtax.cgi?id={local}"}


def term_url(curie: str, *, identifier: bool = False) -> str | None:
    """The URL of an ontology term, by its CURIE (None when it is not one).

    With ``identifier`` the term's IRI, its OBO PURL (every prefix the archive
    knows is an OBO ontology, NCBITaxon included): what linked data (JSON-LD
    ``@id``, DataCite ``valueUri``) names a term by. Without, the page a reader
    is sent to: the authority's own page where there is a better one.
    """
    prefix, _, local = curie.partition(":")
    if not local:
        return None
    page = None if identifier else _TERM_PAGES.get(prefix)
    if page is not None:
        return page.format(local=quote(local, safe=""))
    return f"{OBO_PURL}{quote(prefix, safe='')}_{quote(local, safe='')}"
