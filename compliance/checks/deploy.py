"""Was each change deployed the canonical way, and does the live function match a known deploy?"""

from __future__ import annotations

from datetime import timedelta

from compliance.checks.common import change_finding, no_changes
from compliance.checks.registry import register
from compliance.engine import deploy_window, run_evidence, within, worklog_evidence_item
from compliance.errors import SourceUnavailable
from compliance.findings import ERROR, FAIL, NOT_APPLICABLE, PASS, Finding
from compliance.timeutil import iso, parse_time


def _manual_evidence(ctx, change):
    """Worklog evidence that the deploy script was run by hand for this change or a later commit."""
    for ev in ctx.evidence.deploy_claims_from(change.position):
        if ev.timestamp is None or ev.timestamp >= change.committed_at:
            return ev
    return None


@register(
    "deploy_coverage",
    summary="Every in-scope change is covered by a successful run of the canonical workflow for that commit or a "
    "later one on the branch (completed after the push), or by worklog evidence of a manual deploy-script run.",
    needs=("git", "github"),
    subject="change",
    params={
        "properties": {
            "allow_manual_evidence": {"type": "boolean", "default": True,
                                      "description": "accept tracker evidence of a manual deploy.sh run"},
        },
    },
    example={"kind": "deploy_coverage", "allow_manual_evidence": True},
)
def check_deploy_coverage(ctx, rule, params) -> list[Finding]:
    allow_manual = params.get("allow_manual_evidence", True)
    out = []
    for change in ctx.changes(rule.scope):
        run = ctx.runs.covering(change)
        if run:
            how = "its own commit" if run["head_sha"] == change.sha else f"later commit {run['head_sha'][:12]}"
            out.append(change_finding(rule.id, change, PASS,
                                      f"deployed by successful run {run['id']} of {how}", run_evidence(run)))
            continue
        own = ctx.runs.by_sha.get(change.sha, [])
        tried = [run_evidence(r) for r in own]
        if allow_manual:
            try:
                ev = _manual_evidence(ctx, change)
            except SourceUnavailable as exc:
                out.append(change_finding(rule.id, change, ERROR,
                                          f"no covering workflow run, and manual-deploy evidence could not be read: {exc}",
                                          *tried))
                continue
            if ev:
                out.append(change_finding(rule.id, change, PASS, f"deployed by hand, recorded in {ev.task_id}",
                                          worklog_evidence_item(ev)))
                continue
        why = ("its runs: " + ", ".join(f"{r['id']} {r.get('conclusion') or r.get('status')}" for r in own)) if own \
            else "no run of the canonical workflow for it"
        out.append(change_finding(rule.id, change, FAIL,
                                  f"no successful canonical deploy covers this change ({why}; no later successful run)",
                                  *tried))
    return out or [no_changes(rule.id)]


@register(
    "lambda_deploy_match",
    summary="The function's LastModified falls inside a successful canonical deploy (or matches recorded manual "
    "evidence); a later update with neither is an out-of-band change.",
    needs=("git", "github", "lambda"),
    subject="function",
    params={
        "properties": {
            "tolerance_seconds": {"type": "integer", "minimum": 0, "default": 120,
                                  "description": "slack around the deploy step's start and end"},
        },
    },
    example={"kind": "lambda_deploy_match", "tolerance_seconds": 120},
)
def check_lambda_deploy_match(ctx, rule, params) -> list[Finding]:
    cfg = ctx.source("lambda")["configuration"]
    name = cfg.get("FunctionName") or ctx.target.get("function", "function")
    modified = parse_time(cfg.get("LastModified"))
    lam = {"kind": "lambda", "label": f"{name} LastModified={cfg.get('LastModified')}", "url": None,
           "time": iso(modified)}
    if modified is None:
        return [Finding(rule.id, "function", name, ERROR, "the function reports no parseable LastModified", [lam])]
    slack = timedelta(seconds=params.get("tolerance_seconds", 120))
    for run in ctx.runs.successful():
        start, end = deploy_window(run)
        if within(modified, start, end, slack):
            return [Finding(rule.id, "function", name, PASS,
                            f"LastModified {iso(modified)} falls in the deploy of run {run['id']}", [lam, run_evidence(run)])]
    if ctx.source_ok("tracker"):
        for evs in ctx.evidence.by_task.values():
            for ev in evs:
                if any(abs((lm - modified).total_seconds()) <= 2 for lm in ev.last_modified) and ev.outcome != "fail":
                    return [Finding(rule.id, "function", name, PASS,
                                    f"LastModified {iso(modified)} matches evidence recorded in {ev.task_id}",
                                    [lam, worklog_evidence_item(ev)])]
    for runs in ctx.runs.by_sha.values():
        for run in runs:
            start, end = deploy_window(run)
            if run.get("conclusion") != "success" and within(modified, start, end, slack):
                return [Finding(rule.id, "function", name, FAIL,
                                f"LastModified {iso(modified)} comes from run {run['id']}, which ended "
                                f"{run.get('conclusion') or run.get('status')}: the live code is from a failed deploy",
                                [lam, run_evidence(run)])]
    if modified < ctx.since:
        return [Finding(rule.id, "function", name, NOT_APPLICABLE,
                        f"last update {iso(modified)} predates the window; no run data to match it against", [lam])]
    return [Finding(rule.id, "function", name, FAIL,
                    f"LastModified {iso(modified)} matches no successful canonical deploy and no recorded evidence: "
                    "an out-of-band update", [lam])]
