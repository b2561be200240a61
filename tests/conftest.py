"""Shared test set-up. Fixtures live in tests/support/<area>.py, one module per
area, and are all registered here as pytest plugins."""

import pkgutil
from pathlib import Path

import pytest

_SUPPORT = Path(__file__).parent / "support"
pytest_plugins = [
    f"tests.support.{m.name}" for m in pkgutil.iter_modules([str(_SUPPORT)]) if not m.name.startswith("_")
]

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT
