"""Conditional, retried GETs to the GitHub REST API, and the typed errors every GitHub read raises.

Requests go through PyGithub's requester rather than its object layer because the object layer
can neither send ``If-None-Match`` nor tell us how a request ended before it raises; we need both
to answer unchanged pages from the on-disk cache (a 304 costs no rate limit) and to retry only
what is worth retrying. PyGithub's own retries and throttling are switched off so that every
request, wait and failure is counted here, exactly once. What is read (runs, pull requests) is
the source's business, in ``github``.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from compliance.base import progress
from compliance.base.errors import ComplianceError
from compliance.base.redact import redact
from compliance.base.timeutil import iso
from compliance.model.strict_json import finite_loads
from compliance.sources.base import Meter
from compliance.sources.github_app import app_configured, installation_token
from compliance.sources.httpcache import Entry, ETagCache

DEFAULT_API_URL = "https://api.github.com"
PER_PAGE = 100
API_VERSION = "2022-11-28"
_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="([^"]+)"')
class GitHubError(Exception):
    """Base of every failure of this source; the message is always redacted."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(redact(message))
        self.status = status


class GitHubAuthError(GitHubError):
    """401, or 403 that is not a rate limit: the token is missing, wrong or lacks a permission."""


class GitHubNotFound(GitHubError):
    """404; GitHub also answers 404 for private repositories the caller cannot see."""


class GitHubRateLimited(GitHubError):
    """Still rate limited when the retries or the waiting budget ran out."""


class GitHubServerError(GitHubError):
    """5xx on every attempt."""


class GitHubUnreachable(GitHubError):
    """No HTTP answer at all (DNS, connection, TLS, timeout) on every attempt."""


class GitHubRequestError(GitHubError):
    """Any other answer we cannot use (422, an unexpected body): retrying would not help."""


@dataclass(frozen=True)
class RetryPolicy:
    """How long a collection may spend waiting on GitHub before it gives up.

    ``sleep`` and ``clock`` default to ``time.sleep`` / ``time.time`` looked up at call time, so
    tests can inject or monkeypatch them and never really wait.
    """

    attempts: int = 4
    max_total_wait: float = 300.0
    first_backoff: float = 2.0  # 5xx and connection failures: 2, 4, 8 s
    secondary_wait: float = 60.0  # a secondary limit without Retry-After: GitHub asks for at least a minute
    sleep: Callable[[float], None] | None = None
    clock: Callable[[], float] | None = None


DEFAULT_RETRY = RetryPolicy()


_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def api_url(explicit: str | None = None) -> str:
    """The one GitHub API base every call uses, reading and publishing alike.

    Explicit, else ``GITHUB_API_URL`` (Actions sets it on GitHub Enterprise Server), else
    api.github.com. Publishing used to default to api.github.com on its own, so a GHE token went to
    the public API; now nothing builds a GitHub client without this. The URL is refused unless it is
    https (plain http only on loopback, for tests) with no user name or password in it: a token must
    not travel in clear text, and a password in a URL would be printed with it.
    """
    url = (explicit or os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL).strip().rstrip("/")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        userinfo = parts.username is not None or parts.password is not None
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        host, userinfo = None, False
    secure = parts.scheme == "https" or (parts.scheme == "http" and host in _LOOPBACK)
    # urlsplit silently drops tab, CR and LF (WHATWG): "https://api.github.com\n.evil.com" would print as
    # api.github.com on its own line while the token goes to api.github.com.evil.com
    hidden = any(ord(ch) <= 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in url)
    if not host or not secure or userinfo or parts.query or parts.fragment or hidden:
        shown = redact(f"{parts.scheme}://{host or '?'}{parts.path}") if host else "(unparseable)"
        raise ComplianceError(f"GitHub API URL {shown} is not usable: it must be https://HOST[/PATH] with no "
                              "user name, password, query or fragment (GITHUB_API_URL or the caller's base URL)")
    return url


def api_token(explicit: str | None = None, *, repo: str | None = None, base_url: str | None = None) -> str | None:
    """The token for every GitHub call, the one resolver: explicit, else ``GITHUB_TOKEN``, else a GitHub
    App's installation token (``GITHUB_APP_ID`` + ``GITHUB_APP_PRIVATE_KEY[_PATH]``, see
    ``github_app``; ``repo`` finds the installation when ``GITHUB_APP_INSTALLATION_ID`` is not set).
    A trailing newline (a token read from a file) is dropped; nothing at all means unauthenticated.
    A token given outright wins over an App: a workflow's own ``GITHUB_TOKEN`` is what it was granted."""
    token = (explicit if explicit is not None else os.environ.get("GITHUB_TOKEN") or "").strip()
    if token or explicit is not None or not app_configured():
        return token or None
    return installation_token(api_url(base_url), repo)


