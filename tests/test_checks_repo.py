"""Checks over repository content and tracker evidence: pass, fail and error, on real repositories."""

from __future__ import annotations

import json

import pytest

from compliance.model.rules import Scope
from tests.gitrepo import GitRepo
from tests.scenario import DEPLOY_SH, GOOD_WORKFLOW, SCOPE, WORKFLOW, build_repo, judge, snapshot, verdicts

GOOD = ("Deployed commit {sha} via api-mcp-backend-deploy; devops-coordination-api "
        "LastModified=2026-03-01T12:05:00.000+0000 State=Active LastUpdateStatus=Successful; "
        "GET /api/v1/coordination/capabilities -> 200")


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return build_repo(tmp_path_factory.mktemp("repo") / "enceladus")


def _item(task, *descriptions, **fields):
    return {"item_id": task, "record_id": f"task#{task}", **fields, "history": [
        {"timestamp": "2026-03-01T12:30:00Z", "status": "worklog", "description": d} for d in descriptions]}


def test_worklog_evidence(repo):
    r, s = repo
    items = {
        # names a LATER commit, which contains the change: counts
        "ENC-TSK-325": _item("ENC-TSK-325", GOOD.format(sha=s["direct"][:10])),
        # names the commit but no LastModified
        "ENC-TSK-326": _item("ENC-TSK-326", f"deployed {s['squash'][:7]}, State=Active LastUpdateStatus=Successful"),
    }
    snap = snapshot(r.path, tracker={"project": "enceladus", "items": items, "missing": []})
    v = verdicts(judge(snap, "worklog_evidence"))
    assert v == {f"ENC-TSK-325@{s['pr'][:12]}": "pass", f"ENC-TSK-326@{s['squash'][:12]}": "fail",
                 f"-@{s['direct'][:12]}": "not_applicable"}
    msg = {f.subject: f.message for f in judge(snap, "worklog_evidence")}
    assert "last_modified" in msg[f"ENC-TSK-326@{s['squash'][:12]}"]


def test_worklog_evidence_failures(repo):
    r, s = repo
    failed = GOOD.format(sha=s["squash"][:12]).replace("Successful", "Failed")
    earlier_only = GOOD.format(sha=s["base"][:12])  # an EARLIER commit does not contain the change
    items = {"ENC-TSK-325": _item("ENC-TSK-325", earlier_only), "ENC-TSK-326": _item("ENC-TSK-326", failed)}
    snap = snapshot(r.path, tracker={"project": "enceladus", "items": items, "missing": []})
    found = {f.subject: f for f in judge(snap, "worklog_evidence")}
    assert found[f"ENC-TSK-325@{s['pr'][:12]}"].status == "fail"
    assert found[f"ENC-TSK-326@{s['squash'][:12]}"].status == "fail"
    assert "FAILED" in found[f"ENC-TSK-326@{s['squash'][:12]}"].message
    missing = snapshot(r.path, tracker={"project": "enceladus", "items": {}, "missing": ["ENC-TSK-325"]})
    assert "not in the tracker" in {f.subject: f for f in judge(missing, "worklog_evidence")}[
        f"ENC-TSK-325@{s['pr'][:12]}"].message


def test_worklog_structured_fields_count(repo):
    r, s = repo
    items = {"ENC-TSK-326": {"item_id": "ENC-TSK-326", "commit_sha": s["squash"], "transition_type": "lambda_deploy",
                             "deploy_evidence": json.dumps({"commit": s["squash"],
                                                            "last_modified": "2026-03-01T12:05:00.000+0000",
                                                            "state": "Active", "last_update_status": "Successful"})}}
    snap = snapshot(r.path, tracker={"project": "enceladus", "items": items, "missing": []})
    assert verdicts(judge(snap, "worklog_evidence"))[f"ENC-TSK-326@{s['squash'][:12]}"] == "pass"


def test_worklog_tracker_down_is_error(repo):
    r, s = repo
    found = judge(snapshot(r.path, tracker=TimeoutError("DynamoDB read timeout")), "worklog_evidence")
    assert {f.status for f in found} == {"error"} and len(found) == 3


