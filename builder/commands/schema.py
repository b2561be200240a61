"""`bioarchive schema [--check]`: write the JSON Schema of study records.

Editors (VS Code with the YAML extension, JetBrains IDEs) read the
``# yaml-language-server: $schema=...`` line at the top of each record and
offer completion and checks while the depositor types. The schema comes from
the pydantic model plus this archive's settings (licence choices, accession
pattern), so it is regenerated whenever either changes; ``--check`` (used in
CI) fails when the committed file is stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

SCHEMA_PATH = Path("schema") / "study.schema.json"


def study_schema(settings: Any) -> dict[str, Any]:
    from builder.model.study import SCHEMA_VERSION, Study

    schema = Study.model_json_schema(mode="validation")
    properties = schema.get("properties", {})
    # Rules that live in the validation context become plain schema here.
    if "licence" in properties:
        properties["licence"]["enum"] = list(settings.licences)
    if "accession" in properties:
        properties["accession"]["pattern"] = f"^{settings.accession_pattern.pattern}$"
    if "schema_version" in properties:
        properties["schema_version"]["const"] = SCHEMA_VERSION
    document = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        # A URN, not the site URL: BIOARCHIVE_SITE_URL overrides that per deployment,
        # and the committed schema must not depend on the environment.
        "$id": f"urn:bioarchive:{settings.short_name.lower()}:study-record:v{SCHEMA_VERSION}",
        "title": f"{settings.name} study record (schema version {SCHEMA_VERSION})",
        "description": (
            "One image study: REMBI metadata pointing at OME-Zarr images. "
            "Written by `bioarchive schema` from the archive's study model; do not edit by hand."
        ),
    }
    document.update({k: v for k, v in schema.items() if k not in ("title", "description")})
    return document


def render_schema(settings: Any) -> str:
    return json.dumps(study_schema(settings), indent=2, ensure_ascii=False) + "\n"


@click.command("schema")
@click.option("--check", is_flag=True, help="Exit 1 if the committed schema is out of date; write nothing.")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Archive root (default: the folder holding archive.toml above the current one).")
def command(check: bool, root: Path | None) -> None:
    """Write the JSON Schema that editors use to check records."""
    from builder.core.settings import find_root, load_settings

    root = find_root(root)
    try:
        settings = load_settings(root)
    except Exception as exc:  # archive.toml is the maintainers' file; say what is wrong with it
        raise click.ClickException(f"cannot read {root / 'archive.toml'}: {exc}") from exc
    path = root / SCHEMA_PATH
    wanted = render_schema(settings)
    current = path.read_text(encoding="utf-8") if path.is_file() else None
    if check:
        if current != wanted:
            click.echo(
                f"{SCHEMA_PATH.as_posix()} is out of date with the study model or archive.toml; "
                "run `bioarchive schema` and commit the result.",
                err=True,
            )
            sys.exit(1)
        click.echo(f"{SCHEMA_PATH.as_posix()} is up to date.")
        return
    if current == wanted:
        click.echo(f"{SCHEMA_PATH.as_posix()} is already up to date.")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(wanted, encoding="utf-8")
    click.echo(f"wrote {SCHEMA_PATH.as_posix()}")
