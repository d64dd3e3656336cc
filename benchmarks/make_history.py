"""Generate a large synthetic repository shaped like the governed monorepo's history.

Usage: ``python benchmarks/make_history.py N OUTDIR`` (OUTDIR becomes a bare repository).

The git source is only worth benchmarking on history that looks like the real one: a
first-parent chain mixing GitHub PR merges (with a side-branch commit whose changes the merge
carries), squash merges ``<title> (#N)`` and direct pushes; about half the commits touching the
two scoped folders, some of them only through the generated data dictionary that scopes must
exclude; tracker ids in subjects and branch names; committers in three time zones.

Commits are streamed into ``git fast-import`` rather than made with ``git commit``: that is the
difference between a few seconds and an hour for 50,000 commits. A fixed seed makes the same N
always produce the same repository, so benchmark figures are comparable between runs.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time

from compliance.base import synthetic
from compliance.demo.tree import file_text

SCOPED_API = "backend/lambda/coordination_api"
SCOPED_MCP = "tools/enceladus-mcp-server"
DICTIONARY = f"{SCOPED_API}/governance_data_dictionary.json"
DEPLOY_SCRIPT = f"{SCOPED_API}/deploy.sh"
RUNBOOK = "docs/runbooks/api-mcp-deploy.md"  # the demo's runbook and guidance, so the governance rules judge real text
GOVERNANCE = [(RUNBOOK, file_text("api-mcp-deploy.md").encode()), ("AGENTS.md", file_text("AGENTS.md").encode())]
DEPLOY_TEXT = (b"#!/usr/bin/env bash\nset -euo pipefail\ncd \"$(dirname \"$0\")\"\nzip -qr /tmp/fn.zip .\n"
               b"aws lambda update-function-code --function-name devops-coordination-api --zip-file fileb:///tmp/fn.zip\n")
ZONES = ("-0800", "-0700", "+0000")
AUTHORS = ("Ada Agent <ada@example.invalid>", "Bo Builder <bo@example.invalid>", "Cy Ops <cy@example.invalid>")
START = 1_704_067_200  # 2024-01-01T00:00:00Z


def _paths() -> tuple[list[str], list[str]]:
    scoped = [f"{SCOPED_API}/{d}/mod_{i:02d}.py" for d in ("handlers", "lib", "models") for i in range(25)]
    scoped += [f"{SCOPED_MCP}/{d}/tool_{i:02d}.py" for d in ("src", "tests") for i in range(25)]
    other = [f"frontend/src/{d}/comp_{i:02d}.tsx" for d in ("pages", "widgets", "hooks") for i in range(40)]
    other += [f"infrastructure/cloudformation/{i:02d}-stack.yaml" for i in range(20)]
    other += [f"docs/{d}/note_{i:02d}.md" for d in ("runbooks", "adr") for i in range(30)]
    other += [f"backend/lambda/other_fn_{i:02d}/app.py" for i in range(30)]
    other += [".github/workflows/api-mcp-backend-deploy.yml", "README.md"]
    return scoped, other


def _base36(n: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = ""
    for _ in range(3):
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out


class _Stream:
    """Writes fast-import commands through the shared writer (compliance.base.synthetic), as they come."""

    def __init__(self, out):
        self.out = out

    def commit(self, ref: str, mark: int, who: str, when: int, tz: str, message: str,
               parents: list[int], changes: list[tuple[str, bytes]]) -> None:
        date = f"{when} {tz}"
        self.out.write(synthetic.commit(ref, mark, who, date, who, date, message, parents,
                                        [("100644", path, content) for path, content in changes]))


MEAN_GAP = 2730  # mean seconds between first-parent commits (uniform 60..5400)


def generate(n: int, outdir: str, seed: int = 20260225, start: int = START) -> dict[str, int]:
    """Write an N-commit first-parent history on ``main`` into a new bare repository.

    ``start`` is the epoch second the history begins; commits follow about ``MEAN_GAP`` apart, so
    callers that need the history to end before today pass ``end - n * MEAN_GAP``.
    """
    if os.path.exists(outdir) and os.listdir(outdir):
        raise SystemExit(f"{outdir} exists and is not empty")
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", outdir], check=True, env=env)
    # Uncompressed objects halve the generation time; the repository is a throwaway fixture.
    proc = subprocess.Popen(["git", "-C", outdir, "-c", "core.compression=0", "-c", "pack.compression=0",
                             "fast-import", "--quiet", "--done"],
                            stdin=subprocess.PIPE, env=env)
    assert proc.stdin is not None
    rng = random.Random(seed)
    scoped, other = _paths()
    stream = _Stream(proc.stdin)
    counts = {"pr_merge": 0, "squash": 0, "direct_push": 0, "other_merge": 0, "scoped": 0, "dictionary_only": 0}
    mark = 0
    prev = 0
    when = start
    pr = 0
    for i in range(n):
        when += rng.randint(60, 5400)
        tz = ZONES[i % 3]
        who = AUTHORS[rng.randrange(3)]
        task = f"ENC-TSK-{_base36(rng.randrange(36**3))}"
        roll = rng.random()
        if i == 0:
            # a deploy script that deploys: the checker judges each run by the script in force at its commit
            changes = ([(p, b"initial\n") for p in (*scoped, *other, DICTIONARY)] + [(DEPLOY_SCRIPT, DEPLOY_TEXT)]
                       + GOVERNANCE)
        elif roll < 0.5:
            counts["scoped"] += 1
            if rng.random() < 0.15:
                counts["dictionary_only"] += 1
                picked = [DICTIONARY]
            else:
                picked = rng.sample(scoped, rng.randint(1, 3)) + rng.sample(other, rng.randint(0, 2))
                if rng.random() < 0.3:
                    picked.append(DICTIONARY)
            changes = [(p, f"rev {i}\n".encode()) for p in picked]
        else:
            changes = [(p, f"rev {i}\n".encode()) for p in rng.sample(other, rng.randint(1, 4))]
        kind = rng.random()
        if i == 0:
            mark += 1
            stream.commit("refs/heads/main", mark, who, when, tz, "initial import\n", [], changes)
        elif kind < 0.4:
            pr += 1
            branch = f"agent/{task.lower()}-fix" if rng.random() < 0.7 else f"feature/work-{i}"
            mark += 1
            side = mark
            stream.commit("refs/heads/side", side, who, when - 30, tz, f"{task} change {i}\n", [prev], changes)
            mark += 1
            title = f"Work for {task}" if rng.random() < 0.5 else f"Change number {i}"
            stream.commit("refs/heads/main", mark, who, when, tz,
                          f"Merge pull request #{pr} from NX-2021-L/{branch}\n\n{title}\n", [prev, side], changes)
            counts["pr_merge"] += 1
        elif kind < 0.7:
            pr += 1
            mark += 1
            stream.commit("refs/heads/main", mark, who, when, tz,
                          f"{task}: change {i} (#{pr})\n\n* squashed\n", [prev], changes)
            counts["squash"] += 1
        elif kind < 0.98:
            mark += 1
            stream.commit("refs/heads/main", mark, who, when, tz, f"direct change {i} {task.lower()}\n",
                          [prev], changes)
            counts["direct_push"] += 1
        else:
            mark += 1
            side = mark
            stream.commit("refs/heads/side", side, who, when - 30, tz, f"local {i}\n", [prev], changes)
            mark += 1
            stream.commit("refs/heads/main", mark, who, when, tz, f"Merge branch 'local-{i}'\n",
                          [prev, side], changes)
            counts["other_merge"] += 1
        prev = mark
    proc.stdin.write(b"done\n")
    proc.stdin.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="number of first-parent commits on main")
    parser.add_argument("outdir", help="where to create the bare repository (must not exist or be empty)")
    parser.add_argument("--seed", type=int, default=20260225)
    parser.add_argument("--start", type=int, default=START, help="epoch second of the first commit")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    counts = generate(args.n, args.outdir, args.seed, args.start)
    print(f"{args.n} commits in {time.perf_counter() - t0:.1f}s -> {args.outdir}: {counts}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
