"""The runbook as a source and runbook drift (issue 15, "The runbook as a source"), on real git histories.

The history is enceladus's own, in small: the runbook created with the workflow (Scope: the two
globs), a day later `03-api.yaml` joining the Scope with its own CloudFormation workflow, a week
later "Why This Process Exists" rewritten, then the deploy script tombstoned and the workflow
deleted while the runbook still named both. Each window is judged by the runbook it had.
"""

from __future__ import annotations

import json

from compliance.base.timeutil import parse_time
from compliance.inputs.rules import load_rules
from compliance.judge.engine import Context, evaluate
from compliance.judge.registry import reads_of, repo_files_of
from compliance.model.rules import Scope
from compliance.model.snapshot import build_snapshot, load_schema, schema_problems, validate_snapshot
from compliance.publish.check_run import annotations
from compliance.report import html as html_report
from compliance.report import junit, markdown, sarif
from compliance.report.document import build_report
from compliance.sources.plan import collect_sources
from compliance.sources.runbook_parse import parse_runbook
from tests.gitrepo import GitRepo
from tests.runbook_texts import CFN_WORKFLOW, V1, V2, V3
from tests.scenario import DEPLOY_SH, GOOD_WORKFLOW, TARGET, WORKFLOW, make_rule

RUNBOOK = "backend/API_MCP_DEPLOY_PROCESS.md"
SCRIPT = "backend/lambda/coordination_api/deploy.sh"
CFN = ".github/workflows/cloudformation-api-stack-deploy.yml"

TOMBSTONE = "# retired: deploys via the platform pipeline now\n"
RULES = load_rules(["builtin:api-mcp-runbook"]).rules
SYNC = next(r for r in RULES if r.id == "APIMCP-014")
GUIDANCE = next(r for r in RULES if r.id == "APIMCP-011")


def _history(tmp_path) -> tuple[GitRepo, dict[str, str]]:
    r = GitRepo(tmp_path / "enceladus").init()
    s = {"init": r.commit("init", {"README.md": "x\n", "AGENTS.md": f"Deploy API/MCP per {RUNBOOK}\n",
                                   SCRIPT: DEPLOY_SH, "infrastructure/cloudformation/03-api.yaml": "Resources: {}\n"},
                          author_date="2026-02-10T00:00:00Z")}
    s["v1"] = r.commit("API/MCP workflow and runbook ENC-TSK-340", {WORKFLOW: GOOD_WORKFLOW, RUNBOOK: V1},
                       author_date="2026-02-23T19:45:00Z")
    s["v2"] = r.commit("API stack deploys by its own workflow ENC-FTR-023", {RUNBOOK: V2, CFN: CFN_WORKFLOW},
                       author_date="2026-02-24T18:00:00-08:00")
    s["v3"] = r.commit("runbook: inline lambda_update is best effort ENC-TSK-350", {RUNBOOK: V3},
                       author_date="2026-03-03T12:00:00Z")
    s["tomb"] = r.commit("retire deploy.sh ENC-TSK-400", {SCRIPT: TOMBSTONE}, author_date="2026-04-10T00:00:00Z")
    s["gone"] = r.commit("retire the workflow ENC-TSK-401", {WORKFLOW: None}, author_date="2026-04-20T00:00:00Z")
    return r, s


def _snapshot(repo: GitRepo, since: str, until: str, *, runbook: str | None = RUNBOOK) -> dict:
    target = {**TARGET, "repo": str(repo.path)}
    if runbook:
        target["runbook"] = runbook
    sources = collect_sources(reads_of([SYNC, GUIDANCE]), {}, target, RULES, parse_time(since), parse_time(until),
                              repo_files_of(RULES, target))
    snap = build_snapshot(tool_version="test", collected_at="2026-04-30T00:00:00Z",
                          window={"since": since, "until": until, "branch": "main"},
                          target={k: v for k, v in target.items() if k != "repo"}, rules={}, sources=sources)
    validate_snapshot(snap)
    return snap


def _judge(snap, rule=SYNC) -> dict[str, object]:
    return {f.subject: f for f in evaluate(snap, [rule], Context(snap, rules=list(RULES)))}


