"""Reading a report.json as the tool reads it back (``compliance.report.expand``), and what it keeps.

report.json is version 3 (``compliance.report.compact``): a test that inspects findings or changes
of a written report reads it through ``read_report``, as ``--previous`` and ``merge`` do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from compliance.report.expand import expand_report

# what a passing finding of the ``passed`` table does not keep
PASS_DROPPED = ("message", "evidence", "remediation")


def read_report(path: str | Path) -> dict[str, Any]:
    return expand_report(json.loads(Path(path).read_text(encoding="utf-8")))


def recount(doc: dict[str, Any], *, controls: bool = False) -> None:
    """The summary and rule counts (and, with ``controls``, the control view) made what the findings count,
    as a forger who edits findings would: the tests of self-contradicting reports start from this."""
    from compliance.model.findings import STATUSES, summary_of
    from compliance.report.controls import control_view
    doc["summary"] = summary_of(f["status"] for f in doc["findings"])
    for rule in doc["rules"]:
        rule["counts"] = {s: sum(1 for f in doc["findings"] if f["rule_id"] == rule["id"] and f["status"] == s)
                          for s in STATUSES}
    if controls:
        doc["controls"] = control_view(doc["rules"], doc["findings"])


def without_pass_details(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with passing findings' message, evidence and remediation cleared and the rules' remediation
    templates dropped, for comparing a document with what its report.json reads back as."""
    findings = [{k: v for k, v in f.items() if not (f["status"] == "pass" and k in PASS_DROPPED)}
                for f in doc["findings"]]
    rules = [{k: v for k, v in r.items() if k != "remediation_template"} for r in doc.get("rules") or []]
    return {**doc, "findings": sorted(findings, key=_order), "rules": rules}


def _order(f: dict[str, Any]) -> tuple:
    return tuple(str(f.get(k, "")) for k in ("rule_id", "target", "subject_type", "subject", "check", "status",
                                               "message"))
