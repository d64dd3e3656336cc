"""The GitHub workflow runs of the demo, as the ``github`` source's data.

One run per push that touched the workflow's paths, plus one manual dispatch; each run's steps
are timed so Lambda LastModified values and worklogs can be placed inside (or outside) them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from compliance.demo.history import History
from compliance.demo.system import (
    AGENT,
    BRANCH,
    DEPLOY_STEP,
    GITHUB_REPO,
    OWNER_P,
    UTC,
    WORKFLOW,
    WORKFLOW_ID,
    WORKFLOW_NAME,
    Person,
    at,
    z,
)

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
    actor: Person = OWNER_P
    cancelled_at: datetime | None = None
    rerun_started: datetime | None = None  # the latest attempt started then and is still in progress


RERUN_MINUTES_BEFORE_BUILD = 25  # well inside deploy_coverage's grace period, so the change reads as pending


def _run_plans(h: History, now: datetime) -> list[_RunPlan]:
    """One run per push that touched the workflow's paths, plus one manual dispatch; ``now`` dates
    the one re-run still in progress."""

    def pushed(key: str, seconds: int = 4) -> datetime:
        return h.by_key[key].committed.astimezone(UTC) + timedelta(seconds=seconds)

    return [
        _RunPlan("pr101", "push", pushed("pr101"), "success"),
        _RunPlan("dict-102", "push", pushed("dict-102"), "success", actor=AGENT),
        _RunPlan("iss640", "push", pushed("iss640"), "success", actor=AGENT),
        # dict-regen runs 17:00-17:05; pr105's run waits, then f65's push cancels it (pending).
        _RunPlan("dict-regen", "push", pushed("dict-regen"), "success", deploy_seconds=270, actor=AGENT),
        _RunPlan("pr105", "push", pushed("pr105"), "cancelled", cancelled_at=pushed("f65", 5)),
        _RunPlan("f65", "push", pushed("f65"), "success", started=at("2026-02-25T17:05:10", UTC),
                 actor=AGENT),
        _RunPlan("tsk1005", "push", pushed("tsk1005"), "success", actor=AGENT),
        _RunPlan("b10", "push", pushed("b10"), "success", actor=AGENT),
        _RunPlan("pr109", "push", pushed("pr109"), "success"),
        _RunPlan("boto3", "push", pushed("boto3"), "success"),
        _RunPlan("pr110", "push", pushed("pr110"), "failure", deploy_seconds=41, failed_step=DEPLOY_STEP),
        _RunPlan("pr110", "workflow_dispatch", at("2026-03-06T19:02:00", UTC), "success"),
        # Re-run after a flaky first attempt: the listing shows only the latest attempt.
        _RunPlan("tsk361", "push", pushed("tsk361"), "success", started=pushed("tsk361") + timedelta(minutes=9),
                 attempt=2, actor=AGENT),
        _RunPlan("ci-pin", "push", pushed("ci-pin"), "success"),
        _RunPlan("tsk368", "push", pushed("tsk368"), "failure", actor=AGENT, attempt=2,
                 rerun_started=now - timedelta(minutes=RERUN_MINUTES_BEFORE_BUILD)),
        _RunPlan("tsk370", "push", pushed("tsk370"), "failure", deploy_seconds=188, failed_step=DEPLOY_STEP,
                 actor=AGENT),
    ]


def _step(number: int, name: str, start: datetime, seconds: int, conclusion: str) -> tuple[dict, datetime]:
    end = start + timedelta(seconds=seconds)
    step = {"name": name, "status": "completed", "conclusion": conclusion, "number": number,
            "started_at": z(start), "completed_at": z(end)}
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
                  "started_at": z(t), "completed_at": None})
    for number, name in enumerate(("Validate deployed Lambda state", "Post Configure AWS credentials",
                                   "Post Checkout", "Complete job"), start=5):
        steps.append({"name": name, "status": "queued", "conclusion": None, "number": number,
                      "started_at": None, "completed_at": None})
    return steps, min(now - timedelta(seconds=10), t + timedelta(minutes=3))  # updated_at precedes now


def github_runs(h: History, shas: dict[str, str], trees: dict[str, str], now: datetime) -> dict[str, Any]:
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
                "status": "in_progress", "conclusion": None, "started_at": z(started), "completed_at": None,
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
                "started_at": z(started), "completed_at": z(finished), "steps": steps,
            }]
        title = commit.message.split("\n", 1)[0] if plan.event == "push" else WORKFLOW_NAME
        actor = {"login": plan.actor[0], "id": 41872345 if plan.actor == OWNER_P else 158402113,
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
            "created_at": z(plan.created),
            "updated_at": z(finished + timedelta(seconds=2)),
            "run_started_at": z(started),
            "head_commit": {
                "id": sha,
                "tree_id": trees[sha],
                "message": commit.message,
                "timestamp": z(commit.committed),
                "author": {"name": commit.author[0], "email": commit.author[1]},
                "committer": {"name": commit.committer[0], "email": commit.committer[1]},
            },
            "actor": actor,
            "triggering_actor": actor,
            "jobs": jobs,
        })
    runs.sort(key=lambda r: r["created_at"], reverse=True)  # the REST listing is newest first
    return {"repository": GITHUB_REPO, "workflow": WORKFLOW, "runs": runs}


def deploy_window(github: dict[str, Any], sha: str, event: str = "push") -> tuple[datetime, datetime]:
    run = next(r for r in github["runs"] if r["head_sha"] == sha and r["event"] == event)
    step = next(s for s in run["jobs"][0]["steps"] if s["name"] == DEPLOY_STEP)
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return parse(step["started_at"]), parse(step["completed_at"])
