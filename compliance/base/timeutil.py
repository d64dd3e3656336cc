"""Time parsing: every timestamp is compared in UTC.

Sources disagree on formats (git's ``2026-02-25T00:31:02-08:00``, Lambda's
``2026-02-25T08:29:47.000+0000``, GitHub's ``2026-02-25T08:31:02Z``), so all of them go
through ``parse_time`` and come out as aware UTC datetimes.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any

from compliance.base.errors import ComplianceError

# Python 3.11's fromisoformat reads a trailing "Z" as timezone.utc itself, ten times faster than parsing
# the naive part and ``replace``-ing its zone
_READS_Z = sys.version_info >= (3, 11)
_TZ_COMPACT = re.compile(r"([+-]\d{2})(\d{2})$")


def parse_time(value: str | datetime | date | None) -> datetime | None:
    """Parse an ISO-8601-ish timestamp (or date) into an aware UTC datetime; None if unparseable."""
    if value is None:
        return None
    if isinstance(value, str) and len(value) == 20 and value[19] == "Z" and value[10] == "T":
        # fast path for the canonical form every snapshot uses (a million calls at 100,000 commits)
        if _READS_Z:
            try:  # a time whose first 19 characters read as a naive time, in UTC: what the line below gives
                return datetime.fromisoformat(value)
            except ValueError:
                pass
        try:
            return datetime.fromisoformat(value[:19]).replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip()
        if not text:
            return None
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        text = _TZ_COMPACT.sub(r"\1:\2", text)
        if " " in text and "T" not in text:
            text = text.replace(" ", "T", 1)
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def iso(dt: datetime | None) -> str | None:
    """Canonical UTC form used in snapshots and reports: ``2026-02-25T08:29:47Z``.

    A naive datetime is UTC, as ``parse_time`` reads it (``astimezone`` would take it as local time,
    so the same value would print differently on a machine in Tokyo)."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    elif dt.tzinfo is not timezone.utc:
        dt = dt.astimezone(timezone.utc)
    if not dt.microsecond:
        return dt.isoformat()[:-6] + "Z"  # isoformat is C; strftime is several times slower
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


_BARE_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def end_of_day(day: date) -> datetime:
    """The last second of ``day`` (UTC): what a bare date means as an upper bound. One definition for a
    window's ``--until``, a rule's ``effective.until`` and a waiver's ``expires``, so all three end at the
    same instant, and one the canonical form shows without a fraction (``23:59:59Z``)."""
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=timezone.utc)


def parse_day_bound(value: str, *, end: bool = False) -> datetime | None:
    """``parse_time``, except that a bare date as an upper bound (``end``) means the end of that day."""
    dt = parse_time(value)
    if dt is not None and end and _BARE_DATE.fullmatch(value.strip()):
        return end_of_day(dt.date())
    return dt


# Window bounds outside these years are refused: a window's arithmetic (the 30-day default start, date slices of the run listing) must not overflow
# Python's datetime range, and no deployment history predates the Unix epoch.
MIN_BOUND = datetime(1970, 1, 1, tzinfo=timezone.utc)
MAX_BOUND = datetime(9998, 12, 31, 23, 59, 59, tzinfo=timezone.utc)


def parse_bound(value: str, *, end: bool = False) -> datetime:
    """Parse a CLI window bound; a bare date as an upper bound means the end of that day."""
    dt = parse_day_bound(value, end=end)
    if dt is None:
        raise ComplianceError(f"not a date or timestamp: {value!r} (use YYYY-MM-DD or ISO 8601)")
    check_bound(dt, repr(value))
    return dt


def check_bound(dt: datetime, shown: str) -> None:
    """Refuse a window bound outside ``MIN_BOUND``..``MAX_BOUND`` (input error, not an overflow later)."""
    if not (MIN_BOUND <= dt <= MAX_BOUND):
        raise ComplianceError(f"window bound {shown} is out of range: use a time between "
                              f"{iso(MIN_BOUND)} and {iso(MAX_BOUND)}")


def window_start(until: datetime, days: int) -> datetime:
    """``until`` minus ``days``, refused (not overflowed) when that leaves the supported range."""
    try:
        since = until - timedelta(days=days)
    except OverflowError:
        since = MIN_BOUND - timedelta(seconds=1)
    check_bound(since, f"{iso(until)} minus the default {days} days")
    return since


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def chain_span(times: Sequence[Any], since: Any = None, until: Any = None,
               now: Any = None) -> tuple[int, int, list[int]]:
    """Which commits of a first-parent chain (``times`` oldest first) a window holds, by their place.

    Committer dates are claims: a rebase, clock skew or a deliberate ``--date`` can put a commit
    before its own parent. Judging each commit by its date alone lets a commit pushed during the
    window, but dated before it, escape every audit. So the window is a *range of the chain*:
    from the oldest commit dated at or after ``since`` to the newest dated at or before ``until``,
    every commit in between whatever its date, and the range also takes the commits just before
    its start that are dated earlier than some ancestor ("late": they were committed after that
    ancestor, so their date is false and they may well belong here). Returns ``(start, stop, late)``:
    positions ``start..stop-1`` are in the window; ``late`` lists every out-of-order position.
    One pass; values only need to be comparable (datetimes, epoch seconds, canonical ISO strings).
    """
    n = len(times)
    late: list[int] = []
    top = None
    start = 0 if since is None else n
    for i, t in enumerate(times):
        if top is not None and t < top:
            late.append(i)
        else:
            top = t
        if start == n and t >= since:
            start = i
    if late:
        out_of_order = set(late)
        while start > 0 and start - 1 in out_of_order:
            start -= 1
    stop = n
    if until is not None:
        # A commit dated after ``now`` (the collection) has a false date: it existed when the data
        # was collected. Trimmed as "after the window", a commit dated 2030 would escape every
        # audit until 2030, so it stays in any window that reaches it.
        while stop > start and times[stop - 1] > until and (now is None or times[stop - 1] <= now):
            stop -= 1
    return start, stop, late


def span_text(seconds: float, sep: str = " ") -> str:
    """A duration a reader takes in at a glance: two units at most (``3m 53s``, ``2h 05m``, ``3d 04h``), days
    alone from 100 days on; ``sep=""`` for lane labels (``3m53s``). Reports share it so a delay reads the same
    in the metrics, the cards and the overview."""
    s = int(round(abs(seconds)))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{sep}{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{sep}{s % 3600 // 60:02d}m"
    if s < 100 * 86400:
        return f"{s // 86400}d{sep}{s % 86400 // 3600:02d}h"
    return f"{s // 86400}d"


def duration_text(seconds: Any) -> str:
    """``span_text`` for a figure that may be missing (a metric the data does not define): "n/a" then,
    a minus sign kept for a negative one."""
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
        return "n/a"
    return ("-" if seconds < 0 else "") + span_text(seconds)