def _repo_with(tmp_path, workflow: str | None, script: str | None = DEPLOY_SH, agents: str | None = None):
    r = GitRepo(tmp_path / "r").init()
    files = {"README.md": "x\n", WORKFLOW: workflow, "backend/lambda/coordination_api/deploy.sh": script,
             "AGENTS.md": agents, "backend/lambda/coordination_api/app.py": "1\n",
             "docs/runbooks/api-mcp-deploy.md": "# API + MCP Deployment Process\n"}
    r.commit("init ENC-TSK-1", {k: v for k, v in files.items() if v is not None}, author_date="2026-02-22T00:00:00Z")
    r.commit("scope change ENC-TSK-2", {"tools/enceladus-mcp-server/server.py": "1\n"},
             author_date="2026-02-23T00:00:00Z")
    return r


FILES = [WORKFLOW, "backend/lambda/coordination_api/deploy.sh", "AGENTS.md", "docs/runbooks/api-mcp-deploy.md"]


def test_workflow_push_filter(tmp_path):
    good = snapshot(_repo_with(tmp_path / "a", GOOD_WORKFLOW).path, files=FILES)
    assert [f.status for f in judge(good, "workflow_push_filter")] == ["pass"]
    drift = GOOD_WORKFLOW.replace('      - "tools/enceladus-mcp-server/**"\n', "")
    snap = snapshot(_repo_with(tmp_path / "b", drift).path, files=FILES)
    found = judge(snap, "workflow_push_filter")
    assert [f.status for f in found] == ["fail"]
    assert "tools/enceladus-mcp-server/**" in found[0].message
    assert found[0].location == {"path": WORKFLOW, "line": 5}  # the `paths:` line
    # the runbook's third scoped file, required explicitly, is not in the filter: the real drift
    found = judge(good, "workflow_push_filter", {"also_paths": ["infrastructure/cloudformation/03-api.yaml"]})
    assert found[0].status == "fail" and "03-api.yaml" in found[0].message
    other_branch = snapshot(_repo_with(tmp_path / "c", GOOD_WORKFLOW.replace("[main]", "[release]")).path, files=FILES)
    assert "does not include main" in judge(other_branch, "workflow_push_filter")[0].message
    absent = snapshot(_repo_with(tmp_path / "d", None).path, files=FILES)
    assert judge(absent, "workflow_push_filter")[0].status == "fail"
    not_collected = snapshot(_repo_with(tmp_path / "e", GOOD_WORKFLOW).path, files=[])
    assert judge(not_collected, "workflow_push_filter")[0].status == "error"
    assert judge(snapshot(tmp_path / "nope"), "workflow_push_filter")[0].status == "error"


def test_a_date_github_reads_as_text_is_judged_and_a_bad_tagged_one_is_invalid_yaml(tmp_path):
    """An unquoted ``2026-02-30`` is text to GitHub's YAML 1.2 parser; PyYAML's safe loader made it a date and
    raised, so every workflow check said "internal error in check". Now it is judged as GitHub reads it; a value
    tagged ``!!timestamp`` that no calendar has is a workflow that is not valid YAML (a fail, never a pass)."""
    dated = GOOD_WORKFLOW.replace("jobs:\n", "env:\n  BUILD_DATE: 2026-02-30\n  RELEASED: 2026-01-01\njobs:\n", 1)
    assert "BUILD_DATE" in dated
    snap = snapshot(_repo_with(tmp_path / "a", dated).path, files=FILES)
    for kind in ("workflow_push_filter", "workflow_validation_asserts"):
        [found] = judge(snap, kind)
        assert found.status == "pass", (kind, found.message)
    tagged = dated.replace("BUILD_DATE: 2026-02-30", "BUILD_DATE: !!timestamp 2026-02-30")
    snap = snapshot(_repo_with(tmp_path / "b", tagged).path, files=FILES)
    for kind in ("workflow_push_filter", "workflow_validation_asserts"):
        [found] = judge(snap, kind)
        assert found.status == "fail" and "not valid YAML" in found.message, (kind, found.message)
        assert "internal error" not in found.message


