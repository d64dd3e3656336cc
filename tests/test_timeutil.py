"""Time vocabulary: naive means UTC everywhere, and "the end of a day" is one instant for every bound."""

from __future__ import annotations

import random
import time
from datetime import date, datetime, timezone

import pytest

from compliance.base.errors import ComplianceError
from compliance.base.timeutil import end_of_day, iso, parse_bound, parse_day_bound, parse_time
from compliance.model.waivers import Waiver


@pytest.fixture
def in_tokyo(monkeypatch):
    """The process's local zone is Asia/Tokyo (UTC+9) for the test, restored afterwards."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    assert time.localtime(0).tm_hour == 9  # the zone really is in effect
    yield
    monkeypatch.undo()
    time.tzset()


def test_iso_of_a_naive_datetime_is_utc_as_parse_time_reads_it(in_tokyo):
    naive = datetime(2026, 2, 25, 8, 29, 47)
    assert iso(naive) == "2026-02-25T08:29:47Z"  # not 23:29:47 the day before (local time taken as Tokyo)
    assert parse_time(naive) == naive.replace(tzinfo=timezone.utc)
    assert iso(parse_time("2026-02-25T08:29:47")) == iso(naive)
    assert parse_time(iso(naive)) == parse_time(naive)  # round trip


def test_iso_keeps_milliseconds_and_converts_other_zones(in_tokyo):
    assert iso(datetime(2026, 2, 25, 8, 29, 47, 123456)) == "2026-02-25T08:29:47.123Z"
    assert iso(parse_time("2026-02-25T00:31:02-08:00")) == "2026-02-25T08:31:02Z"
    assert iso(None) is None


def test_end_of_day_is_one_instant_for_window_rule_and_waiver():
    last = datetime(2026, 3, 31, 23, 59, 59, tzinfo=timezone.utc)
    assert end_of_day(date(2026, 3, 31)) == last
    assert parse_bound("2026-03-31", end=True) == last  # a CLI --until
    assert parse_day_bound("2026-03-31", end=True) == last  # a rule's effective.until
    waiver = Waiver(0, "R-1", "sha", "abc", "owner", "reason", "T-1", date(2026, 3, 31), None, 1)
    assert waiver.ends == last  # a waiver's expires
    assert iso(last) == "2026-03-31T23:59:59Z"


def test_bounds_that_are_not_bare_dates_are_taken_as_given():
    assert parse_day_bound("2026-03-31T10:00:00Z", end=True) == datetime(2026, 3, 31, 10, tzinfo=timezone.utc)
    assert parse_day_bound("2026-03-31", end=False) == datetime(2026, 3, 31, tzinfo=timezone.utc)
    assert parse_day_bound("not a date", end=True) is None


def test_the_last_day_datetime_can_hold_is_refused_not_overflowed():
    with pytest.raises(ComplianceError, match="out of range"):
        parse_bound("9999-12-31", end=True)
    with pytest.raises(ComplianceError, match="not a date"):
        parse_bound("yesterday")


def test_the_canonical_z_form_reads_as_the_naive_time_in_utc_and_lookalikes_as_before():
    """The fast path (issue 18) reads ``...Z`` with fromisoformat whole; it must agree with reading the
    first 19 characters as a naive time in UTC, including for 20-character strings that only look
    canonical (week dates, basic formats, an offset inside them), which fall back as before."""
    def naive_in_utc(value: str) -> datetime | None:
        try:
            return datetime.fromisoformat(value[:19]).replace(tzinfo=timezone.utc)
        except ValueError:
            return None

    assert parse_time("2026-02-25T08:31:02Z") == datetime(2026, 2, 25, 8, 31, 2, tzinfo=timezone.utc)
    assert parse_time("2026-02-25T08:31:02Z").tzinfo is timezone.utc
    assert parse_time("2026-02-30T08:31:02Z") is None  # no such day: unparseable, never a guess
    # an offset inside a canonical-looking string: the old fast path read it with its zone replaced
    assert parse_time("2026-02-25T08:31+01Z") == naive_in_utc("2026-02-25T08:31+01Z")
    rng = random.Random(18)
    base = "2026-02-25T08:31:02Z"
    for _ in range(20000):
        chars = list(base)
        for _ in range(rng.randint(1, 3)):
            chars[rng.choice([i for i in range(19) if i != 10])] = rng.choice("0123456789-:+.WTZ ")
        value = "".join(chars)
        expected = naive_in_utc(value)
        if expected is not None:
            got = parse_time(value)
            assert got == expected and got.tzinfo is timezone.utc, value
