import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
import requests
import responses

from compliance.judge.engine import deploy_window
from compliance.sources.base import Meter, run_source
from compliance.sources.github import (
    GitHubAuthError,
    GitHubNotFound,
    GitHubRateLimited,
    GitHubRequestError,
    GitHubServerError,
    GitHubUnreachable,
    RetryPolicy,
    collect_github,
    fetch_pull_request,
)
from tests.github_payloads import (
    DEPLOY_STEP,
    REPO,
    RESET,
    WORKFLOW_FILE,
    WORKFLOW_PATH,
    FakeGitHub,
    error_body,
    pr_file,
    pull_request,
    rate_headers,
    runs_spread,
)
from tests.schema_authority import source_validator

SINCE = datetime(2026, 2, 1, tzinfo=timezone.utc)
UNTIL = datetime(2026, 3, 2, 23, 59, 59, tzinfo=timezone.utc)  # 30 days
TOKEN = "ghp_" + "Q7x9TzK2mW4pL8vN3bR6yH1cJ5dF0gS2aE4u"  # fake, shaped like a real classic token
RUNS_URL = f"/repos/{REPO}/actions/workflows/{WORKFLOW_FILE}/runs"


@pytest.fixture(autouse=True)
def _env(github_env):
    github_env.setenv("GITHUB_TOKEN", TOKEN)


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


@pytest.fixture
def sleeps():
    return Sleeps()


def policy(sleeps, **kw):
    return RetryPolicy(sleep=sleeps, clock=lambda: RESET - 30.0, **kw)


def collect(meter=None, **kw):
    meter = meter if meter is not None else Meter()
    kw.setdefault("retry", RetryPolicy(sleep=Sleeps()))
    return collect_github(REPO, WORKFLOW_FILE, "main", SINCE, UNTIL, meter=meter, **kw), meter


# listing


def test_pages_fields_order_and_schema(rsps):
    runs = runs_spread(250, SINCE, 30)
    fake = FakeGitHub(rsps, runs)
    data, meter = collect()
    assert meter.requests == 3 and meter.cached == 0 and meter.warnings == []
    assert [c.params.get("page") for c in fake.calls] == [None, "2", "3"]
    first = fake.calls[0]
    assert first.path == RUNS_URL
    assert first.params == {"branch": "main", "created": "2026-02-01..2026-03-02", "exclude_pull_requests": "true",
                            "per_page": "100"}
    assert fake.calls[1].path.startswith("/repositories/")  # the Link header's form is followed as given
    assert first.headers["Authorization"].endswith(TOKEN)
    assert first.headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert data["repository"] == REPO and data["workflow"] == WORKFLOW_PATH
    assert [r["id"] for r in data["runs"]] == [r["id"] for r in runs]  # oldest first, every run once
    assert data["runs"] == sorted(data["runs"], key=lambda r: (r["created_at"], r["id"]))
    one, raw = data["runs"][5], runs[5]
    assert set(one) == {"id", "name", "head_sha", "head_branch", "path", "event", "status", "conclusion",
                        "run_number", "run_attempt", "html_url", "created_at", "updated_at", "run_started_at",
                        "display_title", "head_commit"}
    assert {k: one[k] for k in one if k != "head_commit"} == {k: raw[k] for k in one if k != "head_commit"}
    assert one["head_commit"] == {"message": raw["head_commit"]["message"]}
    source_validator("github").validate(data)
    assert "jobs" not in one


def test_a_whole_workflow_path_is_listed_by_its_file_name(rsps):
    fake = FakeGitHub(rsps, runs_spread(3, SINCE, 30))
    data = collect_github(REPO, WORKFLOW_PATH, "main", SINCE, UNTIL, meter=Meter())
    assert fake.paths() == [RUNS_URL] and len(data["runs"]) == 3


def test_other_branches_and_no_runs(rsps):
    fake = FakeGitHub(rsps, runs_spread(3, SINCE, 30))
    data = collect_github(REPO, WORKFLOW_FILE, "release", SINCE, UNTIL, meter=Meter())
    assert data["runs"] == [] and len(fake.calls) == 1
    source_validator("github").validate(data)


