"""The deploy a failed worklog fails (``metrics._latest_deploy``) is the one the plain newest-first scan finds.

The search skips deploys by bisection (issue 18: the scan was quadratic at 100,000 commits); these tests
hold it to the scan it replaced, ``next(d for d in reversed(ok) if d.position >= p and d.started <= t)``,
on deploys in completion order whose starts and positions are not in that order (a long deploy that
started first and finished last, two deploys of the same commit, equal start times).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from compliance.judge.metrics import _latest_deploy, _started_by

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)


def _scan(ok, position, at):
    return next((d for d in reversed(ok) if d.position >= position and (at is None or d.started <= at)), None)


def _deploy(name, minutes, position):
    return SimpleNamespace(name=name, started=T0 + timedelta(minutes=minutes), position=position)


def test_a_deploy_started_after_the_entry_is_never_the_one_failed():
    # the newest deploy contains the commit but started after the worklog: the one before it is failed
    ok = [_deploy("early", 0, 5), _deploy("late", 60, 9)]
    at = T0 + timedelta(minutes=30)
    assert _latest_deploy(ok, _started_by(ok), 3, at).name == "early"
    assert _latest_deploy(ok, _started_by(ok), 6, at) is None  # only the late one holds position 6


def test_a_long_deploy_that_started_first_and_finished_last_is_found():
    # completion order: "quick" (started 20, done first), then "long" (started 0, done last)
    ok = [_deploy("quick", 20, 2), _deploy("long", 0, 4)]
    at = T0 + timedelta(minutes=10)  # only "long" had started by then
    assert _latest_deploy(ok, _started_by(ok), 1, at).name == "long"
    assert _latest_deploy(ok, _started_by(ok), 1, None).name == "long"  # undated: the last that contains it


def test_nothing_contains_a_commit_newer_than_every_deploy():
    ok = [_deploy("a", 0, 1), _deploy("b", 10, 2)]
    assert _latest_deploy(ok, _started_by(ok), 3, T0 + timedelta(days=1)) is None
    assert _latest_deploy([], _started_by([]), 0, T0) is None


def test_agrees_with_the_scan_on_shuffled_starts_and_positions():
    rng = random.Random(18)
    for _ in range(400):
        n = rng.randint(0, 30)
        ok = [_deploy(str(i), rng.randint(0, 40), rng.randint(0, 20)) for i in range(n)]
        bounds = _started_by(ok)
        for _ in range(10):
            position = rng.randint(0, 22)
            at = None if rng.random() < 0.2 else T0 + timedelta(minutes=rng.randint(-5, 45))
            assert _latest_deploy(ok, bounds, position, at) is _scan(ok, position, at)
