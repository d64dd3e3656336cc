"""Bad input never crashes, never half-writes, and always says where it is.

Every case goes through ``compliance.cli.main`` as a user would run it: the exit code is the
documented one (2 for invalid input or anything that could not be evaluated), stderr names the
file and the place (``FILE:LINE:COL:`` for YAML, the JSON pointer for JSON), no traceback is
printed, and the ``--out`` folder holds no partial file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import responses

from compliance.cli import main
from tests import moto_env
from tests.github_payloads import REPO, WORKFLOW_PATH, FakeGitHub
from tests.live_system import POLICIES, audit_args, no_temp_files
from tests.reportfile import read_report
from tests.scenario import build_repo
from tests.snapshot_docs import good_snapshot as _good
from tests.snapshot_docs import snapshot_doc as _snapshot

RULE = """version: 1
rules:
  - id: T-001
    title: t
    severity: high
    rationale: r
    runbook_section: S
    scope: {include: ["backend/**"]}
    checks:
      - kind: tracker_ref
    remediation: {text: fix}
"""
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
    for p, c in zip("abcdefgh", "bcdefghi", strict=True))
HUGE = "version: 1\n# " + "x" * 2_100_000 + "\n"


def _run(capsys, argv: list[str]) -> tuple[int, str, str]:
    code = main(argv)
    cap = capsys.readouterr()
    assert "Traceback" not in cap.out + cap.err
    return code, cap.out, cap.err


def _write(path: Path, content: str | bytes) -> Path:
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


# --------------------------------------------------------------------------- rule files

RULE_CASES = {
    "yaml-syntax": (RULE.replace("  - id: T-001", "  - id: [T-001"), 4, "YAML syntax error"),
    "wrong-type": (RULE.replace("title: t", "title: [t]"), 4, "expected a string"),
    "unknown-key": (RULE.replace("title: t", "titel: t"), 4, "did you mean 'title'"),
    "duplicate-key": (RULE.replace("title: t", "title: t\n    title: u"), 5, "duplicate key 'title'"),
    "invalid-glob": (RULE.replace('"backend/**"', '"backend/[**"'), 8, "invalid glob"),
    "invalid-regex": (RULE.replace("kind: tracker_ref", "kind: tracker_ref\n        pattern: 'ENC-(TSK'"), 11,
                      "invalid regular expression"),
    "unknown-kind": (RULE.replace("tracker_ref", "tracker_refs"), 10, "tracker_ref"),
    "alias-bomb": (BOMB, 1, "anchors and aliases are not allowed"),
    "huge": (HUGE, 1, "too large"),
    "non-utf8": (RULE.encode() + b"# caf\xe9\n", 12, "not valid UTF-8"),
    "empty": ("", 1, "file is empty"),
    "not-a-mapping": ("- just\n- a list\n", 1, "expected a mapping"),
}


@pytest.mark.parametrize("case", sorted(RULE_CASES))
def test_bad_rule_file(tmp_path, capsys, case):
    content, line, words = RULE_CASES[case]
    path = _write(tmp_path / "rules.yaml", content)
    code, _, err = _run(capsys, ["rules", "validate", str(path)])
    assert code == 2
    assert f"{path}:{line}:" in err and words in err, err
    assert "compliance: invalid rules" in err


def test_duplicate_rule_ids_across_files(tmp_path, capsys):
    a = _write(tmp_path / "a.yaml", RULE)
    b = _write(tmp_path / "b.yaml", RULE)
    code, _, err = _run(capsys, ["rules", "validate", str(tmp_path)])
    assert code == 2
    assert f"{a}:3:" in err and f"{b}:3:" in err and "duplicate rule id 'T-001'" in err


def test_missing_rules_path(tmp_path, capsys):
    code, _, err = _run(capsys, ["rules", "validate", str(tmp_path / "nope")])
    assert code == 2 and "rules path not found" in err and str(tmp_path / "nope") in err


# --------------------------------------------------------------------------- config files

CONFIG = f"""version: 1
target:
  repo: enceladus
  branch: main
  function: {moto_env.FUNCTION}
