"""The cloudtrail source: the trail's gzip JSON files in moto's S3 over HTTP, LookupEvents through botocore's Stubber.

moto does not implement LookupEvents, so its paging, pacing and throttling are shown with a Stubber on the
collector's real client (the Stubber checks every request and response against the service model).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from compliance.model.snapshot import def_schema, schema_problems
from compliance.sources import aws, cloudtrail
from compliance.sources.base import Meter, run_source
from compliance.sources.plan import collect_one
from tests import moto_env as me
from tests.trail_records import ROLE, TRAIL_BUCKET, create_trail, put_log, record, trail_key

BUCKET = TRAIL_BUCKET
DAY1 = datetime(2026, 3, 1, tzinfo=timezone.utc)
WINDOW = (DAY1, datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc))


def _valid(data) -> None:
    assert schema_problems(data, def_schema("cloudtrail"), "cloudtrail") == []


def _day(day: str, n: int = 1, region: str = me.REGION) -> str:
    return trail_key(day.replace("/", "-"), n, region, prefix="org/")


def test_trail_in_s3_reads_only_the_windows_days_and_the_functions_events(aws_env):
    s3 = create_trail(bucket=BUCKET)
    put_log(s3, _day("2026/03/01"), record("e1", "2026-03-01T12:05:00Z"),
         record("e2", "2026-03-01T12:06:00Z", function=f"{me.FUNCTION}-v2"),  # similar name, another function
         record("e3", "2026-03-01T12:07:00Z", source="s3.amazonaws.com"))
    put_log(s3, _day("2026/03/02", 2), record("e4", "2026-03-02T09:00:00Z", name="UpdateFunctionConfiguration20150331v2",
                                           function=f"arn:aws:lambda:{me.REGION}:{me.ACCOUNT}:function:{me.FUNCTION}"),
         record("e5", "2026-03-02T13:00:00Z"))  # the window's last day, but after its end
    put_log(s3, _day("2026/03/05"), record("e6", "2026-03-05T09:00:00Z"))  # outside the window: never read
    put_log(s3, _day("2026/03/01", region="eu-west-1"), record("e7", "2026-03-01T10:00:00Z"))  # another region
    s3.put_object(Bucket=BUCKET, Key=_day("2026/03/01").replace(".json.gz", ".digest"), Body=b"not a log")
    meter = Meter()
    data = cloudtrail.collect_cloudtrail(me.FUNCTION, me.REGION, {"bucket": BUCKET, "prefix": "org",
                                                                  "account": me.ACCOUNT}, *WINDOW, meter=meter)
    _valid(data)
    assert [e["eventID"] for e in data["events"]] == ["e1", "e4"]
    first = data["events"][0]
    assert first["userIdentity"]["sessionIssuer"]["arn"] == ROLE
    assert first["userIdentity"]["sessionCredentialFromConsole"] is False
    assert first["codeSha256"] == "q1w2e3=" and first["revisionId"] == "rev-1"
    assert "secret" not in json.dumps(data)  # request bodies never reach the snapshot
    assert meter.requests == 1 + 2  # one listing from the window's first day (it stops at 03/05), one GET per file
    assert data["covers"] == {"since": "2026-03-01T00:00:00Z", "until": "2026-03-02T12:00:00Z"}  # the window


def test_trail_file_that_is_not_gzip_json_fails_the_source(aws_env):
    s3 = create_trail(bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=_day("2026/03/01"), Body=b"{not gzip")
    env = run_source("boto3", "trail", lambda m: cloudtrail.collect_cloudtrail(
        me.FUNCTION, me.REGION, {"bucket": BUCKET, "prefix": "org", "account": me.ACCOUNT}, *WINDOW, meter=m))
    assert env["status"] == "error" and env["data"] is None
    assert env["error"]["type"] == "AwsApiError" and "not gzip JSON" in env["error"]["message"]


def test_missing_bucket_is_a_not_found_error(aws_env):
    env = run_source("boto3", "trail", lambda m: cloudtrail.collect_cloudtrail(
        me.FUNCTION, me.REGION, {"bucket": "no-such-trail", "account": me.ACCOUNT}, *WINDOW, meter=m))
    assert env["status"] == "error" and env["error"]["type"] == "NotFound"


def test_plan_refuses_a_target_without_cloudtrail_configuration():
    env = collect_one("cloudtrail", {}, {"branch": "main", "function": me.FUNCTION, "region": me.REGION}, {}, [],
                      *WINDOW)
    assert env["status"] == "error" and env["error"]["type"] == "NotConfigured"
    assert "target.cloudtrail" in env["error"]["message"]


# --------------------------------------------------------------------------- LookupEvents (Stubber)

@pytest.fixture
def lookup_stub(monkeypatch, offline_aws):
    """The collector's real cloudtrail client with a Stubber on its wire, and its sleeps recorded."""
    from botocore.stub import Stubber

    stubbers: list[Stubber] = []
    sleeps: list[float] = []
    real = aws.client_for

    def install(setup):
        def make(service, region, meter, options=None):
            client = real(service, region, meter, options)
            stubber = Stubber(client)
            setup(stubber)
            stubber.activate()
            stubbers.append(stubber)
            return client

        monkeypatch.setattr(aws, "client_for", make)

    monkeypatch.setattr(cloudtrail, "_sleep", sleeps.append)
    yield install, sleeps
    for stubber in stubbers:
        stubber.assert_no_pending_responses()


