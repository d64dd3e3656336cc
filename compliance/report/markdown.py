"""Markdown report for PR comments and GitHub job summaries.

Commit subjects, branch names, worklog text and source errors come from people and systems we
do not control, and GitHub renders Markdown with links, images, raw HTML and @mentions that
notify. Everything that is not our own scaffolding goes through ``text``/``code`` so it reads
as inert characters, and only http(s) URLs ever become links.

GitHub refuses comments over 65,536 characters, so an oversized report drops per-finding detail
first, then trailing items, and always keeps the summary and says what was left out.

This module holds that budget and the sections about what was judged (findings, the per-change
table); the sections around them are in ``markdown_sections``, the inert-text rules in
``markdown_text``, and what both formats show alike in ``view``.
"""

from __future__ import annotations

import re
from typing import Any

from compliance.report.control_sections import markdown_section as _controls
from compliance.report.markdown_sections import (
    _diff,
    _footer,
    _header,
    _in_target,
    _not_evaluated,
    _passes,
    _Section,
    _waivers,
)
from compliance.report.markdown_text import (
    _ZWJ,
    MAX_CHARS,
    STAGES,
    STATUS_MARK,
    code,
    code_block,
    evidence_line,
    link,
    text,
)
from compliance.report.metrics_view import markdown_section as _metrics
from compliance.report.timeline_view import overview_line, text_lane
from compliance.report.view import STATE_MARK

# each section's first share of the comment when it must be cut (the rest goes in reading order)
_SHARES = {"failures": 0.4, "pending": 0.05, "changes": 0.25, "diff": 0.1, "waivers": 0.05, "passes": 0.05,
           "not_evaluated": 0.1, "controls": 0.05}
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")



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
            "Window at a glance: " + text(overview_line(changes, doc.get("snapshot", {}).get("window")), 600),
            "",
            "✓ ok · ✗ failed · – missing · ? unknown · not passing: ✗ fail, ⚠ error, ⏳ pending (not judged yet) · "
            "lane: each stage's delay after the merge",
            "",
            "| Change | " + " | ".join(label for _, label in STAGES) + " | Lane | Not passing |",
            "| --- |" + " :---: |" * len(STAGES) + " --- | --- |",
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
        lane = text(text_lane(change), 160)
        section.add(f"| {subject} | " + " | ".join(cells) + f" | {lane} | {not_passing} |", counted=True)
    section.add("")
    return section


def _pr_link(doc: dict[str, Any], number: Any) -> str:
    """Absolute PR link: a bare #N would point at whichever repository the comment is posted in."""
    repo = str(doc.get("snapshot", {}).get("target", {}).get("github_repo") or "")
    label = f"PR \\#{_ZWJ}{text(number, 12)}"
    if isinstance(number, int) and _REPO.match(repo):
        return link(label, f"https://github.com/{repo}/pull/{number}")
    return label


def _body(doc: dict[str, Any], detail: bool, changes: _Section | None) -> list[_Section]:
    """``changes``: the change table, which is the same with or without detail (``render`` builds it once:
    at 100,000 changes it is a pass over all of them)."""
    sections = (_diff(doc), _failures(doc, detail), _pending(doc, detail), changes, _metrics(doc), _controls(doc),
                _waivers(doc), _passes(doc), _not_evaluated(doc))
    return [s for s in sections if s is not None]


def _length(markdown: str) -> int:
    """GitHub counts UTF-16 code units; counting them keeps astral characters from overflowing."""
    return len(markdown.encode("utf-16-le", "surrogatepass")) // 2


def render(doc: dict[str, Any]) -> str:
    head = "\n".join(_header(doc)) + "\n"
    foot = "\n".join(_footer(doc))
    changes = _changes(doc)
    body = _body(doc, detail=True, changes=changes)
    if not any(s.full for s in body):
        full = head + "".join(_join(s, len(s.items)) for s in body) + foot
        if _length(full) < MAX_CHARS:
            return full
    # Reserve room for the note; the summary and footer are never cut.
    budget = MAX_CHARS - _length(head) - _length(foot) - 1_000
    sections = _body(doc, detail=False, changes=changes)
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
