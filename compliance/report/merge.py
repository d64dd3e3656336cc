"""One report for many targets, from the per-target report documents.

The same function builds the merged report of a multi-target ``compliance audit`` and of
``compliance merge`` (the reports of a CI matrix, one job per target), so both give the same
shape. The merge reads the per-target documents as data and never re-judges anything: each
target was judged by its own snapshot, and its report stays the authority on it.

The output is a pure function of the inputs (sorted by target name, no clock read), so the same
reports merge to byte-identical JSON wherever the merge runs.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

from compliance import __version__
from compliance.base.errors import EXIT_OK, InputError, Located
from compliance.base.fsutil import staged_set
from compliance.base.timeutil import parse_time
from compliance.judge.metrics_stats import summarise
from compliance.judge.waivers import empty_section
from compliance.model.controls import control_key
from compliance.model.findings import STATUSES, summary_of
from compliance.model.snapshot import (
    canonical_json,
    digest_text,
    load_schema,
    schema_problems,
)
from compliance.model.strict_json import strict_loads
from compliance.model.value_checks import time_problems
from compliance.report import _name, _retired, write_masked
from compliance.report.consistency import report_disagreement
from compliance.report.controls import control_view
from compliance.report.diff import BUCKETS
from compliance.report.expand import CompactError, expand_report

# sarif and junit key results by rule and subject; the target keeps two targets' results apart
SUBJECT_PREFIXED = ("sarif", "junit")


def load_report(path: str | Path) -> dict[str, Any]:
    """A per-target report.json, or ``InputError`` saying why the file is not one."""
    p = Path(path)

    def bad(message: str, line: int = 1, col: int = 1) -> InputError:
        return InputError([Located(str(p), line, col, message)], what="report")

    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise bad(f"cannot read report: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise bad("not a compliance report: the file is not UTF-8") from None
    try:
        doc = strict_loads(text, str(p), "report")
    except InputError as exc:  # invalid JSON, nested too deeply, NaN
        raise InputError([Located(x.path, x.line, x.col, f"not a compliance report: {x.message}")
                          for x in exc.problems], what="report") from None
    if not isinstance(doc, dict) or "report_version" not in doc or "findings" not in doc:
        raise bad("not a compliance report.json (no report_version and findings); "
                  "pass the report.json each target's audit wrote")
    try:
        doc = expand_report(doc)  # version 2 (compact) or 1: validated and merged as version 1
    except CompactError as exc:
        raise bad(f"not a valid compliance report: {exc}") from None
    problems = schema_problems(doc, load_schema("report"), str(p), limit=10)
    if problems:
        raise InputError([Located(x.path, x.line, x.col, f"not a valid compliance report: {x.message}")
                          for x in problems], what="report")
    if doc.get("targets"):
        raise bad("this is already a merged report; merge the per-target report.json files instead")
    why = report_disagreement(doc)  # its summary, counts, changes, not_evaluated, waivers, diff: what its findings say
    if why:
        raise bad(f"not a valid compliance report: {why}")
    problems = time_problems(doc, str(p))  # schema-valid but impossible (2026-02-30T10:00:00Z)
    if problems:
        raise InputError(problems, what="report")
    return doc


def report_target_name(doc: dict[str, Any], path: str | Path) -> str:
    """The configured target name; an unnamed target is known by its report folder (reports/<name>/).

    The folder as the path names it, links not followed: ``report.json`` is a link into the folder's
    current set (``.current`` -> ``.set-<pid>-<random>/``), whose name is the run's, not the target's."""
    name = (doc.get("snapshot", {}).get("target") or {}).get("name")
    return str(name) if name else Path(os.path.abspath(path)).parent.name or "default"


def _worst(codes: list[int]) -> int:
    return max(codes, default=EXIT_OK)


def _tagged(items: list[dict[str, Any]] | None, name: str) -> list[dict[str, Any]]:
    return [{**item, "target": name} for item in items or []]


def _time_key(value: str | None) -> Any:
    return parse_time(value) if value else None


def merge_reports(parts: list[tuple[str, dict[str, Any], str]]) -> dict[str, Any]:
    """``parts``: (target name, its report document, its report.json path relative to the merged one)."""
    names = [name for name, _, _ in parts]
    dupes = sorted(n for n, c in Counter(names).items() if c > 1)
    if dupes:
        raise ValueError(f"target(s) given twice: {', '.join(dupes)}")
    parts = sorted(parts, key=lambda p: p[0])
    if not parts:
        raise ValueError("nothing to merge")
    docs = [doc for _, doc, _ in parts]

    findings: list[dict[str, Any]] = []
    for name, doc, _ in parts:
        findings += _tagged(doc["findings"], name)
    findings.sort(key=lambda f: (f["rule_id"], f["target"], f["subject_type"], f["subject"], f.get("check", ""),
                                 f["status"], f["message"]))
    summary = summary_of(f["status"] for f in findings)  # counted from the findings: the merge judges nothing anew

    modes = {doc["mode"] for doc in docs}
    snaps = [doc["snapshot"] for doc in docs]
    windows = [s["window"] for s in snaps]
    branches = sorted({w["branch"] for w in windows})
    rules_digests: dict[str, str] = {}
    for name, doc, _ in parts:
        for path, digest in doc["snapshot"]["rules"].items():
            # the same rule file judged in two versions is worth seeing, not hiding under one key
            key = path if rules_digests.get(path, digest) == digest else f"{path} ({name})"
            rules_digests[key] = digest

    return {
        "report_version": 1,
        "tool": {"name": "compliance", "version": __version__},
        "mode": modes.pop() if len(modes) == 1 else "merge",
        "snapshot": {
            "digest": digest_text(canonical_json([[name, doc["snapshot"]["digest"]] for name, doc, _ in parts])),
            "collected_at": max((s["collected_at"] for s in snaps), key=_time_key),
            "window": {
                "since": min((w["since"] for w in windows), key=_time_key),
                "until": max((w["until"] for w in windows), key=_time_key),
                "branch": ", ".join(branches),
            },
            "target": {"name": f"{len(parts)} targets: {', '.join(n for n, _, _ in parts)}"},
            "rules": dict(sorted(rules_digests.items())),
        },
        "summary": summary,
        "sources": [src for name, doc, _ in parts for src in _tagged(doc["sources"], name)],
        "rules": (merged_rules := _rules(docs)),
        "controls": control_view(merged_rules, findings, {(name, r["id"]): list(r.get("controls") or ())
                                                          for name, doc, _ in parts for r in doc["rules"]}),
        "findings": findings,
        "targets": [_target_entry(name, doc, path) for name, doc, path in parts],
        "changes": [c for name, doc, _ in parts for c in _tagged(doc["changes"], name)],
        "metrics": _metrics(parts),
        "not_evaluated": [n for name, doc, _ in parts for n in _tagged(doc["not_evaluated"], name)],
        "waivers": _waivers(parts),
        "diff": _diff(parts),
    }


def _target_entry(name: str, doc: dict[str, Any], path: str) -> dict[str, Any]:
    summary = summary_of(f["status"] for f in doc["findings"])
    return {"name": name, "verdict": summary["verdict"], "exit_code": summary["exit_code"],
            "counts": {s: summary[s] for s in STATUSES},
            "path": path, "collected_at": doc["snapshot"]["collected_at"]}


def _rules(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every rule once, counts summed; the remediation shown is the first target's (findings carry their own)."""
    merged: dict[str, dict[str, Any]] = {}
    for doc in docs:
        for rule in doc["rules"]:
            have = merged.get(rule["id"])
            if have is None:
                merged[rule["id"]] = {**rule, "counts": dict(rule["counts"])}
            else:
                have["counts"] = {s: have["counts"].get(s, 0) + rule["counts"].get(s, 0) for s in STATUSES}
                # a rule of this id mapped differently in another target's file: every control any of them
                # names (the control view then counts each finding under its own target's mapping)
                extra = [c for c in rule.get("controls") or () if c not in (have.get("controls") or ())]
                if extra:
                    have["controls"] = sorted([*(have.get("controls") or ()), *extra], key=control_key)
    return list(merged.values())


