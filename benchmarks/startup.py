"""Section 4: start-up cost of the CLI over a bare interpreter.

``compliance --version`` and ``compliance rules validate policies`` (the installed console script,
as users run it) against ``python -c pass`` from the same virtualenv, interleaved, median of N.
If a command misses the target, ``python -X importtime`` of it lists the modules that cost most.
"""

from __future__ import annotations

import re
import statistics

from benchmarks.measure import ROOT, VENV_BIN, Row, run

TARGET_MS = 150.0


def importtime(argv: list[str], top: int = 15) -> list[tuple[int, int, str]]:
    """(cumulative us, self us, module) of the most expensive imports, heaviest first."""
    r = run([str(VENV_BIN / "python"), "-X", "importtime", *argv], cwd=ROOT)
    rows = []
    for line in r.stderr.decode("utf-8", "replace").splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (.*)$", line)
        if m:
            rows.append((int(m.group(2)), int(m.group(1)), m.group(3)))
    rows.sort(reverse=True)
    return rows[:top]


_PROFILE = """
import cProfile, io, pstats, sys, time
t0 = time.perf_counter()
import compliance.cli, compliance.inputs.rules  # what the command imports, paid before the work
t1 = time.perf_counter()
prof = cProfile.Profile()
prof.enable()
compliance.cli.main(sys.argv[1:])
prof.disable()
t2 = time.perf_counter()
buf = io.StringIO()
pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(r"compliance/|jsonschema|yaml", 14)
print(f"imports {(t1 - t0) * 1000:.0f} ms, the command itself {(t2 - t1) * 1000:.0f} ms (under cProfile)")
print(buf.getvalue())
"""


def work_profile(args: list[str]) -> str:
    """The command's own work after its imports, under cProfile: what it does besides importing."""
    r = run([str(VENV_BIN / "python"), "-c", _PROFILE, *args], cwd=ROOT)
    keep = [ln.rstrip().replace(str(ROOT) + "/", "").replace(str(VENV_BIN.parent), "<venv>")
            for ln in r.stdout.decode("utf-8", "replace").splitlines()
            if ln.strip() and "rule(s) valid" not in ln
            and not ln.lstrip().startswith(("Ordered by", "List reduced"))]
    return "\n".join(keep)


def _why(over: float, heavy: list[tuple[int, int, str]], work: str) -> str:
    cum = {mod.strip(): c / 1000 for c, _, mod in heavy}
    third = [f"`{m}` {cum[m]:.0f} ms" for m in ("jsonschema", "referencing", "yaml") if m in cum]
    ours = [f"`{m}` {cum[m]:.0f} ms" for m in ("compliance.inputs.yamlpos", "compliance.judge.registry",
                                                 "compliance.inputs.ruleschema") if m in cum]
    m = re.search(r"imports (\d+) ms, the command itself (\d+) ms", work)
    split = (f"Measured in one process, importing took {m.group(1)} ms and the validation itself {m.group(2)} ms "
             "(under cProfile). ") if m else ""
    return (f"{over:.0f} ms above the interpreter. {split}Most of it is imports (`-X importtime`, cumulative, "
            f"inflated by the tracing): {', '.join(third + ours) or 'see the table'}. jsonschema is imported only "
            "when a file is invalid (jsonschema-rs says whether it is valid), so what remains is the interpreter "
            "compiling and importing our own modules (`PYTHONDONTWRITEBYTECODE` is set here, so nothing is "
            "cached between runs) and PyYAML. What would close it: importing fewer of our modules on this path, "
            "and running with cached bytecode, as an installed package normally does.")


def run_section(reps: int, log) -> tuple[list[Row], str]:
    # The checkout is installed editable, so nothing would be compiled ahead of time (and
    # PYTHONDONTWRITEBYTECODE may forbid caching): compile it as `pip install` does for a package.
    r = run([str(VENV_BIN / "python"), "-m", "compileall", "-q", "compliance"], cwd=ROOT)
    if r.code != 0:
        raise RuntimeError(f"compileall exited {r.code}: {r.stderr.decode()[-500:]}")
    compliance = str(VENV_BIN / "compliance")
    cmds = {
        "python -c pass": [str(VENV_BIN / "python"), "-c", "pass"],
        "compliance --version": [compliance, "--version"],
        "compliance rules validate policies": [compliance, "rules", "validate", "policies"],
    }
    times: dict[str, list[float]] = {k: [] for k in cmds}
    for _ in range(reps):
        for name, argv in cmds.items():
            r = run(argv, cwd=ROOT)
            if r.code != 0:
                raise RuntimeError(f"{name} exited {r.code}: {r.stderr.decode()[-500:]}")
            times[name].append(r.seconds)
    med = {k: statistics.median(v) for k, v in times.items()}
    base = med["python -c pass"]
    log("  start-up medians: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in med.items()))
    rows = []
    lines = ["## 4. Start-up", "", "Bytecode compiled first (`python -m compileall compliance`), as installing the package "
             "from a wheel does. "
             f"Console script vs bare interpreter of the same venv, interleaved, median of "
             f"{reps} each.", "", "| command | median | min-max | above `python -c pass` |", "|---|---:|---|---:|"]
    for name, values in times.items():
        lines.append(f"| `{name}` | {med[name] * 1000:.0f} ms | {min(values) * 1000:.0f}-{max(values) * 1000:.0f} ms"
                     f" | {(med[name] - base) * 1000:+.0f} ms |")
    lines.append("")
    for name in ("compliance --version", "compliance rules validate policies"):
        over = (med[name] - base) * 1000
        row = Row("4 start-up", f"`{name}` above `python -c pass`", f"{over:.0f} ms "
                  f"({med[name] * 1000:.0f} vs {base * 1000:.0f} ms)", f"< {TARGET_MS:.0f} ms", over < TARGET_MS)
        rows.append(row)
        if over >= TARGET_MS:
            argv = ["-m", "compliance", *cmds[name][1:]]
            heavy = importtime(argv)
            work = work_profile(cmds[name][1:])
            row.why = _why(over, heavy, work)
            lines += [f"`python -X importtime -m compliance {' '.join(cmds[name][1:])}`, heaviest imports "
                      "(cumulative, including what each pulls in):", "", "| cumulative | self | module |",
                      "|---:|---:|---|"]
            lines += [f"| {cum / 1000:.1f} ms | {own / 1000:.1f} ms | `{mod.strip()}` |" for cum, own, mod in heavy]
            lines += ["", "And what the command does after importing (cProfile, cumulative):", "", "```",
                      work, "```", ""]
    return rows, "\n".join(lines)
