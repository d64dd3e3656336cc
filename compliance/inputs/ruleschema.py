"""The rule-file JSON Schema and the Markdown rule reference, both generated from the registry.

Nothing here lists check kinds or their parameters by hand: adding a kind to the registry
adds it to the schema that validates rule files and to the reference in the README, so the
three cannot drift apart.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from compliance.judge.registry import CheckKind, all_kinds, kind_params
from compliance.model.controls import CONTROL_PATTERN, FRAMEWORKS
from compliance.model.findings import SEVERITIES

RULE_ID_PATTERN = r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$(?!\n)"
SCHEMA_ID = "https://deploy-compliance.invalid/schemas/rules.schema.json"

_TEXT = {"type": "string", "minLength": 1}
_GLOBS = {"type": "array", "items": {"type": "string", "minLength": 1}}


def _check_schema(kinds: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One check item: ``kind`` picks the parameter schema that the other keys must obey.

    ``if``/``then`` per kind (rather than ``oneOf``) keeps errors precise: only the branch of
    the kind that was written is checked, so a misspelled parameter is one error at its own
    line, and an unknown kind is one enum error with a did-you-mean.
    """
    branches = []
    for name, params in kinds.items():
        props = {"kind": {"const": name}, **params.get("properties", {})}
        then: dict[str, Any] = {"properties": props, "additionalProperties": False}
        if params.get("required"):
            then["required"] = list(params["required"])
        for extra in ("patternProperties", "dependentRequired", "allOf", "oneOf", "anyOf", "not", "if", "then", "else"):
            if extra in params:
                then[extra] = params[extra]
        branches.append({"if": {"properties": {"kind": {"const": name}}, "required": ["kind"]}, "then": then})
    schema: dict[str, Any] = {
        "type": "object",
        "required": ["kind"],
        "properties": {"kind": {"enum": sorted(kinds), "description": "A registered check kind."}},
    }
    if branches:
        schema["allOf"] = branches
    return schema


