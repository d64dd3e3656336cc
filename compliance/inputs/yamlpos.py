"""YAML with positions: plain data plus the line and column every value and key was written at.

Rule and config files are written by hand, so a mistake must be reported where it is
(``FILE:LINE:COL``), all at once, and in words a person can act on (the schema's complaints are
worded in compliance.inputs.schema_messages). PyYAML's constructed data forgets where values came
from, so we compose nodes and build plain data ourselves, recording the position of every value
and every mapping key on the way.

The YAML surface is deliberately narrow: anchors and aliases are refused (an alias bomb
expands exponentially once turned into plain data), keys must be strings, and dates stay
strings so that JSON Schema and the rule loader see exactly what was written.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import yaml

from compliance.base.errors import InputError, Located
from compliance.base.fsutil import not_regular
from compliance.base.redact import clip

try:  # the C loader is several times faster on big files; both give the same marks
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader

JsonPath = tuple[Any, ...]
Pos = tuple[int, int]

_TAG = "tag:yaml.org,2002:"
_PLAIN_SCALARS = {_TAG + t for t in ("str", "int", "float", "bool", "null")}
_MAX_SHOWN = 60  # characters of a value echoed back in a message


@dataclass
class Positions:
    """Where each JSON path of a loaded document was written (1-based line, column)."""

    values: dict[JsonPath, Pos] = field(default_factory=dict)
    keys: dict[JsonPath, Pos] = field(default_factory=dict)

    def value(self, path: Iterable[Any]) -> Pos:
        """Falls back to the nearest ancestor: a value that is missing still needs a line."""
        p = tuple(path)
        while p not in self.values and p:
            p = p[:-1]
        return self.values.get(p, (1, 1))

    def key(self, path: Iterable[Any]) -> Pos:
        """Unknown or duplicate keys are best shown at the key, not at the value under it."""
        p = tuple(path)
        return self.keys.get(p) or self.value(p)


def short(value: Any, limit: int = _MAX_SHOWN) -> str:
    """A repr that never dumps a whole structure into an error message."""
    if isinstance(value, dict):
        text = "a mapping" if value else "an empty mapping"
    elif isinstance(value, list):
        text = "a list" if value else "an empty list"
    else:
        text = repr(value)
    return clip(text, limit)  # masked before it is cut: a value may hold a token


def _mark_pos(mark: Any) -> Pos:
    return (mark.line + 1, mark.column + 1)


def _offset_pos(text: str | bytes, offset: int) -> Pos:
    nl = "\n" if isinstance(text, str) else b"\n"
    head = text[:offset]
    line = head.count(nl) + 1  # type: ignore[arg-type]
    col = offset - (head.rfind(nl) + 1) + 1  # type: ignore[arg-type]
    return (line, col)


def _syntax_error(exc: yaml.YAMLError, text: str, path: str) -> Located:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        line, col = _mark_pos(exc.problem_mark)
        msg = exc.problem or "syntax error"
        if exc.context:
            where = ""
            if exc.context_mark is not None and exc.context_mark.line != exc.problem_mark.line:
                where = f" that starts on line {exc.context_mark.line + 1}"
            msg += f" ({exc.context}{where})"
        return Located(path, line, col, "YAML syntax error: " + msg)
    if isinstance(exc, yaml.reader.ReaderError):
        line, col = _offset_pos(text, min(exc.position, len(text)))
        char = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
        return Located(path, line, col, f"YAML syntax error: {exc.reason} (character 0x{char:02x})")
    return Located(path, 1, 1, f"YAML syntax error: {exc}")


def _anchor_problems(text: str, path: str) -> list[Located]:
    """Every anchor and alias in the text; a syntax error raises ``yaml.YAMLError``."""
    out: list[Located] = []
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent):
            line, col = _mark_pos(event.start_mark)
            out.append(Located(path, line, col, f"YAML anchors and aliases are not allowed (alias *{event.anchor})"))
        elif getattr(event, "anchor", None):
            line, col = _mark_pos(event.start_mark)
            out.append(Located(path, line, col, f"YAML anchors and aliases are not allowed (anchor &{event.anchor})"))
    return out


class _Builder:
    """Turns a composed node tree into plain data, recording positions and problems."""

    def __init__(self, path: str):
        self.path = path
        self.positions = Positions()
        self.problems: list[Located] = []
        self._constructor = yaml.constructor.SafeConstructor()

    def problem(self, node: yaml.Node, message: str) -> None:
        line, col = _mark_pos(node.start_mark)
        self.problems.append(Located(self.path, line, col, message))

    def build(self, node: yaml.Node, jpath: JsonPath) -> Any:
        self.positions.values[jpath] = _mark_pos(node.start_mark)
        if isinstance(node, yaml.MappingNode):
            if node.tag != _TAG + "map":
                self.problem(node, f"unsupported YAML tag {node.tag!r} on a mapping")
            return self._mapping(node, jpath)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _TAG + "seq":
                self.problem(node, f"unsupported YAML tag {node.tag!r} on a list")
            return [self.build(item, (*jpath, i)) for i, item in enumerate(node.value)]
        return self._scalar(node)

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag == _TAG + "timestamp":
            try:
                value = self._constructor.construct_object(node)
            except ValueError:  # shaped like a date but not one (2026-02-30): the schema judges the text
                return node.value
            # JSON Schema and the loader want text; a date is kept as written
            return value.isoformat() if isinstance(value, (date, datetime)) else node.value
        if node.tag not in _PLAIN_SCALARS:
            self.problem(node, f"unsupported YAML tag {node.tag!r} (use plain strings, numbers and booleans)")
            return node.value
        try:
            return self._constructor.construct_object(node)
        except (yaml.YAMLError, ValueError) as exc:
            self.problem(node, f"invalid scalar {short(node.value)}: {exc}")
            return node.value

    def _mapping(self, node: yaml.MappingNode, jpath: JsonPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(key_node, "mapping keys must be plain strings, not a list or mapping")
                continue
            if key_node.tag == _TAG + "merge":
                self.problem(key_node, "YAML merge keys ('<<') are not allowed")
                continue
            if key_node.tag != _TAG + "str":
                shown = self._scalar(key_node)
                self.problem(
                    key_node,
                    f"mapping key {key_node.value!r} is read as {type(shown).__name__} {short(shown)}, "
                    "not a string; quote it",
                )
                continue
            key = key_node.value
            kline = key_node.start_mark.line + 1
            if key in out:
                self.problem(key_node, f"duplicate key {key!r} (first defined on line {first_line[key]})")
                continue
            first_line[key] = kline
            self.positions.keys[(*jpath, key)] = _mark_pos(key_node.start_mark)
            out[key] = self.build(value_node, (*jpath, key))
        return out


def loads_yaml(text: str, path: str) -> tuple[Any, Positions]:
    """Parse one YAML document; every problem found is raised at once, so one edit fixes them all."""
    try:
        problems = _anchor_problems(text, path)
        if problems:  # never build aliased data: that is where an alias bomb explodes
            raise InputError(problems, what=path)
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise InputError([_syntax_error(exc, text, path)], what=path) from None
    if node is None:
        raise InputError([Located(path, 1, 1, "file is empty (expected a YAML mapping)")], what=path)
    builder = _Builder(path)
    data = builder.build(node, ())
    if builder.problems:
        raise InputError(builder.problems, what=path)
    return data, builder.positions


def load_yaml(path: str, *, max_bytes: int = 2_000_000) -> tuple[Any, Positions]:
    """Read and parse a YAML file, refusing oversized and non-UTF-8 input up front."""
    why = not_regular(path)
    if why:
        raise InputError([Located(path, 1, 1, f"cannot read file: it {why}")], what=path)
    try:
        size = os.path.getsize(path)
        if size > max_bytes:
            raise InputError(
                [Located(path, 1, 1, f"file is too large ({size} bytes; the limit is {max_bytes})")], what=path
            )
        with open(path, "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as exc:
        raise InputError([Located(path, 1, 1, f"cannot read file: {exc.strerror or exc}")], what=path) from None
    if len(raw) > max_bytes:  # grew between stat and read
        raise InputError([Located(path, 1, 1, f"file is too large (the limit is {max_bytes} bytes)")], what=path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _offset_pos(raw, exc.start)
        msg = f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        raise InputError([Located(path, line, col, msg)], what=path) from None
    text = text.removeprefix("\ufeff")
    return loads_yaml(text, path)
