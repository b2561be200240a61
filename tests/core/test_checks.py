"""The check registry: every check is documented, listed, and asserted by some test."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from builder.cli import main
from builder.core.checks import Severity, all_checks, get_check

TESTS = Path(__file__).resolve().parents[1]
ID_RE = re.compile(r"^[A-Z]{3}\d{3}$")


def test_every_check_is_asserted_by_a_test():
    """A check nobody tests is a check nobody knows works. (This file does not count.)"""
    sources = "\n".join(
        p.read_text(encoding="utf-8") for p in TESTS.rglob("*.py") if p.resolve() != Path(__file__).resolve()
    )
    untested = [c.id for c in all_checks() if c.id not in sources]
    assert not untested, (
        f"{len(untested)} registered check id(s) appear in no test under tests/: {', '.join(untested)}. "
        "Write a test that triggers each and asserts its id."
    )


def test_checks_are_well_formed():
    checks = all_checks()
    assert len({c.id for c in checks}) == len(checks)
    for c in checks:
        assert ID_RE.match(c.id), c.id
        assert c.severity in (Severity.ERROR, Severity.WARNING, Severity.INFO)
        assert c.title.strip() and c.fix.strip(), c.id
        assert re.fullmatch(r"[a-z]+", c.area), c.id


def test_every_check_is_a_named_constant_of_its_area_module():
    """Checks are declared one way: `NAME = register(...)` in a module of CHECK_MODULES, used by that name."""
    import importlib

    from builder.core.checks import CHECK_MODULES

    declared: dict[str, str] = {}
    for module_name in CHECK_MODULES:
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            if type(value).__name__ == "Check" and name.isupper():
                declared.setdefault(value.id, f"{module_name}.{name}")
    missing = [c.id for c in all_checks() if c.id not in declared]
    assert not missing, f"checks registered without a named constant in CHECK_MODULES: {missing}"
    # Record and image checks are named by their id, so code reads `REC001`, not get_check("REC001").
    from builder.records import checks as record_checks

    assert all(getattr(record_checks, c.id) is c for c in all_checks() if c.area == "record")


def test_record_check_families():
    ids = {c.id for c in all_checks() if c.area == "record"}
    assert {i[:3] for i in ids} == {"REC", "MOD", "ONT", "XRF", "CMP"}
    # Completeness hints never block a deposit.
    assert all(get_check(i).severity is Severity.INFO for i in ids if i.startswith("CMP"))


def test_every_error_the_model_raises_is_registered(repo_root):
    source = (repo_root / "builder" / "model" / "study.py").read_text(encoding="utf-8")
    raised = set(re.findall(r'PydanticCustomError\(\s*"([A-Z]{3}\d{3})"', source))
    assert raised, "expected the model to raise PydanticCustomError with check ids"
    registered = {c.id for c in all_checks()}
    assert raised <= registered, f"raised by the model but not registered: {sorted(raised - registered)}"


def test_checks_command_lists_every_check():
    runner = CliRunner()
    ids = {c.id for c in all_checks()}
    listed = json.loads(runner.invoke(main, ["checks", "--format", "json"]).output)
    assert {c["id"] for c in listed} == ids
    assert [c["id"] for c in listed] == sorted(ids)  # the order of the reference page
    assert set(listed[0]) == {"id", "severity", "area", "title", "fix"}
    markdown = runner.invoke(main, ["checks", "--format", "markdown"]).output
    assert markdown.startswith("| id | severity | area | problem | how to fix |")
    assert all(f"`{i}`" in markdown for i in ids)
    table = runner.invoke(main, ["checks"]).output
    assert "MOD001" in table and "REC004" in table
