"""Who updated the function: each code or configuration update CloudTrail recorded, judged by its principal.

Timing (``lambda_deploy_match``) can credit a console edit made during a run to the run. The
principal cannot be mistaken that way: AWS records which role's session made each call. An update
passes only when an allowed role (the canonical workflow's OIDC role, a named operator role)
made it outside the console, and a run's deploy step (or recorded manual deploy evidence) holds
it: an allowed role used with nothing to show for it is a pipeline credential used by hand.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from compliance.base.timeutil import iso, parse_time
from compliance.judge.checks.deploy import DEFAULT_TOLERANCE_SECONDS, live_manual_deploy
from compliance.judge.checks.deploy_manager import names_function
from compliance.judge.checks.proof import DELIVERY, Windows, read_span, trail_clock
from compliance.judge.checks.trail_events import (
    changes_function,
    event_evidence,
    event_label,
    may_change_function,
    session_role,
)
from compliance.judge.engine import (
    SUCCESS,
    run_evidence,
    run_state,
    worklog_evidence_item,
)
from compliance.judge.registry import register
from compliance.model.findings import ERROR, FAIL, PASS, PENDING, Finding


def _joined(ctx, event: dict[str, Any], when: datetime, slack: timedelta, windows: Windows
            ) -> tuple[str, dict[str, Any]] | None:
    """The canonical run whose deploy step holds the update, else the recorded manual deploy of its LastModified.

    A run that ended in failure still joins: the principal is the question here, and the pipeline's role
    updating the function inside its own deploy step is the pipeline (the failed deploy is judged by
    ``lambda_state`` and ``lambda_deploy_match``)."""
    held = sorted(windows.holding(when, slack), key=lambda r: run_state(r) != SUCCESS)  # a successful run first
    if held:
        run = held[0]
        ended = "" if run_state(run) == SUCCESS else f" (which ended {run.get('conclusion') or run.get('status')})"
        return f"the deploy of run {run['id']} for {run['head_sha'][:12]}{ended}", run_evidence(run)
    modified = parse_time(event.get("lastModified")) or when
    ev = live_manual_deploy(ctx, modified)
    if ev is not None:
        return f"the manual deploy-script run recorded in {ev.task_id}", worklog_evidence_item(ev)
    return None


def _judge(ctx, rule, event: dict[str, Any], roles: dict[str, Any], slack: timedelta, windows: Windows) -> Finding:
    subject = f"{event['eventName']}@{event['eventTime']}"
    evidence = [event_evidence(event)]
    identity = event["userIdentity"]
    when = parse_time(event["eventTime"])
    if when is None:
        return Finding(rule.id, "function", subject, ERROR, "the event has no parseable eventTime", evidence)
    if not changes_function(event["eventName"]):
        return Finding(rule.id, "function", subject, ERROR, f"the event's name {event['eventName']!r} is not one "
                       "CloudTrail writes (it writes them exactly), so the record cannot be read as an update or not",
                       evidence)
    role = session_role(identity)
    who = role or identity.get("arn") or identity.get("type") or "an unnamed principal"
    if identity.get("sessionCredentialFromConsole"):
        return Finding(rule.id, "function", subject, FAIL,
                       f"{event_label(event)}: made in a console session of {who}; the function is never edited by hand",
                       evidence)
    if who in roles["deploy_manager"] or identity.get("arn") in roles["deploy_manager"]:
        return Finding(rule.id, "function", subject, FAIL,
                       f"{event_label(event)}: the UI deployment manager's role {who} updated the function; API/MCP "
                       "changes never go through the deployment manager", evidence)
    if role is None or role not in roles["allowed"]:
        return Finding(rule.id, "function", subject, FAIL,
                       f"{event_label(event)}: {who} is neither the canonical workflow's role nor a named operator role",
                       evidence)
    joined = _joined(ctx, event, when, slack, windows)
    if joined is None:
        return Finding(rule.id, "function", subject, FAIL,
                       f"{event_label(event)}: role used outside the pipeline: no successful canonical run's deploy "
                       "holds this update and no recorded manual deploy matches it", evidence)
    what, item = joined
    kind = "the canonical workflow's role" if role == roles["workflow"] else "operator role"
    return Finding(rule.id, "function", subject, PASS, f"{event_label(event)}: {kind} {role}, in {what}",
                   [*evidence, item])


def check_deploy_principal(ctx, rule, params) -> list[Finding]:
    function = ctx.target.get("function", "")
    principals = ctx.target.get("principals") or {}
    if not principals.get("workflow_role"):
        return [Finding(rule.id, "function", function or "-", ERROR,
                        "target.principals.workflow_role is not configured, so no update can be attributed")]
    roles = {"workflow": principals["workflow_role"],
             "allowed": {principals["workflow_role"], *(principals.get("operator_roles") or [])},
             "deploy_manager": set(principals.get("deploy_manager") or [])}
    slack = timedelta(seconds=params.get("tolerance_seconds", DEFAULT_TOLERANCE_SECONDS))
    data = ctx.source("cloudtrail")
    # an update of impossible time ("2026-02-30T09:00:00Z") is judged (it errs), not dropped: dropped, "no
    # update" passed; a failed call is no update, unless the record also holds what the call answered
    updates = [e for e in data.get("events", [])
               if may_change_function(e.get("eventName")) and (not e.get("errorCode") or e.get("responseElements"))
               and names_function(str(e.get("functionName", "")), function)
               and ((t := parse_time(e.get("eventTime"))) is None or ctx.since <= t <= ctx.until)]
    gap = _uncovered(ctx, data)
    if gap:
        gap_finding = Finding(rule.id, "function", function, ERROR,
                              f"could not evaluate every update: {gap}, so an update outside it is not known either "
                              "way (no event there proves nothing)")
        if not updates:
            return [gap_finding]
    tail = _undelivered(ctx, rule, function, data)
    if not updates:
        if tail:  # "no update" would rest on minutes the trail may not hold yet
            return [tail]
        return [Finding(rule.id, "function", function, PASS,
                        f"CloudTrail ({', '.join(data.get('read') or []) or 'snapshot'}) records no code or "
                        f"configuration update of {function} from {iso(ctx.since)} to {iso(ctx.until)}")]
    # the canonical runs of the branch, whatever their outcome, indexed by deploy window once
    windows = Windows([r for rs in ctx.runs.by_sha.values() for r in rs if ctx.runs.rejection(r) is None])
    return ([_judge(ctx, rule, e, roles, slack, windows) for e in updates] + ([gap_finding] if gap else [])
            + ([tail] if tail else []))


def _undelivered(ctx, rule, function: str, data: dict[str, Any]) -> Finding | None:
    """The window's last minutes before the trail was read, which CloudTrail may not have delivered yet (it
    delivers within about 15 minutes): an update made then may be missing, so that part is ``pending``
    (judge it again later), neither a pass nor an error.

    The clock is the read's (``trail_clock``), not the collection's: what was delivered is what the read saw."""
    settled = trail_clock(ctx, data) - DELIVERY
    if ctx.until <= settled:
        return None
    return Finding(rule.id, "function", function, PENDING,
                   f"updates after {iso(max(settled, ctx.since))} may not be delivered by CloudTrail yet (it delivers "
                   f"within about {int(DELIVERY.total_seconds() // 60)} minutes of the call): judge the window again "
                   f"after {iso(ctx.until + DELIVERY)}")


def _uncovered(ctx, data: dict[str, Any]) -> str | None:
    """What part of the window the read did not cover, said, or None when it covers all of it.

    LookupEvents alone reaches back 90 days: for an older window it returns nothing, and "no update"
    would be a pass resting on a read that could not have seen one (``proof.read_span``)."""
    since, until = read_span(ctx, data)
    if since <= ctx.since and ctx.until <= until:
        return None
    return (f"CloudTrail ({', '.join(data.get('read') or []) or 'snapshot'}) covers {iso(since)}..{iso(until)}, "
            f"not the whole window {iso(ctx.since)}..{iso(ctx.until)}")


register(
    "deploy_principal",
    summary="Every code or configuration update CloudTrail recorded for the function was made by the canonical "
    "workflow's role or a named operator role, outside the console, inside a run's deploy (or recorded manual "
    "deploy); the deploy manager's roles, console sessions and other principals fail.",
    reads=("cloudtrail", "git", "github"),
    optional_reads=("tracker",),  # recorded manual deploy-script runs an operator role's update may join
    subject="function",
    params={
        "properties": {
            "tolerance_seconds": {"type": "integer", "minimum": 0, "default": DEFAULT_TOLERANCE_SECONDS,
                                  "description": "slack around the deploy step's start and end"},
        },
    },
    example={"kind": "deploy_principal", "tolerance_seconds": 120},
)(check_deploy_principal)
