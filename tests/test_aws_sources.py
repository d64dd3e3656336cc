"""The boto3 collectors against moto over real HTTP, and against botocore's Stubber where moto cannot show it.

Where moto falls short (it pages neither GetRoutes/GetIntegrations/GetApis nor ListVersionsByFunction,
its functions are always Active/Successful, its ListFunctions carries State) the test says so and uses
a Stubber on the collector's real client, so the request hooks and error mapping still run. Retries
and timeouts are shown against small real HTTP servers on loopback.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from compliance.model.snapshot import def_schema, schema_problems
from compliance.sources import apigateway, aws, deploy_manager, lambda_fn, tracker
from compliance.sources.base import Meter, run_source
from tests import moto_env as me

REGION = me.REGION
MARCH = (datetime(2026, 3, 1, tzinfo=timezone.utc), datetime(2026, 3, 31, 23, 59, 59, tzinfo=timezone.utc))


def valid(source: str, data) -> None:
    assert schema_problems(data, def_schema(source), source) == []


@pytest.fixture
def stub(monkeypatch):
    """Wrap the collectors' client factory so each new client of ``service`` gets a Stubber loaded by ``setup``.

    The client is still built by ``aws.client_for`` (config, request counter), so only the wire is replaced.
    """
    from botocore.stub import Stubber

    stubbers = []
    real = aws.client_for

    def install(service: str, setup):
        def make(svc, region, meter, options=None):
            client = real(svc, region, meter, options)
            if svc == service:
                stubber = Stubber(client)
                setup(stubber)
                stubber.activate()
                stubbers.append(stubber)
            return client

        monkeypatch.setattr(aws, "client_for", make)
        return stubbers

    yield install
    for stubber in stubbers:
        stubber.assert_no_pending_responses()


@pytest.fixture
def no_backoff(monkeypatch):
    """botocore's standard-mode backoff sleeps up to seconds; the attempts are what matter here."""
    from botocore.retries import standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)
    monkeypatch.setattr(tracker, "_sleep", lambda seconds: None)


# --------------------------------------------------------------------------- Lambda

def _config(**over):
    base = {"FunctionName": me.FUNCTION, "FunctionArn": me.FUNCTION_ARN, "Runtime": "python3.11",
            "State": "Active", "LastUpdateStatus": "Successful", "LastModified": "2026-04-04T02:00:00.000+0000",
            "CodeSha256": "abc=", "RevisionId": "r-1", "Version": "$LATEST",
            "Environment": {"Variables": {"COORDINATION_INTERNAL_API_KEY": "not-for-snapshots"}}}
    return {**base, **over}


def test_collect_lambda_against_moto(aws_env):
    me.create_function(publish_versions=3)
    meter = Meter()
    data = lambda_fn.collect_lambda(me.FUNCTION, REGION, meter=meter)
    valid("lambda", data)
    cfg = data["configuration"]
    assert cfg["FunctionName"] == me.FUNCTION and cfg["FunctionArn"].endswith(f":function:{me.FUNCTION}")
    assert (cfg["State"], cfg["LastUpdateStatus"], cfg["Version"]) == ("Active", "Successful", "$LATEST")
    assert cfg["CodeSha256"] and cfg["LastModified"]
    assert [v["Version"] for v in data["versions"]] == ["1", "2", "3"]  # $LATEST is the configuration itself
    assert [v["Description"] for v in data["versions"]] == ["deploy 1", "deploy 2", "deploy 3"]
    assert len({v["CodeSha256"] for v in data["versions"]}) == 3
    assert meter.requests == 2  # GetFunctionConfiguration + one ListVersionsByFunction page


def test_collect_lambda_without_versions_is_one_request(aws_env):
    me.create_function()
    meter = Meter()
    data = lambda_fn.collect_lambda(me.FUNCTION, REGION, meter=meter, versions=False)
    assert "versions" not in data and meter.requests == 1
    valid("lambda", data)


