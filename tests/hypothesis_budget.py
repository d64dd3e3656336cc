"""How many examples a property test tries, picked by ``HYPOTHESIS_PROFILE`` (loaded by tests/conftest.py).

Each property test states its full budget, ``examples(N)``: what it needs to dig into the corners
(a rare mutation of the demo snapshot, a pattern hint that fires once in a thousand strings).

- ``default`` (``make test``, CI on every change): a third of each budget, never under 50. Hypothesis
  finds most counterexamples in its first few dozen examples (it tries simple and boundary values
  first, and locally replays earlier failures from ``.hypothesis/``), and these tests were ~40 s
  of the suite's CPU; a third keeps every property and every strategy exercised on every run.
- ``thorough`` (``make mutate``, a nightly or pre-release run: ``HYPOTHESIS_PROFILE=thorough make test``):
  each budget in full, exactly what ``make test`` ran before, and 300 examples for a property test
  that states none (Hypothesis's own default is 100).

Both profiles switch the per-example deadline off: on 2 shared cores an example's time says
nothing about the code, and a deadline there only makes the suite flaky.
"""

from __future__ import annotations

import os

from hypothesis import settings

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "default")
SHARE = {"default": 1 / 3, "thorough": 1.0}
FLOOR = 50

# On the profile Hypothesis loaded itself: under CI (the CI variable, GitHub Actions) that is its "ci"
# profile, which derandomizes (the same examples on every run: no failure that only shows on a re-run)
# and keeps no example database; elsewhere its defaults.
_BASE = settings.default
settings.register_profile("default", _BASE, max_examples=100, deadline=None)
settings.register_profile("thorough", _BASE, max_examples=300, deadline=None)


def load() -> None:
    """Load the chosen profile; an unknown name is an error, not a silent default."""
    if PROFILE not in SHARE:
        raise ValueError(f"HYPOTHESIS_PROFILE={PROFILE!r}: use one of {sorted(SHARE)}")
    settings.load_profile(PROFILE)


def examples(budget: int, floor: int = FLOOR) -> int:
    """The number of examples a test with this full budget tries under the chosen profile.

    ``floor``: a lower floor for a test whose every example is expensive (one that builds a bucket in
    moto over HTTP costs ~150 ms an example, where most cost a few ms)."""
    return max(min(floor, budget), round(budget * SHARE.get(PROFILE, 1.0)))
