"""What the timeline picture and its text twin show, read from the per-change chains the judge built.

Nothing here judges: every colour comes from a stage's ``state`` (and a run's recorded ``outcome``) or a
change's verdicts, and every time from a stage's ``time``. Keeping the reading apart from the drawing lets
the SVG (``svg_timeline``) and the Markdown lane (``markdown``) say the same thing, and lets the layout
(scale, ticks, bins, label rows) be tested as numbers rather than as markup.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from compliance.base.timeutil import parse_time, span_text

STAGE_KEYS = ("merge", "workflow_run", "lambda_update", "worklog")
LANES = (("merge", "Merges"), ("workflow_run", "Runs"), ("lambda_update", "Lambda updates"), ("worklog", "Worklogs"))
# a run's recorded outcome -> colour class (GitHub's conclusions, then its statuses while it runs)
_RUN_CLASS = {"success": "pass", "failure": "fail", "timed_out": "fail", "startup_failure": "fail",
              "cancelled": "na", "skipped": "na", "stale": "na", "neutral": "na",
              "action_required": "pending", "in_progress": "pending", "queued": "pending", "waiting": "pending",
              "requested": "pending", "pending": "pending"}
_STATE_CLASS = {"ok": "pass", "failed": "fail", "missing": "fail", "unknown": "error"}
# the worst class wins where several stages share one mark (one Lambda update seen by many changes)
_RANK = {"pass": 0, "na": 1, "waived": 2, "pending": 3, "error": 4, "fail": 5}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Event:
    """One mark in the window overview: a merge, a run, a Lambda update or a worklog."""

    lane: str
    at: datetime
    cls: str
    tip: str  # the tooltip: what the mark stands for, as the report's text says it
    flag: str = ""  # a change that needs attention: its short SHA, labelled above the merges


@dataclass(frozen=True)
class Step:
    """One stage of one change's lane: when (if recorded), how long after the merge, and how it stands."""

    stage: str
    cls: str
    word: str
    at: datetime | None
    after: float | None  # seconds after the merge
    tip: str


def change_class(verdicts: dict[str, Any]) -> str:
    """A change's colour: its worst verdict (a change fails if any rule fails it)."""
    values = set(verdicts.values())
    for status, cls in (("fail", "fail"), ("error", "error"), ("pending", "pending"), ("waived", "waived"),
                        ("pass", "pass")):
        if status in values:
            return cls
    return "na"


def _pending(stage: dict[str, Any]) -> bool:
    """The judge words a stage that waits (not yet due) as ``pending``: it is not a failure yet."""
    return str(stage.get("detail") or "").startswith("pending:") or "(pending:" in str(stage.get("label") or "")


def stage_class(stage: dict[str, Any]) -> str:
    """The judged state decides the colour; a run's recorded outcome only tells failures apart.

    A run whose record says ``success`` but that the judge found covers nothing (a tombstoned script,
    a deploy step skipped) stays red: the picture may not show green where a finding fails. An ``ok``
    stage whose run does not say ``success`` contradicts itself and is drawn as could-not-evaluate.
    """
    if stage.get("state") == "missing" and _pending(stage):
        return "pending"
    judged = _STATE_CLASS.get(str(stage.get("state")), "error")
    if stage.get("stage") != "workflow_run" or not stage.get("outcome"):
        return judged
    recorded = _RUN_CLASS.get(str(stage["outcome"]), "error")
    if judged == "pass":
        return "pass" if recorded == "pass" else "error"
    if judged == "fail":
        return recorded if recorded in ("fail", "na") else "fail"
    return judged


def _class_of(stage: dict[str, Any], classes: dict[Any, str]) -> str:
    """``stage_class``, remembered in ``classes`` by stage, state and outcome; a ``missing`` stage (whose
    detail may say it is pending) or one with values that are not plain is judged on its own."""
    state = stage.get("state")
    if state == "missing":
        return stage_class(stage)
    key = (stage.get("stage"), state, stage.get("outcome"))
    try:
        cls = classes.get(key)
    except TypeError:
        return stage_class(stage)
    if cls is None:
        cls = classes[key] = stage_class(stage)
    return cls


def stage_word(stage: dict[str, Any]) -> str:
    if stage.get("stage") == "workflow_run" and stage.get("outcome"):
        word = str(stage["outcome"])[:24]
        return word + ", covers nothing" if stage.get("state") == "failed" and word == "success" else word
    if stage.get("state") == "missing" and _pending(stage):
        return "pending"
    return {"ok": "ok", "failed": "failed", "missing": "missing", "unknown": "unknown"}.get(
        str(stage.get("state")), "unknown")


def steps(change: dict[str, Any]) -> list[Step]:
    """The change's four stages in order, each with its delay after the merge."""
    stages = {s.get("stage"): s for s in change.get("timeline", [])}
    merge_at = parse_time((stages.get("merge") or {}).get("time") or change.get("committed_at"))
    out = []
    for key in STAGE_KEYS:
        stage = stages.get(key) or {"stage": key, "state": "unknown", "label": "not recorded"}
        at = parse_time(stage.get("time"))
        after = (at - merge_at).total_seconds() if at is not None and merge_at is not None else None
        out.append(Step(key, stage_class(stage), stage_word(stage), at, after, str(stage.get("label") or "")))
    return out


