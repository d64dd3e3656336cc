"""One PR comment and one tracking issue, found again by a hidden marker or by label and title.

So a PR has one comment updated in place and an audit has one open issue however often the job
runs; an open tracking issue always means "still failing".
"""

from __future__ import annotations

from typing import Any

from compliance.publish.github_api import MAX_COMMENT, _clip, _count, _error, _pages, _repo, _setup
from compliance.sources.base import Meter

COMMENT_MARKER = "<!-- compliance-report -->"
TRACKING_LABEL = "compliance-audit"
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
    """Keep one comment per PR: edit ours that starts with ``marker``, else create it.

    The marker must open the body (not merely occur in it), so quoting our comment in a reply does
    not make that reply the one we overwrite. And the comment must be ours: anyone who can comment can
    post the marker and a "Compliance: PASS" first (probe 13), and editing theirs would publish our report
    under their name, for them to edit back. Ours is a bot's (the workflow's token, a GitHub App) or,
    for a person's token, that person's (``GET /user``, asked only when a marked comment is a person's).
    """
    from github import GithubException

    gh = _setup(token, base_url, gh, client_options, repo)
    body = _clip(f"{marker}\n{markdown}", MAX_COMMENT, "\n\n… (truncated)\n")
    issue = _repo(gh, repo).get_issue(int(pr_number))
    try:
        me: list[str | None] = []  # the token's own login, once asked
        for comment in _pages(issue.get_comments(), meter):
            if (comment.body or "").startswith(marker) and _ours(comment, gh, me, meter):
                comment.edit(body)
                _count(meter)
                return {"action": "updated", "id": comment.id, "url": comment.html_url}
        created = issue.create_comment(body)
        _count(meter)
    except GithubException as exc:
        _count(meter)
        raise _error("PR comment", exc) from exc
    return {"action": "created", "id": created.id, "url": created.html_url}


def _ours(comment: Any, gh: Any, me: list[str | None], meter: Meter | None) -> bool:
    """Whether a comment was written by this token's identity: a bot's comment is (no person can post as a
    bot), a person's only when the token is that person's."""
    from github import GithubException
    from github.GithubObject import GithubObject

    # the comment as the listing gave it: a listed comment is not "completed", and ``comment.raw_data``
    # (or an attribute the payload lacks) would fetch it again, a request nobody counted
    data = GithubObject.raw_data.fget(comment)  # type: ignore[attr-defined]
    user = data.get("user") if isinstance(data, dict) else None
    if not isinstance(user, dict):
        return False
    if user.get("type") == "Bot":
        return True
    if not me:
        try:
            login = gh.get_user().login  # a person's token; an installation token is refused (403)
        except GithubException:
            login = None
        _count(meter)
        me.append(login)
    return me[0] is not None and user.get("login") == me[0]


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

    gh = _setup(token, base_url, gh, client_options, repo)
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

    gh = _setup(token, base_url, gh, client_options, repo)
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
