"""`bioarchive build`: turn studies/ into the public website in site/."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape


def _parse_date(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date; write it as YYYY-MM-DD") from None


def print_errors(console: Console, diagnostics, *, areas: tuple[str, ...] = ()) -> None:
    """Every error (of the check areas given, e.g. ("IMG", "NET", "SAF")) with its place and message."""
    from builder.core.checks import Severity

    errors = [d for d in diagnostics if d.severity is Severity.ERROR and (not areas or d.check.startswith(areas))]
    for d in errors[:50]:
        # Record text is escaped: a message may quote brackets that rich would read as markup.
        console.print(f"  [red]error[/] {escape(d.location)} [bold]{d.check}[/] {escape(d.message)}", highlight=False)
    if len(errors) > 50:
        console.print(f"  … and {len(errors) - 50} more errors (run `bioarchive validate`)")


@click.command(name="build")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The archive repository (default: the folder holding archive.toml above the current one).")
@click.option("--site-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the site goes (default: <root>/site). Replaced only when the build succeeds.")
@click.option("--today", callback=_parse_date, default=None, metavar="YYYY-MM-DD",
              help="Build as of this date: studies released after it stay unpublished (default: today).")
@click.option("--scheduler", default=None, metavar="ADDR",
              help="A Dask scheduler to read the images on (default: local worker processes).")
@click.option("--history/--no-history", default=True, show_default=True,
              help="Publish earlier versions of studies from the Git history.")
@click.option("--allow-invalid", is_flag=True,
              help="Build without the records that have errors (for previews). By default any error stops "
                   "the build and site/ is left as it was, so no published study silently disappears.")
@click.option("--workers", type=click.IntRange(min=0), default=None, metavar="N",
              help="Processes that write the site's pages and exports (default: one per usable core, "
                   "at most 4; 0 writes everything in this process).")
def command(root: Path | None, site_dir: Path | None, today: dt.date | None, scheduler: str | None,
            history: bool, allow_invalid: bool, workers: int | None) -> None:
    """Build the public website from studies/ into site/."""
    from builder.core.settings import find_root
    from builder.site.build import InvalidRecords, build
    from builder.site.mkdocs_site import SiteBuildError

    console = Console(stderr=True)
    root = find_root(root)
    if site_dir is not None and not site_dir.is_absolute():
        site_dir = Path.cwd() / site_dir
    try:
        report = build(root, site_dir=site_dir, today=today, scheduler=scheduler, console=console,
                       history=history, allow_invalid=allow_invalid, workers=workers)
    except InvalidRecords as exc:
        console.print(f"[red]✗ {len(exc.report.studies_skipped)} record(s) have errors;[/] nothing was built "
                      "and site/ was left as it was. Fix them (`bioarchive validate`), or preview the rest "
                      "with --allow-invalid.", highlight=False)
        print_errors(console, exc.report.diagnostics)
        sys.exit(1)
    except SiteBuildError as exc:
        console.print(f"[red]✗ {exc}[/]; site/ was left as it was.")
        console.print(exc.output[-4000:], markup=False, highlight=False)
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - the build stops as a whole; say what, keep the old site
        console.print(f"[red]✗ build failed:[/] {type(exc).__name__}: {exc}", highlight=False)
        console.print("site/ was left as it was.")
        sys.exit(1)
    if report.studies_skipped:
        console.print(f"[yellow]{len(report.studies_skipped)} record(s) left out because of errors:[/] "
                      + ", ".join(report.studies_skipped), highlight=False)
        print_errors(console, report.diagnostics)
    if report.images_failed:
        console.print(f"[yellow]{report.images_failed} image(s) could not be read;[/] their studies are published "
                      "without their facts and thumbnails:", highlight=False)
        print_errors(console, report.diagnostics, areas=("IMG", "NET", "SAF"))
    console.print(
        f"[bold green]Built[/] {report.site_dir}: {report.published} studies published"
        f"{f', {report.withdrawn} withdrawn' if report.withdrawn else ''}, {report.pages} generated pages, "
        f"{report.thumbnails} thumbnails, {report.images_read} images read"
        f"{f', {report.images_failed} unreadable' if report.images_failed else ''}.",
        highlight=False,
    )
