"""Plate acquisitions -> one NGFF HCS plate: wells and fields from the file's metadata or the file names.

Two sources are read:

- an OME-TIFF whose OME-XML has a ``Plate`` with ``Well``/``WellSample``
  elements (each sample names the image of one field through ``ImageRef``);
- a folder of per-field TIFFs named by their well, ``A01.tif``, ``A01_f2.tif``
  or ``B12_f10.ome.tif`` (row letters, column number, optional field number),
  as plate readers and high-content screening software export them.

The layout is checked before anything is opened or allocated: a declared
plate larger than any plate made (MAX_PLATE_WELLS) is refused, a well or field
named twice is refused, and every field must have the same axes, shape and
pixel type, because NGFF viewers lay fields out as one grid. The plate is then
written by ngff-zarr's HCS writer, each field with the same pyramid, chunking
and sharding as a single image (builder.convert.writer).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from builder.convert.errors import ConversionError
from builder.convert.readers import SourceImage

# The largest plate formats made are 1536 (32 x 48) and 3456 (48 x 72) wells.
MAX_PLATE_ROWS = 48
MAX_PLATE_COLUMNS = 72
MAX_PLATE_WELLS = MAX_PLATE_ROWS * MAX_PLATE_COLUMNS
MAX_FIELDS_PER_WELL = 1024  # screening acquisitions take tens to a few hundred fields per well
MAX_FOLDER_ENTRIES = MAX_PLATE_WELLS * 16  # stop listing a folder before it costs more than a plate could hold

# A01.tif, a1_f2.tiff, B12_f10.ome.tif, AF48_F1.TIF: row letters, column number, optional field number.
WELL_FILE = re.compile(
    r"(?P<row>[A-Za-z]{1,2})(?P<column>\d{1,3})(?:_[Ff](?P<field>\d{1,4}))?\.(?:ome\.)?tiff?", re.IGNORECASE
)


@dataclass
class Field:
    """One field of view: where it sits and where its pixels come from."""

    row: int  # 0-based
    column: int  # 0-based
    index: int  # 0-based position within the well
    origin: str  # the file (and series) it comes from, for messages
    series: int = 0
    image: SourceImage | None = None


@dataclass
class PlateLayout:
    name: str
    rows: list[str]
    columns: list[str]
    fields: list[Field] = field(default_factory=list)

    def wells(self) -> dict[tuple[int, int], list[Field]]:
        wells: dict[tuple[int, int], list[Field]] = {}
        for f in sorted(self.fields, key=lambda f: (f.row, f.column, f.index)):
            wells.setdefault((f.row, f.column), []).append(f)
        return wells

    @property
    def field_count(self) -> int:
        return max((len(fields) for fields in self.wells().values()), default=0)

    def well_path(self, row: int, column: int) -> str:
        return f"{self.rows[row]}/{self.columns[column]}"


def row_name(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: the row letters plates are labelled with."""
    return chr(ord("A") + index) if index < 26 else chr(ord("A") + index // 26 - 1) + chr(ord("A") + index % 26)


def row_index(letters: str) -> int:
    letters = letters.upper()
    return ord(letters[0]) - ord("A") if len(letters) == 1 else (ord(letters[0]) - ord("A") + 1) * 26 + ord(
        letters[1]
    ) - ord("A")


def _check_size(where: str, rows: int, columns: int) -> None:
    if rows < 1 or columns < 1:
        raise ConversionError("CNV011", where, f"the plate declares {rows} rows and {columns} columns")
    if rows > MAX_PLATE_ROWS or columns > MAX_PLATE_COLUMNS or rows * columns > MAX_PLATE_WELLS:
        raise ConversionError(
            "CNV011",
            where,
            f"the plate declares {rows} rows x {columns} columns = {rows * columns:,} wells; "
            f"the largest plates have {MAX_PLATE_ROWS} x {MAX_PLATE_COLUMNS} = {MAX_PLATE_WELLS:,}",
        )


def _check_unique(where: str, fields: list[Field], layout: PlateLayout) -> None:
    seen: dict[tuple[int, int, int], Field] = {}
    counts: dict[tuple[int, int], int] = {}
    for f in fields:
        key = (f.row, f.column, f.index)
        if key in seen:
            raise ConversionError(
                "CNV009",
                where,
                f"well {layout.rows[f.row]}{layout.columns[f.column]} field {f.index + 1} comes from both "
                f"{seen[key].origin} and {f.origin}",
            )
        seen[key] = f
        counts[(f.row, f.column)] = counts.get((f.row, f.column), 0) + 1
        if counts[(f.row, f.column)] > MAX_FIELDS_PER_WELL:
            raise ConversionError(
                "CNV011",
                where,
                f"well {layout.rows[f.row]}{layout.columns[f.column]} has more than {MAX_FIELDS_PER_WELL} fields",
            )


# ------------------------------------------------------------------ OME-XML plates


def ome_plate_layout(path: Path, ome_xml: str, image_ids: list[str]) -> PlateLayout | None:
    """The plate an OME-XML describes (None without a Plate), its fields pointing at series indexes.

    ``image_ids`` are the OME Image IDs in document order, i.e. the series order tifffile reads.
    """
    import tifffile

    doc = tifffile.xml2dict(ome_xml).get("OME", {})
    plates = _list(doc.get("Plate"))
    if not plates:
        return None
    where = str(path)
    if len(plates) > 1:
        raise ConversionError(
            "CNV001", where, f"the OME-XML describes {len(plates)} plates; save each plate as its own file"
        )
    plate = plates[0]
    wells = _list(plate.get("Well"))
    declared_rows = _integer(plate.get("Rows"), where, "Plate Rows")
    declared_columns = _integer(plate.get("Columns"), where, "Plate Columns")
    used_rows = [_position(w, "Row", where) for w in wells]
    used_columns = [_position(w, "Column", where) for w in wells]
    rows = max([declared_rows or 0, *(r + 1 for r in used_rows)])
    columns = max([declared_columns or 0, *(c + 1 for c in used_columns)])
    _check_size(where, rows, columns)  # before any list of that size exists
    if len(wells) > rows * columns:
        raise ConversionError(
            "CNV009", where, f"the OME-XML lists {len(wells)} wells on a plate of {rows * columns} positions"
        )
    letters = str(plate.get("RowNamingConvention") or "letter").lower() == "letter"
    column_letters = str(plate.get("ColumnNamingConvention") or "number").lower() == "letter"
    layout = PlateLayout(
        name=str(plate.get("Name") or path.name.split(".")[0]),
        rows=[row_name(i) if letters else str(i + 1) for i in range(rows)],
        columns=[row_name(i) if column_letters else str(i + 1) for i in range(columns)],
    )
    series_of = {image_id: i for i, image_id in enumerate(image_ids)}
    used_images: dict[str, str] = {}
    fields: list[Field] = []
    for well, row, column in zip(wells, used_rows, used_columns, strict=True):
        if row < 0 or column < 0:
            raise ConversionError("CNV009", where, f"well {well.get('ID')} has a negative row or column")
        samples = sorted(_list(well.get("WellSample")), key=lambda s: _integer(s.get("Index"), where, "Index") or 0)
        if len(samples) > MAX_FIELDS_PER_WELL:
            raise ConversionError(
                "CNV011", where, f"well {well.get('ID')} lists {len(samples)} fields (at most {MAX_FIELDS_PER_WELL})"
            )
        well_name = f"{layout.rows[row]}{layout.columns[column]}"
        for index, sample in enumerate(samples):
            ref = sample.get("ImageRef")
            image_id = str(ref.get("ID")) if isinstance(ref, dict) else ""
            if image_id not in series_of:
                raise ConversionError(
                    "CNV008", where, f"well {well_name} field {index + 1} names image {image_id!r}, not in the file"
                )
            if image_id in used_images:
                raise ConversionError(
                    "CNV009", where, f"image {image_id} is placed in well {used_images[image_id]} and in {well_name}"
                )
            used_images[image_id] = well_name
            fields.append(
                Field(row, column, index, f"{path.name} image {image_id}", series=series_of[image_id])
            )
    if not fields:
        raise ConversionError("CNV008", where, "the OME-XML describes a plate with no imaged wells")
    _check_unique(where, fields, layout)
    layout.fields = fields
    return layout


def _list(value: Any) -> list:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, dict)]


