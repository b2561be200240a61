"""builder.data.ngff.checks: ome-zarr-models plus stricter checks, on documents already fetched."""

from __future__ import annotations

import copy

import pytest

from builder.data.ngff import read as ngff
from builder.data.ngff.checks import check_multiscale, check_omero, validate_group
from tests.data.ngff.test_read import v05_image, v3_array

URL = "https://data.example.org/img.zarr"


def parts(doc=None, arrays=None):
    group = ngff.parse_group(doc or v05_image(), 3, "zarr.json")
    ms = ngff.parse_multiscale(group)
    arrays = arrays if arrays is not None else {
        "0": ngff.parse_array(v3_array([2, 8, 64, 64], [1, 1, 32, 32]), 3, "0/zarr.json"),
        "1": ngff.parse_array(v3_array([2, 8, 32, 32], [1, 1, 32, 32]), 3, "1/zarr.json"),
    }
    return group, ms, arrays


def checks(diagnostics):
    return sorted({d.check for d in diagnostics})


def test_a_good_image_passes():
    group, ms, arrays = parts()
    assert validate_group(group, URL) == []
    assert check_multiscale(group, ms, arrays, URL) == []
    assert check_omero(group, ms, arrays["0"], URL) == []


def test_not_ngff_and_unsupported_version():
    group = ngff.parse_group({"node_type": "group", "attributes": {"foo": 1}}, 3, "zarr.json")
    [d] = validate_group(group, URL)
    assert d.check == "IMG001" and URL in d.message and "attributes.ome" in d.message
    doc = v05_image()
    doc["attributes"]["ome"]["version"] = "0.7"
    [d] = validate_group(ngff.parse_group(doc, 3, "zarr.json"), URL)
    assert d.check == "IMG003" and "'0.7'" in d.message and d.extra["key"] == "attributes.ome.version"
    # 0.4 metadata in a Zarr v3 group
    doc["attributes"]["ome"]["version"] = "0.4"
    [d] = validate_group(ngff.parse_group(doc, 3, "zarr.json"), URL)
    assert d.check == "IMG003" and "Zarr v2" in d.message


def test_model_errors_carry_their_location():
    doc = v05_image()
    doc["attributes"]["ome"]["multiscales"][0]["axes"][3]["type"] = "spaec"
    diags = validate_group(ngff.parse_group(doc, 3, "zarr.json"), URL)
    assert diags and all(d.check == "IMG002" for d in diags)
    assert diags[0].extra["key"].startswith("attributes.ome.multiscales[0]")
    assert diags[0].field.startswith("zarr.json#attributes.ome.multiscales")


def test_axes_rules():
    doc = v05_image()
    axes = doc["attributes"]["ome"]["multiscales"][0]["axes"]
    axes[0], axes[1] = axes[1], axes[0]  # space before channel
    axes[2]["unit"] = "parsecs"
    group, ms, arrays = parts(doc)
    diags = check_multiscale(group, ms, arrays, URL)
    assert checks(diags) == ["IMG004", "IMG006"]  # order, unit; dimension_names now differ
    unit = [d for d in diags if "parsecs" in d.message][0]
    assert unit.severity.value == "warning" and unit.extra["key"] == "attributes.ome.multiscales[0].axes[2].unit"
    doc = v05_image()
    for a in doc["attributes"]["ome"]["multiscales"][0]["axes"]:
        a["name"] = a["name"].upper()
    group, ms, arrays = parts(doc)
    assert "no 'y' and 'x'" in " ".join(d.message for d in check_multiscale(group, ms, arrays, URL))


def test_scale_must_be_positive_and_first():
    doc = v05_image()
    ds = doc["attributes"]["ome"]["multiscales"][0]["datasets"]
    ds[0]["coordinateTransformations"][0]["scale"] = [1, 0, 0.5, -1]
    ds[1]["coordinateTransformations"] = [{"type": "translation", "translation": [0, 0, 0, 0]}]
    group, ms, arrays = parts(doc)
    diags = [d for d in check_multiscale(group, ms, arrays, URL) if d.check == "IMG005"]
    assert len(diags) == 2
    assert {d.extra["key"] for d in diags} == {
        "attributes.ome.multiscales[0].datasets[0].coordinateTransformations[0].scale",
        "attributes.ome.multiscales[0].datasets[1].coordinateTransformations",
    }


