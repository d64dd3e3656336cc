"""Delivery metrics (after Google's Four Keys) from the evidence the checks judged.

Why here and not in the report: which run is a deploy, which deploy failed and which change a run
delivered are judgements, and a second judge drifts. So a deploy is exactly a run the coverage
check counts (``RunIndex``: the target's workflow, push or dispatch, the governed branch, a commit of
the chain, a record that agrees with itself, judged by its latest attempt), the run that delivered
a change is the one ``deploy_coverage`` names (``RunIndex.covering``), and the live function's
health is ``lambda_state``'s with the rules' own parameters. The README's "Delivery metrics"
section is the definition of record; in short:

- a **deploy** is a canonical run that completed ``success`` (and deployed something: a green run
  whose deploy step was skipped or whose script was a tombstone is no deploy) or ``failure`` /
  ``timed_out``, completed inside the window and not after the collection (and, when green, not before
  its commit was made: such a record is false, and coverage credits it with nothing). A re-run is the
  same deploy: one per run id, judged by its latest attempt.
- a deploy **failed** when its run failed, when its validation failed (a validation step of the run
  concluded failure; a worklog stating a failed outcome names a commit it deployed; the live function
  it deployed is not Active/Successful), or when a **fix deploy** followed it: a later successful deploy
  bringing a commit that reverts one it brought (git's ``This reverts commit <sha>``), or the next
  deploy, when it brings a hotfix (subject or PR title starting with ``hotfix``, a ``hotfix/`` branch, or
  a ``Revert "..."`` subject whose reverted commit is not named).
"""

from __future__ import annotations

import bisect
import re
from datetime import datetime
from typing import Any

from compliance.base.errors import SourceUnavailable
from compliance.base.timeutil import iso, parse_time
from compliance.judge.checks.aws import lambda_problems
from compliance.judge.checks.deploy import deploy_tolerance, live_run
from compliance.judge.context import Context
from compliance.judge.history import CLOCK_SKEW
from compliance.judge.metrics_stats import as_number, summarise
from compliance.judge.runs import SUCCESS, run_started, run_state
from compliance.judge.timeline import ChangeChain
from compliance.model.rules import Rule

FAILED_CONCLUSIONS = ("failure", "timed_out")  # an attempted deploy that failed; cancelled / skipped are none
_HOTFIX = re.compile(r"^\W*hot-?fix\b", re.IGNORECASE)
_REVERT_SUBJECT = re.compile(r'^Revert "')
_REVERTS = re.compile(r"\bThis reverts commit ([0-9a-fA-F]{7,40})\b")
_HOTFIX_BRANCH = re.compile(r"^hot-?fix[/-]", re.IGNORECASE)


class _Deploy:
    """One deploy while it is being classified."""

    def __init__(self, run: dict[str, Any], position: int, done: datetime):
        self.run, self.position, self.done = run, position, done
        self.started = run_started(run) or done
        self.success = run_state(run) == SUCCESS
        self.why: list[str] = [] if self.success else [f"the run concluded {run.get('conclusion')}"]
        self.brought: tuple[int, int] = (position, position)  # first-parent positions (lo, hi]

    def fail(self, why: str) -> None:
        if why not in self.why:
            self.why.append(why)

    def record(self) -> dict[str, Any]:
        run = self.run
        return {"run_id": run["id"], "run_number": run.get("run_number"), "attempt": run.get("run_attempt") or 1,
                "sha": run["head_sha"], "completed_at": iso(self.done), "conclusion": run.get("conclusion"),
                "deployed": self.success,
                "failed": bool(self.why), "why": "; ".join(self.why) or None, "url": run.get("html_url")}


