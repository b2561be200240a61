"""Thumbnail rendering as a microscopist expects it. Pure: numpy and Pillow only.

How a thumbnail is made from the planes of one z/t position, ``(c, y, x)``:

* Each active channel is scaled linearly through its display window: the
  omero ``window`` (start, end) when the image has one, else the 0.5 and 99.5
  percentiles of the channel's finite values. Below the window is black, above
  it is full colour. NaN counts as below the window, +inf as above.
* Each channel is tinted with its colour (omero ``color``; else grey for a
  single channel and Fiji's composite order for several) and the channels are
  added, clipped at full intensity: red plus green makes yellow.
* Inactive channels are left out, unless none is active (a black card helps
  nobody): then all are shown.
* The image keeps its aspect ratio, is fitted inside ``size x size`` and
  centred on a square of the background colour, so cards in a grid align.
  ``fit_box`` gives that placement, and ``overlay_outlines`` uses it to lay
  outlines computed at the planes' resolution over the square thumbnail.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from PIL import Image

from builder.model.image import ChannelFacts

# Colours for channels without display settings, in Fiji's composite order
# (red, green, blue, grey, cyan, magenta, yellow) so multichannel images look
# as they would on a microscopist's screen.
DEFAULT_CHANNEL_COLORS = ("FF0000", "00FF00", "0000FF", "FFFFFF", "00FFFF", "FF00FF", "FFFF00")
SINGLE_CHANNEL_COLOR = "FFFFFF"
# Robust automatic contrast: ignores hot pixels and a dark background.
AUTO_WINDOW_PERCENTILES = (0.5, 99.5)
AUTO_WINDOW_SAMPLE = 1_000_000
BACKGROUNDS: dict[str, tuple[int, int, int]] = {"black": (0, 0, 0), "white": (255, 255, 255)}
EMPTY_WELL_COLOR = (48, 48, 48)
# Planes are composited at no more than this many times the thumbnail size.
COMPOSITE_OVERSAMPLING = 2
OUTLINE_COLOR = (255, 255, 0)
# Lossy WebP at this quality keeps nuclei texture without visible blocking;
# the fixed method makes encoding reproducible.
WEBP_QUALITY = 85
WEBP_METHOD = 4


# ---------------------------------------------------------------- thumbnails


def render_thumbnail(
    planes: np.ndarray,
    channels: Sequence[ChannelFacts],
    size: int,
    *,
    background: Literal["black", "white"] = "black",
) -> Image.Image:
    """An RGB ``size x size`` thumbnail of ``planes`` (``(c, y, x)``, or ``(y, x)`` for one channel).

    ``channels`` are the image's display settings, one per plane; fewer (or
    none) leaves the rest to defaults.
    """
    if size < 1:
        raise ValueError(f"thumbnail size must be positive, not {size}")
    planes = np.asarray(planes)
    if planes.ndim == 2:
        planes = planes[np.newaxis]
    if planes.ndim != 3:
        raise ValueError(f"planes must be (c, y, x) or (y, x), not shape {planes.shape}")
    if planes.size == 0:
        raise ValueError(f"planes of shape {planes.shape} hold no pixels")
    if planes.dtype.kind not in "biuf":
        raise ValueError(f"cannot render pixels of dtype {planes.dtype}")
    height, width = planes.shape[1:]
    # Planes much larger than the thumbnail are averaged down after windowing, so
    # memory stays bounded by the output size and no detail that would show is lost.
    composite = composite_channels(planes, channels, max_side=COMPOSITE_OVERSAMPLING * size)
    return fit_to_square(
        Image.fromarray(composite, mode="RGB"), size, background=background, source_shape=(height, width)
    )


def composite_channels(
    planes: np.ndarray, channels: Sequence[ChannelFacts], *, max_side: int | None = None
) -> np.ndarray:
    """Blend ``(c, y, x)`` planes into an 8-bit ``(y', x', 3)`` colour image.

    Full resolution unless ``max_side`` is given and exceeded: then each
    channel's windowed intensities are block-averaged by the smallest integer
    factor that brings the longer side within ``max_side``.
    """
    count = planes.shape[0]
    factor = 1
    if max_side is not None and max(planes.shape[1:]) > max_side:
        factor = math.ceil(max(planes.shape[1:]) / max_side)
    settings = [channels[i] if i < len(channels) else None for i in range(count)]
    shown = [i for i, s in enumerate(settings) if s is None or s.active]
    if not shown:
        shown = list(range(count))
    out_shape = tuple(math.ceil(n / factor) for n in planes.shape[1:])
    rgb = np.zeros((*out_shape, 3), dtype=np.float32)
    for index in shown:
        setting = settings[index]
        plane = planes[index]
        window = setting.window if setting is not None else None
        intensity = block_mean(scale_to_window(plane, window), factor)
        color = channel_color(setting.color if setting is not None else None, index, count)
        rgb += intensity[..., np.newaxis] * (np.asarray(color, dtype=np.float32) / 255.0)
    return np.rint(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8)


def block_mean(values: np.ndarray, factor: int) -> np.ndarray:
    """Average ``factor x factor`` blocks of a 2-D array; edge blocks average their real pixels."""
    if factor <= 1:
        return values
    height, width = values.shape
    out_h, out_w = math.ceil(height / factor), math.ceil(width / factor)
    padded = np.pad(values, ((0, out_h * factor - height), (0, out_w * factor - width)), mode="edge")
    return padded.reshape(out_h, factor, out_w, factor).mean(axis=(1, 3), dtype=np.float32)


def scale_to_window(plane: np.ndarray, window: tuple[float, float] | None) -> np.ndarray:
    """Intensities in [0, 1]: linear between the window's start and end, clipped outside."""
    values = (
        plane.astype(np.float64) if plane.dtype.itemsize > 2 or plane.dtype.kind == "f" else plane.astype(np.float32)
    )
    if plane.dtype == bool:
        start, end = 0.0, 1.0
    elif window is not None and all(np.isfinite(window)):
        start, end = float(window[0]), float(window[1])
    else:
        start, end = auto_window(plane)
    with np.errstate(invalid="ignore", over="ignore"):
        if end > start:
            scaled = (values - start) / (end - start)
        else:
            # A degenerate window is a threshold: above it is on.
            scaled = (values > start).astype(np.float32)
        scaled = np.nan_to_num(scaled, nan=0.0, posinf=1.0, neginf=0.0)
    return np.clip(scaled, 0.0, 1.0).astype(np.float32)


