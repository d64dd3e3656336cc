"""The HTML report's summary sections: header, targets, sources, rules, diff, waivers, not evaluated, footer.

The sections about what was judged (findings and the per-change timeline) stay in ``html``; these
ones describe the run around them and change for other reasons.
"""

from __future__ import annotations

from typing import Any

from compliance.model.causes import collection_phrase, source_notes
from compliance.model.findings import VERDICTS, verdict_text
from compliance.report.html_view import STATUS_LABEL, STATUSES, badge, esc


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
        # the cause once: one warning per retry (the same URL and exception each time) becomes a count
        folded = source_notes(src)
        err_html = f"<strong>{esc(err.get('type'))}</strong>: {esc(err.get('message'))}" if err else ""
        if folded.retries:
            cause = f": {esc(folded.retry_cause)}" if folded.retry_cause else ""
            err_html += f'<div class="muted">{esc(folded.retry_phrase())}{cause}</div>'
        warnings = "".join(f'<div class="muted">warning: {esc(w)}</div>' for w in folded.warnings)
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
    took = collection_phrase(doc.get("sources", []))
    return (
        '<section>\n<h2>Sources</h2>\n<table class="sources">\n'
        "<tr><th>Source</th><th>Status</th><th>Kind</th><th>Requested</th><th>Requests</th><th>Cached</th>"
        "<th>ms</th><th>Error / warnings</th></tr>\n" + "\n".join(rows) + "\n</table>\n"
        + (f'<p class="muted">{esc(took[0].upper() + took[1:])}.</p>\n' if took else "") + "</section>"
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
