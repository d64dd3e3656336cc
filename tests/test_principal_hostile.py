"""deploy_principal and the principal proof against CloudTrail data shaped to hide an update (a hostile probe), on a
real repository: a read that does not cover the window, a console re-creation of the function.
"""

from __future__ import annotations

import pytest

from compliance.sources.cloudtrail import event_record
from tests.scenario import FUNCTION, LIVE_CODE, TARGET, build_repo, judge, lambda_data, run, snapshot
from tests.trail_records import ROLE, record

PRINCIPALS = {"workflow_role": ROLE, "operator_roles": [], "deploy_manager": []}
CONFIGURED = {**TARGET, "principals": PRINCIPALS, "cloudtrail": {"lookup": True}}
IN_RUN = "2026-03-01T12:04:00Z"  # inside run 3's deploy step (12:02-12:06)


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return build_repo(tmp_path_factory.mktemp("repo") / "enceladus")


def _judge(repo, cloudtrail: dict):
    r, s = repo
    runs = [run(3, s["direct"], "success", "2026-03-01T12:01:00Z", "2026-03-01T12:09:00Z",
                deploy=("2026-03-01T12:02:00Z", "2026-03-01T12:06:00Z"))]
    return judge(snapshot(r.path, target=CONFIGURED, collected_at="2026-03-31T01:00:00Z",  # the trail delivered
                          github={"workflow": "x", "runs": runs}, cloudtrail=cloudtrail), "deploy_principal")


def _events(*records) -> list[dict]:
    return [e for e in (event_record(rec, FUNCTION) for rec in records) if e]


def test_no_update_is_no_pass_when_the_read_does_not_cover_the_window(repo):
    # LookupEvents alone reaches back 90 days: for an older window it read nothing, which proves no absence
    data = {"function": FUNCTION, "region": "us-west-2", "read": ["lookup"], "events": [],
            "covers": {"since": "2026-06-01T00:00:00Z", "until": "2026-03-31T00:00:00Z"}}
    found = _judge(repo, data)
    assert [f.status for f in found] == ["error"]
    assert "2026-06-01T00:00:00Z" in found[0].message  # says what the read covers


def test_no_update_is_no_pass_when_the_read_covers_part_of_the_window(repo):
    data = {"function": FUNCTION, "region": "us-west-2", "read": ["lookup"], "events": [],
            "covers": {"since": "2026-03-10T00:00:00Z", "until": "2026-03-31T00:00:00Z"}}
    assert [f.status for f in _judge(repo, data)] == ["error"]


def test_no_update_over_a_covered_window_still_passes(repo):
    data = {"function": FUNCTION, "region": "us-west-2", "read": ["s3"], "events": [],
            "covers": {"since": "2026-02-21T00:00:00Z", "until": "2026-03-31T00:00:00Z"}}
    assert [f.status for f in _judge(repo, data)] == ["pass"]


def test_a_console_session_recreating_the_function_is_caught(repo):
    # DeleteFunction + CreateFunction from the console puts new code live as surely as UpdateFunctionCode
    events = _events(record("d1", "2026-03-02T09:00:00Z", name="DeleteFunction20150331", console=True),
                     record("c1", "2026-03-02T09:01:00Z", name="CreateFunction20150331", console=True))
    data = {"function": FUNCTION, "region": "us-west-2", "read": ["s3"], "events": events}
    found = _judge(repo, data)
    assert "fail" in [f.status for f in found]
    assert any("CreateFunction20150331" in f.subject and "console" in f.message for f in found if f.status == "fail")


def test_create_function_url_config_is_no_update_but_a_change_made_by_hand(repo):
    """Not an update (it credits no deploy: ``is_update``), but a change of who may call the function: made in
    the console, it is the function edited by hand (probe 12: alias moves and such passed unseen)."""
    from compliance.judge.checks.trail_events import changes_function, is_update
    assert not is_update("CreateFunctionUrlConfig20211031") and changes_function("CreateFunctionUrlConfig20211031")
    data = {"function": FUNCTION, "region": "us-west-2", "read": ["s3"],
            "events": _events(record("u1", "2026-03-02T09:00:00Z", name="CreateFunctionUrlConfig20211031",
                                     console=True))}
    [f] = _judge(repo, data)
    assert f.status == "fail" and "console" in f.message


def test_a_console_update_with_an_unreadable_last_modified_is_not_hidden_behind_the_pipelines(repo):
    # lambda_deploy_match picks the update that set LastModified by its response's lastModified; one that cannot be
    # read must not drop out, leaving the pipeline's update (at nearly the same second) to take the credit
    r, s = repo
    one = run(2, s["squash"], "success", "2026-02-26T12:01:00Z", "2026-02-26T12:09:00Z",
              deploy=("2026-02-26T12:03:00Z", "2026-02-26T12:06:00Z"))
    pipeline = record("p1", "2026-02-26T12:04:58Z")
    del pipeline["responseElements"]["lastModified"]
    console = record("c1", "2026-02-26T12:05:00Z", name="UpdateFunctionConfiguration20150331v2", console=True)
    console["responseElements"]["lastModified"] = "26/02/2026 12:05:00"
    for rec in (pipeline, console):
        rec["responseElements"]["codeSha256"] = LIVE_CODE
    cloudtrail = {"function": FUNCTION, "region": "us-west-2", "read": ["s3"], "events": _events(pipeline, console)}
    target = {**CONFIGURED, "cloudtrail": {"bucket": "org-cloudtrail", "account": "123456789012"}}
    sources = {"github": {"workflow": "x", "runs": [one]}, "lambda": lambda_data(),
               "tracker": {"project": "p", "items": {}, "missing": []}, "cloudtrail": cloudtrail}
    [f] = judge(snapshot(r.path, target=target, **sources), "lambda_deploy_match")
    assert f.status != "pass" and "console" in f.message
