"""Self-contained HTML report for governance reviewers.

Reviewers open it from CI artifacts or mail, so it must work offline and be safe to open: one
file, inline CSS, no script, a CSP that forbids loading anything, every piece of text escaped,
and links only to http(s). Output depends only on the document, never on when it was rendered,
so two renders of the same snapshot can be diffed.

This module holds the page and what was judged (findings, the per-change timeline); the summary
sections are in ``html_sections``, the escaping, labels and stylesheet in ``html_view``, and what
both formats show alike (stage marks, evidence fields) in ``view``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from compliance.report.control_sections import html_section as _controls
from compliance.report.html_sections import (
    _diff,
    _footer,
    _header,
    _in_target,
    _not_evaluated,
    _rules,
    _sources,
    _targets,
    _waivers,
)
from compliance.report.html_view import (
    CSP,
    CSS,
    DETAIL_LIMIT,
    STAGES,
    STATE_CLASS,
    STATUS_LABEL,
    badge,
    esc,
    link,
    safe_url,
)
from compliance.report.metrics_view import html_section as _metrics
from compliance.report.svg_timeline import overview_section, swimlane
from compliance.report.view import EVIDENCE_CORE, STATE_MARK, extra_text


def render(doc: dict[str, Any]) -> str:
    return "".join(stream(doc))


def stream(doc: dict[str, Any]) -> Iterator[str]:
    """The report a section at a time: ``write_reports`` never holds the whole page."""
    snap = doc.get("snapshot", {})
    target = snap.get("target", {})
    title = f"Compliance report: {target.get('name') or target.get('github_repo') or 'target'}"
    head = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
    ]
    sections: list[Callable[[], str | Iterator[str]]] = [
        lambda: _header(doc, title), lambda: _targets(doc), lambda: overview_section(doc), lambda: _diff(doc),
        lambda: _sources(doc), lambda: _rules(doc), lambda: _controls(doc), lambda: _failures(doc), lambda: _pending(doc),
        lambda: _changes(doc), lambda: _other_findings(doc), lambda: _metrics(doc),
        lambda: _waivers(doc), lambda: _not_evaluated(doc), lambda: _footer(doc),
    ]
    yield "\n".join(head) + "\n"
    for section in sections:
        part = section()
        if isinstance(part, str):
            if part:
                yield part + "\n"
        else:  # a section of one row per change yields its rows: never one string of the whole table
            yield from part
    yield "</body>\n</html>\n"


def _evidence(items: list[dict[str, Any]]) -> str:
    if not items:
        return ""
    lis = []
    for ev in items:
        bits = [f"<strong>{esc(ev.get('kind'))}</strong> {link(esc(ev.get('label')), ev.get('url'))}"]
        if ev.get("time"):
            bits.append(f'<span class="muted">{esc(ev["time"])}</span>')
        bits += [
            f'<span class="muted">{esc(k)}:</span> {esc(extra_text(ev[k]))}'
            for k in sorted(k for k in ev if k not in EVIDENCE_CORE)
        ]
        lis.append("<li>" + " · ".join(bits) + "</li>")
    return '<ol class="evidence">' + "".join(lis) + "</ol>"


def _fix(fix: dict[str, Any]) -> str:
    if not fix:
        return ""
    out = f'<div class="fix"><strong>Remediation:</strong> {esc(fix.get("text"))}'
    if fix.get("command"):
        out += f"<pre><code>{esc(fix['command'])}</code></pre>"
    return out + "</div>"


def _finding(finding: dict[str, Any]) -> str:
    loc = finding.get("location") or {}
    where = ""
    if loc.get("path"):
        spot = f"{loc['path']}:{loc['line']}" if loc.get("line") else loc["path"]
        where = f'<p class="muted">at <code>{esc(spot)}</code></p>'
    cls = {"fail": "bad", "pending": "wait"}.get(finding.get("status"), "err")
    return (
        f'<div class="card {cls}">'
        f"<p>{badge(finding.get('status'))} {_in_target(finding)}{esc(finding.get('subject_type'))} "
        f"<code>{esc(finding.get('subject'))}</code> · check <code>{esc(finding.get('check'))}</code></p>"
        f"<p>{esc(finding.get('message'))}</p>{where}"
        f"{_evidence(finding.get('evidence', []))}{_fix(finding.get('remediation') or {})}</div>"
    )


def _failures(doc: dict[str, Any]) -> str:
    bad = [f for f in doc.get("findings", []) if f.get("status") in ("fail", "error")]
    if not bad:
        return "<section>\n<h2>Failures and errors</h2>\n<p>None.</p>\n</section>"
    rules = {r.get("id"): r for r in doc.get("rules", [])}
    groups: dict[str, list[dict[str, Any]]] = {}
    for finding in bad:
        groups.setdefault(finding.get("rule_id", ""), []).append(finding)
    out = [f"<section>\n<h2>Failures and errors ({len(bad)})</h2>"]
    for rule_id, findings in groups.items():
        rule = rules.get(rule_id, {})
        first = findings[0]
        out.append(
            f"<h3><code>{esc(rule_id)}</code> {esc(rule.get('title') or first.get('title'))}</h3>"
            f'<p class="muted">severity {esc(rule.get("severity") or first.get("severity"))} · runbook section '
            f"{esc(rule.get('runbook_section') or first.get('runbook_section'))}</p>"
        )
        out += [_finding(f) for f in findings[:DETAIL_LIMIT]]
        if len(findings) > DETAIL_LIMIT:  # the rule's remediation above applies to each of them
            rows = "\n".join(
                f"<tr><td>{badge(f.get('status'))}</td><td>{esc(f.get('subject_type'))} <code>{esc(f.get('subject'))}"
                f"</code></td><td>{esc(f.get('message'))}</td></tr>" for f in findings[DETAIL_LIMIT:])
            out.append(_fix(rule.get("remediation") or first.get("remediation") or {}))
            out.append(f"<details><summary>{len(findings) - DETAIL_LIMIT} more {esc(rule_id)} finding(s), one per "
                       "row (evidence in report.json)</summary>\n<table>\n<tr><th>Status</th><th>Subject</th>"
                       f"<th>Message</th></tr>\n{rows}\n</table>\n</details>")
    return "\n".join(out) + "\n</section>"


def _pending(doc: dict[str, Any]) -> str:
    """Findings not judged yet, right after the failures: each card says what it waits for."""
    waiting = [f for f in doc.get("findings", []) if f.get("status") == "pending"]
    if not waiting:
        return ""
    rows = ""
    if len(waiting) > DETAIL_LIMIT:
        rows = "\n".join(
            f"<tr><td><code>{esc(f.get('rule_id'))}</code></td><td>{esc(f.get('subject_type'))} "
            f"<code>{esc(f.get('subject'))}</code></td><td>{esc(f.get('message'))}</td></tr>"
            for f in waiting[DETAIL_LIMIT:])
        rows = (f"<details><summary>{len(waiting) - DETAIL_LIMIT} more pending finding(s), one per row</summary>\n"
                f"<table>\n<tr><th>Rule</th><th>Subject</th><th>Message</th></tr>\n{rows}\n</table>\n</details>")
    return (f"<section>\n<h2>Pending: not judged yet ({len(waiting)})</h2>\n"
            "<p>Nothing to fix yet: pending findings do not gate and are never waived; the next audit judges "
            "them.</p>\n" + "\n".join(_finding(f) for f in waiting[:DETAIL_LIMIT]) + rows + "\n</section>")


def _stage(stage: dict[str, Any] | None, label: str) -> str:
    if stage is None:
        return f'<li class="s-error"><div class="stage">{esc(label)}</div><div class="state">not recorded</div></li>'
    state = stage.get("state")
    bits = [f'<div class="stage">{esc(label)}</div>', f'<div class="state">{esc(state)}</div>']
    if stage.get("time"):
        bits.append(f'<div class="muted">{esc(stage["time"])}</div>')
    if stage.get("label"):
        bits.append(f"<div>{link(esc(stage['label']), stage.get('url'))}</div>")
    elif safe_url(stage.get("url")):
        bits.append(f"<div>{link('link', stage.get('url'))}</div>")
    if stage.get("detail"):
        bits.append(f'<div class="muted">{esc(stage["detail"])}</div>')
    return f'<li class="s-{STATE_CLASS.get(state, "error")}">' + "".join(bits) + "</li>"


def _change(doc: dict[str, Any], change: dict[str, Any]) -> str:
    stages = {s.get("stage"): s for s in change.get("timeline", [])}
    verdicts = change.get("verdicts", {})
    worst = next((s for s in ("fail", "error", "pending") if s in verdicts.values()), "")
    cls = {"fail": " bad", "error": " err", "pending": " wait"}.get(worst, "")
    pr = ""
    if change.get("pr"):
        repo = str(doc.get("snapshot", {}).get("target", {}).get("github_repo") or "")
        url = (
            f"https://github.com/{repo}/pull/{change['pr']}"
            if re.fullmatch(r"[\w.-]+/[\w.-]+", repo)
            else None
        )
        pr = " · " + link(f"PR #{esc(change['pr'])}", url)
    tasks = ", ".join(f"<code>{esc(t)}</code>" for t in change.get("task_ids", []))
    files = "".join(f"<li><code>{esc(f)}</code></li>" for f in change.get("files_in_scope", []))
    chips = " ".join(f"{badge(v, f'{rule_id}: {STATUS_LABEL.get(v, v)}')}" for rule_id, v in verdicts.items())
    return (
        f'<div class="card{cls}">'
        f"<h3>{_in_target(change)}<code>{esc(change.get('short'))}</code> {esc(change.get('subject'))}</h3>"
        f'<p class="muted">{esc(change.get("kind"))}{pr} · {esc(change.get("author"))} · '
        f"{esc(change.get('committed_at'))}" + (f" · tasks {tasks}" if tasks else "") + "</p>"
        '<ol class="timeline">' + "".join(_stage(stages.get(key), label) for key, label in STAGES) + "</ol>"
        + swimlane(change) +
        f"<p>{chips}</p>"
        f"<details><summary>{len(change.get('files_in_scope', []))} file(s) in scope · "
        f"<code>{esc(change.get('sha'))}</code></summary><ul>{files}</ul></details>"
        "</div>"
    )


def _changes(doc: dict[str, Any]) -> Iterator[str]:
    """The changes section, its trailing newline included, a card or row at a time: at 100,000 commits the
    section is 40 MB of rows, and joined into one string (and copied once more with its newline, then
    encoded) it held about 250 MB beside the document while the HTML was written."""
    changes = doc.get("changes", [])
    head = f"<section>\n<h2>Changes ({len(changes)}): merge → workflow run → Lambda update → worklog</h2>\n"
    if not changes:
        yield head + "<p>No changes in scope in this window.</p>\n</section>\n"
        return
    if len(changes) <= DETAIL_LIMIT:
        yield head + "\n".join(_change(doc, c) for c in changes) + "\n</section>\n"
        return
    attention = [c for c in changes if _needs_attention(c)]
    passing = [c for c in changes if not _needs_attention(c)]
    cards, rows = attention[:DETAIL_LIMIT], attention[DETAIL_LIMIT:]
    yield head
    yield ("\n<p>" + f"{len(attention)} change(s) need attention: "
           + ("all shown in full" if not rows else f"the first {len(cards)} in full, the other {len(rows)} one per "
              "row after them")
           + f"; the {len(passing)} whose every rule passed (or does not apply) one per row below. "
           "report.json holds every change's full chain.</p>")
    for c in cards:
        yield "\n" + _change(doc, c)
    marks = "".join(f"<th>{esc(label)}</th>" for _, label in STAGES)
    seen: dict[Any, str] = {}  # stage cells by what they show: one run's cell is the same in every merge it deployed
    for title, group in ((f"{len(rows)} more change(s) needing attention", rows),
                         (f"{len(passing)} passing change(s)", passing)):
        if group:
            yield (f"\n<details><summary>{title}</summary>\n<table>\n"
                   f"<tr><th>Change</th><th>Subject</th>{marks}<th>Rules</th></tr>")
            for c in group:
                yield "\n" + _change_row(c, seen)
            yield "\n</table>\n</details>"
    yield "\n</section>\n"


def _needs_attention(change: dict[str, Any]) -> bool:
    return any(v not in ("pass", "not_applicable") for v in change.get("verdicts", {}).values())


def _change_row(change: dict[str, Any], seen: dict[Any, str] | None = None) -> str:
    stages = {s.get("stage"): s for s in change.get("timeline", [])}
    merge = stages.get("merge") or {}
    cells = "".join(_cell(stages.get(key), seen) for key, _ in STAGES)
    verdicts = change.get("verdicts", {})
    passed = sum(1 for v in verdicts.values() if v == "pass")
    other = sum(1 for v in verdicts.values() if v == "not_applicable")
    rules = " ".join(badge(v, f"{rule_id}: {STATUS_LABEL.get(v, v)}") for rule_id, v in verdicts.items()
                     if v not in ("pass", "not_applicable"))
    sha = link(f"<code>{esc(change.get('short'))}</code>", merge.get("url"))
    return (f"<tr><td>{_in_target(change)}{sha}</td><td>{esc(change.get('subject'))}</td>{cells}"
            f"<td>{rules + ' ' if rules else ''}{passed} pass, {other} n/a</td></tr>")


def _cell(stage: dict[str, Any] | None, seen: dict[Any, str] | None) -> str:
    """``_mark``, remembered in ``seen`` by the three values it shows (strings, or it is not remembered)."""
    if seen is None or stage is None:
        return _mark(stage)
    key = (stage.get("state"), stage.get("label"), stage.get("url"))
    if not all(v is None or type(v) is str for v in key):
        return _mark(stage)
    cell = seen.get(key)
    if cell is None:
        cell = seen[key] = _mark(stage)
    return cell


def _mark(stage: dict[str, Any] | None) -> str:
    stage = stage or {}
    mark = esc(STATE_MARK.get(stage.get("state"), "?"))
    return f'<td class="marks" title="{esc(stage.get("label"))}">{link(mark, stage.get("url"))}</td>'


def _other_findings(doc: dict[str, Any]) -> str:
    rest = [f for f in doc.get("findings", []) if f.get("status") not in ("fail", "error", "pending")]
    if not rest:
        return ""
    shown = rest if len(rest) <= DETAIL_LIMIT else [f for f in rest if f.get("status") == "waived"]
    rows = "\n".join(
        "<tr>"
        f"<td>{badge(f.get('status'))}</td><td><code>{esc(f.get('rule_id'))}</code></td>"
        f"<td>{esc(f.get('subject_type'))} <code>{esc(f.get('subject'))}</code></td>"
        f"<td>{esc(f.get('message'))}{_evidence(f.get('evidence', []))}</td>"
        "</tr>"
        for f in shown
    )
    note = ("" if shown is rest else
            f"<p>{len(rest) - len(shown)} passing and not-applicable finding(s) are counted per rule in the "
            "Rules table and listed in full in report.json; the waived ones are listed here.</p>\n")
    table = ("<details><summary>Show all</summary>\n<table>\n"
             "<tr><th>Status</th><th>Rule</th><th>Subject</th><th>Message / evidence</th></tr>\n"
             f"{rows}\n</table>\n</details>\n") if shown else ""
    return f"<section>\n<h2>Passed, waived and not applicable ({len(rest)})</h2>\n{note}{table}</section>"
