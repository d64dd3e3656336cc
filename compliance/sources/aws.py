"""The AWS plumbing the four AWS sources share: clients, request counting, paging, errors.

The sources themselves live one per file (``lambda_fn``, ``apigateway``, ``tracker``,
``deploy_manager``). Each returns the ``data`` object of its source
(``snapshot.schema.json#/$defs/<source>``) or raises; none returns part of an answer, because a
check judging half the routes or half the worklogs would pass changes it never saw. The
collectors build clients through ``aws.client_for`` (looked up on this module at call time), so
tests can wrap it in one place.

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

import base64
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from compliance.base.redact import redact
from compliance.sources import aws_session
from compliance.sources.base import Meter

DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 20.0
DEFAULT_MAX_PAGES = 1000


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
    if isinstance(exc, bx.CredentialRetrievalError) and exc.kwargs.get("provider") == "custom-process":
        # botocore's message quotes the credential_process's stderr, which may echo the very secrets it
        # handles in any shape redaction cannot know: name the failure, never the output
        return NoCredentials(f"{operation} failed: CredentialRetrievalError: the profile's credential_process "
                             "failed (its output is not shown: it may hold secrets)",
                             code="CredentialRetrievalError", operation=operation)
    if isinstance(exc, (bx.NoCredentialsError, bx.PartialCredentialsError, bx.ProfileNotFound)):
        return NoCredentials(f"{operation} failed: {type(exc).__name__}: {exc}", code=type(exc).__name__,
                             operation=operation)
    if isinstance(exc, bx.BotoCoreError):
        return AwsApiError(f"{operation} failed: {type(exc).__name__}: {exc}", code=type(exc).__name__,
                           operation=operation)
    return None


@contextmanager
def calling(operation: str) -> Iterator[None]:
    """Re-raise any botocore failure inside as its ``AwsSourceError`` (other exceptions pass through)."""
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
    kwargs: dict[str, Any] = {"config": config, "region_name": region}
    if opts.get("endpoint_url"):
        kwargs["endpoint_url"] = opts["endpoint_url"]
    with calling(f"{service} client"):
        client = aws_session.new_client(service, region, opts.get("profile"), **kwargs)
    counter = _Counter(meter)
    client.meta.events.register("after-call.*.*", counter)
    client.meta.events.register("after-call-error.*.*", counter)
    return client


def call(client, operation: str, **params: Any) -> dict[str, Any]:
    """One API call by its AWS name (``GetApi``), failures translated."""
    method = getattr(client, _snake(operation))
    with calling(operation):
        return method(**params)


def pages(client, operation: str, options: dict[str, Any] | None, *, page_size: int | None = None,
           **params: Any) -> Iterator[dict[str, Any]]:
    """Every page of a listing, or an error: ``TooManyPages`` past ``max_pages``, and ``TruncatedListing``
    when the last page says it is truncated (``IsTruncated``) but gives no token to go on with, which
    botocore's paginator takes as the end. Either way the rest would be judged as absent."""
    limit = int((options or {}).get("max_pages") or DEFAULT_MAX_PAGES)
    paginator = client.get_paginator(_snake(operation))
    if page_size:
        params["PaginationConfig"] = {"PageSize": int(page_size)}
    with calling(operation):
        page: dict[str, Any] = {}
        for n, page in enumerate(paginator.paginate(**params), start=1):
            if n > limit:
                raise TooManyPages(f"{operation} returned more than {limit} pages; refusing partial data",
                                   code="TooManyPages", operation=operation)
            yield page
        if page.get("IsTruncated") is True:
            raise AwsApiError(f"{operation} was truncated without a token to continue from; refusing partial data",
                              code="TruncatedListing", operation=operation)


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


def pick(obj: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """Only the named fields that are set: a snapshot keeps what checks read, never secrets like Environment."""
    return {k: obj[k] for k in fields if k in obj and obj[k] is not None}


# --------------------------------------------------------------------------- DynamoDB items

def plain(value: Any) -> Any:
    """DynamoDB's Decimals and sets as plain JSON: snapshots must serialise and compare stably."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((plain(v) for v in value), key=lambda v: (str(type(v)), str(v)))
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if hasattr(value, "value") and type(value).__name__ == "Binary":
        return base64.b64encode(bytes(value.value)).decode("ascii")
    return value


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    """A low-level DynamoDB item (``{"S": ...}``) as plain JSON values."""
    from boto3.dynamodb.types import TypeDeserializer

    des = TypeDeserializer()
    return {k: plain(des.deserialize(v)) for k, v in item.items()}
