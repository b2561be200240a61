"""Write OME-Zarr images, label images and plates to a local folder.

Used by tests (to make data in temporary folders) and by
``scripts/make_example_data.py`` (the committed example data). Written with
zarr 3 directly rather than ome-zarr-py, whose writer leaves out
``ome.version`` on 0.5 label groups and ignores the scale factors of labels.

Two formats:

* NGFF 0.4: Zarr v2 (``.zgroup``/``.zattrs``/``.zarray``, ``/``-separated chunk
  keys); ``multiscales``, ``omero``, ``plate``, ``well``, ``labels`` and
  ``image-label`` at the top level of ``.zattrs``, each with ``version: "0.4"``
  where the specification asks for it.
* NGFF 0.5: Zarr v3 (``zarr.json``, arrays with ``dimension_names``); the same
  blocks under ``attributes["ome"]`` next to ``"version": "0.5"``.

Output is deterministic: the same arguments give byte-identical files, so
regenerated example data does not churn in Git.
"""

from __future__ import annotations

import functools
import gzip
import math
import shutil
from pathlib import Path
from typing import Any, Literal

import numcodecs
import numpy as np
import zarr
import zarr.codecs
import zarr.storage
from numcodecs.compat import ensure_contiguous_ndarray

from builder.data.render import DEFAULT_CHANNEL_COLORS

Version = Literal["0.4", "0.5"]
Compressor = Literal["zstd", "blosc", "gzip"] | None

AXIS_TYPES = {"t": "time", "c": "channel", "z": "space", "y": "space", "x": "space"}
DEFAULT_UNITS = {"t": "second", "z": "micrometer", "y": "micrometer", "x": "micrometer"}
# z is downsampled with y and x only when the stack is deep and its voxels are
# not much coarser than in-plane: halving 20 planes of 2 µm only loses depth.
Z_DOWNSAMPLE_MIN_PLANES = 64
Z_DOWNSAMPLE_MAX_ANISOTROPY = 2.0
# Percentiles of the default display window: robust to hot pixels and to a
# mostly-empty background.
DEFAULT_WINDOW_PERCENTILES = (0.1, 99.9)


# ---------------------------------------------------------------- public API


def write_image(
    path: str | Path,
    data: np.ndarray,
    *,
    axes: str = "czyx",
    version: Version = "0.5",
    scale: dict[str, float] | None = None,
    units: dict[str, str] | None = None,
    levels: int = 3,
    downscale: int = 2,
    chunks: tuple[int, ...] | None = None,
    channels: list[dict] | None = None,
    name: str | None = None,
    compressor: Compressor = "zstd",
    default_z: int | None = None,
    default_t: int | None = None,
    downscale_z: bool | None = None,
) -> Path:
    """Write ``data`` as a multiscale OME-Zarr image at ``path`` (replaced if present).

    ``axes`` names the dimensions of ``data`` in order (a subset of ``tczyx`` in
    that order, ending in ``yx``). ``scale`` and ``units`` give the level-0 pixel
    size and unit per axis (defaults 1.0 and micrometer/second). Levels beyond 0
    halve (``downscale``) y and x, and z when ``downscale_z`` is true (default:
    only deep, near-isotropic stacks). ``channels`` are dicts with ``label``,
    ``color`` ("RRGGBB"), ``window`` ((start, end)) and ``active``; missing
    values get defaults (percentile window, standard colours).
    """
    path = Path(path)
    # Refuse bad arguments before an existing image at ``path`` is replaced.
    _check_axes(axes, data)
    _check_format(version, compressor)
    group = _create_root(path, version)
    _write_multiscale_image(
        group,
        data,
        axes=axes,
        version=version,
        scale=scale,
        units=units,
        levels=levels,
        downscale=downscale,
        chunks=chunks,
        channels=channels,
        name=name if name is not None else _stem(path),
        compressor=compressor,
        default_z=default_z,
        default_t=default_t,
        downscale_z=downscale_z,
    )
    return path


