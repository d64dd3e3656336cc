"""deploy_coverage and lambda_deploy_match on a real repository: pass, fail and error."""

from __future__ import annotations

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
