"""`bioarchive review --changed-since REF`: write the review report of a pull request.

One Markdown and one JSON file per changed study in --out (default review/),
an overview (README.md, review.json) and the thumbnails beside them. In
GitHub Actions ($GITHUB_STEP_SUMMARY set) the Markdown is appended to the
job summary too. Exit status 1 when any error was found, 2 when the review
could not run (unknown ref, not a repository).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

# GitHub refuses job summaries over 1 MiB; stay well below it.
MAX_SUMMARY_BYTES = 900 * 1024


@click.command("review")
@click.option(
    "--changed-since",
    "changed_since",
    required=True,
    metavar="REF",
    help="The base branch the pull request merges into, e.g. origin/main.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("review"),
    show_default=True,
    help="Folder for the report files and thumbnails.",
)
@click.option("--no-data", is_flag=True, help="Do not read image data (no facts, thumbnails or fingerprint checks).")
@click.option(
    "--root",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Archive root (default: the folder holding archive.toml above the current one).",
)
def command(changed_since: str, out_dir: Path, no_data: bool, root: Path | None) -> None:
    """Write the review report for studies changed since a Git ref."""
    from builder.core.git import GitError
    from builder.core.settings import find_root, load_settings
    from builder.curation.review import build_review, render_markdown, write_report

    root = find_root(root)
    settings = load_settings(root)
    out_dir = out_dir if out_dir.is_absolute() else Path.cwd() / out_dir
    try:
        report = build_review(root, changed_since, settings, out_dir=out_dir, data=not no_data)
    except GitError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    written = write_report(report, out_dir)

    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        # Thumbnails are files in the artifact, not reachable from the summary page.
        text = render_markdown(report, thumbnails=False)
        text += "\nThe full report with thumbnails is in the **review-report** artifact of this run.\n"
        if len(text.encode()) > MAX_SUMMARY_BYTES:
            text = text.encode()[:MAX_SUMMARY_BYTES].decode("utf-8", "ignore")
            text += "\n\n… the summary was cut here; read the review-report artifact for the rest.\n"
        with open(summary_file, "a", encoding="utf-8") as handle:
            handle.write(text + "\n")

    for s in report.studies:
        c = s.counts
        mark = "ok " if s.ok else "ERR"
        click.echo(
            f"{mark} {s.accession}: {s.change}; {c['error']} error(s), {c['warning']} warning(s), {c['info']} note(s)"
        )
    for outside in report.outside_files:
        click.echo(f"{'ERR' if outside.refused else 'warn'} {outside.path}: {outside.note}")
    if not report.studies:
        click.echo(f"No study records changed since {changed_since}.")
    click.echo(f"Report: {out_dir / 'README.md'} ({len(written)} files)")
    sys.exit(0 if report.ok else 1)
