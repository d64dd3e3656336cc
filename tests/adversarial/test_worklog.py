"""worklog_evidence against evidence shaped to look compliant, on a real repository.

The latest stated outcome decides (a later failure of the same deploy is never hidden by an
earlier pass), the finding shows both, and missing evidence is pending only inside the grace
after a deploy, never when anything states a failure.
"""

from __future__ import annotations

import json

import pytest

from compliance.model.findings import FAIL, PASS, PENDING
from tests.scenario import build_repo, judge, run, snapshot

LM = "LastModified=2026-02-26T12:05:00.000+0000"
GOOD = "Deployed commit {sha} via api-mcp-backend-deploy; " + LM + " State=Active LastUpdateStatus=Successful; " \
       "GET /api/v1/coordination/capabilities -> 200"


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return build_repo(tmp_path_factory.mktemp("repo") / "enceladus")


def _entry(at: str, text: str) -> dict:
    return {"timestamp": at, "status": "worklog", "description": text}


def _judge_326(repo, history=None, *, collected_at=None, github=None, params=None, **fields):
    """The finding for ENC-TSK-326 on the squash change (committed 2026-02-26T12:00Z)."""
    r, s = repo
    items = {"ENC-TSK-326": {"item_id": "ENC-TSK-326", "history": history or [], **fields}}
    sources = {"tracker": {"project": "enceladus", "items": items, "missing": []}}
    if github is not None:
        sources["github"] = github
    snap = snapshot(r.path, **sources)
    if collected_at:
        snap["collected_at"] = collected_at
    found = {f.subject: f for f in judge(snap, "worklog_evidence", params)}
    return found[f"ENC-TSK-326@{s['squash'][:12]}"]


# ------------------------------------------------------------------ the latest evidence decides


def test_later_failure_of_the_same_deploy_is_not_hidden_by_an_earlier_pass(repo):
    sha = repo[1]["squash"][:12]
    f = _judge_326(repo, [_entry("2026-02-26T12:20:00Z", GOOD.format(sha=sha)),
                          _entry("2026-02-26T15:00:00Z", f"Smoke test of {sha} again: GET .../capabilities: "
                                                         "500 Internal Server Error")])
    assert f.status == FAIL
    assert "500" in f.message and "overrides" in f.message and "2026-02-26T12:20:00Z" in f.message
    assert [e["time"] for e in f.evidence if e["kind"] == "worklog"] == ["2026-02-26T15:00:00Z",
                                                                         "2026-02-26T12:20:00Z"]


def test_redeploy_of_the_same_commit_that_failed_decides(repo):
    sha = repo[1]["squash"][:12]
    redeploy = GOOD.format(sha=sha).replace("Deployed", "Redeployed").replace("-> 200", "-> 503")
    f = _judge_326(repo, [_entry("2026-02-26T12:20:00Z", GOOD.format(sha=sha)),
                          _entry("2026-02-27T09:00:00Z", redeploy)])
    assert f.status == FAIL and "-> 503" in f.message


def test_failure_of_a_later_deploy_containing_the_change_decides(repo):
    r, s = repo
    later = GOOD.format(sha=s["direct"][:12]).replace("Successful", "Failed")
    f = _judge_326(repo, [_entry("2026-02-26T12:20:00Z", GOOD.format(sha=s["squash"][:12])),
                          _entry("2026-03-01T12:30:00Z", later)])
    assert f.status == FAIL and "LastUpdateStatus=Failed" in f.message


def test_later_pass_supersedes_an_earlier_failure_and_says_so(repo):
    sha = repo[1]["squash"][:12]
    f = _judge_326(repo, [_entry("2026-02-26T12:20:00Z", GOOD.format(sha=sha).replace("-> 200", "-> 502")),
                          _entry("2026-02-26T13:00:00Z", GOOD.format(sha=sha))])
    assert f.status == PASS and "supersedes the failure" in f.message
    assert len([e for e in f.evidence if e["kind"] == "worklog"]) == 2


def test_a_passing_note_without_last_modified_after_a_failure_is_no_pass(repo):
    sha = repo[1]["squash"][:12]
    f = _judge_326(repo, [_entry("2026-02-26T12:20:00Z", GOOD.format(sha=sha).replace("-> 200", "-> 500")),
                          _entry("2026-02-26T13:00:00Z", f"{sha}: validation passed")])
    assert f.status == FAIL and "last_modified" in f.message


def test_a_failure_timed_after_the_last_listed_pass_wins(repo):
    sha = repo[1]["squash"][:12]
    # listed last, but its own timestamp is earlier than the failure: contradictory, never a pass
    f = _judge_326(repo, [_entry("2026-02-27T10:00:00Z", GOOD.format(sha=sha) + "; endpoint down"),
                          _entry("2026-02-26T13:00:00Z", GOOD.format(sha=sha))])
    assert f.status == FAIL and "timed after" in f.message


