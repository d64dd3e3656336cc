"""A rule naming its own canonical workflow (issue 15): the runbook deploys the API stack template with
its own CloudFormation workflow, so its coverage is judged by that workflow's runs and never by the
Lambda workflow's, and the other way round.

Real parts: a real git history with changes under both scopes; GitHub's REST listings served by
``responses`` (tests/github_payloads.py) for the two workflows, collected by the real source.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path

import pytest
import responses
from jsonschema import Draft202012Validator

from compliance.app.collect import collect as collect_snapshot
from compliance.inputs.config import load_config
from compliance.inputs.rules import load_rules
from compliance.judge.checks.manual import canonical_paths
from compliance.judge.engine import evaluate
from compliance.judge.registry import kind_params, repo_files_of, run_workflows_of
from compliance.judge.timeline import change_chains
from compliance.model.rules import Scope
from compliance.sources.base import Meter
from compliance.sources.github import RetryPolicy, collect_github
from compliance.sources.plan import collect_one
from tests.github_payloads import REPO, WORKFLOW_FILE, WORKFLOW_PATH, FakeGitHub, workflow_run
from tests.gitrepo import GitRepo
from tests.scenario import DEPLOY_SH, GOOD_WORKFLOW, SCOPE, TARGET, make_rule, snapshot

SCRIPT = "backend/lambda/coordination_api/deploy.sh"
STACK = "infrastructure/cloudformation/03-api.yaml"
CFN = ".github/workflows/cloudformation-api-stack-deploy.yml"
CFN_FILE = CFN.rsplit("/", 1)[-1]
CFN_ID = 171002233
CFN_SCRIPT = "infrastructure/cloudformation/deploy-api-stack.sh"
TOMBSTONE = "# retired: deployed by the platform pipeline now\n"
CFN_WORKFLOW = f"""name: API stack deploy
on:
  push:
    branches: [main]
    paths: ["{STACK}", "{CFN}"]
  workflow_dispatch: {{}}
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Deploy API stack
        run: {CFN_SCRIPT}
