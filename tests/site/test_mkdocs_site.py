"""The site stage (generated MkDocs config, real `mkdocs build`, atomic swap) and `bioarchive serve`."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from mkdocs.config import load_config

from builder.core.settings import ArchiveSettings
from builder.site.mkdocs_site import (
    SiteBuildError,
    clear_interrupted_builds,
    exchange,
    new_site_dir,
    run_mkdocs,
    stage_overrides,
    swap_in,
    write_mkdocs_config,
)
from builder.site.preview import make_server, rebuild_filter
from builder.site.templates import DEFAULT_MKDOCS_CONFIG, theme_search_path

REPO = Path(__file__).resolve().parents[2]


def _minimal_docs(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "index.md").write_text("# Hello\n\nA page.\n")
    return folder


def test_generated_config_inherits_the_repository_config(tmp_path):
    settings = ArchiveSettings(name="Test Archive", site_url="https://example.org/a/", repo_url="https://github.com/x/y")
    config = write_mkdocs_config(base_config=REPO / "mkdocs.yml", docs_dir=tmp_path / "docs",
                                 site_dir=tmp_path / "site", custom_dir=tmp_path / "overrides", settings=settings,
                                 target=tmp_path / "mkdocs.yml")
    raw = yaml.safe_load(config.read_text())
    # The repository's file starts from the builder's default (`INHERIT: default:mkdocs.yml`): MkDocs gets a
    # copy of it beside the generated config that names the default by its installed path.
    inheriting = Path(raw["INHERIT"])
    assert inheriting.parent == tmp_path.resolve()
    assert yaml.safe_load(inheriting.read_text())["INHERIT"] == str(DEFAULT_MKDOCS_CONFIG)
    assert yaml.safe_load(inheriting.read_text())["nav"] == yaml.safe_load((REPO / "mkdocs.yml").read_text())["nav"]
    (tmp_path / "docs").mkdir()
    (tmp_path / "overrides").mkdir()
    loaded = load_config(str(config))
    assert loaded["site_name"] == "Test Archive" and loaded["site_url"] == "https://example.org/a/"
    assert loaded["docs_dir"] == str(tmp_path / "docs") and loaded["site_dir"] == str(tmp_path / "site")
    assert loaded["repo_name"] == "x/y"
    # Everything else comes from the repository's mkdocs.yml: theme, nav, search.
    assert loaded["theme"].name == "material" and "navigation.tabs" in loaded["theme"]["features"]
    assert str(tmp_path / "overrides") in loaded["theme"].dirs
    assert "material/search" in loaded["plugins"]
    nav_text = yaml.safe_dump(loaded["nav"])
    assert "studies/index.md" in nav_text and "OIA-" not in nav_text


def test_mkdocs_builds_a_site_with_our_overrides(tmp_path):
    docs = _minimal_docs(tmp_path / "docs")
    overrides = stage_overrides(theme_search_path(tmp_path / "archive"), tmp_path / "overrides")
    config = write_mkdocs_config(base_config=REPO / "mkdocs.yml", docs_dir=docs, site_dir=tmp_path / "site",
                                 custom_dir=overrides, settings=ArchiveSettings(), target=tmp_path / "mkdocs.yml")
    run = run_mkdocs(config)
    page = (tmp_path / "site" / "index.html").read_text()
    assert "assets/stylesheets/archive.css" in page and "Hello" in page
    assert (tmp_path / "site" / "assets" / "javascripts" / "vendor" / "lunr-2.3.9.min.js").is_file()
    assert "fonts.googleapis.com" not in page  # no web fonts: offline and private
    assert run.seconds > 0


def test_mkdocs_failure_raises_with_its_output(tmp_path):
    docs = _minimal_docs(tmp_path / "docs")
    bad = tmp_path / "bad.yml"
    bad.write_text(f"site_name: x\ndocs_dir: {docs}\nsite_dir: {tmp_path / 'site'}\ntheme:\n  name: no-such-theme\n")
    with pytest.raises(SiteBuildError) as info:
        run_mkdocs(bad)
    assert "no-such-theme" in info.value.output
    assert not (tmp_path / "site" / "index.html").exists()


def test_archive_overrides_win_over_the_builder_defaults(tmp_path):
    archive = tmp_path / "archive"
    (archive / "site_overrides" / "assets" / "stylesheets").mkdir(parents=True)
    (archive / "site_overrides" / "assets" / "stylesheets" / "archive.css").write_text("/* ours */")
    path = theme_search_path(archive)
    assert path[0] == (archive / "site_overrides").resolve()
    staged = stage_overrides(path, tmp_path / "staged")
    assert (staged / "assets" / "stylesheets" / "archive.css").read_text() == "/* ours */"
    assert (staged / "oia-page.html").is_file()  # the rest still comes from the defaults


def test_swap_replaces_the_site_whole(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "old.html").write_text("old")
    new = tmp_path / ".site.new"
    new.mkdir()
    (new / "index.html").write_text("new")
    swap_in(new, site)
    assert sorted(p.name for p in site.iterdir()) == ["index.html"]
    assert not new.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["site"]  # the old site is gone too


def test_failed_swap_restores_the_old_site(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "old.html").write_text("old")
    with pytest.raises(OSError):
        swap_in(tmp_path / "missing", site)
    assert (site / "old.html").read_text() == "old"


def test_server_serves_the_site_by_path(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("first")
    server = make_server(site, port=0)
    import threading

    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/"
        assert urllib.request.urlopen(url).read() == b"first"
        replacement = tmp_path / "new"
        replacement.mkdir()
        (replacement / "index.html").write_text("second")
        swap_in(replacement, site)
        assert urllib.request.urlopen(url).read() == b"second"  # a rebuild shows without a restart
    finally:
        server.shutdown()
        server.server_close()


def test_rebuild_filter_ignores_the_output(tmp_path):
    from watchfiles import Change

    accept = rebuild_filter(tmp_path, tmp_path / "site")
    assert accept(Change.modified, str(tmp_path / "studies" / "OIA-000001" / "study.yaml"))
    assert accept(Change.modified, str(tmp_path / "templates" / "pages" / "study.html"))
    assert not accept(Change.modified, str(tmp_path / "site" / "index.html"))
    assert not accept(Change.added, str(tmp_path / ".cache" / "thumbnails" / "x.webp"))


def fetch(url: str) -> str:
    """A page's text, or the HTTP error the server answered."""
    try:
        return urllib.request.urlopen(url).read().decode()
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"


