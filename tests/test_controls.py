"""Control mapping: `controls` in rule files, validated at their line, and the reports' per-control view.

The view is built from real findings: the demo system's snapshot (fixture ``demo``) judged by the
shipped rules, then damaged copies of it; the loader is fed real rule files in a temp dir.
"""

from __future__ import annotations

import copy
import json
import re
import textwrap
from dataclasses import replace
from datetime import timedelta

import jsonschema
import pytest

from compliance.base.errors import InputError
from compliance.base.timeutil import parse_time
from compliance.inputs import builtin
from compliance.inputs.rules import load_rules
from compliance.inputs.ruleschema import rule_file_schema, rules_reference_markdown
from compliance.inputs.waivers import load_waivers
from compliance.judge.engine import judge
from compliance.model.controls import CONTROL_PATTERN, FRAMEWORKS, control_key, control_problem
from compliance.model.snapshot import load_schema
from compliance.report import html, markdown, sarif
from compliance.report.controls import control_view, unmapped_rules
from compliance.report.document import build_report
from compliance.report.merge import merge_reports

RULE = """\
version: 1
rules:
  - id: R-1
    title: t
    severity: low
    rationale: r
    runbook_section: s
    controls: {controls}
    checks: [{{kind: tracker_ref}}]
    remediation: {{text: fix}}
"""


def _file(tmp_path, controls: str):
    path = tmp_path / "rules.yaml"
    path.write_text(textwrap.dedent(RULE.format(controls=controls)), "utf-8")
    return str(path)


def _problems(path: str) -> list[str]:
    with pytest.raises(InputError) as info:
        load_rules([path])
    return [str(p) for p in info.value.problems]


# --- the rule file ------------------------------------------------------------------------


def test_controls_load_in_the_order_written(tmp_path):
    rules = load_rules([_file(tmp_path, "[NIST-800-53:CM-3(2), SOC2:CC8.1, ISO27001:2022:A.8.32]")]).rules
    assert rules[0].controls == ("NIST-800-53:CM-3(2)", "SOC2:CC8.1", "ISO27001:2022:A.8.32")


