"""Values a schema cannot judge: impossible dates and a backwards window.

A schema says a time is shaped ``YYYY-MM-DDTHH:MM:SSZ``; only parsing it says February has no 30th.
Each such value would otherwise surface deep in the engine as a crash or as every rule quietly not
applicable, so it is an input error, named by its JSON path.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from compliance.base.errors import Located
from compliance.base.timeutil import MAX_BOUND, MIN_BOUND, parse_time
from compliance.model.strict_json import at, leaves_where

_TIME_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")


def _real(value: Any) -> bool:
    return isinstance(value, str) and parse_time(value) is not None


def time_problems(doc: Any, path: str, limit: int = 10) -> list[Located]:
    """Every timestamp-shaped string in ``doc`` that is not a real time (``2026-02-30T10:00:00Z``).

    For reports, which are walked whole; snapshots use ``snapshot_value_problems`` (targeted, as
    a 100,000-commit snapshot is too large to walk value by value)."""
    bad = leaves_where(doc, lambda v: isinstance(v, str) and _TIME_SHAPE.fullmatch(v) and parse_time(v) is None, limit)
    return sorted(at(path, parts, f"not a real date or time: {value!r}") for parts, value in bad)


_RUN_TIMES = ("created_at", "updated_at", "run_started_at")
_STEP_TIMES = ("started_at", "completed_at")


def source_value_problems(name: str, data: Any, path: str, prefix: tuple[Any, ...] = (), limit: int = 10
                          ) -> list[Located]:
    """Impossible times in one source's (schema-valid) data: the ones the engine orders and compares."""
    problems: list[Located] = []

    def bad(parts: tuple[Any, ...], value: Any) -> None:
        if len(problems) < limit:
            problems.append(at(path, (*prefix, *parts), f"not a real date or time: {value!r}"))

    if not isinstance(data, dict):
        return problems
    if name == "git":
        commits = data.get("commits") or []
        for key in ("committed_at", "authored_at"):
            for i in _unreal_times([c.get(key) for c in commits]):
                bad(("commits", i, key), commits[i][key])
    elif name == "github":
        runs = data.get("runs") or []
        suspects = {(i, key) for key in _RUN_TIMES for i in _unreal_times([r.get(key) for r in runs])}
        for i, run in enumerate(runs):
            if not (suspects or run.get("jobs")):
                continue
            for key in _RUN_TIMES:
                if (i, key) in suspects:
                    bad(("runs", i, key), run[key])
            for j, job in enumerate(run.get("jobs") or []):
                for k, step in enumerate(job.get("steps") or [] if isinstance(job, dict) else []):
                    for key in _STEP_TIMES:
                        value = step.get(key) if isinstance(step, dict) else None
                        if value is not None and not _real(value):
                            bad(("runs", i, "jobs", j, "steps", k, key), value)
    return problems


def _unreal_times(values: list[Any]) -> list[int]:
    """Positions of the values that are not real times, for lists of 100,000 canonical times.

    Parsing each one costs about a second at that size; instead the days (a few thousand distinct
    ones) are checked once each and the clock by comparing its digit pairs, which is exact for the
    schema's ``YYYY-MM-DDTHH:MM:SS[.f]Z``. Anything else, and every suspect, is parsed to be sure.
    """
    good: set[str] = set()
    for day in {v[:10] for v in values if isinstance(v, str)}:
        try:
            date.fromisoformat(day)
            good.add(day)
        except ValueError:
            pass
    return [i for i, v in enumerate(values) if v is not None and (
        not isinstance(v, str) or len(v) < 20 or v[10] != "T" or v[:10] not in good
        or v[11:13] > "23" or v[14:16] > "59" or v[17:19] > "59") and not _real(v)]


def snapshot_value_problems(doc: dict[str, Any], path: str) -> list[Located]:
    """What a schema-valid snapshot may still get wrong: impossible times and a backwards window.

    Each would otherwise surface deep in the engine as a crash or as every rule quietly
    not applicable; they are input errors.
    """
    problems: list[Located] = []
    times = {("collected_at",): doc.get("collected_at")}
    window = doc.get("window") or {}
    times.update({("window", k): window.get(k) for k in ("since", "until")})
    for where, value in times.items():
        if not _real(value):
            problems.append(at(path, where, f"not a real date or time: {value!r}"))
    since, until = parse_time(window.get("since")), parse_time(window.get("until"))
    for key, bound in (("since", since), ("until", until)):
        if bound is not None and not (MIN_BOUND <= bound <= MAX_BOUND):
            problems.append(at(path, ("window", key), f"window bound {window[key]} is out of range "
                               f"(1970-01-01 to 9998-12-31)"))
    if since is not None and until is not None and until < since:
        problems.append(at(path, ("window", "until"), f"the window ends ({window['until']}) before it starts "
                           f"({window['since']})"))
    for name, envelope in sorted((doc.get("sources") or {}).items()):
        if not isinstance(envelope, dict):
            continue
        started = (envelope.get("provenance") or {}).get("started_at")
        if started is not None and not _real(started):
            problems.append(at(path, ("sources", name, "provenance", "started_at"),
                               f"not a real date or time: {started!r}"))
        problems += source_value_problems(name, envelope.get("data"), path, ("sources", name, "data"))
    return problems


__all__ = ["snapshot_value_problems", "source_value_problems", "time_problems"]
