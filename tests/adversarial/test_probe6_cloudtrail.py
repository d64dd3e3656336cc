"""Hostile probe of the trail listing (one ListObjectsV2 of the region's folder from the window's first day,
stopping past its last) against a reference: one listing per day folder, as the source did before.

The claim under attack: for any bucket content the same trail files are read, in the same order. A file
skipped hides who updated the function from ``deploy_principal`` (a false pass). The reference is written
here with the tests' own client; the files the source reads are seen by a spy on ``aws.call`` that records
each GetObject's key and hands the call on unchanged. moto's S3 over HTTP serves both.
"""

from __future__ import annotations

import gzip
import io
import itertools
import json
from datetime import date, datetime, timedelta, timezone

import pytest
from botocore.response import StreamingBody
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from compliance.sources import aws, cloudtrail
from compliance.sources.base import Meter, run_source
from tests import moto_env as me
from tests.hypothesis_budget import examples
from tests.trail_records import TRAIL_BUCKET, put_log, record

_BUCKETS = itertools.count()


@pytest.fixture
def gets(monkeypatch):
    """The keys the source GETs, in order (the real call is made)."""
    seen: list[str] = []
    real = aws.call

    def spy(client, operation, **params):
        if operation == "GetObject":
            seen.append(params["Key"])
        return real(client, operation, **params)

    monkeypatch.setattr(aws, "call", spy)
    return seen


def _per_day_reference(bucket: str, base: str, since: datetime, until: datetime, page_size: int | None) -> list[str]:
    """The old behaviour: one listing per day folder ``<base>YYYY/MM/DD/`` of the window (and the lag day)."""
    s3 = me.client("s3")
    day, last = since.astimezone(timezone.utc).date(), (until + cloudtrail.DELIVERY_LAG).astimezone(timezone.utc).date()
    out: list[str] = []
    while day <= last:
        config = {"PageSize": page_size} if page_size else {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{base}{day:%Y/%m/%d}/",
                                                                 PaginationConfig=config):
            out.extend(o["Key"] for o in page.get("Contents", []) if o["Key"].endswith(".json.gz"))
        day += timedelta(days=1)
    return out


def _bucket() -> str:
    s3 = me.client("s3")
    name = f"probe6-trail-{next(_BUCKETS)}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": me.REGION})
    return name


def _put(bucket: str, key: str, when: str) -> None:
    put_log(me.client("s3"), key, record(key, when), bucket=bucket)


def _read(bucket, prefix, since, until, gets, **options):
    gets.clear()
    events = cloudtrail.read_trail(bucket, prefix, me.ACCOUNT, me.REGION, me.FUNCTION, since, until, meter=Meter(),
                                   options=options or None)
    return list(gets), events


# --------------------------------------------------------------------------- random layouts vs the reference

_START = date(2025, 12, 27)
_SEPARATORS = ["/", "/", "/", "", ".", "-", "!", "x", "0", "//", "/deep/er/", " ", "~", "\u00e9/", "\U0001f600/",
               "/\u00ff", "\x7f"]
_EXTS = [".json.gz", ".json.gz", ".json", ".gz", "", ".JSON.GZ", ".json.gz/"]
_NAMES = st.text(alphabet="aZ09_-. +%&=\u00e9\u4e2d\U0001f600", min_size=0, max_size=12)
_PREFIXES = [None, "", "/", "logs", "logs/", "/org/logs/", "a b", "\u00fc-logs", "x+y%z", "dup//slash", "AWSLogs"]
_SIBLINGS = [f"AWSLogs/{me.ACCOUNT}/CloudTrail/{me.REGION}x/", f"AWSLogs/{me.ACCOUNT}/CloudTrail/{me.REGION}-2/",
             f"AWSLogs/{me.ACCOUNT}/CloudTrail/{me.REGION[:-1]}/", f"AWSLogs/{me.ACCOUNT}x/CloudTrail/{me.REGION}/",
             f"AWSLogs/{me.ACCOUNT}/CloudTrail/{me.REGION}"]


@st.composite
def _window(draw):
    since = datetime(2025, 12, 28, tzinfo=timezone.utc) + timedelta(minutes=draw(st.integers(0, 8 * 1440)))
    length = draw(st.one_of(st.integers(0, 3 * 1440), st.integers(-2 * 1440, 5 * 1440),
                            st.sampled_from([0, 1, 59, 60, 61, 1380, 1381, 1439, 1440])))
    until = since + timedelta(minutes=length)
    if draw(st.booleans()):  # end near midnight: inside or just outside the delivery lag
        until = until.replace(hour=23, minute=draw(st.sampled_from([0, 1, 58, 59])), second=draw(st.sampled_from([0, 59])))
    return since, until


