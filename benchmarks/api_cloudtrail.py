"""Section 2, the cloudtrail source: requests for a trail read grow with the window's files (and the pages
of its one listing), never with the commits or deploys in it.

The live collector (``collect_cloudtrail``) runs unchanged: the trail in S3 against moto's S3 over HTTP
(``tests.moto_env``, as the tests use it), gzip JSON log files where CloudTrail writes them
(``AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/``), and ``LookupEvents`` through botocore's Stubber
on the collector's real client (moto does not implement it), paced and counted as live.

S3: one ``ListObjectsV2`` of the region's folder from the window's first day, a page per 1,000 keys,
stopping at the first key past the window, and one ``GetObject`` per log file in the window's day folders. The number of updates recorded (one per deploy) only changes what each file
holds. LookupEvents: one request per page of 50 events.
"""

from __future__ import annotations

import gzip
import json
import math
import os
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

from benchmarks.measure import Row

FIRST_DAY = datetime(2026, 2, 1, tzinfo=timezone.utc)
TRAIL_DAYS = 45  # days of logs in the bucket; a window reads only its own
FILES_PER_DAY = 12  # CloudTrail delivers a file about every 5 minutes per region while there is activity
LOOKUP_PAGE = 50  # LookupEvents' maximum MaxResults


@contextmanager
def _moto_s3():
    """moto's server on loopback, boto3 pointed at it through the environment, as the tests do."""
    from tests import moto_env

    server, endpoint = moto_env.start_server()
    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                            "AWS_DEFAULT_REGION", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
                                            "AWS_PROFILE", "AWS_SESSION_TOKEN")}
    os.environ.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                      AWS_DEFAULT_REGION=moto_env.REGION, AWS_CONFIG_FILE=os.devnull,
                      AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)
    try:
        yield endpoint
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        server.stop()


