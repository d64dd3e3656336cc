"""The principal proof (issue 16): ``deploy_coverage`` and ``lambda_deploy_match`` reading CloudTrail on a real
repository. Each has passing, failing, could-not-evaluate and lying cases: an event for a similarly named
function, a console session of the allowed role, a CodeSha256 that matches another deploy, an event just
outside the deploy step, the workflow role inside a run that failed.
"""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta, timezone

import pytest

from compliance.judge.checks.proof import Windows
from compliance.judge.engine import evaluate
from compliance.judge.runs import deploy_window
from compliance.report import FORMATS
from compliance.report.document import build_report
from compliance.sources.cloudtrail import event_record
from compliance.sources.plan import NotConfigured
from tests.scenario import (
    FUNCTION,
    LIVE_CODE,
    TARGET,
    build_repo,
    judge,
    lambda_data,
    run,
    snapshot,
    verdicts,
)
from tests.trail_records import ROLE, identity, record

OPERATOR = "arn:aws:iam::123456789012:role/ops/deploy-operator"
CODEBUILD = "arn:aws:iam::123456789012:role/service-role/codebuild-deploy-manager"
PRINCIPALS = {"workflow_role": ROLE, "operator_roles": [OPERATOR], "deploy_manager": [CODEBUILD]}
CONFIGURED = {**TARGET, "principals": PRINCIPALS, "cloudtrail": {"bucket": "org-cloudtrail", "account": "123456789012"}}
OTHER_CODE = "9Rk3cW0uJ3b3l0Qb2o8z2mR6b8o3v4KpQ9YxZ1cA7bE="
REVISION = "6b0e6c9a-4c1f-4d7e-9a0b-1c2d3e4f5a6b"
NO_TRACKER = {"project": "p", "items": {}, "missing": []}
IN_STEP = "2026-03-01T12:04:00Z"  # inside run 3's deploy step (12:02-12:06)


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return build_repo(tmp_path_factory.mktemp("repo") / "enceladus")


def _event(event_id: str, when: str, *, code: str | None = None, modified: str | None = None, **kw) -> dict:
    rec = record(event_id, when, **kw)
    rec["responseElements"]["codeSha256"] = code
    rec["responseElements"]["lastModified"] = modified
    if code is None:
        del rec["responseElements"]["codeSha256"]
    if modified is None:
        del rec["responseElements"]["lastModified"]
    return event_record(rec, FUNCTION) or event_record(rec, rec["requestParameters"]["functionName"])


def _trail(*events, **extra) -> dict:
    return {"function": FUNCTION, "region": "us-west-2", "read": ["s3"], "events": list(events), **extra}


def _deploy_run(s, run_id=3, sha="direct", conclusion="success", code=None):
    out = run(run_id, s[sha], conclusion, "2026-03-01T12:01:00Z", "2026-03-01T12:09:00Z",
              deploy=("2026-03-01T12:02:00Z", "2026-03-01T12:06:00Z"))
    if code:
        out["artifact"] = {"job_id": 10, "code_sha256": code, "revision_id": REVISION}
    return out


def _coverage(repo, runs, cloudtrail=None, target=CONFIGURED):
    r, _ = repo
    sources = {"github": {"workflow": "x", "runs": runs}, "tracker": NO_TRACKER}
    if cloudtrail is not None:
        sources["cloudtrail"] = cloudtrail
    return judge(snapshot(r.path, target=target, **sources), "deploy_coverage")


# ------------------------------------------------------------------------------ deploy_coverage: passing


def test_the_pipelines_upload_inside_the_run_is_a_principal_pass(repo):
    _, s = repo
    found = _coverage(repo, [_deploy_run(s)], _trail(_event("e1", IN_STEP)))
    assert set(verdicts(found).values()) == {"pass"} and len(found) == 3  # pr, squash, direct: one later run
    f = found[0]
    assert "proof: principal" in f.message and "UpdateFunctionCode20150331v2 at 2026-03-01T12:04:00Z" in f.message
    assert f.evidence[1]["kind"] == "run" and f.evidence[1]["proof"] == "principal"
    assert f.evidence[2]["kind"] == "cloudtrail" and f.evidence[2]["event_id"] == "e1"


