"""The four delivery figures, from the events the judge found (deploys, lead times, restores).

Pure arithmetic on plain lists, so a merged report recomputes its figures from the union of its
targets' events instead of averaging averages (a median of medians is not a median). A figure that
is not defined by the data (no deploy to rate, no failure to restore) is ``None`` with the reason,
never a 0 that reads as a measurement.

Methods, stated once here and in the README: the median is the middle value (the mean of the two
middle ones for an even count); the 90th percentile is nearest-rank, the ceil(0.9 * n)-th smallest
value, so it is always one of the measured values.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from compliance.base.timeutil import iso, parse_time

PERCENTILE_METHOD = "nearest-rank"
MAX_BARS = 62  # the chart's bars: a day each up to two months, then wider buckets


def median(values: list[float]) -> float | None:
    if not values:
        return None
    s = sorted(values)
    mid = len(s) // 2
    return as_number(s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2)


def nearest_rank(values: list[float], pct: float) -> float | None:
    """The ``pct`` percentile by nearest rank: the ceil(pct/100 * n)-th smallest value."""
    if not values:
        return None
    s = sorted(values)
    return as_number(s[max(1, math.ceil(pct / 100 * len(s))) - 1])


def as_number(x: float) -> float | int:
    """Whole seconds as an integer: the same value always prints the same in report.json."""
    return int(x) if float(x).is_integer() else round(x, 3)


def _rate(n: int, d: float) -> float:
    return round(n / d, 4)


def summarise(window: dict[str, Any], deploys: list[dict[str, Any]], lead_times: list[dict[str, Any]],
              restores: list[dict[str, Any]], unavailable: dict[str, str | None],
              changes: dict[str, int]) -> dict[str, Any]:
    """The four figures and the chart's series. ``unavailable``: per part (``runs``,
    ``validation``), why it could not be read (None when it was)."""
    since, until = parse_time(window["since"]), parse_time(window["until"])
    seconds = (until - since).total_seconds() if since and until else 0.0
    runs_gone, validation_gone = unavailable.get("runs"), unavailable.get("validation")
    ok = [d for d in deploys if d["deployed"]]
    failed = [d for d in deploys if d["failed"]]
    return {
        "deployment_frequency": _frequency(len(ok), seconds, runs_gone),
        "lead_time": _lead_time(lead_times, changes, runs_gone),
        "change_failure_rate": _failure_rate(len(deploys), len(failed), runs_gone or validation_gone),
        "time_to_restore": _restore(restores, len(failed), runs_gone or validation_gone),
        "series": _series(since, until, seconds, deploys) if not runs_gone else None,
    }


def _frequency(n: int, seconds: float, gone: str | None) -> dict[str, Any]:
    if gone:
        return {"deploys": None, "per_day": None, "per_week": None, "reason": gone}
    if seconds <= 0:
        return {"deploys": n, "per_day": None, "per_week": None, "reason": "the window has no length"}
    days = seconds / 86400
    # 0 deploys over a known window is a measurement (nothing was deployed), not an undefined value
    return {"deploys": n, "per_day": _rate(n, days), "per_week": _rate(n, days / 7), "reason": None}


def _lead_time(samples: list[dict[str, Any]], changes: dict[str, int], gone: str | None) -> dict[str, Any]:
    values = [s["seconds"] for s in samples]
    out: dict[str, Any] = {"measured": len(values), "pending": changes.get("pending", 0),
                           "not_deployed": changes.get("not_deployed", 0), "median_seconds": median(values),
                           "p90_seconds": nearest_rank(values, 90), "percentile_method": PERCENTILE_METHOD,
                           "reason": None}
    if gone:
        out.update(measured=None, median_seconds=None, p90_seconds=None, reason=gone)
    elif not values:
        out["reason"] = "no change of the window was deployed by a successful canonical run"
    return out


def _failure_rate(total: int, failed: int, gone: str | None) -> dict[str, Any]:
    if gone:
        return {"deploys": None, "failed": None, "rate": None, "reason": gone}
    if total == 0:
        return {"deploys": 0, "failed": 0, "rate": None, "reason": "no deploys in the window"}
    return {"deploys": total, "failed": failed, "rate": _rate(failed, total), "reason": None}


def _restore(restores: list[dict[str, Any]], failed: int, gone: str | None) -> dict[str, Any]:
    done = [r["seconds"] for r in restores if r["seconds"] is not None]
    out: dict[str, Any] = {"failures": len(restores), "restored": len(done), "unrestored": len(restores) - len(done),
                           "median_seconds": median(done), "reason": None}
    if gone:
        out.update(failures=None, restored=None, unrestored=None, median_seconds=None, reason=gone)
    elif not restores:
        out["reason"] = "no failed deploys in the window"
    elif not done:
        out["reason"] = "no failed deploy of the window was followed by a good deploy before the collection"
    return out


def _series(since: datetime | None, until: datetime | None, seconds: float,
            deploys: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Deploys per bucket of whole UTC days from the window's first day, for the chart."""
    if since is None or until is None or seconds < 0:
        return None
    first = since.replace(hour=0, minute=0, second=0, microsecond=0)
    days = (until - first).days + 1
    width = 1 if days <= MAX_BARS else 7 if days <= MAX_BARS * 7 else math.ceil(days / MAX_BARS)
    buckets = [{"start": iso(first + timedelta(days=i)), "deploys": 0, "failed": 0}
               for i in range(0, days, width)]
    for d in deploys:
        at = parse_time(d["completed_at"])
        if at is None:
            continue
        i = min((at - first).days // width, len(buckets) - 1)
        buckets[i]["deploys"] += 1
        buckets[i]["failed"] += 1 if d["failed"] else 0
    return {"bucket_days": width, "buckets": buckets}


__all__ = ["MAX_BARS", "as_number", "PERCENTILE_METHOD", "median", "nearest_rank", "summarise"]
