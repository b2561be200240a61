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
from typing import Any

import click

from builder.core.checks import Diagnostic, Severity, sort_diagnostics


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
    from builder.records.load import load_records
    from builder.core.settings import find_root, load_settings

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

    extra: list[Diagnostic] = []
    targets, missing = _record_targets(root, list(paths))
    extra.extend(missing)
    if changed_since is not None:
        from builder.core import git as gitops

        try:
            changed = gitops.changed_paths(root, changed_since)
        except gitops.GitError as exc:
            raise click.ClickException(str(exc)) from exc
        changed_records = _changed_records(root, changed)
        if targets is None:
            targets = changed_records
        else:
            wanted = {p.resolve() for p in changed_records}
            targets = [p for p in targets if p.resolve() in wanted]
        from builder.curation.submission import check_changes

        try:
            extra.extend(check_changes(root, changed_since, settings))
        except gitops.GitError as exc:
            raise click.ClickException(str(exc)) from exc

    records = load_records(root, settings, targets)
    # Findings about a record's file (e.g. pull-request rules) go with that record.
    by_file = {r.file: r for r in records.records}
    for diagnostic in extra:
        owner = by_file.get(diagnostic.file or "")
        (owner.diagnostics if owner is not None else records.extra_diagnostics).append(diagnostic)
    if not no_data:
        _check_images(records, settings, root)

    if fmt == "json":
        click.echo(json.dumps(validation_document(records), indent=2, ensure_ascii=False))
    elif fmt == "github":
        for line in github_lines(records.diagnostics):
            click.echo(line)
    else:
        _print_human(records)
    sys.exit(1 if not records.ok else 0)


# ---------------------------------------------------------------- which records

def _record_targets(root: Path, paths: list[Path]) -> tuple[list[Path] | None, list[Diagnostic]]:
    """Record files named by PATHS (None: all records), and problems with PATHS."""
    from builder.core.checks import get_check
    from builder.records.load import RECORD_NAME, record_paths

    if not paths:
        return None, []
    targets: list[Path] = []
    problems: list[Diagnostic] = []
    for given in paths:
        path = given if given.is_absolute() else Path.cwd() / given
        if path.is_dir():
            if (path / RECORD_NAME).is_file():
                targets.append(path / RECORD_NAME)
            elif path.resolve() == (root / "studies").resolve():
                targets.extend(record_paths(root))
            else:
                found = sorted(path.glob(f"*/{RECORD_NAME}"))
                if not found:
                    problems.append(Diagnostic.of(
                        get_check("REC001"), f"{given} holds no study records (no */{RECORD_NAME})", file=str(given),
                    ))
                targets.extend(found)
        elif path.is_file():
            targets.append(path)
        else:
            problems.append(Diagnostic.of(get_check("REC001"), f"{given} does not exist", file=str(given)))
    return targets, problems


def _changed_records(root: Path, changed: list[Path]) -> list[Path]:
    """Records of studies with any changed file (a changed images.lock re-checks its record)."""
    from builder.records.load import RECORD_NAME, STUDIES_DIR

    folders: set[str] = set()
    for rel in changed:
        parts = Path(rel).parts
        if len(parts) >= 3 and parts[0] == STUDIES_DIR:
            folders.add(parts[1])
    return [root / STUDIES_DIR / f / RECORD_NAME for f in sorted(folders) if (root / STUDIES_DIR / f / RECORD_NAME).is_file()]


# ---------------------------------------------------------------- image data

