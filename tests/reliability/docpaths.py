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
