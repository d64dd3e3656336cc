"""``compliance deploy``: deploy the canonical way, validate, and record the evidence.

The runbook asks people to run the deploy script and then validate and document by hand;
the hand-written part is what audits keep finding missing. This command does the whole
sequence, so the compliant path is also the easy one:

1. preflight (nothing changes if any of it fails, exit 2): clean working tree, the commit to
   deploy is on the governed branch's first-parent chain, no deploy-manager request for the
   function is pending (the runbook forbids that flow, and a pending one would race), the
   function is readable; then the PLAN: which in-scope changes and tasks this deploy covers,
   i.e. those after the newest commit named by complete, passing worklog evidence;
2. run the deploy script from the repository root, streaming its output to the terminal and a
   log file (secrets redacted in both);
3. wait for the Lambda update with boto3's waiters, collect a fresh snapshot and judge it
   through the normal pipeline; the validation outcome is the runbook's validation rules
   (``lambda_state``, ``api_routes``, ``capability_endpoint``);
4. record the evidence on every covered task with idempotent conditional writes.

A state file written right after the script succeeded lets a run interrupted between deploy
and evidence be finished by the next run without deploying twice. It is bound to what it
claims (the function's CodeSha256, RevisionId and LastModified read right after the script,
and the digest of the script's log); a state that does not match the live function and the
log, or that is a symlink, someone else's or malformed, is not trusted: the script runs again.

The script runs in its own process group with a time limit; an interrupt (SIGINT, SIGTERM) or
the limit stops the whole group, so no child of the script keeps deploying unobserved.

Exit codes: 0 deployed, validated and recorded; 1 deployed but validation failed (recorded as
failed); 2 preflight failed, the script failed or timed out, or the evidence could not be
written; 130 interrupted while the script ran (nothing recorded; the next run deploys again).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlparse

from compliance.base.errors import EXIT_ERROR, EXIT_FAIL, EXIT_OK, ComplianceError
from compliance.base.redact import MASK, SECRET_ENV, LineRedactor, clip, redact
from compliance.base.timeutil import iso, parse_time, utcnow
from compliance.sources.base import Meter

LOOKBACK_DAYS = 30
STATE_FILE = ".deploy-state.json"
DEPLOY_KINDS = ("deploy_coverage", "worklog_evidence")
VALIDATION_KINDS = ("lambda_state", "api_routes", "capability_endpoint")
KEY_ENV = "COORDINATION_INTERNAL_API_KEY"
WAIT_DELAY = 2.0
EXIT_INTERRUPTED = 130  # as the CLI's for an interrupt
SCRIPT_TIMEOUT = 3600.0  # default --timeout: a deploy script that runs an hour is stuck
KILL_GRACE = 10.0  # seconds between SIGTERM and SIGKILL to the script's process group
LOG_NAME_TRIES = 10  # the log's name and this many alternatives before giving up
STATE_VERSION = 2
STATE_MAX_BYTES = 4 * 1024 * 1024
_SHA40 = re.compile(r"[0-9a-f]{40}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class PreflightError(ComplianceError):
    """A reason not to deploy; raised before anything has changed."""


@dataclass
class Plan:
    repo_root: Path
    script: str
    function: str
    region: str
    commit: str
    subject: str
    branch: str
    behind: int  # first-parent commits between the deployed commit and the branch tip
    since: datetime
    last_evidenced: str | None
    changes: list[dict[str, Any]]
    tasks: list[str]
    missing_tasks: list[str]
    lambda_before: dict[str, Any]
    resume: dict[str, Any] | None = None
    not_resumed: str | None = None  # why a state file found was not trusted
    warnings: list[str] = field(default_factory=list)


@dataclass
class ScriptRun:
    """How the script ended: ``ended`` is finished, timed out, interrupted or not started."""

    code: int
    log_path: Path
    ended: str
    log_sha256: str | None = None


# --------------------------------------------------------------------------- output


class _Out:
    """Every line the command prints goes through one redactor, including the script's output."""

    def __init__(self, stream: IO[str], env: dict[str, str]):
        self.stream = stream
        self.secrets = sorted({v for k in SECRET_ENV for v in (env.get(k), os.environ.get(k))
                               if v and len(v) >= 4}, key=len, reverse=True)
        self.redact = LineRedactor()  # remembers a PEM private key across the lines it spans

    def clean(self, text: str) -> str:
        for value in self.secrets:
            text = text.replace(value, MASK)
        return self.redact(text)

    def __call__(self, text: str = "") -> None:
        self.stream.write(self.clean(text) + "\n")
        flush = getattr(self.stream, "flush", None)
        if flush:
            flush()