def test_each_window_is_judged_by_the_runbook_it_had(tmp_path):
    r, s = _history(tmp_path)
    feb = _snapshot(r, "2026-02-20T00:00:00Z", "2026-02-24T00:00:00Z")
    found = _judge(feb)
    assert {k: f.status for k, f in found.items()} == {RUNBOOK: "pass"}
    assert f"as of {s['v1'][:8]}, 2026-02-23" in found[RUNBOOK].message
    # a day later the Scope gained 03-api.yaml, with its own workflow: the rules are stale, nothing else
    march = _snapshot(r, "2026-02-01T00:00:00Z", "2026-03-31T00:00:00Z")  # the whole chain: every version
    data = march["sources"]["runbook"]["data"]
    assert data["ref"]["sha"] == s["v3"] and data["present"]
    assert [v["sha"] for v in data["versions"]] == [s["init"], s["v1"], s["v2"], s["v3"]]
    assert [v["scope"] for v in data["versions"]][1:3] == [
        ["backend/lambda/coordination_api/**", "tools/enceladus-mcp-server/**"],
        ["backend/lambda/coordination_api/**", "tools/enceladus-mcp-server/**",
         "infrastructure/cloudformation/03-api.yaml"]]
    found = _judge(march)
    key = f"{RUNBOOK}: scope infrastructure/cloudformation/03-api.yaml"
    assert {k: f.status for k, f in found.items()} == {key: "fail"}
    assert found[key].location == {"path": RUNBOOK, "line": 7}
    assert found[key].evidence[0]["ref"] == s["v3"] and "no rule's scope governs" in found[key].message
    assert f"as of {s['v3'][:8]}, 2026-03-03" in found[key].message


def test_runbook_naming_a_tombstone_and_a_deleted_workflow(tmp_path):
    r, s = _history(tmp_path)
    april = {k: f.status for k, f in _judge(_snapshot(r, "2026-04-01T00:00:00Z", "2026-04-15T00:00:00Z")).items()}
    assert april[f"{RUNBOOK}: script {SCRIPT}"] == "fail"
    assert f"{RUNBOOK}: workflow {WORKFLOW}" not in april
    late = _judge(_snapshot(r, "2026-04-01T00:00:00Z", "2026-04-30T00:00:00Z"))
    gone = late[f"{RUNBOOK}: workflow {WORKFLOW}"]
    assert gone.status == "fail" and "does not exist" in gone.message and gone.location["line"] == 19
    assert f"as of {s['gone'][:8]}" in gone.message
    # the trigger drift needs the workflow: with it gone, it is that finding, not a pass of the triggers
    assert not any(k.startswith(f"{RUNBOOK}: trigger") for k in late)


def test_scope_path_the_workflow_does_not_trigger_on(tmp_path):
    """The real drift: 03-api.yaml in the Scope with no workflow for it, and the canonical filter without it."""
    r = GitRepo(tmp_path / "drift").init()
    plain_v2 = V1.replace("- `tools/enceladus-mcp-server/**`\n",
                          "- `tools/enceladus-mcp-server/**`\n- `infrastructure/cloudformation/03-api.yaml`\n")
    r.commit("init", {RUNBOOK: plain_v2, WORKFLOW: GOOD_WORKFLOW, SCRIPT: DEPLOY_SH, "AGENTS.md": RUNBOOK},
             author_date="2026-03-02T00:00:00Z")
    found = _judge(_snapshot(r, "2026-03-01T00:00:00Z", "2026-03-31T00:00:00Z"))
    trig = found[f"{RUNBOOK}: trigger infrastructure/cloudformation/03-api.yaml"]
    assert trig.status == "fail" and trig.location == {"path": RUNBOOK, "line": 7}
    assert "no other automation section" in trig.message


def test_runbook_missing_at_the_ref_is_an_error_for_both_rules(tmp_path):
    r, _ = _history(tmp_path)
    snap = _snapshot(r, "2026-03-01T00:00:00Z", "2026-03-31T00:00:00Z", runbook="docs/runbooks/api-mcp-deploy.md")
    found = _judge(snap)
    assert [f.status for f in found.values()] == ["error"] and "does not exist" in next(iter(found.values())).message
    guidance = list(_judge(snap, GUIDANCE).values())
    assert [f.status for f in guidance] == ["error"] and "misconfigured" in guidance[0].message


