"""builder.data.render: thumbnails, plate montages, label outlines, encoding."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from builder.data.render import (
    EMPTY_WELL_COLOR,
    auto_window,
    composite_channels,
    encode_image,
    fit_box,
    label_color,
    label_outlines,
    overlay_outlines,
    render_labels,
    render_plate_montage,
    render_thumbnail,
)
from builder.model.image import ChannelFacts


def pixel(image: Image.Image, x: int, y: int) -> tuple[int, int, int]:
    return image.getpixel((x, y))


def ramp(height: int = 16, width: int = 16, dtype=np.uint16) -> np.ndarray:
    return np.tile(np.linspace(0, 1000, width), (height, 1)).astype(dtype)


# ---------------------------------------------------------------- colours and windows


def test_red_channel_is_red():
    plane = np.full((1, 8, 8), 500, np.uint16)
    image = render_thumbnail(plane, [ChannelFacts(label="a", color="FF0000", window=(0, 500))], 8)
    assert image.mode == "RGB" and image.size == (8, 8)
    assert pixel(image, 4, 4) == (255, 0, 0)


def test_window_scales_linearly_and_clips():
    plane = np.array([[[0, 100, 150, 200, 400]]], np.uint16)
    image = render_thumbnail(plane, [ChannelFacts(label="a", color="FFFFFF", window=(100, 200))], 5)
    # 1 x 5 fits a 5 x 5 square as one row, centred vertically.
    row = [pixel(image, x, 2)[0] for x in range(5)]
    assert row == [0, 0, 128, 255, 255]


def test_channels_blend_additively_and_clip():
    red = np.full((4, 4), 1000, np.uint16)
    green = np.full((4, 4), 1000, np.uint16)
    green[:, :2] = 0
    channels = [
        ChannelFacts(label="r", color="FF0000", window=(0, 1000)),
        ChannelFacts(label="g", color="00FF00", window=(0, 1000)),
    ]
    image = render_thumbnail(np.stack([red, green]), channels, 4)
    assert pixel(image, 3, 0) == (255, 255, 0)  # red + green = yellow
    assert pixel(image, 0, 0) == (255, 0, 0)
    grey = ChannelFacts(label="w", color="FFFFFF", window=(0, 1000))
    blended = render_thumbnail(np.stack([red, red]), [grey, grey], 4)
    assert pixel(blended, 1, 1) == (255, 255, 255)  # clipped, not wrapped


def test_half_intensity_channels_add_up():
    half = np.full((4, 4), 50, np.uint8)
    channels = [
        ChannelFacts(label="a", color="0000FF", window=(0, 100)),
        ChannelFacts(label="b", color="00FFFF", window=(0, 100)),
    ]
    image = render_thumbnail(np.stack([half, half]), channels, 4)
    assert pixel(image, 0, 0) == (0, 128, 255)


def test_inactive_channels_are_hidden_unless_none_is_active():
    planes = np.stack([np.full((4, 4), 10, np.uint8), np.full((4, 4), 10, np.uint8)])
    channels = [
        ChannelFacts(label="r", color="FF0000", window=(0, 10), active=True),
        ChannelFacts(label="g", color="00FF00", window=(0, 10), active=False),
    ]
    assert pixel(render_thumbnail(planes, channels, 4), 0, 0) == (255, 0, 0)
    hidden = [c.model_copy(update={"active": False}) for c in channels]
    assert pixel(render_thumbnail(planes, hidden, 4), 0, 0) == (255, 255, 0)


def test_defaults_grey_for_one_channel_palette_for_several():
    plane = ramp()
    single = render_thumbnail(plane[np.newaxis], [], 16)
    r, g, b = pixel(single, 15, 8)
    assert r == g == b == 255
    three = render_thumbnail(np.stack([plane, plane, plane]), [], 16)
    assert pixel(three, 15, 8) == (255, 255, 255)  # red + green + blue
    two = render_thumbnail(np.stack([plane, np.zeros_like(plane)]), [], 16)
    assert pixel(two, 15, 8) == (255, 0, 0)


def test_malformed_colour_falls_back_to_default():
    plane = np.full((1, 4, 4), 9, np.uint8)
    image = render_thumbnail(plane, [ChannelFacts(label="x", color="blue", window=(0, 9))], 4)
    assert pixel(image, 0, 0) == (255, 255, 255)
    hashed = render_thumbnail(plane, [ChannelFacts(label="x", color="#00ff00", window=(0, 9))], 4)
    assert pixel(hashed, 0, 0) == (0, 255, 0)


def test_auto_window_ignores_hot_pixels():
    rng = np.random.default_rng(0)
    plane = rng.normal(1000, 50, (100, 100)).astype(np.uint16)
    plane[0, 0] = 65535
    low, high = auto_window(plane)
    assert 800 < low < 1000 < high < 1200
    image = render_thumbnail(plane[np.newaxis], [], 100)
    assert np.asarray(image)[..., 0].mean() > 60  # not crushed to black by the hot pixel


def test_auto_window_of_a_big_plane_is_estimated_closely():
    plane = np.random.default_rng(6).normal(1000, 100, (1200, 1000))
    low, high = auto_window(plane)
    exact_low, exact_high = np.percentile(plane, (0.5, 99.5))
    assert abs(low - exact_low) < 5 and abs(high - exact_high) < 5


@pytest.mark.parametrize(
    "dtype", [np.uint8, np.uint16, np.uint32, np.int16, np.int32, np.int64, np.float32, np.float64]
)
def test_numeric_dtypes_render_a_ramp(dtype):
    offset = -100 if np.issubdtype(dtype, np.signedinteger) else 0
    plane = (np.tile(np.linspace(0, 200, 32), (8, 1)) + offset).astype(dtype)
    image = render_thumbnail(plane[np.newaxis], [], 32)
    row = np.asarray(image)[16, :, 0]
    assert row[0] == 0 and row[-1] == 255
    assert np.all(np.diff(row.astype(int)) >= 0)


def test_bool_planes_show_true_as_full_intensity():
    mask = np.zeros((1, 4, 4), bool)
    mask[0, 1, 1] = True
    image = render_thumbnail(mask, [ChannelFacts(label="m", color="00FF00")], 4)
    assert pixel(image, 1, 1) == (0, 255, 0)
    assert pixel(image, 0, 0) == (0, 0, 0)


def test_nan_and_inf_do_not_break_rendering():
    plane = np.linspace(0, 1, 16, dtype=np.float32).reshape(1, 4, 4)
    plane[0, 0, 0] = np.nan
    plane[0, 0, 1] = np.inf
    plane[0, 0, 2] = -np.inf
    image = render_thumbnail(plane, [], 4)
    assert pixel(image, 0, 0) == (0, 0, 0)
    assert pixel(image, 1, 0) == (255, 255, 255)
    assert pixel(image, 2, 0) == (0, 0, 0)
    all_nan = render_thumbnail(np.full((1, 4, 4), np.nan), [], 4)
    assert np.asarray(all_nan).max() == 0


def test_nan_window_falls_back_to_percentiles():
    plane = ramp(4, 8)[np.newaxis]
    image = render_thumbnail(plane, [ChannelFacts(label="a", window=(float("nan"), 1.0))], 8)
    assert pixel(image, 7, 4) == (255, 255, 255) and pixel(image, 0, 4) == (0, 0, 0)


@pytest.mark.parametrize("value", [0, 7, 65535])
def test_constant_images_render_black(value):
    image = render_thumbnail(np.full((1, 6, 6), value, np.uint16), [], 6)
    assert np.asarray(image).max() == 0


def test_sparse_mask_is_visible():
    plane = np.zeros((1, 100, 100), np.uint8)
    plane[0, 50, 50] = 3  # far fewer than 0.5 % of the pixels
    image = render_thumbnail(plane, [], 100)
    assert pixel(image, 50, 50) == (255, 255, 255)


# ---------------------------------------------------------------- geometry


def test_aspect_ratio_is_kept_and_padded_to_a_square():
    plane = np.full((1, 50, 100), 200, np.uint8)
    image = render_thumbnail(plane, [ChannelFacts(label="a", window=(0, 200))], 64)
    assert image.size == (64, 64)
    assert fit_box(50, 100, 64) == (0, 16, 64, 32)
    assert pixel(image, 32, 32) == (255, 255, 255)
    assert pixel(image, 32, 5) == (0, 0, 0)  # padding above
    assert pixel(image, 32, 60) == (0, 0, 0)  # padding below
    white = render_thumbnail(plane, [ChannelFacts(label="a", window=(0, 200))], 64, background="white")
    assert pixel(white, 32, 5) == (255, 255, 255)


def test_tall_images_are_padded_left_and_right():
    image = render_thumbnail(np.full((1, 100, 20), 9, np.uint8), [ChannelFacts(label="a", window=(0, 9))], 50)
    assert fit_box(100, 20, 50) == (20, 0, 10, 50)
    assert pixel(image, 25, 25) == (255, 255, 255)
    assert pixel(image, 5, 25) == (0, 0, 0)


def test_small_images_are_enlarged_and_large_ones_shrunk():
    assert render_thumbnail(np.ones((1, 4, 4), np.uint8), [], 256).size == (256, 256)
    assert render_thumbnail(np.ones((1, 1000, 700), np.uint8), [], 64).size == (64, 64)


def test_large_planes_are_reduced_before_compositing():
    rng = np.random.default_rng(4)
    planes = rng.integers(0, 1000, (2, 1500, 1000)).astype(np.uint16)
    planes[0, :, :500] = 0  # the left half of channel 0 is dark
    channels = [
        ChannelFacts(label="a", color="FF0000", window=(0, 1000)),
        ChannelFacts(label="b", color="00FF00", window=(0, 1000)),
    ]
    reduced = composite_channels(planes, channels, max_side=128)
    assert reduced.shape == (125, 84, 3)  # factor 12, the last partial block kept
    assert reduced[:, :40, 0].max() == 0 and 100 < reduced[:, 45:, 0].mean() < 155
    image = render_thumbnail(planes, channels, 64)
    assert image.size == (64, 64)
    # Placed as the full-size plane would be: 43 px wide, centred.
    assert fit_box(1500, 1000, 64) == (10, 0, 43, 64)
    assert pixel(image, 5, 32) == (0, 0, 0) and pixel(image, 58, 32) == (0, 0, 0)
    assert pixel(image, 45, 32)[0] > 80


def test_two_dimensional_planes_are_one_channel():
    image = render_thumbnail(ramp(), [], 16)
    assert pixel(image, 15, 8) == (255, 255, 255)


@pytest.mark.parametrize(
    ("planes", "size", "message"),
    [
        (np.zeros((1, 0, 4)), 8, "no pixels"),
        (np.zeros((1, 1, 4, 4)), 8, r"\(c, y, x\)"),
        (np.zeros((1, 4, 4)), 0, "positive"),
        (np.array([[["a"]]]), 8, "dtype"),
    ],
)
def test_bad_input_is_refused(planes, size, message):
    with pytest.raises(ValueError, match=message):
        render_thumbnail(planes, [], size)


# ---------------------------------------------------------------- plates


def solid(color: tuple[int, int, int], size: int = 32) -> Image.Image:
    return Image.new("RGB", (size, size), color)


def test_plate_montage_places_wells_with_gutters():
    tiles = {(0, 0): solid((255, 0, 0)), (1, 2): solid((0, 0, 255)), (0, 1): None}
    montage = render_plate_montage(tiles, rows=2, columns=3, size=256)
    assert montage.size == (256, 256)
    # gutter 1 px, cell (256 - 4) // 3 = 84; the 2-row grid is centred vertically.
    grid_height = 2 * 84 + 3
    top = (256 - grid_height) // 2
    left = (256 - (3 * 84 + 4)) // 2
    assert pixel(montage, left + 1 + 40, top + 1 + 40) == (255, 0, 0)
    assert pixel(montage, left + 1 + 2 * 85 + 40, top + 1 + 85 + 40) == (0, 0, 255)
    assert pixel(montage, left + 1 + 85 + 40, top + 1 + 40) == EMPTY_WELL_COLOR  # None
    assert pixel(montage, left + 1 + 40, top + 1 + 85 + 40) == EMPTY_WELL_COLOR  # absent
    assert pixel(montage, left + 1 + 84, top + 1 + 40) == (0, 0, 0)  # gutter between wells
    assert pixel(montage, 128, 5) == (0, 0, 0)  # padding


def test_plate_montage_of_a_1536_well_plate_fits():
    tiles = {(r, c): solid((0, 255, 0), 8) for r in range(32) for c in range(48)}
    montage = render_plate_montage(tiles, rows=32, columns=48, size=256)
    assert montage.size == (256, 256)
    green = np.asarray(montage)[..., 1] == 255
    assert green.sum() >= 32 * 48 * 16  # every well at least 4 x 4 px


def test_plate_montage_refuses_wells_outside_the_plate():
    with pytest.raises(ValueError, match="outside"):
        render_plate_montage({(8, 0): solid((1, 1, 1))}, rows=8, columns=12, size=256)


# ---------------------------------------------------------------- outlines


def test_label_outlines_mark_object_borders():
    labels = np.zeros((7, 7), np.uint16)
    labels[1:6, 1:4] = 1
    labels[1:6, 4:6] = 2
    outlines = label_outlines(labels)
    assert outlines.dtype == bool and outlines.shape == labels.shape
    assert not outlines[0].any()  # background is never outline
    assert outlines[1, 1] and outlines[3, 1]  # border to background
    assert not outlines[3, 2]  # inside object 1
    assert outlines[3, 3] and outlines[3, 4]  # both sides of the contact 1|2
    constant = label_outlines(np.full((4, 4), 5))
    assert not constant.any()


def test_label_outlines_work_in_three_dimensions():
    labels = np.zeros((5, 5, 5), np.int32)
    labels[1:4, 1:4, 1:4] = 9
    outlines = label_outlines(labels)
    assert outlines[1, 2, 2] and not outlines[2, 2, 2]


def test_overlay_paints_outline_pixels():
    image = Image.new("RGB", (4, 4), (10, 10, 10))
    outlines = np.zeros((4, 4), bool)
    outlines[2, 1] = True
    result = overlay_outlines(image, outlines)
    assert pixel(result, 1, 2) == (255, 255, 0)
    assert pixel(result, 0, 0) == (10, 10, 10)
    assert pixel(image, 1, 2) == (10, 10, 10)  # the input is left alone
    magenta = overlay_outlines(image, outlines, color=(255, 0, 255))
    assert pixel(magenta, 1, 2) == (255, 0, 255)


def test_overlay_fits_plane_sized_outlines_onto_the_thumbnail():
    labels = np.zeros((100, 200), np.uint8)
    labels[20:80, 20:180] = 1
    thumbnail = render_thumbnail(np.zeros((1, 100, 200), np.uint8), [], 64)
    result = np.asarray(overlay_outlines(thumbnail, label_outlines(labels)))
    painted = np.argwhere((result == (255, 255, 0)).all(axis=-1))
    # The 200 x 100 plane lands in rows 16..47; the one-pixel outline survives shrinking 3x.
    assert painted[:, 0].min() >= 16 and painted[:, 0].max() <= 47
    assert (result[16 + 6, 6:58] == (255, 255, 0)).all(axis=-1).sum() >= 40  # the top edge is continuous


# ---------------------------------------------------------------- encoding


@pytest.mark.parametrize("fmt", ["webp", "png"])
def test_encoding_is_deterministic_and_decodes(fmt):
    rng = np.random.default_rng(2)
    planes = rng.integers(0, 4000, (2, 60, 90)).astype(np.uint16)
    first = encode_image(render_thumbnail(planes, [], 64), fmt)
    second = encode_image(render_thumbnail(planes, [], 64), fmt)
    assert first == second
    decoded = Image.open(io.BytesIO(first))
    assert decoded.format == fmt.upper() and decoded.size == (64, 64)


def test_png_is_lossless():
    image = render_thumbnail(np.random.default_rng(3).random((3, 20, 20)), [], 20)
    decoded = Image.open(io.BytesIO(encode_image(image, "png"))).convert("RGB")
    assert np.array_equal(np.asarray(decoded), np.asarray(image))


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="webp"):
        encode_image(Image.new("RGB", (2, 2)), "gif")  # type: ignore[arg-type]


def test_label_images_fill_each_object_with_its_own_colour():
    labels = np.zeros((40, 40), dtype=np.uint32)
    labels[5:15, 5:15] = 1
    labels[20:35, 20:35] = 7
    image = np.asarray(render_labels(labels, 40)).astype(int)
    assert tuple(image[0, 0]) == (0, 0, 0)  # background stays black
    inside_1, inside_7 = tuple(image[10, 10]), tuple(image[27, 27])
    assert inside_1 != inside_7 and sum(inside_1) > 0 and sum(inside_7) > 0
    # Outlines are brighter than fills, so touching objects stay apart.
    assert sum(image[5, 10]) > sum(image[10, 10])
    assert label_color(1) == label_color(1) and label_color(1) != label_color(2)


def test_label_images_scale_without_inventing_colours():
    labels = np.zeros((10, 20), dtype=np.uint16)
    labels[:, :10] = 3
    labels[:, 10:] = 4
    image = np.asarray(render_labels(labels, 64))
    colours = {tuple(c) for c in image.reshape(-1, 3)}
    fill = {tuple(round(v * 0.55) for v in label_color(n)) for n in (3, 4)}
    assert colours <= {(0, 0, 0)} | fill | {label_color(3), label_color(4)}
    assert image.shape == (64, 64, 3) and tuple(image[0, 0]) == (0, 0, 0)  # padded to a square
