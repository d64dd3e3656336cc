"""Rule files: the generated schema, loading into Rule objects, and every problem located."""

from __future__ import annotations

import hashlib
import textwrap
from datetime import datetime, timezone

import jsonschema
import pytest
import yaml

from compliance.base.errors import ComplianceError, InputError
from compliance.inputs.rules import load_rules
from compliance.inputs.ruleschema import rule_file_schema, rules_reference_markdown
from compliance.judge.registry import all_kinds, kind_params
from compliance.model.findings import SEVERITIES
from compliance.model.rules import CheckSpec, Remediation, Scope

VALID = """\
version: 1
rules:
  - id: API-MCP-002
    title: Changes that touch the schema update the data dictionary
    severity: medium
    rationale: The dictionary documents the schema.
    runbook_section: Governance / Compliance Notes
    scope:
      include: ["backend/lambda/coordination_api/**"]
      exclude: ["**/governance_data_dictionary.json"]
      branch: main
    effective:
      from: 2026-02-24
      until: 2026-12-31
    checks:
      - kind: co_change
        when: ["backend/lambda/coordination_api/schema/**"]
        require: ["backend/lambda/coordination_api/governance_data_dictionary.json"]
      - kind: tracker_ref
        pattern: "ENC-[0-9]+"
    remediation:
      text: Update the dictionary in the same change.
  - id: API-MCP-001
    title: In-scope changes are deployed by the canonical workflow
    severity: high
    rationale: free text
    runbook_section: Canonical Automation
    checks:
      - kind: field
        source: lambda
        path: configuration.State
        op: equals
        value: Active
    remediation:
      text: Deploy with the canonical workflow.
      command: compliance deploy --config compliance.yaml
"""


def write(tmp_path, name: str, text: str):
    f = tmp_path / name
    f.write_text(textwrap.dedent(text))
    return str(f)


def problems(paths: list[str]) -> list[str]:
    with pytest.raises(InputError) as info:
        load_rules(paths)
    assert info.value.what == "rules"
    return [str(p) for p in info.value.problems]


def one_rule(checks: str = "      - kind: tracker_ref\n", extra: str = "") -> str:
    return (
        "version: 1\n"
        "rules:\n"
        "  - id: R-1\n"
        "    title: t\n"
        "    severity: low\n"
        "    rationale: r\n"
        "    runbook_section: s\n"
        f"{extra}"
        "    checks:\n"
        f"{checks}"
        "    remediation: {text: fix}\n"
    )


# --- schema and reference, generated from the registry ------------------------------


def test_schema_is_valid_and_lists_every_registered_kind():
    schema = rule_file_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    kinds = all_kinds()
    assert {"field", "co_change"} <= set(kinds)
    assert schema["$defs"]["check"]["properties"]["kind"]["enum"] == sorted(kinds)
    assert schema["$defs"]["rule"]["properties"]["severity"]["enum"] == list(SEVERITIES)


def test_kind_params_are_the_registered_kinds_schemas():
    """Rule files are validated against the check modules' own parameter schemas (no generated copy)."""
    live = {name: kind.params for name, kind in all_kinds().items()}
    assert kind_params() == live and list(kind_params()) == sorted(live)
    assert rule_file_schema()["$defs"]["check"]["properties"]["kind"]["enum"] == sorted(live)


def test_every_kind_example_is_a_valid_check():
    validator = jsonschema.Draft202012Validator(rule_file_schema())
    for name, kind in all_kinds().items():
        check = {"kind": name, **kind.example}
        doc = {
            "version": 1,
            "rules": [{"id": "X-1", "title": "t", "severity": "low", "rationale": "r",
                       "runbook_section": "s", "checks": [check], "remediation": {"text": "t"}}],
        }
        assert not list(validator.iter_errors(doc)), name


def test_reference_documents_every_kind_and_its_params():
    md = rules_reference_markdown()
    for name, kind in all_kinds().items():
        assert f"### `{name}`" in md
        assert kind.summary in md
        for param in kind.params.get("properties", {}):
            assert f"| `{param}` |" in md
    assert "| `when` | list of string (glob) | yes |" in md
    # the example blocks are YAML that parses
    blocks = md.split("```yaml\n")[1:]
    assert blocks and all(yaml.safe_load(b.split("```")[0]) for b in blocks)


# --- loading ------------------------------------------------------------------------


