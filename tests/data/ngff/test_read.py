"""builder.data.ngff.read: metadata documents -> facts, without I/O."""

from __future__ import annotations

import copy
import json

import pytest

from builder.data.ngff import read as ngff
from builder.model.image import LevelFacts


def v05_image(**omero) -> dict:
    return {
        "zarr_format": 3,
        "node_type": "group",
        "attributes": {
            "ome": {
                "version": "0.5",
                "multiscales": [{
                    "name": "cells",
                    "axes": [
                        {"name": "c", "type": "channel"},
                        {"name": "z", "type": "space", "unit": "micrometer"},
                        {"name": "y", "type": "space", "unit": "micrometer"},
                        {"name": "x", "type": "space", "unit": "micrometer"},
                    ],
                    "datasets": [
                        {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1, 2.0, 0.5, 0.5]}]},
                        {"path": "1", "coordinateTransformations": [{"type": "scale", "scale": [1, 2.0, 1.0, 1.0]}]},
                    ],
                    "coordinateTransformations": [{"type": "scale", "scale": [1, 1, 2, 2]}],
                }],
                "omero": {
                    "channels": [
                        {"label": "DAPI", "color": "0000ff", "window": {"start": 10, "end": 200}, "active": True},
                        {"label": "GFP", "color": "00FF00", "active": False},
                    ],
                    "rdefs": {"defaultZ": 3, "defaultT": 0},
                    **omero,
                },
            }
        },
    }


def v3_array(shape, chunks, dtype="uint16", codecs=None) -> dict:
    return {
        "zarr_format": 3,
        "node_type": "array",
        "shape": shape,
        "data_type": dtype,
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": chunks}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": 0,
        "codecs": codecs or [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "zstd"}],
        "dimension_names": ["c", "z", "y", "x"],
    }


def test_v05_image_facts():
    group = ngff.parse_group(v05_image(), 3, "zarr.json")
    assert group.version == "0.5" and group.kind == "image" and group.key_prefix == "attributes.ome."
    arrays = {
        "0": ngff.parse_array(v3_array([2, 8, 64, 64], [1, 1, 32, 32]), 3, "0/zarr.json"),
        "1": ngff.parse_array(v3_array([2, 8, 32, 32], [1, 1, 32, 32]), 3, "1/zarr.json"),
    }
    facts = ngff.image_facts("https://x/img.zarr", group, arrays, labels=["cells"], fingerprint="sha256:abc")
    assert facts.kind == "image" and facts.ngff_version == "0.5" and facts.name == "cells"
    assert [a.name for a in facts.axes] == ["c", "z", "y", "x"]
    # level-0 scale times the multiscale-wide scale
    assert [a.scale for a in facts.axes] == [1.0, 2.0, 1.0, 1.0]
    assert facts.pixel_sizes == {"z": (2.0, "micrometer"), "y": (1.0, "micrometer"), "x": (1.0, "micrometer")}
    assert facts.shape == [2, 8, 64, 64] and facts.chunks == [1, 1, 32, 32] and facts.dtype == "uint16"
    assert facts.levels == [LevelFacts(path="0", shape=[2, 8, 64, 64], chunks=[1, 1, 32, 32]),
                            LevelFacts(path="1", shape=[2, 8, 32, 32], chunks=[1, 1, 32, 32])]
    assert [(c.label, c.color, c.window, c.active) for c in facts.channels] == [
        ("DAPI", "0000FF", (10.0, 200.0), True), ("GFP", "00FF00", None, False)]
    assert facts.default_z == 3 and facts.default_t == 0
    assert facts.labels == ["cells"]


