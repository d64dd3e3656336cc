"""The snapshot: versioned JSON of everything collected, validated by a published schema.

Saved next to every report so any verdict can be re-evaluated offline (``compliance evaluate``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from compliance.base.errors import ComplianceError, InputError, Located
from compliance.base.fsutil import atomic_write_text, not_regular
from compliance.base.jsonpairs import repeated_key
from compliance.base.redact import clip, redact_data
from compliance.base.textscan import TextScan
from compliance.base.timeutil import MAX_BOUND, MIN_BOUND, parse_time
from compliance.model.schemacheck import errors, is_valid, rs_problems

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


# --- values the schema cannot judge: impossible dates, NaN --------------------------------------

_TIME_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _Constant:
    """Stands where a NaN or Infinity literal was, so its JSON path can be reported."""

    def __init__(self, literal: str):
        self.literal = literal


def json_path(parts: tuple[Any, ...] | list[Any]) -> str:
    """``$.sources.git.data.commits[3].committed_at``: where a value is, as a reader can follow it."""
    out = ["$"]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _KEY.fullmatch(part):
            out.append(f".{part}")
        else:
            out.append(f"[{json.dumps(part, ensure_ascii=False)}]")
    return "".join(out)


def at(path: str, parts: tuple[Any, ...] | list[Any], message: str) -> Located:
    """A problem at a JSON path (no line: the value's place is its path)."""
    return Located(path, 0, 0, f"{json_path(parts)}: {message}")


class _Duplicated(dict):
    """An object that named a key twice (``duplicate``: the first such key), found after parsing by its path."""

    __slots__ = ("duplicate",)


def _unique_hook(found: list[_Duplicated]) -> Any:
    """An ``object_pairs_hook`` that marks (and remembers in ``found``) an object naming a key twice."""
    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        key = repeated_key(pairs, obj)
        if key is None:
            return obj
        marked = _Duplicated(obj)
        marked.duplicate = key
        found.append(marked)
        return marked
    return unique


def strict_loads(text: str, path: str, what: str, *, unique_keys: bool = True) -> Any:
    """``json.loads`` that refuses what is not JSON, each refusal an ``InputError`` naming the place.

    Python's parser accepts ``NaN`` and ``Infinity``, which JSON does not have: a NaN compares false
    with everything, so a threshold check on it could never fail. Nesting deeper than the parser
    can follow is refused too (no document of ours is shaped like that). So is an object naming a key
    twice (``"LastUpdateStatus": "Failed", "LastUpdateStatus": "Successful"``): parsers disagree on which
    one counts (Python keeps the last), so the file says two things. ``unique_keys=False`` is for a
    snapshot, checked only when it is not the canonical text this tool writes (``refuse_duplicate_keys``):
    a canonical file cannot repeat a key, and the check costs a tenth of a 100 MB snapshot's parse.
    """
    constants: list[_Constant] = []
    repeated: list[_Duplicated] = []

    def constant(literal: str) -> _Constant:
        constants.append(_Constant(literal))
        return constants[-1]

    try:
        doc = json.loads(text, parse_constant=constant, object_pairs_hook=_unique_hook(repeated) if unique_keys else None)
    except json.JSONDecodeError as exc:
        raise InputError([Located(path, exc.lineno, exc.colno, f"invalid JSON: {exc.msg}")], what) from None
    except RecursionError:
        raise InputError([Located(path, 1, 1, "invalid JSON: nested too deeply")], what) from None
    except ValueError as exc:  # an integer of more digits than Python converts (4,300): not a crash
        raise InputError([Located(path, 1, 1, f"invalid JSON: {clip(str(exc).split(';')[0], 200)}")], what) from None
    if constants:
        where = _find(doc, lambda v: isinstance(v, _Constant))
        literal = constants[0].literal
        raise InputError([at(path, where or (), f"{literal} is not a JSON number (NaN and Infinity are "
                             "not allowed)")], what)
    if repeated:
        where = _find(doc, lambda v: v is repeated[0]) or ()
        raise InputError([at(path, where, f"names {repeated[0].duplicate!r} twice (which one counts is not "
                             "defined: refused rather than read as the last)")], what)
    return doc


def refuse_duplicate_keys(path: str | Path, what: str = "snapshot") -> None:
    """``strict_loads`` of the file with its keys checked: for a snapshot that is not canonical."""
    strict_loads(Path(path).read_text("utf-8"), str(path), what)


def _find(doc: Any, test: Any) -> tuple[Any, ...] | None:
    """The path of the first value passing ``test`` (iterative: nesting depth is not a limit)."""
    stack: list[tuple[tuple[Any, ...], Any]] = [((), doc)]
    while stack:
        parts, value = stack.pop()
        if test(value):
            return parts
        if isinstance(value, dict):
            stack.extend(((*parts, k), v) for k, v in reversed(list(value.items())))
        elif isinstance(value, list):
            stack.extend(((*parts, i), v) for i, v in reversed(list(enumerate(value))))
    return None


def _real(value: Any) -> bool:
    return isinstance(value, str) and parse_time(value) is not None


def time_problems(doc: Any, path: str, limit: int = 10) -> list[Located]:
    """Every timestamp-shaped string in ``doc`` that is not a real time (``2026-02-30T10:00:00Z``).

    For reports, which are walked whole; snapshots use ``snapshot_value_problems`` (targeted, as
    a 100,000-commit snapshot is too large to walk value by value)."""
    problems: list[Located] = []
    stack: list[tuple[tuple[Any, ...], Any]] = [((), doc)]
    while stack and len(problems) < limit:
        parts, value = stack.pop()
        if isinstance(value, dict):
            stack.extend(((*parts, k), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend(((*parts, i), v) for i, v in enumerate(value))
        elif isinstance(value, str) and _TIME_SHAPE.fullmatch(value) and parse_time(value) is None:
            problems.append(at(path, parts, f"not a real date or time: {value!r}"))
    return sorted(problems)


_RUN_TIMES = ("created_at", "updated_at", "run_started_at")
_STEP_TIMES = ("started_at", "completed_at")


def source_value_problems(name: str, data: Any, path: str, prefix: tuple[Any, ...] = (), limit: int = 10
                          ) -> list[Located]:
    """Impossible times in one source's (schema-valid) data: the ones the engine orders and compares."""
    problems: list[Located] = []

    def bad(parts: tuple[Any, ...], value: Any) -> None:
        if len(problems) < limit:
            problems.append(at(path, (*prefix, *parts), f"not a real date or time: {value!r}"))

    if not isinstance(data, dict):
        return problems
    if name == "git":
        commits = data.get("commits") or []
        for key in ("committed_at", "authored_at"):
            for i in _unreal_times([c.get(key) for c in commits]):
                bad(("commits", i, key), commits[i][key])
    elif name == "github":
        runs = data.get("runs") or []
        suspects = {(i, key) for key in _RUN_TIMES for i in _unreal_times([r.get(key) for r in runs])}
        for i, run in enumerate(runs):
            if not (suspects or run.get("jobs")):
                continue
            for key in _RUN_TIMES:
                if (i, key) in suspects:
                    bad(("runs", i, key), run[key])
            for j, job in enumerate(run.get("jobs") or []):
                for k, step in enumerate(job.get("steps") or [] if isinstance(job, dict) else []):
                    for key in _STEP_TIMES:
                        value = step.get(key) if isinstance(step, dict) else None
                        if value is not None and not _real(value):
                            bad(("runs", i, "jobs", j, "steps", k, key), value)
    return problems


def _unreal_times(values: list[Any]) -> list[int]:
    """Positions of the values that are not real times, for lists of 100,000 canonical times.

    Parsing each one costs about a second at that size; instead the days (a few thousand distinct
    ones) are checked once each and the clock by comparing its digit pairs, which is exact for the
    schema's ``YYYY-MM-DDTHH:MM:SS[.f]Z``. Anything else, and every suspect, is parsed to be sure.
    """
    good: set[str] = set()
    for day in {v[:10] for v in values if isinstance(v, str)}:
        try:
            date.fromisoformat(day)
            good.add(day)
        except ValueError:
            pass
    return [i for i, v in enumerate(values) if v is not None and (
        not isinstance(v, str) or len(v) < 20 or v[10] != "T" or v[:10] not in good
        or v[11:13] > "23" or v[14:16] > "59" or v[17:19] > "59") and not _real(v)]


def snapshot_value_problems(doc: dict[str, Any], path: str) -> list[Located]:
    """What a schema-valid snapshot may still get wrong: impossible times and a backwards window.

    Each would otherwise surface deep in the engine as a crash or as every rule quietly
    not applicable; they are input errors.
    """
    problems: list[Located] = []
    times = {("collected_at",): doc.get("collected_at")}
    window = doc.get("window") or {}
    times.update({("window", k): window.get(k) for k in ("since", "until")})
    for where, value in times.items():
        if not _real(value):
            problems.append(at(path, where, f"not a real date or time: {value!r}"))
    since, until = parse_time(window.get("since")), parse_time(window.get("until"))
    for key, bound in (("since", since), ("until", until)):
        if bound is not None and not (MIN_BOUND <= bound <= MAX_BOUND):
            problems.append(at(path, ("window", key), f"window bound {window[key]} is out of range "
                               f"(1970-01-01 to 9998-12-31)"))
    if since is not None and until is not None and until < since:
        problems.append(at(path, ("window", "until"), f"the window ends ({window['until']}) before it starts "
                           f"({window['since']})"))
    for name, envelope in sorted((doc.get("sources") or {}).items()):
        if not isinstance(envelope, dict):
            continue
        started = (envelope.get("provenance") or {}).get("started_at")
        if started is not None and not _real(started):
            problems.append(at(path, ("sources", name, "provenance", "started_at"),
                               f"not a real date or time: {started!r}"))
        problems += source_value_problems(name, envelope.get("data"), path, ("sources", name, "data"))
    return problems


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
    return canonical_json(redact_data(doc))


def save_snapshot(doc: dict[str, Any], path: str | Path, *, validate: bool = True, text: str | None = None) -> Path:
    """``validate=False`` is for callers that validated the same document moments before; ``text``
    for those that already made its ``snapshot_text`` (to digest it)."""
    if validate:
        validate_snapshot(doc, str(path))
    return atomic_write_text(path, snapshot_text(doc) if text is None else text)
