"""Running the deploy script: its own process group, a time limit, every line redacted to terminal and log.

An interrupt (SIGINT, SIGTERM) or the limit stops the whole group, so no child of the script keeps
deploying unobserved.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from compliance.app.deploy.facts import KEY_ENV, SCRIPT_TIMEOUT, Output, Plan, PreflightError, ScriptRun
from compliance.app.deploy.state import file_sha256, log_header, save_state, state_base
from compliance.base.timeutil import iso, utcnow

KILL_GRACE = 10.0  # seconds between SIGTERM and SIGKILL to the script's process group

LOG_NAME_TRIES = 10  # the log's name and this many alternatives before giving up



def run_script(plan: Plan, out_dir: Path, env: dict[str, str], rotate_key: bool, out: Output, *,
               timeout: float = SCRIPT_TIMEOUT) -> ScriptRun:
    """Run the script from the repository root; every line to the terminal and the log, redacted.

    The script gets its own process group so that an interrupt, SIGTERM or the time limit stops
    everything it started, not only bash; the state file says "running" while it runs, so a
    run killed outright is never mistaken for a finished deploy.
    """
    script_env = dict(env)
    if not rotate_key:
        script_env.pop(KEY_ENV, None)  # a key in the environment rotates it: only when asked
    script_env["REGION"] = plan.region
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PreflightError(f"cannot create {out_dir}: {exc.strerror or exc}") from None
    fd, log_path = create_log(out_dir, utcnow().strftime("%Y%m%dT%H%M%SZ"), plan.commit[:12], out)
    save_state(out_dir, state_base(plan, "running", log_path), out)
    out(f"DEPLOY  bash {plan.script}  (log: {log_path}, time limit {timeout:g}s)")
    lock = threading.Lock()
    log = os.fdopen(fd, "w", encoding="utf-8")
    try:
        def note(text: str) -> None:
            with lock:
                if not log.closed:
                    log.write(text + "\n")
                    log.flush()

        def both(line: str) -> None:
            clean = out.clean(line)
            with lock:
                if log.closed:  # a process that escaped the group still talks: the run is over
                    return
                out.stream.write(clean + "\n")
                log.write(clean + "\n")
                log.flush()

        note(log_header(plan))
        note(f"# started {iso(utcnow())}: bash {plan.script} (cwd {plan.repo_root})")
        code, ended = _run_group(["bash", plan.script], plan.repo_root, script_env, both, note, timeout)
        note(f"# {ended} {iso(utcnow())}: exit code {code}")
    finally:
        with lock:  # the output thread may outlive the run (see _run_group): never write a closed file
            log.close()
    digest = file_sha256(log_path)
    if ended == "finished":
        out(f"deploy script exited with {code}")
    elif ended == "timed out":
        out(f"deploy script TIMED OUT after {timeout:g}s: its process group was stopped")
    else:
        out(f"deploy script {ended}")
    return ScriptRun(code, log_path, ended, digest)



def create_log(out_dir: Path, stamp: str, sha12: str, out: Output) -> tuple[int, Path]:
    """A new log file, created exclusively and never through a link: its name is predictable.

    A name that exists (a planted file or symlink, or a run in the same second) is left alone
    and the next alternative is tried; after ``LOG_NAME_TRIES`` of them the deploy stops.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    first = out_dir / f"deploy-{stamp}-{sha12}.log"
    for n in range(LOG_NAME_TRIES + 1):
        path = first if n == 0 else out_dir / f"deploy-{stamp}-{sha12}-{n}.log"
        try:
            fd = os.open(path, flags, 0o600)
        except FileExistsError:
            continue
        except OSError as exc:
            raise PreflightError(f"cannot create the deploy log {path}: {exc.strerror or exc}") from None
        if n:
            out(f"warning: {first.name} already exists (not opened, never followed); logging to {path.name}")
        return fd, path
    raise PreflightError(f"cannot create the deploy log: {first} and {LOG_NAME_TRIES} alternatives already exist "
                         f"(planted files or symlinks?); none was opened; remove them or use another --out")



class _Terminated(KeyboardInterrupt):
    """SIGTERM while the script runs: handled like Ctrl-C, so the process group is stopped."""



@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread; SIGTERM keeps its default
        return

    def handler(signum: int, frame: Any) -> None:
        raise _Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:  # None: a handler not set from Python, which cannot be put back; the default it is
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)



