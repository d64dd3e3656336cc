"""Publishers: put a report where people already look (a check run on the PR, a commit status, the
Actions job summary, one PR comment, one tracking issue) rather than only in an artifact.

Reporters turn the report document into text; publishers deliver it. They are kept apart so that
rendering stays offline and deterministic, and only this package talks to GitHub.
"""

from __future__ import annotations

from compliance.publish.github import (
    PublishError,
    close_tracking_issue_if_open,
    publish_check_run,
    publish_commit_status,
    upsert_pr_comment,
    upsert_tracking_issue,
    write_step_summary,
)

__all__ = [
    "PublishError",
    "close_tracking_issue_if_open",
    "publish_check_run",
    "publish_commit_status",
    "upsert_pr_comment",
    "upsert_tracking_issue",
    "write_step_summary",
]
