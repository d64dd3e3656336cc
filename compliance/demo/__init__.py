"""A self-contained sample of the governed system, for ``compliance demo``.

The demo has to show every kind of verdict without network access or credentials, yet still
exercise the real collectors: the git source reads a REAL repository built here, the probe
really connects (to a loopback port nothing listens on), and only the cloud-side sources are
replaced by JSON files, each shaped exactly like the ``data`` object its live collector
returns. Every SHA in those files is a commit of the generated repository, so joins between
sources (run -> commit, worklog -> commit, Lambda LastModified -> deploy step) are real joins.

The repository is written with one ``git fast-import`` stream: author and committer dates,
time zones and identities are all in the stream, so the SHAs are identical on every machine
and the whole build costs a handful of processes.

Designed outcomes (see ``_history`` and the data builders for the why of each one):

- an in-scope change (the last one) that no successful run deployed, with a failed Lambda
  update whose ``LastModified`` falls inside that run's deploy step;
- an in-scope change just before it whose failed run was re-run minutes before the collection and
  is still ``in_progress``: it may still deploy that change, so the change is ``pending`` (not
  judged yet). A re-run keeps the run's ``created_at`` (inside the window, as the live listing by
  creation date returns it) and restarts ``run_started_at``, which is dated relative to the
  build like the waivers, because the demo collects with the wall clock;
- a cancelled run whose change a later successful run still deployed (GitHub concurrency);
- a failed push run repaired by a ``workflow_dispatch`` run of the same commit;
- tracker evidence that is complete, incomplete (no LastModified), absent, structured-only,
  missing from the tracker altogether, or hostile text that reports must render inert;
- an in-scope direct push without a tracker id;
- a ``lambda_update`` deployment-manager request targeting the coordination API function;
- a workflow whose validation step only prints, and whose ``paths`` miss
  ``infrastructure/cloudformation/03-api.yaml``;
- routes and integrations all present; a capability probe that fails (connection refused);
- a ``waivers.yaml`` dated relative to today (the demo collects with the wall clock): one waiver
  applied, one applied but expiring soon, one expired, one that matches only an ``error``
  finding (never waived) and one no longer needed;
- a "previous audit" (``previous_snapshot``): a week earlier, when the last changes had not
  happened yet and a route was missing, so the diff has new, fixed and still-failing entries.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import socket
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml

from compliance.base.timeutil import parse_time
from compliance.inputs.builtin import DEFAULT_POLICIES

DEMO_SINCE = "2026-02-20"
DEMO_UNTIL = "2026-03-21"

OWNER = "NX-2021-L"
REPO = "enceladus"
GITHUB_REPO = f"{OWNER}/{REPO}"
BRANCH = "main"
REGION = "us-west-2"
ACCOUNT = "123456789012"
FUNCTION = "devops-coordination-api"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}"
HTTP_API = "devops-tracker-api"
WORKFLOW = ".github/workflows/api-mcp-backend-deploy.yml"
WORKFLOW_NAME = "API + MCP Backend Deploy"
WORKFLOW_ID = 118273645
DEPLOY_SCRIPT = "backend/lambda/coordination_api/deploy.sh"
DEPLOY_STEP = "Deploy coordination API"
TRACKER_TABLE = "devops-project-tracker"
DM_TABLE = "devops-deployment-manager"

_API = "backend/lambda/coordination_api"
_MCP = "tools/enceladus-mcp-server"
_DICT = f"{_API}/governance_data_dictionary.json"
_NOTE = "docs/notes/déploiement.md"

Person = tuple[str, str]
_OWNER_P: Person = ("NX-2021-L", "41872345+NX-2021-L@users.noreply.github.com")
_AGENT: Person = ("enceladus-agent", "enceladus-agent@users.noreply.github.com")
_GITHUB: Person = ("GitHub", "noreply@github.com")

_PST = timezone(timedelta(hours=-8))
_PDT = timezone(timedelta(hours=-7))
_UTC = timezone.utc


def _at(text: str, tz: timezone) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=tz)


def _z(dt: datetime) -> str:
    return dt.astimezone(_UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _lambda_time(dt: datetime) -> str:
    return dt.astimezone(_UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


# --------------------------------------------------------------------------- repository files

_RUNBOOK = """\
# API + MCP Deployment Process

This runbook defines the supported deployment process for Enceladus API and MCP runtime changes in `NX-2021-L/enceladus`.

## Scope

- `backend/lambda/coordination_api/**`
- `tools/enceladus-mcp-server/**`

These paths are deployed together because the coordination API package embeds the MCP server runtime (`server.py` and `dispatch_plan_generator.py`) during build.

## Why This Process Exists

The backend deployment-manager pipeline currently executes UI deployments through CodeBuild. Non-UI requests are validated and queued as `queued_non_ui`, but there is no downstream non-UI executor in this repository. Because of that, API/MCP deployments must use the direct coordination API deploy script.

## Canonical Automation

- Workflow: `.github/workflows/api-mcp-backend-deploy.yml`
- Job action: runs `backend/lambda/coordination_api/deploy.sh`
- Trigger:
  - push to `main` touching scoped paths
  - manual `workflow_dispatch`

## Manual Execution (local)

```bash
cd /path/to/enceladus/repo
chmod +x backend/lambda/coordination_api/deploy.sh
backend/lambda/coordination_api/deploy.sh
```

Required environment:

- AWS credentials with permission to update Lambda, API Gateway, IAM, CloudWatch Logs, DynamoDB.
- Region defaults to `us-west-2` unless `REGION` is overridden.

Optional environment:

- `COORDINATION_INTERNAL_API_KEY` to force key rotation/update during deploy.

## Validation Requirements

After each deployment, confirm:

1. `devops-coordination-api` Lambda reports `State=Active` and `LastUpdateStatus=Successful`.
2. API Gateway integration/routes remain present for `/api/v1/coordination/*`.
3. Capability endpoint responds through production path (authenticated smoke test where required).

The GitHub workflow enforces item (1) directly using `aws lambda get-function-configuration`.

## Governance / Compliance Notes

- Do not submit API/MCP changes through the UI deployment-manager request flow as a substitute for runtime deployment.
- Document deployment evidence (commit, function last-modified timestamp, validation outcome) in tracker worklogs for affected tasks.
- Keep this runbook referenced from governance guidance so future agent sessions use this process by default.
"""

_WORKFLOW_V2 = """\
name: API + MCP Backend Deploy

on:
  push:
    branches:
      - main
    paths:
      - "backend/lambda/coordination_api/**"
      - "tools/enceladus-mcp-server/**"
      - ".github/workflows/api-mcp-backend-deploy.yml"
  workflow_dispatch:
    inputs:
      reason:
        description: "Why a manual deploy is needed"
        required: false
        default: "manual redeploy"

permissions:
  id-token: write
  contents: read

concurrency:
  group: api-mcp-backend-deploy-${{ github.ref }}
  cancel-in-progress: false

jobs:
  deploy:
    name: Deploy coordination API + MCP runtime
    runs-on: ubuntu-latest
    environment: production
    env:
      AWS_REGION: us-west-2
      FUNCTION_NAME: devops-coordination-api
    steps:
      - name: Checkout
        uses: actions/checkout@v4

      - name: Configure AWS credentials
        uses: aws-actions/configure-aws-credentials@v2
        with:
          role-to-assume: ${{ secrets.AWS_DEPLOY_ROLE_ARN }}
          aws-region: ${{ env.AWS_REGION }}

      - name: Deploy coordination API
        run: |
          chmod +x backend/lambda/coordination_api/deploy.sh
          backend/lambda/coordination_api/deploy.sh

      - name: Validate deployed Lambda state
        run: |
          aws lambda get-function-configuration \\
            --function-name "$FUNCTION_NAME" \\
            --region "$AWS_REGION" \\
            --query '{State:State,LastUpdateStatus:LastUpdateStatus}' \\
            --output table