def auto_window(plane: np.ndarray) -> tuple[float, float]:
    """Percentile contrast over the finite values; a flat plane gets a window just above it."""
    values = plane[np.isfinite(plane)] if plane.dtype.kind == "f" else plane.ravel()
    if values.size == 0:
        return 0.0, 1.0
    if values.size > AUTO_WINDOW_SAMPLE:
        # A regular subsample estimates the percentiles well and keeps big planes fast.
        values = values[:: math.ceil(values.size / AUTO_WINDOW_SAMPLE)]
    low, high = (float(v) for v in np.percentile(values.astype(np.float64), AUTO_WINDOW_PERCENTILES))
    if high <= low:
        # Mostly-flat data (a sparse mask, a blank field): show anything above the flat value.
        above = values[values > low]
        high = float(above.min()) if above.size else low + 1.0
    return low, high


def channel_color(color: str | None, index: int, count: int) -> tuple[int, int, int]:
    """The channel's colour as RGB; malformed or missing colours fall back to the defaults."""
    parsed = parse_hex_color(color) if color else None
    if parsed is not None:
        return parsed
    if count == 1:
        return parse_hex_color(SINGLE_CHANNEL_COLOR)  # type: ignore[return-value]
    return parse_hex_color(DEFAULT_CHANNEL_COLORS[index % len(DEFAULT_CHANNEL_COLORS)])  # type: ignore[return-value]


