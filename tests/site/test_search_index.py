import gzip
import json
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from builder.site.search_index import (
    DECODER_SCRIPT,
    INDEX_FIELDS,
    STORE_COLUMNS,
    SUMMARY_CHARS,
    accession_terms,
    build_compact_index,
    build_lunr_index,
    build_search_index,
    compact_index,
    expand_index,
    fill_builder,
    index_documents,
    load_index,
)
from tests.support.catalog import EMBARGO_MARKER, HOSTILE_TITLE, synthetic_catalog

LUNR_JS = Path(__file__).resolve().parents[2] / "builder/site/theme/assets/javascripts/vendor/lunr-2.3.9.min.js"


def accessions_found(index, store, query):
    rows = store["studies"]
    return [rows[int(hit["ref"])][0] for hit in index.search(query)]


@pytest.fixture
def built(sample_catalog):
    index_json, store_json = build_search_index(sample_catalog)
    return load_index(index_json), json.loads(store_json)


def test_finds_studies_by_title_word_prefix_organism_author_and_accession(built):
    index, store = built
    assert accessions_found(index, store, "nuclear") == ["OIA-000001"]
    assert accessions_found(index, store, "mitotic")[0] == "OIA-000002"
    assert set(accessions_found(index, store, "g*")) == {"OIA-000002"}  # "genome"; one-letter prefix
    assert set(accessions_found(index, store, "h*")) == {"OIA-000002"}  # "hela", "homo"
    assert accessions_found(index, store, "sapiens") == ["OIA-000002"]
    assert set(accessions_found(index, store, "musculus")) == {"OIA-000001", "OIA-000002"}
    assert set(accessions_found(index, store, "confocal")) == {"OIA-000001"}
    assert set(accessions_found(index, store, "Lovelace")) == {"OIA-000001", "OIA-000002"}
    assert set(accessions_found(index, store, "chromatin")) == {"OIA-000001"}  # keyword
    # Accessions: as typed with the hyphen, without it, and the number alone.
    for query in ("OIA-000002", "oia000002", "000002"):
        assert accessions_found(index, store, query)[0] == "OIA-000002", query
    # Every word of an accession query also works as a prefix (how the search page queries).
    assert set(accessions_found(index, store, "+oia* +000002*")) == {"OIA-000002"}
    # The bare prefix alone matches nothing, rather than everything.
    assert accessions_found(index, store, "oia") == []


def test_accession_terms():
    assert accession_terms("OIA-000123") == "oia000123 000123"
    assert accession_terms("S-BIAD1234") == "sbiad1234 1234"


def test_only_listed_studies_are_searchable(built, sample_catalog):
    index, store = built
    assert [r[0] for r in store["studies"]] == ["OIA-000001", "OIA-000002"]
    assert accessions_found(index, store, "zebrafish") == []  # the withdrawn study
    assert accessions_found(index, store, EMBARGO_MARKER) == []  # the embargoed one never reached the catalog
    index_json, store_json = build_search_index(sample_catalog)
    for text in (index_json, store_json):
        assert EMBARGO_MARKER.lower() not in text.lower()
        assert "OIA-000004" not in text and "000004" not in text
        assert "OIA-000003" not in text


def test_store_rows_and_facet_tables(built, sample_catalog):
    _, store = built
    assert store["format_version"] == 1
    assert store["columns"] == list(STORE_COLUMNS)
    assert store["count"] == len(store["studies"]) == 2
    col = {name: i for i, name in enumerate(store["columns"])}
    first = store["studies"][0]
    assert first[col["accession"]] == "OIA-000001"
    assert first[col["year"]] == 2025
    assert first[col["thumbnail"]] == "thumbnails/a1b2c3-card.webp"
    assert first[col["url"]] == "studies/OIA-000001/"
    assert [store["facets"]["organism"][i] for i in first[col["organism"]]] == [["NCBITaxon:10090", "Mus musculus"]]
    assert store["facets"]["licence"][first[col["licence"]]] == [
        "CC-BY-4.0", "Creative Commons Attribution 4.0 International"]
    assert len(first[col["summary"]]) <= SUMMARY_CHARS