def delivery_metrics(ctx: Context, rules: list[Rule], chains: list[ChangeChain]) -> dict[str, Any]:
    """The report's ``metrics`` section: the window's deploys, lead times and restores, and the figures."""
    window = {"since": iso(ctx.since), "until": iso(ctx.until)}
    try:
        runs = ctx.runs
    except SourceUnavailable as exc:
        return _section(window, [], [], [], {"runs": f"the deploys cannot be read: {exc}", "validation": None},
                        {"pending": 0, "not_deployed": 0})
    every = _deploys(ctx, runs)
    gone = _validation(ctx, rules, every)
    _fixes(ctx, every)
    in_window = [d for d in every if ctx.since <= d.done <= ctx.until]
    lead, counts = _lead_times(ctx, runs, chains)
    return _section(window, [d.record() for d in in_window], lead, _restores(every, set(map(id, in_window))),
                    {"runs": None, "validation": gone}, counts)


def _section(window: dict[str, Any], deploys: list[dict[str, Any]], lead: list[dict[str, Any]],
             restores: list[dict[str, Any]], unavailable: dict[str, str | None],
             counts: dict[str, int]) -> dict[str, Any]:
    return {"window": window, "deploys": deploys, "lead_times": lead, "restores": restores,
            "unavailable": unavailable, "changes": counts,
            **summarise(window, deploys, lead, restores, unavailable, counts)}


def _deploys(ctx: Context, runs: Any) -> list[_Deploy]:
    """Every completed canonical deploy of the collected chain, in order of completion."""
    limit = ctx.now + CLOCK_SKEW
    out = []
    for sha in sorted(runs.by_sha):
        for run in runs.by_sha[sha]:
            why, state = runs.rejection(run), run_state(run)
            untrusted = why is not None and _untrusted(runs, run, state, why)
            if why is not None and untrusted is None:
                continue  # not a canonical deploy of the branch, or a green run that deployed nothing
            if why is None and state != SUCCESS and run.get("conclusion") not in FAILED_CONCLUSIONS:
                continue  # cancelled, skipped, still running: nothing was attempted to the end
            done = parse_time(run.get("updated_at"))
            if done is None or done > limit:  # completed after the collection: a false record counts nothing
                continue
            position = ctx.history.position[sha]
            if state == SUCCESS and not untrusted and done < ctx.history.times[position]:
                continue  # green before its commit was made: covers nothing (``covering``), deployed nothing
            deploy = _Deploy(run, position, done)
            if untrusted:
                deploy.success = False
                deploy.why = [untrusted]
            out.append(deploy)
    out.sort(key=lambda d: (d.done, d.run["id"]))
    deployed = -1
    for d in out:
        if d.success:
            d.brought = (deployed, d.position) if d.position > deployed else (d.position, d.position)
            deployed = max(deployed, d.position)
    return out


def _untrusted(runs: Any, run: dict[str, Any], state: str, why: str) -> str | None:
    """Why a run of the canonical workflow on the branch, which coverage refused, is still a failed
    deploy here (None: it is no deploy). Coverage refuses a record that contradicts itself (or two
    copies of one attempt that disagree), which is right for coverage and wrong for a failure rate:
    a failed run with a forged green twin would drop out of the count. Such a run counts as a
    failed deploy, and so does a green run whose deploy step failed (``continue-on-error``); a
    green run whose deploy step was skipped or whose script was a tombstone deployed nothing."""
    path = (run.get("path") or "").split("@", 1)[0]
    if (path != runs.workflow or run.get("event") not in runs.events or run.get("head_branch") != runs.history.branch
            or run["head_sha"] not in runs.history.position):
        return None
    if state == SUCCESS and ("deployed nothing" in why or "nothing was deployed" in why):
        return f"its deploy step failed: {why}" if re.search(r"concluded (failure|timed_out)", why) else None
    return f"its record cannot be trusted: {why}"


def _validation(ctx: Context, rules: list[Rule], deploys: list[_Deploy]) -> str | None:
    """Mark the successful deploys whose validation failed; why it could not all be read, if so."""
    ok = [d for d in deploys if d.success]
    for d in ok:
        for job in d.run.get("jobs") or []:
            for step in (job.get("steps") or []) if isinstance(job, dict) else []:
                name = step.get("name") if isinstance(step, dict) and isinstance(step.get("name"), str) else ""
                if "validat" in name.lower() and step.get("conclusion") in FAILED_CONCLUSIONS:
                    d.fail(f"its validation step {name!r} concluded {step['conclusion']}")
    gone = [_worklogs(ctx, ok), _live(ctx, rules, ok)]
    return "; ".join(g for g in gone if g) or None


