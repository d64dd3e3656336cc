"""Publishing findings to GitHub: a check run with line annotations (or a commit status when the
token may not create check runs), the Actions job summary, one PR comment and one tracking issue.

Why it is shaped this way:

- Check runs need a GitHub App token. ``GITHUB_TOKEN`` in Actions is one, but a personal token, or
  the read-only token of a pull request from a fork, answers 403 "Resource not accessible by
  integration". The PR check should still say pass/fail then, so we fall back to a commit status
  and say so in the result instead of failing the job.
- GitHub takes at most 50 annotations per request and appends the annotations of every update.
  The run is created ``in_progress`` with the first 50 and only the last update completes it, so
  nobody ever sees a finished check with half its annotations, and a crash in between leaves a
  run that still blocks rather than one that passed.
- Conclusion: failure for both ``fail`` and ``error`` verdicts. ``action_required`` would need a
  details page with a fix button we do not have, and both block a required check anyway; the
  title says "could not evaluate" for errors. When the caller's gate let findings through
  (``--soft-fail``, ``--fail-on``) the conclusion is ``neutral``: visible, not blocking. A
  ``pending`` verdict (nothing failed, something not judged yet) is ``neutral`` too, never
  ``success``: a required check accepts it, but nobody mistakes it for a proven pass. Pending
  findings get ``notice`` annotations (never ``failure``/``warning``). A commit status has no
  neutral and its own ``pending`` state would block a required check forever, so it says
  ``success`` with "PENDING" in the description.
- Comments and issues are found again by a hidden marker / label + title, so a PR has one comment
  updated in place and an audit has one tracking issue, however often the job runs.
- Every HTTP request is counted on the ``Meter`` like a source's, and every message that leaves
  this module goes through ``redact``: a token must never reach a log or a PR.

``github`` (PyGithub) is imported only when a client is built, so reporting never pays for it.

This module is the publisher's one interface (the package and its tests name it); the parts are
``check_run``, ``status`` (commit status, job summary), ``comments`` (PR comment, tracking issue) and
``github_api`` (client, request counting, errors).
"""

from __future__ import annotations

from compliance.publish.check_run import (
    ANNOTATION_LEVEL,
    VERDICT_TITLE,
    annotations,
    conclusion,
    publish_check_run,
    summary_markdown,
)
from compliance.publish.comments import (
    COMMENT_MARKER,
    TRACKING_LABEL,
    close_tracking_issue_if_open,
    upsert_pr_comment,
    upsert_tracking_issue,
)
from compliance.publish.github_api import (
    MAX_ANNOTATIONS_PER_REQUEST,
    MAX_COMMENT,
    MAX_STATUS_DESCRIPTION,
    MAX_SUMMARY,
    PublishError,
    client,
    counts_phrase,
)
from compliance.publish.status import publish_commit_status, status_state, write_step_summary

__all__ = [
    "ANNOTATION_LEVEL", "COMMENT_MARKER", "MAX_ANNOTATIONS_PER_REQUEST", "MAX_COMMENT", "MAX_STATUS_DESCRIPTION",
    "MAX_SUMMARY", "TRACKING_LABEL", "VERDICT_TITLE", "PublishError", "annotations", "client",
    "close_tracking_issue_if_open", "conclusion", "counts_phrase", "publish_check_run", "publish_commit_status",
    "status_state", "summary_markdown", "upsert_pr_comment", "upsert_tracking_issue", "write_step_summary",
]
