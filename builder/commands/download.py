"""`bioarchive download ACC [--image NAME...] [-o DIR] [--site URL]`: a published study's images, verified.

Works from any machine with the package installed: the site's download
manifest names every object and its SHA-256. The site is --site, else
BIOARCHIVE_SITE_URL, else `site_url` of the archive.toml above the current
folder. A rerun keeps verified files and fetches the rest. Exit status 2 on
any error (the message names the study, image or object).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click


@click.command("download")
@click.argument("accession")
@click.option("--image", "images", multiple=True, metavar="NAME", help="Only this image (repeatable).")
@click.option("-o", "--output", type=click.Path(path_type=Path, file_okay=False), default=Path("."),
              show_default=True, help="Folder to download into; the study goes in <DIR>/<ACCESSION>/.")
@click.option("--site", default=None, help="The archive's site (default: BIOARCHIVE_SITE_URL or archive.toml).")
@click.option("--workers", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Objects downloaded at once.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def command(accession: str, images: tuple[str, ...], output: Path, site: str | None, workers: int,
            quiet: bool) -> None:
    """Download a published study's images from the archive, in parallel, resumable and verified."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    from builder.core.errors import ArchiveError
    from builder.core.settings import SETTINGS_FILE, find_root, load_settings
    from builder.data.download import download_study, find_study

    console = Console(stderr=True)
    try:
        if site is None:
            site = os.environ.get("BIOARCHIVE_SITE_URL") or None
        if site is None:
            root = find_root()
            if not (root / SETTINGS_FILE).is_file():
                raise click.UsageError("no --site given and no archive.toml here: pass the archive's site, "
                                       "e.g. --site https://archive.example.org/")
            site = load_settings(root).site_url
        study = find_study(accession, site)
        bar = None if quiet or not console.is_terminal else Progress(
            TextColumn(f"{study.accession} v{study.version}"), BarColumn(), DownloadColumn(),
            TransferSpeedColumn(), console=console, transient=True,
        )
        if bar is None:
            report = download_study(study, output, images=images, workers=workers)
        else:
            with bar:
                task = bar.add_task("download", total=None)
                report = download_study(
                    study, output, images=images, workers=workers,
                    progress=lambda n: bar.advance(task, n),
                    on_total=lambda total: bar.update(task, total=total),
                )
    except click.UsageError:
        raise
    except (ArchiveError, ValueError, OSError) as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False)
        sys.exit(2)
    console.print(
        f"{report.accession} version {report.version}: {len(report.images)} image(s) in {report.folder}; "
        f"{report.fetched} object(s) downloaded ({report.bytes_fetched:,} bytes), {report.kept} already "
        "complete; every object verified against its published SHA-256", highlight=False,
    )