def _check_images(records: Any, settings: Any, root: Path) -> None:
    """Inspect every image of every valid record; place findings on its `url:` line."""
    from builder.core.checks import get_check
    from builder.model.completeness import channel_hints
    from builder.data.inspection import ImageTarget, inspect_images  # imported here: zarr is slow to import
    from builder.records.yaml_source import format_path

    targets = []
    where: dict[str, tuple[Any, tuple[Any, ...]]] = {}
    for record in records.records:
        # A withdrawn study's data may be gone for good reasons: its page is a tombstone.
        if record.study is None or record.study.status.value == "withdrawn":
            continue
        for d, dataset in enumerate(record.study.datasets):
            for i, image in enumerate(dataset.images):
                key = f"{record.study.accession}/{dataset.name}/{image.name}"
                if key in where:  # a repeated name is already an XRF004 error
                    continue
                targets.append(ImageTarget(key=key, url=image.url, kind=image.kind.value, untrusted=True))
                where[key] = (record, ("datasets", d, "images", i, "url"))
    if not targets:
        return
    try:
        outcomes = inspect_images(targets, settings, root, thumbnails=False)
    except Exception as exc:  # the data stage isolates each image; this is the machinery failing
        raise click.ClickException(
            f"the image checks could not run ({type(exc).__name__}: {exc}); "
            "run with --no-data to check the records alone"
        ) from exc
    channels: dict[int, dict[str, int]] = {}  # id(record) -> dataset name -> most channels seen
    for key, outcome in outcomes.items():
        if key not in where:
            continue
        record, loc = where[key]
        if outcome.facts is not None and outcome.facts.kind != "labels":
            per_dataset = channels.setdefault(id(record), {})
            dataset_name = record.study.datasets[loc[1]].name
            per_dataset[dataset_name] = max(per_dataset.get(dataset_name, 0), len(outcome.facts.channels))
        line, column = record.position(loc) or (None, None)
        for diagnostic in outcome.diagnostics:
            diagnostic.file = diagnostic.file or record.file
            diagnostic.line = diagnostic.line or line
            diagnostic.column = diagnostic.column or column
            if diagnostic.field and diagnostic.field != format_path(loc):
                # The data stage names the object inside the image; keep it, point at the record field.
                diagnostic.extra = {**diagnostic.extra, "image_field": diagnostic.field}
            diagnostic.field = format_path(loc)
            record.diagnostics.append(diagnostic)
    from builder.curation.lock import check_lock  # what was reviewed is what gets published

    for record in records.records:
        if record.study is not None and record.study.status.value != "withdrawn":
            record.diagnostics.extend(check_lock(root, record.study, outcomes))
    for record in records.records:
        if record.study is None or id(record) not in channels:
            continue
        for hint in channel_hints(record.study, channels[id(record)]):
            line, column = record.position(hint.path) or (None, None)
            record.diagnostics.append(Diagnostic.of(
                get_check(hint.check), hint.message, file=record.file, line=line, column=column, field=hint.field,
            ))


# ---------------------------------------------------------------- output

def _counts(diagnostics: list[Diagnostic]) -> dict[str, int]:
    counts = {"errors": 0, "warnings": 0, "info": 0}
    for d in diagnostics:
        counts[{"error": "errors", "warning": "warnings", "info": "info"}[d.severity.value]] += 1
    return counts


def validation_document(records: Any) -> dict[str, Any]:
    all_diagnostics = records.diagnostics
    return {
        "format": "bioarchive-validate",
        "version": 1,
        "ok": records.ok,
        "summary": {"records": len(records.records), **_counts(all_diagnostics)},
        "records": [
            {
                "file": r.file,
                "accession": r.accession,
                "valid": r.ok,
                "completeness": r.completeness,
                "diagnostics": [d.to_dict() for d in sort_diagnostics(r.diagnostics)],
            }
            for r in records.records
        ],
        "diagnostics": [d.to_dict() for d in sort_diagnostics(records.extra_diagnostics)],
    }


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


def _print_human(records: Any) -> None:
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
            where = f"{d.line}:{d.column}" if d.line is not None and d.column is not None else (str(d.line) if d.line else "-")
            console.print(
                f"  [dim]{escape(printable(file))}:{where}[/dim]  [{_STYLE[d.severity]}]{d.severity.value}[/]  "
                f"[bold]{d.check}[/bold]  {escape(printable(d.message))}"
            )
            if d.field and d.severity is not Severity.INFO:
                console.print(f"      [dim]field:[/dim] {escape(printable(d.field))}")
            if d.hint:
                console.print(f"      [dim]fix:[/dim] {escape(printable(d.hint))}")
    counts = _counts(records.diagnostics)
    n = len(records.records)
    summary = (
        f"{n} record{'s' if n != 1 else ''} checked: {counts['errors']} error{'s' if counts['errors'] != 1 else ''}, "
        f"{counts['warnings']} warning{'s' if counts['warnings'] != 1 else ''}, {counts['info']} hint{'s' if counts['info'] != 1 else ''}"
    )
    console.print(f"[{'bold red' if counts['errors'] else 'bold green'}]{summary}[/]")
