"""The "Controls" section of the Markdown and HTML reports, from the document's ``controls`` view.

One row per control: its verdict, the rules mapped to it with their counts, and the first subjects
that failed or could not be evaluated (the JSON keeps them all). The rules tied to no control are
named under the table, so an auditor sees which evidence falls under no heading. Text goes through
each format's own escaping (``markdown_text``, ``html_view``) like every other section.
"""

from __future__ import annotations

from typing import Any

from compliance.model.findings import STATUSES
from compliance.report.controls import unmapped_rules
from compliance.report.html_view import STATUS_LABEL, badge, esc
from compliance.report.markdown_sections import _Section
from compliance.report.markdown_text import STATUS_MARK, code, text

SHOWN_SUBJECTS = 5  # failing subjects per control in Markdown and HTML; report.json lists every one
_COUNTED = ("pass", "fail", "error", "pending", "waived")


def _counts_text(counts: dict[str, Any]) -> str:
    return " · ".join(f"{counts[s]} {STATUS_LABEL[s]}" for s in STATUSES if counts.get(s)) or "no findings"


def markdown_section(doc: dict[str, Any]) -> _Section | None:
    controls = doc.get("controls") or []
    if not controls:
        return None
    section = _Section("controls", [
        f"### Controls ({len(controls)})", "",
        "| Control | Verdict | Rules | " + " | ".join(STATUS_LABEL[s] for s in _COUNTED) + " | Not passing |",
        "| --- | --- | --- |" + " ---: |" * len(_COUNTED) + " --- |",
    ], "controls")
    for control in controls:
        if section.full:
            section.skip()
            continue
        counts = control.get("counts", {})
        rules = ", ".join(text(r.get("id"), 60) for r in control.get("rules", []))
        failing = control.get("failing", [])
        shown = ", ".join(
            f"{STATUS_MARK.get(f.get('status'), '?')} {text(f.get('rule_id'), 60)} "
            f"{text(f['target'] + ': ', 100) if f.get('target') else ''}"
            f"{code(f.get('subject'), 80, in_table=True)}"
            for f in failing[:SHOWN_SUBJECTS])
        if len(failing) > SHOWN_SUBJECTS:
            shown += f" … and {len(failing) - SHOWN_SUBJECTS} more"
        verdict = control.get("verdict")
        section.add(
            f"| {code(control.get('control'), 60, in_table=True)} | {STATUS_MARK.get(verdict, '')} "
            f"{text(STATUS_LABEL.get(verdict, verdict), 20)} | {rules} | "
            + " | ".join(text(counts.get(s, 0), 10) for s in _COUNTED) + f" | {shown} |", counted=True)
    loose = unmapped_rules(doc.get("rules", []))
    section.add(["", f"Rules mapped to no control: {', '.join(text(r, 60) for r in loose)}." if loose
                 else "Every rule is mapped to at least one control.", ""])
    return section


def html_section(doc: dict[str, Any]) -> str:
    controls = doc.get("controls") or []
    if not controls:
        return ""
    rows = []
    for control in controls:
        rules = "<br>".join(
            f"<code>{esc(r.get('id'))}</code> {esc(r.get('title'))} "
            f'<span class="muted">({esc(_counts_text(r.get("counts", {})))})</span>'
            for r in control.get("rules", []))
        failing = control.get("failing", [])
        items = "".join(
            f"<li>{badge(f.get('status'))} <code>{esc(f.get('rule_id'))}</code> "
            f"{'<strong>' + esc(f['target']) + '</strong> · ' if f.get('target') else ''}"
            f"{esc(f.get('subject_type'))} <code>{esc(f.get('subject'))}</code></li>"
            for f in failing[:SHOWN_SUBJECTS])
        more = (f'<li class="muted">… and {len(failing) - SHOWN_SUBJECTS} more in report.json</li>'
                if len(failing) > SHOWN_SUBJECTS else "")
        cell = f"<ul>{items}{more}</ul>" if failing else '<span class="muted">none</span>'
        rows.append(
            "<tr>"
            f"<td><code>{esc(control.get('control'))}</code>"
            f'<div class="muted">{esc(control.get("framework"))}</div></td>'
            f"<td>{badge(control.get('verdict'))}</td>"
            f"<td>{rules}</td>"
            f"<td>{cell}</td>"
            "</tr>")
    loose = unmapped_rules(doc.get("rules", []))
    note = (f"Rules mapped to no control: {', '.join(f'<code>{esc(r)}</code>' for r in loose)}." if loose
            else "Every rule is mapped to at least one control.")
    return ("<section>\n<h2>Controls</h2>\n"
            '<p class="muted">Each rule file maps its rules to framework controls; a control\'s counts are its '
            "rules' findings added up.</p>\n<table>\n"
            "<tr><th>Control</th><th>Verdict</th><th>Rules (findings)</th><th>Not passing</th></tr>\n"
            + "\n".join(rows) + f"\n</table>\n<p>{note}</p>\n</section>")


__all__ = ["SHOWN_SUBJECTS", "html_section", "markdown_section"]
