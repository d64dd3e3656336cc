"""deploy_principal on a real repository with CloudTrail events: passing, failing, could-not-evaluate and lying cases."""

from __future__ import annotations

import pytest

from compliance.sources.cloudtrail import event_record
from tests.scenario import FUNCTION, TARGET, build_repo, judge, run, snapshot
from tests.trail_records import ROLE, identity, record

OPERATOR = "arn:aws:iam::123456789012:role/ops/deploy-operator"
CODEBUILD = "arn:aws:iam::123456789012:role/service-role/codebuild-deploy-manager"
PRINCIPALS = {"workflow_role": ROLE, "operator_roles": [OPERATOR], "deploy_manager": [CODEBUILD]}
IN_RUN = "2026-03-01T12:04:00Z"  # inside run 3's deploy step
DELIVERED = "2026-03-31T01:00:00Z"  # collected an hour after the window: the trail holds all of it


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return build_repo(tmp_path_factory.mktemp("repo") / "enceladus")


def _judge(repo, *records, principals=PRINCIPALS, tracker=None, cloudtrail=None):
    r, s = repo
    runs = [run(3, s["direct"], "success", "2026-03-01T12:01:00Z", "2026-03-01T12:09:00Z",
                deploy=("2026-03-01T12:02:00Z", "2026-03-01T12:06:00Z"))]
    events = [e for e in (event_record(rec, FUNCTION) for rec in records) if e]
    sources = {"github": {"workflow": "x", "runs": runs},
               "cloudtrail": cloudtrail if cloudtrail is not None else
               {"function": FUNCTION, "region": "us-west-2", "read": ["s3"], "events": events}}
    if tracker is not None:
        sources["tracker"] = tracker
    target = {**TARGET, "principals": principals} if principals is not None else TARGET
    return judge(snapshot(r.path, target=target, collected_at=DELIVERED, **sources), "deploy_principal")


def _one(found):
    assert len(found) == 1
    return found[0]


def test_workflow_role_inside_a_runs_deploy_passes(repo):
    f = _one(_judge(repo, record("e1", IN_RUN)))
    assert f.status == "pass"
    assert "canonical workflow's role" in f.message and "run 3" in f.message
    assert [e["kind"] for e in f.evidence] == ["cloudtrail", "run"]


def test_no_update_in_the_window_passes_saying_so(repo):
    f = _one(_judge(repo, record("e1", IN_RUN, name="GetFunction20150331v2")))
    assert f.status == "pass" and "records no code or configuration update" in f.message


def test_each_update_is_one_finding(repo):
    found = _judge(repo, record("e1", IN_RUN), record("e2", "2026-03-01T12:05:00Z",
                                                        name="UpdateFunctionConfiguration20150331v2"))
    assert [f.status for f in found] == ["pass", "pass"]
    assert len({f.subject for f in found}) == 2


def test_deploy_manager_role_fails_with_its_own_message(repo):
    f = _one(_judge(repo, record("e1", IN_RUN, who=identity(CODEBUILD))))
    assert f.status == "fail" and "UI deployment manager" in f.message and CODEBUILD in f.message


def test_other_principal_fails(repo):
    f = _one(_judge(repo, record("e1", IN_RUN, who={"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/bob",
                                                     "accountId": "123456789012", "userName": "bob"})))
    assert f.status == "fail" and "neither the canonical workflow's role nor a named operator role" in f.message
    assert "user/bob" in f.message


def test_allowed_role_with_no_run_is_role_used_outside_the_pipeline(repo):
    f = _one(_judge(repo, record("e1", "2026-03-05T09:00:00Z")))
    assert f.status == "fail" and "role used outside the pipeline" in f.message


def test_operator_role_joined_to_recorded_manual_deploy_passes(repo):
    _, s = repo
    when = "2026-03-02T07:59:00Z"
    items = {"ENC-TSK-326": {"item_id": "ENC-TSK-326", "history": [
        {"timestamp": "2026-03-02T08:00:00Z", "status": "worklog",
         "description": f"Ran backend/lambda/coordination_api/deploy.sh by hand; deployed commit {s['direct'][:9]}; "
                        "LastModified=2026-03-02T07:59:00.000+0000 State=Active LastUpdateStatus=Successful"}]}}
    f = _one(_judge(repo, record("e1", when, who=identity(OPERATOR)),
                    tracker={"project": "p", "items": items, "missing": []}))
    assert f.status == "pass" and "operator role" in f.message and "ENC-TSK-326" in f.message
    # without the worklog the same update has nothing to join
    f = _one(_judge(repo, record("e1", when, who=identity(OPERATOR))))
    assert f.status == "fail" and "role used outside the pipeline" in f.message


# --------------------------------------------------------------------------- could not evaluate

def test_failed_cloudtrail_source_is_error_never_pass(repo):
    found = _judge(repo, cloudtrail=RuntimeError("AccessDenied: s3:ListBucket"))
    assert {f.status for f in found} == {"error"}


def test_unconfigured_principals_is_error(repo):
    f = _one(_judge(repo, record("e1", IN_RUN), principals=None))
    assert f.status == "error" and "target.principals.workflow_role" in f.message


# --------------------------------------------------------------------------- lying cases

def test_console_session_of_the_allowed_role_inside_a_run_fails(repo):
    f = _one(_judge(repo, record("e1", IN_RUN, console=True)))
    assert f.status == "fail" and "console session" in f.message


