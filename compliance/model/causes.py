"""Failures and errors grouped by cause: one line for twenty findings that say the same thing.

When a source cannot be reached every change every rule judges with it becomes an ``error`` with
the same message; listing them one by one buries the one fact (GitHub was unreachable) under
near-identical lines and pushes real failures off the screen. The console summary, the Markdown
report's first screen and the check-run summary all group through here, so they agree.

A cause is the finding's status and message with its own subject taken out (a message that names
its change still groups with the same message naming another). Causes are ordered most severe
first, then errors before failures, then the most frequent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from compliance.model.findings import ERROR, FAIL, SEVERITIES

SUBJECT = "<subject>"


class Cause:
    """Findings sharing one status and message: how many, under which rules, and a few examples.

    A plain class, not a dataclass: ``cli.printing`` imports this module on every command, and a
    dataclass costs a millisecond of start-up to build.
    """

    __slots__ = ("count", "examples", "first", "message", "rules", "severity", "status", "targets")

    def __init__(self, status: str, severity: str, message: str, first: str = ""):
        self.status, self.severity = status, severity
        self.message = message  # with the subject of each finding replaced by ``<subject>``
        self.first = first  # the first finding's message as it was (what a cause of one shows)
        self.rules: list[str] = []
        self.examples: list[str] = []  # "subject_type subject", the first few
        self.targets: list[str] = []
        self.count = 0

    @property
    def rank(self) -> tuple[int, int, int]:
        sev = SEVERITIES.index(self.severity) if self.severity in SEVERITIES else len(SEVERITIES)
        return sev, 0 if self.status == ERROR else 1, -self.count


def causes(findings: Iterable[dict[str, Any]], examples: int = 3) -> list[Cause]:
    """Every failed or errored finding (report dicts) under its cause, most severe first."""
    groups: dict[tuple[str, str], Cause] = {}
    for f in findings:
        if f.get("status") not in (FAIL, ERROR):
            continue
        subject = str(f.get("subject") or "")
        message = str(f.get("message") or "")
        if len(subject) >= 4:  # a short id ("1") would also match inside unrelated words
            message = message.replace(subject, SUBJECT)
        key = (f["status"], message)
        cause = groups.get(key)
        if cause is None:
            cause = groups[key] = Cause(f["status"], str(f.get("severity") or "medium"), message,
                                        first=str(f.get("message") or ""))
        cause.count += 1
        if _worse(str(f.get("severity") or "medium"), cause.severity):
            cause.severity = str(f.get("severity"))
        if f.get("rule_id") not in cause.rules:
            cause.rules.append(str(f.get("rule_id")))
        if f.get("target") and f["target"] not in cause.targets:
            cause.targets.append(str(f["target"]))
        if len(cause.examples) < examples:
            cause.examples.append(f"{f.get('subject_type')} {subject}".strip())
    return sorted(groups.values(), key=lambda c: c.rank)


def _worse(a: str, b: str) -> bool:
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    return rank.get(a, len(SEVERITIES)) < rank.get(b, len(SEVERITIES))


def rule_counts(doc: dict[str, Any]) -> list[tuple[str, dict[str, int]]]:
    """Per rule with any failure or error, its counts by outcome (the document's own per-rule counts)."""
    rows = []
    for r in doc.get("rules") or []:
        c = r.get("counts") or {}
        if c.get(FAIL) or c.get(ERROR):
            rows.append((str(r.get("id") or r.get("rule_id")), c))
    return rows


_RETRIED = re.compile(r"^retried (?P<what>.*?) after (?P<wait>\d+(?:\.\d+)?)s: (?P<why>.*)$", re.S)


class SourceNotes:
    """A source's error and warnings as a reader needs them: the cause once, the retries as a count."""

    __slots__ = ("error", "retries", "retry_cause", "waits", "warnings")

    def __init__(self, error: str | None):
        self.error = error
        self.retries = 0
        self.waits: list[float] = []
        self.retry_cause: str | None = None  # the last retried failure, when it is not already the error
        self.warnings: list[str] = []  # every other warning, as recorded

    def retry_phrase(self) -> str:
        """``3 retries, waited 2 s + 4 s + 8 s = 14 s`` (empty when there were none)."""
        if not self.retries:
            return ""
        waits = " + ".join(f"{w:g} s" for w in self.waits)
        total = f" = {sum(self.waits):g} s" if len(self.waits) > 1 else ""
        return f"{self.retries} {'retry' if self.retries == 1 else 'retries'}, waited {waits}{total}"


def source_notes(src: dict[str, Any]) -> SourceNotes:
    """Fold the GitHub client's one-warning-per-retry (``retried GET URL after 2s: ...``) into a count.

    An unreachable GitHub used to show its full request URL and exception four times, once per
    attempt, plus the final error: the same sentence, four times, wider than the page.
    """
    err = src.get("error")
    error = f"{err.get('type')}: {err.get('message')}" if err else None
    notes = SourceNotes(error)
    for warning in src.get("warnings") or []:
        match = _RETRIED.match(str(warning))
        if not match:
            notes.warnings.append(str(warning))
            continue
        notes.retries += 1
        notes.waits.append(float(match.group("wait")))
        notes.retry_cause = match.group("why")
    if notes.retry_cause and error and notes.retry_cause.split(" (")[0] in error:
        notes.retry_cause = None  # the error says it, with how it ended
    return notes


__all__ = ["SUBJECT", "Cause", "SourceNotes", "causes", "collection_phrase", "rule_counts", "source_notes"]


def collection_phrase(sources: Iterable[dict[str, Any]]) -> str:
    """``collected in 4.1 s; slowest: github 3.6 s (3 s of it waiting to retry)``: a slow audit explains itself.

    From the report's own source records (durations and retry waits are in the snapshot), so a
    re-evaluation of the same snapshot says the same thing.
    """
    rows = [s for s in sources if isinstance(s.get("duration_ms"), int)]
    if not rows:
        return ""
    total = sum(s["duration_ms"] for s in rows) / 1000
    slow = max(rows, key=lambda s: s["duration_ms"])
    name = f"{slow.get('target')}/{slow.get('name')}" if slow.get("target") else str(slow.get("name"))
    waited = sum(source_notes(slow).waits)
    why = f" ({waited:g} s of it waiting to retry)" if waited else ""
    return f"collected in {total:.1f} s; slowest: {name} {slow['duration_ms'] / 1000:.1f} s{why}"