def _rest(first: date):
    """The part of a key after the region's folder: mostly a day near the window (from the day before its
    first to days past its end), half of them trail files in a day folder, the rest odd shapes."""
    odd = st.sampled_from(["", "2026", "2026/01", "2026/1/1/a.json.gz", "2025/12/32/a.json.gz",
                           "2026/13/01/a.json.gz", "9999/01/01/a.json.gz", "0000/01/01/a.json.gz"])
    folder = st.sampled_from([-1, 0, 0, 0, 1, 1, 2, 3, 5, 7]).map(lambda n: (first + timedelta(days=n)).strftime("%Y/%m/%d"))
    separator = st.one_of(st.just("/"), st.just("/"), st.sampled_from(_SEPARATORS))
    ext = st.one_of(st.just(".json.gz"), st.sampled_from(_EXTS))
    shaped = st.tuples(folder, separator, _NAMES, ext).map("".join)
    return st.one_of(shaped, shaped, shaped, folder, odd)  # ``folder`` alone: a key equal to a folder's name


@st.composite
def _layout(draw):
    since, until = draw(_window())
    first = since.date()
    rests = draw(st.lists(_rest(first), min_size=3, max_size=14, unique=True))
    siblings = draw(st.lists(st.tuples(st.sampled_from(_SIBLINGS), _rest(first)), max_size=3))
    return since, until, rests, siblings


