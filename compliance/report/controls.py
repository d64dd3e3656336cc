"""The per-control view of a report: control -> its rules -> their verdict counts -> the failing subjects.

An auditor reads a report by control (SOC 2 CC8.1, ISO/IEC 27001:2022 A.8.32), not by rule. The
mapping is data in the rule files (``controls``); this module only regroups what was judged: the
counts are the findings of the control's rules added up, the verdict is the same ``summary_of`` the
report's own verdict uses, and nothing is judged again. It reads the report's ``rules`` and
``findings`` (each finding may carry its ``target``), so one function serves a target's report and a
merged one alike.
"""

from __future__ import annotations

from typing import Any

from compliance.model.controls import FRAMEWORKS, control_key, split_control
from compliance.model.findings import STATUSES, summary_of

NOT_PASSING = ("fail", "error")


def control_view(rules: list[dict[str, Any]], findings: list[dict[str, Any]],
                 mapped_by_target: dict[tuple[str, str], list[str]] | None = None) -> list[dict[str, Any]]:
    """One entry per control any rule lists, in framework order then natural id order.

    ``mapped_by_target`` (a merged report: (target, rule id) -> that target's controls for the rule):
    two targets may judge a rule of one id with different rule files, so a finding counts under a
    control only when its own target's rule lists it (``rules`` then lists every control any target's
    rule of that id names)."""
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for f in findings:
        by_rule.setdefault(f.get("rule_id", ""), []).append(f)

    def under(control: str, rule_id: str) -> list[dict[str, Any]]:
        judged = by_rule.get(rule_id, [])
        if mapped_by_target is None:
            return judged
        return [f for f in judged if control in mapped_by_target.get((f.get("target", ""), rule_id), ())]
    rules_of: dict[str, list[dict[str, Any]]] = {}
    for rule in rules:
        for control in rule.get("controls") or ():
            rules_of.setdefault(control, []).append(rule)
    out = []
    for control in sorted(rules_of, key=control_key):
        framework, control_id = split_control(control)
        statuses: list[str] = []
        entries, failing = [], []
        for rule in sorted(rules_of[control], key=lambda r: r["id"]):
            judged = under(control, rule["id"])
            statuses += [f["status"] for f in judged]
            entries.append({"id": rule["id"], "title": rule.get("title", ""), "severity": rule.get("severity", ""),
                            "counts": _counts(f["status"] for f in judged)})
            failing += [_subject(f) for f in judged if f["status"] in NOT_PASSING]
        summary = summary_of(statuses)
        fw = FRAMEWORKS.get(framework)
        out.append({
            "control": control,
            "framework": fw.title if fw else framework,
            "id": control_id,
            "verdict": control_verdict(summary),
            "counts": {s: summary[s] for s in STATUSES},
            "rules": entries,
            "failing": failing,
        })
    return out


def control_verdict(summary: dict[str, Any]) -> str:
    """A control's verdict from the ``summary_of`` its rules' findings: nothing judged under it (no findings,
    or none applied) is not a pass of the control, and neither is a control whose only evidence is failures
    someone waived (a waiver proves nothing)."""
    judged = any(summary[s] for s in STATUSES if s not in ("not_applicable", "waived"))
    return summary["verdict"] if judged else "waived" if summary["waived"] else "not_applicable"


def unmapped_rules(rules: list[dict[str, Any]]) -> list[str]:
    """Ids of rules tied to no control: evidence an auditor would not find under any heading."""
    return [r["id"] for r in rules if not r.get("controls")]


def _counts(statuses: Any) -> dict[str, int]:
    summary = summary_of(statuses)
    return {s: summary[s] for s in STATUSES}


def _subject(finding: dict[str, Any]) -> dict[str, Any]:
    item = {"rule_id": finding["rule_id"], "subject_type": finding["subject_type"], "subject": finding["subject"],
            "status": finding["status"]}
    if finding.get("target"):
        item["target"] = finding["target"]
    return item


__all__ = ["control_verdict", "control_view", "unmapped_rules"]
