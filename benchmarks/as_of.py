"""The as-of file reading at 100,000 commits against the ``git log`` floor: ``python -m benchmarks.as_of``.

A past window is judged by its own files, so the git source reads every version of the files the rules
read (workflow, deploy script, guidance, runbook) on the collected chain: one ``git cat-file --batch``
for every (commit, path) pair where the path changed, each blob decoded once. This measures that read
alone, interleaved with the floor, on the history benchmark's 100,000-commit fixture (built by
``python -m benchmarks``; this command builds nothing).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compliance.sources.base import Meter  # noqa: E402
from compliance.sources.git import _read_versions  # noqa: E402  (the reading itself, not the whole source)
from compliance.sources.git_runner import GitRunner  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--system", default=str(Path.home() / ".cache/compliance-bench/system-100000"),
                    help="a history benchmark system folder (repo.git + snapshot.json)")
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args(argv)
    system = Path(args.system)
    if not (system / "snapshot.json").is_file():
        print(f"no snapshot in {system}: run `python -m benchmarks --only history` first to build it", file=sys.stderr)
        return 2
    git = json.loads((system / "snapshot.json").read_text("utf-8"))["sources"]["git"]["data"]
    commits, paths = git["commits"], list(git["files_at_head"])
    runner = GitRunner(str(system / "repo.git"), Meter())
    versions, floor = [], []
    for _ in range(args.reps):
        t = time.perf_counter()
        _, read = _read_versions(runner, commits, paths, len(commits) - 1)
        versions.append(time.perf_counter() - t)
        t = time.perf_counter()
        subprocess.run(["git", "-C", str(system / "repo.git"), "log", "--first-parent", "--name-only", "main"],
                       stdout=subprocess.DEVNULL, check=True)
        floor.append(time.perf_counter() - t)
    v, f = sorted(versions)[len(versions) // 2], sorted(floor)[len(floor) // 2]
    pairs = sum(len(x) for x in read["paths"].values())
    print(f"{len(commits):,} commits, {len(paths)} paths, {pairs:,} (commit, path) versions, "
          f"{len(read['blobs']):,} distinct blobs")
    print(f"as-of reading: median {v * 1000:.0f} ms; `git log` floor median {f * 1000:.0f} ms "
          f"(= {v / f:.2f}x the floor), {args.reps} interleaved runs each")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