@pytest.mark.slow
def test_serve_rebuilds_when_a_record_changes(built_site, tmp_path):
    """`bioarchive serve` end to end: serve, edit a record, see the change."""
    root = tmp_path / "archive"
    shutil.copytree(built_site.root, root, ignore=shutil.ignore_patterns("site", ".site.*"))
    accession = built_site.published[0]
    record = root / "studies" / accession / "study.yaml"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "builder.cli", "serve", "--root", str(root), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    try:
        base = None
        lines: list[str] = []
        deadline = time.time() + 240
        while time.time() < deadline and base is None:
            line = proc.stdout.readline()
            lines.append(line)
            if "http://127.0.0.1:" in line:
                base = line[line.index("http://127.0.0.1:"):].split()[0]
        assert base, "".join(lines)
        page = fetch(f"{base}studies/{accession}/")
        assert accession in page, page[:500]
        text = record.read_text()
        new_title = "Renamed while serving " + yaml.safe_load(text)["title"]
        record.write_text(re.sub(r"(?m)^title: .*$", lambda m: "title: " + json.dumps(new_title), text, count=1))
        deadline = time.time() + 240
        while time.time() < deadline:
            page = fetch(f"{base}studies/{accession}/")
            if "Renamed while serving" in page:
                break
            time.sleep(1)
        assert "Renamed while serving" in page
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_old_site_can_be_deleted_in_the_background(tmp_path):
    site = tmp_path / "site"
    (site / "deep" / "er").mkdir(parents=True)
    (site / "deep" / "er" / "old.html").write_text("old")
    new = tmp_path / ".site.new"
    new.mkdir()
    (new / "index.html").write_text("new")
    swap_in(new, site, delete_old_in_background=True)
    assert (site / "index.html").read_text() == "new" and not (site / "deep").exists()
    deadline = time.time() + 30
    while time.time() < deadline and len(list(tmp_path.iterdir())) > 1:
        time.sleep(0.1)
    assert [p.name for p in tmp_path.iterdir()] == ["site"]


def test_mkdocs_warnings_are_collected(tmp_path):
    docs = _minimal_docs(tmp_path / "docs")
    (docs / "index.md").write_text("# Hello\n\n[a broken link](missing.md)\n")
    overrides = stage_overrides(theme_search_path(tmp_path / "archive"), tmp_path / "overrides")
    config = write_mkdocs_config(base_config=REPO / "mkdocs.yml", docs_dir=docs, site_dir=tmp_path / "site",
                                 custom_dir=overrides, settings=ArchiveSettings(), target=tmp_path / "mkdocs.yml")
    run = run_mkdocs(config)
    assert any("missing.md" in w for w in run.warnings), run.output


