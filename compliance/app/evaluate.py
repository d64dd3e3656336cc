"""Evaluate mode: re-judge a saved snapshot offline, with today's rules, into a new report set.

The waivers saved beside the snapshot are the exceptions that run applied; they are used by
default so a re-evaluation reproduces the verdict, unless other waivers are given or none wanted.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from compliance.app.deferred import with_deferred_sources
from compliance.app.loading import precheck, previous_for
from compliance.app.persist import Persisted, persist
from compliance.inputs.rules import load_rules
from compliance.model.snapshot import read_snapshot
from compliance.report import WAIVERS_NAME

RULES_DIFFER = ("warning: the rules differ from those the snapshot was collected for; sources a new rule needs "
                "may be missing (they evaluate to error)")


def evaluate_saved(snapshot_path: str, policies: list[str], out: Path, formats: Iterable[str], *,
                   waivers: str | None = None, no_waivers: bool = False, previous: str | None = None,
                   warn_days: int | None = None) -> Persisted:
    """Read, judge and publish; ``notes`` of the result say which waivers were taken and what differs."""
    snapshot, digest = read_snapshot(snapshot_path, unique_keys=False)  # persist checks it unless canonical
    snapshot = with_deferred_sources(snapshot)  # a PR snapshot saved before deferred sources were data
    ruleset = load_rules(policies)
    before = previous_for(precheck(ruleset, waivers, warn_days, previous), snapshot["target"])
    notes = []
    beside = Path(snapshot_path).parent / WAIVERS_NAME
    if not waivers and not no_waivers and beside.is_file():
        waivers = str(beside)
        notes.append(f"note: applying the waivers saved with the snapshot ({beside}); --no-waivers to ignore them")
    if set(ruleset.digests.values()) ^ set(snapshot["rules"].values()):
        notes.append(RULES_DIFFER)
    result = persist(snapshot, ruleset, out, "evaluate", formats, waivers=waivers, previous=before,
                     warn_days=warn_days, snapshot_file=snapshot_path, digest=digest)
    result.notes[:0] = notes
    return result


__all__ = ["evaluate_saved"]