@pytest.mark.parametrize("state,update,reason", [
    ("Failed", "Failed", "The function could not be updated: InvalidZipFileException"),
    ("Pending", "InProgress", "The function is being created."),
    ("Active", "Failed", "Update failed: KMSAccessDenied"),
])
def test_collect_lambda_reads_state_from_get_function_configuration(offline_aws, stub, state, update, reason):
    """moto is always Active/Successful and its ListFunctions carries State (real AWS's does not):
    the Stubber accepts exactly GetFunctionConfiguration and ListVersionsByFunction, so a collector
    reading ListFunctions fails here. It also shows ListVersionsByFunction paging, which moto ignores."""
    def setup(s):
        s.add_response("get_function_configuration", _config(State=state, StateReason=reason, LastUpdateStatus=update,
                                                             LastUpdateStatusReason=reason),
                       expected_params={"FunctionName": me.FUNCTION})
        s.add_response("list_versions_by_function",
                       {"Versions": [{"Version": "$LATEST"}, {"Version": "10", "CodeSha256": "c10"}],
                        "NextMarker": "page-2"}, expected_params={"FunctionName": me.FUNCTION})
        s.add_response("list_versions_by_function", {"Versions": [{"Version": "9", "CodeSha256": "c9",
                                                                   "Description": "deploy 9"}]},
                       expected_params={"FunctionName": me.FUNCTION, "Marker": "page-2"})

    stub("lambda", setup)
    meter = Meter()
    data = lambda_fn.collect_lambda(me.FUNCTION, REGION, meter=meter)
    valid("lambda", data)
    cfg = data["configuration"]
    assert (cfg["State"], cfg["LastUpdateStatus"]) == (state, update)
    assert cfg["StateReason"] == reason and cfg["LastUpdateStatusReason"] == reason
    assert "Environment" not in cfg  # only the documented fields reach the snapshot
    assert [v["Version"] for v in data["versions"]] == ["9", "10"]  # numeric order, across pages
    assert meter.requests == 3


def test_lambda_states_many_functions_concurrently(aws_env):
    names = [f"{me.FUNCTION}-{i}" for i in range(6)] + [me.FUNCTION]
    for name in names:
        me.create_function(name)
    meter = Meter()
    states = lambda_fn.lambda_states(names + [names[0]], REGION, meter=meter, workers=3)
    assert sorted(states) == sorted(names)
    for name, data in states.items():
        valid("lambda", data)
        assert data["function"] == name and data["configuration"]["FunctionName"] == name
        assert data["configuration"]["State"] == "Active"
    assert meter.requests == len(names)  # duplicates asked once, one call each, counted across threads
    assert lambda_fn.lambda_states([], REGION, meter=meter) == {}


def test_lambda_states_one_missing_function_fails_the_whole_call(aws_env):
    me.create_function()
    with pytest.raises(aws.NotFound) as err:
        lambda_fn.lambda_states([me.FUNCTION, "devops-coordination-api-gamma"], REGION, meter=Meter(), workers=2)
    assert "devops-coordination-api-gamma" in str(err.value)


# --------------------------------------------------------------------------- API Gateway v2

def test_collect_apigateway_by_name_against_moto(aws_env):
    built = me.create_http_api()
    me.create_http_api("another-api", routes=["GET /health"])
    meter = Meter()
    data = apigateway.collect_apigateway(me.HTTP_API, REGION, meter=meter)
    valid("apigateway", data)
    assert data["api"]["ApiId"] == built["api_id"] and data["api"]["Name"] == me.HTTP_API
    assert data["api"]["ApiEndpoint"]
    keys = [r["RouteKey"] for r in data["routes"]]
    assert keys == sorted(built["route_keys"])
    assert "GET /api/v1/coordination/capabilities" in keys and "OPTIONS /api/v1/coordination/mcp" in keys
    assert {r["Target"] for r in data["routes"]} == {f"integrations/{built['integration_id']}"}
    assert data["integrations"] == [{"IntegrationId": built["integration_id"], "IntegrationType": "AWS_PROXY",
                                     "IntegrationUri": me.FUNCTION_ARN, "PayloadFormatVersion": "2.0"}]
    assert meter.requests == 3  # GetApis, GetRoutes, GetIntegrations (one page each in moto)


