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

from builder.core.checks import Diagnostic, has_errors, sort_diagnostics


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
    from builder.core.layout import LOCK_NAME, RECORD_NAME
    from builder.core.settings import find_root, load_settings
    from builder.curation.lock import contents_of, image_targets, lock_from_outcomes, lock_path
    from builder.data.inspection import inspect_images
    from builder.records.load import load_record

    folder = (study if study.is_absolute() else Path.cwd() / study).resolve()
    record = folder / RECORD_NAME
    if not record.is_file():
        raise click.ClickException(
            f"{study}/{RECORD_NAME} does not exist; give the folder of your study, e.g. studies/OIA-000042"
        )
    root = find_root(folder)
    settings = load_settings(root)
    result = load_record(record, settings, root=root, hints=False)
    if result.study is None or has_errors(result.diagnostics):
        click.echo(f"{result.file} has errors; fix them (see `bioarchive validate {study}`) and lock again:", err=True)
        _print([d for d in result.diagnostics if d.severity.value == "error"])
        sys.exit(1)

    targets = image_targets(result.study)
    click.echo(f"Reading {len(targets)} image(s) of {result.study.accession} ...", err=True)
    outcomes = inspect_images(targets, settings, root, thumbnails=False)
    manifests, unread = _read_contents(result.study, settings, root, workers)
    lock, problems = lock_from_outcomes(result.study, outcomes, contents_of(manifests))
    problems = (problems or []) + unread
    if unread:
        lock = None
    if lock is None:
        click.echo("Nothing was written: these images could not be read. Fix them and lock again:", err=True)
        _print(problems)
        sys.exit(1)

    path = lock_path(root, folder.name)
    text = lock.to_text()
    rel = f"studies/{folder.name}/{LOCK_NAME}"
    if path.is_file() and path.read_text("utf-8") == text:
        click.echo(f"{rel} is up to date ({len(lock.images)} image(s) pinned).")
        return
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, "utf-8")
    partial.replace(path)  # never a half-written lock
    total = sum(m.total_bytes for m in manifests.values())
    click.echo(f"Pinned {len(lock.images)} image(s) in {rel} ({total} bytes in "
               f"{sum(len(m.objects) for m in manifests.values())} objects).")
    click.echo(f"Commit it: git add {rel} && git commit -m 'Pin images of {result.study.accession}'")


def _read_contents(study, settings, root: Path, workers: int | None):
    """Every byte of every image once, with a rich progress bar (on stderr) per image."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TransferSpeedColumn

    from builder.curation.lock import image_contents

    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=console, transient=not console.is_terminal) as bar:
        tasks: dict[str, TaskID] = {}

        def advance(name: str, nbytes: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(f"hashing {name}", total=None)
            bar.advance(tasks[name], nbytes)

        return image_contents(study, settings, root, max_workers=workers, progress=advance)
