"""Collection: run each source once, record data or error, and assemble the snapshot."""

from __future__ import annotations

import os
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from compliance import __version__
from compliance.base.redact import redact_data
from compliance.base.timeutil import chain_span, iso, parse_time, utcnow
from compliance.model.snapshot import build_snapshot
from compliance.sources.base import run_source

ALL_SOURCES = ("git", "github", "lambda", "apigateway", "tracker", "deploy_manager", "probe")
OPTIONAL_USES = {"deploy_coverage": ("tracker",), "lambda_deploy_match": ("tracker",)}


def sources_needed(rules: list[Any]) -> set[str]:
    """Sources the rules read: each kind's needs, plus optional ones and `field` sources."""
    from compliance.judge.registry import all_kinds

    kinds = all_kinds()
    needed: set[str] = set()
    for rule in rules:
        for spec in rule.checks:
            needed.update(kinds[spec.kind].needs)
            needed.update(OPTIONAL_USES.get(spec.kind, ()))
            if spec.kind == "field":
                needed.add(spec.params["source"])
    return needed


def repo_files_needed(rules: list[Any], target: dict[str, Any]) -> list[str]:
    from compliance.judge.registry import all_kinds

    kinds = all_kinds()
    files: set[str] = set()
    for rule in rules:
        for spec in rule.checks:
            hook = kinds[spec.kind].repo_files
            if hook:
                files.update(f for f in hook(spec.params, target) if f)
    return sorted(files)


def public_target(target: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in target.items() if v is not None}


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
    import hashlib

    from compliance.sources.github import DEFAULT_API_URL, api_token

    token = api_token() or ""
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


def collect(config: Any, ruleset: Any, since: datetime, until: datetime) -> dict[str, Any]:
    """Run each needed source once, in dependency order; every failure is recorded, none raised."""
    target = config.target
    if not target and len(getattr(config, "targets", None) or []) > 1:
        from compliance.base.errors import ComplianceError

        raise ComplianceError(f"{config.path} has {len(config.targets)} targets and this command judges one; "
                              "use `compliance audit` (with --target NAME to pick some)")
    needed = sources_needed(ruleset.rules)
    opts = config.sources or {}
    sources: dict[str, Any] = {}
    branch = target["branch"]

    def wanted(name: str) -> bool:
        return name in needed and (opts.get(name) or {}).get("enabled", True)

    if wanted("git") and (opts.get("git") or {}).get("file"):  # sources.git.file, as for every other source
        sources["git"] = collect_one("git", opts["git"], target, sources, ruleset, since, until)
    elif wanted("git"):
        from compliance.sources.git import collect_git

        files = repo_files_needed(ruleset.rules, target)
        sources["git"] = run_source(
            "git", f"first-parent history of {branch} since {iso(since)} in {target.get('repo', '.')}",
            lambda m: collect_git(target.get("repo", "."), branch, since, id_pattern=target.get("task_id_pattern"),
                                  files=files, meter=m))
    # lambda before github: the run that produced LastModified gets its job steps fetched
    for name in ("lambda", "github", "apigateway", "tracker", "deploy_manager", "probe"):
        if wanted(name):
            sources[name] = collect_one(name, opts.get(name) or {}, target, sources, ruleset, since, until)
    for name, envelope in sources.items():
        sources[name] = checked_envelope(name, envelope)
    # masked before anything reads it, so the evaluation, every report and the saved snapshot agree
    snapshot = redact_data(build_snapshot(
        tool_version=__version__, collected_at=iso(utcnow()),
        window={"since": iso(since), "until": iso(until), "branch": branch}, target=public_target(target),
        rules=ruleset.digests, sources=sources))
    if snapshot["sources"] is sources:  # nothing was masked: every source's data is exactly what was checked
        snapshot.sources_checked = {name: env.get("data") for name, env in sources.items()}
    return snapshot


