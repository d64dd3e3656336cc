"""What a check may read: the snapshot and the indexes built from it once (history, runs, worklog
evidence), with each source's status honoured: a failed or missing source raises
``SourceUnavailable``, a deferred one says why it was left for later.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from compliance.base.errors import SourceUnavailable
from compliance.base.redact import clip
from compliance.base.timeutil import iso, parse_time
from compliance.judge import evidence
from compliance.judge.files import RepoFiles
from compliance.judge.history import Change, History
from compliance.judge.runs import RunIndex
from compliance.model.rules import Scope
from compliance.sources.registry import DEFERRED, after_merge


@dataclass
class Context:
    """Everything a check may read. Checks are pure functions of this."""

    snapshot: dict[str, Any]
    _changes_cache: dict[Scope, list[Change]] = field(default_factory=dict)
    # the rule set being judged (set by ``engine.evaluate``): runbook_sync compares the runbook with all of it
    rules: list[Any] = field(default_factory=list)
    _runs_cache: dict[tuple[str | None, str | None], RunIndex] = field(default_factory=dict)

    @property
    def target(self) -> dict[str, Any]:
        return self.snapshot["target"]

    @cached_property
    def target_values(self) -> dict[str, str]:
        return remediation_values(self.target)

    @cached_property
    def since(self) -> datetime:
        return parse_time(self.snapshot["window"]["since"])

    @cached_property
    def until(self) -> datetime:
        return parse_time(self.snapshot["window"]["until"])

    @cached_property
    def now(self) -> datetime:
        return parse_time(self.snapshot["collected_at"])

    def source_ok(self, name: str) -> bool:
        src = self.snapshot["sources"].get(name)
        return bool(src) and src["status"] == "ok"

    def deferred(self, names: Iterable[str]) -> str | None:
        """Why the first of these sources was left to a later collection (the snapshot says so,
        e.g. a pull request defers what only exists after a deploy); None when none was."""
        for name in names:
            src = self.snapshot["sources"].get(name)
            if src and src["status"] == DEFERRED and self._may_defer(name):
                return src.get("reason") or f"source '{name}' is collected later"
        return None

    def _may_defer(self, name: str) -> bool:
        """A deferral is data, so it is checked like data: only a snapshot that judges a pull request
        may defer, and only what exists after the merge. Anything else (an audit snapshot edited to
        defer Lambda so its rules read "not applicable") is a source that was not collected: `error`."""
        pr = self.snapshot.get("pull_request")
        number = pr.get("number") if isinstance(pr, dict) else None  # 0: a local check, no PR opened yet
        if not (isinstance(number, int) and not isinstance(number, bool) and number >= 0 and name in after_merge()):
            return False
        # a pull_request section pasted into an audit snapshot must not defer its history's deploys: a
        # pull-request snapshot's git data is that pull request, one change of kind pull_request, at its head
        git = self.snapshot["sources"].get("git") or {}
        commits = (git.get("data") or {}).get("commits") if git.get("status") == "ok" else None
        return isinstance(commits, list) and len(commits) == 1 and commits[0].get("kind") == "pull_request" \
            and commits[0].get("pr") == number and commits[0].get("sha") == pr.get("head_sha")

    def source(self, name: str) -> dict[str, Any]:
        src = self.snapshot["sources"].get(name)
        if not src:
            raise SourceUnavailable(name, "not collected")
        if src["status"] == DEFERRED:
            if not self._may_defer(name):
                raise SourceUnavailable(name, "marked deferred, which only a pull-request snapshot may do (its git data "
                                              "the pull request's one change), and only for a source that "
                                              "exists after the merge: not collected")
            raise SourceUnavailable(name, f"deferred: {src.get('reason') or 'collected later'}")
        if src["status"] != "ok":
            err = src.get("error") or {}
            raise SourceUnavailable(name, f"{err.get('type', 'error')}: {err.get('message', '')}".strip())
        return src["data"]

    @cached_property
    def history(self) -> History:
        return History(self.source("git"))

    @cached_property
    def files(self) -> RepoFiles:
        """The repository files rules read, as of the window's end, and their versions by commit."""
        git = self.source("git")
        return RepoFiles(git, self.history if git.get("file_versions") else None)

    @cached_property
    def runs(self) -> RunIndex:
        return self.runs_of(self.target.get("workflow"), self.target.get("deploy_script"))

    def runs_of(self, workflow: str | None, deploy_script: str | None) -> RunIndex:
        """The runs of ``workflow`` as coverage, a run that succeeded while ``deploy_script`` was a
        tombstone deploying nothing; built once per (workflow, script), since several rules may share one.

        The target's workflow is the source's own listing; another one a rule names was listed beside it
        (``github.workflows``), and one that failed or was never listed raises ``SourceUnavailable``: its
        rule is `error`, never judged on an empty list of runs that would read as "nothing deployed"."""
        key = (workflow, deploy_script)
        if key not in self._runs_cache:
            data = self.source("github")
            listings = data.get("workflows")
            if workflow and (listings is not None or workflow != self.target.get("workflow")):
                listed = (listings or {}).get(workflow)
                if not isinstance(listed, dict):
                    raise SourceUnavailable("github", f"runs of {workflow} were not collected")
                if listed.get("status") != "ok":
                    err = listed.get("error") or {}
                    raise SourceUnavailable("github", f"runs of {workflow} could not be listed: "
                                                      f"{err.get('type', 'error')}: {err.get('message', '')}".strip())
            self._runs_cache[key] = RunIndex(data, self.history, workflow,
                                             deployed_nothing=lambda run: self._deployed_nothing(deploy_script, run))
        return self._runs_cache[key]

    def _deployed_nothing(self, path: str | None, run: dict[str, Any]) -> str | None:
        """A successful run whose commit's deploy script was a tombstone (or absent) deployed nothing."""
        pos = self.history.position.get(run["head_sha"])
        if not path or pos is None:
            return None
        # deliberate lazy import, as in the workflow checks: the shell parser is paid for only when runs
        # are judged, not by every import of the engine (rule validation, start-up)
        from compliance.judge.shell.deploy_script import judge_deploy_script

        function = self.target.get("function") or ""
        return self.files.deployed_nothing(path, pos, lambda text: judge_deploy_script(text, function))

    @cached_property
    def evidence(self) -> EvidenceIndex:
        return EvidenceIndex(self.source("tracker"), self.history)

    @cached_property
    def window(self) -> range:
        """The chain positions of the window (``History.window``), found once for every rule."""
        return self.history.window(self.since, self.until, self.now)

    def changes(self, scope: Scope) -> list[Change]:
        """In-window first-parent commits whose diff against the first parent touches the scope."""
        if scope in self._changes_cache:
            return self._changes_cache[scope]
        hist = self.history
        branch = scope.branch or self.target.get("branch")
        out: list[Change] = []
        if branch in (None, hist.branch):
            commits, everything, select = hist.commits, scope.is_empty, scope.select
            # the scope's verdict per distinct path, asked of ``Scope.select`` once: the same files are
            # touched again and again (400,000 paths, a few thousand distinct, at 100,000 commits)
            picked: dict[str, bool] = {}
            for i in self.window:
                hit = everything
                for f in commits[i]["files"] if not hit else ():
                    path = f["path"]
                    chosen = picked.get(path)
                    if chosen is None:
                        chosen = picked[path] = bool(select([path]))
                    if chosen:
                        hit = True
                        break
                if hit:
                    out.append(hist.change(i))
        self._changes_cache[scope] = out
        return out