"""
CFN_DEPLOY = "#!/usr/bin/env bash\nset -euo pipefail\naws cloudformation deploy --stack-name enceladus-api " \
             f"--template-file {STACK}\n"
FILES = [WORKFLOW_PATH, SCRIPT, CFN, CFN_SCRIPT]
SINCE = datetime(2026, 3, 2, tzinfo=timezone.utc)
UNTIL = datetime(2026, 3, 30, tzinfo=timezone.utc)
WINDOW = {"since": "2026-03-02T00:00:00Z", "until": "2026-03-30T00:00:00Z"}
STACK_SCOPE = Scope((STACK,), ())
TARGET_HERE = {**TARGET, "github_repo": REPO}


@pytest.fixture(autouse=True)
def _env(github_env, tmp_path):
    github_env.setenv("GITHUB_TOKEN", "ghp_" + "T3stT0kenForPerRuleWorkflowsX1234567890")
    github_env.setenv("COMPLIANCE_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def history(tmp_path):
    """main with a runtime change and a stack change, then another of each."""
    r = GitRepo(tmp_path / "enceladus").init()
    s = {"base": r.commit("init ENC-TSK-1", {
        "README.md": "x\n", WORKFLOW_PATH: GOOD_WORKFLOW, SCRIPT: DEPLOY_SH, CFN: CFN_WORKFLOW, CFN_SCRIPT: CFN_DEPLOY,
        "backend/lambda/coordination_api/lambda_function.py": "v = 0\n", STACK: "Resources: {}\n"},
        author_date="2026-02-25T00:00:00Z")}
    s["api1"] = r.commit("runtime change ENC-TSK-2", {"backend/lambda/coordination_api/lambda_function.py": "v = 1\n"},
                         author_date="2026-03-05T00:00:00Z")
    s["stack1"] = r.commit("route change ENC-TSK-3", {STACK: "Resources: {Route: {}}\n"},
                           author_date="2026-03-06T00:00:00Z")
    s["api2"] = r.commit("runtime change ENC-TSK-4", {"backend/lambda/coordination_api/lambda_function.py": "v = 2\n"},
                         author_date="2026-03-08T00:00:00Z")
    s["stack2"] = r.commit("route change ENC-TSK-5", {STACK: "Resources: {Route: {}, Other: {}}\n"},
                           author_date="2026-03-09T00:00:00Z")
    return r, s


def _at(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, 1, tzinfo=timezone.utc)


def lam_run(run_id: int, sha: str, created: datetime, conclusion: str = "success", **kw) -> dict:
    return workflow_run(run_id, created, sha=sha, conclusion=conclusion, **kw)


def cfn_run(run_id: int, sha: str, created: datetime, conclusion: str = "success", **kw) -> dict:
    kw.setdefault("path", CFN)
    return workflow_run(run_id, created, sha=sha, conclusion=conclusion, workflow_id=CFN_ID,
                        name="API stack deploy", **kw)


def validate_github(data: dict) -> None:
    schema = json.loads(resources.files("compliance").joinpath("model/schemas/snapshot.schema.json").read_text())
    Draft202012Validator({"$ref": "#/$defs/github", "$defs": schema["$defs"]}).validate(data)


def collect(**kw) -> tuple[dict, Meter]:
    meter = Meter()
    kw.setdefault("retry", RetryPolicy(sleep=lambda s: None))
    return collect_github(REPO, WORKFLOW_FILE, "main", SINCE, UNTIL, meter=meter, **kw), meter


def rules(stack_params: dict | None = None):
    return [make_rule("deploy_coverage", {"allow_manual_evidence": False}, rule_id="APIMCP-003"),
            make_rule("deploy_coverage", {"workflow": CFN, "allow_manual_evidence": False, **(stack_params or {})},
                      scope=STACK_SCOPE, rule_id="ENC-API-002")]


def judged(repo, github: dict, stack_params: dict | None = None) -> dict[tuple[str, str], object]:
    snap = snapshot(repo.path, files=FILES, github=github, target=TARGET_HERE, **WINDOW)
    return {(f.rule_id, f.subject): f for f in evaluate(snap, rules(stack_params))}


def statuses(found) -> dict[tuple[str, str], str]:
    return {k: f.status for k, f in found.items()}


def test_each_rule_is_covered_by_its_own_workflows_runs(rsps, history):
    r, s = history
    fake = FakeGitHub(rsps, [lam_run(9001, s["api1"], _at(5)), cfn_run(9002, s["stack1"], _at(6)),
                             lam_run(9003, s["api2"], _at(8)), cfn_run(9004, s["stack2"], _at(9))])
    data, meter = collect(also=[CFN])
    # one listing per workflow, each windowed by created, the target's first
    assert [c.path.rsplit("/", 2)[-2] for c in fake.calls] == [WORKFLOW_FILE, CFN_FILE]
    assert {c.params["created"] for c in fake.calls} == {"2026-03-02..2026-03-30"}
    assert meter.requests == 2 and meter.warnings == []
    assert data["workflows"] == {WORKFLOW_PATH: {"status": "ok"}, CFN: {"status": "ok"}}
    assert {r_["id"]: r_["listed_by"] for r_ in data["runs"]} == {9001: WORKFLOW_PATH, 9002: CFN,
                                                                  9003: WORKFLOW_PATH, 9004: CFN}
    validate_github(data)
    found = judged(r, data)
    assert statuses(found) == {("APIMCP-003", s["api1"][:12]): "pass", ("APIMCP-003", s["api2"][:12]): "pass",
                               ("ENC-API-002", s["stack1"][:12]): "pass", ("ENC-API-002", s["stack2"][:12]): "pass"}
    assert "run 9002" in found[("ENC-API-002", s["stack1"][:12])].message
    assert "run 9001" in found[("APIMCP-003", s["api1"][:12])].message


def test_a_lambda_run_never_covers_a_stack_change_and_vice_versa(rsps, history):
    """Lying data: each workflow has a green run of the latest commit, which would cover every earlier
    change if runs of any workflow counted. Only the rule's own workflow's runs may."""
    r, s = history
    FakeGitHub(rsps, [lam_run(9101, s["stack2"], _at(9), event="workflow_dispatch"),
                      cfn_run(9102, s["stack1"], _at(6), conclusion="failure")])
    data, _ = collect(also=[CFN])
    found = judged(r, data)
    assert statuses(found) == {("APIMCP-003", s["api1"][:12]): "pass", ("APIMCP-003", s["api2"][:12]): "pass",
                               ("ENC-API-002", s["stack1"][:12]): "fail", ("ENC-API-002", s["stack2"][:12]): "fail"}
    stack1 = found[("ENC-API-002", s["stack1"][:12])]
    assert "run 9102 ended failure" in stack1.message and "9101" not in stack1.message
    # the other way round: only the stack workflow ran, the runtime changes are not deployed
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        FakeGitHub(mock, [cfn_run(9201, s["stack2"], _at(9))])
        data, _ = collect(also=[CFN])
    found = judged(r, data)
    assert statuses(found) == {("APIMCP-003", s["api1"][:12]): "fail", ("APIMCP-003", s["api2"][:12]): "fail",
                               ("ENC-API-002", s["stack1"][:12]): "pass", ("ENC-API-002", s["stack2"][:12]): "pass"}
    assert "no run of .github/workflows/api-mcp-backend-deploy.yml" in found[("APIMCP-003", s["api1"][:12])].message


def test_a_run_whose_path_disagrees_with_the_listing_counts_for_neither(rsps, history):
    """Lying data: the stack workflow's listing returns a green run whose path claims the Lambda workflow."""
    r, s = history
    FakeGitHub(rsps, [cfn_run(9301, s["stack2"], _at(9), path=WORKFLOW_PATH),
                      cfn_run(9302, s["stack1"], _at(6), conclusion="cancelled")])
    data, _ = collect(also=[CFN])
    found = judged(r, data)
    assert set(statuses(found).values()) == {"fail"}
    stack2 = found[("ENC-API-002", s["stack2"][:12])]
    assert f"GitHub listed it as a run of {CFN}, but its path says {WORKFLOW_PATH}" in stack2.message


