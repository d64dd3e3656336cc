"""The runbook source: the governed repository's runbook, as of the window's end, parsed.

The runbook is the governance the rules claim to enforce; the ``runbook_sync`` check compares the
two, so the runbook must be read as of the same commit the other file rules judge (the git
source's ``files_ref``), not today's head. Its text comes from the git source's own batched
reading (``files_at_head`` and ``file_versions``: one ``cat-file --batch`` for every version), so
this source costs no git process of its own except for the files the runbook names that no rule
collected (another workflow it names for part of its scope): those are read at the same commit
in one more batch. Each distinct version of the runbook on the collected chain is parsed once
(``versions``), for backtests and change listings that judge a change by the runbook in force.
"""

from __future__ import annotations

from typing import Any

from compliance.sources.base import Meter
from compliance.sources.git_runner import GitRunner
from compliance.sources.runbook_parse import parse_runbook


def named_paths(document: dict[str, Any] | None) -> list[str]:
    """The workflows and scripts the runbook's automation sections name (canonical first)."""
    if not document:
        return []
    out: list[str] = []
    for auto in [document.get("canonical"), *(document.get("automations") or [])]:
        for key in ("workflow", "script"):
            item = (auto or {}).get(key)
            if item and item["path"] not in out:
                out.append(item["path"])
    return out


def runbook_data(git: dict[str, Any], path: str, *, url: str | None = None, repo: str | None = None,
                 meter: Meter | None = None) -> dict[str, Any]:
    """The ``runbook`` snapshot object (``snapshot.schema.json#/$defs/runbook``) from the git source's data.

    ``repo`` (a local clone) lets the files the runbook names be read at the same commit when the
    git source did not collect them; without it they are left out and the check says so.
    """
    files = git.get("files_at_head") or {}
    runner: list[GitRunner] = []

    def read(sha: str, paths: list[str]) -> dict[str, str | None]:
        if not runner:
            runner.append(GitRunner(repo or ".", meter or Meter()))
            runner[0].probe()
        return runner[0].read_files(sha, paths)

    ref = git.get("files_ref")
    if ref is None and "files_ref" not in git:  # an older snapshot or a pull request: the files at its head
        ref = {"sha": git.get("head") or "", "committed_at": None}
    if path not in files and repo and ref and ref.get("sha"):
        files = {**files, **read(ref["sha"], [path])}
    if path not in files:
        raise LookupError(f"the runbook {path} was not collected by the git source (re-collect with these rules)")
    text = files[path]
    document = parse_runbook(text) if text is not None else None
    named = {p: files[p] for p in named_paths(document) if p in files}
    missing = [p for p in named_paths(document) if p not in files]
    if missing and repo and ref and ref.get("sha"):
        named.update(read(ref["sha"], missing))
    data: dict[str, Any] = {"path": path, "ref": ref, "present": text is not None, "document": document,
                            "named_files": named, "versions": _versions(git, path)}
    if url:
        data["url"] = url
    return data


def _versions(git: dict[str, Any], path: str) -> list[dict[str, Any]]:
    """Every version of the runbook on the collected chain (each distinct content parsed once)."""
    versions = git.get("file_versions") or {}
    blobs = versions.get("blobs") or {}
    parsed: dict[str, Any] = {}
    times = {c["sha"]: c["committed_at"] for c in git.get("commits") or []}
    out = []
    for entry in (versions.get("paths") or {}).get(path) or []:
        blob = entry.get("blob")
        if blob is not None and blob not in parsed and blob in blobs:
            parsed[blob] = parse_runbook(blobs[blob])
        doc = parsed.get(blob) if blob is not None else None
        out.append({"sha": entry["sha"], "committed_at": times.get(entry["sha"]), "present": blob is not None,
                    "scope": [e["path"] for e in ((doc or {}).get("scope") or {}).get("entries") or []],
                    "headings": [h["text"] for h in (doc or {}).get("headings") or []]})
    return out
