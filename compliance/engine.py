"""The engine: builds change records from a snapshot and runs the pure checks over them.

Joins are indexed, never nested scans: commits by first-parent position and by sorted SHA
(prefix resolution with bisect), successful runs swept once from newest to oldest, worklog
evidence by task id and by the position of the commit it names.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from compliance.errors import SourceUnavailable
from compliance.findings import ERROR, NOT_APPLICABLE, Finding
from compliance.rules.model import Rule, Scope
from compliance.timeutil import iso, parse_time

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


class RunIndex:
    """Successful runs of the canonical workflow on the branch, by first-parent position."""

    def __init__(self, github: dict[str, Any], history: History, workflow: str | None):
        self.history = history
        self.by_sha: dict[str, list[dict[str, Any]]] = {}
        self.success_at: dict[int, list[dict[str, Any]]] = {}
        for run in github.get("runs", []):
            path = (run.get("path") or "").split("@", 1)[0]
            if workflow and path and path != workflow:
                continue
            self.by_sha.setdefault(run["head_sha"], []).append(run)
            pos = history.position.get(run["head_sha"])
            if pos is None or (run.get("head_branch") not in (None, history.branch)):
                continue  # a run of a commit not on the branch covers nothing
            if run.get("status") == "completed" and run.get("conclusion") == SUCCESS:
                self.success_at.setdefault(pos, []).append(run)
        for runs in self.success_at.values():
            runs.sort(key=lambda r: (parse_time(r["updated_at"]) or datetime.max, r["id"]))
        self._positions = sorted(self.success_at)

    def covering(self, change: Change) -> dict[str, Any] | None:
        """The first successful run of this commit or a later one that completed after the push.

        GitHub's concurrency group cancels pending runs, so a later commit's run deploys every
        earlier change; cancelled, failed and skipped runs cover nothing.
        """
        positions = self._positions
        for i in range(bisect.bisect_left(positions, change.position), len(positions)):  # no suffix copy
            for run in self.success_at[positions[i]]:
                done = parse_time(run["updated_at"])
                if done and done >= change.committed_at:
                    return run
        return None

    def successful(self) -> list[dict[str, Any]]:
        return [r for pos in self._positions for r in self.success_at[pos]]


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

    def source(self, name: str) -> dict[str, Any]:
        src = self.snapshot["sources"].get(name)
        if not src:
            raise SourceUnavailable(name, "not collected")
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

    def changes(self, scope: Scope) -> list[Change]:
        """In-window first-parent commits whose diff against the first parent touches the scope."""
        if scope in self._changes_cache:
            return self._changes_cache[scope]
        hist = self.history
        branch = scope.branch or self.target.get("branch")
        out: list[Change] = []
        if branch in (None, hist.branch):
            since, until, commits, everything = self.since, self.until, hist.commits, scope.is_empty
            for i, t in enumerate(hist.times):
                if t < since or t > until:
                    continue
                if everything or scope.select([f["path"] for f in commits[i]["files"]]):
                    out.append(hist.change(i))
        self._changes_cache[scope] = out
        return out


class EvidenceIndex:
    """Worklog evidence by task id, with each SHA candidate resolved to a first-parent position."""

    def __init__(self, tracker: dict[str, Any], history: History):
        from compliance.evidence import evidence_for_item

        self.items: dict[str, dict[str, Any]] = tracker.get("items") or {}
        self.missing = set(tracker.get("missing") or [])
        self.by_task: dict[str, list[Any]] = {}
        self.positions: dict[tuple[str, int], list[int]] = {}
        by_latest: list[tuple[int, str, int]] = []
        for task_id in sorted(self.items):
            evs = evidence_for_item(task_id, self.items[task_id])
            self.by_task[task_id] = evs
            for n, ev in enumerate(evs):
                resolved = sorted({p for p in (history.resolve(s) for s in ev.shas) if p is not None})
                self.positions[(task_id, n)] = resolved
                if resolved:
                    by_latest.append((resolved[-1], task_id, n))
        by_latest.sort()
        self._latest = by_latest

    def resolved(self, task_id: str, n: int) -> list[int]:
        return self.positions.get((task_id, n), [])

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
        """Evidence that says the deploy was run (and not that it failed), by the latest commit it names."""
        keep = [(k, self.by_task[task][n]) for k, task, n in self._latest]
        keep = [(k, ev) for k, ev in keep if ev.mentions_deploy and ev.outcome != "fail"]
        return [k for k, _ in keep], [ev for _, ev in keep]

    def deploy_claims_from(self, position: int) -> Iterator[Any]:
        """Evidence of a deploy naming a commit at or after ``position``, in order of the latest commit it names."""
        keys, evs = self._deploy_claims
        for i in range(bisect.bisect_left(keys, position), len(evs)):
            yield evs[i]


def worklog_evidence_item(ev: Any) -> dict[str, Any]:
    """A worklog as evidence; its text masked before it is cut, so no token's head survives the cut."""
    from compliance.redact import clip

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
    from compliance.checks.registry import all_kinds

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
    from compliance.waivers import apply_waivers

    findings = evaluate(snapshot, rules, ctx)
    return findings, apply_waivers(findings, waivers, snapshot, rules)


def deferred_sources(snapshot: dict[str, Any]) -> tuple[str, ...]:
    """Sources a pull-request snapshot leaves to the post-merge audit (nothing is deployed yet)."""
    from compliance.pr import DEFERRED_SOURCES

    return DEFERRED_SOURCES if snapshot.get("pull_request") else ()


def _run_check(ctx: Context, rule: Rule, kind: Any, params: dict[str, Any]) -> list[Finding]:
    if kind.subject not in CHANGE_SUBJECTS and not rule.effective_at(ctx.now):
        return [Finding(rule.id, kind.subject, "-", NOT_APPLICABLE, "rule not in effect at collection time")]
    deferred = deferred_sources(ctx.snapshot)
    reads = set(kind.needs) | ({params.get("source")} if kind.name == "field" else set())
    if deferred and reads & set(deferred):
        from compliance.pr import DEFERRED_REASON

        return [Finding(rule.id, kind.subject, _default_subject(ctx, kind, params), NOT_APPLICABLE,
                        f"not judged on a pull request: {DEFERRED_REASON}")]
    try:
        for need in kind.needs:
            ctx.source(need)
        out = list(kind.func(ctx, rule, params))
    except SourceUnavailable as exc:
        return _unavailable(ctx, rule, kind, exc, params)
    except Exception as exc:  # noqa: BLE001 - a bug in a check must never read as a pass
        return [Finding(rule.id, kind.subject, "-", ERROR, f"internal error in check: {type(exc).__name__}: {exc}")]
    if kind.subject in CHANGE_SUBJECTS:
        out = [_effective(rule, ctx, f) for f in out]
    return out


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
    subject = _default_subject(ctx, kind, params)
    return [Finding(rule.id, kind.subject, subject, ERROR, msg, [{"kind": "source", "label": str(exc), "url": None}])]


def _default_subject(ctx: Context, kind: Any, params: dict[str, Any]) -> str:
    """Name the resource a could-not-evaluate finding is about, so reviewers see what was not judged."""
    t = ctx.target
    if kind.subject == "file" and kind.repo_files:
        return ", ".join(f for f in kind.repo_files(params, t) if f) or "-"
    subject_type = kind.subject
    return {
        "function": t.get("function"),
        "endpoint": t.get("capability_url"),
        "route": t.get("http_api"),
        "request": (t.get("deploy_manager") or {}).get("table"),
        "file": t.get("workflow"),
    }.get(subject_type) or "-"


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
