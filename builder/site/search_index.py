"""The catalog's own search: a prebuilt lunr index plus a compact metadata store.

Material's built-in search rebuilds its index in the browser from every page's
text, which took minutes at 10,000 studies (field notes). Instead the builder
makes the index here with lunr.py 0.8, whose serialised form lunr.js 2.3.9
loads as is (``lunr.Index.load(json)``), and a small store the page uses to
show results and to filter and count facets without another request.

Both hold listed studies only: released and not withdrawn. Embargoed studies
never reach the catalog, so they cannot reach the index either.

Index
-----
Document refs are row numbers in the store ("0", "1", ...). Fields (one
letter each) and their boosts are in ``INDEX_FIELDS``: ``t`` title plus the
accession forms, ``k`` keywords, ``o`` organisms, ``m`` imaging methods,
``p`` author family names, ``d`` the first ``DESCRIPTION_EXCERPT_CHARS``
characters of the plain-text description.

lunr's own serialisation stores every posting twice (inverted index and field
vectors), with long keys; at 10,000 studies that was 3.2 MB gzipped. The file
shipped (``INDEX_FORMAT``) keeps only what cannot be derived::

    {"format": "oia-lunr-compact", "format_version": 1,
     "version": "2.3.9", "fields": [...], "pipeline": ["stemmer"],
     "terms": [term, ...],                  # term i has lunr _index i
     "vectors": {field: [[d0, s0, d1, s1, ...] per document], ...}}

A document's vector for a field lists (term index, score) pairs by rising
term index, each index written as the difference from the previous one, and
each score rounded to two significant digits. The inverted index is exactly
"term t is in field f of document r" for every pair in the vectors, so the
browser rebuilds lunr's serialised index with ``expandCatalogIndex`` (the
script ``templates/exports/catalog-index.js``, written by the exports next to
the index as ``search/catalog-index.js``) and then calls ``lunr.Index.load``.
:func:`expand_index` is the same function in Python, used by the tests with
lunr.py.

Building: plain ``lunr()`` then ``compact_index`` took 7-10 CPU seconds at
10,000 studies, mostly in per-character tokenising, stemming the same words
again and again, lunr's Vector inserts and serialisation, and full garbage
collections over the catalog's objects. :func:`build_compact_index` fills
lunr.py's Builder with the same state (:func:`fill_builder`), scores the field
vectors as lunr does and writes the compact form directly; the tests check it
gives exactly ``compact_index(build_lunr_index(catalog).serialize())``.

Accessions: lunr.js splits query text on whitespace and hyphens, so the query
"OIA-000123" becomes the terms "oia" and "000123". The title field therefore
also holds "oia000123 000123" (the accession without punctuation, and its
zero-padded number), never the bare prefix, so that the prefix alone does not
match every study: "OIA-000123" (each word as a prefix, or any word),
"oia000123" and "000123" find the study.

Store (``STORE_FORMAT_VERSION`` 1)
----------------------------------
::

    {"format_version": 1,
     "count": <number of studies>,
     "columns": ["accession", "title", "year", "organism", "imaging_method",
                 "biological_scale", "data_type", "licence", "thumbnail", "summary", "url"],
     "facets": {"organism": [[value, label], ...], "imaging_method": [...],
                "biological_scale": [...], "data_type": [...], "licence": [...]},
     "studies": [[...one row per study, in "columns" order...], ...]}

A row's facet columns hold indexes into ``facets[<name>]`` (lists for the
multi-valued organism, imaging_method and biological_scale; one number for
data_type and licence); ``year`` is a number; ``thumbnail`` is a path from the
site root or null; ``url`` is the study page's path from the site root.
Rows are in catalog order (newest release first) and row ``i`` is lunr ref
``str(i)``.
"""

from __future__ import annotations

import gc
import json
import re
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from lunr import __TARGET_JS_VERSION__ as LUNR_JS_VERSION
from lunr import lunr
from lunr.builder import Builder
from lunr.idf import idf as lunr_idf
from lunr.index import Index
from lunr.lunr import get_default_builder
from lunr.pipeline import Pipeline
from lunr.token import Token
from lunr.tokenizer import SEPARATOR_CHARS

