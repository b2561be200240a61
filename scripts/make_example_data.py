"""Generate the example OME-Zarr images in example-data/ (synthetic, deterministic).

    .venv/bin/python scripts/make_example_data.py [--out example-data]

Each example study points at one or more images written here. The images are
synthetic but built to look like the real thing at thumbnail and viewer scale:
textured HeLa nuclei with siRNA phenotypes across a plate, a cleared mouse brain
with vessels, a denoised cryo-electron tomogram of a Chlamydomonas chloroplast,
a zebrafish time-lapse with a nuclei segmentation, a mouse micro-CT and a
Drosophila wing disc. Every generator uses its own fixed seed, so re-running
the script rewrites byte-identical files.

Only numpy and the archive's own writer are used, so the script runs in the
project's environment without extra packages.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from builder.testing.ngff_writer import write_image, write_labels, write_plate

# ---------------------------------------------------------------- numerical helpers


def blur(volume: np.ndarray, sigma: float | tuple[float, ...]) -> np.ndarray:
    """Gaussian blur (per-axis sigma in pixels) through the FFT, with mirrored edges."""
    sigmas = np.broadcast_to(np.asarray(sigma, dtype=float), (volume.ndim,))
    pad = [(math.ceil(3 * s), math.ceil(3 * s)) for s in sigmas]
    padded = np.pad(volume.astype(np.float64), pad, mode="reflect")
    spectrum = np.fft.rfftn(padded)
    for axis, s in enumerate(sigmas):
        if s <= 0:
            continue
        n = padded.shape[axis]
        freq = np.fft.rfftfreq(n) if axis == volume.ndim - 1 else np.fft.fftfreq(n)
        transfer = np.exp(-2.0 * (math.pi * freq * s) ** 2)
        shape = [1] * volume.ndim
        shape[axis] = transfer.size
        spectrum *= transfer.reshape(shape)
    out = np.fft.irfftn(spectrum, s=padded.shape, axes=tuple(range(volume.ndim)))
    crop = tuple(slice(p, p + n) for (p, _), n in zip(pad, volume.shape))
    return out[crop]


def smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], sigma: float | tuple[float, ...]) -> np.ndarray:
    """Correlated noise with zero mean and unit standard deviation."""
    field = blur(rng.standard_normal(shape), sigma)
    return (field - field.mean()) / (field.std() + 1e-12)


def camera(rng: np.random.Generator, photons: np.ndarray, offset: float, read_noise: float) -> np.ndarray:
    """A scientific camera: Poisson shot noise, offset and Gaussian read noise, 16-bit."""
    counts = rng.poisson(np.clip(photons, 0, None)).astype(np.float64)
    counts += offset + rng.normal(0.0, read_noise, photons.shape)
    return np.clip(np.rint(counts), 0, 65535).astype(np.uint16)


def grid(shape: tuple[int, ...]) -> list[np.ndarray]:
    return np.meshgrid(*[np.arange(n, dtype=np.float64) for n in shape], indexing="ij")


def ellipse(yy, xx, cy, cx, a, b, angle) -> np.ndarray:
    """Normalised radius of an ellipse (< 1 inside); a along ``angle``, b across."""
    c, s = math.cos(angle), math.sin(angle)
    u = (xx - cx) * c + (yy - cy) * s
    v = -(xx - cx) * s + (yy - cy) * c
    return np.sqrt((u / a) ** 2 + (v / b) ** 2)


def soft(r: np.ndarray, edge: float = 0.08) -> np.ndarray:
    """A soft-edged inside indicator from a normalised radius."""
    return 1.0 / (1.0 + np.exp(np.clip((r - 1.0) / edge, -50, 50)))


def spread_points(
    rng: np.random.Generator, count: int, shape: tuple[int, int], min_distance: float, margin: float = 0.0
) -> np.ndarray:
    """Up to ``count`` random points at least ``min_distance`` apart (dart throwing)."""
    points: list[tuple[float, float]] = []
    for _ in range(count * 60):
        if len(points) == count:
            break
        p = (rng.uniform(-margin, shape[0] + margin), rng.uniform(-margin, shape[1] + margin))
        if all((p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2 >= min_distance**2 for q in points):
            points.append(p)
    return np.array(points, dtype=np.float64).reshape(-1, 2)


def draw_line(canvas: np.ndarray, y0, x0, y1, x1, value: float) -> None:
    """Add a 1-pixel anti-aliased-enough line (sampled at half-pixel steps)."""
    steps = int(max(abs(y1 - y0), abs(x1 - x0)) * 2) + 1
    ys = np.rint(np.linspace(y0, y1, steps)).astype(int)
    xs = np.rint(np.linspace(x0, x1, steps)).astype(int)
    ok = (ys >= 0) & (ys < canvas.shape[0]) & (xs >= 0) & (xs < canvas.shape[1])
    pixels = np.unique(np.stack([ys[ok], xs[ok]], axis=1), axis=0)
    canvas[pixels[:, 0], pixels[:, 1]] += value


def splat(volume: np.ndarray, points: np.ndarray, values: np.ndarray | float) -> None:
    """Add point masses at (rounded) coordinates; blur afterwards to give them size."""
    idx = np.rint(points).astype(int)
    ok = np.all((idx >= 0) & (idx < np.array(volume.shape)), axis=1)
    vals = np.broadcast_to(np.asarray(values, dtype=np.float64), (len(points),))[ok]
    np.add.at(volume, tuple(idx[ok].T), vals)


# ---------------------------------------------------------------- OIA-000001: HeLa siRNA screen

# Plate layout: columns are siRNAs, rows B-G are replicate wells; the outer
# wells of the 96-well plate stay empty, as in real screens (edge effects).
HELA_SIRNAS = {
    "2": "negative control (non-targeting siRNA)",
    "3": "PLK1",
    "4": "KIF11",
    "5": "INCENP",
    "6": "COPB1",
    "7": "mock (transfection reagent only)",
}
HELA_ROWS = ["B", "C", "D", "E", "F", "G"]
HELA_FIELD = 160
HELA_CHANNELS = [
    {"label": "Hoechst 33342", "color": "0000FF", "window": (150, 1500)},
    {"label": "alpha-tubulin (Alexa Fluor 488)", "color": "00FF00", "window": (150, 900)},
    {"label": "F-actin (phalloidin-Alexa Fluor 568)", "color": "FF0000", "window": (150, 1000)},
]
# Fractions of cells per state for each siRNA: interphase, mitotic, monopolar,
# binucleate, apoptotic. Cell counts reflect proliferation and death.
HELA_PHENOTYPES = {
    "2": ((0.95, 0.05, 0.0, 0.0, 0.0), 17),
    "3": ((0.45, 0.50, 0.0, 0.0, 0.05), 19),
    "4": ((0.45, 0.05, 0.50, 0.0, 0.0), 17),
    "5": ((0.35, 0.05, 0.0, 0.60, 0.0), 9),
    "6": ((0.45, 0.0, 0.0, 0.0, 0.55), 6),
    "7": ((0.95, 0.05, 0.0, 0.0, 0.0), 16),
}


def hela_field(rng: np.random.Generator, column: str) -> np.ndarray:
    """One widefield field of HeLa cells, (3, y, x) uint16: DNA, tubulin, actin."""
    size = HELA_FIELD
    fractions, count = HELA_PHENOTYPES[column]
    yy, xx = grid((size, size))
    dna = np.zeros((size, size))
    tub = np.zeros((size, size))
    act = np.zeros((size, size))
    states = rng.choice(5, size=count, p=fractions)
    radii = np.where(states == 3, rng.uniform(30, 38, count), rng.uniform(20, 27, count))
    radii = np.where(np.isin(states, (1, 2)), rng.uniform(12, 15, count), radii)
    radii = np.where(states == 4, rng.uniform(7, 10, count), radii)
    centres = spread_points(rng, count, (size, size), 18.0, margin=10.0)
    count = len(centres)
    states, radii = states[:count], radii[:count]

    # Cell territories: nearest centre, bounded by each cell's wobbly outline.
    angle = np.arctan2(yy[None] - centres[:, 0, None, None], xx[None] - centres[:, 1, None, None])
    dist = np.hypot(yy[None] - centres[:, 0, None, None], xx[None] - centres[:, 1, None, None])
    wobble = np.zeros_like(dist)
    for i in range(count):
        harmonics = rng.normal(0, 0.08, 4) if states[i] in (0, 3) else rng.normal(0, 0.02, 4)
        phases = rng.uniform(0, 2 * math.pi, 4)
        wobble[i] = sum(h * np.cos((k + 2) * angle[i] + p) for k, (h, p) in enumerate(zip(harmonics, phases)))
    scaled = dist / (radii[:, None, None] * (1 + wobble))
    owner = np.argmin(scaled, axis=0)
    inside = np.take_along_axis(scaled, owner[None], 0)[0] < 1.0
    territory = np.where(inside, owner, -1)
    # Cortex: pixels of a cell next to another cell or to the background.
    edge = np.zeros((size, size), bool)
    for shift in ((0, 1), (1, 0), (0, -1), (-1, 0)):
        edge |= territory != np.roll(territory, shift, axis=(0, 1))
    edge &= territory >= 0

    texture = smooth_noise(rng, (size, size), 1.2)
    fine = smooth_noise(rng, (size, size), 0.6)
    for i in range(count):
        cy, cx = centres[i]
        own = territory == i
        if not own.any():
            continue
        state = states[i]
        r = dist[i]
        theta = angle[i]
        if state == 0:  # interphase: textured nucleus with nucleoli, aster, stress fibres
            a = rng.uniform(8.5, 11.5)
            b = a * rng.uniform(0.72, 0.95)
            phi = rng.uniform(0, math.pi)
            ny, nx = cy + rng.normal(0, 2), cx + rng.normal(0, 2)
            nucleus = soft(ellipse(yy, xx, ny, nx, a, b, phi), 0.06)
            chromatin = 0.62 * (1 + 0.22 * texture + 0.08 * fine) * rng.uniform(0.85, 1.15)
            for _ in range(rng.integers(2, 4)):
                oy, ox = rng.normal(0, a * 0.35, 2)
                chromatin = chromatin * (
                    1 - 0.45 * soft(np.hypot(yy - ny - oy, xx - nx - ox) / rng.uniform(1.6, 2.6), 0.2)
                )
            dna += nucleus * chromatin
            streaks = np.interp(
                theta, np.linspace(-math.pi, math.pi, 48), rng.uniform(0.3, 1.0, 48), period=2 * math.pi
            )
            tub += own * (0.42 * streaks * np.exp(-r / (radii[i] * 0.9)) * (1 - 0.65 * nucleus) + 0.05)
            ang = rng.uniform(0, 2 * math.pi)
            sy, sx = ny + (a + 2) * math.sin(ang), nx + (a + 2) * math.cos(ang)
            tub += 1.1 * np.exp(-((yy - sy) ** 2 + (xx - sx) ** 2) / 3.0)
            fibres = np.zeros((size, size))
            for _ in range(rng.integers(2, 5)):
                direction = rng.uniform(0, math.pi)
                offset = rng.normal(0, radii[i] * 0.4)
                dy, dx = math.sin(direction), math.cos(direction)
                py, px = cy - dx * offset, cx + dy * offset
                draw_line(fibres, py - dy * radii[i], px - dx * radii[i], py + dy * radii[i], px + dx * radii[i], 0.35)
            act += own * (0.12 + fibres) + edge * (territory == i) * 0.45
        elif state in (1, 2):  # mitosis: rounded cell, condensed chromosomes
            phi = rng.uniform(0, math.pi)
            if state == 1 and column != "3":  # metaphase plate and a bipolar spindle
                plate = soft(ellipse(yy, xx, cy, cx, rng.uniform(7, 9), rng.uniform(2.2, 3.0), phi), 0.12)
                dna += 1.35 * plate * (1 + 0.35 * fine)
                for sign in (-1, 1):
                    py, px = cy + sign * 8 * math.cos(phi), cx - sign * 8 * math.sin(phi)
                    tub += 1.3 * np.exp(-((yy - py) ** 2 + (xx - px) ** 2) / 4.0)
                tub += 0.75 * soft(ellipse(yy, xx, cy, cx, 9, 6, phi + math.pi / 2), 0.15)
            elif state == 1:  # PLK1: prometaphase arrest, scattered condensed chromosomes
                for _ in range(rng.integers(12, 20)):
                    oy, ox = rng.normal(0, 3.6, 2)
                    dna += 1.3 * soft(
                        ellipse(yy, xx, cy + oy, cx + ox, rng.uniform(1.5, 2.8), 1.2, rng.uniform(0, math.pi)), 0.2
                    )
                for _ in range(rng.integers(1, 3)):
                    oy, ox = rng.normal(0, 2.5, 2)
                    tub += 1.0 * np.exp(-((yy - cy - oy) ** 2 + (xx - cx - ox) ** 2) / 5.0)
                tub += 0.25 * soft(r / 10.0, 0.2)
            else:  # KIF11: monopolar spindle, chromosomes in a rosette around one aster
                ring = np.exp(-((r - rng.uniform(6, 7.5)) ** 2) / 3.5) * (
                    1 + 0.6 * np.cos(9 * theta + rng.uniform(0, 6))
                )
                dna += 0.95 * ring * (1 + 0.3 * fine)
                tub += 1.5 * np.exp(-(r**2) / 5.0) + 0.45 * soft(r / 6.5, 0.2)
            act += own * 0.18 + edge * (territory == i) * 0.9
        elif state == 3:  # INCENP: cytokinesis failure, two (or lobed) nuclei in one large cell
            phi = rng.uniform(0, math.pi)
            for sign in (-1, 1):
                ny, nx = cy + sign * 9.5 * math.sin(phi), cx + sign * 9.5 * math.cos(phi)
                a = rng.uniform(9.5, 12)
                nucleus = soft(ellipse(yy, xx, ny, nx, a, a * rng.uniform(0.75, 0.9), phi + rng.normal(0, 0.3)), 0.06)
                dna += nucleus * 0.6 * (1 + 0.22 * texture + 0.08 * fine)
            if rng.random() < 0.5:  # a micronucleus
                oy, ox = rng.normal(0, 14, 2)
                dna += 0.7 * soft(np.hypot(yy - cy - oy, xx - cx - ox) / 2.2, 0.15)
            streaks = np.interp(
                theta, np.linspace(-math.pi, math.pi, 64), rng.uniform(0.3, 1.0, 64), period=2 * math.pi
            )
            tub += own * (0.35 * streaks * np.exp(-r / radii[i]) + 0.05)
            act += own * 0.1 + edge * (territory == i) * 0.4
        else:  # apoptosis: shrunken cell, fragmented bright chromatin, blebs
            for _ in range(rng.integers(3, 7)):
                oy, ox = rng.normal(0, 2.8, 2)
                dna += 1.6 * soft(np.hypot(yy - cy - oy, xx - cx - ox) / rng.uniform(1.2, 2.4), 0.15)
            tub += own * 0.5
            for _ in range(rng.integers(3, 6)):
                ang = rng.uniform(0, 2 * math.pi)
                by, bx = cy + radii[i] * math.sin(ang), cx + radii[i] * math.cos(ang)
                act += 0.6 * soft(np.hypot(yy - by, xx - bx) / rng.uniform(2, 3.5), 0.2)
            act += own * 0.3

    # Optics and camera: blur, uneven illumination, well-to-well brightness, noise.
    vignette = 1 - 0.18 * (((yy - size / 2) ** 2 + (xx - size / 2) ** 2) / (size / 2) ** 2)
    brightness = rng.uniform(0.9, 1.1)
    channels = []
    for signal, peak, background in ((dna, 2300, 40), (tub, 1000, 60), (act, 1200, 50)):
        photons = (blur(signal, 1.1) * peak * brightness + background) * vignette
        channels.append(camera(rng, photons, offset=100, read_noise=2.5))
    return np.stack(channels)


def make_hela_plate(out: Path) -> Path:
    rng = np.random.default_rng(1001)
    wells = {(row, column): [hela_field(rng, column)] for row in HELA_ROWS for column in HELA_SIRNAS}
    return write_plate(
        out / "OIA-000001" / "plate1.ome.zarr",
        wells,
        version="0.4",
        axes="cyx",
        channels=HELA_CHANNELS,
        scale={"y": 0.65, "x": 0.65},
        levels=2,
        chunks=(1, HELA_FIELD, HELA_FIELD),
        name="HeLa siRNA plate 1",
        rows=list("ABCDEFGH"),
        columns=[str(c) for c in range(1, 13)],
        acquisition_name="plate 1, 48 h after transfection",
        compressor="blosc",
    )


# ---------------------------------------------------------------- OIA-000002: cleared mouse brain (light sheet)

BRAIN_SHAPE = (48, 176, 224)  # z (dorsal-ventral), y (left-right), x (rostral-caudal)
BRAIN_SCALE = {"z": 125.0, "y": 50.0, "x": 50.0}


def brain_masks(shape: tuple[int, int, int]) -> dict[str, np.ndarray]:
    """Soft masks of a mouse brain's main parts, in a horizontal-section frame."""
    nz, ny, nx = shape
    zz, yy, xx = grid(shape)
    z = (zz - nz * 0.55) / (nz * 0.45)  # -1 ventral ... +1 dorsal (plane index grows dorsally)
    y = (yy - ny / 2) / (ny / 2)
    x = (xx - nx / 2) / (nx / 2)
    parts: dict[str, np.ndarray] = {}
    # Two cerebral hemispheres separated by the midline fissure.
    # One ellipsoid, wider caudally, split dorsally by the longitudinal fissure.
    cerebrum_r = np.sqrt(
        ((x + 0.02) / 0.52) ** 2 + (y / (0.8 * (0.9 + 0.12 * (x + 0.02) / 0.52))) ** 2 + (z / 0.95) ** 2
    )
    # The fissure reaches down to the corpus callosum, which joins the hemispheres below it.
    hemispheres = soft(cerebrum_r, 0.03) * (1 - 0.6 * np.exp(-(y**2) / 0.0004) * soft((0.9 - z) / 0.6, 0.1))
    parts["cerebrum"] = hemispheres
    bulbs = np.zeros(shape)
    for side in (-1, 1):
        r = np.sqrt(((x + 0.6) / 0.16) ** 2 + ((y - side * 0.12) / 0.12) ** 2 + ((z + 0.05) / 0.45) ** 2)
        bulbs = np.maximum(bulbs, soft(r, 0.05))
    parts["olfactory bulbs"] = bulbs
    r = np.sqrt(((x - 0.6) / 0.21) ** 2 + (y / 0.58) ** 2 + ((z - 0.05) / 0.75) ** 2)
    parts["cerebellum"] = soft(r, 0.04)
    r = np.sqrt(((x - 0.45) / 0.42) ** 2 + (y / 0.22) ** 2 + ((z + 0.55) / 0.45) ** 2)
    parts["brainstem"] = soft(r, 0.05)
    parts["all"] = np.clip(sum(parts.values()), 0, 1)
    # Depth below the cortical surface, for the layered cortex.
    parts["hemisphere radius"] = cerebrum_r
    parts["coords"] = np.stack([x, y, z])
    return parts


