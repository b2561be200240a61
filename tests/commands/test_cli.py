"""The CLI shell lists every command and loads each only when it runs."""

import subprocess
import sys

from click.testing import CliRunner

from builder.cli import COMMANDS, main


def test_every_listed_command_has_a_module_exposing_command():
    import importlib

    for name, (module, _help) in COMMANDS.items():
        mod = importlib.import_module(f"builder.commands.{module}")
        assert hasattr(mod, "command"), f"builder.commands.{module} has no `command`"


def test_help_lists_the_commands():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in ("validate", "build", "inspect", "review"):
        assert name in result.output


def test_starting_the_cli_does_not_import_the_heavy_stages():
    code = (
        "import sys, builder.cli; "
        "heavy = [m for m in ('zarr', 'mkdocs', 'dask', 'lunr') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