# ---------------------------------------------------------------- swaps and killed builds

def _site_with(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "index.html").write_text(text)
    return folder


SWAP_LOOP = """
import sys
from pathlib import Path
from builder.site.mkdocs_site import new_site_dir, swap_in
site = Path(sys.argv[1])
for i in range(int(sys.argv[2])):
    new = new_site_dir(site)
    (new / "index.html").write_text(str(i))
    swap_in(new, site)
"""


def test_the_site_is_in_place_at_every_instant_of_a_swap(tmp_path):
    """Another process swaps 300 sites in while this one looks at site/ as often as it can."""
    site = _site_with(tmp_path / "site", "first")
    probe = tmp_path / ".site.probe"
    probe.mkdir()
    assert exchange(probe, site) and exchange(probe, site), "this filesystem exchanges folders in one step"
    proc = subprocess.Popen([sys.executable, "-c", SWAP_LOOP, str(site), "300"], cwd=REPO)
    looks = misses = 0
    while proc.poll() is None:
        looks += 1
        misses += not os.path.exists(site / "index.html")
    assert proc.returncode == 0
    assert looks > 100 and misses == 0, (looks, misses)
    assert (site / "index.html").read_text() == "299"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.probe", "site"]


KILLED_BETWEEN_RENAMES = """
import os, signal, sys
from pathlib import Path
import builder.site.mkdocs_site as mkdocs_site
site = Path(sys.argv[1]).resolve()
mkdocs_site.exchange = lambda first, second: False  # a filesystem without RENAME_EXCHANGE
rename = os.rename
def rename_then_die(source, target):
    rename(source, target)
    if Path(source) == site:  # the old site is aside, the new one not yet in place
        os.kill(os.getpid(), signal.SIGKILL)
os.rename = rename_then_die
new = mkdocs_site.new_site_dir(site)
(new / "index.html").write_text("new")
mkdocs_site.swap_in(new, site)
"""


def test_a_build_killed_between_the_two_renames_gets_its_old_site_back(tmp_path):
    site = _site_with(tmp_path / "site", "old")
    proc = subprocess.run([sys.executable, "-c", KILLED_BETWEEN_RENAMES, str(site)], cwd=REPO)
    assert proc.returncode == -signal.SIGKILL
    assert not site.exists()  # the fault is real: the old site sits aside
    assert sorted(p.name.split("-")[0] for p in tmp_path.iterdir()) == [".site.aside", ".site.new"]
    clear_interrupted_builds(site)  # what every build does first
    assert (site / "index.html").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["site"]


def test_leftovers_of_killed_builds_go_and_those_of_running_builds_stay(tmp_path):
    site = _site_with(tmp_path / "site", "current")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    for kind in ("new", "extra", "aside", "old"):
        _site_with(tmp_path / f".site.{kind}-{dead_pid}-abc", kind)
    _site_with(tmp_path / ".site.new-abc123", "an older builder's folder, without a process id")
    running = new_site_dir(site)  # this process is alive: a build in progress
    removed = clear_interrupted_builds(site)
    assert len(removed) == 5
    deadline = time.time() + 30  # old sites are deleted in the background
    while time.time() < deadline and len(list(tmp_path.iterdir())) > 2:
        time.sleep(0.05)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([running.name, "site"])
    assert (site / "index.html").read_text() == "current"  # a site in place is never replaced by one aside


@pytest.mark.slow
def test_a_build_killed_part_way_leaves_nothing_the_next_build_keeps(built_site, tmp_path):
    root = tmp_path / "archive"
    shutil.copytree(built_site.root, root, ignore=shutil.ignore_patterns("site", ".site.*"))
    # The example archive holds a broken record on purpose (tests/support/site.py).
    command = [sys.executable, "-m", "builder.cli", "build", "--root", str(root), "--allow-invalid"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    # Killed (with MkDocs and the workers) once MkDocs writes the new site.
    while time.time() < deadline and proc.poll() is None and not list(root.glob(".site.new-*/assets")):
        time.sleep(0.02)
    assert proc.poll() is None, "the build ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    left = sorted(p.name.split("-")[0] for p in root.glob(".site.*"))
    assert left == [".site.extra", ".site.new"], left
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (root / "site" / "index.html").is_file()
    assert list(root.glob(".site.*")) == []
