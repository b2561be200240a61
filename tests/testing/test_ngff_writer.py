"""builder.testing.ngff_writer: OME-Zarr 0.4 and 0.5 images, labels and plates."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import ome_zarr_models
import pytest
import zarr
from ome_zarr.io import parse_url
from ome_zarr.reader import Reader
from ome_zarr_models.v04.hcs import HCS as HCS04
from ome_zarr_models.v04.image import Image as Image04
from ome_zarr_models.v04.image_label import ImageLabel as ImageLabel04
from ome_zarr_models.v04.labels import Labels as Labels04
from ome_zarr_models.v04.well import Well as Well04
from ome_zarr_models.v05.hcs import HCS as HCS05
from ome_zarr_models.v05.image import Image as Image05
from ome_zarr_models.v05.image_label import ImageLabel as ImageLabel05
from ome_zarr_models.v05.labels import Labels as Labels05
from ome_zarr_models.v05.well import Well as Well05

from builder.testing.ngff_writer import write_image, write_labels, write_plate

VERSIONS = ["0.4", "0.5"]
MODELS = {
    "0.4": {"image": Image04, "labels": Labels04, "label": ImageLabel04, "plate": HCS04, "well": Well04},
    "0.5": {"image": Image05, "labels": Labels05, "label": ImageLabel05, "plate": HCS05, "well": Well05},
}


def ome(path: Path) -> dict:
    """The NGFF metadata of a group, wherever its version keeps it."""
    if (path / "zarr.json").exists():
        return json.loads((path / "zarr.json").read_text())["attributes"]["ome"]
    return json.loads((path / ".zattrs").read_text())


def open_group(path: Path, version: str) -> zarr.Group:
    return zarr.open_group(path, mode="r", zarr_format=2 if version == "0.4" else 3)


def volume(seed: int = 0, shape=(2, 6, 40, 50), dtype=np.uint16) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 4000, shape).astype(dtype)


def all_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- images


@pytest.mark.parametrize("version", VERSIONS)
def test_image_validates_and_round_trips(tmp_path, version):
    data = volume()
    path = write_image(tmp_path / "cells.ome.zarr", data, version=version, scale={"z": 2.0, "y": 0.5, "x": 0.5})

    model = MODELS[version]["image"].from_zarr(open_group(path, version))
    assert model is not None
    group = open_group(path, version)
    np.testing.assert_array_equal(group["0"][...], data)
    assert [group[str(i)].shape for i in range(3)] == [(2, 6, 40, 50), (2, 6, 20, 25), (2, 6, 10, 13)]

    meta = ome(path)
    multiscale = meta["multiscales"][0]
    assert [a["name"] for a in multiscale["axes"]] == ["c", "z", "y", "x"]
    assert [a["type"] for a in multiscale["axes"]] == ["channel", "space", "space", "space"]
    assert multiscale["axes"][2]["unit"] == "micrometer"
    scales = [d["coordinateTransformations"][0]["scale"] for d in multiscale["datasets"]]
    assert scales == [[1.0, 2.0, 0.5, 0.5], [1.0, 2.0, 1.0, 1.0], [1.0, 2.0, 2.0, 2.0]]
    assert multiscale["name"] == "cells"
    if version == "0.5":
        assert meta["version"] == "0.5"
        array_meta = json.loads((path / "0" / "zarr.json").read_text())
        assert array_meta["dimension_names"] == ["c", "z", "y", "x"]
    else:
        assert multiscale["version"] == "0.4"
        assert json.loads((path / "0" / ".zarray").read_text())["dimension_separator"] == "/"


@pytest.mark.parametrize("version", VERSIONS)
def test_ome_zarr_py_reads_image(tmp_path, version):
    data = volume(shape=(3, 40, 50))
    path = write_image(tmp_path / "img.ome.zarr", data, axes="cyx", version=version, levels=2)
    node = next(iter(Reader(parse_url(str(path)))()))
    assert [tuple(level.shape) for level in node.data] == [(3, 40, 50), (3, 20, 25)]
    np.testing.assert_array_equal(np.asarray(node.data[0]), data)
    assert node.metadata["channel_names"] == ["Channel 0", "Channel 1", "Channel 2"]


def test_pyramid_is_a_block_mean(tmp_path):
    data = np.arange(16, dtype=np.uint8).reshape(4, 4)
    path = write_image(tmp_path / "m.ome.zarr", data, axes="yx", levels=2)
    level1 = open_group(path, "0.5")["1"][...]
    np.testing.assert_array_equal(level1, [[2, 4], [10, 12]])  # means 2.5, 4.5 ... rounded half to even


def test_odd_sizes_keep_the_last_partial_block(tmp_path):
    data = np.ones((5, 7), dtype=np.float32)
    path = write_image(tmp_path / "o.ome.zarr", data, axes="yx", levels=3)
    group = open_group(path, "0.5")
    assert [group[str(i)].shape for i in range(3)] == [(5, 7), (3, 4), (2, 2)]
    assert np.all(group["2"][...] == 1.0)


def test_levels_stop_when_nothing_is_left_to_shrink(tmp_path):
    path = write_image(tmp_path / "tiny.ome.zarr", np.ones((3, 3), np.uint8), axes="yx", levels=6)
    assert len(ome(path)["multiscales"][0]["datasets"]) == 3  # 3x3, 2x2, 1x1


def test_z_is_downsampled_only_for_deep_near_isotropic_stacks(tmp_path):
    deep = np.zeros((64, 16, 16), np.uint8)
    iso = write_image(tmp_path / "iso.ome.zarr", deep, axes="zyx", scale={"z": 1.0, "y": 1.0, "x": 1.0}, levels=2)
    assert open_group(iso, "0.5")["1"].shape == (32, 8, 8)
    aniso = write_image(tmp_path / "aniso.ome.zarr", deep, axes="zyx", scale={"z": 5.0, "y": 1.0, "x": 1.0}, levels=2)
    assert open_group(aniso, "0.5")["1"].shape == (64, 8, 8)
    shallow = write_image(tmp_path / "shallow.ome.zarr", deep[:20], axes="zyx", levels=2)
    assert open_group(shallow, "0.5")["1"].shape == (20, 8, 8)
    forced = write_image(tmp_path / "forced.ome.zarr", deep[:20], axes="zyx", levels=2, downscale_z=True)
    assert open_group(forced, "0.5")["1"].shape == (10, 8, 8)
    scale = ome(forced)["multiscales"][0]["datasets"][1]["coordinateTransformations"][0]["scale"]
    assert scale == [2.0, 2.0, 2.0]


def test_omero_block_from_given_channels(tmp_path):
    data = volume(shape=(2, 30, 30))
    channels = [
        {"label": "DAPI", "color": "0000ff", "window": (100, 3000), "active": True},
        {"label": "GFP", "color": "00FF00", "window": (50, 1500), "active": False},
    ]
    path = write_image(tmp_path / "c.ome.zarr", data, axes="cyx", channels=channels, name="wt")
    omero = ome(path)["omero"]
    assert [c["label"] for c in omero["channels"]] == ["DAPI", "GFP"]
    assert [c["color"] for c in omero["channels"]] == ["0000FF", "00FF00"]
    assert omero["channels"][0]["window"] == {"min": 0.0, "max": 65535.0, "start": 100.0, "end": 3000.0}
    assert [c["active"] for c in omero["channels"]] == [True, False]
    assert omero["rdefs"]["model"] == "color"


def test_omero_defaults(tmp_path):
    data = np.zeros((1, 8, 20, 20), np.float32)
    data[0, :, 5:15, 5:15] = 10.0
    path = write_image(tmp_path / "d.ome.zarr", data, default_t=None)
    omero = ome(path)["omero"]
    channel = omero["channels"][0]
    assert channel["color"] == "FFFFFF"  # one channel is shown grey
    assert channel["window"]["min"] == 0.0 and channel["window"]["max"] == 10.0
    assert 0.0 <= channel["window"]["start"] < channel["window"]["end"] <= 10.0
    assert omero["rdefs"] == {"defaultT": 0, "defaultZ": 4, "model": "greyscale"}
    three = write_image(tmp_path / "three.ome.zarr", volume(shape=(3, 10, 10)), axes="cyx")
    assert [c["color"] for c in ome(three)["omero"]["channels"]] == ["FF0000", "00FF00", "0000FF"]


def test_default_planes_and_units_are_written(tmp_path):
    data = volume(shape=(4, 1, 5, 16, 16))
    path = write_image(
        tmp_path / "t.ome.zarr",
        data,
        axes="tczyx",
        default_z=1,
        default_t=3,
        units={"t": "minute", "z": "micrometer", "y": "micrometer", "x": "micrometer"},
        scale={"t": 5.0},
    )
    meta = ome(path)
    assert meta["omero"]["rdefs"]["defaultZ"] == 1 and meta["omero"]["rdefs"]["defaultT"] == 3
    assert meta["multiscales"][0]["axes"][0] == {"name": "t", "type": "time", "unit": "minute"}
    assert meta["multiscales"][0]["datasets"][0]["coordinateTransformations"][0]["scale"][0] == 5.0
    assert Image05.from_zarr(open_group(path, "0.5")) is not None


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.uint32, np.float32, np.float64, bool])
def test_dtypes_round_trip(tmp_path, dtype):
    data = (np.random.default_rng(1).random((12, 12)) * 100).astype(dtype)
    path = write_image(tmp_path / "x.ome.zarr", data, axes="yx", levels=2)
    group = open_group(path, "0.5")
    np.testing.assert_array_equal(group["0"][...], data)
    assert group["1"].dtype == np.dtype(dtype)


@pytest.mark.parametrize("compressor", ["zstd", "blosc", "gzip", None])
@pytest.mark.parametrize("version", VERSIONS)
def test_output_is_deterministic(tmp_path, version, compressor):
    data = volume(seed=3, shape=(2, 4, 30, 30))
    first = write_image(tmp_path / "a" / "x.ome.zarr", data, version=version, compressor=compressor)
    second = write_image(tmp_path / "b" / "x.ome.zarr", data, version=version, compressor=compressor)
    assert all_bytes(first) == all_bytes(second)
    np.testing.assert_array_equal(open_group(first, version)["0"][...], data)


def test_bad_arguments_leave_an_existing_image_alone(tmp_path):
    path = write_image(tmp_path / "keep.ome.zarr", volume(shape=(2, 8, 8)), axes="cyx")
    with pytest.raises(ValueError):
        write_image(path, volume(shape=(2, 8, 8)), axes="czyx")
    with pytest.raises(ValueError):
        write_image(path, volume(shape=(2, 8, 8)), axes="cyx", compressor="lz4")
    assert open_group(path, "0.5")["0"].shape == (2, 8, 8)


def test_rewriting_replaces_the_old_image(tmp_path):
    path = tmp_path / "r.ome.zarr"
    write_image(path, np.ones((3, 64, 64), np.uint8), axes="cyx", levels=3)
    write_image(path, np.ones((32, 32), np.uint8), axes="yx", levels=1)
    assert not (path / "1").exists()
    assert open_group(path, "0.5")["0"].shape == (32, 32)


def test_chunks_are_clamped_to_each_level(tmp_path):
    path = write_image(tmp_path / "k.ome.zarr", volume(shape=(2, 64, 64)), axes="cyx", chunks=(1, 48, 48), levels=3)
    group = open_group(path, "0.5")
    assert [group[str(i)].chunks for i in range(3)] == [(1, 48, 48), (1, 32, 32), (1, 16, 16)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"axes": "xy"}, "order"),
        ({"axes": "cyxz"}, "order"),
        ({"axes": "czyx"}, "dimensions"),
        ({"axes": "cyx", "channels": [{"label": "a"}]}, "channel descriptions"),
        ({"axes": "cyx", "channels": [{"color": "red"}, {}]}, "RRGGBB"),
        ({"axes": "cyx", "channels": [{"colour": "FF0000"}, {}]}, "unknown channel keys"),
        ({"axes": "cyx", "version": "0.3"}, "unsupported NGFF version"),
        ({"axes": "cyx", "compressor": "lz4"}, "unknown compressor"),
        ({"axes": "cyx", "default_z": 0, "default_t": 2}, "outside the image"),
    ],
)
def test_bad_arguments_are_refused(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        write_image(tmp_path / "bad.ome.zarr", volume(shape=(2, 8, 8)), **kwargs)


# ---------------------------------------------------------------- labels


def cells_with_labels(tmp_path: Path, version: str) -> tuple[Path, np.ndarray]:
    image = write_image(tmp_path / "img.ome.zarr", volume(shape=(2, 4, 32, 48)), version=version)
    labels = np.zeros((4, 32, 48), np.uint16)
    labels[:, 2:12, 3:20] = 1
    labels[1:3, 16:30, 25:45] = 7
    return image, labels


@pytest.mark.parametrize("version", VERSIONS)
def test_labels_validate_with_ome_zarr_models(tmp_path, version):
    image, labels = cells_with_labels(tmp_path, version)
    label_path = write_labels(image, "nuclei", labels, colors={7: "ff8800"}, properties={1: {"class": "interphase"}})

    assert MODELS[version]["labels"].from_zarr(open_group(image / "labels", version)) is not None
    assert MODELS[version]["label"].from_zarr(open_group(label_path, version)) is not None
    assert MODELS[version]["image"].from_zarr(open_group(image, version)) is not None
    assert type(ome_zarr_models.open_ome_zarr(open_group(label_path, version))).__name__ == "ImageLabel"

    labels_meta = ome(image / "labels")
    assert labels_meta["labels"] == ["nuclei"]
    if version == "0.5":
        assert labels_meta["version"] == "0.5"  # ome-zarr-py leaves this out
    image_label = ome(label_path)["image-label"]
    colours = {c["label-value"]: c["rgba"] for c in image_label["colors"]}
    assert set(colours) == {1, 7}
    assert colours[7] == [255, 136, 0, 255]
    assert image_label["properties"] == [{"label-value": 1, "class": "interphase"}, {"label-value": 7}]
    assert image_label["source"] == {"image": "../../"}


@pytest.mark.parametrize("version", VERSIONS)
def test_label_pyramid_keeps_label_values_and_image_scales(tmp_path, version):
    image, labels = cells_with_labels(tmp_path, version)
    label_path = write_labels(image, "cells", labels)
    group = open_group(label_path, version)
    np.testing.assert_array_equal(group["0"][...], labels)
    for level in ("1", "2"):
        assert set(np.unique(group[level][...])) <= {0, 1, 7}
    label_ms = ome(label_path)["multiscales"][0]
    image_ms = ome(image)["multiscales"][0]
    assert [a["name"] for a in label_ms["axes"]] == ["z", "y", "x"]
    for label_ds, image_ds in zip(label_ms["datasets"], image_ms["datasets"], strict=True):
        assert (
            label_ds["coordinateTransformations"][0]["scale"] == image_ds["coordinateTransformations"][0]["scale"][1:]
        )


def test_second_label_image_is_appended(tmp_path):
    image, labels = cells_with_labels(tmp_path, "0.5")
    write_labels(image, "nuclei", labels)
    write_labels(image, "cells", labels > 0)
    write_labels(image, "nuclei", labels)
    assert ome(image / "labels")["labels"] == ["nuclei", "cells"]


@pytest.mark.parametrize("version", VERSIONS)
def test_ome_zarr_py_finds_labels(tmp_path, version):
    image, labels = cells_with_labels(tmp_path, version)
    write_labels(image, "nuclei", labels)
    nodes = list(Reader(parse_url(str(image)))())
    specs = {type(spec).__name__ for node in nodes for spec in node.specs}
    assert {"Multiscales", "Labels", "Label"} <= specs


def test_labels_must_be_integers_and_match_the_image_version(tmp_path):
    image, labels = cells_with_labels(tmp_path, "0.5")
    with pytest.raises(ValueError, match="integer"):
        write_labels(image, "bad", labels.astype(np.float32))
    with pytest.raises(ValueError, match="NGFF version"):
        write_labels(image, "bad", labels, version="0.4")
    with pytest.raises(ValueError, match="does not contain"):
        write_labels(image, "bad", labels, properties={3: {"class": "mitotic"}})
    with pytest.raises(FileNotFoundError):
        write_labels(tmp_path / "missing.ome.zarr", "x", labels)


# ---------------------------------------------------------------- plates


def plate_wells() -> dict[tuple[str, str], list[np.ndarray]]:
    rng = np.random.default_rng(5)
    field = lambda: rng.integers(0, 1000, (2, 32, 32)).astype(np.uint16)
    return {("B", "10"): [field()], ("A", "2"): [field(), field()], ("A", "10"): [field()]}


# ome-zarr-models warns that a 0.5 plate has no plate.version; 0.5 keeps it in ome.version.
@pytest.mark.filterwarnings("ignore:'version' field not specified in plate metadata")
@pytest.mark.parametrize("version", VERSIONS)
def test_plate_validates_with_ome_zarr_models(tmp_path, version):
    path = write_plate(tmp_path / "plate.ome.zarr", plate_wells(), version=version, acquisition_name="run 1")
    group = open_group(path, version)
    hcs = MODELS[version]["plate"].from_zarr(group)
    assert hcs is not None
    assert MODELS[version]["well"].from_zarr(group["A/2"]) is not None
    assert MODELS[version]["image"].from_zarr(group["A/2/1"]) is not None

    plate = ome(path)["plate"]
    assert [r["name"] for r in plate["rows"]] == ["A", "B"]
    assert [c["name"] for c in plate["columns"]] == ["2", "10"]  # numeric order, not "10" < "2"
    assert plate["wells"] == [
        {"path": "A/2", "rowIndex": 0, "columnIndex": 0},
        {"path": "A/10", "rowIndex": 0, "columnIndex": 1},
        {"path": "B/10", "rowIndex": 1, "columnIndex": 1},
    ]
    assert plate["field_count"] == 2
    assert plate["acquisitions"] == [{"id": 0, "name": "run 1", "maximumfieldcount": 2}]
    well = ome(path / "A" / "2")["well"]
    assert well["images"] == [{"path": "0", "acquisition": 0}, {"path": "1", "acquisition": 0}]
    assert ("version" in plate) == (version == "0.4")
    np.testing.assert_array_equal(group["B/10/0/0"][...], plate_wells()[("B", "10")][0])


@pytest.mark.parametrize("version", VERSIONS)
def test_ome_zarr_py_reads_plate(tmp_path, version):
    path = write_plate(tmp_path / "p.ome.zarr", plate_wells(), version=version, rows=["A", "B", "C"])
    node = next(iter(Reader(parse_url(str(path)))()))
    assert type(node.specs[0]).__name__ == "Plate"
    assert node.specs[0].row_names == ["A", "B", "C"]
    assert node.specs[0].col_names == ["2", "10"]


def test_plate_layout_can_be_larger_than_the_imaged_wells(tmp_path):
    rows = list("ABCDEFGH")
    columns = [str(i) for i in range(1, 13)]
    path = write_plate(tmp_path / "p96.ome.zarr", plate_wells(), rows=rows, columns=columns)
    plate = ome(path)["plate"]
    assert len(plate["rows"]) == 8 and len(plate["columns"]) == 12
    assert plate["wells"][0] == {"path": "A/2", "rowIndex": 0, "columnIndex": 1}
    with pytest.raises(ValueError, match="outside the plate"):
        write_plate(tmp_path / "bad.ome.zarr", plate_wells(), rows=["A"])
    with pytest.raises(ValueError, match="at least one well"):
        write_plate(tmp_path / "empty.ome.zarr", {})


def test_plate_output_is_deterministic(tmp_path):
    first = write_plate(tmp_path / "a" / "p.ome.zarr", plate_wells(), version="0.4")
    second = write_plate(tmp_path / "b" / "p.ome.zarr", plate_wells(), version="0.4")
    assert all_bytes(first) == all_bytes(second)


@pytest.mark.parametrize("version", VERSIONS)
def test_labels_can_be_added_to_a_plate_field(tmp_path, version):
    path = write_plate(tmp_path / "p.ome.zarr", plate_wells(), version=version)
    field = path / "A" / "2" / "0"
    labels = np.zeros((32, 32), np.uint8)
    labels[4:12, 4:12] = 1
    write_labels(field, "nuclei", labels)
    group = open_group(field / "labels" / "nuclei", version)
    assert MODELS[version]["label"].from_zarr(group) is not None
    assert MODELS[version]["image"].from_zarr(open_group(field, version)) is not None
    np.testing.assert_array_equal(group["0"][...], labels)


@pytest.mark.parametrize("version", VERSIONS)
def test_gzip_chunks_carry_no_time_of_writing(tmp_path, version, monkeypatch):
    """Writes a second apart give the same bytes: gzip headers hold no timestamp."""
    import time

    data = volume(seed=3, shape=(2, 4, 30, 30))
    first = write_image(tmp_path / "a" / "x.ome.zarr", data, version=version, compressor="gzip")
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 3600)
    second = write_image(tmp_path / "b" / "x.ome.zarr", data, version=version, compressor="gzip")
    monkeypatch.undo()
    chunks = {k: v for k, v in all_bytes(first).items() if v[:2] == b"\x1f\x8b"}
    assert chunks and all(v[4:8] == b"\0\0\0\0" for v in chunks.values())
    assert all_bytes(first) == all_bytes(second)
    np.testing.assert_array_equal(open_group(first, version)["0"][...], data)
