"""Worklog evidence of a manual deploy-script run, as ``deploy_coverage`` and ``lambda_deploy_match``
accept it, and the canonical path (workflow, deploy script, runs) a coverage rule judges.

A rule may name its own canonical workflow and deploy script (a runbook with several canonical paths:
the Lambda's workflow for the runtime, a CloudFormation workflow for the API stack), so what counts as
"the workflow" or "the script" is the rule's ``Canonical``, never read from the target inside a check.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

from compliance.base.timeutil import iso
from compliance.judge import evidence
from compliance.judge.engine import CLOCK_SKEW
from compliance.judge.runs import RunIndex

_SHOWN = 3  # claims named in a message; the evidence list holds the rest


@dataclass(frozen=True)
class Canonical:
    """The canonical path one rule judges its changes against.

    ``own`` is whether it is the target's workflow: only that workflow's runs upload the target
    function's code, so only they can be proven (or refuted) by CloudTrail's UpdateFunctionCode records.
    """

    workflow: str | None
    deploy_script: str | None
    own: bool
    runs: RunIndex


def canonical_paths(params: dict[str, Any], target: dict[str, Any]) -> tuple[str | None, str | None]:
    """The (workflow, deploy script) a coverage rule names, defaulting to the target's.

    A rule naming another workflow does not inherit the target's script: that script is the target
    workflow's deploy step, and judging another workflow's runs by it would call them deployed-nothing
    whenever it was a tombstone (or pass a manual run of the wrong script). It names its own, or none.
    """
    workflow = params.get("workflow") or target.get("workflow")
    if workflow == target.get("workflow"):
        return workflow, params.get("deploy_script") or target.get("deploy_script")
    return workflow, params.get("deploy_script") or None


def canonical_for(ctx, params: dict[str, Any]) -> Canonical:
    """The rule's canonical path with its runs (raises ``SourceUnavailable`` when they were not listed)."""
    workflow, script = canonical_paths(params, ctx.target)
    return Canonical(workflow, script, workflow == ctx.target.get("workflow"), ctx.runs_of(workflow, script))


def target_paths(ctx) -> tuple[str | None, str | None]:
    return ctx.target.get("workflow"), ctx.target.get("deploy_script")


def manual_rejection(ctx, change, pos: int, ev, paths: tuple[str | None, str | None]) -> str | None:
    """Why a worklog claim does not prove a manual deploy-script run covering ``change``; None if it does.

    Manual evidence stands in for a run only when it is dated after the push (of the change and
    of the commit it names), describes the manual path and no run, and states a passing outcome.
    """
    after = max(change.committed_at, ctx.history.times[pos])
    if ev.timestamp is None:
        return "it has no timestamp, so nothing shows it came after the push"
    if ev.timestamp < after:
        return f"it is dated {iso(ev.timestamp)}, before the push it would have deployed ({iso(after)})"
    return manual_path_rejection(ctx, ev, paths)


def manual_path_rejection(ctx, ev, paths: tuple[str | None, str | None]) -> str | None:
    """Why a dated claim does not describe a passing manual run of the script of ``paths`` (workflow,
    deploy script); None if it does."""
    workflow, script = paths
    if ctx.now is not None and ev.timestamp > ctx.now + CLOCK_SKEW:
        return f"it is dated {iso(ev.timestamp)}, after the data was collected ({iso(ctx.now)})"
    if not script:
        return f"no deploy script is named for {workflow}, so no manual run can stand in for one of its runs"
    if evidence.names_workflow(ev.text, workflow):
        return "it names the workflow, so it is a claim about a run, and no successful run backs it"
    if script != ctx.target.get("deploy_script"):
        if not _ran_own_script(ev.text, script, ctx.target.get("deploy_script")):
            return f"it does not say {script}, the script of {workflow}, was run by hand (\"deploy.sh\" and " \
                   "\"the deploy script\" are the target's)"
    elif not evidence.names_manual_run(ev.text, script):
        return "it does not say the deploy script was run by hand"
    other = evidence.names_other_target(ev.text, ctx.target.get("function"), ctx.target.get("region"))
    if other:
        return f"it names another deploy target ({other}), not {ctx.target.get('function')} in {ctx.target.get('region')}"
    if ev.outcome != "pass":
        return f"its validation outcome is {'a failure' if ev.outcome == 'fail' else 'not stated'}"
    return None


_OWN = "ownscriptnamedbytherule"
_GENERIC = ("deploy.sh", "deploy script", "deploy-script")  # what names_manual_run reads as the target's script


def _ran_own_script(text: str, script: str, target_script: str | None) -> bool:
    """A clause says a rule's own script was run by hand, naming it: its file name, or its path when the
    file name is the target script's (or deploy.sh). The generic words names_manual_run also accepts
    ("deploy.sh", "the deploy script") name the target's script, so they are masked, not read as this one."""
    if not isinstance(text, str):
        return False
    low, path = text.lower(), script.replace("\\", "/").lower()
    name = path.rsplit("/", 1)[-1]
    same = name in ("deploy.sh", (target_script or "").replace("\\", "/").rsplit("/", 1)[-1].lower())
    masked = low.replace(path if same else name, _OWN)
    for word in _GENERIC:
        masked = masked.replace(word, " ")
    return evidence.names_manual_run(masked, _OWN)


class ManualClaims:
    """The worklog claims that can prove a manual deploy, judged once per check rather than per change.

    Whether a claim describes a passing manual run does not depend on the change, so it is decided
    once; per change only the push time is compared. Keeps a long history linear, not quadratic.
    """

    def __init__(self, ctx, paths: tuple[str | None, str | None]):
        self.ctx, self.paths = ctx, paths
        usable = []
        for pos, ev in ctx.evidence.deploy_claims_from(0):
            # A claim naming several commits proves a deploy of the oldest one only: "ran deploy.sh
            # for A; B is next, not deployed yet" names B but did not deploy it.
            pos = ctx.evidence.named(ev)[0] if ctx.evidence.named(ev) else pos
            if ev.timestamp is not None and ev.timestamp >= ctx.history.times[pos] \
                    and manual_path_rejection(ctx, ev, paths) is None:
                usable.append((pos, ev))
        usable.sort(key=lambda item: item[0])  # stable: claims of one commit keep their order
        self.keys: list[int] = [pos for pos, _ in usable]
        self.claims: list[Any] = [ev for _, ev in usable]

    def covering(self, change) -> Any:
        """The first usable claim naming this change or a later commit, dated after the change's push."""
        for i in range(bisect.bisect_left(self.keys, change.position), len(self.claims)):
            if self.claims[i].timestamp >= change.committed_at:
                return self.claims[i]
        return None

    def refused(self, change) -> list[tuple[Any, str]]:
        """The first few claims naming this change or a later commit, each with why it does not count."""
        out = []
        for pos, ev in self.ctx.evidence.deploy_claims_from(change.position):
            named = self.ctx.evidence.named(ev)
            if named and named[0] < change.position:
                shown = ", ".join(self.ctx.history.commits[p]["sha"][:12] for p in named)
                out.append((ev, f"it names several commits ({shown}); a manual claim proves a deploy of the "
                                "oldest one it names only"))
            else:
                out.append((ev, manual_rejection(self.ctx, change, pos, ev, self.paths)
                            or "it does not cover this change"))
            if len(out) == _SHOWN:
                break
        return out


def claim_name(ev) -> str:
    return f"{ev.task_id} {ev.origin}" + (f" of {iso(ev.timestamp)}" if ev.timestamp else "")
