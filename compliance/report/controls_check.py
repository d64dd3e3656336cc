"""A report's control view checked against its rules and findings (part of ``consistency``).

In a target's report the view is rebuilt (``controls.control_view`` of its rules and findings) and must be
the one written: a control dropped, a rule moved under another control or a failure left out of a control's
list changes what an auditor reads by control. A merged report counts each finding under its own target's
mapping of the rule, which the merged file does not keep, so there the view is checked for what it can be:
each control's counts are its rules' counts added up, no rule's count exceeds its findings, its failing
list holds as many entries as its rules' failures, each a finding of that status, and its verdict is the
one its counts give.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from compliance.model.findings import STATUSES, summary_of
from compliance.report.consistency_keys import key_of, statuses_by_key
from compliance.report.controls import NOT_PASSING, control_verdict, control_view


def controls_disagreement(doc: dict[str, Any], findings: list[dict[str, Any]]) -> str | None:
    controls = doc.get("controls")
    if not isinstance(controls, list):
        return None
    rules = [r for r in doc.get("rules") or () if isinstance(r, dict) and isinstance(r.get("id"), str)]
    mapped = {c for r in rules for c in (r.get("controls") if isinstance(r.get("controls"), list) else ())}
    listed = {c.get("control") for c in controls if isinstance(c, dict)}
    missing = sorted(str(c) for c in mapped - listed)
    if missing:
        return f"its rules map to control {missing[0]}, which its controls do not list"
    held = statuses_by_key(findings)
    of_rule: dict[str, Counter[str]] = {}
    for f in findings:
        of_rule.setdefault(f["rule_id"], Counter())[f["status"]] += 1
    mapping = {r["id"]: set(r.get("controls") or ()) for r in rules}
    for control in controls:
        if isinstance(control, dict):
            why = _control(control, held, of_rule, mapping, merged=bool(doc.get("targets")))
            if why:
                return why
    if not doc.get("targets"):
        return _rebuilt(controls, rules, findings)
    return None


def _control(control: dict[str, Any], held: dict, of_rule: dict[str, Counter[str]],
             mapping: dict[str, set[str]], merged: bool) -> str | None:
    name = control.get("control")
    failing = control.get("failing") if isinstance(control.get("failing"), list) else []
    for item in failing:
        if isinstance(item, dict) and item.get("status") not in held.get(key_of(item), set()):
            return (f"its control {name} lists {item.get('rule_id')} {item.get('subject')!r} as "
                    f"{item.get('status')}, its findings {sorted(held.get(key_of(item), ())) or 'hold no such subject'}")
    entries = [e for e in control.get("rules") or () if isinstance(e, dict)]
    total: Counter[str] = Counter()
    for e in entries:
        if name not in mapping.get(e.get("id"), ()):  # type: ignore[arg-type]
            return f"its control {name} lists rule {e.get('id')}, whose controls do not name it"
        counts = e.get("counts") if isinstance(e.get("counts"), dict) else {}
        over = {s: v for s, v in counts.items() if s in STATUSES and v > of_rule.get(e.get("id"), Counter())[s]}
        if over:
            return f"its control {name} counts {over} for rule {e.get('id')}, more than its findings hold"
        total.update({s: v for s, v in counts.items() if s in STATUSES and isinstance(v, int)})
    counts = control.get("counts") if isinstance(control.get("counts"), dict) else {}
    off = {s: v for s, v in counts.items() if s in STATUSES and v != total[s]}
    if off:
        return f"its control {name} counts {off}, its rules {({s: total[s] for s in off})}"
    if len(failing) != sum(total[s] for s in NOT_PASSING):
        return f"its control {name} lists {len(failing)} failing subject(s), its rules count {sum(total[s] for s in NOT_PASSING)}"
    verdict = control_verdict(summary_of(s for s, n in total.items() for _ in range(n)))
    if control.get("verdict") != verdict:
        return f"its control {name} says {control.get('verdict')}, its counts {verdict}"
    return None


def _rebuilt(controls: list[Any], rules: list[dict[str, Any]], findings: list[dict[str, Any]]) -> str | None:
    """A target's view is what ``control_view`` makes of its rules and findings (failing lists in any order)."""
    want = {c["control"]: c for c in control_view(rules, findings)}
    for control in controls:
        if not isinstance(control, dict):
            continue
        name = control.get("control")
        mine = want.get(name)
        if mine is None:
            return f"its controls list {name}, which none of its rules maps to"
        for field in ("verdict", "counts"):
            if control.get(field) != mine[field]:
                return f"its control {name} gives {field} {control.get(field)!r}, its rules and findings {mine[field]!r}"
        said = [_plain({"id": e.get("id"), "counts": e.get("counts")}) for e in control.get("rules") or ()
                if isinstance(e, dict)]
        if sorted(said) != sorted(_plain({"id": e["id"], "counts": e["counts"]}) for e in mine["rules"]):
            return f"its control {name} lists its rules' counts unlike its findings"
        fails = sorted(_plain(i) for i in control.get("failing") or () if isinstance(i, dict))
        if fails != sorted(_plain(i) for i in mine["failing"]):
            return f"its control {name} lists failing subjects unlike its findings"
    return None


def _plain(value: Any) -> str:
    """One text per value whatever its keys' order (a file's order is not the writer's)."""
    return json.dumps(value, sort_keys=True, default=str)


__all__ = ["controls_disagreement"]
