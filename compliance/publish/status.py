"""The commit status (for tokens that may not create check runs) and the Actions job summary.

A commit status has no ``neutral`` and its ``pending`` would block a required check forever, so its
state is decided here apart from the check run's conclusion.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from compliance.publish.github_api import (
    MAX_STATUS_DESCRIPTION,
    _count,
    _error,
    _plain,
    _repo,
    _setup,
    counts_phrase,
)
from compliance.sources.base import Meter


def status_state(doc: dict[str, Any], exit_code: int | None = None) -> str:
    """Commit status has no ``neutral``: a gate that let findings through reads as success."""
    verdict = doc.get("summary", {}).get("verdict")
    if exit_code == 0 or (exit_code is None and verdict in ("pass", "pending")):
        return "success"
    return "error" if verdict == "error" else "failure"


def publish_commit_status(
    repo: str,
    sha: str,
    doc: dict[str, Any],
    *,
    context: str = "compliance",
    target_url: str | None = None,
    exit_code: int | None = None,
    token: str | None = None,
    base_url: str | None = None,
    meter: Meter | None = None,
    gh: Any = None,
    **client_options: Any,
) -> dict[str, Any]:
    """``POST /repos/{owner}/{repo}/statuses/{sha}``: works with any token that has ``statuses: write``."""
    from github import GithubException

    gh = _setup(token, base_url, gh, client_options, repo)
    summary = doc.get("summary", {})
    state = status_state(doc, exit_code)
    verdict = str(summary.get("verdict", "?")).upper()
    description = _plain(f"{verdict}: {counts_phrase(summary)}", MAX_STATUS_DESCRIPTION)
    extra = {"target_url": target_url} if target_url else {}
    try:
        _repo(gh, repo).get_commit(sha).create_status(state=state, description=description, context=context,
                                                      **extra)
        _count(meter)
    except GithubException as exc:
        _count(meter)
        raise _error("commit status", exc) from exc
    return {"kind": "commit_status", "state": state, "context": context, "description": description,
            "requests": 1}


# --------------------------------------------------------------------------- job summary


def write_step_summary(doc_markdown: str, path: str | os.PathLike[str] | None = None) -> Path | None:
    """Append to ``$GITHUB_STEP_SUMMARY`` (Actions renders it on the run page); no-op outside Actions.

    Appends, because earlier steps of the same job may have written their own part.
    """
    target = path or os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    out = Path(target)
    with out.open("a", encoding="utf-8") as fh:
        fh.write(doc_markdown if doc_markdown.endswith("\n") else doc_markdown + "\n")
    return out
