"""Live AWS collectors: the Lambda, the HTTP API, the tracker and the deployment-manager tables.

Each collector returns the ``data`` object of its source (``snapshot.schema.json#/$defs/<source>``)
or raises; it never returns part of an answer, because a check judging half the routes or half
the worklogs would pass changes it never saw.

Request counting: ``meter.requests`` counts HTTP attempts, not logical calls. A client-level
``after-call`` / ``after-call-error`` hook adds the attempt number botocore keeps in the request
context (``context["retries"]["attempt"]``), so every page is counted and a page that needed
two retries counts three. A call answered by botocore's ``Stubber`` never reaches the endpoint
and counts one. Chosen over a ``needs-retry`` hook because that event does not fire for calls
that fail outright or are stubbed.

Errors: every botocore failure is re-raised as an ``AwsSourceError`` subclass whose class name
says what went wrong (``AccessDenied``, ``Throttled``, ``NotFound``, ``EndpointUnreachable``,
``AwsTimeout``, ``NoCredentials``, else ``AwsApiError``); ``base.run_source`` records the class
name as the error type. Messages carry the operation and the AWS error code, redacted.

boto3 is imported inside functions so the offline paths (``evaluate``, ``rules``) never pay for it.
Configuration: the region comes from the target; ``AWS_ENDPOINT_URL`` and the credential chain work
as boto3 defines them; source options may add ``endpoint_url``, ``profile``, ``timeout_seconds``,
``max_pages``, ``max_attempts`` (total attempts per call, first one included) and ``page_size``.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from compliance.base.redact import redact
from compliance.sources.base import Meter

DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 20.0
DEFAULT_MAX_PAGES = 1000
BATCH_GET_LIMIT = 100  # DynamoDB's own per-request key limit
UNPROCESSED_ATTEMPTS = 8

LAMBDA_FIELDS = ("FunctionName", "FunctionArn", "Runtime", "State", "StateReason", "LastUpdateStatus",
                 "LastUpdateStatusReason", "LastModified", "CodeSha256", "RevisionId", "Version")
VERSION_FIELDS = ("Version", "LastModified", "CodeSha256", "Description")
ROUTE_FIELDS = ("RouteId", "RouteKey", "Target", "AuthorizationType")
INTEGRATION_FIELDS = ("IntegrationId", "IntegrationType", "IntegrationUri", "PayloadFormatVersion")
TRACKER_FIELDS = ("item_id", "record_id", "title", "status", "history", "commit_sha", "deploy_evidence",
                  "live_validation_evidence", "transition_type")
TRACKER_TYPES = {"TSK": "task", "ISS": "issue", "FTR": "feature", "LSN": "lesson", "PLN": "plan",
                 "GEN": "generation"}
REQUEST_FIELDS = ("record_id", "request_id", "status", "deployment_type", "submitted_at", "submitted_by",
                  "summary", "changes", "related_record_ids", "files_changed", "non_ui_config")
SPEC_FIELDS = ("record_id", "spec_id", "status", "deployment_category", "non_ui_target_arns", "request_ids")
DM_PREFIXES = (("request#REQ-", "requests"), ("spec#SPEC-", "specs"))

# API Gateway ids are lower-case alphanumerics (10 on AWS, 8 in moto); anything else (the usual
# hyphenated name) can only be a name, so no GetApi call that must fail is spent on it.
_API_ID = re.compile(r"^[a-z0-9]{6,16}$")

_sleep: Callable[[float], None] = time.sleep  # replaced in tests so UnprocessedKeys backoff is instant


# --------------------------------------------------------------------------- errors

class AwsSourceError(Exception):
    """A failed AWS call; the class name is what the snapshot records as the error type."""

    def __init__(self, message: str, *, code: str = "", operation: str = ""):
        super().__init__(redact(message))
        self.code = code
        self.operation = operation


class AccessDenied(AwsSourceError):
    """Missing permission or unusable credentials: retrying will not help, fixing IAM will."""


class Throttled(AwsSourceError):
    """Still throttled after botocore's retries (or DynamoDB kept keys unprocessed)."""


class NotFound(AwsSourceError):
    """The function, API or table does not exist in this account and region."""


class AmbiguousName(AwsSourceError):
    """An HTTP API name matched more than one API, so which one is governed is unknown."""


