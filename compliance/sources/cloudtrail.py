"""The ``cloudtrail`` source: who changed the governed function, as AWS itself recorded it.

Timing alone cannot say who deployed: a console edit during a pipeline run looks like the run. The
Lambda control-plane events CloudTrail records name the principal of every update, so the
``deploy_principal`` check can judge who, not when. Two ways to read them, both optional and merged
by ``eventID`` (the same event read twice is one event):

- the organisation's trail in S3: ``<prefix>/AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/`` holds
  gzip JSON files ``{"Records": [...]}``. Only the window's day folders are read (the day after too
  when the window ends within ``DELIVERY_LAG`` of midnight, since a folder is the day a file was
  delivered), from one listing that starts at the first day and stops past the last, so the requests
  grow with the window's files, never with its days or the bucket's history.
- ``LookupEvents`` (the last 90 days, no trail needed), filtered by the function's name as a
  resource. AWS allows 2 requests a second per account and region: pages are paced by
  ``LOOKUP_INTERVAL`` and a throttled page is retried (``LOOKUP_ATTEMPTS``) after a back-off.

Only Lambda events naming the target function (by name or ARN, any qualifier) are kept, and only
the fields a check reads: never request bodies (``environment`` variables can hold secrets).
"""

from __future__ import annotations

import gzip
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from compliance.base.timeutil import iso, parse_time, utcnow
from compliance.model.strict_json import finite_loads
from compliance.sources import aws
from compliance.sources.base import Meter

LAMBDA_SOURCE = "lambda.amazonaws.com"
LOOKUP_DAYS = 90  # how far back LookupEvents reaches
LOOKUP_INTERVAL = 0.5  # seconds between LookupEvents requests: 2 per second per account and region
LOOKUP_ATTEMPTS = 5
LOOKUP_BACKOFF = 1.0  # seconds, doubled after each throttled attempt
_sleep = time.sleep  # tests replace it: pacing is asserted by the calls made, never by elapsed time


def _names_function(value: Any, function: str, account: str | None = None, region: str | None = None) -> bool:
    """A ``functionName`` parameter (name, full or partial ARN, optionally qualified) naming ``function``.

    Matched by whole name only: ``api-v2`` or ``my-api`` never stand for ``api``. An ARN that names an
    account or region other than ``account``/``region`` (when known) is another function of the same
    name (a staging account's, another region's): its update deployed nothing here."""
    if not isinstance(value, str) or not function:
        return False
    if value == function:
        return True
    parts = value.split(":")
    if "function" in parts:
        at = parts.index("function")
        rest, head = parts[at + 1:], parts[:at]
        if account and head and head[-1] != account:
            return False
        if region and len(head) == 5 and head[3] != region:  # arn:partition:lambda:region:account
            return False
        return bool(rest) and rest[0] == function and len(rest) <= 2
    return len(parts) == 2 and parts[0] == function  # name:qualifier


def _identity(user: Any) -> dict[str, Any]:
    """The principal fields of ``userIdentity``: type, ARN, the issuing role, console or not."""
    user = user if isinstance(user, dict) else {}
    ctx = user.get("sessionContext") if isinstance(user.get("sessionContext"), dict) else {}
    issuer = ctx.get("sessionIssuer") if isinstance(ctx.get("sessionIssuer"), dict) else {}
    console = user.get("sessionCredentialFromConsole", ctx.get("sessionCredentialFromConsole"))
    out: dict[str, Any] = aws.pick(user, ("type", "arn", "principalId", "accountId", "invokedBy"))
    if issuer:
        out["sessionIssuer"] = aws.pick(issuer, ("type", "arn", "accountId", "userName"))
    if isinstance(ctx.get("webIdFederationData"), dict) and ctx["webIdFederationData"].get("federatedProvider"):
        out["federatedProvider"] = ctx["webIdFederationData"]["federatedProvider"]
    out["sessionCredentialFromConsole"] = str(console).lower() == "true"
    return out


def event_record(record: dict[str, Any], function: str, *, account: str | None = None,
                 region: str | None = None) -> dict[str, Any] | None:
    """The fields a check reads from one CloudTrail record, or None if it is not about ``function``
    (of ``account`` and ``region``; by default the record's own ``recipientAccountId`` and ``awsRegion``)."""
    if not isinstance(record, dict) or record.get("eventSource") != LAMBDA_SOURCE:
        return None
    request = record.get("requestParameters") if isinstance(record.get("requestParameters"), dict) else {}
    if not _names_function(request.get("functionName"), function, account or _text(record.get("recipientAccountId")),
                           region or _text(record.get("awsRegion"))):
        return None
    response = record.get("responseElements") if isinstance(record.get("responseElements"), dict) else {}
    out = aws.pick(record, ("eventID", "eventTime", "eventName", "awsRegion", "userAgent", "sourceIPAddress",
                            "errorCode", "recipientAccountId"))
    out["functionName"] = request.get("functionName")
    out["userIdentity"] = _identity(record.get("userIdentity"))
    out.update(aws.pick(response, ("codeSha256", "revisionId", "lastModified")))
    return out


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, (str, int)) and str(value) else None


