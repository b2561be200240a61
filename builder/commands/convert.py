"""`bioarchive convert INPUT... -o OUT`: microscopy files -> validated OME-Zarr.

One input with one image and an output ending in ``.zarr`` writes that image;
otherwise OUT is a folder and every image (each series or scene of each
file) is written as ``<file name>[_<series>].ome.zarr`` in it. Each file is
decoded in an isolated worker under a memory limit; every image is checked
by the archive's own validator before it gets its final name.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click


def _pixel_size(value: str | None) -> tuple[float, ...] | None:
    if not value:
        return None
    try:
        sizes = tuple(float(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter(f"'{value}' is not X[,Y[,Z]] in micrometres, e.g. 0.1,0.1,0.5") from None
    if len(sizes) == 1:
        sizes = (sizes[0], sizes[0])
    if not 2 <= len(sizes) <= 3 or any(not s > 0 for s in sizes):
        raise click.BadParameter(f"'{value}' must be 1-3 positive numbers (micrometres), e.g. 0.1,0.1,0.5")
    return sizes


@click.command("convert")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(path_type=Path),
    help="OUT.ome.zarr for one image, or a folder for several.",
)
@click.option(
    "--ngff-version",
    "version",
    type=click.Choice(["0.5", "0.4"]),
    default="0.5",
    show_default=True,
    help="0.5 (Zarr v3, sharded) or 0.4 (Zarr v2) for older viewers.",
)
@click.option(
    "--codec",
    type=click.Choice(["blosc-zstd", "blosc-lz4", "zstd", "gzip", "none"]),
    default=None,
    help="Lossless compression (default: blosc-zstd, see benchmarks/README.md).",
)
@click.option(
    "--pixel-size", "pixel_size", metavar="X[,Y[,Z]]", help="Pixel size in micrometres, overriding the file's."
)
@click.option(
    "--memory",
    "memory_mb",
    type=click.IntRange(1024),
    default=None,
    help="Memory limit of the decoding worker in MB (default: archive.toml limits.worker_memory_bytes).",
)
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(1),
    default=3600,
    show_default=True,
    help="Seconds allowed per input file.",
)
@click.option("--threads", type=click.IntRange(1, 64), default=2, show_default=True, help="Threads per conversion.")
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDR",
    help="A Dask distributed scheduler (tcp://host:port) to convert many files on in parallel; its workers must "
    "see the input and output folders.",
)
@click.option("--overwrite", is_flag=True, help="Replace existing outputs (only after the new one is complete).")
@click.option(
    "--root",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Archive root (default: the folder holding archive.toml above the current one).",
)
def command(
    inputs, output, version, codec, pixel_size, memory_mb, timeout_s, threads, scheduler, overwrite, root
) -> None:
    """Convert microscopy files (TIFF, OME-TIFF, CZI, MRC, PNG, JPEG) to OME-Zarr.

    A folder of per-well TIFFs (A01.tif, A01_f2.tif, ...) or an OME-TIFF whose
    OME-XML describes a plate becomes one HCS plate.
    """
    from builder.convert.errors import ConversionError
    from builder.convert.run import convert_files
    from builder.core.settings import ArchiveSettings, find_root, load_settings

    try:
        root = find_root(root)
        settings = load_settings(root)
    except Exception:  # noqa: BLE001 - outside an archive checkout: the default limits apply
        root, settings = Path.cwd(), ArchiveSettings()
    try:
        converted = convert_files(
            list(inputs),
            output,
            settings=settings,
            root=root,
            version=version,
            codec=codec,
            memory_bytes=memory_mb * 1024 * 1024 if memory_mb else None,
            timeout_s=timeout_s,
            overwrite=overwrite,
            pixel_size=_pixel_size(pixel_size),
            progress=sys.stderr.isatty(),
            threads=threads,
            scheduler=scheduler,
        )
    except ConversionError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    for image in converted:
        shape = " x ".join(f"{n}{a}" for a, n in zip(image.axes, image.shape, strict=False))
        what = "plate of fields " if image.kind == "plate" else ""
        click.echo(
            f"wrote {image.path} ({what}{shape}, {image.dtype}, {image.levels} level(s)) from {image.source}"
        )
        for warning in image.warnings:
            click.echo(f"  warning: {warning}", err=True)
