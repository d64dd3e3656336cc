"""Generic kinds a governance team reaches for: field checks, co-change, tracker references."""

from __future__ import annotations

import re
from typing import Any

from compliance.base.globs import compile_glob
from compliance.base.ids import find_task_ids
from compliance.base.redact import clip
from compliance.judge.checks.common import SOURCE_NAMES, change_finding, no_changes
from compliance.judge.registry import register
from compliance.model.findings import ERROR, FAIL, PASS, Finding

OPS = ["equals", "not_equals", "in", "not_in", "matches", "contains", "exists", "absent", "gt", "gte", "lt", "lte"]


def _compare(op: str, actual: Any, expected: Any) -> bool:
    if op == "equals":
        return actual == expected
    if op == "not_equals":
        return actual != expected
    if op == "in":
        return actual in (expected or [])
    if op == "not_in":
        return actual not in (expected or [])
    if op == "matches":
        return isinstance(actual, str) and re.search(str(expected), actual) is not None
    if op == "contains":
        return expected in actual if isinstance(actual, (list, str, dict)) else False
    if op == "exists":
        return actual is not None
    if op == "absent":
        return actual is None
    # ordering: numbers, or ISO timestamps compared as strings of the same shape
    if type(actual) is bool or type(expected) is bool:
        raise TypeError("cannot order booleans")
    table = {"gt": actual > expected, "gte": actual >= expected, "lt": actual < expected, "lte": actual <= expected}
    return table[op]


def check_field(ctx, rule, params) -> list[Finding]:
    import jmespath

    data = ctx.source(params["source"])
    subject = f"{params['source']}:{params['path']}"
    try:
        actual = jmespath.search(params["path"], data)
    except jmespath.exceptions.JMESPathError as exc:
        return [Finding(rule.id, "source", subject, ERROR, f"invalid JMESPath expression: {exc}")]
    op, expected = params["op"], params.get("value")
    evidence = [{"kind": "source", "label": clip(f"{subject} = {actual!r}", 300), "url": None}]
    if actual is None and op not in ("exists", "absent"):
        return [Finding(rule.id, "source", subject, ERROR, f"{params['path']} has no value in '{params['source']}'", evidence)]
    try:
        ok = _compare(op, actual, expected)
    except (TypeError, re.error) as exc:
        return [Finding(rule.id, "source", subject, ERROR, f"cannot apply '{op}' to {actual!r}: {exc}", evidence)]
    verb = "satisfies" if ok else "does not satisfy"
    return [Finding(rule.id, "source", subject, PASS if ok else FAIL,
                    clip(f"{params['path']} = {actual!r} {verb} {op} {expected!r}", 500), evidence)]


register(
    "field",
    summary="Compare any collected value (a JMESPath expression over one source's data) with an operator.",
    reads=(),
    reads_param="source",
    subject="source",
    params={
        "required": ["source", "path", "op"],
        "properties": {
            "source": {"enum": SOURCE_NAMES, "description": "which source's data to read"},
            "path": {"type": "string", "minLength": 1, "description": "JMESPath expression, e.g. configuration.Runtime"},
            "op": {"enum": OPS, "description": "comparison operator"},
            "value": {"description": "expected value (list for in/not_in, regex for matches)"},
        },
    },
    example={"kind": "field", "source": "lambda", "path": "configuration.Runtime", "op": "in",
             "value": ["python3.11", "python3.12"]},
)(check_field)


def check_co_change(ctx, rule, params) -> list[Finding]:
    when = [compile_glob(g) for g in params["when"]]
    out = []
    for change in ctx.changes(rule.scope):
        trigger = [p for p in change.files if any(w.match(p) for w in when)]
        if not trigger:
            continue
        missing = [g for g in params["require"] if not any(compile_glob(g).match(p) for p in change.files)]
        if missing:
            out.append(change_finding(rule.id, change, FAIL,
                                      f"changed {', '.join(trigger[:3])} without changing {', '.join(missing)}"))
        else:
            out.append(change_finding(rule.id, change, PASS, f"changed {trigger[0]} together with the required files"))
    return out or [no_changes(rule.id)]


register(
    "co_change",
    summary="If a change touches files matching `when`, it must also touch a file matching each `require` glob.",
    reads=("git",),
    subject="change",
    params={
        "required": ["when", "require"],
        "properties": {
            "when": {"type": "array", "items": {"type": "string", "format": "glob"}, "minItems": 1,
                     "description": "globs of files whose change triggers the requirement"},
            "require": {"type": "array", "items": {"type": "string", "format": "glob"}, "minItems": 1,
                        "description": "each glob must match at least one file of the same change"},
        },
    },
    example={"kind": "co_change", "when": ["backend/lambda/coordination_api/schema/**"],
             "require": ["backend/lambda/coordination_api/governance_data_dictionary.json"]},
)(check_co_change)


def check_tracker_ref(ctx, rule, params) -> list[Finding]:
    pattern = params.get("pattern")
    out = []
    for change in ctx.changes(rule.scope):
        c = change.commit
        ids = (find_task_ids(c["subject"], c["body"], c.get("source_branch") or "", pattern=pattern)
               if pattern else change.task_ids)
        if ids:
            out.append(change_finding(rule.id, change, PASS, f"references {', '.join(ids)}"))
        else:
            out.append(change_finding(rule.id, change, FAIL, "no tracker id in the subject, body or branch name"))
    return out or [no_changes(rule.id)]


register(
    "tracker_ref",
    summary="Every in-scope change references a tracker id (subject, body or branch name).",
    reads=("git",),
    subject="change",
    params={
        "properties": {
            "pattern": {"type": "string", "format": "regex",
                        "description": "regex overriding the target's tracker id pattern"},
        },
    },
    example={"kind": "tracker_ref"},
)(check_tracker_ref)