def test_collect_apigateway_by_id_uses_get_api(aws_env):
    built = me.create_http_api()
    meter = Meter()
    data = apigateway.collect_apigateway(built["api_id"], REGION, meter=meter)
    assert data["api"]["Name"] == me.HTTP_API and len(data["routes"]) == len(built["route_keys"])
    assert meter.requests == 3  # GetApi instead of GetApis


def test_collect_apigateway_unknown_or_ambiguous_name(aws_env):
    with pytest.raises(aws.NotFound, match="devops-tracker-api"):
        apigateway.collect_apigateway(me.HTTP_API, REGION, meter=Meter())
    me.create_http_api()
    me.create_http_api()
    with pytest.raises(aws.AmbiguousName, match="2 HTTP APIs"):
        apigateway.collect_apigateway(me.HTTP_API, REGION, meter=Meter())


def _api(api_id, name):
    return {"ApiId": api_id, "Name": name, "ProtocolType": "HTTP", "ApiEndpoint": f"https://{api_id}.example",
            "RouteSelectionExpression": "$request.method $request.path"}


def test_collect_apigateway_follows_next_token(offline_aws, stub):
    """moto returns every route, integration and API in one page whatever MaxResults says, so the
    NextToken path is shown with a Stubber: the API on page 2 of GetApis, routes and integrations
    split over two pages each, and nothing lost or reordered."""
    route = {"AuthorizationType": "NONE", "Target": "integrations/i2"}

    def setup(s):
        s.add_response("get_apis", {"Items": [_api("aaaaaaaaaa", "other")], "NextToken": "t1"}, {})
        s.add_response("get_apis", {"Items": [_api("bbbbbbbbbb", me.HTTP_API)]}, {"NextToken": "t1"})
        s.add_response("get_routes", {"Items": [{"RouteId": "r2", "RouteKey": "POST /b", **route}], "NextToken": "n"},
                       {"ApiId": "bbbbbbbbbb"})
        s.add_response("get_routes", {"Items": [{"RouteId": "r1", "RouteKey": "GET /a", **route}]},
                       {"ApiId": "bbbbbbbbbb", "NextToken": "n"})
        s.add_response("get_integrations", {"Items": [{"IntegrationId": "i2", "IntegrationType": "AWS_PROXY"}],
                                            "NextToken": "m"}, {"ApiId": "bbbbbbbbbb"})
        s.add_response("get_integrations", {"Items": [{"IntegrationId": "i1", "IntegrationType": "HTTP_PROXY"}]},
                       {"ApiId": "bbbbbbbbbb", "NextToken": "m"})

    stub("apigatewayv2", setup)
    meter = Meter()
    data = apigateway.collect_apigateway(me.HTTP_API, REGION, meter=meter)
    valid("apigateway", data)
    assert data["api"]["ApiId"] == "bbbbbbbbbb"
    assert [r["RouteKey"] for r in data["routes"]] == ["GET /a", "POST /b"]
    assert [i["IntegrationId"] for i in data["integrations"]] == ["i1", "i2"]
    assert meter.requests == 6


def test_max_pages_refuses_partial_data(offline_aws, stub):
    def setup(s):
        s.add_response("get_apis", {"Items": [_api("aaaaaaaaaa", "x")], "NextToken": "t1"}, {})
        s.add_response("get_apis", {"Items": [_api("cccccccccc", "y")], "NextToken": "t2"}, {"NextToken": "t1"})

    stub("apigatewayv2", setup)
    with pytest.raises(aws.TooManyPages):
        apigateway.collect_apigateway(me.HTTP_API, REGION, meter=Meter(), options={"max_pages": 1})


# --------------------------------------------------------------------------- tracker

