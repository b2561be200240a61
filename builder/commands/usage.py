"""`bioarchive usage LOGS... --month YYYY-MM`: monthly COUNTER counts per study from access logs.

Give every log of the month at once (site host and archive store together):
unique users are counted across them. Writes usage/<YYYY-MM>.json; the logs
themselves stay where they are and must live outside the repository.
Exit status 0 even with malformed lines (they are counted and listed);
2 when the run cannot start.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click


@click.command("usage")
@click.argument("logs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--month", required=True, help="The month to count, YYYY-MM (log lines of other months are left out).")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Archive root (default: the folder holding archive.toml above the current one).")
@click.option("--format", "fmt", type=click.Choice(["human", "json"]), default="human", show_default=True)
def command(logs: tuple[Path, ...], month: str, root: Path | None, fmt: str) -> None:
    """Count views and downloads per study from access logs (COUNTER)."""
    from rich.console import Console

    from builder.core.errors import ArchiveError
    from builder.core.settings import find_root, load_settings
    from builder.curation.usage import count_usage, render_text

    root = find_root(root)
    try:
        settings = load_settings(root)
        with Console(stderr=True).status(f"Counting use in {len(logs)} log path(s)"):
            report = count_usage(root, settings, list(logs), month, today=dt.date.today())
    except (ArchiveError, ValueError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    if fmt == "json":
        data = report.month.model_dump(mode="json")
        data["malformed_lines"] = [vars(m) for m in report.malformed]
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        click.echo(render_text(report), nl=False)
