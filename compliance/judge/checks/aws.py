"""Runbook validation items 1-3: Lambda state, API routes, capability endpoint."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from compliance.base.timeutil import iso, parse_time
from compliance.judge.registry import register
from compliance.model.capability import body_problems
from compliance.model.findings import ERROR, FAIL, PASS, Finding

DEFAULT_ROUTES = [
    "GET /api/v1/coordination/capabilities",
    "POST /api/v1/coordination/requests",
    "GET /api/v1/coordination/requests/{requestId}",
    "GET /api/v1/coordination/mcp",
    "POST /api/v1/coordination/mcp",
]


def lambda_problems(cfg: dict[str, Any], params: dict[str, Any]) -> list[str] | None:
    """How the function's State / LastUpdateStatus differ from what a ``lambda_state`` rule expects
    ([] when they match, None when the configuration does not say).

    Public so the per-change timeline calls a deploy healthy exactly when the rule does.
    """
    state, update = cfg.get("State"), cfg.get("LastUpdateStatus")
    if state is None or update is None:
        return None
    problems = []
    if state != params.get("state", "Active"):
        problems.append(f"State={state}" + (f" ({cfg['StateReason']})" if cfg.get("StateReason") else ""))
    if update != params.get("last_update_status", "Successful"):
        reason = cfg.get("LastUpdateStatusReason")
        problems.append(f"LastUpdateStatus={update}" + (f" ({reason})" if reason else ""))
    return problems


def other_function(cfg: dict[str, Any], function: str, region: str = "") -> str | None:
    """Why the configuration read is not ``function``'s (in ``region``, when known), or None.

    A configuration of a twin (``devops-coordination-api-gamma``), of the same name in another region or
    account, says nothing of the target: judged as the target's, its Active/Successful passed the target
    without a word about the function the runbook governs."""
    want = parse_lambda_uri(function) if function.startswith("arn:") else {"name": function, "region": "", "account": ""}
    if not isinstance(want, dict) or not want["name"]:
        return None
    name = cfg.get("FunctionName")
    if isinstance(name, str) and name and name not in (want["name"], function):
        return f"the configuration read is of function {name}, not {want['name']}"
    arn = cfg.get("FunctionArn")
    got = parse_lambda_uri(arn) if isinstance(arn, str) and arn else None
    if isinstance(got, str):
        return f"the configuration's FunctionArn is not a function ARN: {got}"
    if got is not None:
        if got["name"] != want["name"]:
            return f"the configuration read is of function {got['name']} ({arn}), not {want['name']}"
        for part, expected in (("region", want["region"] or region), ("account", want["account"])):
            if expected and got[part] != expected:
                return f"the configuration read is of {want['name']} in {part} {got[part]} ({arn}), not {expected}"
    return None


def check_lambda_state(ctx, rule, params) -> list[Finding]:
    src = ctx.source("lambda")
    cfg = src["configuration"]
    function = ctx.target.get("function") or src.get("function") or ""
    parsed = parse_lambda_uri(function) if function.startswith("arn:") else None
    name = (parsed["name"] if isinstance(parsed, dict) else function) or cfg.get("FunctionName") or "function"
    want_state = params.get("state", "Active")
    want_update = params.get("last_update_status", "Successful")
    state, update = cfg.get("State"), cfg.get("LastUpdateStatus")
    ev = [{"kind": "lambda", "label": f"{cfg.get('FunctionName') or name} State={state} LastUpdateStatus={update} "
           f"LastModified={cfg.get('LastModified')}", "url": None, "time": iso(parse_time(cfg.get("LastModified")))}]
    # the configuration's own names, then the name the source was read for (a snapshot may carry only that)
    read_for = src.get("function") if ctx.target.get("function") and isinstance(src.get("function"), str) else None
    other = other_function(cfg, function, ctx.target.get("region") or "") or \
        (other_function({"FunctionName": read_for}, function) if read_for else None)
    if other:
        return [Finding(rule.id, "function", name, ERROR, f"could not evaluate: {other}", ev)]
    problems = lambda_problems(cfg, params)
    if problems is None:
        return [Finding(rule.id, "function", name, ERROR,
                        "State/LastUpdateStatus missing from the configuration (ListFunctions omits them; "
                        "they come from GetFunctionConfiguration)", ev)]
    if problems:
        return [Finding(rule.id, "function", name, FAIL,
                        f"expected State={want_state} LastUpdateStatus={want_update}, got " + ", ".join(problems), ev)]
    return [Finding(rule.id, "function", name, PASS, f"State={state} LastUpdateStatus={update}", ev)]


register(
    "lambda_state",
    summary="The function reports the expected State and LastUpdateStatus (runbook: Active / Successful).",
    reads=("lambda",),
    subject="function",
    params={
        "properties": {
            "state": {"type": "string", "default": "Active"},
            "last_update_status": {"type": "string", "default": "Successful"},
        },
    },
    example={"kind": "lambda_state", "state": "Active", "last_update_status": "Successful"},
)(check_lambda_state)


_LAMBDA_ARN = re.compile(r"arn:(?P<partition>aws[a-z-]*):lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
                         r"function:(?P<name>[A-Za-z0-9_-]{1,64})(?::(?P<qualifier>\$LATEST|[A-Za-z0-9_-]{1,128}))?")
_INVOKE_URI = re.compile(r"arn:(?P<partition>aws[a-z-]*):apigateway:(?P<region>[a-z0-9-]+):lambda:"
                         r"path/2015-03-31/functions/(?P<arn>[^/]+)/invocations")
_ENDPOINT_REGION = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com")


def parse_lambda_uri(uri: str) -> dict[str, str] | str:
    """An integration URI as the Lambda it invokes (name, region, account, qualifier), or why it is not one.

    Both shapes AWS stores are read whole, never by substring: the plain function ARN (HTTP APIs) and
    ``arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/<ARN>/invocations``. A qualifier
    (``:live``, ``:7``) is the same function; a stage variable names no function we can judge.
    """
    if "${" in uri:
        return f"{uri} is resolved from a stage variable at run time, so the function it invokes cannot be told"
    outer = _INVOKE_URI.fullmatch(uri)
    arn = outer.group("arn") if outer else uri
    m = _LAMBDA_ARN.fullmatch(arn)
    if not m:
        return f"{uri or 'an empty URI'} is not a Lambda function ARN or invocation URI"
    out = {k: v or "" for k, v in m.groupdict().items()}
    if outer and outer.group("region") != out["region"]:
        return f"{uri} is invoked through API Gateway in {outer.group('region')} but names a function in {out['region']}"
    return out


def _expected_function(ctx, params) -> tuple[dict[str, str], str | None]:
    """Name, region and (when known) account the routes must invoke, or why they cannot be told."""
    function = ctx.target.get("function", "")
    parsed = parse_lambda_uri(function) if function.startswith("arn:") else None
    want = {"name": function, "region": "", "account": ""}
    if isinstance(parsed, dict):
        want = {"name": parsed["name"], "region": parsed["region"], "account": parsed["account"]}
    elif isinstance(parsed, str):
        return want, f"target.function {function!r} is not a function name or ARN"
    if not want["name"]:
        return want, "no function is configured (target.function), so what the routes must invoke cannot be told"
    api = ctx.source("apigateway").get("api") or {}
    endpoint = _ENDPOINT_REGION.search(str(api.get("ApiEndpoint") or ""))
    want["region"] = params.get("region") or ctx.target.get("region") or want["region"] or \
        (endpoint.group(1) if endpoint else "")
    if not want["region"]:
        return want, "no region is known (target.region), so the function's region cannot be judged"
    want["account"] = params.get("account") or want["account"] or _lambda_account(ctx, want)
    return want, None


def _lambda_account(ctx, want: dict[str, str]) -> str:
    """The account from the collected function's own ARN, when that is the same function."""
    if not ctx.source_ok("lambda"):
        return ""
    arn = str((ctx.source("lambda").get("configuration") or {}).get("FunctionArn") or "")
    parsed = parse_lambda_uri(arn) if arn else None
    if isinstance(parsed, dict) and parsed["name"] == want["name"] and parsed["region"] == want["region"]:
        return parsed["account"]
    return ""