def test_workflow_validation_asserts(tmp_path):
    good = snapshot(_repo_with(tmp_path / "a", GOOD_WORKFLOW).path, files=FILES)
    assert judge(good, "workflow_validation_asserts")[0].status == "pass"
    prints = GOOD_WORKFLOW.split("          aws lambda wait")[0] + (
        "          aws lambda get-function-configuration --function-name devops-coordination-api "
        "--query '{State:State,LastUpdateStatus:LastUpdateStatus}' --output table\n")
    found = judge(snapshot(_repo_with(tmp_path / "b", prints).path, files=FILES), "workflow_validation_asserts")
    assert found[0].status == "fail" and found[0].location["line"] == 19
    asserts = GOOD_WORKFLOW.split("          aws lambda wait")[0] + (
        "          out=$(aws lambda get-function-configuration --function-name devops-coordination-api "
        "--query '[State,LastUpdateStatus]' --output text)\n          [ \"$out\" = \"Active\tSuccessful\" ] || exit 1\n")
    assert judge(snapshot(_repo_with(tmp_path / "c", asserts).path, files=FILES),
                 "workflow_validation_asserts")[0].status == "pass"
    # the same assertion on ANOTHER function's state validates nothing about this one
    other = asserts.replace("--function-name devops-coordination-api", "--function-name f")
    found = judge(snapshot(_repo_with(tmp_path / "e", other).path, files=FILES), "workflow_validation_asserts")
    assert found[0].status == "fail" and "does not come from the function" in found[0].message
    broken = snapshot(_repo_with(tmp_path / "d", "on: [push\n").path, files=FILES)
    assert judge(broken, "workflow_validation_asserts")[0].status == "fail"
    assert judge(snapshot(tmp_path / "nope"), "workflow_validation_asserts")[0].status == "error"


def test_validation_finding_names_the_line_and_why(tmp_path):
    """The location is the command that fails to assert, and the message says why it does not."""
    swallowed = GOOD_WORKFLOW.split("          aws lambda wait")[0] + (
        "          aws lambda wait function-updated-v2 --function-name devops-coordination-api\n"
        "          S=$(aws lambda get-function-configuration --function-name devops-coordination-api "
        "--query State --output text)\n"
        "          test \"$S\" = Active || echo \"not active yet\"\n")
    found = judge(snapshot(_repo_with(tmp_path / "a", swallowed).path, files=FILES), "workflow_validation_asserts")
    assert found[0].status == "fail"
    assert found[0].location == {"path": WORKFLOW, "line": 23}  # the `test ... || echo` line
    assert "unless State=Active" in found[0].message and "LastUpdateStatus" not in found[0].message
    assert '`|| echo "not active yet"`' in found[0].message


def test_deploy_script_present_says_what_it_invokes(tmp_path):
    ok = judge(snapshot(_repo_with(tmp_path / "a", GOOD_WORKFLOW).path, files=FILES), "deploy_script_present")
    assert ok[0].status == "pass" and "aws lambda update-function-code (line 6)" in ok[0].message
    stub = "#!/usr/bin/env bash\nset -e\necho 'retired: deploys via the platform pipeline'\ntrue\nexit 0\n"
    found = judge(snapshot(_repo_with(tmp_path / "b", GOOD_WORKFLOW, stub).path, files=FILES), "deploy_script_present")
    assert found[0].status == "fail" and "only set, echo, true, exit" in found[0].message


def test_deploy_script_present(tmp_path):
    ok = snapshot(_repo_with(tmp_path / "a", GOOD_WORKFLOW).path, files=FILES)
    assert judge(ok, "deploy_script_present")[0].status == "pass"
    tomb = snapshot(_repo_with(tmp_path / "b", GOOD_WORKFLOW, "# retired: deploys via CDK now\n").path, files=FILES)
    found = judge(tomb, "deploy_script_present")
    assert found[0].status == "fail" and "tombstone" in found[0].message
    assert judge(snapshot(_repo_with(tmp_path / "c", GOOD_WORKFLOW, None).path, files=FILES),
                 "deploy_script_present")[0].status == "fail"
    assert judge(snapshot(tmp_path / "nope"), "deploy_script_present")[0].status == "error"


