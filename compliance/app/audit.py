"""Audit mode: collect a window of one or several targets, judge it and publish each target's set.

A multi-target audit writes ``<out>/<name>/`` exactly as a single-target audit of that target would,
then the merged report beside them, all under one lock of ``<out>``: a reader never finds one
run's per-target sets next to another run's merged report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from compliance.app.collect import collect
from compliance.app.loading import precheck, previous_for
from compliance.app.package import Packaged, build_package
from compliance.app.persist import Persisted, persist
from compliance.base.fsutil import folder_lock
from compliance.inputs.config import Config
from compliance.inputs.rules import RuleSet, load_rules
from compliance.inputs.targets import collect_targets, default_jobs
from compliance.publish import close_tracking_issue_if_open, upsert_tracking_issue
from compliance.report import PREVIOUS_FOLDER
from compliance.report.diff import load_previous
from compliance.report.markdown import render
from compliance.report.merge import merge_reports, write_merged


def audit_one(config: Config, ruleset: RuleSet, since: datetime, until: datetime, out: Path, formats: Iterable[str], *,
              waivers: str | None = None, previous: dict[str, Any] | None = None,
              warn_days: int | None = None) -> Persisted:
    """One target: collect the window, then the one persistence path."""
    snapshot = collect(config, ruleset, since, until)
    return persist(snapshot, ruleset, out, "audit", formats, waivers=waivers, previous=previous,
                   warn_days=warn_days)


def audit_with_baseline(config: Config, ruleset: RuleSet, since: datetime, until: datetime, out: Path,
                        formats: Iterable[str], *, mode: str, baseline: Callable[[dict[str, Any]], dict[str, Any]],
                        previous: str | Path | None = None, waivers: str | None = None,
                        warn_days: int | None = None,
                        collected: Callable[[dict[str, Any]], None] | None = None,
                        package: str | None = None) -> tuple[Persisted, Packaged | None]:
    """An audit diffed against a "last audit" made from its own snapshot by ``baseline`` (the demo's).

    The baseline goes through the same pipeline into ``<out>/previous/``, so the diff compares like with like;
    that folder is a member of the run's set, published by the same switch as the reports that diff against it
    (a run stopped in between can no longer pair a new baseline with old reports).
    ``collected`` sees the snapshot before anything is judged (the demo dates its waivers from it).
    ``package``: the name, in ``<out>``, of the audit package built from the published set.

    The baseline, the set and the package are written under one lock of ``<out>``: two runs into one folder
    never pair one's report with the other's baseline or package. The old package goes first, so a run
    stopped before its own package is written leaves none rather than another run's beside its set.
    """
    # a given previous report is read (and refused when it is another target's) before anything is collected
    given = previous_for(load_previous(previous), config.target) if previous else None
    snapshot = collect(config, ruleset, since, until)
    if collected:
        collected(snapshot)
    def stage_baseline(folder: Callable[[str], Path]) -> dict[str, Any]:
        """The baseline's own set, staged as the set's ``previous/`` folder: it switches with the reports."""
        where = folder(PREVIOUS_FOLDER)
        persist(baseline(snapshot), ruleset, where, mode, ("json",))
        return previous_for(load_previous(where / "report.json"), snapshot["target"])

    with folder_lock(out):
        if package:
            (out / package).unlink(missing_ok=True)
        result = persist(snapshot, ruleset, out, mode, formats, waivers=waivers, previous=given, warn_days=warn_days,
                         beside=stage_baseline if given is None else None)
        return result, build_package(out, out / package) if package else None


def audit_targets(config: Config, names: list[str], since: datetime, until: datetime, out: Path,
                  formats: Iterable[str], *, waivers: str | None = None, previous: str | None = None,
                  warn_days: int | None = None, jobs: int | None = None,
                  each: Callable[[str, Persisted], None] | None = None) -> tuple[dict[str, Any], dict[str, Path]]:
    """Every target into ``<out>/<name>/`` plus the merged report in ``<out>``; returns the merged (doc, files).

    ``each`` is called with every target's result as soon as it is published (the CLI prints it
    and updates that target's tracking issue there, in target order).
    """
    ruleset = load_rules(config.policies)
    before = precheck(ruleset, waivers, warn_days, previous)
    # each target's part of the previous report, found (or refused) before anything is collected
    earlier = {name: previous_for(before, config.for_target(name).target) for name in names}
    snapshots = collect_targets(config, ruleset, names, since, until,
                                jobs=jobs if jobs is not None else default_jobs(len(names)), collect=collect)
    formats = tuple(formats)
    with folder_lock(out):  # the per-target sets and the merged one: one run's, not two runs' interleaved
        parts = []
        for name in names:
            result = persist(snapshots.pop(name), ruleset, out / name, "audit", formats, waivers=waivers,
                             previous=earlier[name], warn_days=warn_days)
            if each:
                each(name, result)
            parts.append((name, result.doc, f"{name}/report.json"))
        merged = merge_reports(parts)
        return merged, write_merged(merged, out, formats)


def tracking_issue(doc: dict[str, Any], target: dict[str, Any]) -> str | None:
    """Open or update ONE tracking issue while the verdict fails or errs; close it once it passes.

    Returns the issue's URL when one was opened or updated. ``pending`` is not failing.
    """
    repo = target["github_repo"]
    title = f"Compliance audit: {target.get('name') or repo} is failing"
    if doc["summary"]["verdict"] in ("pass", "pending"):
        close_tracking_issue_if_open(repo, title)
        return None
    issue = upsert_tracking_issue(repo, title, render(doc))
    return str(issue.get("html_url") or issue)


__all__ = ["audit_one", "audit_targets", "audit_with_baseline", "tracking_issue"]
