"""What changed since the last audit: new failures, fixed ones, and those still failing.

Reviewers of a recurring audit care about movement more than the absolute list, so every
report can be compared with a previous ``report.json``. Findings are keyed by
``(rule_id, subject_type, subject)``, which is stable across runs (short SHAs, task@sha, route
keys, request ids), and the previous report is read as data only: its verdicts are compared,
never re-judged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from compliance.errors import InputError, Located

NOT_PASSING = ("fail", "error")
_RANK = {s: i for i, s in enumerate(("pass", "not_applicable", "waived", "fail", "error"))}

Key = tuple[str, str, str]


def load_previous(path: str | Path) -> dict[str, Any]:
    """A previous report.json; only the parts the comparison reads are required."""
    from compliance.snapshot import strict_loads, time_problems

    p = Path(path)
    try:
        text = p.read_text("utf-8")
    except OSError as exc:
        raise InputError([Located(str(p), 1, 1, f"cannot read previous report: {exc.strerror or exc}")],
                         what="previous report") from None
    except UnicodeDecodeError:
        raise InputError([Located(str(p), 1, 1, "file is not UTF-8")], what="previous report") from None
    # nested too deeply, NaN, invalid JSON: refused with the place, like snapshots and merged reports
    doc = strict_loads(text, str(p), "previous report")
    problems = time_problems(doc, str(p))
    findings = doc.get("findings") if isinstance(doc, dict) else None
    if not isinstance(findings, list):
        problems.append(Located(str(p), 1, 1, "not a compliance report.json (no 'findings' list)"))
    else:
        for i, f in enumerate(findings):
            if not isinstance(f, dict) or not all(isinstance(f.get(k), str) for k in
                                                  ("rule_id", "subject_type", "subject", "status")):
                problems.append(Located(str(p), 1, 1, f"at /findings/{i}: needs rule_id, subject_type, subject, status"))
                break
    if problems:
        raise InputError(problems, what="previous report")
    return doc


def _worst(findings: list[dict[str, Any]]) -> dict[Key, dict[str, Any]]:
    """One verdict per key: the worst, as a subject judged by two checks of a rule fails if either does."""
    out: dict[Key, dict[str, Any]] = {}
    for f in findings:
        key = (f["rule_id"], f["subject_type"], f["subject"])
        if key not in out or _RANK.get(f["status"], 0) > _RANK.get(out[key]["status"], 0):
            out[key] = f
    return out


def diff_reports(previous: dict[str, Any], current_findings: list[dict[str, Any]]) -> dict[str, Any]:
    """The report's ``diff`` section.

    ``gone`` holds keys that failed before and are not judged now (typically a change that left
    the window): they are not called fixed, because nothing shows they were.
    """
    before, now = _worst(previous.get("findings", [])), _worst(current_findings)
    out: dict[str, list[dict[str, Any]]] = {"new": [], "fixed": [], "still_failing": [], "now_waived": [],
                                             "gone": []}
    for key in sorted(set(before) | set(now)):
        b, n = before.get(key), now.get(key)
        was = b["status"] if b else None
        is_ = n["status"] if n else None
        failing_before, failing_now = was in NOT_PASSING, is_ in NOT_PASSING
        if failing_now and failing_before:
            bucket = "still_failing"
        elif failing_now:
            bucket = "new"
        elif failing_before and is_ == "waived":
            bucket = "now_waived"
        elif failing_before and is_ is None:
            bucket = "gone"
        elif failing_before:
            bucket = "fixed"
        else:
            continue
        out[bucket].append({
            "rule_id": key[0], "subject_type": key[1], "subject": key[2], "previous": was, "current": is_,
            "message": (n or b or {}).get("message", ""),
        })
    snap = previous.get("snapshot") if isinstance(previous.get("snapshot"), dict) else {}
    return {
        "previous": {
            "digest": snap.get("digest"),
            "collected_at": snap.get("collected_at"),
            "window": snap.get("window"),
        },
        "counts": {k: len(v) for k, v in out.items()},
        **out,
    }


__all__ = ["diff_reports", "load_previous"]
