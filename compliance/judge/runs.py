"""Workflow runs as coverage: which runs provably are the canonical deploy of the branch, indexed by
the first-parent position of their commit so "a successful run of this commit or a later one" is a
bisect, not a scan.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from compliance.base.timeutil import iso
from compliance.judge.history import CLOCK_SKEW, Change, History, time_of

SUCCESS = "success"


def run_label(run: dict[str, Any]) -> str:
    num = f" #{run['run_number']}" if run.get("run_number") else ""
    attempt = f" attempt {run['run_attempt']}" if (run.get("run_attempt") or 1) > 1 else ""
    outcome = run.get("conclusion") or run.get("status") or "unknown"
    return f"run {run['id']}{num}{attempt} ({run.get('event')}, {outcome}) for {run['head_sha'][:12]}"


def run_evidence(run: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "run",
        "label": run_label(run),
        "run_id": run["id"],
        "url": run.get("html_url"),
        "time": iso(time_of(run.get("updated_at"))),
        "conclusion": run.get("conclusion"),
    }


def deploy_window(run: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    """When the run deployed: its deploy step if the jobs were collected, else the whole run."""
    for job in run.get("jobs") or []:
        for step in job.get("steps") or []:
            name = step.get("name")
            name = name.lower() if isinstance(name, str) else ""
            if "deploy" in name and "validat" not in name:
                start, end = time_of(step.get("started_at")), time_of(step.get("completed_at"))
                if start and end:
                    return start, end
    return time_of(run.get("run_started_at") or run.get("created_at")), time_of(run.get("updated_at"))


def _undeployed_step(run: dict[str, Any]) -> str | None:
    """Why a successful run's collected jobs show it did not deploy: a deploy job or step that
    completed without succeeding (``skipped`` by an ``if:``, a ``continue-on-error`` failure,
    cancelled). A run is green then, but nothing was deployed. None when the jobs show no such
    step, or were not collected."""
    for job in run.get("jobs") or []:
        if not isinstance(job, dict):
            continue
        parts = [("job", job)] + [("step", s) for s in job.get("steps") or [] if isinstance(s, dict)]
        for what, part in parts:
            name = part.get("name") if isinstance(part.get("name"), str) else ""
            if not _deploys(name):
                continue
            conclusion, status = part.get("conclusion"), part.get("status")
            done = status == "completed" or (status is None and conclusion is not None)  # a status left out
            if done and conclusion != SUCCESS:
                return f"its deploy {what} {name!r} concluded {conclusion or 'without a conclusion'}: nothing was deployed"
            if status is not None and status != "completed":  # a green run whose deploy has not finished says two things
                return f"its deploy {what} {name!r} is {status} in a run that completed"
    return None


def _deploys(name: str) -> bool:
    """Whether a job or step of this name is the deploy: it names deploying, and is not a step about a deploy
    (a check of it, its rollback or notice, a preview, staging or dry run of it, its lock or clean-up).
    "Deploy and validate", "test-and-deploy", "Checkout and deploy" and "Run deploy.sh with tests" deploy;
    "Validate deploy", "Post-deploy validation", "Deploy failure notification" and "Deploy (dry run)" do not."""
    low = " ".join(name.lower().replace("_", " ").split())
    if "deploy" not in low:
        return False
    if re.search(r"roll[\s-]?back|revert|notif|summary|\bdocs?\b|clean[\s-]?up|\block\b|preview|staging|dry[\s-]?run"
                 r"|undeploy|redeploy\s+previous|\bwait\b", low):
        return False
    if "deploy.sh" in low or re.search(r"^(?:run\s+)?deploy|(?:and|&|\+|then|,)[\s-]*deploy", low):
        return True
    return not re.search(r"(?:post|after|pre|before)[\s-]deploy|validat|verif|check|smoke|test|assert", low)


DEPLOY_EVENTS = ("push", "workflow_dispatch")  # what the canonical workflow deploys on; the rest never covers
IN_PROGRESS = ("queued", "in_progress", "waiting", "requested", "pending")


def run_state(run: dict[str, Any]) -> str:
    """``success``, ``in_progress``, ``ended`` (any other conclusion) or ``contradictory``.

    GitHub sets ``conclusion`` only once a run is ``completed``: a success on a run that is not
    completed, or a completed run without a conclusion, is data that disagrees with itself.
    """
    status, conclusion = run.get("status"), run.get("conclusion")
    if status == "completed":
        if conclusion == SUCCESS:
            return SUCCESS
        return "ended" if conclusion else "contradictory"
    if status in IN_PROGRESS:
        return "in_progress" if conclusion is None else "contradictory"
    return "contradictory"


def run_started(run: dict[str, Any]) -> datetime | None:
    """When the run's latest attempt started (a re-run restarts the clock, ``created_at`` does not)."""
    return time_of(run.get("run_started_at") or run.get("created_at"))