# --------------------------------------------------------------------------- entry points


def deploy(config: Any, ruleset: Any, *, ref: str | None = None, dry_run: bool = False, out_dir: Path,
           env: dict[str, str] | None = None, stream: IO[str] | None = None, rotate_key: bool = False,
           wait_timeout: float = 300, report_url: str | None = None, waivers: str | None = None,
           timeout: float = SCRIPT_TIMEOUT) -> int:
    """Deploy, validate and record; returns the exit code (see the module docstring).

    ``waivers`` are applied to the report exactly as in every other mode; they never make a failed
    validation pass (the deploy is validated only by passing findings). ``timeout`` bounds the
    script's run in seconds.
    """
    base_env = dict(os.environ if env is None else env)
    out = _Out(stream or sys.stdout, base_env)
    out_dir = Path(out_dir)
    if waivers:  # a broken waiver file is found before anything is deployed
        from compliance.inputs.waivers import load_waivers

        load_waivers(waivers, now=utcnow(), rule_ids={r.id for r in ruleset.rules})
    try:
        _check_limits(timeout, wait_timeout)
        plan = preflight(config, ruleset, ref=ref, out_dir=out_dir, env=base_env, rotate_key=rotate_key)
        check_evidence_inputs(plan, config.target, report_url)
        _check_out_dir(out_dir)
    except ComplianceError as exc:
        out(f"deploy refused (preflight): {exc}")
        out("nothing was deployed or recorded")
        return EXIT_ERROR
    print_plan(plan, out)
    if dry_run:
        out("dry run: nothing deployed, nothing recorded")
        return EXIT_OK

    run: ScriptRun | None = None
    if plan.resume:
        out(f"resuming: {plan.commit[:12]} was deployed at LastModified={plan.resume['last_modified']} "
            f"(state file {out_dir / STATE_FILE}); the function still shows its CodeSha256 and RevisionId and "
            "the script's log is intact; not re-running the script")
    else:
        if plan.not_resumed:
            out(f"not resuming from {out_dir / STATE_FILE}: {plan.not_resumed}; running the script")
        try:
            run = run_script(plan, out_dir, base_env, rotate_key, out, timeout=timeout)
        except ComplianceError as exc:
            out(f"deploy refused: {exc}")
            out("nothing was deployed or recorded")
            return EXIT_ERROR
        if run.ended == "interrupted":
            _write_state(plan, out_dir, config, run, out)
            out("deploy INTERRUPTED: the script and every process it started were stopped; nothing was "
                "recorded as evidence; the next `compliance deploy` runs the script again")
            return EXIT_INTERRUPTED
        _write_state(plan, out_dir, config, run, out)
    try:
        return _validate_and_record(config, ruleset, plan, out_dir, run, wait_timeout, report_url, out, waivers,
                                    timeout)
    except ComplianceError as exc:
        out(f"error after the deploy step: {exc}")
        out("re-run `compliance deploy`: once the state file was written, the deployed commit is validated "
            "and recorded without running the script again")
        return EXIT_ERROR


# --------------------------------------------------------------------------- preflight


def _git(repo: str):
    from compliance.sources.git import GitRunner

    return GitRunner(repo, Meter())


def _git_out(runner: Any, *args: str) -> tuple[int, str, str]:
    code, out, err = runner.run(*args)
    return code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace").strip()