def _days(since: datetime, until: datetime) -> list[str]:
    day, last = since.astimezone(timezone.utc).date(), until.astimezone(timezone.utc).date()
    out = []
    while day <= last:
        out.append(day.strftime("%Y/%m/%d"))
        day += timedelta(days=1)
    return out


# A trail file's folder is its delivery day, and a file "can contain records written at any point before"
# it was delivered (AWS): an update minutes before the window's end may sit in the next day's folder
DELIVERY_LAG = timedelta(hours=1)
DIRECTORY_BUCKET = "--x-s3"  # how an S3 directory bucket's name ends; its listings are not in key order (AWS)


def _records(raw: bytes, where: str) -> list[Any]:
    """The ``Records`` list of one gzip JSON trail file; anything else (truncated, not JSON, no list) is an
    error naming the file, never "no events": an unreadable file proves no absence."""
    try:
        doc = finite_loads(gzip.decompress(raw))
    except (OSError, EOFError, ValueError) as exc:
        raise aws.AwsApiError(f"trail file {where} is not gzip JSON: {exc}", code="InvalidTrailFile",
                              operation="GetObject") from exc
    records = doc.get("Records") if isinstance(doc, dict) else None
    if not isinstance(records, list):
        raise aws.AwsApiError(f"trail file {where} is not gzip JSON with a Records list", code="InvalidTrailFile",
                              operation="GetObject")
    return records


def trail_prefix(prefix: str | None, account: str, region: str) -> str:
    """Where the trail writes this account and region's logs (``<prefix>/AWSLogs/...``)."""
    head = (prefix or "").strip("/")
    return f"{head + '/' if head else ''}AWSLogs/{account}/CloudTrail/{region}/"


