"""JSON Schema errors as sentences, placed on the line that caused them.

jsonschema says what is wrong in schema terms (``'x' is not valid under any of the given schemas``);
a person editing a rule file needs ``policies/a.yaml:12:5: unknown key 'sevrity'; did you mean
'severity'?``. This module turns each error into that: it descends ``oneOf``/``anyOf`` to the branch
the author meant, finds the line of the key or value (compliance.inputs.yamlpos), names the allowed
values and guesses a typo.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from compliance.base.errors import Located
from compliance.base.redact import clip
from compliance.inputs.yamlpos import JsonPath, Positions, short
from compliance.model.controls import CONTROL_PATTERN, control_problem
from compliance.model.schemacheck import best_match, errors, is_valid, rs_problems

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError


def did_you_mean(word: str, options: Iterable[str]) -> str | None:
    """The closest allowed name, if any is close enough to be a likely typo."""
    options = [str(o) for o in options]
    found = difflib.get_close_matches(str(word), options, n=1, cutoff=0.6)
    if found:
        return found[0]
    # abbreviations ('eq' for 'equals') are too short for difflib's ratio
    prefixed = [o for o in options if len(str(word)) >= 2 and o.lower().startswith(str(word).lower())]
    return prefixed[0] if len(prefixed) == 1 else None


def _wrong_type(error: ValidationError) -> bool:
    return error.validator == "type" and not error.relative_path


def _leaf(error: ValidationError) -> ValidationError:
    """Descend through oneOf/anyOf to the sub-error that says what is actually wrong.

    A branch whose type does not even match the value was not what the author meant, so
    its errors are ignored; among the rest, jsonschema's ``best_match`` picks.
    """
    while error.context and error.validator in ("oneOf", "anyOf"):
        missed = {e.relative_schema_path[0] for e in error.context if _wrong_type(e)}
        rest = [e for e in error.context if e.relative_schema_path[0] not in missed]
        if not rest:
            return error
        error = best_match(rest)
    return error


def _got(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, (dict, list)):
        return short(value)
    return f"{_type_name(value)} {short(value)}"


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__


_TYPE_WORDS = {"object": "a mapping", "array": "a list", "null": "null", "integer": "an integer"}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _expected(types: Any) -> str:
    names = _as_list(types)
    return " or ".join(_TYPE_WORDS.get(t, f"a {t}") for t in names)


def _unknown_keys(error: ValidationError) -> list[str]:
    schema = error.schema if isinstance(error.schema, dict) else {}
    allowed = schema.get("properties", {})
    patterns = schema.get("patternProperties", {})
    return [k for k in error.instance if k not in allowed and not any(re.search(p, k) for p in patterns)]


def _allowed_names(error: ValidationError) -> list[str]:
    schema = error.schema if isinstance(error.schema, dict) else {}
    return sorted(schema.get("properties", {}))


def _missing_key(error: ValidationError) -> str:
    # jsonschema yields one error per missing name, in schema order; recover which one
    found = re.match(r"^(.*) is a required property$", error.message)
    if found:
        for name in error.validator_value:
            if repr(name) == found.group(1):
                return name
    return str(error.message)


def _locate(error: ValidationError, positions: Positions, path: str) -> list[tuple[Located, str | None]]:
    """Located messages for one (leaf) error, each with the key it would rename, if any."""
    jpath = tuple(error.absolute_path)
    v = error.validator
    inst = error.instance

    def at_value(msg: str) -> list[tuple[Located, str | None]]:
        line, col = positions.value(jpath)
        return [(Located(path, line, col, msg), None)]

    if v == "additionalProperties" and isinstance(inst, dict):
        allowed = _allowed_names(error)
        out = []
        for key in _unknown_keys(error):
            line, col = positions.key((*jpath, key))
            guess = did_you_mean(key, allowed)
            if guess:
                msg = f"unknown key {key!r}; did you mean {guess!r}?"
            elif allowed:
                msg = f"unknown key {key!r} (allowed: {', '.join(allowed)})"
            else:
                msg = f"unknown key {key!r}"
            out.append((Located(path, line, col, msg), guess))
        return out
    if v == "enum":
        options = error.validator_value
        if len(options) == 1 and not isinstance(inst, str):
            return at_value(f"expected {short(options[0])}, got {short(inst)}")
        guess = did_you_mean(inst, [o for o in options if isinstance(o, str)]) if isinstance(inst, str) else None
        shown = ", ".join(short(o, 30) for o in options)
        if guess and len(shown) > 120:  # the guess is what helps; a long list only buries it
            what = f" for {jpath[-1]!r}" if jpath and isinstance(jpath[-1], str) else ""
            return at_value(f"{short(inst)} is not an allowed value{what}; did you mean {guess!r}?")
        if len(shown) > 300:
            shown = shown[:297] + "..."
        msg = f"{short(inst)} is not one of {shown}"
        return at_value(msg + (f"; did you mean {guess!r}?" if guess else ""))
    if v == "const":
        return at_value(f"{short(inst)} must be {short(error.validator_value)}")
    if v == "required":
        return at_value(f"missing required key {_missing_key(error)!r}")
    if v in ("oneOf", "anyOf") and error.context and all(_wrong_type(e) for e in error.context):
        types = [t for e in error.context for t in _as_list(e.validator_value)]
        return at_value(f"expected {_expected(list(dict.fromkeys(types)))}, got {_got(inst)}")
    if v == "type":
        return at_value(f"expected {_expected(error.validator_value)}, got {_got(inst)}")
    if v == "pattern" and error.validator_value == CONTROL_PATTERN:  # a 1,500-character pattern helps no one
        return at_value(control_problem(inst) or f"{short(inst)} is not a control")
    if v == "pattern" and isinstance(error.schema, dict) and error.schema.get("patternHint"):
        return at_value(f"{short(inst)} is not {error.schema['patternHint']}")
    if v == "pattern":  # the end guard is for Python's ``$`` (compliance.model.schemacheck), not for readers
        shown = str(error.validator_value).removesuffix("(?!\\n)")
        return at_value(f"{short(inst)} does not match the pattern {shown}")
    if v in ("minItems", "maxItems", "minLength", "maxLength", "minimum", "maximum", "minProperties"):
        return at_value(f"{short(inst)}: must satisfy {v} {error.validator_value}")
    return at_value(clip(error.message, 200))


def validate(data: Any, positions: Positions, schema: dict[str, Any], path: str) -> list[Located]:
    """Every schema violation in ``data``, placed at the most specific line and column.

    Valid input (the usual case) is recognised by jsonschema-rs alone (compliance.model.schemacheck);
    jsonschema runs only to find and word what is wrong.
    """
    if is_valid(data, schema):
        return []
    located: list[tuple[Located, str | None, JsonPath, ValidationError]] = []
    for raw in errors(data, schema):
        error = _leaf(raw)
        for loc, guess in _locate(error, positions, path):
            located.append((loc, guess, tuple(error.absolute_path), error))
    # a misspelled required key is one mistake: the did-you-mean already says it
    renamed = {(jp, guess) for _, guess, jp, _ in located if guess}
    out = []
    for loc, _, jp, error in located:
        if error.validator == "required" and (jp, _missing_key(error)) in renamed:
            continue
        out.append(loc)
    if not located:  # refused by jsonschema-rs alone (a NaN): its own words, never a silent pass
        out = [Located(path, *positions.value(where), clip(msg, 200)) for where, msg in rs_problems(data, schema)]
    return sorted(set(out))