def _region(target: dict[str, Any], env: dict[str, str]) -> str:
    return (target.get("region") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
            or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-west-2")


def preflight(config: Any, ruleset: Any, *, ref: str | None, out_dir: Path, env: dict[str, str],
              rotate_key: bool) -> Plan:
    """Check everything that must hold before deploying and work out what the deploy covers."""
    target = config.target
    missing = [k for k in ("repo", "deploy_script", "function") if not target.get(k)]
    if missing:
        raise PreflightError(f"target.{', target.'.join(missing)} not configured")
    if rotate_key and not env.get(KEY_ENV):
        raise PreflightError(f"--rotate-key needs {KEY_ENV} in the environment")
    branch, function, region = target["branch"], target["function"], _region(target, env)
    repo_root, commit, subject, behind = _check_repo(target["repo"], branch, ref)
    script = target["deploy_script"]
    if not (repo_root / script).is_file():
        raise PreflightError(f"deploy script {script} not found in {repo_root}")

    now = utcnow()
    _check_no_pending_request(config, ruleset, function, now)
    lambda_before = _read_lambda(function, region, config.source_options("lambda"))

    commit_time = _commit_time(repo_root, commit)
    since = min(now, commit_time) - timedelta(days=LOOKBACK_DAYS)
    until = max(now, commit_time)
    plan = Plan(repo_root=repo_root, script=script, function=function, region=region, commit=commit,
                subject=subject, branch=branch, behind=behind, since=since, last_evidenced=None, changes=[],
                tasks=[], missing_tasks=[], lambda_before=lambda_before)
    _plan_coverage(plan, config, ruleset, since, until)

    state, why = read_state(out_dir)
    if state is not None:
        why = resume_mismatch(state, plan, out_dir)
    if why:
        plan.not_resumed = why
    elif state is not None:
        plan.resume = state
        # the partial evidence written before the interruption moves "the last deploy with
        # evidence" forward; what this deploy covers is what was planned when it ran
        plan.changes = state.get("changes", plan.changes)
        plan.tasks = state.get("tasks", plan.tasks)
        plan.missing_tasks = state.get("missing_tasks", plan.missing_tasks)
    return plan


def _check_limits(timeout: float, wait_timeout: float) -> None:
    """A NaN or negative limit would only fail after the script ran (or never stop it)."""
    if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and timeout > 0):
        raise PreflightError(f"--timeout must be a positive number of seconds, not {timeout!r}")
    if not (isinstance(wait_timeout, (int, float)) and math.isfinite(wait_timeout) and wait_timeout >= 0):
        raise PreflightError(f"--wait-timeout must be zero or a positive number of seconds, not {wait_timeout!r}")


def _check_out_dir(out_dir: Path) -> None:
    """The log, state, reports and snapshot go there: find out now, not after the deploy."""
    probe = out_dir
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.is_symlink() and probe == out_dir:
        probe = probe.resolve()
    if not probe.is_dir():
        raise PreflightError(f"--out {out_dir}: {probe} is not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise PreflightError(f"--out {out_dir}: {probe} is not writable")


def check_evidence_inputs(plan: Plan, target: dict[str, Any], report_url: str | None) -> None:
    """Every input the evidence line is made of, tried now: a line refused after the deploy records nothing.

    The trial lines use the commit, function, script and report URL that the real one will, with
    both outcomes and the details validation can add, and must read back field by field.
    """
    from compliance.judge.evidence import FAIL, PASS, parse_evidence_line

    if report_url is not None:
        _check_report_url(report_url)
    lm = plan.lambda_before.get("LastModified") or "2000-01-01T00:00:00.000+0000"
    probe = _probe_detail(target.get("capability_url"), None, 200)
    trials = [(PASS, ["State=Active", "LastUpdateStatus=Successful", "routes 1/1 present", probe]),
              (FAIL, ["deploy script exit 1", f"deploy script timed out after {SCRIPT_TIMEOUT:.0f}s", "State=Failed",
                      "LastUpdateStatus=Failed", "routes 0/1 present", _probe_detail(target.get("capability_url"),
                                                                                      None, 503)])]
    for outcome, details in trials:
        try:
            line = _evidence_line(plan, lm, outcome, details, report_url)
        except ValueError as exc:
            raise PreflightError(f"the evidence line could not be written with this configuration: {exc}") from None
        back = parse_evidence_line(line) or {}
        want = {"commit": plan.commit, "function": plan.function, "via": _via(plan), "outcome": outcome,
                "report_url": report_url}
        wrong = [k for k, v in want.items() if back.get(k) != v]
        if wrong:
            raise PreflightError(f"the evidence line would not read back its {', '.join(wrong)} "
                                 f"(function {plan.function!r}, script {plan.script!r}, report URL "
                                 f"{report_url!r}): {line!r}")


def _check_report_url(url: str) -> None:
    """An http(s) URL in one token: the worklog line names it after ``report:`` up to the next space."""
    if not url or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url) or ";" in url:
        raise PreflightError(f"--report-url {url!r}: must be one http(s) URL without spaces, control "
                             "characters or ';'")
    parsed = urlparse(url)
    try:
        parsed.port  # noqa: B018 - raises for a port out of range
    except ValueError:
        raise PreflightError(f"--report-url {url!r}: the port is not a number from 0 to 65535") from None
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise PreflightError(f"--report-url {url!r}: must be an http:// or https:// URL with a host")
    if parsed.username is not None or parsed.password is not None or redact(url) != url:
        # the worklog line is kept and read by everyone who reads the tracker
        raise PreflightError(f"--report-url {redact(url.replace(parsed.netloc, parsed.hostname))!r}: carries "
                             "credentials or a token; give a URL without secrets")


