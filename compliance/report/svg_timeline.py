"""The timeline picture in report.html: the window at a glance, and each change card's own swimlane.

Reviewers asked to *see* a window: which changes waited, which deploys failed, where evidence is
missing. The picture is inline SVG (no script, no file beside the page: the report's CSP forbids both)
drawn only from the per-change chains the judge built (``timeline_view`` reads them), so it can never
disagree with a finding. A long window stays legible: past ``MAX_MARKS`` marks in a lane the lanes are
drawn as bars per hour / day / week with their counts in the tooltips, and at most ``LABEL_ROWS`` rows
of change labels are placed without overlap, the rest counted.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from compliance.report.svg_primitives import (
    COLOURS,
    FONT_SIZE,
    INK,
    LINE,
    MUTED,
    PAPER,
    circle,
    cut,
    label,
    line,
    polygon,
    rect,
    svg,
    text_width,
)
from compliance.report.timeline_layout import Scale, bin_step, bins, place_labels, ticks, window_scale
from compliance.report.timeline_view import LANES, Event, duration, overview_events, steps

WIDTH = 1000.0
X0, X1 = 128.0, 990.0  # the plot; lane names sit left of it
LANE_H = 26.0
ROW_H = 16.0
LABEL_ROWS = 3
LABEL_TRIES = 150
MAX_MARKS = 120  # per lane; above it the lane is drawn as bins
BIN_MIN_PX = 6.0
_LEGEND = (("pass", "success / pass"), ("fail", "failure / fail"), ("error", "could not evaluate"),
           ("pending", "running / pending"), ("na", "cancelled / skipped / n/a"), ("waived", "waived"))
_ORDER = ("pass", "na", "waived", "pending", "error", "fail")  # stacking order in a bin, worst on top
_WORDS = {"merge": "merge(s)", "workflow_run": "run(s)", "lambda_update": "Lambda update(s)", "worklog": "worklog(s)"}


def overview_section(doc: dict[str, Any]) -> str:
    """The "Window at a glance" section, or nothing when no change was judged."""
    picture = overview(doc)
    if not picture:
        return ""
    return ("<section>\n<h2>Window at a glance</h2>\n<p class=\"muted\">Each change's merge, the canonical run that "
            "covered it (coloured by its conclusion), the Lambda updates and the deciding worklogs, as the checks "
            "judged them; failing and pending changes are labelled. Hover a mark for what it is.</p>\n"
            f"{picture}\n</section>")


def overview(doc: dict[str, Any]) -> str:
    events = overview_events(doc.get("changes") or [])
    times = [e.at for lane in events.values() for e in lane]
    scale = window_scale((doc.get("snapshot") or {}).get("window"), times, X0, X1)
    if scale is None or not events["merge"]:
        return ""
    every = sorted((e for e in events["merge"] if e.flag), key=lambda e: (-_rank(e.cls), e.at))
    flagged = every[:LABEL_TRIES]  # three rows hold a few dozen labels: trying thousands only costs time
    wanted = [(scale.x(e.at), text_width(cut(e.flag, 16))) for e in flagged]
    spots = place_labels(wanted, X0, X1, LABEL_ROWS) + [None] * (len(every) - len(flagged))
    rows = max((s[0] + 1 for s in spots if s is not None), default=0)
    top = 6.0 + rows * ROW_H
    body: list[str] = []
    for ev, spot in zip(flagged, spots, strict=False):
        if spot is None:
            continue
        row, left = spot
        y = top - row * ROW_H - 4.0
        x = scale.x(ev.at)
        body.append(line(x, y + 2.0, x, top + 3.0, COLOURS[ev.cls], 1.0, **{"stroke-dasharray": "2 2"}))
        body.append(label(left, y, cut(ev.flag, 16), COLOURS[ev.cls], tip=ev.tip))
    lanes_top = top + 2.0
    step = _bin_choice(events, scale)
    for i, (key, name) in enumerate(LANES):
        y = lanes_top + i * LANE_H
        body.append(rect(X0, y + 2.0, X1 - X0, LANE_H - 4.0, PAPER))
        body.append(label(4.0, y + LANE_H / 2 + 4.0, name, MUTED))
        if step is not None and len(events[key]) > MAX_MARKS:
            body += _bars(events[key], scale, step, y, key)
        else:
            body += [_mark(e, scale.x(e.at), y) for e in events[key]]
    axis = lanes_top + len(LANES) * LANE_H + 2.0
    body += _axis(scale, axis)
    notes = _notes(events, step, sum(1 for s in spots if s is None))
    y = axis + 36.0
    body += _legend(y)
    for note in notes:
        y += ROW_H
        body.append(label(X0, y, note, MUTED))
    counts = ", ".join(f"{len(events[k])} {_WORDS[k]}" for k, _ in LANES)
    return svg(WIDTH, y + 8.0, body, "tl-overview", f"Window overview: {counts}")


def _rank(cls: str) -> int:
    return {"fail": 3, "error": 2, "pending": 1}.get(cls, 0)


def _bin_choice(events: dict[str, list[Event]], scale: Scale) -> tuple[int, str] | None:
    if all(len(lane) <= MAX_MARKS for lane in events.values()):
        return None
    return bin_step(scale, BIN_MIN_PX)


def _mark(ev: Event, x: float, y: float) -> str:
    fill, mid = COLOURS[ev.cls], y + LANE_H / 2
    if ev.lane == "merge":
        h = LANE_H - 6.0 if ev.flag else LANE_H - 12.0
        return rect(x - 1.5, mid - h / 2, 3.0, h, fill, ev.tip)
    if ev.lane == "workflow_run":
        return circle(x, mid, 4.5, fill, ev.tip, stroke="#ffffff", **{"stroke-width": 1.0})
    if ev.lane == "lambda_update":
        return polygon([(x, mid - 6.0), (x + 6.0, mid), (x, mid + 6.0), (x - 6.0, mid)], fill, ev.tip)
    return polygon([(x, mid - 6.0), (x + 5.5, mid + 5.0), (x - 5.5, mid + 5.0)], fill, ev.tip)


def _bars(events: list[Event], scale: Scale, step: tuple[int, str], y: float, key: str) -> list[str]:
    """A lane too dense for marks: one stacked bar per bin, its height the bin's count against the busiest bin."""
    lane_bins = bins(events, scale, step[0])
    peak = max(b.total for b in lane_bins)
    out = []
    for b in lane_bins:
        x, right = scale.x(b.start), scale.x(b.end)
        width = max(right - x - 1.0, 1.5)
        height = 3.0 + (LANE_H - 8.0) * b.total / peak
        base = y + LANE_H - 3.0
        what = ", ".join(f"{b.counts[c]} {c}" for c in _ORDER if c in b.counts)
        tip = f"{b.start:%Y-%m-%d %H:%M} .. {b.end:%Y-%m-%d %H:%M}: {b.total} {_WORDS[key]} ({what})"
        for cls in _ORDER:
            if cls in b.counts:
                h = height * b.counts[cls] / b.total
                base -= h
                out.append(rect(x, base, width, h, COLOURS[cls], tip))
    return out


