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
and evidence be finished by the next run without deploying twice.

Exit codes: 0 deployed, validated and recorded; 1 deployed but validation failed (recorded as
failed); 2 preflight failed, the script failed, or the evidence could not be written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlparse

from compliance.errors import EXIT_ERROR, EXIT_FAIL, EXIT_OK, ComplianceError
from compliance.redact import MASK, SECRET_ENV, redact
from compliance.sources.base import Meter
from compliance.timeutil import iso, parse_time, utcnow

LOOKBACK_DAYS = 30
STATE_FILE = ".deploy-state.json"
DEPLOY_KINDS = ("deploy_coverage", "worklog_evidence")
VALIDATION_KINDS = ("lambda_state", "api_routes", "capability_endpoint")
KEY_ENV = "COORDINATION_INTERNAL_API_KEY"
WAIT_DELAY = 2.0


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
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- output


class _Out:
    """Every line the command prints goes through one redactor, including the script's output."""

    def __init__(self, stream: IO[str], env: dict[str, str]):
        self.stream = stream
        self.secrets = sorted({v for k in SECRET_ENV for v in (env.get(k), os.environ.get(k))
                               if v and len(v) >= 4}, key=len, reverse=True)

    def clean(self, text: str) -> str:
        for value in self.secrets:
            text = text.replace(value, MASK)
        return redact(text)

    def __call__(self, text: str = "") -> None:
        self.stream.write(self.clean(text) + "\n")
        flush = getattr(self.stream, "flush", None)
        if flush:
            flush()


# --------------------------------------------------------------------------- entry points


def deploy(config: Any, ruleset: Any, *, ref: str | None = None, dry_run: bool = False, out_dir: Path,
           env: dict[str, str] | None = None, stream: IO[str] | None = None, rotate_key: bool = False,
           wait_timeout: float = 300, report_url: str | None = None, waivers: str | None = None) -> int:
    """Deploy, validate and record; returns the exit code (see the module docstring).

    ``waivers`` are applied to the report exactly as in every other mode; they never make a failed
    validation pass (the deploy is validated only by passing findings).
    """
    base_env = dict(os.environ if env is None else env)
    out = _Out(stream or sys.stdout, base_env)
    out_dir = Path(out_dir)
    if waivers:  # a broken waiver file is found before anything is deployed
        from compliance.waivers import load_waivers

        load_waivers(waivers, now=utcnow(), rule_ids={r.id for r in ruleset.rules})
    try:
        plan = preflight(config, ruleset, ref=ref, out_dir=out_dir, env=base_env, rotate_key=rotate_key)
    except ComplianceError as exc:
        out(f"deploy refused (preflight): {exc}")
        out("nothing was deployed or recorded")
        return EXIT_ERROR
    print_plan(plan, out)
    if dry_run:
        out("dry run: nothing deployed, nothing recorded")
        return EXIT_OK

    script_code = 0
    log_path: Path | None = None
    if plan.resume:
        out(f"resuming: {plan.commit[:12]} was deployed at LastModified={plan.resume['last_modified']} "
            f"(state file {out_dir / STATE_FILE}) and the function still shows it; not re-running the script")
    else:
        script_code, log_path = run_script(plan, out_dir, base_env, rotate_key, out)
        if script_code == 0:
            _write_state(plan, out_dir, config, log_path, out)
    try:
        return _validate_and_record(config, ruleset, plan, out_dir, script_code, log_path, wait_timeout,
                                    report_url, out, waivers)
    except ComplianceError as exc:
        out(f"error after the deploy step: {exc}")
        out("re-run `compliance deploy`: once the state file was written, the deployed commit is validated "
            "and recorded without running the script again")
        return EXIT_ERROR


# --------------------------------------------------------------------------- preflight


def _git(repo: str):
    from compliance.sources.git import _Git

    return _Git(repo, Meter())


