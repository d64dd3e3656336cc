"""The live GitHub source: runs of the canonical workflow, and pull requests for the PR check.

Requests go through PyGithub's requester rather than its object layer because the object layer
can neither send ``If-None-Match`` nor tell us how a request ended before it raises; we need both
to answer unchanged pages from the on-disk cache (a 304 costs no rate limit) and to retry only
what is worth retrying. PyGithub's own retries and throttling are switched off so that every
request, wait and failure is counted here, exactly once.

The cost grows with pages of runs, never with runs or commits: one listing per date slice, and job
details only for the few runs whose time span contains a moment someone asked about (the Lambda's
LastModified). Any failure raises a typed ``GitHubError``; a source that could not be read must
become an ``error`` finding, never an empty list of runs that would read as "nothing deployed".
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from compliance.base.redact import redact
from compliance.base.timeutil import iso, parse_time
from compliance.sources.base import Meter
from compliance.sources.httpcache import Entry, ETagCache

DEFAULT_API_URL = "https://api.github.com"
PER_PAGE = 100
LISTING_CAP = 1000  # filtered run listings stop here, whatever total_count says
PR_FILES_CAP = 3000  # the pull request files endpoint lists no more than this
API_VERSION = "2022-11-28"

RUN_FIELDS = ("id", "name", "head_sha", "head_branch", "path", "event", "status", "conclusion", "run_number",
              "run_attempt", "html_url", "created_at", "updated_at", "run_started_at")
STEP_FIELDS = ("name", "status", "conclusion", "started_at", "completed_at")
_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
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
    from compliance.base.errors import ComplianceError

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


def api_token(explicit: str | None = None) -> str | None:
    """The token for every GitHub call: explicit, else ``GITHUB_TOKEN``; a trailing newline (a token
    read from a file) is dropped, an empty one means unauthenticated."""
    token = explicit if explicit is not None else os.environ.get("GITHUB_TOKEN")
    return (token or "").strip() or None


class _Client:
    """Conditional, retried GETs through one PyGithub requester."""

    def __init__(self, meter: Meter, token: str | None, base_url: str | None, cache_dir: Path | None,
                 retry: RetryPolicy | None):
        import github

        self.meter = meter
        self.retry = retry or DEFAULT_RETRY
        self.base_url = api_url(base_url)
        token = api_token(token)
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
            body = json.loads(text)
        except ValueError:
            raise GitHubRequestError(f"GET {shown} -> {status}: the answer is not JSON", status) from None
        if self.cache is not None and answer.get("etag"):
            self.cache.put(key, Entry(answer["etag"], body, answer.get("link")))
        return body, answer.get("link")

    def pages(self, url: str, params: dict[str, Any] | None = None) -> Iterator[Any]:
        """Follow ``rel="next"`` links; a page that fails raises, so callers never see a partial list."""
        seen: set[str] = set()
        next_url: str | None = url
        while next_url:
            body, link = self.get(next_url, params)
            yield body
            next_url, params = _next_link(link), None
            if next_url in seen:
                raise GitHubRequestError(f"GET {url}: pagination loops back to {next_url}")
            if next_url:
                seen.add(next_url)

    def _send(self, url: str, params: dict[str, Any] | None, headers: dict[str, str],
              shown: str) -> tuple[int, dict[str, Any], str]:
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
                if status in (200, 304):
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


def _message(text: str) -> str:
    try:
        doc = json.loads(text)
    except ValueError:
        return ""
    return str(doc.get("message") or "") if isinstance(doc, dict) else ""


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _check_repo(repo: str) -> str:
    if not _REPO.fullmatch(repo or ""):
        raise ValueError(f"GitHub repository must be OWNER/NAME, got {repo!r}")
    return repo


def _run(raw: dict[str, Any]) -> dict[str, Any]:
    run = {k: raw.get(k) for k in RUN_FIELDS}
    if raw.get("display_title") is not None:
        run["display_title"] = raw["display_title"]
    message = (raw.get("head_commit") or {}).get("message")
    if message is not None:
        run["head_commit"] = {"message": message}
    return run


def _job(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": raw.get("name") or "",
        "status": raw.get("status"),
        "conclusion": raw.get("conclusion"),
        "started_at": raw.get("started_at"),
        "completed_at": raw.get("completed_at"),
        "steps": [{k: s.get(k) for k in STEP_FIELDS} for s in raw.get("steps") or []],
    }


def _list(body: Any, key: str | None, shown: str) -> list[dict[str, Any]]:
    """The items of a page; a page of another shape means we would silently read nothing."""
    items = body if key is None else body.get(key) if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise GitHubRequestError(f"GET {shown}: the answer has no {key or 'list'}")
    return [item for item in items if isinstance(item, dict)]


class _RunLister:
    """Lists one workflow's runs in date slices small enough for GitHub's 1,000-result cap."""

    def __init__(self, client: _Client, path: str, branch: str, max_pages: int | None):
        self.client = client
        self.path = path
        self.branch = branch
        self.max_pages = max_pages
        self.pages_used = 0
        self.truncated = False
        self.runs: dict[int, dict[str, Any]] = {}

    def _budget_left(self) -> bool:
        if self.max_pages is not None and self.pages_used >= self.max_pages:
            self.truncated = True
            return False
        return True

    def slice(self, start: date, end: date) -> None:
        if not self._budget_left():
            return
        # pull_requests can be long on a busy branch and nothing here reads it
        params = {"branch": self.branch, "created": f"{start.isoformat()}..{end.isoformat()}",
                  "exclude_pull_requests": "true", "per_page": PER_PAGE}
        pages = self.client.pages(self.path, params)
        try:
            first = next(pages)
            self.pages_used += 1
            total = first.get("total_count") if isinstance(first, dict) else None
            if isinstance(total, int) and total > LISTING_CAP:
                if start < end:
                    middle = start + timedelta(days=(end - start).days // 2)
                    self.slice(start, middle)
                    self.slice(middle + timedelta(days=1), end)
                    return
                self.client.meter.warnings.append(
                    f"{total} runs were created on {start.isoformat()}; GitHub lists only {LISTING_CAP} of them")
            self._take(first, params)
            while self._budget_left():
                try:
                    body = next(pages)
                except StopIteration:
                    break
                self.pages_used += 1
                self._take(body, params)
        finally:
            pages.close()

    def _take(self, body: Any, params: dict[str, Any]) -> None:
        for raw in _list(body, "workflow_runs", f"{self.path}?{urlencode(params)}"):
            if isinstance(raw.get("id"), int):
                self.runs[raw["id"]] = _run(raw)


def _wanted(run: dict[str, Any], moments: list[datetime]) -> bool:
    start = parse_time(run.get("run_started_at") or run.get("created_at"))
    end = parse_time(run.get("updated_at"))
    return bool(start and end and any(start <= t <= end for t in moments))


def collect_github(repo: str, workflow: str, branch: str, since: datetime, until: datetime, *,
                   meter: Meter, token: str | None = None, base_url: str | None = None,
                   cache_dir: Path | None = None, jobs_near: Iterable[datetime] = (),
                   max_pages: int | None = None, retry: RetryPolicy | None = None) -> dict[str, Any]:
    """Runs of ``workflow`` (its file name) on ``branch`` created between the two dates, inclusive.

    GitHub filters ``created`` by whole days (UTC), so runs from the rest of the boundary days are
    kept too: a run just after ``until`` may be the one that deploys a change made inside it.
    ``max_pages`` bounds the cost of one collection; reaching it is recorded as a warning.
    """
    _check_repo(repo)
    file = workflow.rsplit("/", 1)[-1]
    if not file:
        raise ValueError("workflow file name is empty")
    start, end = parse_time(since).date(), parse_time(until).date()  # naive means UTC, as everywhere here
    if end < start:
        raise ValueError(f"window ends ({iso(until)}) before it starts ({iso(since)})")
    moments = [t for t in (parse_time(m) for m in jobs_near) if t]
    with _Client(meter, token, base_url, cache_dir, retry) as client:
        lister = _RunLister(client, f"/repos/{repo}/actions/workflows/{quote(file, safe='')}/runs", branch,
                            max_pages)
        lister.slice(start, end)
        if lister.truncated:
            meter.warnings.append(f"stopped after max_pages={max_pages} page(s) of runs: older runs may be missing")
        runs = sorted(lister.runs.values(), key=lambda r: (r.get("created_at") or "", r["id"]))
        for run in runs:
            if moments and _wanted(run, moments):
                jobs: list[dict[str, Any]] = []
                path = f"/repos/{repo}/actions/runs/{run['id']}/jobs"
                for body in client.pages(path, {"filter": "latest", "per_page": PER_PAGE}):
                    jobs.extend(_job(j) for j in _list(body, "jobs", path))
                run["jobs"] = jobs
    return {"repository": repo, "workflow": f".github/workflows/{file}", "runs": runs}


def fetch_pull_request(repo: str, number: int, *, meter: Meter, token: str | None = None,
                       base_url: str | None = None, cache_dir: Path | None = None,
                       retry: RetryPolicy | None = None) -> dict[str, Any]:
    """A pull request and the files it changes, for the PR status check."""
    _check_repo(repo)
    if not isinstance(number, int) or isinstance(number, bool) or number <= 0:
        raise ValueError(f"pull request number must be a positive integer, got {number!r}")
    with _Client(meter, token, base_url, cache_dir, retry) as client:
        path = f"/repos/{repo}/pulls/{number}"
        pr, _ = client.get(path)
        head, base = _pr_refs(pr, path)
        files: list[dict[str, Any]] = []
        for body in client.pages(f"{path}/files", {"per_page": PER_PAGE}):
            for raw in _list(body, None, f"{path}/files"):
                name = raw.get("filename")
                if not isinstance(name, str) or not name:
                    raise GitHubRequestError(f"GET {path}/files: an entry has no filename")
                entry = {k: raw.get(k) for k in ("filename", "status", "additions", "deletions")}
                if raw.get("patch") is not None:
                    entry["patch"] = raw["patch"]
                files.append(entry)
    changed = pr.get("changed_files")
    out = {
        "number": number,
        "title": pr.get("title") if isinstance(pr.get("title"), str) else "",
        "body": pr.get("body") if isinstance(pr.get("body"), str) else "",
        "head_sha": head["sha"],
        "head_ref": head.get("ref") if isinstance(head.get("ref"), str) else None,
        "base_ref": base.get("ref") if isinstance(base.get("ref"), str) else None,
        "html_url": pr.get("html_url") if isinstance(pr.get("html_url"), str) else None,
        "user": (pr.get("user") or {}).get("login") if isinstance(pr.get("user"), dict) else None,
        "files": files,
        "warnings": [],
    }
    if isinstance(changed, int) and not isinstance(changed, bool) and changed > len(files):
        out["files_changed"] = changed
        out["warnings"].append(f"pull request #{number} changes {changed} files; GitHub lists only "
                               f"{len(files)} (at most {PR_FILES_CAP}): rules about its files judged a partial list")
        meter.warnings.extend(out["warnings"])
    return out


def _pr_refs(pr: Any, path: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The head and base of a pull request payload, refused unless the head names a full commit SHA:
    every PR verdict is about that commit, so a payload without one cannot be judged."""
    if not isinstance(pr, dict):
        raise GitHubRequestError(f"GET {path}: the answer is not a pull request")
    head, base = pr.get("head"), pr.get("base")
    sha = head.get("sha") if isinstance(head, dict) else None
    if not isinstance(sha, str) or not re.fullmatch(r"[0-9a-f]{40}", sha):
        raise GitHubRequestError(f"GET {path}: the pull request has no head commit SHA")
    if pr.get("number") not in (None, int(path.rsplit("/", 1)[1])):
        raise GitHubRequestError(f"GET {path}: the answer is pull request #{pr.get('number')!r}, not the one asked for")
    if base is not None and not isinstance(base, dict):
        raise GitHubRequestError(f"GET {path}: the pull request's base is not an object")
    return head, base or {}
