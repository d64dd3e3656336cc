"""Runbook governance note: deployment evidence is written to the worklog of every affected task."""

from __future__ import annotations

from compliance.checks.common import change_finding, no_changes
from compliance.checks.registry import register
from compliance.engine import worklog_evidence_item
from compliance.findings import FAIL, NOT_APPLICABLE, PASS, Finding

PARTS = ["commit", "last_modified", "outcome"]


def _missing(ev, required: list[str]) -> list[str]:
    have = {"commit": True, "last_modified": bool(ev.last_modified), "outcome": ev.outcome is not None}
    return [p for p in required if not have[p]]


@register(
    "worklog_evidence",
    summary="Each task referenced by an in-scope change has a worklog naming the commit (or a later one that "
    "contains it), the function's LastModified and a passing validation outcome.",
    needs=("git", "tracker"),
    subject="task",
    params={
        "properties": {
            "require": {"type": "array", "items": {"enum": PARTS}, "default": PARTS,
                        "description": "which parts the evidence must name"},
        },
    },
    example={"kind": "worklog_evidence", "require": PARTS},
)
def check_worklog_evidence(ctx, rule, params) -> list[Finding]:
    required = params.get("require", PARTS)
    index = ctx.evidence
    out: list[Finding] = []
    for change in ctx.changes(rule.scope):
        if not change.task_ids:
            f = change_finding(rule.id, change, NOT_APPLICABLE, "the change names no task (see the tracker-id rule)")
            f.subject_type = "task"
            f.subject = f"-@{change.short}"
            out.append(f)
            continue
        for task in change.task_ids:
            out.append(_judge(rule.id, change, task, index, required))
    return out or [no_changes(rule.id)]


def _judge(rule_id, change, task, index, required) -> Finding:
    def finding(status: str, message: str, *ev: dict) -> Finding:
        f = change_finding(rule_id, change, status, message, *ev)
        f.subject_type, f.subject = "task", f"{task}@{change.short}"
        return f

    if task in index.missing or task not in index.items:
        return finding(FAIL, f"{task} is not in the tracker, so no evidence can be recorded on it")
    candidates = [ev for ev, _ in index.for_change(task, change)]
    if not candidates:
        others = index.by_task.get(task, [])
        hint = f" ({len(others)} worklog(s) name other commits)" if others else " (no deployment worklog at all)"
        return finding(FAIL, f"{task} has no worklog naming {change.short} or a later commit{hint}")
    complete = [ev for ev in candidates if not _missing(ev, required)]
    passed = [ev for ev in complete if ev.outcome == "pass" or "outcome" not in required]
    if passed:
        ev = passed[-1]
        return finding(PASS, f"{task} records the deploy of {change.short} with "
                       + ", ".join(ev.outcome_details or ("an outcome",)), worklog_evidence_item(ev))
    if complete:
        ev = complete[-1]
        return finding(FAIL, f"{task} records a FAILED validation for this deploy: "
                       + ", ".join(ev.outcome_details or ("fail",)), worklog_evidence_item(ev))
    best = min(candidates, key=lambda ev: len(_missing(ev, required)))
    return finding(FAIL, f"{task} worklog names the commit but not: {', '.join(_missing(best, required))}",
                   worklog_evidence_item(best))