"""
_WORKFLOW_V4 = _WORKFLOW_V2.replace("configure-aws-credentials@v2", "configure-aws-credentials@v4")

_DEPLOY_SH = """\
#!/usr/bin/env bash
# Build and deploy the coordination API Lambda (with the embedded MCP server runtime),
# then make sure the HTTP API routes still point at it.
set -euo pipefail

REGION="${REGION:-us-west-2}"
FUNCTION_NAME="${FUNCTION_NAME:-devops-coordination-api}"
API_NAME="${API_NAME:-devops-tracker-api}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
BUILD="$(mktemp -d)"
trap 'rm -rf "$BUILD"' EXIT

cp "$ROOT/backend/lambda/coordination_api/lambda_function.py" "$BUILD/"
cp -r "$ROOT/backend/lambda/coordination_api/models" "$BUILD/"
cp "$ROOT/backend/lambda/coordination_api/governance_data_dictionary.json" "$BUILD/"
cp "$ROOT/tools/enceladus-mcp-server/server.py" "$BUILD/"
cp "$ROOT/tools/enceladus-mcp-server/dispatch_plan_generator.py" "$BUILD/"
python3 -m pip install --quiet --target "$BUILD" -r "$ROOT/backend/lambda/coordination_api/requirements.txt"
(cd "$BUILD" && zip -qr function.zip .)

aws lambda update-function-code \\
  --region "$REGION" --function-name "$FUNCTION_NAME" \\
  --zip-file "fileb://$BUILD/function.zip" >/dev/null
aws lambda wait function-updated --region "$REGION" --function-name "$FUNCTION_NAME"

if [[ -n "${COORDINATION_INTERNAL_API_KEY:-}" ]]; then
  aws lambda update-function-configuration \\
    --region "$REGION" --function-name "$FUNCTION_NAME" \\
    --environment "Variables={COORDINATION_INTERNAL_API_KEY=$COORDINATION_INTERNAL_API_KEY}" >/dev/null
  aws lambda wait function-updated --region "$REGION" --function-name "$FUNCTION_NAME"
fi

API_ID="$(aws apigatewayv2 get-apis --region "$REGION" \\
  --query "Items[?Name=='$API_NAME'].ApiId | [0]" --output text)"
FUNCTION_ARN="$(aws lambda get-function --region "$REGION" --function-name "$FUNCTION_NAME" \\
  --query 'Configuration.FunctionArn' --output text)"
INTEGRATION_ID="$(aws apigatewayv2 get-integrations --region "$REGION" --api-id "$API_ID" \\
  --query "Items[?IntegrationUri=='$FUNCTION_ARN'].IntegrationId | [0]" --output text)"

ensure_route() {
  local key="$1"
  if ! aws apigatewayv2 get-routes --region "$REGION" --api-id "$API_ID" \\
      --query "Items[?RouteKey=='$key'].RouteId" --output text | grep -q .; then
    aws apigatewayv2 create-route --region "$REGION" --api-id "$API_ID" \\
      --route-key "$key" --target "integrations/$INTEGRATION_ID" >/dev/null
  fi
}

for path in /api/v1/coordination/capabilities /api/v1/coordination/requests \\
    "/api/v1/coordination/requests/{requestId}" /api/v1/coordination/mcp; do
  ensure_route "OPTIONS $path"
done
ensure_route "GET /api/v1/coordination/capabilities"
ensure_route "POST /api/v1/coordination/requests"
ensure_route "GET /api/v1/coordination/requests/{requestId}"
ensure_route "GET /api/v1/coordination/mcp"
ensure_route "POST /api/v1/coordination/mcp"

echo "deployed $FUNCTION_NAME in $REGION"
"""

_LAMBDA_PY = '''\
"""Coordination API: capability discovery, request intake and the MCP endpoint."""

import json
import os

import boto3

CONTRACT_VERSION = "0.2.0"
TABLE = os.environ.get("COORDINATION_TABLE", "devops-coordination-requests")
INTERNAL_KEY = os.environ.get("COORDINATION_INTERNAL_API_KEY", "")

_dynamodb = boto3.resource("dynamodb")


def _response(status, body):
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
    }


def capabilities():
    return {"contract_version": CONTRACT_VERSION, "mcp": True, "requests": True}


def _authorized(event):
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    return bool(INTERNAL_KEY) and headers.get("x-coordination-internal-key") == INTERNAL_KEY


def lambda_handler(event, context):
    route = event.get("routeKey", "")
    if route == "GET /api/v1/coordination/capabilities":
        return _response(200, {"success": True, "capabilities": capabilities()})
    if not _authorized(event):
        return _response(401, {"success": False, "error": "unauthorized"})
    if route == "POST /api/v1/coordination/requests":
        body = json.loads(event.get("body") or "{}")
        _dynamodb.Table(TABLE).put_item(Item=body)
        return _response(202, {"success": True})
    return _response(404, {"success": False, "error": "unknown route"})
'''

_MODEL_PY = '''\
"""Shape of a coordination request row; governance_data_dictionary.json is generated from it."""

REQUEST_FIELDS = ("request_id", "status", "submitted_by", "created_at")
'''

_SERVER_PY = '''\
"""Enceladus MCP server runtime, embedded in the coordination API package at build time."""

import json

from dispatch_plan_generator import build_plan

TOOLS = {
    "dispatch_plan": {"input": {"type": "object", "required": ["tasks"]}},
    "tracker_search": {"input": {"type": "object", "required": ["query"]}},
}


def handle(message):
    tool = message.get("tool")
    if tool not in TOOLS:
        return {"error": f"unknown tool {tool}"}
    if tool == "dispatch_plan":
        return {"result": build_plan(message.get("arguments", {}).get("tasks", []))}
    return {"result": []}


def main(raw):
    return json.dumps(handle(json.loads(raw)))
'''

_PLAN_PY = '''\
"""Turns a set of tracker tasks into an ordered dispatch plan for agent sessions."""


def build_plan(tasks):
    plan = []
    for task in tasks:
        plan.append({"task": task.get("id"), "after": task.get("depends_on", [])})
    return plan
'''

_AGENTS_MD = """\
# Agent guidance

- Reference every change to a tracker item (`ENC-TSK-###`) in the branch name and PR title.
- Record worklogs on the tracker item when work lands.
"""

_AGENTS_RUNBOOK = """
## Deploying API / MCP changes

API and MCP runtime changes are deployed only by the canonical workflow; follow
[`docs/runbooks/api-mcp-deploy.md`](docs/runbooks/api-mcp-deploy.md). Never route them through
the UI deployment-manager request flow, and record deployment evidence in the task worklog.
"""

_CFN_API = """\
AWSTemplateFormatVersion: "2010-09-09"
Description: devops-tracker-api HTTP API stage settings
Resources:
  DefaultStage:
    Type: AWS::ApiGatewayV2::Stage
    Properties:
      ApiId: !ImportValue devops-tracker-api-id
      StageName: $default
      AutoDeploy: true
      DefaultRouteSettings:
        ThrottlingBurstLimit: 50
        ThrottlingRateLimit: 25