def _recent():
    until = datetime.now(timezone.utc).replace(microsecond=0)
    return until - timedelta(days=2), until


def _lookup_event(rec: dict) -> dict:
    return {"EventId": rec["eventID"], "EventName": rec["eventName"], "CloudTrailEvent": json.dumps(rec)}


def test_lookup_events_pages_paces_and_retries_throttling(lookup_stub):
    install, sleeps = lookup_stub
    since, until = _recent()
    at = (since + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    params = {"LookupAttributes": [{"AttributeKey": "ResourceName", "AttributeValue": me.FUNCTION}],
              "StartTime": since, "EndTime": until}

    def setup(s):
        s.add_response("lookup_events", {"Events": [_lookup_event(record("l1", at))], "NextToken": "p2"},
                       expected_params=params)
        s.add_client_error("lookup_events", service_error_code="ThrottlingException", http_status_code=400,
                           expected_params={**params, "NextToken": "p2"})
        s.add_response("lookup_events", {"Events": [_lookup_event(record("l2", at, function=f"{me.FUNCTION}-v2")),
                                                    _lookup_event(record("l3", at, console=True))]},
                       expected_params={**params, "NextToken": "p2"})

    install(setup)
    meter = Meter()
    data = cloudtrail.collect_cloudtrail(me.FUNCTION, me.REGION, {"lookup": True}, since, until, meter=meter)
    _valid(data)
    assert [e["eventID"] for e in data["events"]] == ["l1", "l3"]  # l2 names another function
    assert data["events"][1]["userIdentity"]["sessionCredentialFromConsole"] is True
    assert data["read"] == ["lookup"]
    # paced before every request after the first, and backed off once for the throttled page
    assert sleeps == [cloudtrail.LOOKUP_INTERVAL, cloudtrail.LOOKUP_BACKOFF, cloudtrail.LOOKUP_INTERVAL]
    assert meter.requests == 3


def test_lookup_events_still_throttled_fails_without_partial_data(lookup_stub):
    install, sleeps = lookup_stub
    since, until = _recent()

    def setup(s):
        for _ in range(cloudtrail.LOOKUP_ATTEMPTS):
            s.add_client_error("lookup_events", service_error_code="ThrottlingException", http_status_code=400)

    install(setup)
    env = run_source("boto3", "lookup", lambda m: cloudtrail.collect_cloudtrail(
        me.FUNCTION, me.REGION, {"lookup": True}, since, until, meter=m))
    assert env["status"] == "error" and env["error"]["type"] == "Throttled" and env["data"] is None
    assert sleeps.count(cloudtrail.LOOKUP_BACKOFF * 2) == 1  # the back-off doubles


def test_lookup_events_outside_90_days_asks_nothing(lookup_stub):
    install, _ = lookup_stub
    install(lambda s: None)  # no response loaded: any request would fail the test
    until = datetime.now(timezone.utc) - timedelta(days=cloudtrail.LOOKUP_DAYS + 1)
    meter = Meter()
    data = cloudtrail.collect_cloudtrail(me.FUNCTION, me.REGION, {"lookup": True}, until - timedelta(days=7), until,
                                         meter=meter)
    assert data["events"] == [] and meter.requests == 0
    # what the read covers starts 90 days before the collection: after this window, so nothing is covered
    assert data["covers"]["since"] > data["covers"]["until"]


@pytest.mark.parametrize(("value", "names"), [
    (me.FUNCTION, True),
    (f"arn:aws:lambda:{me.REGION}:{me.ACCOUNT}:function:{me.FUNCTION}", True),
    (f"arn:aws:lambda:{me.REGION}:{me.ACCOUNT}:function:{me.FUNCTION}:live", True),
    (f"{me.ACCOUNT}:function:{me.FUNCTION}", True),
    (f"{me.FUNCTION}:3", True),
    (f"{me.FUNCTION}-v2", False),
    (f"arn:aws:lambda:{me.REGION}:{me.ACCOUNT}:function:{me.FUNCTION}-v2", False),
    (f"old-{me.FUNCTION}", False),
    (None, False),
])
def test_function_name_forms(value, names):
    assert cloudtrail._names_function(value, me.FUNCTION) is names


def test_the_read_records_when_it_began_for_the_pending_tail(aws_env):
    """``read_at`` is taken before the first request, to the second: no later than the read that saw the
    trail, so deploy_principal's pending tail is measured from it rather than from the end of the collection."""
    create_trail(bucket=BUCKET)
    before = datetime.now(timezone.utc).replace(microsecond=0)
    data = cloudtrail.collect_cloudtrail(me.FUNCTION, me.REGION, {"bucket": BUCKET, "prefix": "org",
                                                                  "account": me.ACCOUNT}, *WINDOW, meter=Meter())
    after = datetime.now(timezone.utc)
    _valid(data)
    read_at = datetime.fromisoformat(data["read_at"].replace("Z", "+00:00"))
    assert before <= read_at <= after
    assert schema_problems({**data, "read_at": "yesterday"}, def_schema("cloudtrail"), "cloudtrail")
