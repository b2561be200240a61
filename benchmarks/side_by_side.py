"""Run the benchmarks with two versions of the builder, alternately, in one session.

    .venv/bin/python benchmarks/side_by_side.py BASE_REF [--current REF] [--rounds 2] [--only validate thumbnails site]

The machine is noisy, so a figure means little alone: this checks a change out
of Git into a temporary worktree (BASE_REF: the commit before the change) and
runs each benchmark script of each tree with that tree's own code
(PYTHONPATH), alternating base and current for ``--rounds`` rounds, then
prints every run's output lines side by side with the load average before
each run. Used to show a refactoring made nothing slower (issue: one package
per stage): validation of 10,000 records, thumbnails over HTTP/S3, and the
site build at 10,000 studies.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BENCHMARKS = {
    "validate": ["benchmarks/validate_records.py", "--records", "10000"],
    "thumbnails": ["benchmarks/thumbnail_bytes.py", "--images", "100"],
    "site": ["benchmarks/build_site.py", "--sizes", "10000", "--no-browser"],
}


def run(tree: Path, name: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    load = os.getloadavg()[0]
    result = subprocess.run(
        [sys.executable, *BENCHMARKS[name]], cwd=tree, env=env, capture_output=True, text=True, timeout=3600
    )
    out = result.stdout.strip() or result.stderr.strip()[-2000:]
    return f"(load {load:.1f}, exit {result.returncode})\n{out}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base")
    parser.add_argument("--current", help="a commit for the current side (default: the working tree)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), default=sorted(BENCHMARKS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="side-by-side-") as tmp:
        base = Path(tmp) / "base"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(base), args.base], cwd=ROOT, check=True, capture_output=True
        )
        current = ROOT
        if args.current:
            current = Path(tmp) / "current"
            subprocess.run(
                ["git", "worktree", "add", "--detach", str(current), args.current],
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
        try:
            for name in args.only:
                for round_ in range(1, args.rounds + 1):
                    for label, tree in (("base", base), ("current", current)):
                        ref = args.base if label == "base" else args.current or "working tree"
                        print(f"===== {name} round {round_}: {label} ({ref})", flush=True)
                        print(run(tree, name), flush=True)
        finally:
            for tree in {base, current} - {ROOT}:
                subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
