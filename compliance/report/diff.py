"""What changed since the last audit: new failures, fixed ones, and those still failing.

``pending`` (not judged yet) is neither failing nor passing, so it has its own buckets: a key
pending now is ``new_pending`` or ``still_pending``; one that was pending and is judged now is
``pending_passed`` when it passed (or no longer applies) and a **new** failure when it failed,
because nothing had failed before. Likewise ``error`` (could not evaluate) before and ``fail`` now is
**new**: the earlier run never judged it, so nothing shows it failed then. Each key lands in exactly
one bucket.

Reviewers of a recurring audit care about movement more than the absolute list, so every
report can be compared with a previous ``report.json``. Findings are keyed by
``(rule_id, subject_type, subject)``, which is stable across runs (short SHAs, task@sha, route
keys, request ids), plus the full SHA of the commit a finding judged where its evidence names one:
a commit made to collide with a failing one's 12-character short SHA is another key, so its
failure is new rather than laundered as "still failing". The previous report is read as data
only: its verdicts are compared, never re-judged, and it must be the same target's
(``previous_for_target``): another target's failures would make this one's look old.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from compliance.base.errors import ComplianceError, InputError, Located
from compliance.base.fsutil import not_regular
from compliance.model.findings import FAIL, is_worse
from compliance.model.snapshot import load_schema, schema_problems
from compliance.model.strict_json import strict_loads
from compliance.model.value_checks import time_problems
from compliance.report.consistency import report_disagreement
from compliance.report.consistency_keys import full_sha  # the diff's key for the commit judged
from compliance.report.expand import CompactError, expand_report
from compliance.report.movement import BUCKETS, bucket_of

Key = tuple[str, str, str, str | None]


def load_previous(path: str | Path) -> dict[str, Any]:
    """A previous report.json; only the parts the comparison reads are required."""
    p = Path(path)
    why = not_regular(p)
    if why:
        raise InputError([Located(str(p), 1, 1, f"cannot read previous report: it {why}")], what="previous report")
    try:
        text = p.read_text("utf-8")
    except OSError as exc:
        raise InputError([Located(str(p), 1, 1, f"cannot read previous report: {exc.strerror or exc}")],
                         what="previous report") from None
    except UnicodeDecodeError:
        raise InputError([Located(str(p), 1, 1, "file is not UTF-8")], what="previous report") from None
    # nested too deeply, NaN, invalid JSON: refused with the place, like snapshots and merged reports
    doc = strict_loads(text, str(p), "previous report")
    try:
        doc = expand_report(doc)  # version 2 (compact) or 1: compared as the same findings
    except CompactError as exc:
        raise InputError([Located(str(p), 1, 1, f"cannot read previous report: {exc}")], what="previous report") from None
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
            if not isinstance(f.get("message", ""), str):  # copied into the diff, which must stay a valid report
                problems.append(Located(str(p), 1, 1, f"at /findings/{i}/message: not text"))
                break
        problems += _snapshot_problems(doc, str(p))
    problems += _merged_problems(doc, str(p)) if not problems else []
    if not problems:
        # the shape a report this tool writes has, as ``merge`` requires of its inputs: the consistency check
        # below reads every section, and a damaged one (a list where a status goes) is refused with its place
        problems = [Located(x.path, x.line, x.col, f"not a valid compliance report: {x.message}")
                    for x in schema_problems(doc, load_schema("report"), str(p), limit=10)]
    if not problems:
        # a previous report whose summary, changes or other sections say what its findings do not holds two
        # verdicts; it is refused, as ``merge`` refuses one (an edited copy in an unsigned package)
        why = report_disagreement(doc)
        if why:
            problems.append(Located(str(p), 1, 1, f"not a valid compliance report: {why}"))
    if problems:
        raise InputError(problems, what="previous report")
    return doc


def _snapshot_problems(doc: dict[str, Any], path: str) -> list[Located]:
    """What the diff copies of the previous report's ``snapshot`` must be: text (or null) and a window object."""
    snap = doc.get("snapshot")
    if snap is None:
        return []
    if not isinstance(snap, dict):
        return [Located(path, 1, 1, "at /snapshot: not an object")]
    out = [Located(path, 1, 1, f"at /snapshot/{k}: not text") for k in ("digest", "collected_at")
           if snap.get(k) is not None and not isinstance(snap.get(k), str)]
    if snap.get("window") is not None and not isinstance(snap.get("window"), dict):
        out.append(Located(path, 1, 1, "at /snapshot/window: not an object"))
    return out


