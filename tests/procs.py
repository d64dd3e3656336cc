"""Reading real processes in tests: a process's state letter from /proc, and a bounded wait for one to change.

Shared by the process-group tests (tests/test_deploy_group.py, tests/adversarial/test_probe5_deploy_group.py).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from compliance.app.deploy import script as deploy_script


def proc_state(pid: int) -> str | None:
    """The process's state letter (``R``, ``S``, ``Z``...) from /proc, None when it does not exist.

    Read as bytes after the last ")": the command name may hold any bytes, ")" and spaces included."""
    try:
        return Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0].decode()
    except (OSError, IndexError):
        return None


def wait_until(predicate: Callable[[], bool], limit: float = 30.0) -> bool:
    """True as soon as ``predicate()`` holds, else its value after ``limit`` s: a bound, not a timing assert."""
    deadline = time.monotonic() + limit
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.01)
    return predicate()


def run_group(cmd: list, cwd: Path) -> tuple[int, str, list[str], list[str]]:
    """The deploy's script runner on ``cmd`` (its own process group, a 120 s limit):
    ``(exit code, how it ended, output lines, notes)``."""
    lines: list[str] = []
    notes: list[str] = []
    code, ended = deploy_script._run_group(cmd, cwd, dict(os.environ), lines.append, notes.append, 120)
    return code, ended, lines, notes


def kill_recorded(pidfile: Path) -> None:
    """SIGKILL to the process whose pid is the first word of ``pidfile``, if it was written and still runs."""
    if pidfile.exists():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pidfile.read_text().split()[0]), signal.SIGKILL)


def in_background_until_written(program: Path, pidfile: Path) -> list[str]:
    """A bash command that starts the Python ``program`` (given ``pidfile`` as its argument) in the
    background and exits once the program has written that file."""
    return ["bash", "-c", f'"{sys.executable}" "{program}" "{pidfile}" & '
                          f'while [ ! -s "{pidfile}" ]; do sleep 0.01; done; exit 0']
