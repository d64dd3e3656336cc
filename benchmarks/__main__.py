"""Run every benchmark and write BENCHMARKS.md: ``.venv/bin/python -m benchmarks``.

Sections: 1 history (the whole pipeline on 10,000 and 100,000 commits against ``git log``),
2 API economy (GitHub requests, first and repeat run), 3 a peer on the same work (500 Lambda
states against Cloud Custodian on moto), 4 start-up, 5 memory (peak RSS at 100,000 commits).
Benchmarks, not timed tests: every ratio is measured side by side in one run on a shared, noisy
machine, as a median of several runs where the budget allows.

Fixtures (the synthetic repositories, their source files and snapshots, c7n's virtualenv) are
built once into ``--workdir`` and reused while their stamp matches; building them is timed and
reported apart from the measurements.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.measure import ROOT, Row, code_state, machine  # noqa: E402

SECTIONS = ("history", "api", "peer", "startup")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path,
                        default=Path(os.environ.get("COMPLIANCE_BENCH_DIR") or Path.home() / ".cache" / "compliance-bench"),
                        help="where fixtures are built and reused (default: ~/.cache/compliance-bench)")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--sizes", default="10000,100000", help="commit counts, smallest first (default 10000,100000)")
    parser.add_argument("--reps", type=int, default=3, help="runs of evaluate/audit for the smaller size")
    parser.add_argument("--reps-large", type=int, default=3, help="runs of evaluate/audit for the largest size")
    parser.add_argument("--floor-reps", type=int, default=3, help="runs of each git floor per size")
    parser.add_argument("--peer-reps", type=int, default=3)
    parser.add_argument("--startup-reps", type=int, default=20)
    parser.add_argument("--profile-size", type=int, default=3000,
                        help="commits of the system whose evaluate and audit paths are profiled stage by stage "
                             "(default 3000; 0 skips the profile)")
    parser.add_argument("--stages-large", action="store_true",
                        help="also break the largest evaluate into stages without cProfile (about 2.5 min more)")
    parser.add_argument("--only", action="append", choices=SECTIONS, help="run only these sections (repeatable)")
    args = parser.parse_args(argv)
    sections = args.only or list(SECTIONS)
    sizes = tuple(int(s) for s in args.sizes.split(","))
    args.workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    when = datetime.now(timezone.utc)
    facts = machine()
    facts["code"] = code_state()
    log(f"benchmarks in {args.workdir}: {', '.join(sections)}")

    rows: list[Row] = []
    details: list[str] = []
    fixtures: list[str] = []
    if "history" in sections:
        from benchmarks.history_data import build

        for n in sizes:
            t0 = time.perf_counter()
            sysm = build(n, args.workdir / f"system-{n}", log=log)
            took = time.perf_counter() - t0
            built = sysm.facts.get("build_seconds")
            fixtures.append(f"{n:,}-commit system: " + (f"built in {built} s" if took > 5 else
                                                         f"reused (built earlier in {built} s)"))
    timings: dict[str, float] = {}
    for section in ("startup", "api", "peer", "history"):
        if section not in sections:
            continue
        t0 = time.perf_counter()
        log(f"section {section} ...")
        if section == "startup":
            from benchmarks import startup

            r, d = startup.run_section(args.startup_reps, log)
        elif section == "api":
            from benchmarks import api_economy

            r, d = api_economy.run_section(log)
        elif section == "peer":
            from benchmarks import peer_lambda

            r, d = peer_lambda.run_section(args.workdir, args.peer_reps, log)
        else:
            from benchmarks import history_bench

            reps = {n: args.reps for n in sizes}
            reps[max(sizes)] = args.reps_large
            r, d = history_bench.run_section(args.workdir, sizes, reps, args.floor_reps, args.profile_size, log,
                                                    args.stages_large)
        timings[section] = time.perf_counter() - t0
        rows += r
        details.append(d)
    total = time.perf_counter() - started
    facts["code_after"] = code_state()
    text = render(rows, details, facts, when, total, timings, fixtures, args, sections)
    args.out.write_text(text, encoding="utf-8")
    log(f"wrote {args.out} in {total / 60:.1f} min")
    for row in rows:
        log(f"  {row.verdict:<11} {row.what}: {row.measured}  (target {row.target})")
    return 0


def render(rows: list[Row], details: list[str], facts: dict, when: datetime, total: float,
           timings: dict[str, float], fixtures: list[str], args: argparse.Namespace, sections: list[str]) -> str:
    order = {"1": 0, "2": 1, "3": 2, "4": 3, "5": 4}
    rows = sorted(rows, key=lambda r: order.get(r.section[0], 9))
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `.venv/bin/python -m benchmarks` on {when:%Y-%m-%d %H:%M} UTC; the measured part took "
        f"{total / 60:.1f} min ({', '.join(f'{k} {v:.0f} s' for k, v in timings.items())}). Do not edit by hand: "
        "re-run the command. Benchmarks, not timed tests: the machine is shared and noisy, so every ratio "
        "below comes from commands measured side by side, interleaved, in this one run.",
        "",
        f"Code measured: {facts['code']}. "
        + ("The code did not change during the run." if facts.get("code_after") == facts["code"] else
           f"Commits were made during the run (at the end: {facts.get('code_after')}), none to the code "
           "measured (the digest is the same)." if _digest(facts.get("code_after")) == _digest(facts["code"]) else
           f"The code changed during the run (at the end: {facts.get('code_after')}), so some figures may "
           "describe the later tree."),
        "",
        "## Machine",
        "",
        "| nproc | CPU | memory | Python | git | OS | load average at start |",
        "|---:|---|---|---|---|---|---|",
        f"| {facts['nproc']} | {facts['cpu']} | {facts['memory']} | {facts['implementation']} {facts['python']} | "
        f"{facts['git'].replace('git version ', '')} | {facts['os']} | {facts['load_at_start']} |",
        "",
    ]
    if total > 600:
        lines += [f"The run took {total / 60:.1f} min, over the ~10-minute budget: most of it is the checker's "
                  "own runs on the largest history (section 1), one run each already. Once those meet their "
                  "targets the whole run fits easily.", ""]
    if fixtures:
        lines += ["Fixtures (not part of any measurement): " + "; ".join(fixtures) + f", in `{args.workdir}`.", ""]
    lines += ["## Results", "", "| section | measurement | measured | target | verdict |", "|---|---|---|---|---|"]
    for r in rows:
        note = f" ({r.note})" if r.note else ""
        lines.append(f"| {r.section} | {r.what} | {r.measured}{note} | {r.target} | {r.verdict} |")
    missed = [r for r in rows if r.ok is False]
    lines += ["", f"{sum(r.ok is True for r in rows)} target(s) met, {len(missed)} missed, "
              f"{sum(r.ok is None for r in rows)} reference figure(s).", ""]
    if missed:
        lines += ["## Misses: why, and what would close them", ""]
        for r in missed:
            lines += [f"### {r.section}: {r.what}", "", r.why or "(no diagnosis recorded)", ""]
    lines += ["# Details", ""]
    lines += sorted(details, key=lambda d: d.split(".", 1)[0])  # "## 1. ..." first
    lines += ["## Reproduce", "", "```", ".venv/bin/python -m benchmarks            # everything, writes BENCHMARKS.md",
              ".venv/bin/python -m benchmarks --only history --reps-large 3",
              ".venv/bin/python -m benchmarks.stages --snapshot ~/.cache/compliance-bench/system-100000/snapshot.json "
              "--out /tmp/st --profile",
              "```", ""]
    return "\n".join(lines)



def _digest(code: str | None) -> str | None:
    """The digest part of ``code_state()`` ("HEAD <sha> (digest of ...: <hex>)"): what was measured."""
    return code.rsplit(":", 1)[-1].strip(" )") if code and "digest" in code else None

if __name__ == "__main__":
    raise SystemExit(main())
