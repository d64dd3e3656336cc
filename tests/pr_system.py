"""The pull-request system: a real repository with a drifting PR branch and a config for `compliance pr`.

Registered as a plugin by tests/conftest.py (fixture ``setup``); ``pr_file`` builds a PR file entry.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.github_payloads import REPO, WORKFLOW_PATH
from tests.scenario import GOOD_WORKFLOW, RUNBOOK_PATH, build_repo

ROOT = Path(__file__).resolve().parents[1]


def pr_file(name: str, status: str = "modified") -> dict:
    return {"sha": "0" * 40, "filename": name, "status": status, "additions": 1, "deletions": 1, "changes": 2,
            "patch": "@@ -1 +1 @@\n-a\n+b"}


@pytest.fixture
def setup(tmp_path, monkeypatch):
    """A repository whose PR branch ``agent/drift`` narrows the workflow's filter, and a PR-mode config:
    returns (config path, repo, shas, drift sha)."""
    repo, s = build_repo(tmp_path / "enceladus")
    # the PR branch drops the MCP server from the workflow's push filter
    repo.branch("agent/drift")
    repo.commit("narrow the filter", {WORKFLOW_PATH: GOOD_WORKFLOW.replace('      - "tools/enceladus-mcp-server/**"\n',
                                                                         "")})
    drift = repo.rev("HEAD")
    repo.checkout("main")
    (tmp_path / "dm.json").write_text(json.dumps({"table": "t", "requests": [], "specs": []}), "utf-8")
    config = tmp_path / "compliance.yaml"
    config.write_text(f"""version: 1
target:
  repo: enceladus
  github_repo: {REPO}
  branch: main
  workflow: {WORKFLOW_PATH}
  deploy_script: backend/lambda/coordination_api/deploy.sh
  runbook: {RUNBOOK_PATH}
  region: us-west-2
  function: devops-coordination-api
  deploy_manager: {{table: devops-deployment-manager}}
policies: [{ROOT / 'policies'}]
sources:
  deploy_manager: {{file: dm.json}}
""", "utf-8")
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_" + "pr00" * 9)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.setattr("compliance.sources.github_client.time.sleep", lambda s: None)
    return config, repo, s, drift
