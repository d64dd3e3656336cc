"""Does a report agree with itself? The sections a reader reads beside the findings, checked against them.

``merge`` reads a report by its findings; a reader of the file reads its summary, its ``rules``, its
``changes`` table, its ``not_evaluated`` list, its waiver section, its diff, its controls and its metrics.
Each of those is built from the findings (``report/document.py``), so in a report this tool wrote they say
what the findings say. A file whose sections state a verdict the findings do not hold (a change failing with
no failing finding of that change, an error nobody can find, a new failure that is not in the findings, a
finding of a change the table does not list, a waived failure no waiver names) holds two verdicts, and is
refused rather than merged, or compared with, under the one its findings give. Only what the sections state is
checked: a section left out (an older version's report) states nothing.

A merged report (``targets``) holds several targets' findings, each tagged with its target, so every key here
carries the target: two targets judging one commit are two rows, not one contradiction. It reads the version-1
document, as ``expand.expand_report`` gives it (passing findings without evidence), after the schema check.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from compliance.base.timeutil import parse_time
from compliance.model.findings import ERROR, FAIL, PASS, PENDING, STATUSES, WAIVED, summary_of
from compliance.report.consistency_keys import commit_of, target_of, worst
from compliance.report.consistency_sections import (
    diff_disagreement,
    metrics_disagreement,
    waiver_disagreement,
)
from compliance.report.controls_check import controls_disagreement
from compliance.report.expand import counts_disagreement

CHANGE_TYPES = ("change", "task")
RULE_FIELDS = ("title", "severity", "runbook_section")  # a finding repeats its rule's (``engine.evaluate``)


def report_disagreement(doc: dict[str, Any]) -> str | None:
    """How a report's counts or other sections differ from its findings, or None when they agree."""
    why = counts_disagreement(doc)
    if why:
        return why
    findings = [f for f in doc.get("findings") or [] if isinstance(f, dict) and f.get("status") in STATUSES
                and all(isinstance(f.get(k), str) for k in ("rule_id", "subject_type", "subject"))]
    for check in (_targets, _rules, _window, _changes, _not_evaluated, waiver_disagreement, diff_disagreement,
                  controls_disagreement, metrics_disagreement):
        why = check(doc, findings)
        if why:
            return why
    return None


_TAGGED = ("findings", "changes", "not_evaluated", "sources")  # the lists a merged report tags with targets


def _targets(doc: dict[str, Any], findings: list[dict[str, Any]]) -> str | None:
    """A target's report tags nothing; a merged one tags every entry with one of its ``targets``, named once
    each, whose counts and verdict are that target's findings'. An entry tagged with a name the list does not
    hold is a target nobody merged (read as the next run's own, its failures would look old)."""
    targets = doc.get("targets")
    tagged = [(name, e) for name in _TAGGED for e in doc.get(name) or () if isinstance(e, dict) and "target" in e]
    if not targets:
        if tagged:
            return f"it is one target's report, and its {tagged[0][0]} name a target ({tagged[0][1]['target']!r})"
        return None
    names = Counter(t.get("name") for t in targets if isinstance(t, dict))
    twice = sorted(str(n) for n, c in names.items() if c > 1)
    if twice:
        return f"its targets list {twice[0]!r} twice"
    for name in _TAGGED:
        for e in doc.get(name) or ():
            if isinstance(e, dict) and e.get("target") not in names:
                return f"its {name} name target {e.get('target')!r}, which its targets do not list"
    for t in targets:
        if not isinstance(t, dict):
            continue
        told = summary_of(f["status"] for f in findings if f.get("target") == t.get("name"))
        counts = t.get("counts") if isinstance(t.get("counts"), dict) else {}
        off = {k: v for k, v in {**counts, "verdict": t.get("verdict"), "exit_code": t.get("exit_code")}.items()
               if (k in STATUSES or k in ("verdict", "exit_code")) and v is not None and v != told[k]}
        if off:
            return f"its targets entry {t.get('name')!r} says {off}, its findings {({k: told[k] for k in off})}"
    return None


def _rules(doc: dict[str, Any], findings: list[dict[str, Any]]) -> str | None:
    """Every finding's rule is in ``rules`` (whose controls the control view is built from), and a target's
    finding repeats its rule's title, severity and runbook section: a failure marked ``low`` beside a
    ``critical`` rule would slip under ``--fail-on``. A merged report keeps one entry per rule id (the first
    target's), and two targets may judge a rule of that id with different files, so it is not compared."""
    rules = {r.get("id"): r for r in doc.get("rules") or () if isinstance(r, dict)}
    merged = bool(doc.get("targets"))
    for f in findings:
        rule = rules.get(f["rule_id"])
        if rule is None:
            return f"its findings judge rule {f['rule_id']}, which its rules do not list"
        for field in () if merged else RULE_FIELDS:
            if field in f and field in rule and f[field] != rule[field]:
                return (f"its finding of {f['rule_id']} {f['subject']!r} gives {field} {f[field]!r}, "
                        f"its rule {rule[field]!r}")
    return None


