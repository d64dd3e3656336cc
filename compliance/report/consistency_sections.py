"""The waiver section, the diff and the delivery metrics of a report, checked against its findings and lists.

Part of ``consistency``: each function returns how the section disagrees, or None.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from compliance.base.timeutil import end_of_day, parse_time
from compliance.judge.metrics_stats import summarise
from compliance.model.findings import ERROR, FAIL, PENDING, STATUSES, WAIVED
from compliance.report.consistency_keys import Key, findings_by_key, full_sha, key_of, statuses_by_key, worst
from compliance.report.movement import BUCKETS, bucket_of

# what a waiver section's list says of the findings it names
_WAIVER_STATUSES = {
    "applied": (WAIVED,),
    "expiring": (WAIVED,),
    "errors_not_waived": (ERROR,),
    "pending_not_waived": (PENDING,),
    "expired": (FAIL, ERROR),
}
_LIVE_LISTS = ("applied", "expiring", "errors_not_waived", "pending_not_waived", "unused")


def _entries(section: dict[str, Any], name: str) -> list[dict[str, Any]]:
    entries = section.get(name)
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def _refs(entry: dict[str, Any]) -> list[Key]:
    """The findings a waiver entry names, keyed with the entry's target (a merged report tags the entry)."""
    refs = entry.get("findings")
    return [key_of({**r, "target": entry.get("target")}) for r in refs if isinstance(r, dict)] \
        if isinstance(refs, list) else []


def waiver_disagreement(doc: dict[str, Any], findings: list[dict[str, Any]]) -> str | None:
    """Each list names findings of the statuses it is about; every waived finding is named by a waiver the
    section applied; and, in a target's report, each waiver sits in the lists its expiry allows on the day
    the section was evaluated (an expired waiver listed as applied waives nothing)."""
    section = doc.get("waivers")
    if not isinstance(section, dict):
        return None
    held = statuses_by_key(findings)
    by_key = findings_by_key(findings)
    for name, allowed in _WAIVER_STATUSES.items():
        for entry in _entries(section, name):
            for key in _refs(entry):
                if not held.get(key, set()) & set(allowed):
                    return (f"its waivers.{name} names {key[1]} {key[3]!r} as {' or '.join(allowed)}, "
                            f"its findings {sorted(held.get(key, ())) or 'hold no such subject'}")
                why = _not_its_subject(entry, key, by_key.get(key, []))
                if why:
                    return f"its waivers.{name} entry of line {entry.get('line')} names {key[1]} {key[3]!r}, {why}"
    named = {key for name in ("applied", "expiring") for entry in _entries(section, name) for key in _refs(entry)}
    for f in findings:
        if f["status"] == WAIVED and key_of(f) not in named:
            return f"its finding of {f['rule_id']} {f['subject']!r} is waived, and no waiver its section applied names it"
    if doc.get("targets"):
        return None  # evaluated per target: the merged section keeps only the latest time
    snap = doc.get("snapshot") if isinstance(doc.get("snapshot"), dict) else {}
    return _expiry_disagreement(section, snap.get("collected_at"))


def _not_its_subject(entry: dict[str, Any], key: Key, findings: list[dict[str, Any]]) -> str | None:
    """Why a waiver cannot cover a finding it names (``judge.waivers`` matches the rule, then the subject: a
    resource by equality, a SHA as a prefix of the commit judged), or None. A waiver of one change listing
    every failure of the report waived them all."""
    if entry.get("rule_id") != key[1]:
        return f"a finding of another rule than the waiver's ({entry.get('rule_id')})"
    subject = entry.get("subject") if isinstance(entry.get("subject"), dict) else {}
    if "resource" in subject and subject["resource"] != key[3]:
        return f"not the resource the waiver names ({subject['resource']!r})"
    if "sha" in subject and isinstance(subject["sha"], str):
        shas = [s for s in (full_sha(f) for f in findings) if s]
        if shas and not any(s.startswith(subject["sha"].lower()) for s in shas):
            return f"whose commit is not the one the waiver names ({subject['sha']})"
    return None


def _expiry_disagreement(section: dict[str, Any], collected: Any = None) -> str | None:
    evaluated = section.get("evaluated_at")
    now = parse_time(evaluated) if isinstance(evaluated, str) else None
    if now is None:
        return None
    if isinstance(collected, str) and parse_time(collected) not in (None, now):  # ``apply_waivers``'s clock
        return f"its waivers were evaluated at {evaluated}, not when its snapshot was collected ({collected})"
    warn = section.get("warn_days")
    expiring = {entry.get("line") for entry in _entries(section, "expiring")}
    for name in (*_LIVE_LISTS, "expired"):
        for entry in _entries(section, name):
            try:
                expires = date.fromisoformat(entry["expires"])
            except (KeyError, TypeError, ValueError):
                continue
            ends = end_of_day(expires)
            live = now <= ends
            if live != (name != "expired"):
                return (f"its waivers.{name} lists the waiver of line {entry.get('line')} (expires {expires}), which "
                        f"{'had expired' if not live else 'was live'} when the section was evaluated ({evaluated})")
            if name == "expiring" and isinstance(warn, int) and ends - now > timedelta(days=warn):
                return f"its waivers.expiring lists the waiver of line {entry.get('line')}, which expires after {warn} days"
            if (name != "expired" and isinstance(warn, int) and ends - now <= timedelta(days=warn)
                    and entry.get("line") not in expiring):
                return (f"its waivers.{name} lists the waiver of line {entry.get('line')}, which expires within "
                        f"{warn} days, and its waivers.expiring does not")
            left = max(0, (expires - now.date()).days) if live else -((now.date() - expires).days)
            if "days_left" in entry and entry["days_left"] != left:
                return (f"its waivers.{name} gives the waiver of line {entry.get('line')} {entry['days_left']!r} days "
                        f"left, {left} by its expiry")
    return None


