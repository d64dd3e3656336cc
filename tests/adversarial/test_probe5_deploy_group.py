"""Hostile probe of the deploy group check (``_group_alive`` / ``_member_states``): real processes, /proc.

Two ways a live process of the script's group was left running after a "finished" run:
a process anywhere on the machine whose name is not UTF-8 made the /proc scan raise (so the group
was never stopped, and the deploy ended in a traceback), and a member that forks and exits between
the scan's listing of /proc and its reading of the member's stat hid its child, so a group holding a
zombie and such a fork chain was judged "only zombies".
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from compliance.app.deploy import script as deploy_script
from tests.procs import kill_recorded, proc_state, run_group, wait_until

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="the group check reads /proc")

ODD_NAME = b"a)\xff Z 1\n"  # not UTF-8, a ")" and a fake state in the name: /proc/PID/stat shows it raw





@pytest.fixture
def odd_sleep(tmp_path):
    """A copy of sleep whose file name (so its /proc comm) is ``ODD_NAME``."""
    path = os.path.join(os.fsencode(tmp_path), ODD_NAME)
    with open("/bin/sleep", "rb") as src, open(path, "wb") as dst:
        dst.write(src.read())
    os.chmod(path, 0o755)
    return path


def test_a_process_named_in_bytes_that_are_not_utf8_does_not_break_the_check(odd_sleep):
    """Any process of any group with such a name made every group check raise UnicodeDecodeError."""
    stranger = subprocess.Popen([odd_sleep, "60"], start_new_session=True)
    member = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        assert wait_until(lambda: proc_state(stranger.pid) == "S")
        assert deploy_script._group_alive(member.pid) is True
        assert deploy_script._group_alive(stranger.pid) is True  # the odd one itself, a live member
    finally:
        for proc in (stranger, member):
            proc.kill()
            proc.wait()
    assert deploy_script._group_alive(member.pid) is False


def test_a_script_leaving_an_oddly_named_process_has_it_stopped(odd_sleep, tmp_path):
    """The script exits leaving a live child named in non-UTF-8 bytes: the run stops it, no traceback."""
    pidfile = tmp_path / "odd.pid"
    cmd = [b"bash", b"-c", b'"$0" 60 & echo $! > "$1"; exit 0', odd_sleep, os.fsencode(pidfile)]
    try:
        code, ended, _, notes = run_group(cmd, tmp_path)
        assert (code, ended) == (0, "finished")
        assert any("left processes in its group: stopping them" in note for note in notes), notes
        odd = int(pidfile.read_text())
        assert proc_state(odd) in (None, "Z", "X")
    finally:
        kill_recorded(pidfile)


# A holder forks a child that exits at once (a zombie of the script's group that it never reaps) and a
# chain: each member of the chain forks the next and exits, so at every instant one live process of the
# group runs, but each lives well under a millisecond: a scan that lists /proc, then reads each member, sees the zombie and a
# member that has gone, never the next one. Every chain member appends one byte to the heartbeat file.
CHAIN = """
import os, sys, time
deadline = time.time() + 60
zombie = os.fork()
if zombie == 0:
    os._exit(0)
if os.fork() == 0:
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 1)
    os.dup2(null, 2)
    beat = os.open(sys.argv[2], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    while time.time() < deadline:
        if os.fork():
            os._exit(0)
        os.write(beat, b".")
    os._exit(0)
os.setpgid(0, 0)
null = os.open(os.devnull, os.O_RDWR)
os.dup2(null, 1)
os.dup2(null, 2)
while open(f"/proc/{zombie}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
    time.sleep(0.005)
with open(sys.argv[1] + ".tmp", "w") as fh:
    fh.write(f"{os.getpid()} {zombie}")
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(120)
"""


def test_a_fork_chain_beside_a_zombie_is_stopped(tmp_path):
    program = tmp_path / "chain.py"
    program.write_text(CHAIN)
    pidfile, beat = tmp_path / "chain.pid", tmp_path / "beat"
    cmd = ["bash", "-c", f'"{sys.executable}" "{program}" "{pidfile}" "{beat}" & '
                         f'while [ ! -s "{pidfile}" ] || [ ! -s "{beat}" ]; do sleep 0.01; done; exit 0']
    notes: list[str] = []
    pgid = None

    def spy(text: str) -> None:
        nonlocal pgid
        notes.append(text)
        if text.startswith("# process group "):
            pgid = int(text.split()[-1])

    try:
        code, ended = deploy_script._run_group(cmd, tmp_path, dict(os.environ), lambda _: None, spy, 120)
        assert (code, ended) == (0, "finished")
        size = beat.stat().st_size
        time.sleep(0.5)  # a live chain appends a byte per fork: half a second of silence means it is gone
        assert beat.stat().st_size == size, "the fork chain of the script's group still runs"
    finally:
        if pgid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
        kill_recorded(pidfile)


# A member with a SIGTERM handler (its cleanup) that the script stops (SIGSTOP) before exiting: a stopped
# process does not act on SIGTERM until continued, so without SIGCONT it sat out the whole grace period
# and was then SIGKILLed, its cleanup never run.
TRAPPING = """
import os, signal, sys, time
def done(signum, frame):
    with open(sys.argv[1], "w") as fh:
        fh.write("cleaned up")
    os._exit(0)
signal.signal(signal.SIGTERM, done)
with open(sys.argv[2] + ".tmp", "w") as fh:
    fh.write(str(os.getpid()))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
time.sleep(120)
"""


def test_a_stopped_member_is_continued_so_its_sigterm_cleanup_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(deploy_script, "KILL_GRACE", 5.0)
    program = tmp_path / "trap.py"
    program.write_text(TRAPPING)
    marker, pidfile = tmp_path / "cleaned", tmp_path / "trap.pid"
    cmd = ["bash", "-c", f'"{sys.executable}" "{program}" "{marker}" "{pidfile}" & '
                         f'while [ ! -s "{pidfile}" ]; do sleep 0.01; done; kill -STOP $!; '
                         f'while [ "$(cut -d")" -f2 /proc/$!/stat | cut -d" " -f2)" != T ]; do sleep 0.01; done; exit 0']
    try:
        code, ended, _, notes = run_group(cmd, tmp_path)
        assert (code, ended) == (0, "finished")
        assert any("left processes in its group: stopping them" in note for note in notes), notes
        assert marker.exists(), "the stopped member was killed without running its SIGTERM handler"
    finally:
        kill_recorded(pidfile)