def test_an_undated_failing_field_cannot_be_superseded(repo):
    sha = repo[1]["squash"][:12]
    f = _judge_326(repo, [_entry("2026-02-26T13:00:00Z", GOOD.format(sha=sha))],
                   live_validation_evidence=json.dumps({"commit": sha, "status": 500}))
    assert f.status == FAIL and "undated" in f.message


def test_structured_pending_validation_is_not_a_pass(repo):
    sha = repo[1]["squash"][:12]
    evidence = json.dumps({"commit": sha, "last_modified": "2026-02-26T12:05:00.000+0000", "state": "Active",
                           "last_update_status": "Successful", "validation": "pending"})
    f = _judge_326(repo, deploy_evidence=evidence)
    assert f.status == FAIL and "no final validation outcome" in f.message


@pytest.mark.parametrize("tail", ["smoke tests passed with 0 errors", "no errors; \u2705", "200 OK"])
def test_controls_still_pass(repo, tail):
    sha = repo[1]["squash"][:12]
    text = f"Deployed commit {sha}; {LM} State=Active LastUpdateStatus=Successful; {tail}"
    assert _judge_326(repo, [_entry("2026-02-26T12:20:00Z", text)]).status == PASS


# ------------------------------------------------------------------------------ pending

RUNS = {"workflow": "x", "runs": []}


def _github(repo):
    return {"workflow": "x", "runs": [run(7, repo[1]["squash"], "success", "2026-02-26T12:01:00Z",
                                          "2026-02-26T12:09:00Z")]}


def test_missing_worklog_within_the_grace_is_pending_and_says_how_long_is_left(repo):
    f = _judge_326(repo, collected_at="2026-02-26T20:09:00Z", github=_github(repo))
    assert f.status == PENDING
    assert "run 7 completed 2026-02-26T12:09:00Z" in f.message and "16 h 00 min left" in f.message


def test_missing_worklog_past_the_grace_fails(repo):
    f = _judge_326(repo, collected_at="2026-02-27T12:10:00Z", github=_github(repo))
    assert f.status == FAIL and "no worklog naming" in f.message


def test_grace_is_a_parameter(repo):
    f = _judge_326(repo, collected_at="2026-02-26T20:09:00Z", github=_github(repo), params={"evidence_grace_hours": 4})
    assert f.status == FAIL
    f = _judge_326(repo, collected_at="2026-02-26T12:30:00Z", github=_github(repo), params={"evidence_grace_hours": 0})
    assert f.status == FAIL


def test_without_run_data_the_grace_runs_from_the_commit(repo):
    f = _judge_326(repo, collected_at="2026-02-26T18:00:00Z", github=RuntimeError("HTTP 502 from api.github.com"))
    assert f.status == PENDING and "from the commit at 2026-02-26T12:00:00Z" in f.message and "18 h 00 min" in f.message


def test_unsettled_worklog_within_the_grace_is_pending(repo):
    sha = repo[1]["squash"][:12]
    text = f"Deployed commit {sha}; {LM} State=Active LastUpdateStatus=Successful; validation: pass (retry pending)"
    f = _judge_326(repo, [_entry("2026-02-26T12:20:00Z", text)], collected_at="2026-02-26T14:00:00Z",
                   github=_github(repo))
    assert f.status == PENDING and "retry pending" in f.message


@pytest.mark.parametrize("tail", ["KO", "smoke test: timed out", "\u274c", "reverted the deploy"])
def test_a_stated_failure_is_never_pending(repo, tail):
    sha = repo[1]["squash"][:12]
    text = f"Deployed commit {sha}; {LM} State=Active LastUpdateStatus=Successful; {tail}"
    f = _judge_326(repo, [_entry("2026-02-26T12:20:00Z", text)], collected_at="2026-02-26T14:00:00Z",
                   github=_github(repo))
    assert f.status == FAIL


def test_an_earlier_failure_keeps_later_missing_parts_from_being_pending(repo):
    sha = repo[1]["squash"][:12]
    f = _judge_326(repo, [_entry("2026-02-26T12:20:00Z", GOOD.format(sha=sha).replace("-> 200", "-> 500")),
                          _entry("2026-02-26T13:00:00Z", f"{sha}: validation passed")],
                   collected_at="2026-02-26T14:00:00Z", github=_github(repo))
    assert f.status == FAIL


def test_a_run_dated_after_the_collection_earns_no_grace(repo):
    future = {"workflow": "x", "runs": [run(8, repo[1]["squash"], "success", "2026-02-26T12:01:00Z",
                                           "2026-03-20T00:00:00Z")]}
    f = _judge_326(repo, collected_at="2026-02-26T20:00:00Z", github=future)
    assert f.status == FAIL
