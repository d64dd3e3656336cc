"""The machine-readable report.

Sorted keys and fixed indentation make the output a pure function of the document, so two
evaluations of the same snapshot can be diffed byte for byte. NaN/Infinity are refused
because they are not JSON and would break strict consumers.
"""

from __future__ import annotations

import json
from typing import Any


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