def test_levels_must_not_grow_and_match_axes():
    group, ms, _ = parts()
    arrays = {
        "0": ngff.parse_array(v3_array([2, 8, 64, 64], [1, 1, 32, 32]), 3, "0/zarr.json"),
        "1": ngff.parse_array(v3_array([2, 8, 128, 64], [1, 1, 32, 32], dtype="uint8"), 3, "1/zarr.json"),
    }
    diags = check_multiscale(group, ms, arrays, URL)
    assert checks(diags) == ["IMG006"]
    assert {d.extra["key"] for d in diags} == {"shape", "dtype"}
    assert all(d.extra["document"] == "1/zarr.json" for d in diags)
    flat = {"0": ngff.parse_array(v3_array([64, 64], [32, 32]), 3, "0/zarr.json")}
    [d] = [d for d in check_multiscale(group, ms, flat, URL) if d.check == "IMG006"]
    assert "2 dimensions but 4 axes" in d.message


def test_chunk_shapes_sanity():
    group, ms, _ = parts()
    tiny = {"0": ngff.parse_array(v3_array([2, 8, 1024, 1024], [1, 1, 4, 4]), 3, "0/zarr.json")}
    [d] = check_multiscale(group, ms, tiny, URL)
    assert d.check == "IMG007" and d.severity.value == "warning" and "4 pixels along y" in d.message
    huge = {"0": ngff.parse_array(v3_array([2, 8, 20000, 20000], [1, 1, 16384, 16384]), 3, "0/zarr.json")}
    assert checks(check_multiscale(group, ms, huge, URL)) == ["IMG007"]


@pytest.mark.parametrize("channel, check, key", [
    ({"color": "#FF0000"}, "IMG008", "color"),
    ({"color": "red"}, "IMG008", "color"),
    ({"color": "FFFFFF", "window": {"start": 100, "end": 10}}, "IMG009", "window"),
    ({"color": "FFFFFF", "window": {"start": 0, "end": 70000}}, "IMG009", "window"),
    ({"color": "FFFFFF", "window": {"start": 0, "end": "max"}}, "IMG009", "window"),
    ({"color": "FFFFFF", "window": {"start": 5, "end": 10, "min": 6, "max": 100}}, "IMG009", "window"),
])
def test_omero_channels_are_strict(channel, check, key):
    group, ms, arrays = parts(v05_image(channels=[{"label": "a", **channel}, {"label": "b"}]))
    diags = check_omero(group, ms, arrays["0"], URL)
    assert checks(diags) == [check]
    assert diags[0].extra["key"] == f"attributes.ome.omero.channels[0].{key}"
    assert URL in diags[0].message and "zarr.json" in diags[0].message


def test_rdefs_and_channel_count():
    group, ms, arrays = parts(v05_image(rdefs={"defaultZ": 8, "defaultT": 2},
                                        channels=[{"label": "only one"}]))
    diags = check_omero(group, ms, arrays["0"], URL)
    assert checks(diags) == ["IMG016", "IMG017"]
    z = [d for d in diags if d.check == "IMG016"]
    assert {d.extra["key"] for d in z} == {"attributes.ome.omero.rdefs.defaultZ", "attributes.ome.omero.rdefs.defaultT"}


def test_plate_well_and_labels_models():
    plate = {"version": "0.5", "plate": {"rows": [{"name": "A"}], "columns": [{"name": "1"}],
                                         "wells": [{"path": "A/1", "rowIndex": 0, "columnIndex": 0}]}}
    group = ngff.parse_group({"node_type": "group", "attributes": {"ome": plate}}, 3, "zarr.json")
    assert validate_group(group, URL) == []
    broken = copy.deepcopy(plate)
    broken["plate"]["wells"][0]["path"] = "A1"
    diags = validate_group(ngff.parse_group({"node_type": "group", "attributes": {"ome": broken}}, 3, "zarr.json"), URL)
    assert diags and diags[0].check == "IMG002"
    labels = ngff.parse_group({"node_type": "group", "attributes": {"ome": {"labels": ["cells"]}}}, 3,
                              "labels/zarr.json")
    assert labels.kind == "labels-group"
    listed = {"node_type": "group", "attributes": {"ome": {"version": "0.5", "labels": ["c"]}}}
    assert validate_group(ngff.parse_group(listed, 3, "labels/zarr.json"), URL) == []
    not_a_list = {"node_type": "group", "attributes": {"ome": {"version": "0.5", "labels": "c"}}}
    [d] = validate_group(ngff.parse_group(not_a_list, 3, "labels/zarr.json"), URL)
    assert d.check == "IMG002" and d.extra["key"] == "attributes.ome.labels"
