"""`bioarchive inspect URL`: what the builder finds in one OME-Zarr image.

The URL may be s3://, https://, http://127.0.0.1 (local previews and tests) or a
local path; the command line is trusted, so local paths need not lie below the
storage root. Reading runs in an isolated worker with the archive's limits,
exactly as during a build.
"""

from __future__ import annotations

import json

import click


def format_human(outcome) -> str:
    facts = outcome.facts
    lines: list[str] = []
    if facts is not None:
        axes = "".join(a.name for a in facts.axes)
        lines += [
            f"url:          {facts.url}",
            f"kind:         {facts.kind}" + (f" ({facts.name})" if facts.name else ""),
            f"NGFF version: {facts.ngff_version}",
            f"axes:         {axes}  shape {facts.shape}  dtype {facts.dtype}",
        ]
        for i, level in enumerate(facts.levels):
            lines.append(f"level {i} '{level.path}': shape {level.shape}  chunks {level.chunks}")
        sizes = ", ".join(
            f"{name} {scale:g} {unit or ''}".rstrip() for name, (scale, unit) in facts.pixel_sizes.items()
        )
        if sizes:
            lines.append(f"pixel size:   {sizes}")
        for i, ch in enumerate(facts.channels):
            window = f" window {ch.window[0]:g}-{ch.window[1]:g}" if ch.window else ""
            lines.append(
                f"channel {i}:    {ch.label} #{ch.color or '------'}{window}{'' if ch.active else ' (inactive)'}"
            )
        if facts.default_z is not None or facts.default_t is not None:
            lines.append(f"default plane: z={facts.default_z} t={facts.default_t}")
        if facts.labels:
            lines.append(f"labels:       {', '.join(facts.labels)}")
        if facts.plate is not None:
            p = facts.plate
            lines.append(
                f"plate:        {p.rows} rows x {p.columns} columns, {p.wells} wells, "
                f"{p.fields_per_well} field(s) per well, {p.acquisitions} acquisition(s)"
            )
        if facts.size_bytes is not None:
            lines.append(f"stored bytes: {facts.size_bytes}")
        lines.append(f"fingerprint:  {facts.fingerprint}")
    lines.append(
        f"read:         {outcome.requests} requests, {outcome.bytes_read} bytes, {outcome.not_found} not found"
    )
    if outcome.diagnostics:
        lines.append("problems:")
        for d in outcome.diagnostics:
            lines.append(f"  {d.severity.value} {d.check}: {d.message}")
            if d.hint:
                lines.append(f"    fix: {d.hint}")
    else:
        lines.append("problems:     none")
    return "\n".join(lines)


@click.command("inspect")
@click.argument("url")
@click.option("--format", "fmt", type=click.Choice(["human", "json"]), default="human", show_default=True)
def command(url: str, fmt: str) -> None:
    """Show what the builder finds in one OME-Zarr image (kind, levels, channels, fingerprint, problems)."""
    from builder.core.checks import has_errors
    from builder.core.settings import find_root, load_settings
    from builder.data.inspection import ImageTarget, inspect_images

    root = find_root()
    settings = load_settings(root)
    target = ImageTarget.from_command_line(url)
    outcome = inspect_images([target], settings, root)[target.key]
    if fmt == "json":
        data = outcome.to_dict()
        data.pop("key", None)
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        click.echo(format_human(outcome))
    raise SystemExit(1 if has_errors(outcome.diagnostics) else 0)