def _check_repo(repo: str, branch: str, ref: str | None) -> tuple[Path, str, str, int]:
    runner = _git(repo)
    runner.probe()
    code, top, err = _git_out(runner, "rev-parse", "--show-toplevel")
    if code != 0 or not top.strip():
        raise PreflightError(f"{repo} has no working tree to deploy from ({err or 'bare repository'})")
    root = Path(top.strip())
    code, status, err = _git_out(runner, "status", "--porcelain", "--untracked-files=normal")
    if code != 0:
        raise PreflightError(f"git status failed in {repo}: {err}")
    if status.strip():
        lines = status.rstrip("\n").splitlines()
        more = f" (+{len(lines) - 10} more)" if len(lines) > 10 else ""
        raise PreflightError(f"the working tree of {root} is not clean; commit or stash first:\n  "
                             + "\n  ".join(lines[:10]) + more)
    code, head, err = _git_out(runner, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    if code != 0:
        raise PreflightError(f"{repo} has no commit checked out")
    head = head.strip()
    if ref:
        code, wanted, _ = _git_out(runner, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        if code != 0:
            raise PreflightError(f"--ref {ref!r} is not a commit in {repo}")
        wanted = wanted.strip()
        if wanted != head:
            raise PreflightError(f"--ref {ref} is {wanted[:12]} but HEAD is {head[:12]}: the script deploys the "
                                 f"working tree, so check it out first (git checkout {wanted[:12]})")
    tip, _ = runner.resolve_branch(branch)
    code, chain, err = _git_out(runner, "rev-list", "--first-parent", tip)
    if code != 0:
        raise PreflightError(f"git rev-list failed in {repo}: {err}")
    shas = chain.split()
    if head not in shas:
        raise PreflightError(f"HEAD {head[:12]} is not a commit of {branch} (not on its first-parent chain): "
                             f"only commits of {branch} are deployed; check out {branch} or one of its commits")
    _, subject, _ = _git_out(runner, "log", "-1", "--format=%s", head)
    return root, head, subject.strip(), shas.index(head)


def _commit_time(root: Path, commit: str) -> datetime:
    _, text, _ = _git_out(_git(str(root)), "log", "-1", "--format=%cI", commit)
    return parse_time(text.strip()) or utcnow()


def _check_no_pending_request(config: Any, ruleset: Any, function: str, now: datetime) -> None:
    from compliance.app.collect import collect_one
    from compliance.judge.checks.deploy_manager import names_function, request_targets

    dm = (config.target.get("deploy_manager") or {}).get("table")
    if not dm and not config.source_options("deploy_manager").get("file"):
        return  # no deploy manager in this system: nothing can race
    src = collect_one("deploy_manager", config.source_options("deploy_manager"), config.target, {}, ruleset,
                       now - timedelta(days=LOOKBACK_DAYS), now)
    if src["status"] != "ok":
        err = src.get("error") or {}
        raise PreflightError(f"cannot read the deploy-manager table to rule out a pending request: "
                             f"{err.get('type')}: {err.get('message')}")
    for req in src["data"].get("requests", []):
        if str(req.get("status") or "").lower() != "pending":
            continue
        if any(names_function(t, function) for t in request_targets(req)):
            raise PreflightError(
                f"deploy-manager request {req.get('request_id')} ({req.get('deployment_type')}, submitted "
                f"{req.get('submitted_at')} by {req.get('submitted_by', '?')}) is pending for {function}: the "
                "runbook forbids that flow and it would race this deploy; withdraw it first")


def _read_lambda(function: str, region: str, options: dict[str, Any]) -> dict[str, Any]:
    from compliance.sources import aws, lambda_fn

    try:
        return lambda_fn.collect_lambda(function, region, meter=Meter(), options=options, versions=False)["configuration"]
    except aws.AwsSourceError as exc:
        raise PreflightError(f"cannot read the function {function} in {region}: {type(exc).__name__}: {exc}") from None


def _plan_coverage(plan: Plan, config: Any, ruleset: Any, since: datetime, until: datetime) -> None:
    """The in-scope changes after the newest commit named by complete, passing worklog evidence."""
    from compliance.app.collect import collect_one
    from compliance.judge.engine import EvidenceIndex, History
    from compliance.sources.base import run_source
    from compliance.sources.git import collect_git

    target = config.target
    git_src = run_source("git", "plan", lambda m: collect_git(target["repo"], plan.branch, since,
                                                              id_pattern=target.get("task_id_pattern"), meter=m))
    if git_src["status"] != "ok":
        raise PreflightError(f"git: {git_src['error']['message']}")
    tracker = collect_one("tracker", config.source_options("tracker"), target, {"git": git_src}, ruleset,
                           since, until)
    if tracker["status"] != "ok":
        err = tracker.get("error") or {}
        raise PreflightError(f"cannot read the tracker, where the evidence must be recorded: "
                             f"{err.get('type')}: {err.get('message')}")
    history = History(git_src["data"])
    head_pos = history.position.get(plan.commit)
    if head_pos is None:  # older than the look-back window: nothing in it to cover
        plan.warnings.append(f"{plan.commit[:12]} is older than the {LOOKBACK_DAYS}-day look-back")
        return
    index = EvidenceIndex(tracker["data"], history)
    last = -1
    for task, evs in index.by_task.items():
        for n, ev in enumerate(evs):
            if ev.outcome == "pass" and ev.last_modified:
                last = max([last, *index.resolved(task, n)])
    if last >= 0:
        plan.last_evidenced = history.commits[last]["sha"]
    scopes = deploy_scopes(ruleset.rules)
    tasks: dict[str, None] = {}
    # the git data opens with the commit just before the window (its boundary): never a change to deploy
    first = max(last + 1, history.window(since, until).start)
    for pos in range(first, head_pos + 1):
        c = history.commits[pos]
        paths = [f["path"] for f in c["files"]]
        if scopes and not any(s.select(paths) for s in scopes):
            continue
        plan.changes.append({"sha": c["sha"], "kind": c["kind"], "pr": c.get("pr"),
                             "committed_at": c["committed_at"], "subject": c["subject"],
                             "task_ids": list(c["task_ids"])})
        tasks.update(dict.fromkeys(c["task_ids"]))
    plan.tasks = sorted(tasks)
    absent = set(tracker["data"].get("missing") or [])
    plan.missing_tasks = [t for t in plan.tasks if t in absent or t not in tracker["data"].get("items", {})]


def deploy_scopes(rules: list[Any]) -> list[Any]:
    """The scopes whose changes a deploy must cover and document.

    Only rules about deploying a change (coverage, worklog evidence) say what a deploy covers; a
    co-change guard's broader scope (say, one that includes a generated file) does not make a
    commit touching only that file something to deploy. Without such rules, every scoped rule counts.
    """
    deploying = [r.scope for r in rules if not r.scope.is_empty
                 and any(c.kind in DEPLOY_KINDS for c in r.checks)]
    return deploying or [r.scope for r in rules if not r.scope.is_empty]


def print_plan(plan: Plan, out: _Out) -> None:
    cfg = plan.lambda_before
    where = f"HEAD of {plan.branch}" if plan.behind == 0 else f"{plan.behind} commit(s) behind {plan.branch}"
    out("PLAN")
    out(f"  script    bash {plan.script}  (from {plan.repo_root})")
    out(f"  function  {plan.function} in {plan.region}  (now LastModified={cfg.get('LastModified')} "
        f"CodeSha256={cfg.get('CodeSha256')})")
    out(f"  commit    {plan.commit} {plan.subject}  ({where})")
    if plan.last_evidenced:
        out(f"  last deploy with evidence: {plan.last_evidenced[:12]}")
    else:
        out(f"  last deploy with evidence: none in the {LOOKBACK_DAYS}-day look-back "
            f"(since {iso(plan.since)})")
    when = " (as planned when it was deployed; see resuming below)" if plan.resume else ""
    out(f"  changes   {len(plan.changes)} in-scope change(s) covered{when}:")
    for c in plan.changes:
        pr = f" #{c['pr']}" if c.get("pr") else ""
        tasks = ",".join(c["task_ids"]) or "(no task)"
        out(f"    {c['sha'][:12]}  {c['kind']}{pr}  {c['committed_at']}  {tasks}  {c['subject']}")
    out(f"  tasks     {', '.join(plan.tasks) or '(none)'}")
    if plan.missing_tasks:
        out(f"  warning: not in the tracker, evidence cannot be recorded there: {', '.join(plan.missing_tasks)}")
    for warning in plan.warnings:
        out(f"  warning: {warning}")


# --------------------------------------------------------------------------- deploy


def run_script(plan: Plan, out_dir: Path, env: dict[str, str], rotate_key: bool, out: _Out, *,
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
    _save_state(out_dir, _state_base(plan, "running", log_path), out)
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

        note(_log_header(plan))
        note(f"# started {iso(utcnow())}: bash {plan.script} (cwd {plan.repo_root})")
        code, ended = _run_group(["bash", plan.script], plan.repo_root, script_env, both, note, timeout)
        note(f"# {ended} {iso(utcnow())}: exit code {code}")
    finally:
        with lock:  # the output thread may outlive the run (see _run_group): never write a closed file
            log.close()
    digest = _file_sha256(log_path)
    if ended == "finished":
        out(f"deploy script exited with {code}")
    elif ended == "timed out":
        out(f"deploy script TIMED OUT after {timeout:g}s: its process group was stopped")
    else:
        out(f"deploy script {ended}")
    return ScriptRun(code, log_path, ended, digest)


def create_log(out_dir: Path, stamp: str, sha12: str, out: _Out) -> tuple[int, Path]:
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
    reader.join(timeout=KILL_GRACE)
    if reader.is_alive():
        line("warning: the output is still held open by a process that left the script's process group "
             "(setsid or a daemon): not waiting for it, and it cannot be stopped from here")
    elif proc.stdout is not None:
        proc.stdout.close()
    return (proc.returncode if proc.returncode is not None else -1), ended


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM to the whole group, a grace period, then SIGKILL; a second interrupt skips the grace."""
    pgid = proc.pid
    try:
        os.killpg(pgid, signal.SIGTERM)
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


def _file_sha256(path: Path) -> str | None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    digest = hashlib.sha256()
    with os.fdopen(fd, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------- state file


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
        data = json.loads(raw.decode("utf-8"))
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
    if _file_sha256(log) != state["log_sha256"]:
        return f"the script's log {log} does not match its recorded sha256"
    head, tail = _log_ends(log)
    if head != _log_header(plan):
        return f"the script's log {log} is not the log of deploying {plan.commit[:12]} to {plan.function}"
    if not (tail.startswith("# finished ") and tail.endswith(": exit code 0")):
        return f"the script's log {log} does not end with a successful finish"
    return None


def _log_header(plan: Plan) -> str:
    return f"# compliance deploy {plan.commit} of {plan.branch} to {plan.function} in {plan.region}"


def _log_ends(path: Path) -> tuple[str, str]:
    """The log's first and last lines (the header names the deploy, the last says how it ended)."""
    with open(path, "rb") as fh:
        first = fh.readline(4096).decode("utf-8", "replace").rstrip("\n")
        fh.seek(max(0, os.fstat(fh.fileno()).st_size - 4096))
        lines = fh.read().decode("utf-8", "replace").rstrip("\n").splitlines()
    return first, (lines[-1] if lines else "")


def _state_base(plan: Plan, status: str, log_path: Path) -> dict[str, Any]:
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


def _save_state(out_dir: Path, state: dict[str, Any], out: _Out) -> bool:
    """Replace the state file atomically (a rename replaces a planted link, never writes through it)."""
    from compliance.base.fsutil import atomic_write_text

    try:
        atomic_write_text(out_dir / STATE_FILE, json.dumps(state, indent=2, sort_keys=True) + "\n")
    except OSError as exc:
        out(f"warning: could not write {out_dir / STATE_FILE} ({exc.strerror or exc}); an interrupted run "
            "cannot resume and will deploy again")
        return False
    return True


def _write_state(plan: Plan, out_dir: Path, config: Any, run: ScriptRun, out: _Out) -> None:
    """After the script: "deployed" (bound to the function and the log) only when it finished with 0."""
    from compliance.sources import aws, lambda_fn

    if run.ended != "finished":
        state = _state_base(plan, "interrupted", run.log_path)
        state["reason"] = f"the script {run.ended}"
        _save_state(out_dir, state, out)
        return
    if run.code != 0:
        _save_state(out_dir, {**_state_base(plan, "failed", run.log_path), "exit_code": run.code}, out)
        return
    try:
        cfg = lambda_fn.collect_lambda(plan.function, plan.region, meter=Meter(),
                                       options=config.source_options("lambda"), versions=False)["configuration"]
    except aws.AwsSourceError as exc:
        out(f"warning: could not read the function after the deploy ({exc}); an interrupted run cannot resume")
        _save_state(out_dir, {**_state_base(plan, "unbound", run.log_path), "reason": str(exc)}, out)
        return
    state = _state_base(plan, "deployed", run.log_path)
    state.update({"last_modified": cfg.get("LastModified"), "code_sha256": cfg.get("CodeSha256"),
                  "revision_id": cfg.get("RevisionId"), "log_sha256": run.log_sha256, "deployed_at": iso(utcnow())})
    if _state_problem(state):  # the function did not say what binds the state: do not claim it
        out(f"warning: the function's configuration lacks {', '.join(k for k in _BOUND_FIELDS if not state.get(k))}; "
            "an interrupted run cannot resume")
        state["status"] = "unbound"
    _save_state(out_dir, state, out)


def _rebind_settled(out_dir: Path, plan: Plan, cfg: dict[str, Any], out: _Out) -> None:
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
    _save_state(out_dir, {**state, "revision_id": cfg["RevisionId"], "settled_at": iso(utcnow())}, out)


# --------------------------------------------------------------------------- validate and record


def _wait(function: str, region: str, options: dict[str, Any], timeout: float) -> str | None:
    """None when the update finished; else why not (a timeout, or the update failed)."""
    import time

    from botocore.exceptions import WaiterError

    from compliance.sources import aws

    client = aws.client_for("lambda", region, Meter(), options)
    deadline = time.monotonic() + max(0.0, timeout)
    for name in ("function_updated_v2", "function_active_v2"):
        left = max(0.0, deadline - time.monotonic())
        attempts = max(1, int(left // WAIT_DELAY) + 1)
        try:
            with aws.calling(f"wait {name}"):
                client.get_waiter(name).wait(FunctionName=function,
                                             WaiterConfig={"Delay": WAIT_DELAY, "MaxAttempts": attempts})
        except WaiterError as exc:
            return f"{name}: {exc.last_response.get('LastUpdateStatusReason') or exc}"
        except aws.AwsSourceError as exc:
            return f"{name}: {exc}"
    return None


def _validation(findings: list[Any], rules: list[Any]) -> tuple[bool, list[str]]:
    """Pass only if every finding of the runbook's validation kinds passed, and each kind was judged."""
    problems: list[str] = []
    for kind in VALIDATION_KINDS:
        ids = {r.id for r in rules if any(c.kind == kind for c in r.checks)}
        mine = [f for f in findings if f.rule_id in ids and f.check == kind]
        if not mine:
            problems.append(f"no {kind} rule judged the deploy")
        for f in mine:
            if f.status != "pass":
                problems.append(f"{f.rule_id} {f.subject} {f.status}: {clip(f.message, 160)}")
    return not problems, problems


def _details(snapshot: dict[str, Any], findings: list[Any], target: dict[str, Any]) -> list[str]:
    """What the validation saw, stated in the words the evidence parser reads."""
    out: list[str] = []
    lam = snapshot["sources"].get("lambda") or {}
    cfg = (lam.get("data") or {}).get("configuration") or {}
    if cfg.get("State"):
        out.append(f"State={cfg['State']}")
    if cfg.get("LastUpdateStatus"):
        out.append(f"LastUpdateStatus={cfg['LastUpdateStatus']}")
    routes = [f for f in findings if f.check == "api_routes"]
    if routes:
        ok = sum(1 for f in routes if f.status == "pass")
        out.append(f"routes {ok}/{len(routes)} present")
    probe = (snapshot["sources"].get("probe") or {}).get("data") or {}
    if probe.get("status_code") is not None:
        out.append(_probe_detail(target.get("capability_url"), probe.get("url"), probe["status_code"]))
    return out


def _probe_detail(configured: str | None, probed: str | None, status: Any) -> str:
    path = urlparse(probed or configured or "").path or "/"
    return f"GET {path} -> {status}"


def _via(plan: Plan) -> str:
    return f"compliance deploy ({plan.script})"


def _evidence_line(plan: Plan, last_modified: str, outcome: str, details: list[str], report_url: str | None) -> str:
    """The one way the deploy's worklog line is made, in preflight's trial and for real."""
    from compliance.judge.evidence import format_evidence_line

    safe = [d.replace(";", ",") for d in details]
    return format_evidence_line(plan.commit, last_modified, outcome, safe, report_url, function=plan.function,
                                via=_via(plan))


def _script_details(run: ScriptRun | None, timeout: float) -> list[str]:
    """What the evidence says about a script that did not succeed (nothing when it did, or on resume)."""
    if run is None or (run.ended == "finished" and run.code == 0):
        return []
    if run.ended == "timed out":
        return [f"deploy script timed out after {timeout:.0f}s"]
    return [f"deploy script exit {run.code}"]


def _validate_and_record(config: Any, ruleset: Any, plan: Plan, out_dir: Path, run: ScriptRun | None,
                         wait_timeout: float, report_url: str | None, out: _Out, waivers: str | None = None,
                         timeout: float = SCRIPT_TIMEOUT) -> int:
    from compliance.app.collect import collect
    from compliance.judge.engine import judge
    from compliance.judge.evidence import FAIL, PASS
    from compliance.model.snapshot import snapshot_text, validate_snapshot
    from compliance.report import write_set
    from compliance.report.document import build_report

    script_failed = _script_details(run, timeout)
    log_path = run.log_path if run else None
    lambda_opts = config.source_options("lambda")
    out("VALIDATE")
    waited = _wait(plan.function, plan.region, lambda_opts, wait_timeout)
    if waited:
        out(f"  wait: {waited}")
    now = utcnow()
    times = [t for t in (parse_time(c["committed_at"]) for c in plan.changes) if t]
    since = min([plan.since, *times]) - timedelta(seconds=1)
    snapshot = collect(config, ruleset, since, max(now, plan.since))
    loaded = None
    if waivers:
        from compliance.inputs.waivers import load_waivers

        loaded = load_waivers(waivers, now=parse_time(snapshot["collected_at"]), rule_ids={r.id for r in ruleset.rules})
    findings, waiver_section = judge(snapshot, ruleset.rules, loaded)  # the one path every mode takes
    doc = build_report(snapshot, ruleset.rules, findings, "deploy", waivers=waiver_section)
    validate_snapshot(snapshot, str(out_dir / "snapshot.json"))
    written = write_set(doc, out_dir, snapshot_text=snapshot_text(snapshot), waivers=waivers)[1]
    passed, problems = _validation(findings, ruleset.rules)
    if script_failed:
        problems.insert(0, f"{plan.script}: {script_failed[0]}")
    if waited:
        problems.insert(0, f"Lambda update did not finish: {waited}")
    outcome = PASS if passed and not script_failed and not waited else FAIL
    out(f"  validation: {outcome.upper()}  (rules of kinds {', '.join(VALIDATION_KINDS)})")
    summary = doc["summary"]
    out(f"  report verdict (every rule): {summary['verdict'].upper()}  pass {summary['pass']}  "
        f"fail {summary['fail']}  error {summary['error']}  n/a {summary['not_applicable']}")
    for p in problems:
        out(f"    {p}")
    for kind, path in written.items():
        out(f"  {kind:<8} {path}")
    if log_path:
        out(f"  log      {log_path}")

    cfg = ((snapshot["sources"].get("lambda") or {}).get("data") or {}).get("configuration") or {}
    _rebind_settled(out_dir, plan, cfg, out)
    last_modified = cfg.get("LastModified") or (plan.resume or {}).get("last_modified")
    details = [*script_failed, *_details(snapshot, findings, config.target)]
    code = EXIT_OK if outcome == PASS else EXIT_FAIL
    if script_failed:
        code = EXIT_ERROR
    return _record(config, plan, last_modified, outcome, details, report_url, code, out)


def _record(config: Any, plan: Plan, last_modified: str | None, outcome: str, details: list[str],
            report_url: str | None, code: int, out: _Out) -> int:
    from compliance.app.evidence_writer import evidence_key, record_evidence

    out("EVIDENCE")
    if not plan.tasks:
        out("  no covered task: nothing to record")
        return code
    if not last_modified:
        out(f"  cannot record: the function's LastModified is unknown (the lambda source failed); tasks "
            f"{', '.join(plan.tasks)} need evidence once it can be read")
        return EXIT_ERROR
    try:
        line = _evidence_line(plan, last_modified, outcome, details, report_url)
    except ValueError as exc:  # preflight tried every input but what the function reported after the deploy
        out(f"  cannot record: {exc}; tasks {', '.join(plan.tasks)} need evidence written by hand")
        return EXIT_ERROR
    key = evidence_key(plan.commit, last_modified, outcome)
    tracker = config.target.get("tracker") or {}
    wanted = [t for t in plan.tasks if t not in plan.missing_tasks]
    if not tracker.get("table") or not tracker.get("project"):
        out("  cannot record: target.tracker.table and target.tracker.project are not configured")
        _paste(wanted, line, out)
        return EXIT_ERROR
    result = record_evidence(tracker["table"], tracker["project"], wanted, line, key, plan.region,
                    options=config.source_options("tracker"))
    out(f"  line: {line}")
    out(f"  recorded on {len(result.recorded)} task(s){': ' + ', '.join(result.recorded) if result.recorded else ''}; "
        f"already recorded on {len(result.already)}{': ' + ', '.join(result.already) if result.already else ''}")
    gone = [*plan.missing_tasks, *result.missing]
    if gone:
        out(f"  warning: not in the tracker (not created): {', '.join(dict.fromkeys(gone))}")
    if result.ok:
        return code
    if result.denied:
        out(f"  ACCESS DENIED writing to {tracker['table']}: {result.denied_message}")
        out("  the CI deploy role may not write to the tracker: re-run with the operator's credentials, "
            "or paste the line below into the worklog of each task")
    for task, why in result.failed.items():
        out(f"  could not write {task}: {why}")
    _paste(result.unwritten, line, out)
    return EXIT_ERROR


def _paste(tasks: list[str], line: str, out: _Out) -> None:
    out("  worklog lines to paste (status: worklog):")
    for task in tasks:
        out(f"    {task}: {line}")
