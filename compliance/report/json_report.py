"""The machine-readable report.

Canonical JSON (``snapshot.canonical_json``: sorted keys, one finding or change per line) makes
the output a pure function of the document, so two evaluations of the same snapshot can be
diffed byte for byte. NaN/Infinity are refused because they are not JSON and would break strict
consumers.
"""

from __future__ import annotations

from typing import Any

from compliance.snapshot import canonical_json


def render(doc: dict[str, Any]) -> str:
    return canonical_json(doc, allow_nan=False)
