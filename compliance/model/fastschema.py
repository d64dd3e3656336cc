"""A yes/no JSON Schema check compiled to closures, for the keywords our own schemas use.

jsonschema is the authority: it explains *where* and *why* a document is wrong. It is also slow
on big documents (a 100,000-commit snapshot has millions of values) and slow to import (a rule
file check that imports it misses the start-up budget). ``compile_schema`` turns a schema into one
Python function that only answers "valid?", exactly as jsonschema's Draft 2020-12 validator would
(no format checker, as we run it), ten to twenty times faster; the callers run jsonschema only to
explain a ``False``.

Exact, not merely cautious: a doubtful "invalid" would turn into a wrong "valid" under ``not``,
``if`` or ``oneOf``. So what this module cannot decide it refuses: a keyword it does not
implement, a remote ``$ref`` or a nested ``$id`` make ``compile_schema`` raise ``Unsupported``,
and an instance that is not plain JSON data (a tuple, a date) makes the check raise ``Unsure`` at
the point it matters. Either way the caller asks jsonschema. Property tests
(tests/reliability/test_fastschema.py, test_conforms.py) hold the verdicts to jsonschema's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

# keywords Draft 2020-12 validation ignores (no format checker is used, so ``format`` is one);
# ``then``/``else`` are read by ``if``
_IGNORED = frozenset({"$schema", "$defs", "$comment", "title", "description", "default", "examples",
                      "deprecated", "readOnly", "writeOnly", "format", "then", "else"})
_PLAIN = (str, int, float, list, dict, type(None))  # what json.loads and loads_yaml build (bool is an int)


class Unsupported(Exception):
    """The schema uses something this compiler does not implement: use jsonschema alone."""


class Unsure(Exception):
    """The instance holds something that is not plain JSON data: let jsonschema decide."""


def conforms(data: Any, schema: Any) -> bool | None:
    """True or False when the compiled check can tell, None when jsonschema must decide."""
    try:
        check = _cached(schema)
        return None if check is None else check(data)
    except Exception:  # Unsure, too deep, or odd data a check trips on: jsonschema decides
        return None


_COMPILED: dict[int, tuple[Any, Check | None]] = {}


def _cached(schema: Any) -> Check | None:
    """The compiled check for this schema object (None if it cannot be compiled), kept per object."""
    hit = _COMPILED.get(id(schema))
    if hit is None or hit[0] is not schema:
        try:
            check: Check | None = compile_schema(schema)
        except Exception:  # Unsupported, or a malformed schema jsonschema will report itself
            check = None
        hit = _COMPILED[id(schema)] = (schema, check)
    return hit[1]


def compile_schema(schema: Any) -> Check:
    """One function answering "is this document valid?" for ``schema`` (local ``#...`` refs only)."""
    return _Compiler(schema).compile(schema)


def _equal(one: Any, two: Any) -> bool:
    """jsonschema's equality: ``True`` is not ``1``, ``1`` is ``1.0``, containers item by item."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return one == two
    if not isinstance(one, _PLAIN) or not isinstance(two, _PLAIN):
        raise Unsure  # a tuple, a date...: jsonschema's Sequence and Mapping rules decide
    if isinstance(one, list) and isinstance(two, list):
        return len(one) == len(two) and all(map(_equal, one, two))
    if isinstance(one, dict) and isinstance(two, dict):
        return len(one) == len(two) and all(k in two and _equal(v, two[k]) for k, v in one.items())
    if isinstance(one, (bool, list, dict)) or isinstance(two, (bool, list, dict)):
        return False  # equal booleans are the same object; a container never equals a scalar
    return bool(one == two)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_integer(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    return isinstance(v, int) or (isinstance(v, float) and v.is_integer())


_TYPES: dict[str, Check] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _all(checks: list[Check]) -> Check | None:
    """All of ``checks``, without a generator per call for the usual two or three."""
    if not checks:
        return None
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        a, b = checks
        return lambda v: a(v) and b(v)
    if len(checks) == 3:
        a, b, c = checks
        return lambda v: a(v) and b(v) and c(v)
    return lambda v: all(c(v) for c in checks)


def _not_plain(v: Any) -> bool:
    """False for plain JSON data that failed a type test; anything else is jsonschema's to judge."""
    if not isinstance(v, _PLAIN):
        raise Unsure
    return False


_CLASSES: dict[str, Any] = {"object": dict, "array": list, "string": str}


class _Compiler:
    def __init__(self, root: Any) -> None:
        self.root = root
        self.refs: dict[str, list[Check]] = {}

    def compile(self, schema: Any) -> Check:
        if schema is True:
            return lambda v: True
        if schema is False:
            return lambda v: False
        if not isinstance(schema, dict):
            raise Unsupported(f"schema {schema!r}")
        for key in schema:
            if key == "$id" and schema is self.root:
                continue
            if key not in _IGNORED and key not in _KEYWORDS:
                raise Unsupported(key)
        checks = [c for c in (self._type(schema), self._ref(schema), self._object(schema), self._array(schema),
                              self._string(schema), self._number(schema), self._values(schema),
                              self._combinators(schema)) if c is not None]
        return _all(checks) or (lambda v: True)

    def _resolve(self, ref: Any) -> Any:
        if not isinstance(ref, str) or not (ref == "#" or ref.startswith("#/")) or "%" in ref:
            raise Unsupported(f"$ref {ref!r}")
        node = self.root
        for part in ref[2:].split("/") if ref != "#" else []:
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise Unsupported(f"unresolvable $ref {ref}")
            if isinstance(node, dict) and "$id" in node:
                raise Unsupported("nested $id")  # another resource, with its own base for its refs
        return node

    def _ref(self, schema: dict[str, Any]) -> Check | None:
        if "$ref" not in schema:
            return None
        ref = schema["$ref"]
        if ref not in self.refs:
            target = self._resolve(ref)
            cell: list[Check] = []
            self.refs[ref] = cell  # a schema that refers to itself finds the cell while it is compiled
            cell.append(self.compile(target))
        cell = self.refs[ref]
        return cell[0] if cell else (lambda v: cell[0](v))

    def _type(self, schema: dict[str, Any]) -> Check | None:
        if "type" not in schema:
            return None
        t = schema["type"]
        names = [t] if isinstance(t, str) else t
        if not isinstance(names, list) or any(n not in _TYPES for n in names):
            raise Unsupported(f"type {t!r}")
        if len(names) == 1 and names[0] in _CLASSES:
            cls = _CLASSES[names[0]]
            return lambda v: isinstance(v, cls) or _not_plain(v)
        if len(names) == 1:
            test = _TYPES[names[0]]
            return lambda v: test(v) or _not_plain(v)
        tests = [_TYPES[n] for n in names]

        def check(v: Any) -> bool:
            if any(test(v) for test in tests):
                return True
            if not isinstance(v, _PLAIN):
                raise Unsure
            return False
        return check

    def _object(self, schema: dict[str, Any]) -> Check | None:
        props = {k: self.compile(s) for k, s in (schema.get("properties") or {}).items()}
        patterns = [(re.compile(p).search, self.compile(s)) for p, s in (schema.get("patternProperties") or {}).items()]
        any_pattern = re.compile("|".join(schema["patternProperties"])).search if patterns else None
        required = tuple(schema.get("required") or ())
        dependent = tuple((k, tuple(v)) for k, v in (schema.get("dependentRequired") or {}).items())
        extra = schema.get("additionalProperties", True)
        extra_check = None if extra is True else self.compile(extra)
        names = schema.get("propertyNames")
        names_check = None if names is None else self.compile(names)
        lo, hi = schema.get("minProperties"), schema.get("maxProperties")
        if not (props or patterns or required or dependent or extra_check or names_check) and lo is None and hi is None:
            return None
        items = tuple(props.items())

        def check(v: Any) -> bool:
            if not isinstance(v, dict):
                return True  # object keywords pass any other type
            if lo is not None and len(v) < lo or hi is not None and len(v) > hi:
                return False
            for key in required:
                if key not in v:
                    return False
            for key, needed in dependent:
                if key in v and any(n not in v for n in needed):
                    return False
            for key, sub in items:
                if key in v and not sub(v[key]):
                    return False
            for search, sub in patterns:
                for key, value in v.items():
                    if search(key) and not sub(value):
                        return False
            if extra_check is not None:
                for key, value in v.items():
                    if key not in props and not (any_pattern and any_pattern(key)) and not extra_check(value):
                        return False
            if names_check is not None:
                for key in v:
                    if not names_check(key):
                        return False
            return True
        return check

    def _array(self, schema: dict[str, Any]) -> Check | None:
        if "prefixItems" in schema:
            raise Unsupported("prefixItems")
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
        xlo, xhi = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        if lo is None and hi is None and xlo is None and xhi is None:
            return None

        def check(v: Any) -> bool:
            if not _is_number(v):
                return True
            return not (lo is not None and v < lo or hi is not None and v > hi
                        or xlo is not None and v <= xlo or xhi is not None and v >= xhi)
        return check

    def _values(self, schema: dict[str, Any]) -> Check | None:
        checks: list[Check] = []
        if "const" in schema:
            const = schema["const"]
            checks.append(lambda v: _equal(v, const))
        if "enum" in schema:
            options = list(schema["enum"])
            checks.append(lambda v: any(_equal(o, v) for o in options))
        return _all(checks)

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
        return _all(checks)


_KEYWORDS = frozenset({
    "type", "$ref", "properties", "patternProperties", "additionalProperties", "required", "dependentRequired",
    "propertyNames", "minProperties", "maxProperties", "items", "minItems", "maxItems", "pattern", "minLength",
    "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "const", "enum", "allOf", "anyOf",
    "oneOf", "not", "if",
})