from builder.catalog.assembly import Catalog, CatalogStudy
from builder.core.settings import ArchiveSettings
from builder.core.text import markdown_to_text, split_name, truncate_text
from builder.site.templates import DEFAULT_TEMPLATES

STORE_FORMAT_VERSION = 1
INDEX_FORMAT = "oia-lunr-compact"
INDEX_FORMAT_VERSION = 1
DESCRIPTION_EXCERPT_CHARS = 100
SUMMARY_CHARS = 72
THUMBNAIL_FOLDER = "thumbnails"  # where the pages stage copies thumbnails (builder.site.pages.THUMBNAIL_FOLDER)

INDEX_FIELDS: tuple[tuple[str, int], ...] = (
    ("t", 10),  # title and accession forms
    ("k", 5),  # keywords
    ("o", 5),  # organism labels
    ("m", 5),  # imaging method labels
    ("p", 3),  # author family names (given names cost much and are rarely searched alone)
    ("d", 1),  # description excerpt
)
STORE_COLUMNS = ("accession", "title", "year", "organism", "imaging_method", "biological_scale", "data_type",
                 "licence", "thumbnail", "summary", "url")
STORE_FACETS = ("organism", "imaging_method", "biological_scale", "data_type", "licence")


def accession_terms(accession: str) -> str:
    """The forms of an accession a user may type, as lunr will tokenise them.

    "OIA-000123" -> "oia000123 000123". The bare prefix is left out so that it
    does not match every study.
    """
    compact = re.sub(r"[^0-9A-Za-z]", "", accession).lower()
    forms = [compact]
    digits = re.search(r"(\d+)$", accession)
    if digits:
        forms.append(digits.group(1))
    return " ".join(dict.fromkeys(f for f in forms if f))


def _document(ref: int, cs: CatalogStudy) -> dict[str, str]:
    study = cs.study
    return {
        "r": str(ref),
        "t": f"{study.title} {accession_terms(cs.accession)}",
        "k": " ".join(study.keywords),
        "o": " ".join(t.label for t in cs.organisms),
        "m": " ".join(t.label for t in cs.imaging_methods),
        "p": " ".join(split_name(a.name)[1] for a in study.authors),
        "d": description_excerpt(cs),
    }


def description_excerpt(cs: CatalogStudy) -> str:
    """The first DESCRIPTION_EXCERPT_CHARS characters of the plain-text description.

    Cut from the catalog's summary, itself a cut of the same plain text, when
    that is longer than the excerpt: both cuts then see the same leading
    characters, so the result is the same as cutting the whole text, without
    rendering the description's Markdown once more (a quarter of the index's
    time at 10,000 studies). A shorter summary may be the whole text or, in
    odd cases, a cut ending early; those are rendered.
    """
    if len(cs.summary) > DESCRIPTION_EXCERPT_CHARS:
        return truncate_text(cs.summary, DESCRIPTION_EXCERPT_CHARS)
    return truncate_text(markdown_to_text(cs.study.description), DESCRIPTION_EXCERPT_CHARS)


def build_lunr_index(catalog: Catalog) -> Index:
    """The lunr.py index of the listed studies (ref = row number in the store).

    Plain ``lunr()``, document by document: the reference the fast path
    (:func:`build_compact_index`) is tested against.
    """
    fields = [{"field_name": name, "boost": boost} for name, boost in INDEX_FIELDS]
    return lunr(ref="r", fields=fields, documents=index_documents(catalog))


def index_documents(catalog: Catalog) -> list[dict[str, str]]:
    """The documents lunr indexes: one per listed study, ref "r" = row number."""
    return [_document(i, cs) for i, cs in enumerate(catalog.listed_studies)]


# lunr's Tokenizer lower-cases the text and splits it on these characters with
# a Python call per character (a fifth of plain lunr()'s time); a regex finds
# the same tokens (tested against it).
_LUNR_TOKEN = re.compile(f"[^{re.escape(SEPARATOR_CHARS)}]+")


class _TermCache(dict[str, tuple[str, ...]]):
    """The terms lunr's pipeline makes of one token, computed once per distinct token.

    The default pipeline (trimmer, stop-word filter, stemmer) treats each token
    on its own, with no per-field skips, so a token always gives the same terms;
    tokens repeat massively (under a tenth are distinct at 10,000 studies).
    """

    def __init__(self, pipeline: Pipeline) -> None:
        super().__init__()
        self.pipeline = pipeline

    def __missing__(self, token: str) -> tuple[str, ...]:
        terms = tuple(str(t) for t in self.pipeline.run([Token(token)]))
        self[token] = terms
        return terms


