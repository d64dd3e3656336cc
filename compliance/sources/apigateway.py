"""The ``apigateway`` source: the HTTP API's routes and integrations (API Gateway v2).

The target may name the API by id or by its exact, unique name: a name that matches two APIs is
an error (``AmbiguousName``), because judging the wrong API's routes would pass a missing route.
"""

from __future__ import annotations

import re
from typing import Any

from compliance.sources import aws
from compliance.sources.base import Meter

ROUTE_FIELDS = ("RouteId", "RouteKey", "Target", "AuthorizationType")
INTEGRATION_FIELDS = ("IntegrationId", "IntegrationType", "IntegrationUri", "PayloadFormatVersion")

# API Gateway ids are lower-case alphanumerics (10 on AWS, 8 in moto); anything else (the usual
# hyphenated name) can only be a name, so no GetApi call that must fail is spent on it.
_API_ID = re.compile(r"^[a-z0-9]{6,16}$")


def _find_api(client, api: str, options: dict[str, Any] | None) -> dict[str, Any]:
    if _API_ID.match(api):
        try:
            return aws.call(client, "GetApi", ApiId=api)
        except aws.NotFound:
            pass  # a name can look like an id; fall back to listing
    matches = [item for page in aws.pages(client, "GetApis", options) for item in page.get("Items", [])
               if item.get("Name") == api]
    if not matches:
        raise aws.NotFound(f"GetApis: no HTTP API with id or name {api!r}", code="NotFound", operation="GetApis")
    if len(matches) > 1:
        ids = ", ".join(sorted(str(m.get("ApiId")) for m in matches))
        raise aws.AmbiguousName(f"GetApis: {len(matches)} HTTP APIs are named {api!r} ({ids}); configure the id",
                                code="AmbiguousName", operation="GetApis")
    return matches[0]


def collect_apigateway(api: str, region: str, *, meter: Meter, options: dict[str, Any] | None = None
                       ) -> dict[str, Any]:
    """The HTTP API's routes and integrations; ``api`` may be an id or an exact, unique name."""
    client = aws.client_for("apigatewayv2", region, meter, options)
    found = _find_api(client, api, options)
    api_id = found["ApiId"]
    routes = [aws.pick(r, ROUTE_FIELDS) for page in aws.pages(client, "GetRoutes", options, ApiId=api_id)
              for r in page.get("Items", [])]
    integrations = [aws.pick(i, INTEGRATION_FIELDS)
                    for page in aws.pages(client, "GetIntegrations", options, ApiId=api_id)
                    for i in page.get("Items", [])]
    return {
        "api": aws.pick(found, ("ApiId", "Name", "ApiEndpoint")),
        "routes": sorted(routes, key=lambda r: (r.get("RouteKey", ""), r.get("RouteId", ""))),
        "integrations": sorted(integrations, key=lambda i: i.get("IntegrationId", "")),
    }
