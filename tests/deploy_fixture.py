"""The governed system for ``compliance deploy`` tests: a real repository whose deploy script
drives the real ``aws`` CLI against moto's server, plus the AWS resources and a config file.

History (dates relative to now, so the command's 30-day look-back sees it):

    base     initial import ENC-TSK-300            in scope
    pr       PR #12 agent/enc-tsk-325-capabilities in scope, ENC-TSK-325 has passing evidence naming it
    squash   MCP dispatch plan ENC-TSK-326 (#13)   in scope          -> covered
    ui       frontend tweak ENC-TSK-400            out of scope
    dict     regenerate dictionary ENC-TSK-401     excluded (generated file)
    direct   status route ENC-TSK-327 ENC-TSK-328  in scope          -> covered (328 is not in the tracker)

So a deploy of ``direct`` covers ``squash`` and ``direct`` and records on ENC-TSK-326 and ENC-TSK-327.
"""

from __future__ import annotations

import atexit
import functools
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests import moto_env
from tests.gitrepo import GitRepo
from tests.scenario import RUNBOOK_PATH, RUNBOOK_TEXT

SCRIPT = "backend/lambda/coordination_api/deploy.sh"
WORKFLOW = ".github/workflows/api-mcp-backend-deploy.yml"
GOOD_BODY = json.dumps({"success": True, "capabilities": {"contract_version": "0.3.0"}}).encode()
POLICIES = Path(__file__).resolve().parents[1] / "policies"
COVERED_TASKS = ["ENC-TSK-326", "ENC-TSK-327"]

# Test hooks: DEPLOY_COUNTER counts runs, DEPLOY_FAIL=1 fails before touching the function, and a
# rotation key is echoed so redaction can be seen to work. DEPLOY_HANG_PIDFILE starts a background
# child (its pid in that file) and waits for it, before touching the function (DEPLOY_HANG_IGNORE_TERM=1:
# the child ignores SIGTERM); DEPLOY_LEAVE_PIDFILE starts one and leaves it running (holding the
# script's output open) while the script deploys and exits 0.
# DEPLOY_UPLOAD says how the script uploads the code, for tests about what surrounds the upload rather than the
# CLI (see DeploySystem.upload); each is the same UpdateFunctionCode request to moto over HTTP. CPU of one
# upload (median of 5, /tmp measurement in the branch's report): the aws CLI (default) 0.52-0.64 s; "sdk",
# botocore, the SDK the CLI is built on, 0.33 s (boto3 0.38-0.43 s: it imports s3transfer); "curl", signed by
# curl's own SigV4 (--aws-sigv4, curl >= 7.75), 0.013 s. ``fast_upload()`` picks curl where it can sign.
DEPLOY_SH = """#!/usr/bin/env bash
set -euo pipefail
REGION=${REGION:-us-west-2}
here="$(cd "$(dirname "$0")" && pwd)"
echo "run $(date -u +%Y-%m-%dT%H:%M:%SZ)" >> "${DEPLOY_COUNTER:-/dev/null}"
echo "packaging coordination API from $here"
if [ -n "${DEPLOY_HANG_PIDFILE:-}" ]; then
  if [ "${DEPLOY_HANG_IGNORE_TERM:-}" = "1" ]; then (trap '' TERM; exec sleep 300) & else sleep 300 & fi
  echo $! > "$DEPLOY_HANG_PIDFILE.tmp" && mv "$DEPLOY_HANG_PIDFILE.tmp" "$DEPLOY_HANG_PIDFILE"
  echo "waiting for the upload"
  wait
fi
if [ -n "${DEPLOY_LEAVE_PIDFILE:-}" ]; then
  sleep 300 &
  echo $! > "$DEPLOY_LEAVE_PIDFILE"
fi
if [ "${DEPLOY_FAIL:-}" = "1" ]; then
  echo "error: packaging step exited non-zero" >&2
  exit 1
fi
build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT
(cd "$here" && python -m zipfile -c "$build/function.zip" lambda_function.py)
if [ "${DEPLOY_UPLOAD:-aws}" = "curl" ]; then
  printf '{"ZipFile": "%s"}' "$(base64 < "$build/function.zip" | tr -d '\\n')" > "$build/request.json"
  curl -sS --fail --aws-sigv4 "aws:amz:$REGION:lambda" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \\
    -X PUT -H "Content-Type: application/json" --data-binary "@$build/request.json" \\
    "$AWS_ENDPOINT_URL/2015-03-31/functions/devops-coordination-api/code"
  echo
elif [ "${DEPLOY_UPLOAD:-aws}" = "sdk" ]; then
  python -c 'import sys, botocore.session
r = botocore.session.get_session().create_client("lambda", region_name=sys.argv[2]).update_function_code(
    FunctionName=sys.argv[1], ZipFile=open(sys.argv[3], "rb").read())
print(r["CodeSha256"] + "\\t" + r["LastModified"])' devops-coordination-api "$REGION" "$build/function.zip"
else
  aws lambda update-function-code --function-name devops-coordination-api \\
    --zip-file "fileb://$build/function.zip" --region "$REGION" \\
    --query '[CodeSha256,LastModified]' --output text
fi
if [ -n "${COORDINATION_INTERNAL_API_KEY:-}" ]; then
  echo "rotating internal key ${COORDINATION_INTERNAL_API_KEY}"
fi
echo "deploy complete"
"""

