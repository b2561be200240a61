"""Read-only questions to Git: what changed since a base, and what a file was.

Everything goes through the ``git`` command (no library), so the builder sees
exactly what a contributor's ``git`` sees. Paths are relative to ``root``, the
archive root (usually the repository top level). Failures raise
:class:`GitError` whose message says what went wrong and how to fix it; the
CLI prints it instead of a traceback.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path, PurePosixPath

from builder.core.errors import ToolError

# Git prints paths with odd characters quoted unless told otherwise; -z output
# avoids quoting entirely, this keeps porcelain messages stable and English.
_GIT_ENV = {"LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"}


class GitError(ToolError):
    """A Git question could not be answered; the message says how to fix it."""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # A caller's GIT_DIR / GIT_WORK_TREE (set inside hooks) would point git at
    # another repository than ``root``.
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        env.pop(key, None)
    env.update(_GIT_ENV)
    return env


def run_git(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    """Run ``git -C root args`` and return the completed process (bytes out)."""
    try:
        proc = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            env=_env(),
            check=False,
        )
    except FileNotFoundError as exc:
        raise GitError("the `git` command is not installed or not on PATH; install Git and try again") from exc
    if check and proc.returncode != 0:
        stderr = proc.stderr.decode("utf-8", "replace").strip()
        raise GitError(f"`git {' '.join(args)}` failed in {root}: {stderr or 'no message'}")
    return proc


def ensure_repository(root: Path) -> Path:
    """The top level of the Git work tree holding ``root``; a clear error otherwise."""
    if not Path(root).is_dir():
        raise GitError(f"{root} is not a folder; run the command from inside your clone of the archive")
    proc = run_git(root, "rev-parse", "--show-toplevel", check=False)
    if proc.returncode != 0:
        stderr = proc.stderr.decode("utf-8", "replace").strip()
        if "dubious ownership" in stderr:
            raise GitError(
                f"Git refuses to read {root} because another user owns it; "
                f"run: git config --global --add safe.directory {Path(root).resolve()}"
            )
        raise GitError(
            f"{root} is not inside a Git repository; clone the archive with `git clone` "
            "(or run `git init`) and run the command from inside the clone"
        )
    return Path(proc.stdout.decode().strip())


def _check_ref_text(ref: str) -> None:
    # A ref is user input; one starting with '-' would be read as an option.
    if not ref or ref.startswith("-") or any(c in ref for c in "\0\n"):
        raise GitError(f"'{ref}' is not a Git ref; give a branch, tag or commit such as origin/main")


def resolve_commit(root: Path, ref: str) -> str:
    """The full commit id ``ref`` names; explains how to fetch it when unknown."""
    ensure_repository(root)
    _check_ref_text(ref)
    proc = run_git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    if proc.returncode != 0:
        branch = ref.split("/", 1)[1] if ref.startswith("origin/") else ref
        raise GitError(
            f"unknown Git ref '{ref}': this clone does not have it. "
            f"Fetch the base branch first: git fetch origin {branch} "
            "(in a shallow CI checkout, use fetch-depth: 0)"
        )
    return proc.stdout.decode().strip()


def merge_base(root: Path, ref: str) -> str:
    """The commit where HEAD branched off ``ref``: the base a pull request is compared with."""
    commit = resolve_commit(root, ref)
    head = run_git(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
    if head.returncode != 0:
        raise GitError(f"the repository at {root} has no commits yet; commit your work first")
    proc = run_git(root, "merge-base", commit, "HEAD", check=False)
    if proc.returncode != 0:
        raise GitError(
            f"'{ref}' and HEAD share no history, so there is nothing to compare with; "
            f"fetch the full history (git fetch --unshallow origin) or branch off {ref}"
        )
    return proc.stdout.decode().strip()


def _split_z(out: bytes) -> list[str]:
    return [p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p]


def changed_paths(root: Path, ref: str) -> list[Path]:
    """Paths (relative to ``root``) that differ between merge-base(ref, HEAD) and the work tree.

    Committed, staged, unstaged and untracked changes all count, so a depositor
    checking before committing sees the same as CI does after. A rename is
    reported as its old path (deleted) plus its new path (added).
    """
    base = merge_base(root, ref)
    # Comparing the merge base with the work tree covers commits on the branch
    # and uncommitted edits in one go; --relative keeps paths under root.
    diff = run_git(root, "diff", "--name-only", "--no-renames", "--relative", "-z", base, "--")
    untracked = run_git(root, "ls-files", "--others", "--exclude-standard", "-z", "--", ".")
    paths = set(_split_z(diff.stdout)) | set(_split_z(untracked.stdout))
    return sorted(Path(p) for p in paths)


def _tree_spec(ref: str, path: Path | str) -> str:
    posix = PurePosixPath(Path(path).as_posix())
    if posix.is_absolute() or ".." in posix.parts:
        raise GitError(f"'{path}' must be a path inside the archive, relative to its root")
    text = str(posix)
    # "ref:./path" is resolved relative to the current folder (root), not the top level.
    return f"{ref}:./{'' if text == '.' else text}"


def file_at(root: Path, ref: str, path: Path) -> bytes | None:
    """The content of ``path`` at ``ref``, or None when it did not exist there."""
    commit = resolve_commit(root, ref)
    spec = _tree_spec(commit, path)
    kind = run_git(root, "cat-file", "-t", spec, check=False)
    if kind.returncode != 0 or kind.stdout.strip() != b"blob":
        return None
    return run_git(root, "cat-file", "blob", spec).stdout


def list_dir_at(root: Path, ref: str, path: Path | str) -> list[str]:
    """Names of the entries of folder ``path`` at ``ref`` (sorted); [] when it did not exist."""
    commit = resolve_commit(root, ref)
    spec = _tree_spec(commit, path)
    kind = run_git(root, "cat-file", "-t", spec, check=False)
    if kind.returncode != 0 or kind.stdout.strip() != b"tree":
        return []
    out = run_git(root, "ls-tree", "--name-only", "-z", spec).stdout
    return sorted(_split_z(out))


def files_at(root: Path, specs: list[tuple[str, Path]]) -> list[bytes | None]:
    """Contents of many (commit, path) pairs in one `git cat-file --batch` run; None where absent.

    Commits must be full ids (as `git log` prints them): this reads history
    quickly (one process, not several per file) for the version pages.
    """
    if not specs:
        return []
    lines = []
    for commit, path in specs:
        _check_ref_text(commit)
        text = _tree_spec(commit, path)
        if "\n" in text:
            raise GitError(f"'{path}' contains a line break; paths in the archive must not")
        lines.append(text)
    proc = subprocess.run(
        ["git", "-C", str(root), "cat-file", "--batch"],
        input=("\n".join(lines) + "\n").encode("utf-8", "surrogateescape"),
        capture_output=True,
        env=_env(),
        check=False,
    )
    if proc.returncode != 0:
        raise GitError(f"`git cat-file --batch` failed in {root}: {proc.stderr.decode('utf-8', 'replace').strip()}")
    out: list[bytes | None] = []
    data, pos = proc.stdout, 0
    for _ in specs:
        end = data.index(b"\n", pos)
        header = data[pos:end].split(b" ")
        pos = end + 1
        if len(header) == 3 and header[1] in (b"blob", b"tree", b"commit", b"tag"):
            size = int(header[2])
            content = data[pos : pos + size]
            pos += size + 1  # content is followed by a newline
            out.append(content if header[1] == b"blob" else None)
        else:  # "<spec> missing" or "ambiguous"
            out.append(None)
    return out
