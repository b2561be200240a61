"""`bioarchive checks`: list every registered check (id, severity, title, fix)."""

from __future__ import annotations

import json

import click


def _markdown_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def checks_markdown(checks: list) -> str:
    lines = ["| id | severity | area | problem | how to fix |", "|---|---|---|---|---|"]
    for c in checks:
        lines.append(
            f"| `{c.id}` | {c.severity.value} | {c.area} | {_markdown_cell(c.title)} | {_markdown_cell(c.fix)} |"
        )
    return "\n".join(lines) + "\n"


@click.command("checks")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table", show_default=True)
def command(fmt: str) -> None:
    """List every check with its id, severity and fix."""
    from builder.core.checks import all_checks

    checks = all_checks()
    if fmt == "json":
        click.echo(
            json.dumps(
                [
                    {"id": c.id, "severity": c.severity.value, "area": c.area, "title": c.title, "fix": c.fix}
                    for c in checks
                ],
                indent=2,
                ensure_ascii=False,
            )
        )
    elif fmt == "markdown":
        click.echo(checks_markdown(checks), nl=False)
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table("id", "severity", "problem", "how to fix", show_lines=False)
        colour = {"error": "red", "warning": "yellow", "info": "cyan"}
        for c in checks:
            table.add_row(c.id, f"[{colour[c.severity.value]}]{c.severity.value}[/]", c.title, c.fix)
        Console(soft_wrap=False).print(table)
