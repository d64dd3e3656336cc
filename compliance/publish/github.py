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
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from compliance.base.console import CONTROL_RE as _CONTROL
from compliance.base.errors import ComplianceError
from compliance.base.redact import redact
from compliance.model.findings import VERDICTS, verdict_text
from compliance.model.findings import counts_phrase as findings_counts_phrase
from compliance.sources.base import Meter

MAX_ANNOTATIONS_PER_REQUEST = 50
MAX_SUMMARY = 65_535  # check run output.summary
MAX_COMMENT = 65_536  # issue / PR comment and issue body
MAX_STATUS_DESCRIPTION = 140
PER_PAGE = 100
COMMENT_MARKER = "<!-- compliance-report -->"
TRACKING_LABEL = "compliance-audit"

ANNOTATION_LEVEL = {"critical": "failure", "high": "failure", "medium": "warning", "low": "notice", "info": "notice"}
VERDICT_TITLE = {v: f"Compliance: {verdict_text(v)}" for v in VERDICTS}


class PublishError(ComplianceError):
    """GitHub refused or failed a publishing request; the message is redacted."""


# --------------------------------------------------------------------------- pure helpers


def _clip(text: str, limit: int, note: str = "…") -> str:
    return text if len(text) <= limit else text[: limit - len(note)] + note


def _plain(value: Any, limit: int) -> str:
    return _clip(_CONTROL.sub("", redact("" if value is None else str(value))), limit)


def counts_phrase(summary: dict[str, Any]) -> str:
    """The counts as the check-run title and the commit status say them (little room: ``n/a``)."""
    return findings_counts_phrase(summary, sep=", ", short_na=True)


def conclusion(doc: dict[str, Any], exit_code: int | None = None) -> str:
    """Check-run conclusion: from the caller's gate result when given, else from the verdict."""
    verdict = doc.get("summary", {}).get("verdict")
    if exit_code is None:
        return {"pass": "success", "pending": "neutral"}.get(verdict, "failure")
    if exit_code == 0:
        return "success" if verdict == "pass" else "neutral"
    return "failure"


def status_state(doc: dict[str, Any], exit_code: int | None = None) -> str:
    """Commit status has no ``neutral``: a gate that let findings through reads as success."""
    verdict = doc.get("summary", {}).get("verdict")
    if exit_code == 0 or (exit_code is None and verdict in ("pass", "pending")):
        return "success"
    return "error" if verdict == "error" else "failure"


