"""The files of the sample repository: texts shipped as package data, and the initial tree.

The longer texts (runbook, workflow, deploy script, the sample's Python) live in
``compliance/demo/files/`` so they read as the files they are; they are read as bytes and
decoded as UTF-8, so the repository (and every SHA in the demo) is the same on every platform.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from compliance.demo.system import API_DIR, DEPLOY_SCRIPT, DICTIONARY, MCP_DIR, WORKFLOW


@cache
def file_text(name: str) -> str:
    """One file of ``compliance/demo/files/``, exactly as shipped."""
    return (resources.files("compliance.demo") / "files" / name).read_bytes().decode("utf-8")


def workflow_v4() -> str:
    """The workflow after the ``ci-pin`` commit pinned configure-aws-credentials to v4."""
    return file_text("api-mcp-backend-deploy.yml").replace("configure-aws-credentials@v2",
                                                           "configure-aws-credentials@v4")


def dictionary(revision: int) -> str:
    entities = {
        "coordination_request": ["request_id", "status", "submitted_by", "created_at"],
        "tracker_task": ["item_id", "record_id", "status", "history"],
    }
    if revision >= 3:
        entities["coordination_request"].append("retry_count")
    if revision >= 5:
        entities["rate_limit"] = ["caller", "window_start", "count"]
    doc = {"generated_by": "tools/gen_data_dictionary.py", "revision": revision, "entities": entities}
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def tsx(name: str, body: str) -> str:
    return f"export function {name}() {{\n  return (\n    {body}\n  );\n}}\n"


def initial_tree() -> dict[str, str]:
    return {
        "README.md": "# enceladus\n\nMonorepo for the Enceladus tracker, coordination API and MCP tools.\n",
        "AGENTS.md": file_text("AGENTS.md"),
        WORKFLOW: file_text("api-mcp-backend-deploy.yml"),
        DEPLOY_SCRIPT: file_text("deploy.sh"),
        f"{API_DIR}/lambda_function.py": file_text("lambda_function.py.txt"),
        f"{API_DIR}/requirements.txt": "boto3==1.34.40\n",
        f"{API_DIR}/models/request.py": file_text("request.py.txt"),
        DICTIONARY: dictionary(1),
        f"{MCP_DIR}/server.py": file_text("server.py.txt"),
        f"{MCP_DIR}/dispatch_plan_generator.py": file_text("dispatch_plan_generator.py.txt"),
        "infrastructure/cloudformation/03-api.yaml": file_text("03-api.yaml"),
        "frontend/ui/package.json": '{\n  "name": "enceladus-ui",\n  "private": true\n}\n',
        "frontend/ui/src/components/FeedCard.tsx": tsx("FeedCard", '<div className="card p-2" />'),
        "frontend/ui/src/components/NavBar.tsx": tsx("NavBar", '<nav className="flex" />'),
        "frontend/ui/src/pages/Board.tsx": tsx("Board", "<section />"),
        "frontend/ui/src/pages/Deployments.tsx": tsx("Deployments", "<form />"),
    }