def test_slices_the_window_while_a_slice_is_over_the_listing_cap(rsps):
    runs = runs_spread(2500, SINCE, 30)
    fake = FakeGitHub(rsps, runs)
    data, meter = collect()
    assert fake.created_values() == [
        "2026-02-01..2026-03-02",  # 2500: split
        "2026-02-01..2026-02-15",  # ~1250: split
        "2026-02-01..2026-02-08",
        "2026-02-09..2026-02-15",
        "2026-02-16..2026-03-02",  # ~1250: split
        "2026-02-16..2026-02-23",
        "2026-02-24..2026-03-02",
    ]
    assert sorted(r["id"] for r in data["runs"]) == sorted(r["id"] for r in runs)
    assert len({r["id"] for r in data["runs"]}) == 2500
    # two probing pages, then ~667/583/667/583 runs in 7+6+7+6 pages
    assert meter.requests == len(fake.calls) == 2 + 1 + 26 and meter.warnings == []


def test_one_day_over_the_cap_warns_and_keeps_what_github_lists(rsps):
    day = datetime(2026, 2, 10, tzinfo=timezone.utc)
    runs = runs_spread(1200, day, 1)
    fake = FakeGitHub(rsps, runs)
    meter = Meter()
    data = collect_github(REPO, WORKFLOW_FILE, "main", day, day, meter=meter)
    assert fake.created_values() == ["2026-02-10..2026-02-10"] and meter.requests == 10
    assert len(data["runs"]) == 1000
    assert data["runs"][-1]["id"] == runs[-1]["id"]  # newest first: the oldest 200 are the ones missing
    assert meter.warnings == ["1200 runs were created on 2026-02-10; GitHub lists only 1000 of them"]


def test_max_pages_bounds_the_cost_and_says_so(rsps):
    FakeGitHub(rsps, runs_spread(250, SINCE, 30))
    data, meter = collect(max_pages=2)
    assert meter.requests == 2 and len(data["runs"]) == 200
    assert "max_pages=2" in meter.warnings[0]


# jobs