"""


def _dictionary(revision: int) -> str:
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


def _tsx(name: str, body: str) -> str:
    return f"export function {name}() {{\n  return (\n    {body}\n  );\n}}\n"


def _initial_tree() -> dict[str, str]:
    return {
        "README.md": "# enceladus\n\nMonorepo for the Enceladus tracker, coordination API and MCP tools.\n",
        "AGENTS.md": _AGENTS_MD,
        WORKFLOW: _WORKFLOW_V2,
        DEPLOY_SCRIPT: _DEPLOY_SH,
        f"{_API}/lambda_function.py": _LAMBDA_PY,
        f"{_API}/requirements.txt": "boto3==1.34.40\n",
        f"{_API}/models/request.py": _MODEL_PY,
        _DICT: _dictionary(1),
        f"{_MCP}/server.py": _SERVER_PY,
        f"{_MCP}/dispatch_plan_generator.py": _PLAN_PY,
        "infrastructure/cloudformation/03-api.yaml": _CFN_API,
        "frontend/ui/package.json": '{\n  "name": "enceladus-ui",\n  "private": true\n}\n',
        "frontend/ui/src/components/FeedCard.tsx": _tsx("FeedCard", '<div className="card p-2" />'),
        "frontend/ui/src/components/NavBar.tsx": _tsx("NavBar", '<nav className="flex" />'),
        "frontend/ui/src/pages/Board.tsx": _tsx("Board", "<section />"),
        "frontend/ui/src/pages/Deployments.tsx": _tsx("Deployments", "<form />"),
    }


# --------------------------------------------------------------------------- history model

Change = Callable[[dict[str, str]], None]


def _put(path: str, content: str) -> Change:
    def apply(tree: dict[str, str]) -> None:
        tree[path] = content

    return apply


def _append(path: str, text: str) -> Change:
    def apply(tree: dict[str, str]) -> None:
        tree[path] = tree[path] + text

    return apply


def _replace(path: str, old: str, new: str) -> Change:
    def apply(tree: dict[str, str]) -> None:
        if old not in tree[path]:
            raise ValueError(f"demo history out of sync: {old!r} not in {path}")
        tree[path] = tree[path].replace(old, new)

    return apply


def _move(old: str, new: str) -> Change:
    def apply(tree: dict[str, str]) -> None:
        tree[new] = tree.pop(old)

    return apply


@dataclass
class _Commit:
    key: str
    message: str
    author: Person
    authored: datetime
    committer: Person
    committed: datetime
    parents: list[str]
    tree: dict[str, str]
    ref: str


@dataclass
class _History:
    """Builds commits in memory; each commit records its complete tree."""

    commits: list[_Commit] = field(default_factory=list)
    by_key: dict[str, _Commit] = field(default_factory=dict)
    main: str | None = None

    def _add(self, commit: _Commit) -> _Commit:
        self.commits.append(commit)
        self.by_key[commit.key] = commit
        return commit

    def _tree_of(self, key: str | None) -> dict[str, str]:
        return dict(self.by_key[key].tree) if key else _initial_tree()

    def root(self, key: str, subject: str, who: Person, when: datetime) -> None:
        self._add(_Commit(key, subject, who, when, who, when, [], _initial_tree(), "refs/heads/main"))
        self.main = key

    def direct(self, key: str, subject: str, who: Person, when: datetime, *changes: Change,
               body: str = "") -> None:
        tree = self._tree_of(self.main)
        for change in changes:
            change(tree)
        message = subject + (f"\n\n{body}" if body else "")
        self._add(_Commit(key, message, who, when, who, when, [self.main], tree, "refs/heads/main"))
        self.main = key

    def squash(self, key: str, pr: int, title: str, who: Person, when: datetime, *changes: Change,
               body: str = "") -> None:
        """GitHub "Squash and merge": one parent, committed by GitHub in UTC."""
        tree = self._tree_of(self.main)
        for change in changes:
            change(tree)
        message = f"{title} (#{pr})" + (f"\n\n{body}" if body else "")
        self._add(_Commit(key, message, who, when, _GITHUB, when.astimezone(_UTC), [self.main], tree,
                          "refs/heads/main"))
        self.main = key

    def branch(self, branch: str, commits: list[tuple[str, str, Person, datetime, list[Change]]]) -> str:
        """Side-branch commits forked from the current main; returns the branch tip key."""
        parent = self.main
        for key, subject, who, when, changes in commits:
            tree = self._tree_of(parent)
            for change in changes:
                change(tree)
            self._add(_Commit(key, subject, who, when, who, when, [parent], tree,
                              f"refs/heads/demo-side/{branch}"))
            parent = key
        return parent

    def merge(self, key: str, subject: str, body: str, tip: str, who: Person, when: datetime,
              committer: Person | None = None) -> None:
        """A two-parent merge; the side branch forked from main and main did not move since."""
        tree = dict(self.by_key[tip].tree)
        committed = when.astimezone(_UTC) if committer == _GITHUB else when
        message = subject + (f"\n\n{body}" if body else "")
        self._add(_Commit(key, message, who, when, committer or who, committed, [self.main, tip], tree,
                          "refs/heads/main"))
        self.main = key

    def pr_merge(self, key: str, pr: int, branch: str, title: str, who: Person, when: datetime,
                 commits: list[tuple[str, str, Person, datetime, list[Change]]]) -> None:
        """GitHub "Create a merge commit": subject names the branch, body line 1 is the PR title."""
        tip = self.branch(branch, commits)
        self.merge(key, f"Merge pull request #{pr} from {OWNER}/{branch}", title, tip, who, when,
                   committer=_GITHUB)


def _history() -> _History:
    """The demo's story, oldest first. Keys name commits for the data builders below."""
    h = _History()
    api, mcp = f"{_API}/lambda_function.py", f"{_MCP}/server.py"
    plan = f"{_MCP}/dispatch_plan_generator.py"
    fe = "frontend/ui/src"

    h.root("root", "Initial import of enceladus monorepo", _OWNER_P, _at("2026-02-12T10:00:00", _PST))

    h.direct("fe-spacing", "frontend: tighten feed card spacing", _OWNER_P,
             _at("2026-02-20T10:15:00", _PST),
             _replace(f"{fe}/components/FeedCard.tsx", "card p-2", "card p-3 gap-2"))

    h.pr_merge("pr101", 101, "agent/enc-tsk-325-capabilities",
               "ENC-TSK-325 expose capabilities contract version", _OWNER_P,
               _at("2026-02-21T01:10:00", _UTC), [
                   ("pr101-a", "ENC-TSK-325: expose contract_version 0.3.0 in capabilities", _AGENT,
                    _at("2026-02-20T16:40:00", _PST), [_replace(api, '"0.2.0"', '"0.3.0"')]),
                   ("pr101-b", "ENC-TSK-325: regenerate governance data dictionary", _AGENT,
                    _at("2026-02-20T16:52:00", _PST), [_put(_DICT, _dictionary(2))]),
               ])

    h.squash("dict-102", 102, "Regenerate governance data dictionary", _AGENT,
             _at("2026-02-22T10:30:00", _PST), _put(_DICT, _dictionary(3)), body="Refs ENC-TSK-330")

    # The runbook itself reaches main only through this merge (never as a first-parent commit).
    h.pr_merge("pr103", 103, "agent/ENC-TSK-340-deploy-runbook",
               "Document the API + MCP deployment process (ENC-TSK-340)", _OWNER_P,
               _at("2026-02-23T19:45:00", _UTC), [
                   ("pr103-a", "docs: add API + MCP deployment runbook (ENC-TSK-340)", _AGENT,
                    _at("2026-02-23T09:00:00", _PST), [_put("docs/runbooks/api-mcp-deploy.md", _RUNBOOK)]),
                   ("pr103-b", "AGENTS.md: point agents at the API/MCP deploy runbook", _AGENT,
                    _at("2026-02-23T09:20:00", _PST), [_append("AGENTS.md", _AGENTS_RUNBOOK)]),
               ])

    h.squash("iss640", 104, "Fix MCP dispatch plan ordering for dependent tasks", _AGENT,
             _at("2026-02-24T13:05:00", _PST),
             _replace(plan, "    for task in tasks:",
                      "    for task in sorted(tasks, key=lambda t: len(t.get(\"depends_on\", []))):"),
             body="* ENC-ISS-640: dispatch plans emitted dependent steps before their prerequisites")

    h.direct("fe-nav", "frontend: fix mobile nav overflow (ENC-TSK-331)", _OWNER_P,
             _at("2026-02-25T08:10:00", _PST),
             _replace(f"{fe}/components/NavBar.tsx", '"flex"', '"flex overflow-x-auto"'))

    # Three triggering pushes within minutes: the middle run is cancelled while pending.
    h.direct("dict-regen", "chore: regenerate governance data dictionary", _AGENT,
             _at("2026-02-25T09:00:00", _PST), _put(_DICT, _dictionary(4)))
    h.pr_merge("pr105", 105, "agent/enc-tsk-734-fix",
               "ENC-TSK-734 retry conditional writes on coordination request updates", _OWNER_P,
               _at("2026-02-25T17:03:00", _UTC), [
                   ("pr105-a", "enc-tsk-734: retry conditional writes on request state transitions", _AGENT,
                    _at("2026-02-24T15:00:00", _PST),
                    [_append(api, "\n\nMAX_CONDITIONAL_RETRIES = 3\n")]),
                   ("pr105-b", "fix lint", _AGENT, _at("2026-02-24T15:30:00", _PST),
                    [_replace(api, "\n\nMAX_CONDITIONAL_RETRIES", "\nMAX_CONDITIONAL_RETRIES")]),
               ])
    h.direct("f65", "ENC-TSK-F65 tighten MCP tool input schema validation", _AGENT,
             _at("2026-02-25T09:05:00", _PST),
             _replace(mcp, '"required": ["query"]}', '"required": ["query"], "additionalProperties": False}'))

    h.pr_merge("pr106", 106, "feature/ui-dashboard", "ENC-FTR-056 project dashboard", _OWNER_P,
               _at("2026-02-26T22:00:00", _UTC), [
                   ("pr106-a", "ENC-FTR-056 dashboard widgets", _OWNER_P, _at("2026-02-26T11:00:00", _PST),
                    [_put(f"{fe}/pages/Dashboard.tsx", _tsx("Dashboard", "<main />"))]),
                   ("pr106-b", "move FeedCard under components/feed", _OWNER_P,
                    _at("2026-02-26T11:30:00", _PST),
                    [_move(f"{fe}/components/FeedCard.tsx", f"{fe}/components/feed/FeedCard.tsx")]),
               ])

    h.squash("tsk1005", 107, "Add coordination request status route ENC-TSK-1005", _AGENT,
             _at("2026-02-27T15:15:00", _PST),
             _append(api, '\nSTATUS_ROUTE = "GET /api/v1/coordination/requests/{requestId}"\n'),
             _replace(DEPLOY_SCRIPT, 'echo "deployed', '# status route ensured above\necho "deployed'),
             _replace(f"{_API}/models/request.py", '"created_at")', '"created_at", "retry_count")'),
             _put(_DICT, _dictionary(5)))

    tip = h.branch("notes-fr", [
        ("notes-a", "docs: deployment notes (FR)", _OWNER_P, _at("2026-02-28T10:50:00", _PST),
         [_put(_NOTE, "# Notes de déploiement\n\nLe déploiement API/MCP passe par le workflow canonique.\n")]),
    ])
    h.merge("merge-notes", "Merge branch 'notes-fr'", "", tip, _OWNER_P, _at("2026-02-28T11:20:00", _PST))

    h.direct("fe-dm", "frontend: deployment manager form copy edits", _OWNER_P,
             _at("2026-03-01T02:10:00", _PST),
             _replace(f"{fe}/pages/Deployments.tsx", "<form />", '<form aria-label="deploy request" />'))

    h.squash("b10", 108, "ENC-TSK-B10-0A: add MCP server health tool", _AGENT,
             _at("2026-03-02T11:40:00", _PST),
             _replace(mcp, '    "tracker_search"', '    "health": {"input": {"type": "object"}},\n    "tracker_search"'))

    h.pr_merge("pr109", 109, "agent/ENC-TSK-A38-governance", "ENC-TSK-A38 governance refresh", _OWNER_P,
               _at("2026-03-03T16:00:00", _UTC), [
                   ("pr109-a", "ENC-TSK-A38 governance: refresh data dictionary and AGENTS notes", _AGENT,
                    _at("2026-03-03T07:30:00", _PST),
                    [_put(_DICT, _dictionary(6)),
                     _append("AGENTS.md", "\nTracker ids after ENC-TSK-999 use three base-36 characters.\n")]),
               ])

    h.direct("boto3", "Bump boto3 in coordination api requirements", _OWNER_P,
             _at("2026-03-04T14:25:00", _PST), _put(f"{_API}/requirements.txt", "boto3==1.34.60\n"))

    h.direct("fe-board", "frontend: lazy-load tracker board (ENC-TSK-345)", _OWNER_P,
             _at("2026-03-05T09:30:00", _PST),
             _replace(f"{fe}/pages/Board.tsx", "<section />", '<section data-lazy="true" />'))

    h.pr_merge("pr110", 110, "agent/enc-tsk-352-mcp-readme", "ENC-TSK-352 document MCP server tools", _OWNER_P,
               _at("2026-03-06T18:20:00", _UTC), [
                   ("pr110-a", "ENC-TSK-352 document MCP server tools", _AGENT, _at("2026-03-06T09:00:00", _PST),
                    [_put(f"{_MCP}/README.md", "# Enceladus MCP server\n\nTools: dispatch_plan, health, "
                          "tracker_search.\n")]),
               ])

    h.direct("cfn", "ENC-TSK-355 raise API stage throttling limits", _OWNER_P,
             _at("2026-03-07T11:00:00", _PST),
             _replace("infrastructure/cloudformation/03-api.yaml", "ThrottlingBurstLimit: 50",
                      "ThrottlingBurstLimit: 100"))

    h.direct("fe-filters", "frontend: board filters (enc-tsk-360)", _OWNER_P,
             _at("2026-03-09T10:10:00", _PDT),
             _replace(f"{fe}/pages/Board.tsx", 'data-lazy="true"', 'data-lazy="true" data-filters="on"'))

    h.squash("tsk361", 111, "ENC-TSK-361 MCP: paginate tracker search results", _AGENT,
             _at("2026-03-10T10:45:00", _PDT),
             _replace(mcp, "    return {\"result\": []}", "    return {\"result\": [], \"next_token\": None}"),
             _append(api, "\nSEARCH_PAGE_SIZE = 50\n"),
             _append(f"{_API}/models/request.py", 'PAGE_FIELDS = ("next_token",)\n'))

    h.direct("ci-pin", "ci: pin aws-actions/configure-aws-credentials to v4", _OWNER_P,
             _at("2026-03-12T08:40:00", _PDT), _put(WORKFLOW, _WORKFLOW_V4))

    h.pr_merge("pr112", 112, "agent/enc-tsk-365-ui-polish", "ENC-TSK-365 UI polish", _OWNER_P,
               _at("2026-03-13T20:30:00", _UTC), [
                   ("pr112-a", "ENC-TSK-365 ui polish", _AGENT, _at("2026-03-13T12:00:00", _PDT),
                    [_replace(f"{fe}/pages/Dashboard.tsx", "<main />", '<main className="grid" />')]),
               ])

    h.direct("note-edit", "docs: clarify worklog format in deployment notes", _OWNER_P,
             _at("2026-03-15T09:00:00", _PDT),
             _append(_NOTE, "\nPreuve : commit, LastModified, résultat de la validation.\n"))

    # Its push run failed; the re-run of that run is in progress when the demo collects: pending.
    h.squash("tsk368", 115, "ENC-TSK-368: record who submitted each MCP dispatch plan", _AGENT,
             _at("2026-03-16T11:20:00", _PDT),
             _append(plan, "\nPLAN_AUDIT_FIELDS = (\"submitted_by\", \"submitted_at\")\n"))

    # The last in-scope change: its run fails and nothing deploys after it.
    h.squash("tsk370", 113, "ENC-TSK-370: rate-limit coordination request submissions", _AGENT,
             _at("2026-03-17T15:10:00", _PDT),
             _append(api, "\nRATE_LIMIT_PER_MINUTE = 30\n"), _put(_DICT, _dictionary(7)))

    h.direct("fe-banner", "frontend: rate limit banner (ENC-TSK-370)", _AGENT,
             _at("2026-03-18T10:30:00", _PDT),
             _put(f"{fe}/components/RateLimitBanner.tsx", _tsx("RateLimitBanner", "<aside />")))

    h.pr_merge("pr114", 114, "agent/enc-tsk-b10-0b-ui", "ENC-TSK-B10-0B feed empty state", _OWNER_P,
               _at("2026-03-19T17:00:00", _UTC), [
                   ("pr114-a", "enc-tsk-b10-0b feed empty state", _AGENT, _at("2026-03-19T09:00:00", _PDT),
                    [_replace(f"{fe}/components/feed/FeedCard.tsx", "gap-2", "gap-2 empty:hidden")]),
               ])

    h.direct("agents-wording", "docs: AGENTS.md wording", _OWNER_P, _at("2026-03-20T12:00:00", _PDT),
             _replace("AGENTS.md", "Record worklogs", "Always record worklogs"))
    return h