def vessel_tree(rng: np.random.Generator, shape: tuple[int, int, int], inside: np.ndarray) -> np.ndarray:
    """Penetrating vessels from the surface plus large surface arteries, as a density volume."""
    density = np.zeros(shape)
    anisotropy = np.array([BRAIN_SCALE["z"] / BRAIN_SCALE["x"], 1.0, 1.0])
    surface = np.argwhere((inside > 0.5) & (blur(inside, 1.5) < 0.75))
    starts = surface[rng.choice(len(surface), size=260, replace=False)]
    centre = np.array(shape, dtype=float) / 2
    for start in starts:
        position = start.astype(float)
        direction = (centre - position) / anisotropy
        direction /= np.linalg.norm(direction)
        strength = rng.uniform(0.6, 1.4)
        branches = [(position, direction, strength, int(rng.integers(18, 45)))]
        while branches:
            position, direction, strength, length = branches.pop()
            points = []
            for _ in range(length):
                direction = direction + rng.normal(0, 0.18, 3)
                direction /= np.linalg.norm(direction)
                position = position + direction * 0.8 / anisotropy
                points.append(position.copy())
                if strength > 0.35 and rng.random() < 0.04:
                    branch = direction + rng.normal(0, 0.8, 3)
                    branches.append(
                        (position.copy(), branch / np.linalg.norm(branch), strength * 0.6, int(length * 0.6))
                    )
            splat(density, np.array(points), strength)
    # Interior vessels: shorter meandering segments throughout the tissue.
    interior = np.argwhere(inside > 0.9)
    for start in interior[rng.choice(len(interior), size=700, replace=False)]:
        position = start.astype(float)
        direction = rng.normal(0, 1, 3)
        direction /= np.linalg.norm(direction)
        points = []
        for _ in range(int(rng.integers(16, 40))):
            direction = direction + rng.normal(0, 0.3, 3)
            direction /= np.linalg.norm(direction)
            position = position + direction * 0.8 / anisotropy
            points.append(position.copy())
        splat(density, np.array(points), rng.uniform(0.25, 0.6))
    # Large arteries on the dorsal and lateral surface (middle cerebral artery branches).
    for _ in range(14):
        position = surface[rng.integers(len(surface))].astype(float)
        direction = rng.normal(0, 1, 3) * np.array([0.2, 1, 1])
        direction /= np.linalg.norm(direction)
        points = []
        for _ in range(90):
            direction = direction + rng.normal(0, 0.08, 3) * np.array([0.2, 1, 1])
            direction /= np.linalg.norm(direction)
            position = position + direction * 0.8
            points.append(position.copy())
        splat(density, np.array(points), 3.0)
    return blur(density, (0.35, 0.55, 0.55)) * inside


