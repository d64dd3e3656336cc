"""Faults of the live systems: each gives `error` findings for the rules that need the failed source,
the rest are still judged, the reports are written with a "not evaluated" section, and the exit code is 2.

GitHub faults are served by ``FakeGitHub`` through ``responses``; AWS faults moto can produce
(a missing function or table, an endpoint nobody listens on) come from moto over real HTTP. moto
cannot throttle or deny, so those come from a small fake AWS endpoint over real HTTP on loopback
(``http_server``) speaking the service's error protocol, as tests/test_aws_sources.py does.
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import datetime, timezone

import pytest
import requests
import responses

from compliance.cli import main
from tests import moto_env
from tests.github_payloads import FakeGitHub, runs_spread
from tests.live_system import audit_args, no_temp_files, system_builder


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    """botocore's standard-mode backoff sleeps for real; the attempts are what matter."""
    from botocore.retries import standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)
    monkeypatch.setattr("compliance.sources.tracker._sleep", lambda seconds: None)


@pytest.fixture(scope="module")
def built(moto_server, tmp_path_factory):
    """The live system (tests/live_system.py ``make_system``'s builder) built once for this module.

    Every test here builds the same system and then breaks only what its own run reads: a line of its
    config (an endpoint, a function or table name), or what FakeGitHub and the fake endpoints answer. An
    audit only reads the system (git log, GETs and reads of moto), so one build serves them all: building
    it (the repository copy, the function, the API, both tables, the trail) was about a third of each test's CPU.
    What a test does change is its own (``shared_system``): its config file, its out and cache folders."""
    root = tmp_path_factory.mktemp("faults")
    servers: list[moto_env.LoopbackServer] = []

    def http_server(respond):
        servers.append(moto_env.LoopbackServer(respond))
        return servers[-1]

    with pytest.MonkeyPatch.context() as mp:
        moto_env.point_at(mp, moto_server)
        moto_env.reset(moto_server)
        try:
            yield system_builder(root, http_server, mp)()
        finally:
            moto_env.reset(moto_server)
            for server in servers:
                server.close()


@pytest.fixture
def shared_system(built, tmp_path, monkeypatch):
    """``make_system`` for this module: the built system with a config of the test's own (a copy of the built
    one, beside the repository its ``repo: enceladus`` names), its own GitHub cache and its root at
    ``tmp_path`` (so its ``out``), as a system of its own had them."""
    def make():
        config = built.config.with_name(f"compliance-{tmp_path.name}.yaml")
        config.write_text(built.config.read_text("utf-8"), "utf-8")
        monkeypatch.setenv("COMPLIANCE_CACHE_DIR", str(tmp_path / "cache"))
        return dataclasses.replace(built, root=tmp_path, config=config)
    return make


def _lambda_error(status: int, code: str, message: str):
    """Lambda's REST-JSON error: the code in x-amzn-ErrorType."""
    def respond(_handler):
        return status, {"x-amzn-ErrorType": code, "Content-Type": "application/json"}, \
            json.dumps({"message": message, "Type": "User"}).encode()
    return respond


def _dynamodb_error(code: str, message: str):
    """DynamoDB's JSON 1.0 error: the code in ``__type``, status 400."""
    def respond(_handler):
        return 400, {"Content-Type": "application/x-amz-json-1.0"}, \
            json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message}).encode()
    return respond


def _fake_endpoint(source: str, respond):
    def breaker(system, _gh, http_server):
        system.add_config(f"sources:\n  {source}: {{endpoint_url: '{http_server(respond).url}'}}\n")
    return breaker