def test_valid_file_loads_into_sorted_rules(tmp_path):
    path = write(tmp_path, "rules.yaml", VALID)
    ruleset = load_rules([path])
    assert [r.id for r in ruleset.rules] == ["API-MCP-001", "API-MCP-002"]
    first, second = ruleset.rules
    assert first.scope == Scope()
    assert first.line == 23 and first.source == path
    assert first.checks == (
        CheckSpec("field", {"source": "lambda", "path": "configuration.State", "op": "equals", "value": "Active"}),
    )
    assert first.remediation == Remediation("Deploy with the canonical workflow.",
                                            "compliance deploy --config compliance.yaml")
    assert first.effective_from is None and first.effective_until is None
    assert second.line == 3
    assert second.scope == Scope(("backend/lambda/coordination_api/**",), ("**/governance_data_dictionary.json",), "main")
    assert second.checks[0].kind == "co_change" and "kind" not in second.checks[0].params
    assert second.effective_from == datetime(2026, 2, 24, tzinfo=timezone.utc)
    # a bare date as the upper bound covers that whole day
    assert second.effective_at(datetime(2026, 12, 31, 23, 59, tzinfo=timezone.utc))
    assert not second.effective_at(datetime(2027, 1, 1, tzinfo=timezone.utc))
    assert second.remediation.command == ""


def test_digests_are_sha256_of_bytes_and_stable(tmp_path):
    d = tmp_path / "policies"
    d.mkdir()
    b = write(d, "b.yml", one_rule().replace("R-1", "R-2"))
    a = write(d, "a.yaml", one_rule())
    write(d, "notes.txt", "not a rule file")
    first = load_rules([str(d)])
    second = load_rules([str(d)])
    assert first.digests == second.digests
    assert list(first.digests) == [a, b]
    with open(a, "rb") as fh:
        assert first.digests[a] == "sha256:" + hashlib.sha256(fh.read()).hexdigest()
    assert [r.id for r in first.rules] == ["R-1", "R-2"]


def test_no_rule_files_is_an_error(tmp_path):
    with pytest.raises(ComplianceError, match="no rule files"):
        load_rules([str(tmp_path)])
    with pytest.raises(ComplianceError, match="not found"):
        load_rules([str(tmp_path / "missing.yaml")])


def test_broken_file_reports_every_problem_with_location(tmp_path):
    path = write(tmp_path, "bad.yaml", """\
        version: 1
        rules:
          - id: api-1
            title: t
            severity: hgh
            rationale: r
            runbook_section: s
            cheks: []
            checks:
              - kind: deploy_coverag
              - kind: deploy_coverage
                alow_manual_evidence: true
              - kind: co_change
                when: ["a/**"]
                requir: ["b/**"]
              - kind: field
                source: lambda
                path: x
                op: eq
            remediation:
              txt: fix it
        """)
    assert problems([path]) == [
        f"{path}:3:9: 'api-1' does not match the pattern ^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$",
        f"{path}:5:15: 'hgh' is not one of 'critical', 'high', 'medium', 'low', 'info'; did you mean 'high'?",
        f"{path}:8:5: unknown key 'cheks'; did you mean 'checks'?",
        f"{path}:10:15: 'deploy_coverag' is not an allowed value for 'kind'; did you mean 'deploy_coverage'?",
        f"{path}:12:9: unknown key 'alow_manual_evidence'; did you mean 'allow_manual_evidence'?",
        f"{path}:15:9: unknown key 'requir'; did you mean 'require'?",
        f"{path}:19:13: 'eq' is not one of 'equals', 'not_equals', 'in', 'not_in', 'matches', 'contains', "
        "'exists', 'absent', 'gt', 'gte', 'lt', 'lte'; did you mean 'equals'?",
        f"{path}:21:7: unknown key 'txt'; did you mean 'text'?",
    ]


def test_missing_required_fields_located_at_the_rule(tmp_path):
    path = write(tmp_path, "r.yaml", "version: 1\nrules:\n  - id: R-1\n    title: t\n")
    assert problems([path]) == [
        f"{path}:3:5: missing required key 'checks'",
        f"{path}:3:5: missing required key 'rationale'",
        f"{path}:3:5: missing required key 'remediation'",
        f"{path}:3:5: missing required key 'runbook_section'",
        f"{path}:3:5: missing required key 'severity'",
    ]