def parse_hex_color(color: str) -> tuple[int, int, int] | None:
    """ "RRGGBB" (optionally with '#') as RGB, or None when it is not one."""
    text = color.strip().lstrip("#")
    if len(text) != 6:
        return None
    try:
        value = int(text, 16)
    except ValueError:
        return None
    return (value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF


# ---------------------------------------------------------------- fitting into a square


def fit_box(height: int, width: int, size: int) -> tuple[int, int, int, int]:
    """Where a ``height x width`` image lands in a ``size`` square: (left, top, new width, new height)."""
    factor = size / max(height, width)
    new_width = max(1, min(size, round(width * factor)))
    new_height = max(1, min(size, round(height * factor)))
    return (size - new_width) // 2, (size - new_height) // 2, new_width, new_height


def fit_to_square(
    image: Image.Image,
    size: int,
    *,
    background: Literal["black", "white"] = "black",
    source_shape: tuple[int, int] | None = None,
) -> Image.Image:
    """``image`` scaled to fit inside ``size x size`` (aspect kept), centred on the background.

    ``source_shape`` (height, width) places an image that was already reduced
    exactly where its full-size source would land.
    """
    fill = BACKGROUNDS.get(background)
    if fill is None:
        raise ValueError(f"unknown background {background!r}; use one of {sorted(BACKGROUNDS)}")
    left, top, width, height = fit_box(*(source_shape or (image.height, image.width)), size)
    resized = image.convert("RGB")
    if (width, height) != resized.size:
        # Lanczos when shrinking keeps fine structure without aliasing;
        # bicubic when enlarging avoids Lanczos' ringing around bright spots.
        method = Image.Resampling.LANCZOS if width < resized.width else Image.Resampling.BICUBIC
        resized = resized.resize((width, height), method)
    canvas = Image.new("RGB", (size, size), fill)
    canvas.paste(resized, (left, top))
    return canvas


# ---------------------------------------------------------------- plates


def render_plate_montage(
    tiles: dict[tuple[int, int], Image.Image | None],
    rows: int,
    columns: int,
    size: int,
    *,
    background: Literal["black", "white"] = "black",
) -> Image.Image:
    """A ``size x size`` picture of a plate: one square per well, (row, column) from 0.

    Wells are separated by thin gutters of the background colour; wells without
    a tile (missing or None) are dark grey, so the plate layout stays readable.
    """
    if rows < 1 or columns < 1:
        raise ValueError(f"a plate needs at least one row and column, not {rows} x {columns}")
    fill = BACKGROUNDS.get(background)
    if fill is None:
        raise ValueError(f"unknown background {background!r}; use one of {sorted(BACKGROUNDS)}")
    for row, column in tiles:
        if not (0 <= row < rows and 0 <= column < columns):
            raise ValueError(f"well ({row}, {column}) is outside a {rows} x {columns} plate")
    gutter = max(1, size // 256)
    cell = (size - gutter * (max(rows, columns) + 1)) // max(rows, columns)
    if cell < 1:
        # More wells than pixels across: drop the gutters rather than the wells.
        gutter, cell = 0, max(1, size // max(rows, columns))
    grid_width = columns * cell + (columns + 1) * gutter
    grid_height = rows * cell + (rows + 1) * gutter
    grid = Image.new("RGB", (grid_width, grid_height), fill)
    empty = Image.new("RGB", (cell, cell), EMPTY_WELL_COLOR)
    for row in range(rows):
        for column in range(columns):
            tile = tiles.get((row, column))
            if tile is None:
                well = empty
            else:
                well = fit_to_square(tile, cell, background=background)
            grid.paste(well, (gutter + column * (cell + gutter), gutter + row * (cell + gutter)))
    # Centred without rescaling, so gutters stay one crisp pixel line.
    canvas = Image.new("RGB", (size, size), fill)
    canvas.paste(grid, ((size - grid_width) // 2, (size - grid_height) // 2))
    return canvas


# ---------------------------------------------------------------- label images

LABEL_FILL_BRIGHTNESS = 0.55  # fills dimmer than outlines, so touching objects stay apart


def label_color(value: int) -> tuple[int, int, int]:
    """A stable, saturated colour for a label value (golden-ratio hue steps keep neighbours apart)."""
    hue = (int(value) * 0.618033988749895) % 1.0
    sector, fraction = divmod(hue * 6.0, 1.0)
    rising, falling = fraction, 1.0 - fraction
    r, g, b = [(1, rising, 0), (falling, 1, 0), (0, 1, rising), (0, falling, 1), (rising, 0, 1), (1, 0, falling)][
        int(sector) % 6
    ]
    return round(r * 255), round(g * 255), round(b * 255)


def render_labels(labels: np.ndarray, size: int, *, background: Literal["black", "white"] = "black") -> Image.Image:
    """A label image as a microscopist views one: each object filled with its own colour, outlined brighter.

    Scaled with nearest neighbour so no colours are invented between objects;
    background (0) stays the background colour.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"a label plane must be 2-D, not shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        labels = np.nan_to_num(labels.astype(np.float64)).astype(np.int64)
    values, inverse = np.unique(labels, return_inverse=True)
    palette = np.array([(0, 0, 0) if v == 0 else label_color(int(v)) for v in values], dtype=np.float64)
    filled = palette[inverse.reshape(labels.shape)] * LABEL_FILL_BRIGHTNESS
    outlines = label_outlines(labels)
    filled[outlines] = palette[inverse.reshape(labels.shape)][outlines]
    rgb = Image.fromarray(filled.round().astype(np.uint8), mode="RGB")
    left, top, width, height = fit_box(labels.shape[0], labels.shape[1], size)
    canvas = Image.new("RGB", (size, size), BACKGROUNDS[background])
    canvas.paste(rgb.resize((width, height), Image.Resampling.NEAREST), (left, top))
    return canvas


# ---------------------------------------------------------------- label outlines


def label_outlines(labels: np.ndarray) -> np.ndarray:
    """True on the pixels of each labelled object that touch a different value.

    Outlines lie inside the objects (background pixels are never outline), and
    touching objects are both outlined. Neighbours are the 2 * ndim direct ones.
    """
    labels = np.asarray(labels)
    outlines = np.zeros(labels.shape, dtype=bool)
    for axis in range(labels.ndim):
        if labels.shape[axis] < 2:
            continue
        before = [slice(None)] * labels.ndim
        after = [slice(None)] * labels.ndim
        before[axis] = slice(None, -1)
        after[axis] = slice(1, None)
        differs = labels[tuple(before)] != labels[tuple(after)]
        outlines[tuple(before)] |= differs
        outlines[tuple(after)] |= differs
    return outlines & (labels != 0)


def overlay_outlines(
    image: Image.Image, outlines: np.ndarray, color: tuple[int, int, int] = OUTLINE_COLOR
) -> Image.Image:
    """A copy of ``image`` with the ``outlines`` pixels painted in ``color``.

    Outlines the size of the image are used as they are. Outlines of another
    size (e.g. computed at the planes' resolution) are placed the way
    ``render_thumbnail`` placed the planes in its square, and are kept visible
    when shrunk: a pixel is painted when any outline pixel falls within it.
    """
    outlines = np.asarray(outlines, dtype=bool)
    if outlines.ndim != 2:
        raise ValueError(f"outlines must be 2-D, not shape {outlines.shape}")
    result = image.convert("RGB")
    height, width = outlines.shape
    if (width, height) == result.size:
        mask = outlines
    else:
        if result.width != result.height:
            raise ValueError(f"outlines of shape {outlines.shape} do not match a non-square {result.size} image")
        left, top, fit_width, fit_height = fit_box(height, width, result.width)
        # Box-averaging then keeping any non-zero pixel is a max-pool: thin lines survive.
        shrunk = Image.fromarray(outlines.astype(np.uint8) * 255, mode="L").resize(
            (fit_width, fit_height), Image.Resampling.BOX
        )
        mask = np.zeros((result.height, result.width), dtype=bool)
        mask[top : top + fit_height, left : left + fit_width] = np.asarray(shrunk) > 0
    pixels = np.array(result)
    pixels[mask] = color
    return Image.fromarray(pixels, mode="RGB")


# ---------------------------------------------------------------- encoding


def encode_image(image: Image.Image, fmt: Literal["webp", "png"] = "webp") -> bytes:
    """The image as WebP or PNG bytes; the same image always gives the same bytes."""
    buffer = io.BytesIO()
    rgb = image if image.mode in ("RGB", "L") else image.convert("RGB")
    if fmt == "webp":
        rgb.save(buffer, format="WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD, exact=False)
    elif fmt == "png":
        # No optimize pass and no metadata chunks: the bytes depend on the pixels only.
        rgb.save(buffer, format="PNG", optimize=False, compress_level=6)
    else:
        raise ValueError(f"unknown image format {fmt!r}; use 'webp' or 'png'")
    return buffer.getvalue()