@pytest.mark.parametrize("who", [
    identity("arn:aws:iam::123456789012:role/gh-deploy-tmp"),  # a role whose name starts like the allowed one
    identity(ROLE, session_role="gh-deploy-tmp"),  # the issuer copied next to another role's session
    identity(ROLE, account="210987654321"),  # the same role name in another account
    {**identity(ROLE), "type": "IAMUser"},  # not a role session at all
])
def test_an_arn_that_only_looks_like_the_allowed_role_fails(repo, who):
    f = _one(_judge(repo, record("e1", IN_RUN, who=who)))
    assert f.status == "fail" and "neither the canonical workflow's role" in f.message


def test_event_for_a_similarly_named_function_is_not_this_functions_update(repo):
    r, s = repo
    other = event_record(record("e1", IN_RUN, function=f"{FUNCTION}-v2", who=identity(CODEBUILD)), f"{FUNCTION}-v2")
    found = _judge(repo, cloudtrail={"function": FUNCTION, "events": [other]})  # a snapshot holding it anyway
    assert _one(found).status == "pass" and "records no code or configuration update" in found[0].message


def test_a_failed_call_is_not_an_update(repo):
    f = _one(_judge(repo, record("e1", IN_RUN, who=identity(CODEBUILD), error="AccessDeniedException")))
    assert f.status == "pass"


def test_workflow_role_inside_a_failed_runs_deploy_is_the_pipeline_and_says_so(repo):
    r, s = repo
    runs = [run(4, s["direct"], "failure", "2026-03-01T12:01:00Z", "2026-03-01T12:09:00Z",
                deploy=("2026-03-01T12:02:00Z", "2026-03-01T12:06:00Z"))]
    events = [event_record(record("e1", IN_RUN), FUNCTION)]
    found = judge(snapshot(r.path, target={**TARGET, "principals": PRINCIPALS}, github={"workflow": "x", "runs": runs},
                           collected_at=DELIVERED, cloudtrail={"function": FUNCTION, "events": events}),
                  "deploy_principal")
    f = _one(found)
    assert f.status == "pass" and "run 4" in f.message and "ended failure" in f.message


def test_the_minutes_the_trail_may_not_hold_yet_are_pending_never_a_pass(repo):
    """Collected as the window ends: an update in its last 15 minutes may not be delivered yet."""
    r, s = repo
    runs = [run(3, s["direct"], "success", "2026-03-01T12:01:00Z", "2026-03-01T12:09:00Z",
                deploy=("2026-03-01T12:02:00Z", "2026-03-01T12:06:00Z"))]
    target = {**TARGET, "principals": PRINCIPALS}
    empty = {"function": FUNCTION, "region": "us-west-2", "read": ["s3"], "events": []}
    [f] = judge(snapshot(r.path, target=target, github={"workflow": "x", "runs": runs}, cloudtrail=empty),
                "deploy_principal")
    assert f.status == "pending" and "2026-03-30T23:45:00Z" in f.message  # no "records no update" pass
    events = [event_record(record("e1", IN_RUN), FUNCTION)]
    found = judge(snapshot(r.path, target=target, github={"workflow": "x", "runs": runs},
                           cloudtrail={**empty, "events": events}), "deploy_principal")
    assert sorted(f.status for f in found) == ["pass", "pending"]  # the update judged, the tail still open
    settled = judge(snapshot(r.path, target=target, collected_at="2026-03-31T00:15:00Z",
                             github={"workflow": "x", "runs": runs}, cloudtrail=empty), "deploy_principal")
    assert [f.status for f in settled] == ["pass"]


def test_the_pending_tail_is_measured_from_the_trails_read_not_the_end_of_the_collection(repo):
    """Lying by timing: CloudTrail was read as the window ended (00:02), then GitHub's rate limit held the
    collection for 14 minutes, so ``collected_at`` (00:16) is more than 15 minutes after ``until``. An update at
    23:55 may not have been delivered when the trail was read: that is the read's tail, still pending."""
    r, s = repo
    runs = [run(3, s["direct"], "success", "2026-03-01T12:01:00Z", "2026-03-01T12:09:00Z",
                deploy=("2026-03-01T12:02:00Z", "2026-03-01T12:06:00Z"))]
    target = {**TARGET, "principals": PRINCIPALS}
    read = {"function": FUNCTION, "region": "us-west-2", "read": ["s3"], "events": [], "read_at": "2026-03-31T00:02:00Z"}
    [f] = judge(snapshot(r.path, target=target, collected_at="2026-03-31T00:16:00Z",
                         github={"workflow": "x", "runs": runs}, cloudtrail=read), "deploy_principal")
    assert f.status == "pending" and "2026-03-30T23:47:00Z" in f.message
    later = {**read, "read_at": "2026-03-31T00:15:00Z"}  # read once the window's end was delivered
    [f] = judge(snapshot(r.path, target=target, collected_at="2026-03-31T00:16:00Z",
                         github={"workflow": "x", "runs": runs}, cloudtrail=later), "deploy_principal")
    assert f.status == "pass"
    forged = {**read, "read_at": "2026-04-30T00:00:00Z"}  # a read after the collection: the collection's clock
    [f] = judge(snapshot(r.path, target=target, collected_at="2026-03-31T00:05:00Z",
                         github={"workflow": "x", "runs": runs}, cloudtrail=forged), "deploy_principal")
    assert f.status == "pending"