WORKFLOW_YML = """name: API + MCP backend deploy
on:
  push:
    branches: [main]
    paths: ["backend/lambda/coordination_api/**", "tools/enceladus-mcp-server/**"]
  workflow_dispatch: {}
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: backend/lambda/coordination_api/deploy.sh
"""


@dataclass
class DeploySystem:
    repo: GitRepo
    shas: dict[str, str]
    config_path: Path
    out_dir: Path
    counter: Path
    probe: Any
    upload: str = "aws"  # how the script uploads the code: "aws" (the CLI), "sdk" (botocore), "curl"; see DEPLOY_SH

    def env(self, **extra: str) -> dict[str, str]:
        """The environment the script runs in: the venv's ``aws`` and ``python`` first on PATH."""
        env = dict(os.environ)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env["DEPLOY_COUNTER"] = str(self.counter)
        env["DEPLOY_UPLOAD"] = self.upload
        env.update(extra)
        return env

    def runs(self) -> int:
        return len(self.counter.read_text().splitlines()) if self.counter.exists() else 0

    def load(self):
        from compliance.inputs.config import load_config
        from compliance.inputs.rules import load_rules

        config = load_config(str(self.config_path))
        return config, load_rules(config.policies)


def _evidence(sha: str) -> str:
    return (f"Deployed commit {sha[:12]} via api-mcp-backend-deploy; devops-coordination-api "
            "LastModified=2026-02-26T12:05:00.000+0000 State=Active LastUpdateStatus=Successful; "
            "GET /api/v1/coordination/capabilities -> 200")


_BUILT: list[tuple[datetime, GitRepo, dict[str, str]]] = []  # this process's template, see build_repo


def build_repo(path: Path, now: datetime) -> tuple[GitRepo, dict[str, str]]:
    """The history above at ``path``, dated back from ``now``.

    Built once per process (per xdist worker) and copied per test, as tests/scenario.py does: ~20 git
    processes saved per test. The copy's dates are those of the first build; a template older than
    an hour is built again, so "N days ago" stays well inside the deploy's 30-day look-back."""
    if not _BUILT or now - _BUILT[0][0] > timedelta(hours=1):
        template = Path(tempfile.mkdtemp(prefix="deploy-repo-"))
        atexit.register(shutil.rmtree, template, ignore_errors=True)
        _BUILT[:] = [(now, *_build_repo(template / "enceladus", now))]
    _, template_repo, shas = _BUILT[0]
    return template_repo.copy(path), dict(shas)


def _build_repo(path: Path, now: datetime) -> tuple[GitRepo, dict[str, str]]:
    def ago(days: float) -> datetime:
        return now - timedelta(days=days)

    repo = GitRepo(path).init()
    s: dict[str, str] = {}
    s["base"] = repo.commit("initial import ENC-TSK-300", {
        "README.md": "enceladus\n", WORKFLOW: WORKFLOW_YML, SCRIPT: DEPLOY_SH,
        "backend/lambda/coordination_api/lambda_function.py": "VERSION = 0\n",
        "AGENTS.md": "Deploy API/MCP per docs/runbooks/api-mcp-deploy.md\n", RUNBOOK_PATH: RUNBOOK_TEXT,
    }, author_date=ago(10))
    repo.branch("agent/enc-tsk-325-capabilities")
    repo.commit("add capabilities", {"backend/lambda/coordination_api/lambda_function.py": "VERSION = 1\n"},
                author_date=ago(9))
    repo.checkout("main")
    s["pr"] = repo.merge_pr(12, "NX-2021-L", "agent/enc-tsk-325-capabilities", "Capabilities endpoint",
                            date=ago(8))
    s["squash"] = repo.squash(13, "MCP dispatch plan ENC-TSK-326",
                              {"tools/enceladus-mcp-server/server.py": "print('mcp')\n"}, date=ago(5))
    s["ui"] = repo.commit("frontend tweak ENC-TSK-400", {"frontend/app.js": "x\n"}, author_date=ago(4))
    s["dict"] = repo.commit("regenerate dictionary ENC-TSK-401",
                            {"backend/lambda/coordination_api/governance_data_dictionary.json": "{}\n"},
                            author_date=ago(3))
    s["direct"] = repo.commit("status route ENC-TSK-327 ENC-TSK-328",
                              {"backend/lambda/coordination_api/lambda_function.py": "VERSION = 2\n"},
                              author_date=ago(2))
    return repo, s


