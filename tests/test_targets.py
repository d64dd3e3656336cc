"""Several targets in one compliance.yaml: validation with locations, one concurrent audit writing
per-target reports plus a merged one, `--target` selection, `compliance targets`, and the CI
matrix workflow that runs one job per target.

The end-to-end audit uses real parts as test_audit_e2e does: two real git repositories, two
functions and two HTTP APIs in moto's server over HTTP, GitHub through `responses`, and the
capability endpoint as a real loopback server (or a closed port, for the target that errors)."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import pytest
import responses

from compliance.base.errors import ComplianceError, InputError
from compliance.cli import main
from compliance.inputs.config import load_config
from compliance.inputs.targets import collect_targets, default_jobs, select_targets
from compliance.model.snapshot import load_schema
from compliance.sources.plan import github_slot
from tests import moto_env
from tests.github_payloads import REPO, WORKFLOW_PATH, FakeGitHub, workflow_run
from tests.reportfile import read_report
from tests.scenario import RUNBOOK_PATH, build_repo
from tests.trail_records import ROLE, TRAIL_BUCKET, create_trail
from tests.workflow_files import load as load_workflow

POLICIES = str(Path(__file__).resolve().parents[1] / "policies")
GOOD_BODY = json.dumps({"success": True, "capabilities": {"contract_version": "0.3.0"}}).encode()
BETA_FUNCTION = "devops-coordination-api-beta"
BETA_API = "devops-tracker-api-beta"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "compliance.yaml"
    path.write_text(text, "utf-8")
    return path


def _problems(path: Path) -> list[str]:
    with pytest.raises(InputError) as info:
        load_config(str(path))
    return [str(p) for p in info.value.problems]


TWO = """version: 1
targets:
  - name: alpha
    repo: alpha-repo
    branch: main
    function: fn-a
  - name: beta
    repo: beta-repo
    branch: main
    function: fn-b
    region: eu-west-1