def test_the_second_listing_failing_is_an_error_for_its_rule_only(rsps, history):
    r, s = history
    fake = FakeGitHub(rsps, [lam_run(9401, s["api2"], _at(8)), cfn_run(9402, s["stack2"], _at(9))])
    fake.fail(500, match=CFN_FILE, times=20)
    data, meter = collect(also=[CFN], retry=RetryPolicy(sleep=lambda s: None, attempts=2))
    assert data["workflows"][WORKFLOW_PATH] == {"status": "ok"}
    assert data["workflows"][CFN]["status"] == "error"
    assert data["workflows"][CFN]["error"]["type"] == "GitHubServerError"
    assert [r_["id"] for r_ in data["runs"]] == [9401]  # the failed listing contributes nothing
    validate_github(data)
    found = judged(r, data)
    assert statuses(found) == {("APIMCP-003", s["api1"][:12]): "pass", ("APIMCP-003", s["api2"][:12]): "pass",
                               ("ENC-API-002", s["stack1"][:12]): "error", ("ENC-API-002", s["stack2"][:12]): "error"}
    assert f"runs of {CFN} could not be listed: GitHubServerError" in found[("ENC-API-002", s["stack2"][:12])].message


def test_a_workflow_github_does_not_know_is_an_error_not_no_runs(rsps, history):
    r, s = history
    FakeGitHub(rsps, [lam_run(9501, s["api2"], _at(8))])  # no stack workflow on GitHub: its listing is a 404
    data, _ = collect(also=[CFN])
    assert data["workflows"][CFN]["error"]["type"] == "GitHubNotFound"
    found = judged(r, data)
    assert {f.status for (rule, _), f in found.items() if rule == "ENC-API-002"} == {"error"}
    assert {f.status for (rule, _), f in found.items() if rule == "APIMCP-003"} == {"pass"}