def write_labels(
    image_path: str | Path,
    name: str,
    labels: np.ndarray,
    *,
    version: Version | None = None,
    axes: str | None = None,
    levels: int | None = None,
    chunks: tuple[int, ...] | None = None,
    colors: dict[int, str] | None = None,
    properties: dict[int, dict[str, Any]] | None = None,
    compressor: Compressor = "zstd",
) -> Path:
    """Add a label image ``name`` under ``<image_path>/labels`` and list it there.

    ``labels`` is an integer array aligned with the image: by default its axes
    are the image's without ``c`` and its level-0 scale is the image's.
    ``version`` and ``levels`` default to the image's. Pyramid levels keep label
    values (nearest-neighbour subsampling, never averaging). ``colors`` maps a
    label value to "RRGGBB"; values without one get a stable distinct colour.
    Value 0 is background and gets no colour.
    """
    image_path = Path(image_path)
    _check_format(version or "0.5", compressor)
    image_version, image_ms = _read_image_multiscale(image_path)
    version = version or image_version
    if version != image_version:
        raise ValueError(f"labels must use the image's NGFF version {image_version}, not {version}")
    if not (np.issubdtype(labels.dtype, np.integer) or labels.dtype == bool):
        raise ValueError(f"label images must have an integer dtype, not {labels.dtype}")
    image_axes = "".join(a["name"] for a in image_ms["axes"])
    axes = axes or image_axes.replace("c", "")
    if labels.ndim != len(axes):
        raise ValueError(f"labels have {labels.ndim} dimensions but axes '{axes}' name {len(axes)}")
    image_scale = dict(zip(image_axes, image_ms["datasets"][0]["coordinateTransformations"][0]["scale"]))
    image_units = {a["name"]: a["unit"] for a in image_ms["axes"] if a.get("unit")}
    levels = levels if levels is not None else len(image_ms["datasets"])
    if labels.dtype == bool:
        labels = labels.astype(np.uint8)

    labels_group = _open_or_create_child(image_path, "labels", version)
    existing = list(_ome_attrs(labels_group, version).get("labels", []))
    if name not in existing:
        existing.append(name)
    _set_ome_attrs(labels_group, version, {"labels": existing})

    label_group = _create_child(labels_group, name)
    values = [int(v) for v in np.unique(labels) if v != 0]
    colors = colors or {}
    image_label: dict[str, Any] = {
        "colors": [{"label-value": v, "rgba": [*_hex_to_rgb(colors.get(v) or _label_color(v)), 255]} for v in values],
        "source": {"image": "../../"},
    }
    if properties:
        absent = sorted(set(properties) - set(values))
        if absent:
            raise ValueError(f"properties name label values {absent} that the label image does not contain")
        # Readers (ome-zarr-models) expect properties for the same values as colours.
        image_label["properties"] = [{"label-value": v, **properties.get(v, {})} for v in values]
    if version == "0.4":
        image_label = {"version": "0.4", **image_label}
    multiscale = _write_pyramid(
        label_group,
        labels,
        axes=axes,
        version=version,
        scale={a: image_scale.get(a, 1.0) for a in axes},
        units=image_units,
        levels=levels,
        downscale=_image_downscale(image_ms),
        downscale_z=_image_downscales_z(image_ms),
        chunks=chunks,
        compressor=compressor,
        name=name,
        method="nearest",
    )
    _set_ome_attrs(label_group, version, {"multiscales": [multiscale], "image-label": image_label})
    return image_path / "labels" / name


