"""Builds the report document every reporter renders: summary, sources, rules, findings, and per
change the chain merge -> workflow run -> Lambda update -> worklog.

The document is a pure function of the snapshot, the rules and the findings, so the same
inputs give byte-identical JSON.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from compliance import __version__
from compliance.base.errors import SourceUnavailable
from compliance.base.timeutil import iso, parse_time
from compliance.judge.engine import (
    Change,
    Context,
    deploy_window,
    fill,
    remediation_values,
    run_label,
    within,
)
from compliance.model.findings import ERROR, STATUS_RANK, STATUSES, Finding, exit_code, summarize, verdict_for
from compliance.model.snapshot import snapshot_digest
from compliance.sources.registry import DEFERRED

SLACK = timedelta(seconds=120)


def build_report(snapshot: dict[str, Any], rules: list[Any], findings: list[Finding], mode: str,
                 waivers: dict[str, Any] | None = None, previous: dict[str, Any] | None = None,
                 ctx: Context | None = None, digest: str | None = None) -> dict[str, Any]:
    """``waivers`` is the section ``engine.judge`` returned; ``previous`` an earlier report.json to diff against.

    ``ctx`` is the ``Context`` the findings were judged with (its indexes are reused); ``digest``
    the snapshot's digest when the caller already has it (the bytes it read or wrote).
    """
    from compliance.judge.registry import all_kinds
    from compliance.judge.waivers import empty_section
    from compliance.report.diff import diff_reports

    kinds = all_kinds()
    counts = summarize(findings)
    code = exit_code(findings)
    if ctx is None or ctx.snapshot is not snapshot:
        ctx = Context(snapshot)
    finding_dicts = [f.to_dict() for f in findings]
    by_rule: dict[str, dict[str, int]] = {}
    for f in findings:
        counts_of = by_rule.setdefault(f.rule_id, {})
        counts_of[f.status] = counts_of.get(f.status, 0) + 1
    return {
        "report_version": 1,
        "tool": {"name": "compliance", "version": __version__},
        "mode": mode,
        "snapshot": {
            "digest": digest or snapshot_digest(snapshot),
            "collected_at": snapshot["collected_at"],
            "window": snapshot["window"],
            "target": snapshot["target"],
            "rules": snapshot["rules"],
        },
        "summary": {**counts, "exit_code": code, "verdict": verdict_for(code, counts)},
        "sources": _sources(snapshot),
        "rules": [_rule(r, by_rule.get(r.id, {}), snapshot["target"]) for r in rules],
        "findings": finding_dicts,
        "changes": _changes(ctx, rules, findings, kinds),
        "not_evaluated": [
            {"rule_id": f.rule_id, "subject": f.subject, "reason": f.message} for f in findings if f.status == ERROR
        ],
        "waivers": waivers if waivers is not None else empty_section(),
        "diff": diff_reports(previous, finding_dicts) if previous is not None else None,
    }


def _sources(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for name in sorted(snapshot["sources"]):
        src = snapshot["sources"][name]
        if src["status"] == DEFERRED:
            continue  # not collected by design (a pull request): the findings of its rules say why
        prov = src["provenance"]
        out.append({
            "name": name,
            "status": src["status"],
            "kind": prov["kind"],
            "requested": prov["requested"],
            "requests": prov["requests"],
            "duration_ms": prov["duration_ms"],
            "cached": prov.get("cached", 0),
            "warnings": prov.get("warnings", []),
            "error": src.get("error"),
        })
    return out


def _rule(rule: Any, counts: dict[str, int], target: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": rule.id,
        "title": rule.title,
        "severity": rule.severity,
        "runbook_section": rule.runbook_section,
        "rationale": rule.rationale,
        "checks": [c.kind for c in rule.checks],
        "remediation": fill(rule.remediation.to_dict(),
                            {**remediation_values(target), "sha": "<sha>", "subject": "<subject>"}),
        "counts": {s: counts.get(s, 0) for s in STATUSES},
    }


def _changes(ctx: Context, rules: list[Any], findings: list[Finding], kinds: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        _ = ctx.history
    except SourceUnavailable:
        return []
    seen: dict[str, Change] = {}
    for rule in rules:
        if any(kinds[c.kind].subject in ("change", "task") for c in rule.checks):
            for ch in ctx.changes(rule.scope):
                seen.setdefault(ch.sha, ch)
    verdicts: dict[str, dict[str, str]] = {}
    rank = STATUS_RANK
    for f in findings:
        sha = next((e.get("sha") for e in f.evidence if e.get("kind") == "commit"), None)
        if sha in seen:
            cur = verdicts.setdefault(sha, {}).get(f.rule_id)
            if cur is None or rank[f.status] > rank[cur]:
                verdicts[sha][f.rule_id] = f.status
    repo = ctx.target.get("github_repo")
    scopes = list(dict.fromkeys(r.scope for r in rules))  # rules share scopes: select once per scope
    out = []
    for ch in sorted(seen.values(), key=lambda c: c.position):
        if ch.sha not in verdicts:
            continue  # in some rule's scope but judged by none (e.g. a co-change rule it does not trigger)
        c = ch.commit
        out.append({
            "sha": ch.sha,
            "short": ch.short,
            "kind": c["kind"],
            "pr": c.get("pr"),
            "subject": c["subject"],
            "author": c["author"],
            "committed_at": c["committed_at"],
            "task_ids": ch.task_ids,
            "files_in_scope": sorted({p for sc in scopes for p in sc.select(ch.files)} if rules else ch.files),
            "timeline": [
                _merge_stage(ch, repo),
                _run_stage(ctx, ch),
                _lambda_stage(ctx, ch),
                _worklog_stage(ctx, ch),
            ],
            "verdicts": dict(sorted(verdicts.get(ch.sha, {}).items())),
        })
    return out


def _stage(stage: str, state: str, label: str, time: str | None = None, url: str | None = None,
           detail: str = "") -> dict[str, Any]:
    return {"stage": stage, "state": state, "time": time, "label": label, "url": url, "detail": detail}


def _merge_stage(ch: Change, repo: str | None) -> dict[str, Any]:
    c = ch.commit
    label = {"pr_merge": f"PR #{c.get('pr')} merged", "squash": f"PR #{c.get('pr')} squash-merged",
             "direct_push": "pushed directly", "other_merge": "merged (no PR subject)", "root": "root commit",
             "pull_request": f"PR #{c.get('pr')} (not merged yet)"}.get(c["kind"], c["kind"])
    url = f"https://github.com/{repo}/commit/{ch.sha}" if repo else None
    return _stage("merge", "ok", f"{ch.short} {label}", c["committed_at"], url, c["subject"])


def _run_stage(ctx: Context, ch: Change) -> dict[str, Any]:
    try:
        run = ctx.runs.covering(ch, ctx.now)
    except SourceUnavailable as exc:
        return _stage("workflow_run", "unknown", "workflow runs not available", detail=str(exc))
    if run:
        detail = "own commit" if run["head_sha"] == ch.sha else f"covered by later commit {run['head_sha'][:12]}"
        return _stage("workflow_run", "ok", run_label(run), iso(parse_time(run["updated_at"])), run.get("html_url"), detail)
    own = ctx.runs.by_sha.get(ch.sha, [])
    if own:
        last = own[-1]
        return _stage("workflow_run", "failed", run_label(last), iso(parse_time(last["updated_at"])),
                      last.get("html_url"), "no later successful run covers it")
    return _stage("workflow_run", "missing", "no canonical run covers this change")


def _lambda_stage(ctx: Context, ch: Change) -> dict[str, Any]:
    """What the function shows of this change's deploy. Lambda keeps only its latest update, so an
    older change's deploy is judged through the run that covered it."""
    try:
        cfg = ctx.source("lambda")["configuration"]
    except SourceUnavailable as exc:
        return _stage("lambda_update", "unknown", "function configuration not available", detail=str(exc))
    modified = parse_time(cfg.get("LastModified"))
    healthy = cfg.get("State") == "Active" and cfg.get("LastUpdateStatus") == "Successful"
    now = f"{cfg.get('FunctionName', '?')} LastModified {iso(modified)} ({cfg.get('State')}/{cfg.get('LastUpdateStatus')})"
    if modified is None:
        return _stage("lambda_update", "unknown", now)
    try:
        run = ctx.runs.covering(ch, ctx.now)
    except SourceUnavailable:
        run = None
    if run:
        start, end = deploy_window(run)
        span = f"{iso(start)} .. {iso(end)}"
        if within(modified, start, end, SLACK):
            return _stage("lambda_update", "ok" if healthy else "failed", now, iso(modified),
                          detail=f"the live code comes from run {run['id']} (deploy {span})")
        if end and modified > end:
            return _stage("lambda_update", "ok", f"deployed by run {run['id']} ({span})", iso(end),
                          detail=f"superseded since: {now}")
        return _stage("lambda_update", "missing", f"run {run['id']} succeeded ({span}) but the function was not "
                      "updated", iso(modified), detail=f"{now}: the run deployed nothing")
    if modified >= ch.committed_at and not healthy:
        return _stage("lambda_update", "failed", now, iso(modified), detail="updated after this change and failed")
    return _stage("lambda_update", "missing", "no successful canonical deploy of this change", iso(modified),
                  detail=now)


def _worklog_stage(ctx: Context, ch: Change) -> dict[str, Any]:
    if not ch.task_ids:
        return _stage("worklog", "missing", "the change names no task")
    try:
        index = ctx.evidence
    except SourceUnavailable as exc:
        return _stage("worklog", "unknown", "tracker not available", detail=str(exc))
    states, notes = [], []
    latest = None
    for task in ch.task_ids:
        evs = [ev for ev, _ in index.for_change(task, ch)]
        good = [ev for ev in evs if ev.outcome == "pass" and ev.last_modified]
        if good:
            states.append("ok")
            latest = max([e.timestamp for e in good if e.timestamp] + ([latest] if latest else []), default=latest)
            notes.append(f"{task}: recorded")
        elif any(ev.outcome == "fail" for ev in evs):
            states.append("failed")
            notes.append(f"{task}: validation recorded as failed")
        else:
            states.append("missing")
            notes.append(f"{task}: " + ("incomplete evidence" if evs else "no evidence"))
    state = "failed" if "failed" in states else "missing" if "missing" in states else "ok"
    return _stage("worklog", state, "; ".join(notes), iso(latest))
