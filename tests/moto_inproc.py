"""The tests' own AWS calls answered by moto in this process, without the socket and the web server.

moto's server is a thread of the test process (``moto_env.start_server``), so its accounts live in this
process's memory. The code under test reaches them over HTTP, as it would reach AWS; the tests' builders
and read-backs (``moto_env.client``) need not: their request is still built, signed and parsed by botocore
and answered by the same moto handler the server would call for it, only handed over in memory instead of
through urllib3, werkzeug and Flask. That is the same path moto's own ``mock_aws`` takes, but bound to the
tests' clients alone, so a collector never takes it. Per built system (a function, the HTTP API and its
routes, two tables, a trail) it is ~2.5 times less CPU: ~3 ms a request over HTTP against ~1 ms here.
tests/test_moto_inproc.py builds every builder both ways and reads both back over HTTP.

A request no handler of its service matches fails the test here; it is never sent anywhere.
"""

from __future__ import annotations

import re
from typing import Any


def client_config():
    """The client configuration ``attach`` needs: AWS's own URLs, whatever ``AWS_ENDPOINT_URL`` says.

    Built on demand: botocore is imported only when a test first needs AWS."""
    from botocore.config import Config

    return Config(ignore_configured_endpoint_urls=True)


_URLS: dict[str, list[tuple[re.Pattern, Any]]] = {}


def _handlers(service: str) -> list[tuple[re.Pattern, Any]]:
    """moto's URL patterns and handlers for ``service`` (as its server registers them), read once.

    The handlers are moto's response classes' dispatchers: they find the account's backend per request,
    so a reset between tests does not stale them."""
    if service not in _URLS:
        from moto import backends
        from moto.core import DEFAULT_ACCOUNT_ID

        by_region = backends.get_backend(service)[DEFAULT_ACCOUNT_ID]
        backend = by_region["us-east-1"] if "us-east-1" in by_region else by_region["aws"]
        _URLS[service] = [(re.compile(url), handler) for url, handler in backend.urls.items()]
    return _URLS[service]


def attach(client) -> Any:
    """Answer ``client``'s requests with moto's handlers in this process; returns the client.

    The client must have been created with ``ignore_configured_endpoint_urls``: its URLs are then AWS's own
    (``https://lambda.us-west-2.amazonaws.com/...``), which are what moto's patterns match."""
    from botocore.awsrequest import AWSResponse
    from moto.core.botocore_stubber import MockRawResponse
    from moto.core.exceptions import HTTPException
    from moto.core.request import normalize_request

    service = client.meta.service_model.service_name  # botocore's names are moto's backend names

    def answer(request, **_kwargs) -> AWSResponse:
        url = request.url.split("?", 1)[0]
        for pattern, handler in _handlers(service):
            if pattern.match(url):
                normalized = normalize_request(request)
                try:
                    status, headers, body = handler(normalized, normalized.raw_url, normalized.headers)
                except HTTPException as e:
                    status, headers, body = e.code, e.get_headers(), e.get_body()
                return AWSResponse(request.url, status, headers, MockRawResponse(body))
        raise AssertionError(f"no moto {service} handler answers {request.method} {url}")

    client.meta.events.register("before-send", answer)
    return client
