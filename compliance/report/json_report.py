"""The machine-readable report.

Canonical JSON (``snapshot.canonical_json``: sorted keys, one finding or change per line) makes
the output a pure function of the document, so two evaluations of the same snapshot can be
diffed byte for byte. NaN/Infinity are refused because they are not JSON and would break strict
consumers. The file is the document's version-3 form (``compact``): passing findings as a table,
changes as rows, what the file holds once named, never repeated; ``expand.expand_report`` reads it back.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from compliance.model.snapshot import canonical_chunks, canonical_json
from compliance.report.compact import compact_report


def render(doc: dict[str, Any]) -> str:
    """The report.json text: the document in its version-3 form (``compact``)."""
    return canonical_json(compact_report(doc), allow_nan=False, tight=True)


def stream(doc: dict[str, Any]) -> Iterator[str]:
    """The same text as ``render``, a record at a time (``write_reports`` never holds all of it)."""
    return canonical_chunks(compact_report(doc), allow_nan=False, tight=True)
