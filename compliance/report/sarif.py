"""SARIF 2.1.0 for GitHub code scanning and any other SARIF viewer.

Only failures and errors that point at a file become results: code scanning rejects a whole upload
over a single result without a location, and a passing finding is not an alert. ``pending``
findings (not judged yet) are left out too: an alert opened while a deploy runs and closed when it
finishes is noise, and a ``note`` would still read as a problem found. They are counted in the run's
properties (``summary.pending``), so a SARIF viewer still sees that something is not judged yet. Findings that have
no file (a Lambda's state, a tracker task) stay in the Markdown/HTML reports; the run's properties
count how many were left out so nobody mistakes a short SARIF file for a clean bill.

Messages are untrusted (commit subjects, worklog text). SARIF plain-text messages treat ``[text](n)``
as an embedded link, so brackets are escaped as the spec prescribes and control characters dropped.

Fingerprints hash rule id + subject, never the line: code scanning then keeps one alert per problem
across pushes even when the workflow file it points at is edited above the line.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from typing import Any
from urllib.parse import quote

# Controls and bidi overrides disguise text; lone surrogates cannot even be encoded as UTF-8
# (the console's class: also zero-width characters, soft hyphen and Unicode tags).
from compliance.base.console import CONTROL_RE as _CONTROL
from compliance.base.redact import strip_hidden

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "complianceFinding/v1"
REPORTED = ("fail", "error")
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}

_ESCAPE = re.compile(r"([\\\[\]])")


def visible(value: Any) -> str:
    return strip_hidden(_CONTROL, "" if value is None else str(value))  # re-masked: a NUL hid a token


def plain(value: Any, limit: int = 4000) -> str:
    """Untrusted text as a SARIF plain-text message: visible characters, no embedded links."""
    out = visible(value)
    if len(out) > limit:
        out = out[: limit - 1] + "…"
    return _ESCAPE.sub(r"\\\1", out)


def level(finding: dict[str, Any]) -> str:
    if finding.get("status") == "error":
        return "error"
    return LEVEL.get(finding.get("severity", ""), "warning")


def artifact_uri(path: Any) -> str | None:
    """A repo-relative URI reference, or None when the path could point outside the repository."""
    if not isinstance(path, str) or not path.strip():
        return None
    norm = path.replace("\\", "/")
    while norm.startswith("./"):
        norm = norm[2:]
    if norm.startswith("/") or re.match(r"^[A-Za-z]:", norm) or _CONTROL.search(norm):
        return None
    norm = posixpath.normpath(norm)
    if norm == ".." or norm.startswith("../") or norm == ".":
        return None
    return quote(norm, safe="/-._~")


def fingerprint(finding: dict[str, Any]) -> str:
    key = f"{finding.get('rule_id', '')}\x00{finding.get('subject', '')}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _pascal(title: str, fallback: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", title)
    return "".join(w[:1].upper() + w[1:] for w in words) or fallback


def _help_text(fix: dict[str, Any]) -> str:
    parts = [fix.get("text") or "", f"Run: {fix['command']}" if fix.get("command") else ""]
    return "\n\n".join(p for p in parts if p)


def _descriptor(rule: dict[str, Any]) -> dict[str, Any]:
    rule_id = str(rule.get("id", ""))
    title = str(rule.get("title") or rule_id)
    out: dict[str, Any] = {
        "id": rule_id,
        "name": _pascal(title, rule_id),
        "shortDescription": {"text": plain(title, 1000)},
    }
    if rule.get("rationale"):
        out["fullDescription"] = {"text": plain(rule["rationale"])}
    help_text = _help_text(rule.get("remediation") or {})
    if help_text:
        out["help"] = {"text": plain(help_text)}
    out["defaultConfiguration"] = {"level": LEVEL.get(rule.get("severity", ""), "warning")}
    out["properties"] = {
        "severity": visible(rule.get("severity", "")),
        "runbook_section": visible(rule.get("runbook_section", "")),
        "tags": ["compliance", *(visible(c) for c in rule.get("controls") or [])],  # code scanning filters by tag
    }
    return out


def _rules(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every rule of the report, plus any a finding names that the rule list lacks (never expected)."""
    rules = {r["id"]: r for r in doc.get("rules", []) if r.get("id")}
    for f in doc.get("findings", []):
        rid = f.get("rule_id")
        if rid and rid not in rules:
            rules[rid] = {"id": rid, "title": f.get("title"), "severity": f.get("severity"),
                          "runbook_section": f.get("runbook_section"), "remediation": f.get("remediation")}
    return [rules[k] for k in sorted(rules)]


def _result(finding: dict[str, Any], index: dict[str, int]) -> dict[str, Any] | None:
    loc = finding.get("location") or {}
    uri = artifact_uri(loc.get("path"))
    if finding.get("status") not in REPORTED or uri is None:
        return None
    line = loc.get("line")
    rule_id = str(finding.get("rule_id", ""))
    # the commit whose version of the file the line is in (files are judged as of the window's end)
    ref = next((e["ref"] for e in finding.get("evidence") or [] if isinstance(e, dict) and e.get("ref")), None)
    result = {
        "ruleId": rule_id,
        "ruleIndex": index[rule_id],
        "level": level(finding),
        "message": {"text": plain(finding.get("message")) or plain(finding.get("title")) or rule_id},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"},
                # Code scanning needs a line; a file-level finding is shown on the first one.
                "region": {"startLine": line if isinstance(line, int) and line >= 1 else 1},
            }
        }],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(finding)},
        "properties": {
            "subject": visible(finding.get("subject", "")),
            "subject_type": visible(finding.get("subject_type", "")),
            "status": finding.get("status"),
            "severity": visible(finding.get("severity", "")),
        },
    }
    if isinstance(ref, str):
        result["properties"]["as_of"] = visible(ref)
    return result


def build(doc: dict[str, Any]) -> dict[str, Any]:
    rules = _rules(doc)
    index = {r["id"]: i for i, r in enumerate(rules)}
    results = [r for r in (_result(f, index) for f in doc.get("findings", [])) if r]
    results.sort(key=lambda r: (
        r["ruleId"],
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        r["locations"][0]["physicalLocation"]["region"]["startLine"],
        r["properties"]["subject"],
        r["message"]["text"],
    ))
    reported = sum(1 for f in doc.get("findings", []) if f.get("status") in REPORTED)
    tool = doc.get("tool", {})
    summary = doc.get("summary", {})
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "compliance",
                "version": str(tool.get("version", "")),
                "rules": [_descriptor(r) for r in rules],
            }},
            "columnKind": "utf16CodeUnits",
            "results": results,
            "properties": {
                "verdict": summary.get("verdict"),
                "summary": {k: summary.get(k, 0) for k in ("pass", "fail", "error", "pending", "waived", "not_applicable")},
                "failing_without_location": reported - len(results),
            },
        }],
    }


def render(doc: dict[str, Any]) -> str:
    return json.dumps(build(doc), indent=2, ensure_ascii=False) + "\n"