def _axis(scale: Scale, y: float) -> list[str]:
    out = [line(scale.left, y, scale.right, y, MUTED)]
    width = text_width("0000-00-00 00:00")
    for x, text in ticks(scale, width):
        out.append(line(x, y, x, y + 4.0, MUTED))
        left = min(max(x - text_width(text) / 2, scale.left), scale.right - text_width(text))
        out.append(label(left, y + 16.0, text, MUTED))
    if scale.first is not None:
        out.append(line(scale.x0, y, scale.left - scale.gap, y, MUTED, **{"stroke-dasharray": "3 2"}))
        out.append(label(scale.x0, y + 16.0, "before", MUTED, tip=f"before the window (from {scale.first:%Y-%m-%d})"))
    if scale.last is not None:
        out.append(line(scale.right + scale.gap, y, scale.x1, y, MUTED, **{"stroke-dasharray": "3 2"}))
        out.append(label(scale.x1 - text_width("later"), y + 16.0, "later", MUTED,
                         tip=f"after the window (to {scale.last:%Y-%m-%d %H:%M})"))
    return out


def _legend(y: float) -> list[str]:
    out, x = [], X0
    for cls, text in _LEGEND:
        out.append(rect(x, y - 9.0, 9.0, 9.0, COLOURS[cls]))
        out.append(label(x + 13.0, y, text, INK))
        x += 13.0 + text_width(text) + 16.0
    return out


