"""Collection for an audit: the sources the rules read, collected once each, as one snapshot."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from compliance import __version__
from compliance.base.errors import ComplianceError
from compliance.base.redact_doc import redact_data
from compliance.base.timeutil import iso, utcnow
from compliance.inputs.config import Config
from compliance.inputs.rules import RuleSet
from compliance.judge.registry import reads_of, repo_files_of, run_workflows_of
from compliance.model.snapshot import build_snapshot
from compliance.sources.plan import collect_sources


def public_target(target: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in target.items() if v is not None}


def collect(config: Config, ruleset: RuleSet, since: datetime, until: datetime) -> dict[str, Any]:
    """Run each needed source once, in dependency order; every failure is recorded, none raised."""
    target = config.target
    if not target and len(getattr(config, "targets", None) or []) > 1:
        raise ComplianceError(f"{config.path} has {len(config.targets)} targets and this command judges one; "
                              "use `compliance audit` (with --target NAME to pick some)")
    sources = collect_sources(reads_of(ruleset.rules), config.sources or {}, target, ruleset.rules, since, until,
                              repo_files_of(ruleset.rules, target), run_workflows_of(ruleset.rules, target))
    # masked before anything reads it, so the evaluation, every report and the saved snapshot agree
    snapshot = redact_data(build_snapshot(
        tool_version=__version__, collected_at=iso(utcnow()),
        window={"since": iso(since), "until": iso(until), "branch": target["branch"]}, target=public_target(target),
        rules=ruleset.digests, sources=sources))
    return snapshot
