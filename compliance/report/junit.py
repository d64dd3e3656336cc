"""JUnit XML, so CI systems that only understand test results (Jenkins, GitLab, Azure, test-report
actions) can show each rule as a suite and each subject as a test.

Mapping: fail -> ``<failure>``, error (could not evaluate) -> ``<error>``, pending (not judged yet),
waived and not applicable -> ``<skipped>`` whose message starts with the reason ("pending: ..."),
pass -> an empty test case. Pending is a skip, not a failure: it never gates, and a CI test view
that turned red on a deploy still running would be wrong. Counts are attributes so tools can summarise without
walking the cases.

Messages come from people and systems we do not control. ElementTree escapes markup, but XML 1.0
cannot carry most control characters at all (a parser rejects the whole file), so they are removed.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from typing import Any

# Valid XML, but C1 controls and bidi overrides let a commit subject display as something else in a CI UI
# (the console's class: also zero-width characters, soft hyphen, Unicode tags that smuggle hidden text).
from compliance.base.console import INVISIBLE_RE as _DISGUISE
from compliance.base.redact import strip_hidden

# Everything XML 1.0 allows in character data is kept; the rest (C0 controls except tab/newline/CR,
# lone surrogates, U+FFFE/U+FFFF) cannot be represented in any escaped form. Written as the class of
# what is refused, not the negation of what XML allows: the same code points (every one of the 1,114,112
# compared), compiled in 0.6 ms instead of 5.8 ms, in every process that writes a report.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_EVIDENCE_CORE = ("kind", "label", "url", "time")
SKIPPED = ("pending", "waived", "not_applicable")
SKIP_LABEL = {"pending": "pending", "waived": "waived", "not_applicable": "not applicable"}


def xml_text(value: Any, limit: int | None = None) -> str:
    # re-masked once stripped: a NUL or zero-width space inside a token hid it from every shape
    out = strip_hidden(_DISGUISE, strip_hidden(_INVALID_XML, "" if value is None else str(value)))
    if limit is not None and len(out) > limit:
        out = out[: limit - 1] + "…"
    return out


def _evidence_line(ev: dict[str, Any]) -> str:
    parts = [f"{ev.get('kind', '')}: {ev.get('label', '')}"]
    for key in ("time", "url"):
        if ev.get(key):
            parts.append(str(ev[key]))
    for key in sorted(k for k in ev if k not in _EVIDENCE_CORE):
        value = ev[key]
        parts.append(f"{key}: {value if isinstance(value, str) else json.dumps(value, sort_keys=True)}")
    return " · ".join(parts)


def _details(finding: dict[str, Any]) -> str:
    lines = [str(finding.get("message", ""))]
    loc = finding.get("location")
    if loc and loc.get("path"):
        lines.append(f"at {loc['path']}:{loc['line']}" if loc.get("line") else f"at {loc['path']}")
    evidence = finding.get("evidence") or []
    if evidence:
        lines += ["", "Evidence:", *(f"- {_evidence_line(ev)}" for ev in evidence)]
    fix = finding.get("remediation") or {}
    if fix.get("text"):
        lines += ["", f"Fix: {fix['text']}"]
    if fix.get("command"):
        lines += [f"Run: {fix['command']}"]
    return xml_text("\n".join(lines))


def _counts(findings: list[dict[str, Any]]) -> dict[str, str]:
    statuses = [f.get("status") for f in findings]
    return {
        "tests": str(len(statuses)),
        "failures": str(statuses.count("fail")),
        "errors": str(statuses.count("error")),
        "skipped": str(sum(statuses.count(s) for s in SKIPPED)),
        "time": "0",
    }


def _testcase(parent: ET.Element, finding: dict[str, Any], name: str) -> None:
    case = ET.SubElement(parent, "testcase", {
        "classname": xml_text(finding.get("rule_id")),
        "name": xml_text(name),
        "time": "0",
    })
    status = finding.get("status")
    message = xml_text(finding.get("message"), 1000)
    if status == "fail":
        ET.SubElement(case, "failure", {"message": message, "type": xml_text(finding.get("severity"))}).text = \
            _details(finding)
    elif status == "error":
        ET.SubElement(case, "error", {"message": message, "type": "could_not_evaluate"}).text = _details(finding)
    elif status in SKIPPED:
        label = SKIP_LABEL[status]
        ET.SubElement(case, "skipped", {"message": xml_text(f"{label}: {finding.get('message', '')}", 1000)})


def build(doc: dict[str, Any]) -> ET.Element:
    findings = doc.get("findings", [])
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for f in findings:
        by_rule.setdefault(str(f.get("rule_id", "")), []).append(f)
    titles = {str(r.get("id")): r for r in doc.get("rules", [])}
    rule_ids = sorted(set(titles) | set(by_rule))

    root = ET.Element("testsuites", {"name": "compliance", **_counts(findings)})
    timestamp = doc.get("snapshot", {}).get("collected_at")
    for rule_id in rule_ids:
        mine = sorted(by_rule.get(rule_id, []), key=lambda f: (
            str(f.get("subject_type", "")), str(f.get("subject", "")), str(f.get("check", "")),
            str(f.get("status", "")), str(f.get("message", "")),
        ))
        rule = titles.get(rule_id, {})
        title = rule.get("title") or (mine[0].get("title") if mine else "")
        attrs = {"name": xml_text(f"{rule_id} {title}".strip()), **_counts(mine)}
        if timestamp:
            attrs["timestamp"] = xml_text(str(timestamp).removesuffix("Z"))
        suite = ET.SubElement(root, "testsuite", attrs)
        props = ET.SubElement(suite, "properties")
        for key in ("severity", "runbook_section"):
            value = rule.get(key) or (mine[0].get(key) if mine else "")
            ET.SubElement(props, "property", {"name": key, "value": xml_text(value)})
        # A rule with several checks can judge one subject more than once; keep test names unique.
        base = [f"{f.get('subject_type', '')} {f.get('subject', '')}" for f in mine]
        seen = Counter(base)
        for f, name in zip(mine, base, strict=True):
            unique = name if seen[name] == 1 else f"{name} [{f.get('check', '')}]"
            _testcase(suite, f, unique)
    return root


def render(doc: dict[str, Any]) -> str:
    root = build(doc)
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