def rule_file_schema(params: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """JSON Schema (Draft 2020-12) of a rule file, for the check kinds registered now.

    ``params``: each kind's parameter schema, as ``kind_params()`` gives them (the default).
    """
    kinds = kind_params() if params is None else params
    rule = {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "title", "severity", "rationale", "runbook_section", "checks", "remediation"],
        "properties": {
            "id": {"type": "string", "pattern": RULE_ID_PATTERN, "description": "Stable id, e.g. API-MCP-001."},
            "title": {**_TEXT, "description": "One line: what must hold."},
            "severity": {"enum": list(SEVERITIES)},
            "rationale": {**_TEXT, "description": "Why the rule exists, in the runbook's words."},
            "runbook_section": {**_TEXT, "description": "The runbook heading the rule encodes."},
            "controls": {"$ref": "#/$defs/controls"},
            "scope": {"$ref": "#/$defs/scope"},
            "effective": {"$ref": "#/$defs/effective"},
            "checks": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/check"}},
            "remediation": {"$ref": "#/$defs/remediation"},
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Compliance rule file",
        "type": "object",
        "additionalProperties": False,
        "required": ["version", "rules"],
        "properties": {
            "version": {"enum": [1], "description": "Rule file format version."},
            "rules": {"type": "array", "items": {"$ref": "#/$defs/rule"}},
        },
        "$defs": {
            "rule": rule,
            "scope": {
                "type": "object",
                "additionalProperties": False,
                "required": ["include"],
                "properties": {
                    "include": {**_GLOBS, "minItems": 1, "description": "Paths the rule governs (GitHub globs)."},
                    "exclude": {**_GLOBS, "description": "Paths taken out of the include set."},
                    "branch": {**_TEXT, "description": "Branch governed; default: the target's branch."},
                },
            },
            "effective": {
                "type": "object",
                "additionalProperties": False,
                "minProperties": 1,
                "properties": {
                    "from": {"type": "string", "description": "Date or timestamp the rule starts to apply."},
                    "until": {"type": "string", "description": "Last date (inclusive) or timestamp it applies."},
                },
            },
            "controls": {
                "type": "array",
                "minItems": 1,
                "description": "The framework controls the rule's verdicts are evidence for, FRAMEWORK:ID "
                               "(" + ", ".join(f.example for f in FRAMEWORKS.values()) + ").",
                "items": {"type": "string", "pattern": CONTROL_PATTERN},
            },
            "check": _check_schema(kinds),
            "remediation": {
                "type": "object",
                "additionalProperties": False,
                "required": ["text"],
                "properties": {
                    "text": {**_TEXT, "description": "What to do about a failure."},
                    "command": {"type": "string", "description": "The exact command that fixes or re-checks it."},
                },
            },
        },
    }


# --- Markdown reference ------------------------------------------------------------


def _type_text(prop: dict[str, Any]) -> str:
    if "const" in prop:
        return f"`{json.dumps(prop['const'])}`"
    if "enum" in prop:
        return "one of " + ", ".join(f"`{json.dumps(v)}`" for v in prop["enum"])
    for combo in ("oneOf", "anyOf"):
        if combo in prop:
            return " or ".join(_type_text(p) for p in prop[combo])
    t = prop.get("type")
    if t is None:
        return "any"
    if isinstance(t, list):
        return " or ".join(_type_text({**prop, "type": x}) for x in t)
    if t == "array":
        items = prop.get("items")
        return f"list of {_type_text(items)}" if isinstance(items, dict) else "list"
    if t == "object":
        return "mapping"
    fmt = prop.get("format")
    return f"{t} ({fmt})" if fmt else t


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _params_table(params: dict[str, Any]) -> list[str]:
    props = params.get("properties", {})
    if not props:
        return ["No parameters."]
    required = set(params.get("required", []))
    lines = ["| Parameter | Type | Required | Default | Description |", "|---|---|---|---|---|"]
    for name in sorted(props):
        prop = props[name]
        default = f"`{json.dumps(prop['default'])}`" if "default" in prop else ""
        lines.append(
            f"| `{name}` | {_cell(_type_text(prop))} | {'yes' if name in required else 'no'} | "
            f"{_cell(default)} | {_cell(prop.get('description', ''))} |"
        )
    return lines


def _example_yaml(kind: CheckKind) -> str:
    example = dict(kind.example)
    if "kind" not in example:
        example = {"kind": kind.name, **example}
    text = yaml.safe_dump({"checks": [example]}, sort_keys=False, default_flow_style=False, width=100)
    return text.rstrip("\n")


_FORMAT = """\
A rule file is YAML:

```yaml
version: 1
rules:
  - id: API-MCP-001            # {id_pattern}
    title: In-scope changes are deployed by the canonical workflow
    severity: high             # {severities}
    rationale: Why the rule exists.
    runbook_section: Canonical Automation
    controls:                  # optional: FRAMEWORK:ID, see "Controls" below
      - SOC2:CC8.1
      - ISO27001:2022:A.8.32
      - NIST-800-53:CM-3
    scope:                     # optional; rules about resources need none
      include: ["backend/lambda/coordination_api/**"]
      exclude: ["**/governance_data_dictionary.json"]
      branch: main             # optional; default: the target's branch
    effective:                 # optional
      from: 2026-02-24
      until: 2026-12-31        # a bare date means the end of that day (UTC)
    checks:                    # one or more; `kind` plus that kind's parameters
      - kind: {first_kind}
    remediation:
      text: What to do about a failure.
      command: the exact command   # optional
```

Required in every rule: `id`, `title`, `severity`, `rationale`, `runbook_section`, `checks`,
`remediation` (with `text`). Scope globs use GitHub Actions filter syntax. A file or folder of
rule files is validated as a whole: any problem anywhere means nothing is evaluated.

## Controls

`controls` ties a rule to the framework controls its verdicts are evidence for; the reports group
the rules and their failing subjects by control. Each entry is `FRAMEWORK:ID`, and only ids the
framework defines are accepted (a typo is an error at its line, with a did-you-mean):

{frameworks}
"""


def _frameworks_table() -> str:
    rows = ["| Framework | Written | Ids accepted |", "|---|---|---|"]
    rows += [f"| {f.title} | `{f.example}` | {_cell(f.forms)} |" for f in FRAMEWORKS.values()]
    return "\n".join(rows)


def rules_reference_markdown() -> str:
    """The README's rule reference: the file format, then every registered check kind."""
    kinds = all_kinds()
    out = [
        "# Rule reference",
        "",
        _FORMAT.format(
            id_pattern=RULE_ID_PATTERN,
            severities=" | ".join(SEVERITIES),
            first_kind=next((n for n, k in kinds.items() if not k.params.get("required")), "<kind>"),
            frameworks=_frameworks_table(),
        ).rstrip("\n"),
        "",
        "## Check kinds",
        "",
    ]
    if not kinds:
        out += ["No check kinds are registered.", ""]
    for name, kind in kinds.items():
        out += [
            f"### `{name}`",
            "",
            kind.summary,
            "",
            f"- One finding per: **{kind.subject}**",
            f"- Sources read: {', '.join(f'`{s}`' for s in kind.reads) if kind.reads else 'none'}",
            "",
            *_params_table(kind.params),
            "",
            "```yaml",
            _example_yaml(kind),
            "```",
            "",
        ]
    return "\n".join(out).rstrip("\n") + "\n"


def kinds_table_markdown() -> str:
    """The one-line-per-kind table embedded in the README (a test keeps it equal to this)."""
    rows = ["| Kind | One finding per | Sources | What it checks |", "|---|---|---|---|"]
    for name, kind in all_kinds().items():
        named = f"the one named in `{kind.reads_param}`" if kind.reads_param else "none"
        needs = ", ".join(f"`{n}`" for n in kind.reads) or named
        rows.append(f"| `{name}` | {kind.subject} | {needs} | {kind.summary} |")
    return "\n".join(rows) + "\n"