def _merged_problems(doc: dict[str, Any], path: str) -> list[Located]:
    """What a merged previous report must hold to be split per target: a list of named targets, and per-target
    metrics (when any) as a list of objects. Checked on reading, so a damaged file is refused with its place."""
    targets = doc.get("targets")
    if targets is None:
        return []
    if not isinstance(targets, list) or not all(isinstance(t, dict) and isinstance(t.get("name"), str) for t in targets):
        return [Located(path, 1, 1, "at /targets: a merged report lists its targets as objects with a name")]
    metrics = doc.get("metrics")
    by_target = metrics.get("by_target") if isinstance(metrics, dict) else None
    if by_target is not None and not (isinstance(by_target, list) and all(isinstance(m, dict) for m in by_target)):
        return [Located(path, 1, 1, "at /metrics/by_target: a merged report's per-target metrics are a list of objects")]
    return []


# What tells two targets apart when one of them has no name: a report of another repository, function, region
# or AWS account (staging and production are often the same stack in two accounts) is another target's.
_IDENTITY = (("github_repo",), ("function",), ("region",), ("cloudtrail", "account"))


def _identity(target: dict[str, Any], path: tuple[str, ...]) -> str | None:
    value: Any = target
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return value if isinstance(value, str) else None


def previous_for_target(previous: dict[str, Any] | None, target: dict[str, Any]) -> dict[str, Any] | None:
    """The part of a previous report that is ``target``'s, or ``ComplianceError`` when it is another's.

    A merged report gives the findings and metrics it holds for the target's name (none when the target
    was not in it: everything failing now is new). A single-target report is compared only when it is the
    same target: the same name, or, when either is unnamed, no differing repository, function or region.
    Another target's report is refused rather than compared: its failures would make this target's new
    failures read as "still failing", and ``--fail-on-new`` would pass them."""
    if previous is None:
        return None
    name = target.get("name")
    if previous.get("targets"):
        names = [t["name"] for t in previous["targets"]]
        if not name:
            raise ComplianceError(f"--previous is a merged report of {', '.join(names)}; this target has no name, "
                                  "so its part cannot be told: give its own report.json")
        metrics = previous.get("metrics") if isinstance(previous.get("metrics"), dict) else {}
        own = next((m for m in metrics.get("by_target") or [] if m.get("target") == name), None)
        return {**previous, "findings": [f for f in previous["findings"] if f.get("target") == name], "metrics": own}
    snap = previous.get("snapshot") if isinstance(previous.get("snapshot"), dict) else {}
    theirs = snap.get("target") if isinstance(snap.get("target"), dict) else {}
    other = theirs.get("name")
    if name and other:
        differs = [] if other == name else [f"name {other!r}, not {name!r}"]
    else:
        pairs = [(".".join(k), _identity(theirs, k), _identity(target, k)) for k in _IDENTITY]
        differs = [f"{k} {a!r}, not {b!r}" for k, a, b in pairs if a is not None and b is not None and a != b]
    if differs:
        raise ComplianceError(f"--previous is the report of another target ({'; '.join(differs)}): its failures "
                              "would make this target's look old; give this target's report.json (or the merged "
                              "report of a multi-target audit)")
    return previous


def _worst(findings: list[dict[str, Any]]) -> dict[Key, dict[str, Any]]:
    """One verdict per key: the worst, as a subject judged by two checks of a rule fails if either does."""
    out: dict[Key, dict[str, Any]] = {}
    for f in findings:
        key = (f["rule_id"], f["subject_type"], f["subject"], full_sha(f))
        if key not in out or is_worse(f["status"], out[key]["status"]):
            out[key] = f
    return out


