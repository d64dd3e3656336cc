"""Data shaped to look like a covered deploy, and the controls that must still pass.

deploy_coverage passes a change only on a canonical run of the branch or a dated, passing
manual deploy-script record; ``pending`` is only for a run that may still come. Every case
here is built to read as one of those without being one.
"""

from __future__ import annotations

import pytest

from tests.scenario import build_repo, judge, run, snapshot


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return build_repo(tmp_path_factory.mktemp("repo") / "enceladus")


def _judge(r, runs, items=None, collected_at=None, params=None):
    snap = snapshot(r.path, github={"workflow": "x", "runs": runs},
                    tracker={"project": "p", "items": items or {}, "missing": []})
    if collected_at:
        snap["collected_at"] = collected_at
    return {f.subject: f for f in judge(snap, "deploy_coverage", params)}


def _direct(r, s, runs, **kw):
    return _judge(r, runs, **kw)[s["direct"][:12]]


def test_success_on_another_branch_or_no_branch_does_not_cover(repo):
    r, s = repo
    for branch in ("main-copy", None, ""):
        f = _direct(r, s, [run(3, s["direct"], "success", "2026-03-01T12:01:00Z", "2026-03-01T12:09:00Z",
                               branch=branch)])
        assert f.status == "fail", branch
        assert "does not count: it ran on" in f.message


def test_success_of_a_side_branch_commit_does_not_cover(repo):
    r, s = repo
    side = r.rev(f"{s['pr']}^2")  # the PR branch's own commit: in main's history, not on its first-parent chain
    f = _judge(r, [run(3, side, "success", "2026-03-02T12:01:00Z", "2026-03-02T12:09:00Z")])[s["pr"][:12]]
    assert f.status == "fail"
    f = _direct(r, s, [run(3, side, "success", "2026-03-02T12:01:00Z", "2026-03-02T12:09:00Z")])
    assert f.status == "fail"


def test_success_with_status_still_running_is_contradictory_not_pending(repo):
    r, s = repo
    lying = run(3, s["direct"], "success", "2026-03-01T12:01:00Z", "2026-03-01T12:09:00Z", status="in_progress")
    f = _direct(r, s, [lying], collected_at="2026-03-01T12:30:00Z")
    assert f.status == "fail"
    assert "status 'in_progress' contradicts its conclusion 'success'" in f.message


def test_completed_run_without_a_conclusion_covers_nothing(repo):
    r, s = repo
    f = _direct(r, s, [run(3, s["direct"], None, "2026-03-01T12:01:00Z", "2026-03-01T12:09:00Z")])
    assert f.status == "fail" and "contradicts" in f.message


def test_rerun_that_failed_replaces_the_attempt_that_succeeded(repo):
    r, s = repo
    first = run(3, s["direct"], "success", "2026-03-01T12:01:00Z", "2026-03-01T12:09:00Z")
    rerun = {**run(3, s["direct"], "failure", "2026-03-01T12:01:00Z", "2026-03-01T13:09:00Z"), "run_attempt": 2}
    for runs in ([first, rerun], [rerun, first]):
        f = _direct(r, s, runs)
        assert f.status == "fail" and "attempt 2" in f.evidence[1]["label"]


def test_rerun_that_succeeded_covers_control(repo):
    r, s = repo
    first = run(3, s["direct"], "failure", "2026-03-01T12:01:00Z", "2026-03-01T12:09:00Z")
    rerun = {**run(3, s["direct"], "success", "2026-03-01T12:01:00Z", "2026-03-01T13:09:00Z"), "run_attempt": 2}
    f = _direct(r, s, [first, rerun])
    assert f.status == "pass" and "attempt 2" in f.message


def test_conflicting_copies_of_one_attempt_cover_nothing(repo):
    r, s = repo
    ok = run(3, s["direct"], "success", "2026-03-01T12:01:00Z", "2026-03-01T12:09:00Z")
    bad = run(3, s["direct"], "failure", "2026-03-01T12:01:00Z", "2026-03-01T12:09:00Z")
    f = _direct(r, s, [ok, bad])
    assert f.status == "fail" and "conflicting copies" in f.message


def test_run_completed_before_the_push_is_named(repo):
    r, s = repo
    f = _direct(r, s, [run(9, s["direct"], "success", "2026-03-01T11:00:00Z", "2026-03-01T11:30:00Z")])
    assert f.status == "fail" and "before the push" in f.message


def test_run_completing_after_the_collection_does_not_cover(repo):
    r, s = repo
    f = _direct(r, s, [run(9, s["direct"], "success", "2026-03-01T12:01:00Z", "2026-04-09T12:00:00Z")])
    assert f.status == "fail" and "after the collection" in f.message


def test_run_started_after_it_ended_does_not_cover(repo):
    r, s = repo
    f = _direct(r, s, [run(9, s["direct"], "success", "2026-03-01T12:30:00Z", "2026-03-01T12:09:00Z")])
    assert f.status == "fail" and "after it was last updated" in f.message


def test_run_of_another_workflow_file_is_not_listed_and_covers_nothing(repo):
    r, s = repo
    other = {**run(9, s["direct"], "success", "2026-03-01T12:01:00Z", "2026-03-01T12:09:00Z"),
             "path": ".github/workflows/cloudformation-api-stack-deploy.yml"}
    assert _direct(r, s, [other]).status == "fail"