def test_the_upload_returning_the_code_the_run_recorded_is_an_artifact_pass(repo):
    _, s = repo
    found = _coverage(repo, [_deploy_run(s, code=LIVE_CODE)], _trail(_event("e1", IN_STEP, code=LIVE_CODE)))
    assert {f.status for f in found} == {"pass"}
    assert all("proof: artifact" in f.message and f.evidence[1]["proof"] == "artifact" for f in found)


def test_without_cloudtrail_the_pass_is_timing_and_says_why(repo):
    _, s = repo
    f = _coverage(repo, [_deploy_run(s)], target=TARGET)[0]
    assert f.status == "pass" and "timing only: cloudtrail not collected (proof: timing)" in f.message
    assert f.evidence[1]["proof"] == "timing"
    f = _coverage(repo, [_deploy_run(s)], NotConfigured("target.cloudtrail.bucket ... not configured"),
                  target={**TARGET, "principals": PRINCIPALS})[0]
    assert f.status == "pass" and "cloudtrail not configured (proof: timing)" in f.message


def test_a_later_run_proves_what_an_earlier_run_did_not_deploy(repo):
    _, s = repo
    early = run(2, s["squash"], "success", "2026-02-26T12:01:00Z", "2026-02-26T12:09:00Z",
                deploy=("2026-02-26T12:02:00Z", "2026-02-26T12:06:00Z"))
    found = _coverage(repo, [early, _deploy_run(s)], _trail(_event("e1", IN_STEP)))
    assert set(verdicts(found).values()) == {"pass"}
    squash = next(f for f in found if f.subject == s["squash"][:12])
    assert "run 3" in squash.message and "before it, run 2 deployed nothing" in squash.message
    assert [e.get("run_id") for e in squash.evidence if e["kind"] == "run"] == [3, 2]


def test_a_run_outside_what_the_trail_covers_stays_on_timing(repo):
    _, s = repo
    narrow = _trail(covers={"since": "2026-02-21T00:00:00Z", "until": "2026-02-28T00:00:00Z"})
    f = _coverage(repo, [_deploy_run(s)], narrow)[0]
    assert f.status == "pass" and "lies outside what CloudTrail (s3) read" in f.message and "proof: timing" in f.message


# ------------------------------------------------------------------------------ deploy_coverage: failing


def test_a_green_run_with_no_upload_by_the_pipelines_role_deployed_nothing(repo):
    _, s = repo
    found = _coverage(repo, [_deploy_run(s)], _trail(_event("e1", "2026-03-03T09:00:00Z")))
    assert {f.status for f in found} == {"fail"}
    f = found[0]
    assert "no successful canonical deploy covers this change" in f.message
    assert "run 3 deployed nothing: CloudTrail records no UpdateFunctionCode by the pipeline's role" in f.message
    kinds = [(e["kind"], e.get("run_id")) for e in f.evidence]
    assert ("run", 3) in kinds and ("cloudtrail", None) in kinds
    absence = next(e for e in f.evidence if e["kind"] == "cloudtrail")
    assert absence["label"].startswith(f"no UpdateFunctionCode by {ROLE} from 2026-03-01T12:02:00Z")


# -------------------------------------------------------------------- deploy_coverage: could not evaluate


def test_a_configured_trail_that_failed_is_error_never_a_timing_pass(repo):
    _, s = repo
    found = _coverage(repo, [_deploy_run(s)], RuntimeError("AccessDenied: s3:ListBucket"))
    assert {f.status for f in found} == {"error"}
    assert "cloudtrail is configured but unavailable" in found[0].message and "AccessDenied" in found[0].message
    assert found[0].evidence[-1]["kind"] == "source"
    # a bucket without its account is configured, just wrongly: not "not configured"
    found = _coverage(repo, [_deploy_run(s)], NotConfigured("target.cloudtrail.account not configured"))
    assert {f.status for f in found} == {"error"}


def test_a_trail_without_the_workflow_role_cannot_prove_anything(repo):
    _, s = repo
    found = _coverage(repo, [_deploy_run(s)], _trail(_event("e1", IN_STEP)),
                      target={**CONFIGURED, "principals": {}})
    assert {f.status for f in found} == {"error"} and "workflow_role is not configured" in found[0].message