def _git_out(runner: Any, *args: str) -> tuple[int, str, str]:
    code, out, err = runner._run(*args)
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

    state = _read_state(out_dir)
    cfg = lambda_before
    if (state and state.get("commit") == commit and state.get("function") == function
            and state.get("last_modified") == cfg.get("LastModified")
            and state.get("code_sha256") in (None, cfg.get("CodeSha256"))):
        plan.resume = state
        # the partial evidence written before the interruption moves "the last deploy with
        # evidence" forward; what this deploy covers is what was planned when it ran
        plan.changes = state.get("changes", plan.changes)
        plan.tasks = state.get("tasks", plan.tasks)
        plan.missing_tasks = state.get("missing_tasks", plan.missing_tasks)
    return plan


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
    from compliance.checks.deploy_manager import _names_function, _targets
    from compliance.collect import _collect_one

    dm = (config.target.get("deploy_manager") or {}).get("table")
    if not dm and not config.source_options("deploy_manager").get("file"):
        return  # no deploy manager in this system: nothing can race
    src = _collect_one("deploy_manager", config.source_options("deploy_manager"), config.target, {}, ruleset,
                       now - timedelta(days=LOOKBACK_DAYS), now)
    if src["status"] != "ok":
        err = src.get("error") or {}
        raise PreflightError(f"cannot read the deploy-manager table to rule out a pending request: "
                             f"{err.get('type')}: {err.get('message')}")
    for req in src["data"].get("requests", []):
        if str(req.get("status") or "").lower() != "pending":
            continue
        if any(_names_function(t, function) for t in _targets(req)):
            raise PreflightError(
                f"deploy-manager request {req.get('request_id')} ({req.get('deployment_type')}, submitted "
                f"{req.get('submitted_at')} by {req.get('submitted_by', '?')}) is pending for {function}: the "
                "runbook forbids that flow and it would race this deploy; withdraw it first")


def _read_lambda(function: str, region: str, options: dict[str, Any]) -> dict[str, Any]:
    from compliance.sources import aws

    try:
        return aws.collect_lambda(function, region, meter=Meter(), options=options, versions=False)["configuration"]
    except aws.AwsSourceError as exc:
        raise PreflightError(f"cannot read the function {function} in {region}: {type(exc).__name__}: {exc}") from None