def duration(seconds: float) -> str:
    """``+3m53s``, ``+2h05m``, ``+3d04h``, ``+259d``: signed and without spaces, so a lane label stays short."""
    return ("-" if seconds < 0 else "+") + span_text(seconds, sep="")


def text_lane(change: dict[str, Any]) -> str:
    """The Markdown twin of a card's swimlane: ``run +3m53s success → update +3m44s ok → worklog +15m44s ok``."""
    names = {"workflow_run": "run", "lambda_update": "update", "worklog": "worklog"}
    parts = []
    for step in steps(change)[1:]:
        when = duration(step.after) if step.after is not None else "(no time)"
        parts.append(f"{names[step.stage]} {when} {step.word}")
    return " → ".join(parts)


# Inside ``one_reading``: the overview's events of each changes list read so far, by the list's identity
# (the list itself is held beside them, so its id cannot be reused while they are kept).
_READ: ContextVar[dict[int, tuple[Any, dict[str, list[Event]]]] | None] = ContextVar("overview_events", default=None)


@contextmanager
def one_reading() -> Iterator[None]:
    """While every format of one document is rendered: the Markdown line and the HTML picture read the
    overview's events once between them (at 100,000 changes each reading took seconds). Renderers
    never change the document they render, so what was read stays true until the block ends."""
    token = _READ.set({})
    try:
        yield
    finally:
        _READ.reset(token)


def overview_events(changes: Iterable[dict[str, Any]]) -> dict[str, list[Event]]:
    """Every mark of the overview by lane, oldest first; a run, update or worklog that several changes
    share (one run deploys several merges) is one mark, in the worst class any of them gives it.
    The lanes are shared inside ``one_reading``: read them, never change them."""
    read = _READ.get()
    if read is None or not isinstance(changes, list):
        return _overview_events(changes)
    kept = read.get(id(changes))
    if kept is None or kept[0] is not changes:
        kept = read[id(changes)] = (changes, _overview_events(changes))
    return kept[1]


def _overview_events(changes: Iterable[dict[str, Any]]) -> dict[str, list[Event]]:
    merges: list[Event] = []
    shared: dict[str, dict[Any, tuple[str, dict[str, Any], datetime]]] = {key: {} for key in STAGE_KEYS[1:]}
    lanes = tuple(shared.items())
    classes: dict[Any, str] = {}  # stage_class by the values that decide it (100,000 changes, a few kinds of stage)
    for change in changes:
        cls = change_class(change.get("verdicts") or {})
        stages = {s.get("stage"): s for s in change.get("timeline", [])}
        merge_at = parse_time((stages.get("merge") or {}).get("time") or change.get("committed_at"))
        if merge_at is not None:
            short = str(change.get("short") or "")[:40]
            where = f"[{change['target']}] " if change.get("target") else ""  # a merged report's target
            merges.append(Event("merge", merge_at, cls, f"{where}{short} {change.get('subject') or ''}".strip(),
                                short if cls in ("fail", "error", "pending") else ""))
        for key, marks in lanes:
            stage = stages.get(key)
            when = (stage or {}).get("time")
            if not when:
                continue
            ident = (stage.get("url") or stage.get("label"), when) if key == "workflow_run" else when
            mark_cls = _class_of(stage, classes)
            seen = marks.get(ident)
            if seen is None or _RANK[mark_cls] > _RANK[seen[0]]:
                at = seen[2] if seen is not None else parse_time(when)
                if at is not None:
                    marks[ident] = (mark_cls, stage, at)
    out = {"merge": sorted(merges, key=lambda e: e.at)}
    for key, marks in shared.items():
        lane = [Event(key, at, cls, str(stage.get("label") or "")) for cls, stage, at in marks.values()]
        out[key] = sorted(lane, key=lambda e: e.at)
    return out


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


_CLASS_WORDS = {
    "merge": {"fail": "failing", "error": "not evaluated", "pending": "pending", "waived": "waived", "pass": "passing",
              "na": "n/a"},
    "workflow_run": {"pass": "success", "fail": "failed", "pending": "running", "na": "cancelled or skipped",
                     "error": "unknown"},
}
_LANE_WORDS = {"merge": "merges", "workflow_run": "canonical runs", "lambda_update": "Lambda updates",
               "worklog": "deciding worklogs"}


def overview_line(changes: list[dict[str, Any]], window: dict[str, Any] | None) -> str:
    """The Markdown twin of the window overview: per lane how many marks, in which colours."""
    events = overview_events(changes)
    until = parse_time((window or {}).get("until"))
    parts = []
    for key, _ in LANES:
        lane = events[key]
        words = _CLASS_WORDS.get(key, {"pass": "ok", "fail": "failed", "pending": "pending", "error": "unknown",
                                       "na": "n/a", "waived": "waived"})
        counts: dict[str, int] = {}
        for ev in lane:
            counts[ev.cls] = counts.get(ev.cls, 0) + 1
        split = ", ".join(f"{counts[c]} {words.get(c, c)}" for c in sorted(counts, key=lambda c: -_RANK[c]))
        late = sum(1 for ev in lane if until is not None and ev.at > until)
        parts.append(f"{_LANE_WORDS[key]} {len(lane)}" + (f": {split}" if split else "")
                     + (f", {late} after the window" if late else ""))
    return " · ".join(parts)