def test_a_run_log_and_its_upload_that_disagree_cannot_be_evaluated(repo):
    _, s = repo
    # the CodeSha256 the run printed is another deploy's: its own upload returned something else
    found = _coverage(repo, [_deploy_run(s, code=OTHER_CODE)], _trail(_event("e1", IN_STEP, code=LIVE_CODE)))
    assert {f.status for f in found} == {"error"} and "the records disagree" in found[0].message
    assert OTHER_CODE in found[0].message and LIVE_CODE in found[0].message


# ----------------------------------------------------------------------------- deploy_coverage: lying


@pytest.mark.parametrize("event", [
    _event("e1", IN_STEP, function=f"{FUNCTION}-v2"),  # another function with a similar name
    _event("e1", IN_STEP, console=True),  # the allowed role, in the console
    _event("e1", IN_STEP, who=identity(OPERATOR)),  # an operator role, not the pipeline's
    _event("e1", IN_STEP, name="UpdateFunctionConfiguration20150331v2"),  # configuration only: no code uploaded
    _event("e1", IN_STEP, error="AccessDeniedException"),  # a call that failed uploaded nothing
    _event("e1", "2026-03-01T12:08:01Z"),  # just outside the deploy step and its 120 s slack
    _event("e1", "2026-03-01T11:59:59Z"),
], ids=["similar-name", "console", "operator", "config-only", "failed-call", "just-after", "just-before"])
def test_an_event_that_only_looks_like_the_runs_upload_proves_nothing(repo, event):
    _, s = repo
    found = _coverage(repo, [_deploy_run(s)], _trail(event))
    assert {f.status for f in found} == {"fail"}, [f.message for f in found]
    assert "run 3 deployed nothing" in found[0].message


def test_the_slack_is_the_rules_tolerance(repo):
    _, s = repo
    r, _ = repo
    snap = snapshot(r.path, target=CONFIGURED, github={"workflow": "x", "runs": [_deploy_run(s)]}, tracker=NO_TRACKER,
                    cloudtrail=_trail(_event("e1", "2026-03-01T12:07:30Z")))
    assert {f.status for f in judge(snap, "deploy_coverage")} == {"pass"}  # 90 s after the step: inside 120 s
    assert {f.status for f in judge(snap, "deploy_coverage", {"tolerance_seconds": 30})} == {"fail"}


def test_the_pipelines_upload_in_a_failed_run_does_not_prove_a_green_one(repo):
    _, s = repo
    failed = run(2, s["squash"], "failure", "2026-02-26T12:01:00Z", "2026-02-26T12:09:00Z",
                 deploy=("2026-02-26T12:02:00Z", "2026-02-26T12:06:00Z"))
    found = _coverage(repo, [failed, _deploy_run(s)], _trail(_event("e1", "2026-02-26T12:04:00Z")))
    assert {f.status for f in found} == {"fail"}
    squash = next(f for f in found if f.subject == s["squash"][:12])
    assert "run 2 ended failure" in squash.message and "run 3 deployed nothing" in squash.message


def test_a_code_sha256_that_matches_another_deploy_does_not_prove_this_run(repo):
    _, s = repo
    # the run printed the live digest, but the only upload returning it was made a day later, by the role, by hand
    found = _coverage(repo, [_deploy_run(s, code=LIVE_CODE)], _trail(_event("e1", "2026-03-02T12:04:00Z",
                                                                             code=LIVE_CODE)))
    assert {f.status for f in found} == {"fail"} and "run 3 deployed nothing" in found[0].message


def test_a_recent_run_the_trail_may_not_have_delivered_yet_stays_on_timing(repo):
    r, s = repo
    late = run(3, s["direct"], "success", "2026-03-30T23:50:00Z", "2026-03-30T23:58:00Z",
               deploy=("2026-03-30T23:51:00Z", "2026-03-30T23:55:00Z"))
    found = judge(snapshot(r.path, target=CONFIGURED, github={"workflow": "x", "runs": [late]}, tracker=NO_TRACKER,
                           cloudtrail=_trail()), "deploy_coverage")
    assert {f.status for f in found} == {"pass"} and all("proof: timing" in f.message for f in found)