def _integration_problem(integ: dict[str, Any], want: dict[str, str]) -> str | None:
    """Why the integration does not invoke exactly the wanted function, or None when it does."""
    kind = integ.get("IntegrationType")
    if kind is None:
        return f"integration {integ.get('IntegrationId')} has no IntegrationType, so what it invokes cannot be told"
    if kind not in ("AWS_PROXY", "AWS"):
        return f"integration {integ.get('IntegrationId')} is {kind}, which invokes no Lambda function"
    uri = str(integ.get("IntegrationUri") or "")
    got = parse_lambda_uri(uri)
    if isinstance(got, str):
        return f"integration {integ.get('IntegrationId')}: {got}"
    wrong = [f"{what} {got[key]} (expected {want[key]})" for key, what in
             (("name", "function"), ("region", "region"), ("account", "account"))
             if want[key] and got[key] != want[key]]
    if wrong:
        return f"integration {integ.get('IntegrationId')} invokes {uri}: " + ", ".join(wrong)
    return None


def check_api_routes(ctx, rule, params) -> list[Finding]:
    data = ctx.source("apigateway")
    want, unknown = _expected_function(ctx, params)
    if unknown:
        return [Finding(rule.id, "route", str((data.get("api") or {}).get("Name") or "routes"), ERROR,
                        f"could not evaluate: {unknown}")]
    function = want["name"]
    api = data.get("api", {})
    named = ctx.target.get("http_api")
    if named and named not in (api.get("Name"), api.get("ApiId")):  # another API's routes (a staging twin)
        return [Finding(rule.id, "route", named, ERROR, f"could not evaluate: the API read is "
                        f"{api.get('Name') or api.get('ApiId') or 'unnamed'}, not the target's http_api {named}")]
    twice = [f"{what} {k}" for what, key, items in (("route", "RouteKey", data.get("routes", [])),
                                                    ("integration", "IntegrationId", data.get("integrations", [])))
             for k, n in Counter(i.get(key) for i in items).items() if n > 1]
    if twice:  # which of the two does API Gateway serve? Either may be the one that is wrong
        return [Finding(rule.id, "route", named or str(api.get("Name") or "routes"), ERROR,
                        f"could not evaluate: the API data lists {', '.join(map(str, twice))} more than once")]
    integrations = {i["IntegrationId"]: i for i in data.get("integrations", [])}
    routes = {r["RouteKey"]: r for r in data.get("routes", [])}
    prefix = params.get("prefix", "/api/v1/coordination/")
    wanted = list(params.get("routes", DEFAULT_ROUTES))
    extra = sorted(k for k in routes if k.split(" ", 1)[-1].startswith(prefix) and k not in wanted)
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
        elif problem := _integration_problem(integ, want):
            out.append(Finding(rule.id, "route", key, FAIL, problem, ev))
        else:
            where = f"{want['region']}" + (f", account {want['account']}" if want["account"] else "")
            out.append(Finding(rule.id, "route", key, PASS,
                               f"targets integration {integ['IntegrationId']} ({integ.get('IntegrationType')}) "
                               f"for {function} in {where}", ev))
    return out