_WAIVER_LISTS = ("applied", "expiring", "expired", "unused", "errors_not_waived", "pending_not_waived")


def _waivers(parts: list[tuple[str, dict[str, Any], str]]) -> dict[str, Any]:
    sections = [(name, doc.get("waivers")) for name, doc, _ in parts if doc.get("waivers")]
    if not sections:
        return empty_section()
    files = sorted({s["file"] for _, s in sections if s.get("file")})
    evaluated = [s["evaluated_at"] for _, s in sections if s.get("evaluated_at")]
    first = sections[0][1]
    out: dict[str, Any] = {
        "file": ", ".join(files) if files else None,
        "evaluated_at": max(evaluated, key=_time_key) if evaluated else None,
        "max_days": first["max_days"],
        "warn_days": first["warn_days"],
    }
    for key in _WAIVER_LISTS:
        out[key] = [w for name, s in sections for w in _tagged(s.get(key), name)]
    return out




def _diff(parts: list[tuple[str, dict[str, Any], str]]) -> dict[str, Any] | None:
    diffs = [(name, doc["diff"]) for name, doc, _ in parts if doc.get("diff")]
    if not diffs:
        return None
    previous = [d["previous"] for _, d in diffs]
    same = all(p == previous[0] for p in previous)
    counts: Counter[str] = Counter({key: 0 for key in BUCKETS})
    for _, d in diffs:
        counts.update(d["counts"])
    out: dict[str, Any] = {
        "previous": previous[0] if same else {
            "digest": None,
            "collected_at": min((p["collected_at"] for p in previous if p.get("collected_at")), key=_time_key,
                                default=None),
            "window": None,
        },
        "counts": dict(sorted(counts.items())),
    }
    for key in BUCKETS:
        out[key] = [e for name, d in diffs for e in _tagged(d.get(key), name)]
    trends = [(name, d["metrics"]) for name, d in diffs if isinstance(d.get("metrics"), dict)]
    if trends:  # each target against its own previous figures
        out["metrics"] = {"previous_has_metrics": any(t["previous_has_metrics"] for _, t in trends),
                          "deltas": [e for name, t in trends for e in _tagged(t["deltas"], name)]}
    return out