def test_jobs_only_for_the_run_that_contains_the_moment(rsps):
    runs = runs_spread(250, SINCE, 30)
    fake = FakeGitHub(rsps, runs)
    target = runs[137]
    started = datetime.strptime(target["run_started_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    last_modified = started + timedelta(seconds=40)  # inside the deploy step
    data, meter = collect(jobs_near=[last_modified, SINCE - timedelta(days=3)])
    assert meter.requests == 3 + 1
    assert fake.paths()[-1] == f"/repos/{REPO}/actions/runs/{target['id']}/jobs"
    assert fake.calls[-1].params == {"filter": "latest", "per_page": "100"}
    with_jobs = [r for r in data["runs"] if "jobs" in r]
    assert [r["id"] for r in with_jobs] == [target["id"]]
    job = with_jobs[0]["jobs"][0]
    assert job["name"] and [s["name"] for s in job["steps"]][3] == DEPLOY_STEP
    assert set(job["steps"][3]) == {"name", "status", "conclusion", "started_at", "completed_at"}
    start, end = deploy_window(with_jobs[0])
    assert start <= last_modified <= end and end - start == timedelta(seconds=95)
    source_validator("github").validate(data)


def test_no_moment_no_job_requests(rsps):
    FakeGitHub(rsps, runs_spread(250, SINCE, 30))
    data, meter = collect(jobs_near=[datetime(2025, 1, 1, tzinfo=timezone.utc)])
    assert meter.requests == 3 and not any("jobs" in r for r in data["runs"])


# conditional requests


def test_a_repeat_collection_is_answered_from_the_cache(rsps, tmp_path):
    runs = runs_spread(400, SINCE, 30)
    fake = FakeGitHub(rsps, runs)
    moment = datetime.strptime(runs[10]["run_started_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    first, m1 = collect(cache_dir=tmp_path / "gh", jobs_near=[moment])
    assert (m1.requests, m1.cached) == (4 + 1, 0)
    second, m2 = collect(cache_dir=tmp_path / "gh", jobs_near=[moment])
    assert (m2.requests, m2.cached) == (5, 5)
    assert [c.status for c in fake.calls[5:]] == [304] * 5
    assert all(c.headers["If-None-Match"].startswith('W/"') for c in fake.calls[5:])
    assert second == first
    assert fake.remaining == 4990 - 5  # 304s cost no rate limit

    # one new run: page 1 changes, the rest is re-validated page by page
    fake.runs.append(runs_spread(1, UNTIL - timedelta(hours=1), 1, first_id=99)[0])
    third, m3 = collect(cache_dir=tmp_path / "gh")
    assert len(third["runs"]) == 401 and (m3.requests, m3.cached) == (5, 0)  # every page shifted by one


def test_the_cache_and_the_errors_never_hold_the_token(rsps, tmp_path):
    fake = FakeGitHub(rsps, runs_spread(150, SINCE, 30))
    collect(cache_dir=tmp_path / "gh")
    assert fake.calls[0].headers["Authorization"] == f"token {TOKEN}"
    files = list((tmp_path / "gh").iterdir())
    assert len(files) == 2
    for f in files:
        text = f.read_text()
        assert TOKEN not in text and "Authorization" not in text
    # a proxy that echoes the request into its error page
    fake.fail(500, body=error_body(f"upstream rejected Authorization: token {TOKEN}"), times=9)
    with pytest.raises(GitHubServerError) as err:
        collect(cache_dir=tmp_path / "gh")
    assert TOKEN not in str(err.value) and "***" in str(err.value)
    envelope = run_source("pygithub", "runs", lambda m: collect_github(
        REPO, WORKFLOW_FILE, "main", SINCE, UNTIL, meter=m, retry=RetryPolicy(attempts=1)))
    assert envelope["status"] == "error" and envelope["data"] is None
    assert TOKEN not in json.dumps(envelope)


def test_unauthenticated_when_no_token(rsps, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN")
    fake = FakeGitHub(rsps, runs_spread(3, SINCE, 30))
    collect()
    assert "Authorization" not in fake.calls[0].headers


def test_an_explicit_token_wins_over_the_environment(rsps):
    fake = FakeGitHub(rsps, runs_spread(3, SINCE, 30))
    collect(token="ghs_" + "b" * 36)
    assert fake.calls[0].headers["Authorization"] == "token ghs_" + "b" * 36


def test_enterprise_host_from_the_environment(rsps, monkeypatch):
    monkeypatch.setenv("GITHUB_API_URL", "https://ghe.acme.example/api/v3")
    fake = FakeGitHub(rsps, runs_spread(150, SINCE, 30), host="https://ghe.acme.example:443", prefix="/api/v3",
                      link_host="https://ghe.acme.example")
    data, meter = collect()
    assert len(data["runs"]) == 150 and meter.requests == 2
    assert [c.path for c in fake.calls] == [RUNS_URL, fake.calls[1].path] and len(fake.calls) == 2


# retries and failures


def test_a_502_is_retried(rsps, sleeps):
    fake = FakeGitHub(rsps, runs_spread(50, SINCE, 30))
    fake.fail(502, body="<html>Bad Gateway</html>")
    data, meter = collect(retry=policy(sleeps))
    assert [c.status for c in fake.calls] == [502, 200] and meter.requests == 2
    assert sleeps == [2.0] and len(data["runs"]) == 50
    assert meter.warnings and "502" in meter.warnings[0]


@pytest.mark.parametrize("status", [403, 429])
def test_a_secondary_limit_waits_as_long_as_github_says(rsps, sleeps, status):
    fake = FakeGitHub(rsps, runs_spread(50, SINCE, 30))
    fake.fail(status, headers={"Retry-After": "37", **rate_headers(4000)},
              body=error_body("You have exceeded a secondary rate limit. Please wait a few minutes before you try again."))
    data, meter = collect(retry=policy(sleeps))
    assert sleeps == [37.0] and meter.requests == 2 and len(data["runs"]) == 50


def test_a_429_without_headers_waits_a_minute(rsps, sleeps):
    fake = FakeGitHub(rsps, runs_spread(5, SINCE, 30))
    fake.fail(429, body=error_body("Too many requests"))
    collect(retry=policy(sleeps))
    assert sleeps == [60.0] and [c.status for c in fake.calls] == [429, 200]


def test_the_primary_limit_waits_for_the_reset(rsps, sleeps):
    fake = FakeGitHub(rsps, runs_spread(150, SINCE, 30))
    fake.fail(403, headers=rate_headers(0), body=error_body("API rate limit exceeded for user ID 41872345."),
              match="page=2")
    data, meter = collect(retry=policy(sleeps))  # the clock says the window resets in 30 s
    assert sleeps == [31.0] and meter.requests == 3 and len(data["runs"]) == 150


def test_a_reset_beyond_the_budget_fails_at_once(rsps, sleeps):
    fake = FakeGitHub(rsps, runs_spread(5, SINCE, 30))
    fake.fail(403, headers=rate_headers(0, reset=RESET + 3600), body=error_body("API rate limit exceeded"))
    with pytest.raises(GitHubRateLimited, match="primary rate limit exhausted until .*retry budget"):
        collect(retry=policy(sleeps))
    assert sleeps == [] and len(fake.calls) == 1


def test_a_persistent_500_raises_after_bounded_attempts(rsps, sleeps):
    fake = FakeGitHub(rsps, runs_spread(5, SINCE, 30))
    fake.fail(500, times=99)
    with pytest.raises(GitHubServerError, match=r"-> 500.*gave up after 4 attempts"):
        collect(retry=policy(sleeps))
    assert sleeps == [2.0, 4.0, 8.0] and len(fake.calls) == 4


def test_the_total_wait_is_capped(rsps, sleeps):
    fake = FakeGitHub(rsps, runs_spread(5, SINCE, 30))
    fake.fail(403, headers={"Retry-After": "50"}, body=error_body("secondary rate limit"), times=9)
    with pytest.raises(GitHubRateLimited, match="retry budget of 120s"):
        collect(retry=policy(sleeps, max_total_wait=120))
    assert sleeps == [50.0, 50.0] and len(fake.calls) == 3


def test_connection_failures_are_retried_then_raised(rsps, sleeps):
    rsps.add(responses.GET, f"https://api.github.com:443{RUNS_URL}", body=requests.ConnectionError("refused"))
    with pytest.raises(GitHubUnreachable, match="ConnectionError"):
        collect(retry=policy(sleeps, attempts=2))
    assert sleeps == [2.0]


@pytest.mark.parametrize(("status", "message", "error"), [
    (404, "Not Found", GitHubNotFound),
    (401, "Bad credentials", GitHubAuthError),
    (403, "Resource not accessible by integration", GitHubAuthError),
    (422, "Validation Failed", GitHubRequestError),
])
def test_client_errors_are_not_retried(rsps, sleeps, status, message, error):
    fake = FakeGitHub(rsps, runs_spread(5, SINCE, 30))
    fake.fail(status, headers=rate_headers(4000), body=error_body(message), times=9)
    with pytest.raises(error, match=message) as err:
        collect(retry=policy(sleeps))
    assert err.value.status == status and sleeps == [] and len(fake.calls) == 1


def test_a_page_failing_mid_pagination_fails_the_whole_source(rsps, sleeps):
    fake = FakeGitHub(rsps, runs_spread(250, SINCE, 30))
    fake.fail(500, match="page=2", times=99)
    envelope = run_source("pygithub", "runs", lambda m: collect_github(
        REPO, WORKFLOW_FILE, "main", SINCE, UNTIL, meter=m, retry=policy(sleeps)))
    assert envelope["status"] == "error" and envelope["data"] is None
    assert envelope["error"]["type"] == "GitHubServerError"
    assert envelope["provenance"]["requests"] == 1 + 4
    assert "page=3" not in json.dumps([c.params for c in fake.calls])


def test_a_failing_jobs_request_fails_the_source(rsps, sleeps):
    runs = runs_spread(5, SINCE, 30)
    fake = FakeGitHub(rsps, runs)
    fake.fail(404, match="/jobs", body=error_body("Not Found"))
    with pytest.raises(GitHubNotFound):
        collect(retry=policy(sleeps), jobs_near=[datetime.strptime(runs[2]["updated_at"], "%Y-%m-%dT%H:%M:%SZ")
                                                 .replace(tzinfo=timezone.utc)])


def test_an_unexpected_answer_is_an_error_not_an_empty_list(rsps):
    rsps.add(responses.GET, f"https://api.github.com:443{RUNS_URL}", json={"message": "ok"}, status=200)
    with pytest.raises(GitHubRequestError, match="workflow_runs"):
        collect()


def test_bad_arguments():
    with pytest.raises(ValueError, match="OWNER/NAME"):
        collect_github("enceladus", WORKFLOW_FILE, "main", SINCE, UNTIL, meter=Meter())
    with pytest.raises(ValueError, match="before it starts"):
        collect_github(REPO, WORKFLOW_FILE, "main", UNTIL, SINCE, meter=Meter())


def test_importing_the_source_does_not_import_pygithub():
    code = "import sys, compliance.sources.github; print('github' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# pull requests


def test_pull_request_and_its_files(rsps, tmp_path):
    fake = FakeGitHub(rsps, pr=pull_request(412, changed_files=250), files=[pr_file(i) for i in range(250)])
    meter = Meter()
    pr = fetch_pull_request(REPO, 412, meter=meter, cache_dir=tmp_path)
    assert meter.requests == 1 + 3 and meter.warnings == []
    assert fake.calls[1].params == {"per_page": "100"}
    assert {k: pr[k] for k in pr if k != "files"} == {
        "number": 412, "title": "Fix coordination handler", "body": "Refs ENC-TSK-734",
        "head_sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e", "head_ref": "agent/enc-tsk-734-fix",
        "base_ref": "main", "html_url": "https://github.com/acme-ops/enceladus/pull/412", "user": "zoe-omega", "warnings": []}
    assert len(pr["files"]) == 250
    assert pr["files"][1] == {"filename": "backend/lambda/coordination_api/mod_0001.py", "status": "added",
                              "additions": 1, "deletions": 1, "patch": "@@ -1,1 +1,1 @@\n-old 1\n+new 1"}
    assert "patch" not in pr["files"][10]  # binary
    again = Meter()
    assert fetch_pull_request(REPO, 412, meter=again, cache_dir=tmp_path) == pr
    assert (again.requests, again.cached) == (4, 4)


def test_pull_request_files_stop_at_githubs_cap(rsps):
    FakeGitHub(rsps, pr=pull_request(9, changed_files=3200), files=[pr_file(i) for i in range(3200)])
    meter = Meter()
    pr = fetch_pull_request(REPO, 9, meter=meter)
    assert len(pr["files"]) == 3000 and meter.requests == 31
    assert meter.warnings == ["pull request #9 changes 3200 files; GitHub lists only 3000 (at most 3000): "
                              "rules about its files judged a partial list"]
    assert pr["files_changed"] == 3200 and pr["warnings"] == meter.warnings


def test_missing_pull_request(rsps):
    FakeGitHub(rsps)
    with pytest.raises(GitHubNotFound, match="pulls/5"):
        fetch_pull_request(REPO, 5, meter=Meter())


@pytest.mark.parametrize("header, number", [("nan", None), ("inf", None), ("1e300", None), ("-inf", None),
                                            ("3", 3.0), ("1767225600", 1767225600.0), ("soon", None)])
def test_a_header_that_is_no_plausible_number_reads_as_none(header, number):
    """Probe 13: ``Retry-After: nan`` reached ``sleep`` (ValueError) and ``X-RateLimit-Reset: 1e300``
    ``fromtimestamp`` (OverflowError): untyped errors where the header is simply unusable."""
    from compliance.sources.github_client import _number
    assert _number(header) == number
