"""A yes/no JSON Schema check compiled to closures, for the keywords our own schemas use.

jsonschema is the authority: it explains *where* and *why* a document is wrong. It is also slow
on big documents (a 100,000-commit snapshot has millions of values). ``compile_schema`` turns a
schema into one Python function that only answers "valid?", about 20x faster, so the common case
(a valid snapshot) never pays for jsonschema; a ``False`` answer sends the caller to jsonschema
for the messages.

The check must never say "valid" where jsonschema would not; it may say "invalid" where
jsonschema would not (the caller then runs jsonschema, which finds nothing, and only time is
lost). So every doubtful case answers ``False``, and a keyword this module does not know makes
``compile_schema`` raise ``Unsupported``: the caller then uses jsonschema alone. A property test
(tests/test_fastschema.py) holds it to that against jsonschema on generated documents.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

# keywords that never affect validity
_ANNOTATIONS = {"$schema", "$id", "$defs", "$comment", "title", "description", "examples", "default",
                "deprecated", "readOnly", "writeOnly"}
_KNOWN = _ANNOTATIONS | {"type", "properties", "required", "additionalProperties", "items", "enum", "const",
                         "pattern", "minLength", "maxLength", "minimum", "maximum", "minItems", "maxItems",
                         "minProperties", "maxProperties",
                         "oneOf", "anyOf", "allOf", "not", "if", "then", "else", "propertyNames", "$ref"}


class Unsupported(Exception):
    """The schema uses something this compiler does not implement: use jsonschema alone."""


def _is_integer(v: Any) -> bool:
    # jsonschema counts 1.0 as an integer; a bool is never a number
    if isinstance(v, bool):
        return False
    return isinstance(v, int) or (isinstance(v, float) and v.is_integer())


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


_TYPES: dict[str, Check] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _same(a: Any, b: Any) -> bool:
    """JSON equality as jsonschema has it: true is not 1, 1 is 1.0."""
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


def compile_schema(schema: dict[str, Any]) -> Check:
    """One function answering "is this document valid?" for ``schema`` (local ``#/...`` refs only)."""
    return _Compiler(schema).compile(schema)


class _Compiler:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.refs: dict[str, list[Check]] = {}

    def compile(self, schema: Any) -> Check:
        if schema is True:
            return lambda v: True
        if schema is False:
            return lambda v: False
        if not isinstance(schema, dict):
            raise Unsupported(f"schema {schema!r}")
        unknown = set(schema) - _KNOWN
        if unknown:
            raise Unsupported(", ".join(sorted(unknown)))
        checks = [c for c in (self._type(schema), self._ref(schema), self._object(schema), self._array(schema),
                              self._string(schema), self._number(schema), self._values(schema),
                              self._combinators(schema)) if c is not None]
        if not checks:
            return lambda v: True
        if len(checks) == 1:
            return checks[0]
        return lambda v: all(c(v) for c in checks)

    def _ref(self, schema: dict[str, Any]) -> Check | None:
        ref = schema.get("$ref")
        if ref is None:
            return None
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise Unsupported(f"$ref {ref!r}")
        if ref not in self.refs:
            target: Any = self.root
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(target, dict) or part not in target:
                    raise Unsupported(f"unresolvable $ref {ref}")
                target = target[part]
            cell: list[Check] = []
            self.refs[ref] = cell  # a schema that refers to itself finds the cell while it is compiled
            cell.append(self.compile(target))
        cell = self.refs[ref]
        return cell[0] if cell else (lambda v: cell[0](v))

    def _type(self, schema: dict[str, Any]) -> Check | None:
        t = schema.get("type")
        if t is None:
            return None
        names = [t] if isinstance(t, str) else t
        if not isinstance(names, list) or any(n not in _TYPES for n in names):
            raise Unsupported(f"type {t!r}")
        tests = [_TYPES[n] for n in names]
        if len(tests) == 1:
            return tests[0]
        return lambda v: any(test(v) for test in tests)

    def _object(self, schema: dict[str, Any]) -> Check | None:
        props = {k: self.compile(s) for k, s in (schema.get("properties") or {}).items()}
        required = tuple(schema.get("required") or ())
        extra = schema.get("additionalProperties", True)
        extra_check = None if extra is True else self.compile(extra)
        names = schema.get("propertyNames")
        names_check = None if names is None else self.compile(names)
        lo, hi = schema.get("minProperties"), schema.get("maxProperties")
        if not props and not required and extra_check is None and names_check is None and lo is None and hi is None:
            return None
        items = tuple(props.items())

        def check(v: Any) -> bool:
            if not isinstance(v, dict):
                return True  # object keywords ignore other types
            if lo is not None and len(v) < lo or hi is not None and len(v) > hi:
                return False
            for key in required:
                if key not in v:
                    return False
            for key, sub in items:
                if key in v and not sub(v[key]):
                    return False
            if extra_check is not None:
                for key, value in v.items():
                    if key not in props and not extra_check(value):
                        return False
            if names_check is not None:
                for key in v:
                    if not names_check(key):
                        return False
            return True
        return check

    def _array(self, schema: dict[str, Any]) -> Check | None:
        item = schema.get("items")
        lo, hi = schema.get("minItems"), schema.get("maxItems")
        if item is None and lo is None and hi is None:
            return None
        sub = None if item is None else self.compile(item)

        def check(v: Any) -> bool:
            if not isinstance(v, list):
                return True
            if lo is not None and len(v) < lo or hi is not None and len(v) > hi:
                return False
            return sub is None or all(map(sub, v))
        return check

    def _string(self, schema: dict[str, Any]) -> Check | None:
        pattern, lo, hi = schema.get("pattern"), schema.get("minLength"), schema.get("maxLength")
        if pattern is None and lo is None and hi is None:
            return None
        search = None if pattern is None else re.compile(pattern).search

        def check(v: Any) -> bool:
            if not isinstance(v, str):
                return True
            if lo is not None and len(v) < lo or hi is not None and len(v) > hi:
                return False
            return search is None or search(v) is not None
        return check

    def _number(self, schema: dict[str, Any]) -> Check | None:
        lo, hi = schema.get("minimum"), schema.get("maximum")
        if lo is None and hi is None:
            return None

        def check(v: Any) -> bool:
            if not _is_number(v):
                return True
            return not (lo is not None and v < lo or hi is not None and v > hi)
        return check

    def _values(self, schema: dict[str, Any]) -> Check | None:
        checks = []
        if "const" in schema:
            const = schema["const"]
            checks.append(lambda v: _same(v, const))
        if "enum" in schema:
            options = list(schema["enum"])
            checks.append(lambda v: any(_same(v, o) for o in options))
        if not checks:
            return None
        return checks[0] if len(checks) == 1 else (lambda v: all(c(v) for c in checks))

    def _combinators(self, schema: dict[str, Any]) -> Check | None:
        checks: list[Check] = []
        if "allOf" in schema:
            subs = [self.compile(s) for s in schema["allOf"]]
            checks.append(lambda v: all(s(v) for s in subs))
        if "anyOf" in schema:
            any_subs = [self.compile(s) for s in schema["anyOf"]]
            checks.append(lambda v: any(s(v) for s in any_subs))
        if "oneOf" in schema:
            one_subs = [self.compile(s) for s in schema["oneOf"]]
            checks.append(lambda v: sum(1 for s in one_subs if s(v)) == 1)
        if "not" in schema:
            negated = self.compile(schema["not"])
            checks.append(lambda v: not negated(v))
        if "if" in schema:
            cond = self.compile(schema["if"])
            then = self.compile(schema.get("then", True))
            other = self.compile(schema.get("else", True))
            checks.append(lambda v: then(v) if cond(v) else other(v))
        if not checks:
            return None
        return checks[0] if len(checks) == 1 else (lambda v: all(c(v) for c in checks))