def test_guidance_finds_the_configured_runbook(tmp_path):
    r, _ = _history(tmp_path)
    found = list(_judge(_snapshot(r, "2026-03-01T00:00:00Z", "2026-03-31T00:00:00Z"), GUIDANCE).values())
    assert [f.status for f in found] == ["pass"] and RUNBOOK in found[0].message


def test_no_runbook_configured_is_not_collected_and_not_judged(tmp_path):
    r, _ = _history(tmp_path)
    snap = _snapshot(r, "2026-03-01T00:00:00Z", "2026-03-31T00:00:00Z", runbook=None)
    assert "runbook" not in snap["sources"]
    assert [f.status for f in _judge(snap).values()] == ["not_applicable"]


def test_named_workflow_unreadable_without_a_clone_is_an_error(tmp_path):
    """A git data file (no clone): a workflow the runbook names that no rule collected cannot be judged."""
    r, _ = _history(tmp_path)
    snap = _snapshot(r, "2026-03-01T00:00:00Z", "2026-03-31T00:00:00Z")
    del snap["sources"]["runbook"]["data"]["named_files"][CFN]
    found = _judge(snap)
    assert found[f"{RUNBOOK}: workflow {CFN}"].status == "error"


def test_lying_runbooks():
    """Shapes that look like a Scope entry or a section without being one."""
    doc = parse_runbook("# R\n\n## Scope\n\n- `a/**`\n\n```\n- `b/**`\n```\n\n> - `c/**`\n\n## Notes\n\n- `d/**`\n\n"
                        "### Canonical Automation\n\n- Workflow: `.github/workflows/x.yml`\n")
    assert [e["path"] for e in doc["scope"]["entries"]] == ["a/**"]
    assert doc["canonical"] is None
    assert any("level-3 heading" in p["message"] for p in doc["problems"])
    two = parse_runbook("## Scope\n\n- `a/**`\n\n## Scope\n\n- `b/**`\n")
    assert two["scope"] is None and any("ambiguous" in p["message"] for p in two["problems"])
    # the workflow named in prose, not as the section's Workflow item: no canonical workflow is read from it
    prose = parse_runbook("## Canonical Automation\n\nWe deploy with `.github/workflows/x.yml`.\n")
    assert prose["canonical"]["workflow"] is None
    assert any("no `Workflow:` item" in p["message"] for p in prose["problems"])
    bad = parse_runbook("## Scope\n\n- the API folder\n- `a/**` and `b/**`\n")
    assert bad["scope"]["entries"] == [] and len([p for p in bad["problems"] if p["section"] == "Scope"]) == 2


def test_every_format_and_annotation_locates_the_drift_at_the_runbook_line(tmp_path):
    r, s = _history(tmp_path)
    snap = _snapshot(r, "2026-03-01T00:00:00Z", "2026-03-31T00:00:00Z")
    findings = evaluate(snap, [SYNC], Context(snap, rules=list(RULES)))
    doc = build_report(snap, [SYNC], findings, "audit")
    assert not schema_problems(doc, load_schema("report"), "report.json")
    result = json.loads(sarif.render(doc))["runs"][0]["results"][0]
    where = result["locations"][0]["physicalLocation"]
    assert where["artifactLocation"]["uri"] == RUNBOOK and where["region"]["startLine"] == 7
    notes = annotations(doc)
    assert [(n["path"], n["start_line"]) for n in notes] == [(RUNBOOK, 7)]
    md, html = markdown.render(doc), html_report.render(doc)
    assert f"{RUNBOOK}:7" in md and f"{RUNBOOK}:7" in html
    assert s["v3"][:8] in md
    assert "03-api.yaml" in junit.render(doc)


