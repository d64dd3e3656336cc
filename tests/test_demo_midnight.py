"""The demo dates its waivers from one reading of the wall clock and collects its snapshot at another.

Found by the date sweep (a CI run at 2026-12-31 23:59:58 UTC): built a second before midnight and collected
after it, every waiver offset the demo designs moves by a day (the "expiring in 7 days" waiver shows 6, the
one "expired 5 days ago" shows 6). The verdicts hold only because the offsets have margins. Strict xfail: it
documents the defect and fails the suite once the demo dates its waivers from the collection's day.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

import compliance.app.collect as collect_module
import compliance.demo.build as build_module
from compliance.cli import main

BUILT = datetime(2026, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
COLLECTED = datetime(2027, 1, 1, 0, 0, 1, tzinfo=timezone.utc)


class _BuildClock(datetime):
    """The demo builder's clock, stopped one second before the new year."""

    @classmethod
    def now(cls, tz=None):
        return BUILT if tz is not None else BUILT.replace(tzinfo=None)


@pytest.mark.xfail(strict=True, reason="demo waivers are dated from the build's day, not the collection's")
def test_a_demo_collected_just_after_midnight_keeps_its_designed_waiver_offsets(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(build_module, "datetime", _BuildClock)
    monkeypatch.setattr(collect_module, "utcnow", lambda: COLLECTED)
    out = tmp_path / "out"
    assert main(["demo", "--workdir", str(tmp_path / "work"), "--out", str(out)]) == 0
    capsys.readouterr()
    doc = json.loads((out / "report.json").read_text("utf-8"))
    assert doc["snapshot"]["collected_at"] == "2027-01-01T00:00:01Z"  # the two clocks were the ones set above
    section = doc["waivers"]
    left = {w["rule_id"]: w["days_left"] for kind in ("applied", "expired", "unused", "errors_not_waived")
            for w in section[kind]}
    # files/waivers.yaml: expires day_plus_40, day_plus_7, day_minus_5, day_plus_20, day_plus_30
    assert left == {"APIMCP-012": 40, "APIMCP-007": 7, "GUARD-001": -5, "APIMCP-008": 20, "APIMCP-006": 30}