def test_what_the_trail_had_not_delivered_when_it_was_read_stays_on_timing(repo):
    """The trail read at 23:59 (read_at), the collection finished 31 minutes later (GitHub's rate limit): the
    run's 23:55 upload may not have been delivered to that read, so its absence is no proof of anything."""
    r, s = repo
    late = run(3, s["direct"], "success", "2026-03-30T23:50:00Z", "2026-03-30T23:58:00Z",
               deploy=("2026-03-30T23:51:00Z", "2026-03-30T23:55:00Z"))
    trail = {**_trail(), "read_at": "2026-03-30T23:59:00Z"}
    found = judge(snapshot(r.path, target=CONFIGURED, collected_at="2026-03-31T00:30:00Z", tracker=NO_TRACKER,
                           github={"workflow": "x", "runs": [late]}, cloudtrail=trail), "deploy_coverage")
    assert {f.status for f in found} == {"pass"} and all("proof: timing" in f.message for f in found)
    settled = judge(snapshot(r.path, target=CONFIGURED, collected_at="2026-03-31T00:30:00Z", tracker=NO_TRACKER,
                             github={"workflow": "x", "runs": [late]}, cloudtrail=_trail()), "deploy_coverage")
    assert {f.status for f in settled} == {"fail"}  # read at 00:30: the upload would be there, it is not


# -------------------------------------------------------------------------------- lambda_deploy_match

MODIFIED = "2026-02-26T12:05:00.000+0000"
AT = "2026-02-26T12:05:00Z"


def _match(repo, *events, code=LIVE_CODE, cloudtrail=None, target=CONFIGURED, tracker=None, runs=None, **cfg):
    r, s = repo
    if runs is None:
        one = run(2, s["squash"], "success", "2026-02-26T12:01:00Z", "2026-02-26T12:09:00Z",
                  deploy=("2026-02-26T12:03:00Z", "2026-02-26T12:06:00Z"))
        if code:
            one["artifact"] = {"job_id": 7, "code_sha256": code, "revision_id": REVISION}
        runs = [one]
    sources = {"github": {"workflow": "x", "runs": runs}, "lambda": lambda_data(**cfg),
               "tracker": tracker or NO_TRACKER}
    if cloudtrail is not None or events:
        sources["cloudtrail"] = cloudtrail if cloudtrail is not None else _trail(*events)
    [finding] = judge(snapshot(r.path, target=target, **sources), "lambda_deploy_match")
    return finding


def test_the_pipelines_update_at_last_modified_keeps_the_artifact_pass(repo):
    f = _match(repo, _event("e1", AT, code=LIVE_CODE, modified=MODIFIED))
    assert f.status == "pass" and "proof: artifact" in f.message and "CloudTrail records the update by" in f.message
    assert [e["kind"] for e in f.evidence] == ["lambda", "run", "cloudtrail"]
    assert f.evidence[1]["proof"] == "artifact"


def test_the_pipelines_update_turns_a_timing_match_into_a_principal_pass(repo):
    f = _match(repo, _event("e1", AT, name="UpdateFunctionConfiguration20150331v2", code=LIVE_CODE), code=None)
    assert f.status == "pass" and "proof: principal" in f.message and "timing match only" not in f.message
    assert f.evidence[1]["proof"] == "principal"
    # its upload returning the live digest proves the code as well
    f = _match(repo, _event("e1", AT, code=LIVE_CODE), code=None)
    assert f.status == "pass" and "proof: artifact" in f.message and "returned the live CodeSha256" in f.message


def test_without_cloudtrail_the_match_is_judged_as_before(repo):
    f = _match(repo, code=None, target=TARGET)
    assert f.status == "pass" and "timing match only" in f.message and f.evidence[1]["proof"] == "timing"


