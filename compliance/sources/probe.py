"""The capability probe: one real HTTP GET through the production path."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from compliance.sources.base import Meter

MAX_BODY = 256 * 1024


def body_problems(body: Any) -> list[str]:
    """What the capability body lacks; public so the check re-reads a saved body instead of trusting its flag."""
    if not isinstance(body, dict):
        return ["body is not a JSON object"]
    out = []
    if body.get("success") is not True:
        out.append("body.success is not true")
    caps = body.get("capabilities")
    if not isinstance(caps, dict):
        out.append("body.capabilities is missing")
    elif not isinstance(caps.get("contract_version"), str):
        out.append("body.capabilities.contract_version is missing")
    return out


def probe(url: str, *, timeout: float = 5.0, meter: Meter | None = None) -> dict[str, Any]:
    """GET the capability URL. Connection failures raise (the source is then recorded as failed)."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"capability URL must be http(s): {url!r}")
    req = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "deploy-compliance"})
    t0 = time.perf_counter()
    if meter:
        meter.requests += 1
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - scheme checked above
            status, raw = resp.status, resp.read(MAX_BODY + 1)
    except urllib.error.HTTPError as exc:  # an HTTP answer, just not 2xx: that is data
        status, raw = exc.code, exc.read(MAX_BODY + 1) if exc.fp else b""
    latency = int((time.perf_counter() - t0) * 1000)
    try:
        body: Any = json.loads(raw[:MAX_BODY].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        body = None
    problems = body_problems(body) if body is not None else ["body is not JSON"]
    keep = {"success": body.get("success"), "capabilities": body.get("capabilities")} if isinstance(body, dict) else None
    return {"url": url, "status_code": status, "latency_ms": latency, "well_formed": not problems,
            "problems": problems, "body": keep}
