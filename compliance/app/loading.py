"""What every mode reads before it collects: one target's config and rules, the window, the waivers.

A mode fails on a bad waiver file or an unreadable previous report *before* anything slow (or
anything that changes a system) happens; these helpers are that early check, shared by all modes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from compliance.app.persist import read_waivers
from compliance.base.errors import ComplianceError
from compliance.base.timeutil import parse_bound, utcnow, window_start
from compliance.inputs.config import Config, load_config
from compliance.inputs.rules import RuleSet, load_rules
from compliance.inputs.targets import select_targets
from compliance.report.diff import load_previous, previous_for_target

DEFAULT_DAYS = 30


def window_bounds(since: str | None, until: str | None) -> tuple[datetime, datetime]:
    """``--since``/``--until`` as UTC bounds: a bare ``until`` date is the end of that day, the default 30 days."""
    end = parse_bound(until, end=True) if until else utcnow()
    start = parse_bound(since) if since else window_start(end, DEFAULT_DAYS)
    if start > end:
        raise ComplianceError(f"--since {since} is after --until {until}")
    return start, end


def one_target(config: Config, name: str | None) -> Any:
    """Commands that judge one target get exactly one: never silently the first of several."""
    names = select_targets(config, [name] if name else None)
    if len(names) != 1:
        raise ComplianceError(f"{config.path} has {len(names)} targets ({', '.join(names)}); "
                              "pick one with --target NAME")
    return config.for_target(names[0])


def load_target(config_path: str, target: str | None = None) -> tuple[Any, Any]:
    """The config narrowed to one target, and the rules it names."""
    config = one_target(load_config(config_path), target)
    return config, load_rules(config.policies)


def precheck(ruleset: RuleSet, waivers: str | None = None, warn_days: int | None = None,
             previous: str | None = None) -> dict[str, Any] | None:
    """Validate the waiver file and read the previous report before anything slow is collected."""
    read_waivers(waivers, ruleset, utcnow(), warn_days)
    return load_previous(previous) if previous else None


def previous_for(previous: dict[str, Any] | None, target: dict[str, Any]) -> dict[str, Any] | None:
    """The previous report's part for ``target`` (``diff.previous_for_target``): a merged report's findings of
    that target, a single-target report only when it is that target's (another's is a usage error, exit 2)."""
    return previous_for_target(previous, target)


__all__ = ["load_target", "one_target", "precheck", "previous_for", "window_bounds"]
