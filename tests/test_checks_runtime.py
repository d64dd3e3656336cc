"""lambda_state, api_routes, capability_endpoint, no_ui_deploy_request, field: pass, fail, error."""

from __future__ import annotations

import json

import pytest

from tests.scenario import ARN, build_repo, judge, lambda_data, snapshot, verdicts

ROUTES = ["GET /api/v1/coordination/capabilities", "POST /api/v1/coordination/requests"]


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return build_repo(tmp_path_factory.mktemp("repo") / "enceladus")


@pytest.mark.parametrize("state,update,status", [
    ("Active", "Successful", "pass"),
    ("Active", "Failed", "fail"),
    ("Pending", "InProgress", "fail"),
    ("Failed", "Failed", "fail"),
])
def test_lambda_state(repo, state, update, status):
    snap = snapshot(repo[0].path, **{"lambda": lambda_data(state, update, LastUpdateStatusReason="boom")})
    found = judge(snap, "lambda_state")
    assert [f.status for f in found] == [status]
    if status == "fail":
        assert update in found[0].message or state in found[0].message


def test_lambda_state_missing_fields_is_error_not_pass(repo):
    data = lambda_data()
    del data["configuration"]["State"]  # what ListFunctions returns on real AWS
    found = judge(snapshot(repo[0].path, **{"lambda": data}), "lambda_state")
    assert [f.status for f in found] == ["error"]
    found = judge(snapshot(repo[0].path, **{"lambda": TimeoutError("read timeout")}), "lambda_state")
    assert [f.status for f in found] == ["error"]


def _api(routes, integ_uri=ARN):
    return {"api": {"ApiId": "a1", "Name": "devops-tracker-api"},
            "routes": [{"RouteId": f"r{i}", "RouteKey": k, "Target": "integrations/i1"} for i, k in enumerate(routes)],
            "integrations": [{"IntegrationId": "i1", "IntegrationType": "AWS_PROXY", "IntegrationUri": integ_uri,
                              "PayloadFormatVersion": "2.0"}]}


def test_api_routes(repo):
    found = judge(snapshot(repo[0].path, apigateway=_api(ROUTES)), "api_routes", {"routes": ROUTES})
    assert verdicts(found) == {k: "pass" for k in ROUTES}
    found = judge(snapshot(repo[0].path, apigateway=_api(ROUTES[:1])), "api_routes", {"routes": ROUTES})
    assert verdicts(found) == {ROUTES[0]: "pass", ROUTES[1]: "fail"}
    wrong = _api(ROUTES, "arn:aws:lambda:us-west-2:1:function:other")
    assert {f.status for f in judge(snapshot(repo[0].path, apigateway=wrong), "api_routes", {"routes": ROUTES})} == {"fail"}
    # an extra route under the prefix that targets nothing is a failure too
    extra = _api(ROUTES)
    extra["routes"].append({"RouteId": "rx", "RouteKey": "GET /api/v1/coordination/x", "Target": ""})
    assert verdicts(judge(snapshot(repo[0].path, apigateway=extra), "api_routes",
                          {"routes": ROUTES}))["GET /api/v1/coordination/x"] == "fail"
    err = judge(snapshot(repo[0].path, apigateway=ConnectionError("endpoint down")), "api_routes")
    assert [f.status for f in err] == ["error"]


def test_api_routes_parse_the_integration_uri(repo):
    """A lookalike name or another region is another function; an alias of this one is this one."""
    for uri in (ARN + "-shadow", ARN.replace("us-west-2", "us-east-1")):
        found = judge(snapshot(repo[0].path, apigateway=_api(ROUTES, uri)), "api_routes", {"routes": ROUTES})
        assert {f.status for f in found} == {"fail"} and "expected" in found[0].message
    alias = f"arn:aws:apigateway:us-west-2:lambda:path/2015-03-31/functions/{ARN}:live/invocations"
    found = judge(snapshot(repo[0].path, apigateway=_api(ROUTES, alias)), "api_routes", {"routes": ROUTES})
    assert verdicts(found) == {k: "pass" for k in ROUTES}
    # a rule may pin the account; the URI's account must then match
    found = judge(snapshot(repo[0].path, apigateway=_api(ROUTES)), "api_routes",
                  {"routes": ROUTES, "account": "999999999999"})
    assert {f.status for f in found} == {"fail"} and "account 123456789012" in found[0].message


def _probe(code=200, well_formed=True, version="0.3.0"):
    return {"url": "https://x.invalid/api/v1/coordination/capabilities", "status_code": code, "latency_ms": 12,
            "well_formed": well_formed, "problems": [] if well_formed else ["body.success is not true"],
            "body": {"success": True, "capabilities": {"contract_version": version}}}


