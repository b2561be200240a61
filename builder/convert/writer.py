"""SourceImage -> OME-Zarr through ngff-zarr: a pyramid down to thumbnail size, sharded for 0.5.

Chunks suit both viewers and object storage: planes of 512 x 512 pixels (or
64^3 blocks for volumes such as tomograms), and for NGFF 0.5 the Zarr v3
sharding codec groups 4 x 4 (x 8 planes) chunks into one object, so a large
image is not a million small objects. Display windows come from the data
(0.1 and 99.9 percentiles of the smallest level), colours and names from the
file where it has them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np

from builder.convert.metadata import DEFAULT_COLOURS
from builder.convert.readers import SourceImage

THUMBNAIL_PIXELS = 256  # the smallest level fits a card thumbnail (archive.toml thumbnail_sizes.card)
PLANE_CHUNK = 512
VOLUME_CHUNK = 64
SHARD_CHUNKS_XY = 4
SHARD_PLANES = 8

# Lossless codecs offered; the default is chosen from benchmarks/convert.py --codecs (benchmarks/README.md).
CODECS = ("blosc-zstd", "blosc-lz4", "zstd", "gzip", "none")
DEFAULT_CODEC = "blosc-zstd"


@dataclass
class Layout:
    chunks: dict[str, int]
    chunks_per_shard: dict[str, int] | None
    scale_factors: list[dict[str, int]]


def codec_options(codec: str, version: str) -> dict[str, Any]:
    """ngff-zarr's array-creation kwargs for a codec name: `compressors` (Zarr v3) or `compressor` (v2)."""
    if codec not in CODECS:
        raise ValueError(f"unknown codec {codec!r}; choose one of {', '.join(CODECS)}")
    if version == "0.4":
        import numcodecs

        v2 = {
            "blosc-zstd": numcodecs.Blosc(cname="zstd", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE),
            "blosc-lz4": numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE),
            "zstd": numcodecs.Zstd(level=3),
            "gzip": numcodecs.GZip(level=6),
            "none": None,
        }
        return {"compressor": v2[codec]}
    from zarr.codecs import BloscCodec, GzipCodec, ZstdCodec

    v3 = {
        "blosc-zstd": [BloscCodec(cname="zstd", clevel=5, shuffle="shuffle")],
        "blosc-lz4": [BloscCodec(cname="lz4", clevel=5, shuffle="shuffle")],
        "zstd": [ZstdCodec(level=3)],
        "gzip": [GzipCodec(level=6)],
        "none": None,
    }
    return {"compressors": v3[codec]}


def plan_layout(image: SourceImage, version: str) -> Layout:
    shape = dict(zip(image.axes, image.shape, strict=False))
    nz, ny, nx = shape.get("z", 1), shape["y"], shape["x"]
    volume = nz >= VOLUME_CHUNK and _isotropic_enough(image)
    chunks = {a: 1 for a in image.axes if a in "tc"}
    if volume:
        chunks.update(z=VOLUME_CHUNK, y=min(ny, VOLUME_CHUNK), x=min(nx, VOLUME_CHUNK))
    else:
        if "z" in shape:
            chunks["z"] = 1
        chunks.update(y=min(ny, PLANE_CHUNK), x=min(nx, PLANE_CHUNK))
    shard = None
    if version == "0.5":
        shard = {a: 1 for a in image.axes}
        for a in "yx":
            shard[a] = max(1, min(SHARD_CHUNKS_XY, math.ceil(shape[a] / chunks[a])))
        if "z" in shape:
            shard["z"] = max(1, min(SHARD_CHUNKS_XY if volume else SHARD_PLANES, math.ceil(nz / chunks["z"])))
    factors: list[dict[str, int]] = []
    level = 1
    while max(ny, nx) / 2**level >= THUMBNAIL_PIXELS / 2 and max(ny, nx) > THUMBNAIL_PIXELS:
        f = {"y": 2**level, "x": 2**level}
        if "z" in shape:
            f["z"] = min(2**level, 2 ** int(math.log2(nz))) if volume else 1
        factors.append(f)
        if max(ny, nx) / 2**level <= THUMBNAIL_PIXELS:
            break
        level += 1
    return Layout(chunks=chunks, chunks_per_shard=shard, scale_factors=factors)


