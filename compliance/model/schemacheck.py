"""Is this document valid? jsonschema-rs answers; jsonschema explains.

Most documents we check are valid, and some are large (a 100,000-commit snapshot holds millions
of values), so the yes/no question goes to jsonschema-rs, a native validator about ten times
faster than the closure compiler it replaces (62 vs 708 ms on a 22 MB snapshot, same run). jsonschema
stays the authority for *why* a document is wrong: its errors carry the schema context
(``oneOf`` branches, ``validator_value``) that ``compliance.inputs.schema_messages`` turns into
``FILE:LINE:COL`` sentences, and it is slow to import, so only an invalid document pays for it.

The two must agree, and the property tests (tests/reliability/test_schemacheck.py,
test_conforms.py) hold them to it on JSON data. Where they are known to differ, our schemas are
written so they do not: a pattern's ``$`` is followed by ``(?!\\n)`` (Python's ``$`` also matches
before a final newline, ECMA's does not) and digits are ``[0-9]`` (Python's ``\\d`` is Unicode).
What remains is data no JSON parser builds (jsonschema-rs refuses NaN as a number and reads a
tuple as an array) or cannot take (a date, a non-string key): the latter is left to jsonschema.
``rs_problems`` gives jsonschema-rs's own reasons, for the rare document it refuses and
jsonschema does not, so a refusal is never left without a word.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TYPE_CHECKING, Any

import jsonschema_rs

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

_KEPT = 64  # validators kept; a schema built per call (a rule file's) must not grow the cache forever
_VALIDATORS: dict[int, tuple[Any, Any]] = {}


def _validator(schema: Any) -> Any:
    """The compiled validator for this schema object, kept while the object is."""
    hit = _VALIDATORS.get(id(schema))
    if hit is None or hit[0] is not schema:
        if len(_VALIDATORS) >= _KEPT:
            del _VALIDATORS[next(iter(_VALIDATORS))]
        # no format assertions (Draft 2020-12 reads ``format`` as an annotation, as jsonschema does
        # without a format checker) and no network for a remote ``$ref``
        hit = _VALIDATORS[id(schema)] = (schema, jsonschema_rs.Draft202012Validator(
            schema, validate_formats=False, offline=True))
    return hit[1]


def is_valid(doc: Any, schema: dict[str, Any]) -> bool:
    """Whether ``doc`` fits ``schema`` (Draft 2020-12, formats not asserted)."""
    try:
        return bool(_validator(schema).is_valid(doc))
    except ValueError:  # not JSON data (a date, a non-string key): jsonschema's own rules decide
        return not any(True for _ in errors(doc, schema))


def errors(doc: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    """jsonschema's errors for ``doc``: the explanation, with the schema context messages need.

    Imported here and only here: jsonschema costs about 100 ms to import, which a valid rule
    file (the usual case of a start-up-bound command) never pays."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema).iter_errors(doc)


def rs_problems(doc: Any, schema: dict[str, Any], limit: int = 50) -> list[tuple[tuple[Any, ...], str]]:
    """(JSON path, message) of jsonschema-rs's own errors: for a document only it refuses."""
    try:
        found = list(islice(_validator(schema).iter_errors(doc), limit))
    except ValueError as exc:  # pragma: no cover - is_valid already gave such data to jsonschema
        return [((), str(exc))]
    out = []
    for err in found:
        where = tuple(err.instance_path)
        value = _at(doc, where)
        # jsonschema-rs sees NaN and Infinity as null: name what was written instead
        wrong = isinstance(value, float) and not math.isfinite(value)
        out.append((where, f"{value!r} is not a JSON number (NaN and Infinity are not allowed)" if wrong
                    else err.message))
    return out


def _at(doc: Any, where: tuple[Any, ...]) -> Any:
    for part in where:
        try:
            doc = doc[part]
        except (LookupError, TypeError):
            return None
    return doc


def best_match(candidates: Iterable[ValidationError]) -> ValidationError:
    """jsonschema's pick of the error that says most about what is wrong (see ``errors``)."""
    from jsonschema.exceptions import best_match as pick

    return pick(candidates)
