"""guidance_references against guidance shaped to look as if it referenced the runbook (a hostile probe), on a
real git repository: the runbook's path as part of another path, or inside a URL to another repository.
"""

from __future__ import annotations

import pytest

from tests.gitrepo import GitRepo
from tests.scenario import TARGET, judge, snapshot

RUNBOOK = "backend/API_MCP_DEPLOY_PROCESS.md"
PARAMS = {"files": ["AGENTS.md"]}
CONFIGURED = {**TARGET, "runbook": RUNBOOK, "github_repo": "NX-2021-L/enceladus"}


def _status(tmp_path, agents: str) -> str:
    r = GitRepo(tmp_path / "repo").init()
    r.commit("init", {"AGENTS.md": agents, RUNBOOK: "# Runbook\n\n## Scope\n\n- `backend/**`\n"},
             author_date="2026-03-02T00:00:00Z")
    snap = snapshot(r.path, files=["AGENTS.md", RUNBOOK], target=CONFIGURED)
    found = judge(snap, "guidance_references", PARAMS)
    assert len(found) == 1
    return found[0].status


@pytest.mark.parametrize("agents", [
    "Deploy per old-backend/API_MCP_DEPLOY_PROCESS.md.\n",
    "Deploy per backend/API_MCP_DEPLOY_PROCESS.md.bak\n",
    "Deploy per legacy/backend/API_MCP_DEPLOY_PROCESS.md\n",
    "Deploy per backend/API_MCP_DEPLOY_PROCESS.mdx\n",
    "See https://github.com/someone/fork/blob/main/backend/API_MCP_DEPLOY_PROCESS.md\n",
    "See https://example.com/mirror/backend/API_MCP_DEPLOY_PROCESS.md\n",
])
def test_the_path_inside_another_path_or_another_repositorys_url_is_no_reference(tmp_path, agents):
    assert _status(tmp_path, agents) == "fail"


@pytest.mark.parametrize("agents", [
    "Deploy API/MCP per backend/API_MCP_DEPLOY_PROCESS.md.\n",
    "Deploy per `backend/API_MCP_DEPLOY_PROCESS.md`\n",
    "Deploy per [the runbook](backend/API_MCP_DEPLOY_PROCESS.md)\n",
    "Deploy per [the runbook](./backend/API_MCP_DEPLOY_PROCESS.md#scope)\n",
    "See https://github.com/NX-2021-L/enceladus/blob/main/backend/API_MCP_DEPLOY_PROCESS.md\n",
    "See https://github.com/nx-2021-l/Enceladus/tree/v4/backend/API_MCP_DEPLOY_PROCESS.md\n",
])
def test_the_path_itself_or_a_link_into_this_repository_is_a_reference(tmp_path, agents):
    assert _status(tmp_path, agents) == "pass"
