"""Small snapshot documents built by hand, valid against the snapshot schema, for the tests that damage one
value of them (impossible dates, bad input): shared here rather than imported from a test module."""

from __future__ import annotations

from tests import moto_env


def snapshot_doc(**sources) -> dict:
    return {"snapshot_version": 1, "tool": {"name": "compliance", "version": "test"},
            "collected_at": "2026-03-31T00:00:00Z",
            "window": {"since": "2026-02-21T00:00:00Z", "until": "2026-03-31T00:00:00Z", "branch": "main"},
            "target": {"branch": "main", "function": moto_env.FUNCTION}, "rules": {}, "sources": sources}


def git_source(*times: str) -> dict:
    """A git source of one first-parent commit per time, each touching the API Lambda's code once."""
    commits = [{"sha": f"{i + 1}" * 40, "parents": [f"{i}" * 40] if i else [], "kind": "direct_push" if i else "root",
                "pr": None, "subject": f"change {i} ENC-TSK-325", "body": "", "source_branch": None, "author": "a",
                "authored_at": t, "committed_at": t, "files": [{"path": "backend/lambda/coordination_api/x.py",
                                                                "status": "M"}], "task_ids": ["ENC-TSK-325"]}
               for i, t in enumerate(times)]
    return {"status": "ok", "provenance": {"kind": "git", "requested": "r", "started_at": "2026-03-31T00:00:00Z",
                                           "duration_ms": 1, "requests": 1},
            "data": {"branch": "main", "head": commits[-1]["sha"], "shallow": False, "commits": commits,
                     "files_at_head": {}}, "error": None}


def good_snapshot() -> dict:
    return snapshot_doc(git=git_source("2026-03-01T10:00:00Z", "2026-03-02T10:00:00Z", "2026-03-03T10:00:00Z"))
