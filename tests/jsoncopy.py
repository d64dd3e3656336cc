"""A deep copy of JSON-shaped data (snapshots, report documents) for property tests that damage a copy
of one big fixture per example.

``copy.deepcopy`` keeps a memo of every object it copies so that shared and cyclic references survive;
JSON data has neither (a parsed or collected document is a tree), and that bookkeeping made the copy
about 3x slower than this one (demo snapshot: 2.6 ms against 0.9 ms), paid once an example in tests
that run hundreds. Anything that is not a dict, a list or a JSON scalar (a tuple, a datetime) is handed
to ``copy.deepcopy``, so the copy is never shallower than before, and each copy is of its original's type.
"""

from __future__ import annotations

import copy
from typing import Any

from compliance.base.redact_doc import Masked

_SCALARS = frozenset({str, int, float, bool, type(None)})
_DICTS = frozenset({dict, Masked})  # Masked: a collected snapshot, already masked (a plain dict otherwise)


def copy_json(value: Any) -> Any:
    """``value`` copied all the way down; each dict and list a new object (none shared with ``value``)."""
    kind = type(value)
    if kind in _DICTS:
        copied = {k: v if type(v) in _SCALARS else copy_json(v) for k, v in value.items()}
        return copied if kind is dict else kind(copied)
    if kind is list:
        return [v if type(v) in _SCALARS else copy_json(v) for v in value]
    if kind in _SCALARS:
        return value
    return copy.deepcopy(value)