def write_plate(
    path: str | Path,
    wells: dict[tuple[str, str], list[np.ndarray]],
    *,
    version: Version = "0.5",
    axes: str = "cyx",
    channels: list[dict] | None = None,
    scale: dict[str, float] | None = None,
    units: dict[str, str] | None = None,
    levels: int = 2,
    downscale: int = 2,
    chunks: tuple[int, ...] | None = None,
    name: str | None = None,
    rows: list[str] | None = None,
    columns: list[str] | None = None,
    acquisition_name: str | None = None,
    compressor: Compressor = "zstd",
) -> Path:
    """Write an HCS plate: ``wells`` maps (row name, column name) to its fields.

    ``rows`` and ``columns`` give the plate layout (e.g. A-H and 1-12 for a
    96-well plate) when it is larger than the imaged wells; by default they are
    the rows and columns that occur in ``wells``. Every field is an image with
    the given ``axes``, ``channels``, ``scale`` and pyramid settings. One
    acquisition (id 0) is recorded.
    """
    path = Path(path)
    _check_format(version, compressor)
    if not wells:
        raise ValueError("a plate needs at least one well")
    row_names = rows or sorted({r for r, _ in wells}, key=_natural_key)
    column_names = columns or sorted({c for _, c in wells}, key=_natural_key)
    for row, column in wells:
        if row not in row_names or column not in column_names:
            raise ValueError(f"well {row}{column} is outside the plate's rows {row_names} / columns {column_names}")
    field_count = max(len(fields) for fields in wells.values())
    if field_count == 0:
        raise ValueError("every well needs at least one field")
    plate_name = name if name is not None else _stem(path)

    plate_group = _create_root(path, version)
    # Wells in plate order (row-major), so the metadata reads like the plate.
    ordered = sorted(wells, key=lambda rc: (row_names.index(rc[0]), column_names.index(rc[1])))
    plate: dict[str, Any] = {
        "name": plate_name,
        "rows": [{"name": r} for r in row_names],
        "columns": [{"name": c} for c in column_names],
        "wells": [
            {"path": f"{r}/{c}", "rowIndex": row_names.index(r), "columnIndex": column_names.index(c)}
            for r, c in ordered
        ],
        "field_count": field_count,
        "acquisitions": [{"id": 0, "name": acquisition_name or plate_name, "maximumfieldcount": field_count}],
    }
    if version == "0.4":
        plate = {"version": "0.4", **plate}
    _set_ome_attrs(plate_group, version, {"plate": plate})

    row_groups: dict[str, zarr.Group] = {}
    for row, column in ordered:
        if row not in row_groups:
            row_groups[row] = _create_child(plate_group, row)
        well_group = _create_child(row_groups[row], column)
        fields = wells[(row, column)]
        well: dict[str, Any] = {"images": [{"path": str(i), "acquisition": 0} for i in range(len(fields))]}
        if version == "0.4":
            well = {"version": "0.4", **well}
        _set_ome_attrs(well_group, version, {"well": well})
        for index, field in enumerate(fields):
            _write_multiscale_image(
                _create_child(well_group, str(index)),
                field,
                axes=axes,
                version=version,
                scale=scale,
                units=units,
                levels=levels,
                downscale=downscale,
                chunks=chunks,
                channels=channels,
                name=f"{row}{column} field {index}",
                compressor=compressor,
                default_z=None,
                default_t=None,
                downscale_z=None,
            )
    return path


# ---------------------------------------------------------------- images


def _write_multiscale_image(
    group: zarr.Group,
    data: np.ndarray,
    *,
    axes: str,
    version: Version,
    scale: dict[str, float] | None,
    units: dict[str, str] | None,
    levels: int,
    downscale: int,
    chunks: tuple[int, ...] | None,
    channels: list[dict] | None,
    name: str,
    compressor: Compressor,
    default_z: int | None,
    default_t: int | None,
    downscale_z: bool | None,
) -> None:
    _check_axes(axes, data)
    method: Literal["mean", "nearest"] = "nearest" if data.dtype == bool else "mean"
    multiscale = _write_pyramid(
        group,
        data,
        axes=axes,
        version=version,
        scale=scale or {},
        units=units or {},
        levels=levels,
        downscale=downscale,
        downscale_z=downscale_z,
        chunks=chunks,
        compressor=compressor,
        name=name,
        method=method,
    )
    smallest_level = group[multiscale["datasets"][-1]["path"]]
    assert isinstance(smallest_level, zarr.Array)  # written by _write_pyramid just above
    smallest = np.asarray(smallest_level[...])
    omero = _omero(data, smallest, axes, channels, name, default_z, default_t)
    _set_ome_attrs(group, version, {"multiscales": [multiscale], "omero": omero})