def _plan_coverage(plan: Plan, config: Any, ruleset: Any, since: datetime, until: datetime) -> None:
    """The in-scope changes after the newest commit named by complete, passing worklog evidence."""
    from compliance.collect import _collect_one
    from compliance.engine import EvidenceIndex, History
    from compliance.sources.base import run_source
    from compliance.sources.git import collect_git

    target = config.target
    git_src = run_source("git", "plan", lambda m: collect_git(target["repo"], plan.branch, since,
                                                              id_pattern=target.get("task_id_pattern"), meter=m))
    if git_src["status"] != "ok":
        raise PreflightError(f"git: {git_src['error']['message']}")
    tracker = _collect_one("tracker", config.source_options("tracker"), target, {"git": git_src}, ruleset,
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
    for pos in range(last + 1, head_pos + 1):
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


def run_script(plan: Plan, out_dir: Path, env: dict[str, str], rotate_key: bool, out: _Out) -> tuple[int, Path]:
    """Run the script from the repository root; every line to the terminal and the log, redacted."""
    script_env = dict(env)
    if not rotate_key:
        script_env.pop(KEY_ENV, None)  # a key in the environment rotates it: only when asked
    script_env["REGION"] = plan.region
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    log_path = out_dir / f"deploy-{stamp}-{plan.commit[:12]}.log"
    out(f"DEPLOY  bash {plan.script}  (log: {log_path})")
    with open(log_path, "w", encoding="utf-8") as log:
        def both(line: str) -> None:
            clean = out.clean(line)
            out.stream.write(clean + "\n")
            log.write(clean + "\n")
            log.flush()

        log.write(f"# compliance deploy {plan.commit} of {plan.branch} to {plan.function} in {plan.region}\n")
        log.write(f"# started {iso(utcnow())}: bash {plan.script} (cwd {plan.repo_root})\n")
        try:
            proc = subprocess.Popen(["bash", plan.script], cwd=plan.repo_root, env=script_env,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        except OSError as exc:
            both(f"cannot start bash: {exc}")
            return 127, log_path
        try:
            assert proc.stdout is not None
            for raw in proc.stdout:
                both(raw.decode("utf-8", "replace").rstrip("\r\n"))
            code = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            log.write(f"# interrupted {iso(utcnow())}\n")
            raise
        log.write(f"# finished {iso(utcnow())}: exit code {code}\n")
    out(f"deploy script exited with {code}")
    return code, log_path


def _read_state(out_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((out_dir / STATE_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_state(plan: Plan, out_dir: Path, config: Any, log_path: Path | None, out: _Out) -> None:
    from compliance.fsutil import atomic_write_text
    from compliance.sources import aws

    try:
        cfg = aws.collect_lambda(plan.function, plan.region, meter=Meter(),
                                 options=config.source_options("lambda"), versions=False)["configuration"]
    except aws.AwsSourceError as exc:
        out(f"warning: could not read the function after the deploy ({exc}); an interrupted run cannot resume")
        return
    state = {
        "state_version": 1,
        "commit": plan.commit,
        "branch": plan.branch,
        "function": plan.function,
        "region": plan.region,
        "last_modified": cfg.get("LastModified"),
        "code_sha256": cfg.get("CodeSha256"),
        "deployed_at": iso(utcnow()),
        "log": str(log_path) if log_path else None,
        "changes": plan.changes,
        "tasks": plan.tasks,
        "missing_tasks": plan.missing_tasks,
    }
    atomic_write_text(out_dir / STATE_FILE, json.dumps(state, indent=2, sort_keys=True) + "\n")


# --------------------------------------------------------------------------- validate and record


def _wait(function: str, region: str, options: dict[str, Any], timeout: float) -> str | None:
    """None when the update finished; else why not (a timeout, or the update failed)."""
    import time

    from botocore.exceptions import WaiterError

    from compliance.sources import aws

    client = aws._client("lambda", region, Meter(), options)
    deadline = time.monotonic() + max(0.0, timeout)
    for name in ("function_updated_v2", "function_active_v2"):
        left = max(0.0, deadline - time.monotonic())
        attempts = max(1, int(left // WAIT_DELAY) + 1)
        try:
            with aws._calling(f"wait {name}"):
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
                problems.append(f"{f.rule_id} {f.subject} {f.status}: {f.message[:160]}")
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
        path = urlparse(probe.get("url") or target.get("capability_url") or "").path or "/"
        out.append(f"GET {path} -> {probe['status_code']}")
    return out


def _validate_and_record(config: Any, ruleset: Any, plan: Plan, out_dir: Path, script_code: int,
                         log_path: Path | None, wait_timeout: float, report_url: str | None, out: _Out,
                         waivers: str | None = None) -> int:
    from compliance.collect import collect
    from compliance.engine import judge
    from compliance.evidence import FAIL, PASS
    from compliance.report import write_set
    from compliance.reportdoc import build_report
    from compliance.snapshot import snapshot_text, validate_snapshot

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
        from compliance.waivers import load_waivers

        loaded = load_waivers(waivers, now=parse_time(snapshot["collected_at"]), rule_ids={r.id for r in ruleset.rules})
    findings, waiver_section = judge(snapshot, ruleset.rules, loaded)  # the one path every mode takes
    doc = build_report(snapshot, ruleset.rules, findings, "deploy", waivers=waiver_section)
    validate_snapshot(snapshot, str(out_dir / "snapshot.json"))
    written = write_set(doc, out_dir, snapshot_text=snapshot_text(snapshot), waivers=waivers)[1]
    passed, problems = _validation(findings, ruleset.rules)
    if script_code != 0:
        problems.insert(0, f"{plan.script} exited with {script_code}")
    if waited:
        problems.insert(0, f"Lambda update did not finish: {waited}")
    outcome = PASS if passed and script_code == 0 and not waited else FAIL
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
    last_modified = cfg.get("LastModified") or (plan.resume or {}).get("last_modified")
    details = _details(snapshot, findings, config.target)
    if script_code != 0:
        details.insert(0, f"deploy script exit {script_code}")
    code = EXIT_OK if outcome == PASS else EXIT_FAIL
    if script_code != 0:
        code = EXIT_ERROR
    return _record(config, plan, last_modified, outcome, details, report_url, code, out)


def _record(config: Any, plan: Plan, last_modified: str | None, outcome: str, details: list[str],
            report_url: str | None, code: int, out: _Out) -> int:
    from compliance.evidence import format_evidence_line
    from compliance.evidence_writer import evidence_key, record_evidence

    out("EVIDENCE")
    if not plan.tasks:
        out("  no covered task: nothing to record")
        return code
    if not last_modified:
        out(f"  cannot record: the function's LastModified is unknown (the lambda source failed); tasks "
            f"{', '.join(plan.tasks)} need evidence once it can be read")
        return EXIT_ERROR
    safe = [d.replace(";", ",") for d in details]
    line = format_evidence_line(plan.commit, last_modified, outcome, safe, report_url, function=plan.function,
                       via=f"compliance deploy ({plan.script})")
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
