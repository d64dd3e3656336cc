"""The demo's Lambda, HTTP API and deployment-manager data, shaped like their live collectors' output."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from compliance.demo.system import (
    ACCOUNT,
    API_DIR,
    DICTIONARY,
    DM_TABLE,
    FUNCTION,
    FUNCTION_ARN,
    HTTP_API,
    REGION,
    REPO,
    UTC,
    lambda_time,
    z,
)
from compliance.demo.trail import CONSOLE_BUILD, code_digest, console_upload, revision


def lambda_data(github: dict[str, Any], shas: dict[str, str]) -> dict[str, Any]:
    """The failed update the function shows: an operator's console upload, stamped inside the green ci-pin
    run's deploy step (after that run's own upload), so timing alone credits the run with it."""
    modified = console_upload(github, shas)
    return {
        "function": FUNCTION,
        "configuration": {
            "FunctionName": FUNCTION,
            "FunctionArn": FUNCTION_ARN,
            "Runtime": "python3.11",
            "Role": f"arn:aws:iam::{ACCOUNT}:role/devops-coordination-api-role",
            "Handler": "lambda_function.lambda_handler",
            "CodeSize": 1843211,
            "Timeout": 30,
            "MemorySize": 512,
            "State": "Active",
            "LastUpdateStatus": "Failed",
            "LastUpdateStatusReason": "Uploaded file must be a non-empty zip",
            "LastUpdateStatusReasonCode": "InvalidZipFileException",
            "LastModified": lambda_time(modified),
            "CodeSha256": code_digest(CONSOLE_BUILD),
            "RevisionId": revision(CONSOLE_BUILD),
            "Version": "$LATEST",
            "PackageType": "Zip",
            "Architectures": ["x86_64"],
        },
    }


def apigateway_data() -> dict[str, Any]:
    api_id = "k3x9q2m7vd"
    coord, tracker = "7hq2c1p", "b4n8r0z"
    keys = [
        "GET /api/v1/coordination/capabilities",
        "POST /api/v1/coordination/requests",
        "GET /api/v1/coordination/requests/{requestId}",
        "GET /api/v1/coordination/mcp",
        "POST /api/v1/coordination/mcp",
    ]
    paths = list(dict.fromkeys(k.split(" ", 1)[1] for k in keys))
    coord_keys = keys + [f"OPTIONS {p}" for p in paths]
    routes = [{"RouteId": hashlib.sha1(k.encode()).hexdigest()[:7], "RouteKey": k, "Target": f"integrations/{coord}",
               "AuthorizationType": "NONE"} for k in coord_keys]
    routes += [{"RouteId": hashlib.sha1(k.encode()).hexdigest()[:7], "RouteKey": k,
                "Target": f"integrations/{tracker}", "AuthorizationType": "NONE"}
               for k in ("GET /api/v1/tracker/{projectId}", "POST /api/v1/tracker/{projectId}/items")]
    integrations = [
        {"IntegrationId": coord, "IntegrationType": "AWS_PROXY", "IntegrationMethod": "POST",
         "IntegrationUri": FUNCTION_ARN, "PayloadFormatVersion": "2.0", "TimeoutInMillis": 30000},
        {"IntegrationId": tracker, "IntegrationType": "AWS_PROXY", "IntegrationMethod": "POST",
         "IntegrationUri": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:devops-tracker-api",
         "PayloadFormatVersion": "2.0", "TimeoutInMillis": 30000},
    ]
    return {
        "api": {"ApiId": api_id, "Name": HTTP_API, "ProtocolType": "HTTP",
                "ApiEndpoint": f"https://{api_id}.execute-api.{REGION}.amazonaws.com"},
        "routes": routes,
        "integrations": integrations,
    }


def deploy_manager_data() -> dict[str, Any]:
    def request(rid: str, status: str, dtype: str, by: str, summary: str, files: list[str],
                related: list[str], config: dict[str, Any] | None = None) -> dict[str, Any]:
        stamp = rid.split("-")[1]
        submitted = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        row: dict[str, Any] = {
            "project_id": REPO, "record_id": f"request#{rid}", "request_id": rid, "status": status,
            "deployment_type": dtype, "submitted_at": z(submitted), "submitted_by": by, "summary": summary,
            "changes": [summary], "related_record_ids": related, "files_changed": files,
        }
        if config is not None:
            row["non_ui_config"] = json.dumps(config, sort_keys=True)
        return row

    requests = [
        request("REQ-20260301T101500Z-a1b2c3", "included", "github_public_static", "NX-2021-L",
                "Deployment manager form copy edits", ["frontend/ui/src/pages/Deployments.tsx"], ["ENC-TSK-331"]),
        request("REQ-20260305T173200Z-5e7d20", "included", "github_public_static", "NX-2021-L",
                "Lazy-load tracker board", ["frontend/ui/src/pages/Board.tsx"], ["ENC-TSK-345"]),
        request("REQ-20260313T204100Z-0f93ab", "failed", "github_public_static", "enceladus-agent",
                "Dashboard grid polish", ["frontend/ui/src/pages/Dashboard.tsx"], ["ENC-TSK-365"]),
        # The forbidden substitute: an API deploy pushed through the UI request flow.
        request("REQ-20260318T181500Z-9c4e1f", "included", "lambda_update", "enceladus-agent",
                "Deploy rate limiting to coordination API after workflow failure",
                [f"{API_DIR}/lambda_function.py", DICTIONARY], ["ENC-TSK-370"],
                {"service_group": "coordination_api", "target_arn": FUNCTION_ARN, "region": REGION,
                 "package_path": API_DIR}),
    ]
    specs = [
        {"project_id": REPO, "record_id": "spec#SPEC-20260301T103000Z", "spec_id": "SPEC-20260301T103000Z",
         "status": "deployed", "deployment_category": "ui", "request_ids": ["REQ-20260301T101500Z-a1b2c3"]},
        {"project_id": REPO, "record_id": "spec#SPEC-20260305T180000Z", "spec_id": "SPEC-20260305T180000Z",
         "status": "deployed", "deployment_category": "ui", "request_ids": ["REQ-20260305T173200Z-5e7d20"]},
        {"project_id": REPO, "record_id": "spec#SPEC-20260318T183000Z", "spec_id": "SPEC-20260318T183000Z",
         "status": "queued_non_ui", "deployment_category": "non_ui", "non_ui_target_arns": [FUNCTION_ARN],
         "request_ids": ["REQ-20260318T181500Z-9c4e1f"]},
    ]
    return {"table": DM_TABLE, "requests": requests, "specs": specs}