def test_runs_of_a_workflow_that_was_never_listed_are_not_judged(history):
    """A snapshot collected before the rule named its workflow (or edited to drop it) holds no runs of it:
    that is not 'no deploy', it is data that was not collected."""
    r, s = history
    github = {"workflow": WORKFLOW_PATH, "runs": []}
    found = judged(r, github)
    stack = [f for (rule, _), f in found.items() if rule == "ENC-API-002"]
    assert {f.status for f in stack} == {"error"} and all(f"runs of {CFN} were not collected" in f.message
                                                          for f in stack)


def test_the_page_budget_is_shared_by_every_listing(rsps, history):
    r, s = history
    FakeGitHub(rsps, [lam_run(9601, s["api2"], _at(8)), cfn_run(9602, s["stack2"], _at(9))])
    data, meter = collect(also=[CFN], max_pages=1)
    assert meter.requests == 1 and "max_pages=1" in meter.warnings[0]
    assert data["workflows"][CFN] == {"status": "error", "error": {
        "type": "BudgetExhausted", "message": "max_pages=1 was spent before its runs were listed"}}
    found = judged(r, data)
    assert {f.status for (rule, _), f in found.items() if rule == "ENC-API-002"} == {"error"}


def test_the_rules_own_deploy_script_decides_deployed_nothing(rsps, history):
    r, s = history
    # the Lambda script becomes a tombstone before the stack change: the stack's runs are not judged by it
    tomb = r.commit("retire deploy.sh ENC-TSK-6", {SCRIPT: TOMBSTONE}, author_date="2026-03-10T00:00:00Z")
    stack3 = r.commit("route change ENC-TSK-7", {STACK: "Resources: {}\n"}, author_date="2026-03-11T00:00:00Z")
    FakeGitHub(rsps, [lam_run(9701, s["api2"], _at(8)), cfn_run(9702, stack3, _at(11))])
    data, _ = collect(also=[CFN])
    found = judged(r, data)
    assert {k: v for k, v in statuses(found).items() if k[0] == "ENC-API-002"} == {
        ("ENC-API-002", s["stack1"][:12]): "pass", ("ENC-API-002", s["stack2"][:12]): "pass",
        ("ENC-API-002", stack3[:12]): "pass"}
    assert tomb  # the runtime rule is unaffected: run 9701 predates the tombstone
    # the stack rule naming its own script, tombstoned before its run: that run deployed nothing
    r.commit("retire the stack script ENC-TSK-8", {CFN_SCRIPT: TOMBSTONE}, author_date="2026-03-12T00:00:00Z")
    stack4 = r.commit("route change ENC-TSK-9", {STACK: "Resources: {A: {}}\n"}, author_date="2026-03-13T00:00:00Z")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        FakeGitHub(mock, [lam_run(9801, s["api2"], _at(8)), cfn_run(9802, stack4, _at(13))])
        data, _ = collect(also=[CFN])
    found = judged(r, data, {"deploy_script": CFN_SCRIPT})
    stack4_found = found[("ENC-API-002", stack4[:12])]
    assert stack4_found.status == "fail" and f"it deployed nothing: {CFN_SCRIPT} was a tombstone" in stack4_found.message
    # without the parameter the target's script (Lambda's) is not this workflow's: the run counts on timing
    assert judged(r, data)[("ENC-API-002", stack4[:12])].status == "pass"


