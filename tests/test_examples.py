"""The shipped config and policy for the real repository (examples/enceladus) load, validate, pass their
rule cases, and judge an enceladus-shaped repository as it stands at main: the runbook still names the
deleted workflow and the tombstoned script, and its three-entry Scope is governed by the rules."""

from __future__ import annotations

from pathlib import Path

from compliance.base.timeutil import parse_time
from compliance.cli import main
from compliance.inputs.config import load_config
from compliance.inputs.rules import load_rules
from compliance.judge.engine import Context, evaluate
from compliance.judge.registry import reads_of, repo_files_of
from compliance.model.snapshot import build_snapshot, validate_snapshot
from compliance.sources.plan import collect_sources
from tests.gitrepo import GitRepo
from tests.runbook_texts import CFN_WORKFLOW, V3
from tests.scenario import DEPLOY_SH, GOOD_WORKFLOW

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "enceladus"
RUNBOOK = "backend/API_MCP_DEPLOY_PROCESS.md"


def test_config_loads_and_names_the_real_runbook(capsys):
    config = load_config(str(EXAMPLE / "compliance.yaml"))
    assert config.target["runbook"] == RUNBOOK and config.target["workflow"].endswith("api-mcp-backend-deploy.yml")
    assert config.policies[0] == "builtin:api-mcp-runbook" and config.policies[1] == str(EXAMPLE / "policies")
    assert main(["rules", "validate", *config.policies]) == 0
    assert "18 rule(s) valid in 3 file(s)" in capsys.readouterr().out


def test_policy_cases_pass(capsys):
    assert main(["rules", "test", "--policies", str(EXAMPLE / "policies")]) == 0
    out = capsys.readouterr().out
    assert "PASS ENC-API-001" in out and "PASS ENC-GOV-001" in out and out.rstrip().endswith(" passed, 0 failed")


def _enceladus_at_main(tmp_path) -> GitRepo:
    r = GitRepo(tmp_path / "enceladus").init()
    r.commit("init", {"README.md": "x\n", "AGENTS.md": "agents\n",
                      "backend/README.md": f"See `{RUNBOOK}` for the current API+MCP deployment runbook.\n",
                      "backend/lambda/coordination_api/deploy.sh": DEPLOY_SH,
                      ".github/workflows/api-mcp-backend-deploy.yml": GOOD_WORKFLOW,
                      ".github/workflows/cloudformation-api-stack-deploy.yml": CFN_WORKFLOW,
                      "infrastructure/cloudformation/03-api.yaml": "Resources: {}\n", RUNBOOK: V3},
             author_date="2026-02-24T00:00:00Z")
    r.commit("retire deploy.sh ENC-TSK-400", {"backend/lambda/coordination_api/deploy.sh": "# retired\n"},
             author_date="2026-04-10T00:00:00Z")
    r.commit("retire the workflow ENC-TSK-401", {".github/workflows/api-mcp-backend-deploy.yml": None},
             author_date="2026-04-20T00:00:00Z")
    return r


def test_the_real_repository_at_main(tmp_path):
    repo = _enceladus_at_main(tmp_path)
    config = load_config(str(EXAMPLE / "compliance.yaml"))
    rules = load_rules(config.policies).rules
    target = {**config.target, "repo": str(repo.path)}
    wanted = {"git", "runbook"} & reads_of(rules)
    since, until = parse_time("2026-04-01T00:00:00Z"), parse_time("2026-04-30T00:00:00Z")
    sources = collect_sources(wanted, {}, target, rules, since, until, repo_files_of(rules, target))
    snap = build_snapshot(tool_version="test", collected_at="2026-04-30T00:00:00Z",
                          window={"since": "2026-04-01T00:00:00Z", "until": "2026-04-30T00:00:00Z", "branch": "main"},
                          target={k: v for k, v in target.items() if k != "repo"}, rules={}, sources=sources)
    validate_snapshot(snap)
    judged = [r for r in rules if r.id in ("APIMCP-014", "ENC-API-001", "ENC-GOV-001", "APIMCP-011")]
    found = {(f.rule_id, f.subject): f.status for f in evaluate(snap, judged, Context(snap, rules=list(rules)))}
    assert found == {
        ("APIMCP-014", f"{RUNBOOK}: workflow .github/workflows/api-mcp-backend-deploy.yml"): "fail",
        ("APIMCP-014", f"{RUNBOOK}: script backend/lambda/coordination_api/deploy.sh"): "fail",
        ("ENC-API-001", ".github/workflows/cloudformation-api-stack-deploy.yml"): "pass",
        ("ENC-API-001", "-"): "not_applicable",  # its coverage: no change of the stack template in April
        ("ENC-GOV-001", "AGENTS.md, backend/README.md"): "pass",
        ("APIMCP-011", "AGENTS.md"): "fail",  # AGENTS.md does not point at the runbook: a true finding here
    }