def _run_group(cmd: list[str], cwd: Path, env: dict[str, str], line: Callable[[str], None],
               note: Callable[[str], None], timeout: float) -> tuple[int, str]:
    """Run ``cmd`` as a new session; returns (exit code, how it ended).

    The output is read by a thread so that the main thread can enforce the time limit and
    receive the interrupt. Whatever way the script ends, no process of its group is left.
    """
    try:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as exc:
        line(f"cannot start bash: {exc}")
        return 127, "not started"
    note(f"# process group {proc.pid}")

    def pump() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line(raw.decode("utf-8", "replace").rstrip("\r\n"))

    reader = threading.Thread(target=pump, name="deploy-script-output", daemon=True)
    reader.start()
    ended = "finished"
    with _sigterm_interrupts():
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            ended = "timed out"
        except KeyboardInterrupt as exc:
            ended = "interrupted"
            note(f"# {'SIGTERM' if isinstance(exc, _Terminated) else 'SIGINT'}: stopping process group {proc.pid}")
        if ended == "timed out":
            note(f"# time limit of {timeout:g}s reached: stopping process group {proc.pid}")
        if ended != "finished" or _group_alive(proc.pid):
            if ended == "finished":
                note("# the script exited but left processes in its group: stopping them")
            _stop_group(proc)
        else:
            _kill_hidden_members(proc.pid)
    reader.join(timeout=KILL_GRACE)
    if reader.is_alive():
        line("warning: the output is still held open by a process that left the script's process group "
             "(setsid or a daemon): not waiting for it, and it cannot be stopped from here")
    elif proc.stdout is not None:
        proc.stdout.close()
    return (proc.returncode if proc.returncode is not None else -1), ended



def _group_alive(pgid: int) -> bool:
    """True while a process of the group can still run.

    ``killpg(pgid, 0)`` also succeeds while the group holds only zombies: processes that have exited
    but that their parent (often PID 1, for an orphan) has not reaped yet. A zombie runs nothing, so
    where /proc can be read the group counts as alive only while a member is not a zombie; else the
    signal test alone decides (erring towards waiting, never towards leaving a process running).
    ``_stop_group`` sends SIGKILL to the group in any case once it stops waiting.
    """
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    states = _member_states(pgid)
    if not states:  # /proc cannot tell, or the members went between the two looks: ask again later
        return True
    return any(state not in _EXITED for state in states)


_EXITED = frozenset("ZX")  # /proc state letters of a process that has exited: zombie, dead


def _kill_hidden_members(pgid: int) -> None:
    """SIGKILL to a group that /proc showed as only zombies: harmless to them, fatal to a member it missed.

    The /proc scan lists the processes first and reads each one after; a member that forks and exits
    in between hides its child (a fork chain is never seen), so "only zombies" is not proof enough to
    leave the group alone. No note and no grace period: as far as anyone could see, nothing ran.
    """
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _member_states(pgid: int) -> list[str]:
    """The /proc state letter of each process in group ``pgid`` it can see; none where /proc cannot tell."""
    try:
        entries = [entry for entry in Path("/proc").iterdir() if entry.name.isdigit()]
    except OSError:
        return []
    states = []
    for entry in entries:
        try:
            fields = _stat_fields(entry / "stat")
        except (OSError, IndexError):
            continue  # exited while we looked, or unreadable: not a member we can see
        if len(fields) > 2 and fields[2] == str(pgid):
            states.append(fields[0] if fields[0] not in _EXITED or not _threads_run(entry) else "R")
    return states


def _stat_fields(path: Path) -> list[str]:
    """The fields of a /proc stat file after the command name, which is raw bytes of any kind.

    The name may hold ")", spaces, newlines and bytes that are not UTF-8 (a file named so and run):
    only the fields after its last ")" are read, and as bytes, so no name can raise or shift them.
    """
    return path.read_bytes().rsplit(b")", 1)[1].decode("ascii", "replace").split()


def _threads_run(entry: Path) -> bool:
    """Whether a process that /proc shows as exited still has a running thread.

    A process whose main thread ended (``pthread_exit``) shows its leader as a zombie while its
    other threads go on; only when every thread is a zombie has the process exited. Unreadable
    counts as running: never conclude "gone" from what could not be read.
    """
    try:
        tasks = list((entry / "task").iterdir())
        for task in tasks:
            if _stat_fields(task / "stat")[0] not in _EXITED:
                return True
    except (OSError, IndexError):
        return True
    return not tasks



def _stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM (and SIGCONT) to the whole group, a grace period, then SIGKILL; a second interrupt skips the grace."""
    pgid = proc.pid
    try:
        os.killpg(pgid, signal.SIGTERM)
        os.killpg(pgid, signal.SIGCONT)  # a stopped member acts on SIGTERM only once continued
        deadline = time.monotonic() + KILL_GRACE
        while _group_alive(pgid) and time.monotonic() < deadline:
            try:
                proc.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                pass
            if proc.returncode is not None:
                time.sleep(0.05)  # bash is gone; its children may still be exiting
    except ProcessLookupError:
        pass
    except KeyboardInterrupt:
        pass  # asked twice: no more grace
    finally:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
