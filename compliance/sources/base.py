"""The envelope every source result is wrapped in (see ``snapshot.schema.json#/$defs/source``).

Collecting is separate from judging: a source either returns plain data or an error record.
Checks that need a failed source turn it into ``error`` findings; nothing is raised past here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from compliance.base.redact import redact
from compliance.base.timeutil import iso, utcnow


@dataclass
class Meter:
    """Counts what a source spent, for the per-source line in every report."""

    requests: int = 0
    cached: int = 0
    warnings: list[str] = field(default_factory=list)


def run_source(kind: str, requested: str, fn: Callable[[Meter], dict[str, Any]]) -> dict[str, Any]:
    """Run one collector; return the snapshot envelope, with the error recorded if it failed."""
    meter = Meter()
    started = utcnow()
    t0 = time.perf_counter()
    data: dict[str, Any] | None = None
    error: dict[str, str] | None = None
    try:
        data = fn(meter)
    except Exception as exc:  # noqa: BLE001 - any failure of a source is data, not a crash
        error = {"type": type(exc).__name__, "message": redact(str(exc)) or type(exc).__name__}
    provenance: dict[str, Any] = {
        "kind": kind,
        "requested": requested,
        "started_at": iso(started),
        "duration_ms": int((time.perf_counter() - t0) * 1000),
        "requests": meter.requests,
    }
    if meter.cached:
        provenance["cached"] = meter.cached
    if meter.warnings:
        provenance["warnings"] = [redact(w) for w in meter.warnings]
    return {
        "status": "error" if error else "ok",
        "provenance": provenance,
        "data": data,
        "error": error,
    }
