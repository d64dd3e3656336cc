"""Where the timeline picture puts things: time -> x, axis ticks, bins for a crowded lane, label rows.

Pure geometry over the events ``timeline_view`` read (no markup, no judging), so the layout is tested
as numbers and ``svg_timeline`` only draws what it is given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from compliance.base.timeutil import parse_time
from compliance.report.timeline_view import Event

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass
class Scale:
    """Time -> x, strictly increasing: the window in the middle, anything recorded before or after it
    (a run still going months later, a backdated commit) squeezed into a gutter at either side, so a
    late event neither stretches the window into a line nor falls off the picture."""

    start: datetime
    end: datetime
    x0: float
    x1: float
    first: datetime | None = None  # the earliest event, when it is before ``start``
    last: datetime | None = None  # the latest event, when it is after ``end``
    gutter: float = 56.0
    gap: float = 10.0

    @property
    def left(self) -> float:
        return self.x0 + (self.gutter if self.first is not None else 0.0)

    @property
    def right(self) -> float:
        return self.x1 - (self.gutter if self.last is not None else 0.0)

    def x(self, t: datetime) -> float:
        if self.first is not None and t < self.start:
            return self.x0 + (self.gutter - self.gap) * _frac(self.first, self.start, t)
        if self.last is not None and t > self.end:
            return self.right + self.gap + (self.gutter - self.gap) * _frac(self.end, self.last, t)
        return self.left + (self.right - self.left) * _frac(self.start, self.end, t)


def _frac(a: datetime, b: datetime, t: datetime) -> float:
    span = (b - a).total_seconds()
    if span <= 0:
        return 0.5
    return min(1.0, max(0.0, (t - a).total_seconds() / span))


def window_scale(window: dict[str, Any] | None, times: list[datetime], x0: float, x1: float) -> Scale | None:
    """The window from the report (its events when it names none); gutters only when events fall outside."""
    window = window or {}
    start, end = parse_time(window.get("since")), parse_time(window.get("until"))
    if times:
        start = start or min(times)
        end = end or max(times)
    if start is None or end is None:
        return None
    if end <= start:
        end = start + timedelta(hours=1)
    first = min((t for t in times if t < start), default=None)
    last = max((t for t in times if t > end), default=None)
    return Scale(start, end, x0, x1, first, last)


# tick steps (seconds) with the label format each shows; months are handled on the calendar
_TICKS = ((3600, "%m-%d %H:%M"), (3 * 3600, "%m-%d %H:%M"), (6 * 3600, "%m-%d %H:%M"), (12 * 3600, "%m-%d %H:%M"),
          (86400, "%Y-%m-%d"), (2 * 86400, "%Y-%m-%d"), (7 * 86400, "%Y-%m-%d"), (14 * 86400, "%Y-%m-%d"))


def ticks(scale: Scale, label_width: float, pad: float = 14.0) -> list[tuple[float, str]]:
    """Axis ticks over the window: the finest step whose labels are at least their own width apart."""
    span = (scale.end - scale.start).total_seconds()
    width = scale.right - scale.left
    for step, fmt in _TICKS:
        if span / step * (label_width + pad) <= width:
            first = math.ceil((scale.start - _EPOCH).total_seconds() / step) * step
            times = [_EPOCH + timedelta(seconds=first + i * step) for i in range(int(span // step) + 2)]
            return [(scale.x(t), t.strftime(fmt)) for t in times if scale.start <= t <= scale.end]
    months = []
    t = datetime(scale.start.year, scale.start.month, 1, tzinfo=timezone.utc)
    while t <= scale.end:
        if t >= scale.start:
            months.append(t)
        t = datetime(t.year + t.month // 12, t.month % 12 + 1, 1, tzinfo=timezone.utc)
    every = max(1, math.ceil(len(months) * (label_width + pad) / max(width, 1.0)))
    return [(scale.x(t), t.strftime("%Y-%m")) for t in months[::every]]


_BIN_STEPS = ((3600, "hour"), (3 * 3600, "3 hours"), (6 * 3600, "6 hours"), (12 * 3600, "12 hours"),
              (86400, "day"), (7 * 86400, "week"), (30 * 86400, "30 days"), (91 * 86400, "91 days"),
              (365 * 86400, "365 days"))


@dataclass
class Bin:
    """Events of one lane in one stretch of time, counted per colour class."""

    start: datetime
    end: datetime
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def bin_step(scale: Scale, min_px: float) -> tuple[int, str]:
    """The finest bin (seconds, name) that is at least ``min_px`` wide over the window."""
    span = max((scale.end - scale.start).total_seconds(), 1.0)
    width = max(scale.right - scale.left, 1.0)
    for step, name in _BIN_STEPS:
        if step / span * width >= min_px:
            return step, name
    return _BIN_STEPS[-1]


def bins(events: list[Event], scale: Scale, step: int) -> list[Bin]:
    """Events in epoch-aligned bins of ``step`` seconds inside the window, and one bin per gutter."""
    out: dict[Any, Bin] = {}
    start, end = scale.start.timestamp(), scale.end.timestamp()
    for ev in events:
        t = ev.at.timestamp()
        key: Any = "before" if t < start else "after" if t > end else int(t // step)
        b = out.get(key)
        if b is None:
            if key == "before":
                lo, hi = scale.first or ev.at, scale.start
            elif key == "after":
                lo, hi = scale.end, scale.last or ev.at
            else:
                lo = max(scale.start, _EPOCH + timedelta(seconds=key * step))
                hi = min(scale.end, _EPOCH + timedelta(seconds=(key + 1) * step))
            b = out[key] = Bin(lo, hi)
        b.counts[ev.cls] = b.counts.get(ev.cls, 0) + 1
    return sorted(out.values(), key=lambda b: b.start)


def place_labels(wanted: list[tuple[float, float]], lo: float, hi: float, rows: int, pad: float = 6.0
                 ) -> list[tuple[int, float] | None]:
    """Row and left x for each (anchor x, width) label, or None when it does not fit in ``rows`` rows.

    Labels are tried in the order given (the caller puts the most important first), row 0 (nearest
    the marks) first, each centred on its anchor, else starting or ending at it. A label may not
    overlap another label of its row nor a leader line crossing that row; its own leader (straight
    down to its mark) may not cross a label in a nearer row; and it avoids covering the anchor of a
    label still to come while any other spot is free, so a close neighbour keeps a way down.
    """
    boxes: list[list[tuple[float, float]]] = [[] for _ in range(rows)]
    leaders: list[list[float]] = [[] for _ in range(rows)]
    out: list[tuple[int, float] | None] = []
    for i, (anchor, width) in enumerate(wanted):
        later = [a for a, _ in wanted[i + 1:]]
        spot = None
        for strict in (True, False):
            spot = _free_spot(anchor, width, lo, hi, boxes, leaders, pad, later if strict else [])
            if spot is not None:
                break
        if spot is None:
            out.append(None)
            continue
        row, left = spot
        boxes[row].append((left, left + width))
        for r in range(row):
            leaders[r].append(anchor)
        out.append(spot)
    return out


def _free_spot(anchor: float, width: float, lo: float, hi: float, boxes: list[list[tuple[float, float]]],
               leaders: list[list[float]], pad: float, keep_clear: list[float]) -> tuple[int, float] | None:
    if width > hi - lo:
        return None
    for row in range(len(boxes)):
        if any(a - 2 <= anchor <= b + 2 for r in range(row) for a, b in boxes[r]):
            return None  # the leader would cross a nearer label: no farther row helps
        for left in (anchor - width / 2, anchor - 4.0, anchor + 4.0 - width):
            left = min(max(left, lo), hi - width)
            right = left + width
            if left - 2 > anchor or right + 2 < anchor:
                continue  # clamped off its own mark
            if any(left - pad < b and a < right + pad for a, b in boxes[row]):
                continue
            if any(left - pad < x < right + pad for x in leaders[row]):
                continue
            if row == 0 and any(left - 2 <= x <= right + 2 for x in keep_clear):
                continue
            return row, left
    return None