class RunIndex:
    """Runs of the canonical workflow on the branch, by first-parent position.

    Only a run that provably is the canonical deploy of the branch counts: its ``path`` is the
    configured workflow (and, when the source listed several workflows, so is the listing that
    returned it, ``listed_by``), it was triggered by a push or a manual dispatch, it ran on the governed
    branch for a commit of its first-parent chain, and its record agrees with itself. Every other
    run of the same commit is kept in ``by_sha`` with the reason it was rejected (``rejection``),
    so findings can say which runs were considered and why they did not count.
    """

    def __init__(self, github: dict[str, Any], history: History, workflow: str | None,
                 events: tuple[str, ...] = DEPLOY_EVENTS, deployed_nothing: Any = None):
        self.history, self.workflow, self.events = history, workflow, events
        repo = github.get("repository")
        self.repo = repo if isinstance(repo, str) else None  # the runs' repository, for a fork's run
        self._deployed_nothing = deployed_nothing  # run -> why it could deploy nothing (the script in force)
        self.by_sha: dict[str, list[dict[str, Any]]] = {}
        self.success_at: dict[int, list[dict[str, Any]]] = {}
        self.active_at: dict[int, list[dict[str, Any]]] = {}  # queued / in progress, by position
        self.rejected_success_at: dict[int, list[dict[str, Any]]] = {}
        self._why: dict[int, str | None] = {}
        self._conflicts: set[Any] = set()
        self._eligible: set[int] = set()
        for run in self._latest_attempts(github.get("runs") or []):
            path, listed = (run.get("path") or "").split("@", 1)[0], run.get("listed_by")
            if workflow and (listed != workflow if listed is not None else path and path != workflow):
                continue  # another workflow's run (by the listing that returned it, else its path)
            self.by_sha.setdefault(run["head_sha"], []).append(run)
            why = self._rejection(run)
            self._why[id(run)] = why
            pos = history.position.get(run["head_sha"])
            state = run_state(run)
            if why is None:
                self._eligible.add(pos)
            if why is None and state == SUCCESS:
                self.success_at.setdefault(pos, []).append(run)
            elif why is None and state == "in_progress":
                self.active_at.setdefault(pos, []).append(run)
            elif pos is not None and state == SUCCESS:
                self.rejected_success_at.setdefault(pos, []).append(run)
        for index in (self.success_at, self.active_at, self.rejected_success_at):
            for runs in index.values():
                runs.sort(key=lambda r: (time_of(r.get("updated_at")) or datetime.max, r["id"]))
        self._positions = sorted(self.success_at)
        self._active = sorted(self.active_at)
        self._rejected = sorted(self.rejected_success_at)
        self._eligible_sorted = sorted(self._eligible)

    def _latest_attempts(self, runs: list[Any]) -> list[dict[str, Any]]:
        """One record per run id: its latest attempt (a re-run replaces the attempt before it).

        Copies of the same attempt that disagree are recorded in ``_conflicts`` instead of one
        of them being believed. A run is one per listing that returned it (``listed_by``): the copy
        another listing returned is judged for that listing's workflow, and never shadows this one's.
        """
        best: dict[Any, tuple[int, dict[str, Any]]] = {}
        for run in runs:
            if not isinstance(run, dict) or not isinstance(run.get("head_sha"), str):
                continue
            attempt = run.get("run_attempt") if isinstance(run.get("run_attempt"), int) else 1
            key = _key(run)
            seen = best.get(key)
            if seen is None or attempt > seen[0]:
                best[key] = (attempt, run)
            elif attempt == seen[0] and _facts(run) != _facts(seen[1]):
                self._conflicts.add(key)
        return [run for _, run in best.values()]

    def _rejection(self, run: dict[str, Any]) -> str | None:
        """Why this run is not a canonical deploy of the branch; None when it is one."""
        branch = self.history.branch
        if not self.workflow:
            return "no canonical workflow is configured for the target"
        if not (run.get("path") or "").strip():
            return f"its workflow path is unknown, so nothing shows it is {self.workflow}"
        listed, (path, _, ref) = run.get("listed_by"), (run.get("path") or "").partition("@")
        if listed is not None and path != listed:
            return f"GitHub listed it as a run of {listed}, but its path says {path}: the records disagree"
        if ref and ref not in (f"refs/heads/{branch}", branch):  # the workflow file that ran is that ref's
            return f"its workflow file was read from {ref}, not from {branch}: another definition ran"
        head = run.get("head_repository")
        repo = self.repo
        if isinstance(head, dict) and (head.get("fork") is True or (
                repo and isinstance(head.get("full_name"), str) and head["full_name"].lower() != repo.lower())):
            return f"its head repository is {head.get('full_name') or 'a fork'}, not {repo or 'the target'}"
        if _key(run) in self._conflicts:
            return "the collected data holds conflicting copies of the same attempt"
        if run.get("event") not in self.events:
            return (f"it was triggered by {run.get('event') or 'an unknown event'}, not by "
                    f"{' or '.join(self.events)} on {branch}")
        if run.get("head_branch") != branch:
            return f"it ran on {run.get('head_branch') or 'an unknown branch'}, not {branch}"
        if run["head_sha"] not in self.history.position:
            return f"its commit {run['head_sha'][:12]} is not on the first-parent chain of {branch}"
        state = run_state(run)
        if state == "contradictory" and run.get("status") not in (*IN_PROGRESS, "completed"):
            return f"its status {run.get('status')!r} is not one GitHub reports for a run"
        if state == "contradictory":
            return f"its status {run.get('status')!r} contradicts its conclusion {run.get('conclusion')!r}"
        started, done = run_started(run), time_of(run.get("updated_at"))
        if state == SUCCESS and done is None:
            return "it has no parseable completion time"
        if started and done and started > done:
            return f"it started ({iso(started)}) after it was last updated ({iso(done)})"
        if state == SUCCESS and (step := _undeployed_step(run)) is not None:
            return step
        if state == SUCCESS and self._deployed_nothing is not None:
            return self._deployed_nothing(run)
        return None

    def rejection(self, run: dict[str, Any]) -> str | None:
        """Why a run listed in ``by_sha`` does not count (None: it is a canonical run of the branch)."""
        return self._why.get(id(run))

    def covering(self, change: Change, now: datetime | None = None) -> dict[str, Any] | None:
        """The first successful run of this commit or a later one that completed after the push.

        GitHub's concurrency group cancels pending runs, so a later commit's run deploys every
        earlier change; cancelled, failed and skipped runs cover nothing. With ``now`` (the
        collection time), a run claiming to have completed after it covers nothing either, and so
        does one claiming to have completed before its own commit was made (it cannot have deployed it,
        nor the earlier changes that commit brings).
        """
        return next(self.coverings(change, now), None)

    def coverings(self, change: Change, now: datetime | None = None) -> Iterator[dict[str, Any]]:
        """Every run ``covering`` would accept, first the one it returns: when the first proves to have
        uploaded nothing (CloudTrail shows no upload by the pipeline's role), a later one may still cover."""
        times = self.history.times
        for i in range(bisect.bisect_left(self._positions, change.position), len(self._positions)):
            head = self._positions[i]
            for run in self.success_at[head]:
                done = time_of(run["updated_at"])
                if (done and done >= change.committed_at and (times[head] is None or done >= times[head])
                        and (now is None or done <= now + CLOCK_SKEW)):
                    yield run

    def possible(self, run: dict[str, Any], now: datetime | None = None) -> bool:
        """Whether a canonical run's completion could be true: not after the collection, not before its
        own commit was made (``coverings`` credits such a run with no change; no live code comes from it)."""
        done = time_of(run.get("updated_at"))
        made = self.history.times[self.history.position[run["head_sha"]]]
        return done is not None and (now is None or done <= now + CLOCK_SKEW) and (made is None or done >= made)

    def active(self, change: Change) -> list[dict[str, Any]]:
        """Queued or running canonical runs of this commit or a later one (they may still deploy it)."""
        return list(self._from(self.active_at, self._active, change.position))

    def any_from(self, change: Change) -> bool:
        """Whether any canonical run of the branch (in any state) exists for this commit or a later one."""
        i = bisect.bisect_left(self._eligible_sorted, change.position)
        return i < len(self._eligible_sorted)

    def rejected_successes(self, change: Change, limit: int | None = None) -> list[dict[str, Any]]:
        """The first ``limit`` successful runs of this commit or a later one that do not count (to
        explain a failure without listing every later run of a long history)."""
        return list(itertools.islice(self._from(self.rejected_success_at, self._rejected, change.position), limit))

    @staticmethod
    def _from(index: dict[int, list[dict[str, Any]]], positions: list[int], position: int
              ) -> Iterator[dict[str, Any]]:
        for i in range(bisect.bisect_left(positions, position), len(positions)):  # no suffix copy
            yield from index[positions[i]]

    def successful(self) -> list[dict[str, Any]]:
        """Every successful canonical run of the branch (the same filter coverage uses)."""
        return [r for pos in self._positions for r in self.success_at[pos]]


def _key(run: dict[str, Any]) -> tuple[Any, Any]:
    listed = run.get("listed_by")
    return (listed if isinstance(listed, str) else None, run.get("id"))


def _facts(run: dict[str, Any]) -> tuple:
    return tuple(run.get(k) for k in ("head_sha", "head_branch", "path", "event", "status", "conclusion",
                                      "updated_at"))
