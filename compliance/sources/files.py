"""A source read from a JSON file: for the demo, for air-gapped review, for tests.

The file holds exactly the source's ``data`` object and is validated against the same schema
as live data, so a hand-written file cannot smuggle in a shape the checks do not expect.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from compliance.base.errors import InputError, Located
from compliance.base.fsutil import not_regular
from compliance.model.snapshot import def_schema, schema_problems
from compliance.model.strict_json import strict_loads
from compliance.model.value_checks import source_value_problems
from compliance.sources.base import Meter


def read_regular(p: Path) -> bytes:
    """The bytes of ``p``, refused unless it is a regular file (``fsutil.not_regular``)."""
    why = not_regular(p)
    if why:
        raise InputError([Located(str(p), 0, 0, f"{why}; a source file must be a file")])
    return p.read_bytes()


def read_source_file(name: str, path: str | Path, meter: Meter | None = None) -> dict[str, Any]:
    p = Path(path)
    raw = read_regular(p)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError([Located(str(p), line, col, f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})")]
                         ) from None
    data = strict_loads(text, str(p), "input")  # invalid JSON, nested too deeply, NaN: with the place
    problems = schema_problems(data, def_schema(name), str(p)) or source_value_problems(name, data, str(p))
    if problems:
        raise InputError(problems)
    return data
