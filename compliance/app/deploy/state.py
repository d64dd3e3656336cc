"""The state file: lets a run interrupted between deploy and evidence finish without deploying twice.

It is bound to what it claims (the function's CodeSha256, RevisionId and LastModified read right
after the script, and the digest of the script's log); one that does not match the live function
and the log, or that is a symlink, someone else's or malformed, is not trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

from compliance.app.deploy.facts import Output, Plan, ScriptRun
from compliance.base.fsutil import atomic_write_text
from compliance.base.timeutil import iso, utcnow
from compliance.inputs.config import Config
from compliance.model.strict_json import finite_loads
from compliance.sources import aws, lambda_fn
from compliance.sources.base import Meter

STATE_FILE = ".deploy-state.json"

STATE_VERSION = 2

STATE_MAX_BYTES = 4 * 1024 * 1024

_SHA40 = re.compile(r"[0-9a-f]{40}")

_SHA256 = re.compile(r"[0-9a-f]{64}")



def file_sha256(path: Path) -> str | None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    digest = hashlib.sha256()
    with os.fdopen(fd, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()



def read_state(out_dir: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The state file if it can be trusted as ours: (state, None), (None, why not), or (None, None) if absent.

    A symlink is never followed (it could point anywhere), a file owned by someone else or
    writable by others could have been planted, and a malformed one claims nothing usable.
    """
    path = out_dir / STATE_FILE
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"the state file cannot be read ({exc.strerror or exc})"
    bad = _untrusted_file(st, "the state file")
    if bad:
        return None, bad
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as fh:
            raw = fh.read(STATE_MAX_BYTES + 1)
    except OSError as exc:
        return None, f"the state file cannot be read ({exc.strerror or exc})"
    if len(raw) > STATE_MAX_BYTES:
        return None, f"the state file is malformed (larger than {STATE_MAX_BYTES} bytes)"
    try:
        data = finite_loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return None, f"the state file is malformed (not JSON: {exc})"
    problem = _state_problem(data)
    if problem:
        return None, f"the state file is malformed ({problem})"
    return data, None



def _untrusted_file(st: os.stat_result, what: str) -> str | None:
    if stat.S_ISLNK(st.st_mode):
        return f"{what} is a symlink (not followed)"
    if not stat.S_ISREG(st.st_mode):
        return f"{what} is not a regular file"
    if st.st_uid != os.getuid():
        return f"{what} is owned by uid {st.st_uid}, not by this user (uid {os.getuid()})"
    if st.st_mode & 0o022:
        return f"{what} is writable by others (mode {stat.S_IMODE(st.st_mode):o})"
    return None



_STATE_TYPES: dict[str, type | tuple[type, ...]] = {
    "state_version": int, "status": str, "commit": str, "branch": str, "function": str, "region": str,
    "log": str, "changes": list, "tasks": list, "missing_tasks": list,
}

_BOUND_FIELDS = ("last_modified", "code_sha256", "revision_id", "log_sha256")



def _state_problem(data: Any) -> str | None:
    """What makes ``data`` not a state this version wrote; None when it is well-formed."""
    if not isinstance(data, dict):
        return "not an object"
    if data.get("state_version") != STATE_VERSION:
        return f"state_version {data.get('state_version')!r}, expected {STATE_VERSION}"
    for key, kind in _STATE_TYPES.items():
        if not isinstance(data.get(key), kind):
            return f"{key} missing or not a {getattr(kind, '__name__', kind)}"
    if not _SHA40.fullmatch(data["commit"]):
        return "commit is not a full sha"
    if data["log"] != Path(data["log"]).name or not data["log"].startswith("deploy-"):
        return "log is not a deploy log's name in the state file's folder"
    if data["status"] == "deployed":
        for key in _BOUND_FIELDS:
            if not isinstance(data.get(key), str) or not data[key]:
                return f"a deployed state without {key}"
        if not _SHA256.fullmatch(data["log_sha256"]):
            return "log_sha256 is not a sha256 digest"
    if not all(isinstance(t, str) for t in [*data["tasks"], *data["missing_tasks"]]):
        return "tasks are not all strings"
    for c in data["changes"]:
        if not (isinstance(c, dict) and all(isinstance(c.get(k), str) for k in ("sha", "kind", "committed_at",
                                                                                 "subject"))
                and isinstance(c.get("task_ids"), list) and all(isinstance(t, str) for t in c["task_ids"])):
            return "a change is malformed"
    return None



