"""The source plan: collect the sources asked for, each once, in dependency order, and record
every failure in the source's envelope instead of raising it.

Which sources and files the rules read is the check registry's answer (``judge.registry``); this
module only runs the collectors the source registry declares, so every mode (audit, pull request,
deploy) collects a source the same way through ``collect_one``.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from compliance.base import progress
from compliance.base.redact import redact
from compliance.base.timeutil import chain_span, iso, parse_time
from compliance.model.snapshot import def_schema, schema_problems
from compliance.sources.apigateway import collect_apigateway
from compliance.sources.base import run_source
from compliance.sources.cloudtrail import collect_cloudtrail
from compliance.sources.deploy_manager import collect_deploy_manager
from compliance.sources.files import read_source_file
from compliance.sources.git import collect_git
from compliance.sources.github import DEFAULT_API_URL, collect_github
from compliance.sources.github_client import auth_identity
from compliance.sources.lambda_fn import collect_lambda
from compliance.sources.probe import probe
from compliance.sources.registry import BY_NAME, applicable, collection_order, collector, collects
from compliance.sources.runbook import runbook_data
from compliance.sources.tracker import collect_tracker


@dataclass(frozen=True)
class Request:
    """What every collector may read: the target, the window, the rules (the tracker reads only
    their tasks), the repository files the rules read and the sources collected before it."""

    target: dict[str, Any]
    since: datetime
    until: datetime
    rules: list[Any]
    files: list[str] = field(default_factory=list)
    done: dict[str, Any] = field(default_factory=dict)
    workflows: list[str] = field(default_factory=list)  # the rules' own canonical workflows, beside the target's

    @property
    def region(self) -> str:
        return self.target.get("region") or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or ""


def collect_sources(needed: Iterable[str], options: dict[str, Any], target: dict[str, Any], rules: list[Any],
                    since: datetime, until: datetime, files: list[str],
                    workflows: Iterable[str] = ()) -> dict[str, Any]:
    """Each needed and enabled source once, in dependency order, each envelope checked against its schema."""
    enabled = [n for n in needed if (options.get(n) or {}).get("enabled", True) and applicable(n, target)]
    sources: dict[str, Any] = {}
    of = f" [{target['name']}]" if target.get("name") else ""
    for name in collection_order(enabled):
        with progress.stage(f"source {name}{of}"):  # a slow source shows itself while it runs
            sources[name] = collect_one(name, options.get(name) or {}, target, sources, rules, since, until, files,
                                        workflows)
    return {name: checked_envelope(name, envelope) for name, envelope in sources.items()}


def collect_one(name: str, opt: dict[str, Any], target: dict[str, Any], done: dict[str, Any], rules: list[Any],
                since: datetime, until: datetime, files: list[str] | None = None,
                workflows: Iterable[str] = ()) -> dict[str, Any]:
    """One source's envelope: from its ``file`` option when set (demo, air-gapped review), else live."""
    if opt.get("file"):
        return run_source("file", f"{name} data from {opt['file']}", lambda m: read_source_file(name, opt["file"], m))
    fn = collector(name)
    if fn is None:
        return run_source("none", name, _fail(f"unknown source '{name}'"))
    opt = {**BY_NAME[name].defaults, **opt}
    return fn(Request(target, since, until, rules, list(files or []), done, list(workflows)), opt)


def checked_envelope(name: str, envelope: dict[str, Any]) -> dict[str, Any]:
    """A source whose answer does not fit its schema (a null SHA, a list for a status) is a failed source.

    Checks read the data as the schema describes it, so such an answer could be misread, and the
    snapshot holding it could not be saved next to the reports it produced. Recorded as an error,
    with the JSON pointers of what was wrong, it becomes `error` findings like any other failure.
    """
    if envelope.get("status") != "ok" or envelope["provenance"]["kind"] == "file":
        return envelope  # a file source was checked as it was read, with FILE:LINE:COL messages
    problems = schema_problems(envelope.get("data"), def_schema(BY_NAME[name].schema_def), name, limit=5)
    if not problems:
        return envelope
    message = "; ".join(p.message for p in problems)
    return {**envelope, "status": "error", "data": None,
            "error": {"type": "InvalidSourceData", "message": redact(f"{name} answered data of an unexpected shape: "
                                                                     f"{message}")}}