def _position(well: dict, axis: str, where: str) -> int:
    value = _integer(well.get(axis), where, f"Well {well.get('ID')} {axis}")
    if value is None:
        raise ConversionError("CNV008", where, f"well {well.get('ID')} has no {axis}; give its {axis} (0-based)")
    return value


def _integer(value: Any, where: str, what: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConversionError("CNV008", where, f"{what} is {value!r}, not a whole number") from None
    if not math.isfinite(number) or number != int(number) or abs(number) > 2**31:
        raise ConversionError("CNV011" if math.isfinite(number) else "CNV008", where, f"{what} is {value!r}")
    return int(number)


# ------------------------------------------------------------------ folders of per-well files


def is_plate_folder(path: Path) -> bool:
    return path.is_dir() and not path.name.lower().endswith(".zarr")


def folder_plate_layout(folder: Path) -> PlateLayout:
    """The plate a folder of ``<row><column>[_f<field>].tif`` files describes; nothing is opened yet."""
    where = str(folder)
    strangers: list[str] = []
    named: dict[tuple[int, int, int], str] = {}  # (row, column, field number) -> file name
    for count, entry in enumerate(sorted(folder.iterdir(), key=lambda p: p.name)):
        if count >= MAX_FOLDER_ENTRIES:
            raise ConversionError("CNV011", where, f"the folder holds more than {MAX_FOLDER_ENTRIES:,} entries")
        if entry.name.startswith("."):  # .DS_Store, editor and sync files
            continue
        match = WELL_FILE.fullmatch(entry.name)
        if not match or not entry.is_file() or int(match["column"]) < 1 or (match["field"] and int(match["field"]) < 1):
            strangers.append(entry.name)
            continue
        # No field number is field 1: A01.tif and A01_f1.tif are the same field, named twice.
        key = (row_index(match["row"]), int(match["column"]) - 1, int(match["field"] or 1))
        if key in named:
            raise ConversionError(
                "CNV009",
                where,
                f"{named[key]} and {entry.name} are both well {row_name(key[0])}{key[1] + 1} field {key[2]}",
            )
        named[key] = entry.name
    if strangers:
        shown = ", ".join(strangers[:5]) + (f" and {len(strangers) - 5} more" if len(strangers) > 5 else "")
        raise ConversionError(
            "CNV014",
            where,
            f"{shown} {'is' if len(strangers) == 1 else 'are'} not named <row><column>[_f<field>].tif "
            "(e.g. A01.tif, A01_f2.tif)",
        )
    if not named:
        raise ConversionError("CNV014", where, "the folder holds no <row><column>[_f<field>].tif files")
    rows = max(r for r, _, _ in named) + 1
    columns = max(c for _, c, _ in named) + 1
    _check_size(where, rows, columns)
    layout = PlateLayout(
        name=folder.name, rows=[row_name(i) for i in range(rows)], columns=[str(i + 1) for i in range(columns)]
    )
    # Field numbers need not start at 1 or be contiguous: fields are placed in their number's order.
    position: dict[tuple[int, int], int] = {}
    fields: list[Field] = []
    for (row, column, _number), name in sorted(named.items()):
        index = position.get((row, column), 0)
        position[(row, column)] = index + 1
        fields.append(Field(row, column, index, name))
    _check_unique(where, fields, layout)
    layout.fields = fields
    return layout


# ------------------------------------------------------------------ opening and checking the fields


def check_fields(where: str, layout: PlateLayout) -> None:
    """Every field must have the first field's axes, shape and pixel type (CNV010)."""
    first = next(f for f in layout.fields if f.image is not None)
    assert first.image is not None
    for f in layout.fields:
        image = f.image
        assert image is not None
        if (image.axes, image.shape, image.dtype) != (first.image.axes, first.image.shape, first.image.dtype):
            raise ConversionError(
                "CNV010",
                where,
                f"{f.origin} is {_describe(image)} but {first.origin} is {_describe(first.image)}",
            )


def _describe(image: SourceImage) -> str:
    shape = " x ".join(f"{n}{a}" for a, n in zip(image.axes, image.shape, strict=False))
    return f"{shape} {image.dtype}"


def open_input(path: Path, *, block_limit_bytes: int) -> tuple[list[SourceImage], PlateLayout | None]:
    """The images of one input, and the plate they form when the input is a plate acquisition.

    A folder is a plate of per-well files; an OME-TIFF is a plate when its OME-XML describes one.
    """
    from builder.convert.readers import open_images

    plate: PlateLayout | None
    if is_plate_folder(path):
        plate = folder_plate_layout(path)
        for f in plate.fields:
            opened = open_images(path / f.origin, block_limit_bytes=block_limit_bytes)
            if len(opened) != 1:
                raise ConversionError("CNV014", str(path / f.origin), f"holds {len(opened)} images, not one field")
            f.image = opened[0]
    else:
        images = open_images(path, block_limit_bytes=block_limit_bytes)
        xml = images[0].ome_xml if images else None
        plate = ome_plate_layout(path, xml, ome_image_ids(xml)) if xml and "Plate" in xml else None
        if plate is None:
            return images, None
        by_series = {image.series: image for image in images}
        for f in plate.fields:
            f.image = by_series.get(f.series)
            if f.image is None:
                raise ConversionError("CNV008", str(path), f"{f.origin} has no pixels in the file")
        if len(plate.fields) != len(images):
            placed = {f.series for f in plate.fields}
            loose = [image.name for image in images if image.series not in placed]
            raise ConversionError(
                "CNV008", str(path), f"the plate places {len(plate.fields)} of {len(images)} images; not placed: "
                f"{', '.join(loose[:5])}"
            )
    check_fields(str(path), plate)
    return [f.image for f in plate.fields if f.image is not None], plate


def ome_image_ids(xml: str) -> list[str]:
    import tifffile

    images = tifffile.xml2dict(xml).get("OME", {}).get("Image")
    images = images if isinstance(images, list) else [images] if images else []
    return [str(image.get("ID")) for image in images if isinstance(image, dict)]


# ------------------------------------------------------------------ writing


def write_plate(
    layout: PlateLayout,
    out: Path,
    *,
    version: str = "0.5",
    codec: str,
    progress: Any = None,
    memory_target: int | None = None,
    cache_dir: Path | None = None,
) -> dict[str, Any]:
    """Write the plate at ``out`` (which must not exist) with ngff-zarr's HCS writer; returns what was written."""
    import dask
    import ngff_zarr as nz

    from builder.convert import writer

    writer._configure(memory_target, cache_dir)
    wells = layout.wells()
    metadata = nz.Plate(
        columns=[nz.PlateColumn(name=name) for name in layout.columns],
        rows=[nz.PlateRow(name=name) for name in layout.rows],
        wells=[
            nz.PlateWell(path=layout.well_path(row, column), rowIndex=row, columnIndex=column)
            for row, column in wells
        ],
        version=version,
        acquisitions=[nz.PlateAcquisition(id=0, maximumfieldcount=layout.field_count)],
        field_count=layout.field_count,
        name=layout.name,
    )
    levels = 0
    first: SourceImage | None = None
    summary: dict[str, Any] = {}
    with dask.config.set(scheduler=writer._scheduler()), nz.HCSPlateWriter(str(out), metadata, overwrite=False) as hcs:
        for (row, column), fields in wells.items():
            for f in fields:
                assert f.image is not None
                multiscales, plan = writer.build_multiscales(f.image, version, progress)
                hcs.write_well_image(
                    multiscales=multiscales,
                    row_name=layout.rows[row],
                    column_name=layout.columns[column],
                    field_index=f.index,
                    acquisition_id=0,
                    chunks_per_shard=plan.chunks_per_shard,
                    progress=progress,
                    **writer.codec_options(codec, version),
                )
                if first is None:
                    first, levels = f.image, len(multiscales.images)
                    summary = writer.summary_of(f.image, plan, levels, codec, version)
    assert first is not None
    for (row, column), fields in wells.items():
        for f in fields:
            assert f.image is not None
            field_path = out / layout.rows[row] / layout.columns[column] / str(f.index)
            writer.add_display(field_path, f.image, version)
            if version == "0.5":
                writer.consolidate(field_path)
    _add_plate_source(out, layout, first, version)
    summary.update(
        kind="plate",
        name=layout.name,
        wells=len(wells),
        fields=len(layout.fields),
        rows=len(layout.rows),
        columns=len(layout.columns),
    )
    return summary


def _add_plate_source(out: Path, layout: PlateLayout, first: SourceImage, version: str) -> None:
    """Keep the source files and what NGFF has no field for beside the plate metadata, as for images."""
    from typing import cast

    import zarr

    source = {
        "file": Path(first.file).name if len({f.origin for f in layout.fields}) == 1 else None,
        "format": first.format,
        "fields": [
            {"well": layout.well_path(f.row, f.column), "field": f.index, "from": f.origin} for f in layout.fields
        ],
        "channels": [{k: v for k, v in vars(c).items() if v not in (None, "")} for c in first.channels],
        "acquisition": first.acquisition.to_dict(),
    }
    group = zarr.open_group(str(out), mode="r+", zarr_format=3 if version == "0.5" else 2, use_consolidated=False)
    group.attrs["bioarchive"] = cast(Any, {"source": {k: v for k, v in source.items() if v is not None}})
