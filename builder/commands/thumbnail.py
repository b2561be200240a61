"""`bioarchive thumbnail URL -o FILE`: render one thumbnail as the site would.

The format follows the file name (.png or .webp). Images get the default plane
of their active channels, plates a montage of wells, label images their outlines.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import click


@click.command("thumbnail")
@click.argument("url")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="File to write (.webp or .png).")
@click.option("--size", type=click.IntRange(16, 4096), default=256, show_default=True, help="Edge length in pixels.")
@click.option("--labels", is_flag=True, help="Overlay the outlines of the image's first label image.")
def command(url: str, output: Path, size: int, labels: bool) -> None:
    """Render a thumbnail of one OME-Zarr image."""
    from builder.core.checks import has_errors
    from builder.core.settings import find_root, load_settings
    from builder.data.inspection import LABELS_VARIANT, ImageTarget, inspect_images

    suffix = output.suffix.lower().lstrip(".")
    if suffix not in ("png", "webp"):
        raise click.BadParameter("the output file must end in .png or .webp", param_hint="-o")
    root = find_root()
    settings = load_settings(root).model_copy(update={"thumbnail_sizes": {"thumbnail": size},
                                                      "thumbnail_format": suffix})
    with tempfile.TemporaryDirectory(prefix="bioarchive-thumbnail-") as cache:
        target = ImageTarget.from_command_line(url)
        outcome = inspect_images([target], settings, root, thumbnails=True, cache_dir=Path(cache))[target.key]
        for d in outcome.diagnostics:
            click.echo(f"{d.severity.value} {d.check}: {d.message}", err=True)
        files = outcome.facts.thumbnails if outcome.facts is not None else {}
        name = LABELS_VARIANT if labels else "thumbnail"
        if name not in files:
            reason = "the image has no label image" if labels and files else "no thumbnail could be rendered"
            click.echo(f"error: {reason}", err=True)
            raise SystemExit(1)
        output.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(cache) / files[name], output)
    alt = outcome.facts.thumbnail_alt if outcome.facts is not None else ""
    click.echo(f"wrote {output} ({size} x {size} {suffix}): {alt}")
    raise SystemExit(1 if has_errors(outcome.diagnostics) else 0)
