"""Runbook governance note: deployment evidence is written to the worklog of every affected task.

Which evidence decides. A task's evidence for a change is every worklog or structured field
naming the change or a later first-parent commit (which contains it). Of those, the ones that
state an outcome (pass, fail, or not final) are ordered: worklogs in the order the tracker
recorded them, and the *latest* one decides, so a later failure of the same deploy, or of a
re-deploy, is never hidden by an earlier pass, and a later pass after a fix supersedes an
earlier failure. Structured fields carry no time, so their place in that order is unknown: a
failure there cannot be superseded, and a failure whose timestamp is later than the deciding
pass wins too (contradictory evidence is never a pass). The finding names the deciding entry
and the earlier one it overrides.

Pending. When nothing names a failure and the evidence is only missing or not final, the
verdict is ``pending`` while the deploy is younger than ``evidence_grace_hours``: measured from
the covering successful run's completion (or the change's commit time when no run is known)
to the snapshot's ``collected_at``. Past the grace it is a failure, as it always was.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from compliance.base.timeutil import iso
from compliance.judge import evidence
from compliance.judge.checks.common import change_finding, no_changes
from compliance.judge.engine import CLOCK_SKEW, run_label, run_started, worklog_evidence_item
from compliance.judge.evidence import UNSETTLED
from compliance.judge.history import time_of
from compliance.judge.registry import register
from compliance.model.findings import FAIL, NOT_APPLICABLE, PASS, PENDING, Finding

PARTS = ["commit", "last_modified", "outcome"]
DEFAULT_GRACE_HOURS = 24
MAX_GRACE_HOURS = 7 * 24  # pending never gates: an unbounded grace (or .inf) would excuse missing evidence for good


def _missing(ev, required: list[str]) -> list[str]:
    have = {"commit": True, "last_modified": bool(ev.last_modified), "outcome": ev.outcome is not None}
    return [p for p in required if not have[p]]


def _details(ev, signal: str) -> list[str]:
    return [d for d in ev.outcome_details if evidence.detail_signal(d) == signal]


def _unsettled(ev) -> bool:
    """The entry states an outcome, but not a final one ("validation: pending")."""
    return ev.outcome is None and bool(_details(ev, UNSETTLED))


def _where(ev) -> str:
    if ev.index < 0:
        return f"the undated field {ev.origin.removeprefix('field:')}"
    return f"the worklog of {iso(ev.timestamp)}" if ev.timestamp else f"worklog #{ev.index + 1} (no time)"


def check_worklog_evidence(ctx, rule, params) -> list[Finding]:
    required = params.get("require", PARTS)
    grace = float(params.get("evidence_grace_hours", DEFAULT_GRACE_HOURS))
    index = ctx.evidence
    runs = ctx.runs if ctx.source_ok("github") else None  # optional: only dates the deploy for the grace
    out: list[Finding] = []
    for change in ctx.changes(rule.scope):
        if not change.task_ids:
            f = change_finding(rule.id, change, NOT_APPLICABLE, "the change names no task (see the tracker-id rule)")
            out.append(replace(f, subject_type="task", subject=f"-@{change.short}"))
            continue
        grace_left = _grace_left(ctx.now, change, runs, grace)
        for task in change.task_ids:
            out.append(_judge(rule.id, change, task, index, required, grace_left,
                              lambda ev, change=change: _implausible(ev, change, ctx, required)))
    return out or [no_changes(rule.id)]


register(
    "worklog_evidence",
    summary="Each task referenced by an in-scope change has a worklog naming the commit (or a later one that "
    "contains it), the function's LastModified and a passing validation outcome.",
    reads=("git", "tracker"),
    optional_reads=("github",),  # dates the deploy, from which the evidence grace runs
    subject="task",
    params={
        "properties": {
            "require": {"type": "array", "items": {"enum": PARTS}, "default": PARTS,
                        "description": "which parts the evidence must name"},
            "evidence_grace_hours": {"type": "number", "minimum": 0, "maximum": MAX_GRACE_HOURS,
                                     "default": DEFAULT_GRACE_HOURS,
                                     "description": "hours after the covering successful run completed (or the "
                                     "commit, when no run is known) during which missing or not-yet-final "
                                     "evidence is pending instead of failing; 0 turns pending off"},
        },
    },
    example={"kind": "worklog_evidence", "require": PARTS, "evidence_grace_hours": DEFAULT_GRACE_HOURS},
)(check_worklog_evidence)


def _grace_left(now: datetime | None, change, runs, grace_hours: float) -> tuple[float, str] | None:
    """(hours of grace left, what it is measured from), or None when the grace is over or off."""
    if grace_hours <= 0 or now is None:
        return None
    run = runs.covering(change) if runs is not None else None  # one dated after the collection earns no grace
    done = time_of(run["updated_at"]) if run else None
    running = _running(runs, change, now) if done is None else None
    if done is not None:
        since, what = done, f"run {run.get('id')} completed {iso(done)}"
    elif running is not None:  # the deploy has not finished: its evidence cannot exist yet
        since = run_started(running)
        what = f"{run_label(running)} is still {running.get('status')} since {iso(since)}"
    else:
        since, what = change.committed_at, f"no covering run is known, so from the commit at {iso(change.committed_at)}"
    if since > now:  # a deploy "after" the collection is impossible data: no grace is earned from it
        return None
    left = grace_hours - (now - since).total_seconds() / 3600
    return (left, what) if left > 0 else None


def _implausible(ev, change, ctx, required: list[str]) -> str | None:
    """Why an entry cannot be the record of this change's deploy (None: nothing says so).

    A worklog dated before the commit it names, or after the data was collected, or whose only
    LastModified precedes the commit or follows the collection, records some other deploy (or
    lies); so does one naming another function or region than the target's.
    """
    now, low = ctx.now, change.committed_at - CLOCK_SKEW
    if ev.index >= 0 and ev.timestamp is None:  # a worklog's time is what places it after the deploy
        return "its time cannot be read (missing, or not a real time), so nothing shows it was written after the commit"
    if ev.timestamp is not None and ev.timestamp < low:
        return f"it is dated {iso(ev.timestamp)}, before the commit it names ({iso(change.committed_at)})"
    if ev.timestamp is not None and now is not None and ev.timestamp > now + CLOCK_SKEW:
        return f"it is dated {iso(ev.timestamp)}, after the data was collected ({iso(now)})"
    if "last_modified" in required and ev.last_modified and not any(
            low <= lm and (now is None or lm <= now + CLOCK_SKEW) for lm in ev.last_modified):
        shown = ", ".join(iso(lm) for lm in ev.last_modified)
        return f"its LastModified ({shown}) is not between the commit ({iso(change.committed_at)}) and the collection"
    other = evidence.names_other_target(ev.text, ctx.target.get("function"), ctx.target.get("region"))
    if other:
        return f"it names another deploy target ({other})"
    return None


def _running(runs, change, now: datetime) -> dict | None:
    """The first queued or running canonical run that may still deploy this change, if one started
    before the collection (a start after it is impossible data and earns no grace)."""
    if runs is None:
        return None
    for run in runs.active(change):
        started = run_started(run)
        if started is not None and started <= now:
            return run
    return None


def _hours(h: float) -> str:
    minutes = max(int(round(h * 60)), 1)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def _judge(rule_id, change, task, index, required, grace_left, implausible=lambda ev: None) -> Finding:
    def finding(status: str, message: str, *ev) -> Finding:
        # ``change_finding``'s evidence, about the task: built once rather than made and then replaced
        return Finding(rule_id, "task", f"{task}@{change.short}", status, message,
                       [change.evidence_item(), *(worklog_evidence_item(e) for e in ev)])

    def not_yet(message: str, *ev) -> Finding:
        """Missing or unsettled evidence: pending within the grace (when nothing failed), else a failure."""
        if grace_left is not None and not any(e.outcome == FAIL for e in candidates):
            left, since = grace_left
            return finding(PENDING, f"{message}; evidence is due within the grace after the deploy ({since}): "
                           f"{_hours(left)} left", *ev)
        return finding(FAIL, message, *ev)

    if task in index.missing or task not in index.items:
        return finding(FAIL, f"{task} is not in the tracker, so no evidence can be recorded on it")
    candidates = [ev for ev, _ in index.for_change(task, change)]
    if not candidates:
        others = index.by_task.get(task, [])
        hint = f" ({len(others)} worklog(s) name other commits)" if others else " (no deployment worklog at all)"
        return not_yet(f"{task} has no worklog naming {change.short} or a later commit{hint}")

    stated = [ev for ev in candidates if ev.outcome is not None or _unsettled(ev)]
    dated = [ev for ev in stated if ev.index >= 0]  # tracker order: evidence_for_item keeps the history's order
    undated = [ev for ev in stated if ev.index < 0]
    latest = dated[-1] if dated else None

    failure = _overriding_failure(latest, dated, undated)
    if failure is not None:
        fail_ev, why = failure
        earlier = [ev for ev in stated if ev.outcome == PASS and ev is not fail_ev]
        also = f"; it overrides {_where(earlier[-1])}, which recorded a pass" if earlier else ""
        fails = _details(fail_ev, FAIL) or list(fail_ev.outcome_details) or ["fail"]
        rest = [d for d in fail_ev.outcome_details if d not in fails]
        context = f" (also stated: {', '.join(rest)})" if rest else ""
        return finding(FAIL, f"{task} records a FAILED validation for this deploy in {_where(fail_ev)}{why}: "
                       f"{', '.join(fails)}{context}{also}", *([fail_ev] + earlier[-1:]))

    open_ev = latest if latest is not None and _unsettled(latest) else next((e for e in undated if _unsettled(e)), None)
    if open_ev is not None and "outcome" in required:
        return not_yet(f"{task} has no final validation outcome for {change.short}: {_where(open_ev)} says "
                       + ", ".join(_details(open_ev, UNSETTLED)), open_ev)

    # The latest stated outcome is a pass (or none is stated): a complete entry after the last
    # failure decides; an earlier failure it supersedes is named.
    last_fail = max((i for i, ev in enumerate(dated) if ev.outcome == FAIL), default=-1)
    fail_at = dated[last_fail].index if last_fail >= 0 else -1
    usable = [ev for ev in candidates if ev.index < 0 or ev.index > fail_at]
    complete = [ev for ev in usable if not _missing(ev, required)
                and (ev.outcome == PASS or "outcome" not in required)]
    refused = [(ev, why) for ev in complete if (why := implausible(ev))]
    complete = [ev for ev in complete if all(ev is not r for r, _ in refused)]
    if not complete and refused:
        ev, why = refused[-1]
        return finding(FAIL, f"{task} records a passing deploy of {change.short} in {_where(ev)}, but it does not "
                       f"count: {why}", ev)
    if complete:
        ev = complete[-1]
        superseded = f"; it supersedes the failure in {_where(dated[last_fail])}" if last_fail >= 0 else ""
        shown = [ev] + ([dated[last_fail]] if last_fail >= 0 else [])
        return finding(PASS, f"{task} records the deploy of {change.short} with "
                       + ", ".join(ev.outcome_details or ("an outcome",)) + superseded, *shown)
    pool = usable or candidates
    best = min(pool, key=lambda ev: len(_missing(ev, required)))
    return not_yet(f"{task} worklog names the commit but not: {', '.join(_missing(best, required)) or 'a pass'}",
                   best)


def _overriding_failure(latest, dated, undated):
    """(failing evidence, why it wins) when a stated failure decides; None otherwise."""
    if latest is not None and latest.outcome == FAIL:
        return latest, (" (the latest stated outcome)" if len(dated) > 1 else "")
    fail_undated = [ev for ev in undated if ev.outcome == FAIL]
    if fail_undated:
        return fail_undated[0], " (undated, so no later worklog can supersede it)"
    if latest is not None and latest.timestamp is not None:
        later = [ev for ev in dated if ev.outcome == FAIL and ev.timestamp is not None
                 and ev.timestamp > latest.timestamp]
        if later:
            return later[-1], f" (timed after the latest pass of {iso(latest.timestamp)})"
    return None
