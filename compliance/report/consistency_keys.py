"""What the consistency checks key a report's entries by: target, rule, subject type and subject.

A merged report tags every finding, row and list entry with its target; a target's own report tags none
(``target_of`` is None), so one set of keys serves both.
"""

from __future__ import annotations

from typing import Any

from compliance.model.findings import PASS, STATUS_RANK

Key = tuple[str | None, str, str, str]


def target_of(item: dict[str, Any]) -> str | None:
    target = item.get("target")
    return target if isinstance(target, str) else None


def key_of(item: dict[str, Any]) -> Key:
    return (target_of(item), str(item.get("rule_id")), str(item.get("subject_type")), str(item.get("subject")))


def statuses_by_key(findings: list[dict[str, Any]]) -> dict[Key, set[str]]:
    out: dict[Key, set[str]] = {}
    for f in findings:
        out.setdefault(key_of(f), set()).add(f["status"])
    return out


def findings_by_key(findings: list[dict[str, Any]]) -> dict[Key, list[dict[str, Any]]]:
    out: dict[Key, list[dict[str, Any]]] = {}
    for f in findings:
        out.setdefault(key_of(f), []).append(f)
    return out


def worst(statuses: set[str] | list[str]) -> str:
    return max(statuses, key=lambda s: STATUS_RANK[s], default=PASS)


def commit_of(f: dict[str, Any]) -> str | None:
    """The SHA of the finding's first commit evidence: the change whose verdict it counts in (``judge/timeline``)."""
    for e in f.get("evidence") or ():
        if isinstance(e, dict) and e.get("kind") == "commit":
            sha = e.get("sha")
            return sha if isinstance(sha, str) and sha else None
    return None


def full_sha(f: dict[str, Any]) -> str | None:
    """``commit_of`` lower-cased: the key ``diff`` files a finding under (a SHA is the same commit in either case)."""
    sha = commit_of(f)
    return sha.lower() if sha else None


__all__ = ["Key", "commit_of", "findings_by_key", "full_sha", "key_of", "statuses_by_key", "target_of", "worst"]
