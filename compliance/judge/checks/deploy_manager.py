"""The runbook forbids routing API/MCP deploys through the UI deployment manager."""

from __future__ import annotations

import json
from typing import Any

from compliance.base.redact import clip
from compliance.base.timeutil import parse_time
from compliance.judge.registry import register
from compliance.model.findings import FAIL, PASS, Finding

UI_TYPES = ["github_public_static", "github_private_sst", "github_public_workers", "github_private_workers"]


def request_targets(request: dict[str, Any]) -> list[str]:
    """Target ARNs named by a request's ``non_ui_config`` (a JSON string in the real table)."""
    cfg = request.get("non_ui_config")
    if isinstance(cfg, str):
        try:
            cfg = json.loads(cfg)
        except ValueError:
            return [cfg]
    if not isinstance(cfg, dict):
        return []
    out = []
    for key in ("target_arn", "target_arns", "function_arn", "function_name"):
        val = cfg.get(key)
        if isinstance(val, str):
            out.append(val)
        elif isinstance(val, list):
            out.extend(str(v) for v in val)
    return out


def names_function(text: str, function: str) -> bool:
    return text == function or text.endswith(f":function:{function}") or f":function:{function}:" in text


def check_no_ui_deploy_request(ctx, rule, params) -> list[Finding]:
    dm = ctx.source("deploy_manager")
    function = ctx.target.get("function", "")
    ui_types = set(params.get("ui_types", UI_TYPES))
    out: list[Finding] = []
    examined = 0
    for req in dm.get("requests", []):
        when = parse_time(req.get("submitted_at"))
        if when and not (ctx.since <= when <= ctx.until):
            continue
        examined += 1
        problems = []
        targets = [t for t in request_targets(req) if function and names_function(t, function)]
        kind = req.get("deployment_type")
        if targets and not (isinstance(kind, str) and kind in ui_types):  # a malformed type is not a UI one
            problems.append(f"{req.get('deployment_type')} request targets {targets[0]}")
        files = [f for f in _strings(req.get("files_changed")) if not rule.scope.is_empty
                 and rule.scope.matches(f)]
        if files:
            problems.append(f"carries in-scope files ({', '.join(files[:3])})")
        if problems:
            out.append(Finding(rule.id, "request", req["request_id"], FAIL,
                               "deploy-manager request routes the API/MCP runtime through the UI flow: "
                               + "; ".join(problems), [_request_evidence(req)]))
    for spec in dm.get("specs", []):
        arns = [a for a in _strings(spec.get("non_ui_target_arns")) if names_function(a, function)]
        if arns and spec.get("status") in ("queued_non_ui", "pending", "deployed"):
            out.append(Finding(rule.id, "request", spec["spec_id"], FAIL,
                               f"deploy-manager spec is {spec.get('status')} for {arns[0]}: no non-UI executor "
                               "exists, so this is not a runtime deployment",
                               [{"kind": "request", "label": f"{spec['spec_id']} {spec.get('status')}",
                                 "request_ids": spec.get("request_ids", []), "url": None}]))
    if not out:
        out.append(Finding(rule.id, "request", "deploy-manager", PASS,
                           f"{examined} request(s) in the window; none routes the function or in-scope files "
                           "through the UI manager"))
    return out


register(
    "no_ui_deploy_request",
    summary="No deploy-manager request routes in-scope files or the function through the UI manager flow "
    "(non-UI types such as lambda_update targeting the function, or queued_non_ui specs for it).",
    reads=("deploy_manager",),
    subject="request",
    params={
        "properties": {
            "ui_types": {"type": "array", "items": {"type": "string"}, "default": UI_TYPES,
                         "description": "deployment types the UI manager actually executes"},
        },
    },
    example={"kind": "no_ui_deploy_request"},
)(check_no_ui_deploy_request)


def _strings(value: Any) -> list[str]:
    """A row's list field as strings: one string is a list of one; anything else holds none."""
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _request_evidence(req: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "request",
        "label": f"{req['request_id']} {req.get('deployment_type')} {req.get('status')} by "
        f"{req.get('submitted_by', '?')}: {clip(str(req.get('summary', '')), 200)}",
        "request_id": req["request_id"],
        "time": req.get("submitted_at"),
        "url": None,
    }
