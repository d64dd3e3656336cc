"""How close the git source gets to the floor set by plain ``git log``.

Usage: ``python benchmarks/bench_changes.py [--commits 50000] [--repo PATH] [--runs 5]``

The checker answers "which first-parent commits changed the scoped paths" by collecting every
first-parent commit with its files (:func:`compliance.sources.git.collect_git`) and filtering
with GitHub's glob semantics in Python. The floor is what git alone needs for the same answer:
``git log --first-parent --name-only`` with the scope as pathspecs. A second floor without
pathspecs shows the price of listing every commit's files, which the checker must pay because
it keeps whole commits in the snapshot for offline re-evaluation.

The synthetic repository is generated once (see ``make_history.py``) and reused from the
temporary directory, so repeated runs measure only the reading.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.make_history import generate  # noqa: E402
from compliance.base.globs import filter_match  # noqa: E402
from compliance.sources.base import Meter  # noqa: E402
from compliance.sources.git import collect_git  # noqa: E402

SCOPE = ["backend/lambda/coordination_api/**", "tools/enceladus-mcp-server/**", "!**/governance_data_dictionary.json"]
PATHSPECS = [
    "backend/lambda/coordination_api",
    "tools/enceladus-mcp-server",
    ":(exclude,glob)**/governance_data_dictionary.json",
]


def ensure_repo(path: Path, commits: int) -> Path:
    marker = path / "bench-commits"
    if marker.exists() and marker.read_text().strip() == str(commits):
        return path
    if path.exists():
        raise SystemExit(f"{path} exists but was not made for {commits} commits; remove it or pick --repo")
    t0 = time.perf_counter()
    generate(commits, str(path))
    marker.write_text(f"{commits}\n")
    print(f"generated {commits} commits in {time.perf_counter() - t0:.1f}s at {path}")
    return path


def git_floor(repo: Path, pathspecs: list[str]) -> int:
    """Commits git prints for the query; output is read fully, as a consumer would."""
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    out = subprocess.run(
        ["git", "-C", str(repo), "log", "--first-parent", "--name-only", "--format=%H", "main", "--", *pathspecs],
        check=True, capture_output=True, env=env,
    ).stdout
    return sum(1 for line in out.splitlines() if len(line) == 40 and line.isalnum())


def checker(repo: Path) -> int:
    data = collect_git(str(repo), "main", None, meter=Meter())
    return sum(1 for c in data["commits"] if any(filter_match(SCOPE, f["path"]) for f in c["files"]))


def cli_changes(repo: Path) -> int:
    """The whole `compliance changes` command as a user runs it: process start, git, filter, JSON lines."""
    args = [sys.executable, "-m", "compliance", "changes", "--repo", str(repo), "--since", "1970-01-01",
            "--until", "2100-01-01", "--format", "json", "--exclude", "**/governance_data_dictionary.json"]
    for glob in ("backend/lambda/coordination_api/**", "tools/enceladus-mcp-server/**"):
        args += ["--path", glob]
    out = subprocess.run(args, check=True, capture_output=True).stdout
    return out.count(b"\n")


def measure(fn, runs: int) -> tuple[float, int]:
    times, result = [], 0
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=50_000)
    parser.add_argument("--repo", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    repo = args.repo or Path(tempfile.gettempdir()) / f"compliance-bench-{args.commits}.git"
    ensure_repo(repo, args.commits)

    rows = [
        ("git log --first-parent --name-only -- <scope>", *measure(lambda: git_floor(repo, PATHSPECS), args.runs)),
        ("git log --first-parent --name-only (all paths)", *measure(lambda: git_floor(repo, []), args.runs)),
        ("collect_git + scope filter in Python", *measure(lambda: checker(repo), args.runs)),
        ("compliance changes --format json (whole CLI)", *measure(lambda: cli_changes(repo), args.runs)),
    ]
    floor = rows[0][1]
    print(f"\n{args.commits} first-parent commits, median of {args.runs} runs")
    print(f"{'what':<48} {'median s':>9} {'x floor':>8} {'commits':>8}")
    for name, seconds, count in rows:
        print(f"{name:<48} {seconds:>9.3f} {seconds / floor:>8.2f} {count:>8}")
    if rows[0][2] != rows[2][2]:
        print(f"note: git's pathspec answer ({rows[0][2]}) and the checker's ({rows[2][2]}) differ")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
