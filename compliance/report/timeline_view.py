"""What the timeline picture and its text twin show, read from the per-change chains the judge built.

Nothing here judges: every colour comes from a stage's ``state`` (and a run's recorded ``outcome``) or a
change's verdicts, and every time from a stage's ``time``. Keeping the reading apart from the drawing lets
the SVG (``svg_timeline``) and the Markdown lane (``markdown``) say the same thing; where the picture puts
each thing (scale, ticks, bins, label rows) is ``timeline_layout``'s, tested as numbers rather than markup.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
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
