"""`bioarchive fixity`: re-check every published study's data against images.lock.

Exit status 1 when data vanished, changed or was never pinned, so the weekly
workflow fails visibly and opens an issue.
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
def command(root: Path | None, fmt: str, report_file: Path | None) -> None:
    """Re-check published studies' data against their pinned fingerprints."""
    from builder.curation.fixity import render_markdown, render_text, run_fixity
    from builder.core.settings import find_root, load_settings

    root = find_root(root)
    settings = load_settings(root)
    report = run_fixity(root, settings)
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(render_text(report), nl=False)
    markdown = render_markdown(report)
    if report_file is not None:
        report_file.write_text(markdown, "utf-8")
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        with open(summary_file, "a", encoding="utf-8") as handle:
            handle.write(markdown + "\n")
    sys.exit(0 if report.ok else 1)