class EndpointUnreachable(AwsSourceError):
    """No connection to the endpoint (wrong region, emulator down, no network)."""


class AwsTimeout(AwsSourceError):
    """The endpoint accepted the connection (or not) but did not answer in time."""


class NoCredentials(AwsSourceError):
    """No credentials were found in the environment or the named profile."""


class TooManyPages(AwsSourceError):
    """A listing went past ``max_pages``; stopping there would silently judge half the data."""


class AwsApiError(AwsSourceError):
    """Any other AWS error; the code is in the message."""


_ACCESS_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnrecognizedClientException",
                 "InvalidClientTokenId", "InvalidSignatureException", "SignatureDoesNotMatch", "ExpiredToken",
                 "ExpiredTokenException", "AuthFailure", "MissingAuthenticationTokenException",
                 "ForbiddenException"}
_THROTTLE_CODES = {"Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException",
                   "RequestLimitExceeded", "ProvisionedThroughputExceededException", "RequestThrottled",
                   "RequestThrottledException", "SlowDown", "LimitExceededException"}
_NOT_FOUND_CODES = {"ResourceNotFoundException", "NotFoundException", "ResourceNotFound", "NoSuchEntity",
                    "FunctionNotFound"}


def translate_error(exc: Exception, operation: str) -> AwsSourceError | None:
    """Map a botocore exception to a recognisable type; None for anything that is not botocore's."""
    from botocore import exceptions as bx

    if isinstance(exc, AwsSourceError):
        return exc
    if isinstance(exc, bx.ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code") or "Unknown")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        text = f"{operation} failed: {code}: {err.get('Message') or 'no message'}"
        if code in _ACCESS_CODES:
            cls: type[AwsSourceError] = AccessDenied
        elif code in _THROTTLE_CODES:
            cls = Throttled
        elif code in _NOT_FOUND_CODES or status == 404:
            cls = NotFound
        else:
            cls = AwsApiError
        return cls(text, code=code, operation=operation)
    if isinstance(exc, (bx.ConnectTimeoutError, bx.ReadTimeoutError)):
        return AwsTimeout(f"{operation} failed: {type(exc).__name__}: {exc}", code=type(exc).__name__,
                          operation=operation)
    if isinstance(exc, (bx.ConnectionError, bx.ConnectionClosedError, bx.HTTPClientError)):
        return EndpointUnreachable(f"{operation} failed: {type(exc).__name__}: {exc}", code=type(exc).__name__,
                                   operation=operation)
    if isinstance(exc, (bx.NoCredentialsError, bx.PartialCredentialsError, bx.ProfileNotFound)):
        return NoCredentials(f"{operation} failed: {type(exc).__name__}: {exc}", code=type(exc).__name__,
                             operation=operation)
    if isinstance(exc, bx.BotoCoreError):
        return AwsApiError(f"{operation} failed: {type(exc).__name__}: {exc}", code=type(exc).__name__,
                           operation=operation)
    return None


@contextmanager
def calling(operation: str) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        mapped = translate_error(exc, operation)
        if mapped is None or mapped is exc:
            raise
        raise mapped from exc


# --------------------------------------------------------------------------- clients

class _Counter:
    """Adds attempts to the meter under a lock: ``lambda_states`` shares one client across threads."""

    def __init__(self, meter: Meter):
        self.meter = meter
        self.lock = threading.Lock()

    def __call__(self, context: dict[str, Any] | None = None, **_: Any) -> None:
        attempts = ((context or {}).get("retries") or {}).get("attempt") or 1
        with self.lock:
            self.meter.requests += int(attempts)


def client_for(service: str, region: str, meter: Meter, options: dict[str, Any] | None = None):
    """One configured client with the request counter attached (tests wrap this to add a Stubber)."""
    import boto3
    from botocore.config import Config

    opts = options or {}
    timeout = opts.get("timeout_seconds")
    config = Config(
        region_name=region,
        # botocore reads retries["max_attempts"] as retries after the first attempt (unlike AWS_MAX_ATTEMPTS);
        # the option counts attempts in total, so 1 means "never retry".
        retries={"mode": "standard", "max_attempts": max(0, int(opts.get("max_attempts", DEFAULT_MAX_ATTEMPTS)) - 1)},
        connect_timeout=float(timeout if timeout is not None else DEFAULT_CONNECT_TIMEOUT),
        read_timeout=float(timeout if timeout is not None else DEFAULT_READ_TIMEOUT),
        max_pool_connections=max(10, int(opts.get("workers", 0) or 0)),
    )
    with calling(f"{service} client"):
        session = boto3.session.Session(botocore_session=_botocore_session(), profile_name=opts.get("profile"),
                                        region_name=region)
        kwargs: dict[str, Any] = {"config": config, "region_name": region}
        if opts.get("endpoint_url"):
            kwargs["endpoint_url"] = opts["endpoint_url"]
        client = session.client(service, **kwargs)
    counter = _Counter(meter)
    client.meta.events.register("after-call.*.*", counter)
    client.meta.events.register("after-call-error.*.*", counter)
    return client


_LOADER: Any = None


def _botocore_session():
    """A fresh session (credentials and profile resolved anew) sharing one model loader.

    Every collector builds its own client, and each new session would parse the endpoint and
    service model JSON again: a large share of an audit's time. The loader only caches files
    shipped with botocore, so sharing it changes nothing but the cost.
    """
    import botocore.session

    global _LOADER
    session = botocore.session.get_session()
    if _LOADER is None:
        _LOADER = session.get_component("data_loader")
    else:
        session.register_component("data_loader", _LOADER)
    # boto3 appends its own data folder to the loader's search path for every session it wraps
    _LOADER.search_paths[:] = list(dict.fromkeys(_LOADER.search_paths))
    return session


def _call(client, operation: str, **params: Any) -> dict[str, Any]:
    method = getattr(client, _snake(operation))
    with calling(operation):
        return method(**params)


def _pages(client, operation: str, options: dict[str, Any] | None, *, page_size: int | None = None,
           **params: Any) -> Iterator[dict[str, Any]]:
    limit = int((options or {}).get("max_pages") or DEFAULT_MAX_PAGES)
    paginator = client.get_paginator(_snake(operation))
    if page_size:
        params["PaginationConfig"] = {"PageSize": int(page_size)}
    with calling(operation):
        for n, page in enumerate(paginator.paginate(**params), start=1):
            if n > limit:
                raise TooManyPages(f"{operation} returned more than {limit} pages; refusing partial data",
                                   code="TooManyPages", operation=operation)
            yield page


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


def _pick(obj: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {k: obj[k] for k in fields if k in obj and obj[k] is not None}


# --------------------------------------------------------------------------- Lambda

def _configuration(client, function: str) -> dict[str, Any]:
    # GetFunctionConfiguration, not ListFunctions: only it carries State and LastUpdateStatus on real AWS.
    resp = _call(client, "GetFunctionConfiguration", FunctionName=function)
    return _pick(resp, LAMBDA_FIELDS)


def _version_key(v: dict[str, Any]) -> tuple[int, str]:
    text = str(v.get("Version", ""))
    return (int(text), text) if text.isdigit() else (-1, text)


def collect_lambda(function: str, region: str, *, meter: Meter, options: dict[str, Any] | None = None,
                   versions: bool = True) -> dict[str, Any]:
    """The function's state and identity, plus its published versions to date past deploys.

    ``$LATEST`` is left out of ``versions``: it is the configuration itself, not a past deploy.
    """
    client = client_for("lambda", region, meter, options)
    data: dict[str, Any] = {"function": function, "configuration": _configuration(client, function)}
    if versions:
        found = [_pick(v, VERSION_FIELDS)
                 for page in _pages(client, "ListVersionsByFunction", options, FunctionName=function)
                 for v in page.get("Versions", []) if v.get("Version") != "$LATEST"]
        data["versions"] = sorted(found, key=_version_key)
    return data


def lambda_states(functions: list[str], region: str, *, meter: Meter, options: dict[str, Any] | None = None,
                  workers: int = 8) -> dict[str, dict[str, Any]]:
    """``collect_lambda`` without versions for many functions at once; any failure fails the whole call."""
    names = list(dict.fromkeys(functions))
    if not names:
        return {}
    workers = max(1, min(workers, len(names)))
    client = client_for("lambda", region, meter, {**(options or {}), "workers": workers})
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lambda-state")
    try:
        configs = list(pool.map(lambda name: _configuration(client, name), names))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return {name: {"function": name, "configuration": cfg} for name, cfg in zip(names, configs, strict=True)}


# --------------------------------------------------------------------------- API Gateway v2

def _find_api(client, api: str, options: dict[str, Any] | None) -> dict[str, Any]:
    if _API_ID.match(api):
        try:
            return _call(client, "GetApi", ApiId=api)
        except NotFound:
            pass  # a name can look like an id; fall back to listing
    matches = [item for page in _pages(client, "GetApis", options) for item in page.get("Items", [])
               if item.get("Name") == api]
    if not matches:
        raise NotFound(f"GetApis: no HTTP API with id or name {api!r}", code="NotFound", operation="GetApis")
    if len(matches) > 1:
        ids = ", ".join(sorted(str(m.get("ApiId")) for m in matches))
        raise AmbiguousName(f"GetApis: {len(matches)} HTTP APIs are named {api!r} ({ids}); configure the id",
                            code="AmbiguousName", operation="GetApis")
    return matches[0]


def collect_apigateway(api: str, region: str, *, meter: Meter, options: dict[str, Any] | None = None
                       ) -> dict[str, Any]:
    """The HTTP API's routes and integrations; ``api`` may be an id or an exact, unique name."""
    client = client_for("apigatewayv2", region, meter, options)
    found = _find_api(client, api, options)
    api_id = found["ApiId"]
    routes = [_pick(r, ROUTE_FIELDS) for page in _pages(client, "GetRoutes", options, ApiId=api_id)
              for r in page.get("Items", [])]
    integrations = [_pick(i, INTEGRATION_FIELDS)
                    for page in _pages(client, "GetIntegrations", options, ApiId=api_id)
                    for i in page.get("Items", [])]
    return {
        "api": _pick(found, ("ApiId", "Name", "ApiEndpoint")),
        "routes": sorted(routes, key=lambda r: (r.get("RouteKey", ""), r.get("RouteId", ""))),
        "integrations": sorted(integrations, key=lambda i: i.get("IntegrationId", "")),
    }


# --------------------------------------------------------------------------- DynamoDB

def _plain(value: Any) -> Any:
    """DynamoDB's Decimals and sets as plain JSON: snapshots must serialise and compare stably."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_plain(v) for v in value), key=lambda v: (str(type(v)), str(v)))
    if isinstance(value, (bytes, bytearray)):
        import base64

        return base64.b64encode(bytes(value)).decode("ascii")
    if hasattr(value, "value") and type(value).__name__ == "Binary":
        import base64

        return base64.b64encode(bytes(value.value)).decode("ascii")
    return value


def _deserialize(item: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer

    des = TypeDeserializer()
    return {k: _plain(des.deserialize(v)) for k, v in item.items()}


def tracker_record_id(item_id: str) -> str | None:
    """``ENC-TSK-325`` -> ``task#ENC-TSK-325``; None when the type segment is not one the tracker issues."""
    parts = item_id.split("-")
    kind = TRACKER_TYPES.get(parts[1].upper()) if len(parts) > 2 else None
    return f"{kind}#{item_id}" if kind else None


def collect_tracker(table: str, project: str, task_ids: list[str], region: str, *, meter: Meter,
                    options: dict[str, Any] | None = None) -> dict[str, Any]:
    """The named items by key (BatchGetItem), never a Scan: the table holds every project's history."""
    ids = list(dict.fromkeys(t.strip().upper() for t in task_ids if t and t.strip()))
    keyed: dict[str, str] = {}
    for tid in ids:
        record = tracker_record_id(tid)
        if record is None:
            meter.warnings.append(f"{tid}: unknown tracker type segment, not looked up")
        else:
            keyed[record] = tid
    found: dict[str, dict[str, Any]] = {}
    if keyed:
        client = client_for("dynamodb", region, meter, options)
        records = sorted(keyed)
        names = {f"#f{i}": f for i, f in enumerate(TRACKER_FIELDS)}
        projection = ", ".join(names)
        for start in range(0, len(records), BATCH_GET_LIMIT):
            keys = [{"project_id": {"S": project}, "record_id": {"S": r}}
                    for r in records[start:start + BATCH_GET_LIMIT]]
            for raw in _batch_get(client, table, keys, projection, names):
                item = _deserialize(raw)
                record = item.get("record_id")
                if record in keyed:
                    tid = keyed[record]
                    kept = _pick(item, TRACKER_FIELDS)
                    kept.setdefault("item_id", tid)
                    kept.setdefault("record_id", record)
                    found[tid] = kept
    return {
        "table": table,
        "project": project,
        "items": {tid: found[tid] for tid in sorted(found)},
        "missing": sorted(tid for tid in ids if tid not in found),
    }


def _batch_get(client, table: str, keys: list[dict[str, Any]], projection: str,
               names: dict[str, str]) -> list[dict[str, Any]]:
    """One BatchGetItem, re-asking for UnprocessedKeys with capped, jittered backoff (bounded)."""
    out: list[dict[str, Any]] = []
    request: dict[str, Any] = {table: {"Keys": keys, "ProjectionExpression": projection,
                                       "ExpressionAttributeNames": names}}
    for attempt in range(UNPROCESSED_ATTEMPTS):
        resp = _call(client, "BatchGetItem", RequestItems=request)
        out.extend(resp.get("Responses", {}).get(table, []))
        pending = resp.get("UnprocessedKeys") or {}
        if not pending.get(table, {}).get("Keys"):
            return out
        request = pending
        _sleep(min(2.0, 0.05 * 2 ** attempt) * (0.5 + random.random() / 2))  # noqa: S311 - jitter, not crypto
    left = len(request[table]["Keys"])
    raise Throttled(f"BatchGetItem: {left} key(s) of {table} still unprocessed after {UNPROCESSED_ATTEMPTS} "
                    "attempts", code="UnprocessedKeys", operation="BatchGetItem")


def _stamp(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def collect_deploy_manager(table: str, project: str | None, since: datetime, until: datetime, region: str, *,
                           meter: Meter, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Requests and specs whose sort-key timestamp falls in the window.

    The keys embed a compact UTC timestamp that sorts lexically, so ``BETWEEN`` on the sort key
    reads only the window. The upper bound ends in U+FFFF so every suffix of the last second
    (``-9c4e1f``) is included. ``deploy#`` rows are not read: no check uses them. The option
    ``page_size`` (Query/Scan ``Limit``) exists so paging can be exercised without megabytes of rows.
    """
    opts = options or {}
    lo, hi = _stamp(since), _stamp(until)
    client = client_for("dynamodb", region, meter, options)
    rows: dict[str, list[dict[str, Any]]] = {"requests": [], "specs": []}
    if project is not None:
        for prefix, bucket in DM_PREFIXES:
            values = {":p": {"S": project}, ":lo": {"S": prefix + lo}, ":hi": {"S": prefix + hi + "\uffff"}}
            for page in _pages(client, "Query", options, page_size=opts.get("page_size"), TableName=table,
                               KeyConditionExpression="project_id = :p AND record_id BETWEEN :lo AND :hi",
                               ExpressionAttributeValues=values):
                rows[bucket].extend(_deserialize(i) for i in page.get("Items", []))
    else:
        meter.warnings.append(f"deploy_manager: no project configured, so {table} was read with a Scan "
                              "(filtered to requests and specs in the window); set target.deploy_manager.project")
        values = {":lr": {"S": "request#REQ-" + lo}, ":hr": {"S": "request#REQ-" + hi + "\uffff"},
                  ":ls": {"S": "spec#SPEC-" + lo}, ":hs": {"S": "spec#SPEC-" + hi + "\uffff"}}
        for page in _pages(client, "Scan", options, page_size=opts.get("page_size"), TableName=table,
                           FilterExpression="record_id BETWEEN :lr AND :hr OR record_id BETWEEN :ls AND :hs",
                           ExpressionAttributeValues=values):
            for item in (_deserialize(i) for i in page.get("Items", [])):
                bucket = "requests" if str(item.get("record_id", "")).startswith("request#") else "specs"
                rows[bucket].append(item)
    requests = [_row(item, REQUEST_FIELDS, "request_id", ("status", "deployment_type")) for item in rows["requests"]]
    specs = [_row(item, SPEC_FIELDS, "spec_id", ("status",)) for item in rows["specs"]]
    return {"table": table, "requests": sorted(requests, key=lambda r: r["record_id"]),
            "specs": sorted(specs, key=lambda s: s["record_id"])}


def _row(item: dict[str, Any], fields: tuple[str, ...], id_field: str, required: tuple[str, ...]) -> dict[str, Any]:
    out = _pick(item, fields)
    out[id_field] = str(item.get("record_id", "")).split("#", 1)[-1]
    for name in required:
        out.setdefault(name, None)
    return out