def auth_identity() -> str:
    """Who the calls are made as, without a request: the token, or the App's id (its installations
    share the App's budget per installation, which one identity per App approximates). Hash it before keeping."""
    token = (os.environ.get("GITHUB_TOKEN") or "").strip()
    if token or not app_configured():
        return token
    return "github-app:" + os.environ.get("GITHUB_APP_ID", "").strip()


class _Client:
    """Conditional, retried GETs through one PyGithub requester."""

    def __init__(self, meter: Meter, token: str | None, base_url: str | None, cache_dir: Path | None,
                 retry: RetryPolicy | None, repo: str | None = None):
        import github

        self.meter = meter
        self.retry = retry or DEFAULT_RETRY
        self.base_url = api_url(base_url)
        token = api_token(token, repo=repo, base_url=self.base_url)
        self._gh = github.Github(
            auth=github.Auth.Token(token) if token else None, base_url=self.base_url, per_page=PER_PAGE,
            retry=None, seconds_between_requests=None, seconds_between_writes=None, timeout=30,
        )
        self._requester = self._gh.requester
        self.cache = ETagCache(cache_dir) if cache_dir is not None else None

    def close(self) -> None:
        self._gh.close()

    def __enter__(self) -> _Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, url: str, params: dict[str, Any] | None = None) -> tuple[Any, str | None]:
        """One page: its JSON body and its Link header, from the cache when GitHub says 304."""
        shown = url + ("?" + urlencode(params) if params else "")
        key = f"GET {self.base_url} {_relative(url)} {urlencode(sorted((params or {}).items()))}"
        cached = self.cache.get(key) if self.cache else None
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION}
        if cached:
            headers["If-None-Match"] = cached.etag
        status, answer, text = self._send(url, params, headers, shown)
        if status == 304:
            if cached is None:
                raise GitHubRequestError(f"GET {shown} -> 304 without a conditional request", 304)
            self.meter.cached += 1
            return cached.body, cached.link
        try:
            body = finite_loads(text)
        except ValueError:
            raise GitHubRequestError(f"GET {shown} -> {status}: the answer is not JSON", status) from None
        if self.cache is not None and answer.get("etag"):
            self.cache.put(key, Entry(answer["etag"], body, answer.get("link")))
        return body, answer.get("link")

    def get_text(self, url: str) -> str:
        """A plain-text answer GitHub serves behind a 302 (a job log): the API request, then the
        download from the signed storage URL it names, each counted. The download carries no
        token (the URL is its own credential) and must be https."""
        import requests

        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION}
        status, answer, text = self._send(url, None, headers, url, redirect_ok=True)
        location = answer.get("location") if status == 302 else None
        if not location:
            return text
        if urlsplit(location).scheme != "https":
            raise GitHubRequestError(f"GET {url} -> 302 to a URL that is not https")
        self.meter.requests += 1
        try:
            got = requests.get(location, timeout=30)
        except requests.RequestException as exc:
            raise GitHubUnreachable(f"GET {url} (its redirect): {type(exc).__name__}") from None
        if got.status_code != 200:
            raise GitHubRequestError(f"GET {url} (its redirect) -> {got.status_code}", got.status_code)
        return got.text

    def pages(self, url: str, params: dict[str, Any] | None = None) -> Iterator[Any]:
        """Follow ``rel="next"`` links; a page that fails raises, so callers never see a partial list."""
        seen: set[str] = set()
        next_url: str | None = url
        fetched, total = 0, None
        while next_url:
            body, link = self.get(next_url, params)
            fetched += 1
            total = _last_page(link) or total
            progress.update(fetched, max(total or 0, fetched) if total else None, "pages")
            yield body
            next_url, params = _next_link(link), None
            if next_url in seen:
                raise GitHubRequestError(f"GET {url}: pagination loops back to {next_url}")
            if next_url:
                seen.add(next_url)

    def _send(self, url: str, params: dict[str, Any] | None, headers: dict[str, str],
              shown: str, redirect_ok: bool = False) -> tuple[int, dict[str, Any], str]:
        import requests

        policy = self.retry
        sleep = time.sleep if policy.sleep is None else policy.sleep
        waited = 0.0
        for attempt in range(1, max(policy.attempts, 1) + 1):
            self.meter.requests += 1
            try:
                # a fresh dict each time: PyGithub adds the Authorization header to the one it is given
                status, answer, text = self._requester.requestJson("GET", url, parameters=params,
                                                                   headers=dict(headers))
            except requests.RequestException as exc:
                failure: GitHubError = GitHubUnreachable(f"GET {shown}: {type(exc).__name__}: {exc}")
                wait: float | None = _backoff(policy, attempt)
            else:
                if status in (200, 304) or (redirect_ok and status == 302):
                    return status, answer, text
                wait, failure = self._judge(status, answer, text, shown, attempt)
                if wait is None:
                    raise failure
            if attempt >= policy.attempts:
                raise type(failure)(f"{failure} (gave up after {attempt} attempts)", failure.status)
            if waited + wait > policy.max_total_wait:
                raise type(failure)(f"{failure} (waiting {wait:.0f}s more would exceed the retry budget of "
                                    f"{policy.max_total_wait:.0f}s)", failure.status)
            self.meter.warnings.append(redact(f"retried {shown} after {wait:.0f}s: {failure}"))
            # the cause without the URL (the stage names the source): what the waiting person needs
            progress.note(_retry_note(failure, attempt, policy.attempts, wait))
            sleep(wait)
            waited += wait
        raise AssertionError("unreachable")  # pragma: no cover

    def _judge(self, status: int, answer: dict[str, Any], text: str, shown: str,
               attempt: int) -> tuple[float | None, GitHubError]:
        """How long to wait before retrying (None: don't), and the error to raise if we stop."""
        message = _message(text)
        said = f"GET {shown} -> {status}" + (f": {message}" if message else "")
        if status in (403, 429):
            retry_after = _number(answer.get("retry-after"))
            if retry_after is not None:
                return max(retry_after, 0.0), GitHubRateLimited(f"{said} (secondary rate limit)", status)
            if _number(answer.get("x-ratelimit-remaining")) == 0:
                reset = _number(answer.get("x-ratelimit-reset")) or 0.0
                now = (time.time if self.retry.clock is None else self.retry.clock)()
                until = iso(datetime.fromtimestamp(reset, timezone.utc)) if reset else "unknown"
                return (max(reset - now, 0.0) + 1.0,
                        GitHubRateLimited(f"{said} (primary rate limit exhausted until {until})", status))
            if status == 429 or "rate limit" in message.lower():
                return (self.retry.secondary_wait * 2 ** (attempt - 1),
                        GitHubRateLimited(f"{said} (secondary rate limit)", status))
            return None, GitHubAuthError(f"{said} (the token lacks a permission, e.g. actions: read)", status)
        if status == 401:
            return None, GitHubAuthError(f"{said} (check GITHUB_TOKEN)", status)
        if status == 404:
            return None, GitHubNotFound(f"{said} (a private repository needs a token that can read it)", status)
        if status >= 500:
            return _backoff(self.retry, attempt), GitHubServerError(said, status)
        return None, GitHubRequestError(said, status)


