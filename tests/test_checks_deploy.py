"""deploy_coverage and lambda_deploy_match on a real repository: pass, fail and error."""

from __future__ import annotations

import json

import pytest

from tests.scenario import build_repo, judge, lambda_data, run, snapshot, verdicts


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return build_repo(tmp_path_factory.mktemp("repo") / "enceladus")


def test_own_run_and_later_run_cover_changes(repo):
    r, s = repo
    runs = [
        run(1, s["pr"], "cancelled", "2026-02-25T18:01:00Z", "2026-02-25T18:02:00Z"),
        run(2, s["squash"], "success", "2026-02-26T12:01:00Z", "2026-02-26T12:09:00Z"),
        run(3, s["direct"], "success", "2026-03-01T12:01:00Z", "2026-03-01T12:09:00Z"),
    ]
    found = judge(snapshot(r.path, github={"workflow": "x", "runs": runs}, tracker={"project": "p", "items": {},
                                                                                   "missing": []}),
                  "deploy_coverage")
    v = verdicts(found)
    assert v == {s["pr"][:12]: "pass", s["squash"][:12]: "pass", s["direct"][:12]: "pass"}
    by = {f.subject: f for f in found}
    assert "later commit" in by[s["pr"][:12]].message  # the cancelled run is superseded by run 2
    assert any(e.get("run_id") == 2 for e in by[s["pr"][:12]].evidence)


def test_failed_cancelled_and_foreign_runs_cover_nothing(repo):
    r, s = repo
    runs = [
        run(1, s["pr"], "failure", "2026-02-25T18:01:00Z", "2026-02-25T18:02:00Z"),
        run(2, s["squash"], "skipped", "2026-02-26T12:01:00Z", "2026-02-26T12:02:00Z"),
        run(3, s["direct"], "success", "2026-03-01T12:01:00Z", "2026-03-01T12:09:00Z", branch="feature"),
        run(4, "f" * 40, "success", "2026-03-02T12:01:00Z", "2026-03-02T12:09:00Z"),  # not on the branch
    ]
    found = judge(snapshot(r.path, github={"workflow": "x", "runs": runs}, tracker={"project": "p", "items": {},
                                                                                   "missing": []}),
                  "deploy_coverage")
    assert set(verdicts(found).values()) == {"fail"}
    msg = next(f for f in found if f.subject == s["pr"][:12]).message
    assert "run 1 ended failure" in msg and "run 3 (success) does not count: it ran on feature, not main" in msg


def test_run_completed_before_the_push_covers_nothing(repo):
    r, s = repo
    runs = [run(9, s["direct"], "success", "2026-03-01T11:00:00Z", "2026-03-01T11:30:00Z")]  # before 12:00Z
    found = judge(snapshot(r.path, github={"workflow": "x", "runs": runs},
                           tracker={"project": "p", "items": {}, "missing": []}), "deploy_coverage")
    assert verdicts(found)[s["direct"][:12]] == "fail"


def test_manual_deploy_evidence_covers(repo):
    r, s = repo
    items = {"ENC-TSK-326": {"item_id": "ENC-TSK-326", "history": [
        {"timestamp": "2026-03-02T08:00:00Z", "status": "worklog",
         "description": f"Ran backend/lambda/coordination_api/deploy.sh by hand; deployed commit {s['direct'][:9]}; "
                        "LastModified=2026-03-02T07:59:00.000+0000 State=Active LastUpdateStatus=Successful"}]}}
    found = judge(snapshot(r.path, github={"workflow": "x", "runs": []},
                           tracker={"project": "p", "items": items, "missing": []}), "deploy_coverage")
    assert set(verdicts(found).values()) == {"pass"}
    assert all("by hand" in f.message for f in found)
    # the same evidence, when manual evidence is not allowed, covers nothing
    found = judge(snapshot(r.path, github={"workflow": "x", "runs": []},
                           tracker={"project": "p", "items": items, "missing": []}),
                  "deploy_coverage", {"allow_manual_evidence": False})
    assert set(verdicts(found).values()) == {"fail"}


