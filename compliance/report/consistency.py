"""Does a report agree with itself? The sections a reader reads beside the findings, checked against them.

``merge`` reads a report by its findings; a reader of the file reads its summary, its ``changes`` table,
its ``not_evaluated`` list, its waiver section, its diff and its controls. Each of those is built from the
findings (``report/document.py``), so in a report this tool wrote they say what the findings say. A file
whose sections state a verdict the findings do not hold (a change failing with no failing finding of that
change, an error nobody can find, a new failure that is not in the findings) holds two verdicts, and is
refused rather than merged under the one its findings give. Only what the sections state is checked: a
section left out (an older version's report) states nothing.

It reads the version-1 document, as ``expand.expand_report`` gives it (passing findings without evidence).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from compliance.model.findings import ERROR, FAIL, PASS, PENDING, STATUS_RANK, STATUSES, WAIVED, summary_of
from compliance.report.expand import counts_disagreement

Key = tuple[str, str, str]

# what a waiver section's list says of the findings it names
_WAIVER_STATUSES = {
    "applied": (WAIVED,),
    "expiring": (WAIVED,),
    "errors_not_waived": (ERROR,),
    "pending_not_waived": (PENDING,),
    "expired": (FAIL, ERROR),
}


def report_disagreement(doc: dict[str, Any]) -> str | None:
    """How a report's counts or other sections differ from its findings, or None when they agree."""
    why = counts_disagreement(doc)
    if why:
        return why
    findings = [f for f in doc.get("findings") or [] if isinstance(f, dict) and f.get("status") in STATUSES]
    for check in (_changes, _not_evaluated, _waivers, _diff, _controls):
        why = check(doc, findings)
        if why:
            return why
    return None


def _key(item: dict[str, Any]) -> Key:
    return (str(item.get("rule_id")), str(item.get("subject_type")), str(item.get("subject")))


def _statuses(findings: list[dict[str, Any]]) -> dict[Key, set[str]]:
    out: dict[Key, set[str]] = {}
    for f in findings:
        out.setdefault(_key(f), set()).add(f["status"])
    return out


def _worst(statuses: set[str] | list[str]) -> str:
    return max(statuses, key=lambda s: STATUS_RANK[s], default=PASS)


def _commit_of(f: dict[str, Any]) -> str | None:
    """The SHA of the finding's first commit evidence: the change whose verdict it counts in (``judge/timeline``)."""
    for e in f.get("evidence") or ():
        if isinstance(e, dict) and e.get("kind") == "commit":
            return e.get("sha")
    return None


def _changes(doc: dict[str, Any], findings: list[dict[str, Any]]) -> str | None:
    """A change's verdict for a rule is the worst of that rule's findings of the change: a non-pass verdict
    with no such finding, or a verdict better than the findings', is not what the findings say."""
    rows = [c for c in doc.get("changes") or () if isinstance(c, dict) and isinstance(c.get("verdicts"), dict)]
    shas = {c.get("sha") for c in rows}
    held: dict[tuple[str, str], list[str]] = {}
    for f in findings:
        sha = _commit_of(f)
        if sha in shas:
            held.setdefault((sha, f["rule_id"]), []).append(f["status"])
    for c in rows:
        verdicts = c["verdicts"]
        for rule_id in sorted({r for s, r in held if s == c["sha"]} | set(verdicts)):
            said = verdicts.get(rule_id)
            told = _worst(held.get((c["sha"], rule_id), []))
            if said is None and told == PASS:
                continue
            if said != told:
                return (f"its changes table says {rule_id} is {said or 'not judged'} for change {c.get('short')}, "
                        f"its findings {told}")
    return None