@functools.lru_cache(maxsize=1)
def fast_upload() -> str:
    """The cheapest real upload here: "curl" where curl can sign an AWS request (7.75 and later), else "sdk"."""
    try:
        out = subprocess.run(["curl", "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return "sdk"
    found = re.match(r"curl (\d+)\.(\d+)", out)
    return "curl" if found and (int(found[1]), int(found[2])) >= (7, 75) else "sdk"


def _stamp(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def pending_request(now: datetime) -> dict[str, Any]:
    """The flow the runbook forbids, still pending: a lambda_update request naming the function."""
    return moto_env.dm_request(f"REQ-{_stamp(now - timedelta(days=1))}-9c4e1f", "pending", "lambda_update",
                               target_arn=moto_env.FUNCTION_ARN,
                               files=["backend/lambda/coordination_api/lambda_function.py"])


def build_system(tmp_path: Path, http_server, *, dm_items: list[dict[str, Any]] | None = None,
                 upload: str = "aws") -> DeploySystem:
    """Everything live: moto (via ``aws_env``), the repository, the probe server and the config.

    ``upload`` is how the script uploads the code (see DEPLOY_SH); "fast" is ``fast_upload()``."""
    upload = fast_upload() if upload == "fast" else upload
    now = datetime.now(timezone.utc)
    repo, s = build_repo(tmp_path / "enceladus", now)
    moto_env.create_function()
    moto_env.create_http_api()
    moto_env.create_tracker_table([
        moto_env.tracker_item("ENC-TSK-300", "Initial import"),
        moto_env.tracker_item("ENC-TSK-325", "Capabilities", _evidence(s["pr"])),
        moto_env.tracker_item("ENC-TSK-326", "MCP dispatch plan"),
        moto_env.tracker_item("ENC-TSK-327", "Status route"),
    ])
    moto_env.create_deploy_manager_table(dm_items if dm_items is not None else [
        moto_env.dm_request(f"REQ-{_stamp(now - timedelta(days=2))}-a1b2c3", "included", "github_public_static"),
        moto_env.dm_request(f"REQ-{_stamp(now - timedelta(days=1))}-d4e5f6", "pending", "github_public_static"),
    ])
    probe = http_server(lambda h: (200, {"Content-Type": "application/json"}, GOOD_BODY))
    config = tmp_path / "compliance.yaml"
    config.write_text(f"""version: 1
target:
  repo: enceladus
  branch: main
  workflow: {WORKFLOW}
  deploy_script: {SCRIPT}
  runbook: {RUNBOOK_PATH}
  region: {moto_env.REGION}
  function: {moto_env.FUNCTION}
  http_api: {moto_env.HTTP_API}
  capability_url: {probe.url}/api/v1/coordination/capabilities
  tracker: {{table: {moto_env.TRACKER_TABLE}, project: {moto_env.PROJECT}}}
  deploy_manager: {{table: {moto_env.DM_TABLE}, project: {moto_env.PROJECT}}}
policies: [{POLICIES}]
""", "utf-8")
    return DeploySystem(repo, s, config, tmp_path / "reports", tmp_path / "deploy-runs.txt", probe, upload)


def bump_last_modified_on_code_update(monkeypatch) -> None:
    """Make moto's Lambda behave as AWS does where the deploy relies on it (the server runs in this
    process, a ThreadedMotoServer, so patching its model is enough):

    - UpdateFunctionCode sets LastModified (moto 5 leaves it at creation time);
    - GetFunctionConfiguration carries a RevisionId that every code or configuration update
      changes (moto 5 has none), which the deploy's state file is bound to.
    """
    import uuid

    from moto.awslambda import models
    from moto.core.utils import iso_8601_datetime_with_nanoseconds

    original = models.LambdaFunction.update_function_code
    original_config = models.LambdaFunction.update_configuration
    original_get = models.LambdaFunction.get_configuration

    def new_revision(self) -> None:
        self._test_revision_id = str(uuid.uuid4())

    def update_function_code(self, updated_spec):
        result = original(self, updated_spec)
        self.last_modified = iso_8601_datetime_with_nanoseconds()
        new_revision(self)
        if isinstance(result, dict) and "LastModified" in result:
            result["LastModified"] = self.last_modified
        return result

    def update_configuration(self, config_updates):
        result = original_config(self, config_updates)
        self.last_modified = iso_8601_datetime_with_nanoseconds()
        new_revision(self)
        return result

    def get_configuration(self, *args, **kwargs):
        config = original_get(self, *args, **kwargs)
        if not getattr(self, "_test_revision_id", None):
            new_revision(self)
        config["RevisionId"] = self._test_revision_id
        return config

    monkeypatch.setattr(models.LambdaFunction, "update_function_code", update_function_code)
    monkeypatch.setattr(models.LambdaFunction, "update_configuration", update_configuration)
    monkeypatch.setattr(models.LambdaFunction, "get_configuration", get_configuration)


def function_config() -> dict[str, Any]:
    return moto_env.client("lambda").get_function_configuration(FunctionName=moto_env.FUNCTION)


def worklogs(task_id: str) -> list[str]:
    """The task's worklog descriptions, read back from the table with boto3."""
    kind = {"TSK": "task", "ISS": "issue"}[task_id.split("-")[1]]
    item = moto_env.client("dynamodb").get_item(
        TableName=moto_env.TRACKER_TABLE,
        Key={"project_id": {"S": moto_env.PROJECT}, "record_id": {"S": f"{kind}#{task_id}"}}).get("Item") or {}
    history = (item.get("history") or {}).get("L") or []
    return [e["M"]["description"]["S"] for e in history if e["M"].get("status", {}).get("S") == "worklog"]


@pytest.fixture
def system(request, tmp_path, aws_env, http_server, monkeypatch):
    """A governed repository, moto's Lambda and tracker, and a capability endpoint: one deploy's world.

    A test module that is not about the script's aws CLI call sets ``DEPLOY_UPLOAD = "fast"`` (the script
    uploads with curl or botocore, 0.2-0.5 s of CPU less a run); a test about the runbook's own path, the
    aws CLI, says so with ``@pytest.mark.deploy_upload("aws")``, which wins over the module's setting.

    Ctrl-C is Python's default (``KeyboardInterrupt``) for the test even when the suite was started
    with SIGINT ignored (a shell's background job, ``nohup``): the interrupt tests send it and the
    deploy must see it. Without this they waited out the script's 120 s time limit and failed."""
    ignored = signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    bump_last_modified_on_code_update(monkeypatch)
    marker = request.node.get_closest_marker("deploy_upload")
    upload = marker.args[0] if marker else getattr(request.module, "DEPLOY_UPLOAD", "aws")
    yield build_system(tmp_path, http_server, upload=upload)
    if ignored:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_deploy(system, **kw) -> tuple[int, str]:
    """``compliance deploy`` on ``system`` with its environment; the exit code and what it printed."""
    from compliance.app.deploy import deploy

    config, ruleset = system.load()
    stream = io.StringIO()
    env = kw.pop("env", None) or system.env()
    kw.setdefault("wait_timeout", 10)
    code = deploy(config, ruleset, out_dir=system.out_dir, env=env, stream=stream, **kw)
    return code, stream.getvalue()


# Checks shared by the hostile-deploy modules (tests/adversarial/test_deploy_hostile*.py): the module was
# split in two so that `--dist loadfile` can run its halves on both workers; these are what both halves read.

def deploy_state(system) -> dict[str, Any]:
    """The state file the last deploy left in the system's report folder."""
    from compliance.app.deploy import STATE_FILE

    return json.loads((system.out_dir / STATE_FILE).read_text())


def no_evidence() -> bool:
    """No covered task carries a worklog: nothing was recorded."""
    return all(worklogs(t) == [] for t in COVERED_TASKS)


def assert_deployed_for_real(system, code: int, text: str, runs: int = 1) -> None:
    """The script ran (``runs`` times in all), no state was resumed, and passing evidence was recorded."""
    from compliance.judge.evidence import parse_evidence_line

    assert code == 0, text
    assert system.runs() == runs and "not resuming" in text and "resuming:" not in text
    for task in COVERED_TASKS:
        assert parse_evidence_line(worklogs(task)[-1])["outcome"] == "pass"
    assert deploy_state(system)["status"] == "deployed"