def affected_task_ids(git: dict[str, Any] | None, rules: list[Any], since: datetime, until: datetime) -> list[str]:
    """Task ids of in-window commits that touch some rule's scope: the only tracker items read."""
    if not git:
        return []
    scopes = [r.scope for r in rules if not r.scope.is_empty]
    ids: dict[str, None] = {}
    commits = git["commits"]
    # now=until: a commit dated after the window (a false, future date) still has its tasks fetched
    start, stop, _ = chain_span([parse_time(c["committed_at"]) for c in commits], since, until, now=until)
    for commit in commits[start:stop]:  # the window's commits as the engine will judge them (by chain)
        paths = [f["path"] for f in commit["files"]]
        if not scopes or any(s.select(paths) for s in scopes):
            ids.update(dict.fromkeys(commit["task_ids"]))
    return sorted(ids)


def cache_dir() -> Path:
    """Where conditional-request caches live (``COMPLIANCE_CACHE_DIR``, else the XDG cache)."""
    base = os.environ.get("COMPLIANCE_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "compliance")
    return Path(base)


GITHUB_CONCURRENCY_ENV = "COMPLIANCE_GITHUB_CONCURRENCY"
_GITHUB_SLOTS: dict[str, threading.BoundedSemaphore] = {}
_GITHUB_SLOTS_LOCK = threading.Lock()


def github_slot() -> threading.BoundedSemaphore:
    """The semaphore shared by every collection spending the same GitHub token on the same API.

    The primary rate limit is per token, so targets audited concurrently with one token draw on
    one budget: letting at most K (``COMPLIANCE_GITHUB_CONCURRENCY``, default 2) list runs at once
    keeps a burst from exhausting it while the AWS side of the other targets proceeds. Limits that
    are hit anyway are handled by the GitHub client's retries (Retry-After, X-RateLimit-Reset).
    """
    token = auth_identity()
    api = (os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL).strip().rstrip("/")
    key = hashlib.sha256(f"{api}\0{token}".encode()).hexdigest()  # never keep the token itself around
    with _GITHUB_SLOTS_LOCK:
        if key not in _GITHUB_SLOTS:
            try:
                limit = max(1, int(os.environ.get(GITHUB_CONCURRENCY_ENV) or 2))
            except ValueError:
                limit = 2
            _GITHUB_SLOTS[key] = threading.BoundedSemaphore(limit)
        return _GITHUB_SLOTS[key]


class NotConfigured(Exception):
    """A source the rules need has no configuration."""


def _require(target: dict[str, Any], *keys: str) -> None:
    missing = [k for k in keys if not target.get(k)]
    if missing:
        raise NotConfigured(f"target.{', target.'.join(missing)} not configured")


def _fail(message: str):
    def fn(_meter):
        raise NotConfigured(message)

    return fn


# --- the collectors, one per declared source ---------------------------------------------------

@collects("git")
def _git(req: Request, opt: dict[str, Any]) -> dict[str, Any]:
    t = req.target
    return run_source(
        "git", f"first-parent history of {t['branch']} since {iso(req.since)} in {t.get('repo', '.')}",
        lambda m: collect_git(t.get("repo", "."), t["branch"], req.since, until=req.until, id_pattern=t.get("task_id_pattern"),
                              files=req.files, meter=m))


@collects("probe")
def _probe(req: Request, opt: dict[str, Any]) -> dict[str, Any]:
    url = req.target.get("capability_url") or ""

    def fn(m):
        _require(req.target, "capability_url")
        return probe(url, timeout=float(opt["timeout_seconds"]), meter=m)

    return run_source("http", f"GET {url}", fn)


@collects("github")
def _github(req: Request, opt: dict[str, Any]) -> dict[str, Any]:
    t = req.target
    lam = (req.done.get("lambda") or {}).get("data") or {}
    near = [x for x in [parse_time((lam.get("configuration") or {}).get("LastModified"))] if x]

    def fn(m):
        _require(t, "github_repo", "workflow")
        with github_slot():
            return collect_github(t["github_repo"], t["workflow"].rsplit("/", 1)[-1], t["branch"], req.since,
                                  req.until, meter=m, cache_dir=cache_dir() / "github", jobs_near=near,
                                  max_pages=opt.get("max_pages"), also=req.workflows)

    also = "".join(f" and {w}" for w in req.workflows if w != t.get("workflow"))
    return run_source("pygithub", f"runs of {t.get('workflow')}{also} on {t.get('branch')} in {t.get('github_repo')} "
                      f"created {iso(req.since)}..{iso(req.until)}", fn)


def _by_target_key(req: Request, key: str, requested: str, call) -> dict[str, Any]:
    """An AWS source of one resource the target names (``target.<key>``), refused when it names none."""
    def fn(m):
        _require(req.target, key)
        return call(req.target[key], req.region, m)

    return run_source("boto3", requested, fn)


@collects("lambda")
def _lambda(req: Request, opt: dict[str, Any]) -> dict[str, Any]:
    return _by_target_key(req, "function", f"GetFunctionConfiguration {req.target.get('function')} in {req.region}",
                          lambda name, region, m: collect_lambda(name, region, meter=m, options=opt))


@collects("apigateway")
def _apigateway(req: Request, opt: dict[str, Any]) -> dict[str, Any]:
    return _by_target_key(req, "http_api", f"routes and integrations of HTTP API {req.target.get('http_api')} in "
                          f"{req.region}",
                          lambda api, region, m: collect_apigateway(api, region, meter=m, options=opt))


@collects("tracker")
def _tracker(req: Request, opt: dict[str, Any]) -> dict[str, Any]:
    tracker, region = req.target.get("tracker") or {}, req.region
    git_data = (req.done.get("git") or {}).get("data")
    ids = affected_task_ids(git_data, req.rules, req.since, req.until)

    def fn(m):
        if not tracker.get("table") or not tracker.get("project"):
            raise NotConfigured("target.tracker.table and target.tracker.project not configured")
        if git_data is None:
            raise NotConfigured("the git source failed, so the affected tasks are unknown")
        return collect_tracker(tracker["table"], tracker["project"], ids, region, meter=m, options=opt)

    return run_source("boto3", f"BatchGetItem {len(ids)} task(s) from {tracker.get('table')}", fn)


@collects("deploy_manager")
def _deploy_manager(req: Request, opt: dict[str, Any]) -> dict[str, Any]:
    dm, region = req.target.get("deploy_manager") or {}, req.region

    def fn(m):
        if not dm.get("table"):
            raise NotConfigured("target.deploy_manager.table not configured")
        return collect_deploy_manager(dm["table"], dm.get("project"), req.since, req.until, region, meter=m,
                                          options=opt)

    return run_source("boto3", f"requests and specs in {dm.get('table')} {iso(req.since)}..{iso(req.until)}", fn)


@collects("cloudtrail")
def _cloudtrail(req: Request, opt: dict[str, Any]) -> dict[str, Any]:
    trail, region = req.target.get("cloudtrail") or {}, req.region
    where = " and ".join(([f"s3://{trail['bucket']}"] if trail.get("bucket") else [])
                         + (["LookupEvents"] if trail.get("lookup") else [])) or "nowhere"

    def fn(m):
        _require(req.target, "function")
        if not trail.get("bucket") and not trail.get("lookup"):
            raise NotConfigured("target.cloudtrail.bucket (with account) or target.cloudtrail.lookup not configured")
        if trail.get("bucket") and not trail.get("account"):
            raise NotConfigured("target.cloudtrail.account not configured (the trail's AWSLogs/<account>/ folder)")
        return collect_cloudtrail(req.target["function"], region, trail, req.since, req.until, meter=m, options=opt)

    return run_source("boto3", f"Lambda events for {req.target.get('function')} in {region} from {where} "
                      f"{iso(req.since)}..{iso(req.until)}", fn)


@collects("runbook")
def _runbook(req: Request, opt: dict[str, Any]) -> dict[str, Any]:
    t = req.target
    git = req.done.get("git") or {}

    def fn(m):
        _require(t, "runbook")
        if git.get("status") != "ok" or git.get("data") is None:
            raise NotConfigured("the git source failed, so the runbook could not be read")
        live = (git.get("provenance") or {}).get("kind") == "git"  # a git data file has no clone to read
        return runbook_data(git["data"], t["runbook"], url=t.get("runbook_url"), repo=t.get("repo", ".") if live else None,
                            meter=m)

    return run_source("git", f"runbook {t.get('runbook')} as of the window's end in {t.get('repo', '.')}", fn)