def make_mouse_brain(out: Path) -> Path:
    rng = np.random.default_rng(2002)
    shape = BRAIN_SHAPE
    parts = brain_masks(shape)
    inside = parts["all"]
    x, y, z = parts["coords"]
    depth = 1 - parts["hemisphere radius"]  # 0 at the cortical surface
    texture = smooth_noise(rng, shape, (0.6, 2.5, 2.5))
    speckle = smooth_noise(rng, shape, (0.3, 0.8, 0.8))

    auto = 0.55 * inside
    # Cortical layers: a dim layer 1, bright layers 2-4, dimmer deep layers.
    cortex = parts["cerebrum"] * (depth < 0.26)
    auto += cortex * (0.22 * np.exp(-((depth - 0.08) ** 2) / 0.0015) - 0.12 * np.exp(-((depth - 0.012) ** 2) / 0.0002))
    # Corpus callosum and external capsule: a bright curved sheet of fibres.
    callosum = np.exp(-((depth - 0.3) ** 2) / 0.0012) * parts["cerebrum"] * (x > -0.35) * (x < 0.3)
    auto += 0.35 * callosum
    # Striatum: fibre bundles make dark speckles.
    striatum = np.zeros(shape)
    for side in (-1, 1):
        striatum += soft(
            np.sqrt(((x + 0.12) / 0.2) ** 2 + ((y - side * 0.3) / 0.16) ** 2 + ((z + 0.05) / 0.5) ** 2), 0.1
        )
    auto -= 0.12 * striatum * (speckle > 1.1)
    # Hippocampus: a C-shaped bright pyramidal/granule cell band in each hemisphere.
    for side in (-1, 1):
        u = np.hypot((x - 0.12) / 0.16, (np.abs(y) - 0.26) / 0.13)
        band = np.exp(-((u - 1) ** 2) / 0.006) * (z > -0.3) * (np.sign(y) == side) * (x > 0.0)
        auto += 0.1 * band * parts["cerebrum"]
    # Ventricles: dark slits beside the midline.
    for side in (-1, 1):
        ventricle = soft(
            np.sqrt(((x + 0.1) / 0.12) ** 2 + ((y - side * 0.08) / 0.015) ** 2 + ((z - 0.1) / 0.35) ** 2), 0.15
        )
        auto -= 0.3 * ventricle * inside
    # Cerebellar folia: alternating bright granular and dim molecular layers.
    folia = 0.5 + 0.5 * np.cos(2 * math.pi * np.hypot(x - 0.6, z + 0.2) / 0.07 + 0.6 * texture)
    auto += parts["cerebellum"] * (0.3 * folia - 0.1)
    auto += 0.25 * parts["olfactory bulbs"] * np.exp(-((np.hypot((x + 0.6) / 0.16, y / 0.25) - 0.6) ** 2) / 0.02)
    auto *= 1 + 0.06 * texture
    auto = np.clip(auto, 0, None) * inside

    vessels = vessel_tree(rng, shape, inside)
    vessels = vessels / np.percentile(vessels[vessels > 0], 99.5)
    # Light-sheet artefacts: a faint stripe pattern along the illumination axis (y).
    stripes = 1 + 0.03 * smooth_noise(rng, (shape[0], 1, shape[2]), (0.5, 0, 1.2))
    signal_auto = blur(auto, (0.4, 0.6, 0.6)) * stripes
    signal_vessel = np.clip(vessels, 0, 1.5) + 0.08 * signal_auto
    # The resampled overview averages ~100 camera pixels per voxel: little shot noise is left.
    volume = np.stack(
        [
            np.clip(np.rint(signal_auto * 1800 + rng.normal(0, 6, shape) * inside), 0, 65535),
            np.clip(np.rint(signal_vessel * 2400 + rng.normal(0, 6, shape) * inside), 0, 65535),
        ]
    ).astype(np.uint16)
    volume[:, inside < 0.02] = 0  # background-subtracted and masked after stitching
    return write_image(
        out / "OIA-000002" / "brain.ome.zarr",
        volume,
        axes="czyx",
        version="0.5",
        scale=BRAIN_SCALE,
        levels=3,
        chunks=(1, 24, 176, 224),
        channels=[
            {"label": "autofluorescence 561 nm", "color": "FFFFFF", "window": (0, 2100)},
            {"label": "lectin-DyLight 649 (vessels)", "color": "FF00FF", "window": (150, 2600)},
        ],
        name="cleared adult mouse brain, whole-brain overview",
        default_z=26,
        compressor="blosc",
    )