def _window(doc: dict[str, Any], findings: list[dict[str, Any]]) -> str | None:
    """The window judged runs forwards: a window whose end is before its start judged nothing it names."""
    snap = doc.get("snapshot") if isinstance(doc.get("snapshot"), dict) else {}
    window = snap.get("window") if isinstance(snap.get("window"), dict) else {}
    since, until = (parse_time(window.get(k)) if isinstance(window.get(k), str) else None for k in ("since", "until"))
    if since and until and until < since:
        return f"its window ends ({window['until']}) before it starts ({window['since']})"
    return None


def _rows(doc: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[tuple[str | None, str], str]]:
    """The change rows with verdicts, and each row's SHA by (target, short SHA) where that short is one row's."""
    rows = [c for c in doc.get("changes") or () if isinstance(c, dict) and isinstance(c.get("verdicts"), dict)
            and isinstance(c.get("sha"), str)]
    shorts: Counter[tuple[str | None, str]] = Counter()
    by_short: dict[tuple[str | None, str], str] = {}
    for c in rows:
        short = c.get("short") if isinstance(c.get("short"), str) else c["sha"][:12]
        shorts[(target_of(c), short)] += 1
        by_short[(target_of(c), short)] = c["sha"]
    return rows, {k: v for k, v in by_short.items() if shorts[k] == 1}


def _subject_short(f: dict[str, Any]) -> str | None:
    """The short SHA a change or task finding names in its subject (``short`` or ``TASK@short``); None for
    a subject that names no commit (``-``, or the deploy script a deferred rule of a pull request names)."""
    subject = f["subject"]
    short = subject.rpartition("@")[2] if f["subject_type"] == "task" else subject
    return short if _SHORT.fullmatch(short) else None


_SHORT = re.compile(r"[0-9a-f]{7,40}")
_COUNTED = (FAIL, ERROR, PENDING, WAIVED)  # what a change's verdicts and the diff are made of


def _changes(doc: dict[str, Any], findings: list[dict[str, Any]]) -> str | None:
    """A change's verdict for a rule is the worst of that rule's findings of the change: a non-pass verdict
    with no such finding, or a verdict better than the findings', is not what the findings say. A finding
    belongs to the change its commit evidence names or, without one, the change its subject names; a
    finding that is not a pass and names a change the table does not list judged a change nobody can see
    (copied from another report to make its failures read as "still failing")."""
    if not isinstance(doc.get("changes"), list):
        return None
    rows, by_short = _rows(doc)
    shas = {(target_of(c), c["sha"]) for c in rows}
    held: dict[tuple[str | None, str, str], list[str]] = {}
    for f in findings:
        t, sha = target_of(f), commit_of(f)
        short = _subject_short(f) if f["subject_type"] in CHANGE_TYPES else None
        if sha is None and short is not None:
            sha = by_short.get((t, short))
            if sha is None and f["status"] in _COUNTED:
                return (f"its finding of {f['rule_id']} {f['subject']!r} is {f['status']} for a change its "
                        "changes table does not list")
        if sha is None:
            continue
        if (t, sha) in shas:
            held.setdefault((t, sha, f["rule_id"]), []).append(f["status"])
        elif f["status"] in _COUNTED and f["subject_type"] in CHANGE_TYPES:
            return (f"its finding of {f['rule_id']} {f['subject']!r} is {f['status']} for commit {sha[:12]}, "
                    "which its changes table does not list")
    for c in rows:
        t, verdicts = target_of(c), c["verdicts"]
        for rule_id in sorted({r for tt, s, r in held if (tt, s) == (t, c["sha"])} | set(verdicts), key=str):
            said = verdicts.get(rule_id)
            told = worst(held.get((t, c["sha"], rule_id), []))
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
    said = Counter((target_of(n), str(n.get("rule_id")), str(n.get("subject"))) for n in listed if isinstance(n, dict))
    told = Counter((target_of(f), f["rule_id"], f["subject"]) for f in findings if f["status"] == "error")
    extra, missing = sorted(said - told, key=str), sorted(told - said, key=str)
    if extra:
        return f"its not_evaluated lists {extra[0][1]} {extra[0][2]!r}, which its findings do not hold as an error"
    if missing:
        return f"its findings hold an error for {missing[0][1]} {missing[0][2]!r} that its not_evaluated does not list"
    return None


__all__ = ["CHANGE_TYPES", "report_disagreement"]
