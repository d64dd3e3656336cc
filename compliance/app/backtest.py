"""Backtesting: judge a rule, or a draft rule file, against a past window before enforcing it.

A new rule that would have failed half of last month's changes needs a conversation before it
gates anything. The backtest runs the ordinary pipeline (collect or a saved snapshot, then
``engine.judge``) and lists what would have failed; it is informational, so it exits 0 whenever
it ran, and writes nothing unless asked.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from compliance.base.errors import EXIT_OK, ComplianceError
from compliance.base.redact import clip
from compliance.model.findings import FAIL, STATUSES, Finding, summarize

SHOWN = (FAIL, "error")


def _rules(args: argparse.Namespace) -> Any:
    from compliance.inputs.rules import load_rules
    from compliance.inputs.schema_messages import did_you_mean

    ruleset = load_rules(args.policy)
    if args.rule:
        ids = {r.id for r in ruleset.rules}
        unknown = [r for r in args.rule if r not in ids]
        if unknown:
            guess = did_you_mean(unknown[0], sorted(ids))
            hint = f"; did you mean {guess!r}?" if guess else f" (rules: {', '.join(sorted(ids))})"
            raise ComplianceError(f"no rule {unknown[0]!r} in {', '.join(args.policy)}{hint}")
        ruleset.rules = [r for r in ruleset.rules if r.id in set(args.rule)]
    return ruleset


def _snapshot(args: argparse.Namespace, ruleset: Any, window: Callable[[argparse.Namespace], Any]) -> dict[str, Any]:
    if args.snapshot:
        from compliance.model.snapshot import load_snapshot

        if args.since or args.until:
            raise ComplianceError("--since/--until apply to collection; a snapshot keeps its own window")
        return load_snapshot(args.snapshot)
    from compliance.app.collect import collect
    from compliance.inputs.config import load_config

    config = load_config(args.config or "compliance.yaml")
    since, until = window(args)
    return collect(config, ruleset, since, until)


def format_table(findings: list[Finding], show_all: bool) -> list[str]:
    rows = [f for f in findings if show_all or f.status in SHOWN]
    if not rows:
        return []
    width = max(len(f"{f.subject_type} {f.subject}") for f in rows)
    width = min(max(width, 7), 60)
    rule_w = max(4, *(len(f.rule_id) for f in rows))
    out = [f"{'rule':<{rule_w}}  {'subject':<{width}}  {'status':<14}  message"]
    for f in rows:
        subject = f"{f.subject_type} {f.subject}"
        out.append(f"{f.rule_id:<{rule_w}}  {subject[:width]:<{width}}  {f.status:<14}  {clip(f.message, 160)}")
    return out


def run_backtest(args: argparse.Namespace, window: Callable[[argparse.Namespace], Any]) -> int:
    from compliance.base.timeutil import parse_time
    from compliance.judge.engine import judge

    ruleset = _rules(args)
    snapshot = _snapshot(args, ruleset, window)
    findings, waivers = judge(snapshot, ruleset.rules)
    for line in format_table(findings, args.all):
        print(line)
    counts = summarize(findings)
    changes = {f.subject for f in findings if f.status == FAIL and f.subject_type in ("change", "task")}
    win = snapshot["window"]
    print(" · ".join(f"{counts[s]} {s}" for s in STATUSES))
    print(f"{len(changes)} change(s) would have failed {', '.join(r.id for r in ruleset.rules)} between "
          f"{parse_time(win['since']).date()} and {parse_time(win['until']).date()} on {win['branch']} "
          "(backtest: informational, nothing enforced)")
    if args.out:
        from compliance.model.snapshot import snapshot_text, validate_snapshot
        from compliance.report import write_set
        from compliance.report.document import build_report

        out = Path(args.out)
        doc = build_report(snapshot, ruleset.rules, findings, "backtest", waivers=waivers)
        validate_snapshot(snapshot, str(out / "snapshot.json"))
        written = write_set(doc, out, snapshot_text=snapshot_text(snapshot))[1]
        for kind, path in written.items():
            print(f"  {kind:<8} {path}", file=sys.stderr)
    return EXIT_OK


__all__ = ["format_table", "run_backtest"]