def checked_envelope(name: str, envelope: dict[str, Any]) -> dict[str, Any]:
    """A source whose answer does not fit its schema (a null SHA, a list for a status) is a failed source.

    Checks read the data as the schema describes it, so such an answer could be misread, and the
    snapshot holding it could not be saved next to the reports it produced. Recorded as an error,
    with the JSON pointers of what was wrong, it becomes `error` findings like any other failure.
    """
    from compliance.base.redact import redact
    from compliance.model.snapshot import def_schema, schema_problems

    if envelope.get("status") != "ok" or envelope["provenance"]["kind"] == "file":
        return envelope  # a file source was checked as it was read, with FILE:LINE:COL messages
    problems = schema_problems(envelope.get("data"), def_schema(name), name, limit=5)
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


def _require(target: dict[str, Any], *keys: str) -> None:
    missing = [k for k in keys if not target.get(k)]
    if missing:
        raise NotConfigured(f"target.{', target.'.join(missing)} not configured")


def collect_one(name: str, opt: dict[str, Any], target: dict[str, Any], done: dict[str, Any], ruleset: Any,
                 since: datetime, until: datetime) -> dict[str, Any]:
    if opt.get("file"):
        from compliance.sources.files import read_source_file

        return run_source("file", f"{name} data from {opt['file']}", lambda m: read_source_file(name, opt["file"], m))
    region = target.get("region") or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or ""
    git_data = (done.get("git") or {}).get("data")
    if name == "probe":
        from compliance.sources.probe import probe

        url = target.get("capability_url") or ""

        def fn(m):
            _require(target, "capability_url")
            return probe(url, timeout=float(opt.get("timeout_seconds", 5)), meter=m)

        return run_source("http", f"GET {url}", fn)
    if name == "github":
        from compliance.sources.github import collect_github

        lam = (done.get("lambda") or {}).get("data") or {}
        near = [t for t in [parse_time((lam.get("configuration") or {}).get("LastModified"))] if t]

        def fn(m):
            _require(target, "github_repo", "workflow")
            with github_slot():
                return collect_github(target["github_repo"], target["workflow"].rsplit("/", 1)[-1],
                                      target["branch"], since, until, meter=m, cache_dir=cache_dir() / "github",
                                      jobs_near=near, max_pages=opt.get("max_pages"))

        return run_source("pygithub", f"runs of {target.get('workflow')} on {target.get('branch')} in "
                          f"{target.get('github_repo')} created {iso(since)}..{iso(until)}", fn)
    from compliance.sources.apigateway import collect_apigateway
    from compliance.sources.deploy_manager import collect_deploy_manager
    from compliance.sources.lambda_fn import collect_lambda
    from compliance.sources.tracker import collect_tracker

    if name == "lambda":
        def fn(m):
            _require(target, "function")
            return collect_lambda(target["function"], region, meter=m, options=opt)

        return run_source("boto3", f"GetFunctionConfiguration {target.get('function')} in {region}", fn)
    if name == "apigateway":
        def fn(m):
            _require(target, "http_api")
            return collect_apigateway(target["http_api"], region, meter=m, options=opt)

        return run_source("boto3", f"routes and integrations of HTTP API {target.get('http_api')} in {region}", fn)
    if name == "tracker":
        tracker = target.get("tracker") or {}
        ids = affected_task_ids(git_data, ruleset.rules, since, until)

        def fn(m):
            if not tracker.get("table") or not tracker.get("project"):
                raise NotConfigured("target.tracker.table and target.tracker.project not configured")
            if git_data is None:
                raise NotConfigured("the git source failed, so the affected tasks are unknown")
            return collect_tracker(tracker["table"], tracker["project"], ids, region, meter=m, options=opt)

        return run_source("boto3", f"BatchGetItem {len(ids)} task(s) from {tracker.get('table')}", fn)
    if name == "deploy_manager":
        dm = target.get("deploy_manager") or {}

        def fn(m):
            if not dm.get("table"):
                raise NotConfigured("target.deploy_manager.table not configured")
            return collect_deploy_manager(dm["table"], dm.get("project"), since, until, region, meter=m,
                                          options=opt)

        return run_source("boto3", f"requests and specs in {dm.get('table')} {iso(since)}..{iso(until)}", fn)
    return run_source("none", name, _fail(f"unknown source '{name}'"))


class NotConfigured(Exception):
    """A source the rules need has no configuration."""


def _fail(message: str):
    def fn(_meter):
        raise NotConfigured(message)

    return fn