policies: [{POLICIES}]
"""
CONFIG_CASES = {
    "yaml-syntax": (CONFIG.replace("branch: main", "branch: 'main"), 7, "YAML syntax error"),
    "wrong-type": (CONFIG.replace("branch: main", "branch: [main]"), 4, "expected a string"),
    "unknown-key": (CONFIG.replace("branch: main", "branch: main\n  fucntion: x"), 5, "did you mean 'function'"),
    "duplicate-key": (CONFIG.replace("branch: main", "branch: main\n  branch: dev"), 5, "duplicate key 'branch'"),
    "invalid-regex": (CONFIG.replace("branch: main", "branch: main\n  task_id_pattern: '[a-'"), 5,
                      "invalid regular expression"),
    "alias-bomb": (BOMB, 1, "anchors and aliases are not allowed"),
    "huge": (HUGE, 1, "too large"),
    "non-utf8": (CONFIG.encode().replace(b"main", b"m\xffin", 1), 4, "not valid UTF-8"),
    "secret": (CONFIG.replace("branch: main", "branch: main\n  github_token: x"), 5, "looks like a secret"),
    "missing-branch": (CONFIG.replace("  branch: main\n", ""), 3, "missing required key 'branch'"),
    "unknown-source": (CONFIG + "sources: {lamda: {file: x.json}}\n", 7, "did you mean 'lambda'"),
}


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
def test_bad_config_file(tmp_path, capsys, case):
    content, line, words = CONFIG_CASES[case]
    path = _write(tmp_path / "compliance.yaml", content)
    out = tmp_path / "out"
    code, _, err = _run(capsys, audit_args(path, out))
    assert code == 2
    assert f"{path}:{line}:" in err and words in err, err
    assert "nothing was evaluated" in err
    assert not out.exists()  # refused before anything was collected or written


# --------------------------------------------------------------------------- waiver files

WAIVER = """version: 1
waivers:
  - rule: APIMCP-001
    subject: {sha: abcdef1}
    owner: lead@example.com
    reason: incident
    ticket: ENC-ISS-702
    created: 2026-03-01
    expires: 2026-04-01