def _fill_bucket(deploys: int) -> None:
    """``TRAIL_DAYS`` of log files, ``deploys`` pipeline uploads of the function spread over them, and the
    account's other traffic (another function's updates, S3 calls) in every file."""
    from tests import moto_env as me
    from tests.trail_records import TRAIL_BUCKET, create_trail, record, trail_key

    s3 = create_trail(bucket=TRAIL_BUCKET)
    per_file: dict[str, list[dict[str, Any]]] = {}
    for i in range(deploys):
        when = FIRST_DAY + timedelta(days=TRAIL_DAYS) * (i / deploys) + timedelta(minutes=3)
        stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        key = trail_key(stamp, 1 + when.hour * FILES_PER_DAY // 24)
        per_file.setdefault(key, []).append(record(f"d{i}", stamp))
    for day in range(TRAIL_DAYS):
        stamp = (FIRST_DAY + timedelta(days=day, hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        for n in range(1, FILES_PER_DAY + 1):
            key = trail_key(stamp, n)
            noise = [record(f"n{day}-{n}", stamp, function=f"{me.FUNCTION}-v2"),
                     record(f"s{day}-{n}", stamp, source="s3.amazonaws.com")]
            body = gzip.compress(json.dumps({"Records": per_file.get(key, []) + noise}).encode())
            s3.put_object(Bucket=TRAIL_BUCKET, Key=key, Body=body)


def _read_s3(days: int, page_size: int | None = None) -> dict[str, Any]:
    from compliance.sources import cloudtrail
    from compliance.sources.base import Meter
    from tests import moto_env as me
    from tests.trail_records import TRAIL_BUCKET

    meter = Meter()
    since = FIRST_DAY + timedelta(days=10)
    until = since + timedelta(days=days) - timedelta(seconds=1)
    data = cloudtrail.collect_cloudtrail(me.FUNCTION, me.REGION, {"bucket": TRAIL_BUCKET, "account": me.ACCOUNT},
                                         since, until, meter=meter, options={"page_size": page_size})
    # the day folders read: the window's, and the next one when the window ends within the delivery lag of
    # midnight (a file is filed under the day it was delivered, which can be after the event's day)
    folders = ((until + cloudtrail.DELIVERY_LAG).date() - since.date()).days + 1
    files = folders * FILES_PER_DAY
    # the bucket holds days after the window: the listing ends with the page holding the first key past it
    pages = files // (page_size or 1000) + 1
    return {"days": days, "folders": folders, "page_size": page_size or 1000, "requests": meter.requests,
            "events": len(data["events"]), "pages": pages, "expected": pages + files}


def _read_lookup(events: int) -> dict[str, Any]:
    """LookupEvents pages of 50 through a Stubber on the collector's own client (pacing not slept)."""
    from botocore.stub import Stubber

    from compliance.sources import aws, cloudtrail
    from compliance.sources.base import Meter
    from tests import moto_env as me
    from tests.trail_records import record

    until = datetime.now(timezone.utc).replace(microsecond=0)
    since = until - timedelta(days=30)
    pages = max(1, math.ceil(events / LOOKUP_PAGE))
    real, sleep = aws.client_for, cloudtrail._sleep
    stubbers: list[Stubber] = []

    def make(service, region, meter, options=None):
        client = real(service, region, meter, options)
        stub = Stubber(client)
        for p in range(pages):
            chunk = range(p * LOOKUP_PAGE, min(events, (p + 1) * LOOKUP_PAGE))
            at = lambda i: (since + timedelta(minutes=1 + i)).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
            page = {"Events": [{"EventId": f"l{i}", "EventName": "UpdateFunctionCode20150331v2",
                                "CloudTrailEvent": json.dumps(record(f"l{i}", at(i)))} for i in chunk]}
            if p + 1 < pages:
                page["NextToken"] = f"t{p + 1}"
            stub.add_response("lookup_events", page)
        stub.activate()
        stubbers.append(stub)
        return client

    aws.client_for, cloudtrail._sleep = make, (lambda _s: None)
    try:
        meter = Meter()
        data = cloudtrail.collect_cloudtrail(me.FUNCTION, me.REGION, {"lookup": True}, since, until, meter=meter)
    finally:
        aws.client_for, cloudtrail._sleep = real, sleep
    for stub in stubbers:
        stub.assert_no_pending_responses()
    return {"events": len(data["events"]), "pages": pages, "requests": meter.requests}


def measure() -> dict[str, Any]:
    from tests import moto_env

    out: dict[str, Any] = {}
    with _moto_s3() as endpoint:
        for deploys in (300, 3000):
            moto_env.reset(endpoint)
            _fill_bucket(deploys)
            out[deploys] = {"w30": _read_s3(30)}
        out[3000]["w15"] = _read_s3(15)
        out[3000]["w30p5"] = _read_s3(30, page_size=5)
        moto_env.reset(endpoint)
        out["lookup"] = [_read_lookup(n) for n in (120, 1200)]  # the Stubber answers; the fake credentials sign
    return out


def run_section(log) -> tuple[list[Row], str]:
    m = measure()
    small, big = m[300]["w30"], m[3000]["w30"]
    half, paged = m[3000]["w15"], m[3000]["w30p5"]
    look_small, look_big = m["lookup"]
    log(f"  cloudtrail s3 30 days: {small['requests']} requests (300 deploys), {big['requests']} (3000 deploys); "
        f"15 days: {half['requests']}; pages of 5: {paged['requests']}; lookup {look_small['requests']} -> "
        f"{look_big['requests']}")
    rows = [
        Row("2 API economy", "cloudtrail (S3 trail), 30-day window, 300 -> 3,000 deploys in it",
            f"{small['requests']} -> {big['requests']} requests ({small['events']} -> {big['events']} updates "
            f"of the function read; {small['folders']} day folders (the window's 30 and the next, for files "
            f"delivered after midnight) x {FILES_PER_DAY} files + {small['pages']} listing page = {small['expected']})",
            "independent of commits and deploys: files + listing pages",
            small["requests"] == big["requests"] == small["expected"]),
        Row("2 API economy", "cloudtrail (S3 trail), 15 -> 30-day window",
            f"{half['requests']} -> {big['requests']} requests ({big['requests'] / half['requests']:.1f}x)",
            "grows with the window's files", half["requests"] == half["expected"] and
            big["requests"] == big["expected"]),
        Row("2 API economy", "cloudtrail (S3 trail), 30 days, listing pages of 5 keys instead of 1,000",
            f"{paged['requests']} requests (expected {paged['expected']}: "
            f"{paged['pages']} listing pages for the window's files)", "grows with listing pages",
            paged["requests"] == paged["expected"]),
        Row("2 API economy", "cloudtrail (LookupEvents), 120 -> 1,200 events",
            f"{look_small['requests']} -> {look_big['requests']} requests ({look_small['pages']} -> "
            f"{look_big['pages']} pages of {LOOKUP_PAGE})", "one request per page",
            look_small["requests"] == look_small["pages"] and look_big["requests"] == look_big["pages"]),
    ]
    lines = ["### The cloudtrail source", "",
             "`collect_cloudtrail` (the live source, unchanged) against moto's S3 over HTTP holding "
             f"{TRAIL_DAYS} days of gzip JSON trail files ({FILES_PER_DAY} a day, each also holding another "
             "function's updates and S3 calls), and `LookupEvents` through botocore's Stubber on the collector's "
             "own client. The window starts 10 days into the trail.", "",
             "| read | window | deploys recorded | listing page | requests | updates of the function read |",
             "|---|---|---:|---:|---:|---:|"]
    for deploys, key in ((300, "w30"), (3000, "w30"), (3000, "w15"), (3000, "w30p5")):
        r = m[deploys][key]
        lines.append(f"| S3 trail | {r['days']} days | {deploys} | {r['page_size']} | {r['requests']} | "
                     f"{r['events']} |")
    for r in m["lookup"]:
        lines.append(f"| LookupEvents | 30 days | {r['events']} | {LOOKUP_PAGE} | {r['requests']} | {r['events']} |")
    lines += ["", "Requests: one listing of the region's trail folder from the window's first day (a page per "
              "1,000 keys, stopping at the first key past the window; it was one listing per day before) and "
              "one GetObject per log file; the deploys in the window change only what each file holds. "
              "LookupEvents costs one request per page of 50 events, paced to 2 a second in a live read.", ""]
    return rows, "\n".join(lines)