def _statuses(findings: list[dict[str, Any]]) -> dict[Key, set[str]]:
    """Every status each key has (a rule with two checks judges one subject twice)."""
    out: dict[Key, set[str]] = {}
    for f in findings:
        out.setdefault((f["rule_id"], f["subject_type"], f["subject"], full_sha(f)), set()).add(f["status"])
    return out


def diff_reports(previous: dict[str, Any], current_findings: list[dict[str, Any]],
                 metrics: dict[str, Any] | None = None) -> dict[str, Any]:
    """The report's ``diff`` section (with ``metrics``: also the trend of the delivery figures).

    ``gone`` holds keys that failed (or were pending) before and are not judged now (typically a
    change that left the window): they are not called fixed, because nothing shows they were.
    """
    before, now = _worst(previous.get("findings", [])), _worst(current_findings)
    had, has = _statuses(previous.get("findings", [])), _statuses(current_findings)
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in BUCKETS}
    for key in sorted(set(before) | set(now), key=lambda k: (*k[:3], k[3] or "")):
        b, n = before.get(key), now.get(key)
        was = b["status"] if b else None
        is_ = n["status"] if n else None
        bucket = bucket_of(was, is_)
        if FAIL in has.get(key, ()) and FAIL not in had.get(key, ()):
            # a failure the key did not have before is new even where another check of the rule errs on the
            # same subject now or did before (the worst status, error, would hide it as "still failing")
            bucket, is_ = "new", FAIL
            n = next(f for f in current_findings if f["status"] == FAIL and (
                f["rule_id"], f["subject_type"], f["subject"], full_sha(f)) == key)
        if bucket is None:
            continue
        entry = {"rule_id": key[0], "subject_type": key[1], "subject": key[2], "previous": was, "current": is_,
                 "message": (n or b or {}).get("message", "")}
        if key[3] is not None:
            entry["sha"] = key[3]  # the commit judged: two commits can share a short SHA (``subject``)
        out[bucket].append(entry)
    snap = previous.get("snapshot") if isinstance(previous.get("snapshot"), dict) else {}
    section = {
        "previous": {
            "digest": snap.get("digest"),
            "collected_at": snap.get("collected_at"),
            "window": snap.get("window"),
        },
        "counts": {k: len(v) for k, v in out.items()},
        **out,
    }
    if metrics is not None:
        section["metrics"] = metrics_trend(previous.get("metrics"), metrics)
    return section


# (name in the trend, figure, field): the figures a reviewer follows from one audit to the next
TREND = (
    ("deploys", "deployment_frequency", "deploys"),
    ("deploys_per_week", "deployment_frequency", "per_week"),
    ("lead_time_median_seconds", "lead_time", "median_seconds"),
    ("lead_time_p90_seconds", "lead_time", "p90_seconds"),
    ("change_failure_rate", "change_failure_rate", "rate"),
    ("time_to_restore_median_seconds", "time_to_restore", "median_seconds"),
)


def _figure(metrics: Any, figure: str, field: str) -> float | int | None:
    """A figure of a report's metrics read as data: anything but a number (absent, null, a
    string, a boolean in an older or hand-edited report) is no value, never a 0."""
    part = metrics.get(figure) if isinstance(metrics, dict) else None
    value = part.get(field) if isinstance(part, dict) else None
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def metrics_trend(previous: Any, current: dict[str, Any]) -> dict[str, Any]:
    """Each figure then and now, and the change; a previous report without metrics (an older
    version's) gives ``previous_has_metrics: false`` and no deltas, not a jump from zero."""
    deltas = []
    for name, figure, field in TREND:
        was, now = _figure(previous, figure, field), _figure(current, figure, field)
        delta = None if was is None or now is None else round(now - was, 4)
        deltas.append({"metric": name, "previous": was, "current": now, "delta": delta})
    return {"previous_has_metrics": isinstance(previous, dict), "deltas": deltas}


__all__ = ["BUCKETS", "TREND", "diff_reports", "load_previous", "full_sha", "metrics_trend", "previous_for_target"]
