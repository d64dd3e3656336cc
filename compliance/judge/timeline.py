"""The per-change chain merge -> workflow run -> Lambda update -> worklog, as the checks judged it.

Why it lives in judge/ and not in the report: each stage is a judgement about one step of a
change's deploy, and a second judge drifts. The report once kept its own 120 s slack and its own
"healthy" test, so with a rule's ``tolerance_seconds: 600`` the finding said "LastModified falls in
the deploy of run N" while the same change's timeline said that update had been superseded. Here
every stage is either read from the findings (coverage pending, worklog evidence per task) or
decided by the very functions the checks call, with the parameters of the rule that judged it
(the check's defaults when no rule does), so a timeline cannot disagree with a finding.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from compliance.base.errors import SourceUnavailable
from compliance.base.timeutil import iso, parse_time
from compliance.judge.checks.aws import lambda_problems
from compliance.judge.checks.deploy import deploy_tolerance, live_manual_deploy, live_run
from compliance.judge.checks.manual import canonical_paths
from compliance.judge.engine import CHANGE_SUBJECTS, Change, Context, deploy_window, run_label, within
from compliance.judge.registry import all_kinds
from compliance.model.findings import ERROR, FAIL, PASS, PENDING, STATUS_RANK, WAIVED, Finding
from compliance.model.rules import Rule

_MERGE_LABELS = {"direct_push": "pushed directly", "other_merge": "merged (no PR subject)", "root": "root commit"}


@dataclass(frozen=True)
class Stage:
    """One step of a change's chain; ``state`` is ok | missing | failed | unknown."""

    stage: str
    state: str
    label: str
    time: str | None = None
    url: str | None = None
    detail: str = ""
    # the named run's conclusion (its status while it runs): the report's picture colours runs by it
    outcome: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"stage": self.stage, "state": self.state, "time": self.time, "label": self.label, "url": self.url,
               "detail": self.detail}
        return out if self.outcome is None else {**out, "outcome": self.outcome}


@dataclass(frozen=True)
class ChangeChain:
    """A change some change- or task-rule judged, its chain, and the worst verdict of each rule on it."""

    change: Change
    stages: tuple[Stage, ...]
    verdicts: dict[str, str]


def change_chains(snapshot: dict[str, Any], rules: list[Rule], findings: list[Finding],
                  ctx: Context | None = None) -> list[ChangeChain]:
    """Every change judged by a rule, oldest first, with its chain (empty when git is unavailable).

    ``ctx`` is the ``Context`` the findings were judged with (its indexes are reused).
    """
    if ctx is None or ctx.snapshot is not snapshot:
        ctx = Context(snapshot)
    try:
        _ = ctx.history
    except SourceUnavailable:
        return []
    kinds = all_kinds()
    seen: dict[str, Change] = {}
    for rule in rules:
        if any(kinds[c.kind].subject in CHANGE_SUBJECTS for c in rule.checks):
            for ch in ctx.changes(rule.scope):
                seen.setdefault(ch.sha, ch)
    verdicts: dict[str, dict[str, str]] = {}
    judged = _Judged(findings)
    for f in findings:
        sha = _commit_of(f)
        if sha in seen:
            of_sha = verdicts.get(sha)
            if of_sha is None:
                of_sha = verdicts[sha] = {}
            cur = of_sha.get(f.rule_id)
            if cur is None or STATUS_RANK[f.status] > STATUS_RANK[cur]:
                of_sha[f.rule_id] = f.status
    live = _LiveFunction(ctx, rules)
    repo = ctx.target.get("github_repo")
    elsewhere = _other_workflows(ctx, rules)
    out = []
    for ch in sorted(seen.values(), key=lambda c: c.position):
        if ch.sha not in verdicts:
            continue  # in some rule's scope but judged by none (e.g. a co-change rule it does not trigger)
        other = elsewhere.get(ch.sha)
        if other is None:
            covering = _covering(ctx, ch)  # the run stage and the update stage judge the same covering run
            stages = (_merge_stage(ch, repo), _run_stage(ctx, ch, judged, covering=covering),
                      live.stage(ch, covering), _worklog_stage(ctx, ch, judged))
        else:  # deployed by the workflow its coverage rule names: that workflow's runs, and no function update
            stages = (_merge_stage(ch, repo), _run_stage(ctx, ch, judged, other),
                      Stage("lambda_update", "unknown", f"not a deploy of the function: {other[0]} deploys this change"),
                      _worklog_stage(ctx, ch, judged))
        out.append(ChangeChain(ch, stages, dict(sorted(verdicts[ch.sha].items()))))
    return out


