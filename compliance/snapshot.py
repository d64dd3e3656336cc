"""The snapshot: versioned JSON of everything collected, validated by a published schema.

Saved next to every report so any verdict can be re-evaluated offline (``compliance evaluate``).
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from compliance.errors import ComplianceError, InputError, Located
from compliance.fsutil import atomic_write_text

SNAPSHOT_VERSION = 1


@cache
def load_schema(name: str) -> dict[str, Any]:
    return json.loads(resources.files("compliance.schemas").joinpath(f"{name}.schema.json").read_text("utf-8"))


def def_schema(name: str) -> dict[str, Any]:
    """A standalone schema for one source's data (``$defs/<name>`` of the snapshot schema)."""
    schema = load_schema("snapshot")
    return {"$schema": schema["$schema"], "$ref": f"#/$defs/{name}", "$defs": schema["$defs"]}


def canonical_json(doc: Any) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def digest_text(text: str | bytes) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return "sha256:" + hashlib.sha256(data).hexdigest()


def schema_problems(doc: Any, schema: dict[str, Any], path: str, limit: int = 50) -> list[Located]:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema)
    problems = []
    for err in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))[:limit]:
        pointer = "/" + "/".join(str(p) for p in err.absolute_path)
        msg = err.message if len(err.message) < 300 else err.message[:300] + "..."
        problems.append(Located(path, 1, 1, f"at {pointer}: {msg}"))
    return problems


def validate_snapshot(doc: Any, path: str = "<snapshot>") -> None:
    problems = schema_problems(doc, load_schema("snapshot"), path)
    if problems:
        raise InputError(problems, what="snapshot")


def load_snapshot(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ComplianceError(f"cannot read snapshot {p}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError([Located(str(p), line, 1, "file is not UTF-8")], "snapshot") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError([Located(str(p), exc.lineno, exc.colno, f"invalid JSON: {exc.msg}")], "snapshot") from None
    except RecursionError:  # e.g. 100,000 nested arrays: no snapshot is shaped like that
        raise InputError([Located(str(p), 1, 1, "invalid JSON: nested too deeply")], "snapshot") from None
    validate_snapshot(doc, str(p))
    return doc


def save_snapshot(doc: dict[str, Any], path: str | Path, *, validate: bool = True) -> Path:
    """Known secret values are masked (``collect`` already does; this guards snapshots built elsewhere).

    ``validate=False`` is for callers that validated the same document moments before.
    """
    from compliance.redact import redact_data

    if validate:
        validate_snapshot(doc, str(path))
    return atomic_write_text(path, canonical_json(redact_data(doc)))