# --------------------------------------------------------------------------- git

def _git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": _OWNER_P[0],
        "GIT_AUTHOR_EMAIL": _OWNER_P[1],
        "GIT_COMMITTER_NAME": _OWNER_P[0],
        "GIT_COMMITTER_EMAIL": _OWNER_P[1],
        "GIT_AUTHOR_DATE": "2026-02-12T10:00:00-08:00",
        "GIT_COMMITTER_DATE": "2026-02-12T10:00:00-08:00",
        "LC_ALL": "C",
    })
    return env


def _git(repo: Path, *args: str, stdin: bytes | None = None) -> str:
    proc = subprocess.run(
        ["git", "-c", "commit.gpgsign=false", "-c", "core.autocrlf=false", *args],
        cwd=repo, input=stdin, capture_output=True, env=_git_env(), check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {proc.stderr.decode('utf-8', 'replace').strip()}")
    return proc.stdout.decode("utf-8")


def _raw_date(dt: datetime) -> str:
    offset = dt.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{int(dt.timestamp())} {sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def _data(text: str) -> bytes:
    raw = text.encode("utf-8")
    return b"data %d\n" % len(raw) + raw + b"\n"


def _fast_import_stream(history: _History) -> bytes:
    marks = {c.key: i for i, c in enumerate(history.commits, start=1)}
    out: list[bytes] = []
    for c in history.commits:
        out.append(f"commit {c.ref}\nmark :{marks[c.key]}\n".encode())
        out.append(f"author {c.author[0]} <{c.author[1]}> {_raw_date(c.authored)}\n".encode())
        out.append(f"committer {c.committer[0]} <{c.committer[1]}> {_raw_date(c.committed)}\n".encode())
        out.append(_data(c.message + "\n"))
        if c.parents:
            out.append(f"from :{marks[c.parents[0]]}\n".encode())
        for extra in c.parents[1:]:
            out.append(f"merge :{marks[extra]}\n".encode())
        out.append(b"deleteall\n")
        for path in sorted(c.tree):
            mode = "100755" if path.endswith(".sh") else "100644"
            out.append(f"M {mode} inline {path}\n".encode())
            out.append(_data(c.tree[path]))
        out.append(b"\n")
    out.append(b"done\n")
    return b"".join(out)


def _build_repo(repo: Path, history: _History) -> dict[str, str]:
    """Write the history into a fresh repository; return commit key -> SHA."""
    repo.mkdir(parents=True)
    _git(repo, "init", "-q", "-b", BRANCH)
    _git(repo, "config", "commit.gpgsign", "false")
    marks_file = repo / ".git" / "demo-marks"
    _git(repo, "fast-import", "--quiet", "--done", f"--export-marks={marks_file}",
         stdin=_fast_import_stream(history))
    by_mark = dict(line.split(" ", 1) for line in marks_file.read_text().split("\n") if line)
    marks_file.unlink()
    shas = {c.key: by_mark[f":{i}"].strip() for i, c in enumerate(history.commits, start=1)}
    # Merged side branches are deleted on GitHub too; their commits stay reachable via the merges.
    side_refs = sorted({c.ref for c in history.commits if c.ref != f"refs/heads/{BRANCH}"})
    _git(repo, "update-ref", "--stdin", stdin="".join(f"delete {r}\n" for r in side_refs).encode())
    _git(repo, "reset", "-q", "--hard", BRANCH)
    return shas


def _tree_ids(repo: Path) -> dict[str, str]:
    out = _git(repo, "log", "--format=%H %T", BRANCH)
    return dict(line.split(" ") for line in out.splitlines() if line)


# --------------------------------------------------------------------------- GitHub runs

_RUN_BASE_ID = 13412000000


@dataclass
class _RunPlan:
    head: str
    event: str
    created: datetime
    conclusion: str
    started: datetime | None = None
    deploy_seconds: int = 210
    failed_step: str | None = None
    attempt: int = 1
    actor: Person = _OWNER_P
    cancelled_at: datetime | None = None
    rerun_started: datetime | None = None  # the latest attempt started then and is still in progress


RERUN_MINUTES_BEFORE_BUILD = 25  # well inside deploy_coverage's grace period, so the change reads as pending


def _run_plans(h: _History, now: datetime) -> list[_RunPlan]:
    """One run per push that touched the workflow's paths, plus one manual dispatch; ``now`` dates
    the one re-run still in progress."""

    def pushed(key: str, seconds: int = 4) -> datetime:
        return h.by_key[key].committed.astimezone(_UTC) + timedelta(seconds=seconds)

    return [
        _RunPlan("pr101", "push", pushed("pr101"), "success"),
        _RunPlan("dict-102", "push", pushed("dict-102"), "success", actor=_AGENT),
        _RunPlan("iss640", "push", pushed("iss640"), "success", actor=_AGENT),
        # dict-regen runs 17:00-17:05; pr105's run waits, then f65's push cancels it (pending).
        _RunPlan("dict-regen", "push", pushed("dict-regen"), "success", deploy_seconds=270, actor=_AGENT),
        _RunPlan("pr105", "push", pushed("pr105"), "cancelled", cancelled_at=pushed("f65", 5)),
        _RunPlan("f65", "push", pushed("f65"), "success", started=_at("2026-02-25T17:05:10", _UTC),
                 actor=_AGENT),
        _RunPlan("tsk1005", "push", pushed("tsk1005"), "success", actor=_AGENT),
        _RunPlan("b10", "push", pushed("b10"), "success", actor=_AGENT),
        _RunPlan("pr109", "push", pushed("pr109"), "success"),
        _RunPlan("boto3", "push", pushed("boto3"), "success"),
        _RunPlan("pr110", "push", pushed("pr110"), "failure", deploy_seconds=41, failed_step=DEPLOY_STEP),
        _RunPlan("pr110", "workflow_dispatch", _at("2026-03-06T19:02:00", _UTC), "success"),
        # Re-run after a flaky first attempt: the listing shows only the latest attempt.
        _RunPlan("tsk361", "push", pushed("tsk361"), "success", started=pushed("tsk361") + timedelta(minutes=9),
                 attempt=2, actor=_AGENT),
        _RunPlan("ci-pin", "push", pushed("ci-pin"), "success"),
        _RunPlan("tsk368", "push", pushed("tsk368"), "failure", actor=_AGENT, attempt=2,
                 rerun_started=now - timedelta(minutes=RERUN_MINUTES_BEFORE_BUILD)),
        _RunPlan("tsk370", "push", pushed("tsk370"), "failure", deploy_seconds=188, failed_step=DEPLOY_STEP,
                 actor=_AGENT),
    ]


def _step(number: int, name: str, start: datetime, seconds: int, conclusion: str) -> tuple[dict, datetime]:
    end = start + timedelta(seconds=seconds)
    step = {"name": name, "status": "completed", "conclusion": conclusion, "number": number,
            "started_at": _z(start), "completed_at": _z(end)}
    return step, end


def _steps(plan: _RunPlan, start: datetime) -> tuple[list[dict], datetime]:
    names = [("Set up job", 2), ("Checkout", 3), ("Configure AWS credentials", 2),
             (DEPLOY_STEP, plan.deploy_seconds), ("Validate deployed Lambda state", 4),
             ("Post Configure AWS credentials", 1), ("Post Checkout", 1), ("Complete job", 1)]
    steps: list[dict] = []
    t = start
    failed = False
    for number, (name, seconds) in enumerate(names, start=1):
        if failed and not name.startswith(("Post ", "Complete")):
            step, _ = _step(number, name, t, 0, "skipped")
        else:
            conclusion = "failure" if name == plan.failed_step else "success"
            step, t = _step(number, name, t, seconds, conclusion)
            failed = failed or conclusion == "failure"
        steps.append(step)
    return steps, t


def _in_progress_steps(start: datetime, now: datetime) -> tuple[list[dict], datetime]:
    """A re-run caught mid-deploy: finished steps, the deploy step running, the rest queued."""
    steps: list[dict] = []
    t = start
    for number, (name, seconds) in enumerate([("Set up job", 2), ("Checkout", 3), ("Configure AWS credentials", 2)],
                                             start=1):
        step, t = _step(number, name, t, seconds, "success")
        steps.append(step)
    steps.append({"name": DEPLOY_STEP, "status": "in_progress", "conclusion": None, "number": 4,
                  "started_at": _z(t), "completed_at": None})
    for number, name in enumerate(("Validate deployed Lambda state", "Post Configure AWS credentials",
                                   "Post Checkout", "Complete job"), start=5):
        steps.append({"name": name, "status": "queued", "conclusion": None, "number": number,
                      "started_at": None, "completed_at": None})
    return steps, min(now - timedelta(seconds=10), t + timedelta(minutes=3))  # updated_at precedes now


def _github(h: _History, shas: dict[str, str], trees: dict[str, str], now: datetime) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    for number, plan in enumerate(_run_plans(h, now), start=412):
        commit = h.by_key[plan.head]
        sha = shas[plan.head]
        run_id = _RUN_BASE_ID + number * 7919
        status, conclusion = "completed", plan.conclusion
        if plan.rerun_started is not None:
            status, conclusion = "in_progress", None
            started = plan.rerun_started
            steps, finished = _in_progress_steps(started, now)
            jobs = [{
                "id": run_id * 3 + 2, "run_id": run_id, "name": "Deploy coordination API + MCP runtime",
                "status": "in_progress", "conclusion": None, "started_at": _z(started), "completed_at": None,
                "steps": steps,
            }]
        elif plan.conclusion == "cancelled":
            started = plan.created
            jobs: list[dict] = []
            finished = plan.cancelled_at or plan.created
        else:
            started = plan.started or plan.created + timedelta(seconds=3)
            steps, finished = _steps(plan, started)
            jobs = [{
                "id": run_id * 3 + 1, "run_id": run_id, "name": "Deploy coordination API + MCP runtime",
                "status": "completed", "conclusion": plan.conclusion,
                "started_at": _z(started), "completed_at": _z(finished), "steps": steps,
            }]
        title = commit.message.split("\n", 1)[0] if plan.event == "push" else WORKFLOW_NAME
        actor = {"login": plan.actor[0], "id": 41872345 if plan.actor == _OWNER_P else 158402113,
                 "type": "User"}
        runs.append({
            "id": run_id,
            "name": WORKFLOW_NAME,
            "head_branch": BRANCH,
            "head_sha": sha,
            "path": WORKFLOW,
            "display_title": title,
            "run_number": number,
            "run_attempt": plan.attempt,
            "event": plan.event,
            "status": status,
            "conclusion": conclusion,
            "workflow_id": WORKFLOW_ID,
            "html_url": f"https://github.com/{GITHUB_REPO}/actions/runs/{run_id}",
            "created_at": _z(plan.created),
            "updated_at": _z(finished + timedelta(seconds=2)),
            "run_started_at": _z(started),
            "head_commit": {
                "id": sha,
                "tree_id": trees[sha],
                "message": commit.message,
                "timestamp": _z(commit.committed),
                "author": {"name": commit.author[0], "email": commit.author[1]},
                "committer": {"name": commit.committer[0], "email": commit.committer[1]},
            },
            "actor": actor,
            "triggering_actor": actor,
            "jobs": jobs,
        })
    runs.sort(key=lambda r: r["created_at"], reverse=True)  # the REST listing is newest first
    return {"repository": GITHUB_REPO, "workflow": WORKFLOW, "runs": runs}


def _deploy_window(github: dict[str, Any], sha: str, event: str = "push") -> tuple[datetime, datetime]:
    run = next(r for r in github["runs"] if r["head_sha"] == sha and r["event"] == event)
    step = next(s for s in run["jobs"][0]["steps"] if s["name"] == DEPLOY_STEP)
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return parse(step["started_at"]), parse(step["completed_at"])


# --------------------------------------------------------------------------- AWS

def _lambda(github: dict[str, Any], shas: dict[str, str]) -> dict[str, Any]:
    """The failed update of the last in-scope change, stamped inside its deploy step."""
    start, _ = _deploy_window(github, shas["tsk370"])
    modified = start + timedelta(seconds=97)
    digest = base64.b64encode(hashlib.sha256(b"enceladus-demo:" + shas["tsk370"].encode()).digest()).decode()
    return {
        "function": FUNCTION,
        "configuration": {
            "FunctionName": FUNCTION,
            "FunctionArn": FUNCTION_ARN,
            "Runtime": "python3.11",
            "Role": f"arn:aws:iam::{ACCOUNT}:role/devops-coordination-api-role",
            "Handler": "lambda_function.lambda_handler",
            "CodeSize": 1843211,
            "Timeout": 30,
            "MemorySize": 512,
            "State": "Active",
            "LastUpdateStatus": "Failed",
            "LastUpdateStatusReason": "Uploaded file must be a non-empty zip",
            "LastUpdateStatusReasonCode": "InvalidZipFileException",
            "LastModified": _lambda_time(modified),
            "CodeSha256": digest,
            "RevisionId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"demo:{shas['tsk370']}")),
            "Version": "$LATEST",
            "PackageType": "Zip",
            "Architectures": ["x86_64"],
        },
    }


def _apigateway() -> dict[str, Any]:
    api_id = "k3x9q2m7vd"
    coord, tracker = "7hq2c1p", "b4n8r0z"
    keys = [
        "GET /api/v1/coordination/capabilities",
        "POST /api/v1/coordination/requests",
        "GET /api/v1/coordination/requests/{requestId}",
        "GET /api/v1/coordination/mcp",
        "POST /api/v1/coordination/mcp",
    ]
    paths = list(dict.fromkeys(k.split(" ", 1)[1] for k in keys))
    coord_keys = keys + [f"OPTIONS {p}" for p in paths]
    routes = [{"RouteId": hashlib.sha1(k.encode()).hexdigest()[:7], "RouteKey": k, "Target": f"integrations/{coord}",
               "AuthorizationType": "NONE"} for k in coord_keys]
    routes += [{"RouteId": hashlib.sha1(k.encode()).hexdigest()[:7], "RouteKey": k,
                "Target": f"integrations/{tracker}", "AuthorizationType": "NONE"}
               for k in ("GET /api/v1/tracker/{projectId}", "POST /api/v1/tracker/{projectId}/items")]
    integrations = [
        {"IntegrationId": coord, "IntegrationType": "AWS_PROXY", "IntegrationMethod": "POST",
         "IntegrationUri": FUNCTION_ARN, "PayloadFormatVersion": "2.0", "TimeoutInMillis": 30000},
        {"IntegrationId": tracker, "IntegrationType": "AWS_PROXY", "IntegrationMethod": "POST",
         "IntegrationUri": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:devops-tracker-api",
         "PayloadFormatVersion": "2.0", "TimeoutInMillis": 30000},
    ]
    return {
        "api": {"ApiId": api_id, "Name": HTTP_API, "ProtocolType": "HTTP",
                "ApiEndpoint": f"https://{api_id}.execute-api.{REGION}.amazonaws.com"},
        "routes": routes,
        "integrations": integrations,
    }


# --------------------------------------------------------------------------- tracker

def _evidence(sha: str, modified: datetime, status: str = "Successful", short: int = 12) -> str:
    return (f"Deployed commit {sha[:short]} via api-mcp-backend-deploy; {FUNCTION} "
            f"LastModified={_lambda_time(modified)} State=Active LastUpdateStatus={status}; "
            "GET /api/v1/coordination/capabilities -> 200")


def _item(item_id: str, title: str, created: datetime, *history: tuple[datetime, str, str],
          **fields: Any) -> dict[str, Any]:
    kind = {"TSK": "task", "ISS": "issue", "FTR": "feature"}[item_id.split("-")[1]]
    entries = [{"timestamp": _z(created), "status": "created", "description": f"Created {kind}: {title}"}]
    entries += [{"timestamp": _z(t), "status": s, "description": d} for t, s, d in history]
    return {"project_id": REPO, "record_id": f"{kind}#{item_id}", "item_id": item_id, "title": title,
            "status": "closed" if any(s == "worklog" for _, s, _ in history) else "open",
            "history": entries, **fields}


def _tracker(h: _History, shas: dict[str, str], github: dict[str, Any]) -> dict[str, Any]:
    def win(key: str, event: str = "push") -> tuple[datetime, datetime]:
        return _deploy_window(github, shas[key], event)

    def modified(key: str, event: str = "push") -> datetime:
        return win(key, event)[0] + timedelta(seconds=97)

    def later(key: str, minutes: int, event: str = "push") -> datetime:
        return win(key, event)[1] + timedelta(minutes=minutes)

    day = timedelta(days=1)
    items = [
        _item("ENC-TSK-325", "Expose capabilities contract version", h.by_key["pr101"].committed - 2 * day,
              (later("pr101", 12), "worklog", _evidence(shas["pr101"], modified("pr101")))),
        _item("ENC-TSK-330", "Keep governance data dictionary current", h.by_key["dict-102"].committed - day),
        _item("ENC-TSK-340", "Document the API + MCP deployment process", h.by_key["pr103"].committed - day,
              (h.by_key["pr103"].committed + timedelta(hours=1), "worklog", "Runbook merged in PR #103.")),
        # Evidence without the Lambda's LastModified: incomplete.
        _item("ENC-ISS-640", "Dispatch plan emits dependent steps first", h.by_key["iss640"].committed - 3 * day,
              (later("iss640", 20), "worklog",
               f"Deployed commit {shas['iss640'][:9]} via api-mcp-backend-deploy; State=Active "
               "LastUpdateStatus=Successful; GET /api/v1/coordination/capabilities -> 200")),
        _item("ENC-TSK-331", "Mobile nav overflow", h.by_key["fe-nav"].committed - day),
        # Deployed by f65's run after its own run was cancelled: the worklog names both commits.
        _item("ENC-TSK-734", "Retry conditional writes", h.by_key["pr105"].committed - 2 * day,
              (later("f65", 15), "worklog",
               _evidence(shas["f65"], modified("f65")) + f" (includes {shas['pr105'][:12]}, whose own run was "
               "cancelled by concurrency)")),
        _item("ENC-TSK-F65", "Tighten MCP tool input schema validation", h.by_key["f65"].committed - day,
              (later("f65", 14), "worklog", _evidence(shas["f65"], modified("f65"), short=7))),
        _item("ENC-FTR-056", "Project dashboard", h.by_key["pr106"].committed - 5 * day),
        # Structured evidence only, no worklog text.
        _item("ENC-TSK-1005", "Coordination request status route", h.by_key["tsk1005"].committed - day,
              (later("tsk1005", 30), "closed", "Closed after lambda_deploy transition."),
              commit_sha=shas["tsk1005"], transition_type="lambda_deploy",
              deploy_evidence=json.dumps({
                  "commit": shas["tsk1005"], "workflow": "api-mcp-backend-deploy", "function": FUNCTION,
                  "last_modified": _lambda_time(modified("tsk1005")), "state": "Active",
                  "last_update_status": "Successful"}, sort_keys=True),
              live_validation_evidence=json.dumps({
                  "url": "/api/v1/coordination/capabilities", "status": 200, "contract_version": "0.3.0"})),
        # Deployed, but nobody wrote a worklog.
        _item("ENC-TSK-B10-0A", "MCP server health tool", h.by_key["b10"].committed - day,
              (h.by_key["b10"].committed + timedelta(hours=2), "reopened", "Reopened for follow-up UI work.")),
        _item("ENC-TSK-A38", "Governance refresh", h.by_key["pr109"].committed - day),
        _item("ENC-TSK-345", "Lazy-load tracker board", h.by_key["fe-board"].committed - day),
        _item("ENC-TSK-355", "Raise API stage throttling", h.by_key["cfn"].committed - day),
        _item("ENC-TSK-360", "Board filters", h.by_key["fe-filters"].committed - day),
        # Complete evidence wrapped in text that reports must not render as markup.
        _item("ENC-TSK-361", "Paginate tracker search results", h.by_key["tsk361"].committed - day,
              (later("tsk361", 9), "worklog",
               _evidence(shas["tsk361"], modified("tsk361")) + " <script>alert(1)</script> "
               "see [runbook](javascript:alert(1)) cc @NX-2021-L/maintainers | col |\n# not a heading")),
        _item("ENC-TSK-365", "UI polish", h.by_key["pr112"].committed - day),
        # The failed deploy, and the forbidden workaround it led to.
        _item("ENC-TSK-370", "Rate-limit coordination request submissions", h.by_key["tsk370"].committed - day,
              (later("tsk370", 25), "worklog",
               f"api-mcp-backend-deploy failed for commit {shas['tsk370'][:12]}: {FUNCTION} "
               f"LastModified={_lambda_time(modified('tsk370'))} State=Active LastUpdateStatus=Failed. "
               "Submitted REQ-20260318T181500Z-9c4e1f through the deployment manager instead.")),
        _item("ENC-TSK-B10-0B", "Feed empty state", h.by_key["pr114"].committed - day),
        # Its deploy is still being re-run: no evidence to write yet.
        _item("ENC-TSK-368", "Record who submitted each dispatch plan", h.by_key["tsk368"].committed - day),
    ]
    return {
        "table": TRACKER_TABLE,
        "project": REPO,
        "items": {item["item_id"]: item for item in items},
        # Referenced by pr110 (branch, subject and body) but never created in the tracker.
        "missing": ["ENC-TSK-352"],
    }


# --------------------------------------------------------------------------- deployment manager

def _deploy_manager() -> dict[str, Any]:
    def request(rid: str, status: str, dtype: str, by: str, summary: str, files: list[str],
                related: list[str], config: dict[str, Any] | None = None) -> dict[str, Any]:
        stamp = rid.split("-")[1]
        submitted = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=_UTC)
        row: dict[str, Any] = {
            "project_id": REPO, "record_id": f"request#{rid}", "request_id": rid, "status": status,
            "deployment_type": dtype, "submitted_at": _z(submitted), "submitted_by": by, "summary": summary,
            "changes": [summary], "related_record_ids": related, "files_changed": files,
        }
        if config is not None:
            row["non_ui_config"] = json.dumps(config, sort_keys=True)
        return row

    requests = [
        request("REQ-20260301T101500Z-a1b2c3", "included", "github_public_static", "NX-2021-L",
                "Deployment manager form copy edits", ["frontend/ui/src/pages/Deployments.tsx"], ["ENC-TSK-331"]),
        request("REQ-20260305T173200Z-5e7d20", "included", "github_public_static", "NX-2021-L",
                "Lazy-load tracker board", ["frontend/ui/src/pages/Board.tsx"], ["ENC-TSK-345"]),
        request("REQ-20260313T204100Z-0f93ab", "failed", "github_public_static", "enceladus-agent",
                "Dashboard grid polish", ["frontend/ui/src/pages/Dashboard.tsx"], ["ENC-TSK-365"]),
        # The forbidden substitute: an API deploy pushed through the UI request flow.
        request("REQ-20260318T181500Z-9c4e1f", "included", "lambda_update", "enceladus-agent",
                "Deploy rate limiting to coordination API after workflow failure",
                [f"{_API}/lambda_function.py", _DICT], ["ENC-TSK-370"],
                {"service_group": "coordination_api", "target_arn": FUNCTION_ARN, "region": REGION,
                 "package_path": _API}),
    ]
    specs = [
        {"project_id": REPO, "record_id": "spec#SPEC-20260301T103000Z", "spec_id": "SPEC-20260301T103000Z",
         "status": "deployed", "deployment_category": "ui", "request_ids": ["REQ-20260301T101500Z-a1b2c3"]},
        {"project_id": REPO, "record_id": "spec#SPEC-20260305T180000Z", "spec_id": "SPEC-20260305T180000Z",
         "status": "deployed", "deployment_category": "ui", "request_ids": ["REQ-20260305T173200Z-5e7d20"]},
        {"project_id": REPO, "record_id": "spec#SPEC-20260318T183000Z", "spec_id": "SPEC-20260318T183000Z",
         "status": "queued_non_ui", "deployment_category": "non_ui", "non_ui_target_arns": [FUNCTION_ARN],
         "request_ids": ["REQ-20260318T181500Z-9c4e1f"]},
    ]
    return {"table": DM_TABLE, "requests": requests, "specs": specs}


# --------------------------------------------------------------------------- entry point

def closed_loopback_port() -> int:
    """A loopback port nothing listens on: the OS picked it free, and we let it go again."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def build_demo(workdir: Path) -> Path:
    """Create the demo system under ``workdir``; return its ``compliance.yaml``.

    ``workdir`` may exist but must not already hold a demo (``enceladus/`` or ``data/``):
    silently mixing two builds would make SHAs in the data files disagree with the repository.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    repo, data_dir = workdir / REPO, workdir / "data"
    for existing in (repo, data_dir):
        if existing.exists():
            raise FileExistsError(f"{existing} already exists; build the demo into an empty directory")

    history = _history()
    shas = _build_repo(repo, history)
    trees = _tree_ids(repo)
    now = datetime.now(_UTC).replace(microsecond=0)
    github = _github(history, shas, trees, now)

    data_dir.mkdir()
    _write_json(data_dir / "github.json", github)
    _write_json(data_dir / "lambda.json", _lambda(github, shas))
    _write_json(data_dir / "apigateway.json", _apigateway())
    _write_json(data_dir / "tracker.json", _tracker(history, shas, github))
    _write_json(data_dir / "deploy_manager.json", _deploy_manager())

    config = {
        "version": 1,
        "target": {
            "name": "enceladus-api-mcp (demo)",
            "repo": REPO,
            "github_repo": GITHUB_REPO,
            "branch": BRANCH,
            "workflow": WORKFLOW,
            "deploy_script": DEPLOY_SCRIPT,
            "region": REGION,
            "function": FUNCTION,
            "http_api": HTTP_API,
            "capability_url": f"http://127.0.0.1:{closed_loopback_port()}/api/v1/coordination/capabilities",
            "tracker": {"table": TRACKER_TABLE, "project": REPO},
            "deploy_manager": {"table": DM_TABLE},
        },
        "policies": list(DEFAULT_POLICIES),  # the rules shipped in the package: the demo runs from any directory
        "reports_dir": "reports",
        "sources": {
            "github": {"file": "data/github.json"},
            "lambda": {"file": "data/lambda.json"},
            "apigateway": {"file": "data/apigateway.json"},
            "tracker": {"file": "data/tracker.json"},
            "deploy_manager": {"file": "data/deploy_manager.json"},
            "probe": {"timeout_seconds": 2},
        },
    }
    path = workdir / "compliance.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    (workdir / "waivers.yaml").write_text(
        waivers_yaml(datetime.now(_UTC).date(), config["target"]["capability_url"]), encoding="utf-8")
    return path