def test_a_rule_naming_another_workflow_does_not_inherit_the_targets_script():
    assert canonical_paths({"workflow": CFN}, TARGET) == (CFN, None)
    assert canonical_paths({"workflow": CFN, "deploy_script": CFN_SCRIPT}, TARGET) == (CFN, CFN_SCRIPT)
    assert canonical_paths({}, TARGET) == (WORKFLOW_PATH, SCRIPT)
    assert canonical_paths({"workflow": WORKFLOW_PATH}, TARGET) == (WORKFLOW_PATH, SCRIPT)


def _claim(task: str, script: str, sha: str) -> dict:
    return {task: {"item_id": task, "history": [
        {"timestamp": "2026-03-20T08:00:00Z", "status": "worklog",
         "description": f"Ran {script} by hand; deployed commit {sha[:9]}; "
                        "LastModified=2026-03-20T07:59:00.000+0000 State=Active LastUpdateStatus=Successful"}]}}


def test_a_manual_run_of_the_lambda_script_does_not_deploy_the_stack(history):
    """Lying data: a worklog of a passing manual deploy.sh run naming the latest commit. It stands in for
    the Lambda workflow's run; the stack workflow has no script unless its rule names one."""
    r, s = history
    github = {"workflow": WORKFLOW_PATH, "runs": [], "workflows": {WORKFLOW_PATH: {"status": "ok"}, CFN: {"status": "ok"}}}
    manual = [make_rule("deploy_coverage", {}, rule_id="APIMCP-003"),
              make_rule("deploy_coverage", {"workflow": CFN}, scope=STACK_SCOPE, rule_id="ENC-API-002")]
    snap = snapshot(r.path, files=FILES, github=github, target=TARGET_HERE,
                    tracker={"project": "p", "items": _claim("ENC-TSK-5", SCRIPT, s["stack2"]), "missing": []}, **WINDOW)
    found = {(f.rule_id, f.subject): f for f in evaluate(snap, manual)}
    assert {k: f.status for k, f in found.items()} == {
        ("APIMCP-003", s["api1"][:12]): "pass", ("APIMCP-003", s["api2"][:12]): "pass",
        ("ENC-API-002", s["stack1"][:12]): "fail", ("ENC-API-002", s["stack2"][:12]): "fail"}
    assert "by hand" in found[("APIMCP-003", s["api1"][:12])].message
    assert f"no deploy script is named for {CFN}" in found[("ENC-API-002", s["stack2"][:12])].message
    # the stack rule naming its own script: a manual run of that one covers, deploy.sh still does not
    own = [make_rule("deploy_coverage", {"workflow": CFN, "deploy_script": CFN_SCRIPT}, scope=STACK_SCOPE,
                     rule_id="ENC-API-002")]
    assert {f.status for f in evaluate(snap, own)} == {"fail"}
    snap = snapshot(r.path, files=FILES, github=github, target=TARGET_HERE,
                    tracker={"project": "p", "items": _claim("ENC-TSK-5", CFN_SCRIPT, s["stack2"]), "missing": []},
                    **WINDOW)
    assert {f.status for f in evaluate(snap, own)} == {"pass"}


def test_the_source_plan_lists_the_workflows_the_rules_name(rsps, history):
    r, s = history
    fake = FakeGitHub(rsps, [lam_run(9901, s["api2"], _at(8)), cfn_run(9902, s["stack2"], _at(9))])
    rs = rules({"deploy_script": CFN_SCRIPT})
    assert run_workflows_of(rs, TARGET_HERE) == [CFN]
    assert CFN_SCRIPT in repo_files_of(rs, TARGET_HERE) and SCRIPT in repo_files_of(rs, TARGET_HERE)
    env = collect_one("github", {}, TARGET_HERE, {}, rs, SINCE, UNTIL, FILES, run_workflows_of(rs, TARGET_HERE))
    assert env["status"] == "ok", env.get("error")
    assert f"runs of {WORKFLOW_PATH} and {CFN} on main" in env["provenance"]["requested"]
    assert sorted(env["data"]["workflows"]) == sorted([WORKFLOW_PATH, CFN]) and len(fake.calls) == 2


