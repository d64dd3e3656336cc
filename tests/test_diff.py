"""Report diff: new failures, fixed ones and those still failing, keyed by rule + subject."""

from __future__ import annotations

import jsonschema
import pytest

from compliance.base.errors import InputError
from compliance.cli import main
from compliance.model.snapshot import load_schema, save_snapshot
from compliance.report import render_all
from compliance.report.diff import diff_reports, load_previous
from tests.reportfile import read_report
from tests.scenario import build_repo, lambda_data, snapshot


def _f(rule, subject, status, subject_type="change", message="m"):
    return {"rule_id": rule, "subject_type": subject_type, "subject": subject, "status": status, "message": message}


def test_buckets_new_fixed_still_waived_and_gone():
    previous = {"snapshot": {"digest": "sha256:" + "0" * 64, "collected_at": "2026-03-01T00:00:00Z", "window": None},
                "findings": [_f("R1", "a", "fail"), _f("R1", "b", "fail"), _f("R2", "c", "error"),
                             _f("R3", "d", "fail"), _f("R3", "e", "fail"), _f("R4", "f", "pass")]}
    current = [_f("R1", "a", "fail"), _f("R1", "b", "pass"), _f("R2", "c", "fail"), _f("R3", "d", "waived"),
               _f("R4", "f", "fail"), _f("R5", "g", "error"), _f("R5", "g", "pass")]
    d = diff_reports(previous, current)
    keys = {k: [(e["rule_id"], e["subject"]) for e in d[k]] for k in ("new", "fixed", "still_failing", "now_waived",
                                                                         "gone")}
    # R2 c: could not evaluate before, fails now: new (the earlier run never judged it), as pending -> fail is
    assert keys == {"new": [("R2", "c"), ("R4", "f"), ("R5", "g")], "fixed": [("R1", "b")],
                    "still_failing": [("R1", "a")], "now_waived": [("R3", "d")], "gone": [("R3", "e")]}
    assert d["counts"] == {"new": 3, "fixed": 1, "still_failing": 1, "now_waived": 1, "gone": 1, "new_pending": 0,
                           "still_pending": 0, "pending_passed": 0}
    assert (d["new"][0]["previous"], d["new"][0]["current"]) == ("error", "fail")
    assert d["new"][2]["current"] == "error"  # the worst verdict per key
    assert d["previous"]["collected_at"] == "2026-03-01T00:00:00Z"
    # the same subject under another subject type is another key
    assert diff_reports({"findings": [_f("R1", "a", "fail", "task")]}, [])["gone"][0]["subject_type"] == "task"


def test_previous_report_must_be_a_report(tmp_path):
    bad = tmp_path / "r.json"
    bad.write_text("{\n  nope", "utf-8")
    with pytest.raises(InputError, match=r"r.json:2:3: invalid JSON"):
        load_previous(bad)
    bad.write_text('{"findings": [{"rule_id": 1}]}', "utf-8")
    with pytest.raises(InputError, match="at /findings/0"):
        load_previous(bad)
    bad.write_text("[]", "utf-8")
    with pytest.raises(InputError, match="not a compliance report.json"):
        load_previous(bad)


def test_evaluate_with_previous_renders_the_diff_everywhere(tmp_path, capsys):
    r, s = build_repo(tmp_path / "repo")
    policy = tmp_path / "rules.yaml"
    policy.write_text(
        "version: 1\nrules:\n"
        "  - id: TR-001\n    title: t\n    severity: low\n    rationale: r\n    runbook_section: s\n"
        "    scope: {include: ['backend/lambda/coordination_api/**', 'tools/enceladus-mcp-server/**']}\n"
        "    checks: [{kind: tracker_ref}]\n    remediation: {text: x}\n"
        "  - id: LS-001\n    title: t\n    severity: low\n    rationale: r\n    runbook_section: s\n"
        "    checks: [{kind: lambda_state}]\n    remediation: {text: x}\n", "utf-8")
    before = snapshot(r.path, until="2026-02-28T00:00:00Z", **{"lambda": lambda_data(update="Failed")})
    now = snapshot(r.path, **{"lambda": lambda_data()})
    for name, snap in (("before", before), ("now", now)):
        save_snapshot(snap, tmp_path / name / "snapshot.json")
    assert main(["evaluate", "--snapshot", str(tmp_path / "before" / "snapshot.json"), "--policies", str(policy),
                 "--out", str(tmp_path / "r1")]) == 1
    assert main(["evaluate", "--snapshot", str(tmp_path / "now" / "snapshot.json"), "--policies", str(policy),
                 "--out", str(tmp_path / "r2"), "--previous", str(tmp_path / "r1" / "report.json")]) == 1
    assert "diff     1 new, 1 fixed, 0 still failing" in capsys.readouterr().out
    doc = read_report(tmp_path / "r2" / "report.json")
    jsonschema.Draft202012Validator(load_schema("report")).validate(doc)
    assert [(e["rule_id"], e["subject"]) for e in doc["diff"]["new"]] == [("TR-001", s["direct"][:12])]
    assert [(e["rule_id"], e["previous"], e["current"]) for e in doc["diff"]["fixed"]] == [("LS-001", "fail", "pass")]
    md = (tmp_path / "r2" / "report.md").read_text("utf-8")
    html = (tmp_path / "r2" / "report.html").read_text("utf-8")
    assert "### Since the previous audit" in md and "**New failures (1)**" in md and s["direct"][:12] in md
    assert "<h2>Since the previous audit</h2>" in html and "Fixed (1)" in html
    # without --previous the section is null and nothing is rendered for it
    plain = read_report(tmp_path / "r1" / "report.json")
    assert plain["diff"] is None and "previous audit" not in render_all(plain, ["md"])["md"]


def test_pending_transitions_have_their_own_buckets_and_pending_to_fail_is_new():
    previous = {"findings": [_f("R1", "a", "pending"), _f("R1", "b", "pending"), _f("R1", "c", "pending"),
                             _f("R1", "d", "fail")]}
    current = [_f("R1", "a", "pass"), _f("R1", "b", "fail"), _f("R1", "c", "pending"), _f("R1", "d", "pending"),
               _f("R1", "e", "pending")]
    d = diff_reports(previous, current)
    got = {k: [e["subject"] for e in d[k]] for k in d["counts"] if d[k]}
    assert got == {"pending_passed": ["a"], "new": ["b"], "still_pending": ["c"], "new_pending": ["d", "e"]}
    assert (d["new"][0]["previous"], d["new"][0]["current"]) == ("pending", "fail")
    assert d["fixed"] == []  # d went fail -> pending: not fixed, nothing shows it was
