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
# What a headline adds to a verdict that is not plain pass/fail (Markdown, HTML, the check-run title).
VERDICT_NOTE = {ERROR: "could not evaluate everything", PENDING: "nothing failed; some findings are not judged yet"}
SEVERITIES = ("critical", "high", "medium", "low", "info")
# How a count of each status reads in a sentence, in the order the sentence gives them (worst first).
COUNT_WORDS = ((FAIL, "failed"), (ERROR, "could not be evaluated"), (PENDING, "pending"), (PASS, "passed"),
               (WAIVED, "waived"), (NOT_APPLICABLE, "not applicable"))


@dataclass(frozen=True, slots=True)
class Finding:
    """One verdict. Frozen: a finding is a value, so a later stage (the engine filling in the rule's
    metadata, a waiver, a rule not yet in effect) makes a new one with ``dataclasses.replace`` and
    cannot change what an earlier stage already handed on. ``to_dict`` is the report's JSON, key for key."""

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
        # written out, not a generator over the fields: one key per finding, 156,000 at 100,000 commits
        return (str(self.rule_id), str(self.subject_type), str(self.subject), str(self.check), str(self.status),
                str(self.message))

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


def verdict_text(verdict: str, *, upper: bool = False, colon: bool = False) -> str:
    """A verdict with its note: ``error (could not evaluate everything)``, or ``ERROR: could not ...``
    (``upper``, ``colon``); plain ``pass``/``fail`` have none."""
    shown = verdict.upper() if upper else verdict
    note = VERDICT_NOTE.get(verdict)
    if not note:
        return shown
    return f"{shown}: {note}" if colon else f"{shown} ({note})"


def counts_phrase(counts: Mapping[str, object], sep: str = " · ", short_na: bool = False) -> str:
    """``1 failed · 0 could not be evaluated · ...``: every status, zeros included, worst first.
    ``short_na`` says ``n/a`` (the check-run title and the commit status have little room)."""
    return sep.join(f"{counts.get(s, 0)} {'n/a' if short_na and s == NOT_APPLICABLE else words}"
                    for s, words in COUNT_WORDS)


def is_worse(status: str, than: str) -> bool:
    """By ``STATUS_RANK`` (an unknown status, read from a file, ranks as ``pass``): the one comparison
    behind every "worst verdict per subject" (a change's timeline, a diff's key, a rules test)."""
    return STATUS_RANK.get(status, 0) > STATUS_RANK.get(than, 0)


def summary_of(statuses: Iterable[str]) -> dict[str, Any]:
    """A report's ``summary``: every status's count, the exit code and the verdict. One definition for a
    report judged from findings and a merge of reports (counted from their findings, never re-judged)."""
    statuses = list(statuses)
    counts = count_statuses(statuses)
    code = code_for(statuses)
    return {**counts, "exit_code": code, "verdict": verdict_for(code, counts)}