"""


# --------------------------------------------------------------------------- config


def test_two_targets_load_and_narrow(tmp_path):
    cfg = load_config(str(_write(tmp_path, TWO)))
    assert cfg.target_names == ["alpha", "beta"]
    assert cfg.target == {}  # no command that judges one target can silently take the first
    beta = cfg.for_target("beta")
    assert beta.target["repo"] == str(tmp_path / "beta-repo") and beta.target["region"] == "eu-west-1"
    assert beta.target_names == ["beta"] and beta.policies == cfg.policies


def test_a_single_target_config_is_unchanged(tmp_path):
    cfg = load_config(str(_write(tmp_path, "version: 1\ntarget: {branch: main}\n")))
    assert cfg.target == {"branch": "main"} and cfg.target_names == ["default"]
    assert cfg.for_target("default").target == {"branch": "main"}


@pytest.mark.parametrize("text, expected", [
    (TWO.replace("name: beta", "name: alpha"), ":7:11: duplicate target name 'alpha' (first used on line 3)"),
    (TWO + "target: {branch: main}\n", ":2:1: 'target' and 'targets' together"),
    ("version: 1\npolicies: [p]\n", ":1:1: missing required key 'target' (or 'targets' for several)"),
    (TWO.replace("  - name: beta\n    repo", "  - repo"), ":7:5: missing required key 'name'"),
    (TWO.replace("name: beta", "name: ../beta"), ":7:11:"),
    (TWO.replace("function: fn-b", "fucntion: fn-b"), "did you mean 'function'"),
    (TWO.replace("function: fn-b", "task_id_pattern: '[x'"), ":10:22: invalid regular expression"),
    (TWO.replace("function: fn-b", "github_token: x"), "looks like a secret"),
    ("version: 1\ntargets: []\n", ":2:10:"),
])
def test_invalid_multi_target_configs_are_located(tmp_path, text, expected):
    path = _write(tmp_path, text)
    problems = _problems(path)
    assert any(p.startswith(str(path)) and expected in p for p in problems), problems


def test_an_invalid_config_is_refused_before_anything_runs(tmp_path, capsys):
    path = _write(tmp_path, TWO + "target: {branch: main}\n")
    out = tmp_path / "out"
    assert main(["audit", "--config", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:2:1:" in err and "nothing was evaluated" in err
    assert not out.exists()


def test_targets_command(tmp_path, capsys):
    path = _write(tmp_path, TWO)
    assert main(["targets", "--config", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == ["alpha", "beta"]
    assert main(["targets", "--config", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("alpha") and "function=fn-b" in lines[1] and "region=eu-west-1" in lines[1]


def test_target_selection(tmp_path):
    cfg = load_config(str(_write(tmp_path, TWO)))
    assert select_targets(cfg, None) == ["alpha", "beta"]
    assert select_targets(cfg, ["beta", "alpha", "beta"]) == ["alpha", "beta"]  # config order, once each
    with pytest.raises(ComplianceError, match="no such target 'alpah' \\(did you mean 'alpha'\\?\\)"):
        select_targets(cfg, ["alpah"])


def test_single_target_commands_refuse_an_ambiguous_config(tmp_path, capsys):
    path = _write(tmp_path, TWO + f"policies: [{POLICIES}]\n")
    assert main(["collect", "--config", str(path), "--snapshot", str(tmp_path / "s.json")]) == 2
    assert "pick one with --target NAME" in capsys.readouterr().err
    assert main(["backtest", "--policy", POLICIES, "--config", str(path)]) == 2
    assert "has 2 targets" in capsys.readouterr().err


# --------------------------------------------------------------------------- concurrency


def test_collection_is_concurrent_and_bounded(tmp_path):
    cfg = load_config(str(_write(tmp_path, TWO.replace("version: 1\ntargets:\n", "version: 1\ntargets:\n"
                                                       "  - {name: gamma, branch: main}\n"
                                                       "  - {name: delta, branch: main}\n"))))
    lock = threading.Lock()
    running, peak, seen = [0], [0], []

    def fake_collect(config, ruleset, since, until):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            seen.append(config.target["name"])
        time.sleep(0.1)
        with lock:
            running[0] -= 1
        return {"target": config.target}

    names = cfg.target_names
    got = collect_targets(cfg, None, names, None, None, jobs=2, collect=fake_collect)
    assert peak[0] == 2 and sorted(seen) == sorted(names)
    assert list(got) == names and got["beta"]["target"]["function"] == "fn-b"
    assert default_jobs(1) == 1 and default_jobs(3) == 3 and default_jobs(12) == 4


def test_a_target_that_cannot_be_collected_is_named(tmp_path):
    cfg = load_config(str(_write(tmp_path, TWO)))

    def fake_collect(config, ruleset, since, until):
        if config.target["name"] == "beta":
            raise ComplianceError("repository path /x does not exist")
        return {}

    with pytest.raises(ComplianceError, match="target beta: repository path /x does not exist"):
        collect_targets(cfg, None, cfg.target_names, None, None, jobs=2, collect=fake_collect)


def test_targets_sharing_a_github_token_share_a_bounded_slot(monkeypatch):
    monkeypatch.setenv("COMPLIANCE_GITHUB_CONCURRENCY", "1")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_" + "slot" * 9)
    slot = github_slot()
    assert github_slot() is slot
    assert slot.acquire(blocking=False) and not slot.acquire(blocking=False)  # one at a time
    slot.release()
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_" + "othr" * 9)
    assert github_slot() is not slot  # another token has its own budget


# --------------------------------------------------------------------------- end to end


def _evidence(sha: str, function: str) -> str:
    return (f"Deployed commit {sha[:12]} via api-mcp-backend-deploy; {function} "
            "LastModified=2026-02-26T12:05:00.000+0000 State=Active LastUpdateStatus=Successful; "
            "GET /api/v1/coordination/capabilities -> 200")


def _target_yaml(name: str, repo: str, function: str, api: str, url: str) -> str:
    return f"""  - name: {name}
    repo: {repo}
    github_repo: {REPO}
    branch: main
    workflow: {WORKFLOW_PATH}
    deploy_script: backend/lambda/coordination_api/deploy.sh
    runbook: {RUNBOOK_PATH}
    region: us-west-2
    function: {function}
    http_api: {api}
    capability_url: {url}/api/v1/coordination/capabilities
    tracker: {{table: {moto_env.TRACKER_TABLE}, project: {moto_env.PROJECT}}}
    deploy_manager: {{table: {moto_env.DM_TABLE}, project: {moto_env.PROJECT}}}
    cloudtrail: {{bucket: {TRAIL_BUCKET}, account: '{moto_env.ACCOUNT}'}}
    principals: {{workflow_role: '{ROLE}'}}