def test_problems_from_every_file_are_collected(tmp_path):
    a = write(tmp_path, "a.yaml", one_rule().replace("severity: low", "severity: lo"))
    b = write(tmp_path, "b.yaml", "version: 1\nrules: [\n")
    c = write(tmp_path, "c.yaml", one_rule().replace("R-1", "R-3"))
    found = problems([a, b, c])
    assert [p.split(": ")[0] for p in found] == [f"{a}:5:15", f"{b}:3:1"]
    assert "YAML syntax error" in found[1]


def test_duplicate_ids_across_files_reported_at_each(tmp_path):
    a = write(tmp_path, "a.yaml", one_rule())
    b = write(tmp_path, "b.yaml", "# another file\n" + one_rule())
    assert problems([a, b]) == [
        f"{a}:3:9: duplicate rule id 'R-1' (also defined at {b}:4)",
        f"{b}:4:9: duplicate rule id 'R-1' (also defined at {a}:3)",
    ]


def test_same_file_given_twice_is_not_a_duplicate(tmp_path):
    a = write(tmp_path, "a.yaml", one_rule())
    assert [r.id for r in load_rules([a, str(tmp_path)]).rules] == ["R-1"]


def test_bad_globs_located(tmp_path):
    scope = '    scope:\n      include: ["ok/**", "a[z-a]", "!neg/**"]\n      exclude: ["+x"]\n'
    checks = '      - kind: co_change\n        when: ["ok"]\n        require: ["x", "b["]\n'
    path = write(tmp_path, "g.yaml", one_rule(checks=checks, extra=scope))
    found = problems([path])
    assert [p.split(": ")[0] for p in found] == [f"{path}:9:26", f"{path}:9:36", f"{path}:10:17", f"{path}:14:24"]
    assert "invalid glob 'a[z-a]'" in found[0]
    assert "put the pattern under scope.exclude" in found[1]
    assert "invalid glob '+x'" in found[2]
    assert "invalid glob 'b['" in found[3]


def test_bad_regex_param_located(tmp_path):
    checks = '      - kind: tracker_ref\n        pattern: "ENC-(["\n'
    path = write(tmp_path, "re.yaml", one_rule(checks=checks))
    assert problems([path]) == [
        f"{path}:10:18: invalid regular expression 'ENC-([': unterminated character set at position 5"
    ]


def test_effective_dates_must_be_ordered_and_parseable(tmp_path):
    eff = "    effective:\n      from: 2026-03-01\n      until: 2026-02-01\n"
    path = write(tmp_path, "e.yaml", one_rule(extra=eff))
    assert problems([path]) == [f"{path}:10:14: effective.until (2026-02-01) is before effective.from (2026-03-01)"]
    eff = "    effective:\n      from: next tuesday\n"
    path = write(tmp_path, "e2.yaml", one_rule(extra=eff))
    (found,) = problems([path])
    assert found.startswith(f"{path}:9:13: effective.from 'next tuesday' is not a date")


def test_same_day_bounds_are_fine(tmp_path):
    eff = "    effective:\n      from: 2026-03-01\n      until: 2026-03-01\n"
    (rule,) = load_rules([write(tmp_path, "e.yaml", one_rule(extra=eff))]).rules
    assert rule.effective_at(datetime(2026, 3, 1, 12, tzinfo=timezone.utc))


def test_aliases_rejected_in_rule_files(tmp_path):
    path = write(tmp_path, "alias.yaml", one_rule(checks="      - &c {kind: tracker_ref}\n      - *c\n"))
    found = problems([path])
    assert [p.split(": ")[0] for p in found] == [f"{path}:9:9", f"{path}:10:9"]
    assert all("YAML anchors and aliases are not allowed" in p for p in found)


def test_non_utf8_rule_file(tmp_path):
    f = tmp_path / "latin.yaml"
    f.write_bytes(one_rule().replace("title: t", "title: caf\xe9").encode("latin-1"))
    (found,) = problems([str(f)])
    assert found.startswith(f"{f}:4:15: file is not valid UTF-8")


def test_duplicate_keys_in_rule_file(tmp_path):
    path = write(tmp_path, "dup.yaml", one_rule().replace("    title: t\n", "    title: t\n    title: u\n"))
    assert problems([path]) == [f"{path}:5:5: duplicate key 'title' (first defined on line 4)"]
