"""`compliance deploy` in a hostile environment, part 2: planted log names, a script that hangs or leaves
children behind, interrupts, and inputs the evidence line would refuse only after the deploy. Everything
is real: the repository, the script (bash, uploading with curl or botocore to moto's server), the signals and the processes.
Part 1 (test_deploy_hostile.py) is about planted and stale state files."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from compliance.app import deploy as deploy_mod
from compliance.app.deploy import EXIT_INTERRUPTED, STATE_FILE
from compliance.app.deploy import script as deploy_script
from compliance.judge.evidence import parse_evidence_line
from tests.deploy_fixture import (
    COVERED_TASKS,
    assert_deployed_for_real,
    deploy_state,
    function_config,
    no_evidence,
    run_deploy,
    worklogs,
)

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process checks read /proc")

DEPLOY_UPLOAD = "fast"  # the script uploads with curl or botocore, not the aws CLI: the tests are about the rest


_deploy = run_deploy
_state = deploy_state
_no_evidence = no_evidence
_assert_deployed_for_real = assert_deployed_for_real


def _poll(predicate, limit: float = 60.0) -> bool:
    """True as soon as ``predicate()`` holds; False after ``limit`` seconds (a bound, not a timing assert)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def _proc_state(pid: int) -> str | None:
    """The process's state letter from /proc, None when it does not exist."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()[0]


def _gone(pid: int) -> bool:
    return _proc_state(pid) in (None, "Z", "X")  # a zombie runs nothing; its parent may not reap it


def _group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes whose process group is ``pgid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            found.append(int(entry.name))
    return found


def _signal_when(path: Path, sig: int) -> threading.Thread:
    """Send ``sig`` to this process once the script has written its child's pid to ``path``."""
    def fire() -> None:
        if _poll(path.exists, limit=90):  # never a stray signal into a later test
            os.kill(os.getpid(), sig)

    thread = threading.Thread(target=fire, daemon=True)
    thread.start()
    return thread


def _log_group(system) -> int:
    [log] = system.out_dir.glob("deploy-*.log")
    return int(re.search(r"^# process group (\d+)$", log.read_text(), re.M).group(1))


# --------------------------------------------------------------------------- 7: the log's predictable name


def _planted_names(out_dir: Path, sha12: str, alternatives: int) -> list[Path]:
    """Every log name a deploy starting in the next two minutes could pick first (and its alternatives)."""
    now = datetime.now(timezone.utc)
    names = []
    for sec in range(-2, 120):
        stamp = (now + timedelta(seconds=sec)).strftime("%Y%m%dT%H%M%SZ")
        names.append(out_dir / f"deploy-{stamp}-{sha12}.log")
        names += [out_dir / f"deploy-{stamp}-{sha12}-{n}.log" for n in range(1, alternatives + 1)]
    return names