def _worklogs(ctx: Context, ok: list[_Deploy]) -> str | None:
    """A worklog stating a failed outcome fails the deploy that delivered the oldest commit it names:
    the latest successful deploy containing it that started before the entry (any, if undated)."""
    try:
        index = ctx.evidence
    except SourceUnavailable as exc:
        return f"validation recorded in worklogs not available: {exc}"
    # The search runs newest first; the deploys that started after the entry are skipped by bisection
    # (``_started_by``), not one by one: 1,000 failed worklogs times 14,000 deploys was two seconds at
    # 100,000 commits.
    bounds = _started_by(ok)
    for evs in index.by_task.values():
        for ev in evs:
            named = index.named(ev)
            if ev.outcome != "fail" or not named:
                continue
            if ev.timestamp is not None and ev.timestamp > ctx.now + CLOCK_SKEW:
                continue  # dated after the collection: its date is false
            hit = _latest_deploy(ok, bounds, named[0], ev.timestamp)
            if hit is not None:
                hit.fail(f"{ev.task_id} {ev.origin} records a failed validation of "
                              f"{ctx.history.commits[named[0]]['sha'][:12]}")
    return None


def _started_by(ok: list[_Deploy]) -> tuple[list[datetime], list[int]]:
    """For the search of ``_latest_deploy``, whatever order ``ok`` is in: element i of the first list is the
    earliest start among ``ok[i:]`` and of the second the highest position among ``ok[:i + 1]``, both
    non-decreasing. ``bisect_right(first, t)`` is one past the last deploy that started at or before ``t``
    (every deploy after it started later); no deploy at or before i contains a position above ``second[i]``."""
    earliest: list[datetime] = []
    for d in reversed(ok):
        earliest.append(d.started if not earliest or d.started < earliest[-1] else earliest[-1])
    earliest.reverse()
    highest: list[int] = []
    for d in ok:
        highest.append(d.position if not highest or d.position > highest[-1] else highest[-1])
    return earliest, highest


def _latest_deploy(ok: list[_Deploy], bounds: tuple[list[datetime], list[int]], position: int,
                   at: datetime | None) -> _Deploy | None:
    """The last of ``ok`` that contains ``position`` and started at or before ``at`` (any start if None):
    ``next(d for d in reversed(ok) if ...)``, without visiting the deploys that started after ``at`` nor
    those before the first that reaches ``position`` (``_started_by``)."""
    earliest, highest = bounds
    last = len(ok) if at is None else bisect.bisect_right(earliest, at)
    for i in range(last - 1, -1, -1):
        if highest[i] < position:
            return None
        d = ok[i]
        if d.position >= position and (at is None or d.started <= at):
            return d
    return None


def _live(ctx: Context, rules: list[Rule], ok: list[_Deploy]) -> str | None:
    """The deploy the live code comes from (as ``lambda_deploy_match`` credits it) failed when the
    function is not in the state every ``lambda_state`` rule expects."""
    try:
        cfg = ctx.source("lambda")["configuration"]
    except SourceUnavailable as exc:
        return f"the function's state not available: {exc}"
    params = [s.params for r in rules for s in r.checks if s.kind == "lambda_state"] or [{}]
    problems = [lambda_problems(cfg, p) for p in params]
    if any(p is None for p in problems):
        return "the function's configuration does not say its State and LastUpdateStatus"
    bad = sorted({x for p in problems for x in p or []})
    modified = parse_time(cfg.get("LastModified"))
    if not bad or modified is None:
        return None if not bad else "the function's LastModified is not a time: its deploy is not known"
    slack = min((deploy_tolerance(s.params) for r in rules for s in r.checks if s.kind == "lambda_deploy_match"),
                default=deploy_tolerance({}))
    try:
        run = live_run(ctx, modified, slack)
    except SourceUnavailable:
        run = None
    for d in ok:
        if run is not None and d.run["id"] == run["id"]:
            d.fail(f"the live function it deployed shows {', '.join(bad)}")
    return None