def test_github_failure_gives_error_per_change_never_pass(repo):
    r, s = repo
    found = judge(snapshot(r.path, github=RuntimeError("HTTP 502 from api.github.com")), "deploy_coverage")
    assert {f.status for f in found} == {"error"}
    assert {f.subject for f in found} == {s["pr"][:12], s["squash"][:12], s["direct"][:12]}
    assert "502" in found[0].message


def test_git_failure_gives_one_error(tmp_path):
    snap = snapshot(tmp_path / "missing-repo", github={"workflow": "x", "runs": []})
    found = judge(snap, "deploy_coverage")
    assert [f.status for f in found] == ["error"]
    assert "git" in found[0].message


def test_out_of_scope_commits_are_not_changes(repo):
    r, s = repo
    found = judge(snapshot(r.path, github={"workflow": "x", "runs": []},
                           tracker={"project": "p", "items": {}, "missing": []}), "deploy_coverage")
    subjects = set(verdicts(found))
    assert s["ui"][:12] not in subjects and s["dict"][:12] not in subjects and s["base"][:12] not in subjects


def test_lambda_update_inside_deploy_step_passes(repo):
    r, s = repo
    runs = [run(2, s["squash"], "success", "2026-02-26T12:01:00Z", "2026-02-26T12:09:00Z",
                deploy=("2026-02-26T12:03:00Z", "2026-02-26T12:06:00Z"))]
    snap = snapshot(r.path, github={"workflow": "x", "runs": runs}, **{"lambda": lambda_data()})
    found = judge(snap, "lambda_deploy_match")
    assert [f.status for f in found] == ["pass"] and "run 2" in found[0].message


def test_lambda_update_outside_any_deploy_is_out_of_band(repo):
    r, s = repo
    runs = [run(2, s["squash"], "success", "2026-02-26T12:01:00Z", "2026-02-26T12:09:00Z",
                deploy=("2026-02-26T12:03:00Z", "2026-02-26T12:06:00Z"))]
    snap = snapshot(r.path, github={"workflow": "x", "runs": runs},
                    tracker={"project": "p", "items": {}, "missing": []},
                    **{"lambda": lambda_data(modified="2026-03-05T01:00:00.000+0000")})
    found = judge(snap, "lambda_deploy_match")
    assert [f.status for f in found] == ["fail"] and "out-of-band" in found[0].message


def test_lambda_update_from_failed_run_fails(repo):
    r, s = repo
    runs = [run(5, s["direct"], "failure", "2026-03-01T12:01:00Z", "2026-03-01T12:09:00Z",
                deploy=("2026-03-01T12:03:00Z", "2026-03-01T12:06:00Z"))]
    snap = snapshot(r.path, github={"workflow": "x", "runs": runs},
                    **{"lambda": lambda_data(modified="2026-03-01T12:05:00.000+0000")})
    found = judge(snap, "lambda_deploy_match")
    assert found[0].status == "fail" and "failed deploy" in found[0].message


def test_lambda_source_failure_is_error(repo):
    r, _ = repo
    snap = snapshot(r.path, github={"workflow": "x", "runs": []},
                    **{"lambda": PermissionError("AccessDeniedException: not authorized")})
    found = judge(snap, "lambda_deploy_match")
    assert [f.status for f in found] == ["error"] and "AccessDenied" in found[0].message


# --------------------------------------------------------------- runs that are not canonical deploys

NO_TRACKER = {"project": "p", "items": {}, "missing": []}


def _coverage(r, runs, items=None, params=None, collected_at=None):
    snap = snapshot(r.path, github={"workflow": "x", "runs": runs},
                    tracker={"project": "p", "items": items or {}, "missing": []})
    if collected_at:
        snap["collected_at"] = collected_at
    return {f.subject: f for f in judge(snap, "deploy_coverage", params)}


def test_successful_run_with_unknown_path_does_not_cover(repo):
    r, s = repo
    bare = run(3, s["direct"], "success", "2026-03-01T12:01:00Z", "2026-03-01T12:09:00Z")
    bare["path"] = None
    f = _coverage(r, [bare])[s["direct"][:12]]
    assert f.status == "fail"
    assert "run 3 (success) does not count: its workflow path is unknown" in f.message
    assert any(e.get("run_id") == 3 for e in f.evidence)


