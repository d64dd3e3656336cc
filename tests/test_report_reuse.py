"""What the renderers remember to go faster (issue 18) never shows one thing for another.

The overview's events are read once per document for every format (``timeline_view.one_reading``), the
HTML escaping of a string is remembered (``html_view.esc``) and a change row's stage cell is shared by
the rows showing the same stage (``html._cell``). Each test renders with and without the shortcut, or
feeds it data shaped to be confused with what it remembered: a list changed after a reading, two
documents in one block, a hidden character that must be masked with the secrets of the moment, two
stages alike but for their state.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from compliance.base.timeutil import iso
from compliance.report import html, render_all
from compliance.report import html_view as hv
from compliance.report import timeline_view as tv

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
TOKEN = "ghp_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6"


def _stage(stage, state, at, label, url=None):
    return {"stage": stage, "state": state, "time": iso(at), "label": label, "url": url, "detail": ""}


def _change(i, run_state="ok", verdict="pass", run_label=None):
    at = T0 + timedelta(hours=i)
    return {
        "sha": f"{i:040x}", "short": f"{i:012x}", "kind": "squash", "pr": i, "subject": f"change {i}",
        "author": "a", "committed_at": iso(at), "task_ids": [], "files_in_scope": ["x.py"],
        "timeline": [_stage("merge", "ok", at, f"{i:012x} merged"),
                     _stage("workflow_run", run_state, at + timedelta(minutes=4), run_label or f"run {i}",
                            "https://github.com/o/r/actions/runs/7"),
                     _stage("lambda_update", "ok", at + timedelta(minutes=5), "deployed by run"),
                     _stage("worklog", "ok", at + timedelta(minutes=20), "ENC-TSK-1: recorded")],
        "verdicts": {"R-1": verdict},
    }


def _doc(changes):
    return {"snapshot": {"window": {"since": iso(T0), "until": iso(T0 + timedelta(days=30)), "branch": "main"},
                         "collected_at": iso(T0 + timedelta(days=30)), "target": {"name": "t"}},
            "changes": changes, "findings": [], "rules": [], "summary": {}, "sources": []}


def test_the_overview_is_read_once_for_every_format_of_a_document(monkeypatch):
    readings = []
    real = tv._overview_events
    monkeypatch.setattr(tv, "_overview_events", lambda changes: readings.append(changes) or real(changes))
    doc = _doc([_change(i) for i in range(5)])
    out = render_all(doc, ["md", "html"])
    assert len(readings) == 1
    assert "merges 5" in out["md"] and "Window at a glance" in out["html"]


def test_a_reading_is_not_kept_past_its_block_nor_lent_to_another_document():
    """The same list changed between two renders shows its new state; two documents in one block each
    show their own changes (the reading is keyed by the list itself, not by what it looks like)."""
    changes = [_change(i) for i in range(3)]
    first = render_all(_doc(changes), ["md"])["md"]
    changes.append(_change(3, run_state="failed", verdict="fail"))
    second = render_all(_doc(changes), ["md"])["md"]
    assert "merges 3" in first and "merges 4" in second and "1 failing" in second
    with tv.one_reading():
        a = tv.overview_events([_change(i) for i in range(2)])
        b = tv.overview_events([_change(i) for i in range(7)])
        assert len(a["merge"]) == 2 and len(b["merge"]) == 7
    assert tv.overview_events(changes) == tv._overview_events(changes)


def test_escaping_is_remembered_only_for_text_that_depends_on_nothing_else(monkeypatch):
    """A string with a hidden character inside a token is masked after stripping it, with the secrets
    of the moment: it is never answered from what an earlier call saw."""
    assert hv.esc("<b>&\"x\"</b>") == "&lt;b&gt;&amp;&quot;x&quot;&lt;/b&gt;" == hv.esc("<b>&\"x\"</b>")
    hidden = TOKEN[:6] + "\u200b" + TOKEN[6:]
    assert TOKEN[6:] not in hv.esc(hidden) and "***" in hv.esc(hidden)
    assert hidden not in hv._ESCAPED
    secret = "s3cr3t-" + "\u200b" + "value-of-the-moment"
    before = hv.esc(secret)
    monkeypatch.setenv("GITHUB_TOKEN", "s3cr3t-value-of-the-moment")
    assert "value-of-the-moment" in before and hv.esc(secret) == "***"
    assert hv.esc(None) == "" and hv.esc(42) == "42"


def test_escaping_is_bounded(monkeypatch):
    monkeypatch.setattr(hv, "_ESCAPED_MAX", 8)
    for i in range(50):
        assert hv.esc(f"<{i}>") == f"&lt;{i}&gt;"
    assert len(hv._ESCAPED) <= 8


def test_a_row_cell_is_shared_only_by_stages_that_show_the_same():
    """Rows whose runs have one label and URL but different states each show their own state, and every
    row is the one a report without the shortcut shows."""
    changes = [_change(0, run_label="run 7"), _change(1, run_label="run 7"),
               _change(2, run_state="failed", verdict="fail", run_label="run 7"), _change(3, run_label="run 7")]
    seen: dict = {}
    rows = [html._change_row(c, seen) for c in changes]
    assert rows == [html._change_row(c) for c in changes]
    assert rows[1].replace("change 1", "") == rows[3].replace("change 3", "").replace("000000000003", "000000000001")
    assert rows[1].replace("change 1", "") != rows[2].replace("change 2", "").replace("000000000002", "000000000001")
    odd = dict(changes[0], timeline=[dict(changes[0]["timeline"][1], label=["not", "a", "string"])])
    assert html._change_row(odd, seen) == html._change_row(odd)


def test_stage_classes_remembered_while_reading_are_those_judged_one_by_one():
    """Stages alike but for their outcome, a missing stage that is pending and one that is not, and a
    stage whose outcome is not a plain value: every mark gets the class ``stage_class`` gives it."""
    stages = [_stage("workflow_run", "ok", T0, "run 1"), dict(_stage("workflow_run", "ok", T0, "run 2"), outcome="failure"),
              dict(_stage("workflow_run", "ok", T0, "run 3"), outcome="success"),
              dict(_stage("workflow_run", "missing", T0, "run 4"), detail="pending: queued"),
              _stage("workflow_run", "missing", T0, "run 5"), dict(_stage("worklog", "ok", T0, "w"), outcome=["odd"])]
    classes: dict = {}
    assert [tv._class_of(s, classes) for s in stages * 2] == [tv.stage_class(s) for s in stages * 2]
    assert tv._class_of(stages[1], classes) == "error" and tv._class_of(stages[3], classes) == "pending"


def test_the_html_changes_section_is_written_a_row_at_a_time():
    """Past the detail limit each change is its own piece of the stream (at 100,000 commits the section
    joined into one string held ~250 MB while the page was written), and the pieces make the page the
    render gives: every change once, attention first, the passing ones in their table."""
    n = hv.DETAIL_LIMIT + 40
    changes = [_change(i, run_state="failed", verdict="fail") if i % 7 == 0 else _change(i) for i in range(n)]
    pieces = list(html.stream(_doc(changes)))
    page = "".join(pieces)
    assert page == html.render(_doc(changes))
    start = next(i for i, p in enumerate(pieces) if "<h2>Changes (" in p)
    end = pieces.index("\n</section>\n", start)
    inside = pieces[start + 1:end]
    rows = [p for p in inside if p.startswith("\n<tr>")]
    assert len(rows) == n - min(hv.DETAIL_LIMIT, sum(1 for i in range(n) if i % 7 == 0))
    card = max(len(p) for p in inside if p.startswith('\n<div class="card'))
    assert max(len(p) for p in inside) <= max(card, max(map(len, rows)))  # no piece holds more than one change
    assert len("".join(inside)) > 50 * card
    assert page.count("change(s) need attention") == 1 and all(f"change {i}<" in page for i in range(n))
