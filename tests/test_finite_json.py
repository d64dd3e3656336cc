"""Answers from elsewhere (API bodies, trail files, cache entries, the deploy's state file) are read by
``finite_loads``: a number JSON cannot carry through a snapshot (NaN, Infinity, one that overflows to it, an
integer beyond 64 bits) is "not JSON" there, so it fails that one source instead of reaching the snapshot
writer, which would refuse the whole run (found by a hostile re-probe)."""

from __future__ import annotations

import gzip
import json

import pytest

from compliance.model.strict_json import finite_loads
from compliance.sources import aws
from compliance.sources.cloudtrail import _records
from compliance.sources.httpcache import Entry, ETagCache

NOT_CARRIED = ["NaN", "Infinity", "-Infinity", "1e400", "-2E999", "9223372036854775808", "1" + "0" * 400]


@pytest.mark.parametrize("literal", NOT_CARRIED)
def test_a_number_json_cannot_carry_is_not_json(literal):
    with pytest.raises(ValueError, match="is not a number JSON can carry"):
        finite_loads(f'{{"run": {{"id": 7, "size": [{literal}]}}}}')


def test_what_json_carries_reads_as_json_does():
    text = '{"a": 1.5e3, "b": -0.0, "c": 9223372036854775807, "d": "NaN Infinity 1e400", "e": [1e-3]}'
    assert finite_loads(text) == json.loads(text)


def test_a_cache_entry_holding_nan_is_a_miss(tmp_path):
    cache = ETagCache(tmp_path)
    cache.put("k", Entry('"e1"', {"runs": [1]}))
    assert cache.get("k") == Entry('"e1"', {"runs": [1]})
    path = next(tmp_path.iterdir())
    path.write_text(path.read_text("utf-8").replace("[1]", "[NaN]"), "utf-8")
    assert cache.get("k") is None  # a miss costs one full request; a NaN never comes back as a body


def test_a_trail_file_holding_infinity_is_an_unreadable_file_not_an_event():
    raw = gzip.compress(b'{"Records": [{"eventName": "UpdateFunctionCode20150331v2", "x": 1e400}]}')
    with pytest.raises(aws.AwsApiError, match="is not gzip JSON"):
        _records(raw, "s3://trail/2026/03/01/f.json.gz")
    assert _records(gzip.compress(b'{"Records": [{"eventName": "E"}]}'), "f") == [{"eventName": "E"}]