@pytest.mark.parametrize(("who", "named"), [
    (identity(console=True), f"a console session of {ROLE}"),  # the allowed role, in the console
    (identity(CODEBUILD), CODEBUILD),  # the deployment manager
    (identity(OPERATOR), OPERATOR),  # an operator role is not the pipeline
    ({"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/bob", "accountId": "123456789012"},
     "arn:aws:iam::123456789012:user/bob"),
], ids=["console", "deploy-manager", "operator", "user"])
def test_an_update_by_another_principal_inside_the_runs_deploy_fails_naming_them(repo, who, named):
    f = _match(repo, _event("e1", AT, who=who, code=LIVE_CODE, modified=MODIFIED))
    assert f.status == "fail" and f"the update was made by {named}" in f.message and "out-of-band" in f.message
    assert f.evidence[-1]["kind"] == "cloudtrail" and f.evidence[-1]["proof"] == "principal"


def test_an_update_that_returned_other_code_fails(repo):
    f = _match(repo, _event("e1", AT, code=OTHER_CODE, modified=MODIFIED), code=None)
    assert f.status == "fail" and OTHER_CODE in f.message and LIVE_CODE in f.message


def test_a_trail_with_no_update_at_last_modified_cannot_be_evaluated(repo):
    # an event for a similarly named function at the same second is not this function's update
    f = _match(repo, _event("e1", AT, function=f"{FUNCTION}-v2", code=LIVE_CODE), _event("e2", "2026-02-26T12:30:00Z"))
    assert f.status == "error" and "records no update of devops-coordination-api at LastModified" in f.message


def test_a_configured_trail_that_failed_is_error(repo):
    f = _match(repo, cloudtrail=RuntimeError("ExpiredToken"))
    assert f.status == "error" and "could not prove who made the update" in f.message and "ExpiredToken" in f.message


def test_the_event_that_set_last_modified_is_the_one_its_response_names(repo):
    # the pipeline's configuration update a second later set another LastModified; the one that set the live
    # value was a console upload
    console = _event("e1", AT, console=True, code=LIVE_CODE, modified=MODIFIED)
    later = _event("e2", "2026-02-26T12:05:01Z", code=LIVE_CODE, modified="2026-02-26T12:05:01.000+0000",
                   name="UpdateFunctionConfiguration20150331v2")
    f = _match(repo, console, later)
    assert f.status == "fail" and "console session" in f.message


def test_a_live_digest_matching_another_deploy_and_a_console_upload_fails_naming_it(repo):
    r, s = repo
    earlier = run(1, s["pr"], "success", "2026-02-25T18:01:00Z", "2026-02-25T18:09:00Z",
                  deploy=("2026-02-25T18:03:00Z", "2026-02-25T18:06:00Z"))
    earlier["artifact"] = {"job_id": 4, "code_sha256": LIVE_CODE, "revision_id": REVISION}
    ours = run(2, s["squash"], "success", "2026-02-26T12:01:00Z", "2026-02-26T12:09:00Z",
               deploy=("2026-02-26T12:03:00Z", "2026-02-26T12:06:00Z"))
    # timing alone credits run 2 (it recorded no digest); CloudTrail shows the console re-uploading run 1's build
    f = _match(repo, _event("e1", AT, console=True, code=LIVE_CODE, modified=MODIFIED), runs=[earlier, ours])
    assert f.status == "fail" and "console session" in f.message and "run 2" in f.message


def test_an_out_of_band_update_names_who_made_it(repo):
    f = _match(repo, _event("e1", "2026-03-05T01:00:00Z", who=identity(CODEBUILD)),
               modified="2026-03-05T01:00:00.000+0000")
    assert f.status == "fail" and "out-of-band" in f.message and f"the update was made by {CODEBUILD}" in f.message


def test_a_manual_deploy_is_backed_by_an_operator_role(repo):
    _, s = repo
    text = (f"Ran backend/lambda/coordination_api/deploy.sh by hand; deployed commit {s['direct'][:9]}; "
            "LastModified=2026-03-02T07:59:00.000+0000 State=Active LastUpdateStatus=Successful")
    tracker = {"project": "p", "missing": [], "items": {"ENC-TSK-326": {"item_id": "ENC-TSK-326", "history": [
        {"status": "worklog", "description": text, "timestamp": "2026-03-02T08:00:00Z"}]}}}
    when, modified = "2026-03-02T07:59:00Z", "2026-03-02T07:59:00.000+0000"
    f = _match(repo, _event("e1", when, who=identity(OPERATOR)), runs=[], tracker=tracker, modified=modified)
    assert f.status == "pass" and "proof: principal" in f.message and "ENC-TSK-326" in f.message
    f = _match(repo, _event("e1", when, who=identity(OPERATOR, console=True)), runs=[], tracker=tracker,
               modified=modified)
    assert f.status == "fail" and "console session" in f.message