def _check_format(version: Version, compressor: Compressor) -> None:
    _zarr_format(version)
    _v3_compressor(compressor)


def _check_axes(axes: str, data: np.ndarray) -> None:
    order = "tczyx"
    if len(set(axes)) != len(axes) or any(a not in order for a in axes):
        raise ValueError(f"axes '{axes}' must be distinct letters from 'tczyx'")
    if list(axes) != sorted(axes, key=order.index) or not axes.endswith("yx"):
        raise ValueError(f"axes '{axes}' must be in t, c, z, y, x order and end in 'yx'")
    if data.ndim != len(axes):
        raise ValueError(f"data has {data.ndim} dimensions but axes '{axes}' name {len(axes)}")
    if data.dtype.kind not in "biuf":
        raise ValueError(f"dtype {data.dtype} cannot be stored as an OME-Zarr image")


def _write_pyramid(
    group: zarr.Group,
    data: np.ndarray,
    *,
    axes: str,
    version: Version,
    scale: dict[str, float],
    units: dict[str, str],
    levels: int,
    downscale: int,
    downscale_z: bool | None,
    chunks: tuple[int, ...] | None,
    compressor: Compressor,
    name: str,
    method: Literal["mean", "nearest"],
) -> dict[str, Any]:
    """Write levels "0", "1", ... into ``group`` and return the multiscale metadata."""
    if levels < 1:
        raise ValueError("levels must be at least 1")
    if downscale < 2:
        raise ValueError("downscale must be at least 2")
    if chunks is not None and len(chunks) != len(axes):
        raise ValueError(f"chunks {chunks} must name one size per axis of '{axes}'")
    base_scale = [float(scale.get(a, 1.0)) for a in axes]
    if downscale_z is None:
        downscale_z = _auto_downscale_z(axes, data.shape, scale)
    shrink = tuple(downscale if (a in "yx" or (a == "z" and downscale_z)) else 1 for a in axes)

    datasets = []
    level_data = data
    factor = [1] * len(axes)
    for level in range(levels):
        if level > 0:
            if all(n < f for n, f in zip(level_data.shape, shrink) if f > 1):
                break  # nothing left to shrink
            level_data = _downsample(level_data, shrink, method)
            factor = [f * s for f, s in zip(factor, shrink)]
        level_chunks = _chunks_for(axes, level_data.shape, chunks)
        _create_array(group, str(level), level_data, level_chunks, axes, version, compressor)
        datasets.append(
            {
                "path": str(level),
                "coordinateTransformations": [{"type": "scale", "scale": [s * f for s, f in zip(base_scale, factor)]}],
            }
        )

    axes_meta = []
    for a in axes:
        axis: dict[str, Any] = {"name": a, "type": AXIS_TYPES[a]}
        if a != "c":
            axis["unit"] = (units or {}).get(a, DEFAULT_UNITS[a])
        axes_meta.append(axis)
    multiscale: dict[str, Any] = {
        "name": name,
        "axes": axes_meta,
        "datasets": datasets,
        "type": "local mean" if method == "mean" else "nearest",
        "metadata": {
            "description": "block mean of each downscale x downscale tile"
            if method == "mean"
            else "every downscale-th pixel (label values kept)",
            "method": "builder.ngff.writer",
        },
    }
    if version == "0.4":
        multiscale = {"version": "0.4", **multiscale}
    return multiscale


