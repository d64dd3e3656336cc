"""The engine: runs every rule's checks over a snapshot and turns what a check could not read into
findings of their own (`error` for a failed source, `not_applicable` for a deferred one).

The engine knows no mode: what a mode leaves out is data in the snapshot (a deferred source with its
reason), so a saved snapshot is re-judged offline exactly as it was judged live. Joins and indexes
live in ``history`` (first-parent chain), ``runs`` (coverage) and ``context`` (what checks read);
their names are re-exported here for the check modules and the report.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from compliance.base.errors import SourceUnavailable
from compliance.base.timeutil import iso
from compliance.judge.context import Context, EvidenceIndex, remediation_values, worklog_evidence_item
from compliance.judge.history import CLOCK_SKEW, Change, History, time_of
from compliance.judge.registry import all_kinds
from compliance.judge.runs import (
    DEPLOY_EVENTS,
    IN_PROGRESS,
    SUCCESS,
    RunIndex,
    deploy_window,
    run_evidence,
    run_label,
    run_started,
    run_state,
)
from compliance.judge.waivers import apply_waivers
from compliance.model.findings import ERROR, NOT_APPLICABLE, PASS, Finding
from compliance.model.rules import Rule

__all__ = [
    "CHANGE_SUBJECTS", "CLOCK_SKEW", "COMMAND_FIELD", "DEPLOY_EVENTS", "IN_PROGRESS", "PLACEHOLDER", "SUCCESS",
    "Change", "Context", "EvidenceIndex", "History", "RunIndex", "deploy_window", "evaluate", "fill", "judge",
    "remediation_values", "run_evidence", "run_label", "run_started", "run_state", "shell_word", "within",
    "worklog_evidence_item",
]

CHANGE_SUBJECTS = ("change", "task")  # findings about (a task of) one change


def evaluate(snapshot: dict[str, Any], rules: list[Rule], ctx: Context | None = None) -> list[Finding]:
    """Run every rule's checks; a check that cannot read what it needs yields ``error``.

    ``ctx`` (a ``Context`` of this same snapshot) lets the caller keep the indexes the checks
    build, so the report reuses them instead of parsing every worklog again.
    """
    kinds = all_kinds()
    if ctx is None:
        ctx = Context(snapshot)
    elif ctx.snapshot is not snapshot:
        raise ValueError("the context belongs to another snapshot")
    if not ctx.rules:  # a caller judging part of a rule set (rules test) may give the whole set
        ctx.rules = list(rules)
    findings: list[Finding] = []
    for rule in rules:
        template = _Template(rule.remediation.to_dict(), ctx)
        for spec in rule.checks:
            kind = kinds[spec.kind]
            produced = _run_check(ctx, rule, kind, spec.params)
            for f in produced:
                subject = f.subject
                if not isinstance(subject, str) or not subject:  # damaged data must not crash the sort
                    subject = "-" if subject in (None, "") else str(subject)
                # one copy per finding, not one per key: 142,000 findings at 100,000 commits
                remediation = template.fill(subject, f.evidence)
                # the final Finding built once, field for field (``dataclasses.replace`` re-reads every field
                # by name: 2 s of 29 at 100,000 commits)
                findings.append(Finding(rule.id, f.subject_type, subject, f.status, f.message, f.evidence, f.location,
                                        spec.kind, rule.severity, rule.title, remediation, rule.runbook_section))
    findings.sort(key=Finding.sort_key)
    return findings


def judge(snapshot: dict[str, Any], rules: list[Rule], waivers: Any = None,
          ctx: Context | None = None) -> tuple[list[Finding], dict[str, Any]]:
    """The one path every mode takes from snapshot to verdicts: evaluate, then apply waivers.

    Waivers are applied here and nowhere else, so an exception honoured by the audit is honoured
    by offline re-evaluation and the demo alike. Returns the findings and the report's waiver section.
    """
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
        return replace(f, status=ERROR, message=f"judged only {listed} of the {changed} files this pull request "
                                                f"changes (GitHub lists at most 3,000): {f.message}")
    return f


def _effective(rule: Rule, ctx: Context, f: Finding) -> Finding:
    when = f.evidence and f.evidence[0].get("kind") == "commit" and time_of(f.evidence[0].get("time"))
    if when and not rule.effective_at(when) and f.status != ERROR:
        return replace(f, status=NOT_APPLICABLE, message=f"rule not in effect for a change committed {iso(when)}")
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


class _Template:
    """A rule's remediation split at its placeholders once per evaluation, with the target's values (the same
    for every finding) filled in then; per finding only ``{subject}`` and ``{sha}`` are left to fill. The result
    is what ``fill`` gives, piece for piece: one pass, a filled-in value never read again for placeholders.
    (A regular expression and two closures per field and finding were 1.6 s of 23 at 100,000 commits.)"""

    VARIABLE = ("subject", "sha")

    def __init__(self, template: dict[str, str], ctx: Context):
        # per field: (key, text, None) when nothing varies, else (key, pieces, slots to fill, quoted)
        self.fields: list[tuple[str, Any, tuple[tuple[int, str], ...] | None, bool]] = []
        for k, v in template.items():
            if not (isinstance(v, str) and "{" in v):
                self.fields.append((k, v, None, False))
                continue
            constants = ctx.target_values  # read only when a field has a placeholder, as ``fill`` was called
            quote = k == COMMAND_FIELD
            parts = PLACEHOLDER.split(v)  # [text, name, text, name, ..., text]
            slots = []
            for i in range(1, len(parts), 2):
                name = parts[i]
                if name in constants:
                    parts[i] = _word(constants[name], quote)
                elif name in self.VARIABLE:
                    slots.append((i, name))
                else:
                    parts[i] = "{" + name + "}"  # unknown: left as written
            self.fields.append((k, parts, tuple(slots), quote) if slots else (k, "".join(parts), None, False))
        self.needs_sha = any(name == "sha" for _, _, slots, _ in self.fields for _, name in slots or ())

    def fill(self, subject: str, evidence: list[dict[str, Any]]) -> dict[str, str]:
        sha = next((e.get("sha", "") for e in evidence if e.get("kind") == "commit"), "") if self.needs_sha else ""
        out = {}
        for k, v, slots, quote in self.fields:
            if slots is None:
                out[k] = v
                continue
            pieces = v[:]
            for i, name in slots:
                pieces[i] = _word(subject if name == "subject" else sha, quote)
            out[k] = "".join(pieces)
        return out


def _word(value: Any, quote: bool) -> str:
    return shell_word(value) if quote else str(value)


def within(t: datetime | None, start: datetime | None, end: datetime | None, slack: timedelta) -> bool:
    """``start - slack <= t <= end + slack``, written as differences: a recorded time in year 1 or 9999 is
    a lie to judge, and ``start - slack`` there would overflow instead."""
    return bool(t and start and end and start - t <= slack and t - end <= slack)
