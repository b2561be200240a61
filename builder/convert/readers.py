"""Open microscopy files through the field's own readers -> SourceImage (a lazy dask array plus metadata).

No format is parsed here by hand: tifffile reads TIFF, OME-TIFF, ImageJ
hyperstacks and pyramidal OME-TIFF; mrcfile reads MRC headers (the pixels are
then read slab by slab at the offset mrcfile gives, so a 50 GB tomogram is never
mapped into memory whole); pylibCZIrw reads Zeiss CZI; Pillow reads PNG and JPEG.

Every reader checks the declared dimensions before anything is decoded:
each must be positive and below ``MAX_DIMENSION``, and one decoded block (a
TIFF page or tile, a CZI plane, an MRC slab) must fit ``block_limit_bytes``.
Axes are normalised to the NGFF order t, c, z, y, x.
"""

from __future__ import annotations

import contextlib
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from builder.convert import metadata as M
from builder.convert.errors import ConversionError

MAX_DIMENSION = 2**31  # no instrument makes an axis this long; a header that says so is corrupt
MAX_DECLARED_BYTES = 2**50  # 1 PiB: beyond any single acquisition
AXIS_ORDER = "tczyx"

TIFF_SUFFIXES = (".ome.tif", ".ome.tiff", ".tif", ".tiff", ".btf")
MRC_SUFFIXES = (".mrc", ".mrcs", ".rec", ".map")
CZI_SUFFIXES = (".czi",)
PILLOW_SUFFIXES = (".png", ".jpg", ".jpeg")
SUPPORTED = {
    "TIFF / OME-TIFF / ImageJ hyperstack / pyramidal OME-TIFF": TIFF_SUFFIXES,
    "MRC maps, tomograms and movies": MRC_SUFFIXES,
    "Zeiss CZI": CZI_SUFFIXES,
    "PNG / JPEG": PILLOW_SUFFIXES,
}
# Formats people will try, and why they are not read here.
NOT_SUPPORTED = {
    # Readers exist, but no writer and no packaged sample file (nd2, readlif, bioio-nd2, bioio-lif wheels checked
    # 2026-12-02), so no test can convert a real file; a format counts as supported only when one does.
    ".nd2": "Nikon ND2 (the nd2 package reads it, but no ND2 file exists here to test the conversion)",
    ".lif": "Leica LIF (readlif reads it, but no LIF file exists here to test the conversion)",
    ".lsm": "Zeiss LSM (TIFF-based; untested here)",
    ".oib": "Olympus OIB",
    ".oir": "Olympus OIR",
    ".vsi": "Olympus VSI",
    ".ims": "Imaris IMS",
    ".dv": "DeltaVision",
    ".lei": "Leica LEI",
    ".zvi": "Zeiss ZVI",
    ".svs": "Aperio SVS",
}


def supported_text() -> str:
    return "; ".join(f"{name} ({', '.join(s)})" for name, s in SUPPORTED.items())


@dataclass
class SourceImage:
    file: str
    format: str
    name: str
    axes: str  # a subsequence of "tczyx"
    data: Any  # dask array in `axes` order, native byte order
    pixel_sizes: dict[str, tuple[float, str | None]] = field(default_factory=dict)  # z/y/x -> (size, unit)
    time_increment: tuple[float, str] | None = None
    channels: list[M.ChannelInfo] = field(default_factory=list)
    acquisition: M.AcquisitionInfo = field(default_factory=M.AcquisitionInfo)
    ome_xml: str | None = None
    series: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(n) for n in self.data.shape)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.data.dtype)


def format_of(path: Path) -> str:
    name = path.name.lower()
    for fmt, suffixes in (
        ("tiff", TIFF_SUFFIXES),
        ("mrc", MRC_SUFFIXES),
        ("czi", CZI_SUFFIXES),
        ("pillow", PILLOW_SUFFIXES),
    ):
        if name.endswith(suffixes):
            return fmt
    suffix = path.suffix.lower()
    why = NOT_SUPPORTED.get(suffix)
    known = f"{why} is not supported" if why else f"'{suffix or path.name}' is not a supported image format"
    raise ConversionError("CNV001", str(path), f"{known}. Supported: {supported_text()}.")


