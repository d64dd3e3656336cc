"""The per-change timeline says what the checks judged, with the rules' own parameters (issue 14).

The report used to re-judge the Lambda stage with its own 120 s slack and its own health test, so
a rule with ``tolerance_seconds: 600`` passed "LastModified falls in the deploy of run N" while the
same change's timeline said the update had been superseded; and with a stricter rule the timeline
said "ok" next to a failing finding. Each case here asserts the finding and the timeline agree in
report.json and in the rendered Markdown / HTML.
"""

from __future__ import annotations

import re

import jsonschema
import pytest

from compliance.judge.engine import evaluate
from compliance.model.snapshot import load_schema
from compliance.report import html as html_report
from compliance.report import markdown as md_report
from compliance.report.document import build_report
from tests.scenario import build_repo, lambda_data, make_rule, run, snapshot

RUN_ID = 13415262628
DEPLOY = ("2026-02-26T12:03:00Z", "2026-02-26T12:06:00Z")  # the deploy step of run RUN_ID
FIVE_MIN_AFTER = "2026-02-26T12:11:00.000+0000"  # LastModified 300 s after the deploy step ended
WORKLOG = ("Deployed commit {sha} via api-mcp-backend-deploy; devops-coordination-api "
           "LastModified=2026-02-26T12:11:00.000+0000 State=Active LastUpdateStatus=Successful; -> 200")


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return build_repo(tmp_path_factory.mktemp("repo") / "enceladus")


def _snap(repo, *, modified=FIVE_MIN_AFTER, state="Active", update="Successful", history=None):
    r, s = repo
    runs = [run(RUN_ID, s["squash"], "success", "2026-02-26T12:01:00Z", "2026-02-26T12:09:00Z", deploy=DEPLOY)]
    items = {"ENC-TSK-326": {"item_id": "ENC-TSK-326", "history": history if history is not None else [
        {"timestamp": "2026-02-26T12:30:00Z", "status": "worklog", "description": WORKLOG.format(sha=s["squash"][:8])}]}}
    return snapshot(r.path, github={"workflow": "x", "runs": runs}, tracker={"project": "p", "items": items,
                                                                             "missing": []},
                    **{"lambda": lambda_data(state=state, update=update, modified=modified)})


def _report(snap, rules):
    doc = build_report(snap, rules, evaluate(snap, rules), "audit")
    jsonschema.Draft202012Validator(load_schema("report")).validate(doc)
    return doc


def _rules(tolerance: int, **state_params):
    return [make_rule("deploy_coverage", rule_id="T-001"),
            make_rule("lambda_deploy_match", {"tolerance_seconds": tolerance}, rule_id="T-002"),
            make_rule("lambda_state", state_params, rule_id="T-003"),
            make_rule("worklog_evidence", rule_id="T-004")]


def _finding(doc, rule_id, subject=None):
    return next(f for f in doc["findings"] if f["rule_id"] == rule_id and (subject is None or f["subject"] == subject))


def _stages(doc, sha):
    change = next(c for c in doc["changes"] if c["sha"] == sha)
    return {t["stage"]: t for t in change["timeline"]}


def _md_cells(doc, short):
    """The Markdown changes-table cells (merge, run, Lambda, worklog) of one change."""
    md = re.sub(r"### By cause\n.*?\n\n(?=###)", "", md_report.render(doc), flags=re.S)  # its examples name changes
    row = next(line for line in md.splitlines() if line.startswith("| ") and short in line)
    return [c.strip() for c in row.split("|")[2:6]]


def test_rule_tolerance_decides_the_timeline_too(repo):
    """The issue's case: tolerance_seconds 600, LastModified 300 s after the deploy step."""
    _, s = repo
    doc = _report(_snap(repo), _rules(600))
    match = _finding(doc, "T-002")
    assert match["status"] == "pass" and f"falls in the deploy of run {RUN_ID}" in match["message"]
    lam = _stages(doc, s["squash"])["lambda_update"]
    assert lam["state"] == "ok"
    assert f"the live code comes from run {RUN_ID}" in lam["detail"] and "superseded" not in lam["detail"]
    older = _stages(doc, s["pr"])["lambda_update"]  # covered by the same run, so its code is live too
    assert older["state"] == "ok" and f"run {RUN_ID}" in older["detail"] and "superseded" not in older["detail"]
    page = html_report.render(doc)
    assert f"the live code comes from run {RUN_ID}" in page and "superseded since" not in page
    assert _md_cells(doc, s["squash"][:12])[2] == "✓"
    assert "T-002" not in md_report.render(doc).split("### Passing")[0]  # not among failures


def test_stricter_tolerance_fails_the_finding_and_the_timeline(repo):
    """The lying case the other way: the old 120 s slack said "ok, live from the run" while a rule with
    tolerance_seconds 0 judged the same LastModified an out-of-band update."""
    _, s = repo
    doc = _report(_snap(repo, modified="2026-02-26T12:07:00.000+0000"), _rules(0))
    match = _finding(doc, "T-002")
    assert match["status"] == "fail" and "out-of-band" in match["message"]
    lam = _stages(doc, s["squash"])["lambda_update"]
    assert lam["state"] == "failed" and "no canonical deploy" in lam["detail"]
    assert f"the live code comes from run {RUN_ID}" not in lam["detail"]
    page = html_report.render(doc)
    assert f"the live code comes from run {RUN_ID}" not in page
    assert _md_cells(doc, s["squash"][:12])[2] == "✗"