def _commit_of(f: Finding) -> str | None:
    """The SHA of the finding's first commit evidence (the change it judged), if any."""
    for e in f.evidence:
        if e.get("kind") == "commit":
            return e.get("sha")
    return None


_NOT_FOUND = object()  # a covering run not looked for yet (None is "no run covers it")


def _covering(ctx: Context, ch: Change) -> dict[str, Any] | None | SourceUnavailable:
    """``ctx.runs.covering`` of the change, or the reason the runs are not available."""
    try:
        return ctx.runs.covering(ch, ctx.now)
    except SourceUnavailable as exc:
        return exc


class _Judged:
    """The findings of the change-level checks, by (check kind, subject): the worst one when several
    rules judged the same subject (a subject fails if any rule fails it)."""

    def __init__(self, findings: list[Finding]):
        self.by_subject: dict[tuple[str, str], Finding] = {}
        for f in findings:
            key = (f.check, f.subject)
            cur = self.by_subject.get(key)
            if cur is None or STATUS_RANK[f.status] > STATUS_RANK[cur.status]:
                self.by_subject[key] = f

    def get(self, check: str, subject: str) -> Finding | None:
        return self.by_subject.get((check, subject))


_PR_LABELS = {"pr_merge": "merged", "squash": "squash-merged", "pull_request": "(not merged yet)"}


def _merge_stage(ch: Change, repo: str | None) -> Stage:
    c = ch.commit
    kind = c["kind"]
    pr = _PR_LABELS.get(kind)
    label = f"PR #{c.get('pr')} {pr}" if pr is not None else _MERGE_LABELS.get(kind, kind)
    url = f"https://github.com/{repo}/commit/{ch.sha}" if repo else None
    return Stage("merge", "ok", f"{ch.short} {label}", c["committed_at"], url, c["subject"])


def _other_workflows(ctx: Context, rules: list[Rule]) -> dict[str, tuple[str, str | None]]:
    """Changes whose coverage only rules naming another workflow than the target's judge, by SHA, each
    with that (workflow, deploy script): their chain shows that workflow's runs, as the finding judged them.
    A change some rule judges with the target's workflow keeps the target's chain."""
    own, other = set(), {}
    for rule in rules:
        for spec in rule.checks:
            if spec.kind != "deploy_coverage":
                continue
            workflow, script = canonical_paths(spec.params, ctx.target)
            for ch in ctx.changes(rule.scope):
                if workflow == ctx.target.get("workflow"):
                    own.add(ch.sha)
                else:
                    other.setdefault(ch.sha, (workflow, script))
    return {sha: paths for sha, paths in other.items() if sha not in own}


