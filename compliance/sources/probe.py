"""The capability probe: one real HTTP GET through the production path."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from typing import Any

from compliance.base.jsonpairs import repeated_key
from compliance.model.capability import body_problems
from compliance.model.strict_json import finite_loads
from compliance.sources.base import Meter

MAX_BODY = 256 * 1024


def _read(resp: Any, deadline: float) -> bytes:
    """The body, up to ``MAX_BODY + 1`` bytes, by ``deadline``: ``timeout`` bounds each socket read, so a server
    sending a byte at a time held the probe for minutes; past the deadline the endpoint did not answer."""
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_BODY:
        if time.perf_counter() > deadline:
            raise TimeoutError("the capability endpoint did not send its answer within the timeout")
        chunk = resp.read1(min(16384, MAX_BODY + 1 - size)) if hasattr(resp, "read1") else resp.read(MAX_BODY + 1)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _once(pairs: list[tuple[str, Any]], repeated: list[str]) -> dict[str, Any]:
    obj = dict(pairs)
    key = repeated_key(pairs, obj)
    if key is not None:
        repeated.append(key)
    return obj


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
            status, raw, final = resp.status, _read(resp, t0 + timeout), resp.geturl()
    except urllib.error.HTTPError as exc:  # an HTTP answer, just not 2xx: that is data
        status, raw, final = exc.code, exc.read(MAX_BODY + 1) if exc.fp else b"", exc.geturl() or url
    latency = int((time.perf_counter() - t0) * 1000)
    repeated: list[str] = []
    try:
        body: Any = finite_loads(raw[:MAX_BODY].decode("utf-8"), object_pairs_hook=lambda pairs: _once(pairs, repeated))
    except (UnicodeDecodeError, ValueError, RecursionError):
        body = None
    problems = body_problems(body) if body is not None else ["body is not JSON"]
    if repeated:  # {"success": false, "success": true}: which one the endpoint meant is not known
        problems.append(f"body names {repeated[0]!r} twice")
    if len(raw) > MAX_BODY:  # what follows the part read may say otherwise: the body was not read whole
        problems.append(f"body longer than {MAX_BODY // 1024} KiB, not read whole")
    if final != url:  # the answer is another URL's: the endpoint asked for did not answer it
        problems.append(f"the request was redirected to {final}")
    keep = {"success": body.get("success"), "capabilities": body.get("capabilities")} if isinstance(body, dict) else None
    return {"url": url, "status_code": status, "latency_ms": latency, "well_formed": not problems,
            "problems": problems, "body": keep}