class EvidenceIndex:
    """Worklog evidence by task id, with each SHA candidate resolved to a first-parent position."""

    def __init__(self, tracker: dict[str, Any], history: History):
        self.items: dict[str, dict[str, Any]] = tracker.get("items") or {}
        self.missing = set(tracker.get("missing") or [])
        self.by_task: dict[str, list[Any]] = {}
        self.positions: dict[tuple[str, int], list[int]] = {}
        self._named: dict[int, list[int]] = {}  # id(evidence) -> positions of the commits it names
        by_latest: list[tuple[int, str, int]] = []
        for task_id in sorted(self.items):
            evs = evidence.evidence_for_item(task_id, self.items[task_id])
            self.by_task[task_id] = evs
            for n, ev in enumerate(evs):
                resolved = sorted({p for p in (history.resolve(s) for s in ev.shas) if p is not None})
                self.positions[(task_id, n)] = resolved
                self._named[id(ev)] = resolved
                if resolved:
                    by_latest.append((resolved[-1], task_id, n))
        by_latest.sort()
        self._latest = by_latest

    def resolved(self, task_id: str, n: int) -> list[int]:
        return self.positions.get((task_id, n), [])

    def named(self, ev: Any) -> list[int]:
        """Positions of the first-parent commits one piece of evidence names, oldest first."""
        return self._named.get(id(ev), [])

    def for_change(self, task_id: str, change: Change) -> list[tuple[Any, list[int]]]:
        """Evidence of this task naming the change or a later first-parent commit (which contains it)."""
        out = []
        for n, ev in enumerate(self.by_task.get(task_id, [])):
            pos = [p for p in self.resolved(task_id, n) if p >= change.position]
            if pos:
                out.append((ev, pos))
        return out

    @cached_property
    def _deploy_claims(self) -> tuple[list[int], list[Any]]:
        """Evidence that mentions a deploy, by the latest commit it names.

        Whether a claim proves a deploy (its time, the path it names, its outcome) is the
        check's judgement; the index keeps every claim so a finding can say why one was refused.
        """
        keep = [(k, self.by_task[task][n]) for k, task, n in self._latest]
        keep = [(k, ev) for k, ev in keep if ev.mentions_deploy]
        return [k for k, _ in keep], [ev for _, ev in keep]

    def deploy_claims_from(self, position: int) -> Iterator[tuple[int, Any]]:
        """(position of the latest commit named, evidence) for deploy claims naming a commit at or
        after ``position``, in order of that commit."""
        keys, evs = self._deploy_claims
        for i in range(bisect.bisect_left(keys, position), len(evs)):
            yield keys[i], evs[i]


def _shown(ev: Any) -> str:
    """An entry's text masked and cut to 300 characters: remembered by an ``Evidence`` (``Evidence.shown``)."""
    shown = getattr(ev, "shown", None)
    return shown if isinstance(shown, str) else clip(ev.text, 300)


def worklog_evidence_item(ev: Any) -> dict[str, Any]:
    """A worklog as evidence; its text masked before it is cut, so no token's head survives the cut."""
    return {
        "kind": "worklog",
        "label": f"{ev.task_id} {ev.origin}: {_shown(ev)}",
        "task_id": ev.task_id,
        "time": iso(ev.timestamp),
        "outcome": ev.outcome,
        "url": None,
    }


def remediation_values(target: dict[str, Any]) -> dict[str, str]:
    """Placeholders a rule's remediation may use that come from the target, not the finding."""
    workflow = target.get("workflow", "") or ""
    return {
        "function": target.get("function", ""),
        "region": target.get("region", ""),
        "branch": target.get("branch", ""),
        "workflow": workflow,
        "workflow_file": workflow.rsplit("/", 1)[-1],
        "repo": target.get("github_repo", ""),
        "runbook": target.get("runbook", ""),
    }