def _not_evaluated(doc: dict[str, Any], findings: list[dict[str, Any]]) -> str | None:
    """``not_evaluated`` lists the findings that are errors, each once."""
    listed = doc.get("not_evaluated")
    if not isinstance(listed, list):
        return None
    said = Counter((str(n.get("rule_id")), str(n.get("subject"))) for n in listed if isinstance(n, dict))
    told = Counter((f["rule_id"], f["subject"]) for f in findings if f["status"] == ERROR)
    extra, missing = sorted(said - told), sorted(told - said)
    if extra:
        return f"its not_evaluated lists {extra[0][0]} {extra[0][1]!r}, which its findings do not hold as an error"
    if missing:
        return f"its findings hold an error for {missing[0][0]} {missing[0][1]!r} that its not_evaluated does not list"
    return None


def _waivers(doc: dict[str, Any], findings: list[dict[str, Any]]) -> str | None:
    section = doc.get("waivers")
    if not isinstance(section, dict):
        return None
    held = _statuses(findings)
    for name, allowed in _WAIVER_STATUSES.items():
        for entry in section.get(name) or ():
            for ref in (entry.get("findings") or ()) if isinstance(entry, dict) else ():
                if not isinstance(ref, dict):
                    continue
                if not held.get(_key(ref), set()) & set(allowed):
                    return (f"its waivers.{name} names {ref.get('rule_id')} {ref.get('subject')!r} as "
                            f"{' or '.join(allowed)}, its findings {sorted(held.get(_key(ref), ())) or 'hold no such subject'}")
    return None


def _diff(doc: dict[str, Any], findings: list[dict[str, Any]]) -> str | None:
    """Each diff entry's ``current`` is a status its key has in the findings (the key's ``sha``, where the entry
    names one, is the commit the finding judged; a pass read back keeps no evidence, so it matches any), and
    each bucket's count the length of its list. ``gone`` (``current`` None) states nothing of the findings."""
    diff = doc.get("diff")
    if not isinstance(diff, dict):
        return None
    by_key: dict[Key, list[dict[str, Any]]] = {}
    for f in findings:
        by_key.setdefault(_key(f), []).append(f)
    counts = diff.get("counts") if isinstance(diff.get("counts"), dict) else {}
    for bucket, entries in diff.items():
        if bucket in ("previous", "counts", "metrics") or not isinstance(entries, list):
            continue
        if bucket in counts and counts[bucket] != len(entries):
            return f"its diff counts {counts[bucket]} {bucket}, its diff lists {len(entries)}"
        for e in entries:
            if not isinstance(e, dict) or e.get("current") is None:
                continue
            sha = e.get("sha")
            held = {f["status"] for f in by_key.get(_key(e), ())
                    if not isinstance(sha, str) or _commit_of(f) in (None, sha) or
                    str(_commit_of(f)).lower() == sha.lower()}
            if e["current"] not in held:
                return (f"its diff.{bucket} says {e.get('rule_id')} {e.get('subject')!r} is {e['current']}, "
                        f"its findings {_worst(held) if held else 'do not hold it'}")
    return None


def _controls(doc: dict[str, Any], findings: list[dict[str, Any]]) -> str | None:
    """A control's failing subjects are findings of that status; its counts and verdict are its rules' findings."""
    held = _statuses(findings)
    for control in doc.get("controls") or ():
        if not isinstance(control, dict):
            continue
        name = control.get("control")
        for item in control.get("failing") or ():
            if isinstance(item, dict) and item.get("status") not in held.get(_key(item), set()):
                return (f"its control {name} lists {item.get('rule_id')} {item.get('subject')!r} as "
                        f"{item.get('status')}, its findings {sorted(held.get(_key(item), ())) or 'hold no such subject'}")
        ids = {r.get("id") for r in control.get("rules") or () if isinstance(r, dict)}
        told = summary_of(f["status"] for f in findings if f["rule_id"] in ids)
        counts = control.get("counts") if isinstance(control.get("counts"), dict) else {}
        off = {k: v for k, v in counts.items() if k in STATUSES and v != told[k]}
        if off:
            return f"its control {name} counts {off}, its findings {({k: told[k] for k in off})}"
        verdict = control.get("verdict")
        if verdict in (FAIL, ERROR, PENDING) and verdict != told["verdict"]:
            return f"its control {name} says {verdict}, its findings {told['verdict']}"
    return None


__all__ = ["report_disagreement"]