def test_store_counts_equal_catalog_facets():
    catalog = synthetic_catalog(200, seed=5)
    _, store_json = build_search_index(catalog)
    store = json.loads(store_json)
    col = {name: i for i, name in enumerate(store["columns"])}
    for facet in ("organism", "imaging_method", "biological_scale", "data_type", "licence"):
        counts: Counter[str] = Counter()
        for row in store["studies"]:
            cell = row[col[facet]]
            for k in cell if isinstance(cell, list) else [cell]:
                counts[store["facets"][facet][k][0]] += 1
        assert counts == Counter({v.value: v.count for v in catalog.facets[facet]}), facet


def test_custom_thumbnail_urls(sample_catalog):
    _, store_json = build_search_index(sample_catalog, thumbnail_url=lambda name: None)
    assert all(row[STORE_COLUMNS.index("thumbnail")] is None for row in json.loads(store_json)["studies"])


def test_compact_index_searches_like_lunr_own_serialisation():
    catalog = synthetic_catalog(300, seed=7)
    original = build_lunr_index(catalog)
    compact = compact_index(original.serialize())
    assert set(compact["vectors"]) == {name for name, _ in INDEX_FIELDS}
    # Expanding gives lunr's serialised form, postings and all.
    expanded = expand_index(json.loads(json.dumps(compact)))
    serialized = original.serialize()
    assert [t for t, _ in expanded["invertedIndex"]] == [t for t, _ in serialized["invertedIndex"]]
    for (_, a), (_, b) in zip(expanded["invertedIndex"], serialized["invertedIndex"]):
        assert {f: set(a[f]) for f in expanded["fields"]} == {f: set(b[f]) for f in serialized["fields"]}
    reloaded = load_index(json.dumps(compact))
    for query in ("nucleus", "mitosis*", "c*", "musculus", "confocal", "OIA-000042", "lovelace", "organoid retina"):
        got = {hit["ref"] for hit in reloaded.search(query)}
        want = {hit["ref"] for hit in original.search(query)}
        assert got == want, query


def test_hostile_text_is_searchable_and_intact(hostile_catalog):
    index_json, store_json = build_search_index(hostile_catalog)
    store = json.loads(store_json)
    assert store["studies"][0][1] == HOSTILE_TITLE
    index = load_index(index_json)
    assert [hit["ref"] for hit in index.search("nuclei")] == ["0"]
    assert [hit["ref"] for hit in index.search("東京")] == ["0"]


def test_deterministic(sample_catalog):
    assert build_search_index(sample_catalog) == build_search_index(sample_catalog)


def test_size_stays_small():
    # Guard against regressions; benchmarks/search_index_size.py measures 1,000 and 10,000.
    index_json, store_json = build_search_index(synthetic_catalog(300, seed=1))
    total_gz = len(gzip.compress(index_json.encode(), 9)) + len(gzip.compress(store_json.encode(), 9))
    assert total_gz < 300 * 250  # small catalogs amortise the vocabulary less than large ones


def test_browser_decoder_gives_lunr_js_the_same_hits(tmp_path, sample_catalog):
    """catalog-index.js + lunr.js 2.3.9 (node) find what lunr.py finds."""
    node = shutil.which("node")
    assert node, "node is needed to run the browser decoder against lunr.js"
    catalog = synthetic_catalog(150, seed=11)
    index_json, _ = build_search_index(catalog)
    queries = ["nucleus", "m*", "musculus", "OIA-000042", "000042", "lovelace", "confocal microscopy"]
    (tmp_path / "index.json").write_text(index_json, encoding="utf-8")
    script = tmp_path / "run.js"
    script.write_text(
        f"const lunr = require({json.dumps(str(LUNR_JS))});\n"
        f"const expand = require({json.dumps(str(DECODER_SCRIPT))});\n"
        "const fs = require('fs');\n"
        "const index = lunr.Index.load(expand(JSON.parse(fs.readFileSync(process.argv[2], 'utf8'))));\n"
        f"const queries = {json.dumps(queries)};\n"
        "const out = {};\n"
        "for (const q of queries) out[q] = index.search(q).map(h => [h.ref, h.score]);\n"
        "console.log(JSON.stringify(out));\n",
        encoding="utf-8",
    )
    result = subprocess.run([node, str(script), str(tmp_path / "index.json")], capture_output=True, text=True,
                            timeout=60, check=True)
    js_hits = json.loads(result.stdout)
    index = load_index(index_json)
    for query in queries:
        py_hits = index.search(query)
        assert [ref for ref, _ in js_hits[query]] == [h["ref"] for h in py_hits], query
        for (_, js_score), h in zip(js_hits[query], py_hits):
            assert js_score == pytest.approx(h["score"], rel=1e-6)
    assert js_hits["OIA-000042"][0][0] == str([s.accession for s in catalog.listed_studies].index("OIA-000042"))


