"""The engine: builds change records from a snapshot and runs the pure checks over them.

Joins are indexed, never nested scans: commits by first-parent position and by sorted SHA
(prefix resolution with bisect), successful runs swept once from newest to oldest, worklog
evidence by task id and by the position of the commit it names.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from compliance.base.errors import SourceUnavailable
from compliance.base.timeutil import chain_span, iso, parse_time
from compliance.model.findings import ERROR, NOT_APPLICABLE, PASS, Finding
from compliance.model.rules import Rule, Scope
from compliance.sources.registry import DEFERRED

SUCCESS = "success"
CHANGE_SUBJECTS = ("change", "task")  # findings about (a task of) one change


@dataclass
class Change:
    """A first-parent commit of the governed branch, judged against its first parent."""

    commit: dict[str, Any]
    position: int
    committed_at: datetime
    files: list[str]
    task_ids: list[str]

    @property
    def sha(self) -> str:
        return self.commit["sha"]

    @property
    def short(self) -> str:
        return self.commit["sha"][:12]

    def evidence_item(self) -> dict[str, Any]:
        c = self.commit
        pr = f" PR #{c['pr']}" if c.get("pr") else ""
        return {
            "kind": "commit",
            "label": f"{self.short} {c['kind']}{pr}: {c['subject']}",
            "sha": self.sha,
            "time": c["committed_at"],
            "url": None,
        }


class History:
    """The branch's first-parent chain with O(log n) short-SHA resolution."""

    def __init__(self, git: dict[str, Any]):
        self.branch: str = git["branch"]
        self.commits: list[dict[str, Any]] = git["commits"]
        self.position = {c["sha"]: i for i, c in enumerate(self.commits)}
        self._sorted = sorted(self.position)
        self.times = [parse_time(c["committed_at"]) for c in self.commits]

    def window(self, since: datetime, until: datetime, now: datetime | None = None) -> range:
        """Positions of the window's commits: a range of the chain between its boundary commits.

        Not each commit judged by its own date: a commit dated before ``since`` but sitting among
        the window's commits (or dated before its own parent) is in the window (``chain_span``)."""
        start, stop, _ = chain_span(self.times, since, until, now + CLOCK_SKEW if now is not None else None)
        return range(start, stop)

    def resolve(self, prefix: str) -> int | None:
        """Position of the unique first-parent commit starting with ``prefix`` (7+ hex), else None."""
        prefix = prefix.lower()
        if len(prefix) < 7:
            return None
        i = bisect.bisect_left(self._sorted, prefix)
        if i >= len(self._sorted) or not self._sorted[i].startswith(prefix):
            return None
        if i + 1 < len(self._sorted) and self._sorted[i + 1].startswith(prefix):
            return None  # ambiguous: never guess
        return self.position[self._sorted[i]]

    def change(self, i: int) -> Change:
        c = self.commits[i]
        return Change(c, i, self.times[i], [f["path"] for f in c["files"]], list(c["task_ids"]))


def run_label(run: dict[str, Any]) -> str:
    num = f" #{run['run_number']}" if run.get("run_number") else ""
    attempt = f" attempt {run['run_attempt']}" if (run.get("run_attempt") or 1) > 1 else ""
    outcome = run.get("conclusion") or run.get("status") or "unknown"
    return f"run {run['id']}{num}{attempt} ({run.get('event')}, {outcome}) for {run['head_sha'][:12]}"


def run_evidence(run: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "run",
        "label": run_label(run),
        "run_id": run["id"],
        "url": run.get("html_url"),
        "time": iso(parse_time(run.get("updated_at"))),
        "conclusion": run.get("conclusion"),
    }


