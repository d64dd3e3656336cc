"""JSON read strictly, and a problem named by where it is in the document.

Python's ``json`` accepts what JSON does not have (``NaN``, ``Infinity``) and keeps the last of a
key named twice; every file this tool reads (snapshot, saved report, package member, source file)
goes through ``strict_loads`` so such a file is refused with its place, never judged. A value found
wrong after parsing has no line, so it is named by its JSON path (``json_path``, ``at``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from compliance.base.errors import InputError, Located
from compliance.base.jsonpairs import repeated_key
from compliance.base.redact import clip

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _Constant:
    """Stands where a NaN or Infinity literal (or a number too large for a float) was, so its JSON path can be
    reported."""

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


def _refused(literal: str) -> Any:
    raise ValueError(f"{literal[:40]} is not a number JSON can carry")


def _number_readers(not_carried: Any) -> dict[str, Any]:
    """``json.loads`` hooks reading numbers as Python does, except those a snapshot cannot carry: ``NaN`` and
    ``Infinity`` (not JSON), a float that overflows to Infinity (``1e400``), an integer beyond 64 bits (no source
    of ours sends one, and the engine's arithmetic would overflow on it). Each of those goes to ``not_carried``."""

    def number(literal: str) -> Any:
        value = float(literal)
        return value if value - value == 0 else not_carried(literal)

    def integer(literal: str) -> Any:
        if len(literal) < 19:
            return int(literal)
        value = int(literal)
        return value if -(1 << 63) <= value < (1 << 63) else not_carried(literal)

    return {"parse_constant": not_carried, "parse_float": number, "parse_int": integer}


_FINITE = _number_readers(_refused)


def finite_loads(text: str | bytes, **kw: Any) -> Any:
    """``json.loads`` for an answer from elsewhere (an API body, a trail file, a cache entry): ``ValueError``
    on NaN, Infinity, a number that overflows to it (``1e400``) or an integer beyond 64 bits, as on text that
    is not JSON, so the caller's "not JSON" path takes it. Saved, such a value could never be read back."""
    return json.loads(text, **_FINITE, **kw)


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
        doc = json.loads(text, **_number_readers(constant),
                         object_pairs_hook=_unique_hook(repeated) if unique_keys else None)
    except json.JSONDecodeError as exc:
        raise InputError([Located(path, exc.lineno, exc.colno, f"invalid JSON: {exc.msg}")], what) from None
    except RecursionError:
        raise InputError([Located(path, 1, 1, "invalid JSON: nested too deeply")], what) from None
    except ValueError as exc:  # an integer of more digits than Python converts (4,300): not a crash
        raise InputError([Located(path, 1, 1, f"invalid JSON: {clip(str(exc).split(';')[0], 200)}")], what) from None
    if constants:
        where = _find(doc, lambda v: isinstance(v, _Constant))
        literal = constants[0].literal
        shown = literal if len(literal) <= 40 else f"{literal[:20]}…({len(literal)} characters)"
        said = (f"{literal} is not a JSON number (NaN and Infinity are not allowed)" if literal[-1:].isalpha() else
                f"{shown} is beyond what a number can hold (it reads as Infinity, which is not allowed)"
                if any(c in literal for c in ".eE") else
                f"{shown} is beyond what a number can hold (a 64-bit integer)")
        raise InputError([at(path, where or (), said)], what)
    if repeated:
        where = _find(doc, lambda v: v is repeated[0]) or ()
        raise InputError([at(path, where, f"names {repeated[0].duplicate!r} twice (which one counts is not "
                             "defined: refused rather than read as the last)")], what)
    return doc


def refuse_duplicate_keys(path: str | Path, what: str = "snapshot") -> None:
    """``strict_loads`` of the file with its keys checked: for a snapshot that is not canonical."""
    strict_loads(Path(path).read_text("utf-8"), str(path), what)


def leaves_where(doc: Any, test: Any, limit: int) -> list[tuple[tuple[Any, ...], Any]]:
    """(path, value) of up to ``limit`` values that are neither objects nor lists and pass ``test`` (iterative:
    nesting depth is not a limit; tuples are walked as lists, as json writes them)."""
    found: list[tuple[tuple[Any, ...], Any]] = []
    stack: list[tuple[tuple[Any, ...], Any]] = [((), doc)]
    while stack and len(found) < limit:
        parts, value = stack.pop()
        if isinstance(value, dict):
            stack.extend(((*parts, k), v) for k, v in value.items())
        elif isinstance(value, (list, tuple)):
            stack.extend(((*parts, i), v) for i, v in enumerate(value))
        elif test(value):
            found.append((parts, value))
    return found


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


__all__ = ["at", "finite_loads", "json_path", "leaves_where", "refuse_duplicate_keys", "strict_loads"]
