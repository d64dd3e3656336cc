"""Builds the report document every reporter renders: summary, sources, rules, findings, and per
change the chain merge -> workflow run -> Lambda update -> worklog.

The document is a pure function of the snapshot, the rules and the findings, so the same
inputs give byte-identical JSON. It arranges what was judged and decides nothing: the per-change
chain comes from ``compliance.judge.timeline``, built from the findings and the checks' own
functions with the rules' parameters.
"""

from __future__ import annotations

from typing import Any

from compliance import __version__
from compliance.judge.engine import Context, fill, remediation_values
from compliance.judge.metrics import delivery_metrics
from compliance.judge.timeline import ChangeChain, change_chains
from compliance.judge.waivers import empty_section
from compliance.model.findings import ERROR, STATUSES, Finding, summary_of
from compliance.model.snapshot import snapshot_digest
from compliance.report.controls import control_view
from compliance.report.diff import diff_reports
from compliance.sources.registry import DEFERRED


def build_report(snapshot: dict[str, Any], rules: list[Any], findings: list[Finding], mode: str,
                 waivers: dict[str, Any] | None = None, previous: dict[str, Any] | None = None,
                 ctx: Context | None = None, digest: str | None = None) -> dict[str, Any]:
    """``waivers`` is the section ``engine.judge`` returned; ``previous`` an earlier report.json to diff against.

    ``ctx`` is the ``Context`` the findings were judged with (its indexes are reused); ``digest``
    the snapshot's digest when the caller already has it (the bytes it read or wrote).
    """
    finding_dicts = [f.to_dict() for f in findings]
    if ctx is None or ctx.snapshot is not snapshot:
        ctx = Context(snapshot)
    chains = change_chains(snapshot, rules, findings, ctx)
    metrics = delivery_metrics(ctx, rules, chains)
    by_rule: dict[str, dict[str, int]] = {}
    for f in findings:
        counts_of = by_rule.setdefault(f.rule_id, {})
        counts_of[f.status] = counts_of.get(f.status, 0) + 1
    rule_dicts = [_rule(r, by_rule.get(r.id, {}), snapshot["target"]) for r in rules]
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
        "summary": summary_of(f.status for f in findings),
        "sources": _sources(snapshot),
        "rules": rule_dicts,
        "controls": control_view(rule_dicts, finding_dicts),
        "findings": finding_dicts,
        "changes": _changes(chains, rules),
        "metrics": metrics,
        "not_evaluated": [
            {"rule_id": f.rule_id, "subject": f.subject, "reason": f.message} for f in findings if f.status == ERROR
        ],
        "waivers": waivers if waivers is not None else empty_section(),
        "diff": diff_reports(previous, finding_dicts, metrics) if previous is not None else None,
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
        "controls": list(rule.controls),
        "remediation": fill(rule.remediation.to_dict(),
                            {**remediation_values(target), "sha": "<sha>", "subject": "<subject>"}),
        # as the rule file writes it: report.json leaves out each finding's remediation this fills in
        "remediation_template": rule.remediation.to_dict(),
        "counts": {s: counts.get(s, 0) for s in STATUSES},
    }


def _changes(chains: list[ChangeChain], rules: list[Any]) -> list[dict[str, Any]]:
    """Arranges the chains the judge built; nothing here decides a stage."""
    scopes = list(dict.fromkeys(r.scope for r in rules))  # rules share scopes: select once per scope
    out = []
    for chain in chains:
        ch, c = chain.change, chain.change.commit
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
            "timeline": [stage.to_dict() for stage in chain.stages],
            "verdicts": chain.verdicts,
        })
    return out
