"""Test scenarios: a REAL git repository plus source data, assembled into a real snapshot.

The git source runs for real on the repository; the other sources are the plain data a live
collector would have returned (shaped like the snapshot schema), or an error envelope.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

from compliance.base.timeutil import parse_time
from compliance.demo.tree import file_text
from compliance.judge.engine import evaluate
from compliance.model.rules import CheckSpec, Remediation, Rule, Scope
from compliance.model.snapshot import validate_snapshot
from compliance.sources.base import run_source
from tests.gitrepo import GitRepo

SCOPE = Scope(("backend/lambda/coordination_api/**", "tools/enceladus-mcp-server/**"),
              ("**/governance_data_dictionary.json",))
WORKFLOW = ".github/workflows/api-mcp-backend-deploy.yml"
FUNCTION = "devops-coordination-api"
ARN = f"arn:aws:lambda:us-west-2:123456789012:function:{FUNCTION}"
TARGET = {"name": "test", "branch": "main", "workflow": WORKFLOW, "function": FUNCTION, "region": "us-west-2",
          "deploy_script": "backend/lambda/coordination_api/deploy.sh", "github_repo": "NX-2021-L/enceladus"}

# the runbook the rules cite (target.runbook), in its first version; the repositories here hold it, as enceladus does
RUNBOOK_PATH = "docs/runbooks/api-mcp-deploy.md"
RUNBOOK_TEXT = file_text("api-mcp-deploy.md")

GOOD_WORKFLOW = """name: API + MCP backend deploy
on:
  push:
    branches: [main]
    paths:
      - "backend/lambda/coordination_api/**"
      - "tools/enceladus-mcp-server/**"
      - ".github/workflows/api-mcp-backend-deploy.yml"
  workflow_dispatch:
    inputs:
      reason: {description: why, required: false}
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Deploy coordination API
        run: backend/lambda/coordination_api/deploy.sh
      - name: Validate deployed Lambda state
        run: |
          aws lambda wait function-updated-v2 --function-name devops-coordination-api
          aws lambda wait function-active-v2 --function-name devops-coordination-api
"""

DEPLOY_SH = "#!/usr/bin/env bash\nset -euo pipefail\nREGION=${REGION:-us-west-2}\ncd \"$(dirname \"$0\")\"\n" \
            "zip -qr function.zip .\naws lambda update-function-code --function-name devops-coordination-api " \
            "--zip-file fileb://function.zip --region \"$REGION\"\n"


_BUILT: list[tuple[GitRepo, dict[str, str]]] = []  # this process's template: built once, copied per test


def build_repo(path) -> tuple[GitRepo, dict[str, str]]:
    """A small history with every commit shape; returns the repo and named shas.

    The history is fixed (every date is given), so it is built once per process (per xdist worker)
    and every caller gets its own copy at ``path``: about 30 git processes saved per test."""
    if not _BUILT:
        template = Path(tempfile.mkdtemp(prefix="scenario-repo-"))
        atexit.register(shutil.rmtree, template, ignore_errors=True)
        _BUILT.append(_build_repo(template / "enceladus"))
    template, shas = _BUILT[0]
    return template.copy(path), dict(shas)


def _build_repo(path) -> tuple[GitRepo, dict[str, str]]:
    repo = GitRepo(path).init()
    s = {}
    s["base"] = repo.commit("initial import", {
        "README.md": "enceladus\n", WORKFLOW: GOOD_WORKFLOW,
        "backend/lambda/coordination_api/deploy.sh": DEPLOY_SH,
        "backend/lambda/coordination_api/lambda_function.py": "v = 0\n",
        "AGENTS.md": "Deploy API/MCP per docs/runbooks/api-mcp-deploy.md\n", RUNBOOK_PATH: RUNBOOK_TEXT,
    }, author_date="2026-02-20T10:00:00-08:00")
    repo.branch("agent/enc-tsk-325-capabilities")
    repo.commit("add capabilities", {"backend/lambda/coordination_api/lambda_function.py": "v = 1\n"},
                author_date="2026-02-25T09:00:00-08:00")
    repo.checkout("main")
    s["pr"] = repo.merge_pr(12, "NX-2021-L", "agent/enc-tsk-325-capabilities", "Capabilities endpoint",
                            date="2026-02-25T10:00:00-08:00")
    s["squash"] = repo.squash(13, "MCP dispatch plan ENC-TSK-326",
                              {"tools/enceladus-mcp-server/server.py": "print('mcp')\n"},
                              date="2026-02-26T12:00:00+00:00")
    s["ui"] = repo.commit("frontend tweak ENC-TSK-400", {"frontend/app.js": "x\n"},
                          author_date="2026-02-27T12:00:00-07:00")
    s["dict"] = repo.commit("regenerate dictionary ENC-TSK-401",
                            {"backend/lambda/coordination_api/governance_data_dictionary.json": "{}\n"},
                            author_date="2026-02-28T12:00:00+00:00")
    s["direct"] = repo.commit("hotfix without a task",
                              {"backend/lambda/coordination_api/lambda_function.py": "v = 2\n"},
                              author_date="2026-03-01T12:00:00+00:00")
    return repo, s


def run(run_id: int, sha: str, conclusion: str | None, created: str, updated: str, *, branch: str = "main",
        event: str = "push", status: str = "completed", deploy: tuple[str, str] | None = None) -> dict[str, Any]:
    """A workflow run as GitHub's REST API shows it (the fields the checker reads)."""
    out = {"id": run_id, "name": "API + MCP backend deploy", "head_sha": sha, "head_branch": branch,
           "path": WORKFLOW, "event": event, "status": status, "conclusion": conclusion, "run_number": run_id % 1000,
           "run_attempt": 1, "html_url": f"https://github.com/NX-2021-L/enceladus/actions/runs/{run_id}",
           "created_at": created, "updated_at": updated, "run_started_at": created}
    if deploy:
        out["jobs"] = [{"name": "deploy", "steps": [
            {"name": "Deploy coordination API", "status": "completed", "conclusion": conclusion,
             "started_at": deploy[0], "completed_at": deploy[1]}]}]
    return out