"""
WAIVER_CASES = {
    "yaml-syntax": (WAIVER.replace("reason: incident", "reason: [incident"), 7, "YAML syntax error"),
    "unknown-rule": (WAIVER.replace("APIMCP-001", "APIMCP-01"), 3, "did you mean"),
    "duplicate-key": (WAIVER.replace("reason: incident", "reason: incident\n    reason: again"), 7,
                      "duplicate key 'reason'"),
    "wrong-type": (WAIVER.replace("{sha: abcdef1}", "{pr: one}"), 4, "expected an integer"),
    "bad-sha": (WAIVER.replace("abcdef1", "xyz"), 4, "does not match"),
    "invalid-glob": (WAIVER.replace("{sha: abcdef1}", "{path: 'backend/[**'}"), 4, "invalid"),
    "too-long": (WAIVER.replace("2026-04-01", "2027-04-01"), 9, "maximum is 90"),
    "no-expiry": (WAIVER.replace("    expires: 2026-04-01\n", ""), 3, "missing required key 'expires'"),
    "alias-bomb": (BOMB, 1, "anchors and aliases are not allowed"),
    "non-utf8": (WAIVER.encode().replace(b"incident", b"incid\xe9nt"), 6, "not valid UTF-8"),
}


@pytest.mark.parametrize("case", sorted(WAIVER_CASES))
def test_bad_waiver_file(tmp_path, capsys, case):
    content, line, words = WAIVER_CASES[case]
    waivers = _write(tmp_path / "waivers.yaml", content)
    snap = _write(tmp_path / "snapshot.json", json.dumps(_snapshot()))
    out = tmp_path / "out"
    code, _, err = _run(capsys, ["evaluate", "--snapshot", str(snap), "--policies", str(POLICIES),
                                 "--waivers", str(waivers), "--out", str(out)])
    assert code == 2
    assert f"{waivers}:{line}:" in err and words in err, err
    assert "compliance: invalid waivers" in err
    assert not out.exists()


# --------------------------------------------------------------------------- snapshots

SNAPSHOT_CASES = {
    "not-json": (b'{"snapshot_version": 1,\n  "tool": }', "2:11", "invalid JSON"),
    "empty": (b"", "1:1", "invalid JSON"),
    "non-utf8": (b'{"a": "\xff"}', "1:1", "not UTF-8"),
    "wrong-version": (json.dumps({**_snapshot(), "snapshot_version": 9}).encode(), "at /snapshot_version", ""),
    "missing-window": (json.dumps({k: v for k, v in _snapshot().items() if k != "window"}).encode(), "at /:",
                       "'window' is a required property"),
    "bad-source-status": (json.dumps(_snapshot(lambda_={"status": "maybe"})).replace("lambda_", "lambda").encode(),
                          "at /sources/lambda", ""),
    "null-data": (json.dumps(_snapshot(git={"status": "ok", "provenance": {}, "data": None, "error": None})).encode(),
                  "at /sources/git", ""),
    "deep-nesting": (b"[" * 100_000 + b"]" * 100_000, "1:1", ""),
    "a-list": (b"[]", "at /:", "is not of type 'object'"),
}


@pytest.mark.parametrize("case", sorted(SNAPSHOT_CASES))
def test_bad_snapshot(tmp_path, capsys, case):
    content, where, words = SNAPSHOT_CASES[case]
    snap = _write(tmp_path / "snapshot.json", content)
    out = tmp_path / "out"
    code, _, err = _run(capsys, ["evaluate", "--snapshot", str(snap), "--policies", str(POLICIES),
                                 "--out", str(out)])
    assert code == 2
    assert str(snap) in err and where in err and words in err, err
    assert "compliance: invalid snapshot" in err
    assert not out.exists()


def test_missing_snapshot(tmp_path, capsys):
    code, _, err = _run(capsys, ["evaluate", "--snapshot", str(tmp_path / "nope.json"), "--policies",
                                 str(POLICIES), "--out", str(tmp_path / "out")])
    assert code == 2 and f"cannot read snapshot {tmp_path / 'nope.json'}" in err


# --------------------------------------------------------------------------- source data files

@pytest.fixture(scope="module")
def repo_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("repo") / "enceladus"
    build_repo(path)
    return path


GOOD_LAMBDA = {"function": moto_env.FUNCTION, "configuration": {
    "FunctionName": moto_env.FUNCTION, "State": "Active", "LastUpdateStatus": "Successful",
    "LastModified": "2026-02-26T12:05:00.000+0000"}}
SOURCE_FILE_CASES = {
    "lambda-missing-configuration": ("lambda", {"function": moto_env.FUNCTION}, "/"),
    "lambda-null-configuration": ("lambda", {**GOOD_LAMBDA, "configuration": None}, "/configuration"),
    "lambda-state-wrong-type": ("lambda", {**GOOD_LAMBDA, "configuration": {
        **GOOD_LAMBDA["configuration"], "State": 1}}, "/configuration/State"),
    "lambda-not-json": ("lambda", b"{'State': 'Active'}", ":1:2:"),
    "lambda-non-utf8": ("lambda", b'{"function": "\xff"}', "UTF-8"),
    "github-runs-null": ("github", {"repository": "a/b", "workflow": ".github/workflows/x.yml", "runs": None},
                         "/runs"),
    "github-run-missing-fields": ("github", {"repository": "a/b", "workflow": ".github/workflows/x.yml",
                                             "runs": [{"id": 1}]}, "/runs/0"),
    "tracker-items-wrong-type": ("tracker", {"table": "t", "project": "p", "items": [], "missing": []}, "/items"),
    "apigateway-routes-null": ("apigateway", {"api": {"ApiId": "abc"}, "routes": None, "integrations": []},
                               "/routes"),
    "deploy-manager-empty-object": ("deploy_manager", {}, "/"),
}
NEEDS = {"lambda": "APIMCP-003", "github": "APIMCP-001", "tracker": "APIMCP-007", "apigateway": "APIMCP-005",
         "deploy_manager": "APIMCP-002"}


@pytest.fixture
def refusing_aws(offline_aws, http_server, monkeypatch):
    """AWS that refuses every request at once (403 AccessDenied), for audits whose AWS sources only have to
    fail: at ``offline_aws``'s closed port botocore retried each connection with back-off, ~0.35 s of
    sleeping per test. A refusal is not retried; the sources still fail and their rules are still `error`."""
    body = b'{"__type": "AccessDeniedException", "Message": "refused by the test", "message": "refused by the test"}'
    server = http_server(lambda _: (403, {"Content-Type": "application/json",
                                          "x-amzn-ErrorType": "AccessDeniedException"}, body))
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    return server


@pytest.mark.parametrize("case", sorted(SOURCE_FILE_CASES))
def test_bad_source_data_file(tmp_path, capsys, repo_path, case, refusing_aws):
    """A malformed data file is a failed source: its rules are `error`, never judged on half the data."""
    source, content, where = SOURCE_FILE_CASES[case]
    data = _write(tmp_path / f"{source}.json", content if isinstance(content, bytes) else json.dumps(content))
    config = _write(tmp_path / "compliance.yaml", CONFIG.replace("repo: enceladus", f"repo: {repo_path}") +
                    f"sources: {{{source}: {{file: {data}}}}}\n")
    out = tmp_path / "out"
    code, stdout, _ = _run(capsys, audit_args(config, out))
    assert code == 2
    doc = read_report(out / "report.json")
    src = next(s for s in doc["sources"] if s["name"] == source)
    assert src["status"] == "error" and str(data) in src["error"]["message"] and where in src["error"]["message"], src
    statuses = {f["status"] for f in doc["findings"] if f["rule_id"] == NEEDS[source]}
    assert statuses == {"error"}, statuses
    assert str(data) in stdout  # the summary line says which file failed
    assert no_temp_files(out) == []
    # the config names a function and no other AWS resource: the Lambda is the one live AWS source, asked
    # (and refused) unless its data is the file under test
    assert bool(refusing_aws.seen) == (source != "lambda"), refusing_aws.seen


# --------------------------------------------------------------------------- API payloads

def _runs_answer(body) -> str:
    return body if isinstance(body, str) else json.dumps(body)


GITHUB_PAYLOAD_CASES = {
    "no-workflow-runs-key": ({"total_count": 3}, "error"),
    "workflow-runs-null": ({"total_count": 3, "workflow_runs": None}, "error"),
    "workflow-runs-a-string": ({"total_count": 3, "workflow_runs": "x"}, "error"),
    "body-a-list": ([], "error"),
    "not-json": ("<html>Unicorn!</html>", "error"),
    "empty-page": ({"total_count": 0, "workflow_runs": []}, "fail"),
    "run-with-nulls": ({"total_count": 1, "workflow_runs": [
        {"id": 5, "head_sha": None, "status": None, "conclusion": None, "created_at": None, "updated_at": None,
         "head_branch": None, "path": None}]}, "error"),
    "run-with-wrong-types": ({"total_count": 1, "workflow_runs": [
        {"id": 6, "head_sha": 12345, "status": ["completed"], "conclusion": {"a": 1}, "created_at": 7,
         "updated_at": "yesterday", "head_branch": 3}]}, "error"),
}


@pytest.mark.parametrize("case", sorted(GITHUB_PAYLOAD_CASES))
def test_github_payloads_never_read_as_deployed(tmp_path, repo_path, monkeypatch, capsys, case):
    """Whatever GitHub answers, APIMCP-001 is never a pass without a real successful run behind it.

    Only git and GitHub are collected live (AWS sources off, no worklogs): the payload is what is on trial.
    """
    body, expected = GITHUB_PAYLOAD_CASES[case]
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_" + "bad0" * 9)
    monkeypatch.setenv("COMPLIANCE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr("compliance.sources.github_client.time.sleep", lambda s: None)
    off = ", ".join(f"{n}: {{enabled: false}}" for n in ("lambda", "apigateway", "deploy_manager", "probe"))
    tracker = _write(tmp_path / "tracker.json", json.dumps({"table": "t", "project": "p", "items": {}, "missing": []}))
    off += f", tracker: {{file: {tracker}}}"
    target = CONFIG.replace("repo: enceladus", f"repo: {repo_path}").replace(
        "branch: main\n", f"branch: main\n  github_repo: {REPO}\n  workflow: {WORKFLOW_PATH}\n")
    config = _write(tmp_path / "compliance.yaml", target + f"sources: {{{off}}}\n")
    out = tmp_path / "out"
    with responses.RequestsMock() as rsps:
        gh = FakeGitHub(rsps, [])
        gh.fail(200, body=_runs_answer(body), match="/runs", times=10)
        code, _, err = _run(capsys, audit_args(config, out))
    assert code in (1, 2), err
    doc = read_report(out / "report.json")
    statuses = {f["status"] for f in doc["findings"] if f["rule_id"] == "APIMCP-001"}
    assert "pass" not in statuses and expected in statuses, statuses
    if expected == "error":
        assert code == 2 and any(n["rule_id"] == "APIMCP-001" for n in doc["not_evaluated"])
    assert (out / "snapshot.json").exists() and no_temp_files(out) == [], err


def test_odd_tracker_and_deploy_manager_items(make_system, capsys):
    """Items the tables may really hold (no history, history not a list, numbers for text, no status)."""
    system = make_system()
    import boto3

    tracker = boto3.resource("dynamodb", region_name=moto_env.REGION).Table(moto_env.TRACKER_TABLE)
    tracker.put_item(Item={"project_id": moto_env.PROJECT, "record_id": "task#ENC-TSK-326", "item_id": "ENC-TSK-326",
                           "history": "not a list", "commit_sha": 42})
    tracker.put_item(Item={"project_id": moto_env.PROJECT, "record_id": "task#ENC-TSK-325", "item_id": "ENC-TSK-325",
                           "history": [{"status": "worklog"}, {"description": None}, "text", 7]})
    dm = boto3.resource("dynamodb", region_name=moto_env.REGION).Table(moto_env.DM_TABLE)
    dm.put_item(Item={"project_id": moto_env.PROJECT, "record_id": "request#REQ-20260305T101500Z-ffffff"})
    out = system.root / "out"
    with responses.RequestsMock() as rsps:
        FakeGitHub(rsps, system.runs())
        code, _, _ = _run(capsys, audit_args(system.config, out))
    assert code in (1, 2)
    doc = system.report(out)
    apimcp7 = {f["subject"]: f["status"] for f in doc["findings"] if f["rule_id"] == "APIMCP-007"}
    assert apimcp7 and "pass" not in apimcp7.values(), apimcp7  # no usable worklog: never a pass
    assert no_temp_files(out) == []


# --------------------------------------------------------------------------- git problems

def test_not_a_repository(tmp_path, capsys):
    (tmp_path / "plain").mkdir()
    code, _, err = _run(capsys, ["changes", "--repo", str(tmp_path / "plain"), "--since", "2026-02-01"])
    assert code == 2 and "compliance: error:" in err and str(tmp_path / "plain") in err, err


def test_repository_missing(tmp_path, capsys):
    code, _, err = _run(capsys, ["changes", "--repo", str(tmp_path / "nope"), "--since", "2026-02-01"])
    assert code == 2 and "compliance: error:" in err and str(tmp_path / "nope") in err, err


def test_missing_branch(repo_path, capsys):
    code, _, err = _run(capsys, ["changes", "--repo", str(repo_path), "--branch", "release", "--since", "2026-02-01"])
    assert code == 2 and "release" in err, err


def test_missing_branch_in_audit_is_an_error_finding(tmp_path, repo_path, capsys, refusing_aws):
    config = _write(tmp_path / "compliance.yaml", CONFIG.replace("repo: enceladus", f"repo: {repo_path}")
                    .replace("branch: main", "branch: release"))
    out = tmp_path / "out"
    code, stdout, _ = _run(capsys, audit_args(config, out))
    assert code == 2
    doc = read_report(out / "report.json")
    git = next(s for s in doc["sources"] if s["name"] == "git")
    assert git["status"] == "error" and "release" in git["error"]["message"]
    assert "pass" not in {f["status"] for f in doc["findings"] if f["rule_id"] in ("APIMCP-001", "APIMCP-008")}
    assert refusing_aws.seen


def test_shallow_clone_warns(tmp_path, repo_path, capsys):
    from tests.gitrepo import GitRepo

    shallow = GitRepo(repo_path).clone(tmp_path / "shallow", "--depth", "2", "--no-single-branch")
    code, _, err = _run(capsys, ["changes", "--repo", str(shallow), "--since", "2026-02-01"])
    assert code == 0 and "warning:" in err and "shallow" in err, err


def test_empty_window(repo_path, capsys):
    code, out, err = _run(capsys, ["changes", "--repo", str(repo_path), "--since", "2020-01-01", "--until",
                                   "2020-01-31", "--format", "json"])
    assert code == 0 and out == ""


def test_window_backwards(repo_path, capsys):
    code, _, err = _run(capsys, ["changes", "--repo", str(repo_path), "--since", "2026-03-01", "--until",
                                 "2026-02-01"])
    assert code == 2 and "is after --until" in err


# --------------------------------------------------------------------------- impossible but schema-valid values

def _with(doc: dict, path: tuple, value) -> dict:
    node = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return doc


IMPOSSIBLE_CASES = {
    "commit-date": (("sources", "git", "data", "commits", 1, "committed_at"), "2026-02-30T10:00:00Z",
                    "$.sources.git.data.commits[1].committed_at: not a real date"),
    "author-date": (("sources", "git", "data", "commits", 2, "authored_at"), "2026-13-01T10:00:00Z",
                    "$.sources.git.data.commits[2].authored_at: not a real date"),
    "window-since": (("window", "since"), "2026-02-30T00:00:00Z", "$.window.since: not a real date"),
    "window-until-hour": (("window", "until"), "2026-03-31T24:00:00Z", "$.window.until: not a real date"),
    "collected-at": (("collected_at",), "2026-02-30T00:00:00Z", "$.collected_at: not a real date"),
    "window-backwards": (("window", "until"), "2026-02-01T00:00:00Z",
                         "$.window.until: the window ends (2026-02-01T00:00:00Z) before it starts"),
    "window-overflow": (("window", "until"), "9999-12-31T23:59:59Z", "$.window.until: window bound"),
    "started-at": (("sources", "git", "provenance", "started_at"), "2026-04-31T00:00:00Z",
                   "$.sources.git.provenance.started_at: not a real date"),
}


@pytest.mark.parametrize("case", sorted(IMPOSSIBLE_CASES))
@pytest.mark.parametrize("waivers", [False, True])
def test_impossible_snapshot_values_are_input_errors(tmp_path, capsys, case, waivers):
    """Schema-valid but impossible: exit 2 with the JSON path of the value, and nothing written."""
    where, value, words = IMPOSSIBLE_CASES[case]
    snap = _write(tmp_path / "snapshot.json", json.dumps(_with(_good(), where, value)))
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("previous run", "utf-8")
    extra = ["--waivers", str(_write(tmp_path / "w.yaml", WAIVER))] if waivers else []
    code, _, err = _run(capsys, ["evaluate", "--snapshot", str(snap), "--policies", str(POLICIES),
                                 "--out", str(out), *extra])
    assert code == 2, err
    assert f"{snap}: {words}" in err, err
    assert "compliance: invalid snapshot" in err
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_good_snapshot_control_still_evaluates(tmp_path, capsys):
    snap = _write(tmp_path / "snapshot.json", json.dumps(_good()))
    out = tmp_path / "out"
    code, _, err = _run(capsys, ["evaluate", "--snapshot", str(snap), "--policies", str(POLICIES),
                                 "--out", str(out), "--format", "json"])
    assert code in (0, 1, 2) and "invalid snapshot" not in err, err
    assert (out / "report.json").is_file()


# 1e400 and a 25-digit integer are JSON, but read as Infinity / overflow the arithmetic (found by hostile probes)
@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", "-1E999", "1234567890123456789012345"])
def test_nan_in_snapshot_is_refused_with_its_path(tmp_path, capsys, literal):
    doc = _good()
    doc["sources"]["lambda"] = {"status": "ok", "provenance": {"kind": "file", "requested": "r",
                                "started_at": "2026-03-31T00:00:00Z", "duration_ms": 1, "requests": 0},
                                "data": {"function": moto_env.FUNCTION, "configuration": {
                                    "State": "Active", "LastUpdateStatus": "Successful", "MemorySize": 12345}},
                                "error": None}
    snap = _write(tmp_path / "snapshot.json", json.dumps(doc).replace("12345", literal))
    out = tmp_path / "out"
    code, _, err = _run(capsys, ["evaluate", "--snapshot", str(snap), "--policies", str(POLICIES),
                                 "--out", str(out)])
    assert code == 2, err
    # an overflowing number is JSON, but reads as Infinity (found by a hostile probe: it passed the NaN checks)
    said = "is not a JSON number" if literal[-1].isalpha() else "is beyond what a number can hold"
    assert f"{snap}: $.sources.lambda.data.configuration.MemorySize: {literal} {said}" in err, err
    assert not out.exists()


@pytest.mark.parametrize("literal", ["NaN", "1e400"])
def test_nan_in_source_data_file_is_a_failed_source(tmp_path, capsys, repo_path, literal):
    data = _write(tmp_path / "lambda.json", json.dumps({**GOOD_LAMBDA, "configuration": {
        **GOOD_LAMBDA["configuration"], "MemorySize": 1}}).replace('"MemorySize": 1', f'"MemorySize": {literal}'))
    config = _write(tmp_path / "compliance.yaml", CONFIG.replace("repo: enceladus", f"repo: {repo_path}") +
                    f"sources: {{lambda: {{file: {data}}}}}\n")
    out = tmp_path / "out"
    code, _, _ = _run(capsys, audit_args(config, out))
    assert code == 2
    doc = read_report(out / "report.json")
    src = next(s for s in doc["sources"] if s["name"] == "lambda")
    assert src["status"] == "error" and f"MemorySize: {literal}" in src["error"]["message"], src


def _report(tmp_path: Path, capsys, name: str) -> Path:
    snap = _write(tmp_path / f"{name}.snapshot.json", json.dumps(_good()))
    out = tmp_path / name
    _run(capsys, ["evaluate", "--snapshot", str(snap), "--policies", str(POLICIES), "--out", str(out),
                  "--format", "json"])
    return out / "report.json"


def test_merged_report_with_impossible_date_is_an_input_error(tmp_path, capsys):
    good, bad = _report(tmp_path, capsys, "a"), _report(tmp_path, capsys, "b")
    doc = json.loads(bad.read_text("utf-8"))
    doc["snapshot"]["collected_at"] = "2026-02-30T10:00:00Z"
    doc["snapshot"]["target"]["name"] = "b"
    bad.write_text(json.dumps(doc), "utf-8")
    out = tmp_path / "merged"
    code, _, err = _run(capsys, ["merge", str(good), str(bad), "--out", str(out)])
    assert code == 2, err
    assert f"{bad}: $.snapshot.collected_at: not a real date" in err, err
    assert not out.exists()


def test_merged_report_with_nan_is_an_input_error(tmp_path, capsys):
    good = _report(tmp_path, capsys, "a")
    text = good.read_text("utf-8")
    bad = _write(tmp_path / "nan.json", re.sub(r'"report_version": \d+', '"report_version": NaN', text, count=1))
    assert bad.read_text("utf-8") != text
    code, _, err = _run(capsys, ["merge", str(bad), "--out", str(tmp_path / "merged")])
    assert code == 2 and "NaN is not a JSON number" in err, err


@pytest.mark.parametrize("content, words", [
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b'{"findings": [], "x": NaN}', "$.x: NaN is not a JSON number"),
    (b'{"findings": [], "snapshot": {"collected_at": "2026-02-30T00:00:00Z"}}',
     "$.snapshot.collected_at: not a real date"),
])
def test_bad_previous_report(tmp_path, capsys, content, words):
    snap = _write(tmp_path / "snapshot.json", json.dumps(_good()))
    previous = _write(tmp_path / "previous.json", content)
    out = tmp_path / "out"
    code, _, err = _run(capsys, ["evaluate", "--snapshot", str(snap), "--policies", str(POLICIES),
                                 "--previous", str(previous), "--out", str(out)])
    assert code == 2 and str(previous) in err and words in err, err
    assert not out.exists()


@pytest.mark.parametrize("argv", [
    ["--until", "9999-12-31"],
    ["--until", "0001-01-05"],
    ["--since", "0001-01-01", "--until", "0001-01-05"],
    ["--since", "2026-02-30"],
    ["--until", "9999-12-31T23:59:59Z"],
])
def test_window_arithmetic_never_overflows(repo_path, capsys, argv):
    code, out, err = _run(capsys, ["changes", "--repo", str(repo_path), *argv])
    assert code == 2 and out == "", err
    assert "compliance: error:" in err and ("out of range" in err or "not a date" in err), err


def test_window_bounds_at_the_edges_of_the_range_still_work(repo_path, capsys):
    code, _, err = _run(capsys, ["changes", "--repo", str(repo_path), "--since", "1970-01-01",
                                 "--until", "9998-12-31", "--format", "json"])
    assert code == 0, err