def test_health_comes_from_the_lambda_state_rule(repo):
    """A rule expecting another LastUpdateStatus: the timeline uses the rule's expectation, not its own."""
    _, s = repo
    doc = _report(_snap(repo, modified="2026-02-26T12:05:00.000+0000", update="InProgress"),
                  _rules(120, last_update_status="InProgress"))
    assert _finding(doc, "T-003")["status"] == "pass"
    assert _stages(doc, s["squash"])["lambda_update"]["state"] == "ok"
    strict = _report(_snap(repo, modified="2026-02-26T12:05:00.000+0000", update="InProgress"), _rules(120))
    assert _finding(strict, "T-003")["status"] == "fail"
    assert _stages(strict, s["squash"])["lambda_update"]["state"] == "failed"


def test_worklog_stage_follows_the_deciding_entry(repo):
    """A pass followed by a failure of the same deploy: the finding fails, and so does the timeline
    (it used to show "ok" because some passing entry existed)."""
    _, s = repo
    sha = s["squash"][:8]
    history = [
        {"timestamp": "2026-02-26T12:30:00Z", "status": "worklog", "description": WORKLOG.format(sha=sha)},
        {"timestamp": "2026-02-26T13:00:00Z", "status": "worklog",
         "description": f"Re-validated {sha}: GET /api/v1/coordination/capabilities -> 500; validation failed"},
    ]
    doc = _report(_snap(repo, history=history), _rules(600))
    finding = _finding(doc, "T-004", f"ENC-TSK-326@{s['squash'][:12]}")
    assert finding["status"] == "fail"
    stage = _stages(doc, s["squash"])["worklog"]
    assert stage["state"] == "failed" and "failed" in stage["label"]
    assert _md_cells(doc, s["squash"][:12])[3] == "✗"


def test_pending_worklog_evidence_says_not_due_yet(repo):
    """Within the grace the check says pending; the stage says the evidence is not due yet."""
    r, s = repo
    snap = _snap(repo, history=[])
    snap["collected_at"] = "2026-02-26T13:00:00Z"
    doc = _report(snap, _rules(600))
    assert _finding(doc, "T-004", f"ENC-TSK-326@{s['squash'][:12]}")["status"] == "pending"
    stage = _stages(doc, s["squash"])["worklog"]
    assert stage["state"] == "missing" and "not due yet" in stage["label"]


def test_pending_coverage_shows_the_running_run_not_a_failure(repo):
    """A re-run still in progress: deploy_coverage says pending, and the run stage is not "failed"."""
    r, s = repo
    running = run(RUN_ID, s["squash"], None, "2026-02-26T12:01:00Z", "2026-02-26T12:09:00Z", status="in_progress")
    snap = snapshot(r.path, github={"workflow": "x", "runs": [running]},
                    tracker={"project": "p", "items": {}, "missing": []}, **{"lambda": lambda_data()})
    snap["collected_at"] = "2026-02-26T12:30:00Z"
    doc = _report(snap, [make_rule("deploy_coverage")])
    assert _finding(doc, "T-001", s["squash"][:12])["status"] == "pending"
    stage = _stages(doc, s["squash"])["workflow_run"]
    assert stage["state"] == "missing" and stage["detail"].startswith("pending: ") and f"run {RUN_ID}" in stage["label"]
    assert _md_cells(doc, s["squash"][:12])[1] != "✗"


def test_live_code_from_a_recorded_manual_deploy(repo):
    """No run, a passing manual deploy-script run recorded with the function's LastModified: the
    coverage and deploy-match findings pass, and the Lambda stage names that record (it used to say
    "no successful canonical deploy of this change")."""
    _, s = repo
    manual = ("Ran backend/lambda/coordination_api/deploy.sh by hand; deployed commit {sha}; "
              "LastModified=2026-02-26T12:05:00.000+0000 State=Active LastUpdateStatus=Successful; "
              "GET /api/v1/coordination/capabilities -> 200")
    snap = _snap(repo, modified="2026-02-26T12:05:00.000+0000", history=[
        {"timestamp": "2026-02-26T12:30:00Z", "status": "worklog", "description": manual.format(sha=s["squash"][:9])}])
    snap["sources"]["github"]["data"]["runs"] = []
    doc = _report(snap, _rules(120))
    assert _finding(doc, "T-001", s["squash"][:12])["status"] == "pass"
    assert _finding(doc, "T-002")["status"] == "pass"
    lam = _stages(doc, s["squash"])["lambda_update"]
    assert lam["state"] == "ok" and "manual deploy-script run recorded in ENC-TSK-326" in lam["detail"]
    # the squash commit contains the earlier PR merge, so that deploy covered it as well
    assert _finding(doc, "T-001", s["pr"][:12])["status"] == "pass"
    assert _stages(doc, s["pr"])["lambda_update"]["state"] == "ok"


def test_without_runs_the_run_and_update_stages_say_so_and_never_pass(repo):
    """The covering run is looked for once per change for both stages (issue 18): with the GitHub source
    failed, the run stage is unknown and the update stage cannot credit a run, whatever the function shows."""
    r, s = repo
    items = {"ENC-TSK-326": {"item_id": "ENC-TSK-326", "history": [
        {"timestamp": "2026-02-26T12:30:00Z", "status": "worklog", "description": WORKLOG.format(sha=s["squash"][:8])}]}}
    snap = snapshot(r.path, github=RuntimeError("GitHub API down"),
                    tracker={"project": "p", "items": items, "missing": []},
                    **{"lambda": lambda_data(modified=FIVE_MIN_AFTER)})
    doc = _report(snap, _rules(600))
    assert doc["changes"]
    for change in doc["changes"]:
        stages = {t["stage"]: t for t in change["timeline"]}
        assert stages["workflow_run"]["state"] == "unknown"
        assert stages["workflow_run"]["label"] == "workflow runs not available"
        assert stages["lambda_update"]["state"] != "ok"
        assert change["verdicts"]["T-001"] == "error"