LIVE_CODE = "LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE="  # base64 SHA-256, as Lambda reports it


def lambda_data(state="Active", update="Successful", modified="2026-02-26T12:05:00.000+0000", **extra) -> dict:
    cfg = {"FunctionName": FUNCTION, "FunctionArn": ARN, "State": state, "LastUpdateStatus": update,
           "LastModified": modified, "CodeSha256": LIVE_CODE, "RevisionId": "0b1e6c9a-4c1f-4d7e-9a0b-1c2d3e4f5a6b",
           "Version": "$LATEST", **extra}
    return {"function": FUNCTION, "configuration": cfg}


def make_rule(kind: str, params: dict | None = None, *, scope: Scope = SCOPE, rule_id: str = "T-001", **kw) -> Rule:
    return Rule(rule_id, f"test {kind}", "high", "because", "Test", scope, (CheckSpec(kind, params or {}),),
                Remediation("fix it", "fix {sha}"), **kw)


def snapshot(repo_path, *, files=(), since="2026-02-21T00:00:00Z", until="2026-03-31T00:00:00Z",
             target: dict | None = None, collected_at: str = "2026-03-31T00:00:00Z", **sources: Any) -> dict[str, Any]:
    """Collect git for real; other sources given as data, or as an Exception to record a failed source."""
    from compliance.sources.git import collect_git

    out = {"git": run_source("git", "test", lambda m: collect_git(str(repo_path), "main", parse_time(since),
                                                                 until=parse_time(until), files=list(files),
                                                                 meter=m))}
    for name, value in sources.items():
        def fn(_m, value=value):
            if isinstance(value, Exception):
                raise value
            return value
        out[name] = run_source("file", name, fn)
    snap = {"snapshot_version": 1, "tool": {"name": "compliance", "version": "test"},
            "collected_at": collected_at, "window": {"since": since, "until": until, "branch": "main"},
            "target": target or TARGET, "rules": {}, "sources": out}
    validate_snapshot(snap)
    return snap


def verdicts(findings) -> dict[str, str]:
    return {f.subject: f.status for f in findings}


def judge(snap, kind, params=None, **kw):
    return evaluate(snap, [make_rule(kind, params, **kw)])


def live_config_text(probe_url: str) -> str:
    """compliance.yaml for the live system the end-to-end tests build (moto, FakeGitHub, a loopback probe)."""
    from pathlib import Path

    from tests import moto_env
    from tests.github_payloads import REPO, WORKFLOW_PATH
    from tests.trail_records import CODEBUILD_ROLE, ROLE, TRAIL_BUCKET

    policies = Path(__file__).resolve().parents[1] / "policies"
    return f"""version: 1
target:
  repo: enceladus
  github_repo: {REPO}
  branch: main
  workflow: {WORKFLOW_PATH}
  deploy_script: backend/lambda/coordination_api/deploy.sh
  runbook: {RUNBOOK_PATH}
  region: us-west-2
  function: {moto_env.FUNCTION}
  http_api: {moto_env.HTTP_API}
  capability_url: {probe_url}/api/v1/coordination/capabilities
  tracker: {{table: {moto_env.TRACKER_TABLE}, project: {moto_env.PROJECT}}}
  deploy_manager: {{table: {moto_env.DM_TABLE}, project: {moto_env.PROJECT}}}
  cloudtrail: {{bucket: {TRAIL_BUCKET}, account: '{moto_env.ACCOUNT}'}}
  principals: {{workflow_role: '{ROLE}', deploy_manager: ['{CODEBUILD_ROLE}']}}
policies: [{policies}]
"""
