"""The demo's CloudTrail events: who updated the function, shaped like the ``cloudtrail`` collector's output.

Three updates show what only the principal proves: the canonical workflow's role inside a run's deploy
(and inside the failed one's, which ``lambda_state`` judges), an operator's console edit, and the
deployment manager's CodeBuild role deploying the API from the UI request flow.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from compliance.demo.runs import deploy_window
from compliance.demo.system import ACCOUNT, FUNCTION, REGION, UTC, z

WORKFLOW_ROLE = f"arn:aws:iam::{ACCOUNT}:role/github-actions-api-mcp-deploy"
OPERATOR_ROLE = f"arn:aws:iam::{ACCOUNT}:role/enceladus-operator"
CODEBUILD_ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/codebuild-deployment-manager"
PRINCIPALS = {"workflow_role": WORKFLOW_ROLE, "operator_roles": [OPERATOR_ROLE], "deploy_manager": [CODEBUILD_ROLE]}


def _session(role: str, session: str, *, console: bool = False) -> dict[str, Any]:
    name = role.rsplit("/", 1)[-1]
    return {"type": "AssumedRole", "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{name}/{session}",
            "principalId": f"AROADEMO{len(name)}:{session}", "accountId": ACCOUNT,
            "sessionIssuer": {"type": "Role", "arn": role, "accountId": ACCOUNT, "userName": name},
            "sessionCredentialFromConsole": console}


def _event(n: int, when: Any, name: str, who: dict[str, Any], agent: str) -> dict[str, Any]:
    return {"eventID": f"5d1c9a7e-demo-{n:04d}", "eventTime": z(when), "eventName": name, "awsRegion": REGION,
            "functionName": FUNCTION, "userIdentity": who, "userAgent": agent, "sourceIPAddress": "198.51.100.7"}


def cloudtrail_data(github: dict[str, Any], shas: dict[str, str]) -> dict[str, Any]:
    ok_start, _ = deploy_window(github, shas["tsk361"])
    failed_start, _ = deploy_window(github, shas["tsk370"])
    code, config = "UpdateFunctionCode20150331v2", "UpdateFunctionConfiguration20150331v2"
    events = [
        _event(1, ok_start + timedelta(seconds=40), code, _session(WORKFLOW_ROLE, "GitHubActions"), "aws-cli/2.15"),
        _event(2, ok_start + timedelta(days=2, hours=3), config,
               _session(OPERATOR_ROLE, "jordan", console=True), "console.amazonaws.com"),
        _event(3, failed_start + timedelta(seconds=97), code, _session(WORKFLOW_ROLE, "GitHubActions"), "aws-cli/2.15"),
    ]
    # the forbidden substitute in the deployment manager (REQ-20260318T181500Z-9c4e1f), executed by CodeBuild
    from_request = datetime(2026, 3, 18, 18, 21, 5, tzinfo=UTC)
    events.append(_event(4, from_request, code, _session(CODEBUILD_ROLE, "AWSCodeBuild-7f3e"), "Boto3/1.34"))
    return {"function": FUNCTION, "region": REGION, "read": ["s3"],
            "events": sorted(events, key=lambda e: (e["eventTime"], e["eventID"]))}
