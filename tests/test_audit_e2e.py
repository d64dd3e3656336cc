"""`compliance audit` end to end through the CLI: a real git repository, AWS as moto's server over
real HTTP, GitHub as `responses` serving documented payloads, the capability endpoint as a real
loopback server. Then the same with sources failing: `error`, never `pass`, and exit code 2."""

from __future__ import annotations

import pytest
import responses

from compliance.cli import main
from tests import moto_env
from tests.github_payloads import FakeGitHub
from tests.live_system import runs_for
from tests.reportfile import read_report


@pytest.fixture
def system(make_system):
    """The governed system, live (tests/live_system.py), with one more deploy request, for a static site:
    returns (config path, shas, capability server)."""
    built = make_system(more_requests=[moto_env.dm_request("REQ-20260302T101500Z-d4e5f6", "included",
                                                           "github_public_static", files=["frontend/app.js"])])
    return built.config, built.shas, built.probe


def _audit(config, out):
    return main(["audit", "--config", str(config), "--since", "2026-02-21", "--until", "2026-03-31",
                 "--out", str(out)])


def _by_rule(out):
    doc = read_report(out / "report.json")
    verdicts: dict[str, dict[str, str]] = {}
    for f in doc["findings"]:
        verdicts.setdefault(f["rule_id"], {})[f["subject"]] = f["status"]
    return doc, verdicts


def test_audit_against_live_endpoints(system, tmp_path):
    config, s, probe = system
    with responses.RequestsMock() as rsps:
        gh = FakeGitHub(rsps, runs_for(s))
        code = _audit(config, tmp_path / "out")
    doc, v = _by_rule(tmp_path / "out")
    assert code == 1, doc["not_evaluated"]  # failures, and every rule could be evaluated
    assert v["APIMCP-001"] == {s["pr"][:12]: "pass", s["squash"][:12]: "pass", s["direct"][:12]: "fail"}
    assert v["APIMCP-002"] == {"REQ-20260301T101500Z-a1b2c3": "fail"}
    assert v["APIMCP-003"] == {moto_env.FUNCTION: "pass"}  # moto's Lambda is always Active/Successful
    assert v["APIMCP-004"] == {moto_env.FUNCTION: "fail"}  # created now, by no canonical run: out of band
    # the deploy manager's CodeBuild role updated the function: CloudTrail (the trail in moto's S3) says who
    assert v["APIMCP-013"] == {"UpdateFunctionCode20150331v2@2026-03-18T18:20:00Z": "fail",
                               "UpdateFunctionCode20150331v2@2026-02-26T12:03:00Z": "pass"}  # inside run 9001
    proved = next(f for f in doc["findings"] if f["rule_id"] == "APIMCP-001" and f["subject"] == s["squash"][:12])
    assert "proof: principal" in proved["message"]  # the pipeline's upload read from the trail in moto's S3
    assert set(v["APIMCP-005"].values()) == {"pass"} and len(v["APIMCP-005"]) >= 5
    assert v["APIMCP-006"] == {f"{probe.url}/api/v1/coordination/capabilities": "pass"}
    assert v["APIMCP-007"][f"ENC-TSK-325@{s['pr'][:12]}"] == "pass"
    assert v["APIMCP-007"][f"ENC-TSK-326@{s['squash'][:12]}"] == "fail"
    sources = {src["name"]: src for src in doc["sources"]}
    assert all(src["status"] == "ok" for src in sources.values())
    assert sources["github"]["requests"] == len(gh.calls) == 1  # one page, no call per commit
    assert sources["tracker"]["requests"] == 1  # one BatchGetItem for the affected tasks
    assert sources["lambda"]["requests"] >= 1 and sources["probe"]["requests"] == 1
    assert ("GET", "/api/v1/coordination/capabilities") in probe.seen
    text = "".join(p.read_text("utf-8") for p in (tmp_path / "out").iterdir() if p.is_file())
    assert "ghp_" not in text and "e2e0e2e0" not in text  # the token never reaches a report

    # a repeat audit spends conditional requests: the page comes back 304
    with responses.RequestsMock() as rsps:
        gh = FakeGitHub(rsps, runs_for(s))
        assert _audit(config, tmp_path / "again") == 1
    doc2, _ = _by_rule(tmp_path / "again")
    github = next(src for src in doc2["sources"] if src["name"] == "github")
    assert github["cached"] == 1 and [c.status for c in gh.calls] == [304]
    def verdicts(d):
        return [(f["rule_id"], f["subject"], f["status"]) for f in d["findings"]]

    assert verdicts(doc2) == verdicts(doc)  # messages may differ: the probe's latency is measured anew


def test_failing_sources_give_errors_and_the_rest_is_judged(system, tmp_path, monkeypatch):
    config, s, _ = system
    text = config.read_text("utf-8") + (
        f"sources:\n  lambda: {{endpoint_url: 'http://127.0.0.1:{moto_env.closed_port()}', timeout_seconds: 1}}\n")
    config.write_text(text, "utf-8")
    with responses.RequestsMock() as rsps:
        gh = FakeGitHub(rsps, runs_for(s))
        gh.fail(500, times=10)
        code = _audit(config, tmp_path / "out")
    doc, v = _by_rule(tmp_path / "out")
    assert code == 2
    sources = {src["name"]: src for src in doc["sources"]}
    assert sources["github"]["status"] == "error" and sources["github"]["error"]["type"] == "GitHubServerError"
    assert sources["lambda"]["status"] == "error" and sources["lambda"]["error"]["type"] == "EndpointUnreachable"
    assert set(v["APIMCP-001"].values()) == {"error"}  # needs runs
    assert set(v["APIMCP-003"].values()) == {"error"} and set(v["APIMCP-004"].values()) == {"error"}
    assert set(v["APIMCP-005"].values()) == {"pass"}  # routes still judged
    assert v["APIMCP-002"] == {"REQ-20260301T101500Z-a1b2c3": "fail"}
    assert {n["rule_id"] for n in doc["not_evaluated"]} >= {"APIMCP-001", "APIMCP-003", "APIMCP-004"}
    assert (tmp_path / "out" / "report.html").exists() and (tmp_path / "out" / "snapshot.json").exists()