def test_validation_requirements_against_the_rules_parameters(tmp_path):
    """5. The runbook's states, route prefix and function against what the rules and the target check."""
    r, _ = _history(tmp_path)
    snap = _snapshot(r, "2026-02-20T00:00:00Z", "2026-02-24T00:00:00Z")
    loose = make_rule("lambda_state", {"state": "Active", "last_update_status": "InProgress"}, rule_id="T-STATE",
                      scope=Scope())
    routes = make_rule("api_routes", {"prefix": "/api/v2/", "routes": []}, rule_id="T-ROUTES", scope=Scope())
    others = [r_ for r_ in RULES if r_.id not in ("APIMCP-003", "APIMCP-005")]
    found = {f.subject: f for f in evaluate(snap, [SYNC], Context(snap, rules=[*others, loose, routes]))}
    states = found[f"{RUNBOOK}: validation states of T-STATE"]
    assert states.status == "fail" and "LastUpdateStatus=Successful in the runbook, InProgress in T-STATE" in states.message
    assert states.location == {"path": RUNBOOK, "line": 25}
    assert found[f"{RUNBOOK}: validation routes of T-ROUTES"].status == "fail"
    # the target's function is another one than the runbook validates
    twin = {**snap, "target": {**snap["target"], "function": "devops-coordination-api-gamma"}}
    got = {f.subject: f.status for f in evaluate(twin, [SYNC], Context(twin, rules=list(RULES)))}
    # ... and the deploy script the runbook names deploys devops-coordination-api by name, not the target's
    assert got == {f"{RUNBOOK}: validation function": "fail",
                   f"{RUNBOOK}: script backend/lambda/coordination_api/deploy.sh": "fail"}
    # no rule checks the states at all: the runbook's requirement is ungoverned
    none = [r_ for r_ in RULES if r_.id != "APIMCP-003"]
    got = {f.subject: f.status for f in evaluate(snap, [SYNC], Context(snap, rules=none))}
    assert got[f"{RUNBOOK}: validation states"] == "fail" and f"{RUNBOOK}: section of APIMCP-003" not in got


def test_triggers_alone_never_pass_on_a_deleted_workflow(tmp_path):
    """Lying configuration: a rule judging only the triggers while the canonical workflow is gone."""
    r, _ = _history(tmp_path)
    snap = _snapshot(r, "2026-04-01T00:00:00Z", "2026-04-30T00:00:00Z")
    only = make_rule("runbook_sync", {"drifts": ["triggers"]}, rule_id="T-TRIG")
    found = evaluate(snap, [only], Context(snap, rules=list(RULES)))
    assert [(f.subject, f.status) for f in found] == [(f"{RUNBOOK}: triggers", "error")]


def test_every_unreadable_scope_entry_is_named_in_one_error(tmp_path):
    r = GitRepo(tmp_path / "bad").init()
    r.commit("init", {RUNBOOK: V1.replace("- `tools/enceladus-mcp-server/**`\n", "- the MCP server\n- `a` or `b`\n"),
                      WORKFLOW: GOOD_WORKFLOW, SCRIPT: DEPLOY_SH, "AGENTS.md": RUNBOOK},
             author_date="2026-03-02T00:00:00Z")
    found = _judge(_snapshot(r, "2026-03-01T00:00:00Z", "2026-03-31T00:00:00Z"))
    bad = found[f"{RUNBOOK}: section Scope"]
    assert bad.status == "error" and bad.location["line"] == 6 and "(line 7)" in bad.message


def test_a_runbook_present_without_its_document_is_refused_and_never_crashes_the_check(demo):
    """Found by the property test (reliability/test_properties.py): ``present: true`` with ``document: null``
    passed the schema and the check raised TypeError (an internal error). Now the schema refuses it, and a
    snapshot judged without validation gets could-not-evaluate, not an internal error."""
    import copy

    import pytest

    from compliance.base.errors import InputError

    snap, rules = copy.deepcopy(demo[0]), demo[1]
    src = snap["sources"]["runbook"]["data"]
    assert src["present"] and isinstance(src["document"], dict)
    src["document"] = None
    with pytest.raises(InputError):
        validate_snapshot(snap, "damaged.json")
    sync = [r for r in rules if any(c.kind == "runbook_sync" for c in r.checks)]
    assert sync
    findings = evaluate(snap, sync)
    assert findings and all(f.status == "error" for f in findings)
    assert not any("internal error" in f.message for f in findings)
    assert any("holds no parsed document" in f.message for f in findings)
    # and the other way round: absent with a document is as damaged
    src["present"], src["document"] = False, {"headings": [], "scope": None, "canonical": None, "automations": [],
                                              "validation": None, "problems": []}
    with pytest.raises(InputError):
        validate_snapshot(snap, "damaged.json")