def waivers_yaml(today: Any, capability_url: str) -> str:
    """The demo's exceptions, dated around ``today`` because the demo snapshot is collected now."""
    def day(offset: int) -> str:
        return (today + timedelta(days=offset)).isoformat()

    return f"""\
# Exceptions to the runbook rules. Every waiver has an owner, a ticket and an expiry within max_days.
version: 1
max_days: 90
warn_days: 14
waivers:
  # applied: the boto3 bump was pushed without a task; the task is being back-filled
  - rule: APIMCP-012
    subject: {{sha: bfa8efdf8134}}
    owner: platform-lead@enceladus.dev
    reason: dependency bump pushed directly during the boto3 incident; task ENC-TSK-402 back-fills it
    ticket: ENC-ISS-702
    created: {day(-20)}
    expires: {day(40)}
  # applied, but expires within warn_days: renew or fix before it lapses
  - rule: APIMCP-007
    subject: {{resource: "ENC-TSK-352@38c6345a634c"}}
    owner: docs-team@enceladus.dev
    reason: ENC-TSK-352 was migrated out of the tracker; its evidence lives in the migration log
    ticket: ENC-ISS-688
    created: {day(-80)}
    expires: {day(7)}
  # expired: the data dictionary was due to be regenerated; the failure is reported again
  - rule: GUARD-001
    subject: {{pr: 111}}
    owner: api-team@enceladus.dev
    reason: dictionary generator broken by the pagination models; regenerate after ENC-TSK-362
    ticket: ENC-ISS-671
    created: {day(-65)}
    expires: {day(-5)}
  # matches only an error finding: an endpoint that was never probed cannot be excused
  - rule: APIMCP-006
    subject: {{resource: "{capability_url}"}}
    owner: sre@enceladus.dev
    reason: capability endpoint behind the VPN during the network migration
    ticket: ENC-ISS-705
    created: {day(-1)}
    expires: {day(30)}
  # unused: the workflow filter was fixed, so this exception can be removed
  - rule: APIMCP-008
    subject: {{path: "tools/enceladus-mcp-server/**"}}
    owner: ci-team@enceladus.dev
    reason: MCP paths missing from the push filter until the workflow refactor
    ticket: ENC-ISS-650
    created: {day(-30)}
    expires: {day(20)}
"""


