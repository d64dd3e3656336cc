"""The Markdown report's sections around the findings: header, targets, footer, diff, waivers, passes.

Also ``_Section``, the unit the length budget drops items from. The findings and the per-change table
stay in ``markdown`` with the budget that fits them into one comment.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from compliance.model.causes import causes, collection_phrase, source_notes
from compliance.model.findings import counts_phrase
from compliance.report.markdown_text import MAX_CHARS, VERDICT_HEAD, code, text


def _header(doc: dict[str, Any]) -> list[str]:
    summary = doc.get("summary", {})
    snap = doc.get("snapshot", {})
    window = snap.get("window", {})
    target = snap.get("target", {})
    lines = [
        f"## {VERDICT_HEAD.get(summary.get('verdict'), '❔ Compliance: ' + text(summary.get('verdict'), 40))}",
        "",
        f"**{counts_phrase(summary)}** · exit code {text(summary.get('exit_code'), 10)} · "
        f"mode {code(doc.get('mode'), 20)}",
        "",
    ]
    where = [f"**{text(target.get('name'), 100)}**"] if target.get("name") else []
    for key in ("github_repo", "function", "region", "workflow"):
        if target.get(key):
            where.append(f"{key.replace('_', ' ')} {code(target[key], 200)}")
    where.append(
        f"window {text(window.get('since'), 40)} → {text(window.get('until'), 40)} "
        f"on {code(window.get('branch'), 200)}"
    )
    lines += ["Target " + " · ".join(where), ""]
    lines += _causes(doc)
    lines += _targets(doc)
    lines += [
        "### Sources",
        "",
        "| Source | Status | Requests | ms | Error / warnings |",
        "| --- | --- | ---: | ---: | --- |",
    ]
    for src in doc.get("sources", []):
        folded = source_notes(src)  # the cause once; one warning per retry becomes a count with the waits
        notes = [text(folded.error, 380)] if folded.error else []
        if folded.retries:
            notes.append(text(folded.retry_phrase() + (f": {folded.retry_cause}" if folded.retry_cause else ""), 380))
        # a warning qualifies every verdict built on the source (a shallow clone hides history)
        warnings = folded.warnings
        notes += [f"⚠ warning: {text(w, 300)}" for w in warnings[:5]]
        if len(warnings) > 5:
            notes.append(f"… and {len(warnings) - 5} more warning(s) in report.json")
        err_text = " · ".join(notes)
        status = "✓ ok" if src.get("status") == "ok" else f"✗ {text(src.get('status'), 20)}"
        lines.append(
            f"| {_in_target(src)}{text(src.get('name'), 60)} | {status} | {text(src.get('requests'), 12)} "
            f"| {text(src.get('duration_ms'), 12)} | {err_text} |"
        )
    lines.append("")
    took = collection_phrase(doc.get("sources", []))
    if took:
        lines += [text(took[0].upper() + took[1:], 300) + ".", ""]
    return lines


CAUSE_ROWS = 10  # causes on the first screen; every finding is listed below them


def _causes(doc: dict[str, Any]) -> list[str]:
    """Failures and errors once per cause, most severe first: twenty "source unavailable" errors are one row.

    Part of the header, so it is never cut; bounded (rows and cell lengths) so it cannot crowd out
    the findings below, which still list every finding the budget allows.
    """
    found = causes(doc.get("findings") or [])
    if not found:
        return []
    lines = ["### By cause", "", "| Outcome | Findings | Severity | Rules | Cause | For example |",
             "| --- | ---: | --- | --- | --- | --- |"]
    for cause in found[:CAUSE_ROWS]:
        mark = "✗ fail" if cause.status == "fail" else "⚠ error"
        where = f"{text(', '.join(cause.targets), 100)} · " if cause.targets else ""
        examples = ", ".join(text(e, 80) for e in cause.examples)
        more = f" and {cause.count - len(cause.examples)} more" if cause.count > len(cause.examples) else ""
        message = cause.first if cause.count == 1 else cause.message
        lines.append(f"| {mark} | {cause.count} | {text(cause.severity, 20)} | {where}{text(', '.join(cause.rules), 200)} "
                     f"| {text(message, 300)} | {examples}{more} |")
    if len(found) > CAUSE_ROWS:
        rest = sum(c.count for c in found[CAUSE_ROWS:])
        lines.append(f"| | {rest} | | | {len(found) - CAUSE_ROWS} more cause(s), listed under the findings | |")
    return [*lines, ""]


def _in_target(item: dict[str, Any]) -> str:
    """In a merged report every entry names its target; elsewhere this adds nothing."""
    return f"{text(item['target'], 100)} · " if item.get("target") else ""


def _targets(doc: dict[str, Any]) -> list[str]:
    targets = doc.get("targets") or []
    if not targets:
        return []
    lines = [
        f"### Targets ({len(targets)})",
        "",
        "| Target | Verdict | Failed | Errors | Pending | Passed | Waived | N/A | Report |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for t in targets:
        c = t.get("counts", {})
        verdict = VERDICT_HEAD.get(t.get("verdict"), "").split(" ", 1)[0]
        lines.append(
            f"| {text(t.get('name'), 100)} | {verdict} {text(t.get('verdict'), 20)} | {c.get('fail', 0)} "
            f"| {c.get('error', 0)} | {c.get('pending', 0)} | {c.get('pass', 0)} | {c.get('waived', 0)} | {c.get('not_applicable', 0)} "
            f"| {code(t.get('path'), 200, in_table=True)} |"
        )
    return [*lines, ""]


def _footer(doc: dict[str, Any]) -> list[str]:
    snap = doc.get("snapshot", {})
    window = snap.get("window", {})
    tool = doc.get("tool", {})
    lines = [
        "---",
        "",
        f"Snapshot {code(snap.get('digest'), 80)} collected {text(snap.get('collected_at'), 40)} · "
        f"window {text(window.get('since'), 40)} → {text(window.get('until'), 40)} "
        f"on {code(window.get('branch'), 200)} · {text(tool.get('name'), 40)} {text(tool.get('version'), 40)}",
        "",
    ]
    rules = snap.get("rules", {})
    if rules:
        lines.append("Rules: " + " · ".join(f"{code(path, 200)} {code(d, 80)}" for path, d in rules.items()))
        lines.append("")
    return lines


class _Section:
    """A heading plus items that may be dropped from the end when the comment would be too long.

    A section never shows more than the whole comment can hold, so once its items exceed that
    the builders stop rendering them and only count them (``full``, ``skip``): a report of 40,000
    changes costs what the comment shows, not what it leaves out.
    """

    def __init__(self, name: str, heading: list[str], counted: str | None = None):
        self.name = name
        self.heading = heading
        self.counted = counted  # which kind of item is worth reporting when omitted
        self.items: list[tuple[str, bool]] = []  # (markdown, counts towards the omission note)
        self.size = 0  # code points so far; GitHub's UTF-16 count is never smaller
        self.skipped = 0  # counted items not rendered because the section was already full

    @property
    def full(self) -> bool:
        return self.size > MAX_CHARS

    def add(self, block: str | Iterable[str], counted: bool = False) -> None:
        text_ = block if isinstance(block, str) else "\n".join(block)
        self.items.append((text_, counted))
        self.size += len(text_) + 1

    def skip(self) -> None:
        self.skipped += 1


def _passes(doc: dict[str, Any]) -> _Section | None:
    rows = [
        r
        for r in doc.get("rules", [])
        if any(r.get("counts", {}).get(k) for k in ("pass", "waived", "not_applicable"))
    ]
    if not rows:
        return None
    section = _Section(
        "passes",
        [
            "### Passing",
            "",
            "| Rule | Title | Passed | Waived | Not applicable |",
            "| --- | --- | ---: | ---: | ---: |",
        ],
        "rules",
    )
    for rule in rows:
        c = rule.get("counts", {})
        section.add(
            f"| {text(rule.get('id'), 80)} | {text(rule.get('title'), 200)} | {c.get('pass', 0)} "
            f"| {c.get('waived', 0)} | {c.get('not_applicable', 0)} |",
            counted=True,
        )
    section.add("")
    return section


def _not_evaluated(doc: dict[str, Any]) -> _Section | None:
    items = doc.get("not_evaluated", [])
    if not items:
        return None
    section = _Section("not_evaluated", [f"### Not evaluated ({len(items)})", ""], "not-evaluated entries")
    for item in items:
        if section.full:
            section.skip()
            continue
        section.add(
            f"- ⚠ {text(item.get('rule_id'), 80)} · {code(item.get('subject'), 300)} · {text(item.get('reason'), 500)}",
            counted=True,
        )
    section.add("")
    return section


_DIFF_PARTS = (("new", "New failures"), ("fixed", "Fixed"), ("still_failing", "Still failing"),
               ("now_waived", "Now waived"), ("gone", "No longer judged (left the window)"),
               ("new_pending", "Newly pending"), ("still_pending", "Still pending"),
               ("pending_passed", "Pending → passed"))


def _diff(doc: dict[str, Any]) -> _Section | None:
    diff = doc.get("diff")
    if not diff:
        return None
    prev = diff.get("previous") or {}
    c = diff.get("counts", {})
    section = _Section(
        "diff",
        [
            "### Since the previous audit",
            "",
            f"Compared with the report collected {text(prev.get('collected_at'), 40)} "
            f"(snapshot {code(prev.get('digest'), 80)}): **{c.get('new', 0)} new** · {c.get('fixed', 0)} fixed · "
            f"{c.get('still_failing', 0)} still failing · {c.get('now_waived', 0)} now waived · "
            f"{c.get('gone', 0)} no longer judged · {c.get('new_pending', 0)} newly pending · "
            f"{c.get('still_pending', 0)} still pending · {c.get('pending_passed', 0)} pending → passed "
            "(pending → failed counts as new)",
            "",
        ],
        "diff entries",
    )
    for key, label in _DIFF_PARTS:
        entries = diff.get(key) or []
        if not entries:
            continue
        section.add(f"**{label} ({len(entries)})**")
        section.add("")
        for e in entries:
            if section.full:
                section.skip()
                continue
            change = f"{text(e.get('previous') or 'absent', 20)} → {text(e.get('current') or 'absent', 20)}"
            section.add(f"- {text(e.get('rule_id'), 80)} · {text(e.get('subject_type'), 40)} "
                        f"{code(e.get('subject'), 120)} · {change} · {text(e.get('message'), 160)}", counted=True)
        section.add("")
    return section


_WAIVER_PARTS = (("applied", "Applied"), ("expiring", "Expiring soon"), ("expired", "Expired (no longer applied)"),
                 ("errors_not_waived", "Not applied: matched only findings that could not be evaluated"),
                 ("pending_not_waived", "Not applied: matched only pending findings (applies if they fail)"),
                 ("unused", "Unused (matched no failing finding)"))


_WAIVER_SHORT = {"applied": "applied", "expiring": "expiring soon", "expired": "expired",
                 "errors_not_waived": "not applied (errors)", "pending_not_waived": "not applied (pending)",
                 "unused": "unused"}


def _waiver_line(w: dict[str, Any]) -> str:
    (kind, value), = (w.get("subject") or {"?": "?"}).items()
    left = w.get("days_left", 0)
    when = f"expires {text(w.get('expires'), 20)}" + (f" ({left} day(s) left)" if left >= 0 else
                                                     f" ({-left} day(s) ago)")
    hits = ", ".join(code(f.get("subject"), 80) for f in w.get("findings", [])[:5])
    more = f" · findings {hits}" if hits else ""
    if w.get("note"):
        more += f" · **not applied to some**: {text(w['note'], 300)}"
    return (f"- {text(w.get('rule_id'), 80)} · {text(kind, 20)} {code(value, 120)} · owner "
            f"{text(w.get('owner'), 80)} · {text(w.get('ticket'), 60)} · {when} · {text(w.get('reason'), 200)}"
            f"{more} (line {text(w.get('line'), 10)})")


def _waivers(doc: dict[str, Any]) -> _Section | None:
    waivers = doc.get("waivers")
    if waivers is None:
        return None
    section = _Section("waivers", ["### Waivers", ""], "waivers")
    if not waivers.get("file"):
        section.add("No waiver file was given. Findings that could not be evaluated, or are pending, are never "
                    "waivable.")
        section.add("")
        return section
    counts = " · ".join(f"{len(waivers.get(k) or [])} {_WAIVER_SHORT.get(k, k)}" for k, _ in _WAIVER_PARTS)
    section.add(f"From {code(waivers.get('file'), 200)} at {text(waivers.get('evaluated_at'), 40)} "
                f"(max span {text(waivers.get('max_days'), 6)} days, warning {text(waivers.get('warn_days'), 6)} "
                f"days before expiry): {counts}. Findings that could not be evaluated, or are pending, are never waived.")
    section.add("")
    for key, label in _WAIVER_PARTS:
        items = waivers.get(key) or []
        if not items:
            continue
        section.add(f"**{label} ({len(items)})**")
        section.add("")
        for w in items:
            if section.full:
                section.skip()
            else:
                section.add(_waiver_line(w), counted=True)
        section.add("")
    return section
