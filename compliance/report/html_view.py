"""The HTML report's vocabulary: labels, the stylesheet, and the escaping every section goes through.

Every piece of text reaches the page through ``esc`` and every link through ``safe_url``; keeping them
(and the CSS) apart from the sections means a reviewer checks the safety rules in one short file.
"""

from __future__ import annotations

import html
from typing import Any

from compliance.base.console import INVISIBLE_RE as _INVISIBLE
from compliance.base.redact import strip_hidden
from compliance.base.urls import safe_url
from compliance.model.findings import STATUSES

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
# Past this many changes (or passing findings) a report is an audit of a long history: every change
# that needs attention keeps its full card, passing ones get one row each, and passing findings are
# counted per rule (the Rules table) rather than listed; report.json keeps every one of them (a pass by its subject).
DETAIL_LIMIT = 300
CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
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
table.sources td{overflow-wrap:anywhere}
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
    """``value`` as page text: invisible characters stripped (and the text masked again when any were),
    then HTML-escaped. A page repeats most of its strings (labels, marks, rule ids, run labels shared by
    the merges one run deployed): a string with nothing to strip is escaped once and remembered, as its
    page text depends on it alone; one that had hidden characters depends on the secrets of the moment."""
    if type(value) is str:
        done = _ESCAPED.get(value)
        if done is not None:
            return done
        if _INVISIBLE.search(value) is None:
            done = html.escape(value, quote=True)
            if len(_ESCAPED) >= _ESCAPED_MAX:
                _ESCAPED.clear()  # a bound, not an eviction policy: the cache is only a shortcut
            _ESCAPED[value] = done
            return done
    text = "" if value is None else str(value)
    return html.escape(strip_hidden(_INVISIBLE, text), quote=True)


_ESCAPED: dict[str, str] = {}
_ESCAPED_MAX = 1 << 16


def link(label_html: str, url: Any) -> str:
    """``label_html`` is already escaped; without an http(s) URL it is returned as plain text."""
    href = safe_url(url)
    if not href:
        return label_html
    return f'<a href="{esc(href)}" rel="noopener noreferrer">{label_html}</a>'


def badge(status: Any, text: Any = None) -> str:
    cls = status if status in STATUSES else "error"
    return f'<span class="badge {cls}">{esc(text if text is not None else STATUS_LABEL.get(status, status))}</span>'

