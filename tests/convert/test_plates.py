"""Plate acquisitions become NGFF HCS plates: from OME-XML Plate/Well/WellSample and from per-well file names."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import zarr
from click.testing import CliRunner

from builder.cli import main
from builder.convert.errors import ConversionError
from builder.convert.run import convert_files
from builder.core.settings import ArchiveSettings

RNG = np.random.default_rng(11)
# well (row, column) -> number of fields, on a 2 x 3 plate: A1 twice, A3 and B2 once
WELLS = {(0, 0): 2, (0, 2): 1, (1, 1): 1}
FIELD_SHAPE = (2, 300, 280)  # c y x: big enough for a two-level pyramid


def _plate_xml(images: list[tuple[str, int, int, int]], rows: int = 2, columns: int = 3, extra_wells: str = "") -> str:
    """OME-XML for images [(image id, row, column, field)] of FIELD_SHAPE, one TIFF page per plane."""
    c, y, x = FIELD_SHAPE
    image_xml = []
    for k, (image_id, _, _, _) in enumerate(images):
        image_xml.append(
            f'<Image ID="{image_id}" Name="field{k}"><Pixels ID="Pixels:{k}" DimensionOrder="XYCZT" Type="uint16" '
            f'SizeX="{x}" SizeY="{y}" SizeZ="1" SizeC="{c}" SizeT="1" PhysicalSizeX="0.65" PhysicalSizeY="0.65">'
            f'<Channel ID="Channel:{k}:0" Name="DAPI" SamplesPerPixel="1"/>'
            f'<Channel ID="Channel:{k}:1" Name="Tubulin" SamplesPerPixel="1"/>'
            f'<TiffData IFD="{k * c}" PlaneCount="{c}"/></Pixels></Image>'
        )
    wells: dict[tuple[int, int], list[tuple[str, int]]] = {}
    for image_id, row, column, index in images:
        wells.setdefault((row, column), []).append((image_id, index))
    well_xml = []
    for w, ((row, column), samples) in enumerate(wells.items()):
        sample_xml = "".join(
            f'<WellSample ID="WellSample:{w}:{i}" Index="{index}"><ImageRef ID="{image_id}"/></WellSample>'
            for i, (image_id, index) in enumerate(samples)
        )
        well_xml.append(f'<Well ID="Well:{w}" Row="{row}" Column="{column}">{sample_xml}</Well>')
    plate = (
        f'<Plate ID="Plate:0" Name="screen-plate-1" Rows="{rows}" Columns="{columns}" RowNamingConvention="letter" '
        f'ColumnNamingConvention="number">{"".join(well_xml)}{extra_wells}</Plate>'
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06">'
        f"{plate}{''.join(image_xml)}</OME>"
    )


def _fields() -> dict[tuple[int, int, int], np.ndarray]:
    return {
        (row, column, index): RNG.integers(0, 4000, size=FIELD_SHAPE, dtype=np.uint16)
        for (row, column), count in WELLS.items()
        for index in range(count)
    }


def _write_ome_plate(path: Path, fields: dict[tuple[int, int, int], np.ndarray], xml: str | None = None) -> Path:
    import tifffile

    placed = [(f"Image:{k}", row, column, index) for k, (row, column, index) in enumerate(fields)]
    xml = xml or _plate_xml(placed)
    with tifffile.TiffWriter(path) as tw:
        for k, array in enumerate(fields.values()):
            for c, plane in enumerate(array):
                tw.write(plane, description=xml if k == c == 0 else None, metadata=None, contiguous=False)
    return path


def _write_folder(folder: Path, fields: dict[tuple[int, int, int], np.ndarray]) -> Path:
    import tifffile

    folder.mkdir()
    for (row, column, index), array in fields.items():
        name = f"{'ABCDEFGH'[row]}{column + 1:02d}_f{index + 1}.ome.tif"
        tifffile.imwrite(folder / name, array, ome=True, metadata={"axes": "CYX", "Channel": {"Name": ["DAPI", "Tub"]}})
    (folder / ".DS_Store").write_bytes(b"\0")  # what a Mac leaves in every folder
    return folder


def _convert(source: Path, out: Path, version: str = "0.5", **kwargs):
    return convert_files([source], out, settings=ArchiveSettings(), root=out.parent, version=version, **kwargs)


def _assert_plate(out: Path, fields: dict[tuple[int, int, int], np.ndarray], version: str) -> None:
    from builder.core.checks import Severity
    from builder.data.inspection import ImageTarget, inspect_images

    group = zarr.open_group(str(out), mode="r")
    attrs = dict(group.attrs)
    plate = attrs["ome"]["plate"] if version == "0.5" else attrs["plate"]
    assert [r["name"] for r in plate["rows"]] == ["A", "B"] and [c["name"] for c in plate["columns"]] == ["1", "2", "3"]
    assert sorted(w["path"] for w in plate["wells"]) == ["A/1", "A/3", "B/2"]
    assert plate["field_count"] == 2
    for (row, column, index), array in fields.items():
        field = zarr.open_group(str(out / "AB"[row] / str(column + 1) / str(index)), mode="r")
        field_attrs = dict(field.attrs)
        level0 = (field_attrs["ome"] if version == "0.5" else field_attrs)["multiscales"][0]["datasets"][0]["path"]
        np.testing.assert_array_equal(np.asarray(field[level0][:]), array)  # pixel-exact per field
    if version == "0.5":
        from ome_zarr_models.v05 import HCS
    else:
        from ome_zarr_models.v04 import HCS
    HCS.from_zarr(group)  # raises if ome-zarr-models rejects the plate
    outcome = inspect_images(
        [ImageTarget(key="p", url=str(out), kind="plate", untrusted=False)], ArchiveSettings(), out.parent
    )["p"]
    assert not [d for d in outcome.diagnostics if d.severity is Severity.ERROR], outcome.diagnostics


@pytest.mark.parametrize("version", ["0.5", "0.4"])
def test_an_ome_tiff_plate_becomes_an_hcs_plate(tmp_path, version):
    fields = _fields()
    source = _write_ome_plate(tmp_path / "screen.ome.tif", fields)
    [converted] = _convert(source, tmp_path / "screen.ome.zarr", version)
    assert converted.kind == "plate" and converted.shape == list(FIELD_SHAPE)
    _assert_plate(tmp_path / "screen.ome.zarr", fields, version)
    attrs = dict(zarr.open_group(str(tmp_path / "screen.ome.zarr"), mode="r").attrs)
    assert (attrs["ome"] if version == "0.5" else attrs)["plate"]["name"] == "screen-plate-1"


@pytest.mark.parametrize("version", ["0.5", "0.4"])
def test_a_folder_of_per_well_tiffs_becomes_an_hcs_plate(tmp_path, version):
    fields = _fields()
    folder = _write_folder(tmp_path / "plate-7", fields)
    result = CliRunner().invoke(
        main, ["convert", str(folder), "-o", str(tmp_path / "out"), "--ngff-version", version], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "plate of fields" in result.output
    _assert_plate(tmp_path / "out" / "plate-7.ome.zarr", fields, version)


def _fails(source: Path, tmp_path: Path, code: str) -> ConversionError:
    out = tmp_path / "out.ome.zarr"
    with pytest.raises(ConversionError) as info:
        _convert(source, out)
    assert info.value.code == code, info.value
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".bioarchive-convert")]
    return info.value


def test_a_well_named_twice_in_a_folder_is_refused(tmp_path):
    fields = _fields()
    folder = _write_folder(tmp_path / "plate", fields)
    (folder / "a1_f1.tif").write_bytes((folder / "A01_f1.ome.tif").read_bytes())  # A1 field 1 once more
    error = _fails(folder, tmp_path, "CNV009")
    assert "A01_f1.ome.tif" in error.message and "a1_f1.tif" in error.message and "well A1 field 1" in error.message
    (folder / "a1_f1.tif").unlink()
    (folder / "B02.tif").write_bytes((folder / "B02_f1.ome.tif").read_bytes())  # no field number is field 1
    assert "B02.tif" in _fails(folder, tmp_path, "CNV009").message


def test_an_image_placed_in_two_wells_is_refused(tmp_path):
    fields = _fields()
    placed = [(f"Image:{k}", row, column, index) for k, (row, column, index) in enumerate(fields)]
    placed[-1] = ("Image:0", *placed[-1][1:])  # the last well's field points at the first well's image
    xml = _plate_xml(placed).replace('<Image ID="Image:0"', '<Image ID="Image:0"', 1)
    source = _write_ome_plate(tmp_path / "twice.ome.tif", fields, xml)
    error = _fails(source, tmp_path, "CNV009")
    assert "Image:0" in error.message and "A1" in error.message


def test_fields_of_different_shapes_are_refused(tmp_path):
    import tifffile

    folder = _write_folder(tmp_path / "plate", _fields())
    tifffile.imwrite(folder / "B02_f1.ome.tif", np.zeros((2, 300, 200), np.uint16), ome=True, metadata={"axes": "CYX"})
    error = _fails(folder, tmp_path, "CNV010")
    assert "B02_f1.ome.tif" in error.message and "200x" in error.message and "280x" in error.message


def test_a_plate_of_a_million_declared_wells_is_refused_before_allocating(tmp_path):
    fields = {(0, 0, 0): RNG.integers(0, 10, size=FIELD_SHAPE, dtype=np.uint16)}
    xml = _plate_xml([("Image:0", 0, 0, 0)], rows=1000, columns=1000)
    source = _write_ome_plate(tmp_path / "huge.ome.tif", fields, xml)
    error = _fails(source, tmp_path, "CNV011")
    assert "1,000,000 wells" in error.message
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "ZZ999_f1.tif").write_bytes(b"not even opened")  # row ZZ = 702nd, column 999: over any plate
    assert "wells" in _fails(folder, tmp_path, "CNV011").message


def test_a_stranger_in_a_plate_folder_is_named(tmp_path):
    folder = _write_folder(tmp_path / "plate", _fields())
    (folder / "notes.txt").write_text("exposure 20 ms")
    error = _fails(folder, tmp_path, "CNV014")
    assert "notes.txt" in error.message and "A01_f2.tif" in error.message


def test_new_from_a_plate_lists_one_plate_image(tmp_path):
    from builder.convert.prefill import dataset_fields, read_facts

    folder = _write_folder(tmp_path / "plate-7", _fields())
    [facts] = read_facts([folder], ArchiveSettings())
    fields = dataset_fields([facts])
    [image] = fields["images"]
    assert image["name"] == "plate-7" and image["kind"] == "plate"
    assert "3 wells, 4 fields" in image["description"] and [s["channel"] for s in fields["signal_contrast"]] == [
        "DAPI",
        "Tub",
    ]
    _convert(folder, tmp_path / "plate-7.ome.zarr")
    [converted] = read_facts([tmp_path / "plate-7.ome.zarr"], ArchiveSettings())
    assert converted["kind"] == "plate" and converted["image_name"] == "plate-7" and converted["axes"] == "cyx"
