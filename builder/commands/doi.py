"""`bioarchive doi`: mint and update the archive's DOIs through DataCite.

Run by the publish workflow before the site is built. A DataCite failure is
reported (terminal, and the job summary when $GITHUB_STEP_SUMMARY is set)
and retried on the next run; the exit status stays 0 so publishing goes on,
unless ``--strict``. Exit status 2: the settings or the registry file cannot
be read.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path

import click


@click.command("doi")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Archive root (default: the folder holding archive.toml above the current one).")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Act as on this date (default: today, UTC).")
@click.option("--verify", is_flag=True,
              help="Check every DOI against DataCite, not only those the registry shows as changed.")
@click.option("--strict", is_flag=True, help="Exit with status 1 when any DOI could not be updated.")
@click.option("--format", "fmt", type=click.Choice(["human", "json"]), default="human", show_default=True)
def command(root: Path | None, today: dt.datetime | None, verify: bool, strict: bool, fmt: str) -> None:
    """Mint and update DOIs (DataCite) so that they match the published studies."""
    from rich.console import Console

    from builder.core.errors import ArchiveError
    from builder.core.settings import find_root, load_settings
    from builder.curation.doi import render_markdown, render_text, sync_dois

    root = find_root(root)
    console = Console(stderr=True)
    try:
        settings = load_settings(root)
        day = today.date() if today else dt.datetime.now(dt.UTC).date()
        with console.status("Updating DOIs at DataCite") as status:
            report = sync_dois(root, settings, today=day, verify=verify,
                               progress=lambda text: status.update(f"Updating DOIs at DataCite: {text}"))
    except (ArchiveError, ValueError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(render_text(report), nl=False)
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        with open(summary_file, "a", encoding="utf-8") as handle:
            handle.write(render_markdown(report) + "\n")
    sys.exit(1 if strict and not report.ok else 0)
