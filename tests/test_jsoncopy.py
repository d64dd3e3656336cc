"""tests/jsoncopy.py: the copy the property tests damage shares nothing mutable with the fixture."""

from __future__ import annotations

from datetime import datetime, timezone

from tests import jsoncopy
from tests.jsoncopy import copy_json


def _containers(value, out):
    if isinstance(value, dict | list | tuple):
        out.append(value)
        for item in value.values() if isinstance(value, dict) else value:
            _containers(item, out)
    return out


def test_a_copy_is_equal_and_shares_no_container():
    shared = [1, {"x": None}]
    doc = {"a": [shared, shared, ("t", [2.5])], "b": {"c": True, "d": "s", "e": datetime(2026, 1, 1, tzinfo=timezone.utc)},
           "f": []}
    copied = copy_json(doc)
    assert copied == doc
    assert type(copied["a"][2]) is tuple and type(copied["b"]["e"]) is datetime
    originals = {id(c) for c in _containers(doc, [])}
    assert not originals & {id(c) for c in _containers(copied, [])}
    copied["a"][0][1]["x"] = 1
    copied["a"][2][1].append(3)
    assert doc["a"][0] == [1, {"x": None}] and doc["a"][2] == ("t", [2.5])
    assert copied["a"][1] == [1, {"x": None}]  # a tree: one place changed, not both


def test_the_demo_snapshot_copies_whole_without_deepcopy(demo, monkeypatch):
    """All of the collected snapshot is JSON data (its top a ``Masked`` dict): none of it is left to the
    slow ``copy.deepcopy``."""
    snap, _ = demo

    def no_deepcopy(value, memo=None):
        raise AssertionError(f"deepcopy of a {type(value).__name__}")

    monkeypatch.setattr(jsoncopy.copy, "deepcopy", no_deepcopy)
    copied = copy_json(snap)
    assert copied == snap and copied is not snap and type(copied) is type(snap)
    copied["sources"]["git"]["data"]["commits"][0]["sha"] = "x"
    assert snap["sources"]["git"]["data"]["commits"][0]["sha"] != "x"
