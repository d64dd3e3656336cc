"""The machine-readable report.

Canonical JSON (``snapshot.canonical_json``: sorted keys, one finding or change per line) makes
the output a pure function of the document, so two evaluations of the same snapshot can be
diffed byte for byte. NaN/Infinity are refused because they are not JSON and would break strict
consumers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from compliance.model.snapshot import canonical_chunks, canonical_json


def render(doc: dict[str, Any]) -> str:
    return canonical_json(doc, allow_nan=False)


def stream(doc: dict[str, Any]) -> Iterator[str]:
    """The same text as ``render``, a record at a time (``write_reports`` never holds all of it)."""
    return canonical_chunks(doc, allow_nan=False)