# ------------------------------------------------------------------------------------ the demo, reported


def test_the_demo_reports_the_console_upload_timing_would_credit_to_a_run(demo):
    snap, rules = demo
    findings = evaluate(snap, rules)
    (match,) = [f for f in findings if f.check == "lambda_deploy_match"]
    live = snap["sources"]["lambda"]["data"]["configuration"]["CodeSha256"]
    assert match.status == "fail" and live in match.message and "not what that deploy uploaded" in match.message
    assert "CloudTrail: the update was made by a console session of" in match.message
    assert [e.get("proof") for e in match.evidence[1:]] == ["artifact", "principal"]
    covered = [f for f in findings if f.check == "deploy_coverage" and f.status == "pass"]
    assert covered and all("(proof: principal)" in f.message for f in covered)
    doc = build_report(snap, rules, findings, "audit")
    for name in ("md", "html", "junit"):
        text = re.sub(r"<[^>]+>", "", FORMATS[name].render(doc))  # the HTML's markup around key and value
        assert "proof: artifact" in text and "proof: principal" in text, name  # the evidence key, listed


def test_the_window_index_finds_exactly_the_runs_a_scan_would():
    """deploy_principal joins every event to a run through ``Windows``: the same runs, in the same order, as
    a scan of every run's deploy window, with windows of every length overlapping."""
    rng = random.Random(16)
    base = datetime(2026, 3, 1, tzinfo=timezone.utc)
    runs = []
    for i in range(300):
        start = base + timedelta(minutes=rng.randint(0, 5000))
        end = start + timedelta(seconds=rng.choice([30, 200, 900, 36000]))
        runs.append({"id": i, "head_sha": f"{i:040x}", "run_started_at": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                     "updated_at": end.strftime("%Y-%m-%dT%H:%M:%SZ")})
    index, slack = Windows(runs), timedelta(seconds=120)
    for _ in range(500):
        when = base + timedelta(seconds=rng.randint(-600, 5000 * 60 + 40000))
        scan = [r for r in runs if deploy_window(r)[0] - slack <= when <= deploy_window(r)[1] + slack]
        assert index.holding(when, slack) == scan


def test_lookup_events_alone_prove_nothing_older_than_90_days(repo):
    r, s = repo
    snap = snapshot(r.path, target={**CONFIGURED, "cloudtrail": {"lookup": True}}, tracker=NO_TRACKER,
                    github={"workflow": "x", "runs": [_deploy_run(s)]},
                    cloudtrail={"function": FUNCTION, "region": "us-west-2", "read": ["lookup"], "events": []})
    assert {f.status for f in judge(snap, "deploy_coverage")} == {"fail"}  # run 3 is within LookupEvents' reach
    snap["collected_at"] = "2026-06-15T00:00:00Z"  # the same read, judged as collected 90+ days after the run
    found = judge(snap, "deploy_coverage")
    assert {f.status for f in found} == {"pass"}
    assert all("outside what CloudTrail (lookup) read 2026-03-17" in f.message and "proof: timing" in f.message
               for f in found)


def test_the_pipelines_update_inside_a_failed_run_is_still_a_failed_deploy(repo):
    r, s = repo
    failed = run(2, s["squash"], "failure", "2026-02-26T12:01:00Z", "2026-02-26T12:09:00Z",
                 deploy=("2026-02-26T12:03:00Z", "2026-02-26T12:06:00Z"))
    f = _match(repo, _event("e1", AT, code=LIVE_CODE, modified=MODIFIED), runs=[failed])
    assert f.status == "fail" and "ended failure" in f.message
    assert f"CloudTrail: the update was made by {ROLE}" in f.message