# name -> (how to break the system, failed source, its error type, rules that become error, a rule still judged)
GITHUB = ("github", ("APIMCP-001", "APIMCP-004"), "APIMCP-005")
CASES = {
    "github-500": (lambda sys_, gh, srv: gh.fail(500, times=10), *GITHUB[:1], "GitHubServerError", *GITHUB[1:]),
    "github-502": (lambda sys_, gh, srv: gh.fail(502, body="<html>Bad gateway</html>", times=10),
                   "github", "GitHubServerError", *GITHUB[1:]),
    "github-403-secondary-limit": (
        lambda sys_, gh, srv: gh.fail(403, headers={"Retry-After": "30"}, times=10, body=json.dumps(
            {"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."})),
        "github", "GitHubRateLimited", *GITHUB[1:]),
    "github-429": (lambda sys_, gh, srv: gh.fail(429, times=10), "github", "GitHubRateLimited", *GITHUB[1:]),
    "github-401": (lambda sys_, gh, srv: gh.fail(401, body=json.dumps({"message": "Bad credentials"})),
                   "github", "GitHubAuthError", *GITHUB[1:]),
    "github-page-2-fails": (lambda sys_, gh, srv: gh.fail(500, match="page=2", times=10),
                            "github", "GitHubServerError", *GITHUB[1:]),
    "lambda-throttled-past-retries": (
        _fake_endpoint("lambda", _lambda_error(429, "TooManyRequestsException", "Rate exceeded")),
        "lambda", "Throttled", ("APIMCP-003", "APIMCP-004", "GUARD-002"), "APIMCP-001"),
    "lambda-access-denied": (
        _fake_endpoint("lambda", _lambda_error(403, "AccessDeniedException",
                                               "not authorized to perform lambda:GetFunctionConfiguration")),
        "lambda", "AccessDenied", ("APIMCP-003", "APIMCP-004", "GUARD-002"), "APIMCP-005"),
    "lambda-not-found": (
        lambda sys_, gh, srv: sys_.config.write_text(sys_.config.read_text("utf-8").replace(
            f"function: {moto_env.FUNCTION}", "function: devops-coordination-api-gamma"), "utf-8"),
        "lambda", "NotFound", ("APIMCP-003", "APIMCP-004", "GUARD-002"), "APIMCP-001"),
    "tracker-access-denied": (
        _fake_endpoint("tracker", _dynamodb_error("AccessDeniedException",
                                                  "not authorized to perform dynamodb:BatchGetItem")),
        "tracker", "AccessDenied", ("APIMCP-007",), "APIMCP-003"),
    "tracker-throttled": (
        _fake_endpoint("tracker", _dynamodb_error("ThrottlingException",
                                                  "Rate of requests exceeds the allowed throughput")),
        "tracker", "Throttled", ("APIMCP-007",), "APIMCP-003"),
    "tracker-table-not-found": (
        lambda sys_, gh, srv: sys_.config.write_text(sys_.config.read_text("utf-8").replace(
            f"table: {moto_env.TRACKER_TABLE}", "table: devops-project-tracker-gone"), "utf-8"),
        "tracker", "NotFound", ("APIMCP-007",), "APIMCP-003"),
    "deploy-manager-endpoint-down": (
        lambda sys_, gh, srv: sys_.add_config(
            f"sources:\n  deploy_manager: {{endpoint_url: 'http://127.0.0.1:{moto_env.closed_port()}', "
            "timeout_seconds: 1}\n"),
        "deploy_manager", "EndpointUnreachable", ("APIMCP-002",), "APIMCP-003"),
    "apigateway-endpoint-down": (
        lambda sys_, gh, srv: sys_.add_config(
            f"sources:\n  apigateway: {{endpoint_url: 'http://127.0.0.1:{moto_env.closed_port()}', "
            "timeout_seconds: 1}\n"),
        "apigateway", "EndpointUnreachable", ("APIMCP-005",), "APIMCP-003"),
}


def _many_runs(system):
    """Two pages of runs (GitHub lists 100 per page), so a page can fail after the first one arrived."""
    return system.runs() + runs_spread(150, datetime(2026, 2, 22, tzinfo=timezone.utc), 30)


@pytest.mark.parametrize("case", sorted(CASES))
def test_fault_is_an_error_not_a_pass(shared_system, http_server, capsys, case):
    breaker, source, error_type, broken_rules, judged_rule = CASES[case]
    system = shared_system()
    out = system.root / "out"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        gh = FakeGitHub(rsps, _many_runs(system) if "page" in case else system.runs())
        breaker(system, gh, http_server)
        code = main(audit_args(system.config, out))
    cap = capsys.readouterr()
    assert "Traceback" not in cap.out + cap.err
    assert code == 2, cap.err
    doc = system.report(out)
    src = next(s for s in doc["sources"] if s["name"] == source)
    assert src["status"] == "error" and src["error"]["type"] == error_type, src
    for rule in broken_rules:
        statuses = {f["status"] for f in doc["findings"] if f["rule_id"] == rule}
        assert statuses == {"error"}, (rule, statuses)
        assert any(n["rule_id"] == rule for n in doc["not_evaluated"])
    judged = {f["status"] for f in doc["findings"] if f["rule_id"] == judged_rule}
    assert judged and "error" not in judged, (judged_rule, judged)
    assert "Not evaluated" in (out / "report.md").read_text("utf-8")
    assert "Not evaluated" in (out / "report.html").read_text("utf-8")
    assert (out / "snapshot.json").exists() and no_temp_files(out) == []
    if "page" in case:
        assert any("page=2" in f"{c.path}?{c.params}" or c.params.get("page") == "2" for c in gh.calls)


def test_github_timeout_is_an_error(shared_system, capsys):
    system = shared_system()
    out = system.root / "out"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.GET, re.compile(r"https://api\.github\.com/.*"),
                 body=requests.exceptions.ReadTimeout("Read timed out. (read timeout=30)"))
        code = main(audit_args(system.config, out))
    capsys.readouterr()
    doc = system.report(out)
    src = next(s for s in doc["sources"] if s["name"] == "github")
    assert code == 2 and src["error"]["type"] == "GitHubUnreachable" and src["requests"] == 4
    assert {f["status"] for f in doc["findings"] if f["rule_id"] == "APIMCP-001"} == {"error"}


def test_github_transient_502_is_retried_and_judged(shared_system, capsys):
    """One 502 then the page: retried, not an error; the retry is a warning in the report."""
    system = shared_system()
    out = system.root / "out"
    with responses.RequestsMock() as rsps:
        gh = FakeGitHub(rsps, system.runs())
        gh.fail(502, times=1)
        code = main(audit_args(system.config, out))
    capsys.readouterr()
    doc = system.report(out)
    src = next(s for s in doc["sources"] if s["name"] == "github")
    assert code == 1 and src["status"] == "ok" and src["requests"] == 2
    assert any("retried" in w for w in src["warnings"])
    assert {f["status"] for f in doc["findings"] if f["rule_id"] == "APIMCP-001"} == {"pass", "fail"}