def test_collect_tracker_against_moto(aws_env):
    me.create_tracker_table(me.default_tracker_items() + [
        me.tracker_item("ENC-LSN-101", "Lesson with numbers", "took 3 attempts",
                        commit_sha=None),
    ])
    # DynamoDB numbers come back as Decimal: put one inside history to see it made plain.
    import boto3
    table = boto3.resource("dynamodb", region_name=REGION).Table(me.TRACKER_TABLE)
    table.update_item(Key={"project_id": me.PROJECT, "record_id": "lesson#ENC-LSN-101"},
                      UpdateExpression="SET history[1].attempts = :n, history[1].ratio = :r",
                      ExpressionAttributeValues={":n": Decimal(3), ":r": Decimal("0.25")})
    meter = Meter()
    ids = ["ENC-TSK-325", "enc-tsk-1005", "ENC-ISS-640", "ENC-TSK-B10-0A", "ENC-LSN-101", "ENC-TSK-352",
           "ENC-TSK-325", "ENC-ZZZ-100"]
    data = tracker.collect_tracker(me.TRACKER_TABLE, me.PROJECT, ids, REGION, meter=meter)
    valid("tracker", data)
    json.dumps(data)  # plain JSON: no Decimal left anywhere
    assert sorted(data["items"]) == ["ENC-ISS-640", "ENC-LSN-101", "ENC-TSK-1005", "ENC-TSK-325", "ENC-TSK-B10-0A"]
    assert data["missing"] == ["ENC-TSK-352", "ENC-ZZZ-100"]
    assert any("ENC-ZZZ-100" in w for w in meter.warnings)
    t325 = data["items"]["ENC-TSK-325"]
    assert t325["title"] == "Expose capabilities contract version"  # this project's item, not "other"'s
    assert t325["record_id"] == "task#ENC-TSK-325" and t325["status"] == "closed"
    assert t325["history"][-1]["status"] == "worklog" and "9febe19f1368" in t325["history"][-1]["description"]
    assert "priority" not in t325  # only the fields the checks read
    t1005 = data["items"]["ENC-TSK-1005"]
    assert t1005["transition_type"] == "lambda_deploy" and t1005["commit_sha"] == "9febe19f1368aa"
    assert json.loads(t1005["deploy_evidence"])["state"] == "Active"
    assert data["items"]["ENC-ISS-640"]["record_id"] == "issue#ENC-ISS-640"
    entry = data["items"]["ENC-LSN-101"]["history"][1]
    assert entry["attempts"] == 3 and type(entry["attempts"]) is int
    assert entry["ratio"] == 0.25
    assert meter.requests == 1


def test_collect_tracker_batches_of_100(aws_env):
    """moto rejects a BatchGetItem with more than 100 keys, as DynamoDB does: 230 ids need 3 requests."""
    items = [me.tracker_item(f"ENC-TSK-{n:04d}", f"task {n}") for n in range(1000, 1225)]
    me.create_tracker_table(items)
    ids = [i["item_id"] for i in items] + [f"ENC-TSK-{n:04d}" for n in range(2000, 2005)]
    meter = Meter()
    data = tracker.collect_tracker(me.TRACKER_TABLE, me.PROJECT, ids, REGION, meter=meter)
    assert len(data["items"]) == 225 and data["missing"] == [f"ENC-TSK-{n}" for n in range(2000, 2005)]
    assert meter.requests == 3
    valid("tracker", data)


def test_collect_tracker_no_ids_makes_no_request():
    meter = Meter()
    data = tracker.collect_tracker(me.TRACKER_TABLE, me.PROJECT, [], REGION, meter=meter)
    assert data == {"table": me.TRACKER_TABLE, "project": me.PROJECT, "items": {}, "missing": []}
    assert meter.requests == 0


def _key(record):
    return {"project_id": {"S": me.PROJECT}, "record_id": {"S": record}}


def _ddb_item(item_id, kind="task"):
    return {"project_id": {"S": me.PROJECT}, "record_id": {"S": f"{kind}#{item_id}"}, "item_id": {"S": item_id},
            "history": {"L": [{"M": {"status": {"S": "worklog"}, "n": {"N": "7"}}}]}}


