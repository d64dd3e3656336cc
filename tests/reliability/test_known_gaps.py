"""Defects this suite found in the engine and the Markdown reporter, kept as regression tests."""

from __future__ import annotations

import copy
import json

from compliance.judge.engine import evaluate


def test_engine_survives_a_finding_without_subject(demo):
    snap, rules = demo
    snap = copy.deepcopy(snap)
    specs = snap["sources"]["deploy_manager"]["data"]["specs"]
    assert specs
    for spec in specs:  # the one the rule flags (queued_non_ui for the function) is among them
        spec["spec_id"] = None
    statuses = {f.status for f in evaluate(snap, rules)}
    assert statuses


def test_engine_reads_a_non_string_step_name(demo):
    snap, rules = demo
    snap = copy.deepcopy(snap)
    runs = [r for r in snap["sources"]["github"]["data"]["runs"] if r.get("jobs")]
    assert runs
    runs[0]["jobs"][0]["steps"][0]["name"] = True
    crashed = [f for f in evaluate(snap, rules) if "internal error" in f.message]
    assert not crashed, crashed


def test_markdown_renders_a_lone_surrogate():
    from compliance.report import markdown

    doc = json.loads(open(__file__.replace("reliability/test_known_gaps.py", "data/report_doc.json"),
                          encoding="utf-8").read())
    assert "\ud800" in json.dumps(doc, ensure_ascii=False)
    assert markdown.render(doc)
