"""Was each change deployed the canonical way, and does the live function match a known deploy?"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from compliance.base.errors import SourceUnavailable
from compliance.base.timeutil import iso, parse_time
from compliance.judge.checks.artifact import (
    Match,
    claim_code,
    code_label,
    live_code,
    mismatch,
    recorded_elsewhere,
    run_code,
    sort_candidates,
)
from compliance.judge.checks.common import change_finding, no_changes
from compliance.judge.checks.manual import (
    ManualClaims,
    canonical_for,
    canonical_paths,
    claim_name,
    manual_path_rejection,
    target_paths,
)
from compliance.judge.checks.proof import ABSENT, Trail, backed, judge_cover, read_trail, who_updated
from compliance.judge.engine import (
    CLOCK_SKEW,
    SUCCESS,
    RunIndex,
    deploy_window,
    run_evidence,
    run_label,
    run_started,
    run_state,
    within,
    worklog_evidence_item,
)
from compliance.judge.registry import register
from compliance.model.findings import ERROR, FAIL, NOT_APPLICABLE, PASS, PENDING, Finding

DEFAULT_GRACE_MINUTES = 360  # longer than the workflow's own 6 h job timeout would allow a run to take
# Pending never gates, so a grace longer than any run can take would turn every undeployed change
# into a pending one for good: a week is far beyond GitHub's limits for a queued or running job.
MAX_GRACE_MINUTES = 7 * 24 * 60
DEFAULT_TOLERANCE_SECONDS = 120
_SHOWN = 3  # runs / claims named in a message; the evidence list holds the rest


def _pending_or_stuck(ctx, runs: RunIndex, change, grace: timedelta) -> Finding | None:
    """``pending`` while a covering run may still come, ``fail`` for a stuck one; None otherwise.

    Time is the snapshot's collection time, never the wall clock, so re-judging a saved snapshot
    gives the same answer. A time later than the collection is a contradiction, not a reason to wait.
    """
    now, hours = ctx.now, f"{grace.total_seconds() / 3600:g} h"
    if now is None:
        return None
    active = runs.active(change)
    for run in active:
        started = run_started(run)
        if started is not None and started <= now + CLOCK_SKEW and now - started < grace:
            return change_finding("", change, PENDING,
                                  f"{run_label(run)} is {run.get('status')} since {iso(started)}, less than the "
                                  f"{hours} grace period before the collection: it may still deploy this change",
                                  run_evidence(run))
    if active:
        run = active[0]
        started = run_started(run)
        when = (f"since {iso(started)}, longer than the {hours} grace period" if started and started <= now
                else f"with a start time ({iso(started) or 'none'}) that does not precede the collection")
        return change_finding("", change, FAIL, f"{run_label(run)} is stuck: {run.get('status')} {when}; "
                              "no successful canonical deploy covers this change", *[run_evidence(r) for r in active])
    if runs.any_from(change) or runs.by_sha.get(change.sha):
        return None  # a run exists and ended (or does not count): judged on that
    age = now - change.committed_at
    if -CLOCK_SKEW <= age < grace:
        return change_finding("", change, PENDING,
                              f"merged {iso(change.committed_at)}, less than the {hours} grace period before the "
                              "collection, and no canonical run exists for it yet")
    return None


def _run_reasons(runs: RunIndex, change, refuted: set[int]) -> tuple[list[str], list[dict[str, Any]]]:
    """What each run considered for this change was, and why it did not cover it (``refuted``: runs
    CloudTrail showed uploaded nothing, explained by the caller)."""
    own = runs.by_sha.get(change.sha, [])
    notes, items, seen = [], [], set(refuted)
    for run in [*own, *runs.rejected_successes(change, _SHOWN)]:
        if id(run) in seen:
            continue
        seen.add(id(run))
        why = runs.rejection(run)
        state = run_state(run)
        done = parse_time(run.get("updated_at"))
        if why is None and state == SUCCESS:
            why = (f"it completed {iso(done)}, before the push ({iso(change.committed_at)})"
                   if done < change.committed_at else f"it claims to have completed {iso(done)}, after the collection")
        elif why is None:
            notes.append(f"run {run['id']} ended {run.get('conclusion') or run.get('status')}")
            items.append(run_evidence(run))
            continue
        notes.append(f"run {run['id']} ({run.get('conclusion') or run.get('status')}) does not count: {why}")
        items.append(run_evidence(run))
    return notes, items


def _trail_for(ctx, canon) -> Trail:
    """CloudTrail's uploads of the target function prove (or refute) runs of the target's workflow only:
    another workflow a rule names (a CloudFormation stack's) uploads no function code, so its runs are
    judged on timing, and said to be, rather than all refuted."""
    if canon.own:
        return read_trail(ctx)
    return Trail(ABSENT, f"CloudTrail proves uploads of {ctx.target.get('function') or 'the function'}'s code, "
                         f"which {canon.workflow} does not make")


def check_deploy_coverage(ctx, rule, params) -> list[Finding]:
    allow_manual = params.get("allow_manual_evidence", True)
    grace = timedelta(minutes=params.get("grace_minutes", DEFAULT_GRACE_MINUTES))
    changes = ctx.changes(rule.scope)
    if not changes:
        return [no_changes(rule.id)]
    canon = canonical_for(ctx, params)  # this rule's workflow and script, and their runs
    paths = (canon.workflow, canon.deploy_script)
    manual: ManualClaims | None = None
    out = []
    trail, slack, memo = _trail_for(ctx, canon), deploy_tolerance(params), {}
    for change in changes:
        cover = judge_cover(ctx, rule.id, change, trail, slack, memo, runs=canon.runs)
        if cover.finding is not None:
            out.append(cover.finding)
            continue
        notes, tried = _run_reasons(canon.runs, change, {id(run) for run, _ in cover.refuted})
        notes, tried = cover.notes() + notes, cover.items() + tried
        if allow_manual:
            try:
                if manual is None:
                    manual = ManualClaims(ctx, paths)
                ev = manual.covering(change)
                refused = [] if ev else manual.refused(change)
            except SourceUnavailable as exc:
                out.append(change_finding(rule.id, change, ERROR,
                                          f"no covering workflow run, and manual-deploy evidence could not be read: {exc}",
                                          *tried))
                continue
            if ev:
                out.append(change_finding(rule.id, change, PASS,
                                          f"deployed by hand (deploy script), recorded in {claim_name(ev)} with a "
                                          "passing outcome", worklog_evidence_item(ev)))
                continue
            notes += [f"worklog {claim_name(e)} does not count: {why}" for e, why in refused]
            tried += [worklog_evidence_item(e) for e, _ in refused]
        waiting = _pending_or_stuck(ctx, canon.runs, change, grace)
        if waiting is not None:
            message = waiting.message + ("; " + "; ".join(notes[:_SHOWN]) if waiting.status == FAIL and notes else "")
            out.append(replace(waiting, rule_id=rule.id, message=message,
                               evidence=[*waiting.evidence, *(e for e in tried if e not in waiting.evidence)]))
            continue
        why = "; ".join(notes[:_SHOWN]) + (f"; and {len(notes) - _SHOWN} more" if len(notes) > _SHOWN else "") \
            if notes else f"no run of {canon.workflow or 'the canonical workflow'} for it or a later commit"
        out.append(change_finding(rule.id, change, FAIL,
                                  f"no successful canonical deploy covers this change ({why})", *tried))
    return out


register(
    "deploy_coverage",
    summary="Every in-scope change is covered by a successful run of the canonical workflow (pushed or dispatched "
    "on the branch) for that commit or a later one (completed after the push), or by dated worklog evidence of a "
    "passing manual deploy-script run; while a covering run is still running, or none exists yet within the grace "
    "period, the change is pending. With CloudTrail, a run whose deploy holds no UpdateFunctionCode by the "
    "pipeline's role deployed nothing (proof: principal, or artifact when the upload returned the CodeSha256 the "
    "run recorded; without it, proof: timing; configured and unavailable: error).",
    reads=("git", "github"),
    # worklog evidence of a manual deploy-script run; the pipeline's uploads (a trail that is configured
    # and fails is `error` for the passes it would have proven: proof.read_trail)
    optional_reads=("tracker", "cloudtrail"),
    subject="change",
    repo_files=lambda params, target: [canonical_paths(params, target)[1] or ""],  # the script in force per run
    run_workflows=lambda params, target: [canonical_paths(params, target)[0] or ""],
    params={
        "properties": {
            "workflow": {"type": "string", "pattern": r"^\.github/workflows/[^/]+\.ya?ml$(?!\n)",
                         "description": "the canonical workflow whose runs cover this rule's changes (a runbook "
                         "with several canonical paths); its runs are listed beside the target's. Default: the "
                         "target's workflow"},
            "deploy_script": {"type": "string", "minLength": 1,
                              "description": "the script that workflow's deploy runs: a run that succeeded while it "
                              "was a tombstone deployed nothing, and a manual run of it may stand in for a run. "
                              "Default: the target's deploy_script for the target's workflow, none for another"},
            "allow_manual_evidence": {"type": "boolean", "default": True,
                                      "description": "accept tracker evidence of a manual deploy.sh run: a worklog "
                                      "dated after the push that says the deploy script was run (and names no "
                                      "workflow run) with a passing outcome"},
            "grace_minutes": {"type": "integer", "minimum": 0, "maximum": MAX_GRACE_MINUTES,
                              "default": DEFAULT_GRACE_MINUTES,
                              "description": "how long after the merge (or a run's start) a missing or queued / "
                              "in-progress run reads as pending rather than failed, measured to the collection time"},
            "tolerance_seconds": {"type": "integer", "minimum": 0, "default": DEFAULT_TOLERANCE_SECONDS,
                                  "description": "slack around a run's deploy step within which a CloudTrail "
                                  "upload by the pipeline's role counts as that run's"},
        },
    },
    example={"kind": "deploy_coverage", "allow_manual_evidence": True, "grace_minutes": DEFAULT_GRACE_MINUTES},
)(check_deploy_coverage)


def _recorded_manual(ctx, ev, modified) -> bool:
    """Evidence matching LastModified proves a manual deploy only as deploy_coverage would accept it:
    recorded at or after the update, naming the deploy script and no workflow run, with a pass."""
    if ev.timestamp is None or ev.timestamp < modified - timedelta(seconds=2):
        return False
    return manual_path_rejection(ctx, ev, target_paths(ctx)) is None


def deploy_tolerance(params: dict[str, Any]) -> timedelta:
    """The slack a ``lambda_deploy_match`` rule allows around a deploy step (its ``tolerance_seconds``)."""
    return timedelta(seconds=params.get("tolerance_seconds", DEFAULT_TOLERANCE_SECONDS))


def _live_cfg(ctx) -> dict[str, Any]:
    return ctx.source("lambda")["configuration"]


def run_match(ctx, modified: datetime, slack: timedelta) -> Match:
    """The successful canonical runs whose deploy holds LastModified (within ``slack``), sorted by
    whether their deploy log recorded the live CodeSha256."""
    live, _ = live_code(_live_cfg(ctx))
    candidates = [run for run in ctx.runs.successful()
                  if within(modified, *deploy_window(run), slack) and ctx.runs.possible(run, ctx.now)]
    return sort_candidates(live, candidates, run_code)


def live_run(ctx, modified: datetime, slack: timedelta) -> dict[str, Any] | None:
    """The successful canonical run credited with the live code, as ``lambda_deploy_match`` judges it:
    the one whose deploy log recorded the live CodeSha256, else one that recorded none (timing).

    Public because the per-change timeline must name the same run the check judged, with the
    rule's own tolerance, rather than decide again with one of its own.
    """
    chosen = run_match(ctx, modified, slack).chosen
    return chosen[0] if chosen else None


def manual_match(ctx, modified: datetime) -> Match:
    """Worklogs of a passing manual deploy-script run whose LastModified is the function's (none
    when the tracker was not collected: nothing then proves a manual deploy). The live CodeSha256, when
    the Lambda source is there, only orders the candidates: ``deploy_principal`` joins a CloudTrail
    update to its worklog without reading the function."""
    live = live_code(_live_cfg(ctx))[0] if ctx.source_ok("lambda") else None
    found = []
    if ctx.source_ok("tracker"):
        for evs in ctx.evidence.by_task.values():
            found += [ev for ev in evs if any(abs((lm - modified).total_seconds()) <= 2 for lm in ev.last_modified)
                      and _recorded_manual(ctx, ev, modified)]
    return sort_candidates(live, found, claim_code)


def live_manual_deploy(ctx, modified: datetime) -> Any:
    """The worklog credited with the live code as a manual deploy-script run, if any."""
    chosen = manual_match(ctx, modified).chosen
    return chosen[0] if chosen else None


def check_lambda_deploy_match(ctx, rule, params) -> list[Finding]:
    cfg = _live_cfg(ctx)
    name = cfg.get("FunctionName") or ctx.target.get("function", "function")
    modified = parse_time(cfg.get("LastModified"))
    live, bad = live_code(cfg)
    lam = {"kind": "lambda", "label": f"{name} LastModified={cfg.get('LastModified')}", "url": None,
           "time": iso(modified), **({"code_sha256": live} if live else {})}
    if modified is None:
        return [Finding(rule.id, "function", name, ERROR, "the function reports no parseable LastModified", [lam])]
    if ctx.now is not None and modified > ctx.now + CLOCK_SKEW:
        return [Finding(rule.id, "function", name, ERROR, f"the function reports LastModified {iso(modified)}, after "
                        f"the collection ({iso(ctx.now)}): a false record matches no deploy", [lam])]
    if bad:
        return [Finding(rule.id, "function", name, ERROR, f"{bad}: the live code cannot be matched to a deploy",
                        [lam])]
    trail = read_trail(ctx)
    runs = run_match(ctx, modified, deploy_tolerance(params))
    if runs.chosen:
        return [backed(ctx, trail, rule, name, lam, modified, runs, "run", run_evidence, lambda r: f"run {r['id']}")]
    manual = manual_match(ctx, modified)
    if manual.chosen:
        return [backed(ctx, trail, rule, name, lam, modified, manual, "worklog", worklog_evidence_item,
                       lambda ev: f"a manual deploy-script run recorded in {claim_name(ev)}")]
    if runs.other:
        found = mismatch(ctx, rule, name, lam, modified, runs, lambda r: f"run {r['id']}", run_evidence)
    elif manual.other:
        found = mismatch(ctx, rule, name, lam, modified, manual,
                         lambda ev: f"the manual deploy recorded in {claim_name(ev)}", worklog_evidence_item)
    else:
        found = _unmatched(ctx, rule, name, lam, modified, live, deploy_tolerance(params))
    return [who_updated(trail, found, modified)]


def _unmatched(ctx, rule, name, lam, modified, live, slack) -> Finding:
    """No successful deploy's time holds LastModified: a run that does not count, a failed one, or none."""
    for runs in ctx.runs.by_sha.values():
        for run in runs:
            start, end = deploy_window(run)
            if not within(modified, start, end, slack):
                continue
            why = ctx.runs.rejection(run)
            if why:
                return Finding(rule.id, "function", name, FAIL,
                               f"LastModified {iso(modified)} falls in {run_label(run)}, which is not a canonical "
                               f"deploy ({why}): an out-of-band update", [lam, run_evidence(run)])
            if run_state(run) != SUCCESS:
                return Finding(rule.id, "function", name, FAIL,
                               f"LastModified {iso(modified)} comes from run {run['id']}, which ended "
                               f"{run.get('conclusion') or run.get('status')}: the live code is from a failed deploy",
                               [lam, run_evidence(run)])
    if modified < ctx.since:
        return Finding(rule.id, "function", name, NOT_APPLICABLE,
                       f"last update {iso(modified)} predates the window; no run data to match it against", [lam])
    again = recorded_elsewhere(ctx, live, [])
    tail = f"; its {code_label(live)} is what {again} recorded, uploaded again at another time" if again else ""
    return Finding(rule.id, "function", name, FAIL,
                   f"LastModified {iso(modified)} matches no successful canonical deploy and no recorded evidence: "
                   f"an out-of-band update{tail}", [lam])


register(
    "lambda_deploy_match",
    summary="The function's LastModified falls inside a successful canonical deploy (or matches dated worklog "
    "evidence of a passing manual deploy-script run), and the live CodeSha256 is the one that deploy recorded "
    "(its job log's CodeSha256= line, or the worklog's): another recorded CodeSha256 fails, a deploy that "
    "recorded none passes on timing only (proof: timing); an update matching no deploy is an out-of-band change. "
    "With CloudTrail, the update at LastModified must be the pipeline's role's (an allowed role's for a manual "
    "deploy), outside the console, and return the live CodeSha256 (proof: principal or artifact); another "
    "principal fails, no recorded update or a configured trail that failed is error.",
    reads=("git", "github", "lambda"),
    # a recorded manual deploy naming this LastModified; who made the update (proof.backed)
    optional_reads=("tracker", "cloudtrail"),
    subject="function",
    params={
        "properties": {
            "tolerance_seconds": {"type": "integer", "minimum": 0, "default": 120,
                                  "description": "slack around the deploy step's start and end"},
        },
    },
    example={"kind": "lambda_deploy_match", "tolerance_seconds": 120},
)(check_lambda_deploy_match)