"""


@pytest.fixture
def two_targets(tmp_path, aws_env, http_server, monkeypatch):
    """alpha: healthy endpoint, one failing change; beta: its own repo and function, endpoint down."""
    _, sa = build_repo(tmp_path / "alpha-repo")
    beta_repo, sb = build_repo(tmp_path / "beta-repo")
    sb["beta"] = beta_repo.commit("beta-only hotfix",
                                  {"backend/lambda/coordination_api/lambda_function.py": "v = 3\n"},
                                  author_date="2026-03-02T12:00:00+00:00")
    moto_env.create_function()
    moto_env.create_function(BETA_FUNCTION)
    moto_env.create_http_api()
    moto_env.create_http_api(BETA_API, function=BETA_FUNCTION)
    moto_env.create_tracker_table([
        moto_env.tracker_item("ENC-TSK-325", "Capabilities", _evidence(sa["squash"], moto_env.FUNCTION)),
        moto_env.tracker_item("ENC-TSK-326", "MCP dispatch plan"),
    ])
    moto_env.create_deploy_manager_table([])
    create_trail()  # the trail holds no update of either function
    probe = http_server(lambda h: (200, {"Content-Type": "application/json"}, GOOD_BODY))
    closed = f"http://127.0.0.1:{moto_env.closed_port()}"
    config = _write(tmp_path, "version: 1\ntargets:\n"
                    + _target_yaml("alpha", "alpha-repo", moto_env.FUNCTION, moto_env.HTTP_API, probe.url)
                    + _target_yaml("beta", "beta-repo", BETA_FUNCTION, BETA_API, closed)
                    + f"policies: [{POLICIES}]\nsources:\n  probe: {{timeout_seconds: 2}}\n")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_" + "e2e1" * 9)
    monkeypatch.setenv("COMPLIANCE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr("compliance.sources.github_client.time.sleep", lambda s: None)
    runs = [workflow_run(9001, datetime(2026, 2, 26, 12, 1, tzinfo=timezone.utc), sha=sa["squash"],
                         conclusion="success")]
    return SimpleNamespace(config=config, alpha=sa, beta=sb, runs=runs)


def _audit(config: Path, out: Path, *extra: str) -> int:
    return main(["audit", "--config", str(config), "--since", "2026-02-21", "--until", "2026-03-31",
                 "--out", str(out), *extra])


def _json(path: Path) -> dict:
    return read_report(path)


def test_two_targets_audited_in_one_run(two_targets, tmp_path, capsys):
    out = tmp_path / "out"
    with responses.RequestsMock() as rsps:
        FakeGitHub(rsps, two_targets.runs)
        code = _audit(two_targets.config, out, "--jobs", "2", "--format", "md,html,json,sarif,junit")
    alpha, beta, merged = _json(out / "alpha" / "report.json"), _json(out / "beta" / "report.json"), \
        _json(out / "report.json")
    assert alpha["summary"]["exit_code"] == 1, alpha["not_evaluated"]
    assert beta["summary"]["exit_code"] == 2  # its capability endpoint is down
    assert code == 2 == merged["summary"]["exit_code"]  # the worst target
    # one validator for the three (jsonschema.validate checked the schema itself against the metaschema
    # for each, ~0.24 s of CPU a call; test_reports.py's test_fixture_validates_against_schema checks it)
    validator = jsonschema.Draft202012Validator(load_schema("report"))
    for doc in (alpha, beta, merged):
        validator.validate(doc)

    # the per-target documents are plain single-target reports
    for name, doc in (("alpha", alpha), ("beta", beta)):
        assert "targets" not in doc and not any("target" in f for f in doc["findings"])
        assert doc["snapshot"]["target"]["name"] == name
        assert (out / name / "snapshot.json").is_file()
        assert {p.name for p in (out / name).iterdir()} >= {"report.md", "report.html", "report.sarif",
                                                              "report.junit.xml"}
    a_fn = {f["subject"] for f in alpha["findings"] if f["rule_id"] == "APIMCP-003"}
    b_fn = {f["subject"] for f in beta["findings"] if f["rule_id"] == "APIMCP-003"}
    assert a_fn == {moto_env.FUNCTION} and b_fn == {BETA_FUNCTION}
    probe_b = next(f for f in beta["findings"] if f["rule_id"] == "APIMCP-006")
    assert probe_b["status"] == "error"
    b_changes = {f["subject"]: f["status"] for f in beta["findings"] if f["rule_id"] == "APIMCP-001"}
    assert b_changes[two_targets.beta["beta"][:12]] == "fail"  # beta's own history was read

    # the merged report: per-target table, every finding names its target, counts add up
    assert [(t["name"], t["verdict"], t["path"]) for t in merged["targets"]] == [
        ("alpha", "fail", "alpha/report.json"), ("beta", "error", "beta/report.json")]
    assert len(merged["findings"]) == len(alpha["findings"]) + len(beta["findings"])
    for status in ("pass", "fail", "error", "waived", "not_applicable"):
        assert merged["summary"][status] == alpha["summary"][status] + beta["summary"][status]
    assert {f["target"] for f in merged["findings"]} == {"alpha", "beta"}
    for fmt in ("md", "html", "sarif", "junit.xml"):
        assert (out / f"report.{fmt}").is_file()
    junit = (out / "report.junit.xml").read_text("utf-8")
    # the same subject in two targets stays two test cases
    assert f'name="function alpha: {moto_env.FUNCTION}"' in junit and f'name="function beta: {BETA_FUNCTION}"' in junit
    stdout = capsys.readouterr().out
    assert "target alpha: FAIL" in stdout and "target beta: ERROR" in stdout and "[beta] APIMCP-006" in stdout

    # the merged report is what `compliance merge` makes of the per-target ones
    assert main(["merge", str(out / "beta" / "report.json"), str(out / "alpha" / "report.json"),
                 "--out", str(out)]) == 2
    remerged = _json(out / "report.json")
    assert remerged == merged


def test_target_selects_one_and_writes_it_like_a_single_target_audit(two_targets, tmp_path):
    out = tmp_path / "out"
    with responses.RequestsMock() as rsps:
        FakeGitHub(rsps, two_targets.runs)
        code = _audit(two_targets.config, out, "--target", "alpha", "--format", "json")
    doc = _json(out / "report.json")
    assert code == 1 == doc["summary"]["exit_code"]
    assert "targets" not in doc and doc["snapshot"]["target"]["name"] == "alpha"
    assert not (out / "alpha").exists() and not (out / "beta").exists()
    assert {f["subject"] for f in doc["findings"] if f["rule_id"] == "APIMCP-003"} == {moto_env.FUNCTION}


def test_an_unknown_target_is_an_input_error(two_targets, tmp_path, capsys):
    assert _audit(two_targets.config, tmp_path / "out", "--target", "betta") == 2
    assert "did you mean 'beta'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- the matrix workflow

MATRIX = Path(__file__).parent.parent / ".github" / "workflows" / "compliance-matrix.yml"


@pytest.fixture(scope="module")
def matrix():
    ref = resources.files("check_jsonschema.builtin_schemas.vendor") / "github-workflows.json"
    schema = json.loads(ref.read_text(encoding="utf-8"))
    doc = load_workflow(MATRIX)
    errors = sorted(jsonschema.validators.validator_for(schema)(schema).iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, [f"{'/'.join(map(str, e.path))}: {e.message[:300]}" for e in errors]
    return doc


def _run(job: dict) -> str:
    return " ".join("\n".join(s.get("run", "") for s in job["steps"]).replace("\\\n", " ").split())


def test_matrix_workflow_least_privilege(matrix):
    assert matrix["permissions"] == {}
    assert matrix["jobs"]["targets"]["permissions"] == {"contents": "read"}
    assert matrix["jobs"]["audit"]["permissions"] == {"contents": "read", "id-token": "write"}
    assert matrix["jobs"]["merge"]["permissions"] == {}


def test_matrix_workflow_lists_audits_and_merges(matrix):
    jobs = matrix["jobs"]
    assert "compliance targets --config compliance.yaml --json" in _run(jobs["targets"])
    assert jobs["targets"]["outputs"]["names"] == "${{ steps.list.outputs.names }}"
    audit = jobs["audit"]
    assert audit["needs"] == "targets" and audit["strategy"]["fail-fast"] is False
    assert audit["strategy"]["matrix"]["target"] == "${{ fromJSON(needs.targets.outputs.names) }}"
    # each target through the checker's composite action (action.yml), which keeps the folder as the artifact
    step = next(s for s in audit["steps"] if s.get("uses", "").startswith("OWNER/deploy-compliance@"))
    assert step["with"]["mode"] == "audit" and step["with"]["config"] == "compliance.yaml"
    assert step["with"]["target"] == "${{ matrix.target }}"  # an action input: never pasted into a script
    assert step["with"]["formats"] == "json" and step["with"]["out"] == "reports/${{ matrix.target }}"
    assert step["with"]["artifact-name"] == "compliance-report-${{ matrix.target }}"
    assert "${{ matrix." not in _run(audit)
    merge = jobs["merge"]
    assert merge["needs"] == ["targets", "audit"] and "always()" in merge["if"]
    download = next(s for s in merge["steps"] if s.get("uses", "").startswith("actions/download-artifact"))
    assert download["with"]["pattern"] == "compliance-report-*"
    assert "compliance merge" in _run(merge) and "--out reports/merged" in _run(merge)
    kept = next(s for s in merge["steps"] if s.get("uses", "").startswith("actions/upload-artifact"))
    assert not kept["with"]["name"].startswith("compliance-report-")  # a re-run must not merge the merge