def test_successful_pull_request_run_does_not_cover(repo):
    r, s = repo
    pr_run = run(3, s["direct"], "success", "2026-03-01T12:01:00Z", "2026-03-01T12:09:00Z", event="pull_request")
    f = _coverage(r, [pr_run])[s["direct"][:12]]
    assert f.status == "fail"
    assert "triggered by pull_request, not by push or workflow_dispatch on main" in f.message


def test_dispatched_run_covers_control(repo):
    r, s = repo
    f = _coverage(r, [run(3, s["direct"], "success", "2026-03-01T12:01:00Z", "2026-03-01T12:09:00Z",
                          event="workflow_dispatch")])[s["direct"][:12]]
    assert f.status == "pass" and "run 3" in f.message and "its own commit" in f.message


def test_lambda_update_inside_a_non_canonical_run_is_not_a_canonical_deploy(repo):
    r, s = repo
    pr_run = run(2, s["squash"], "success", "2026-02-26T12:01:00Z", "2026-02-26T12:09:00Z", event="pull_request",
                 deploy=("2026-02-26T12:03:00Z", "2026-02-26T12:06:00Z"))
    snap = snapshot(r.path, github={"workflow": "x", "runs": [pr_run]}, tracker=NO_TRACKER,
                    **{"lambda": lambda_data()})
    found = judge(snap, "lambda_deploy_match")
    assert [f.status for f in found] == ["fail"]
    assert "run 2" in found[0].message and "pull_request" in found[0].message


# ------------------------------------------------------------------------ manual deploy evidence

def _worklog(text, timestamp="2026-03-02T08:00:00Z", task="ENC-TSK-326"):
    entry = {"status": "worklog", "description": text}
    if timestamp is not None:
        entry["timestamp"] = timestamp
    return {task: {"item_id": task, "history": [entry]}}


MANUAL = ("Ran backend/lambda/coordination_api/deploy.sh by hand; deployed commit {sha}; "
          "LastModified=2026-03-02T07:59:00.000+0000 State=Active LastUpdateStatus=Successful")


def test_manual_evidence_without_a_timestamp_does_not_cover(repo):
    r, s = repo
    f = _coverage(r, [], _worklog(MANUAL.format(sha=s["direct"][:9]), timestamp=None))[s["direct"][:12]]
    assert f.status == "fail"
    assert "worklog ENC-TSK-326 worklog does not count: it has no timestamp" in f.message


def test_bare_workflow_claim_does_not_override_a_failed_run(repo):
    r, s = repo
    failed = run(5, s["direct"], "failure", "2026-03-01T12:01:00Z", "2026-03-01T12:09:00Z")
    items = _worklog(f"Deployed commit {s['direct'][:12]} via api-mcp-backend-deploy")
    f = _coverage(r, [failed], items)[s["direct"][:12]]
    assert f.status == "fail"
    assert "run 5 ended failure" in f.message
    assert "it names the workflow, so it is a claim about a run" in f.message


def test_workflow_claim_with_passing_outcome_is_still_a_claim_about_a_run(repo):
    r, s = repo
    failed = run(5, s["direct"], "failure", "2026-03-01T12:01:00Z", "2026-03-01T12:09:00Z")
    items = _worklog(f"Deployed commit {s['direct'][:12]} via api-mcp-backend-deploy; devops-coordination-api "
                     "LastModified=2026-03-01T12:05:00.000+0000 State=Active LastUpdateStatus=Successful; "
                     "GET /api/v1/coordination/capabilities -> 200")
    assert _coverage(r, [failed], items)[s["direct"][:12]].status == "fail"


def test_manual_evidence_must_carry_a_passing_outcome(repo):
    r, s = repo
    items = _worklog(f"Ran deploy.sh by hand for commit {s['direct'][:9]}")
    f = _coverage(r, [], items)[s["direct"][:12]]
    assert f.status == "fail" and "its validation outcome is not stated" in f.message


def test_manual_evidence_dated_before_the_push_does_not_cover(repo):
    r, s = repo
    items = _worklog(MANUAL.format(sha=s["direct"][:9]), timestamp="2026-03-01T11:00:00Z")
    f = _coverage(r, [], items)[s["direct"][:12]]
    assert f.status == "fail" and "before the push it would have deployed" in f.message