def _backoff(policy: RetryPolicy, attempt: int) -> float:
    return policy.first_backoff * 2 ** (attempt - 1)


def _relative(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "") if parts.scheme else url


def _next_link(link: str | None) -> str | None:
    for target, rel in _LINK.findall(link or ""):
        if "next" in rel.split():
            return target
    return None


def _retry_note(failure: GitHubError, attempt: int, attempts: int, wait: float) -> str:
    """``retry 1/3 in 60 s: GitHubRateLimited 403 (secondary rate limit)``: the cause, not the URL."""
    why = re.search(r"\(([^()]*)\)$", str(failure))
    return redact(f"retry {attempt}/{attempts - 1} in {wait:.0f} s: {type(failure).__name__}"
                  + (f" {failure.status}" if failure.status else "") + (f" ({why.group(1)})" if why else ""))


def _last_page(link: str | None) -> int | None:
    """The page count GitHub announces in ``rel="last"`` (absent on the last page itself)."""
    for target, rel in _LINK.findall(link or ""):
        if "last" in rel.split():
            match = re.search(r"[?&]page=(\d+)", target)
            return int(match.group(1)) if match else None
    return None


def _message(text: str) -> str:
    try:
        doc = json.loads(text)
    except ValueError:
        return ""
    return str(doc.get("message") or "") if isinstance(doc, dict) else ""


def _number(value: Any) -> float | None:
    """A header's number; None for what is no finite number of a plausible size (``nan``, ``inf``, ``1e300``:
    a wait or a reset time that ``sleep`` and ``fromtimestamp`` cannot take)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and abs(number) < 1e11 else None