def open_images(path: Path, *, block_limit_bytes: int) -> list[SourceImage]:
    """Every image (series, scene) in one file, lazily; ConversionError for anything wrong with it."""
    fmt = format_of(path)
    if not path.is_file():
        raise ConversionError("CNV002", str(path), "no such file")
    if path.stat().st_size == 0:
        raise ConversionError("CNV002", str(path), "the file is empty")
    opener = {"tiff": _open_tiff, "mrc": _open_mrc, "czi": _open_czi, "pillow": _open_pillow}[fmt]
    try:
        images = opener(path, block_limit_bytes)
    except (ConversionError, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 - the readers raise many types for corrupt files; all mean "cannot be read"
        raise ConversionError(
            "CNV002", str(path), f"{fmt} reader failed: {type(exc).__name__}: {str(exc)[:300]}"
        ) from None
    for image in images:
        for axis, (size, _) in image.pixel_sizes.items():
            if not (math.isfinite(size) and size > 0):
                raise ConversionError("CNV004", str(path), f"series {image.series}: the {axis} pixel size is {size}")
        if image.time_increment is not None and not (
            math.isfinite(image.time_increment[0]) and image.time_increment[0] > 0
        ):
            raise ConversionError(
                "CNV004", str(path), f"series {image.series}: the time increment is {image.time_increment[0]}"
            )
        if "c" in image.axes and image.channels and len(image.channels) != image.shape[image.axes.index("c")]:
            raise ConversionError(
                "CNV008",
                str(path),
                f"series {image.series}: the metadata names {len(image.channels)} "
                f"channels but the pixels have {image.shape[image.axes.index('c')]}",
            )
    return images


# ------------------------------------------------------------------ shared checks


def check_dimensions(
    path: Path,
    shape: tuple[int, ...],
    dtype: np.dtype,
    block_shape: tuple[int, ...],
    block_limit_bytes: int,
    what: str = "",
) -> None:
    where = f"{what}: " if what else ""
    if not shape or any(int(n) < 1 for n in shape):
        raise ConversionError("CNV003", str(path), f"{where}declared shape {tuple(shape)} has an empty axis")
    if any(int(n) > MAX_DIMENSION for n in shape):
        raise ConversionError(
            "CNV003", str(path), f"{where}declared shape {tuple(shape)} has an axis over {MAX_DIMENSION}"
        )
    total = math.prod(int(n) for n in shape) * dtype.itemsize
    if total > MAX_DECLARED_BYTES:
        raise ConversionError("CNV003", str(path), f"{where}declared shape {tuple(shape)} would be {total} bytes")
    block = math.prod(int(n) for n in block_shape) * dtype.itemsize
    if block > block_limit_bytes:
        raise ConversionError(
            "CNV003",
            str(path),
            f"{where}one block of {tuple(block_shape)} pixels needs {block} bytes "
            f"to decode, over the limit of {block_limit_bytes}",
        )


def _normalise(path: Path, data, src_axes: str, *, samples_are_channels: bool = True):
    """Map a reader's axis letters to t/c/z/y/x, drop size-1 extras, order as tczyx."""
    letters: list[str] = []
    squeeze: list[int] = []
    taken: set[str] = set()
    mapping = {"T": "t", "C": "c", "Z": "z", "Y": "y", "X": "x", "S": "c" if samples_are_channels else None}
    extras: list[int] = []
    for i, (letter, size) in enumerate(zip(src_axes.upper(), data.shape, strict=False)):
        name = mapping.get(letter)
        if name is None or name in taken:
            if size == 1:
                squeeze.append(i)
                letters.append("")
                continue
            if name in taken:
                raise ConversionError(
                    "CNV001",
                    str(path),
                    f"axes {src_axes}: both channels and colour samples "
                    "vary; save channels as separate planes (not RGB)",
                )
            extras.append(i)
            letters.append("?")
            continue
        taken.add(name)
        letters.append(name)
    # A stack of pages without a name (plain multi-page TIFF, MRC image stack) becomes z, then t.
    for i in extras:
        free = next((a for a in "zt" if a not in taken), None)
        if free is None:
            raise ConversionError("CNV001", str(path), f"axes {src_axes}: more axes than t, c, z, y, x")
        taken.add(free)
        letters[i] = free
    if squeeze:
        data = data.squeeze(axis=tuple(squeeze))
        letters = [a for a in letters if a]
    order = sorted(range(len(letters)), key=lambda i: AXIS_ORDER.index(letters[i]))
    data = data.transpose(order) if order != list(range(len(letters))) else data
    axes = "".join(letters[i] for i in order)
    if not axes.endswith("yx"):
        raise ConversionError("CNV002", str(path), f"axes {src_axes} have no y and x")
    return data, axes


def _native(data):
    dtype = np.dtype(data.dtype)
    if dtype.kind == "c" or dtype.kind not in "biuf":
        raise ConversionError("CNV001", "", f"pixel type {dtype} is not supported (NGFF stores real numbers)")
    if dtype.byteorder not in ("=", "|") and dtype.byteorder != ("<" if np.little_endian else ">"):
        return data.astype(dtype.newbyteorder("="))
    return data


# ------------------------------------------------------------------ TIFF


def _open_tiff(path: Path, block_limit: int) -> list[SourceImage]:
    import dask.array as da
    import tifffile

    images = []
    with tifffile.TiffFile(path) as tf, _tifffile_warnings() as warned:
        ome = M.parse_ome_xml(tf.ome_metadata) if tf.is_ome and tf.ome_metadata else None
        imagej = tf.imagej_metadata if tf.is_imagej else None
        series_list = list(tf.series)
        # tifffile falls back to fewer pages when the shape its metadata declares does not fit the pages
        # (a truncated stack, a wrong description): refuse rather than convert part of the data.
        failed = [m for m in warned if "failed" in m]
        if failed:
            raise ConversionError(
                "CNV008", str(path), f"the TIFF's metadata does not match its pages: {failed[0][:300]}"
            )
        if not series_list:
            raise ConversionError("CNV002", str(path), "the TIFF holds no image")
        for index, series in enumerate(series_list):
            level = series.levels[0]
            page = level.keyframe
            block = tuple(page.chunks) if getattr(page, "chunks", None) else tuple(page.shape)
            check_dimensions(path, tuple(level.shape), np.dtype(level.dtype), block, block_limit, f"series {index}")
            if ome is not None and ome.images and index >= len(ome.images):
                # A series tifffile found beyond the OME-XML images (e.g. a thumbnail): keep it out.
                continue
            store = series.aszarr(level=0)
            data = da.from_zarr(store)
            data, axes = _normalise(path, data, level.axes)
            image = SourceImage(
                file=str(path),
                format="ome-tiff" if ome else ("imagej-tiff" if imagej else "tiff"),
                name=series.name or f"series{index}",
                axes=axes,
                data=_native(data),
                series=index,
            )
            if ome is not None and index < len(ome.images):
                info = ome.images[index]
                image.name = info.name or image.name
                image.pixel_sizes = info.pixel_sizes
                image.time_increment = info.time_increment
                image.channels = info.channels
                image.acquisition = info.acquisition
                image.ome_xml = tf.ome_metadata
            elif imagej is not None:
                image.pixel_sizes, image.time_increment = M.imagej_sizes(imagej, page.get_resolution(), axes)
                image.channels = M.imagej_channels(imagej, data.shape[axes.index("c")] if "c" in axes else 0)
            else:
                image.pixel_sizes = M.tiff_resolution_sizes(page.get_resolution(), int(page.resolutionunit))
            if not image.channels and "c" in axes and level.axes.upper().endswith("S"):
                image.channels = M.rgb_channels(data.shape[axes.index("c")])
            images.append(image)
    return images


@contextlib.contextmanager
def _tifffile_warnings():
    """Collect what tifffile logs while reading the structure (it warns, then guesses)."""
    import logging

    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    logger = logging.getLogger("tifffile")
    handler = Collect(level=logging.WARNING)
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


# ------------------------------------------------------------------ MRC


def _read_mrc_slab(path: str, offset: int, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    count = math.prod(shape)
    with open(path, "rb") as f:
        f.seek(offset)
        raw = np.fromfile(f, dtype=np.dtype(dtype), count=count)
    if raw.size != count:
        raise OSError(f"{path}: file ended at byte {offset + raw.nbytes}; the header declares more data")
    return raw.reshape(shape)


def _open_mrc(path: Path, block_limit: int) -> list[SourceImage]:
    import dask.array as da
    import mrcfile
    from mrcfile import utils

    with mrcfile.open(path, mode="r", header_only=True, permissive=False) as mrc:
        header = mrc.header
        dtype = utils.data_dtype_from_header(header)
        shape = tuple(int(n) for n in utils.data_shape_from_header(header))
        offset = header.nbytes + int(header.nsymbt)
        voxel = mrc.voxel_size
        ispg = int(header.ispg)
        spacings = (float(voxel.z), float(voxel.y), float(voxel.x))
    nz, ny, nx = ((1,) * 3 + shape)[-3:]
    mz = int(header.mz) if ispg >= 401 and int(header.mz) > 0 else None
    plane = (ny, nx)
    slab = max(1, min(nz, block_limit // max(1, ny * nx * dtype.itemsize)))
    check_dimensions(path, (nz, ny, nx), dtype, (1, ny, nx), block_limit)
    expected = offset + nz * ny * nx * dtype.itemsize
    size = os.path.getsize(path)
    if size < expected:
        raise ConversionError(
            "CNV002", str(path), f"the file is truncated: {size} bytes, the header declares {expected}"
        )
    blocks = []
    for start in range(0, nz, slab):
        count = min(slab, nz - start)
        task = _delayed(_read_mrc_slab)(
            str(path), offset + start * ny * nx * dtype.itemsize, dtype.str, (count, *plane)
        )
        blocks.append(da.from_delayed(task, shape=(count, *plane), dtype=dtype))
    data = da.concatenate(blocks, axis=0)
    warnings = []
    sizes: dict[str, tuple[float, str | None]] = {}
    if any(s < 0 for s in spacings):
        raise ConversionError("CNV004", str(path), f"the voxel size in the header is negative: {spacings} Å")
    if all(s > 0 for s in spacings[1:]):
        sizes = {"y": (spacings[1], "angstrom"), "x": (spacings[2], "angstrom")}
    else:
        warnings.append("the MRC header gives no voxel size (cell dimensions are 0): pixels are written with scale 1")
    if nz == 1:
        axes = "yx"
        data = data[0]
    elif ispg == 0:  # an image stack: movie frames or a particle stack
        axes = "tyx"
    elif mz is not None and mz < nz and nz % mz == 0:  # a stack of volumes
        axes = "tzyx"
        data = data.reshape((nz // mz, mz, ny, nx))
    else:
        axes = "zyx"
    if "z" in axes and sizes and spacings[0] > 0:
        sizes["z"] = (spacings[0], "angstrom")
    return [
        SourceImage(
            file=str(path),
            format="mrc",
            name=path.stem,
            axes=axes,
            data=_native(data),
            pixel_sizes=sizes,
            channels=[],
            acquisition=M.AcquisitionInfo(),
            warnings=warnings,
        )
    ]


def _delayed(fn):
    import dask

    return dask.delayed(fn, pure=True)


# ------------------------------------------------------------------ CZI

_CZI_TYPES = {
    "Gray8": ("uint8", 1),
    "Gray16": ("uint16", 1),
    "Gray32Float": ("float32", 1),
    "Bgr24": ("uint8", 3),
    "Bgr48": ("uint16", 3),
}


def _read_czi_plane(
    path: str, scene: int | None, roi: tuple[int, int, int, int], plane: dict[str, int], samples: int
) -> np.ndarray:
    from pylibCZIrw import czi

    with czi.open_czi(path) as reader:
        data = reader.read(roi=roi, plane=plane, scene=scene)
    if samples == 3:
        return np.ascontiguousarray(np.moveaxis(data[..., ::-1], -1, 0))  # BGR -> RGB, samples first
    return data[..., 0]


def _open_czi(path: Path, block_limit: int) -> list[SourceImage]:
    import dask.array as da
    from pylibCZIrw import czi

    with czi.open_czi(str(path)) as reader:
        box = reader.total_bounding_box
        scenes = dict(reader.scenes_bounding_rectangle) or {None: reader.total_bounding_rectangle}
        types = reader.pixel_types
        meta = reader.metadata
    sizes = {k: (v[1] - v[0]) for k, v in box.items() if k in "TZC"}
    if not types:
        raise ConversionError("CNV002", str(path), "the CZI holds no image planes")
    kinds = {types[k] for k in types}
    if len(kinds) != 1 or next(iter(kinds)) not in _CZI_TYPES:
        raise ConversionError(
            "CNV001", str(path), f"CZI pixel types {sorted(kinds)} are not supported (mixed or unknown)"
        )
    dtype_name, samples = _CZI_TYPES[next(iter(kinds))]
    dtype = np.dtype(dtype_name)
    nt, nz, nc = sizes.get("T", 1), sizes.get("Z", 1), sizes.get("C", 1)
    if samples == 3 and nc > 1:
        raise ConversionError("CNV001", str(path), "CZI with several RGB channels is not supported")
    info = M.czi_metadata(meta)
    images = []
    for index, (scene, rect) in enumerate(sorted(scenes.items(), key=lambda kv: -1 if kv[0] is None else kv[0])):
        roi = (rect.x, rect.y, rect.w, rect.h)
        check_dimensions(
            path,
            (nt, nz, nc * samples, rect.h, rect.w),
            dtype,
            (samples, rect.h, rect.w),
            block_limit,
            f"scene {scene}" if scene is not None else "",
        )
        planes = []
        for t in range(nt):
            zs = []
            for z in range(nz):
                cs = []
                for c in range(nc):
                    task = _delayed(_read_czi_plane)(str(path), scene, roi, {"T": t, "Z": z, "C": c}, samples)
                    shape = (samples, rect.h, rect.w) if samples == 3 else (rect.h, rect.w)
                    block = da.from_delayed(task, shape=shape, dtype=dtype)
                    cs.append(block if samples == 3 else block[None])
                zs.append(da.concatenate(cs, axis=0))
            planes.append(da.stack(zs, axis=1))  # c z y x
        data = da.stack(planes, axis=0)  # t c z y x
        data, axes = _normalise(path, data, "TCZYX")
        channels = info.channels if samples == 1 else M.rgb_channels(3)
        if "c" not in axes:
            channels = channels[:1]
        image = SourceImage(
            file=str(path),
            format="czi",
            name=f"scene{scene}" if scene is not None else path.stem,
            axes=axes,
            data=data,
            pixel_sizes={a: s for a, s in info.pixel_sizes.items() if a in axes},
            time_increment=info.time_increment if "t" in axes else None,
            channels=channels if "c" in axes else [],
            acquisition=info.acquisition,
            series=index,
        )
        images.append(image)
    return images


# ------------------------------------------------------------------ PNG / JPEG


def _open_pillow(path: Path, block_limit: int) -> list[SourceImage]:
    import dask.array as da
    from PIL import Image

    # Pillow refuses images over MAX_IMAGE_PIXELS * 2 before decoding (DecompressionBombError).
    Image.MAX_IMAGE_PIXELS = max(1, block_limit // 8)
    try:
        with Image.open(path) as opened:
            check_dimensions(
                path, (opened.height, opened.width), np.dtype("uint8"), (opened.height, opened.width, 4), block_limit
            )
            img: Any = opened
            if img.mode == "P":
                img = img.convert("RGBA" if "transparency" in img.info else "RGB")
            elif img.mode == "1":
                img = img.convert("L")
            elif img.mode in ("CMYK", "YCbCr", "LAB", "HSV"):
                img = img.convert("RGB")
            array = np.asarray(img)
            mode = img.mode
    except Image.DecompressionBombError as exc:
        raise ConversionError("CNV003", str(path), str(exc)) from None
    data = da.from_array(array, chunks=array.shape)
    data, axes = _normalise(path, data, "YXS" if array.ndim == 3 else "YX")
    channels = M.rgb_channels(array.shape[2], alpha=mode.endswith("A")) if array.ndim == 3 else []
    fmt = "png" if path.suffix.lower() == ".png" else "jpeg"
    return [SourceImage(file=str(path), format=fmt, name=path.stem, axes=axes, data=_native(data), channels=channels)]
