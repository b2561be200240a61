"""bioarchive convert: real files written by each format's own writer, converted, validated, compared pixel by pixel."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import zarr

from builder.convert.errors import ConversionError
from builder.convert.run import convert_files
from builder.core.settings import ArchiveSettings

RNG = np.random.default_rng(7)


def _ome_tiff(path: Path, data: np.ndarray, **meta) -> None:
    import tifffile

    tifffile.imwrite(path, data, ome=True, metadata={"axes": "CZYX", **meta}, compression="zlib")


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, tuple[Path, dict[str, np.ndarray]]]:
    """name -> (file, {image name: expected array in NGFF axis order})."""
    import mrcfile
    import tifffile
    from PIL import Image
    from pylibCZIrw import czi

    folder = tmp_path_factory.mktemp("sources")
    out: dict[str, tuple[Path, dict[str, np.ndarray]]] = {}

    ome = RNG.integers(0, 4000, size=(2, 5, 300, 520), dtype=np.uint16)
    _ome_tiff(
        folder / "cells.ome.tif",
        ome,
        PhysicalSizeX=0.1,
        PhysicalSizeY=0.1,
        PhysicalSizeZ=0.5,
        Channel={"Name": ["DAPI", "GFP"]},
    )
    out["ome-tiff"] = (folder / "cells.ome.tif", {"cells": ome})

    hyper = RNG.integers(0, 255, size=(3, 4, 2, 64, 80), dtype=np.uint8)  # TZCYX
    tifffile.imwrite(
        folder / "hyper.tif",
        hyper,
        imagej=True,
        resolution=(1 / 0.2, 1 / 0.2),
        metadata={"axes": "TZCYX", "spacing": 1.5, "unit": "um", "finterval": 2.0, "Labels": ["a", "b"] * 12},
    )
    out["imagej"] = (folder / "hyper.tif", {"hyper": np.transpose(hyper, (0, 2, 1, 3, 4))})

    plain = RNG.integers(0, 65535, size=(6, 90, 70), dtype=np.uint16)
    with tifffile.TiffWriter(folder / "stack.tif") as tw:
        for page in plain:
            tw.write(page, contiguous=False, metadata=None)  # no tifffile description: a generic stack
    out["plain-tiff"] = (folder / "stack.tif", {"stack": plain})

    pyramid = RNG.integers(0, 4000, size=(1, 1, 600, 800), dtype=np.uint16)
    with tifffile.TiffWriter(folder / "pyramid.ome.tif") as tw:
        tw.write(
            pyramid, subifds=2, tile=(256, 256), metadata={"axes": "CZYX", "PhysicalSizeX": 0.3, "PhysicalSizeY": 0.3}
        )
        tw.write(pyramid[..., ::2, ::2], subfiletype=1, tile=(256, 256))
        tw.write(pyramid[..., ::4, ::4], subfiletype=1, tile=(256, 256))
    out["pyramidal-ome-tiff"] = (folder / "pyramid.ome.tif", {"pyramid": pyramid[0, 0]})

    series = [RNG.integers(0, 255, size=(40, 50), dtype=np.uint8), RNG.integers(0, 255, size=(30, 20), dtype=np.uint8)]
    with tifffile.TiffWriter(folder / "two.ome.tif", ome=True) as tw:
        for s in series:
            tw.write(s, metadata={"axes": "YX"})
    out["multi-series"] = (folder / "two.ome.tif", {"two_0": series[0], "two_1": series[1]})

    volume = RNG.normal(size=(70, 80, 90)).astype(np.float32)
    with mrcfile.new(folder / "tomo.rec") as mrc:
        mrc.set_data(volume)
        mrc.voxel_size = (2.5, 2.5, 2.5)
        mrc.set_volume()
    out["mrc-tomogram"] = (folder / "tomo.rec", {"tomo": volume})

    movie = RNG.integers(-100, 100, size=(5, 64, 64), dtype=np.int16)
    with mrcfile.new(folder / "movie.mrcs") as mrc:
        mrc.set_data(movie)
        mrc.set_image_stack()
        mrc.voxel_size = 1.1
    out["mrc-movie"] = (folder / "movie.mrcs", {"movie": movie})

    scenes = [RNG.integers(0, 4000, size=(2, 3, 40, 50), dtype=np.uint16) for _ in range(2)]
    with czi.create_czi(str(folder / "slide.czi"), exist_ok=True) as writer:
        for s, data in enumerate(scenes):
            for c in range(2):
                for z in range(3):
                    writer.write(data[c, z], plane={"C": c, "Z": z}, scene=s, location=(s * 100, 0))
        writer.write_metadata(
            document_name="slide", channel_names={0: "DAPI", 1: "mCherry"}, scale_x=0.2e-6, scale_y=0.2e-6, scale_z=1e-6
        )
    out["czi"] = (folder / "slide.czi", {"slide_0": scenes[0], "slide_1": scenes[1]})

    rgb = RNG.integers(0, 255, size=(33, 47, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(folder / "photo.png")
    out["png"] = (folder / "photo.png", {"photo": np.moveaxis(rgb, -1, 0)})

    gray = RNG.integers(0, 255, size=(40, 60), dtype=np.uint8)
    Image.fromarray(gray).save(folder / "gel.jpg", quality=90)
    out["jpeg"] = (folder / "gel.jpg", {"gel": np.asarray(Image.open(folder / "gel.jpg"))})  # JPEG is lossy: its decode
    return out


@pytest.fixture(scope="module")
def converted(sources, tmp_path_factory, repo_root):
    """Every source converted in one call (one worker), to a folder."""
    out = tmp_path_factory.mktemp("converted") / "images"
    files = [path for path, _ in sources.values()]
    images = convert_files(files, out, settings=ArchiveSettings(), root=repo_root)
    return out, {i.path.name[: -len(".ome.zarr")]: i for i in images}


def _level0(path: Path) -> tuple[np.ndarray, dict]:
    group = zarr.open_group(str(path), mode="r")
    attrs = group.attrs.asdict()
    ome = attrs.get("ome", attrs)
    multiscale = ome["multiscales"][0]
    return np.asarray(group[multiscale["datasets"][0]["path"]][...]), ome


@pytest.mark.parametrize(
    "fmt",
    [
        "ome-tiff",
        "imagej",
        "plain-tiff",
        "pyramidal-ome-tiff",
        "multi-series",
        "mrc-tomogram",
        "mrc-movie",
        "czi",
        "png",
        "jpeg",
    ],
)
def test_every_format_round_trips_pixel_exact_and_validates(fmt, sources, converted):
    from ome_zarr_models.v05 import Image as Image05

    _, expected = sources[fmt]
    out, images = converted
    for name, array in expected.items():
        assert name in images, f"{fmt}: {name} not written (have {sorted(images)})"
        data, ome = _level0(out / f"{name}.ome.zarr")
        assert data.dtype == array.dtype
        np.testing.assert_array_equal(np.squeeze(data), np.squeeze(array))
        assert ome["version"] == "0.5"
        Image05.from_zarr(zarr.open_group(str(out / f"{name}.ome.zarr"), mode="r"))  # raises if invalid
        # the smallest level fits a thumbnail
        group = zarr.open_group(str(out / f"{name}.ome.zarr"), mode="r")
        smallest = group[ome["multiscales"][0]["datasets"][-1]["path"]]
        assert max(smallest.shape[-2:]) <= 256


def test_metadata_is_carried_over(converted):
    out, _ = converted
    _, ome = _level0(out / "cells.ome.zarr")
    ms = ome["multiscales"][0]
    assert [a["name"] for a in ms["axes"]] == ["c", "z", "y", "x"]
    assert ms["datasets"][0]["coordinateTransformations"][0]["scale"] == [1.0, 0.5, 0.1, 0.1]
    assert {a.get("unit") for a in ms["axes"][1:]} == {"micrometer"}
    channels = ome["omero"]["channels"]
    assert [c["label"] for c in channels] == ["DAPI", "GFP"]
    for c in channels:  # windows from the data (values 0-4000), not the dtype range
        assert 0 <= c["window"]["start"] < c["window"]["end"] <= 4000 and c["window"]["max"] == 65535

    _, ome = _level0(out / "hyper.ome.zarr")
    ms = ome["multiscales"][0]
    assert [a["name"] for a in ms["axes"]] == ["t", "c", "z", "y", "x"]
    scale = ms["datasets"][0]["coordinateTransformations"][0]["scale"]
    assert scale[0] == 2.0 and scale[2:] == [1.5, pytest.approx(0.2), pytest.approx(0.2)]
    assert ms["axes"][0]["unit"] == "second"

    _, ome = _level0(out / "tomo.ome.zarr")
    ms = ome["multiscales"][0]
    assert [a.get("unit") for a in ms["axes"]] == ["angstrom"] * 3
    assert ms["datasets"][0]["coordinateTransformations"][0]["scale"] == [2.5, 2.5, 2.5]
    _, ome = _level0(out / "movie.ome.zarr")
    assert [a["name"] for a in ome["multiscales"][0]["axes"]] == ["t", "y", "x"]

    _, ome = _level0(out / "slide_0.ome.zarr")
    assert [c["label"] for c in ome["omero"]["channels"]] == ["DAPI", "mCherry"]
    scale = ome["multiscales"][0]["datasets"][0]["coordinateTransformations"][0]["scale"]
    assert scale[-3:] == [pytest.approx(1.0), pytest.approx(0.2), pytest.approx(0.2)]
    attrs = json.loads((out / "slide_0.ome.zarr" / "zarr.json").read_text())["attributes"]
    assert attrs["bioarchive"]["source"]["format"] == "czi"


def test_sharded_05_writes_one_object_per_shard(converted):
    """600 x 800 pixels in 512-pixel chunks, 4 x 4 chunks per shard: level 0 is one object, not four."""
    out, _ = converted
    level0 = out / "pyramid.ome.zarr" / "scale0"
    chunk_files = [p for p in level0.rglob("*") if p.is_file() and p.name != "zarr.json"]
    assert len(chunk_files) == 1
    meta = json.loads(
        next(level0.rglob("zarr.json")).read_text()
        if not (level0 / "zarr.json").exists()
        else (next(p for p in level0.rglob("zarr.json") if p.parent != level0)).read_text()
    )
    assert meta["codecs"][0]["name"] == "sharding_indexed"


def test_ngff_04_on_request(sources, tmp_path, repo_root):
    from ome_zarr_models.v04 import Image as Image04

    path, expected = sources["ome-tiff"]
    out = tmp_path / "cells.ome.zarr"
    convert_files([path], out, settings=ArchiveSettings(), root=repo_root, version="0.4", codec="zstd")
    data, ome = _level0(out)
    np.testing.assert_array_equal(data, expected["cells"])
    assert ome["multiscales"][0]["version"] == "0.4"
    Image04.from_zarr(zarr.open_group(str(out), mode="r"))
    assert (out / ".zattrs").is_file() and not (out / "zarr.json").exists()


# ------------------------------------------------------------------ bad input


def _fails(path: Path, tmp_path: Path, repo_root: Path, code: str, **kw) -> ConversionError:
    out = tmp_path / "out.ome.zarr"
    with pytest.raises(ConversionError) as info:
        convert_files([path], out, settings=ArchiveSettings(), root=repo_root, **kw)
    error = info.value
    assert error.code == code, str(error)
    assert str(path.name) in str(error) and error.fix
    assert not out.exists(), "a failed conversion must leave nothing that looks like an image"
    assert not list(tmp_path.glob(".bioarchive-convert-*")), "work folder left behind"
    return error


def test_unsupported_format_names_what_is_supported(tmp_path, repo_root):
    path = tmp_path / "scan.nd2"
    path.write_bytes(b"\x00" * 100)
    error = _fails(path, tmp_path, repo_root, "CNV001")
    assert "OME-TIFF" in error.message and "CZI" in error.message and "bioformats2raw" in error.fix


def test_garbage_and_truncated_files(tmp_path, repo_root):
    import mrcfile
    import tifffile

    garbage = tmp_path / "garbage.tif"
    garbage.write_bytes(RNG.bytes(5000))
    _fails(garbage, tmp_path, repo_root, "CNV002")

    with mrcfile.new(tmp_path / "cut.mrc") as mrc:
        mrc.set_data(np.zeros((10, 64, 64), np.float32))
    data = (tmp_path / "cut.mrc").read_bytes()
    (tmp_path / "cut.mrc").write_bytes(data[: len(data) // 2])
    error = _fails(tmp_path / "cut.mrc", tmp_path, repo_root, "CNV002")
    assert "truncated" in error.message

    tifffile.imwrite(
        tmp_path / "cut.tif",
        RNG.integers(0, 255, (600, 600), dtype=np.uint8),  # one page: its last strips are cut off
        compression="zlib",
    )
    data = (tmp_path / "cut.tif").read_bytes()
    (tmp_path / "cut.tif").write_bytes(data[: len(data) * 2 // 3])
    _fails(tmp_path / "cut.tif", tmp_path, repo_root, "CNV002")


def test_absurd_dimensions_are_refused_before_decoding(tmp_path, repo_root):
    import tifffile

    path = tmp_path / "huge.tif"
    tifffile.imwrite(path, np.zeros((16, 16), np.uint8))
    with tifffile.TiffFile(path) as tf:
        width, length = tf.pages[0].tags["ImageWidth"], tf.pages[0].tags["ImageLength"]
        offsets = [(t.valueoffset, t.dtype) for t in (width, length)]
    raw = bytearray(path.read_bytes())
    for (offset, dtype), value in zip(
        offsets, (4_000_000_000, 16), strict=False
    ):  # one strip of 16 rows would be 64 GB
        size = 2 if int(dtype) == 3 else 4
        raw[offset : offset + size] = min(value, 2 ** (8 * size) - 1).to_bytes(size, "little")
    path.write_bytes(bytes(raw))
    error = _fails(path, tmp_path, repo_root, "CNV003")
    assert "declared shape" in error.message

    import mrcfile

    with mrcfile.new(tmp_path / "absurd.mrc") as mrc:
        mrc.set_data(np.zeros((2, 8, 8), np.int8))
    with mrcfile.open(tmp_path / "absurd.mrc", mode="r+", permissive=True) as mrc:
        mrc.header.nx = mrc.header.ny = 2**30
    _fails(tmp_path / "absurd.mrc", tmp_path, repo_root, "CNV003")


def test_zero_and_negative_pixel_sizes(tmp_path, repo_root):
    import mrcfile

    _ome_tiff(tmp_path / "zero.ome.tif", np.zeros((1, 1, 8, 8), np.uint8), PhysicalSizeX=0.0, PhysicalSizeY=0.1)
    error = _fails(tmp_path / "zero.ome.tif", tmp_path, repo_root, "CNV004")
    assert "pixel size is 0.0" in error.message
    with mrcfile.new(tmp_path / "neg.mrc") as mrc:
        mrc.set_data(np.zeros((2, 8, 8), np.float32))
        mrc.voxel_size = (-1.0, 1.0, 1.0)
    _fails(tmp_path / "neg.mrc", tmp_path, repo_root, "CNV004")


def test_timeout_leaves_nothing_behind(sources, tmp_path, repo_root):
    path, _ = sources["ome-tiff"]
    error = _fails(path, tmp_path, repo_root, "CNV005", timeout_s=0.5)
    assert "timeout" in error.message


def test_existing_output_is_not_overwritten_unless_asked(sources, tmp_path, repo_root):
    path, expected = sources["png"]
    out = tmp_path / "photo.ome.zarr"
    out.mkdir()
    (out / "keep").write_text("mine")
    with pytest.raises(ConversionError) as info:
        convert_files([path], out, settings=ArchiveSettings(), root=repo_root)
    assert info.value.code == "CNV006" and (out / "keep").exists()
    convert_files([path], out, settings=ArchiveSettings(), root=repo_root, overwrite=True)
    assert not (out / "keep").exists()
    np.testing.assert_array_equal(_level0(out)[0], expected["photo"])


def test_command_line_prints_a_clear_error_not_a_traceback(tmp_path):
    from click.testing import CliRunner

    from builder.cli import main

    (tmp_path / "scan.lif").write_bytes(b"x")
    result = CliRunner().invoke(main, ["convert", str(tmp_path / "scan.lif"), "-o", str(tmp_path / "o.ome.zarr")])
    assert result.exit_code == 1
    assert "CNV001" in result.output and "scan.lif" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(main, ["convert", str(tmp_path / "scan.lif"), "-o", "x.ome.zarr", "--pixel-size", "0"])
    assert result.exit_code == 2 and "positive" in result.output


def test_metadata_that_contradicts_the_pixels(tmp_path, repo_root):
    """OME-XML naming three channels for pixels that have two."""
    import tifffile

    from tests.convert.test_prefill import OME_XML

    extra = '<Channel ID="Channel:0:2" Name="Extra" SamplesPerPixel="1"/>\n   <TiffData/>'
    data = np.zeros((2, 48, 64), np.uint16)
    tifffile.imwrite(tmp_path / "liar.ome.tif", data, description=OME_XML.replace("<TiffData/>", extra), metadata=None)
    error = _fails(tmp_path / "liar.ome.tif", tmp_path, repo_root, "CNV008")
    assert "3 channels" in error.message and "have 2" in error.message


def test_a_stack_cut_short_is_refused_not_converted_in_part(tmp_path, repo_root):
    import tifffile

    tifffile.imwrite(
        tmp_path / "short.tif",
        RNG.integers(0, 255, (4, 200, 200), dtype=np.uint8),
        photometric="minisblack",
        compression="zlib",
    )
    data = (tmp_path / "short.tif").read_bytes()
    (tmp_path / "short.tif").write_bytes(data[: len(data) * 2 // 3])  # the description still says 4 pages
    error = _fails(tmp_path / "short.tif", tmp_path, repo_root, "CNV008")
    assert "does not match its pages" in error.message