def _fixes(ctx: Context, deploys: list[_Deploy]) -> None:
    """Mark the deploys a fix deploy followed (see the module's docstring)."""
    hist = ctx.history
    by_hi = sorted((d for d in deploys if d.success and d.brought[1] > d.brought[0]), key=lambda d: d.brought[1])
    his = [d.brought[1] for d in by_hi]
    order = {id(d): i for i, d in enumerate(deploys)}
    for i, fix in enumerate(deploys):
        if not fix.success:
            continue
        before = deploys[i - 1] if i else None
        for pos in range(fix.brought[0] + 1, fix.brought[1] + 1):
            c = hist.commits[pos]
            label = f"followed by fix deploy run {fix.run['id']}: {c['sha'][:12]}"
            reverted = [q for q in (hist.resolve(s) for s in _REVERTS.findall(c.get("body") or "")) if q is not None]
            for q in reverted:  # the deploy that brought the reverted commit, if an earlier one did
                j = bisect.bisect_left(his, q)
                if j < len(by_hi) and by_hi[j].brought[0] < q and order[id(by_hi[j])] < i:
                    by_hi[j].fail(f"{label} reverts {hist.commits[q]['sha'][:12]}")
            marker = _fix_marker(c, bool(reverted))
            if marker and before is not None and before.success:
                before.fail(f"{label} is {marker}")


def _fix_marker(commit: dict[str, Any], names_reverted: bool) -> str | None:
    """Whether a commit says it fixes what is deployed: a hotfix, or a revert naming no commit."""
    title = commit.get("subject") or ""
    if commit.get("kind") == "pr_merge":  # GitHub's merge subject; the PR title is the body's first line
        title = (commit.get("body") or "").split("\n", 1)[0]
    if _HOTFIX.match(title) or _HOTFIX_BRANCH.match(commit.get("source_branch") or ""):
        return "a hotfix"
    if not names_reverted and _REVERT_SUBJECT.match(title):
        return "a revert"
    return None


def _restores(deploys: list[_Deploy], in_window: set[int]) -> list[dict[str, Any]]:
    """Per streak of failed deploys starting in the window: from its first failed deploy of the
    window to the next deploy that neither failed nor was failed (None while there is none)."""
    out: list[dict[str, Any]] = []
    start: _Deploy | None = None
    for d in deploys:
        if d.why:
            if start is None and id(d) in in_window:
                start = d
            continue
        if start is not None:
            out.append(_restore(start, d))
            start = None
    if start is not None:
        out.append(_restore(start, None))
    return out


def _restore(failed: _Deploy, good: _Deploy | None) -> dict[str, Any]:
    return {"failed_run_id": failed.run["id"], "failed_at": iso(failed.done),
            "restored_run_id": good.run["id"] if good else None, "restored_at": iso(good.done) if good else None,
            "seconds": as_number((good.done - failed.done).total_seconds()) if good else None}


def _lead_times(ctx: Context, runs: Any, chains: list[ChangeChain]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Per judged change, from its commit to the completion of the run that covered it (the one
    ``deploy_coverage`` names); the changes no run covered yet are counted, not measured."""
    out, counts = [], {"pending": 0, "not_deployed": 0}
    for chain in chains:
        ch = chain.change
        run = runs.covering(ch, ctx.now)
        if run is None:
            stage = next((s for s in chain.stages if s.stage == "workflow_run"), None)
            counts["pending" if stage is not None and stage.detail.startswith("pending") else "not_deployed"] += 1
            continue
        done = parse_time(run["updated_at"])
        out.append({"sha": ch.short, "merged_at": iso(ch.committed_at), "run_id": run["id"],
                    "deployed_at": iso(done), "seconds": as_number((done - ch.committed_at).total_seconds())})
    return out, counts


__all__ = ["FAILED_CONCLUSIONS", "delivery_metrics"]
