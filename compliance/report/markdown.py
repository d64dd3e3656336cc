"""Markdown report for PR comments and GitHub job summaries.

Commit subjects, branch names, worklog text and source errors come from people and systems we
do not control, and GitHub renders Markdown with links, images, raw HTML and @mentions that
notify. Everything that is not our own scaffolding goes through ``text``/``code`` so it reads
as inert characters, and only http(s) URLs ever become links.

GitHub refuses comments over 65,536 characters, so an oversized report drops per-finding detail
first, then trailing items, and always keeps the summary and says what was left out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from compliance.base.console import INVISIBLE_RE as _INVISIBLE
from compliance.base.redact import strip_hidden
from compliance.base.urls import safe_url
from compliance.model.findings import VERDICTS, counts_phrase, verdict_text

MAX_CHARS = 65_536
STAGES = (("merge", "merge"), ("workflow_run", "run"), ("lambda_update", "Lambda"), ("worklog", "worklog"))
STATE_MARK = {"ok": "✓", "failed": "✗", "missing": "–", "unknown": "?"}
STATUS_MARK = {"pass": "✓", "fail": "✗", "error": "⚠", "pending": "⏳", "waived": "○", "not_applicable": "–"}
VERDICT_ICON = {"pass": "✅", "fail": "❌", "error": "⚠️", "pending": "⏳"}
VERDICT_HEAD = {v: f"{VERDICT_ICON[v]} Compliance: {verdict_text(v, upper=True)}" for v in VERDICTS}
_EVIDENCE_CORE = ("kind", "label", "url", "time")

# C0/C1 controls (terminal escapes), invisible formatting and bidi overrides that can disguise text.
_NEWLINES = re.compile(r"[\t\r\n\u2028\u2029]+")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()|~$!])")
_ENTITIES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_BLOCK_START = re.compile(r"^[#\-+=]")
_AUTOLINK = re.compile(r"(?i)(https?|ftp|sftp|javascript|vbscript|data|file|mailto|www)(?=[:.])")
_SHARES = {"failures": 0.4, "pending": 0.05, "changes": 0.25, "diff": 0.1, "waivers": 0.05, "passes": 0.05,
           "not_evaluated": 0.1}
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_ZWJ = "\u200d"


def clean(value: Any) -> str:
    """Untrusted value -> one line of visible text."""
    text = "" if value is None else str(value)
    return _NEWLINES.sub(" ", strip_hidden(_INVISIBLE, text))


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def text(value: Any, limit: int = 500) -> str:
    """Escape untrusted text so GitHub renders it literally, in prose and in table cells alike."""
    # Entities rather than backslashes for <, > and &: the raw text then holds no tag at all, which
    # also protects consumers that feed it to a lax HTML renderer.
    out = _MD_SPECIAL.sub(r"\\\1", clip(clean(value), limit)).translate(_ENTITIES)
    if _BLOCK_START.match(out):
        out = "\\" + out
    # A zero-width joiner breaks @mentions (which notify), owner/repo#N cross-references (which
    # post on the other issue) and bare-URL autolinks, without changing what a reader sees.
    out = out.replace("@", "@" + _ZWJ).replace("#", "#" + _ZWJ)
    return _AUTOLINK.sub(lambda m: m.group(1) + _ZWJ, out)


def code(value: Any, limit: int = 200, *, in_table: bool = False) -> str:
    """Inline code span; a fence longer than any backtick run inside keeps the span closed."""
    body = clip(clean(value), limit)
    if not body:
        return ""
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * (longest + 1)
    if body.startswith("`") or body.endswith("`"):
        body = f" {body} "
    if in_table:
        body = body.replace("|", "\\|")
    return f"{fence}{body}{fence}"


def code_block(value: Any, indent: str = "") -> list[str]:
    lines = [strip_hidden(_INVISIBLE, line) for line in str(value).replace("\r\n", "\n").split("\n")]
    longest = max((len(run) for run in re.findall(r"`+", "\n".join(lines))), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{indent}{fence}", *(f"{indent}{line}" for line in lines), f"{indent}{fence}"]


def link(label: str, url: Any) -> str:
    """``label`` must already be escaped; it stays plain text when the URL is not http(s)."""
    href = safe_url(url)
    return f"[{label}]({href})" if href and label else label


def _extra(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def evidence_line(ev: dict[str, Any]) -> str:
    parts = [f"{text(ev.get('kind'), 40)}: {link(text(ev.get('label'), 300), ev.get('url'))}"]
    if ev.get("time"):
        parts.append(text(ev["time"], 40))
    for key in sorted(k for k in ev if k not in _EVIDENCE_CORE):
        parts.append(f"{text(key, 40)}: {text(_extra(ev[key]), 200)}")
    return " · ".join(parts)


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
    lines += _targets(doc)
    lines += [
        "### Sources",
        "",
        "| Source | Status | Requests | ms | Error / warnings |",
        "| --- | --- | ---: | ---: | --- |",
    ]
    for src in doc.get("sources", []):
        err = src.get("error")
        notes = [f"{text(err.get('type'), 80)}: {text(err.get('message'), 300)}"] if err else []
        # a warning qualifies every verdict built on the source (a shallow clone hides history)
        warnings = src.get("warnings") or []
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
    return lines


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


def _failures(doc: dict[str, Any], detail: bool) -> _Section | None:
    bad = [f for f in doc.get("findings", []) if f.get("status") in ("fail", "error")]
    if not bad:
        return None
    section = _Section("failures", [f"### Failures and errors ({len(bad)})", ""], "failure/error findings")
    rules = {r.get("id"): r for r in doc.get("rules", [])}
    groups: dict[str, list[dict[str, Any]]] = {}
    for finding in bad:
        groups.setdefault(finding.get("rule_id", ""), []).append(finding)
    for rule_id, findings in groups.items():
        rule = rules.get(rule_id, {})
        first = findings[0]
        fails = sum(1 for f in findings if f.get("status") == "fail")
        errors = len(findings) - fails
        group_fix = rule.get("remediation") or first.get("remediation") or {}
        # The fix sits with the heading so it survives when a long report drops trailing findings.
        section.add(
            [
                f"#### {text(rule_id, 80)} · {text(rule.get('title') or first.get('title'), 200)}",
                "",
                f"Severity **{text(rule.get('severity') or first.get('severity'), 20)}** · runbook: "
                f"*{text(rule.get('runbook_section') or first.get('runbook_section'), 120)}* · "
                f"{fails} failed · {errors} could not be evaluated",
                "",
                *_fix_lines(group_fix, ""),
                "",
            ]
        )
        for finding in findings:
            if section.full:
                section.skip()
            else:
                section.add(_finding_block(finding, group_fix, detail), counted=True)
        section.add("")
    return section


def _pending(doc: dict[str, Any], detail: bool) -> _Section | None:
    """Findings not judged yet, each saying what it waits for; they gate nothing, and are listed
    right after the failures so a reviewer sees them on the first screen too."""
    waiting = [f for f in doc.get("findings", []) if f.get("status") == "pending"]
    if not waiting:
        return None
    section = _Section("pending", [f"### Pending: not judged yet ({len(waiting)})", "",
                                   "Nothing to fix yet: these do not gate. The next audit judges them.", ""],
                       "pending findings")
    for finding in waiting:
        if section.full:
            section.skip()
        else:
            section.add(_finding_block(finding, finding.get("remediation") or {}, detail), counted=True)
    section.add("")
    return section


_VERB = {"fail": "fail", "error": "could not evaluate", "pending": "pending"}


def _finding_block(finding: dict[str, Any], group_fix: dict[str, Any], detail: bool) -> list[str]:
    status = finding.get("status")
    verb = _VERB.get(status, "could not evaluate")
    lines = [
        f"- {STATUS_MARK.get(status, '?')} **{verb}** · {_in_target(finding)}{text(finding.get('subject_type'), 40)} "
        f"{code(finding.get('subject'), 120)} · {text(finding.get('message'), 600 if detail else 200)}"
    ]
    if not detail:
        return lines
    loc = finding.get("location")
    if loc and loc.get("path"):
        where = f"{loc['path']}:{loc['line']}" if loc.get("line") else loc["path"]
        lines.append(f"  - at {code(where, 300)}")
    lines += [f"  - {evidence_line(ev)}" for ev in finding.get("evidence", [])]
    fix = finding.get("remediation") or {}
    if fix and fix != group_fix:
        lines += _fix_lines(fix, "  ")
    return lines


def _fix_lines(fix: dict[str, Any], indent: str) -> list[str]:
    """Top level (indent "") for a rule's fix; nested under a finding's bullet otherwise."""
    if not fix:
        return []
    if not indent:
        lines = [f"**Fix:** {text(fix.get('text'), 1000)}"]
        return lines + (["", *code_block(fix["command"])] if fix.get("command") else [])
    lines = [f"{indent}- **Fix:** {text(fix.get('text'), 1000)}"]
    return lines + (code_block(fix["command"], indent + "  ") if fix.get("command") else [])


def _changes(doc: dict[str, Any]) -> _Section | None:
    changes = doc.get("changes", [])
    if not changes:
        return None
    section = _Section(
        "changes",
        [
            f"### Changes in scope ({len(changes)})",
            "",
            "✓ ok · ✗ failed · – missing · ? unknown · not passing: ✗ fail, ⚠ error, ⏳ pending (not judged yet)",
            "",
            "| Change | " + " | ".join(label for _, label in STAGES) + " | Not passing |",
            "| --- |" + " :---: |" * len(STAGES) + " --- |",
        ],
        "changes",
    )
    for change in changes:
        if section.full:
            section.skip()
            continue
        stages = {s.get("stage"): s for s in change.get("timeline", [])}
        cells = []
        for key, _ in STAGES:
            stage = stages.get(key)
            cells.append(link(STATE_MARK.get(stage.get("state"), "?"), stage.get("url")) if stage else "?")
        pr = f" {_pr_link(doc, change['pr'])}" if change.get("pr") else ""
        tasks = ", ".join(text(t, 40) for t in change.get("task_ids", []))
        subject = (f"{_in_target(change)}{code(change.get('short'), 40, in_table=True)}{pr} "
                   f"{text(change.get('subject'), 120)}")
        if tasks:
            subject += f" ({tasks})"
        not_passing = ", ".join(
            f"{STATUS_MARK.get(v, '?')} {text(rule_id, 60)}"
            for rule_id, v in change.get("verdicts", {}).items()
            if v in ("fail", "error", "pending")
        )
        section.add(f"| {subject} | " + " | ".join(cells) + f" | {not_passing} |", counted=True)
    section.add("")
    return section


def _pr_link(doc: dict[str, Any], number: Any) -> str:
    """Absolute PR link: a bare #N would point at whichever repository the comment is posted in."""
    repo = str(doc.get("snapshot", {}).get("target", {}).get("github_repo") or "")
    label = f"PR \\#{_ZWJ}{text(number, 12)}"
    if isinstance(number, int) and _REPO.match(repo):
        return link(label, f"https://github.com/{repo}/pull/{number}")
    return label


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


