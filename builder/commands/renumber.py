"""`bioarchive renumber studies/<ACCESSION>`: move a new study to the next free accession.

The work is builder.curation.renumber's; this parses the arguments and prints.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command("renumber")
@click.argument("study", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--base",
    default="origin/main",
    show_default=True,
    help="The branch your pull request merges into; accessions used there are taken. "
    "From a fork, fetch the archive and pass e.g. upstream/main.",
)
def command(study: Path, base: str) -> None:
    """Move the new study in folder STUDY (studies/<ACCESSION>) to the next free accession.

    Run it when the pull request check reports SUB001 (accession already taken).
    """
    from builder.core.errors import ArchiveError
    from builder.core.layout import STUDIES_DIR
    from builder.core.settings import find_root, load_settings
    from builder.curation.renumber import renumber_study

    root = find_root(study if study.is_absolute() else Path.cwd() / study)
    folder = (study if study.is_absolute() else Path.cwd() / study).resolve().name
    settings = load_settings(root)
    try:
        old, new = renumber_study(root, folder, base, settings)
    except ArchiveError as exc:  # the study cannot be renumbered, or Git cannot answer
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Moved {STUDIES_DIR}/{old} to {STUDIES_DIR}/{new} and set `accession: {new}`.")
    click.echo(f"Commit it: git add {STUDIES_DIR}/{old} {STUDIES_DIR}/{new} && git commit -m 'Renumber {old} to {new}'")
    sys.stdout.flush()