def _auto_downscale_z(axes: str, shape: tuple[int, ...], scale: dict[str, float]) -> bool:
    if "z" not in axes:
        return False
    planes = shape[axes.index("z")]
    in_plane = min(scale.get("y", 1.0), scale.get("x", 1.0))
    return planes >= Z_DOWNSAMPLE_MIN_PLANES and scale.get("z", 1.0) <= Z_DOWNSAMPLE_MAX_ANISOTROPY * in_plane


def _downsample(data: np.ndarray, factors: tuple[int, ...], method: Literal["mean", "nearest"]) -> np.ndarray:
    """Shrink each axis by its factor; the last partial block counts as a whole one."""
    if method == "nearest":
        return data[tuple(slice(None, None, f) for f in factors)].copy()
    out_shape = [math.ceil(n / f) for n, f in zip(data.shape, factors)]
    # Edge padding makes partial blocks average only real pixels' values.
    pad = [(0, o * f - n) for o, f, n in zip(out_shape, factors, data.shape)]
    work_dtype = np.float64 if data.dtype.itemsize > 2 else np.float32
    padded = np.pad(data.astype(work_dtype, copy=False), pad, mode="edge")
    blocks = padded.reshape([v for o, f in zip(out_shape, factors) for v in (o, f)])
    mean = blocks.mean(axis=tuple(range(1, 2 * len(factors), 2)))
    if np.issubdtype(data.dtype, np.integer):
        info = np.iinfo(data.dtype)
        return np.clip(np.rint(mean), info.min, info.max).astype(data.dtype)
    return mean.astype(data.dtype)


def _chunks_for(axes: str, shape: tuple[int, ...], chunks: tuple[int, ...] | None) -> tuple[int, ...]:
    default = {"t": 1, "c": 1, "z": 32, "y": 256, "x": 256}
    wanted = chunks or tuple(default[a] for a in axes)
    return tuple(max(1, min(w, n)) for w, n in zip(wanted, shape))


def _create_array(
    group: zarr.Group,
    name: str,
    data: np.ndarray,
    chunks: tuple[int, ...],
    axes: str,
    version: Version,
    compressor: Compressor,
) -> None:
    if version == "0.4":
        group.create_array(
            name,
            shape=data.shape,
            dtype=data.dtype,
            chunks=chunks,
            compressors=_v2_compressor(compressor),
            filters=None,
            fill_value=0,
            chunk_key_encoding={"name": "v2", "separator": "/"},
        )[...] = data
    else:
        group.create_array(
            name,
            shape=data.shape,
            dtype=data.dtype,
            chunks=chunks,
            compressors=_v3_compressor(compressor),
            filters=None,
            fill_value=0,
            dimension_names=list(axes),
        )[...] = data


class _ReproducibleGZip(numcodecs.GZip):
    """numcodecs' GZip, without the time of writing in each chunk's gzip header.

    The stock codec stamps the current second into every chunk, so two writes
    of the same image straddling a second differ; the data and the codec's
    configuration ("gzip", level) are the same, so any reader decodes it.
    """

    def encode(self, buf: Any) -> bytes:
        return gzip.compress(memoryview(ensure_contiguous_ndarray(buf)).cast("B"), compresslevel=self.level, mtime=0)


class _ReproducibleGzipCodec(zarr.codecs.GzipCodec):
    """zarr's gzip codec (Zarr v3) writing through _ReproducibleGZip."""

    @functools.cached_property
    def _gzip_codec(self) -> numcodecs.GZip:
        return _ReproducibleGZip(self.level)


def _v2_compressor(compressor: Compressor) -> Any:
    match compressor:
        case None:
            return None
        case "zstd":
            return numcodecs.Zstd(level=5)
        case "blosc":
            return numcodecs.Blosc(cname="zstd", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE)
        case "gzip":
            return _ReproducibleGZip(level=6)
    raise ValueError(f"unknown compressor {compressor!r}; use 'zstd', 'blosc', 'gzip' or None")