def _sha(value: Any) -> str | None:
    return value.lower() if isinstance(value, str) and value else None


def diff_disagreement(doc: dict[str, Any], findings: list[dict[str, Any]]) -> str | None:
    """The diff's buckets are ``movement``'s: each entry sits in the bucket its previous and current status
    give, no key twice, each count the length of its list, every current status one the findings hold, and
    (in a target's report) every failing or pending key of the findings in some bucket."""
    diff = doc.get("diff")
    if not isinstance(diff, dict):
        return None
    counts = diff.get("counts") if isinstance(diff.get("counts"), dict) else {}
    unknown = sorted(str(k) for k in counts if k not in BUCKETS)
    if unknown:
        return f"its diff counts a bucket {unknown[0]!r} that no diff has"
    by_key = findings_by_key(findings)
    seen: dict[tuple[Key, str | None], str] = {}
    listed: dict[Key, set[str | None]] = {}  # the SHAs entries of a key name (None: an entry naming none)
    for bucket in BUCKETS:
        entries = diff.get(bucket)
        if not isinstance(entries, list):
            if counts.get(bucket):
                return f"its diff counts {counts[bucket]} {bucket}, its diff lists none"
            continue
        if bucket in counts and counts[bucket] != len(entries):
            return f"its diff counts {counts[bucket]} {bucket}, its diff lists {len(entries)}"
        for e in entries:
            if not isinstance(e, dict):
                continue
            why = _entry_disagreement(bucket, e, by_key, seen)
            if why:
                return why
            listed.setdefault(key_of(e), set()).add(_sha(e.get("sha")) if "sha" in e else None)
    if doc.get("targets"):
        return None  # a target whose report had no previous adds findings and no diff entries
    for key, fs in by_key.items():
        for f in fs:
            if f["status"] in (FAIL, ERROR, PENDING):
                shas = listed.get(key, set())
                if None not in shas and full_sha(f) not in shas:
                    return (f"its findings hold {f['rule_id']} {f['subject']!r} as {f['status']}, "
                            "which no bucket of its diff lists")
    return None


def _entry_disagreement(bucket: str, e: dict[str, Any], by_key: dict[Key, list[dict[str, Any]]],
                        seen: dict[tuple[Key, str | None], str]) -> str | None:
    key, sha = key_of(e), _sha(e.get("sha"))
    was, now = e.get("previous"), e.get("current")
    if was not in (*STATUSES, None) or now not in (*STATUSES, None):
        return f"its diff.{bucket} entry for {key[1]} {key[3]!r} has a status that is none"
    if bucket_of(was, now) != bucket and not (bucket == "new" and now == FAIL):
        return f"its diff.{bucket} lists {key[1]} {key[3]!r} going from {was} to {now}, which is not {bucket}"
    if (key, sha) in seen:
        return f"its diff lists {key[1]} {key[3]!r} in {seen[(key, sha)]} and in {bucket}"
    seen[(key, sha)] = bucket
    held = {f["status"] for f in by_key.get(key, ()) if sha is None or full_sha(f) in (None, sha)}
    if now is None:  # gone: not judged now, so the findings must not judge it failing or pending
        if held & {FAIL, ERROR, PENDING}:
            return f"its diff.{bucket} says {key[1]} {key[3]!r} is not judged now, its findings {worst(held)}"
        return None
    if now not in held:
        return f"its diff.{bucket} says {key[1]} {key[3]!r} is {now}, its findings {worst(held) if held else 'do not hold it'}"
    return None


_FIGURES = ("deployment_frequency", "lead_time", "change_failure_rate", "time_to_restore", "series")


def metrics_disagreement(doc: dict[str, Any], findings: list[dict[str, Any]]) -> str | None:
    """The delivery figures are ``summarise`` of the section's own deploys, lead times and restores: a
    report stating a change failure rate of 0 beside two failed deploys is refused, not compared."""
    m = doc.get("metrics")
    if not isinstance(m, dict) or not all(k in m for k in ("window", "deploys", "lead_times", "restores",
                                                          "unavailable", "changes")):
        return None
    try:
        figures = summarise(m["window"], m["deploys"], m["lead_times"], m["restores"], m["unavailable"], m["changes"])
    except (KeyError, TypeError, ValueError, AttributeError):
        return "its metrics cannot be recomputed from its deploys, lead times and restores"
    for name in _FIGURES:
        if name in m and m[name] != figures[name]:
            return f"its metrics give {name} {_brief(m[name])}, its deploys, lead times and restores {_brief(figures[name])}"
    return None


def _brief(value: Any) -> str:
    text = repr({k: v for k, v in value.items() if k != "reason"} if isinstance(value, dict) else value)
    return text if len(text) <= 160 else text[:157] + "..."


__all__ = ["diff_disagreement", "metrics_disagreement", "waiver_disagreement"]