# ---------------------------------------------------------------- OIA-000003: cryo-ET of Chlamydomonas

TOMO_SHAPE = (40, 192, 192)
TOMO_PIXEL_NM = 1.8


def particles(points: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blobs of peak 1 (before overlap) at the point masses in ``points``."""
    return blur(points, sigma) * (2 * math.pi) ** 1.5 * sigma**3


def make_tomogram(out: Path) -> Path:
    """A denoised, 4x-binned tomogram through a Chlamydomonas chloroplast.

    Thylakoid stacks cross the field as paired membranes around a lumen;
    chloroplast ribosomes and smaller complexes sit in the stroma between
    them; the pyrenoid's dense Rubisco matrix fills one corner.
    """
    rng = np.random.default_rng(3003)
    shape = TOMO_SHAPE
    zz, yy, xx = grid(shape)
    density = np.zeros(shape)
    # Thylakoid sheets: gently curving surfaces y = f(x, z); each thylakoid is two
    # 4 nm membranes around a ~9 nm lumen; stacks of 3-5 with 4 nm stromal gaps.
    curve = 0.0009 * (xx - 80) ** 2 + 0.03 * (zz - 20) + 3.0 * np.sin(xx / 37.0)
    position = 14.0
    membrane_px = 4.0 / TOMO_PIXEL_NM
    lumen_px = 9.0 / TOMO_PIXEL_NM
    while position < 150:
        for _ in range(rng.integers(3, 6)):
            for offset in (0.0, lumen_px + membrane_px):
                d = yy - curve - position - offset
                density += 0.9 * np.exp(-(d**2) / (2 * (membrane_px / 2.3) ** 2))
            position += 2 * membrane_px + lumen_px + 4.0 / TOMO_PIXEL_NM
        position += rng.uniform(18, 34)  # stroma between stacks
    # Thylakoids end at the pyrenoid: clear the corner it occupies.
    pyrenoid = soft(np.sqrt(((yy - 170) / 60) ** 2 + ((xx - 180) / 70) ** 2 + ((zz - 20) / 200) ** 2), 0.04)
    density *= 1 - pyrenoid
    # Ribosomes (~25 nm) in the stroma, avoiding membranes; smaller complexes too.
    free = (density < 0.05) & (pyrenoid < 0.1)
    candidates = np.argwhere(free[6:-6, 8:-8, 8:-8]) + np.array([6, 8, 8])
    ribosomes = np.zeros(shape)
    small = np.zeros(shape)
    picks = candidates[rng.choice(len(candidates), 170, replace=False)]
    splat(ribosomes, picks[:60], 1.0)
    splat(small, picks[60:], 1.0)
    density += 1.1 * particles(ribosomes, 12.5 / TOMO_PIXEL_NM / 1.6)
    density += 0.7 * particles(small, 5.0 / TOMO_PIXEL_NM / 1.6)
    # Pyrenoid: a dense liquid-like matrix of Rubisco (~12 nm) with a tubule crossing it.
    rubisco = np.zeros(shape)
    points = np.argwhere(pyrenoid > 0.5)
    splat(rubisco, points[rng.choice(len(points), min(len(points), 2600), replace=False)], 1.0)
    density += pyrenoid * (0.2 + 0.5 * particles(rubisco, 6.0 / TOMO_PIXEL_NM / 1.6))
    tubule = np.hypot(yy - (120 + 0.35 * (xx - 120)), (zz - 20) * 0.8)
    density -= 0.3 * pyrenoid * soft(tubule / 7.0, 0.1)
    density += 0.8 * pyrenoid * np.exp(-((tubule - 7.0) ** 2) / 1.5)
    # Imaging: limited resolution, elongation along z (missing wedge), phase-contrast
    # fringes (a high-pass), then residual noise after denoising. Density is dark.
    image = -blur(density, (2.0, 0.9, 0.9))
    image = image - 0.5 * blur(image, (6, 5, 5))
    image = (image - image.mean()) / image.std()
    image += 0.55 * smooth_noise(rng, shape, (1.0, 0.9, 0.9)) + 0.3 * rng.standard_normal(shape)
    image = (image - image.mean()) / image.std()
    tomogram = np.clip(np.rint(image * 28), -128, 127).astype(np.int8)
    return write_image(
        out / "OIA-000003" / "tomogram.ome.zarr",
        tomogram,
        axes="zyx",
        version="0.5",
        scale={"z": TOMO_PIXEL_NM, "y": TOMO_PIXEL_NM, "x": TOMO_PIXEL_NM},
        units={"z": "nanometer", "y": "nanometer", "x": "nanometer"},
        levels=3,
        chunks=(40, 192, 192),
        channels=[{"label": "electron density (denoised)", "color": "FFFFFF", "window": (-70, 70)}],
        name="Chlamydomonas chloroplast, tomogram TS_017",
        compressor="zstd",
    )


# ---------------------------------------------------------------- OIA-000004: zebrafish time-lapse with labels

FISH_SHAPE = (6, 12, 160, 160)  # t, z, y, x
FISH_SCALE = {"t": 120.0, "z": 2.0, "y": 0.5, "x": 0.5}


def make_zebrafish(out: Path) -> Path:
    """Nuclei (H2B-GFP) in the blastoderm of a zebrafish embryo during epiboly, with a segmentation.

    Nuclei drift towards the margin (epiboly), jiggle, and a few divide: the
    chromatin condenses into a bright plate, then two daughters separate. The
    label image has one id per nucleus, kept across time (daughters get new ids),
    so it serves both segmentation and tracking benchmarks.
    """
    rng = np.random.default_rng(4004)
    nt, nz, ny, nx = FISH_SHAPE
    # Nuclei in a curved sheet (the blastoderm's surface dips away from the centre).
    count = 46
    start = spread_points(rng, count, (ny + 20, nx + 20), 19.0) - 10
    cells = []
    for i, (y, x) in enumerate(start):
        cells.append(
            {
                "id": i + 1,
                "y": y,
                "x": x,
                "radius": rng.uniform(6.5, 8.5),
                "brightness": rng.uniform(0.75, 1.15),
                "divides_at": int(rng.integers(2, nt)) if rng.random() < 0.3 else None,
                "axis": rng.uniform(0, math.pi),
            }
        )
    next_id = count + 1
    zz, yy, xx = grid((nz, ny, nx))
    texture = smooth_noise(rng, (nz, ny, nx), (0.4, 0.7, 0.7))  # chromatin granularity
    frames, label_frames = [], []
    for t in range(nt):
        signal = np.zeros((nz, ny, nx))
        labels = np.zeros((nz, ny, nx), np.uint16)
        born = []
        for cell in cells:
            # Epiboly: a slow drift outwards from the animal pole, plus random motion.
            cell["y"] += 0.9 * (cell["y"] - ny / 2) / ny + rng.normal(0, 0.6)
            cell["x"] += 0.9 * (cell["x"] - nx / 2) / nx + 1.0 + rng.normal(0, 0.6)
            sheet_z = nz * 0.55 - 0.00035 * ((cell["y"] - ny / 2) ** 2 + (cell["x"] - nx / 2) ** 2)
            cell["z"] = sheet_z
            phase = None if cell["divides_at"] is None else t - cell["divides_at"]
            if phase == 0:  # metaphase: a bright condensed plate
                r = ellipse(yy, xx, cell["y"], cell["x"], cell["radius"] * 0.85, 2.4, cell["axis"])
                rz = np.abs(zz - cell["z"]) / 2.2
                inside = np.sqrt(r**2 + rz**2)
                signal += 2.3 * soft(inside, 0.1) * cell["brightness"]
                labels[inside < 1.0] = cell["id"]
                continue
            if phase == 1:  # telophase: two daughters; the mother's track ends
                for sign in (-1, 1):
                    daughter = {
                        "id": next_id,
                        "y": cell["y"] + sign * 6.5 * math.cos(cell["axis"]),
                        "x": cell["x"] - sign * 6.5 * math.sin(cell["axis"]),
                        "radius": cell["radius"] * 0.72,
                        "brightness": cell["brightness"] * 1.4,
                        "divides_at": None,
                        "axis": cell["axis"],
                    }
                    next_id += 1
                    born.append(daughter)
                cell["gone"] = True
                continue
            r = ellipse(yy, xx, cell["y"], cell["x"], cell["radius"], cell["radius"] * 0.85, cell["axis"])
            rz = np.abs(zz - cell["z"]) / (cell["radius"] * 0.5 / 2.0 * 1.6)
            inside = np.sqrt(r**2 + rz**2)
            signal += soft(inside, 0.08) * cell["brightness"] * np.clip(1 + 0.4 * texture, 0.2, None)
            labels[inside < 1.0] = cell["id"]
        for daughter in born:
            daughter["z"] = nz * 0.55 - 0.00035 * ((daughter["y"] - ny / 2) ** 2 + (daughter["x"] - nx / 2) ** 2)
            r = ellipse(
                yy, xx, daughter["y"], daughter["x"], daughter["radius"], daughter["radius"] * 0.8, daughter["axis"]
            )
            inside = np.sqrt(r**2 + (np.abs(zz - daughter["z"]) / 2.2) ** 2)
            signal += soft(inside, 0.1) * daughter["brightness"] * np.clip(1 + 0.4 * texture, 0.2, None)
            labels[inside < 1.0] = daughter["id"]
        cells = [c for c in cells if not c.get("gone")] + born
        # Spinning disk: axial blur is larger than lateral; scattering dims deeper planes;
        # yolk autofluorescence glows faintly below the blastoderm.
        attenuation = np.exp(-(nz - 1 - zz) / 18.0)
        yolk = 0.08 * soft((zz + 2.0) / 4.0, 0.3)
        photons = (blur(signal, (0.8, 1.3, 1.3)) * 900 + yolk * 900) * attenuation * (1 - 0.04 * t) + 15
        frames.append(camera(rng, photons, offset=100, read_noise=1.8))
        label_frames.append(labels)
    movie = np.stack(frames)[:, None]  # t, c, z, y, x
    path = write_image(
        out / "OIA-000004" / "embryo.ome.zarr",
        movie,
        axes="tczyx",
        version="0.5",
        scale=FISH_SCALE,
        units={"t": "second", "z": "micrometer", "y": "micrometer", "x": "micrometer"},
        levels=2,
        chunks=(1, 1, 12, 160, 160),
        channels=[{"label": "H2B-GFP", "color": "00FF00", "window": (110, 1000)}],
        name="zebrafish embryo 60% epiboly, animal-pole view",
        default_z=7,
        default_t=3,  # a frame with divisions under way
        compressor="blosc",
    )
    write_labels(
        path,
        "nuclei",
        np.stack(label_frames),
        properties=None,
        compressor="blosc",
    )
    return path


# ---------------------------------------------------------------- OIA-000005: mouse micro-CT

CT_SHAPE = (56, 88, 200)  # z (ventral-dorsal), y (left-right), x (rostral-caudal)
CT_VOXEL_MM = 0.45


def make_mouse_ct(out: Path) -> Path:
    """A whole adult mouse, in vivo micro-CT in Hounsfield units (int16).

    Soft tissue and subcutaneous fat, air-filled lungs, the heart, the skull with
    teeth, spine, ribs, shoulder and hip bones and limbs, and gas in the gut.
    """
    rng = np.random.default_rng(5005)
    nz, ny, nx = CT_SHAPE
    zz, yy, xx = grid(CT_SHAPE)
    hu = np.full(CT_SHAPE, -1000.0)
    # Body outline: radius along the body axis (nose at x=0, tail base at the end).
    s = xx / nx
    profile = np.interp(
        np.arange(nx) / nx, [0.0, 0.06, 0.2, 0.26, 0.45, 0.7, 0.88, 0.97, 1.0], [3, 11, 20, 17, 30, 33, 27, 10, 6]
    )
    profile = blur(profile, 4.0)  # a rounded outline, not a polygon
    half_width = np.broadcast_to(profile, CT_SHAPE)
    half_height = half_width * 0.78
    centre_z = nz * 0.48 + np.interp(s, [0, 0.2, 0.5, 1.0], [2, 4, 3, 2])
    body_r = np.sqrt(((yy - ny / 2) / half_width) ** 2 + ((zz - centre_z) / half_height) ** 2)
    body = body_r < 1.0
    # Muscle and organs differ by a few tens of HU; fat sits under the skin.
    hu[body] = 45.0 + 14.0 * smooth_noise(rng, CT_SHAPE, 2.5)[body]
    hu[body & (body_r > 0.86) & (body_r < 0.97) & (s > 0.3)] = -95.0  # subcutaneous fat
    # Spine: a dorsal curve of vertebrae, from the skull base to the tail.
    spine_z = centre_z + half_height * 0.62
    spine_x = np.arange(int(0.2 * nx), int(0.98 * nx))
    bone = np.zeros(CT_SHAPE)
    for x0 in spine_x[::4]:
        sz = np.interp(x0, np.arange(nx), spine_z[0, 0])
        radius = 2.3 if x0 < 0.9 * nx else 1.4
        vertebra = ellipse(zz, yy, sz, ny / 2, radius, radius * 1.1, 0)  # in z-y
        along = np.abs(xx - x0 - 1.5) < 1.5
        bone = np.maximum(bone, (vertebra < 1.0) * along * 1.0)
        arch = np.abs(np.hypot(zz - sz - 2.2, yy - ny / 2) - 2.0) < 0.9
        bone = np.maximum(bone, arch * along * (zz > sz) * 0.9)
    # Ribs: 13 pairs, arcs around the thorax from the thoracic vertebrae.
    for k in range(13):
        x0 = 0.3 * nx + k * 0.028 * nx
        for side in (-1, 1):
            for a in np.linspace(0.05, 2.7, 60):
                hw = np.interp(x0, np.arange(nx), half_width[0, 0]) * 0.9
                hh = hw * 0.78
                cz = np.interp(x0, np.arange(nx), centre_z[0, 0])
                py = ny / 2 + side * hw * math.sin(a)
                pz = cz + hh * math.cos(a) * 0.95
                px = x0 + a * 2.0
                near = np.abs(xx[0, 0] - px) < 1.0
                zi, yi = int(np.rint(pz)), int(np.rint(py))
                if 0 <= zi < nz and 0 <= yi < ny:
                    bone[zi, yi, near] = np.maximum(bone[zi, yi, near], 0.85)
    # Skull: a shell around the brain, and teeth.
    skull_r = np.sqrt(
        ((xx - 0.12 * nx) / (0.1 * nx)) ** 2 + ((yy - ny / 2) / 10.5) ** 2 + ((zz - centre_z - 1) / 8.0) ** 2
    )
    bone = np.maximum(bone, ((skull_r > 0.82) & (skull_r < 1.0)) * 1.0)
    hu[skull_r < 0.82] = 35.0  # brain
    teeth = np.sqrt(((xx - 0.035 * nx) / 3.0) ** 2 + ((yy - ny / 2) / 1.6) ** 2 + ((zz - centre_z + 3) / 2.0) ** 2)
    bone = np.maximum(bone, (teeth < 1) * 1.6)
    # Lungs, heart, gut gas, kidneys.
    for side in (-1, 1):
        lung = np.sqrt(
            ((xx - 0.37 * nx) / (0.12 * nx)) ** 2
            + ((yy - ny / 2 - side * 9.5) / 8.5) ** 2
            + ((zz - centre_z - 1) / 9.5) ** 2
        )
        hu[lung < 1] = -720.0
        kidney = np.sqrt(
            ((xx - 0.6 * nx) / 4.5) ** 2 + ((yy - ny / 2 - side * 9) / 3.0) ** 2 + ((zz - centre_z - 6) / 3.5) ** 2
        )
        hu[kidney < 1] = 60.0
        # Shoulder blades, humeri, pelvis, femurs.
        for xc, length, zc, radius, tilt in (
            (0.27, 9, 7, 1.1, 0.5),
            (0.3, 12, -5, 1.0, -0.6),
            (0.78, 10, 3, 1.2, 0.4),
            (0.82, 14, -6, 1.1, -0.5),
        ):
            t = np.linspace(0, 1, 40)
            for u in t:
                px = xc * nx + u * length * math.cos(tilt)
                pz = centre_z[0, 0, int(min(nx - 1, xc * nx))] + zc - u * length * math.sin(tilt) * 0.4
                py = ny / 2 + side * (np.interp(xc * nx, np.arange(nx), half_width[0, 0]) * 0.7)
                near = np.sqrt((xx - px) ** 2 + (yy - py) ** 2 + (zz - pz) ** 2) < radius * 1.4
                bone = np.maximum(bone, near * 0.95)
    liver = np.sqrt(
        ((xx - 0.5 * nx) / (0.08 * nx)) ** 2 + ((yy - ny / 2 + 3) / 20.0) ** 2 + ((zz - centre_z + 1) / 11.0) ** 2
    )
    hu[(liver < 1) & body] = 70.0
    # Gut: convoluted loops with mixed contents in the abdomen.
    gut = (np.abs(smooth_noise(rng, CT_SHAPE, 1.8)) < 0.35) & body & (body_r < 0.8) & (s > 0.56) & (s < 0.82)
    hu[gut] = 20.0 + 60 * smooth_noise(rng, CT_SHAPE, 0.8)[gut]
    heart = np.sqrt(((xx - 0.38 * nx) / 8.0) ** 2 + ((yy - ny / 2 + 2) / 7.0) ** 2 + ((zz - centre_z + 2) / 6.0) ** 2)
    hu[heart < 1] = 55.0
    gas = np.zeros(CT_SHAPE)
    pockets = 45  # gas in the stomach, caecum and colon: dark bubbles in every abdominal plane
    splat(
        gas,
        np.column_stack(
            [
                rng.normal(centre_z[0, 0, 130] - 1, 5, pockets),
                rng.normal(ny / 2, 10, pockets),
                rng.uniform(0.52, 0.85, pockets) * nx,
            ]
        ),
        rng.uniform(0.5, 1.5, pockets),
    )
    gas = blur(gas, 2.0) > 0.003
    hu[gas & body] = -850.0
    # Bronchial tree texture inside the lungs.
    lungs = hu < -600
    hu[lungs & body] += 120 * smooth_noise(rng, CT_SHAPE, 1.0)[lungs & body]
    hu = np.where(bone > 0, 450 + 900 * bone, hu)
    # Reconstruction: finite resolution and noise (higher in air from the Feldkamp filter).
    image = blur(hu, 0.7) + rng.normal(0, 12, CT_SHAPE)
    ct = np.clip(np.rint(image), -1024, 3071).astype(np.int16)
    lung_plane = round(float(centre_z[0, 0, int(0.37 * nx)])) + 1
    return write_image(
        out / "OIA-000005" / "mouse-ct.ome.zarr",
        ct,
        axes="zyx",
        version="0.4",
        scale={"z": CT_VOXEL_MM, "y": CT_VOXEL_MM, "x": CT_VOXEL_MM},
        units={"z": "millimeter", "y": "millimeter", "x": "millimeter"},
        levels=2,
        chunks=(56, 88, 200),
        channels=[{"label": "X-ray attenuation (HU)", "color": "FFFFFF", "window": (-700, 1000)}],
        name="adult C57BL/6J mouse, whole body",
        default_z=lung_plane,
        compressor="zstd",
    )


# ---------------------------------------------------------------- OIA-000006: Drosophila wing disc (embargoed)

DISC_SHAPE = (2, 10, 144, 176)  # c, z, y, x


def make_wing_disc(out: Path) -> Path:
    """A third-instar wing imaginal disc: nuclei (DAPI) and a Dpp activity gradient (pMad)."""
    rng = np.random.default_rng(6006)
    _, nz, ny, nx = DISC_SHAPE
    _, yy, xx = grid((nz, ny, nx))
    # The pouch fills the middle of the field; the hinge folds circle it as dark
    # grooves, and the disc's edge cuts the corners.
    pouch_r = ellipse(yy, xx, ny * 0.5, nx * 0.47, nx * 0.3, ny * 0.37, 0.15)
    disc = soft(pouch_r / 1.75, 0.04)
    folds = sum(np.exp(-((pouch_r - r0) ** 2) / 0.002) for r0 in (1.18, 1.42))
    # Epithelium: densely packed nuclei (~3 µm) on a jittered lattice, in a
    # columnar layer that bulges where the pouch is.
    spacing = 2.5
    lattice = np.stack(np.meshgrid(np.arange(0, ny, spacing), np.arange(0, nx, spacing), indexing="ij"), -1)
    lattice[:, 1::2, 0] += spacing / 2
    centres = lattice.reshape(-1, 2) + rng.normal(0, 0.45, (lattice.shape[0] * lattice.shape[1], 2))
    centres = centres[(centres[:, 0] >= 0) & (centres[:, 0] < ny) & (centres[:, 1] >= 0) & (centres[:, 1] < nx)]
    sheet_z = nz * 0.42 + 2.2 * soft(pouch_r, 0.3)
    zs = sheet_z[0][centres[:, 0].astype(int), centres[:, 1].astype(int)] + rng.normal(0, 0.7, len(centres))
    nuclei = np.zeros((nz, ny, nx))
    splat(nuclei, np.column_stack([zs, centres]), rng.uniform(0.75, 1.2, len(centres)))
    nuclei = particles(nuclei, 0.75) * 0.9 * disc * (1 - 0.85 * np.clip(folds, 0, 1))
    # pMad: nuclear, highest either side of the anterior-posterior boundary, with a
    # dip in the Dpp-producing stripe itself; weak outside the pouch.
    ap = (xx - nx * 0.47) * math.cos(0.12) + (yy - ny * 0.5) * math.sin(0.12)
    gradient = np.exp(-np.abs(ap) / 13.0) * (1 - 0.65 * np.exp(-(ap**2) / 5.0))
    pmad = nuclei * gradient * (0.2 + 0.8 * soft(pouch_r, 0.08))
    volume = np.stack(
        [
            camera(rng, blur(nuclei, (0.9, 0.5, 0.5)) * 700 + 20, offset=100, read_noise=2.0),
            camera(rng, blur(pmad, (0.9, 0.5, 0.5)) * 900 + 15, offset=100, read_noise=2.0),
        ]
    )
    return write_image(
        out / "OIA-000006" / "wing-disc.ome.zarr",
        volume,
        axes="czyx",
        version="0.4",
        scale={"z": 1.5, "y": 0.9, "x": 0.9},
        levels=2,
        chunks=(1, 10, 144, 176),
        channels=[
            {"label": "DAPI", "color": "0000FF", "window": (110, 900)},
            {"label": "pMad (anti-pSmad3, Alexa Fluor 568)", "color": "FFFF00", "window": (110, 700)},
        ],
        name="wing disc, late L3, disc 04",
        compressor="blosc",
    )


# ---------------------------------------------------------------- OIA-000007: brain regions (derived from OIA-000002)

BRAIN_REGIONS = ("cerebrum", "olfactory bulbs", "cerebellum", "brainstem")
REGION_COLOURS = ("4477AA", "EE6677", "228833", "CCBB44")


def make_brain_regions(out: Path) -> Path:
    """Region labels drawn on the grid of OIA-000002's brain overview: the example of a derived study.

    No pixels of the source are copied: the image is the region map itself (one "region id" channel), with
    the same map as its NGFF label image so that viewers overlay it on the source."""
    parts = brain_masks(BRAIN_SHAPE)
    regions = np.zeros(BRAIN_SHAPE, dtype=np.uint8)
    for value, name in enumerate(BRAIN_REGIONS, start=1):
        # later regions win where masks overlap (the cerebellum over the cerebrum's caudal edge)
        regions[parts[name] > 0.5] = value
    path = write_image(
        out / "OIA-000007" / "brain-regions.ome.zarr",
        regions[None],
        axes="czyx",
        version="0.5",
        scale=BRAIN_SCALE,
        levels=2,
        chunks=(1, 24, 176, 224),
        channels=[{"label": "region id", "color": "FFFFFF", "window": (0, len(BRAIN_REGIONS))}],
        name="brain regions of OIA-000002's whole-brain overview",
        default_z=26,
        compressor="blosc",
    )
    write_labels(
        path,
        "regions",
        regions,
        colors={value: colour for value, colour in enumerate(REGION_COLOURS, start=1)},
        properties={value: {"region": name} for value, name in enumerate(BRAIN_REGIONS, start=1)},
        compressor="blosc",
    )
    return path


# ---------------------------------------------------------------- main

GENERATORS = {
    "OIA-000001": make_hela_plate,
    "OIA-000002": make_mouse_brain,
    "OIA-000003": make_tomogram,
    "OIA-000004": make_zebrafish,
    "OIA-000005": make_mouse_ct,
    "OIA-000006": make_wing_disc,
    "OIA-000007": make_brain_regions,
}


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "example-data", help="the storage root to write into")
    parser.add_argument("studies", nargs="*", metavar="ACCESSION", help=f"only these of {', '.join(GENERATORS)}")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.studies) - set(GENERATORS))
    if unknown:
        parser.error(f"no example data for {', '.join(unknown)}")
    for accession in args.studies or list(GENERATORS):
        path = GENERATORS[accession](args.out)
        print(f"{accession}: {path.relative_to(args.out)}  {folder_bytes(path) / 1e6:.2f} MB")
    print(f"total: {folder_bytes(args.out) / 1e6:.2f} MB in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
