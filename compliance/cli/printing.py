"""What the commands print: the summary of a report set, per-target lines, warnings.

Everything printed passes the console sanitizer ``cli.main`` installs; documents printed here are
the masked ones the reports were rendered from, so no secret reaches the terminal.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from compliance.base.redact import clip, redact
from compliance.base.timeutil import duration_text as duration  # not the report package: start-up
from compliance.model.causes import causes, collection_phrase, rule_counts, source_notes


def print_metrics(doc: dict[str, Any]) -> None:
    """One line of delivery figures (the reports hold the definitions and every deploy)."""
    m = doc.get("metrics")
    if not isinstance(m, dict):
        return
    f, lt, cfr, ttr = m["deployment_frequency"], m["lead_time"], m["change_failure_rate"], m["time_to_restore"]
    freq = f"{f['deploys']} deploys ({f['per_week']:g}/week)" if f["per_week"] is not None else "deploys n/a"
    rate = (f"{cfr['rate'] * 100:.1f}% ({cfr['failed']} of {cfr['deploys']})" if cfr["rate"] is not None
            else "n/a")
    print(f"  metrics  {freq}, lead time median {duration(lt['median_seconds'])} / p90 "
          f"{duration(lt['p90_seconds'])}, change failure rate {rate}, time to restore median "
          f"{duration(ttr['median_seconds'])}")


def print_summary(doc: dict[str, Any], written: dict[str, Path]) -> None:
    s = doc["summary"]
    print(f"verdict: {s['verdict'].upper()}  pass {s['pass']}  fail {s['fail']}  error {s['error']}  "
          f"waived {s['waived']}  n/a {s['not_applicable']}  pending {s.get('pending', 0)}")
    w = doc.get("waivers") or {}
    if w.get("file"):
        print(f"  waivers  {len(w['applied'])} applied, {len(w['expiring'])} expiring soon, {len(w['expired'])} "
              f"expired, {len(w['unused'])} unused, {len(w['errors_not_waived'])} not applied (error findings), "
              f"{len(w.get('pending_not_waived') or [])} not applied (pending findings)")
        for item in w["expiring"]:
            print(f"warning: waiver {w['file']}:{item['line']} ({item['rule_id']}, {item['ticket']}, "
                  f"{item['owner']}) expires {item['expires']}", file=sys.stderr)
    d = doc.get("diff")
    if d:
        c = d["counts"]
        print(f"  diff     {c['new']} new, {c['fixed']} fixed, {c['still_failing']} still failing, "
              f"{c['now_waived']} now waived, {c['gone']} gone, {c.get('new_pending', 0)} newly pending, "
              f"{c.get('still_pending', 0)} still pending, {c.get('pending_passed', 0)} pending -> pass "
              f"(vs {d['previous']['collected_at']})")
    for src in doc["sources"]:
        notes = source_notes(src)  # the cause once, its retries as a count with their waits
        err = f"  ({notes.error})" if notes.error else ""
        name = f"{src['target']}/{src['name']}" if src.get("target") else src["name"]
        print(f"  source {name:<15} {src['status']:<6} {src['requests']:>4} request(s) "
              f"{src['duration_ms']:>6} ms{err}")
        if notes.retries:
            print(f"    {notes.retry_phrase()}" + (f": {notes.retry_cause}" if notes.retry_cause else ""))
        for warning in notes.warnings:  # e.g. a shallow clone: the verdict may miss history
            print(f"    warning: {warning}")
    took = collection_phrase(doc["sources"])
    if took:
        print(f"  {took}")
    print_causes(doc)
    waiting = [f for f in doc["findings"] if f["status"] == "pending"]
    for f in waiting[:5]:  # not failures: listed after them, so they never push one off the screen
        where = f"[{f['target']}] " if f.get("target") else ""
        print(f"  PENDING {where}{f['rule_id']} {f['subject_type']} {f['subject']}: {clip(f['message'], 140)}")
    if len(waiting) > 5:
        print(f"  ... and {len(waiting) - 5} more pending in the reports")
    if written:
        print("  reports:")
    for kind, path in written.items():
        print(f"  {kind:<8} {path}")


CAUSE_LINES = 20  # causes listed before "... more in the reports"


def print_causes(doc: dict[str, Any]) -> None:
    """Per rule the counts by outcome, then failures and errors once per cause, most severe first.

    Twenty errors saying "source 'github' unavailable" are one line with their count and a few
    example subjects: the cause is what the reader acts on, and real failures stay on the screen.
    """
    rows = rule_counts(doc)
    for rule_id, c in rows:
        print(f"  rule {rule_id:<12} fail {c.get('fail', 0):<4} error {c.get('error', 0):<4} "
              f"pass {c.get('pass', 0):<4} waived {c.get('waived', 0):<4} n/a {c.get('not_applicable', 0):<4} "
              f"pending {c.get('pending', 0)}")
    found = causes(doc["findings"])
    for cause in found[:CAUSE_LINES]:
        where = f"[{', '.join(cause.targets)}] " if cause.targets else ""
        rules = ", ".join(cause.rules)
        if cause.count == 1:
            print(f"  {cause.status.upper():<5} {where}{rules} {cause.examples[0]}: {clip(cause.first, 140)}")
            continue
        more = f", +{cause.count - len(cause.examples)} more" if cause.count > len(cause.examples) else ""
        print(f"  {cause.status.upper():<5} x{cause.count} {where}{rules}: {clip(cause.message, 140)}")
        print(f"        e.g. {', '.join(cause.examples)}{more}")
    if len(found) > CAUSE_LINES:
        rest = sum(c.count for c in found[CAUSE_LINES:])
        print(f"  ... and {len(found) - CAUSE_LINES} more cause(s) ({rest} finding(s)) in the reports")


def print_notes(notes: list[str]) -> None:
    for note in notes:
        print(note, file=sys.stderr)


def print_target_line(name: str, doc: dict[str, Any], written: dict[str, Path], out: Path) -> None:
    s = doc["summary"]
    print(f"target {name}: {s['verdict'].upper()}  pass {s['pass']}  fail {s['fail']}  error {s['error']}  "
          f"waived {s['waived']}  n/a {s['not_applicable']}  pending {s.get('pending', 0)}  "
          f"({written.get('json') or out / name})")


def warn_publish(what: str, exc: Exception) -> None:
    """Publishing is a side channel: its failure is reported, it never replaces the verdict's exit code."""
    print(f"warning: could not {what}: {redact(str(exc))}", file=sys.stderr)


