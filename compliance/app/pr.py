"""Pull-request mode: judge, before merge, what can be judged on a PR's files and head.

The PR becomes one synthetic change (its files are the diff against the base; its title, body
and head branch carry the tracker ids) and the repository files are read at the PR's head.
The sources that only exist after a deploy (workflow runs, the Lambda, routes, worklogs, the
capability probe: ``sources.registry.after_merge()``) are recorded in the snapshot as deferred, with
the reason, so the rules reading them are `not_applicable` and say so, here and when the snapshot is
re-judged offline; the scheduled audit judges them after merge.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from typing import Any

from compliance import __version__
from compliance.app.collect import public_target
from compliance.app.deferred import DEFERRED_REASON
from compliance.base.errors import ComplianceError
from compliance.base.fsutil import not_regular
from compliance.base.ids import find_task_ids
from compliance.base.timeutil import iso, utcnow
from compliance.judge.registry import reads_of, repo_files_of
from compliance.model.snapshot import build_snapshot
from compliance.sources.base import run_source
from compliance.sources.git import read_files_at
from compliance.sources.plan import collect_one
from compliance.sources.registry import (
    after_merge,
    applicable,
    before_merge,
    collection_order,
    deferred_envelope,
)

PR_LOOKBACK_DAYS = 30  # deploy-manager requests this recent may already route the PR's files


def pr_number_from_event(path: str | None = None) -> int:
    """The PR number from the Actions event payload (``GITHUB_EVENT_PATH``)."""
    path = path or os.environ.get("GITHUB_EVENT_PATH")
    if not path:
        raise ComplianceError("no --pr given and GITHUB_EVENT_PATH is not set")
    why = not_regular(path)  # a named pipe would wait forever, /dev/zero fill memory
    if why:
        raise ComplianceError(f"cannot read the event payload {path}: it {why}")
    try:
        with open(path, encoding="utf-8") as fh:
            event = json.load(fh)
    except (OSError, ValueError, RecursionError) as exc:
        raise ComplianceError(f"cannot read the event payload {path}: {exc}") from None
    pull = event.get("pull_request") if isinstance(event, dict) else None
    number = pull.get("number") if isinstance(pull, dict) else None
    if number is None and isinstance(event, dict):
        number = event.get("number")
    # bool is an int to Python: "number": true would otherwise check PR #1
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise ComplianceError(f"the event payload {path} is not a pull_request event")
    return number


def pr_change(pr: dict[str, Any], now: str, id_pattern: str | None) -> dict[str, Any]:
    """The PR as one change record in the git source's shape."""
    files = []
    for f in pr.get("files", []):
        if f.get("status") == "renamed" and f.get("previous_filename"):
            files.append({"path": f["previous_filename"], "status": "D"})
            files.append({"path": f["filename"], "status": "A"})
        else:
            files.append({"path": f["filename"], "status": (f.get("status") or "modified")[:1].upper()})
    return {
        "sha": pr["head_sha"],
        "parents": [],
        "kind": "pull_request",
        "pr": pr["number"],
        "subject": pr.get("title") or "",
        "body": pr.get("body") or "",
        "source_branch": pr.get("head_ref"),
        "author": (pr.get("user") or "") if isinstance(pr.get("user"), str) else "",
        "authored_at": now,
        "committed_at": now,
        "files": files,
        "task_ids": find_task_ids(pr.get("title"), pr.get("body"), pr.get("head_ref"), pattern=id_pattern),
    }


def pr_snapshot(config: Any, ruleset: Any, pr: dict[str, Any], *, head_ref: str | None = None) -> dict[str, Any]:
    """A snapshot for one pull request: git is the PR itself, the other sources that exist before a
    merge (the deploy-manager requests) are collected when the rules read them, and what only exists
    after a deploy is recorded as deferred with the reason, so the engine, here and offline, makes
    those rules `not_applicable` from the snapshot alone."""
    target = config.target
    clock = utcnow()
    now = iso(clock)
    since = clock - timedelta(days=PR_LOOKBACK_DAYS)
    files = repo_files_of(ruleset.rules, target)

    def git(meter):
        meter.warnings.extend(pr.get("warnings") or [])  # e.g. GitHub listed only part of the PR's files
        sha, content = read_files_at(target.get("repo", "."), head_ref or pr["head_sha"], files, meter=meter)
        return {"branch": target["branch"], "head": sha, "shallow": False,
                "commits": [pr_change(pr, now, target.get("task_id_pattern"))], "files_at_head": content}

    sources = {"git": run_source("git", f"PR #{pr['number']} files and repository files at "
                                        f"{head_ref or pr['head_sha'][:12]}", git)}
    opts = config.sources or {}
    needed = reads_of(ruleset.rules)
    for name in collection_order(n for n in before_merge() if n in needed and n not in sources):
        if (opts.get(name) or {}).get("enabled", True) and applicable(name, target):
            sources[name] = collect_one(name, opts.get(name) or {}, target, sources, ruleset.rules, since, clock, files)
    sources.update({name: deferred_envelope(name, DEFERRED_REASON, now) for name in after_merge()})
    pull_request = {"number": pr["number"], "title": pr.get("title") or "", "head_sha": pr["head_sha"],
                    "head_ref": pr.get("head_ref"), "base_ref": pr.get("base_ref") or target["branch"],
                    "html_url": pr.get("html_url"),
                    **({"files_listed": len(pr.get("files") or []), "files_changed": pr["files_changed"]}
                       if pr.get("files_changed") else {})}
    return build_snapshot(tool_version=__version__, collected_at=now,
                          window={"since": iso(since), "until": now, "branch": target["branch"]},
                          target=public_target(target), rules=ruleset.digests, sources=sources,
                          pull_request=pull_request)
