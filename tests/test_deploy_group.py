"""The deploy script's process group: a zombie left in it is not a process left running.

An orphan that has exited stays a zombie until its parent reaps it; on a VM or a container whose
PID 1 reaps slowly, or when the parent is a process that left the group, that can take seconds or
forever. Counting it as alive made every deploy wait up to ``KILL_GRACE`` for a process that was
already dead. Real processes here: bash, a Python that forks, /proc.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from compliance.app.deploy import script as deploy_script
from tests.procs import in_background_until_written, kill_recorded, proc_state, run_group, wait_until

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="the group check reads /proc")

# Forks a child that exits at once (it stays in the script's group, a zombie nobody reaps), then
# moves itself to a group of its own, lets go of the output pipe and keeps the zombie unreaped.
HOLDER = """
import os, sys, time
child = os.fork()
if child == 0:
    os._exit(0)
os.setpgid(0, 0)
null = os.open(os.devnull, os.O_RDWR)
os.dup2(null, 1)
os.dup2(null, 2)
while open(f"/proc/{child}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
    time.sleep(0.005)  # the pidfile says: the zombie is there
with open(sys.argv[1] + ".tmp", "w") as fh:
    fh.write(f"{os.getpid()} {child}")
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(120)
"""


@pytest.fixture
def holder_script(tmp_path):
    """A bash command whose group, once bash exits, holds only an unreaped zombie; yields (cmd, pidfile)."""
    program = tmp_path / "holder.py"
    program.write_text(HOLDER)
    pidfile = tmp_path / "holder.pid"
    cmd = in_background_until_written(program, pidfile)
    yield cmd, pidfile
    kill_recorded(pidfile)


def test_a_group_of_only_zombies_is_not_alive(holder_script, tmp_path):
    cmd, pidfile = holder_script
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL)
    assert proc.wait(timeout=60) == 0
    holder, child = map(int, pidfile.read_text().split())
    assert wait_until(lambda: proc_state(child) == "Z"), proc_state(child)
    os.killpg(proc.pid, 0)  # the signal test alone still sees the group: this is the case that waited
    assert deploy_script._group_alive(proc.pid) is False
    assert deploy_script._group_alive(holder) is True  # control: a live member is alive


def test_a_live_member_keeps_the_group_alive(tmp_path):
    proc = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        assert deploy_script._group_alive(proc.pid) is True
    finally:
        proc.kill()
        proc.wait()
    assert deploy_script._group_alive(proc.pid) is False


def test_a_script_that_leaves_only_a_zombie_is_not_stopped_as_if_it_left_a_process(holder_script, tmp_path,
                                                                                    monkeypatch):
    """Before, this printed 'left processes in its group' and waited the whole grace for the zombie."""
    monkeypatch.setattr(deploy_script, "KILL_GRACE", 600.0)  # a wait for the zombie would not end in the test
    cmd, pidfile = holder_script
    code, ended, lines, notes = run_group(cmd, tmp_path)
    assert (code, ended) == (0, "finished")
    _holder, child = map(int, pidfile.read_text().split())
    assert proc_state(child) == "Z"  # the zombie was still there when the group was judged
    assert not any("left processes" in note for note in notes), notes
    assert not any("still held open" in text for text in lines), lines


# The main thread ends with the thread-only exit system call (not exit_group), as pthread_exit does:
# /proc shows the process's leader as a zombie while its other thread runs on.
HALF_EXITED = """
import ctypes, os, sys, threading, time
def run():
    while open(f"/proc/{os.getpid()}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
        time.sleep(0.005)
    with open(sys.argv[1] + ".tmp", "w") as fh:
        fh.write(str(os.getpid()))
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    time.sleep(120)
threading.Thread(target=run).start()
ctypes.CDLL(None, use_errno=True).syscall(60 if os.uname().machine == "x86_64" else 93, 0)  # SYS_exit
"""


@pytest.mark.skipif(os.uname().machine not in ("x86_64", "aarch64"), reason="the exit system call's number")
def test_a_process_whose_main_thread_ended_but_another_runs_is_stopped(tmp_path):
    """A zombie leader is not an exited process: the thread still running is stopped with the group."""
    program = tmp_path / "half.py"
    program.write_text(HALF_EXITED)
    pidfile = tmp_path / "half.pid"
    cmd = in_background_until_written(program, pidfile)
    try:
        code, ended, _, notes = run_group(cmd, tmp_path)
        assert (code, ended) == (0, "finished")
        assert any("left processes in its group: stopping them" in note for note in notes), notes
        half = int(pidfile.read_text())
        assert wait_until(lambda: not Path(f"/proc/{half}/task").exists() or all(
            proc_state(int(t.name)) in (None, "Z", "X") for t in Path(f"/proc/{half}/task").iterdir()))
    finally:
        kill_recorded(pidfile)