def _run_stage(ctx: Context, ch: Change, judged: _Judged, paths: tuple[str, str | None] | None = None,
               covering: Any = _NOT_FOUND) -> Stage:
    """The covering run, as ``deploy_coverage`` finds it (in the runs of ``paths``' workflow when its
    rule names one; ``covering``: ``_covering`` of the target's runs, already found); a change its
    finding calls pending is shown as waiting for the run, never as failed."""
    try:
        if isinstance(covering, SourceUnavailable):
            raise covering
        runs = ctx.runs if paths is None else ctx.runs_of(*paths)
        run = covering if paths is None and covering is not _NOT_FOUND else runs.covering(ch, ctx.now)
    except SourceUnavailable as exc:
        return Stage("workflow_run", "unknown", "workflow runs not available", detail=str(exc))
    if run:
        detail = "own commit" if run["head_sha"] == ch.sha else f"covered by later commit {run['head_sha'][:12]}"
        return Stage("workflow_run", "ok", run_label(run), iso(parse_time(run["updated_at"])), run.get("html_url"),
                     detail, _outcome(run))
    coverage = judged.get("deploy_coverage", ch.short)
    if coverage is not None and coverage.status == PENDING:
        active = runs.active(ch)
        if active:
            return Stage("workflow_run", "missing", run_label(active[0]), iso(parse_time(active[0].get("updated_at"))),
                         active[0].get("html_url"), f"pending: {coverage.message}", _outcome(active[0]))
        return Stage("workflow_run", "missing", "no canonical run yet", detail=f"pending: {coverage.message}")
    own = runs.by_sha.get(ch.sha, [])
    if own:
        last = own[-1]
        return Stage("workflow_run", "failed", run_label(last), iso(parse_time(last["updated_at"])),
                     last.get("html_url"), "no later successful run covers it", _outcome(last))
    return Stage("workflow_run", "missing", "no canonical run covers this change")


def _outcome(run: dict[str, Any]) -> str:
    """What the run's own record says it came to, as ``run_label`` words it."""
    return str(run.get("conclusion") or run.get("status") or "unknown")


def _rule_params(rules: list[Rule], kind: str) -> list[dict[str, Any]]:
    """The parameters of every rule with a ``kind`` check (the check's defaults when none has one): the
    stage is judged by the strictest, as a subject fails if any rule fails it."""
    return [spec.params for rule in rules for spec in rule.checks if spec.kind == kind] or [{}]


class _LiveFunction:
    """What the function shows now, judged once: where its live code came from (``lambda_deploy_match``
    with the tightest such rule's tolerance) and whether it is healthy (``lambda_state``, by every such rule).

    Lambda keeps only its latest update, so an older change's deploy is judged through the run
    that covered it, relative to that one update.
    """

    def __init__(self, ctx: Context, rules: list[Rule]):
        self.ctx = ctx
        self.unavailable: str | None = None
        try:
            self.cfg = ctx.source("lambda")["configuration"]
        except SourceUnavailable as exc:
            self.unavailable, self.cfg = str(exc), {}
            return
        cfg = self.cfg
        self.modified = parse_time(cfg.get("LastModified"))
        self.healthy = all(lambda_problems(cfg, p) == [] for p in _rule_params(rules, "lambda_state"))
        self.now = (f"{cfg.get('FunctionName', '?')} LastModified {iso(self.modified)} "
                    f"({cfg.get('State')}/{cfg.get('LastUpdateStatus')})")
        self.slack = min(deploy_tolerance(p) for p in _rule_params(rules, "lambda_deploy_match"))
        self.run: dict[str, Any] | None = None
        self.manual: Any = None
        if self.modified is not None:
            try:
                self.run = live_run(ctx, self.modified, self.slack)
            except SourceUnavailable:
                self.run = None
            self.manual = live_manual_deploy(ctx, self.modified) if self.run is None else None

    def stage(self, ch: Change, covering: Any = _NOT_FOUND) -> Stage:
        """``covering``: ``_covering`` of the change, already found (``_NOT_FOUND``: found here)."""
        if self.unavailable is not None:
            return Stage("lambda_update", "unknown", "function configuration not available", detail=self.unavailable)
        modified, now = self.modified, self.now
        if modified is None:
            return Stage("lambda_update", "unknown", now)
        found = _covering(self.ctx, ch) if covering is _NOT_FOUND else covering
        run = None if isinstance(found, SourceUnavailable) else found
        if run is None:
            if self._manual_deployed(ch):
                return Stage("lambda_update", "ok" if self.healthy else "failed", now, iso(modified),
                             detail=f"the live code comes from a manual deploy-script run recorded in "
                             f"{self.manual.task_id} {self.manual.origin}")
            if modified >= ch.committed_at and not self.healthy:
                return Stage("lambda_update", "failed", now, iso(modified), detail="updated after this change and failed")
            return Stage("lambda_update", "missing", "no successful canonical deploy of this change", iso(modified),
                         detail=now)
        return self._covered(run, modified)

    def _manual_deployed(self, ch: Change) -> bool:
        """Whether the manual deploy the live code matches included this change: a claim proves a
        deploy of the oldest commit it names only (as ``deploy_coverage`` reads it)."""
        if self.manual is None or self.manual.timestamp is None or self.manual.timestamp < ch.committed_at:
            return False
        named = self.ctx.evidence.named(self.manual)
        return bool(named) and named[0] >= ch.position

    def _covered(self, run: dict[str, Any], modified: datetime) -> Stage:
        start, end = deploy_window(run)
        span = f"{iso(start)} .. {iso(end)}"
        health = "ok" if self.healthy else "failed"
        if self.run is not None and self.run["id"] == run["id"]:
            return Stage("lambda_update", health, self.now, iso(modified),
                         detail=f"the live code comes from run {run['id']} (deploy {span})")
        if self.run is not None and within(modified, start, end, self.slack):  # two deploys overlap it
            other_start, other_end = deploy_window(self.run)
            return Stage("lambda_update", health, self.now, iso(modified),
                         detail=f"the live code comes from run {self.run['id']} (deploy {iso(other_start)} .. "
                         f"{iso(other_end)}), whose deploy overlaps run {run['id']}'s ({span})")
        if end and modified > end:
            if self.run is None and self.manual is None:
                return Stage("lambda_update", "failed", f"deployed by run {run['id']} ({span})", iso(end),
                             detail=f"superseded since by an update no canonical deploy or recorded manual deploy "
                             f"accounts for: {self.now}")
            return Stage("lambda_update", "ok", f"deployed by run {run['id']} ({span})", iso(end),
                         detail=f"superseded since: {self.now}")
        return Stage("lambda_update", "missing", f"run {run['id']} succeeded ({span}) but the function was not "
                     "updated", iso(modified), detail=f"{self.now}: the run deployed nothing")


