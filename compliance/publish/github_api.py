"""The GitHub client every publisher uses, how its requests are counted, and how its errors read.

One place builds the (lazy) PyGithub client, counts each request on the ``Meter`` and turns a refusal
into a redacted ``PublishError``, so the check run, the status and the comments cannot drift apart on
any of the three. ``github`` (PyGithub) is imported only when a client is built.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from compliance.base.console import CONTROL_RE as _CONTROL
from compliance.base.errors import ComplianceError
from compliance.base.redact import redact
from compliance.model.findings import counts_phrase as findings_counts_phrase
from compliance.sources.base import Meter
from compliance.sources.github import api_token, api_url

MAX_ANNOTATIONS_PER_REQUEST = 50
MAX_SUMMARY = 65_535  # check run output.summary
MAX_COMMENT = 65_536  # issue / PR comment and issue body
MAX_STATUS_DESCRIPTION = 140
PER_PAGE = 100


class PublishError(ComplianceError):
    """GitHub refused or failed a publishing request; the message is redacted."""


# --------------------------------------------------------------------------- pure helpers


def _clip(text: str, limit: int, note: str = "…") -> str:
    """``text`` in at most ``limit`` UTF-8 bytes (and so characters), cut at a character, ``note`` after the cut.

    GitHub measures a check run's summary in bytes ("exceeds a maximum bytesize of 65535"): cut by
    characters, a report full of ✗ and → was refused with 422 and no check run was published at all."""
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= limit:
        return text
    room = limit - len(note.encode("utf-8"))
    return data[:max(room, 0)].decode("utf-8", "ignore") + note


def _plain(value: Any, limit: int) -> str:
    return _clip(_CONTROL.sub("", redact("" if value is None else str(value))), limit)


def counts_phrase(summary: dict[str, Any]) -> str:
    """The counts as the check-run title and the commit status say them (little room: ``n/a``)."""
    return findings_counts_phrase(summary, sep=", ", short_na=True)


# --------------------------------------------------------------------------- client


def client(token: str | None = None, base_url: str | None = None, *, repo: str | None = None,
           **options: Any) -> Any:
    """A lazy PyGithub client: objects are addressed by URL and never fetched just to be used,
    so every request this module makes is one we chose (and counted).

    Base URL and token come from the same resolvers the GitHub source reads with
    (``GITHUB_API_URL``, ``GITHUB_TOKEN``), so publishing goes to the server the audit read from.
    """
    import github

    token = api_token(token, repo=repo, base_url=base_url)  # repo: a GitHub App's installation
    auth = github.Auth.Token(token) if token else None
    options.setdefault("retry", publish_retry())
    return github.Github(auth=auth, base_url=api_url(base_url), lazy=True, per_page=PER_PAGE, **options)


def publish_retry() -> Any:
    """The publishers' retry: bounded, and only where sending again is harmless.

    PyGithub's default retries ten times, POSTs included, and obeys any Retry-After: a 502 on creating the
    check run sent it again (GitHub may have created the first, so two runs), and ``Retry-After: 3600`` held
    the job for ten hours (probe 13). Here a 5xx or a dropped read on a GET, PATCH, PUT or DELETE is tried
    twice more with a short backoff, a connection that never opened twice more, a POST never (a comment or
    check run may exist already), and a rate limit is not waited out: the request fails with GitHub's
    message at once, and the publisher falls back (a check run to a status) or warns. Every try is counted
    by the server, not by our meter: ``requests`` counts the calls we made."""
    from urllib3.util.retry import Retry

    return Retry(total=2, connect=2, read=2, status=2, other=0,
                 allowed_methods=frozenset({"GET", "HEAD", "PATCH", "PUT", "DELETE"}),
                 status_forcelist=(500, 502, 503, 504), backoff_factor=0.5, respect_retry_after_header=False,
                 raise_on_status=False)


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


def _setup(token: str | None, base_url: str | None, gh: Any, options: dict[str, Any], repo: str | None = None) -> Any:
    return gh if gh is not None else client(token, base_url, repo=repo, **options)
