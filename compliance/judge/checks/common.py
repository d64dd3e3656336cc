"""Small pieces shared by check modules."""

from __future__ import annotations

from compliance.judge.engine import Change
from compliance.model.findings import NOT_APPLICABLE, Finding
from compliance.sources.registry import NAMES

SOURCE_NAMES = list(NAMES)


def no_changes(rule_id: str) -> Finding:
    return Finding(rule_id, "change", "-", NOT_APPLICABLE, "no in-scope change in the window")


def change_finding(rule_id: str, change: Change, status: str, message: str, *evidence: dict) -> Finding:
    return Finding(rule_id, "change", change.short, status, message, [change.evidence_item(), *evidence])


def file_evidence(path: str, label: str, line: int | None = None, ref: str | None = None) -> dict:
    """A file as evidence; ``ref`` is the commit its text was read at (reports print it as ``ref: ...``),
    so the line a finding points to can be found in that version, not today's."""
    item = {"kind": "file", "label": label, "path": path, "url": None}
    if line:
        item["line"] = line
    if ref:
        item["ref"] = ref
    return item