def _body(doc: dict[str, Any], detail: bool) -> list[_Section]:
    sections = (_diff(doc), _failures(doc, detail), _pending(doc, detail), _changes(doc), _waivers(doc), _passes(doc),
                _not_evaluated(doc))
    return [s for s in sections if s is not None]


def _length(markdown: str) -> int:
    """GitHub counts UTF-16 code units; counting them keeps astral characters from overflowing."""
    return len(markdown.encode("utf-16-le", "surrogatepass")) // 2


def render(doc: dict[str, Any]) -> str:
    head = "\n".join(_header(doc)) + "\n"
    foot = "\n".join(_footer(doc))
    body = _body(doc, detail=True)
    if not any(s.full for s in body):
        full = head + "".join(_join(s, len(s.items)) for s in body) + foot
        if _length(full) < MAX_CHARS:
            return full
    # Reserve room for the note; the summary and footer are never cut.
    budget = MAX_CHARS - _length(head) - _length(foot) - 1_000
    sections = _body(doc, detail=False)
    # Each section first gets a fair share, so a flood of failures cannot hide the change table;
    # whatever a section leaves unused then goes to the sections in reading order.
    shown = [0] * len(sections)
    costs = [0] * len(sections)
    for i, section in enumerate(sections):
        shown[i], costs[i] = _fit(section, 0, 0, int(budget * _SHARES.get(section.name, 0.1)))
    for i, section in enumerate(sections):
        spare = budget - sum(costs)
        shown[i], costs[i] = _fit(section, shown[i], costs[i], costs[i] + spare)
    kept: list[str] = []
    omitted: list[str] = []
    for section, count in zip(sections, shown, strict=True):
        if count:
            kept.append(_join(section, count))
        total = sum(1 for _, counted in section.items if counted) + section.skipped
        hidden = total - sum(1 for _, counted in section.items[:count] if counted)
        if hidden and section.counted:
            omitted.append(f"{hidden} of {total} {section.counted}")
    note = (
        f"> **Report truncated** to fit GitHub's {MAX_CHARS:,}-character limit: per-finding evidence "
        "and per-finding remediation were left out"
        + (f", and {'; '.join(omitted)} are not shown" if omitted else "")
        + ". The HTML and JSON reports contain everything.\n"
    )
    return head + "".join(kept) + foot + "\n" + note


def _fit(section: _Section, shown: int, cost: int, limit: int) -> tuple[int, int]:
    """Extend the visible prefix of ``section`` while it stays within ``limit`` characters."""
    if shown == 0:
        cost = _length(_join(section, 0))
        if cost > limit:
            return 0, 0
    while shown < len(section.items):
        step = _length(section.items[shown][0]) + 1
        if cost + step > limit:
            break
        cost += step
        shown += 1
    return (shown, cost) if shown else (0, 0)


def _join(section: _Section, shown: int) -> str:
    lines = [*section.heading, *(block for block, _ in section.items[:shown])]
    return "\n".join(lines) + "\n"
