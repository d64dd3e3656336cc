"""The per-change chain merge -> run -> Lambda update -> worklog in the report document."""

from __future__ import annotations

import json

import jsonschema
import pytest

from compliance.judge.engine import evaluate
from compliance.model.snapshot import load_schema
from compliance.report.document import build_report
from tests.scenario import build_repo, lambda_data, make_rule, run, snapshot

GOOD = ("Deployed commit {sha} via api-mcp-backend-deploy; devops-coordination-api "
        "LastModified=2026-02-26T12:05:00.000+0000 State=Active LastUpdateStatus=Successful; -> 200")


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return build_repo(tmp_path_factory.mktemp("repo") / "enceladus")


def _doc(snap, *kinds):
    rules = [make_rule(k, rule_id=f"T-00{i}") for i, k in enumerate(kinds, 1)]
    doc = build_report(snap, rules, evaluate(snap, rules), "audit")
    jsonschema.Draft202012Validator(load_schema("report")).validate(doc)
    return doc


def _timeline(doc, sha):
    change = next(c for c in doc["changes"] if c["sha"] == sha)
    return {t["stage"]: t for t in change["timeline"]}


def test_chain_for_deployed_superseded_and_undeployed_changes(repo):
    r, s = repo
    runs = [run(2, s["squash"], "success", "2026-02-26T12:01:00Z", "2026-02-26T12:09:00Z",
                deploy=("2026-02-26T12:03:00Z", "2026-02-26T12:06:00Z")),
            run(3, s["direct"], "failure", "2026-03-01T12:01:00Z", "2026-03-01T12:09:00Z")]
    items = {"ENC-TSK-326": {"item_id": "ENC-TSK-326", "history": [
        {"timestamp": "2026-02-26T12:30:00Z", "status": "worklog", "description": GOOD.format(sha=s["squash"][:8])}]}}
    snap = snapshot(r.path, github={"workflow": "x", "runs": runs},
                    tracker={"project": "p", "items": items, "missing": []},
                    **{"lambda": lambda_data(modified="2026-02-26T12:05:00.000+0000")})
    doc = _doc(snap, "deploy_coverage", "worklog_evidence")
    pr = _timeline(doc, s["pr"])  # covered by run 2 of the later squash commit, which is live
    assert pr["workflow_run"]["state"] == "ok" and "later commit" in pr["workflow_run"]["detail"]
    assert pr["lambda_update"]["state"] == "ok" and "run 2" in pr["lambda_update"]["detail"]
    assert pr["worklog"]["state"] == "missing"  # ENC-TSK-325 has no evidence
    sq = _timeline(doc, s["squash"])
    assert sq["worklog"]["state"] == "ok" and sq["merge"]["url"].endswith(s["squash"])
    direct = _timeline(doc, s["direct"])
    assert direct["workflow_run"]["state"] == "failed" and direct["lambda_update"]["state"] == "missing"
    assert direct["worklog"]["state"] == "missing"  # names no task
    assert next(c for c in doc["changes"] if c["sha"] == s["direct"])["verdicts"] == {"T-001": "fail",
                                                                                      "T-002": "not_applicable"}


def test_successful_run_that_did_not_update_the_function(repo):
    """The tombstone case: the run succeeded but LastModified predates it."""
    r, s = repo
    runs = [run(3, s["direct"], "success", "2026-03-01T12:01:00Z", "2026-03-01T12:09:00Z")]
    snap = snapshot(r.path, github={"workflow": "x", "runs": runs},
                    **{"lambda": lambda_data(modified="2026-02-20T00:00:00.000+0000")})
    stage = _timeline(_doc(snap, "deploy_coverage"), s["direct"])["lambda_update"]
    assert stage["state"] == "missing" and "deployed nothing" in stage["detail"]


def test_failed_sources_show_unknown_stages_and_not_evaluated(repo):
    r, s = repo
    snap = snapshot(r.path, github=RuntimeError("502"), tracker=RuntimeError("throttled"),
                    **{"lambda": RuntimeError("AccessDenied")})
    doc = _doc(snap, "deploy_coverage", "worklog_evidence")
    tl = _timeline(doc, s["pr"])
    assert [tl[k]["state"] for k in ("workflow_run", "lambda_update", "worklog")] == ["unknown"] * 3
    assert doc["summary"]["verdict"] == "error" and doc["summary"]["pass"] == 0
    assert {n["rule_id"] for n in doc["not_evaluated"]} == {"T-001", "T-002"}


def test_same_inputs_give_identical_json(repo):
    r, _ = repo
    snap = snapshot(r.path, github={"workflow": "x", "runs": []})
    a = json.dumps(_doc(snap, "deploy_coverage", "tracker_ref"), sort_keys=True)
    b = json.dumps(_doc(json.loads(json.dumps(snap)), "deploy_coverage", "tracker_ref"), sort_keys=True)
    assert a == b
