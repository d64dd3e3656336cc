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

from compliance.base.errors import ComplianceError, InputError, Located
from compliance.base.fsutil import atomic_write_text, not_regular
from compliance.base.redact import clip
from compliance.base.redact_doc import redact_data
from compliance.base.textscan import TextScan
from compliance.model.schemacheck import errors, is_valid, rs_problems
from compliance.model.strict_json import at, leaves_where, strict_loads
from compliance.model.value_checks import snapshot_value_problems

SNAPSHOT_VERSION = 1  # written by build_snapshot, checked by read_snapshot before anything else


def build_snapshot(*, tool_version: str, collected_at: str, window: dict[str, Any], target: dict[str, Any],
                   rules: dict[str, str], sources: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The one place the envelope is made (collect, pr and the rule tests all come here).

    ``window`` is ``{"since", "until", "branch"}`` as ISO strings; ``extra`` carries a mode's own
    top-level facts (``pull_request``), which the schema names. Keys are placed in one order so the
    envelope is the same whoever builds it.
    """
    return {
        "snapshot_version": SNAPSHOT_VERSION,
        "tool": {"name": "compliance", "version": tool_version},
        "collected_at": collected_at,
        "window": dict(window),
        "target": target,
        "rules": dict(sorted(rules.items())),
        **extra,
        "sources": sources,
    }


def version_problem(doc: Any, path: str) -> Located | None:
    """A snapshot of another format version is named as such, before its shape is judged by this one's schema.

    Without this, a newer tool's snapshot fails with whatever field moved first, which reads as
    corruption rather than "use the version that wrote it"."""
    if not isinstance(doc, dict) or "snapshot_version" not in doc:
        return None  # no version at all: the schema says what is missing
    version = doc["snapshot_version"]
    if version == SNAPSHOT_VERSION and type(version) is int:
        return None
    return Located(path, 1, 1, f"at /snapshot_version: snapshot format version {version!r} is not one this tool "
                               f"reads (it reads version {SNAPSHOT_VERSION}); collect it again with this version, "
                               "or evaluate it with the version that wrote it")


@cache
def load_schema(name: str) -> dict[str, Any]:
    return json.loads(resources.files("compliance.model.schemas").joinpath(f"{name}.schema.json").read_text("utf-8"))


@cache
def def_schema(name: str) -> dict[str, Any]:
    """A standalone schema for one source's data (``$defs/<name>`` of the snapshot schema)."""
    schema = load_schema("snapshot")
    return {"$schema": schema["$schema"], "$ref": f"#/$defs/{name}", "$defs": schema["$defs"]}


_COMPACT = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(", ", ": ")).encode
_STRICT = json.JSONEncoder(sort_keys=True, ensure_ascii=False, allow_nan=False, separators=(", ", ": ")).encode
# records without the spaces after , and : (report.json, whose records are rows of indexes)
_TIGHT = json.JSONEncoder(sort_keys=True, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
_EXPAND_DEPTH = 5  # objects this shallow get one key per line; below that one record per line


def canonical_json(doc: Any, *, allow_nan: bool = True, tight: bool = False) -> str:
    """Sorted keys, the outer objects one key per line, and every record of a list on one line of its own.

    A pure function of the document, so equal documents give equal bytes (and digests). One
    record per line keeps snapshots and reports diffable and lets json's C encoder write each
    record: an indented ``json.dumps`` runs the pure-Python encoder, ten times slower on a
    100,000-commit snapshot. ``allow_nan=False`` refuses NaN and Infinity, which are not JSON.
    """
    return "".join(canonical_chunks(doc, allow_nan=allow_nan, tight=tight))


def canonical_chunks(doc: Any, *, allow_nan: bool = True, tight: bool = False) -> Iterator[str]:
    """``canonical_json`` a record at a time, for writing a large document without holding its text.
    ``tight``: records without spaces after separators (NaN refused)."""
    yield from _emit(doc, 0, _TIGHT if tight else _COMPACT if allow_nan else _STRICT)
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
    """Where ``doc`` breaks ``schema``: jsonschema-rs says whether (compliance.model.schemacheck),
    jsonschema explains where and why, only for a document that fails."""
    if is_valid(doc, schema):
        return []
    problems = []
    for err in sorted(errors(doc, schema), key=lambda e: list(map(str, e.absolute_path)))[:limit]:
        pointer = "/" + "/".join(str(p) for p in err.absolute_path)
        problems.append(Located(path, 1, 1, f"at {pointer}: {clip(err.message, 300)}"))
    if not problems:  # refused by jsonschema-rs alone (a NaN): its own words, never a silent pass
        problems = [Located(path, 1, 1, f"at /{'/'.join(map(str, where))}: {clip(msg, 300)}")
                    for where, msg in rs_problems(doc, schema, limit)]
    return problems


def validate_snapshot(doc: Any, path: str = "<snapshot>") -> None:
    """Raise ``InputError`` unless ``doc`` fits the snapshot schema and holds only real times."""
    problems = schema_problems(doc, load_schema("snapshot"), path)
    if not problems:
        problems = snapshot_value_problems(doc, path)
    if problems:
        raise InputError(problems, what="snapshot")


def load_snapshot(path: str | Path) -> dict[str, Any]:
    return read_snapshot(path)[0]


def read_snapshot(path: str | Path, *, unique_keys: bool = True) -> tuple[dict[str, Any], str]:
    """The validated snapshot and the digest of the file's bytes (what ``sha256sum`` shows).

    ``unique_keys=False``: the caller refuses a repeated key itself when the file is not canonical
    (``persist.as_saved``, which checks canonical form anyway), sparing a large snapshot the check."""
    p = Path(path)
    why = not_regular(p)
    if why:
        raise ComplianceError(f"cannot read snapshot {p}: it {why}")
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
    # e.g. 100,000 nested arrays: refused, not a crash; repeated keys: when not canonical (``persist.as_saved``)
    doc = strict_loads(text, str(p), "snapshot", unique_keys=unique_keys)
    del text
    wrong = version_problem(doc, str(p))
    if wrong:
        raise InputError([wrong], what="snapshot")
    validate_snapshot(doc, str(p))
    return doc, digest


def _file_digest(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            sha.update(chunk)
    return "sha256:" + sha.hexdigest()


def canonical_and_masked(doc: dict[str, Any], digest: str) -> bool:
    """Whether ``snapshot_text(doc)`` has ``digest`` (the file read is already the file saved), found
    without holding that text: the canonical chunks are hashed as they are encoded and watched for
    anything masking would change (``textscan.TextScan``, as the report's JSON once was), so a 100 MB
    snapshot costs one encoding and no copy of its text. False also when something needs masking."""
    scan = TextScan()
    sha = hashlib.sha256()
    for chunk in scan.watch(canonical_chunks(doc)):
        sha.update(chunk.encode("utf-8"))
    return not scan.dirty and "sha256:" + sha.hexdigest() == digest


def file_digest(path: str | Path) -> str:
    """``sha256sum`` of a file, read in chunks."""
    return _file_digest(Path(path))


def snapshot_text(doc: dict[str, Any]) -> str:
    """The file a snapshot is saved as: known secret values masked (``collect`` already does;
    this guards snapshots built elsewhere), canonical JSON."""
    return "".join(snapshot_chunks(doc))


def snapshot_chunks(doc: dict[str, Any], path: str = "<snapshot>") -> Iterator[str]:
    """``snapshot_text`` a record at a time, for writing a large snapshot without holding its text.

    NaN and Infinity are refused (``InputError`` naming where): they are not JSON, and a snapshot saved
    with one could never be read back (``evaluate`` refuses it), so the reports beside it could not be
    re-computed. A source's data is the usual way in: an endpoint answering ``NaN`` for a number."""
    masked = redact_data(doc)
    try:
        yield from canonical_chunks(masked, allow_nan=False)
    except ValueError as exc:
        if "Out of range float" not in str(exc):
            raise
        raise InputError(non_finite_problems(masked, path), what="snapshot") from None


def non_finite_problems(doc: Any, path: str, limit: int = 10) -> list[Located]:
    """Where ``doc`` holds NaN or Infinity (walked only once the encoder has found one)."""
    problems = [at(path, parts, f"{value!r} is not a JSON number; the snapshot cannot be saved")
                for parts, value in leaves_where(doc, lambda v: isinstance(v, float) and v - v != 0, limit)]
    return sorted(problems) or [Located(path, 0, 0, "a value that is not a JSON number; the snapshot cannot be saved")]


def save_snapshot(doc: dict[str, Any], path: str | Path, *, validate: bool = True, text: str | None = None) -> Path:
    """``validate=False`` is for callers that validated the same document moments before; ``text``
    for those that already made its ``snapshot_text`` (to digest it)."""
    if validate:
        validate_snapshot(doc, str(path))
    return atomic_write_text(path, snapshot_text(doc) if text is None else text)
