"""Runbook validation items 1-3: Lambda state, API routes, capability endpoint."""

from __future__ import annotations

from typing import Any

from compliance.checks.registry import register
from compliance.findings import ERROR, FAIL, PASS, Finding
from compliance.timeutil import iso, parse_time

DEFAULT_ROUTES = [
    "GET /api/v1/coordination/capabilities",
    "POST /api/v1/coordination/requests",
    "GET /api/v1/coordination/requests/{requestId}",
    "GET /api/v1/coordination/mcp",
    "POST /api/v1/coordination/mcp",
]


@register(
    "lambda_state",
    summary="The function reports the expected State and LastUpdateStatus (runbook: Active / Successful).",
    needs=("lambda",),
    subject="function",
    params={
        "properties": {
            "state": {"type": "string", "default": "Active"},
            "last_update_status": {"type": "string", "default": "Successful"},
        },
    },
    example={"kind": "lambda_state", "state": "Active", "last_update_status": "Successful"},
)
def check_lambda_state(ctx, rule, params) -> list[Finding]:
    cfg = ctx.source("lambda")["configuration"]
    name = cfg.get("FunctionName") or ctx.target.get("function", "function")
    want_state = params.get("state", "Active")
    want_update = params.get("last_update_status", "Successful")
    state, update = cfg.get("State"), cfg.get("LastUpdateStatus")
    ev = [{"kind": "lambda", "label": f"{name} State={state} LastUpdateStatus={update} "
           f"LastModified={cfg.get('LastModified')}", "url": None, "time": iso(parse_time(cfg.get("LastModified")))}]
    if state is None or update is None:
        return [Finding(rule.id, "function", name, ERROR,
                        "State/LastUpdateStatus missing from the configuration (ListFunctions omits them; "
                        "they come from GetFunctionConfiguration)", ev)]
    problems = []
    if state != want_state:
        problems.append(f"State={state}" + (f" ({cfg['StateReason']})" if cfg.get("StateReason") else ""))
    if update != want_update:
        reason = cfg.get("LastUpdateStatusReason")
        problems.append(f"LastUpdateStatus={update}" + (f" ({reason})" if reason else ""))
    if problems:
        return [Finding(rule.id, "function", name, FAIL,
                        f"expected State={want_state} LastUpdateStatus={want_update}, got " + ", ".join(problems), ev)]
    return [Finding(rule.id, "function", name, PASS, f"State={state} LastUpdateStatus={update}", ev)]


def _integration_targets_function(integ: dict[str, Any], function: str) -> bool:
    uri = integ.get("IntegrationUri") or ""
    return bool(function) and (f":function:{function}" in uri or uri == function)


@register(
    "api_routes",
    summary="The required HTTP API routes exist and each targets an integration that invokes the function.",
    needs=("apigateway",),
    subject="route",
    params={
        "properties": {
            "routes": {"type": "array", "items": {"type": "string"}, "default": DEFAULT_ROUTES,
                       "description": "route keys that must exist, e.g. 'GET /api/v1/coordination/capabilities'"},
            "prefix": {"type": "string", "default": "/api/v1/coordination/",
                       "description": "every existing route under this path must also target the function"},
        },
    },
    example={"kind": "api_routes", "routes": DEFAULT_ROUTES[:2]},
)
def check_api_routes(ctx, rule, params) -> list[Finding]:
    data = ctx.source("apigateway")
    function = ctx.target.get("function", "")
    integrations = {i["IntegrationId"]: i for i in data.get("integrations", [])}
    routes = {r["RouteKey"]: r for r in data.get("routes", [])}
    prefix = params.get("prefix", "/api/v1/coordination/")
    wanted = list(params.get("routes", DEFAULT_ROUTES))
    extra = sorted(k for k in routes if k.split(" ", 1)[-1].startswith(prefix) and k not in wanted)
    api = data.get("api", {})
    out = []
    for key in wanted + extra:
        route = routes.get(key)
        if route is None:
            out.append(Finding(rule.id, "route", key, FAIL, f"route missing from API {api.get('Name') or api.get('ApiId')}",
                               [{"kind": "route", "label": f"{len(routes)} routes present", "url": None}]))
            continue
        target = route.get("Target") or ""
        integ = integrations.get(target.removeprefix("integrations/")) if target.startswith("integrations/") else None
        ev = [{"kind": "route", "label": f"{key} -> {target or 'no target'}", "route_id": route.get("RouteId"),
               "url": None}]
        if integ is None:
            out.append(Finding(rule.id, "route", key, FAIL, f"route has no integration target ({target or 'none'})", ev))
        elif not _integration_targets_function(integ, function):
            out.append(Finding(rule.id, "route", key, FAIL,
                               f"integration {integ['IntegrationId']} invokes {integ.get('IntegrationUri')}, "
                               f"not {function}", ev))
        else:
            out.append(Finding(rule.id, "route", key, PASS,
                               f"targets integration {integ['IntegrationId']} ({integ.get('IntegrationType')}) "
                               f"for {function}", ev))
    return out


@register(
    "capability_endpoint",
    summary="The capability endpoint answered through the production path with the expected status and a "
    "well-formed body (success: true, capabilities.contract_version).",
    needs=("probe",),
    subject="endpoint",
    params={
        "properties": {
            "status": {"type": "integer", "default": 200},
            "contract_version": {"type": "string", "description": "exact contract_version expected, if any"},
        },
    },
    example={"kind": "capability_endpoint", "status": 200},
)
def check_capability_endpoint(ctx, rule, params) -> list[Finding]:
    probe = ctx.source("probe")
    url = probe["url"]
    want = params.get("status", 200)
    ev = [{"kind": "probe", "label": f"GET {url} -> {probe.get('status_code')} in {probe.get('latency_ms')} ms",
           "url": None}]
    if probe.get("status_code") != want:
        return [Finding(rule.id, "endpoint", url, FAIL, f"answered {probe.get('status_code')}, expected {want}", ev)]
    if not probe.get("well_formed"):
        why = "; ".join(probe.get("problems") or ["body not well formed"])
        return [Finding(rule.id, "endpoint", url, FAIL, f"answered {want} but {why}", ev)]
    body = probe.get("body") if isinstance(probe.get("body"), dict) else {}
    caps = body.get("capabilities") if isinstance(body, dict) else None
    version = caps.get("contract_version") if isinstance(caps, dict) else None  # an endpoint may answer anything
    if params.get("contract_version") and version != params["contract_version"]:
        return [Finding(rule.id, "endpoint", url, FAIL,
                        f"contract_version {version!r}, expected {params['contract_version']!r}", ev)]
    return [Finding(rule.id, "endpoint", url, PASS, f"answered {want}, contract_version {version}", ev)]
