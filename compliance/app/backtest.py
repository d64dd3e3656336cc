"""Backtesting: judge a rule, or a draft rule file, against a past window before enforcing it.

A new rule that would have failed half of last month's changes needs a conversation before it
gates anything. The backtest runs the ordinary pipeline (collect or a saved snapshot, then the
judge of every mode) and lists what would have failed; it is informational, so it exits 0
whenever it ran, and writes nothing unless asked (then through the one persistence path).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from compliance.app.collect import collect
from compliance.app.persist import judge_snapshot, persist
from compliance.base.errors import ComplianceError
from compliance.base.redact import clip
from compliance.base.timeutil import parse_time
from compliance.inputs.config import load_config
from compliance.inputs.rules import load_rules
from compliance.inputs.schema_messages import did_you_mean
from compliance.model.findings import FAIL, STATUSES, Finding, summarize
from compliance.model.snapshot import read_snapshot

SHOWN = (FAIL, "error")


@dataclass
class Backtest:
    """What a backtest found; ``written`` is empty unless ``--out`` asked for the set."""

    findings: list[Finding]
    rule_ids: list[str]
    window: dict[str, Any]
    written: dict[str, Path]

    def summary_lines(self) -> list[str]:
        counts = summarize(self.findings)
        changes = {short for f in self.findings if f.status == FAIL and (short := change_of(f))}
        win = self.window
        return [" · ".join(f"{counts[s]} {s}" for s in STATUSES),
                f"{len(changes)} change(s) would have failed {', '.join(self.rule_ids)} between "
                f"{parse_time(win['since']).date()} and {parse_time(win['until']).date()} on {win['branch']} "
                "(backtest: informational, nothing enforced)"]


def change_of(f: Finding) -> str | None:
    """The change a finding judged, by its short SHA: a change's subject is it, a task's is ``TASK@short``
    (one change failing a change rule and a task rule is one change that would have failed, not two)."""
    if f.subject_type == "change":
        return f.subject
    if f.subject_type == "task" and "@" in f.subject:
        return f.subject.rsplit("@", 1)[1]
    return None


def select_rules(policy: list[str], only: list[str]) -> Any:
    """The rule files, narrowed to ``only`` (an unknown id is refused with the nearest one named)."""
    ruleset = load_rules(policy)
    if only:
        ids = {r.id for r in ruleset.rules}
        unknown = [r for r in only if r not in ids]
        if unknown:
            guess = did_you_mean(unknown[0], sorted(ids))
            hint = f"; did you mean {guess!r}?" if guess else f" (rules: {', '.join(sorted(ids))})"
            raise ComplianceError(f"no rule {unknown[0]!r} in {', '.join(policy)}{hint}")
        ruleset.rules = [r for r in ruleset.rules if r.id in set(only)]
    return ruleset


def run_backtest(policy: list[str], only: list[str], *, snapshot: str | None = None, config: str | None = None,
                 since: datetime | None = None, until: datetime | None = None,
                 out: str | None = None) -> Backtest:
    """Judge a saved snapshot (``snapshot``) or a fresh collection of ``since..until``."""
    ruleset = select_rules(policy, only)
    digest = None
    if snapshot:
        snap, digest = read_snapshot(snapshot)
    else:
        if since is None or until is None:
            raise ComplianceError("a backtest that collects needs its window")
        snap = collect(load_config(config or "compliance.yaml"), ruleset, since, until)
    judged = judge_snapshot(snap, ruleset)
    written: dict[str, Path] = {}
    if out:
        written = persist(snap, ruleset, out, "backtest", snapshot_file=snapshot, digest=digest, judged=judged,
                          keep_findings=True).written
    return Backtest(judged.findings, [r.id for r in ruleset.rules], snap["window"], written)


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


__all__ = ["Backtest", "change_of", "format_table", "run_backtest", "select_rules"]