def resume_mismatch(state: dict[str, Any], plan: Plan, out_dir: Path) -> str | None:
    """Why ``state`` does not prove that ``plan.commit`` is what the function runs now; None when it does.

    Resuming skips the script, so it needs the deploy the state describes to be the one live:
    the same function code and revision, read right after the script, and the script's own log,
    untouched, ending in exit code 0.
    """
    if state["status"] != "deployed":
        return f"the last run of the script did not finish a deploy (state: {state['status']})"
    if state["commit"] != plan.commit:
        return f"it is for commit {state['commit'][:12]}, not HEAD {plan.commit[:12]}"
    if (state["function"], state["region"]) != (plan.function, plan.region):
        return f"it is for {state['function']} in {state['region']}"
    live = plan.lambda_before
    for key, name in (("code_sha256", "CodeSha256"), ("revision_id", "RevisionId"), ("last_modified", "LastModified")):
        if live.get(name) != state[key]:
            return f"the function's {name} is now {live.get(name)!r}, the state recorded {state[key]!r}"
    log = out_dir / state["log"]
    try:
        st = os.lstat(log)
    except OSError:
        return f"the script's log {log} is missing"
    bad = _untrusted_file(st, f"the script's log {log}")
    if bad:
        return bad
    if file_sha256(log) != state["log_sha256"]:
        return f"the script's log {log} does not match its recorded sha256"
    head, tail = _log_ends(log)
    if head != log_header(plan):
        return f"the script's log {log} is not the log of deploying {plan.commit[:12]} to {plan.function}"
    if not (tail.startswith("# finished ") and tail.endswith(": exit code 0")):
        return f"the script's log {log} does not end with a successful finish"
    return None



def log_header(plan: Plan) -> str:
    return f"# compliance deploy {plan.commit} of {plan.branch} to {plan.function} in {plan.region}"



def _log_ends(path: Path) -> tuple[str, str]:
    """The log's first and last lines (the header names the deploy, the last says how it ended)."""
    with open(path, "rb") as fh:
        first = fh.readline(4096).decode("utf-8", "replace").rstrip("\n")
        fh.seek(max(0, os.fstat(fh.fileno()).st_size - 4096))
        lines = fh.read().decode("utf-8", "replace").rstrip("\n").splitlines()
    return first, (lines[-1] if lines else "")



def state_base(plan: Plan, status: str, log_path: Path) -> dict[str, Any]:
    return {
        "state_version": STATE_VERSION,
        "status": status,
        "commit": plan.commit,
        "branch": plan.branch,
        "function": plan.function,
        "region": plan.region,
        "log": log_path.name,
        "updated_at": iso(utcnow()),
        "changes": plan.changes,
        "tasks": plan.tasks,
        "missing_tasks": plan.missing_tasks,
    }



def save_state(out_dir: Path, state: dict[str, Any], out: Output) -> bool:
    """Replace the state file atomically (a rename replaces a planted link, never writes through it)."""
    try:
        atomic_write_text(out_dir / STATE_FILE, json.dumps(state, indent=2, sort_keys=True) + "\n")
    except OSError as exc:
        out(f"warning: could not write {out_dir / STATE_FILE} ({exc.strerror or exc}); an interrupted run "
            "cannot resume and will deploy again")
        return False
    return True



def write_state(plan: Plan, out_dir: Path, config: Config, run: ScriptRun, out: Output) -> None:
    """After the script: "deployed" (bound to the function and the log) only when it finished with 0."""
    if run.ended != "finished":
        state = state_base(plan, "interrupted", run.log_path)
        state["reason"] = f"the script {run.ended}"
        save_state(out_dir, state, out)
        return
    if run.code != 0:
        save_state(out_dir, {**state_base(plan, "failed", run.log_path), "exit_code": run.code}, out)
        return
    try:
        cfg = lambda_fn.collect_lambda(plan.function, plan.region, meter=Meter(),
                                       options=config.source_options("lambda"), versions=False)["configuration"]
    except aws.AwsSourceError as exc:
        out(f"warning: could not read the function after the deploy ({exc}); an interrupted run cannot resume")
        save_state(out_dir, {**state_base(plan, "unbound", run.log_path), "reason": str(exc)}, out)
        return
    state = state_base(plan, "deployed", run.log_path)
    state.update({"last_modified": cfg.get("LastModified"), "code_sha256": cfg.get("CodeSha256"),
                  "revision_id": cfg.get("RevisionId"), "log_sha256": run.log_sha256, "deployed_at": iso(utcnow())})
    if _state_problem(state):  # the function did not say what binds the state: do not claim it
        out(f"warning: the function's configuration lacks {', '.join(k for k in _BOUND_FIELDS if not state.get(k))}; "
            "an interrupted run cannot resume")
        state["status"] = "unbound"
    save_state(out_dir, state, out)



def rebind_settled(out_dir: Path, plan: Plan, cfg: dict[str, Any], out: Output) -> None:
    """Follow a RevisionId that changed while the update settled (State, LastUpdateStatus).

    Only when the code and LastModified are still those read right after the script: any
    further update of the function changes LastModified, so this cannot adopt someone else's.
    """
    state, _ = read_state(out_dir)
    if not state or state["status"] != "deployed" or state["commit"] != plan.commit:
        return
    if not cfg.get("RevisionId") or cfg.get("RevisionId") == state["revision_id"]:
        return
    if (cfg.get("CodeSha256"), cfg.get("LastModified")) != (state["code_sha256"], state["last_modified"]):
        return
    save_state(out_dir, {**state, "revision_id": cfg["RevisionId"], "settled_at": iso(utcnow())}, out)
