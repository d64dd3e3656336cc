"""What the commands print: the summary of a report set, per-target lines, warnings.

Everything printed passes the console sanitizer ``cli.main`` installs; documents printed here are
the masked ones the reports were rendered from, so no secret reaches the terminal.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from compliance.base.redact import clip, redact


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
        err = f"  ({src['error']['type']}: {src['error']['message']})" if src["error"] else ""
        name = f"{src['target']}/{src['name']}" if src.get("target") else src["name"]
        print(f"  source {name:<15} {src['status']:<6} {src['requests']:>4} request(s) "
              f"{src['duration_ms']:>6} ms{err}")
        for warning in src.get("warnings") or []:  # e.g. a shallow clone: the verdict may miss history
            print(f"    warning: {warning}")
    bad = [f for f in doc["findings"] if f["status"] in ("fail", "error")]
    for f in bad[:20]:
        where = f"[{f['target']}] " if f.get("target") else ""
        print(f"  {f['status'].upper():<5} {where}{f['rule_id']} {f['subject_type']} {f['subject']}: "
              f"{clip(f['message'], 140)}")
    if len(bad) > 20:
        print(f"  ... and {len(bad) - 20} more in the reports")
    waiting = [f for f in doc["findings"] if f["status"] == "pending"]
    for f in waiting[:5]:  # not failures: listed after them, so they never push one off the screen
        where = f"[{f['target']}] " if f.get("target") else ""
        print(f"  PENDING {where}{f['rule_id']} {f['subject_type']} {f['subject']}: {clip(f['message'], 140)}")
    if len(waiting) > 5:
        print(f"  ... and {len(waiting) - 5} more pending in the reports")
    for kind, path in written.items():
        print(f"  {kind:<8} {path}")



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
