"""Every place in a JSON-like document, as a key path: what the mutation tests pick from."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def doc_paths(value: Any, prefix: tuple = (), items: int | None = None) -> Iterator[tuple]:
    """Each path, the document's own (``()``) first; ``items`` caps how many list items are descended."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from doc_paths(v, (*prefix, k), items)
    elif isinstance(value, list):
        for i, v in enumerate(value[:items]):
            yield from doc_paths(v, (*prefix, i), items)


def shape(value: Any, where: tuple = ()) -> frozenset:
    """What a value is made of: each place in it (list items all at ``"*"``) with the type found there."""
    out = {(where, type(value).__name__)}
    if isinstance(value, dict):
        for k, v in value.items():
            out |= shape(v, (*where, k))
    elif isinstance(value, list):
        for v in value:
            out |= shape(v, (*where, "*"))
    return frozenset(out)


def representatives(value: Any, items: int = 3) -> Any:
    """``value`` with each list cut to its first ``items`` items and every later item of a shape not seen before.

    For a mutation test whose verdict is judged item by item (a schema with ``items`` but no
    ``minItems``, ``maxItems``, ``uniqueItems`` or ``contains``): the 16th run of the demo is the same
    schema place with the same types as the 1st, so it only makes each example's validation longer.
    Every place and type of the full document is still in the cut one, so every mutation the full one
    offers (replace, delete or add at that place, of that type) is still offered."""
    if isinstance(value, dict):  # of its own type: the demo snapshot is a ``Masked`` dict
        return type(value)({k: representatives(v, items) for k, v in value.items()})
    if isinstance(value, list):
        kept, seen = [], set()
        for i, v in enumerate(value):
            s = shape(v)
            if i < items or s not in seen:
                kept.append(representatives(v, items))
            seen.add(s)
        return kept
    return value
