"""A source read from a JSON file: for the demo, for air-gapped review, for tests.

The file holds exactly the source's ``data`` object and is validated against the same schema
as live data, so a hand-written file cannot smuggle in a shape the checks do not expect.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from compliance.errors import InputError, Located
from compliance.sources.base import Meter


def read_source_file(name: str, path: str | Path, meter: Meter | None = None) -> dict[str, Any]:
    from compliance.snapshot import def_schema, schema_problems

    p = Path(path)
    text = p.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError([Located(str(p), exc.lineno, exc.colno, f"invalid JSON: {exc.msg}")]) from None
    problems = schema_problems(data, def_schema(name), str(p))
    if problems:
        raise InputError(problems)
    return data
