"""`compliance deploy` end to end: a real repository, its deploy script running the real `aws` CLI
against moto's server, a loopback capability endpoint, and the evidence read back from the table."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from datetime import timedelta

import pytest

from compliance.app.deploy import STATE_FILE
from compliance.judge.evidence import parse_evidence_line
from tests import moto_env
from tests.deploy_fixture import (
    COVERED_TASKS,
    build_system,
    fast_upload,
    function_config,
    pending_request,
    run_deploy,
    worklogs,
)
from tests.deploy_world import interrupted_deploy
from tests.reportfile import read_report

# the script uploads with curl or botocore (DEPLOY_UPLOAD, tests/deploy_fixture.py) except where a test is
# about the runbook's aws CLI call (marked deploy_upload("aws")): ~0.5 s of CPU less a deploy
DEPLOY_UPLOAD = "fast"
_deploy = run_deploy


def _audit(system):
    from compliance.app.collect import collect
    from compliance.base.timeutil import utcnow
    from compliance.judge.engine import evaluate

    config, ruleset = system.load()
    now = utcnow()
    snap = collect(config, ruleset, now - timedelta(days=30), now)
    return {(f.rule_id, f.subject): f.status for f in evaluate(snap, ruleset.rules)}


@pytest.mark.deploy_upload("aws")
def test_deploy_validates_records_evidence_once_and_the_next_audit_passes(system):
    assert system.env()["DEPLOY_UPLOAD"] == "aws"  # the runbook's path: the script uploads with the aws CLI
    before = function_config()
    code, text = _deploy(system, rotate_key=True,
                         env=system.env(COORDINATION_INTERNAL_API_KEY="rotate-me-0123456789"))
    assert code == 0, text
    after = function_config()
    assert after["CodeSha256"] != before["CodeSha256"]
    assert after["LastModified"] != before["LastModified"]
    assert system.runs() == 1

    head = system.shas["direct"]
    # the plan: what the deploy covers, after the last deploy with evidence (the PR merge)
    assert f"last deploy with evidence: {system.shas['pr'][:12]}" in text
    assert system.shas["squash"][:12] in text and head[:12] in text
    assert system.shas["ui"][:12] not in text and system.shas["dict"][:12] not in text
    assert "ENC-TSK-328" in text and "not in the tracker" in text

    for task in COVERED_TASKS:
        [line] = worklogs(task)
        parsed = parse_evidence_line(line)
        assert parsed["commit"] == head and parsed["outcome"] == "pass"
        assert line.split("LastModified=")[1].split()[0] == after["LastModified"]
        # the artifact the deploy left live, read right after it: what lambda_deploy_match compares
        assert parsed["code_sha256"] == after["CodeSha256"] and parsed["revision_id"] == after["RevisionId"]
        assert "GET /api/v1/coordination/capabilities -> 200" in line
    assert worklogs("ENC-TSK-325") == [worklogs("ENC-TSK-325")[0]]  # not covered: untouched

    # the script's output went to the terminal and the log, the rotation key to neither
    [log] = system.out_dir.glob(f"deploy-*-{head[:12]}.log")
    assert "deploy complete" in text and "deploy complete" in log.read_text()
    assert "rotate-me" not in text and "rotate-me" not in log.read_text()
    assert "rotating internal key ***" in log.read_text()
    report = read_report(system.out_dir / "report.json")
    assert report["mode"] == "deploy" and (system.out_dir / "snapshot.json").exists()
    state = json.loads((system.out_dir / STATE_FILE).read_text())
    assert state["commit"] == head and state["last_modified"] == after["LastModified"]
    assert state["tasks"] == ["ENC-TSK-326", "ENC-TSK-327", "ENC-TSK-328"]

    # a retry: nothing deployed again, nothing duplicated
    code, text = _deploy(system)
    assert code == 0, text
    assert system.runs() == 1 and "not re-running the script" in text, text
    assert "already recorded on 2" in text
    assert all(len(worklogs(t)) == 1 for t in COVERED_TASKS)

    # the evidence is what the runbook's evidence rule reads
    verdicts = _audit(system)
    assert verdicts[("APIMCP-007", f"ENC-TSK-326@{system.shas['squash'][:12]}")] == "pass"
    assert verdicts[("APIMCP-007", f"ENC-TSK-327@{head[:12]}")] == "pass"
    assert verdicts[("APIMCP-007", f"ENC-TSK-328@{head[:12]}")] == "fail"  # reported, never created
    assert verdicts[("APIMCP-003", moto_env.FUNCTION)] == "pass"


@pytest.mark.parametrize("upload", ["sdk", "curl"])
def test_the_scripts_other_uploads_put_the_same_code_live(system, tmp_path, upload):
    """The uploads the hostile-deploy tests use instead of the aws CLI (DEPLOY_UPLOAD) do what it does: the
    zip the script built is the function's code, and the function says it was updated."""
    if upload == "curl" and fast_upload() != "curl":
        pytest.skip("no curl that signs AWS requests (--aws-sigv4)")
    before = function_config()
    script = system.repo.path / "backend/lambda/coordination_api/deploy.sh"
    ran = subprocess.run(["bash", str(script)], cwd=system.repo.path, env=system.env(DEPLOY_UPLOAD=upload),
                         capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0 and "deploy complete" in ran.stdout, ran.stderr
    zipped = tmp_path / "function.zip"  # the script's zip, made again from the same file
    subprocess.run([sys.executable, "-m", "zipfile", "-c", str(zipped), "lambda_function.py"],
                   cwd=script.parent, check=True)
    after = function_config()
    assert after["CodeSha256"] == base64.b64encode(hashlib.sha256(zipped.read_bytes()).digest()).decode()
    assert after["CodeSha256"] != before["CodeSha256"] and after["LastModified"] != before["LastModified"]
    assert after["CodeSha256"] in ran.stdout and system.runs() == 1


def test_dry_run_prints_the_plan_and_changes_nothing(system):
    before = function_config()
    code, text = _deploy(system, dry_run=True)
    assert code == 0, text
    assert "PLAN" in text and "dry run" in text
    assert "backend/lambda/coordination_api/deploy.sh" in text and moto_env.FUNCTION in text
    assert system.shas["direct"] in text and system.shas["squash"][:12] in text
    assert "ENC-TSK-326, ENC-TSK-327, ENC-TSK-328" in text
    assert function_config()["CodeSha256"] == before["CodeSha256"]
    assert system.runs() == 0
    assert all(worklogs(t) == [] for t in COVERED_TASKS)
    assert not (system.out_dir / STATE_FILE).exists()


def _assert_nothing_changed(system, before):
    assert function_config()["CodeSha256"] == before["CodeSha256"]
    assert system.runs() == 0
    assert all(worklogs(t) == [] for t in COVERED_TASKS)


def test_preflight_refuses_a_dirty_tree(system):
    before = function_config()
    (system.repo.path / "backend/lambda/coordination_api/lambda_function.py").write_text("VERSION = 99\n")
    code, text = _deploy(system)
    assert code == 2 and "not clean" in text and "lambda_function.py" in text
    _assert_nothing_changed(system, before)


def test_preflight_refuses_a_head_not_on_the_branch(system):
    before = function_config()
    system.repo.branch("agent/enc-tsk-999-wip")
    system.repo.commit("wip ENC-TSK-999", {"backend/lambda/coordination_api/lambda_function.py": "VERSION = 3\n"})
    code, text = _deploy(system)
    assert code == 2 and "not a commit of main" in text
    _assert_nothing_changed(system, before)


def test_preflight_refuses_a_ref_that_is_not_checked_out(system):
    before = function_config()
    code, text = _deploy(system, ref=system.shas["squash"])
    assert code == 2 and "check it out first" in text
    _assert_nothing_changed(system, before)


def test_ref_on_the_branch_deploys_that_commit(system):
    system.repo.checkout(system.shas["squash"])
    code, text = _deploy(system, ref=system.shas["squash"][:10], dry_run=True)
    assert code == 0, text
    assert f"commit    {system.shas['squash']}" in text and "3 commit(s) behind main" in text
    assert "tasks     ENC-TSK-326\n" in text


def test_preflight_refuses_while_a_deploy_manager_request_is_pending(tmp_path, aws_env, http_server, monkeypatch):
    from datetime import datetime, timezone

    sysm = build_system(tmp_path, http_server, dm_items=[pending_request(datetime.now(timezone.utc))])
    before = function_config()
    code, text = _deploy(sysm)
    assert code == 2 and "is pending for devops-coordination-api" in text and "9c4e1f" in text
    _assert_nothing_changed(sysm, before)


def test_a_failing_script_records_a_failed_validation_and_no_success(system):
    before = function_config()
    code, text = _deploy(system, env=system.env(DEPLOY_FAIL="1"))
    assert code == 2, text
    assert "deploy script exited with 1" in text and "validation: FAIL" in text
    assert function_config()["CodeSha256"] == before["CodeSha256"]
    state = json.loads((system.out_dir / STATE_FILE).read_text())
    assert state["status"] == "failed" and state["exit_code"] == 1 and "code_sha256" not in state
    for task in COVERED_TASKS:
        [line] = worklogs(task)
        parsed = parse_evidence_line(line)
        assert parsed["outcome"] == "fail" and "exit 1" in line
    verdicts = _audit(system)
    assert verdicts[("APIMCP-007", f"ENC-TSK-327@{system.shas['direct'][:12]}")] == "fail"


def test_an_interrupted_deploy_is_finished_by_the_next_run_without_deploying_again(system, monkeypatch):
    interrupted_deploy(system, monkeypatch)  # the script ran, the evidence step was killed (tests/deploy_world.py)
    assert system.runs() == 1
    assert all(worklogs(t) == [] for t in COVERED_TASKS)
    deployed = function_config()["LastModified"]

    code, text = _deploy(system)
    assert code == 0, text
    assert system.runs() == 1 and "resuming" in text
    assert function_config()["LastModified"] == deployed
    assert all(len(worklogs(t)) == 1 for t in COVERED_TASKS)
    assert "recorded on 2 task(s)" in text


def test_a_partly_recorded_deploy_records_the_rest_once(system, monkeypatch):
    """Interrupted after some tasks were written: the plan would now see that evidence, so the
    state file's task list, not a fresh plan, says what is still owed."""
    from compliance.app import evidence_writer

    real = evidence_writer.record_evidence

    def first_task_only(table, project, tasks, *args, **kwargs):
        real(table, project, tasks[:1], *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr("compliance.app.evidence_writer.record_evidence", first_task_only)
    with pytest.raises(KeyboardInterrupt):
        _deploy(system)
    assert [len(worklogs(t)) for t in COVERED_TASKS] == [1, 0]
    monkeypatch.setattr("compliance.app.evidence_writer.record_evidence", real)
    code, text = _deploy(system)
    assert code == 0, text
    assert [len(worklogs(t)) for t in COVERED_TASKS] == [1, 1] and system.runs() == 1


def test_denied_evidence_writes_exit_2_and_print_the_lines_to_paste(system, monkeypatch):
    """The CI role's situation: every tracker write is AccessDenied."""
    from compliance.sources import aws

    real_client = aws.client_for

    def denying_client(service, *args, **kwargs):
        client = real_client(service, *args, **kwargs)
        if service == "dynamodb":
            def deny(**_):
                class Http:
                    status_code = 400

                return Http(), {"Error": {"Code": "AccessDeniedException",
                                          "Message": "not authorized to perform dynamodb:UpdateItem"}}

            client.meta.events.register("before-call.dynamodb.UpdateItem", deny)
        return client

    monkeypatch.setattr(aws, "client_for", denying_client)
    code, text = _deploy(system)
    assert code == 2, text
    assert "ACCESS DENIED" in text and "operator's credentials" in text
    head = system.shas["direct"]
    for task in COVERED_TASKS:
        [line] = [ln for ln in text.splitlines() if ln.strip().startswith(f"{task}: Deployed commit {head}")]
        assert parse_evidence_line(line.split(": ", 1)[1])["outcome"] == "pass"
        assert worklogs(task) == []


def test_the_cli_runs_deploy(system, monkeypatch, capsys):
    from compliance.cli import main

    monkeypatch.chdir(system.config_path.parent)
    code = main(["deploy", "--config", str(system.config_path), "--dry-run", "--out", str(system.out_dir)])
    assert code == 0 and "PLAN" in capsys.readouterr().out
    assert main(["deploy", "--config", "missing.yaml"]) == 2
    assert "missing.yaml" in capsys.readouterr().err



def test_a_broken_waiver_file_stops_the_deploy_before_anything_runs(system, tmp_path):
    from compliance.base.errors import InputError

    before = function_config()
    bad = tmp_path / "waivers.yaml"
    bad.write_text("version: 1\nwaivers:\n  - rule: APIMCP-003\n    ownr: me\n", "utf-8")
    with pytest.raises(InputError) as info:
        _deploy(system, waivers=str(bad))
    assert any(p.line == 4 for p in info.value.problems)
    _assert_nothing_changed(system, before)