def _notes(events: dict[str, list[Event]], step: tuple[int, str] | None, unlabelled: int) -> list[str]:
    notes = []
    if step is not None:
        dense = [name for key, name in LANES if len(events[key]) > MAX_MARKS]
        notes.append(f"{', '.join(dense)}: over {MAX_MARKS} marks, drawn as bars per {step[1]} (height = count)")
    if unlabelled:
        notes.append(f"{unlabelled} more failing or pending change(s) not labelled here: see their cards")
    return notes


# --- the card's own swimlane ---------------------------------------------------------------------------

_CARD_LANES = (("merge", "Merge"), ("workflow_run", "Workflow run"), ("lambda_update", "Lambda update"),
               ("worklog", "Worklog"))
CARD_ROW = 20.0
CARD_X1 = 990.0
_LATEST = datetime.max.replace(tzinfo=timezone.utc)


def swimlane(change: dict[str, Any]) -> str:
    """merge -> run -> update -> worklog on the change's own time scale, each stage with its delay after
    the merge; a stage with no recorded time is said in words at the start of its lane."""
    lane = steps(change)
    times = [s.at for s in lane if s.at is not None]
    if not times:
        return ""
    scale = Scale(min(times), max(times), X0 + 6.0, CARD_X1 - 6.0)
    if (scale.end - scale.start).total_seconds() < 60:  # one instant (or nearly): give it a minute of axis
        start = min(scale.start, _LATEST - timedelta(minutes=1))  # git takes a commit dated 9999-12-31T23:59:59Z
        scale = Scale(start, start + timedelta(minutes=1), scale.x0, scale.x1)
    body: list[str] = []
    points: list[tuple[float, float]] = []
    for i, ((_, name), step) in enumerate(zip(_CARD_LANES, lane, strict=True)):
        mid = 4.0 + i * CARD_ROW + CARD_ROW / 2
        body.append(line(X0, mid, CARD_X1, mid, LINE))
        body.append(label(4.0, mid + 4.0, name, MUTED))
        colour = COLOURS.get(step.cls, COLOURS["error"])
        if step.at is None:
            body.append(label(X0 + 4.0, mid + 4.0, f"no time recorded: {cut(step.word, 24)}", colour, tip=step.tip,
                              backdrop="#ffffff"))
            continue
        x = scale.x(step.at)
        points.append((x, mid))
        if step.stage == "merge":
            text = f"merged {step.at:%Y-%m-%d %H:%M}Z"
        else:
            text = f"{duration(step.after) if step.after is not None else '?'} {cut(step.word, 24)}"
        width = text_width(text)
        left = x + 9.0 if x + 9.0 + width <= CARD_X1 else x - 9.0 - width
        body.append(label(max(left, X0), mid + 4.0, text, colour if step.cls != "pass" else INK, tip=step.tip,
                          backdrop="#ffffff"))
        body.append(circle(x, mid, 5.0, colour, step.tip, stroke="#ffffff", **{"stroke-width": 1.5}))
    links = [line(a[0], a[1], b[0], b[1], MUTED, 1.0) for a, b in zip(points, points[1:], strict=False)]
    words = "; ".join(f"{n}: {s.word}" for (_, n), s in zip(_CARD_LANES, lane, strict=True))
    height = 8.0 + len(_CARD_LANES) * CARD_ROW
    # the links go first so the marks and labels are drawn over them
    return svg(WIDTH, height, links + body, "tl-lane", f"Timeline of {cut(change.get('short'), 40)}: {words}")


__all__ = ["FONT_SIZE", "overview", "overview_section", "swimlane"]
