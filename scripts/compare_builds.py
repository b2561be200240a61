"""Build the example archive with two versions of the builder and compare the sites byte for byte.

    python scripts/compare_builds.py BASE_REF [OTHER_REF]

Each ref's builder is checked out into a temporary Git worktree and run (as
``python -m builder.cli build``, with that worktree first on PYTHONPATH so the
image workers import the same code) against this repository's studies and
data, on the same date, into its own site folder. Without OTHER_REF the
working tree is the other side. Exit 0 when every file is identical; 1 with
the list of differing, missing and extra files otherwise.

Used to show that a refactoring changed no published byte (issue: one
package per stage).
"""

from __future__ import annotations

import argparse
import filecmp
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TODAY = "2026-12-02"


def build(code: Path, site: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(code)}
    command = [sys.executable, "-m", "builder.cli", "build", "--root", str(ROOT), "--today", TODAY,
               "--site-dir", str(site)]
    result = subprocess.run(command, env=env, cwd=code, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"the build with {code} failed:\n{result.stdout}\n{result.stderr}")


def differences(left: Path, right: Path) -> list[str]:
    found: list[str] = []

    def walk(cmp: filecmp.dircmp, prefix: str) -> None:
        found.extend(f"only in base: {prefix}{name}" for name in cmp.left_only)
        found.extend(f"only in other: {prefix}{name}" for name in cmp.right_only)
        for name in cmp.common_files:
            if not filecmp.cmp(Path(cmp.left) / name, Path(cmp.right) / name, shallow=False):
                found.append(f"differs: {prefix}{name}")
        for name, sub in cmp.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(left, right), "")
    return found


def worktree(ref: str, into: Path) -> Path:
    subprocess.run(["git", "worktree", "add", "--detach", str(into), ref], cwd=ROOT, check=True,
                   capture_output=True)
    return into


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base")
    parser.add_argument("other", nargs="?")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="compare-builds-") as tmp:
        work = Path(tmp)
        trees = [worktree(args.base, work / "base")]
        other = worktree(args.other, work / "other") if args.other else ROOT
        if args.other:
            trees.append(other)
        try:
            build(trees[0], work / "site-base")
            build(other, work / "site-other")
            found = differences(work / "site-base", work / "site-other")
        finally:
            for tree in trees:
                subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT,
                               capture_output=True)
    if found:
        print("\n".join(found))
        print(f"{len(found)} difference(s)")
        return 1
    print("the two sites are byte-identical")
    return 0


if __name__ == "__main__":
    sys.exit(main())
