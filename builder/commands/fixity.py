"""`bioarchive fixity`: are the archive's copies complete and unchanged? (`--sources`: the depositors' data.)

By default it checks the archive store (builder.curation.fixity.run_archive_fixity):
every manifest against the listing, and one rotating slice of the objects
re-hashed within the byte budget of [archive.fixity]. Exit status 1 on any
problem, so the weekly workflow fails visibly and opens an issue.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click


@click.command("fixity")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Archive root (default: the folder holding archive.toml above the current one).")
@click.option("--format", "fmt", type=click.Choice(["human", "json"]), default="human", show_default=True,
              help="Output for people or for programs.")
@click.option("--report", "report_file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also write the report as Markdown to this file (e.g. for an issue).")
@click.option("--sources", is_flag=True,
              help="Check the depositors' sources against images.lock (metadata) instead of the archive's copies.")
@click.option("--run", "run", type=click.IntRange(0), default=None,
              help="Run number choosing the slice re-hashed (default: this week's number).")
def command(root: Path | None, fmt: str, report_file: Path | None, sources: bool, run: int | None) -> None:
    """Check the archive's copies of every published version (or, with --sources, the sources)."""
    from builder.core.settings import find_root, load_settings
    from builder.curation import fixity
    from builder.data.storage import StorageError

    root = find_root(root)
    settings = load_settings(root)
    if sources:
        report = fixity.run_fixity(root, settings)
        text, markdown = fixity.render_text(report), fixity.render_markdown(report)
    else:
        try:
            report = _archive_fixity(root, settings, run)
        except StorageError as exc:
            raise click.ClickException(f"the archive store cannot be read: {exc.check}: {exc.message}") from None
        text, markdown = fixity.render_archive_text(report), fixity.render_archive_markdown(report)
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(text, nl=False)
    if report_file is not None:
        report_file.write_text(markdown, "utf-8")
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        with open(summary_file, "a", encoding="utf-8") as handle:
            handle.write(markdown + "\n")
    sys.exit(0 if report.ok else 1)


def _archive_fixity(root: Path, settings, run: int | None):
    from rich.console import Console
    from rich.progress import DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    from builder.curation.fixity import run_archive_fixity

    console = Console(stderr=True)
    with Progress(TextColumn("re-hashing"), DownloadColumn(), TransferSpeedColumn(), console=console,
                  transient=True) as bar:
        task = bar.add_task("re-hashing", total=None)
        return run_archive_fixity(root, settings, run=run, progress=lambda n: bar.advance(task, n))