def deploy_window(run: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    """When the run deployed: its deploy step if the jobs were collected, else the whole run."""
    for job in run.get("jobs") or []:
        for step in job.get("steps") or []:
            name = step.get("name")
            name = name.lower() if isinstance(name, str) else ""
            if "deploy" in name and "validat" not in name:
                start, end = parse_time(step.get("started_at")), parse_time(step.get("completed_at"))
                if start and end:
                    return start, end
    return parse_time(run.get("run_started_at") or run.get("created_at")), parse_time(run.get("updated_at"))


def _undeployed_step(run: dict[str, Any]) -> str | None:
    """Why a successful run's collected jobs show it did not deploy: a deploy job or step that
    completed without succeeding (``skipped`` by an ``if:``, a ``continue-on-error`` failure,
    cancelled). A run is green then, but nothing was deployed. None when the jobs show no such
    step, or were not collected."""
    for job in run.get("jobs") or []:
        if not isinstance(job, dict):
            continue
        parts = [("job", job)] + [("step", s) for s in job.get("steps") or [] if isinstance(s, dict)]
        for what, part in parts:
            name = part.get("name") if isinstance(part.get("name"), str) else ""
            low = name.lower()
            if "deploy" not in low or "validat" in low:
                continue
            conclusion = part.get("conclusion")
            if part.get("status") == "completed" and conclusion != SUCCESS:
                return f"its deploy {what} {name!r} concluded {conclusion or 'without a conclusion'}: nothing was deployed"
    return None


DEPLOY_EVENTS = ("push", "workflow_dispatch")  # what the canonical workflow deploys on; the rest never covers
IN_PROGRESS = ("queued", "in_progress", "waiting", "requested", "pending")


def run_state(run: dict[str, Any]) -> str:
    """``success``, ``in_progress``, ``ended`` (any other conclusion) or ``contradictory``.

    GitHub sets ``conclusion`` only once a run is ``completed``: a success on a run that is not
    completed, or a completed run without a conclusion, is data that disagrees with itself.
    """
    status, conclusion = run.get("status"), run.get("conclusion")
    if status == "completed":
        if conclusion == SUCCESS:
            return SUCCESS
        return "ended" if conclusion else "contradictory"
    if status in IN_PROGRESS:
        return "in_progress" if conclusion is None else "contradictory"
    return "contradictory"


def run_started(run: dict[str, Any]) -> datetime | None:
    """When the run's latest attempt started (a re-run restarts the clock, ``created_at`` does not)."""
    return parse_time(run.get("run_started_at") or run.get("created_at"))


class RunIndex:
    """Runs of the canonical workflow on the branch, by first-parent position.

    Only a run that provably is the canonical deploy of the branch counts: its ``path`` is the
    configured workflow, it was triggered by a push or a manual dispatch, it ran on the governed
    branch for a commit of its first-parent chain, and its record agrees with itself. Every other
    run of the same commit is kept in ``by_sha`` with the reason it was rejected (``rejection``),
    so findings can say which runs were considered and why they did not count.
    """

    def __init__(self, github: dict[str, Any], history: History, workflow: str | None,
                 events: tuple[str, ...] = DEPLOY_EVENTS):
        self.history, self.workflow, self.events = history, workflow, events
        self.by_sha: dict[str, list[dict[str, Any]]] = {}
        self.success_at: dict[int, list[dict[str, Any]]] = {}
        self.active_at: dict[int, list[dict[str, Any]]] = {}  # queued / in progress, by position
        self.rejected_success_at: dict[int, list[dict[str, Any]]] = {}
        self._why: dict[int, str | None] = {}
        self._conflicts: set[Any] = set()
        self._eligible: set[int] = set()
        for run in self._latest_attempts(github.get("runs") or []):
            path = (run.get("path") or "").split("@", 1)[0]
            if workflow and path and path != workflow:
                continue  # another workflow's run: nothing to do with this one
            self.by_sha.setdefault(run["head_sha"], []).append(run)
            why = self._rejection(run)
            self._why[id(run)] = why
            pos = history.position.get(run["head_sha"])
            state = run_state(run)
            if why is None:
                self._eligible.add(pos)
            if why is None and state == SUCCESS:
                self.success_at.setdefault(pos, []).append(run)
            elif why is None and state == "in_progress":
                self.active_at.setdefault(pos, []).append(run)
            elif pos is not None and state == SUCCESS:
                self.rejected_success_at.setdefault(pos, []).append(run)
        for index in (self.success_at, self.active_at, self.rejected_success_at):
            for runs in index.values():
                runs.sort(key=lambda r: (parse_time(r.get("updated_at")) or datetime.max, r["id"]))
        self._positions = sorted(self.success_at)
        self._active = sorted(self.active_at)
        self._rejected = sorted(self.rejected_success_at)
        self._eligible_sorted = sorted(self._eligible)

    def _latest_attempts(self, runs: list[Any]) -> list[dict[str, Any]]:
        """One record per run id: its latest attempt (a re-run replaces the attempt before it).

        Copies of the same attempt that disagree are recorded in ``_conflicts`` instead of one
        of them being believed.
        """
        best: dict[Any, tuple[int, dict[str, Any]]] = {}
        for run in runs:
            if not isinstance(run, dict) or not isinstance(run.get("head_sha"), str):
                continue
            attempt = run.get("run_attempt") if isinstance(run.get("run_attempt"), int) else 1
            seen = best.get(run.get("id"))
            if seen is None or attempt > seen[0]:
                best[run.get("id")] = (attempt, run)
            elif attempt == seen[0] and _facts(run) != _facts(seen[1]):
                self._conflicts.add(run.get("id"))
        return [run for _, run in best.values()]

    def _rejection(self, run: dict[str, Any]) -> str | None:
        """Why this run is not a canonical deploy of the branch; None when it is one."""
        branch = self.history.branch
        if not self.workflow:
            return "no canonical workflow is configured for the target"
        if not (run.get("path") or "").strip():
            return f"its workflow path is unknown, so nothing shows it is {self.workflow}"
        if run.get("id") in self._conflicts:
            return "the collected data holds conflicting copies of the same attempt"
        if run.get("event") not in self.events:
            return (f"it was triggered by {run.get('event') or 'an unknown event'}, not by "
                    f"{' or '.join(self.events)} on {branch}")
        if run.get("head_branch") != branch:
            return f"it ran on {run.get('head_branch') or 'an unknown branch'}, not {branch}"
        if run["head_sha"] not in self.history.position:
            return f"its commit {run['head_sha'][:12]} is not on the first-parent chain of {branch}"
        state = run_state(run)
        if state == "contradictory" and run.get("status") not in (*IN_PROGRESS, "completed"):
            return f"its status {run.get('status')!r} is not one GitHub reports for a run"
        if state == "contradictory":
            return f"its status {run.get('status')!r} contradicts its conclusion {run.get('conclusion')!r}"
        started, done = run_started(run), parse_time(run.get("updated_at"))
        if state == SUCCESS and done is None:
            return "it has no parseable completion time"
        if started and done and started > done:
            return f"it started ({iso(started)}) after it was last updated ({iso(done)})"
        if state == SUCCESS and (step := _undeployed_step(run)) is not None:
            return step
        return None

    def rejection(self, run: dict[str, Any]) -> str | None:
        """Why a run listed in ``by_sha`` does not count (None: it is a canonical run of the branch)."""
        return self._why.get(id(run))

    def covering(self, change: Change, now: datetime | None = None) -> dict[str, Any] | None:
        """The first successful run of this commit or a later one that completed after the push.

        GitHub's concurrency group cancels pending runs, so a later commit's run deploys every
        earlier change; cancelled, failed and skipped runs cover nothing. With ``now`` (the
        collection time), a run claiming to have completed after it covers nothing either.
        """
        for run in self._from(self.success_at, self._positions, change.position):
            done = parse_time(run["updated_at"])
            if done and done >= change.committed_at and (now is None or done <= now + CLOCK_SKEW):
                return run
        return None

    def active(self, change: Change) -> list[dict[str, Any]]:
        """Queued or running canonical runs of this commit or a later one (they may still deploy it)."""
        return list(self._from(self.active_at, self._active, change.position))

    def any_from(self, change: Change) -> bool:
        """Whether any canonical run of the branch (in any state) exists for this commit or a later one."""
        i = bisect.bisect_left(self._eligible_sorted, change.position)
        return i < len(self._eligible_sorted)

    def rejected_successes(self, change: Change, limit: int | None = None) -> list[dict[str, Any]]:
        """The first ``limit`` successful runs of this commit or a later one that do not count (to
        explain a failure without listing every later run of a long history)."""
        return list(itertools.islice(self._from(self.rejected_success_at, self._rejected, change.position), limit))

    @staticmethod
    def _from(index: dict[int, list[dict[str, Any]]], positions: list[int], position: int
              ) -> Iterator[dict[str, Any]]:
        for i in range(bisect.bisect_left(positions, position), len(positions)):  # no suffix copy
            yield from index[positions[i]]

    def successful(self) -> list[dict[str, Any]]:
        """Every successful canonical run of the branch (the same filter coverage uses)."""
        return [r for pos in self._positions for r in self.success_at[pos]]


def _facts(run: dict[str, Any]) -> tuple:
    return tuple(run.get(k) for k in ("head_sha", "head_branch", "path", "event", "status", "conclusion",
                                      "updated_at"))


CLOCK_SKEW = timedelta(minutes=5)  # how far ahead of the collection a recorded time may be before it is a lie


@dataclass
class Context:
    """Everything a check may read. Checks are pure functions of this."""

    snapshot: dict[str, Any]
    _changes_cache: dict[Scope, list[Change]] = field(default_factory=dict)

    @property
    def target(self) -> dict[str, Any]:
        return self.snapshot["target"]

    @cached_property
    def target_values(self) -> dict[str, str]:
        return remediation_values(self.target)

    @cached_property
    def since(self) -> datetime:
        return parse_time(self.snapshot["window"]["since"])

    @cached_property
    def until(self) -> datetime:
        return parse_time(self.snapshot["window"]["until"])

    @cached_property
    def now(self) -> datetime:
        return parse_time(self.snapshot["collected_at"])

    def source_ok(self, name: str) -> bool:
        src = self.snapshot["sources"].get(name)
        return bool(src) and src["status"] == "ok"

    def deferred(self, names: Iterable[str]) -> str | None:
        """Why the first of these sources was left to a later collection (the snapshot says so,
        e.g. a pull request defers what only exists after a deploy); None when none was."""
        for name in names:
            src = self.snapshot["sources"].get(name)
            if src and src["status"] == DEFERRED:
                return src.get("reason") or f"source '{name}' is collected later"
        return None

    def source(self, name: str) -> dict[str, Any]:
        src = self.snapshot["sources"].get(name)
        if not src:
            raise SourceUnavailable(name, "not collected")
        if src["status"] == DEFERRED:
            raise SourceUnavailable(name, f"deferred: {src.get('reason') or 'collected later'}")
        if src["status"] != "ok":
            err = src.get("error") or {}
            raise SourceUnavailable(name, f"{err.get('type', 'error')}: {err.get('message', '')}".strip())
        return src["data"]

    @cached_property
    def history(self) -> History:
        return History(self.source("git"))

    @cached_property
    def runs(self) -> RunIndex:
        return RunIndex(self.source("github"), self.history, self.target.get("workflow"))

    @cached_property
    def evidence(self) -> EvidenceIndex:
        return EvidenceIndex(self.source("tracker"), self.history)

    @cached_property
    def window(self) -> range:
        """The chain positions of the window (``History.window``), found once for every rule."""
        return self.history.window(self.since, self.until, self.now)

    def changes(self, scope: Scope) -> list[Change]:
        """In-window first-parent commits whose diff against the first parent touches the scope."""
        if scope in self._changes_cache:
            return self._changes_cache[scope]
        hist = self.history
        branch = scope.branch or self.target.get("branch")
        out: list[Change] = []
        if branch in (None, hist.branch):
            commits, everything = hist.commits, scope.is_empty
            for i in self.window:
                if everything or scope.select([f["path"] for f in commits[i]["files"]]):
                    out.append(hist.change(i))
        self._changes_cache[scope] = out
        return out


class EvidenceIndex:
    """Worklog evidence by task id, with each SHA candidate resolved to a first-parent position."""

    def __init__(self, tracker: dict[str, Any], history: History):
        from compliance.judge.evidence import evidence_for_item

        self.items: dict[str, dict[str, Any]] = tracker.get("items") or {}
        self.missing = set(tracker.get("missing") or [])
        self.by_task: dict[str, list[Any]] = {}
        self.positions: dict[tuple[str, int], list[int]] = {}
        self._named: dict[int, list[int]] = {}  # id(evidence) -> positions of the commits it names
        by_latest: list[tuple[int, str, int]] = []
        for task_id in sorted(self.items):
            evs = evidence_for_item(task_id, self.items[task_id])
            self.by_task[task_id] = evs
            for n, ev in enumerate(evs):
                resolved = sorted({p for p in (history.resolve(s) for s in ev.shas) if p is not None})
                self.positions[(task_id, n)] = resolved
                self._named[id(ev)] = resolved
                if resolved:
                    by_latest.append((resolved[-1], task_id, n))
        by_latest.sort()
        self._latest = by_latest

    def resolved(self, task_id: str, n: int) -> list[int]:
        return self.positions.get((task_id, n), [])

    def named(self, ev: Any) -> list[int]:
        """Positions of the first-parent commits one piece of evidence names, oldest first."""
        return self._named.get(id(ev), [])

    def for_change(self, task_id: str, change: Change) -> list[tuple[Any, list[int]]]:
        """Evidence of this task naming the change or a later first-parent commit (which contains it)."""
        out = []
        for n, ev in enumerate(self.by_task.get(task_id, [])):
            pos = [p for p in self.resolved(task_id, n) if p >= change.position]
            if pos:
                out.append((ev, pos))
        return out

    @cached_property
    def _deploy_claims(self) -> tuple[list[int], list[Any]]:
        """Evidence that mentions a deploy, by the latest commit it names.

        Whether a claim proves a deploy (its time, the path it names, its outcome) is the
        check's judgement; the index keeps every claim so a finding can say why one was refused.
        """
        keep = [(k, self.by_task[task][n]) for k, task, n in self._latest]
        keep = [(k, ev) for k, ev in keep if ev.mentions_deploy]
        return [k for k, _ in keep], [ev for _, ev in keep]

    def deploy_claims_from(self, position: int) -> Iterator[tuple[int, Any]]:
        """(position of the latest commit named, evidence) for deploy claims naming a commit at or
        after ``position``, in order of that commit."""
        keys, evs = self._deploy_claims
        for i in range(bisect.bisect_left(keys, position), len(evs)):
            yield keys[i], evs[i]


def worklog_evidence_item(ev: Any) -> dict[str, Any]:
    """A worklog as evidence; its text masked before it is cut, so no token's head survives the cut."""
    from compliance.base.redact import clip

    return {
        "kind": "worklog",
        "label": f"{ev.task_id} {ev.origin}: {clip(ev.text, 300)}",
        "task_id": ev.task_id,
        "time": iso(ev.timestamp),
        "outcome": ev.outcome,
        "url": None,
    }


def evaluate(snapshot: dict[str, Any], rules: list[Rule], ctx: Context | None = None) -> list[Finding]:
    """Run every rule's checks; a check that cannot read what it needs yields ``error``.

    ``ctx`` (a ``Context`` of this same snapshot) lets the caller keep the indexes the checks
    build, so the report reuses them instead of parsing every worklog again.
    """
    from compliance.judge.registry import all_kinds

    kinds = all_kinds()
    if ctx is None:
        ctx = Context(snapshot)
    elif ctx.snapshot is not snapshot:
        raise ValueError("the context belongs to another snapshot")
    findings: list[Finding] = []
    for rule in rules:
        for spec in rule.checks:
            kind = kinds[spec.kind]
            produced = _run_check(ctx, rule, kind, spec.params)
            for f in produced:
                if not isinstance(f.subject, str) or not f.subject:  # damaged data must not crash the sort
                    f.subject = "-" if f.subject in (None, "") else str(f.subject)
                f.rule_id, f.check = rule.id, spec.kind
                f.severity, f.title, f.runbook_section = rule.severity, rule.title, rule.runbook_section
                f.remediation = _remediation(rule, f, ctx)
                findings.append(f)
    findings.sort(key=Finding.sort_key)
    return findings


def judge(snapshot: dict[str, Any], rules: list[Rule], waivers: Any = None,
          ctx: Context | None = None) -> tuple[list[Finding], dict[str, Any]]:
    """The one path every mode takes from snapshot to verdicts: evaluate, then apply waivers.

    Waivers are applied here and nowhere else, so an exception honoured by the audit is honoured
    by offline re-evaluation and the demo alike. Returns the findings and the report's waiver section.
    """
    from compliance.judge.waivers import apply_waivers

    findings = evaluate(snapshot, rules, ctx)
    return findings, apply_waivers(findings, waivers, snapshot, rules)


def _run_check(ctx: Context, rule: Rule, kind: Any, params: dict[str, Any]) -> list[Finding]:
    if kind.subject not in CHANGE_SUBJECTS and not rule.effective_at(ctx.now):
        return [Finding(rule.id, kind.subject, "-", NOT_APPLICABLE, "rule not in effect at collection time")]
    reads = kind.reads_for(params)
    deferred = ctx.deferred(reads)
    if deferred is not None:  # not judgeable from this snapshot by design: not a failure to evaluate
        return [Finding(rule.id, kind.subject, kind.subject_for(params, ctx.target), NOT_APPLICABLE, deferred)]
    try:
        for need in reads:
            ctx.source(need)
        out = list(kind.func(ctx, rule, params))
    except SourceUnavailable as exc:
        return _unavailable(ctx, rule, kind, exc, params)
    except Exception as exc:  # noqa: BLE001 - a bug in a check must never read as a pass
        return [Finding(rule.id, kind.subject, "-", ERROR, f"internal error in check: {type(exc).__name__}: {exc}")]
    if kind.subject in CHANGE_SUBJECTS:
        out = [_partial_file_list(ctx, _effective(rule, ctx, f)) for f in out]
    return out


def _partial_file_list(ctx: Context, f: Finding) -> Finding:
    """A pass about a pull request whose file list GitHub cut short proves nothing about the files it
    left out: it becomes could-not-evaluate. A failure among the listed files stays a failure."""
    pr = ctx.snapshot.get("pull_request") or {}
    changed, listed = pr.get("files_changed"), pr.get("files_listed")
    if f.status == PASS and isinstance(changed, int) and isinstance(listed, int) and changed > listed:
        f.status = ERROR
        f.message = (f"judged only {listed} of the {changed} files this pull request changes (GitHub lists at most "
                     f"3,000): {f.message}")
    return f


def _effective(rule: Rule, ctx: Context, f: Finding) -> Finding:
    when = f.evidence and f.evidence[0].get("kind") == "commit" and parse_time(f.evidence[0].get("time"))
    if when and not rule.effective_at(when) and f.status != ERROR:
        f.status = NOT_APPLICABLE
        f.message = f"rule not in effect for a change committed {iso(when)}"
    return f


def _unavailable(ctx: Context, rule: Rule, kind: Any, exc: SourceUnavailable, params: dict[str, Any]
                 ) -> list[Finding]:
    """Per in-scope change when the changes are known, else one finding for the rule."""
    msg = f"could not evaluate: {exc}"
    if kind.subject in CHANGE_SUBJECTS and exc.source != "git":
        try:
            changes = ctx.changes(rule.scope)
        except SourceUnavailable:
            changes = None
        if changes is not None:
            return [
                Finding(rule.id, "change", c.short, ERROR, msg, [c.evidence_item()])
                for c in changes
                if rule.effective_at(c.committed_at)
            ] or [Finding(rule.id, "change", "-", NOT_APPLICABLE, "no in-scope change in the window")]
    subject = kind.subject_for(params, ctx.target)
    return [Finding(rule.id, kind.subject, subject, ERROR, msg, [{"kind": "source", "label": str(exc), "url": None}])]


def remediation_values(target: dict[str, Any]) -> dict[str, str]:
    """Placeholders a rule's remediation may use that come from the target, not the finding."""
    workflow = target.get("workflow", "") or ""
    return {
        "function": target.get("function", ""),
        "region": target.get("region", ""),
        "branch": target.get("branch", ""),
        "workflow": workflow,
        "workflow_file": workflow.rsplit("/", 1)[-1],
        "repo": target.get("github_repo", ""),
    }


PLACEHOLDER = re.compile(r"\{(\w+)\}")
COMMAND_FIELD = "command"  # the remediation field people copy into a shell


def shell_word(value: Any) -> str:
    """``value`` as exactly one shell word (``shlex.quote``): the one quoting used for commands.

    Values come from the governed system's data (a deploy-manager request id, a route key, a
    commit's SHA in a snapshot) and from the config; filled raw into a command a reviewer pastes,
    a value such as ``x$(id>pwned)`` would run. Quoted, ``$(...)``, backticks, quotes, ``;``,
    newlines and backslashes stay data. A leading ``-`` is still one word, so templates put such
    values after ``--`` or ``--end-of-options`` where the program would read them as options.
    """
    import shlex

    return shlex.quote(str(value))


def fill(template: dict[str, str], values: dict[str, Any]) -> dict[str, str]:
    """``{name}`` placeholders replaced by ``values`` in one pass (unknown ones are left as written).

    In the ``command`` field each value becomes one shell word (``shell_word``); the rule loader
    refuses a command with a placeholder inside quotes, where quoting cannot nest. Prose fields
    keep values as they read.
    """
    def filler(quote: bool):
        def one(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in values:
                return m.group(0)
            return shell_word(values[name]) if quote else str(values[name])

        return one

    return {k: PLACEHOLDER.sub(filler(k == COMMAND_FIELD), v) if isinstance(v, str) and "{" in v else v
            for k, v in template.items()}


def _remediation(rule: Rule, f: Finding, ctx: Context) -> dict[str, str]:
    """The rule's remediation, with ``{sha}``, ``{subject}``, ``{function}``... filled in for this finding."""
    template = rule.remediation.to_dict()
    if not any(isinstance(v, str) and "{" in v for v in template.values()):
        return template
    values = {
        "subject": f.subject,
        "sha": next((e.get("sha", "") for e in f.evidence if e.get("kind") == "commit"), ""),
        **ctx.target_values,
    }
    return fill(template, values)


def within(t: datetime | None, start: datetime | None, end: datetime | None, slack: timedelta) -> bool:
    return bool(t and start and end and start - slack <= t <= end + slack)