def test_without_other_workflows_the_collection_is_as_before(rsps, history):
    r, s = history
    FakeGitHub(rsps, [lam_run(9951, s["api2"], _at(8))])
    data, _ = collect()
    assert "workflows" not in data and all("listed_by" not in run for run in data["runs"])
    assert run_workflows_of([make_rule("deploy_coverage", {"workflow": WORKFLOW_PATH})], TARGET_HERE) == []


def test_the_workflow_parameter_must_be_a_workflow_path():
    schema = kind_params()["deploy_coverage"]
    assert not list(Draft202012Validator(schema).iter_errors({"workflow": CFN}))
    for bad in (CFN_FILE, "workflows/x.yml", "../.github/workflows/x.yml", ""):
        assert list(Draft202012Validator(schema).iter_errors({"workflow": bad})), bad
    assert SCOPE  # the runtime scope the default rule governs


def test_stack_rule_run_listed_on_a_later_day_still_within_the_window(rsps, history):
    """A stack change deployed by a later commit's run of its own workflow (GitHub cancels pending runs)."""
    r, s = history
    FakeGitHub(rsps, [lam_run(9961, s["api2"], _at(8)), cfn_run(9962, s["stack2"], _at(9) + timedelta(days=2))])
    data, _ = collect(also=[CFN])
    found = judged(r, data)
    assert found[("ENC-API-002", s["stack1"][:12])].status == "pass"
    assert f"later commit {s['stack2'][:12]}" in found[("ENC-API-002", s["stack1"][:12])].message


def test_the_enceladus_policy_collects_and_judges_the_stack_workflow(rsps, history, tmp_path):
    """The shipped ENC-API-001, through the audit's own collection: its workflow is listed beside the
    target's, and only that workflow's runs cover the template's changes."""
    r, s = history
    policies = Path(__file__).resolve().parents[1] / "examples" / "enceladus" / "policies"
    cfg = tmp_path / "compliance.yaml"
    cfg.write_text(f"version: 1\ntarget:\n  repo: {r.path}\n  github_repo: {REPO}\n  branch: main\n"
                   f"  workflow: {WORKFLOW_PATH}\n  deploy_script: {SCRIPT}\n  function: devops-coordination-api\n"
                   f"  region: us-west-2\npolicies: [{policies}]\n", encoding="utf-8")
    config = load_config(str(cfg))
    ruleset = load_rules(config.policies)
    fake = FakeGitHub(rsps, [lam_run(9971, s["stack2"], _at(9)), cfn_run(9972, s["stack1"], _at(6))])
    snap = collect_snapshot(config, ruleset, SINCE, UNTIL)
    assert sorted({c.path.rsplit("/", 2)[-2] for c in fake.calls}) == sorted([WORKFLOW_FILE, CFN_FILE])
    found = {f.subject: f for f in evaluate(snap, ruleset.rules) if f.rule_id == "ENC-API-001" and f.subject_type == "change"}
    assert found[s["stack1"][:12]].status == "pass" and "run 9972" in found[s["stack1"][:12]].message
    # run 9971 of the API/MCP workflow is green for the later stack change's commit: it does not deploy the stack
    assert found[s["stack2"][:12]].status == "fail" and "9971" not in found[s["stack2"][:12]].message


