"""GitHub REST payloads shaped as GitHub documents them, and a small fake API serving them.

The fake behaves like the real listing where it matters to the source: it filters by ``branch``
and ``created`` (whole UTC days), lists newest first, stops at 1,000 results while still reporting
the true ``total_count``, links pages the way GitHub does (``/repositories/{id}/...`` URLs in the
``Link`` header), sends rate-limit headers and weak ETags, and answers a matching
``If-None-Match`` with an empty 304. Failures are queued per request to test retries.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import responses

from compliance.base.synthetic import completed_steps

REPO = "acme-ops/enceladus"
REPO_ID = 734102957
OWNER_ID = 158402113
WORKFLOW_FILE = "api-mcp-backend-deploy.yml"
WORKFLOW_PATH = f".github/workflows/{WORKFLOW_FILE}"
WORKFLOW_ID = 161335843
WORKFLOW_NAME = "API + MCP backend deploy"
DEPLOY_STEP = "Deploy coordination API + MCP runtime"
PUBLIC = "https://api.github.com"
HTML = "https://github.com"
RESET = 1772400000  # the epoch second a rate-limit window resets, as X-RateLimit-Reset carries it


def z(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _user(login: str = "octo-deployer", uid: int = 41872345) -> dict[str, Any]:
    return {
        "login": login, "id": uid, "node_id": "MDQ6VXNlcjQxODcyMzQ1",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4", "gravatar_id": "",
        "url": f"{PUBLIC}/users/{login}", "html_url": f"{HTML}/{login}", "type": "User", "site_admin": False,
    }


def _repository() -> dict[str, Any]:
    owner, name = REPO.split("/")
    return {
        "id": REPO_ID, "node_id": "R_kgDOK8y1rQ", "name": name, "full_name": REPO, "private": True,
        "owner": {**_user(owner, OWNER_ID), "type": "Organization"},
        "html_url": f"{HTML}/{REPO}", "description": "Coordination API and MCP runtime", "fork": False,
        "url": f"{PUBLIC}/repos/{REPO}",
    }


def workflow_run(run_id: int, created: datetime, *, sha: str | None = None, branch: str = "main",
                 event: str = "push", status: str = "completed", conclusion: str | None = "success",
                 run_number: int = 1, run_attempt: int = 1, duration: timedelta = timedelta(minutes=4),
                 message: str = "Deploy coordination API (ENC-TSK-734)", path: str = WORKFLOW_PATH,
                 workflow_id: int = WORKFLOW_ID, name: str = WORKFLOW_NAME) -> dict[str, Any]:
    """A workflow run object with the fields the REST reference lists for it (of the API/MCP workflow
    unless ``path``/``workflow_id``/``name`` say another; GitHub lists a run under its ``workflow_id``)."""
    sha = sha or hashlib.sha1(str(run_id).encode()).hexdigest()
    started = created + timedelta(seconds=3)
    base = f"{PUBLIC}/repos/{REPO}/actions/runs/{run_id}"
    return {
        "id": run_id,
        "name": name,
        "node_id": f"WFR_kwLOK8y1rc8AAAAD{run_id:x}",
        "head_branch": branch,
        "head_sha": sha,
        "path": path,
        "display_title": message.split("\n", 1)[0],
        "run_number": run_number,
        "event": event,
        "status": status,
        "conclusion": conclusion,
        "workflow_id": workflow_id,
        "check_suite_id": run_id * 3 + 7,
        "check_suite_node_id": f"CS_kwDOK8y1rc8AAAAI{run_id:x}",
        "url": base,
        "html_url": f"{HTML}/{REPO}/actions/runs/{run_id}",
        "pull_requests": [],
        "created_at": z(created),
        "updated_at": z(started + duration),
        "actor": _user(),
        "run_attempt": run_attempt,
        "referenced_workflows": [],
        "run_started_at": z(started),
        "triggering_actor": _user(),
        "jobs_url": f"{base}/jobs",
        "logs_url": f"{base}/logs",
        "check_suite_url": f"{PUBLIC}/repos/{REPO}/check-suites/{run_id * 3 + 7}",
        "artifacts_url": f"{base}/artifacts",
        "cancel_url": f"{base}/cancel",
        "rerun_url": f"{base}/rerun",
        "previous_attempt_url": f"{base}/attempts/{run_attempt - 1}" if run_attempt > 1 else None,
        "workflow_url": f"{PUBLIC}/repos/{REPO}/actions/workflows/{workflow_id}",
        "head_commit": {
            "id": sha,
            "tree_id": hashlib.sha1(sha.encode()).hexdigest(),
            "message": message,
            "timestamp": z(created - timedelta(seconds=40)),
            "author": {"name": "Zoë Ωmega", "email": "zoe@example.com"},
            "committer": {"name": "GitHub", "email": "noreply@github.com"},
        },
        "repository": _repository(),
        "head_repository": _repository(),
    }


def runs_spread(count: int, start: datetime, days: int, *, first_id: int = 13415370000) -> list[dict[str, Any]]:
    """``count`` runs evenly over ``days`` days, oldest first, ids and run numbers increasing."""
    step = timedelta(days=days) / count
    return [workflow_run(first_id + i * 17, start + step * i + timedelta(minutes=1), run_number=400 + i,
                         conclusion=("success", "failure", "cancelled", "success")[i % 4])
            for i in range(count)]


def jobs_list(run: dict[str, Any], *, deploy_seconds: int = 95) -> dict[str, Any]:
    """``GET /actions/runs/{id}/jobs``: one job with timed steps, the deploy step among them."""
    start = datetime.strptime(run["run_started_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    steps, t = completed_steps(start, [("Set up job", 2), ("Checkout", 3), ("Configure AWS credentials", 2),
                                       (DEPLOY_STEP, deploy_seconds), ("Validate deployed Lambda state", 4),
                                       ("Complete job", 1)])
    job_id = run["id"] * 3 + 1
    return {"total_count": 1, "jobs": [{
        "id": job_id, "run_id": run["id"], "workflow_name": WORKFLOW_NAME, "head_branch": run["head_branch"],
        "run_url": run["url"], "run_attempt": run["run_attempt"], "node_id": f"CR_kwDOK8y1rc8AAAAI{job_id:x}",
        "head_sha": run["head_sha"], "url": f"{PUBLIC}/repos/{REPO}/actions/jobs/{job_id}",
        "html_url": f"{HTML}/{REPO}/actions/runs/{run['id']}/job/{job_id}", "status": "completed",
        "conclusion": "success", "created_at": run["created_at"], "started_at": run["run_started_at"],
        "completed_at": z(t), "name": "Deploy coordination API + MCP runtime", "steps": steps,
        "check_run_url": f"{PUBLIC}/repos/{REPO}/check-runs/{job_id}", "labels": ["ubuntu-latest"],
        "runner_id": 17, "runner_name": "GitHub Actions 17", "runner_group_id": 2,
        "runner_group_name": "GitHub Actions",
    }]}


def pull_request(number: int, *, changed_files: int, head_sha: str = "6dcb09b5b57875f334f61aebed695e2e4193db5e",
                 body: str | None = "Refs ENC-TSK-734") -> dict[str, Any]:
    return {
        "url": f"{PUBLIC}/repos/{REPO}/pulls/{number}", "id": 1934000000 + number, "node_id": "PR_kwDOK8y1rc5zRk0",
        "html_url": f"{HTML}/{REPO}/pull/{number}", "number": number, "state": "open", "locked": False,
        "title": "Fix coordination handler", "user": _user("zoe-omega", 77001), "body": body,
        "created_at": "2026-03-01T10:00:00Z", "updated_at": "2026-03-01T11:00:00Z", "closed_at": None,
        "merged_at": None, "merge_commit_sha": None, "draft": False,
        "head": {"label": "acme-ops:agent/enc-tsk-734-fix", "ref": "agent/enc-tsk-734-fix", "sha": head_sha,
                 "user": _user("acme-ops", OWNER_ID), "repo": _repository()},
        "base": {"label": "acme-ops:main", "ref": "main", "sha": "a" * 40, "user": _user("acme-ops", OWNER_ID),
                 "repo": _repository()},
        "merged": False, "mergeable": True, "comments": 0, "commits": 3, "additions": 120, "deletions": 14,
        "changed_files": changed_files,
    }


def pr_file(i: int) -> dict[str, Any]:
    """A PR file entry; every tenth is a binary file, which GitHub lists without ``patch``."""
    name = f"backend/lambda/coordination_api/mod_{i:04d}.py" if i % 10 else f"docs/img/diagram_{i:04d}.png"
    entry = {
        "sha": hashlib.sha1(name.encode()).hexdigest(), "filename": name,
        "status": ("modified", "added", "removed", "renamed")[i % 4], "additions": i % 7, "deletions": i % 3,
        "changes": i % 7 + i % 3, "blob_url": f"{HTML}/{REPO}/blob/x/{name}",
        "raw_url": f"{HTML}/{REPO}/raw/x/{name}", "contents_url": f"{PUBLIC}/repos/{REPO}/contents/{name}",
    }
    if i % 10:
        entry["patch"] = f"@@ -1,1 +1,1 @@\n-old {i}\n+new {i}"
    return entry


def rate_headers(remaining: int = 4990, *, limit: int = 5000, reset: int = RESET) -> dict[str, str]:
    return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(reset), "X-RateLimit-Used": str(limit - remaining),
            "X-RateLimit-Resource": "core"}


def error_body(message: str, doc: str = "https://docs.github.com/rest") -> str:
    return json.dumps({"message": message, "documentation_url": doc, "status": "error"})


@dataclass
class Call:
    path: str
    params: dict[str, str]
    status: int
    headers: dict[str, str]


@dataclass
class Failure:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    match: str = ""  # substring of "path?query" the failure applies to
    times: int = 1


LOG_HOST = "https://productionresultssa0.blob.core.windows.net"


def deploy_log(code_sha256: str, revision_id: str, *, at: str = "2026-02-14T10:01") -> str:
    """A deploy job's log as GitHub serves it: timestamped lines, the step's script echoed first."""
    return "\n".join([
        f"\ufeff{at}:02.1234567Z ##[group]Run ./backend/lambda/coordination_api/deploy.sh",
        f"{at}:02.1234568Z ./backend/lambda/coordination_api/deploy.sh",
        f'{at}:02.1234569Z echo "CodeSha256=$(aws lambda get-function-configuration --query CodeSha256)" '
        '| tee -a "$GITHUB_STEP_SUMMARY"',
        f"{at}:02.1234570Z ##[endgroup]",
        f"{at}:39.5000000Z Uploading function code...",
        f"{at}:40.7654321Z CodeSha256={code_sha256}",
        f"{at}:40.7654322Z RevisionId={revision_id}",
        f"{at}:41.0000000Z ##[group]Run Validate deployed Lambda state", ""])


class FakeGitHub:
    """Serves runs, jobs and pull requests through ``responses`` the way api.github.com answers."""

    def __init__(self, rsps: responses.RequestsMock, runs: list[dict[str, Any]] = (), *,
                 host: str = "https://api.github.com:443", prefix: str = "", link_host: str = PUBLIC,
                 pr: dict[str, Any] | None = None, files: list[dict[str, Any]] = (),
                 logs: dict[int, str] | None = None):
        self.runs = list(runs)
        self.pr = pr
        self.files = list(files)
        self.prefix = prefix
        self.link_host = link_host
        self.calls: list[Call] = []
        self.failures: list[Failure] = []
        self.remaining = 4990
        self.logs: dict[int, str] = dict(logs or {})  # job id -> its log text, served behind a 302 as GitHub does
        self.blob_calls: list[Call] = []
        pattern = re.compile(re.escape(host + prefix) + r"/.*")
        rsps.add_callback(responses.GET, pattern, callback=self._answer)
        if logs is not None:  # only then: a mock that asserts every route fired would count it unused
            rsps.add_callback(responses.GET, re.compile(re.escape(LOG_HOST) + r"/.*"), callback=self._blob)

    def fail(self, status: int, *, headers: dict[str, str] | None = None, body: str = "", match: str = "",
             times: int = 1) -> None:
        self.failures.append(Failure(status, headers or {}, body, match, times))

    def paths(self, status: int | None = None) -> list[str]:
        return [c.path for c in self.calls if status is None or c.status == status]

    def created_values(self) -> list[str]:
        return [c.params["created"] for c in self.calls if "created" in c.params and "page" not in c.params]

    # the server side

    def _answer(self, request: Any) -> tuple[int, dict[str, str], str]:
        parts = urlsplit(request.url)
        path = parts.path[len(self.prefix):]
        params = dict(parse_qsl(parts.query))
        where = f"{path}?{parts.query}"
        for failure in self.failures:
            if failure.times and failure.match in where:
                failure.times -= 1
                self.calls.append(Call(path, params, failure.status, dict(request.headers)))
                return failure.status, {"Content-Type": "application/json; charset=utf-8", **failure.headers}, \
                    failure.body or error_body("Server Error")
        status, headers, body = self._route(path, params)
        if status == 200:
            etag = 'W/"' + hashlib.sha256(body.encode()).hexdigest()[:40] + '"'
            headers["ETag"] = etag
            if request.headers.get("If-None-Match") == etag:
                status, body = 304, ""
            else:
                self.remaining -= 1  # a 304 does not count against the primary limit
        headers.update(rate_headers(self.remaining))
        self.calls.append(Call(path, params, status, dict(request.headers)))
        return status, headers, body

    def _route(self, path: str, params: dict[str, str]) -> tuple[int, dict[str, str], str]:
        hdr = {"Content-Type": "application/json; charset=utf-8"}
        runs_path = re.fullmatch(
            rf"/(?:repos/{re.escape(REPO)}|repositories/{REPO_ID})/actions/workflows/([^/]+)/runs", path)
        if runs_path and runs_path.group(1) in self._workflows():
            return self._runs(params, hdr, f"/repositories/{REPO_ID}/actions/workflows/{runs_path.group(1)}/runs",
                              self._workflows()[runs_path.group(1)])
        jobs = re.fullmatch(rf"/repos/{re.escape(REPO)}/actions/runs/(\d+)/jobs", path)
        if jobs:
            run = next((r for r in self.runs if r["id"] == int(jobs.group(1))), None)
            if run:
                return 200, hdr, json.dumps(jobs_list(run))
        logs = re.fullmatch(rf"/repos/{re.escape(REPO)}/actions/jobs/(\d+)/logs", path)
        if logs and int(logs.group(1)) in self.logs:
            job = int(logs.group(1))
            # a short-lived signed storage URL, as GitHub answers: no JSON, an empty body
            return 302, {"Location": f"{LOG_HOST}/actions-results/{job:x}/workflow-job-run-{job}/logs/job/"
                                     f"job-logs.txt?rsct=text%2Fplain&se=2026-03-02T10%3A00%3A00Z&sig=x&sp=r"}, ""
        if self.pr and path == f"/repos/{REPO}/pulls/{self.pr['number']}":
            return 200, hdr, json.dumps(self.pr)
        files = re.fullmatch(rf"/(?:repos/{re.escape(REPO)}|repositories/{REPO_ID})/pulls/(\d+)/files", path)
        if self.pr and files and int(files.group(1)) == self.pr["number"]:
            page, per_page = int(params.get("page", 1)), int(params.get("per_page", 30))
            listed = self.files[:3000]
            hdr.update(self._link(f"/repositories/{REPO_ID}/pulls/{self.pr['number']}/files", params, page,
                                  per_page, len(listed)))
            return 200, hdr, json.dumps(listed[(page - 1) * per_page: page * per_page])
        return 404, hdr, error_body("Not Found")

    def _blob(self, request: Any) -> tuple[int, dict[str, str], str]:
        parts = urlsplit(request.url)
        self.blob_calls.append(Call(parts.path, dict(parse_qsl(parts.query)), 200, dict(request.headers)))
        job = int(re.search(r"workflow-job-run-(\d+)/", parts.path).group(1))
        return 200, {"Content-Type": "text/plain"}, self.logs[job]

    def _workflows(self) -> dict[str, int]:
        """Workflow file names and ids GitHub knows, each to its id: the API/MCP workflow, and any other one
        a served run's ``workflow_id`` belongs to (its file the run's path names). Another is a 404."""
        known = {WORKFLOW_FILE: WORKFLOW_ID, str(WORKFLOW_ID): WORKFLOW_ID}
        for r in self.runs:
            if r.get("workflow_id") != WORKFLOW_ID:
                known.setdefault(str(r["workflow_id"]), r["workflow_id"])
                known.setdefault(str(r.get("path") or "").rsplit("/", 1)[-1], r["workflow_id"])
        return known

    def _runs(self, params: dict[str, str], hdr: dict[str, str], link_path: str,
              workflow_id: int = WORKFLOW_ID) -> tuple[int, dict, str]:
        selected = [r for r in self.runs if r["head_branch"] == params.get("branch", r["head_branch"])
                    and r.get("workflow_id", WORKFLOW_ID) == workflow_id]
        if "created" in params:
            lo, _, hi = params["created"].partition("..")
            selected = [r for r in selected
                        if date.fromisoformat(lo) <= date.fromisoformat(r["created_at"][:10]) <= date.fromisoformat(hi)]
        selected.sort(key=lambda r: (r["created_at"], r["id"]), reverse=True)  # newest first, as GitHub lists
        listed = selected[:1000]
        page, per_page = int(params.get("page", 1)), int(params.get("per_page", 30))
        hdr.update(self._link(link_path, params, page, per_page, len(listed)))
        body = {"total_count": len(selected), "workflow_runs": listed[(page - 1) * per_page: page * per_page]}
        return 200, hdr, json.dumps(body)

    def _link(self, path: str, params: dict[str, str], page: int, per_page: int, count: int) -> dict[str, str]:
        last = max((count + per_page - 1) // per_page, 1)
        if last == 1:
            return {}

        def url(n: int) -> str:
            return f"{self.link_host}{self.prefix}{path}?{urlencode({**params, 'page': n})}"

        rels = []
        if page < last:
            rels += [f'<{url(page + 1)}>; rel="next"', f'<{url(last)}>; rel="last"']
        if page > 1:
            rels += [f'<{url(1)}>; rel="first"', f'<{url(page - 1)}>; rel="prev"']
        return {"Link": ", ".join(rels)}
