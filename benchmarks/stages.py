"""Where `compliance evaluate` / `compliance audit` spend time and memory, stage by stage.

Usage: ``python -m benchmarks.stages --snapshot S --out DIR [--config C --since D --until D]
[--profile] [--json FILE]``

Runs the calls ``cli.cmd_evaluate`` makes (with ``--config``, those of ``cmd_audit``: collect,
judge, reports, save the snapshot) one stage at a time in a fresh process, recording after each stage its wall time,
the resident set size and the peak so far. With ``--profile`` the stages run under cProfile and
the functions that cost the most are printed (cumulative and own time), so a missed target points
at code in ``compliance/``. The figures are for diagnosis: cProfile slows Python code 1.5-2x.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import pstats
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Stages:
    def __init__(self) -> None:
        self.rows: list[dict[str, float | str]] = []
        self._t = time.perf_counter()

    def mark(self, name: str) -> None:
        now = time.perf_counter()
        self.rows.append({"stage": name, "seconds": round(now - self._t, 3), "rss_mb": round(rss_mb(), 1),
                          "peak_mb": round(peak_mb(), 1)})
        self._t = time.perf_counter()


def run(args: argparse.Namespace) -> list[dict[str, float | str]]:
    """The calls ``cmd_evaluate`` (or, with ``--config``, ``cmd_audit``) makes, one stage each."""
    from compliance.base.redact_doc import redact_data
    from compliance.inputs.rules import load_rules
    from compliance.judge.engine import Context, judge
    from compliance.model.snapshot import (
        _file_digest,
        canonical_and_masked,
        digest_text,
        load_schema,
        save_snapshot,
        snapshot_text,
        validate_snapshot,
    )
    from compliance.report import write_reports
    from compliance.report.document import build_report

    gc.disable()  # as `compliance` itself runs (cli.main)
    st = Stages()
    st.mark("start (imports)")
    ruleset = load_rules([args.policies])
    st.mark("load rules")
    out = Path(args.out)
    if args.config:
        from compliance.app.collect import collect
        from compliance.base.timeutil import parse_bound
        from compliance.inputs.config import load_config

        config = load_config(args.config)
        snapshot = collect(config, ruleset, parse_bound(args.since), parse_bound(args.until, end=True))
        st.mark("collect (git live, files read, every source schema-checked)")
        for name, src in sorted(snapshot["sources"].items()):
            st.rows.append({"stage": f"  of which source {name}", "seconds": src["provenance"]["duration_ms"] / 1000,
                            "rss_mb": "", "peak_mb": ""})
    else:
        digest = _file_digest(Path(args.snapshot))
        with open(args.snapshot, encoding="utf-8", newline="") as fh:
            text = fh.read()
        st.mark("read and digest snapshot file")
        snapshot = json.loads(text)
        del text
        st.mark("json.loads snapshot")
        load_schema("snapshot")
        validate_snapshot(snapshot, args.snapshot)
        st.mark("validate snapshot (jsonschema-rs)")
        canonical_and_masked(snapshot, digest)  # persist.as_saved: may the file itself be copied into the set?
        st.mark("check the file is canonical and masked (encoded and hashed, not held)")
    ctx = Context(snapshot)
    findings, section = judge(snapshot, ruleset.rules, None, ctx=ctx)
    st.mark(f"judge ({len(findings)} findings)")
    text = None
    if args.config:
        validate_snapshot(snapshot, str(out / "snapshot.json"))
        text = snapshot_text(snapshot)
        digest = digest_text(text)
        st.mark("validate, mask and serialise the snapshot (to digest it)")
    doc = redact_data(build_report(snapshot, ruleset.rules, findings, "audit" if args.config else "evaluate",
                                   waivers=section, ctx=ctx, digest=digest))
    del ctx, findings
    st.mark("build (and mask) report document")
    written = write_reports(doc, out, ("md", "html", "json"))
    sizes = ", ".join(f"{k} {p.stat().st_size / 1e6:.1f} MB" for k, p in written.items())
    st.mark(f"render and write reports ({sizes})")
    if args.config:
        save_snapshot(snapshot, out / "snapshot.json", validate=False, text=text)
        st.mark("write the snapshot")
    return st.rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshot", help="judge this snapshot (the evaluate path)")
    parser.add_argument("--config", help="collect with this config instead (the audit path)")
    parser.add_argument("--since")
    parser.add_argument("--until")
    parser.add_argument("--policies", default=str(Path(__file__).resolve().parent.parent / "policies"))
    parser.add_argument("--out", required=True)
    parser.add_argument("--profile", action="store_true", help="run under cProfile and print the top functions")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--json", help="write the stage table (and profile text) here")
    args = parser.parse_args(argv)
    if not args.snapshot and not args.config:
        parser.error("--snapshot or --config is required")
    profile_text = ""
    functions: list[list] = []
    total = 0.0
    if args.profile:
        prof = cProfile.Profile()
        rows = prof.runcall(run, args)
        buf = io.StringIO()
        stats = pstats.Stats(prof, stream=buf)
        stats.sort_stats("cumulative").print_stats(r"compliance/|jsonschema/validators|json/encoder|frozen os",
                                                   args.top)
        stats.sort_stats("tottime").print_stats(args.top)
        profile_text = _trim(buf.getvalue())
        total = stats.total_tt
        for (filename, line, func), (_cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
            if "/compliance/" in filename or func in ("redact_data", "redact"):
                functions.append([filename.split("/compliance/", 1)[-1], line, func, nc, round(tt, 4), round(ct, 4)])
    else:
        rows = run(args)
    if args.json:
        Path(args.json).write_text(json.dumps({"stages": rows, "profile": profile_text, "total": total,
                                               "functions": functions}, indent=1) + "\n")
    for row in rows:
        print(f"{row['stage']:<55} {row['seconds']:>8} s  rss {row['rss_mb']:>8} MB  peak {row['peak_mb']:>8} MB")
    if profile_text:
        print(profile_text)
    return 0


def _trim(text: str) -> str:
    """pstats output without its blank preamble and with site-packages paths shortened."""
    keep = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith(("Ordered by", "List reduced")):
            continue
        keep.append(line.replace(str(Path(sys.prefix)), "<venv>").rstrip())
    return "\n".join(keep)


if __name__ == "__main__":
    raise SystemExit(main())