def annotations(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """One annotation per failed, unevaluable or pending finding that points at a file line.

    A pending one is a ``notice`` whatever the rule's severity: it is not a failure (yet)."""
    out = []
    for f in doc.get("findings", []):
        loc = f.get("location") or {}
        path = loc.get("path")
        status = f.get("status")
        if status not in ("fail", "error", "pending") or not isinstance(path, str) or not path:
            continue
        line = loc.get("line") if isinstance(loc.get("line"), int) and loc["line"] >= 1 else 1
        level = {"error": "failure", "pending": "notice"}.get(status) or ANNOTATION_LEVEL.get(f.get("severity"),
                                                                                              "warning")
        prefix = {"error": "could not evaluate: ", "pending": "pending (not judged yet): "}.get(status, "")
        item: dict[str, Any] = {
            "path": path.removeprefix("./"),
            "start_line": line,
            "end_line": line,
            "annotation_level": level,
            "message": _plain(f"{prefix}{f.get('subject_type', '')} {f.get('subject', '')}: {f.get('message', '')}",
                              4000),
            "title": _plain(f.get("rule_id"), 255),
        }
        command = (f.get("remediation") or {}).get("command")
        if command:
            item["raw_details"] = _plain(command, 8000)
        out.append(item)
    out.sort(key=lambda a: (a["path"], a["start_line"], a["title"], a["message"]))
    return out


def summary_markdown(doc: dict[str, Any], markdown: str | None = None) -> str:
    if markdown is None:
        from compliance.report import render_all  # masks secrets, as for every written report

        markdown = render_all(doc, ["md"])["md"]
    note = "\n\n… (truncated: GitHub limits a check-run summary to 65,535 characters; see the full report)\n"
    return _clip(markdown, MAX_SUMMARY, note)


def _batches(items: list[dict[str, Any]], size: int = MAX_ANNOTATIONS_PER_REQUEST) -> list[list[dict[str, Any]]]:
    return [items[i:i + size] for i in range(0, len(items), size)] or [[]]


# --------------------------------------------------------------------------- client


def client(token: str | None = None, base_url: str | None = None, **options: Any) -> Any:
    """A lazy PyGithub client: objects are addressed by URL and never fetched just to be used,
    so every request this module makes is one we chose (and counted).

    Base URL and token come from the same resolvers the GitHub source reads with
    (``GITHUB_API_URL``, ``GITHUB_TOKEN``), so publishing goes to the server the audit read from.
    """
    import github

    from compliance.sources.github import api_token, api_url

    token = api_token(token)
    auth = github.Auth.Token(token) if token else None
    return github.Github(auth=auth, base_url=api_url(base_url), lazy=True, per_page=PER_PAGE, **options)


def _repo(gh: Any, repo: str) -> Any:
    if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", repo or ""):
        raise PublishError(f"not an owner/name repository: {repo!r}")
    return gh.get_repo(repo)


def _count(meter: Meter | None, n: int = 1) -> None:
    if meter is not None:
        meter.requests += n


def _error(what: str, exc: Exception) -> PublishError:
    status = getattr(exc, "status", None)
    data = getattr(exc, "data", None)
    detail = data.get("message") if isinstance(data, dict) else None
    return PublishError(redact(f"GitHub {what} failed" + (f" (HTTP {status})" if status else "")
                               + (f": {detail}" if detail else f": {type(exc).__name__}")))


def _pages(paginated: Any, meter: Meter | None) -> Iterator[Any]:
    """Walk a PyGithub list one explicit page (one request) at a time, so the meter stays exact."""
    page = 0
    while True:
        items = paginated.get_page(page)
        _count(meter)
        yield from items
        if len(items) < PER_PAGE:
            return
        page += 1


def _setup(token: str | None, base_url: str | None, gh: Any, options: dict[str, Any]) -> Any:
    return gh if gh is not None else client(token, base_url, **options)


# --------------------------------------------------------------------------- check run / status


def publish_check_run(
    repo: str,
    head_sha: str,
    doc: dict[str, Any],
    *,
    name: str = "compliance",
    token: str | None = None,
    base_url: str | None = None,
    meter: Meter | None = None,
    exit_code: int | None = None,
    details_url: str | None = None,
    markdown: str | None = None,
    gh: Any = None,
    **client_options: Any,
) -> dict[str, Any]:
    """Create a check run with annotations; fall back to a commit status when check runs are refused.

    ``exit_code`` is the caller's gate result (``gating.gate``), so ``--soft-fail`` and ``--fail-on``
    shape the conclusion; without it the verdict decides. Returns what was published.
    """
    from github import GithubException, RateLimitExceededException

    gh = _setup(token, base_url, gh, client_options)
    repository = _repo(gh, repo)
    summary = doc.get("summary", {})
    title = f"{VERDICT_TITLE.get(summary.get('verdict'), 'Compliance')}: {counts_phrase(summary)}"
    text = summary_markdown(doc, markdown)
    notes = annotations(doc)
    batches = _batches(notes)
    final = conclusion(doc, exit_code)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    extra = {"details_url": details_url} if details_url else {}
    single = len(batches) == 1
    try:
        run = repository.create_check_run(
            name=name,
            head_sha=head_sha,
            status="completed" if single else "in_progress",
            **({"conclusion": final, "completed_at": now} if single else {}),
            output={"title": title, "summary": text, "annotations": batches[0]},
            **extra,
        )
        _count(meter)
    except RateLimitExceededException as exc:
        _count(meter)
        raise _error("check run", exc) from exc
    except GithubException as exc:
        _count(meter)
        if exc.status != 403:
            raise _error("check run", exc) from exc
        reason = _error("check run", exc).args[0]
        if meter is not None:
            meter.warnings.append(f"{reason}; published a commit status instead")
        result = publish_commit_status(repo, head_sha, doc, exit_code=exit_code, target_url=details_url,
                                       context=name, meter=meter, gh=gh)
        return {**result, "fallback_from": "check_run", "reason": reason}
    requests = 1
    try:
        for i, batch in enumerate(batches[1:], start=2):
            last = i == len(batches)
            run.edit(
                output={"title": title, "summary": text, "annotations": batch},
                **({"status": "completed", "conclusion": final, "completed_at": now} if last else {}),
            )
            _count(meter)
            requests += 1
    except GithubException as exc:
        _count(meter)
        raise _error("check run update", exc) from exc
    return {
        "kind": "check_run",
        "id": run.id,
        "url": run.html_url,
        "conclusion": final,
        "annotations": len(notes),
        "requests": requests,
    }


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

    gh = _setup(token, base_url, gh, client_options)
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


# --------------------------------------------------------------------------- PR comment


def upsert_pr_comment(
    repo: str,
    pr_number: int,
    markdown: str,
    *,
    marker: str = COMMENT_MARKER,
    token: str | None = None,
    base_url: str | None = None,
    meter: Meter | None = None,
    gh: Any = None,
    **client_options: Any,
) -> dict[str, Any]:
    """Keep one comment per PR: edit the one that starts with ``marker``, else create it.

    The marker must open the body (not merely occur in it), so quoting our comment in a reply does
    not make that reply the one we overwrite.
    """
    from github import GithubException

    gh = _setup(token, base_url, gh, client_options)
    body = _clip(f"{marker}\n{markdown}", MAX_COMMENT, "\n\n… (truncated)\n")
    issue = _repo(gh, repo).get_issue(int(pr_number))
    try:
        for comment in _pages(issue.get_comments(), meter):
            if (comment.body or "").startswith(marker):
                comment.edit(body)
                _count(meter)
                return {"action": "updated", "id": comment.id, "url": comment.html_url}
        created = issue.create_comment(body)
        _count(meter)
    except GithubException as exc:
        _count(meter)
        raise _error("PR comment", exc) from exc
    return {"action": "created", "id": created.id, "url": created.html_url}


# --------------------------------------------------------------------------- tracking issue


def _find_tracking_issue(repository: Any, title: str, label: str, meter: Meter | None) -> Any:
    for issue in _pages(repository.get_issues(state="open", labels=[label]), meter):
        # The issues list includes pull requests. Reading ``pull_request`` on a plain issue would
        # make PyGithub fetch the issue again (the key is absent), so tell them apart by URL.
        if issue.title == title and "/pull/" not in (issue.html_url or ""):
            return issue
    return None


def upsert_tracking_issue(
    repo: str,
    title: str,
    body: str,
    *,
    label: str = TRACKING_LABEL,
    comment: str | None = None,
    token: str | None = None,
    base_url: str | None = None,
    meter: Meter | None = None,
    gh: Any = None,
    **client_options: Any,
) -> dict[str, Any]:
    """One open issue per audit (label + exact title): open it on the first failing run; later
    failing runs refresh its body and add a comment, so watchers get notified without a new issue."""
    from github import GithubException

    gh = _setup(token, base_url, gh, client_options)
    repository = _repo(gh, repo)
    body = _clip(body, MAX_COMMENT, "\n\n… (truncated)\n")
    try:
        issue = _find_tracking_issue(repository, title, label, meter)
        if issue is None:
            created = repository.create_issue(title=title, body=body, labels=[label])
            _count(meter)
            return {"action": "opened", "number": created.number, "url": created.html_url}
        issue.edit(body=body)
        _count(meter)
        note = comment or "The scheduled compliance audit failed again; the description now shows the latest run."
        issue.create_comment(_clip(note, MAX_COMMENT))
        _count(meter)
    except GithubException as exc:
        _count(meter)
        raise _error("tracking issue", exc) from exc
    return {"action": "updated", "number": issue.number, "url": issue.html_url}


def close_tracking_issue_if_open(
    repo: str,
    title: str,
    *,
    label: str = TRACKING_LABEL,
    comment: str = "The compliance audit passes again; closing.",
    token: str | None = None,
    base_url: str | None = None,
    meter: Meter | None = None,
    gh: Any = None,
    **client_options: Any,
) -> dict[str, Any]:
    """Close the tracking issue when an audit passes, so an open issue always means "still failing"."""
    from github import GithubException

    gh = _setup(token, base_url, gh, client_options)
    repository = _repo(gh, repo)
    try:
        issue = _find_tracking_issue(repository, title, label, meter)
        if issue is None:
            return {"action": "none"}
        issue.create_comment(_clip(comment, MAX_COMMENT))
        _count(meter)
        issue.edit(state="closed", state_reason="completed")
        _count(meter)
    except GithubException as exc:
        _count(meter)
        raise _error("tracking issue", exc) from exc
    return {"action": "closed", "number": issue.number, "url": issue.html_url}