def test_capability_endpoint(repo):
    p = repo[0].path
    assert [f.status for f in judge(snapshot(p, probe=_probe()), "capability_endpoint")] == ["pass"]
    assert [f.status for f in judge(snapshot(p, probe=_probe(503)), "capability_endpoint")] == ["fail"]
    assert [f.status for f in judge(snapshot(p, probe=_probe(well_formed=False)), "capability_endpoint")] == ["fail"]
    assert [f.status for f in judge(snapshot(p, probe=_probe()), "capability_endpoint",
                                    {"contract_version": "0.4.0"})] == ["fail"]
    err = judge(snapshot(p, probe=ConnectionRefusedError("[Errno 111] Connection refused")), "capability_endpoint")
    assert [f.status for f in err] == ["error"] and "Connection refused" in err[0].message


def _request(rid, dtype, files, target=None, when="2026-03-01T10:15:00Z"):
    return {"record_id": f"request#{rid}", "request_id": rid, "status": "pending", "deployment_type": dtype,
            "submitted_at": when, "submitted_by": "agent", "summary": "deploy", "changes": [],
            "related_record_ids": [], "files_changed": files,
            "non_ui_config": json.dumps({"service_group": "api", "target_arn": target}) if target else None}


def test_no_ui_deploy_request(repo):
    p = repo[0].path
    ok = {"table": "t", "requests": [_request("REQ-20260301T101500Z-a1b2c3", "github_public_static", ["frontend/a.js"])],
          "specs": []}
    found = judge(snapshot(p, deploy_manager=ok), "no_ui_deploy_request")
    assert [f.status for f in found] == ["pass"] and "1 request(s)" in found[0].message

    bad = {"table": "t", "specs": [
        {"spec_id": "SPEC-20260301T101600Z", "status": "queued_non_ui", "deployment_category": "non_ui",
         "non_ui_target_arns": [ARN], "request_ids": ["REQ-20260301T101500Z-d4e5f6"]}],
        "requests": [
            _request("REQ-20260301T101500Z-d4e5f6", "lambda_update", ["backend/lambda/coordination_api/x.py"], ARN),
            _request("REQ-20260302T101500Z-aaaaaa", "github_public_static", ["tools/enceladus-mcp-server/server.py"]),
            _request("REQ-20250101T101500Z-bbbbbb", "lambda_update", [], ARN, when="2025-01-01T00:00:00Z"),  # old
        ]}
    v = verdicts(judge(snapshot(p, deploy_manager=bad), "no_ui_deploy_request"))
    assert v == {"REQ-20260301T101500Z-d4e5f6": "fail", "REQ-20260302T101500Z-aaaaaa": "fail",
                 "SPEC-20260301T101600Z": "fail"}
    err = judge(snapshot(p, deploy_manager=PermissionError("AccessDenied")), "no_ui_deploy_request")
    assert [f.status for f in err] == ["error"]


def test_field(repo):
    p = repo[0].path
    snap = snapshot(p, **{"lambda": lambda_data(Runtime="python3.12")})
    params = {"source": "lambda", "path": "configuration.Runtime", "op": "in", "value": ["python3.11", "python3.12"]}
    assert [f.status for f in judge(snap, "field", params)] == ["pass"]
    assert [f.status for f in judge(snap, "field", {**params, "op": "equals", "value": "python3.9"})] == ["fail"]
    assert [f.status for f in judge(snap, "field", {**params, "op": "matches", "value": r"^python3\.1\d$"})] == ["pass"]
    # a path with no value cannot be judged: error, never pass (not even for not_equals)
    missing = {"source": "lambda", "path": "configuration.Nope", "op": "not_equals", "value": "x"}
    assert [f.status for f in judge(snap, "field", missing)] == ["error"]
    assert [f.status for f in judge(snap, "field", {**missing, "op": "absent"})] == ["pass"]
    assert [f.status for f in judge(snap, "field", {**params, "op": "gt", "value": 3})] == ["error"]
    down = snapshot(p, **{"lambda": TimeoutError("timed out")})
    assert [f.status for f in judge(down, "field", params)] == ["error"]
    not_collected = snapshot(p)
    assert [f.status for f in judge(not_collected, "field", params)] == ["error"]


def test_no_ui_deploy_request_with_odd_field_types(repo):
    """Found by the property test: the schema leaves these fields open, so rows may carry a lone string,
    a number or an object; they are read as what they can mean, never crash the check."""
    p = repo[0].path
    odd = {"table": "t", "specs": [
        {"spec_id": "SPEC-20260301T101600Z", "status": "queued_non_ui", "non_ui_target_arns": ARN},
        {"spec_id": "SPEC-20260301T101700Z", "status": "queued_non_ui", "non_ui_target_arns": True}],
        "requests": [
            {**_request("REQ-20260301T101500Z-000001", ["lambda_update"], [], ARN)},
            {**_request("REQ-20260301T101500Z-000002", "github_public_static", "backend/lambda/coordination_api/x.py")},
            {**_request("REQ-20260301T101500Z-000003", "github_public_static", 7)},
        ]}
    v = verdicts(judge(snapshot(p, deploy_manager=odd), "no_ui_deploy_request"))
    assert v == {"SPEC-20260301T101600Z": "fail", "REQ-20260301T101500Z-000001": "fail",
                 "REQ-20260301T101500Z-000002": "fail"}
