"""Measuring helpers shared by the benchmark sections: child processes, medians, machine facts.

Every command is measured as a child process waited for with ``os.wait4``, which gives the wall
time and that child's own peak RSS (``ru_maxrss``, including the children it waited for itself,
such as the ``git log`` the git source runs). Output goes to a file, never a pipe we might stop
reading, so a chatty child cannot stall on a full pipe and distort its time.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


@dataclass
class Run:
    seconds: float
    rss_mb: float
    code: int
    stdout: bytes = b""
    stderr: bytes = b""
    cpu: float = 0.0  # user + system seconds of the child (and the children it waited for)


GNU_TIME = "/usr/bin/time"


def run(argv: list[str], *, env: dict[str, str] | None = None, cwd: str | Path | None = None,
        keep_output: bool = True, stdin: bytes | None = None) -> Run:
    """Run ``argv`` to completion; wall time from spawn to reap, and the child's peak RSS.

    A forked child's ``ru_maxrss`` starts at its parent's RSS (the pages it shares until exec),
    so a large benchmark process would hide a small child's peak. When GNU time is installed,
    it is the process forked here (small), and it reports its own child's peak with ``%M``.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(prefix="bench-rss-", suffix=".txt") as rss_file:
        wrapped = os.path.exists(GNU_TIME)
        if wrapped:
            argv = [GNU_TIME, "-f", "%M", "-o", rss_file.name, *argv]
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out if keep_output else subprocess.DEVNULL, stderr=err,
                                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL, env=env, cwd=cwd)
        if stdin is not None:
            assert proc.stdin is not None
            proc.stdin.write(stdin)
            proc.stdin.close()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        rss_kb = float(usage.ru_maxrss)
        if wrapped:
            text = Path(rss_file.name).read_text().strip().splitlines()
            rss_kb = float(text[-1]) if text and text[-1].isdigit() else rss_kb
        return Run(seconds, rss_kb / 1024, proc.returncode, out.read() if keep_output else b"", err.read(),
                   usage.ru_utime + usage.ru_stime)


@dataclass
class Series:
    """Repeated measurements of one command."""

    name: str
    runs: list[Run] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    @property
    def spread(self) -> str:
        times = sorted(r.seconds for r in self.runs)
        return f"{times[0]:.2f}-{times[-1]:.2f}" if len(times) > 1 else "single run"

    @property
    def peak_rss(self) -> float:
        return max(r.rss_mb for r in self.runs)


def git_env() -> dict[str, str]:
    return {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"}


def machine() -> dict[str, Any]:
    def first_line(argv: list[str]) -> str:
        try:
            return subprocess.run(argv, capture_output=True, text=True, check=False).stdout.strip().splitlines()[0]
        except (OSError, IndexError):
            return "unknown"

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0, 0, 0)
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory": mem,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "git": first_line(["git", "--version"]),
        "os": f"{platform.system()} {platform.release()}",
        "load_at_start": ", ".join(f"{x:.2f}" for x in load),
    }


def code_state() -> str:
    """Which code was measured: HEAD, uncommitted changes under compliance/, and a digest of its sources."""
    import hashlib

    def git(*args: str) -> str:
        r = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False)
        return r.stdout.strip()

    head = git("rev-parse", "--short=12", "HEAD") or "unknown"
    dirty = [ln for ln in git("status", "--porcelain", "--", "compliance").splitlines() if ln.strip()]
    digest = hashlib.sha256()
    for path in sorted((ROOT / "compliance").rglob("*")):
        if path.is_file() and path.suffix in (".py", ".json"):
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    changes = f" with {len(dirty)} uncommitted change(s) under compliance/" if dirty else ""
    return f"HEAD {head}{changes} (digest of compliance/*.py,*.json: {digest.hexdigest()[:12]})"


def fmt_s(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s"


@dataclass
class Row:
    """One line of the results table: a measurement against its target."""

    section: str
    what: str
    measured: str
    target: str
    ok: bool | None  # None: informational, no target
    note: str = ""
    why: str = ""  # for a miss: why, from the measurements, and what would close it

    @property
    def verdict(self) -> str:
        return {True: "met", False: "**MISSED**", None: "-"}[self.ok]
