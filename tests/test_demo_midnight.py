"""The demo's waivers are dated from the day its snapshot is collected, not the day it was built.

Found by the date sweep (the demo run at 2026-12-31 23:59:58 UTC): built a second before midnight and
collected after it, every waiver offset the demo designs moved by a day (the "expiring in 7 days" waiver showed
6, the one "expired 5 days ago" 6). The verdicts held only because the offsets have margins.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

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
    assert (out / "waivers.yaml").read_text("utf-8") == (tmp_path / "work" / "waivers.yaml").read_text("utf-8")


def test_a_waiver_file_given_to_the_demo_is_never_rewritten(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(collect_module, "utcnow", lambda: COLLECTED)
    mine = tmp_path / "mine.yaml"
    mine.write_text("version: 1\nwaivers: []\n", "utf-8")
    assert main(["demo", "--workdir", str(tmp_path / "work"), "--out", str(tmp_path / "out"),
                 "--waivers", str(mine)]) == 0
    capsys.readouterr()
    assert mine.read_text("utf-8") == "version: 1\nwaivers: []\n"
    assert json.loads((tmp_path / "out" / "report.json").read_text("utf-8"))["waivers"]["applied"] == []