# Builder.add gives each posting its own defaultdict(list) of kept metadata; no
# metadata is kept, so they would all stay empty. One shared empty dict (never
# written to: lunr only appends whitelisted metadata) saves 360,000 objects at
# 10,000 studies, which the garbage collector would otherwise rescan.
_NO_METADATA: dict[str, list[Any]] = {}


def fill_builder(documents: list[dict[str, str]]) -> Builder:
    """lunr.py's default Builder after ``add()``-ing the documents, the fast way.

    The Builder's state (inverted index with its term numbering, field term
    frequencies, field lengths, document count) is exactly what ``Builder.add``
    leaves for documents of plain-string fields with no attributes and no
    metadata kept; ``builder.site.build()`` then gives plain ``lunr()``'s index
    (the tests compare them). What differs is only how the terms are found:
    tokens by regex and pipeline results memoised per distinct token.
    """
    builder = get_default_builder()
    builder.ref("r")
    for name, boost in INDEX_FIELDS:
        builder.field(name, boost=boost)
    if builder.metadata_whitelist or any(builder.pipeline._skip.values()):
        raise RuntimeError("fill_builder assumes lunr's default builder (no metadata, no skipped steps)")
    terms_of = _TermCache(builder.pipeline)
    field_names = list(builder._fields)
    inverted_index = builder.inverted_index
    term_frequencies = builder.field_term_frequencies
    field_lengths = builder.field_lengths
    term_index = builder.term_index
    for doc in documents:
        doc_ref = str(doc["r"])
        builder._documents[doc_ref] = {}
        builder.document_count += 1
        for field_name in field_names:
            field_ref = f"{field_name}/{doc_ref}"  # str(lunr.FieldRef(doc_ref, field_name))
            counts: defaultdict[str, int] = defaultdict(int)
            term_frequencies[field_ref] = counts
            length = 0
            for token in _LUNR_TOKEN.findall(doc[field_name].lower()):
                for term in terms_of[token]:
                    length += 1
                    counts[term] += 1
                    posting = inverted_index.get(term)
                    if posting is None:
                        posting = {name: {} for name in field_names}
                        posting["_index"] = term_index
                        term_index += 1
                        inverted_index[term] = posting
                    refs = posting[field_name]
                    if doc_ref not in refs:
                        refs[doc_ref] = _NO_METADATA
            field_lengths[field_ref] = length
    builder.term_index = term_index
    return builder


def _two_digits(score: float) -> float | int:
    """A score rounded to two significant digits; ranking needs no more."""
    rounded = float(f"{score:.2g}")
    return int(rounded) if rounded.is_integer() else rounded


def compact_index(serialized: dict[str, Any]) -> dict[str, Any]:
    """lunr's serialised index in the compact shipping format (module docstring)."""
    postings = serialized["invertedIndex"]
    fields = list(serialized["fields"])
    doc_count = {term: sum(len(p[f]) for f in fields) for term, p in postings}
    # Frequent terms first: they get small indexes, so their deltas are short.
    ordered = sorted(postings, key=lambda tp: (-doc_count[tp[0]], tp[0]))
    new_index = {p["_index"]: i for i, (_, p) in enumerate(ordered)}
    refs: set[str] = set()
    vectors_by_key: dict[str, list[float]] = {}
    for key, elements in serialized["fieldVectors"]:
        vectors_by_key[key] = elements
        refs.add(key.partition("/")[2])
    n_docs = len(refs)
    if refs != {str(i) for i in range(n_docs)}:
        raise ValueError("compact_index needs document refs 0..n-1")
    vectors: dict[str, list[list[float | int]]] = {}
    for field in fields:
        packed_docs = []
        for doc in range(n_docs):
            elements = vectors_by_key.get(f"{field}/{doc}", [])
            pairs = sorted((new_index[int(elements[j])], elements[j + 1]) for j in range(0, len(elements), 2))
            packed: list[float | int] = []
            previous = 0
            for index, score in pairs:
                packed += [index - previous, _two_digits(score)]
                previous = index
            packed_docs.append(packed)
        vectors[field] = packed_docs
    return {
        "format": INDEX_FORMAT,
        "format_version": INDEX_FORMAT_VERSION,
        "version": serialized["version"],
        "fields": fields,
        "pipeline": serialized["pipeline"],
        "terms": [term for term, _ in ordered],
        "vectors": vectors,
    }


