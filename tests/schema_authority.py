"""jsonschema's validator, the authority the schema tests compare jsonschema-rs with, built once per schema.

Building a ``Draft202012Validator`` resolves the schema's references again; the agreement property tests
built one for every example, which cost about a tenth of checking a whole mutated snapshot and most of
checking a small rule file. A validator keeps no state between ``is_valid`` calls, so one per schema
object judges each document as a new one would.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

_BUILT: dict[int, tuple[Any, Draft202012Validator]] = {}


def authority(schema: Any) -> Draft202012Validator:
    """The validator for this schema object. The schema is kept beside it, so its id cannot be reused by
    another object while the entry stands (a new, equal schema gets a validator of its own)."""
    kept = _BUILT.get(id(schema))
    if kept is None or kept[0] is not schema:
        kept = _BUILT[id(schema)] = (schema, Draft202012Validator(schema))
    return kept[1]


def source_validator(name: str) -> Draft202012Validator:
    """jsonschema's validator for one source's data (``$defs/<name>`` of the shipped snapshot schema)."""
    from compliance.model.snapshot import def_schema

    return authority(def_schema(name))
