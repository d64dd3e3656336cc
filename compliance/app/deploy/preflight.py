"""Preflight and plan: everything that must hold before deploying, and what the deploy covers.

Nothing changes if any of it fails (exit 2): a clean working tree, the commit on the governed
branch's first-parent chain, no pending deploy-manager request for the function, a readable
function; then the in-scope changes and tasks after the newest commit named by passing evidence.
"""

from __future__ import annotations

import math
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from compliance.app.deploy.facts import (
    DEPLOY_KINDS,
    KEY_ENV,
    LOOKBACK_DAYS,
    Output,
    Plan,
    PreflightError,
)
from compliance.app.deploy.state import read_state, resume_mismatch
from compliance.base.timeutil import iso, parse_time, utcnow
from compliance.inputs.config import Config
from compliance.inputs.rules import RuleSet
from compliance.judge.checks.deploy_manager import names_function, request_targets
from compliance.judge.engine import EvidenceIndex, History
from compliance.sources import aws, lambda_fn
from compliance.sources.base import Meter, run_source
from compliance.sources.git import GitRunner, collect_git
from compliance.sources.plan import collect_one


def _git(repo: str):
    return GitRunner(repo, Meter())



def _git_out(runner: Any, *args: str) -> tuple[int, str, str]:
    code, out, err = runner.run(*args)
    return code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace").strip()



def _region(target: dict[str, Any], env: dict[str, str]) -> str:
    return (target.get("region") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
            or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-west-2")



def preflight(config: Config, ruleset: RuleSet, *, ref: str | None, out_dir: Path, env: dict[str, str],
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



def check_limits(timeout: float, wait_timeout: float) -> None:
    """A NaN or negative limit would only fail after the script ran (or never stop it)."""
    if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and timeout > 0):
        raise PreflightError(f"--timeout must be a positive number of seconds, not {timeout!r}")
    if not (isinstance(wait_timeout, (int, float)) and math.isfinite(wait_timeout) and wait_timeout >= 0):
        raise PreflightError(f"--wait-timeout must be zero or a positive number of seconds, not {wait_timeout!r}")



def check_out_dir(out_dir: Path) -> None:
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



def _check_no_pending_request(config: Config, ruleset: RuleSet, function: str, now: datetime) -> None:
    dm = (config.target.get("deploy_manager") or {}).get("table")
    if not dm and not config.source_options("deploy_manager").get("file"):
        return  # no deploy manager in this system: nothing can race
    src = collect_one("deploy_manager", config.source_options("deploy_manager"), config.target, {}, ruleset.rules,
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
    try:
        return lambda_fn.collect_lambda(function, region, meter=Meter(), options=options, versions=False)["configuration"]
    except aws.AwsSourceError as exc:
        raise PreflightError(f"cannot read the function {function} in {region}: {type(exc).__name__}: {exc}") from None



def _plan_coverage(plan: Plan, config: Config, ruleset: RuleSet, since: datetime, until: datetime) -> None:
    """The in-scope changes after the newest commit named by complete, passing worklog evidence."""

    target = config.target
    git_src = run_source("git", "plan", lambda m: collect_git(target["repo"], plan.branch, since,
                                                              id_pattern=target.get("task_id_pattern"), meter=m))
    if git_src["status"] != "ok":
        raise PreflightError(f"git: {git_src['error']['message']}")
    tracker = collect_one("tracker", config.source_options("tracker"), target, {"git": git_src}, ruleset.rules,
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



def print_plan(plan: Plan, out: Output) -> None:
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