_FIGURES = ("deployment_frequency", "lead_time", "change_failure_rate", "time_to_restore")


def _metrics(parts: list[tuple[str, dict[str, Any], str]]) -> dict[str, Any]:
    """The targets' delivery figures recomputed from the union of their deploys, lead times and
    restores (a median of medians is no median), and each target's own figures in ``by_target``.
    A target whose report has no metrics (an older version's) makes every merged figure unknown."""
    have = [(name, doc["metrics"]) for name, doc, _ in parts if isinstance(doc.get("metrics"), dict)]
    missing = [name for name, doc, _ in parts if not isinstance(doc.get("metrics"), dict)]
    windows = [m["window"] for _, m in have if m["window"].get("since") and m["window"].get("until")]
    window = {"since": min((w["since"] for w in windows), key=_time_key, default=None),
              "until": max((w["until"] for w in windows), key=_time_key, default=None)}
    unavailable: dict[str, str | None] = {}
    for key in sorted({k for _, m in have for k in m["unavailable"]} | {"runs", "validation"}):
        why = [f"{name}: {m['unavailable'][key]}" for name, m in have if m["unavailable"].get(key)]
        if key == "runs" and missing:
            why.append(f"{', '.join(missing)}: the report has no delivery metrics")
        unavailable[key] = "; ".join(why) or None
    deploys = sorted(_merged_list(have, "deploys"), key=lambda d: (_time_key(d["completed_at"]), d["target"],
                                                                     str(d["run_id"])))
    lead = _merged_list(have, "lead_times")
    restores = _merged_list(have, "restores")
    counts: Counter[str] = Counter()
    for _, m in have:
        counts.update(m["changes"])
    figures = summarise(window, deploys, lead, restores, unavailable, dict(counts))
    return {"window": window, "deploys": deploys, "lead_times": lead, "restores": restores,
            "unavailable": unavailable, "changes": dict(sorted(counts.items())), **figures,
            "by_target": [{"target": name, "window": m["window"], **{k: m[k] for k in _FIGURES}} for name, m in have]}


def _merged_list(have: list[tuple[str, dict[str, Any]]], key: str) -> list[dict[str, Any]]:
    return [item for name, m in have for item in _tagged(m.get(key), name)]


def relative_path(path: str | Path, out_dir: str | Path) -> str:
    """Where a target's report is, seen from the merged report (a link that survives moving both)."""
    # the folder resolved, not the file: report.json is a link into the folder's current set
    where = Path(path).parent.resolve() / Path(path).name
    return Path(os.path.relpath(where, Path(out_dir).resolve())).as_posix()


def write_merged(doc: dict[str, Any], out_dir: str | Path, formats: tuple[str, ...]) -> dict[str, Path]:
    """Write the merged report, one set; SARIF and JUnit name each subject with its target, as they key on subjects."""
    plain = tuple(f for f in formats if f not in SUBJECT_PREFIXED)
    prefixed = tuple(f for f in formats if f in SUBJECT_PREFIXED)
    with staged_set(Path(out_dir), [_name("report", f) for f in formats]) as staged:
        written = write_masked(doc, out_dir, plain, staged=staged)[1] if plain else {}
        if prefixed:
            view = {**doc, "findings": [{**f, "subject": f"{f['target']}: {f['subject']}"} for f in doc["findings"]]}
            written.update(write_masked(view, out_dir, prefixed, staged=staged)[1])
        staged.retire = _retired("report")
    return written
