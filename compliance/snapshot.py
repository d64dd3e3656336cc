"""The snapshot: versioned JSON of everything collected, validated by a published schema.

Saved next to every report so any verdict can be re-evaluated offline (``compliance evaluate``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from compliance.errors import ComplianceError, InputError, Located
from compliance.fsutil import atomic_write_text
from compliance.redact import clip

SNAPSHOT_VERSION = 1


@cache
def load_schema(name: str) -> dict[str, Any]:
    return json.loads(resources.files("compliance.schemas").joinpath(f"{name}.schema.json").read_text("utf-8"))


@cache
def def_schema(name: str) -> dict[str, Any]:
    """A standalone schema for one source's data (``$defs/<name>`` of the snapshot schema)."""
    schema = load_schema("snapshot")
    return {"$schema": schema["$schema"], "$ref": f"#/$defs/{name}", "$defs": schema["$defs"]}


_COMPACT = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(", ", ": ")).encode
_STRICT = json.JSONEncoder(sort_keys=True, ensure_ascii=False, allow_nan=False, separators=(", ", ": ")).encode
_EXPAND_DEPTH = 5  # objects this shallow get one key per line; below that one record per line


def canonical_json(doc: Any, *, allow_nan: bool = True) -> str:
    """Sorted keys, the outer objects one key per line, and every record of a list on one line of its own.

    A pure function of the document, so equal documents give equal bytes (and digests). One
    record per line keeps snapshots and reports diffable and lets json's C encoder write each
    record: an indented ``json.dumps`` runs the pure-Python encoder, ten times slower on a
    100,000-commit snapshot. ``allow_nan=False`` refuses NaN and Infinity, which are not JSON.
    """
    return "".join(canonical_chunks(doc, allow_nan=allow_nan))


def canonical_chunks(doc: Any, *, allow_nan: bool = True) -> Iterator[str]:
    """``canonical_json`` a record at a time, for writing a large document without holding its text."""
    yield from _emit(doc, 0, _COMPACT if allow_nan else _STRICT)
    yield "\n"


def _emit(value: Any, depth: int, enc: Any) -> Iterator[str]:
    pad = "  " * depth
    if isinstance(value, dict) and value and depth < _EXPAND_DEPTH:
        yield "{"
        sep = "\n"
        for key in sorted(value):
            yield f"{sep}{pad}  {enc(key if isinstance(key, str) else str(key))}: "
            yield from _emit(value[key], depth + 1, enc)
            sep = ",\n"
        yield f"\n{pad}}}"
    elif isinstance(value, (list, tuple)) and value and any(isinstance(v, (dict, list, tuple)) for v in value):
        yield "["
        sep = "\n"
        for item in value:
            yield f"{sep}{pad}  {enc(item)}"
            sep = ",\n"
        yield f"\n{pad}]"
    else:
        yield enc(value)


def snapshot_digest(doc: dict[str, Any]) -> str:
    """The digest a snapshot saved from ``doc`` has (``sha256sum snapshot.json`` shows the same)."""
    return digest_text(snapshot_text(doc))


def digest_text(text: str | bytes) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return "sha256:" + hashlib.sha256(data).hexdigest()


def schema_problems(doc: Any, schema: dict[str, Any], path: str, limit: int = 50) -> list[Located]:
    """Where ``doc`` breaks ``schema``. A valid document is recognised by the compiled check
    (compliance.fastschema); jsonschema runs only to explain a document that fails it."""
    from compliance.fastschema import conforms

    if conforms(doc, schema):
        return []
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema)
    problems = []
    for err in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))[:limit]:
        pointer = "/" + "/".join(str(p) for p in err.absolute_path)
        msg = clip(err.message, 300)
        problems.append(Located(path, 1, 1, f"at {pointer}: {msg}"))
    return problems


def validate_snapshot(doc: Any, path: str = "<snapshot>") -> None:
    """Raise ``InputError`` unless ``doc`` fits the snapshot schema.

    The data of sources ``collect`` already checked (``Masked.sources_checked``) is not descended
    into again: at 100,000 commits that is most of the document."""
    claims = getattr(doc, "sources_checked", None) or {}
    sources = doc.get("sources") if isinstance(doc, dict) else None
    checked = frozenset(name for name, data in claims.items()
                        if isinstance(sources, dict) and isinstance(sources.get(name), dict)
                        and sources[name].get("data") is data and data is not None)
    problems = schema_problems(doc, _schema_without(checked), path)
    if problems:
        raise InputError(problems, what="snapshot")


@cache
def _schema_without(sources: frozenset[str]) -> dict[str, Any]:
    """The snapshot schema with the data of these sources accepted as it is (checked elsewhere)."""
    schema = load_schema("snapshot")
    if not sources:
        return schema
    accept = {"not": {"type": "null"}}  # any data (it sits in a oneOf with null, so null must stay apart)
    return {**schema, "$defs": {**schema["$defs"], **{name: accept for name in sources if name in schema["$defs"]}}}


def load_snapshot(path: str | Path) -> dict[str, Any]:
    return read_snapshot(path)[0]


def read_snapshot(path: str | Path) -> tuple[dict[str, Any], str]:
    """The validated snapshot and the digest of the file's bytes (what ``sha256sum`` shows)."""
    p = Path(path)
    try:
        digest = _file_digest(p)  # in chunks: the bytes are never held beside the text and the parse
        with open(p, encoding="utf-8", newline="") as fh:
            text = fh.read()
    except OSError as exc:
        raise ComplianceError(f"cannot read snapshot {p}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raw = p.read_bytes()
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise InputError([Located(str(p), line, 1, "file is not UTF-8")], "snapshot") from None
        raise
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError([Located(str(p), exc.lineno, exc.colno, f"invalid JSON: {exc.msg}")], "snapshot") from None
    except RecursionError:  # e.g. 100,000 nested arrays: no snapshot is shaped like that
        raise InputError([Located(str(p), 1, 1, "invalid JSON: nested too deeply")], "snapshot") from None
    del text
    validate_snapshot(doc, str(p))
    return doc, digest


def _file_digest(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            sha.update(chunk)
    return "sha256:" + sha.hexdigest()


def snapshot_text(doc: dict[str, Any]) -> str:
    """The file a snapshot is saved as: known secret values masked (``collect`` already does;
    this guards snapshots built elsewhere), canonical JSON."""
    from compliance.redact import redact_data

    return canonical_json(redact_data(doc))


def save_snapshot(doc: dict[str, Any], path: str | Path, *, validate: bool = True, text: str | None = None) -> Path:
    """``validate=False`` is for callers that validated the same document moments before; ``text``
    for those that already made its ``snapshot_text`` (to digest it)."""
    if validate:
        validate_snapshot(doc, str(path))
    return atomic_write_text(path, snapshot_text(doc) if text is None else text)
