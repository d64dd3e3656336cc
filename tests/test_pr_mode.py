"""`compliance pr`: a pull request judged before merge on a real repository, with GitHub as `responses`
serving the PR, its files and the Checks API."""

from __future__ import annotations

import json
from pathlib import Path

import responses

from compliance.cli import main
from tests.github_payloads import REPO, WORKFLOW_PATH, FakeGitHub, pull_request
from tests.pr_system import ROOT
from tests.pr_system import pr_file as _file
from tests.reportfile import read_report

API = "https://api.github.com:443"


def _verdicts(out: Path) -> dict[str, dict[str, str]]:
    doc = read_report(out / "report.json")
    v: dict[str, dict[str, str]] = {}
    for f in doc["findings"]:
        v.setdefault(f["rule_id"], {})[f["subject"]] = f["status"]
    return v


def test_a_clean_pr_passes_and_deploy_rules_wait_for_the_audit(setup, tmp_path):
    config, repo, s, _ = setup
    pr = pull_request(42, changed_files=2, head_sha=s["direct"], body="Refs ENC-TSK-734")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        FakeGitHub(rsps, pr=pr, files=[_file("tools/enceladus-mcp-server/server.py"), _file("README.md")])
        code = main(["pr", "--config", str(config), "--pr", "42", "--out", str(tmp_path / "out")])
    v = _verdicts(tmp_path / "out")
    assert code == 0
    assert v["APIMCP-012"] == {s["direct"][:12]: "pass"}  # ENC-TSK-734 from the body and branch
    assert v["APIMCP-008"] == {WORKFLOW_PATH: "pass"}
    for rule in ("APIMCP-001", "APIMCP-003", "APIMCP-005", "APIMCP-006", "APIMCP-007"):
        assert set(v[rule].values()) == {"not_applicable"}, rule
    doc = read_report(tmp_path / "out" / "report.json")
    na = next(f for f in doc["findings"] if f["rule_id"] == "APIMCP-003")
    assert "not judged on a pull request" in na["message"]


def test_a_drifting_pr_fails_with_annotations_on_a_check_run(setup, tmp_path):
    config, repo, s, drift = setup
    pr = pull_request(43, changed_files=1, head_sha=drift, body="no task here")
    pr["title"], pr["head"]["ref"] = "Tidy the workflow", "chore/tidy"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        FakeGitHub(rsps, pr=pr, files=[_file("tools/enceladus-mcp-server/server.py")])
        rsps.add(responses.POST, f"{API}/repos/{REPO}/check-runs", status=201, json={
            "id": 5, "head_sha": drift, "status": "completed", "conclusion": "failure", "name": "compliance",
            "url": f"https://api.github.com/repos/{REPO}/check-runs/5",
            "html_url": f"https://github.com/{REPO}/runs/5", "output": {"title": "t", "summary": "s"}})
        code = main(["pr", "--config", str(config), "--pr", "43", "--out", str(tmp_path / "out"),
                     "--publish", "check-run", "--sarif", str(tmp_path / "c.sarif")])
        posted = [c for c in rsps.calls if c.request.method == "POST"]
    assert code == 1
    v = _verdicts(tmp_path / "out")
    assert v["APIMCP-012"] == {drift[:12]: "fail"}
    assert v["APIMCP-008"] == {WORKFLOW_PATH: "fail"}  # the PR's own workflow no longer covers its file
    assert len(posted) == 1
    sent = json.loads(posted[0].request.body)
    assert sent["head_sha"] == drift
    notes = sent["output"]["annotations"]
    assert any(n["path"] == WORKFLOW_PATH and n["start_line"] == 5 for n in notes)
    sarif = json.loads((tmp_path / "c.sarif").read_text("utf-8"))
    assert any(r["ruleId"] == "APIMCP-008" for r in sarif["runs"][0]["results"])


def test_pr_number_from_the_event_payload_and_soft_fail(setup, tmp_path, monkeypatch):
    config, repo, s, drift = setup
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "opened", "number": 44, "pull_request": {"number": 44}}), "utf-8")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    pr = pull_request(44, changed_files=1, head_sha=drift, body=None)
    pr["title"], pr["head"]["ref"] = "Tidy", "chore/tidy"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        FakeGitHub(rsps, pr=pr, files=[_file("tools/enceladus-mcp-server/server.py")])
        assert main(["pr", "--config", str(config), "--out", str(tmp_path / "out"), "--soft-fail"]) == 0
    assert "APIMCP-008" in summary.read_text("utf-8")


def test_unreadable_pr_is_an_input_error(setup, tmp_path, capsys):
    config, *_ = setup
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        FakeGitHub(rsps)
        assert main(["pr", "--config", str(config), "--pr", "404", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "cannot read PR #404" in err and "pr00" not in err
    assert not (tmp_path / "out").exists()


def test_a_pr_snapshot_records_deferred_sources_and_judges_the_same_offline(setup, tmp_path):
    """The engine knows no mode: what a pull request defers is data in its snapshot, so re-judging
    the saved snapshot offline gives the PR run's verdicts, messages included."""
    config, repo, s, _ = setup
    pr = pull_request(45, changed_files=2, head_sha=s["direct"], body="Refs ENC-TSK-734")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        FakeGitHub(rsps, pr=pr, files=[_file("tools/enceladus-mcp-server/server.py"), _file("README.md")])
        assert main(["pr", "--config", str(config), "--pr", "45", "--out", str(tmp_path / "out")]) == 0
    snap = json.loads((tmp_path / "out" / "snapshot.json").read_text("utf-8"))
    deferred = {n: src for n, src in snap["sources"].items() if src["status"] == "deferred"}
    assert set(deferred) == {"github", "lambda", "apigateway", "tracker", "probe", "cloudtrail"}
    assert all(src["reason"].startswith("not judged on a pull request") and src["data"] is None
               for src in deferred.values())
    assert snap["sources"]["git"]["status"] == "ok" and snap["sources"]["deploy_manager"]["status"] == "ok"
    code = main(["evaluate", "--snapshot", str(tmp_path / "out" / "snapshot.json"), "--policies",
                 str(ROOT / "policies"), "--out", str(tmp_path / "offline")])
    assert code == 0
    live = read_report(tmp_path / "out" / "report.json")
    offline = read_report(tmp_path / "offline" / "report.json")
    keep = ("rule_id", "subject", "status", "message")
    assert [{k: f[k] for k in keep} for f in offline["findings"]] == [{k: f[k] for k in keep}
                                                                      for f in live["findings"]]
    assert {f["status"] for f in live["findings"] if f["rule_id"] == "APIMCP-006"} == {"not_applicable"}
    # a deferred source is not a failed one: the report's source table lists only what was collected
    assert {src["name"] for src in live["sources"]} == {"git", "deploy_manager", "runbook"}  # runbook: before merge
    # a PR snapshot saved before deferred sources were data (they were just left out) keeps its verdicts
    old = {**snap, "sources": {n: src for n, src in snap["sources"].items() if n not in deferred}}
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "snapshot.json").write_text(json.dumps(old), "utf-8")
    assert main(["evaluate", "--snapshot", str(tmp_path / "old" / "snapshot.json"), "--policies",
                 str(ROOT / "policies"), "--out", str(tmp_path / "old-offline")]) == 0
    legacy = read_report(tmp_path / "old-offline" / "report.json")
    assert [{k: f[k] for k in keep} for f in legacy["findings"]] == [{k: f[k] for k in keep}
                                                                      for f in live["findings"]]