def build_compact_index(catalog: Catalog) -> dict[str, Any]:
    """``compact_index(build_lunr_index(catalog).serialize())``, computed faster.

    The builder is filled by :func:`fill_builder`, lunr.py averages the field
    lengths and weighs terms (``lunr.idf``), and each field vector is scored as
    ``Builder._create_field_vectors`` scores it, in the same floating-point
    steps, straight into the compact form. That skips lunr's Vector objects
    (a sorted insert per posting), its serialised form (every posting twice,
    every number rounded) and the re-reading of it; the tests check the result
    against plain lunr.py's.
    """
    builder = fill_builder(index_documents(catalog))
    builder._calculate_average_field_lengths()
    fields = list(builder._fields)
    postings = builder.inverted_index
    n_docs = builder.document_count
    doc_count = {term: sum(len(p[f]) for f in fields) for term, p in postings.items()}
    # Same order as compact_index: frequent terms first, then alphabetical.
    ordered = sorted(postings, key=lambda term: (-doc_count[term], term))
    new_index = {term: i for i, term in enumerate(ordered)}
    idf = {term: lunr_idf(posting, n_docs) for term, posting in postings.items()}
    k1, b = builder._k1, builder._b
    # lunr rounds a score to 3 decimals when scoring and again when serialising,
    # then compact_index to 2 digits; scores repeat, so each is rounded once.
    packed_scores: dict[float, float | int] = {}
    vectors: dict[str, list[list[float | int]]] = {}
    for field in fields:
        boost = builder._fields[field].boost
        average_length = builder.average_field_length[field]
        packed_docs = []
        for doc in range(n_docs):
            field_ref = f"{field}/{doc}"
            length_norm = k1 * (1 - b + b * (builder.field_lengths[field_ref] / average_length))
            pairs = []
            for term, tf in builder.field_term_frequencies[field_ref].items():
                score = idf[term] * ((k1 + 1) * tf) / (length_norm + tf)
                score *= boost  # then lunr's document boost, always 1 here
                pairs.append((new_index[term], score))
            pairs.sort()
            packed: list[float | int] = []
            previous = 0
            for index, score in pairs:
                value = packed_scores.get(score)
                if value is None:
                    value = packed_scores[score] = _two_digits(round(round(score, 3), 3))
                packed += [index - previous, value]
                previous = index
            packed_docs.append(packed)
        vectors[field] = packed_docs
    return {
        "format": INDEX_FORMAT,
        "format_version": INDEX_FORMAT_VERSION,
        "version": LUNR_JS_VERSION,
        "fields": fields,
        "pipeline": builder.search_pipeline.serialize(),
        "terms": ordered,
        "vectors": vectors,
    }


def empty_compact_index() -> dict[str, Any]:
    """The index of an archive with nothing listed yet: loads, finds nothing."""
    return {
        "format": INDEX_FORMAT,
        "format_version": INDEX_FORMAT_VERSION,
        "version": LUNR_JS_VERSION,
        "fields": [name for name, _ in INDEX_FIELDS],
        "pipeline": ["stemmer"],
        "terms": [],
        "vectors": {name: [] for name, _ in INDEX_FIELDS},
    }


def expand_index(compact: dict[str, Any]) -> dict[str, Any]:
    """The compact format back in lunr's serialised form (what catalog-index.js does)."""
    if "invertedIndex" in compact and "fieldVectors" in compact and "format" not in compact:
        return compact  # lunr's own serialised form passes through unchanged
    if compact.get("format") != INDEX_FORMAT or compact.get("format_version") != INDEX_FORMAT_VERSION:
        raise ValueError("not a compact catalog index of a known version")
    fields = compact["fields"]
    postings: list[list[Any]] = []
    for i, term in enumerate(compact["terms"]):
        posting: dict[str, Any] = {"_index": i}
        posting.update({f: {} for f in fields})
        postings.append([term, posting])
    field_vectors = []
    for field in fields:
        for doc, packed in enumerate(compact["vectors"][field]):
            ref = str(doc)
            elements: list[float | int] = []
            index = 0
            for j in range(0, len(packed), 2):
                index += packed[j]
                elements += [index, packed[j + 1]]
                postings[index][1][field][ref] = {}
            field_vectors.append([f"{field}/{ref}", elements])
    postings.sort(key=lambda tp: tp[0])
    return {"version": compact["version"], "fields": fields, "fieldVectors": field_vectors,
            "invertedIndex": postings, "pipeline": compact["pipeline"]}


