"""Self-contained HTML report for governance reviewers.

Reviewers open it from CI artifacts or mail, so it must work offline and be safe to open: one
file, inline CSS, no script, a CSP that forbids loading anything, every piece of text escaped,
and links only to http(s). Output depends only on the document, never on when it was rendered,
so two renders of the same snapshot can be diffed.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from compliance.base.console import INVISIBLE_RE as _INVISIBLE
from compliance.base.redact import strip_hidden
from compliance.base.urls import safe_url
from compliance.model.findings import STATUSES, VERDICTS, verdict_text

STAGES = (
    ("merge", "Merge"),
    ("workflow_run", "Workflow run"),
    ("lambda_update", "Lambda update"),
    ("worklog", "Worklog"),
)
STATUS_LABEL = {
    "pass": "pass",
    "fail": "fail",
    "error": "error",
    "pending": "pending",
    "waived": "waived",
    "not_applicable": "not applicable",
}
STATE_CLASS = {"ok": "pass", "failed": "fail", "missing": "fail", "unknown": "error"}
STATE_MARK = {"ok": "✓", "failed": "✗", "missing": "–", "unknown": "?"}
# Past this many changes (or passing findings) a report is an audit of a long history: every change
# that needs attention keeps its full card, passing ones get one row each, and passing findings are
# counted per rule (the Rules table) rather than listed; report.json keeps every one of them.
DETAIL_LIMIT = 300
CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
_EVIDENCE_CORE = ("kind", "label", "url", "time")
# Controls are invalid in HTML text and bidi overrides can make a hostile string read as a benign one.

CSS = """
:root{--pass:#1a7f37;--fail:#cf222e;--error:#b35900;--pending:#8250df;--waived:#4f6d8f;--na:#6e7781;
--line:#d0d7de;--muted:#57606a;--bg:#f6f8fa}
*{box-sizing:border-box}
body{font:14px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI",Helvetica,Arial,sans-serif;color:#1f2328;
margin:0 auto;max-width:1100px;padding:24px}
h1{font-size:22px;margin:0 0 8px}h2{font-size:18px;margin:32px 0 8px;border-bottom:1px solid var(--line);
padding-bottom:4px}h3{font-size:15px;margin:20px 0 6px}
code,pre{font:12px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:8px 12px;overflow-x:auto;
white-space:pre-wrap;word-break:break-all}
table{border-collapse:collapse;width:100%;margin:8px 0}
th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:var(--bg)}td.num{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:var(--muted)}
.badge{display:inline-block;border-radius:10px;padding:0 8px;color:#fff;font-weight:600;font-size:12px}
.verdict{font-size:16px;padding:2px 12px;border-radius:12px}
.pass{background:var(--pass)}.fail{background:var(--fail)}.error{background:var(--error)}
.pending{background:var(--pending)}.waived{background:var(--waived)}.not_applicable{background:var(--na)}
.counts{display:flex;gap:8px;flex-wrap:wrap;margin:8px 0}
.card{border:1px solid var(--line);border-radius:8px;padding:12px 16px;margin:12px 0}
.card.bad{border-left:4px solid var(--fail)}.card.err{border-left:4px solid var(--error)}
.card.wait{border-left:4px dashed var(--pending)}
.timeline{display:flex;list-style:none;padding:0;margin:8px 0;gap:0}
.timeline li{flex:1;position:relative;padding:6px 10px;border:1px solid var(--line);background:var(--bg)}
.timeline li+li{border-left:none}
.timeline li::before{content:"";display:block;height:4px;margin:-6px -10px 6px}
.timeline li.s-pass::before{background:var(--pass)}.timeline li.s-fail::before{background:var(--fail)}
.timeline li.s-error::before{background:var(--error)}
.stage{font-weight:600}.state{font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.s-pass .state{color:var(--pass)}.s-fail .state{color:var(--fail)}.s-error .state{color:var(--error)}
ol.evidence{margin:4px 0;padding-left:22px}
td.marks{white-space:nowrap;letter-spacing:.2em}
.fix{border-left:3px solid var(--pass);padding-left:10px;margin:8px 0}
details>summary{cursor:pointer}
footer{margin-top:40px;border-top:1px solid var(--line);padding-top:8px;color:var(--muted);font-size:12px}
"""


def esc(value: Any) -> str:
    text = "" if value is None else str(value)
    return html.escape(strip_hidden(_INVISIBLE, text), quote=True)


def link(label_html: str, url: Any) -> str:
    """``label_html`` is already escaped; without an http(s) URL it is returned as plain text."""
    href = safe_url(url)
    if not href:
        return label_html
    return f'<a href="{esc(href)}" rel="noopener noreferrer">{label_html}</a>'


def badge(status: Any, text: Any = None) -> str:
    cls = status if status in STATUSES else "error"
    return f'<span class="badge {cls}">{esc(text if text is not None else STATUS_LABEL.get(status, status))}</span>'


def _extra(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)


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
    sections: list[Callable[[], str]] = [
        lambda: _header(doc, title), lambda: _targets(doc), lambda: _diff(doc), lambda: _sources(doc),
        lambda: _rules(doc), lambda: _failures(doc), lambda: _pending(doc), lambda: _changes(doc), lambda: _other_findings(doc),
        lambda: _waivers(doc), lambda: _not_evaluated(doc), lambda: _footer(doc),
    ]
    yield "\n".join(head) + "\n"
    for section in sections:
        part = section()
        if part:
            yield part + "\n"
    yield "</body>\n</html>\n"


def _header(doc: dict[str, Any], title: str) -> str:
    summary = doc.get("summary", {})
    snap = doc.get("snapshot", {})
    window = snap.get("window", {})
    target = snap.get("target", {})
    verdict = summary.get("verdict")
    shown = verdict_text(verdict, upper=True, colon=True) if verdict in VERDICTS else str(verdict)
    counts = "".join(
        f'<span class="badge {s}">{summary.get(s, 0)} {esc(STATUS_LABEL[s])}</span>' for s in STATUSES
    )
    facts = [
        f"<code>{esc(target[k])}</code>"
        for k in ("github_repo", "function", "region", "workflow")
        if target.get(k)
    ]
    return (
        "<header>\n"
        f"<h1>{esc(title)}</h1>\n"
        f'<p><span class="badge verdict {esc(verdict if verdict in STATUSES else "error")}">{esc(shown)}</span> '
        f'<span class="muted">exit code {esc(summary.get("exit_code"))} · mode {esc(doc.get("mode"))}</span></p>\n'
        f'<div class="counts">{counts}</div>\n'
        f"<p>{' · '.join(facts)}</p>\n"
        f"<p>Window {esc(window.get('since'))} → {esc(window.get('until'))} on branch "
        f"<code>{esc(window.get('branch'))}</code></p>\n"
        "</header>"
    )


def _in_target(item: dict[str, Any]) -> str:
    """In a merged report every entry names its target; elsewhere this adds nothing."""
    return f"<strong>{esc(item['target'])}</strong> · " if item.get("target") else ""


def _targets(doc: dict[str, Any]) -> str:
    targets = doc.get("targets") or []
    if not targets:
        return ""
    rows = []
    for t in targets:
        c = t.get("counts", {})
        rows.append(
            "<tr>"
            f"<td>{esc(t.get('name'))}</td>"
            f"<td>{badge(t.get('verdict'))}</td>"
            + "".join(f'<td class="num">{esc(c.get(s, 0))}</td>' for s in ("fail", "error", "pending", "pass",
                                                                            "waived", "not_applicable"))
            + f"<td><code>{esc(t.get('path'))}</code></td>"
            "</tr>"
        )
    return (
        f"<section>\n<h2>Targets ({len(targets)})</h2>\n<table>\n"
        "<tr><th>Target</th><th>Verdict</th><th>Failed</th><th>Errors</th><th>Pending</th><th>Passed</th><th>Waived</th>"
        "<th>N/A</th><th>Report</th></tr>\n" + "\n".join(rows) + "\n</table>\n</section>"
    )


def _sources(doc: dict[str, Any]) -> str:
    rows = []
    for src in doc.get("sources", []):
        err = src.get("error")
        ok = src.get("status") == "ok"
        err_html = f"<strong>{esc(err.get('type'))}</strong>: {esc(err.get('message'))}" if err else ""
        warnings = "".join(f'<div class="muted">warning: {esc(w)}</div>' for w in src.get("warnings", []))
        rows.append(
            "<tr>"
            f"<td>{_in_target(src)}{esc(src.get('name'))}</td>"
            f"<td>{badge('pass' if ok else 'error', src.get('status'))}</td>"
            f"<td>{esc(src.get('kind'))}</td>"
            f"<td>{esc(src.get('requested'))}</td>"
            f'<td class="num">{esc(src.get("requests"))}</td>'
            f'<td class="num">{esc(src.get("cached"))}</td>'
            f'<td class="num">{esc(src.get("duration_ms"))}</td>'
            f"<td>{err_html}{warnings}</td>"
            "</tr>"
        )
    return (
        "<section>\n<h2>Sources</h2>\n<table>\n"
        "<tr><th>Source</th><th>Status</th><th>Kind</th><th>Requested</th><th>Requests</th><th>Cached</th>"
        "<th>ms</th><th>Error / warnings</th></tr>\n" + "\n".join(rows) + "\n</table>\n</section>"
    )


def _rules(doc: dict[str, Any]) -> str:
    rows = []
    for rule in doc.get("rules", []):
        counts = rule.get("counts", {})
        cells = "".join(f'<td class="num">{esc(counts.get(s, 0))}</td>' for s in STATUSES)
        rows.append(
            "<tr>"
            f"<td><code>{esc(rule.get('id'))}</code></td>"
            f'<td>{esc(rule.get("title"))}<div class="muted">{esc(rule.get("rationale"))}</div></td>'
            f"<td>{esc(rule.get('severity'))}</td>"
            f"<td>{esc(rule.get('runbook_section'))}</td>"
            f"{cells}</tr>"
        )
    heads = "".join(f"<th>{esc(STATUS_LABEL[s])}</th>" for s in STATUSES)
    return (
        "<section>\n<h2>Rules</h2>\n<table>\n"
        f"<tr><th>Rule</th><th>Title</th><th>Severity</th><th>Runbook section</th>{heads}</tr>\n"
        + "\n".join(rows)
        + "\n</table>\n</section>"
    )


def _evidence(items: list[dict[str, Any]]) -> str:
    if not items:
        return ""
    lis = []
    for ev in items:
        bits = [f"<strong>{esc(ev.get('kind'))}</strong> {link(esc(ev.get('label')), ev.get('url'))}"]
        if ev.get("time"):
            bits.append(f'<span class="muted">{esc(ev["time"])}</span>')
        bits += [
            f'<span class="muted">{esc(k)}:</span> {esc(_extra(ev[k]))}'
            for k in sorted(k for k in ev if k not in _EVIDENCE_CORE)
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
        f"<p>{chips}</p>"
        f"<details><summary>{len(change.get('files_in_scope', []))} file(s) in scope · "
        f"<code>{esc(change.get('sha'))}</code></summary><ul>{files}</ul></details>"
        "</div>"
    )


def _changes(doc: dict[str, Any]) -> str:
    changes = doc.get("changes", [])
    head = f"<section>\n<h2>Changes ({len(changes)}): merge → workflow run → Lambda update → worklog</h2>\n"
    if not changes:
        return head + "<p>No changes in scope in this window.</p>\n</section>"
    if len(changes) <= DETAIL_LIMIT:
        return head + "\n".join(_change(doc, c) for c in changes) + "\n</section>"
    attention = [c for c in changes if _needs_attention(c)]
    passing = [c for c in changes if not _needs_attention(c)]
    cards, rows = attention[:DETAIL_LIMIT], attention[DETAIL_LIMIT:]
    out = [head, f"<p>{len(attention)} change(s) need attention: "
           + ("all shown in full" if not rows else f"the first {len(cards)} in full, the other {len(rows)} one per "
              "row after them")
           + f"; the {len(passing)} whose every rule passed (or does not apply) one per row below. "
           "report.json holds every change's full chain.</p>"]
    out += [_change(doc, c) for c in cards]
    marks = "".join(f"<th>{esc(label)}</th>" for _, label in STAGES)
    for title, group in ((f"{len(rows)} more change(s) needing attention", rows),
                         (f"{len(passing)} passing change(s)", passing)):
        if group:
            out.append(f"<details><summary>{title}</summary>\n<table>\n"
                       f"<tr><th>Change</th><th>Subject</th>{marks}<th>Rules</th></tr>")
            out += [_change_row(c) for c in group]
            out.append("</table>\n</details>")
    return "\n".join(out) + "\n</section>"


def _needs_attention(change: dict[str, Any]) -> bool:
    return any(v not in ("pass", "not_applicable") for v in change.get("verdicts", {}).values())


def _change_row(change: dict[str, Any]) -> str:
    stages = {s.get("stage"): s for s in change.get("timeline", [])}
    merge = stages.get("merge") or {}
    cells = "".join(_mark(stages.get(key)) for key, _ in STAGES)
    verdicts = change.get("verdicts", {})
    passed = sum(1 for v in verdicts.values() if v == "pass")
    other = sum(1 for v in verdicts.values() if v == "not_applicable")
    rules = " ".join(badge(v, f"{rule_id}: {STATUS_LABEL.get(v, v)}") for rule_id, v in verdicts.items()
                     if v not in ("pass", "not_applicable"))
    sha = link(f"<code>{esc(change.get('short'))}</code>", merge.get("url"))
    return (f"<tr><td>{_in_target(change)}{sha}</td><td>{esc(change.get('subject'))}</td>{cells}"
            f"<td>{rules + ' ' if rules else ''}{passed} pass, {other} n/a</td></tr>")


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


_DIFF_PARTS = (("new", "New failures", "fail"), ("fixed", "Fixed", "pass"), ("still_failing", "Still failing", "fail"),
               ("now_waived", "Now waived", "waived"), ("gone", "No longer judged (left the window)", "not_applicable"),
               ("new_pending", "Newly pending", "pending"), ("still_pending", "Still pending", "pending"),
               ("pending_passed", "Pending → passed", "pass"))


def _diff(doc: dict[str, Any]) -> str:
    diff = doc.get("diff")
    if not diff:
        return ""
    prev = diff.get("previous") or {}
    c = diff.get("counts", {})
    chips = " ".join(badge(cls, f"{c.get(key, 0)} {label.split(' (')[0].lower()}") for key, label, cls in _DIFF_PARTS)
    out = [
        "<section>\n<h2>Since the previous audit</h2>",
        f"<p>Compared with the report collected {esc(prev.get('collected_at'))} "
        f"(snapshot <code>{esc(prev.get('digest'))}</code>). A pending finding that failed since counts as a new "
        "failure.</p>",
        f'<div class="counts">{chips}</div>',
    ]
    for key, label, _cls in _DIFF_PARTS:
        entries = diff.get(key) or []
        if not entries:
            continue
        rows = "\n".join(
            f"<tr><td><code>{esc(e.get('rule_id'))}</code></td><td>{esc(e.get('subject_type'))} "
            f"<code>{esc(e.get('subject'))}</code></td><td>{badge(e.get('previous') or 'not_applicable', e.get('previous') or 'absent')}"
            f" → {badge(e.get('current') or 'not_applicable', e.get('current') or 'absent')}</td><td>{esc(e.get('message'))}</td></tr>"
            for e in entries
        )
        out.append(f"<h3>{esc(label)} ({len(entries)})</h3>\n<table>\n"
                   f"<tr><th>Rule</th><th>Subject</th><th>Verdict</th><th>Message</th></tr>\n{rows}\n</table>")
    return "\n".join(out) + "\n</section>"


_WAIVER_PARTS = (("applied", "Applied"), ("expiring", "Expiring soon"), ("expired", "Expired (no longer applied)"),
                 ("errors_not_waived", "Not applied: matched only findings that could not be evaluated"),
                 ("pending_not_waived", "Not applied: matched only pending findings (applies if they fail)"),
                 ("unused", "Unused (matched no failing finding)"))


def _waivers(doc: dict[str, Any]) -> str:
    waivers = doc.get("waivers")
    if waivers is None:
        return ""
    head = "<section>\n<h2>Waivers</h2>"
    never = ("Findings that could not be evaluated (<em>error</em>) or not judged yet (<em>pending</em>) are never "
             "waived.")
    if not waivers.get("file"):
        return f"{head}\n<p>No waiver file was given. {never}</p>\n</section>"
    out = [head, f"<p>From <code>{esc(waivers.get('file'))}</code> at {esc(waivers.get('evaluated_at'))} · max span "
           f"{esc(waivers.get('max_days'))} days · warning {esc(waivers.get('warn_days'))} days before expiry. {never}</p>"]
    for key, label in _WAIVER_PARTS:
        items = waivers.get(key) or []
        out.append(f"<h3>{esc(label)} ({len(items)})</h3>")
        if not items:
            continue
        rows = []
        for w in items:
            (kind, value), = (w.get("subject") or {"?": "?"}).items()
            left = w.get("days_left", 0)
            when = f"{left} day(s) left" if left >= 0 else f"expired {-left} day(s) ago"
            hits = ", ".join(f"<code>{esc(f.get('subject'))}</code>" for f in w.get("findings", []))
            note = f"<div>not applied to some: {esc(w['note'])}</div>" if w.get("note") else ""
            rows.append(
                f"<tr><td><code>{esc(w.get('rule_id'))}</code></td><td>{esc(kind)} <code>{esc(value)}</code></td>"
                f"<td>{esc(w.get('owner'))}</td><td>{esc(w.get('ticket'))}</td>"
                f"<td>{esc(w.get('expires'))}<div class=\"muted\">{esc(when)}</div></td>"
                f"<td>{esc(w.get('reason'))}<div class=\"muted\">line {esc(w.get('line'))}</div>{note}</td><td>{hits}</td></tr>"
            )
        out.append("<table>\n<tr><th>Rule</th><th>Subject</th><th>Owner</th><th>Ticket</th><th>Expires</th>"
                   "<th>Reason</th><th>Findings</th></tr>\n" + "\n".join(rows) + "\n</table>")
    return "\n".join(out) + "\n</section>"


def _not_evaluated(doc: dict[str, Any]) -> str:
    items = doc.get("not_evaluated", [])
    if not items:
        return "<section>\n<h2>Not evaluated</h2>\n<p>Everything was evaluated.</p>\n</section>"
    rows = "\n".join(
        f"<tr><td><code>{esc(i.get('rule_id'))}</code></td><td><code>{esc(i.get('subject'))}</code></td>"
        f"<td>{esc(i.get('reason'))}</td></tr>"
        for i in items
    )
    return (
        f"<section>\n<h2>Not evaluated ({len(items)})</h2>\n<table>\n"
        f"<tr><th>Rule</th><th>Subject</th><th>Reason</th></tr>\n{rows}\n</table>\n</section>"
    )


def _footer(doc: dict[str, Any]) -> str:
    snap = doc.get("snapshot", {})
    window = snap.get("window", {})
    tool = doc.get("tool", {})
    rules = "".join(
        f"<li><code>{esc(path)}</code> <code>{esc(digest)}</code></li>"
        for path, digest in snap.get("rules", {}).items()
    )
    return (
        "<footer>\n"
        f"<p>Snapshot <code>{esc(snap.get('digest'))}</code> collected {esc(snap.get('collected_at'))} · window "
        f"{esc(window.get('since'))} → {esc(window.get('until'))} on <code>{esc(window.get('branch'))}</code> · "
        f"{esc(tool.get('name'))} {esc(tool.get('version'))} · report version {esc(doc.get('report_version'))}</p>\n"
        f"<p>Rule files:</p><ul>{rules}</ul>\n"
        "</footer>"
    )
