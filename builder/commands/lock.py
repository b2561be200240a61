"""`bioarchive lock studies/<ACCESSION>`: pin what a study's images are (metadata and content).

Reads every image of the (valid) record: its metadata, and every byte once,
streaming, many objects at once, with a progress bar; then writes
studies/<ACCESSION>/images.lock (version 2: a version-1 file is rewritten).
Nothing is written when the record is invalid or an image cannot be read, so
a lock always describes data that was really there.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from builder.core.checks import Diagnostic, sort_diagnostics


def _print(diagnostics: list[Diagnostic]) -> None:
    for d in sort_diagnostics(diagnostics):
        where = d.location if d.file else (d.field or "")
        click.echo(f"  {where}  {d.severity.value} {d.check}: {d.message}", err=True)
        if d.hint:
            click.echo(f"      fix: {d.hint}", err=True)


@click.command("lock")
@click.argument("study", type=click.Path(path_type=Path, file_okay=False))
@click.option("--workers", type=click.IntRange(1, 256), default=None,
              help="Objects read at once (default: [archive.store] transfers in archive.toml).")
def command(study: Path, workers: int | None) -> None:
    """Pin the fingerprints of the images of the study in folder STUDY (studies/<ACCESSION>).

    Commit the images.lock it writes. Run it again whenever you change the
    images on purpose (for a published study, that is a new version).
    """
    from builder.core.layout import RECORD_NAME
    from builder.core.settings import find_root, load_settings
    from builder.curation.lock import lock_study

    folder = (study if study.is_absolute() else Path.cwd() / study).resolve()
    if not (folder / RECORD_NAME).is_file():
        raise click.ClickException(
            f"{study}/{RECORD_NAME} does not exist; give the folder of your study, e.g. studies/OIA-000042"
        )
    root = find_root(folder)
    outcome = _with_progress(lambda advance: lock_study(
        folder, load_settings(root), root, workers=workers, progress=advance,
        announce=lambda text: click.echo(text, err=True)))
    if outcome.record_errors is not None:
        click.echo(f"{study}/{RECORD_NAME} has errors; fix them (see `bioarchive validate {study}`) and lock again:",
                   err=True)
        _print(outcome.record_errors)
        sys.exit(1)
    if outcome.lock is None:
        click.echo("Nothing was written: these images could not be read. Fix them and lock again:", err=True)
        _print(outcome.problems or [])
        sys.exit(1)
    if not outcome.changed:
        click.echo(f"{outcome.rel_path} is up to date ({len(outcome.lock.images)} image(s) pinned).")
        return
    click.echo(f"Pinned {len(outcome.lock.images)} image(s) in {outcome.rel_path} ({outcome.total_bytes} bytes in "
               f"{outcome.objects} objects).")
    click.echo(f"Commit it: git add {outcome.rel_path} && git commit -m 'Pin images of {outcome.accession}'")


def _with_progress(work):
    """Run ``work(advance)`` under a rich progress bar (on stderr) with one bar per image being hashed."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TransferSpeedColumn

    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=console, transient=not console.is_terminal) as bar:
        tasks: dict[str, TaskID] = {}

        def advance(name: str, nbytes: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(f"hashing {name}", total=None)
            bar.advance(tasks[name], nbytes)

        return work(advance)
