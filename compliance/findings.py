"""Findings: one verdict per rule x subject, with the evidence chain behind it.

``error`` means "could not evaluate". It is a verdict of its own, it gates like a failure
(exit 2), and nothing missing is ever turned into a pass.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from compliance.errors import EXIT_ERROR, EXIT_FAIL, EXIT_OK

PASS, FAIL, ERROR, WAIVED, NOT_APPLICABLE = "pass", "fail", "error", "waived", "not_applicable"
PENDING = "pending"  # a deploy still in progress, or evidence not due yet: shown, never gating, never waived
STATUSES = (PASS, FAIL, ERROR, WAIVED, NOT_APPLICABLE)
SEVERITIES = ("critical", "high", "medium", "low", "info")


@dataclass
class Finding:
    rule_id: str
    subject_type: str  # change | task | function | route | endpoint | request | file | source
    subject: str  # stable id of the subject (short sha, task id, route key, ...)
    status: str
    message: str
    evidence: list[dict[str, Any]] = field(default_factory=list)
    location: dict[str, Any] | None = None  # {"path": ..., "line": ...} in the governed repo
    check: str = ""
    severity: str = "medium"
    title: str = ""
    remediation: dict[str, str] = field(default_factory=dict)
    runbook_section: str = ""

    def sort_key(self) -> tuple:
        return tuple(str(v) for v in (self.rule_id, self.subject_type, self.subject, self.check, self.status,
                                      self.message))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule_id": self.rule_id,
            "check": self.check,
            "title": self.title,
            "severity": self.severity,
            "runbook_section": self.runbook_section,
            "subject_type": self.subject_type,
            "subject": self.subject,
            "status": self.status,
            "message": self.message,
            "evidence": self.evidence,
            "remediation": self.remediation,
        }
        if self.location:
            out["location"] = self.location
        return out


def summarize(findings: list[Finding]) -> dict[str, int]:
    counts = Counter(f.status for f in findings)
    return {s: counts.get(s, 0) for s in STATUSES}


def exit_code(findings: list[Finding]) -> int:
    """0 when nothing failed or errored; 2 if anything could not be evaluated; else 1 on failure."""
    statuses = {f.status for f in findings}
    if ERROR in statuses:
        return EXIT_ERROR
    if FAIL in statuses:
        return EXIT_FAIL
    return EXIT_OK
