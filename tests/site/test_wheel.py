"""An installed wheel of the builder builds an archive that holds only its records, data and archive.toml.

The wheel is built offline from a copy of the sources and installed, without
its dependencies, into a fresh venv that reads the project venv's
site-packages through a .pth file (not its .pth files: the editable install's
finder stays off, so ``builder`` can only come from the wheel). Then
`bioarchive build` runs in folders with no builder sources, templates,
theme or mkdocs.yml.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Two small example studies are enough to show every default the site needs.
STUDIES = ("OIA-000003", "OIA-000005")


def run(command: list[str], cwd: Path, timeout: float = 300) -> str:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The venv's bin folder, with the builder installed from a freshly built wheel."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(REPO / "builder", source / "builder", ignore=shutil.ignore_patterns("__pycache__"))
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "-w", str(work / "dist"), str(source)], cwd=work)
    (wheel,) = (work / "dist").glob("bioarchive-*.whl")
    venv = work / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=work)
    python = venv / "bin" / "python"
    purelib = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=work)
                   .strip())
    (purelib / "project-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q",
         str(wheel)], cwd=work)
    where = run([str(python), "-c", "import builder; print(builder.__file__)"], cwd=work).strip()
    assert Path(where).is_relative_to(purelib), f"builder was imported from {where}, not from the wheel"
    return venv / "bin"


def bare_archive(folder: Path) -> Path:
    """archive.toml, studies/ and their data: nothing else."""
    folder.mkdir()
    shutil.copy2(REPO / "archive.toml", folder / "archive.toml")
    for accession in STUDIES:
        shutil.copytree(REPO / "studies" / accession, folder / "studies" / accession)
        shutil.copytree(REPO / "example-data" / accession, folder / "example-data" / accession)
    return folder


@pytest.mark.slow
def test_an_installed_wheel_builds_a_bare_archive(installed, tmp_path):
    archive = bare_archive(tmp_path / "archive")
    run([str(installed / "bioarchive"), "build", "--root", str(archive)], cwd=archive)
    assert sorted(p.name for p in archive.iterdir()) == [".cache", "archive.toml", "example-data", "site", "studies"]
    site = archive / "site"
    home = (site / "index.html").read_text(encoding="utf-8")
    assert "assets/stylesheets/archive.css" in home  # the theme overrides came from the wheel
    assert (site / "assets" / "javascripts" / "vendor" / "lunr-2.3.9.min.js").is_file()
    assert (site / "reference" / "checks" / "index.html").is_file()
    for accession in STUDIES:
        page = (site / "studies" / accession / "index.html").read_text(encoding="utf-8")
        assert "How to cite" in page and "Every image is an" in page  # the default templates

    # A second archive replaces one block of the default study page (the first's image cache saves time).
    other = bare_archive(tmp_path / "other")
    shutil.copytree(archive / ".cache", other / ".cache")
    (other / "templates" / "pages").mkdir(parents=True)
    (other / "templates" / "pages" / "study.html").write_text(
        '{% extends "default:pages/study.html" %}\n'
        '{% block study_data %}<section id="data"><p>Write to the curators for {{ entry.accession }}.</p>'
        '</section>{% endblock %}\n', encoding="utf-8")
    run([str(installed / "bioarchive"), "build", "--root", str(other)], cwd=other)
    for accession in STUDIES:
        page = (other / "site" / "studies" / accession / "index.html").read_text(encoding="utf-8")
        assert f"Write to the curators for {accession}." in page
        assert "Every image is an" not in page and "How to cite" in page  # one block, the rest the default
