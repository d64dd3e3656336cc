"""On GitHub Enterprise Server every GitHub call, reading and publishing, goes to GITHUB_API_URL.

Publishing used to build its client with api.github.com hard-wired, so `compliance pr` (check run,
comment) and `audit --tracking-issue` sent the GHE token to the public API. Here GitHub is
`responses` serving only the enterprise host; any request for another host is recorded and fails
the test, even where the CLI treats a publishing failure as a warning.
"""

from __future__ import annotations

import json
import re

import pytest
import responses

from compliance.base.errors import ComplianceError
from compliance.cli import main
from compliance.publish import upsert_tracking_issue
from compliance.sources.github import api_url
from tests.github_payloads import REPO, FakeGitHub, pull_request
from tests.pr_system import pr_file as _file

GHE = "https://ghe.acme.example"
API = f"{GHE}:443/api/v3"
TOKEN = "ghs_" + "pr00" * 9  # what the setup fixture puts in GITHUB_TOKEN


def _stray(rsps: responses.RequestsMock) -> None:
    """Answer (and so record) every request that is not for the enterprise host."""
    rsps.add_callback(responses.GET, re.compile(r"https://(?!ghe\.acme\.example).*"), lambda r: (599, {}, "stray"))
    rsps.add_callback(responses.POST, re.compile(r"https://(?!ghe\.acme\.example).*"), lambda r: (599, {}, "stray"))
    rsps.add_callback(responses.PATCH, re.compile(r"https://(?!ghe\.acme\.example).*"), lambda r: (599, {}, "stray"))


def _hosts(calls) -> set[str]:
    return {re.match(r"https?://[^/]+", c.request.url).group(0) for c in calls}


def test_pr_check_run_and_comment_go_to_the_enterprise_host_with_the_token(setup, tmp_path, monkeypatch):
    config, repo, s, drift = setup
    monkeypatch.setenv("GITHUB_API_URL", f"{GHE}/api/v3")
    pr = pull_request(43, changed_files=1, head_sha=drift, body="no task here")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.GET, f"{API}/repos/{REPO}/issues/43/comments", json=[], status=200)
        rsps.add(responses.POST, f"{API}/repos/{REPO}/issues/43/comments", status=201, json={
            "id": 9, "body": "x", "html_url": f"{GHE}/{REPO}/pull/43#issuecomment-9",
            "url": f"{GHE}/api/v3/repos/{REPO}/issues/comments/9"})
        rsps.add(responses.POST, f"{API}/repos/{REPO}/check-runs", status=201, json={
            "id": 5, "head_sha": drift, "status": "completed", "conclusion": "failure", "name": "compliance",
            "url": f"{GHE}/api/v3/repos/{REPO}/check-runs/5", "html_url": f"{GHE}/{REPO}/runs/5",
            "output": {"title": "t", "summary": "s"}})
        FakeGitHub(rsps, pr=pr, files=[_file("tools/enceladus-mcp-server/server.py")], host=f"{GHE}:443",
                   prefix="/api/v3", link_host=GHE)
        _stray(rsps)
        code = main(["pr", "--config", str(config), "--pr", "43", "--out", str(tmp_path / "out"),
                     "--publish", "check-run", "--comment"])
        calls = list(rsps.calls)
    assert code == 1
    assert _hosts(calls) == {f"{GHE}:443"}, [c.request.url for c in calls]
    posted = {c.request.url.split("/api/v3", 1)[1] for c in calls if c.request.method == "POST"}
    assert posted == {f"/repos/{REPO}/check-runs", f"/repos/{REPO}/issues/43/comments"}
    for c in calls:  # every request, reading and publishing, carries the token
        assert c.request.headers.get("Authorization", "").endswith(TOKEN)
    assert json.loads(next(c for c in calls if c.request.url.endswith("/check-runs")).request.body)["head_sha"] == drift


def test_tracking_issue_goes_to_the_enterprise_host(monkeypatch):
    monkeypatch.setenv("GITHUB_API_URL", f"{GHE}/api/v3/")
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN + "\n")  # read from a file: the newline is not part of it
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.GET, f"{API}/repos/{REPO}/issues", json=[], status=200)
        rsps.add(responses.POST, f"{API}/repos/{REPO}/issues", status=201, json={
            "number": 7, "title": "t", "html_url": f"{GHE}/{REPO}/issues/7",
            "url": f"{GHE}/api/v3/repos/{REPO}/issues/7"})
        _stray(rsps)
        result = upsert_tracking_issue(REPO, "Compliance audit: api is failing", "body",
                                       seconds_between_requests=None, seconds_between_writes=None)
        assert _hosts(rsps.calls) == {f"{GHE}:443"}
        assert all(c.request.headers["Authorization"].endswith(TOKEN) for c in rsps.calls)
    assert result["action"] == "opened" and result["number"] == 7


@pytest.mark.parametrize("url", [
    "http://ghe.acme.example/api/v3",          # a token in clear text
    "https://user:S3cret@ghe.acme.example/api/v3",
    "https://ghe.acme.example/api/v3?x=1",
    "ftp://ghe.acme.example",
    "https://",
    "https://ghe.acme.example:99999/api/v3",
])
def test_unusable_api_urls_are_refused_without_echoing_a_password(url, monkeypatch):
    monkeypatch.setenv("GITHUB_API_URL", url)
    with pytest.raises(ComplianceError) as err:
        api_url()
    assert "S3cret" not in str(err.value)


def test_loopback_http_and_the_default_are_accepted(monkeypatch):
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    assert api_url() == "https://api.github.com"
    assert api_url("http://127.0.0.1:8080/api/") == "http://127.0.0.1:8080/api"