def test_v04_group_and_v2_array():
    zattrs = {"multiscales": [{"version": "0.4",
                               "axes": [{"name": "y", "type": "space"}, {"name": "x", "type": "space"}],
                               "datasets": [{"path": "0", "coordinateTransformations": [
                                   {"type": "scale", "scale": [0.25, 0.25]}]}]}]}
    group = ngff.parse_group(zattrs, 2, ".zattrs")
    assert group.version == "0.4" and group.kind == "image" and group.key_prefix == ""
    zarray = {"zarr_format": 2, "shape": [100, 200], "chunks": [50, 64], "dtype": "<u1",
              "compressor": {"id": "blosc", "cname": "zstd"}, "filters": None, "order": "C", "fill_value": 0}
    meta = ngff.parse_array(zarray, 2, "0/.zarray")
    assert meta.dtype == "uint8" and meta.itemsize == 1 and meta.codecs == ["blosc"]
    assert meta.codec_keys == ["compressor.id"] and meta.chunk_bytes == 50 * 64
    facts = ngff.image_facts("/data/img.zarr", group, {"0": meta})
    # no omero and no c axis: no channels to describe
    assert facts.channels == [] and facts.axes[0].scale == 0.25


def test_sharded_v3_array_reports_inner_chunks_and_nested_codecs():
    codecs = [{"name": "sharding_indexed", "configuration": {
        "chunk_shape": [1, 1, 16, 16],
        "codecs": [{"name": "bytes"}, {"name": "blosc"}],
        "index_codecs": [{"name": "bytes"}, {"name": "crc32c"}],
    }}]
    meta = ngff.parse_array(v3_array([1, 1, 64, 64], [1, 1, 64, 64], codecs=codecs), 3, "0/zarr.json")
    assert meta.chunks == [1, 1, 16, 16] and meta.shard_shape == [1, 1, 64, 64]
    assert meta.codecs == ["sharding_indexed", "bytes", "blosc", "bytes", "crc32c"]
    assert meta.codec_keys[2] == "codecs[0].configuration.codecs[1].name"


@pytest.mark.parametrize("mutate, key", [
    (lambda d: d["attributes"]["ome"]["multiscales"][0].pop("datasets"), "attributes.ome.multiscales[0].datasets"),
    (lambda d: d["attributes"]["ome"]["multiscales"][0]["axes"].__setitem__(0, 5),
     "attributes.ome.multiscales[0].axes[0]"),
    (lambda d: d["attributes"]["ome"]["multiscales"][0]["datasets"][0].__setitem__("path", "../../etc"),
     "attributes.ome.multiscales[0].datasets[0].path"),
    (lambda d: d["attributes"]["ome"]["multiscales"][0]["datasets"][0]["coordinateTransformations"][0]
     .__setitem__("scale", [1, "a", 1, 1]),
     "attributes.ome.multiscales[0].datasets[0].coordinateTransformations[0].scale"),
])
def test_malformed_multiscales_name_the_key(mutate, key):
    doc = v05_image()
    mutate(doc)
    group = ngff.parse_group(doc, 3, "zarr.json")
    with pytest.raises(ngff.NgffError) as err:
        ngff.parse_multiscale(group)
    assert err.value.key == key and err.value.doc == "zarr.json"


@pytest.mark.parametrize("doc, key", [
    ([1, 2], ""),
    ({"node_type": "array", "shape": "big"}, "shape"),
    ({"node_type": "array", "shape": [1], "chunk_grid": {"name": "rectilinear"}}, "chunk_grid"),
    ({"node_type": "array", "shape": [1], "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [1]}},
      "codecs": []}, "codecs"),
])
def test_malformed_arrays_name_the_key(doc, key):
    with pytest.raises(ngff.NgffError) as err:
        ngff.parse_array(doc, 3, "0/zarr.json")
    assert err.value.key == key


def test_unknown_codecs_and_dtypes_are_reported_not_interpreted():
    meta = ngff.parse_array({"shape": [4], "chunks": [4], "dtype": "|O", "compressor": {"id": "pickle"},
                             "filters": [{"id": "vlen-utf8"}]}, 2, ".zarray")
    assert meta.dtype == "|O" and meta.itemsize is None
    assert meta.codecs == ["pickle", "vlen-utf8"] and meta.codec_keys == ["compressor.id", "filters[0].id"]


def test_kinds():
    assert ngff.detect_kind({"plate": {}}) == "plate"
    assert ngff.detect_kind({"well": {}}) == "well"
    assert ngff.detect_kind({"multiscales": [], "image-label": {}}) == "labels"
    assert ngff.detect_kind({"labels": ["a"]}) == "labels-group"
    assert ngff.detect_kind({"foo": 1}) is None