def test_lunr_own_serialisation_passes_through_the_decoder(sample_catalog):
    serialized = build_lunr_index(sample_catalog).serialize()
    assert expand_index(serialized) is serialized
    with pytest.raises(ValueError, match="known version"):
        expand_index({"format": "something-else", "format_version": 9})


def test_an_empty_catalog_gives_an_index_that_loads(catalog_settings):
    from builder.catalog.assembly import build_catalog
    from tests.support.catalog import TODAY

    catalog = build_catalog([], {}, catalog_settings, TODAY)
    index_json, store_json = build_search_index(catalog)
    assert load_index(index_json).search("anything") == []
    assert json.loads(store_json)["studies"] == []
    serialized = build_lunr_index(synthetic_catalog(1)).serialize()
    assert json.loads(index_json)["version"] == serialized["version"]
    assert json.loads(index_json)["pipeline"] == serialized["pipeline"]


@hyp_settings(max_examples=300, deadline=None)
@given(text=st.lists(st.sampled_from(list("ab .,;:…🦠") + ["word", "Åström"]), max_size=200).map("".join))
def test_an_excerpt_of_the_summary_is_the_excerpt_of_the_text(text):
    """description_excerpt() cuts the summary instead of the whole text when the summary is longer."""
    from builder.catalog.assembly import SUMMARY_CHARS
    from builder.core.text import truncate_text
    from builder.site.search_index import DESCRIPTION_EXCERPT_CHARS

    text = " ".join(text.split())  # markdown_to_text collapses whitespace
    summary = truncate_text(text, SUMMARY_CHARS)
    if len(summary) > DESCRIPTION_EXCERPT_CHARS:
        assert truncate_text(summary, DESCRIPTION_EXCERPT_CHARS) == truncate_text(text, DESCRIPTION_EXCERPT_CHARS)


def test_description_excerpts_match_the_rendered_text(sample_catalog, hostile_catalog):
    from builder.core.text import markdown_to_text, truncate_text
    from builder.site.search_index import DESCRIPTION_EXCERPT_CHARS, description_excerpt

    for cs in [*sample_catalog.studies, *hostile_catalog.studies]:
        expected = truncate_text(markdown_to_text(cs.study.description), DESCRIPTION_EXCERPT_CHARS)
        assert description_excerpt(cs) == expected


@pytest.mark.parametrize("seed", [7, 12])
def test_fast_build_gives_plain_lunr_index(seed, sample_catalog, hostile_catalog):
    """build_compact_index() (the build's path) == compact_index() of plain lunr.py's index, byte for byte."""
    for catalog in (synthetic_catalog(250, seed=seed), sample_catalog, hostile_catalog):
        plain = build_lunr_index(catalog).serialize()
        fast = build_compact_index(catalog)
        assert json.dumps(fast) == json.dumps(compact_index(plain))
        # The filled Builder holds what Builder.add leaves: its index is plain lunr()'s.
        assert fill_builder(index_documents(catalog)).build().serialize() == plain
    index_json, _ = build_search_index(synthetic_catalog(250, seed=seed))
    assert index_json == json.dumps(compact_index(build_lunr_index(synthetic_catalog(250, seed=seed)).serialize()),
                                    separators=(",", ":"), ensure_ascii=False)


@hyp_settings(max_examples=300, deadline=None)
@given(text=st.lists(st.sampled_from([" ", "\t", "\n", "\r", "\f", "\v", "\xa0", "-", "\u2028", "\u2003", "_", ".",
                                      "'", "İ", "ß", "Åström", "東京", "🦠", "Word", "x"]), max_size=40).map("".join))
def test_fast_tokens_are_lunr_tokenizer_tokens(text):
    from lunr.tokenizer import Tokenizer

    from builder.site.search_index import _LUNR_TOKEN

    assert _LUNR_TOKEN.findall(text.lower()) == [str(t) for t in Tokenizer(text)]