def test_a_claim_must_say_the_rules_own_script_ran(history):
    """Lying data: the worklog names the stack script, but what it says was run is deploy.sh."""
    r, s = history
    github = {"workflow": WORKFLOW_PATH, "runs": [], "workflows": {WORKFLOW_PATH: {"status": "ok"}, CFN: {"status": "ok"}}}
    own = [make_rule("deploy_coverage", {"workflow": CFN, "deploy_script": CFN_SCRIPT}, scope=STACK_SCOPE,
                     rule_id="ENC-API-002")]
    items = {"ENC-TSK-5": {"item_id": "ENC-TSK-5", "history": [
        {"timestamp": "2026-03-20T08:00:00Z", "status": "worklog",
         "description": f"Ran {SCRIPT} by hand; {CFN_SCRIPT} was not run; deployed commit {s['stack2'][:9]}; "
                        "State=Active LastUpdateStatus=Successful"}]}}
    snap = snapshot(r.path, files=FILES, github=github, target=TARGET_HERE,
                    tracker={"project": "p", "items": items, "missing": []}, **WINDOW)
    found = evaluate(snap, own)
    assert {f.status for f in found} == {"fail"}
    assert all(f"it does not say {CFN_SCRIPT}, the script of {CFN}, was run by hand" in f.message for f in found)


def test_the_change_timeline_shows_the_run_the_rule_judged(rsps, history):
    """The per-change chain of a stack change names its own workflow's run, never a Lambda run that covers it
    by position only, so the timeline cannot say "deployed" where the finding says "not covered"."""
    r, s = history
    FakeGitHub(rsps, [lam_run(9981, s["stack2"], _at(9), event="workflow_dispatch"),
                      cfn_run(9982, s["stack1"], _at(6))])
    data, _ = collect(also=[CFN])
    snap = snapshot(r.path, files=FILES, github=data, target=TARGET_HERE, **WINDOW)
    rs = rules()
    chains = {c.change.sha: c for c in change_chains(snap, rs, evaluate(snap, rs))}
    run_stage = {sha: c.stages[1] for sha, c in chains.items()}
    assert run_stage[s["stack1"]].state == "ok" and "run 9982" in run_stage[s["stack1"]].label
    assert run_stage[s["stack2"]].state != "ok" and "9981" not in run_stage[s["stack2"]].label
    assert chains[s["stack2"]].verdicts == {"ENC-API-002": "fail"}
    assert chains[s["stack2"]].stages[2].label.startswith(f"not a deploy of the function: {CFN}")
    # the runtime changes keep the target's chain: the Lambda run of the later commit covers them
    assert run_stage[s["api1"]].state == "ok" and "run 9981" in run_stage[s["api1"]].label


def test_cloudtrail_proves_the_functions_workflow_only(rsps, history):
    """A trail holding no upload by the pipeline's role refutes the Lambda workflow's green runs; the stack
    workflow uploads no function code, so its runs are not refuted by that absence: they count on timing, and
    say so. A trail that failed is `error` for the Lambda rule only, for the same reason."""
    r, s = history
    FakeGitHub(rsps, [lam_run(9991, s["api2"], _at(8)), cfn_run(9992, s["stack2"], _at(9))])
    data, _ = collect(also=[CFN])
    target = {**TARGET_HERE, "principals": {"workflow_role": "arn:aws:iam::123456789012:role/deploy-ci"},
              "cloudtrail": {"bucket": "org-cloudtrail", "account": "123456789012"}}
    trail = {"function": TARGET["function"], "region": "us-west-2", "read": ["s3"], "events": []}
    for cloudtrail, lambda_status in ((trail, "fail"), (RuntimeError("AccessDenied: s3:ListBucket"), "error")):
        snap = snapshot(r.path, files=FILES, github=data, target=target, cloudtrail=cloudtrail, **WINDOW)
        found = {(f.rule_id, f.subject): f for f in evaluate(snap, rules())}
        assert {k: f.status for k, f in found.items()} == {
            ("APIMCP-003", s["api1"][:12]): lambda_status, ("APIMCP-003", s["api2"][:12]): lambda_status,
            ("ENC-API-002", s["stack1"][:12]): "pass", ("ENC-API-002", s["stack2"][:12]): "pass"}
        stack = found[("ENC-API-002", s["stack1"][:12])].message
        assert "run 9992" in stack and "(proof: timing)" in stack
        assert f"CloudTrail proves uploads of {TARGET['function']}'s code, which {CFN} does not make" in stack