def test_plate_facts_and_wells():
    plate = {"version": "0.5", "plate": {
        "name": "p", "rows": [{"name": "A"}, {"name": "B"}], "columns": [{"name": "1"}, {"name": "2"}, {"name": "3"}],
        "wells": [{"path": "A/1", "rowIndex": 0, "columnIndex": 0}, {"path": "B/3", "rowIndex": 1, "columnIndex": 2}],
        "acquisitions": [{"id": 0}], "field_count": 4}}
    group = ngff.parse_group({"zarr_format": 3, "node_type": "group", "attributes": {"ome": plate}}, 3, "zarr.json")
    well = ngff.parse_group({"zarr_format": 3, "node_type": "group", "attributes": {"ome": {
        "version": "0.5", "well": {"images": [{"path": "0"}, {"path": "1"}]}}}}, 3, "A/1/zarr.json")
    facts = ngff.plate_facts(group, well)
    assert (facts.rows, facts.columns, facts.wells, facts.fields_per_well, facts.acquisitions) == (2, 3, 2, 2, 1)
    assert facts.row_names == ["A", "B"] and facts.column_names == ["1", "2", "3"]
    assert [(w.path, w.row, w.column) for w in ngff.plate_wells(group)] == [("A/1", 0, 0), ("B/3", 1, 2)]
    assert ngff.plate_facts(group, None).fields_per_well == 4
    bad = copy.deepcopy(plate)
    bad["plate"]["wells"][1]["path"] = "../../x"
    with pytest.raises(ngff.NgffError) as err:
        ngff.plate_wells(ngff.parse_group({"node_type": "group", "attributes": {"ome": bad}}, 3, "zarr.json"))
    assert err.value.key == "attributes.ome.plate.wells[1].path"


def test_v04_wells_without_indexes_are_derived_from_paths():
    group = ngff.parse_group({"plate": {"version": "0.4", "rows": [{"name": "A"}],
                                        "columns": [{"name": "1"}, {"name": "2"}],
                                        "wells": [{"path": "A/2"}]}}, 2, ".zattrs")
    assert [(w.row, w.column) for w in ngff.plate_wells(group)] == [(0, 1)]


def test_fingerprint_is_stable_and_canonical():
    a = {"zarr.json": {"b": 1, "a": [1, 2]}, "0/zarr.json": {"x": "é"}}
    b = json.loads(json.dumps(a))
    b = {"0/zarr.json": b["0/zarr.json"], "zarr.json": {"a": [1, 2], "b": 1}}
    assert ngff.fingerprint(a) == ngff.fingerprint(b)
    assert ngff.fingerprint(a).startswith("sha256:") and len(ngff.fingerprint(a)) == 71
    assert ngff.fingerprint(a) != ngff.fingerprint({**a, "zarr.json": {"b": 2, "a": [1, 2]}})
    # exactly sha256 of the canonical JSON, so other tools can recompute it
    import hashlib

    canon = json.dumps(a, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert ngff.fingerprint(a) == "sha256:" + hashlib.sha256(canon).hexdigest()


def test_choose_level_prefers_the_smallest_that_covers():
    from builder.model.image import AxisFacts

    axes = [AxisFacts(name="y"), AxisFacts(name="x")]
    levels = [LevelFacts(path=str(i), shape=[1024 >> i, 2048 >> i], chunks=[64, 64]) for i in range(5)]
    assert ngff.choose_level(levels, axes, 256) == 3  # 128 x 256
    assert ngff.choose_level(levels, axes, 768) == 1  # 512 x 1024
    assert ngff.choose_level(levels, axes, 4096) == 0  # nothing covers: the largest


def test_channels_default_when_no_omero():
    doc = v05_image()
    del doc["attributes"]["ome"]["omero"]
    group = ngff.parse_group(doc, 3, "zarr.json")
    channels, z, t = ngff.parse_channels(group, 3)
    assert [c.label for c in channels] == ["Channel 0", "Channel 1", "Channel 2"] and z is None and t is None
