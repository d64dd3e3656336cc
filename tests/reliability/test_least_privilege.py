"""The shipped IAM policies are well-formed and least-privilege, and the audit really is read-only.

``iam/audit-readonly.json`` is what the scheduled audit runs with; ``iam/deploy.json`` what deploy.sh
and ``compliance deploy`` need. The end-to-end audit is run with every AWS operation and every GitHub
request recorded, so a collector that starts writing (or needs an action the policy lacks) fails here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import responses

from compliance.cli import main
from tests.github_payloads import FakeGitHub
from tests.live_system import audit_args

IAM = Path(__file__).resolve().parents[2] / "iam"
POLICIES = {"audit": IAM / "audit-readonly.json", "deploy": IAM / "deploy.json"}
WRITE = re.compile(r"^[a-z0-9-]+:(Put|Update|Delete|Create|Write|Invoke|Publish|Batch(Write|Execute)|Tag|Untag|"
                   r"Add|Remove|Attach|Detach|Pass|Execute|Restore|Import)|^apigateway:(POST|PUT|PATCH|DELETE|\*)$"
                   r"|^[a-z0-9-]+:\*$|^\*$")
ARN = re.compile(r"^arn:aws:(lambda|apigateway|dynamodb|iam|logs|s3):(us-west-2)?:(ACCOUNT_ID)?:\S+$")
NAMES = ("devops-coordination-api", "devops-tracker-api", "devops-project-tracker", "devops-deployment-manager",
         "/apis", "TRAIL_BUCKET")
UNSCOPABLE = {"cloudtrail:LookupEvents"}  # IAM offers no resource-level permission for it: "*" is the only form


def _statements(name: str) -> list[dict]:
    doc = json.loads(POLICIES[name].read_text("utf-8"))
    assert doc["Version"] == "2012-10-17" and set(doc) <= {"Version", "Id", "Statement"}
    assert isinstance(doc["Statement"], list) and doc["Statement"]
    return doc["Statement"]


def _listed(value) -> list[str]:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_policy_is_a_valid_iam_document(name):
    sids = []
    for st in _statements(name):
        assert set(st) <= {"Sid", "Effect", "Action", "Resource", "Condition"}, st
        assert st["Effect"] == "Allow" and st.get("Sid") and re.fullmatch(r"[A-Za-z0-9]+", st["Sid"])
        sids.append(st["Sid"])
        for action in _listed(st["Action"]):
            assert re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9*]+", action) and "*" not in action, action
        if set(_listed(st["Action"])) <= UNSCOPABLE:
            assert st["Resource"] == "*"
            continue
        for resource in _listed(st["Resource"]):
            assert resource != "*" and ARN.match(resource), resource  # scoped, never the whole account
            assert any(n in resource for n in NAMES) or resource.endswith(":role/devops-coordination-api-role")
    assert len(sids) == len(set(sids))


def test_audit_policy_allows_no_write():
    actions = [a for st in _statements("audit") for a in _listed(st["Action"])]
    assert actions and not [a for a in actions if WRITE.search(a)]
    assert "dynamodb:Scan" not in actions  # the target names its project, so a Query suffices


def test_deploy_policy_covers_the_deploy_and_nothing_broader():
    actions = {a for st in _statements("deploy") for a in _listed(st["Action"])}
    assert {"lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration", "lambda:PublishVersion",
            "lambda:GetFunction", "lambda:GetFunctionConfiguration", "iam:PassRole", "dynamodb:UpdateItem",
            "apigateway:GET"} <= actions
    assert not actions & {"lambda:DeleteFunction", "lambda:CreateFunction", "dynamodb:PutItem",
                          "dynamodb:DeleteItem", "dynamodb:Scan", "apigateway:DELETE", "iam:CreateRole"}
    pass_role = next(st for st in _statements("deploy") if "iam:PassRole" in _listed(st["Action"]))
    assert pass_role["Condition"]["StringEquals"]["iam:PassedToService"] == "lambda.amazonaws.com"
    writes = [st for st in _statements("deploy") if "dynamodb:UpdateItem" in _listed(st["Action"])]
    assert all(_listed(st["Resource"]) == ["arn:aws:dynamodb:us-west-2:ACCOUNT_ID:table/devops-project-tracker"]
               for st in writes)


def _iam_action(service: str, operation: str) -> str:
    if service == "apigatewayv2":
        return "apigateway:GET" if operation.startswith("Get") else f"apigateway:{operation}"
    if (service, operation) == ("s3", "ListObjectsV2"):
        return "s3:ListBucket"  # the action IAM checks for a listing
    return f"{service}:{operation}"


def test_audit_makes_no_write_call(make_system, monkeypatch, capsys):
    from botocore.client import BaseClient

    calls: list[tuple[str, str]] = []
    real = BaseClient._make_api_call

    def recording(self, operation_name, api_params):
        calls.append((self.meta.service_model.service_name, operation_name))
        return real(self, operation_name, api_params)

    system = make_system()
    monkeypatch.setattr(BaseClient, "_make_api_call", recording)  # after setup: moto fixtures may write
    with responses.RequestsMock() as rsps:
        FakeGitHub(rsps, system.runs())
        code = main(audit_args(system.config, system.root / "out"))
        github = [(c.request.method, c.request.url) for c in rsps.calls]
    capsys.readouterr()
    assert code == 1
    assert calls and github
    assert all(re.match(r"^(Get|List|BatchGetItem$|Query$|Scan$)", op) for _, op in calls), calls
    assert {m for m, _ in github} == {"GET"}, github
    assert {m for m, _ in system.probe.seen} == {"GET"}
    allowed = {a for st in _statements("audit") for a in _listed(st["Action"])}
    needed = {_iam_action(service, op) for service, op in calls}
    assert needed <= allowed, needed - allowed  # the policy is enough for what the audit does