def load_index(index_json: str) -> Index:
    """A shipped (compact) index loaded into lunr.py, as the browser loads it into lunr.js."""
    return Index.load(expand_index(json.loads(index_json)))


DECODER_SCRIPT = DEFAULT_TEMPLATES / "exports" / "catalog-index.js"


def decoder_script() -> str:
    """The browser's expandCatalogIndex(), to serve next to the index."""
    return DECODER_SCRIPT.read_text(encoding="utf-8")


def _default_thumbnail_url(name: str) -> str:
    return f"{THUMBNAIL_FOLDER}/{name}"


def build_store(catalog: Catalog, *, thumbnail_url: Callable[[str], str | None] = _default_thumbnail_url
                ) -> dict[str, Any]:
    studies = catalog.listed_studies
    tables: dict[str, list[list[str]]] = {name: [] for name in STORE_FACETS}
    positions: dict[str, dict[str, int]] = {name: {} for name in STORE_FACETS}
    # The catalog's facet order (most studies first) becomes the table order.
    for name in STORE_FACETS:
        for value in catalog.facets.get(name, []):
            positions[name][value.value] = len(tables[name])
            tables[name].append([value.value, value.label])

    def index_of(facet: str, value: str, label: str) -> int:
        if value not in positions[facet]:  # not in the facets (cannot happen for listed studies)
            positions[facet][value] = len(tables[facet])
            tables[facet].append([value, label])
        return positions[facet][value]

    rows = []
    for cs in studies:
        rows.append([
            cs.accession,
            cs.study.title,
            cs.year,
            [index_of("organism", t.id, t.label) for t in cs.organisms],
            [index_of("imaging_method", t.id, t.label) for t in cs.imaging_methods],
            [index_of("biological_scale", s, s) for s in cs.scales],
            index_of("data_type", cs.data_type, cs.data_type),
            index_of("licence", cs.licence.id, cs.licence.name),
            thumbnail_url(cs.card_thumbnail) if cs.card_thumbnail else None,
            truncate_text(cs.summary, SUMMARY_CHARS),
            cs.url_path,
        ])
    return {
        "format_version": STORE_FORMAT_VERSION,
        "count": len(rows),
        "columns": list(STORE_COLUMNS),
        "facets": tables,
        "studies": rows,
    }


def build_search_index(
    catalog: Catalog,
    settings: ArchiveSettings | None = None,
    *,
    thumbnail_url: Callable[[str], str | None] = _default_thumbnail_url,
) -> tuple[str, str]:
    """(compact lunr index JSON, store JSON), both deterministic.

    ``settings`` is accepted for symmetry with the other stages; nothing in
    the index depends on it.

    ``thumbnail_url`` maps a thumbnail file name to its path in the site (the
    pages stage's ``ThumbnailStore.url`` fits); by default "thumbnails/<name>".
    """
    # The index makes a few hundred thousand short-lived, acyclic containers;
    # with the catalog's millions of objects alive, each full collection they
    # trigger costs about a second (as much as the whole index) and frees
    # nothing, so the cyclic collector is paused meanwhile (as in records.py).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        if catalog.listed_studies:
            compact = build_compact_index(catalog)
        else:
            compact = empty_compact_index()  # lunr.py cannot build an index of nothing (division by zero)
        index_json = json.dumps(compact, separators=(",", ":"), ensure_ascii=False)
        del compact
        store_json = json.dumps(build_store(catalog, thumbnail_url=thumbnail_url), separators=(",", ":"),
                                ensure_ascii=False)
    finally:
        if gc_was_enabled:
            gc.enable()
    return index_json, store_json