@settings(max_examples=examples(60, floor=20), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(layout=_layout(), prefix=st.sampled_from(_PREFIXES), page_size=st.sampled_from([None, 1, 2, 3]))
def test_one_listing_reads_exactly_the_files_a_listing_per_day_read(aws_env, gets, layout, prefix, page_size):
    since, until, rests, siblings = layout
    bucket = _bucket()
    base = cloudtrail.trail_prefix(prefix, me.ACCOUNT, me.REGION)
    head = base[: -len(f"AWSLogs/{me.ACCOUNT}/CloudTrail/{me.REGION}/")]
    keys = [base + rest for rest in rests] + [head + sib + rest for sib, rest in siblings]
    for key in dict.fromkeys(keys):
        _put(bucket, key, since.strftime("%Y-%m-%dT%H:%M:%SZ"))
    expected = _per_day_reference(bucket, base, since, until, None)  # the truth, whatever page size is read with
    read, events = _read(bucket, prefix, since, until, gets, **({"page_size": page_size} if page_size else {}))
    event(f"files in the window: {min(len(expected), 3)}{'+' if len(expected) > 2 else ''}")
    assert read == expected
    if since <= until:  # every file holds one event at ``since``: the events are exactly the files read
        assert sorted(e["eventID"] for e in events) == sorted(expected)


# --------------------------------------------------------------------------- named attacks

DAY = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _region_key(rest: str, prefix: str | None = None) -> str:
    return cloudtrail.trail_prefix(prefix, me.ACCOUNT, me.REGION) + rest


@pytest.mark.parametrize("since,until", [
    (DAY, DAY + timedelta(hours=12)),  # one day
    (datetime(2026, 1, 30, tzinfo=timezone.utc), datetime(2026, 2, 2, 12, tzinfo=timezone.utc)),  # across a month
    (datetime(2025, 12, 30, tzinfo=timezone.utc), datetime(2026, 1, 2, 12, tzinfo=timezone.utc)),  # across a year
    (datetime(2025, 12, 31, tzinfo=timezone.utc), datetime(2025, 12, 31, 23, 30, tzinfo=timezone.utc)),  # lag: +1 day
])
def test_edges_of_the_window_read_what_the_per_day_listing_reads(aws_env, gets, since, until):
    bucket = _bucket()
    day = since.date() - timedelta(days=1)
    while day <= until.date() + timedelta(days=2):
        folder = day.strftime("%Y/%m/%d")
        for rest in (f"{folder}/a.json.gz", f"{folder}/z/b.json.gz", f"{folder}.json.gz", f"{folder}-/c.json.gz",
                     f"{folder}x/d.json.gz", folder):
            _put(bucket, _region_key(rest), since.strftime("%Y-%m-%dT%H:%M:%SZ"))
        day += timedelta(days=1)
    expected = _per_day_reference(bucket, _region_key(""), since, until, 1)
    assert expected  # the window has files: an empty read would prove nothing
    assert _read(bucket, None, since, until, gets, page_size=1)[0] == expected


def test_since_after_until_reads_what_the_per_day_listing_reads(aws_env, gets):
    bucket = _bucket()
    for rest in ("2026/01/01/a.json.gz", "2026/01/02/a.json.gz", "2026/01/03/a.json.gz"):
        _put(bucket, _region_key(rest), "2026-01-02T00:00:00Z")
    since, until = datetime(2026, 1, 3, tzinfo=timezone.utc), datetime(2026, 1, 1, tzinfo=timezone.utc)
    read, events = _read(bucket, None, since, until, gets)
    assert read == _per_day_reference(bucket, _region_key(""), since, until, None) == []
    assert events == []


def test_a_neighbour_regions_folder_sharing_the_text_is_never_read(aws_env, gets):
    bucket = _bucket()
    mine = _region_key("2026/01/01/mine.json.gz")
    _put(bucket, mine, "2026-01-01T10:00:00Z")
    for other in (f"AWSLogs/{me.ACCOUNT}/CloudTrail/{me.REGION}x/2026/01/01/a.json.gz",
                  f"AWSLogs/{me.ACCOUNT}/CloudTrail/{me.REGION}-2/2026/01/01/a.json.gz",
                  f"AWSLogs/{me.ACCOUNT}/CloudTrail/{me.REGION}2026/01/01/a.json.gz"):
        _put(bucket, other, "2026-01-01T10:00:00Z")
    read, events = _read(bucket, None, DAY, DAY + timedelta(hours=12), gets, page_size=1)
    assert read == [mine] and [e["eventID"] for e in events] == [mine]


def test_unicode_and_very_long_keys_in_the_window_are_read(aws_env, gets):
    bucket = _bucket()
    base = _region_key("")
    keys = [base + "2026/01/01/\u00e9\u4e2d\U0001f600.json.gz", base + "2026/01/01/" + "\u00e9" * 100 + ".json.gz",
            base + "2026/01/01/" + "k" * (1024 - len(base) - len("2026/01/01/") - len(".json.gz")) + ".json.gz",
            base + "2026/01/01\U0001f600/not-a-day.json.gz", base + "2026/01/02/z.json.gz"]
    assert len(keys[2].encode()) == 1024  # S3's longest key
    for key in keys:
        _put(bucket, key, "2026-01-01T10:00:00Z")
    read, _ = _read(bucket, None, DAY, DAY + timedelta(hours=12), gets, page_size=1)
    assert read == _per_day_reference(bucket, base, DAY, DAY + timedelta(hours=12), 1)
    assert sorted(read) == sorted(keys[:3])


@pytest.mark.parametrize("prefix", ["/org/logs/", "a b", "\u00fc-logs", "x+y%z", "dup//slash", "AWSLogs"])
def test_odd_trail_prefixes_read_what_the_per_day_listing_reads(aws_env, gets, prefix):
    bucket = _bucket()
    for rest in ("2026/01/01/a.json.gz", "2026/01/01.json.gz", "2026/01/02/b.json.gz"):
        _put(bucket, _region_key(rest, prefix), "2026-01-01T10:00:00Z")
    _put(bucket, _region_key("2026/01/01/unprefixed.json.gz"), "2026-01-01T10:00:00Z")
    read, _ = _read(bucket, prefix, DAY, DAY + timedelta(hours=12), gets)
    assert read == _per_day_reference(bucket, _region_key("", prefix), DAY, DAY + timedelta(hours=12), None)
    assert read == [_region_key("2026/01/01/a.json.gz", prefix)]


def test_max_pages_reached_is_an_error_never_a_shorter_read(aws_env, gets):
    bucket = _bucket()
    for n in range(4):
        _put(bucket, _region_key(f"2026/01/01/f{n}.json.gz"), "2026-01-01T10:00:00Z")
    env = run_source("boto3", "trail", lambda m: cloudtrail.read_trail(
        bucket, None, me.ACCOUNT, me.REGION, me.FUNCTION, DAY, DAY + timedelta(hours=12), meter=m,
        options={"page_size": 1, "max_pages": 3}))
    assert env["status"] == "error" and env["error"]["type"] == "TooManyPages", env


# --------------------------------------------------------------------------- a listing shaped by the server (Stubber)

def _stub_s3(monkeypatch, pages: list[dict], bodies: dict[str, bytes], *, bucket: str = TRAIL_BUCKET,
             listed: list[dict] | None = None):
    """The source's real S3 client with a Stubber: the listing's pages as given (with the request parameters
    ``listed`` when set), then a GET per key read."""
    from botocore.stub import Stubber

    real, stubbers = aws.client_for, []

    def make(service, region, meter, options=None):
        client = real(service, region, meter, options)
        stubber = Stubber(client)
        for n, page in enumerate(pages):
            stubber.add_response("list_objects_v2", page, listed[n] if listed else None)
        for key, raw in bodies.items():
            stubber.add_response("get_object", {"Body": StreamingBody(io.BytesIO(raw), len(raw))},
                                 {"Bucket": bucket, "Key": key})
        stubber.activate()
        stubbers.append(stubber)
        return client

    monkeypatch.setattr(aws, "client_for", make)
    return stubbers


def _raw(event_id: str) -> bytes:
    return gzip.compress(json.dumps({"Records": [record(event_id, "2026-01-01T10:00:00Z")]}).encode())


def test_empty_truncated_pages_with_tokens_are_followed(monkeypatch, offline_aws):
    key = _region_key("2026/01/01/late.json.gz")
    pages = [{"IsTruncated": True, "NextContinuationToken": "t1", "KeyCount": 0},
             {"IsTruncated": True, "NextContinuationToken": "t2", "KeyCount": 0},
             {"IsTruncated": False, "KeyCount": 1, "Contents": [{"Key": key}]}]
    stubbers = _stub_s3(monkeypatch, pages, {key: _raw("late")})
    events = cloudtrail.read_trail(TRAIL_BUCKET, None, me.ACCOUNT, me.REGION, me.FUNCTION, DAY,
                                   DAY + timedelta(hours=12), meter=Meter())
    assert [e["eventID"] for e in events] == ["late"]
    stubbers[0].assert_no_pending_responses()


def test_a_listing_out_of_key_order_is_an_error_not_an_early_stop(monkeypatch, offline_aws):
    # the early stop trusts S3's key order; a store that does not keep it (S3 directory buckets list in no
    # order, some S3-compatible stores) would hide every file after the first key past the window
    later, inside = _region_key("2026/01/09/x.json.gz"), _region_key("2026/01/01/console-edit.json.gz")
    pages = [{"IsTruncated": False, "KeyCount": 2, "Contents": [{"Key": later}, {"Key": inside}]}]
    _stub_s3(monkeypatch, pages, {inside: _raw("console-edit")})
    env = run_source("boto3", "trail", lambda m: cloudtrail.read_trail(
        TRAIL_BUCKET, None, me.ACCOUNT, me.REGION, me.FUNCTION, DAY, DAY + timedelta(hours=12), meter=m))
    assert env["status"] == "error", env
    assert "order" in env["error"]["message"]


def test_a_truncated_page_without_a_continuation_token_is_an_error(monkeypatch, offline_aws):
    # botocore's paginator stops quietly when IsTruncated comes without NextContinuationToken: the rest of
    # the window's files would never be listed
    key = _region_key("2026/01/01/first.json.gz")
    pages = [{"IsTruncated": True, "KeyCount": 1, "Contents": [{"Key": key}]}]
    _stub_s3(monkeypatch, pages, {key: _raw("first")})
    env = run_source("boto3", "trail", lambda m: cloudtrail.read_trail(
        TRAIL_BUCKET, None, me.ACCOUNT, me.REGION, me.FUNCTION, DAY, DAY + timedelta(hours=12), meter=m))
    assert env["status"] == "error", env


def test_a_directory_bucket_is_listed_a_day_folder_at_a_time(monkeypatch, offline_aws):
    # S3 directory buckets list in no key order and do not support StartAfter: no early stop can be trusted
    bucket = "trail--usw2-az1--x-s3"
    later, inside = _region_key("2026/01/01/later.json.gz"), _region_key("2026/01/01/console-edit.json.gz")
    pages = [{"IsTruncated": False, "KeyCount": 2, "Contents": [{"Key": later}, {"Key": inside}]}]
    stubbers = _stub_s3(monkeypatch, pages, {later: _raw(later), inside: _raw(inside)}, bucket=bucket,
                        listed=[{"Bucket": bucket, "Prefix": _region_key("2026/01/01/")}])
    events = cloudtrail.read_trail(bucket, None, me.ACCOUNT, me.REGION, me.FUNCTION, DAY, DAY + timedelta(hours=12),
                                   meter=Meter())
    assert [e["eventID"] for e in events] == [later, inside]
    stubbers[0].assert_no_pending_responses()


def test_a_directory_buckets_day_listing_truncated_without_a_token_is_an_error(monkeypatch, offline_aws):
    # the check lives in aws.pages, so the per-day listing of a directory bucket gets it too
    bucket = "trail--usw2-az1--x-s3"
    key = _region_key("2026/01/01/first.json.gz")
    pages = [{"IsTruncated": True, "KeyCount": 1, "Contents": [{"Key": key}]}]
    _stub_s3(monkeypatch, pages, {key: _raw("first")}, bucket=bucket,
             listed=[{"Bucket": bucket, "Prefix": _region_key("2026/01/01/")}])
    env = run_source("boto3", "trail", lambda m: cloudtrail.read_trail(
        bucket, None, me.ACCOUNT, me.REGION, me.FUNCTION, DAY, DAY + timedelta(hours=12), meter=m))
    assert env["status"] == "error" and "truncated without a token" in env["error"]["message"], env
