"""Reading a waiver file: every problem at its line, spans bounded, unknown rules refused.

Exceptions that never expire become permanent holes, so every waiver names an owner, a ticket and an
expiry within a bounded span (``max_days``); the span is measured from ``created`` or from the
evaluation time, never from the wall clock.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from compliance.base.errors import InputError, Located
from compliance.base.globs import GlobError, compile_glob
from compliance.inputs.schema_messages import did_you_mean, validate
from compliance.inputs.yamlpos import load_yaml
from compliance.model.waivers import DEFAULT_MAX_DAYS, DEFAULT_WARN_DAYS, Waiver, WaiverFile

_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$(?!\n)"
_TEXT = {"type": "string", "minLength": 1}

WAIVER_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "waivers.yaml",
    "type": "object",
    "additionalProperties": False,
    "required": ["version", "waivers"],
    "properties": {
        "version": {"enum": [1]},
        "max_days": {"type": "integer", "minimum": 1, "maximum": 3660,
                     "description": "longest allowed span from created (or evaluation time) to expires"},
        "warn_days": {"type": "integer", "minimum": 0,
                      "description": "waivers expiring within this many days are reported as a warning"},
        "waivers": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["rule", "subject", "owner", "reason", "ticket", "expires"],
                "properties": {
                    "rule": _TEXT,
                    "subject": {
                        "type": "object",
                        "additionalProperties": False,
                        "minProperties": 1,
                        "maxProperties": 1,
                        "properties": {
                            "sha": {"type": "string", "pattern": r"^[0-9a-fA-F]{7,40}$(?!\n)"},
                            "pr": {"type": "integer", "minimum": 1},
                            "resource": _TEXT,
                            "path": _TEXT,
                        },
                    },
                    "owner": _TEXT,
                    "reason": _TEXT,
                    "ticket": _TEXT,
                    "expires": {"type": "string", "pattern": _DATE},
                    "created": {"type": "string", "pattern": _DATE},
                },
            },
        },
    },
}


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def load_waivers(path: str, *, now: datetime, rule_ids: set[str] | None = None,
                 warn_days: int | None = None) -> WaiverFile:
    """Read and validate a waiver file; every problem is raised at once, at its line.

    ``now`` is the evaluation time (the snapshot's ``collected_at``): a waiver without
    ``created`` has its span measured from it. ``rule_ids``, when given, turns a waiver for an
    unknown rule (usually a typo that would silently excuse nothing) into an error.
    """
    try:
        data, pos = load_yaml(path)
    except InputError as exc:
        raise InputError(exc.problems, what="waivers") from None
    problems = validate(data, pos, WAIVER_SCHEMA, path)
    if problems:
        raise InputError(problems, what="waivers")

    def at(jpath: tuple[Any, ...], message: str) -> None:
        line, col = pos.value(jpath)
        problems.append(Located(path, line, col, message))

    max_days = data.get("max_days", DEFAULT_MAX_DAYS)
    today = now.astimezone(timezone.utc).date()
    out: list[Waiver] = []
    for i, raw in enumerate(data["waivers"]):
        here = ("waivers", i)
        expires, created = _date(raw["expires"]), _date(raw["created"]) if "created" in raw else None
        if expires is None:
            at((*here, "expires"), f"expires {raw['expires']!r} is not a valid date")
        if "created" in raw and created is None:
            at((*here, "created"), f"created {raw['created']!r} is not a valid date")
        if created and created > today:
            # a future `created` would stretch the span: 851 days left on a 90-day cap
            at((*here, "created"), f"created {created} is after the evaluation date {today}: a waiver cannot "
               "be created in the future (its span to expires is measured from created)")
        elif expires and created and created > expires:
            at((*here, "expires"), f"expires {expires} is before created {created}")
        elif expires:
            start = created or today
            span = (expires - start).days
            if span > max_days:
                frm = f"created {created}" if created else f"the evaluation date {today}"
                at((*here, "expires"), f"waiver spans {span} days from {frm} to {expires}; the maximum is "
                   f"{max_days} (max_days): renew it with a new review instead of a longer expiry")
        if rule_ids is not None and raw["rule"] not in rule_ids:
            guess = did_you_mean(raw["rule"], sorted(rule_ids))
            at((*here, "rule"), f"unknown rule {raw['rule']!r}" + (f"; did you mean {guess!r}?" if guess else ""))
        (kind, value), = raw["subject"].items()
        if kind == "sha":
            value = value.lower()
        if kind == "path":
            try:
                compile_glob(value)
            except GlobError as exc:
                at((*here, "subject", "path"), f"invalid glob {value!r}: {exc}")
        if expires:
            out.append(Waiver(i, raw["rule"], kind, value, raw["owner"], raw["reason"], raw["ticket"], expires,
                              created, pos.value(here)[0]))
    if problems:
        raise InputError(problems, what="waivers")
    wd = warn_days if warn_days is not None else data.get("warn_days", DEFAULT_WARN_DAYS)
    return WaiverFile(path, out, max_days, wd)