def test_a_rule_without_controls_has_none(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(RULE.replace("    controls: {controls}\n", "").format(), "utf-8")
    assert load_rules([str(path)]).rules[0].controls == ()


@pytest.mark.parametrize("controls, col, words", [
    ("[SOC2:CC8.9]", 16, "'CC8.9' is not an id of SOC 2"),             # looks like a criterion, is none
    ("[SOC2:CC10.1]", 16, "is not an id of SOC 2"),
    ("[ISO27001:2022:A.8.35]", 16, "A.8.1-A.8.34"),                     # Annex A ends at 8.34
    ("[ISO27001:2013:A.12.1.2]", 16, "unknown framework 'ISO27001:2013'"),  # the 2013 numbering is another scheme
    ("[ISO27001:A.8.32]", 16, "did you mean ISO27001:2022:A.8.32?"),
    ("[soc2:cc8.1]", 16, "did you mean SOC2:CC8.1?"),
    ("[NIST-800-53:cm-5]", 16, "did you mean NIST-800-53:CM-5?"),
    ("[NIST-800-53:CM-15]", 16, "Rev. 5"),                               # CM ends at CM-14
    ("[NIST-800-53:CM-3(0)]", 16, "enhancement"),
    ("[PCI-DSS:6.5.1]", 16, "unknown framework 'PCI-DSS'"),
    ("[CC8.1]", 16, "names no framework"),
    ('["SOC2:CC8.1\\n"]', 16, "did you mean SOC2:CC8.1?"),               # a trailing newline is not the control
    ('[" SOC2:CC8.1"]', 16, "unknown framework"),
    ("[SOC2:CC8.1, SOC2:CC8.1]", 28, "listed twice"),
    ("[SOC2:CC8.1, 5]", 28, "expected a string, got integer 5"),
    ("[]", 15, "minItems 1"),
    ("SOC2:CC8.1", 15, "expected a list"),
])
def test_a_wrong_control_is_refused_at_its_place(tmp_path, controls, col, words):
    path = _file(tmp_path, controls)
    found = _problems(path)
    assert len(found) == 1, found
    assert found[0].startswith(f"{path}:8:{col}: "), found
    assert words in found[0]


def test_every_problem_in_a_list_is_reported_not_only_the_first(tmp_path):
    found = _problems(_file(tmp_path, "[SOC2:CC8.9, SOC2:CC8.1, ISO27001:2022:A.9.1]"))
    assert [re.search(r":8:(\d+):", p).group(1) for p in found] == ["16", "40"]


def test_the_schema_pattern_accepts_exactly_what_the_loader_accepts():
    schema = rule_file_schema()
    item = schema["$defs"]["controls"]["items"]
    assert item["pattern"] == CONTROL_PATTERN
    validator = jsonschema.Draft202012Validator(item)
    for text in ("SOC2:CC8.1", "SOC2:P8.1", "ISO27001:2022:A.5.37", "NIST-800-53:SC-51", "NIST-800-53:AC-2(12)",
                 "SOC2:CC8.9", "SOC2:CC8.1\n", "ISO27001:2022:A.5.38", "NIST-800-53:XX-1", "NIST-800-53:AC-02"):
        # jsonschema's ``pattern`` is a search: the anchors in the pattern make it a full match
        assert validator.is_valid(text) == (control_problem(text) is None), text
    assert control_problem("SOC2:CC8.1") is None and control_problem("NIST-800-53:AC-02") is not None


def test_controls_sort_by_framework_then_natural_id():
    given = ["NIST-800-53:CM-5", "SOC2:CC10.1", "NIST-800-53:CM-3(1)", "SOC2:CC2.1", "ISO27001:2022:A.8.32",
             "ISO27001:2022:A.8.9", "NIST-800-53:CM-3"]
    assert sorted(given, key=control_key) == ["SOC2:CC2.1", "SOC2:CC10.1", "ISO27001:2022:A.8.9",
                                              "ISO27001:2022:A.8.32", "NIST-800-53:CM-3", "NIST-800-53:CM-3(1)",
                                              "NIST-800-53:CM-5"]


def test_the_reference_documents_the_frameworks_and_docs_are_current():
    reference = rules_reference_markdown()
    for fw in FRAMEWORKS.values():
        assert fw.example in reference and fw.title in reference
    with open("docs/rules.md", encoding="utf-8") as fh:
        assert fh.read() == reference


def test_every_shipped_rule_is_mapped_and_change_rules_map_to_change_management():
    rules = {r.id: r for r in load_rules([builtin.PREFIX + "api-mcp-runbook"]).rules}
    assert all(r.controls for r in rules.values()), [r.id for r in rules.values() if not r.controls]
    for rid in ("APIMCP-001", "APIMCP-002", "APIMCP-007", "APIMCP-010", "APIMCP-012"):
        assert {"SOC2:CC8.1", "ISO27001:2022:A.8.32"} <= set(rules[rid].controls), rid
    assert "NIST-800-53:CM-5" in rules["APIMCP-002"].controls  # the UI path is an access restriction for change
    assert "NIST-800-53:CM-5" in rules["APIMCP-013"].controls  # so is who may update the function


# --- the per-control view -------------------------------------------------------------------


def _doc(snapshot, rules):
    findings, section = judge(snapshot, rules)
    return build_report(snapshot, rules, findings, "evaluate", waivers=section)


@pytest.fixture(scope="module")
def judged(demo):
    snapshot, rules = demo
    return _doc(copy.deepcopy(snapshot), rules)


def test_the_view_adds_up_the_rules_findings_and_lists_every_failing_subject(judged):
    jsonschema.Draft202012Validator(load_schema("report")).validate(judged)
    rules = {r["id"]: r for r in judged["rules"]}
    assert judged["controls"], "the shipped rules are mapped"
    for entry in judged["controls"]:
        mine = [r for r in rules.values() if entry["control"] in r["controls"]]
        assert [r["id"] for r in entry["rules"]] == sorted(r["id"] for r in mine)
        for status, n in entry["counts"].items():
            assert n == sum(r["counts"][status] for r in mine)
        expected = [(f["rule_id"], f["subject"]) for f in judged["findings"]
                    if f["rule_id"] in {r["id"] for r in mine} and f["status"] in ("fail", "error")]
        assert sorted((f["rule_id"], f["subject"]) for f in entry["failing"]) == sorted(expected)
        worst = ("error" if entry["counts"]["error"] else "fail" if entry["counts"]["fail"] else
                 "pending" if entry["counts"]["pending"] else "pass")
        assert entry["verdict"] == worst
    assert [c["control"] for c in judged["controls"]] == sorted((c["control"] for c in judged["controls"]),
                                                                 key=control_key)


def test_a_failure_moves_only_the_controls_of_its_rule(demo):
    snapshot, rules = demo
    broken = copy.deepcopy(snapshot)
    broken["sources"]["lambda"]["data"]["configuration"]["Runtime"] = "python3.6"  # GUARD-002 fails
    before = {c["control"]: c for c in _doc(copy.deepcopy(snapshot), rules)["controls"]}
    after = {c["control"]: c for c in _doc(broken, rules)["controls"]}
    assert after["NIST-800-53:SA-22"]["verdict"] == "fail" and before["NIST-800-53:SA-22"]["verdict"] == "pass"
    assert [(f["rule_id"], f["status"]) for f in after["NIST-800-53:SA-22"]["failing"]] == [("GUARD-002", "fail")]
    assert after["NIST-800-53:CM-1"] == before["NIST-800-53:CM-1"]  # APIMCP-011 only


def test_a_control_with_nothing_judged_is_not_a_pass(demo):
    """Lying data: rules mapped to a control that produced no findings (or only not-applicable ones)
    must not read as the control passing."""
    snapshot, rules = demo
    only = [replace(r, controls=("SOC2:CC9.2",)) for r in rules if r.id == "GUARD-002"]
    quiet = copy.deepcopy(snapshot)
    doc = _doc(quiet, only)
    doc["findings"] = []
    view = control_view([{**r, "counts": {}} for r in doc["rules"]], [])
    assert view[0]["control"] == "SOC2:CC9.2" and view[0]["verdict"] == "not_applicable"
    na = [{"rule_id": "GUARD-002", "subject_type": "function", "subject": "f", "status": "not_applicable"}]
    assert control_view(doc["rules"], na)[0]["verdict"] == "not_applicable"


def test_unmapped_rules_are_named(judged):
    rules = [*judged["rules"], {"id": "TEAM-9", "title": "x", "controls": []}]
    assert unmapped_rules(rules) == ["TEAM-9"]
    md = markdown.render({**judged, "rules": rules})
    assert "Rules mapped to no control: TEAM-9." in md


def test_markdown_and_html_show_the_view_with_hostile_text_inert(demo):
    snapshot, rules = demo
    doc = _doc(copy.deepcopy(snapshot), rules)
    hostile = '<img src=x onerror=alert(1)>`|@team'
    for c in doc["controls"]:
        for f in c["failing"]:
            f["subject"] = hostile
    md = markdown.render(doc)
    assert "### Controls (" in md and "| `SOC2:CC8.1` |" in md
    assert "``<img src=x" in md and md.count("<img") == md.count("``<img")  # only ever inside a code span
    page = html.render(doc)
    assert "<h2>Controls</h2>" in page and "<img" not in page and "&lt;img src=x" in page
    failing = next(c for c in doc["controls"] if len(c["failing"]) > 5)
    assert f"and {len(failing['failing']) - 5} more" in md


def test_merged_report_views_controls_across_targets(judged):
    merged = merge_reports([("alpha", judged, "alpha/report.json"), ("beta", judged, "beta/report.json")])
    jsonschema.Draft202012Validator(load_schema("report")).validate(json.loads(json.dumps(merged)))
    one = {c["control"]: c for c in judged["controls"]}
    for entry in merged["controls"]:
        assert entry["counts"] == {s: 2 * n for s, n in one[entry["control"]]["counts"].items()}
        assert {f["target"] for f in entry["failing"]} <= {"alpha", "beta"}
        assert len(entry["failing"]) == 2 * len(one[entry["control"]]["failing"])


def test_sarif_tags_each_rule_with_its_controls(judged):
    log = json.loads(sarif.render(judged))
    tags = {r["id"]: r["properties"]["tags"] for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert tags["APIMCP-002"] == ["compliance", "SOC2:CC8.1", "ISO27001:2022:A.8.32", "NIST-800-53:CM-5"]


def test_a_control_whose_every_finding_was_waived_is_waived_not_passed(demo, tmp_path):
    """Lying data: the only evidence under a control is a failure someone waived. A waiver excuses a
    failure, it proves nothing, so the control reads ``waived``; with one real pass beside it, ``pass``."""
    snapshot, rules = demo
    broken = copy.deepcopy(snapshot)
    broken["sources"]["lambda"]["data"]["configuration"]["Runtime"] = "python3.6"  # GUARD-002 fails
    only = [replace(r, controls=("SOC2:CC9.2",)) for r in rules if r.id == "GUARD-002"]
    failed = [f for f in judge(copy.deepcopy(broken), only)[0] if f.status == "fail"]
    assert [f.rule_id for f in failed] == ["GUARD-002"]
    path = tmp_path / "waivers.yaml"
    path.write_text(textwrap.dedent(f"""\
        version: 1
        waivers:
          - rule: GUARD-002
            subject: {{resource: {failed[0].subject}}}
            owner: alice@example.com
            reason: runtime upgrade scheduled
            ticket: ENC-ISS-1
            expires: {(parse_time(snapshot["collected_at"]) + timedelta(days=30)).date().isoformat()}
        """), "utf-8")
    waivers = load_waivers(str(path), now=parse_time(snapshot["collected_at"]), rule_ids={"GUARD-002"})
    findings, section = judge(copy.deepcopy(broken), only, waivers)
    assert [f.status for f in findings] == ["waived"]
    doc = build_report(broken, only, findings, "evaluate", waivers=section)
    jsonschema.Draft202012Validator(load_schema("report")).validate(doc)
    assert doc["controls"][0]["control"] == "SOC2:CC9.2" and doc["controls"][0]["verdict"] == "waived"
    passed = {**doc["findings"][0], "subject": "other", "status": "pass"}
    assert control_view(doc["rules"], [*doc["findings"], passed])[0]["verdict"] == "pass"


def test_a_merged_view_counts_each_target_under_its_own_mapping(demo):
    """Two targets judge a rule of one id with different mappings: beta maps GUARD-002 to SOC2:CC9.2 and
    fails it, alpha maps it to nothing and passes. Beta's failing control may not vanish because alpha's
    rule came first, and alpha's pass may not be counted under a control alpha's rule does not claim."""
    snapshot, rules = demo
    broken = copy.deepcopy(snapshot)
    broken["sources"]["lambda"]["data"]["configuration"]["Runtime"] = "python3.6"  # GUARD-002 fails
    plain = [replace(r, controls=()) for r in rules if r.id == "GUARD-002"]
    mapped = [replace(r, controls=("SOC2:CC9.2",)) for r in rules if r.id == "GUARD-002"]
    alpha = json.loads(json.dumps(_doc(copy.deepcopy(snapshot), plain)))
    beta = json.loads(json.dumps(_doc(broken, mapped)))
    assert [(c["control"], c["verdict"]) for c in beta["controls"]] == [("SOC2:CC9.2", "fail")]
    for first, second in ((("alpha", alpha), ("beta", beta)), (("beta", beta), ("alpha", alpha))):
        merged = merge_reports([(n, d, f"{n}/report.json") for n, d in (first, second)])
        jsonschema.Draft202012Validator(load_schema("report")).validate(json.loads(json.dumps(merged)))
        view = {c["control"]: c for c in merged["controls"]}
        assert list(view) == ["SOC2:CC9.2"], first[0]
        assert view["SOC2:CC9.2"]["verdict"] == "fail"
        assert view["SOC2:CC9.2"]["counts"]["fail"] == 1 and view["SOC2:CC9.2"]["counts"]["pass"] == 0, first[0]
        assert [f["target"] for f in view["SOC2:CC9.2"]["failing"]] == ["beta"]