def test_collect_tracker_retries_unprocessed_keys(offline_aws, stub, no_backoff):
    """moto never leaves keys unprocessed, so the re-ask is shown with a Stubber."""
    def setup(s):
        s.add_response("batch_get_item", {
            "Responses": {me.TRACKER_TABLE: [_ddb_item("ENC-TSK-325")]},
            "UnprocessedKeys": {me.TRACKER_TABLE: {"Keys": [_key("task#ENC-TSK-340")]}}})
        s.add_response("batch_get_item", {"Responses": {me.TRACKER_TABLE: [_ddb_item("ENC-TSK-340")]},
                                          "UnprocessedKeys": {}},
                       {"RequestItems": {me.TRACKER_TABLE: {"Keys": [_key("task#ENC-TSK-340")]}}})

    stub("dynamodb", setup)
    meter = Meter()
    data = tracker.collect_tracker(me.TRACKER_TABLE, me.PROJECT, ["ENC-TSK-325", "ENC-TSK-340"], REGION, meter=meter)
    assert sorted(data["items"]) == ["ENC-TSK-325", "ENC-TSK-340"] and data["missing"] == []
    assert data["items"]["ENC-TSK-340"]["history"] == [{"status": "worklog", "n": 7}]
    assert meter.requests == 2


def test_collect_tracker_gives_up_on_unprocessed_keys_without_partial_data(offline_aws, stub, no_backoff):
    def setup(s):
        s.add_response("batch_get_item", {"Responses": {me.TRACKER_TABLE: [_ddb_item("ENC-TSK-325")]},
                                          "UnprocessedKeys": {me.TRACKER_TABLE: {"Keys": [_key("task#ENC-TSK-340")]}}})
        for _ in range(tracker.UNPROCESSED_ATTEMPTS - 1):
            s.add_response("batch_get_item", {"Responses": {},
                                              "UnprocessedKeys": {me.TRACKER_TABLE: {"Keys": [_key("task#ENC-TSK-340")]}}})

    stub("dynamodb", setup)
    meter = Meter()
    with pytest.raises(aws.Throttled, match="unprocessed"):
        tracker.collect_tracker(me.TRACKER_TABLE, me.PROJECT, ["ENC-TSK-325", "ENC-TSK-340"], REGION, meter=meter)
    assert meter.requests == tracker.UNPROCESSED_ATTEMPTS


def test_collect_tracker_missing_table_is_not_found(aws_env):
    with pytest.raises(aws.NotFound, match="BatchGetItem"):
        tracker.collect_tracker("no-such-table", me.PROJECT, ["ENC-TSK-325"], REGION, meter=Meter())


# --------------------------------------------------------------------------- deployment manager

def test_collect_deploy_manager_queries_the_window(aws_env):
    me.create_deploy_manager_table()
    meter = Meter()
    data = deploy_manager.collect_deploy_manager(me.DM_TABLE, me.PROJECT, *MARCH, REGION, meter=meter)
    valid("deploy_manager", data)
    assert [r["request_id"] for r in data["requests"]] == [
        "REQ-20260301T101500Z-a1b2c3", "REQ-20260305T173200Z-5e7d20", "REQ-20260318T181500Z-9c4e1f"]
    assert [s["spec_id"] for s in data["specs"]] == ["SPEC-20260301T103000Z", "SPEC-20260318T183000Z"]
    forbidden = data["requests"][2]
    assert forbidden["deployment_type"] == "lambda_update" and forbidden["status"] == "included"
    assert json.loads(forbidden["non_ui_config"])["target_arn"] == me.FUNCTION_ARN
    assert forbidden["files_changed"] == ["backend/lambda/coordination_api/lambda_function.py"]
    assert forbidden["submitted_at"] == "2026-03-18T18:15:00Z" and forbidden["related_record_ids"] == ["ENC-TSK-370"]
    assert "project_id" not in forbidden
    spec = data["specs"][1]
    assert spec["status"] == "queued_non_ui" and spec["deployment_category"] == "non_ui"
    assert spec["non_ui_target_arns"] == [me.FUNCTION_ARN]
    assert meter.requests == 2 and meter.warnings == []  # one Query per prefix, no Scan