def test_a_listing_record_that_contradicts_the_runs_is_not_believed(history):
    """Lying snapshot: the runs hold a green run of the target's workflow, but the record of listings says
    that listing failed (or does not name it): nothing shows the runs are the whole listing."""
    r, s = history
    green = {**lam_run(9995, s["api2"], _at(8)), "listed_by": WORKFLOW_PATH}
    for listings in ({WORKFLOW_PATH: {"status": "error", "error": {"type": "GitHubServerError", "message": "502"}},
                      CFN: {"status": "ok"}}, {CFN: {"status": "ok"}}):
        github = {"workflow": WORKFLOW_PATH, "runs": [{k: green[k] for k in (
            "id", "name", "head_sha", "head_branch", "path", "event", "status", "conclusion", "run_number",
            "run_attempt", "html_url", "created_at", "updated_at", "run_started_at", "listed_by")}],
            "workflows": listings}
        found = judged(r, github)
        assert {f.status for (rule, _), f in found.items() if rule == "APIMCP-003"} == {"error"}


def test_a_run_in_two_listings_counts_for_the_listing_whose_path_it_has(history):
    """The same run returned by two listings (a rule naming the target's workflow under another spelling,
    ``.github/workflows/API-MCP-backend-deploy.yml``, which sorts before it, or any overlap): each listing's copy
    is judged for its own workflow. One copy must not shadow the other, leaving the target's runs empty (every
    change uncovered) or crediting the other workflow with it."""
    r, s = history
    green = lam_run(9996, s["api2"], _at(8))
    keys = ("id", "name", "head_sha", "head_branch", "path", "event", "status", "conclusion", "run_number",
            "run_attempt", "html_url", "created_at", "updated_at", "run_started_at")
    run = {k: green[k] for k in keys}
    for order in ((CFN, WORKFLOW_PATH), (WORKFLOW_PATH, CFN)):
        github = {"workflow": WORKFLOW_PATH, "runs": [{**run, "listed_by": by} for by in order],
                  "workflows": {WORKFLOW_PATH: {"status": "ok"}, CFN: {"status": "ok"}}}
        found = judged(r, github)
        assert found[("APIMCP-003", s["api2"][:12])].status == "pass", order
        assert found[("APIMCP-003", s["api1"][:12])].status == "pass", order
        assert {f.status for (rule, _), f in found.items() if rule == "ENC-API-002"} == {"fail"}, order


def test_two_rules_naming_one_workflow_with_different_scripts_are_judged_each_by_its_own(rsps, history):
    """One evaluation, one workflow's runs, two scripts: the runs are indexed per (workflow, script), so the
    rule whose script was a tombstone at the run fails and the rule naming a live script passes."""
    r, _ = history
    live = "infrastructure/cloudformation/deploy-api-stack-v2.sh"
    r.commit("retire the stack script ENC-TSK-8", {CFN_SCRIPT: TOMBSTONE, live: CFN_DEPLOY},
             author_date="2026-03-12T00:00:00Z")
    stack4 = r.commit("route change ENC-TSK-9", {STACK: "Resources: {A: {}}\n"}, author_date="2026-03-13T00:00:00Z")
    FakeGitHub(rsps, [cfn_run(9902, stack4, _at(13))])
    data, _ = collect(also=[CFN])
    both = [make_rule("deploy_coverage", {"workflow": CFN, "deploy_script": script, "allow_manual_evidence": False},
                      scope=STACK_SCOPE, rule_id=rule_id)
            for rule_id, script in (("STACK-TOMB", CFN_SCRIPT), ("STACK-LIVE", live))]
    snap = snapshot(r.path, files=[*FILES, live], github=data, target=TARGET_HERE, **WINDOW)
    found = {(f.rule_id, f.subject): f for f in evaluate(snap, both)}
    assert found[("STACK-TOMB", stack4[:12])].status == "fail"
    assert found[("STACK-LIVE", stack4[:12])].status == "pass", found[("STACK-LIVE", stack4[:12])].message
