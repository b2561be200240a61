"""CONTRIBUTING.md describes the layout that exists: every package it names is there, every package is named."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GUIDE = REPO / "CONTRIBUTING.md"


def packages_on_disk() -> set[str]:
    """Every Python package under builder/, as a path like ``builder/data/ngff``."""
    return {
        init.parent.relative_to(REPO).as_posix()
        for init in (REPO / "builder").rglob("__init__.py")
        if "__pycache__" not in init.parts
    }


def packages_in_guide() -> set[str]:
    """The packages the guide's package table names, from its first column (`builder/x/`)."""
    text = GUIDE.read_text(encoding="utf-8")
    table = text.split("<!-- packages -->", 1)[1].split("<!-- /packages -->", 1)[0]
    return {m.rstrip("/") for m in re.findall(r"^\|\s*`(builder(?:/[a-z_0-9]+)*/?)`", table, flags=re.M)}


def test_every_package_the_guide_names_exists():
    missing = packages_in_guide() - packages_on_disk()
    assert not missing, f"CONTRIBUTING.md names packages that do not exist: {sorted(missing)}"


def test_every_package_is_described_in_the_guide():
    undescribed = packages_on_disk() - packages_in_guide()
    assert not undescribed, f"packages missing from CONTRIBUTING.md's package table: {sorted(undescribed)}"


def test_the_guide_names_each_package_once_with_a_description():
    text = GUIDE.read_text(encoding="utf-8")
    table = text.split("<!-- packages -->", 1)[1].split("<!-- /packages -->", 1)[0]
    rows = re.findall(r"^\|\s*`(builder[^`]*)`\s*\|([^|\n]*)\|", table, flags=re.M)
    names = [name.rstrip("/") for name, _ in rows]
    assert len(names) == len(set(names)), "a package is listed twice"
    assert all(len(description.strip()) >= 20 for _, description in rows), "every package needs a description"
