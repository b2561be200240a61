"""`bioarchive migrate [PATHS...] [--check]`: upgrade records to the current schema version.

Rewrites each record written for an older version in place, keeping comments
and layout where it can (see builder.records.migrations). ``--check`` writes nothing
and exits 1 when any record needs migrating (for CI).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command("migrate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if any record needs migrating.")
@click.option(
    "--root",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Archive root (default: the folder holding archive.toml above the current one).",
)
def command(paths: tuple[Path, ...], check: bool, root: Path | None) -> None:
    """Upgrade records written for an older schema version."""
    from builder.core.layout import RECORD_NAME
    from builder.core.settings import find_root
    from builder.records.load import display_path, record_paths
    from builder.records.migrations import MigrationError, rewrite_text

    root = find_root(root)
    files: list[Path] = []
    failed = False
    if not paths:
        files = record_paths(root)
    for given in paths:
        if given.is_dir():
            files.extend(
                [given / RECORD_NAME] if (given / RECORD_NAME).is_file() else sorted(given.glob(f"*/{RECORD_NAME}"))
            )
        elif given.is_file():
            files.append(given)
        else:
            click.echo(f"{given}: does not exist", err=True)
            failed = True

    pending = 0
    for path in files:
        shown = display_path(path, root)
        try:
            text = path.read_bytes().decode("utf-8-sig")
            result = rewrite_text(text)
        except (OSError, UnicodeDecodeError) as exc:
            click.echo(f"{shown}: cannot read: {exc}", err=True)
            failed = True
            continue
        except MigrationError as exc:
            click.echo(f"{shown}: cannot migrate: {exc}", err=True)
            failed = True
            continue
        if result is None:
            continue
        pending += 1
        if check:
            click.echo(f"{shown}: written for schema version {result.from_version}; run `bioarchive migrate {shown}`")
            continue
        path.write_text(result.text, encoding="utf-8")
        note = "" if result.comments_kept else " (the file was rewritten in full: comments could not be kept)"
        click.echo(f"{shown}: migrated from schema version {result.from_version} to {result.to_version}{note}")

    if check and pending:
        click.echo(
            f"{pending} record{'s' if pending != 1 else ''} need{'s' if pending == 1 else ''} migrating.", err=True
        )
    elif not pending and not failed:
        click.echo(f"{len(files)} record{'s' if len(files) != 1 else ''} already at the current schema version.")
    sys.exit(1 if failed or (check and pending) else 0)