PREVIOUS_UNTIL = "2026-03-14T00:00:00Z"


def previous_snapshot(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The demo's "last audit": a week earlier, before the last changes, with one route missing.

    Built from the current snapshot rather than collected again so that both audits judge the
    same repository: the diff then shows exactly the designed movement (new failures after
    ``PREVIOUS_UNTIL``, the route that was restored, and everything still failing).
    """
    prev = copy.deepcopy(snapshot)
    prev["collected_at"] = PREVIOUS_UNTIL
    prev["window"]["until"] = PREVIOUS_UNTIL
    # The branch as it was then: the commits pushed after PREVIOUS_UNTIL did not exist yet (kept,
    # they would read as commits dated after the collection, which stay in the window).
    git = (prev["sources"].get("git") or {}).get("data")
    if git and git.get("commits"):
        until = parse_time(PREVIOUS_UNTIL)
        cut = next((i for i, c in enumerate(git["commits"]) if parse_time(c["committed_at"]) > until),
                   len(git["commits"]))
        git["commits"] = git["commits"][:cut]
    api = (prev["sources"].get("apigateway") or {}).get("data")
    if api:
        api["routes"] = [r for r in api["routes"] if r.get("RouteKey") != "GET /api/v1/coordination/mcp"]
    return prev


def demo_commits(workdir: Path) -> dict[str, str]:
    """Commit key -> SHA of a built demo, so tests and docs can name commits by role."""
    repo = Path(workdir) / REPO
    history = _history()
    subjects = {c.message.split("\n", 1)[0]: c.key for c in history.commits}
    out = _git(repo, "log", "--all", "--format=%H%x00%s", BRANCH)
    by_key: dict[str, str] = {}
    for line in out.splitlines():
        sha, subject = line.split("\x00", 1)
        key = subjects.get(subject)
        if key is not None:
            by_key.setdefault(key, sha)
    return by_key
