"""Reading real processes in tests: a process's state letter from /proc, and a bounded wait for one to change.

Shared by the process-group tests (tests/test_deploy_group.py, tests/adversarial/test_probe5_deploy_group.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path


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
