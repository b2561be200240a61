"""`bioarchive validate [PATHS...]`: check study records and report every problem.

PATHS are record files or folders (a study folder, or a folder of study
folders); the default is every record under studies/. ``--changed-since REF``
checks only the records changed since REF (and the pull-request rules of
builder.curation.submission). Unless ``--no-data``, each valid record's images are
inspected through builder.data.inspection.

Exit status: 0 when no error was found (warnings and hints allowed), 1 when
an error was found, 2 when the command itself could not run (bad arguments,
unreadable archive.toml, unknown Git ref).

``--format json`` prints one document, stable across releases::

    {
      "format": "bioarchive-validate",
      "version": 1,
      "ok": true,                        # no errors anywhere
      "summary": {"records": 2, "errors": 0, "warnings": 1, "info": 4},
      "records": [
        {"file": "studies/OIA-000001/study.yaml", "accession": "OIA-000001",
         "valid": true, "completeness": 83,
         "diagnostics": [Diagnostic.to_dict(), ...]}
      ],
      "diagnostics": [...]               # findings tied to no single record
    }

Each diagnostic: check, severity (error|warning|info), message, hint, file,
line, column (1-based), field (e.g. "datasets[0].images[1].url").

``--format github`` prints GitHub Actions workflow commands
(``::error file=...,line=...,col=...,title=CHECK::message``) so findings
appear on the pull request's diff.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from builder.core.checks import Diagnostic, Severity, sort_diagnostics
from builder.curation.check_study import count_severities

if TYPE_CHECKING:
    from builder.records.load import RecordSet


@click.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--changed-since", "changed_since", metavar="REF",
              help="Check only records changed since this Git ref (plus pull-request rules).")
@click.option("--no-data", is_flag=True, help="Check the records only, not their image data.")
@click.option("--format", "fmt", type=click.Choice(["human", "json", "github"]), default="human",
              show_default=True, help="Output for people, for programs, or for GitHub Actions.")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Archive root (default: the folder holding archive.toml above the current one).")
def command(paths: tuple[Path, ...], changed_since: str | None, no_data: bool, fmt: str, root: Path | None) -> None:
    """Check study records (and their image data) and report problems.

    PATHS are record files or study folders (default: every record in
    studies/). Exit status 1 when an error is found; warnings and hints
    alone exit 0.
    """
    from builder.core.errors import ArchiveError
    from builder.core.settings import find_root, load_settings
    from builder.curation.check_study import validate_archive

    root = find_root(root)
    if not (root / "archive.toml").is_file() and not (root / "studies").is_dir():
        # Outside an archive there is nothing to check: saying "0 records, all fine" would mislead.
        raise click.ClickException(
            f"{root} is not an archive: neither it nor a folder above it has archive.toml; "
            "run this inside the archive repository, or pass --root"
        )
    try:
        settings = load_settings(root)
    except Exception as exc:  # archive.toml is the maintainers' file; say what is wrong with it
        raise click.ClickException(f"cannot read {root / 'archive.toml'}: {exc}") from exc
    try:
        result = validate_archive(root, settings, list(paths), changed_since=changed_since, data=not no_data)
    except ArchiveError as exc:  # an unknown Git ref, image checks that could not start
        raise click.ClickException(str(exc)) from exc

    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    elif fmt == "github":
        for line in github_lines(result.diagnostics):
            click.echo(line)
    else:
        _print_human(result.records)
    sys.exit(0 if result.ok else 1)


# ---------------------------------------------------------------- output

def printable(text: str) -> str:
    """Text safe for a terminal or a CI log: control characters (which a YAML
    string can carry, e.g. "\\e[2J") are shown as escapes instead of acting."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch in "\n" else f"\\x{ord(ch):02x}" if ord(ch) < 256
                   else f"\\u{ord(ch):04x}" for ch in text)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_lines(diagnostics: list[Diagnostic]) -> list[str]:
    """GitHub Actions workflow commands, one per finding."""
    command = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
    lines = []
    for d in diagnostics:
        props = []
        if d.file:
            props.append(f"file={_escape_property(printable(d.file))}")
        if d.line is not None:
            props.append(f"line={d.line}")
            if d.column is not None:
                props.append(f"col={d.column}")
        props.append(f"title={_escape_property(d.check)}")
        message = printable(d.message + (f" Fix: {d.hint}" if d.hint else ""))
        lines.append(f"::{command[d.severity]} {','.join(props)}::{_escape_data(message)}")
    return lines


_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def _print_human(records: RecordSet) -> None:
    from rich.console import Console
    from rich.markup import escape

    console = Console(highlight=False, soft_wrap=True)
    groups: dict[str, list[Diagnostic]] = {}
    for d in records.extra_diagnostics:
        groups.setdefault(d.file or "(archive)", []).append(d)
    scores = {r.file: r.completeness for r in records.records}
    order = [r.file for r in records.records]
    for r in records.records:
        groups.setdefault(r.file, []).extend(r.diagnostics)
    for file in [*order, *[f for f in groups if f not in scores]]:
        found = sort_diagnostics(groups.get(file, []))
        score = scores.get(file)
        header = f"[bold]{escape(printable(file))}[/bold]"
        if score is not None:
            header += f"  [dim]completeness {score}/100[/dim]"
        if file in scores:
            valid = score is not None and not any(d.severity is Severity.ERROR for d in found)
            header += "  [green]valid[/green]" if valid else "  [bold red]invalid[/bold red]"
        console.print(header)
        for d in found:
            if d.line is not None and d.column is not None:
                where = f"{d.line}:{d.column}"
            else:
                where = str(d.line) if d.line else "-"
            shown = d.file or file  # a record's diagnostics may point into a file beside it (images.tsv)
            console.print(
                f"  [dim]{escape(printable(shown))}:{where}[/dim]  [{_STYLE[d.severity]}]{d.severity.value}[/]  "
                f"[bold]{d.check}[/bold]  {escape(printable(d.message))}"
            )
            if d.field and d.severity is not Severity.INFO:
                console.print(f"      [dim]field:[/dim] {escape(printable(d.field))}")
            if d.hint:
                console.print(f"      [dim]fix:[/dim] {escape(printable(d.hint))}")
    counts = count_severities(records.diagnostics)
    n = len(records.records)
    summary = (
        f"{_plural(n, 'record')} checked: {_plural(counts['errors'], 'error')}, "
        f"{_plural(counts['warnings'], 'warning')}, {_plural(counts['info'], 'hint')}"
    )
    console.print(f"[{'bold red' if counts['errors'] else 'bold green'}]{summary}[/]")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}"
