"""Several targets in one config: which ones a run covers, and collecting them side by side.

Collection is almost all waiting on git, GitHub and AWS, so targets are collected in threads,
each through the unchanged single-target ``collect``. The pool is bounded (``--jobs``) because
every target opens its own AWS and GitHub sessions; GitHub's per-token budget is guarded
separately by ``collect.github_slot``. Judging and reporting stay sequential and in name order,
so the console output and the merged report do not depend on which target finished first.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from compliance.base.errors import ComplianceError
from compliance.inputs.config import Config
from compliance.inputs.rules import RuleSet

DEFAULT_MAX_JOBS = 4


def select_targets(config: Config, wanted: list[str] | None) -> list[str]:
    """Target names to run, in config order; an unknown ``--target`` is an input error, not a no-op."""
    names = config.target_names
    if not wanted:
        return names
    unknown = [w for w in dict.fromkeys(wanted) if w not in names]
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, names, n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ComplianceError(f"--target: no such target {', '.join(hints)} in {config.path}; "
                              f"targets: {', '.join(names)}")
    chosen = set(wanted)
    return [n for n in names if n in chosen]


def default_jobs(count: int) -> int:
    return max(1, min(DEFAULT_MAX_JOBS, count))


def collect_targets(config: Config, ruleset: RuleSet, names: list[str], since: datetime, until: datetime, *,
                    jobs: int, collect: Callable[..., dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each target's snapshot, by name; at most ``jobs`` targets are collected at once.

    A source failure is already data inside a snapshot; what escapes ``collect`` is an input
    problem (a repository path that does not exist), reported after the other targets finished.
    """
    if jobs < 1:
        raise ComplianceError("--jobs must be at least 1")
    with ThreadPoolExecutor(max_workers=min(jobs, len(names)) or 1, thread_name_prefix="target") as pool:
        futures = {name: pool.submit(collect, config.for_target(name), ruleset, since, until) for name in names}
    snapshots: dict[str, dict[str, Any]] = {}
    for name, future in futures.items():
        exc = future.exception()
        if isinstance(exc, ComplianceError) and type(exc) is ComplianceError:
            raise ComplianceError(f"target {name}: {exc}") from exc
        if exc is not None:
            raise exc
        snapshots[name] = future.result()
    return snapshots