def test_a_symlink_planted_at_the_log_name_is_not_followed(system, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    system.out_dir.mkdir(parents=True)
    for name in _planted_names(system.out_dir, system.shas["direct"][:12], 0):
        name.symlink_to(victim)
    code, text = _deploy(system)
    assert code == 0, text
    assert victim.read_text() == "precious\n"
    [log] = [p for p in system.out_dir.glob("deploy-*.log") if not p.is_symlink()]
    assert log.name.endswith(f"{system.shas['direct'][:12]}-1.log")
    assert "deploy complete" in log.read_text() and oct(log.stat().st_mode & 0o777) == "0o600"
    assert "already exists (not opened, never followed)" in text
    assert _state(system)["log"] == log.name


def test_every_log_name_taken_stops_before_the_script_runs(system, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    system.out_dir.mkdir(parents=True)
    for name in _planted_names(system.out_dir, system.shas["direct"][:12], deploy_mod.LOG_NAME_TRIES):
        name.symlink_to(victim)
    before = function_config()
    code, text = _deploy(system)
    assert code == 2, text
    assert "cannot create the deploy log" in text and "none was opened" in text and "nothing was deployed" in text
    assert victim.read_text() == "precious\n" and system.runs() == 0
    assert function_config()["CodeSha256"] == before["CodeSha256"] and _no_evidence()
    assert not (system.out_dir / STATE_FILE).exists()


# --------------------------------------------------------------------------- 16: interrupts and the time limit


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupt_stops_the_script_and_its_children_and_records_nothing(system, tmp_path, sig):
    pidfile = tmp_path / "child.pid"
    handler = signal.getsignal(signal.SIGTERM)
    _signal_when(pidfile, sig)
    code, text = _deploy(system, env=system.env(DEPLOY_HANG_PIDFILE=str(pidfile)), timeout=120)
    assert signal.getsignal(signal.SIGTERM) is handler  # the deploy's own handler is gone again
    assert code == EXIT_INTERRUPTED, text
    child = int(pidfile.read_text())
    assert _poll(lambda: _gone(child)), f"child {child} still running"
    assert _poll(lambda: not _group_members(_log_group(system)))
    assert "deploy INTERRUPTED" in text and _no_evidence()
    state = _state(system)
    assert state["status"] == "interrupted" and "code_sha256" not in state
    [log] = system.out_dir.glob("deploy-*.log")
    assert f"# {sig.name}: stopping process group" in log.read_text()

    code, text = _deploy(system)  # the next run deploys again
    _assert_deployed_for_real(system, code, text, runs=2)
    assert "did not finish a deploy (state: interrupted)" in text


def test_a_child_that_ignores_sigterm_is_killed_after_the_grace(system, tmp_path, monkeypatch):
    monkeypatch.setattr(deploy_script, "KILL_GRACE", 0.5)
    pidfile = tmp_path / "child.pid"
    _signal_when(pidfile, signal.SIGINT)
    code, text = _deploy(system, env=system.env(DEPLOY_HANG_PIDFILE=str(pidfile), DEPLOY_HANG_IGNORE_TERM="1"),
                         timeout=120)
    assert code == EXIT_INTERRUPTED, text
    child = int(pidfile.read_text())
    assert _poll(lambda: _gone(child)), f"child {child} survived SIGKILL"


def test_the_time_limit_stops_a_hung_script_and_records_a_failure(system, tmp_path):
    pidfile = tmp_path / "child.pid"
    before = function_config()
    # 1 s: the test waits it out for real (the script reaches its hang within milliseconds; had it not yet,
    # it is still a script running past its limit, and the assertions below hold the same)
    code, text = _deploy(system, env=system.env(DEPLOY_HANG_PIDFILE=str(pidfile)), timeout=1)
    assert code == 2, text
    assert "TIMED OUT after 1s" in text
    assert _poll(lambda: not _group_members(_log_group(system)))
    if pidfile.exists():
        child = int(pidfile.read_text())
        assert _poll(lambda: _gone(child))
    assert function_config()["CodeSha256"] == before["CodeSha256"]
    assert _state(system)["status"] == "interrupted"
    for task in COVERED_TASKS:
        [line] = worklogs(task)
        assert parse_evidence_line(line)["outcome"] == "fail" and "timed out after 1s" in line


def test_children_left_behind_by_a_finished_script_are_stopped(system, tmp_path):
    """Before, the leftover child held the output pipe open and deploy waited for it."""
    pidfile = tmp_path / "left.pid"
    code, text = _deploy(system, env=system.env(DEPLOY_LEAVE_PIDFILE=str(pidfile)))
    assert code == 0, text
    child = int(pidfile.read_text())
    assert _poll(lambda: _gone(child))
    [log] = system.out_dir.glob("deploy-*.log")
    assert "left processes in its group: stopping them" in log.read_text()


@pytest.mark.parametrize("option", [["--timeout", "nan"], ["--timeout", "0"], ["--timeout", "-5"],
                                    ["--wait-timeout", "nan"], ["--wait-timeout", "inf"]])
def test_the_cli_refuses_unusable_limits_before_deploying(system, monkeypatch, capsys, option):
    from compliance.cli import main

    monkeypatch.setenv("PATH", system.env()["PATH"])
    monkeypatch.setenv("DEPLOY_COUNTER", str(system.counter))
    code = main(["deploy", "--config", str(system.config_path), "--out", str(system.out_dir), *option])
    out = capsys.readouterr().out
    assert code == 2 and "deploy refused (preflight)" in out and option[0] in out
    assert system.runs() == 0 and _no_evidence()


# --------------------------------------------------------------------------- 17: evidence inputs, in preflight


@pytest.mark.parametrize("url", ["https://reports.example/deploy fail", "rollback", "reports/index.html",
                                 "https://reports.example/a;validation=fail", "https://r.example/\x1b[31m",
                                 "ftp://reports.example/r", "", "https://reports.example:99999/r"])
def test_a_report_url_the_evidence_line_cannot_carry_is_refused_before_the_script(system, url):
    before = function_config()
    code, text = _deploy(system, report_url=url)
    assert code == 2, text
    assert "deploy refused (preflight): --report-url" in text and "nothing was deployed" in text
    assert system.runs() == 0 and _no_evidence()
    assert function_config()["CodeSha256"] == before["CodeSha256"]


def test_control_a_plain_report_url_is_recorded_and_reads_back(system):
    url = "https://reports.example/deploys/42/report.html?run=7#top"
    code, text = _deploy(system, report_url=url)
    assert code == 0, text
    for task in COVERED_TASKS:
        assert parse_evidence_line(worklogs(task)[0])["report_url"] == url


def test_a_capability_url_that_reads_as_a_failure_is_refused_in_preflight(system):
    text = system.config_path.read_text()
    system.config_path.write_text(re.sub(r"capability_url: (\S+)/api/v1/coordination/capabilities",
                                         r"capability_url: \1/deploy%20failed/rollback", text))
    code, text = _deploy(system)
    assert code == 2, text
    assert "deploy refused (preflight): the evidence line" in text and system.runs() == 0 and _no_evidence()


def test_an_out_dir_that_is_a_file_is_refused_before_the_script(system):
    system.out_dir.write_text("not a folder\n")
    code, text = _deploy(system)
    assert code == 2 and "is not a directory" in text and system.runs() == 0


# --------------------------------------------------------------------------- found by trying to fool the fixes


@pytest.mark.parametrize("url", ["https://deployer:hunter2@reports.example/r",
                                 "https://reports.example/r?token=ghp_abcdefghijklmnopqrstuvwxyz0123456789"],
                         ids=["userinfo", "token"])
def test_a_report_url_carrying_a_secret_is_refused_and_not_echoed(system, url):
    code, text = _deploy(system, report_url=url)
    assert code == 2 and "credentials or a token" in text and system.runs() == 0, text
    assert "hunter2" not in text and "ghp_abcdef" not in text


def test_a_dangling_symlink_at_the_log_name_creates_nothing_through_it(system, tmp_path):
    target = tmp_path / "created-through-the-link"
    system.out_dir.mkdir(parents=True)
    for name in _planted_names(system.out_dir, system.shas["direct"][:12], 0):
        name.symlink_to(target)
    code, text = _deploy(system)
    assert code == 0, text
    assert not target.exists()


def test_a_process_that_leaves_the_group_does_not_hang_the_deploy(system, tmp_path, monkeypatch, capfd):
    """setsid puts it beyond the group's reach: the deploy says so instead of waiting on its output."""
    monkeypatch.setattr(deploy_script, "KILL_GRACE", 0.5)
    pidfile = tmp_path / "escaped.pid"
    script = system.repo.path / "backend/lambda/coordination_api/deploy.sh"
    # the script ends only once the child has left its group: exiting earlier, under load, the deploy could find
    # the child still in the group before setsid ran, and stop it (the message below was missing once, load ~8)
    body = script.read_text().replace('echo "deploy complete"', (
        'setsid sleep 300 & left=$!\n'
        'while [ "$(cut -d" " -f5 /proc/$left/stat)" = "$(cut -d" " -f5 /proc/$$/stat)" ]; do sleep 0.01; done\n'
        f'echo $left > {pidfile}\necho "deploy complete"'))
    system.repo.commit("deploy helper ENC-TSK-327", {"backend/lambda/coordination_api/deploy.sh": body})
    try:
        code, text = _deploy(system)
    finally:
        if pidfile.exists():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pidfile.read_text()), signal.SIGKILL)
    assert code == 0, text
    assert "still held open by a process that left the script's process group" in text
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Exception in thread" not in err


