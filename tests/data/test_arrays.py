"""builder.data.arrays: allow-lists and limits before decoding; reads fetch only the chunks needed."""

from __future__ import annotations

import json

import numpy as np
import pytest

from builder.core.settings import Limits
from builder.data.arrays import check_array, check_selection, read_selection, selection_cost
from builder.data.ngff import read as ngff
from builder.data.storage import Budget, LocalStore
from builder.testing.ngff_writer import write_image

URL = "https://data.example.org/img.zarr"


def v2(**over):
    doc = {"zarr_format": 2, "shape": [64, 64], "chunks": [32, 32], "dtype": "<u2",
           "compressor": {"id": "zstd", "level": 3}, "filters": None, "order": "C", "fill_value": 0}
    doc.update(over)
    return ngff.parse_array(doc, 2, "0/.zarray")


def v3(codecs=None, **over):
    doc = {"zarr_format": 3, "node_type": "array", "shape": [64, 64], "data_type": "uint16",
           "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [32, 32]}},
           "codecs": codecs or [{"name": "bytes"}, {"name": "zstd"}], "fill_value": 0}
    doc.update(over)
    return ngff.parse_array(doc, 3, "0/zarr.json")


def ids(diags):
    return [d.check for d in diags]


def test_standard_arrays_pass():
    assert check_array(v2(), Limits(), URL) == []
    assert check_array(v3(), Limits(), URL) == []
    sharded = v3([{"name": "sharding_indexed", "configuration": {
        "chunk_shape": [16, 16], "codecs": [{"name": "bytes"}, {"name": "blosc"}],
        "index_codecs": [{"name": "bytes"}, {"name": "crc32c"}]}}])
    assert check_array(sharded, Limits(), URL) == []


@pytest.mark.parametrize("meta, check, key", [
    (lambda: v2(compressor={"id": "pickle"}), "SAF003", "compressor.id"),
    (lambda: v2(filters=[{"id": "vlen-utf8"}]), "SAF003", "filters[0].id"),
    (lambda: v3([{"name": "bytes"}, {"name": "numcodecs.pickle"}]), "SAF003", "codecs[1].name"),
    (lambda: v3([{"name": "sharding_indexed", "configuration": {"chunk_shape": [16, 16],
                  "codecs": [{"name": "bytes"}, {"name": "evil"}], "index_codecs": [{"name": "bytes"}]}}]),
     "SAF003", "codecs[0].configuration.codecs[1].name"),
    (lambda: v2(dtype="|O"), "SAF004", "dtype"),
    (lambda: v2(dtype=[["a", "<i4"]]), "SAF004", "dtype"),
    (lambda: v3(data_type="string"), "SAF004", "data_type"),
    (lambda: v2(chunks=[8192, 8192], dtype="<f8"), "SAF005", "chunks"),
    (lambda: v2(shape=[2**60, 64]), "SAF007", "shape"),
    (lambda: v2(chunks=[0, 32]), "SAF007", "chunks"),
    (lambda: v2(chunks=[32]), "SAF007", "chunks"),
])
def test_refusals_name_the_key(meta, check, key):
    diags = check_array(meta(), Limits(), URL)
    assert check in ids(diags)
    d = [d for d in diags if d.check == check][0]
    assert d.extra["key"] == key and URL in d.message and d.severity.value == "error"


def test_shard_index_too_large_is_refused():
    meta = v3([{"name": "sharding_indexed", "configuration": {
        "chunk_shape": [1, 1], "codecs": [{"name": "bytes"}], "index_codecs": [{"name": "bytes"}]}}],
        shape=[2**20, 2**20], chunk_grid={"name": "regular", "configuration": {"chunk_shape": [4096, 4096]}})
    assert "SAF005" in ids(check_array(meta, Limits(), URL))


def test_selection_cost_counts_whole_chunks():
    meta = v2(shape=[100, 100], chunks=[32, 32])
    assert selection_cost(meta, (slice(0, 10), slice(0, 10))) == (200, 32 * 32 * 2)
    assert selection_cost(meta, (slice(30, 40), 5)) == (20, 2 * 32 * 32 * 2)
    assert check_selection(meta, (slice(0, 100), slice(0, 100)), Limits(max_selection_bytes=10_000), URL)[0].check \
        == "SAF006"
    assert check_selection(meta, (slice(0, 100), slice(0, 100)), Limits(), URL) == []


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_read_selection_fetches_only_the_needed_chunks(tmp_path, version):
    data = np.arange(3 * 64 * 96, dtype=np.uint16).reshape(3, 64, 96)
    path = write_image(tmp_path / "img.zarr", data, axes="zyx", version=version, levels=1, chunks=(1, 32, 32))
    store = LocalStore(path, Budget.from_limits(Limits()))
    fmt = 3 if version == "0.5" else 2
    key = ngff.array_doc_key("0", fmt)
    doc = json.loads(store.get(key))
    meta = ngff.parse_array(doc, fmt, key)
    before = store.usage.requests
    plane = read_selection(store, {key: doc}, meta, "0", (1, slice(0, 64), slice(0, 96)))
    np.testing.assert_array_equal(plane, data[1])
    fetched = [r.key for r in store.usage.log[before:]]
    assert len(fetched) == 6  # 2 x 3 chunks of one plane, no metadata re-read
    assert not any(k.endswith((".zarray", ".zattrs", "zarr.json")) for k in fetched)
