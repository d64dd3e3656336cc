"""The governed system, live: one fixture (``make_system``) for the end-to-end, reliability and adversarial suites.

Registered as a plugin by tests/conftest.py, so tests get the fixture by name and import only helpers from here.

A real git repository, AWS as moto's server over real HTTP, GitHub through ``responses``
(``FakeGitHub``), the capability endpoint as a real loopback server. Tests change one part
(a failing endpoint, a hostile commit, a planted secret) and run the real CLI over it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from tests import moto_env
from tests.github_payloads import workflow_run
from tests.reportfile import read_report
from tests.scenario import build_repo, live_config_text
from tests.trail_records import CODEBUILD_ROLE, create_trail, identity, record

POLICIES = Path(__file__).resolve().parents[1] / "policies"
GOOD_BODY = json.dumps({"success": True, "capabilities": {"contract_version": "0.3.0"}}).encode()
SINCE, UNTIL = "2026-02-21", "2026-03-31"


def evidence(sha: str) -> str:
    return (f"Deployed commit {sha[:12]} via api-mcp-backend-deploy; devops-coordination-api "
            "LastModified=2026-02-26T12:05:00.000+0000 State=Active LastUpdateStatus=Successful; "
            "GET /api/v1/coordination/capabilities -> 200")


def runs_for(s: dict[str, str]) -> list[dict[str, Any]]:
    """The canonical workflow's runs: ``squash`` deployed, ``direct``'s run failed."""
    return [workflow_run(9001, datetime(2026, 2, 26, 12, 1, tzinfo=timezone.utc), sha=s["squash"]),
            workflow_run(9002, datetime(2026, 3, 1, 12, 1, tzinfo=timezone.utc), sha=s["direct"],
                         conclusion="failure")]


@dataclass
class System:
    root: Path
    config: Path
    shas: dict[str, str]
    probe: Any
    repo: Any

    def runs(self) -> list[dict[str, Any]]:
        return runs_for(self.shas)

    def add_config(self, text: str) -> None:
        self.config.write_text(self.config.read_text("utf-8") + text, "utf-8")

    def report(self, out: Path) -> dict[str, Any]:
        return read_report(out / "report.json")


config_text = live_config_text


@pytest.fixture
def make_system(tmp_path, aws_env, http_server, monkeypatch):
    """Build the system; ``worklog`` replaces ENC-TSK-325's evidence text, ``probe_body`` the probe answer."""
    return system_builder(tmp_path, http_server, monkeypatch)


def system_builder(tmp_path, http_server, monkeypatch):
    """``make_system``'s builder, for a fixture wider than a test (moto pointed at and reset by the caller)."""

    def make(*, worklog: str | None = None, probe_body: bytes = GOOD_BODY, dm_summary: str | None = None,
             extra_commits=None, more_requests: list[dict[str, Any]] = ()) -> System:
        repo, s = build_repo(tmp_path / "enceladus")
        if extra_commits:
            s.update(extra_commits(repo))
        moto_env.create_function()
        moto_env.create_http_api()
        moto_env.create_tracker_table([
            moto_env.tracker_item("ENC-TSK-325", "Capabilities", worklog or evidence(s["squash"])),
            moto_env.tracker_item("ENC-TSK-326", "MCP dispatch plan"),
        ])
        req = moto_env.dm_request("REQ-20260301T101500Z-a1b2c3", "pending", "lambda_update",
                                  files=["backend/lambda/coordination_api/lambda_function.py"],
                                  target_arn=moto_env.FUNCTION_ARN)
        if dm_summary is not None:
            req["summary"] = dm_summary
        moto_env.create_deploy_manager_table([req, *more_requests])
        # the pipeline's role uploaded inside run 9001 (so it deployed: deploy_coverage reads it); the deploy
        # manager's CodeBuild role updated the function: only CloudTrail shows who
        create_trail(record("ct-gh-1", "2026-02-26T12:03:00Z"),
                     record("ct-dm-1", "2026-03-18T18:20:00Z", who=identity(CODEBUILD_ROLE)))
        probe = http_server(lambda h: (200, {"Content-Type": "application/json"}, probe_body))
        config = tmp_path / "compliance.yaml"
        config.write_text(config_text(probe.url), "utf-8")
        monkeypatch.setenv("GITHUB_TOKEN", "ghp_" + "e2e0" * 9)
        monkeypatch.setenv("COMPLIANCE_CACHE_DIR", str(tmp_path / "cache"))
        monkeypatch.setattr("compliance.sources.github_client.time.sleep", lambda s: None)
        return System(tmp_path, config, s, probe, repo)

    return make


def audit_args(config: Path, out: Path, *extra: str) -> list[str]:
    return ["audit", "--config", str(config), "--since", SINCE, "--until", UNTIL, "--out", str(out), *extra]


def one_generation(out: Path) -> bool:
    """report.json and snapshot.json beside it are of one run: the report names the snapshot's digest."""
    report = read_report(out / "report.json")
    digest = "sha256:" + hashlib.sha256((out / "snapshot.json").read_bytes()).hexdigest()
    return report["snapshot"]["digest"] == digest


def no_temp_files(folder: Path) -> list[str]:
    """Leftovers of an interrupted atomic write (``.NAME.XXXX.tmp``)."""
    if not folder.exists():
        return []
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".staging"))
