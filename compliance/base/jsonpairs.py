"""JSON objects read with every pair kept: a key named twice is data, not something to drop.

Python's ``json`` keeps the last of two equal keys; other parsers keep the first. A record naming a key twice
(``"State": "Failed", "State": "Active"``) therefore says two things, and every reader here either refuses it
(snapshots, source files, reports, the probe's answer: ``repeated_key``) or reads both values (evidence and
deploy-manager configs: ``AllPairs``), never one of the two at random.
"""

from __future__ import annotations

import json
from typing import Any


class AllPairs(dict):
    """A decoded JSON object that also keeps ``pairs``, every (key, value) in order, a key named twice included."""

    def __init__(self, pairs: list[tuple[str, Any]]):
        super().__init__(pairs)
        self.pairs = pairs


def loads_all_pairs(text: str) -> Any:
    """``json.loads`` with every object an ``AllPairs``; raises what ``json.loads`` raises."""
    return json.loads(text, object_pairs_hook=AllPairs)


def items_of(obj: dict[str, Any]) -> list[tuple[str, Any]]:
    """Every pair of an object: all of them for an ``AllPairs``, its items otherwise."""
    return obj.pairs if isinstance(obj, AllPairs) else list(obj.items())


def repeated_key(pairs: list[tuple[str, Any]], obj: dict[str, Any] | None = None) -> str | None:
    """The first key ``pairs`` names twice, or None. ``obj``: the dict made of them, when the caller has it (equal
    lengths mean no repeat, which costs nothing to see)."""
    if obj is not None and len(obj) == len(pairs):
        return None
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            return key
        seen.add(key)
    return None


__all__ = ["AllPairs", "items_of", "loads_all_pairs", "repeated_key"]