def _v3_compressor(compressor: Compressor) -> Any:
    match compressor:
        case None:
            return None
        case "zstd":
            return zarr.codecs.ZstdCodec(level=5)
        case "blosc":
            return zarr.codecs.BloscCodec(cname="zstd", clevel=5, shuffle="shuffle")
        case "gzip":
            return _ReproducibleGzipCodec(level=6)
    raise ValueError(f"unknown compressor {compressor!r}; use 'zstd', 'blosc', 'gzip' or None")


# ---------------------------------------------------------------- omero (display settings)


def _omero(
    data: np.ndarray,
    smallest: np.ndarray,
    axes: str,
    channels: list[dict] | None,
    name: str,
    default_z: int | None,
    default_t: int | None,
) -> dict[str, Any]:
    n_channels = data.shape[axes.index("c")] if "c" in axes else 1
    if channels is not None and len(channels) != n_channels:
        raise ValueError(f"{len(channels)} channel descriptions for {n_channels} channels")
    given = channels or [{} for _ in range(n_channels)]
    out = []
    for index, channel in enumerate(given):
        unknown = set(channel) - {"label", "color", "window", "active"}
        if unknown:
            raise ValueError(f"unknown channel keys {sorted(unknown)}; use label, color, window, active")
        plane = np.take(smallest, index, axis=axes.index("c")) if "c" in axes else smallest
        low, high = _value_range(data.dtype, plane)
        if channel.get("window") is not None:
            start, end = (float(v) for v in channel["window"])
        else:
            start, end = _percentile_window(plane)
        color = channel.get("color") or (
            "FFFFFF" if n_channels == 1 else DEFAULT_CHANNEL_COLORS[index % len(DEFAULT_CHANNEL_COLORS)]
        )
        _hex_to_rgb(color)  # refuses a malformed colour here, not in a reader
        out.append(
            {
                "label": str(channel.get("label") or f"Channel {index}"),
                "color": color.upper(),
                "window": {"min": min(low, start), "max": max(high, end), "start": start, "end": end},
                "active": bool(channel.get("active", True)),
                "coefficient": 1.0,
                "family": "linear",
                "inverted": False,
            }
        )
    size = dict(zip(axes, data.shape))
    z = default_z if default_z is not None else size.get("z", 1) // 2
    t = default_t if default_t is not None else 0
    if not 0 <= z < size.get("z", 1) or not 0 <= t < size.get("t", 1):
        raise ValueError(f"default_z/default_t {z}/{t} are outside the image")
    rdefs = {"defaultT": t, "defaultZ": z, "model": "color" if n_channels > 1 else "greyscale"}
    return {"name": name, "channels": out, "rdefs": rdefs}


def _value_range(dtype: np.dtype, plane: np.ndarray) -> tuple[float, float]:
    """The window's min/max: the dtype's range for integers, the data's for floats."""
    if np.issubdtype(dtype, np.bool_):
        return 0.0, 1.0
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return float(info.min), float(info.max)
    finite = plane[np.isfinite(plane)]
    if finite.size == 0:
        return 0.0, 1.0
    return float(finite.min()), float(finite.max())


def _percentile_window(plane: np.ndarray) -> tuple[float, float]:
    finite = plane[np.isfinite(plane)] if plane.dtype.kind == "f" else plane
    if finite.size == 0:
        return 0.0, 1.0
    low, high = (float(v) for v in np.percentile(finite.astype(np.float64), DEFAULT_WINDOW_PERCENTILES))
    if high <= low:
        high = low + 1.0
    # Rounded so windows read cleanly in the metadata and stay deterministic.
    return round(low, 6), round(high, 6)


# ---------------------------------------------------------------- colours


def _hex_to_rgb(color: str) -> tuple[int, int, int]:
    text = color.lstrip("#")
    if len(text) != 6 or any(ch not in "0123456789abcdefABCDEF" for ch in text):
        raise ValueError(f"colour '{color}' is not RRGGBB hex")
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)