def _worklog_stage(ctx: Context, ch: Change, judged: _Judged) -> Stage:
    """Per task, what its ``worklog_evidence`` finding decided (the deciding entry, not any entry)."""
    if not ch.task_ids:
        return Stage("worklog", "missing", "the change names no task")
    try:
        _ = ctx.evidence
    except SourceUnavailable as exc:
        return Stage("worklog", "unknown", "tracker not available", detail=str(exc))
    states, notes, times = [], [], []
    for task in ch.task_ids:
        state, note, time = _task_state(judged.get("worklog_evidence", f"{task}@{ch.short}"))
        states.append(state)
        notes.append(f"{task}: {note}")
        times += [time] if time else []
    state = next((s for s in ("failed", "missing", "unknown") if s in states), "ok")
    latest = max((parse_time(t) for t in times), default=None)
    return Stage("worklog", state, "; ".join(notes), iso(latest))


def _task_state(f: Finding | None) -> tuple[str, str, str | None]:
    """(stage state, note, time of the deciding worklog) for one task's finding."""
    if f is None:
        return "unknown", "no rule judged its evidence for this change", None
    worklogs = [e for e in f.evidence if e.get("kind") == "worklog"]
    if f.status == PASS:
        return "ok", "recorded", worklogs[0].get("time") if worklogs else None
    if f.status == ERROR:
        return "unknown", "could not be evaluated", None
    if f.status in (FAIL, WAIVED) and any(e.get("outcome") == FAIL for e in worklogs):
        return "failed", "validation recorded as failed", None
    what = "incomplete evidence" if worklogs else "no evidence"
    if f.status == PENDING:
        return "missing", f"{what} yet (pending: not due yet)", None
    if f.status in (FAIL, WAIVED):
        return "missing", what, None
    return "unknown", "not judged for this change (" + f.status.replace("_", " ") + ")", None
