"""The runbook forbids routing API/MCP deploys through the UI deployment manager."""

from __future__ import annotations

import json
import re
from typing import Any

from compliance.base.redact import clip
from compliance.base.timeutil import parse_time
from compliance.judge.registry import register
from compliance.model.findings import FAIL, PASS, Finding

UI_TYPES = ["github_public_static", "github_private_sst", "github_public_workers", "github_private_workers"]


def request_targets(request: dict[str, Any]) -> list[str]:
    """Every text a request's ``non_ui_config`` holds (a JSON string in the real table), the raw text too.

    Not only the keys the table uses (``target_arn``...): a target under ``FunctionName``, ``arn``, nested
    or in a list, a config that is not JSON (``function_name=devops-coordination-api``) or that names a key
    twice (JSON parsers keep one of the two) still names the function, and ``names_function`` finds it."""
    cfg = request.get("non_ui_config")
    out: list[str] = []
    if isinstance(cfg, str):
        out.append(cfg)
        try:
            cfg = json.loads(cfg)
        except (ValueError, RecursionError):
            return out
    stack = [cfg]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return list(dict.fromkeys(out))


def names_function(text: str, function: str) -> bool:
    """Whether ``text`` is, or names as a whole word, the function: its name, its ARN, a qualified form
    (``:live``, ``:7``), with blanks around; ``devops-coordination-api-gamma`` is another function."""
    if not function or not isinstance(text, str):
        return False
    if text == function or text.endswith(f":function:{function}") or f":function:{function}:" in text:
        return True
    return re.search(rf"(?<![A-Za-z0-9_-]){re.escape(function)}(?![A-Za-z0-9_-])", text) is not None


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
        if targets:  # of any type: a UI-type request naming the function is the forbidden flow too
            how = ("a UI-type request" if isinstance(kind, str) and kind in ui_types
                   else "a non-UI request (queued, executed by nobody)")
            problems.append(f"{kind} request targets {clip(targets[0], 200)}: {how} for the function")
        files = [f for f in _paths(req) if not rule.scope.is_empty and _in_scope(rule.scope, f)]
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
                         "description": "deployment types the UI manager actually executes (a request of any type "
                                        "naming the function fails; this names which kind it was)"},
        },
    },
    example={"kind": "no_ui_deploy_request"},
)(check_no_ui_deploy_request)


def _strings(value: Any) -> list[str]:
    """A row's list field as strings: one string is a list of one; anything else holds none."""
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u2060-\u2064\ufeff]")


def _paths(req: dict[str, Any]) -> list[str]:
    """Every path a request names: ``files_changed`` and ``changes[]``, as strings or inside objects."""
    out: list[str] = []
    stack: list[Any] = [req.get("files_changed"), req.get("changes")]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return list(dict.fromkeys(out))


def _in_scope(scope: Any, written: str) -> bool:
    """Whether a path as a person typed it into the manager is in scope: ``Backend/...``, ``./backend/...``,
    ``/backend/...``, ``backend//...``, ``backend\\lambda\\...``, ``backend/lambda/../lambda/...``, a blob URL's
    path or a hidden character inside a name all name the same file a deploy would ship (probe 12)."""
    text = _INVISIBLE.sub("", written).strip().replace("\\", "/")
    if "://" in text:  # https://github.com/o/r/blob/main/backend/...: the part after the ref
        parts = text.split("/blob/", 1)[-1].split("/", 1)
        text = parts[1] if len(parts) == 2 else text
    parts: list[str] = []
    for part in text.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    path = "/".join(parts)
    return bool(path) and (scope.matches(path) or scope.matches(path.lower()))


def _request_evidence(req: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "request",
        "label": f"{req['request_id']} {req.get('deployment_type')} {req.get('status')} by "
        f"{req.get('submitted_by', '?')}: {clip(str(req.get('summary', '')), 200)}",
        "request_id": req["request_id"],
        "time": req.get("submitted_at"),
        "url": None,
    }
