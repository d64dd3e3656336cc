"""``compliance changes``: the in-scope changes of a repository, as the engine would judge them.

It reads the same git history and takes the same window of the first-parent chain as an audit,
so what it lists is exactly the set of changes an audit of that window judges.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from compliance.inputs.rules import load_rules
from compliance.judge.engine import History
from compliance.model.rules import Scope
from compliance.sources.base import Meter
from compliance.sources.git import collect_git


def scopes_for(policy: str | None, paths: list[str], excludes: list[str]) -> list[Scope]:
    """A rule file's scopes (their union), or one scope of the given globs, or everything."""
    if policy:
        return [r.scope for r in load_rules([policy]).rules if not r.scope.is_empty]
    return [Scope(tuple(paths), tuple(excludes))] if paths else [Scope()]


def in_scope_changes(repo: str, branch: str, since: datetime, until: datetime, scopes: list[Scope], *,
                     id_pattern: str | None = None) -> tuple[list[str], Iterator[dict[str, Any]]]:
    """The git source's warnings, and one row per in-scope change (sha, kind, pr, time, files hit, tasks)."""
    meter = Meter()
    data = collect_git(repo, branch, since, id_pattern=id_pattern, meter=meter)
    return list(meter.warnings), _rows(History(data), since, until, scopes)


def _rows(hist: History, since: datetime, until: datetime, scopes: list[Scope]) -> Iterator[dict[str, Any]]:
    for i in hist.window(since, until):  # the chain between the window's boundary commits
        commit = hist.commits[i]
        files = [f["path"] for f in commit["files"]]
        hit = sorted({p for s in scopes for p in (files if s.is_empty else s.select(files))})
        if hit:
            yield {"sha": commit["sha"], "kind": commit["kind"], "pr": commit["pr"],
                   "committed_at": commit["committed_at"], "files": hit, "task_ids": commit["task_ids"]}


__all__ = ["in_scope_changes", "scopes_for"]
