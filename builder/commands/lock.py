"""`bioarchive lock studies/<ACCESSION>`: pin the metadata fingerprints of a study's images.

Reads every image of the (valid) record and writes studies/<ACCESSION>/images.lock.
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
def command(study: Path) -> None:
    """Pin the fingerprints of the images of the study in folder STUDY (studies/<ACCESSION>).

    Commit the images.lock it writes. Run it again whenever you change the
    images on purpose (for a published study, that is a new version).
    """
    from builder.data.inspection import inspect_images
    from builder.core.layout import LOCK_NAME, RECORD_NAME
    from builder.curation.lock import image_targets, lock_from_outcomes, lock_path
    from builder.records.load import load_record
    from builder.core.settings import find_root, load_settings

    folder = (study if study.is_absolute() else Path.cwd() / study).resolve()
    record = folder / RECORD_NAME
    if not record.is_file():
        raise click.ClickException(f"{study}/{RECORD_NAME} does not exist; give the folder of your study, e.g. studies/OIA-000042")
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
    lock, problems = lock_from_outcomes(result.study, outcomes)
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
    path.write_text(text, "utf-8")
    click.echo(f"Pinned {len(lock.images)} image(s) in {rel}.")
    click.echo(f"Commit it: git add {rel} && git commit -m 'Pin images of {result.study.accession}'")
