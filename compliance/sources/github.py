"""The live GitHub source: runs of the canonical workflow, and pull requests for the PR check.

The cost grows with pages of runs, never with runs or commits: one listing per date slice, and job
details only for the few runs whose time span contains a moment someone asked about (the Lambda's
LastModified). Any failure raises a typed ``GitHubError``; a source that could not be read must
become an ``error`` finding, never an empty list of runs that would read as "nothing deployed".

How a request is sent, cached, retried and counted is ``github_client``; its public names (the
errors, ``RetryPolicy``, ``api_url``, ``api_token``) are re-exported here because callers of the
source (collect, the CLI, the publisher, tests) name them with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from compliance.base.digests import code_sha256_in, revision_id_in
from compliance.base.timeutil import iso, parse_time
from compliance.sources.base import Meter
from compliance.sources.github_client import (
    DEFAULT_API_URL,
    PER_PAGE,
    GitHubAuthError,
    GitHubError,
    GitHubNotFound,
    GitHubRateLimited,
    GitHubRequestError,
    GitHubServerError,
    GitHubUnreachable,
    RetryPolicy,
    _Client,
    api_token,
    api_url,
)

LISTING_CAP = 1000  # filtered run listings stop here, whatever total_count says
PR_FILES_CAP = 3000  # the pull request files endpoint lists no more than this

RUN_FIELDS = ("id", "name", "head_sha", "head_branch", "path", "event", "status", "conclusion", "run_number",
              "run_attempt", "html_url", "created_at", "updated_at", "run_started_at")
STEP_FIELDS = ("name", "status", "conclusion", "started_at", "completed_at")
_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")

__all__ = [  # the source's own names, and the client's that its callers use
    "DEFAULT_API_URL", "LISTING_CAP", "PER_PAGE", "PR_FILES_CAP", "RUN_FIELDS", "STEP_FIELDS", "GitHubAuthError",
    "GitHubError", "GitHubNotFound", "GitHubRateLimited", "GitHubRequestError", "GitHubServerError",
    "GitHubUnreachable", "RetryPolicy", "api_token", "api_url", "collect_github", "fetch_pull_request",
]


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
        # max_pages: what is left of the collection's budget, shared by every workflow it lists
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


def _file_of(workflow: str) -> str:
    file = workflow.rsplit("/", 1)[-1]
    if not file:
        raise ValueError("workflow file name is empty")
    return file


def _list_runs(client: _Client, repo: str, file: str, branch: str, start: date, end: date,
               max_pages: int | None) -> _RunLister:
    lister = _RunLister(client, f"/repos/{repo}/actions/workflows/{quote(file, safe='')}/runs", branch, max_pages)
    lister.slice(start, end)
    return lister


def _also_list(client: _Client, repo: str, files: list[str], branch: str, start: date, end: date,
               max_pages: int | None, used: int) -> tuple[list[dict[str, Any]], dict[str, Any], int, bool]:
    """The runs of the other workflows rules name, each tagged with the listing that returned it, and
    per workflow whether it could be listed: one that fails (or that the budget left unread) is an
    ``error`` for the rules judging it, while the target's runs and the other workflows' still count."""
    runs: list[dict[str, Any]] = []
    listed: dict[str, Any] = {}
    truncated = False
    for file in files:
        path = f".github/workflows/{file}"
        left = None if max_pages is None else max_pages - used
        try:
            lister = _list_runs(client, repo, file, branch, start, end, left)
        except GitHubError as exc:
            listed[path] = {"status": "error", "error": {"type": type(exc).__name__, "message": str(exc)}}
            continue
        used += lister.pages_used
        truncated = truncated or lister.truncated
        if lister.truncated and not lister.pages_used:
            listed[path] = {"status": "error", "error": {
                "type": "BudgetExhausted", "message": f"max_pages={max_pages} was spent before its runs were listed"}}
            continue
        listed[path] = {"status": "ok"}
        runs += [{**run, "listed_by": path} for run in lister.runs.values()]
    return runs, listed, used, truncated


def collect_github(repo: str, workflow: str, branch: str, since: datetime, until: datetime, *,
                   meter: Meter, token: str | None = None, base_url: str | None = None,
                   cache_dir: Path | None = None, jobs_near: Iterable[datetime] = (),
                   max_pages: int | None = None, retry: RetryPolicy | None = None,
                   also: Iterable[str] = ()) -> dict[str, Any]:
    """Runs of ``workflow`` (its file name) on ``branch`` created between the two dates, inclusive,
    and of each workflow in ``also`` (the rules' own canonical workflows).

    GitHub filters ``created`` by whole days (UTC), so runs from the rest of the boundary days are
    kept too: a run just after ``until`` may be the one that deploys a change made inside it.
    ``max_pages`` bounds the cost of one collection, every listing included; reaching it is recorded
    as a warning. The target's workflow failing fails the source; another workflow failing is recorded
    in ``workflows`` for its rules alone. With other workflows, every run carries ``listed_by``, the
    workflow whose listing returned it, so a run is never credited to a workflow GitHub did not list it for.
    """
    _check_repo(repo)
    file = _file_of(workflow)
    others = sorted({_file_of(w) for w in also} - {file})
    start, end = parse_time(since).date(), parse_time(until).date()  # naive means UTC, as everywhere here
    if end < start:
        raise ValueError(f"window ends ({iso(until)}) before it starts ({iso(since)})")
    moments = [t for t in (parse_time(m) for m in jobs_near) if t]
    with _Client(meter, token, base_url, cache_dir, retry, repo) as client:
        lister = _list_runs(client, repo, file, branch, start, end, max_pages)
        own = list(lister.runs.values())
        truncated = lister.truncated
        if others:
            own = [{**run, "listed_by": f".github/workflows/{file}"} for run in own]
            more, listed, _, cut = _also_list(client, repo, others, branch, start, end, max_pages, lister.pages_used)
            truncated = truncated or cut
        if truncated:
            meter.warnings.append(f"stopped after max_pages={max_pages} page(s) of runs: older runs may be missing")
        runs = sorted(own, key=lambda r: (r.get("created_at") or "", r["id"]))
        for run in runs:  # jobs and logs: the target's runs only, the ones that deploy the function
            if moments and _wanted(run, moments):
                raw_jobs: list[dict[str, Any]] = []
                path = f"/repos/{repo}/actions/runs/{run['id']}/jobs"
                for body in client.pages(path, {"filter": "latest", "per_page": PER_PAGE}):
                    raw_jobs.extend(_list(body, "jobs", path))
                run["jobs"] = [_job(j) for j in raw_jobs]
                if run.get("conclusion") == "success":
                    artifact = _artifact(client, repo, raw_jobs)
                    if artifact is not None:
                        run["artifact"] = artifact
    out = {"repository": repo, "workflow": f".github/workflows/{file}", "runs": runs}
    if others:
        out["runs"] = sorted([*runs, *more], key=lambda r: (r.get("created_at") or "", r["id"], r["listed_by"]))
        out["workflows"] = {f".github/workflows/{file}": {"status": "ok"}, **listed}
    return out


def _deploy_job_id(raw_jobs: list[dict[str, Any]]) -> int | None:
    """The job holding the deploy step (named as ``deploy_window`` reads it), the one whose log the
    governed workflow prints ``CodeSha256=`` into."""
    for job in raw_jobs:
        for step in job.get("steps") or []:
            name = step.get("name") if isinstance(step, dict) and isinstance(step.get("name"), str) else ""
            if "deploy" in name.lower() and "validat" not in name.lower() and isinstance(job.get("id"), int):
                return job["id"]
    return None


def _artifact(client: _Client, repo: str, raw_jobs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """What the deploy job's log says it deployed: the last ``CodeSha256=`` / ``RevisionId=`` printed.

    One API request per matched run (GET .../jobs/{id}/logs answers 302), and the download of the
    text it points to, both counted. The last value is the one the run left live. A log GitHub no longer keeps (retention, 404/410) is recorded as
    such: the run then stays a timing match and the finding says why, rather than the source failing.
    """
    job_id = _deploy_job_id(raw_jobs)
    if job_id is None:
        return None
    try:
        text = client.get_text(f"/repos/{repo}/actions/jobs/{job_id}/logs")
    except (GitHubNotFound, GitHubRequestError, GitHubUnreachable) as exc:
        return {"job_id": job_id, "code_sha256": None, "revision_id": None, "error": str(exc)}
    codes, revisions = code_sha256_in(text), revision_id_in(text)
    return {"job_id": job_id, "code_sha256": codes[-1] if codes else None,
            "revision_id": revisions[-1] if revisions else None}


def fetch_pull_request(repo: str, number: int, *, meter: Meter, token: str | None = None,
                       base_url: str | None = None, cache_dir: Path | None = None,
                       retry: RetryPolicy | None = None) -> dict[str, Any]:
    """A pull request and the files it changes, for the PR status check."""
    _check_repo(repo)
    if not isinstance(number, int) or isinstance(number, bool) or number <= 0:
        raise ValueError(f"pull request number must be a positive integer, got {number!r}")
    with _Client(meter, token, base_url, cache_dir, retry, repo) as client:
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
