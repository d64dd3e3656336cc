"""Findings: one verdict per rule x subject, with the evidence chain behind it.

``error`` means "could not evaluate". It is a verdict of its own, it gates like a failure
(exit 2), and nothing missing is ever turned into a pass.

``pending`` means "not judgeable yet": a deploy still running, or evidence not due yet. It is
not a pass (the report's verdict says ``pending``, not ``pass``) and not a failure (it never
gates: exit 0 when nothing else failed), and a waiver never applies to it, because there is
nothing to excuse until it has been judged. The next audit turns it into pass or fail.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from compliance.base.errors import EXIT_ERROR, EXIT_FAIL, EXIT_OK

PASS, FAIL, ERROR, WAIVED, NOT_APPLICABLE = "pass", "fail", "error", "waived", "not_applicable"
PENDING = "pending"  # a deploy still in progress, or evidence not due yet: shown, never gating, never waived
STATUSES = (PASS, FAIL, ERROR, PENDING, WAIVED, NOT_APPLICABLE)  # the order reports show counts in
# "Worst" for one subject judged by several checks: a subject fails if any check fails, and is
# pending (not proven yet) if one check waits while the others pass.
STATUS_RANK = {s: i for i, s in enumerate((PASS, NOT_APPLICABLE, WAIVED, PENDING, FAIL, ERROR))}
VERDICTS = (PASS, PENDING, FAIL, ERROR)
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


def count_statuses(statuses: Iterable[str]) -> dict[str, int]:
    """Every status's count, zeros included, so a report always says "0 pending" rather than nothing."""
    counts = Counter(statuses)
    return {s: counts.get(s, 0) for s in STATUSES}


def summarize(findings: list[Finding]) -> dict[str, int]:
    return count_statuses(f.status for f in findings)


def code_for(statuses: Iterable[str]) -> int:
    """0 when nothing failed or errored (``pending`` never gates); 2 if anything could not be
    evaluated; else 1 on failure."""
    seen = set(statuses)
    if ERROR in seen:
        return EXIT_ERROR
    if FAIL in seen:
        return EXIT_FAIL
    return EXIT_OK


def exit_code(findings: list[Finding]) -> int:
    return code_for(f.status for f in findings)


def verdict_for(code: int, counts: Mapping[str, int]) -> str:
    """The report's headline. ``pending`` when nothing gated but something is not judged yet:
    calling that ``pass`` would claim a deploy that has not finished was proven compliant."""
    if code == EXIT_ERROR:
        return ERROR
    if code == EXIT_FAIL:
        return FAIL
    return PENDING if counts.get(PENDING, 0) else PASS