register(
    "api_routes",
    summary="The required HTTP API routes exist and each targets an integration that invokes exactly the function "
    "(name, region and, when known, account; an alias or version of it counts).",
    reads=("apigateway",),
    optional_reads=("lambda",),  # the function's own ARN gives the account to match
    subject="route",
    params={
        "properties": {
            "routes": {"type": "array", "items": {"type": "string"}, "default": DEFAULT_ROUTES,
                       "description": "route keys that must exist, e.g. 'GET /api/v1/coordination/capabilities'"},
            "prefix": {"type": "string", "default": "/api/v1/coordination/",
                       "description": "every existing route under this path must also target the function"},
            "region": {"type": "string", "description": "the function's region; default: the target's"},
            "account": {"type": "string", "pattern": r"^[0-9]{12}$(?!\n)",
                        "description": "the function's account; default: from target.function when it is an "
                                       "ARN, or the collected function's ARN"},
        },
    },
    example={"kind": "api_routes", "routes": DEFAULT_ROUTES[:2]},
)(check_api_routes)


def check_capability_endpoint(ctx, rule, params) -> list[Finding]:
    probe = ctx.source("probe")
    url = probe["url"]
    want = params.get("status", 200)
    ev = [{"kind": "probe", "label": f"GET {url} -> {probe.get('status_code')} in {probe.get('latency_ms')} ms",
           "url": None}]
    configured = ctx.target.get("capability_url")
    if configured and url != configured:  # a staging endpoint's answer says nothing of the target's
        return [Finding(rule.id, "endpoint", configured, ERROR,
                        f"could not evaluate: the probe answered for {url}, not the target's capability_url", ev)]
    if probe.get("status_code") != want:
        return [Finding(rule.id, "endpoint", url, FAIL, f"answered {probe.get('status_code')}, expected {want}", ev)]
    # the body kept is read again, not its flag: a snapshot saying well_formed beside {"success": false} lies
    kept = probe.get("body")
    why = [*(probe.get("problems") or []), *(body_problems(kept) if kept is not None else ["body is not JSON"])]
    if not probe.get("well_formed") or why:
        why = list(dict.fromkeys(why)) or ["body not well formed"]
        return [Finding(rule.id, "endpoint", url, FAIL, f"answered {want} but {'; '.join(why)}", ev)]
    body = kept if isinstance(kept, dict) else {}
    caps = body.get("capabilities") if isinstance(body, dict) else None
    version = caps.get("contract_version") if isinstance(caps, dict) else None  # an endpoint may answer anything
    if params.get("contract_version") and version != params["contract_version"]:
        return [Finding(rule.id, "endpoint", url, FAIL,
                        f"contract_version {version!r}, expected {params['contract_version']!r}", ev)]
    return [Finding(rule.id, "endpoint", url, PASS, f"answered {want}, contract_version {version}", ev)]


register(
    "capability_endpoint",
    summary="The capability endpoint answered through the production path with the expected status and a "
    "well-formed body (success: true, capabilities.contract_version).",
    reads=("probe",),
    subject="endpoint",
    params={
        "properties": {
            "status": {"type": "integer", "default": 200},
            "contract_version": {"type": "string", "description": "exact contract_version expected, if any"},
        },
    },
    example={"kind": "capability_endpoint", "status": 200},
)(check_capability_endpoint)
