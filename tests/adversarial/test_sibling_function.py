"""A worklog about a sibling function is no evidence for the target (probe4).

The "other target" test looked only for the target's own name with something glued to it: for the target
``devops-coordination-api-gamma`` (the v4 twin), a worklog "Deployed ... to devops-coordination-api" names a
name the target's *contains*, so it matched nothing and counted as the gamma function's deploy evidence.
"""

from __future__ import annotations

import pytest

from compliance.judge.evidence import names_other_target
from tests.scenario import build_repo, judge, snapshot

GAMMA = "devops-coordination-api-gamma"


@pytest.mark.parametrize("text, function, other", [
    ("Deployed 0d908c3 to devops-coordination-api State=Active", GAMMA, "devops-coordination-api"),
    ("Deployed 0d908c3 to DEVOPS-COORDINATION-API, State=Active", GAMMA, "DEVOPS-COORDINATION-API"),
    ("Deployed 0d908c3 to devops-coordination-api-staging", GAMMA, "devops-coordination-api-staging"),
    ("Deployed 0d908c3 to devops-coordination-mcp", "devops-coordination-api", "devops-coordination-mcp"),
    ("Deployed 0d908c3 to devops-coordination-api-gamma", "devops-coordination-api", GAMMA),  # as before
])
def test_a_sibling_function_is_another_target(text, function, other):
    assert names_other_target(text, function) == other


@pytest.mark.parametrize("text, function", [
    ("Deployed 0d908c3 to devops-coordination-api-gamma; /aws/lambda/devops-coordination-api-gamma", GAMMA),
    ("Deployed 0d908c3 to devops-coordination-api (logs: /aws/lambda/devops-coordination-api)", "devops-coordination-api"),
    ("the devops-coordination API answered", "devops-coordination-api"),  # two segments are prose, not a name
    ("Deployed 0d908c3 via api-mcp-backend-deploy; table devops-project-tracker", "devops-coordination-api"),
])
def test_the_target_itself_and_prose_are_not_another_target(text, function):
    assert names_other_target(text, function) is None


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return build_repo(tmp_path_factory.mktemp("repo") / "enceladus")


def test_the_worklog_check_refuses_a_sibling_functions_deploy_for_the_twin(repo):
    r, s = repo
    line = (f"Deployed commit {s['squash'][:12]} via api-mcp-backend-deploy; {{fn}} "
            "LastModified=2026-03-01T12:05:00.000+0000 State=Active LastUpdateStatus=Successful; "
            "GET /api/v1/coordination/capabilities -> 200")
    subject = f"ENC-TSK-326@{s['squash'][:12]}"
    found = {}
    for fn in (GAMMA, "devops-coordination-api"):
        items = {"ENC-TSK-326": {"item_id": "ENC-TSK-326", "record_id": "task#ENC-TSK-326", "history": [
            {"timestamp": "2026-03-01T12:30:00Z", "status": "worklog", "description": line.format(fn=fn)}]}}
        snap = snapshot(r.path, tracker={"project": "enceladus", "items": items, "missing": []})
        snap["target"] = {**snap["target"], "function": GAMMA}  # a copy: the scenario's target is shared
        found[fn] = {f.subject: f for f in judge(snap, "worklog_evidence")}[subject]
    assert found[GAMMA].status == "pass", found[GAMMA].message
    assert found["devops-coordination-api"].status == "fail"
    assert "another deploy target (devops-coordination-api)" in found["devops-coordination-api"].message
