"""``pending`` (not judged yet) through every part of the product, and the ways it could lie.

Pending findings are built directly (``Finding(...)``) on a real snapshot of a real git
repository, so these tests hold whatever check emits them. What must never happen: a pending
finding read as a pass (headline, check run, diff), read as a failure (exit code, SARIF alert,
JUnit failure, failure annotation), or excused by a waiver.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

import jsonschema
import pytest

from compliance.app.gating import gate
from compliance.app.rulestest import load_cases, run_case
from compliance.inputs.waivers import load_waivers
from compliance.judge.waivers import apply_waivers
from compliance.model.findings import ERROR, FAIL, PASS, PENDING, WAIVED, Finding, exit_code
from compliance.model.snapshot import load_schema
from compliance.publish import github as gh_publish
from compliance.report import RENDERERS
from compliance.report.diff import diff_reports
from compliance.report.document import build_report
from compliance.report.merge import merge_reports
from tests.scenario import FUNCTION, build_repo, lambda_data, make_rule, snapshot

SCHEMA = load_schema("report")
RULE = make_rule("lambda_state", rule_id="T-001")
OTHER = make_rule("lambda_state", rule_id="T-002")
WAITING = "run 7 of abc123 is in_progress since 2026-03-30T23:50:00Z, less than the 6 h grace period"


@pytest.fixture(scope="module")
def snap(tmp_path_factory):
    repo, _ = build_repo(tmp_path_factory.mktemp("repo") / "enceladus")
    return snapshot(repo.path, **{"lambda": lambda_data()})


def pending(subject: str = FUNCTION, rule_id: str = "T-001", severity: str = "critical",
            location: dict | None = None) -> Finding:
    return Finding(rule_id, "function", subject, PENDING, WAITING, check="lambda_state", severity=severity,
                   title="test", location=location)


def other(status: str, subject: str = "other-fn", rule_id: str = "T-002", severity: str = "high") -> Finding:
    return Finding(rule_id, "function", subject, status, f"{status} because", check="lambda_state",
                   severity=severity, title="test")


def doc_of(snap, findings, **kw) -> dict:
    doc = build_report(snap, [RULE, OTHER], findings, "audit", **kw)
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)  # every document here is a valid report
    return doc


# --------------------------------------------------------------------------- summary, verdict, exit code


def test_pending_alone_is_counted_never_gates_and_is_not_called_a_pass(snap):
    doc = doc_of(snap, [pending(), other(PASS)])
    s = doc["summary"]
    assert (s["pending"], s["pass"], s["fail"], s["exit_code"]) == (1, 1, 0, 0)
    assert s["verdict"] == "pending"  # a deploy still running is not a proven pass
    assert doc["rules"][0]["counts"]["pending"] == 1 and doc["rules"][1]["counts"]["pending"] == 0


@pytest.mark.parametrize("fail_on", [None, "critical", "high", "medium", "low", "info"])
def test_pending_never_gates_at_any_threshold(snap, fail_on):
    doc = doc_of(snap, [pending(severity="critical")])
    assert gate(doc, fail_on=fail_on) == 0
    assert gate(doc["findings"], fail_on=fail_on) == 0
    assert gate(doc["summary"]) == 0  # the bare counts agree


def test_pending_does_not_hide_a_failure_or_an_error(snap):
    assert exit_code([pending(), other(FAIL)]) == 1
    assert exit_code([pending(), other(ERROR)]) == 2
    doc = doc_of(snap, [pending(), other(FAIL, severity="low")])
    assert doc["summary"]["verdict"] == "fail"
    assert gate(doc, fail_on="high") == 0 and gate(doc) == 1  # the low failure decides, not the pending one


def test_a_subject_pending_in_one_check_and_failing_in_another_is_failing(snap):
    findings = [pending("fn"), Finding("T-001", "function", "fn", FAIL, "bad", check="lambda_state")]
    previous = {"findings": [{"rule_id": "T-001", "subject_type": "function", "subject": "fn", "status": "pass"}]}
    d = diff_reports(previous, [f.to_dict() for f in findings])
    assert [e["current"] for e in d["new"]] == ["fail"] and d["new_pending"] == []


def test_a_report_claiming_pass_with_pending_findings_is_not_valid_merge_input(snap, tmp_path):
    doc = doc_of(snap, [pending()])
    doc["summary"].pop("pending")  # an older or doctored report that does not say what it left unjudged
    assert not jsonschema.Draft202012Validator(SCHEMA).is_valid(doc)


# --------------------------------------------------------------------------- waivers


def test_a_waiver_never_applies_to_a_pending_finding_and_is_not_called_unused(snap, tmp_path):
    path = tmp_path / "waivers.yaml"
    path.write_text("version: 1\nmax_days: 3660\nwaivers:\n  - rule: T-001\n"
                    f"    subject: {{resource: {FUNCTION}}}\n    owner: alice@example.com\n    reason: accepted\n"
                    "    ticket: SEC-1\n    expires: 2026-06-01\n", "utf-8")
    waivers = load_waivers(str(path), now=datetime(2026, 3, 31, tzinfo=timezone.utc), rule_ids={"T-001", "T-002"})
    snap = {**snap, "collected_at": "2026-03-31T00:00:00Z"}
    findings = [pending()]
    section = apply_waivers(findings, waivers, snap, [RULE, OTHER])
    assert findings[0].status == PENDING and "waived" not in findings[0].message
    assert section["applied"] == [] and section["unused"] == []
    assert [f["subject"] for w in section["pending_not_waived"] for f in w["findings"]] == [FUNCTION]
    doc = doc_of(snap, findings, waivers=section)
    assert doc["summary"]["waived"] == 0 and doc["summary"]["pending"] == 1
    md, html = RENDERERS["md"](doc), RENDERERS["html"](doc)
    assert "Not applied: matched only pending findings" in md and "Not applied: matched only pending findings" in html
    # the same waiver still applies once the finding has been judged a failure
    failing = [Finding("T-001", "function", FUNCTION, FAIL, "bad", check="lambda_state")]
    section = apply_waivers(failing, waivers, snap, [RULE, OTHER])
    assert failing[0].status == WAIVED and section["pending_not_waived"] == []


# --------------------------------------------------------------------------- diff


def _prev(*pairs: tuple[str, str]) -> dict:
    return {"snapshot": {"digest": None, "collected_at": "2026-03-01T00:00:00Z", "window": None},
            "findings": [{"rule_id": "T-001", "subject_type": "function", "subject": s, "status": st}
                         for s, st in pairs]}


def _now(*pairs: tuple[str, str]) -> list[dict]:
    return [{"rule_id": "T-001", "subject_type": "function", "subject": s, "status": st, "message": st}
            for s, st in pairs]


def test_diff_shows_every_pending_transition_in_exactly_one_bucket():
    before = _prev(("a", "pending"), ("b", "pending"), ("c", "pending"), ("d", "pending"), ("e", "fail"),
                   ("f", "pass"), ("h", "pending"), ("i", "pending"))
    now = _now(("a", "pass"), ("b", "fail"), ("c", "pending"), ("e", "pending"), ("f", "pending"), ("g", "pending"),
               ("h", "waived"), ("i", "error"))
    d = diff_reports(before, now)
    buckets = {k: [e["subject"] for e in d[k]] for k in d["counts"]}
    assert buckets == {"new": ["b", "i"], "fixed": [], "still_failing": [], "now_waived": ["h"], "gone": ["d"],
                       "new_pending": ["e", "f", "g"], "still_pending": ["c"], "pending_passed": ["a"]}
    assert [(e["previous"], e["current"]) for e in d["new"]] == [("pending", "fail"), ("pending", "error")]
    assert d["counts"]["pending_passed"] == 1 and d["counts"]["new"] == 2
    everything = [s for v in buckets.values() for s in v]
    assert sorted(everything) == sorted(set(everything))  # no key counted twice


def test_a_failure_turning_pending_is_not_called_fixed():
    d = diff_reports(_prev(("a", "fail")), _now(("a", "pending")))
    assert d["fixed"] == [] and d["still_failing"] == [] and [e["previous"] for e in d["new_pending"]] == ["fail"]


def test_diff_and_every_report_render_pending_transitions(snap):
    prev = {"snapshot": {"digest": None, "collected_at": "2026-03-01T00:00:00Z", "window": None},
            "findings": [{"rule_id": "T-001", "subject_type": "function", "subject": FUNCTION, "status": "pending"},
                         {"rule_id": "T-002", "subject_type": "function", "subject": "other-fn", "status": "pending"}]}
    doc = doc_of(snap, [other(PASS, FUNCTION, "T-001"), other(FAIL)], previous=prev)
    assert doc["diff"]["counts"]["pending_passed"] == 1 and doc["diff"]["new"][0]["previous"] == "pending"
    md, html = RENDERERS["md"](doc), RENDERERS["html"](doc)
    assert "1 pending → passed" in md and "Pending → passed (1)" in md
    assert "pending → fail" in md.replace("\\", "")
    assert "Pending → passed (1)" in html


# --------------------------------------------------------------------------- every format


def test_markdown_first_screen_headline_counts_and_section(snap):
    doc = doc_of(snap, [pending(), other(PASS)])
    md = RENDERERS["md"](doc)
    first = md.split("### Sources")[0]
    assert "PENDING" in first and "1 pending" in first and "PASS" not in first.split("\n")[0]
    assert "### Pending: not judged yet (1)" in md and "do not gate" in md
    section = md.split("### Pending: not judged yet (1)")[1]
    assert "in\\_progress since" in section or "in_progress since" in section


def test_html_pending_has_its_own_colour_badge_and_section(snap):
    doc = doc_of(snap, [pending(), other(PASS)])
    html = RENDERERS["html"](doc)
    assert "--pending:" in html and ".pending{background:var(--pending)}" in html
    assert '<span class="badge verdict pending">PENDING' in html
    assert '<span class="badge pending">1 pending</span>' in html
    assert "<h2>Pending: not judged yet (1)</h2>" in html and 'class="card wait"' in html
    # not listed among the passes
    assert "Passed, waived and not applicable (1)" in html


def test_json_report_is_valid_and_round_trips_pending(snap):
    doc = doc_of(snap, [pending(), other(PASS)])
    again = json.loads(RENDERERS["json"](doc))
    assert again["summary"]["pending"] == 1 and again["findings"][0]["status"] == "pending"


def test_junit_pending_is_skipped_with_the_reason_not_a_failure(snap):
    doc = doc_of(snap, [pending(), other(PASS)])
    root = ET.fromstring(RENDERERS["junit"](doc))
    assert (root.get("failures"), root.get("errors"), root.get("skipped"), root.get("tests")) == ("0", "0", "1", "2")
    skipped = root.findall(".//testcase/skipped")
    assert len(skipped) == 1 and skipped[0].get("message").startswith("pending: run 7")
    assert root.findall(".//failure") == [] and root.findall(".//error") == []


def test_sarif_omits_pending_even_with_a_file_location_but_counts_it(snap):
    located = pending(location={"path": ".github/workflows/deploy.yml", "line": 3})
    doc = doc_of(snap, [located, other(PASS)])
    log = json.loads(RENDERERS["sarif"](doc))
    run = log["runs"][0]
    assert run["results"] == []
    assert run["properties"]["summary"]["pending"] == 1 and run["properties"]["verdict"] == "pending"
    assert run["properties"]["failing_without_location"] == 0


def test_check_run_is_neutral_with_notice_annotations_and_status_success(snap):
    located = pending(location={"path": ".github/workflows/deploy.yml", "line": 3}, severity="critical")
    doc = doc_of(snap, [located])
    assert gh_publish.conclusion(doc) == "neutral" and gh_publish.conclusion(doc, exit_code=0) == "neutral"
    assert gh_publish.status_state(doc) == "success" and gh_publish.status_state(doc, exit_code=0) == "success"
    notes = gh_publish.annotations(doc)
    assert [(n["annotation_level"], n["message"].split(":")[0]) for n in notes] == [("notice", "pending (not judged yet)")]
    assert "1 pending" in gh_publish.counts_phrase(doc["summary"])
    # a pass stays a success, and a failure next to a pending finding still fails the check
    assert gh_publish.conclusion(doc_of(snap, [other(PASS)])) == "success"
    assert gh_publish.conclusion(doc_of(snap, [located, other(FAIL)])) == "failure"


def test_merged_report_sums_pending_and_names_the_pending_target(snap):
    a = doc_of(snap, [pending(), other(PASS)])
    b = doc_of(snap, [other(PASS), other(PASS, FUNCTION, "T-001")])
    merged = merge_reports([("a", a, "a/report.json"), ("b", b, "b/report.json")])
    jsonschema.Draft202012Validator(SCHEMA).validate(merged)
    assert merged["summary"]["pending"] == 1 and merged["summary"]["verdict"] == "pending"
    assert [(t["name"], t["verdict"], t["counts"]["pending"]) for t in merged["targets"]] == [
        ("a", "pending", 1), ("b", "pass", 0)]
    assert next(r for r in merged["rules"] if r["id"] == "T-001")["counts"]["pending"] == 1
    assert "| a | ⏳ pending |" in RENDERERS["md"](merged)


def test_console_summary_counts_and_lists_pending_after_failures(snap, tmp_path, capsys):
    from compliance.cli.printing import print_summary

    doc = doc_of(snap, [pending(), other(FAIL)])
    print_summary(doc, {})
    out = capsys.readouterr().out
    assert "verdict: FAIL" in out and "pending 1" in out
    lines = out.splitlines()
    fail_at = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith("FAIL"))
    pend_at = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith("PENDING"))
    assert fail_at < pend_at and WAITING[:40] in lines[pend_at]


# --------------------------------------------------------------------------- rules test


def test_rules_test_cases_accept_pending_and_compare_it(tmp_path, snap):
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "T-001.yaml").write_text(
        "version: 1\nrule: T-001\ntarget: {function: devops-coordination-api}\ncases:\n"
        "  - name: still-deploying\n    sources:\n      lambda: {function: devops-coordination-api,\n"
        "               configuration: {State: Active, LastUpdateStatus: Successful}}\n"
        "    expect: {devops-coordination-api: pending}\n", "utf-8")
    (case,) = load_cases(str(cases), {"T-001"})
    assert case.expect == {"devops-coordination-api": "pending"}
    result = run_case(case, RULE)
    assert not result.passed and "expected pending got pass" in result.mismatches[0]


def test_rules_test_rejects_a_misspelt_pending(tmp_path):
    from compliance.base.errors import InputError

    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "T-001.yaml").write_text(
        "version: 1\nrule: T-001\ncases:\n  - name: x\n    sources: {lambda: {error: AccessDenied}}\n"
        "    expect: {devops-coordination-api: pendng}\n", "utf-8")
    with pytest.raises(InputError) as exc:
        load_cases(str(cases), {"T-001"})
    assert "T-001.yaml:6" in str(exc.value)