def test_manual_run_overrides_a_failed_run_control(repo):
    r, s = repo
    failed = run(5, s["direct"], "failure", "2026-03-01T12:01:00Z", "2026-03-01T12:09:00Z")
    f = _coverage(r, [failed], _worklog(MANUAL.format(sha=s["direct"][:9])))[s["direct"][:12]]
    assert f.status == "pass" and "ENC-TSK-326 worklog of 2026-03-02T08:00:00Z" in f.message


def test_deploy_command_line_counts_as_manual_control(repo):
    from compliance.judge.evidence import format_evidence_line

    r, s = repo
    line = format_evidence_line(s["direct"][:12], "2026-03-02T07:59:00.000+0000", "pass",
                                ["State=Active", "LastUpdateStatus=Successful", "GET capabilities -> 200"],
                                via="compliance deploy (backend/lambda/coordination_api/deploy.sh)")
    assert _coverage(r, [], _worklog(line))[s["direct"][:12]].status == "pass"


def test_structured_field_without_a_time_does_not_cover(repo):
    r, s = repo
    record = {"commit": s["direct"][:12], "note": "ran deploy.sh", "state": "Active", "lastUpdateStatus": "Successful"}
    items = {"ENC-TSK-326": {"item_id": "ENC-TSK-326", "deploy_evidence": json.dumps(record)}}
    f = _coverage(r, [], items)[s["direct"][:12]]
    assert f.status == "fail" and "field:deploy_evidence does not count: it has no timestamp" in f.message


# -------------------------------------------------------------------------------------- pending

def test_run_in_progress_is_pending_then_stuck_past_the_grace(repo):
    r, s = repo
    running = run(7, s["direct"], None, "2026-03-01T12:01:00Z", "2026-03-01T12:03:00Z", status="in_progress")
    f = _coverage(r, [running], collected_at="2026-03-01T12:30:00Z")[s["direct"][:12]]
    assert f.status == "pending" and "run 7" in f.message and "in_progress since 2026-03-01T12:01:00Z" in f.message
    f = _coverage(r, [running], collected_at="2026-03-01T19:00:00Z")[s["direct"][:12]]
    assert f.status == "fail" and "stuck" in f.message and "6 h grace" in f.message
    f = _coverage(r, [running], params={"grace_minutes": 1440}, collected_at="2026-03-01T19:00:00Z")
    assert f[s["direct"][:12]].status == "pending"


def test_later_commits_queued_run_makes_an_older_failed_change_pending(repo):
    r, s = repo
    runs = [run(1, s["squash"], "failure", "2026-02-26T12:01:00Z", "2026-02-26T12:09:00Z"),
            run(8, s["direct"], None, "2026-03-01T12:01:00Z", "2026-03-01T12:01:00Z", status="queued")]
    found = _coverage(r, runs, collected_at="2026-03-01T12:10:00Z")
    assert found[s["squash"][:12]].status == "pending" and "run 8" in found[s["squash"][:12]].message
    assert found[s["pr"][:12]].status == "pending"


def test_no_run_yet_is_pending_only_within_the_grace(repo):
    r, s = repo
    f = _coverage(r, [], collected_at="2026-03-01T13:00:00Z")[s["direct"][:12]]
    assert f.status == "pending" and "no canonical run exists for it yet" in f.message
    f = _coverage(r, [], collected_at="2026-03-01T18:30:00Z")[s["direct"][:12]]
    assert f.status == "fail"
    # an older change whose own run ended failed is not pending just because the newest change is recent
    runs = [run(1, s["squash"], "failure", "2026-02-26T12:01:00Z", "2026-02-26T12:09:00Z")]
    found = _coverage(r, runs, collected_at="2026-03-01T13:00:00Z")
    assert found[s["squash"][:12]].status == "fail" and found[s["direct"][:12]].status == "pending"


def test_pending_does_not_hide_a_covering_run_control(repo):
    r, s = repo
    runs = [run(3, s["direct"], "success", "2026-03-01T12:01:00Z", "2026-03-01T12:09:00Z"),
            run(4, s["direct"], None, "2026-03-01T12:20:00Z", "2026-03-01T12:20:00Z", status="in_progress")]
    f = _coverage(r, runs, collected_at="2026-03-01T12:30:00Z")[s["direct"][:12]]
    assert f.status == "pass" and "run 3" in f.message
