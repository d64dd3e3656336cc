"""`compliance deploy` in a hostile environment, part 1: planted and stale state files. A state file lets
a run interrupted between deploy and evidence finish without deploying twice, so every way to make an
untrue one look genuine is tried here. Everything is real: the repository, the script (bash, uploading with
curl or botocore to moto's server; tests/test_deploy.py runs the `aws` CLI), the files. Part 2 (test_deploy_hostile_processes.py): log names, processes, interrupts and
the evidence inputs; the two are one suite split so that `--dist loadfile` runs them on both workers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from compliance.app.deploy import STATE_FILE
from compliance.app.deploy import validate as deploy_validate
from tests import moto_env
from tests.deploy_fixture import (
    COVERED_TASKS,
    assert_deployed_for_real,
    deploy_state,
    function_config,
    no_evidence,
    run_deploy,
    worklogs,
)
from tests.deploy_world import assert_world, interrupted_deploy, kill_the_evidence_step

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process checks read /proc")

DEPLOY_UPLOAD = "fast"  # the script uploads with curl or botocore, not the aws CLI: the tests are about the rest


_deploy = run_deploy
_state = deploy_state
_no_evidence = no_evidence
_assert_deployed_for_real = assert_deployed_for_real


# --------------------------------------------------------------------------- 8: planted or stale state


def _plant(system, state: dict) -> None:
    system.out_dir.mkdir(parents=True, exist_ok=True)
    (system.out_dir / STATE_FILE).write_text(json.dumps(state))


def _claims(system, **extra) -> dict:
    """What the issue's planted state said: HEAD, the function, its current LastModified, the plan."""
    cfg = function_config()
    return {"commit": system.shas["direct"], "function": moto_env.FUNCTION, "region": moto_env.REGION,
            "last_modified": cfg["LastModified"], "tasks": COVERED_TASKS, "missing_tasks": [],
            "changes": [], **extra}


def test_a_planted_state_without_bindings_does_not_skip_the_script(system):
    """Issue 13.8 as reported: before, this recorded validation=pass without deploying anything."""
    before = function_config()
    _plant(system, _claims(system))
    code, text = _deploy(system)
    _assert_deployed_for_real(system, code, text)
    assert "malformed" in text
    assert function_config()["CodeSha256"] != before["CodeSha256"]


def test_a_planted_state_with_the_live_bindings_but_no_such_log_does_not_resume(system):
    cfg = function_config()
    _plant(system, _claims(system, state_version=2, status="deployed", branch="main",
                           code_sha256=cfg["CodeSha256"], revision_id=cfg["RevisionId"],
                           log=f"deploy-20260101T000000Z-{system.shas['direct'][:12]}.log", log_sha256="0" * 64))
    code, text = _deploy(system)
    _assert_deployed_for_real(system, code, text)
    assert "log" in text and "is missing" in text


def _deploy_then_interrupt_recording(system, monkeypatch):
    """A genuine deploy whose evidence step was killed: the state file is real and resumable.

    For the tests that change the function while this deploy runs; the others start from one such deploy
    per process, copied (tests/deploy_world.py)."""
    kill_the_evidence_step(system, monkeypatch)
    assert system.runs() == 1 and _no_evidence() and _state(system)["status"] == "deployed"


def test_a_tampered_log_makes_a_genuine_state_untrusted(system, monkeypatch):
    interrupted_deploy(system, monkeypatch)
    log = system.out_dir / _state(system)["log"]
    log.write_text(log.read_text() + "deploy complete\n")
    code, text = _deploy(system)
    _assert_deployed_for_real(system, code, text, runs=2)
    assert "does not match its recorded sha256" in text


def test_an_out_of_band_configuration_update_makes_the_state_stale(system, monkeypatch):
    """Same code (CodeSha256), but the function changed after the script: the revision says so."""
    interrupted_deploy(system, monkeypatch)
    moto_env.client("lambda").update_function_configuration(FunctionName=moto_env.FUNCTION, Description="hotfix")
    code, text = _deploy(system)
    _assert_deployed_for_real(system, code, text, runs=2)
    assert "RevisionId" in text or "LastModified" in text


def test_a_symlinked_state_file_is_not_followed_or_written_through(system, monkeypatch, tmp_path):
    interrupted_deploy(system, monkeypatch)
    elsewhere = tmp_path / "elsewhere.json"
    (system.out_dir / STATE_FILE).rename(elsewhere)
    (system.out_dir / STATE_FILE).symlink_to(elsewhere)
    original = elsewhere.read_text()
    code, text = _deploy(system)
    _assert_deployed_for_real(system, code, text, runs=2)
    assert "is a symlink (not followed)" in text
    assert elsewhere.read_text() == original and not (system.out_dir / STATE_FILE).is_symlink()


@pytest.mark.skipif(os.getuid() != 0, reason="giving a file to another user needs root")
def test_a_state_file_owned_by_someone_else_is_not_trusted(system, monkeypatch):
    interrupted_deploy(system, monkeypatch)
    os.chown(system.out_dir / STATE_FILE, 12345, -1)
    code, text = _deploy(system)
    _assert_deployed_for_real(system, code, text, runs=2)
    assert "owned by uid 12345" in text