def test_stuck_queued_run_fails_and_future_started_run_is_not_pending(repo):
    r, s = repo
    queued = run(7, s["direct"], None, "2026-03-01T12:01:00Z", "2026-03-01T12:01:00Z", status="queued")
    f = _direct(r, s, [queued], collected_at="2026-03-02T12:00:00Z")
    assert f.status == "fail" and "stuck" in f.message
    future = run(7, s["direct"], None, "2026-03-09T12:01:00Z", "2026-03-09T12:01:00Z", status="queued")
    f = _direct(r, s, [future], collected_at="2026-03-01T12:30:00Z")
    assert f.status == "fail" and "does not precede the collection" in f.message


def test_rerun_restarts_the_grace_but_an_old_creation_alone_does_not(repo):
    r, s = repo
    rerun = {**run(7, s["direct"], None, "2026-03-01T12:01:00Z", "2026-03-02T11:55:00Z", status="in_progress"),
             "run_attempt": 2, "run_started_at": "2026-03-02T11:50:00Z"}
    assert _direct(r, s, [rerun], collected_at="2026-03-02T12:00:00Z").status == "pending"
    del rerun["run_started_at"]  # only the creation a day ago: nothing shows the run is not stuck
    assert _direct(r, s, [rerun], collected_at="2026-03-02T12:00:00Z").status == "fail"


def test_non_canonical_run_in_progress_is_not_pending(repo):
    r, s = repo
    pr_run = run(7, s["direct"], None, "2026-03-01T20:00:00Z", "2026-03-01T20:00:00Z", status="in_progress",
                 event="pull_request")
    f = _direct(r, s, [pr_run], collected_at="2026-03-01T20:10:00Z")
    assert f.status == "fail"


def test_commit_dated_in_the_future_is_not_pending(repo):
    r, s = repo
    f = _direct(r, s, [], collected_at="2026-03-01T11:00:00Z")  # an hour before the commit's own date
    assert f.status == "fail"


# ---------------------------------------------------------------------------------------- worklogs

def _log(text, ts="2026-03-02T08:00:00Z"):
    return {"ENC-TSK-326": {"item_id": "ENC-TSK-326",
                            "history": [{"timestamp": ts, "status": "worklog", "description": text}]}}


PASSING = "LastModified=2026-03-02T07:59:00.000+0000 State=Active LastUpdateStatus=Successful"


@pytest.mark.parametrize("text", [
    "Did not run deploy.sh for commit {sha}; {ok}",
    "deploy.sh not run yet for commit {sha}; {ok}",
    "Will run deploy.sh tomorrow for commit {sha}; {ok}",
    "Deployed commit {sha} with deploy.sh via GitHub Actions; {ok}",
    "Deployed commit {sha}: https://github.com/NX-2021-L/enceladus/actions/runs/99 ran deploy.sh; {ok}",
    "Deployed commit {sha} by hand; {ok}",  # the manual path is not named
    "Deployed commit {sha} via .github/workflows/api-mcp-backend-deploy.yml (deploy.sh); {ok}",
    # found by trying to fool the change after it was written:
    "Updated deploy.sh to add routes; commit {sha} deployed; {ok}",  # edited, not run
    "see https://github.com/NX-2021-L/enceladus/blob/main/backend/lambda/coordination_api/deploy.sh; "
    "commit {sha} deployed; {ok}",  # a link to the script
    "Ran deploy.sh? no; commit {sha} deployed; {ok}",
    "API + MCP backend deploy workflow ran deploy.sh for commit {sha}; {ok}",  # the workflow's display name
])
def test_worklogs_that_do_not_describe_a_manual_script_run(repo, text):
    r, s = repo
    f = _direct(r, s, [], items=_log(text.format(sha=s["direct"][:10], ok=PASSING)))
    assert f.status == "fail" and "worklog ENC-TSK-326" in f.message


def test_worklog_dated_after_the_collection_does_not_cover(repo):
    r, s = repo
    text = f"Ran deploy.sh for commit {s['direct'][:10]}; {PASSING}"
    f = _direct(r, s, [], items=_log(text, ts="2026-05-01T00:00:00Z"))
    assert f.status == "fail" and "after the data was collected" in f.message


def test_worklog_dated_before_the_commit_it_names_does_not_cover_older_changes(repo):
    r, s = repo
    # Names the newest commit but is dated between the squash and the direct push: it cannot have
    # deployed the direct push, so it covers neither.
    text = f"Ran deploy.sh for commit {s['direct'][:10]}; {PASSING}"
    found = _judge(r, [], items=_log(text, ts="2026-02-27T00:00:00Z"))
    assert found[s["squash"][:12]].status == "fail" and found[s["direct"][:12]].status == "fail"


def test_manual_run_of_a_later_commit_covers_earlier_changes_control(repo):
    r, s = repo
    found = _judge(r, [], items=_log(f"Ran deploy.sh for commit {s['direct'][:10]}; {PASSING}"))
    assert {found[k[:12]].status for k in (s["pr"], s["squash"], s["direct"])} == {"pass"}
