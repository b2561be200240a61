"""The `bioarchive` command line.

Each command lives in its own module under builder.commands and is imported
only when it runs, so `bioarchive validate` never pays for zarr or mkdocs.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from builder import __version__
from builder.core.errors import ArchiveError, CommandError

# command name -> (module under builder.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("validate", "Check study records (and their image data) and report problems."),
    "new": ("new", "Scaffold a new study record under the next free accession."),
    "schema": ("schema", "Write the JSON Schema that editors use to check records."),
    "migrate": ("migrate", "Upgrade records written for an older schema version."),
    "checks": ("checks", "List every check with its id, severity and fix."),
    "inspect": ("inspect", "Show what the builder finds in one OME-Zarr image."),
    "thumbnail": ("thumbnail", "Render a thumbnail of one OME-Zarr image."),
    "build": ("build", "Build the public website from studies/ into site/."),
    "serve": ("serve", "Preview the website locally, rebuilding when records change."),
    "review": ("review", "Write the review report for studies changed since a Git ref."),
    "lock": ("lock", "Pin the metadata fingerprints of a study's images."),
    "ingest": ("ingest", "Copy accepted studies' images into the archive's own store, verified."),
    "fixity": ("fixity", "Re-check published studies' data against their pinned fingerprints."),
    "renumber": ("renumber", "Move a study to the next free accession."),
    "convert": ("convert", "Convert microscopy files (TIFF, CZI, MRC, PNG, JPEG) to validated OME-Zarr."),
    "upload": ("upload", "Upload a study's converted images to the staging bucket and lock them."),
    "doi": ("doi", "Mint and update the studies' DOIs through DataCite."),
    "usage": ("usage", "Count views and downloads per study from access logs (COUNTER)."),
    "download": ("download", "Download a published study's images, in parallel, resumable and verified."),
}


class MissingCommandError(CommandError):
    """A command listed in COMMANDS whose module cannot be loaded: a broken install, never a vanished command."""


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        # Every listed command, loadable or not: one that fails to load says why when it is run.
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        return load_command(name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ArchiveError as exc:
            # Errors the builder raises on purpose carry their message and fix: print it, no traceback.
            raise click.ClickException(str(exc)) from exc


def load_command(name: str) -> click.Command:
    """The click command of ``name``; a missing module or a module without ``command`` is a clear error."""
    module_name = f"builder.commands.{COMMANDS[name][0]}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise MissingCommandError(
                f"the command '{name}' is listed in builder/cli.py but its module {module_name} is missing; "
                "reinstall the builder (pip install -e .), or remove the command from COMMANDS in builder/cli.py"
            ) from exc
        raise MissingCommandError(
            f"the command '{name}' needs the Python module '{exc.name}', which is not installed; "
            "install the builder with its dependencies (pip install -e .)"
        ) from exc
    command = getattr(module, "command", None)
    if not isinstance(command, click.Command):
        raise MissingCommandError(
            f"{module_name} defines no click command named `command`; the command '{name}' cannot run"
        )
    return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bioarchive")
def main() -> None:
    """Build and curate an open archive of biological image studies."""


if __name__ == "__main__":
    main()
