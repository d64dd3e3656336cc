"""Collection: run each source once, record data or error, and assemble the snapshot."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from compliance import __version__
from compliance.sources.base import run_source
from compliance.timeutil import iso, utcnow

ALL_SOURCES = ("git", "github", "lambda", "apigateway", "tracker", "deploy_manager", "probe")
OPTIONAL_USES = {"deploy_coverage": ("tracker",), "lambda_deploy_match": ("tracker",)}


def sources_needed(rules: list[Any]) -> set[str]:
    """Sources the rules read: each kind's needs, plus optional ones and `field` sources."""
    from compliance.checks.registry import all_kinds

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
    from compliance.checks.registry import all_kinds

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


def collect(config: Any, ruleset: Any, since: datetime, until: datetime) -> dict[str, Any]:
    target = config.target
    needed = sources_needed(ruleset.rules)
    opts = config.sources or {}
    sources: dict[str, Any] = {}
    branch = target["branch"]

    if "git" in needed:
        from compliance.sources.git import collect_git

        files = repo_files_needed(ruleset.rules, target)
        sources["git"] = run_source(
            "git", f"first-parent history of {branch} since {iso(since)} in {target.get('repo', '.')}",
            lambda m: collect_git(target.get("repo", "."), branch, since, id_pattern=target.get("task_id_pattern"),
                                  files=files, meter=m))
    for name in ALL_SOURCES[1:]:
        if name not in needed:
            continue
        sources[name] = _collect_one(name, opts.get(name) or {}, target, sources)
    return {
        "snapshot_version": 1,
        "tool": {"name": "compliance", "version": __version__},
        "collected_at": iso(utcnow()),
        "window": {"since": iso(since), "until": iso(until), "branch": branch},
        "target": public_target(target),
        "rules": dict(sorted(ruleset.digests.items())),
        "sources": sources,
    }


def _collect_one(name: str, opt: dict[str, Any], target: dict[str, Any], done: dict[str, Any]) -> dict[str, Any]:
    if opt.get("file"):
        from compliance.sources.files import read_source_file

        return run_source("file", f"{name} data from {opt['file']}", lambda m: read_source_file(name, opt["file"], m))
    if name == "probe":
        from compliance.sources.probe import probe

        url = target.get("capability_url")
        if not url:
            return run_source("http", "capability probe", _fail("target.capability_url is not configured"))
        return run_source("http", f"GET {url}", lambda m: probe(url, timeout=float(opt.get("timeout_seconds", 5)), meter=m))
    return run_source("none", f"{name}", _fail(f"no data configured for source '{name}' (set sources.{name}.file)"))


class NotConfigured(Exception):
    """A source the rules need has no configuration."""


def _fail(message: str):
    def fn(_meter):
        raise NotConfigured(message)

    return fn