def print_written(written: dict[str, Path], stream: Any = None) -> None:
    for kind, path in written.items():
        print(f"  {kind:<8} {path}", file=stream or sys.stdout)


def print_changes(rows: Any, fmt: str) -> int:
    """``compliance changes`` on stdout, a table or JSON lines; returns how many rows.

    JSON lines: each row's values masked before they are encoded, and encoded ASCII-only, so every line is
    valid JSON in any terminal encoding and nothing masking the text afterwards could break an escape. Table
    rows are masked each on its own (``VisibleStream.write_rows``), a newline in a file name shown, not obeyed.
    Written 256 rows at a time: one masking and sanitising call per batch, not per row.
    """
    from compliance.base.redact_doc import redact_data

    out = sys.stdout
    write = getattr(out, "write_verbatim", out.write) if fmt == "json" else getattr(out, "write_rows", out.write)
    if fmt == "table":
        out.write(f"{'sha':<12}  {'kind':<11}  {'pr':>5}  {'committed_at':<20}  {'tasks':<24}  files\n")
    count = 0
    lines: list[str] = []
    for row in rows:
        count += 1
        if fmt == "json":
            lines.append(json.dumps(redact_data(row)) + "\n")
        else:
            hit = row["files"]
            pr = f"#{row['pr']}" if row["pr"] else "-"
            tasks = ",".join(row["task_ids"]) or "-"
            more = f" (+{len(hit) - 1})" if len(hit) > 1 else ""
            path = hit[0].replace("\r", "\\r").replace("\n", "\\n")
            lines.append(f"{row['sha'][:12]}  {row['kind']:<11}  {pr:>5}  {row['committed_at']:<20}  "
                         f"{tasks:<24}  {path}{more}\n")
        if len(lines) >= 256:
            write("".join(lines))
            lines.clear()
    write("".join(lines))
    return count