def _isotropic_enough(image: SourceImage) -> bool:
    sizes = image.pixel_sizes
    if "z" not in sizes or "x" not in sizes:
        return True  # tomograms and maps without sizes are volumes
    return sizes["z"][0] <= 2.5 * sizes["x"][0]


def display_windows(smallest: np.ndarray, axes: str, dtype: np.dtype) -> list[tuple[float, float, float, float]]:
    """(min, max, start, end) per channel: the dtype range and the 0.1-99.9 percentile of the data."""
    if "c" in axes:
        planes = [np.take(smallest, i, axis=axes.index("c")) for i in range(smallest.shape[axes.index("c")])]
    else:
        planes = [smallest]
    windows = []
    for plane in planes:
        values = plane[np.isfinite(plane)] if dtype.kind == "f" else plane.ravel()
        if values.size == 0:
            lo = hi = 0.0
        else:
            lo, hi = (float(v) for v in np.percentile(values, [0.1, 99.9]))
        if dtype.kind in "iu":
            info = np.iinfo(dtype)
            lo_range, hi_range = float(info.min), float(info.max)
        else:
            lo_range = float(np.min(values)) if values.size else 0.0
            hi_range = float(np.max(values)) if values.size else 1.0
        if hi <= lo:
            hi = lo + 1
        windows.append((lo_range, max(hi_range, hi), lo, hi))
    return windows


def write_image(
    image: SourceImage,
    out: Path,
    *,
    version: str = "0.5",
    codec: str = DEFAULT_CODEC,
    progress: Any = None,
    memory_target: int | None = None,
    cache_dir: Path | None = None,
) -> dict[str, Any]:
    """Write one image as OME-Zarr at ``out`` (which must not exist); returns what was written."""
    import dask
    import ngff_zarr as nz

    _configure(memory_target, cache_dir)
    with dask.config.set(scheduler=_scheduler()):
        multiscales, layout = build_multiscales(image, version, progress)
        nz.to_ngff_zarr(
            str(out),
            multiscales,
            version=version,
            overwrite=False,
            progress=progress,
            chunks_per_shard=layout.chunks_per_shard,
            **codec_options(codec, version),
        )
    add_display(out, image, version)
    _add_source_attributes(out, image, version)
    return summary_of(image, layout, len(multiscales.images), codec, version)


def add_display(out: Path, image: SourceImage, version: str) -> None:
    """Write `omero` (names, colours, windows from the data) into the written image at ``out``.

    The windows come from the smallest level, read back from the store: a thumbnail-sized array.
    """
    import zarr

    group = zarr.open_group(str(out), mode="r+", zarr_format=3 if version == "0.5" else 2, use_consolidated=False)
    attrs: dict[str, Any] = dict(group.attrs.asdict())
    ome: dict[str, Any] = dict(attrs["ome"]) if version == "0.5" else attrs
    smallest = np.asarray(cast(Any, group[ome["multiscales"][0]["datasets"][-1]["path"]])[...])
    windows = display_windows(smallest, image.axes, image.dtype)
    channel_count = len(windows)
    names = [c.name for c in image.channels] if image.channels else [f"channel{i}" for i in range(channel_count)]
    default = ["FFFFFF"] if channel_count == 1 else DEFAULT_COLOURS
    channels = []
    for i, (lo_range, hi_range, start, end) in enumerate(windows):
        colour = image.channels[i].color if i < len(image.channels) and image.channels[i].color else None
        channels.append(
            {
                "color": colour or default[i % len(default)],
                "window": {"min": lo_range, "max": hi_range, "start": start, "end": end},
                "label": names[i] if i < len(names) else f"channel{i}",
            }
        )
    if version == "0.5":
        group.attrs["ome"] = cast(Any, {**ome, "omero": {"channels": channels}})
    else:
        group.attrs["omero"] = cast(Any, {"channels": channels})


