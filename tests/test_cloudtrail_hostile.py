"""The cloudtrail source against records and trail files shaped to hide an update or to credit one that is not
the governed function's (a hostile probe): moto's S3 over HTTP with gzip JSON trail files as AWS writes them.
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta, timezone

from compliance.sources import aws, cloudtrail
from compliance.sources.base import Meter, run_source
from tests import moto_env as me
from tests.trail_records import TRAIL_BUCKET, create_trail, put_log, record

MONTH = (datetime(2026, 3, 1, tzinfo=timezone.utc), datetime(2026, 3, 31, 23, 59, 59, tzinfo=timezone.utc))
CFG = {"bucket": TRAIL_BUCKET, "account": me.ACCOUNT}


def _key(delivered: str, n: int = 1) -> str:
    """A log file's key by its delivery time (``YYYYMMDDTHHmmZ``): the folder is the delivery day, not the event's."""
    day = f"{delivered[:4]}/{delivered[4:6]}/{delivered[6:8]}"
    return (f"AWSLogs/{me.ACCOUNT}/CloudTrail/{me.REGION}/{day}/"
            f"{me.ACCOUNT}_CloudTrail_{me.REGION}_{delivered}_{n}.json.gz")


def test_an_update_just_before_the_windows_end_delivered_the_next_day_is_read(aws_env):
    # AWS: "A log file delivered at a specific time can contain records written at any point before that
    # time" and its folder is the delivery day: a console edit at 23:58 on the window's last day sits in a
    # file of the next day. Listing only the window's days hides it from deploy_principal.
    s3 = create_trail()
    put_log(s3, _key("20260331T2350Z"), record("in-day", "2026-03-31T23:40:00Z"))
    put_log(s3, _key("20260401T0003Z"), record("late", "2026-03-31T23:58:00Z", console=True),
            record("next-day", "2026-04-01T00:01:00Z"))
    data = cloudtrail.collect_cloudtrail(me.FUNCTION, me.REGION, CFG, *MONTH, meter=Meter())
    assert [e["eventID"] for e in data["events"]] == ["in-day", "late"]  # the next day's own event stays out
    assert data["events"][1]["userIdentity"]["sessionCredentialFromConsole"] is True


def test_a_window_ending_at_noon_reads_no_extra_day(aws_env):
    s3 = create_trail()
    put_log(s3, _key("20260302T1100Z"), record("in", "2026-03-02T10:50:00Z"))
    put_log(s3, _key("20260303T0010Z"), record("next-day", "2026-03-02T11:55:00Z"))  # past the delivery lag
    meter = Meter()
    data = cloudtrail.collect_cloudtrail(me.FUNCTION, me.REGION, CFG, MONTH[0],
                                         datetime(2026, 3, 2, 12, tzinfo=timezone.utc), meter=meter)
    assert [e["eventID"] for e in data["events"]] == ["in"]
    assert meter.requests == 1 + 1  # one listing, one GET: the next day's file is not read


def _region_key(rest: str) -> str:
    return f"AWSLogs/{me.ACCOUNT}/CloudTrail/{me.REGION}/{rest}"


def test_a_window_across_a_year_reads_exactly_its_day_folders(aws_env):
    """One listing of the region's folder replaces one per day: keys that sort inside the window's range but
    are not in one of its day folders (another shape, an impossible date, a file beside the folders) are
    never read, and neither are the days either side."""
    s3 = create_trail()
    inside = {"2025/12/31/a.json.gz": "d1", "2026/01/01/a.json.gz": "d2", "2026/01/02/b.json.gz": "d3"}
    outside = {"2025/12/30/a.json.gz": "before", "2026/01/03/a.json.gz": "after", "2026/01/01x/a.json.gz": "shape",
               "2026/01/01.json.gz": "beside", "2026/01/0/a.json.gz": "short", "2025/12/32/a.json.gz": "no-date",
               "2026/01/01/a.json": "not-gz"}
    for rest, event_id in {**inside, **outside}.items():
        put_log(s3, _region_key(rest), record(event_id, "2026-01-01T12:00:00Z"))
    meter = Meter()
    since, until = datetime(2025, 12, 31, tzinfo=timezone.utc), datetime(2026, 1, 2, 12, tzinfo=timezone.utc)
    data = cloudtrail.collect_cloudtrail(me.FUNCTION, me.REGION, CFG, since, until, meter=meter)
    assert sorted(e["eventID"] for e in data["events"]) == ["d1", "d2", "d3"]
    assert meter.requests == 1 + len(inside)


def test_requests_follow_the_windows_files_not_its_days(aws_env):
    s3 = create_trail()
    quiet = Meter()
    cloudtrail.collect_cloudtrail(me.FUNCTION, me.REGION, CFG, datetime(2026, 1, 1, tzinfo=timezone.utc),
                                  datetime(2026, 3, 31, tzinfo=timezone.utc), meter=quiet)
    assert quiet.requests == 1  # 90 days without a file: one listing, where one per day made 91
    for n in range(5):
        put_log(s3, _region_key(f"2026/03/1{n}/f{n}.json.gz"), record(f"w{n}", f"2026-03-1{n}T08:00:00Z"))
    for n in range(3):
        put_log(s3, _region_key(f"2026/04/0{n + 2}/g{n}.json.gz"), record(f"a{n}", f"2026-04-0{n + 2}T08:00:00Z"))
    paged = Meter()
    data = cloudtrail.collect_cloudtrail(me.FUNCTION, me.REGION, CFG, datetime(2026, 3, 1, tzinfo=timezone.utc),
                                         datetime(2026, 3, 31, 12, tzinfo=timezone.utc), meter=paged,
                                         options={"page_size": 2})
    assert [e["eventID"] for e in data["events"]] == [f"w{n}" for n in range(5)]
    # pages of two keys: [w0 w1] [w2 w3] [w4 a0] and no fourth once a key past the window is seen; a GET per file
    assert paged.requests == 3 + 5


def test_another_accounts_or_regions_function_of_the_same_name_is_not_the_function():
    # the pipeline's role updating a staging account's (or another region's) function of the same name did not
    # deploy this one: crediting it would make a run look as if it uploaded the governed code
    other_account = record("x1", "2026-03-10T10:00:00Z",
                           function=f"arn:aws:lambda:{me.REGION}:999999999999:function:{me.FUNCTION}")
    partial = record("x2", "2026-03-10T10:00:00Z", function=f"999999999999:function:{me.FUNCTION}")
    other_region = record("x3", "2026-03-10T10:00:00Z",
                          function=f"arn:aws:lambda:eu-west-1:{me.ACCOUNT}:function:{me.FUNCTION}:live")
    mine = record("m1", "2026-03-10T10:00:00Z",
                  function=f"arn:aws:lambda:{me.REGION}:{me.ACCOUNT}:function:{me.FUNCTION}")
    for rec in (other_account, partial, other_region):
        assert cloudtrail.event_record(rec, me.FUNCTION, account=me.ACCOUNT, region=me.REGION) is None
        assert cloudtrail.event_record(rec, me.FUNCTION) is None  # the record's own account and region decide
    assert cloudtrail.event_record(mine, me.FUNCTION, account=me.ACCOUNT, region=me.REGION)["eventID"] == "m1"
    assert cloudtrail.event_record(record("m2", "2026-03-10T10:00:00Z"), me.FUNCTION)["eventID"] == "m2"


def test_the_trail_source_drops_another_accounts_function(aws_env):
    create_trail(record("x1", "2026-03-10T10:00:00Z",
                        function=f"arn:aws:lambda:{me.REGION}:999999999999:function:{me.FUNCTION}"),
                 record("m1", "2026-03-10T10:05:00Z"))
    data = cloudtrail.collect_cloudtrail(me.FUNCTION, me.REGION, CFG, *MONTH, meter=Meter())
    assert [e["eventID"] for e in data["events"]] == ["m1"]


def test_a_truncated_trail_file_is_an_error_naming_the_file(aws_env):
    s3 = create_trail()
    whole = gzip.compress(json.dumps({"Records": [record("e1", "2026-03-10T10:00:00Z")]}).encode())
    s3.put_object(Bucket=TRAIL_BUCKET, Key=_key("20260310T1005Z"), Body=whole[: len(whole) // 2])
    env = run_source("boto3", "trail", lambda m: cloudtrail.collect_cloudtrail(me.FUNCTION, me.REGION, CFG, *MONTH,
                                                                               meter=m))
    assert env["status"] == "error" and env["data"] is None
    assert env["error"]["type"] == "AwsApiError"
    assert "20260310T1005Z_1.json.gz" in env["error"]["message"] and "not gzip JSON" in env["error"]["message"]


def test_a_trail_file_without_a_records_list_is_an_error(aws_env):
    # a file that holds no Records list is not a CloudTrail log: reading it as "no events" would prove an absence
    s3 = create_trail()
    for doc in ({}, {"Records": {"eventID": "e1"}}, {"Records": None}, ["not", "an", "object"]):
        s3.put_object(Bucket=TRAIL_BUCKET, Key=_key("20260310T1005Z"), Body=gzip.compress(json.dumps(doc).encode()))
        env = run_source("boto3", "trail", lambda m: cloudtrail.collect_cloudtrail(me.FUNCTION, me.REGION, CFG,
                                                                                   *MONTH, meter=m))
        assert env["status"] == "error", doc
        assert env["error"]["type"] == "AwsApiError" and "Records" in env["error"]["message"], doc


def test_lookup_events_answering_the_same_next_token_again_is_an_error_not_a_long_wait(monkeypatch, offline_aws):
    # botocore's paginators refuse a repeated token; the paced LookupEvents loop must too, or it sleeps through
    # max_pages pages of the same answer before failing
    from botocore.stub import Stubber

    sleeps: list[float] = []
    monkeypatch.setattr(cloudtrail, "_sleep", sleeps.append)
    real, stubbers = aws.client_for, []

    def make(service, region, meter, options=None):
        client = real(service, region, meter, options)
        stubber = Stubber(client)
        for _ in range(3):
            stubber.add_response("lookup_events", {"Events": [], "NextToken": "same"})
        stubber.activate()
        stubbers.append(stubber)
        return client

    monkeypatch.setattr(aws, "client_for", make)
    until = datetime.now(timezone.utc).replace(microsecond=0)
    env = run_source("boto3", "lookup", lambda m: cloudtrail.collect_cloudtrail(
        me.FUNCTION, me.REGION, {"lookup": True}, until - timedelta(days=1), until, meter=m))
    assert env["status"] == "error" and env["error"]["type"] == "AwsApiError"
    assert "same NextToken twice" in env["error"]["message"]
    assert env["provenance"]["requests"] == 2 and len(sleeps) == 1  # the first repeat stops it