def _label_color(value: int) -> str:
    """A stable, well-separated colour per label value (golden-ratio hue steps)."""
    hue = (value * 0.618033988749895) % 1.0
    sector, fraction = divmod(hue * 6, 1)
    high, low = 230, 60
    mid_up = round(low + (high - low) * fraction)
    mid_down = round(high - (high - low) * fraction)
    rgb = [
        (high, mid_up, low),
        (mid_down, high, low),
        (low, high, mid_up),
        (low, mid_down, high),
        (mid_up, low, high),
        (high, low, mid_down),
    ][int(sector)]
    return "".join(f"{c:02X}" for c in rgb)


# ---------------------------------------------------------------- zarr groups


def _create_root(path: Path, version: Version) -> zarr.Group:
    if path.exists():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return zarr.open_group(zarr.storage.LocalStore(path), mode="w", zarr_format=_zarr_format(version))


def _create_child(parent: zarr.Group, name: str) -> zarr.Group:
    if name in parent:
        del parent[name]
    return parent.create_group(name)


def _open_or_create_child(root: Path, name: str, version: Version) -> zarr.Group:
    group = zarr.open_group(zarr.storage.LocalStore(root), mode="r+", zarr_format=_zarr_format(version))
    if name not in group:
        return group.create_group(name)
    child = group[name]
    if not isinstance(child, zarr.Group):
        raise TypeError(f"{root / name} is an array, not a group")
    return child


def _set_ome_attrs(group: zarr.Group, version: Version, blocks: dict[str, Any]) -> None:
    if version == "0.4":
        group.attrs.update(blocks)
    else:
        existing = group.attrs.get("ome")
        ome = dict(existing) if isinstance(existing, dict) else {}
        ome.update({"version": "0.5", **blocks})
        group.attrs.update({"ome": ome})


def _ome_attrs(group: zarr.Group, version: Version) -> dict[str, Any]:
    attrs = group.attrs.asdict()
    if version == "0.4":
        return attrs
    ome = attrs.get("ome")
    return dict(ome) if isinstance(ome, dict) else {}


def _read_image_multiscale(image_path: Path) -> tuple[Version, dict[str, Any]]:
    if (image_path / "zarr.json").is_file():
        group = zarr.open_group(zarr.storage.LocalStore(image_path), mode="r", zarr_format=3)
        version: Version = "0.5"
    elif (image_path / ".zattrs").is_file():
        group = zarr.open_group(zarr.storage.LocalStore(image_path), mode="r", zarr_format=2)
        version = "0.4"
    else:
        raise FileNotFoundError(f"{image_path} is not an OME-Zarr image")
    multiscales = _ome_attrs(group, version).get("multiscales")
    if not multiscales:
        raise ValueError(f"{image_path} has no multiscales metadata")
    return version, multiscales[0]


def _image_downscale(multiscale: dict[str, Any]) -> int:
    datasets = multiscale["datasets"]
    if len(datasets) < 2:
        return 2
    axes = [a["name"] for a in multiscale["axes"]]
    first = datasets[0]["coordinateTransformations"][0]["scale"]
    second = datasets[1]["coordinateTransformations"][0]["scale"]
    x = axes.index("x")
    return max(2, round(second[x] / first[x]))


def _image_downscales_z(multiscale: dict[str, Any]) -> bool:
    axes = [a["name"] for a in multiscale["axes"]]
    datasets = multiscale["datasets"]
    if "z" not in axes or len(datasets) < 2:
        return False
    z = axes.index("z")
    return (
        datasets[1]["coordinateTransformations"][0]["scale"][z]
        > datasets[0]["coordinateTransformations"][0]["scale"][z]
    )


def _zarr_format(version: Version) -> Literal[2, 3]:
    if version == "0.4":
        return 2
    if version == "0.5":
        return 3
    raise ValueError(f"unsupported NGFF version {version!r}; use '0.4' or '0.5'")


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".ome.zarr", ".zarr"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _natural_key(name: str) -> tuple[int, int | str]:
    """Sort '2' before '10' for column numbers; letters alphabetically."""
    return (0, int(name)) if name.isdigit() else (1, name)