def read_trail(bucket: str, prefix: str | None, account: str, region: str, function: str, since: datetime,
               until: datetime, *, meter: Meter, options: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every event about ``function`` in the trail files of the window's days (by its ``eventTime``)."""
    client = aws.client_for("s3", region, meter, options)
    base = trail_prefix(prefix, account, region)
    out: list[dict[str, Any]] = []
    for key in _window_keys(client, bucket, base, _days(since, until + DELIVERY_LAG), options):
        body = aws.call(client, "GetObject", Bucket=bucket, Key=key)["Body"]
        with aws.calling("GetObject"):
            raw = body.read()
        records = _records(raw, f"s3://{bucket}/{key}")
        out.extend(e for e in (event_record(r, function, account=account, region=region) for r in records)
                   if e and _in(e, since, until))
    return out


def _window_keys(client, bucket: str, base: str, days: list[str], options: dict[str, Any] | None):
    """The trail files (``.json.gz``) in the day folders ``days``, from one listing of the region's folder.

    The folders are ``YYYY/MM/DD/``, so S3's key order is the days' order: the listing starts after
    the first day's name and stops at the first key past the last day. Requests follow the files in
    the window (a page holds 1,000 keys), not the number of days: a 30-day window that took 31
    listings, most of them empty in a quiet account, takes one. A key is read only if it sits in one
    of ``days``' folders, exactly what a listing per day folder would return; anything else under
    the region's folder (another shape, an impossible date) is passed over.

    The early stop holds only while keys come in S3's order, a general purpose bucket's: a directory
    bucket (listed in no order) is read a day folder at a time as before, and a listing out of order (within
    a page: another store) is an error, as ``aws.pages`` makes one cut short, never a shorter read.
    """
    if not days:
        return
    if bucket.endswith(DIRECTORY_BUCKET):  # lists in no key order: no place to stop, so a listing per day folder
        for day in days:
            for page in aws.pages(client, "ListObjectsV2", options, page_size=(options or {}).get("page_size"),
                                  Bucket=bucket, Prefix=f"{base}{day}/"):
                yield from (o["Key"] for o in page.get("Contents", []) if o["Key"].endswith(".json.gz"))
        return
    folders, last, previous, stop = {f"{day}/" for day in days}, days[-1], "", False
    for page in aws.pages(client, "ListObjectsV2", options, page_size=(options or {}).get("page_size"),
                          Bucket=bucket, Prefix=base, StartAfter=f"{base}{days[0]}"):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            if key < previous:
                raise aws.AwsApiError(f"ListObjectsV2 of s3://{bucket}/{base} listed keys out of order; refusing "
                                      "partial data", code="ListingOutOfOrder", operation="ListObjectsV2")
            previous = key
            if stop or not key.startswith(base):  # a store that ignored Prefix: outside the region's folder
                continue
            rest = key[len(base):]
            if rest[:10] > last:
                stop = True  # every later key is later still; the rest of the page is only checked for order
            elif rest[:11] in folders and key.endswith(".json.gz"):
                yield key
        if stop:
            return  # no more pages to ask for


def _in(event: dict[str, Any], since: datetime, until: datetime) -> bool:
    when = parse_time(event.get("eventTime"))
    return when is not None and since <= when <= until


def lookup_events(function: str, region: str, since: datetime, until: datetime, *, meter: Meter,
                  options: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Events about ``function`` from ``LookupEvents``, paced to its 2 requests a second.

    botocore's own retries are turned off for this client (``max_attempts`` 1) so every attempt is
    paced here: a throttled page waits and is asked again, and the request counter sees each one.
    """
    now = datetime.now(timezone.utc)
    start = max(since, now - timedelta(days=LOOKUP_DAYS))
    if start > until:
        return []
    client = aws.client_for("cloudtrail", region, meter, {**(options or {}), "max_attempts": 1})
    limit = int((options or {}).get("max_pages") or aws.DEFAULT_MAX_PAGES)
    params: dict[str, Any] = {"LookupAttributes": [{"AttributeKey": "ResourceName", "AttributeValue": function}],
                              "StartTime": start, "EndTime": until}
    out: list[dict[str, Any]] = []
    pages = 0
    seen: set[str] = set()
    while True:
        pages += 1
        if pages > limit:
            raise aws.TooManyPages(f"LookupEvents returned more than {limit} pages; refusing partial data",
                                   code="TooManyPages", operation="LookupEvents")
        page = _lookup_page(client, params, paced=pages > 1)
        for item in page.get("Events", []):
            try:
                record = finite_loads(item.get("CloudTrailEvent") or "{}")
            except ValueError as exc:
                raise aws.AwsApiError(f"LookupEvents returned an event that is not JSON: {exc}",
                                      code="InvalidEvent", operation="LookupEvents") from exc
            event = event_record(record, function, region=region)
            if event and _in(event, since, until):
                out.append(event)
        if not page.get("NextToken"):
            return out
        if page["NextToken"] in seen:  # a paging loop: asking on would only pace toward max_pages
            raise aws.AwsApiError("LookupEvents returned the same NextToken twice; refusing partial data",
                                  code="PagingLoop", operation="LookupEvents")
        seen.add(page["NextToken"])
        params["NextToken"] = page["NextToken"]


def _lookup_page(client, params: dict[str, Any], *, paced: bool) -> dict[str, Any]:
    """One page, after the pacing interval (every request but the first), retried with back-off while
    throttled; the last throttling is raised, so a page is never skipped."""
    delay = LOOKUP_BACKOFF
    for attempt in range(1, LOOKUP_ATTEMPTS):
        if paced or attempt > 1:
            _sleep(LOOKUP_INTERVAL)
        try:
            return aws.call(client, "LookupEvents", **params)
        except aws.Throttled:
            _sleep(delay)
            delay *= 2
    _sleep(LOOKUP_INTERVAL)
    return aws.call(client, "LookupEvents", **params)


def collect_cloudtrail(function: str, region: str, cfg: dict[str, Any], since: datetime, until: datetime, *,
                       meter: Meter, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """The window's events about ``function`` from the trail bucket and/or LookupEvents (``cfg``:
    ``target.cloudtrail``), one per ``eventID``, in time order."""
    read: list[str] = []
    events: dict[str, dict[str, Any]] = {}
    read_at = utcnow()  # before the first request: what was delivered by then is all the read can be sure of
    if cfg.get("bucket"):
        read.append("s3")
        for e in read_trail(cfg["bucket"], cfg.get("prefix"), str(cfg["account"]), region, function, since, until,
                            meter=meter, options=options):
            events.setdefault(str(e.get("eventID")), e)
    if cfg.get("lookup"):
        read.append("lookup")
        for e in lookup_events(function, region, since, until, meter=meter, options=options):
            events.setdefault(str(e.get("eventID")), e)
    ordered = sorted(events.values(), key=lambda e: (iso(parse_time(e.get("eventTime"))) or "", str(e.get("eventID"))))
    # what the read covers, so a check knows where no event means no update: the trail's days are the
    # window's; LookupEvents alone reaches back 90 days only
    start = since if cfg.get("bucket") else max(since, datetime.now(timezone.utc) - timedelta(days=LOOKUP_DAYS))
    return {"function": function, "region": region, "read": read, "events": ordered,
            "covers": {"since": iso(start), "until": iso(until)}, "read_at": iso(read_at)}