def test_guidance_references(tmp_path):
    params = {"files": ["AGENTS.md"], "reference": "docs/runbooks/api-mcp-deploy.md"}
    yes = snapshot(_repo_with(tmp_path / "a", GOOD_WORKFLOW, agents="see docs/runbooks/api-mcp-deploy.md\n").path,
                   files=FILES)
    assert judge(yes, "guidance_references", params)[0].status == "pass"
    no = snapshot(_repo_with(tmp_path / "b", GOOD_WORKFLOW, agents="deploy however you like\n").path, files=FILES)
    assert judge(no, "guidance_references", params)[0].status == "fail"
    absent = snapshot(_repo_with(tmp_path / "c", GOOD_WORKFLOW).path, files=FILES)
    assert judge(absent, "guidance_references", params)[0].status == "fail"
    assert judge(snapshot(tmp_path / "nope"), "guidance_references", params)[0].status == "error"
    # the runbook it names is gone at the judged commit: the rule is misconfigured, not the guidance wrong
    moved = {**params, "reference": "docs/runbooks/moved.md"}
    found = judge(snapshot(_repo_with(tmp_path / "d", GOOD_WORKFLOW, agents="see docs/runbooks/moved.md\n").path,
                           files=[*FILES, "docs/runbooks/moved.md"]), "guidance_references", moved)
    assert found[0].status == "error" and "does not exist" in found[0].message


def test_tracker_ref(repo, tmp_path):
    r, s = repo
    v = verdicts(judge(snapshot(r.path), "tracker_ref"))
    assert v == {s["pr"][:12]: "pass", s["squash"][:12]: "pass", s["direct"][:12]: "fail"}
    # a custom pattern that only accepts ISS ids fails the TSK-only changes
    v = verdicts(judge(snapshot(r.path), "tracker_ref", {"pattern": r"ENC-ISS-\d+"}))
    assert set(v.values()) == {"fail"}
    assert [f.status for f in judge(snapshot(tmp_path / "nope"), "tracker_ref")] == ["error"]


def test_co_change(repo, tmp_path):
    r = GitRepo(tmp_path / "cc").init()
    r.commit("base", {"backend/lambda/coordination_api/models/a.py": "1\n"}, author_date="2026-02-01T00:00:00Z")
    ok = r.commit("model + dictionary ENC-TSK-1", {
        "backend/lambda/coordination_api/models/a.py": "2\n",
        "backend/lambda/coordination_api/governance_data_dictionary.json": "{}\n"}, author_date="2026-02-23T00:00:00Z")
    bad = r.commit("model only ENC-TSK-2", {"backend/lambda/coordination_api/models/a.py": "3\n"},
                   author_date="2026-02-24T00:00:00Z")
    other = r.commit("unrelated", {"backend/lambda/coordination_api/x.py": "3\n"}, author_date="2026-02-25T00:00:00Z")
    params = {"when": ["backend/lambda/coordination_api/models/**"],
              "require": ["backend/lambda/coordination_api/governance_data_dictionary.json"]}
    v = verdicts(judge(snapshot(r.path), "co_change", params, scope=Scope(("backend/**",))))
    assert v == {ok[:12]: "pass", bad[:12]: "fail"} and other[:12] not in v
    assert [f.status for f in judge(snapshot(tmp_path / "nope"), "co_change", params)] == ["error"]


def test_effective_dates_make_older_changes_not_applicable(repo):
    from compliance.base.timeutil import parse_time

    r, s = repo
    found = judge(snapshot(r.path), "tracker_ref", effective_from=parse_time("2026-02-28T00:00:00Z"))
    v = verdicts(found)
    assert v[s["pr"][:12]] == "not_applicable" and v[s["direct"][:12]] == "fail"
    assert SCOPE.matches("backend/lambda/coordination_api/a.py")