def _configure(memory_target: int | None, cache_dir: Path | None) -> None:
    from ngff_zarr.config import config as nz_config

    if memory_target is not None:
        nz_config.memory_target = memory_target
    if cache_dir is not None:
        nz_config.cache_store = cache_dir


def _scheduler() -> Any:
    """The threads of this process (conversion runs in an isolated child, on this machine or a Dask worker).

    Never imports distributed: that alone cost ~1 s of every conversion (cProfile, 2026-12-02).
    """
    return "threads"


def summary_of(image: SourceImage, layout: Layout, levels: int, codec: str, version: str) -> dict[str, Any]:
    return {
        "name": image.name,
        "axes": image.axes,
        "shape": list(image.shape),
        "dtype": str(image.dtype),
        "levels": levels,
        "chunks": layout.chunks,
        "chunks_per_shard": layout.chunks_per_shard,
        "codec": codec,
        "version": version,
    }


def build_multiscales(image: SourceImage, version: str, progress: Any = None) -> tuple[Any, Layout]:
    """ngff-zarr's multiscales of ``image`` (lazy) with names and sizes; nothing written yet.

    Display windows are added after writing (:func:`add_display`), from the smallest level as written:
    computing them here ran the whole pyramid once more before the write (13% of the conversion time
    of a 0.125 GiB stack under cProfile, 2026-12-02).
    """
    import ngff_zarr as nz

    layout = plan_layout(image, version)
    scale = {a: image.pixel_sizes[a][0] for a in "zyx" if a in image.axes and a in image.pixel_sizes}
    units = {a: image.pixel_sizes[a][1] for a in scale if image.pixel_sizes[a][1]}
    if "t" in image.axes and image.time_increment is not None:
        scale["t"] = image.time_increment[0]
        units["t"] = image.time_increment[1]
    channel_count = image.shape[image.axes.index("c")] if "c" in image.axes else 1
    names = [c.name for c in image.channels] if image.channels else [f"channel{i}" for i in range(channel_count)]
    dims: Any = list(image.axes)
    ngff_image = nz.to_ngff_image(
        image.data,
        dims=dims,
        scale=cast(Any, scale) or None,
        axes_units=cast(Any, units) or None,
        name=image.name,
        channel_names=names if "c" in image.axes else None,
    )
    multiscales = nz.to_multiscales(
        ngff_image,
        scale_factors=layout.scale_factors or [],
        method=nz.Methods.DASK_BIN_SHRINK,
        chunks=layout.chunks,
        progress=progress,
    )
    return multiscales, layout


def _add_source_attributes(out: Path, image: SourceImage, version: str) -> None:
    """Keep what NGFF has no field for (wavelengths, instrument, the source file) beside the NGFF metadata."""
    import zarr

    source: dict[str, Any] = {
        "file": Path(image.file).name,
        "format": image.format,
        "series": image.series,
        "channels": [{k: v for k, v in vars(c).items() if v not in (None, "")} for c in image.channels],
        "acquisition": image.acquisition.to_dict(),
    }
    group = zarr.open_group(str(out), mode="r+", zarr_format=3 if version == "0.5" else 2, use_consolidated=False)
    group.attrs["bioarchive"] = cast(Any, {"source": source})
    if version == "0.5":
        consolidate(out)


def consolidate(out: Path) -> None:
    """Zarr v3 consolidated metadata again after our attributes changed (ngff-zarr wrote it before)."""
    import warnings

    import zarr

    with warnings.catch_warnings():  # "consolidated metadata is not in the v3 spec": ngff-zarr writes it anyway
        warnings.simplefilter("ignore", UserWarning)
        zarr.consolidate_metadata(str(out), zarr_format=3)
