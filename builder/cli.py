"""The `bioarchive` command line.

Each command lives in its own module under builder.commands and is imported
only when it runs, so `bioarchive validate` never pays for zarr or mkdocs.
"""

from __future__ import annotations

import importlib
import importlib.util

import click

from builder import __version__

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
    "fixity": ("fixity", "Re-check published studies' data against their pinned fingerprints."),
    "renumber": ("renumber", "Move a study to the next free accession."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, (module, _) in COMMANDS.items() if _module_exists(module)]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS or not _module_exists(COMMANDS[name][0]):
            return None
        module = importlib.import_module(f"builder.commands.{COMMANDS[name][0]}")
        return getattr(module, "command")

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _module_exists(module: str) -> bool:
    return importlib.util.find_spec(f"builder.commands.{module}") is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bioarchive")
def main() -> None:
    """Build and curate an open archive of biological image studies."""


if __name__ == "__main__":
    main()
