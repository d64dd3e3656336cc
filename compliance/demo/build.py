"""Building the demo system in a directory: repository, data files, config and waivers."""

from __future__ import annotations

import copy
import json
import socket
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from compliance.base.timeutil import parse_time
from compliance.demo.cloud import apigateway_data, deploy_manager_data, lambda_data
from compliance.demo.repo import build_repo, tree_ids
from compliance.demo.runs import github_runs
from compliance.demo.story import story
from compliance.demo.system import (
    ACCOUNT,
    BRANCH,
    DEPLOY_SCRIPT,
    DM_TABLE,
    FUNCTION,
    GITHUB_REPO,
    HTTP_API,
    REGION,
    REPO,
    TRACKER_TABLE,
    UTC,
    WORKFLOW,
)
from compliance.demo.tracker import tracker_data
from compliance.demo.trail import PRINCIPALS, cloudtrail_data, record_artifact
from compliance.demo.tree import file_text
from compliance.inputs import builtin
from compliance.sources.runbook import runbook_data


def closed_loopback_port() -> int:
    """A loopback port nothing listens on: the OS picked it free, and we let it go again."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def policies_dir() -> Path:
    """The built-in rules inside the installed package: the demo runs from any directory (issue 17)."""
    return Path(builtin.resolve(builtin.DEFAULT_POLICIES[0]))


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def build_demo(workdir: Path) -> Path:
    """Create the demo system under ``workdir``; return its ``compliance.yaml``.

    ``workdir`` may exist but must not already hold a demo (``enceladus/`` or ``data/``):
    silently mixing two builds would make SHAs in the data files disagree with the repository.
    """
    workdir = Path(workdir).absolute()  # git runs in the repository: a relative path would be read from there
    workdir.mkdir(parents=True, exist_ok=True)
    repo, data_dir = workdir / REPO, workdir / "data"
    for existing in (repo, data_dir):
        if existing.exists():
            raise FileExistsError(f"{existing} already exists; build the demo into an empty directory")

    history = story()
    shas = build_repo(repo, history)
    trees = tree_ids(repo)
    now = datetime.now(UTC).replace(microsecond=0)
    github = github_runs(history, shas, trees, now)
    record_artifact(github, shas)  # the deploy log read for the run whose deploy holds LastModified

    data_dir.mkdir()
    _write_json(data_dir / "github.json", github)
    _write_json(data_dir / "lambda.json", lambda_data(github, shas))
    _write_json(data_dir / "apigateway.json", apigateway_data())
    _write_json(data_dir / "tracker.json", tracker_data(history, shas, github))
    _write_json(data_dir / "deploy_manager.json", deploy_manager_data())
    _write_json(data_dir / "cloudtrail.json", cloudtrail_data(github, shas))

    config = {
        "version": 1,
        "target": {
            "name": "enceladus-api-mcp (demo)",
            "repo": REPO,
            "github_repo": GITHUB_REPO,
            "branch": BRANCH,
            "workflow": WORKFLOW,
            "deploy_script": DEPLOY_SCRIPT,
            "runbook": RUNBOOK,
            "region": REGION,
            "function": FUNCTION,
            "http_api": HTTP_API,
            "capability_url": f"http://127.0.0.1:{closed_loopback_port()}/api/v1/coordination/capabilities",
            "tracker": {"table": TRACKER_TABLE, "project": REPO},
            "deploy_manager": {"table": DM_TABLE},
            "cloudtrail": {"bucket": "enceladus-org-cloudtrail", "account": ACCOUNT},
            "principals": PRINCIPALS,
        },
        "policies": list(builtin.DEFAULT_POLICIES),  # the rules shipped in the package: runs from any directory
        "reports_dir": "reports",
        "sources": {
            "github": {"file": "data/github.json"},
            "lambda": {"file": "data/lambda.json"},
            "apigateway": {"file": "data/apigateway.json"},
            "tracker": {"file": "data/tracker.json"},
            "deploy_manager": {"file": "data/deploy_manager.json"},
            "cloudtrail": {"file": "data/cloudtrail.json"},
            "probe": {"timeout_seconds": 2},
        },
    }
    path = workdir / "compliance.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    (workdir / "waivers.yaml").write_text(
        waivers_yaml(now.date(), config["target"]["capability_url"]), encoding="utf-8")
    return path


def date_waivers(workdir: Path, snapshot: dict[str, Any]) -> None:
    """Write the demo's ``waivers.yaml`` in ``workdir`` again, dated around the day ``snapshot`` was collected.

    The build dates it by the wall clock and the collection reads the clock later: a demo built at
    2026-12-31 23:59:59 UTC and collected after midnight showed every designed offset a day off (the
    waiver expiring in 7 days in 6). Waivers expire by the snapshot's clock, so that is the day to date from;
    the capability URL they name is the snapshot's target's, as the build wrote it."""
    (Path(workdir) / "waivers.yaml").write_text(
        waivers_yaml(parse_time(snapshot["collected_at"]).date(), snapshot["target"]["capability_url"]),
        encoding="utf-8")


def waivers_yaml(today: Any, capability_url: str) -> str:
    """The demo's exceptions (``files/waivers.yaml``), dated around ``today`` because the demo
    snapshot is collected now: ``{day_minus_20}`` is twenty days before it, ``{day_plus_7}`` a week after."""
    days = {f"day_{'minus' if n < 0 else 'plus'}_{abs(n)}": (today + timedelta(days=n)).isoformat()
            for n in range(-90, 91)}
    return file_text("waivers.yaml").format(capability_url=capability_url, **days)


PREVIOUS_UNTIL = "2026-03-14T00:00:00Z"
RUNBOOK = "docs/runbooks/api-mcp-deploy.md"


def _runbook_as_of(prev: dict[str, Any], git: dict[str, Any]) -> None:
    """The last audit read the runbook it had then (before its Scope gained 03-api.yaml): the runbook
    source re-read from the version in force at the last kept commit, as a collection then would have."""
    src = prev["sources"].get("runbook") or {}
    if src.get("status") != "ok" or not git["commits"]:
        return
    kept = {c["sha"] for c in git["commits"]}
    versions = (git.get("file_versions") or {})
    entries = [e for e in (versions.get("paths") or {}).get(RUNBOOK, []) if e["sha"] in kept]
    blob = entries[-1]["blob"] if entries else None
    last = git["commits"][-1]
    then = {**git, "files_ref": {"sha": last["sha"], "committed_at": last["committed_at"]},
            "files_at_head": {**(git.get("files_at_head") or {}), **src["data"]["named_files"],
                              RUNBOOK: (versions.get("blobs") or {}).get(blob) if blob else None}}
    src["data"] = runbook_data(then, RUNBOOK)


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
        _runbook_as_of(prev, git)
    api = (prev["sources"].get("apigateway") or {}).get("data")
    if api:
        api["routes"] = [r for r in api["routes"] if r.get("RouteKey") != "GET /api/v1/coordination/mcp"]
    return prev