def test_collect_deploy_manager_window_bounds_are_inclusive_to_the_second(aws_env):
    since, until = datetime(2026, 3, 10, 12, 0, 0, tzinfo=timezone.utc), datetime(2026, 3, 10, 13, 0, 0,
                                                                                 tzinfo=timezone.utc)
    me.create_deploy_manager_table([
        me.dm_request("REQ-20260310T115959Z-000001"),
        me.dm_request("REQ-20260310T120000Z-000002"),
        me.dm_request("REQ-20260310T130000Z-ffffff"),
        me.dm_request("REQ-20260310T130001Z-000003"),
    ])
    data = deploy_manager.collect_deploy_manager(me.DM_TABLE, me.PROJECT, since, until, REGION, meter=Meter())
    assert [r["request_id"] for r in data["requests"]] == ["REQ-20260310T120000Z-000002", "REQ-20260310T130000Z-ffffff"]


def test_collect_deploy_manager_pages_through_query(aws_env):
    """moto honours Query's Limit, so a page size of 4 makes real LastEvaluatedKey pages."""
    rows = [me.dm_request(f"REQ-202603{day:02d}T0900{n:02d}Z-{n:06x}") for day in range(1, 11) for n in range(2)]
    me.create_deploy_manager_table(rows + [me.dm_spec("SPEC-20260302T000000Z")])
    meter = Meter()
    data = deploy_manager.collect_deploy_manager(me.DM_TABLE, me.PROJECT, *MARCH, REGION, meter=meter, options={"page_size": 4})
    assert [r["record_id"] for r in data["requests"]] == sorted(r["record_id"] for r in rows)
    assert len(data["specs"]) == 1
    assert meter.requests >= 20 // 4 + 1


def test_collect_deploy_manager_without_project_scans_with_a_warning(aws_env):
    me.create_deploy_manager_table()
    meter = Meter()
    data = deploy_manager.collect_deploy_manager(me.DM_TABLE, None, *MARCH, REGION, meter=meter, options={"page_size": 3})
    valid("deploy_manager", data)
    ids = [r["request_id"] for r in data["requests"]]
    assert "REQ-20260320T090000Z-0000aa" in ids  # a Scan sees every project
    assert "REQ-20260210T090000Z-000001" not in ids and len(ids) == 4
    assert len(data["specs"]) == 2
    assert any("Scan" in w for w in meter.warnings)
    assert meter.requests >= 3  # 8 rows at 3 per page


# --------------------------------------------------------------------------- failures

def test_access_denied_is_recognisable_and_redacted(offline_aws, stub, monkeypatch):
    monkeypatch.setenv("AWS_SESSION_TOKEN", "sessiontoken-XYZ")

    def setup(s):
        s.add_client_error("get_function_configuration", service_error_code="AccessDeniedException",
                           service_message="User arn:aws:sts::1:assumed-role/ci is not authorized "
                                           "(token sessiontoken-XYZ)", http_status_code=403)

    stub("lambda", setup)
    with pytest.raises(aws.AccessDenied) as err:
        lambda_fn.collect_lambda(me.FUNCTION, REGION, meter=Meter())
    text = str(err.value)
    assert "GetFunctionConfiguration" in text and "AccessDeniedException" in text
    assert "sessiontoken-XYZ" not in text and "***" in text
    assert err.value.code == "AccessDeniedException" and err.value.operation == "GetFunctionConfiguration"


def test_throttled_with_retries_disabled(offline_aws, stub):
    def setup(s):
        s.add_client_error("query", service_error_code="ProvisionedThroughputExceededException", http_status_code=400)

    stub("dynamodb", setup)
    with pytest.raises(aws.Throttled, match="Query failed: ProvisionedThroughputExceededException"):
        deploy_manager.collect_deploy_manager(me.DM_TABLE, me.PROJECT, *MARCH, REGION, meter=Meter(), options={"max_attempts": 1})