@pytest.mark.parametrize("content", ["{not json", "[]", json.dumps({"state_version": 2, "status": "deployed"})],
                         ids=["not-json", "not-an-object", "missing-fields"])
def test_a_malformed_state_file_says_so_and_deploys(system, content):
    system.out_dir.mkdir(parents=True)
    (system.out_dir / STATE_FILE).write_text(content)
    code, text = _deploy(system)
    _assert_deployed_for_real(system, code, text)
    assert "the state file is malformed" in text


def test_control_a_genuine_state_still_resumes(system, monkeypatch):
    interrupted_deploy(system, monkeypatch)
    code, text = _deploy(system)
    assert code == 0, text
    assert system.runs() == 1 and "resuming:" in text and "not resuming" not in text
    assert all(len(worklogs(t)) == 1 for t in COVERED_TASKS)


def _while_settling(monkeypatch, change) -> None:
    """Run ``change`` while the deploy waits for the Lambda update to settle."""
    real_wait = deploy_validate.wait_for_update

    def settling(*args, **kwargs):
        change()
        return real_wait(*args, **kwargs)

    monkeypatch.setattr(deploy_validate, "wait_for_update", settling)


def test_a_revision_that_changes_while_the_update_settles_is_followed(system, monkeypatch):
    """AWS may give the function a new RevisionId when the update completes: same code, same LastModified."""
    from moto.awslambda.models import lambda_backends

    def settle():
        lambda_backends[moto_env.ACCOUNT][moto_env.REGION].get_function(moto_env.FUNCTION)._test_revision_id = "r-2"

    _while_settling(monkeypatch, settle)
    _deploy_then_interrupt_recording(system, monkeypatch)
    assert _state(system)["revision_id"] == "r-2"
    code, text = _deploy(system)
    assert code == 0 and "resuming:" in text and system.runs() == 1, text


def test_an_update_while_settling_is_not_adopted(system, monkeypatch):
    def hotfix():
        moto_env.client("lambda").update_function_configuration(FunctionName=moto_env.FUNCTION,
                                                                 Description="hotfix")

    _while_settling(monkeypatch, hotfix)
    _deploy_then_interrupt_recording(system, monkeypatch)
    monkeypatch.setattr(deploy_validate, "wait_for_update", lambda *a, **k: None)
    code, text = _deploy(system)
    _assert_deployed_for_real(system, code, text, runs=2)
    assert "the function's RevisionId is now" in text or "LastModified is now" in text


# --------------------------------------------------------------------------- found by trying to fool the fixes


def test_a_state_moved_to_another_commit_does_not_borrow_the_old_log(system, monkeypatch):
    """A genuine state and log of commit X, edited to claim a later HEAD the function never ran."""
    import subprocess

    interrupted_deploy(system, monkeypatch)
    system.repo.commit("route notes ENC-TSK-327", {"backend/lambda/coordination_api/NOTES.md": "x\n"})
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=system.repo.path, capture_output=True, text=True,
                          check=True).stdout.strip()
    state = {**_state(system), "commit": head}
    (system.out_dir / STATE_FILE).write_text(json.dumps(state))
    code, text = _deploy(system)
    assert code == 0, text
    assert "is not the log of deploying" in text and system.runs() == 2


@pytest.mark.parametrize("change", ["revision", "log", "counter"])
def test_a_copied_world_unlike_the_genuine_one_is_refused(system, monkeypatch, change):
    """The copy of the shared interrupted deploy (tests/deploy_world.py) is checked, so a test that
    tampers with one part cannot be handed a world that differs in another."""
    from moto.awslambda.models import lambda_backends

    interrupted_deploy(system, monkeypatch)
    assert_world(system)
    if change == "revision":
        lambda_backends[moto_env.ACCOUNT][moto_env.REGION].get_function(moto_env.FUNCTION)._test_revision_id = "r-x"
    elif change == "log":
        log = system.out_dir / _state(system)["log"]
        log.write_text(log.read_text() + "\n")
    else:
        system.counter.write_text(system.counter.read_text() * 2)
    with pytest.raises(AssertionError):
        assert_world(system)


def test_a_world_writable_state_file_is_not_trusted(system, monkeypatch):
    interrupted_deploy(system, monkeypatch)
    os.chmod(system.out_dir / STATE_FILE, 0o666)
    code, text = _deploy(system)
    _assert_deployed_for_real(system, code, text, runs=2)
    assert "writable by others" in text


def test_a_state_path_that_is_a_directory_is_reported_and_the_deploy_goes_on(system):
    (system.out_dir / STATE_FILE).mkdir(parents=True)
    code, text = _deploy(system)
    assert code == 0, text
    assert "the state file is not a regular file" in text and "cannot resume and will deploy again" in text
    assert system.runs() == 1 and all(len(worklogs(t)) == 1 for t in COVERED_TASKS)
