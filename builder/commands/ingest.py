"""`bioarchive ingest [studies/<ACCESSION> ...]`: copy accepted studies' images into the archive's store.

Idempotent and resumable: run it after every merge (the publish workflow
does) and again after any interruption; only what is missing is copied, and
a version counts as archived only once its manifest is written, last.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from builder.core.checks import Diagnostic, has_errors, sort_diagnostics


def _print(diagnostics: list[Diagnostic]) -> None:
    for d in sort_diagnostics(diagnostics):
        where = d.location if d.file else (d.extra.get("study") or "")
        click.echo(f"  {where}  {d.severity.value} {d.check}: {d.message}", err=True)
        if d.hint:
            click.echo(f"      fix: {d.hint}", err=True)


def _size(count: int) -> str:
    n = float(count)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"  # pragma: no cover


@click.command("ingest")
@click.argument("studies", nargs=-1, type=click.Path(path_type=Path, file_okay=False))
@click.option("--transfers", type=click.IntRange(1, 256), default=None,
              help="Objects copied at once (default: [archive.store] transfers).")
@click.option("--scheduler", default=None, metavar="ADDR",
              help="A Dask scheduler (tcp://host:port) to ingest on, one task per study (default: this machine).")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def command(studies: tuple[Path, ...], transfers: int | None, scheduler: str | None, quiet: bool) -> None:
    """Copy the images of STUDIES (studies/<ACCESSION> folders; default: every study) into the archive's store.

    Each image is verified against images.lock; facts and thumbnails are
    computed once from the copy. Published versions are never overwritten.
    """
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    from builder.core.settings import find_root, load_settings
    from builder.curation.ingest import ingest
    from builder.data.archive import archive_store_url

    root = find_root(Path.cwd())
    settings = load_settings(root)
    console = Console(stderr=True)
    progress = None if quiet or not console.is_terminal else Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
        console=console, transient=True,
    )
    folders = [str(s) for s in studies] or None
    click.echo(f"Ingesting into {archive_store_url(settings, root)} ...", err=True)
    if progress is not None:
        with progress:
            report = ingest(root, settings, folders, transfers=transfers, progress=progress, scheduler=scheduler)
    else:
        report = ingest(root, settings, folders, transfers=transfers, scheduler=scheduler)
    for image in report.images:
        if image.status == "already archived":
            line = f"{image.accession} v{image.version} {image.image}: already archived ({image.objects} objects)"
        elif image.status == "archived":
            line = (f"{image.accession} v{image.version} {image.image}: {image.objects_copied} objects copied "
                    f"({_size(image.bytes_copied)})"
                    + (f", {image.objects_verified} already there, verified" if image.objects_verified else ""))
        else:
            line = f"{image.accession} v{image.version} {image.image}: not archived"
        click.echo(line, err=True)
    if report.diagnostics:
        _print(report.diagnostics)
    click.echo(f"{len(report.studies_archived)} version(s) archived, {_size(report.bytes_copied)} of object "
               "bytes transferred", err=True)
    if has_errors(report.diagnostics):
        sys.exit(1)