def _lambda_server(http_server, answers):
    """A real HTTP endpoint speaking Lambda's REST-JSON: each request pops the next scripted answer."""
    script = list(answers)

    def respond(_handler):
        kind = script.pop(0) if len(script) > 1 else script[0]
        if kind == "throttle":
            return 429, {"x-amzn-ErrorType": "TooManyRequestsException", "Content-Type": "application/json"}, \
                json.dumps({"message": "Rate exceeded", "Type": "User"}).encode()
        if kind == "slow":
            time.sleep(2)
        body = {k: v for k, v in _config().items() if k != "Environment"}
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()

    return http_server(respond)


def test_throttling_past_retries_counts_every_attempt(offline_aws, http_server, no_backoff):
    server = _lambda_server(http_server, ["throttle"])
    meter = Meter()
    with pytest.raises(aws.Throttled, match="TooManyRequestsException"):
        lambda_fn.collect_lambda(me.FUNCTION, REGION, meter=meter, versions=False,
                           options={"endpoint_url": server.url, "max_attempts": 3})
    assert len(server.seen) == 3 and meter.requests == 3  # botocore retried twice; every attempt counted


def test_throttled_once_then_answered(offline_aws, http_server, no_backoff):
    server = _lambda_server(http_server, ["throttle", "ok"])
    meter = Meter()
    data = lambda_fn.collect_lambda(me.FUNCTION, REGION, meter=meter, versions=False,
                              options={"endpoint_url": server.url, "max_attempts": 3})
    assert data["configuration"]["State"] == "Active"
    assert len(server.seen) == 2 and meter.requests == 2


def test_read_timeout(offline_aws, http_server):
    server = _lambda_server(http_server, ["slow"])
    t0 = time.perf_counter()
    with pytest.raises(aws.AwsTimeout, match="GetFunctionConfiguration"):
        lambda_fn.collect_lambda(me.FUNCTION, REGION, meter=Meter(), versions=False,
                           options={"endpoint_url": server.url, "max_attempts": 1, "timeout_seconds": 0.3})
    assert time.perf_counter() - t0 < 1.5


def test_function_missing_in_moto_is_not_found(aws_env):
    with pytest.raises(aws.NotFound, match="ResourceNotFoundException"):
        lambda_fn.collect_lambda("devops-coordination-api-gamma", REGION, meter=Meter())


def test_endpoint_down(offline_aws, no_backoff):
    """AWS_ENDPOINT_URL (set by ``offline_aws``) points at a closed loopback port; standard mode retries it."""
    meter = Meter()
    with pytest.raises(aws.EndpointUnreachable, match="GetFunctionConfiguration"):
        lambda_fn.collect_lambda(me.FUNCTION, REGION, meter=meter, options={"max_attempts": 2, "timeout_seconds": 1})
    assert meter.requests == 2
    with pytest.raises(aws.EndpointUnreachable, match="Query"):
        deploy_manager.collect_deploy_manager(me.DM_TABLE, me.PROJECT, *MARCH, REGION, meter=Meter(),
                                   options={"max_attempts": 1, "timeout_seconds": 1})


def test_run_source_records_the_error_type_and_no_data(aws_env):
    envelope = run_source("boto3", "GetFunctionConfiguration nope",
                          lambda m: lambda_fn.collect_lambda("nope", REGION, meter=m))
    assert envelope["status"] == "error" and envelope["data"] is None
    assert envelope["error"]["type"] == "NotFound"
    assert "ResourceNotFoundException" in envelope["error"]["message"]
    assert envelope["provenance"]["requests"] == 1


def test_boto3_is_imported_lazily():
    import subprocess
    import sys

    code = "import sys, compliance.sources.aws; print('boto3' in sys.modules or 'botocore' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
