"""The demo's CloudTrail events: who updated the function, shaped like the ``cloudtrail`` collector's output.

What only the principal and the artifact prove: the canonical workflow's role uploading inside every green
run's deploy (``deploy_coverage`` and ``lambda_deploy_match`` read these), its refused upload inside the
failed run, an operator's console edits (a configuration change, then a zip uploaded during the ``ci-pin``
run's deploy: the live code, which timing alone would credit to that run, whose log recorded another
CodeSha256), and the deployment manager's CodeBuild role deploying the API from the UI request flow.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Any

from compliance.demo.runs import deploy_window
from compliance.demo.system import ACCOUNT, DEPLOY_STEP, FUNCTION, REGION, UTC, lambda_time, z

WORKFLOW_ROLE = f"arn:aws:iam::{ACCOUNT}:role/github-actions-api-mcp-deploy"
OPERATOR_ROLE = f"arn:aws:iam::{ACCOUNT}:role/enceladus-operator"
CODEBUILD_ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/codebuild-deployment-manager"
PRINCIPALS = {"workflow_role": WORKFLOW_ROLE, "operator_roles": [OPERATOR_ROLE], "deploy_manager": [CODEBUILD_ROLE]}
UPLOAD_AFTER = timedelta(seconds=97)  # into a deploy step, the upload (the LastModified its worklogs state)
CONSOLE_AFTER = timedelta(seconds=150)  # into the ci-pin run's deploy step, the operator's console upload
CONSOLE_BUILD = "console-upload"  # what the operator's zip is the digest of


def code_digest(seed: str) -> str:
    """A CodeSha256 as Lambda prints it (base64 SHA-256) for the demo's build of ``seed``."""
    return base64.b64encode(hashlib.sha256(b"enceladus-demo:" + seed.encode()).digest()).decode()


def revision(seed: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"demo:{seed}"))


def console_upload(github: dict[str, Any], shas: dict[str, str]) -> datetime:
    """When the operator's console upload, the function's live code, landed: inside ci-pin's green deploy."""
    return deploy_window(github, shas["ci-pin"])[0] + CONSOLE_AFTER


def record_artifact(github: dict[str, Any], shas: dict[str, str]) -> None:
    """The artifact the ``github`` source reads for the one run whose deploy holds LastModified (ci-pin's):
    its job log's ``CodeSha256=`` line, the build the pipeline uploaded, not the console's live one."""
    run = next(r for r in github["runs"] if r["head_sha"] == shas["ci-pin"])
    run["artifact"] = {"job_id": run["jobs"][0]["id"], "code_sha256": code_digest(run["head_sha"]),
                       "revision_id": revision(run["head_sha"])}


def _session(role: str, session: str, *, console: bool = False) -> dict[str, Any]:
    name = role.rsplit("/", 1)[-1]
    return {"type": "AssumedRole", "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{name}/{session}",
            "principalId": f"AROADEMO{len(name)}:{session}", "accountId": ACCOUNT,
            "sessionIssuer": {"type": "Role", "arn": role, "accountId": ACCOUNT, "userName": name},
            "sessionCredentialFromConsole": console}


def _event(n: int, when: Any, name: str, who: dict[str, Any], agent: str, **response: str) -> dict[str, Any]:
    return {"eventID": f"5d1c9a7e-demo-{n:04d}", "eventTime": z(when), "eventName": name, "awsRegion": REGION,
            "functionName": FUNCTION, "userIdentity": who, "userAgent": agent, "sourceIPAddress": "198.51.100.7",
            **response}


def _deploy_steps(github: dict[str, Any]) -> list[tuple[dict[str, Any], datetime]]:
    """Each green run with the start of its deploy step."""
    out = []
    for run in github["runs"]:
        step = next((s for job in run.get("jobs") or [] for s in job.get("steps") or [] if s["name"] == DEPLOY_STEP),
                    None)
        if run["conclusion"] == "success" and step:
            out.append((run, datetime.fromisoformat(step["started_at"].replace("Z", "+00:00"))))
    return sorted(out, key=lambda rs: rs[1])


def cloudtrail_data(github: dict[str, Any], shas: dict[str, str]) -> dict[str, Any]:
    code, config = "UpdateFunctionCode20150331v2", "UpdateFunctionConfiguration20150331v2"
    pipeline = _session(WORKFLOW_ROLE, "GitHubActions")
    events = []
    for n, (run, start) in enumerate(_deploy_steps(github), start=10):
        when = start + UPLOAD_AFTER
        events.append(_event(n, when, code, pipeline, "aws-cli/2.15", codeSha256=code_digest(run["head_sha"]),
                             revisionId=revision(run["head_sha"]), lastModified=lambda_time(when)))
    ok_start, _ = deploy_window(github, shas["tsk361"])
    events.append(_event(2, ok_start + timedelta(days=1, hours=3), config,
                         _session(OPERATOR_ROLE, "jordan", console=True), "console.amazonaws.com"))
    live = console_upload(github, shas)
    events.append(_event(5, live, code, _session(OPERATOR_ROLE, "jordan", console=True), "console.amazonaws.com",
                         codeSha256=code_digest(CONSOLE_BUILD), revisionId=revision(CONSOLE_BUILD),
                         lastModified=lambda_time(live)))
    failed_start, _ = deploy_window(github, shas["tsk370"])  # the failed run's upload, refused
    events.append({**_event(3, failed_start + UPLOAD_AFTER, code, pipeline, "aws-cli/2.15"),
                   "errorCode": "InvalidParameterValueException"})
    # the forbidden substitute in the deployment manager (REQ-20260318T181500Z-9c4e1f), executed by CodeBuild
    from_request = datetime(2026, 3, 18, 18, 21, 5, tzinfo=UTC)
    events.append(_event(4, from_request, code, _session(CODEBUILD_ROLE, "AWSCodeBuild-7f3e"), "Boto3/1.34"))
    return {"function": FUNCTION, "region": REGION, "read": ["s3"],
            "events": sorted(events, key=lambda e: (e["eventTime"], e["eventID"]))}
