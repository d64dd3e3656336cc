"""``compliance rules test``: every rule ships with cases, and CI runs them like unit tests.

A rule is code that gates deploys, so it deserves tests a reviewer can read: a case is a small
snapshot fragment (a few commits, a Lambda configuration, a failed source) plus the verdict
expected for each subject. The runner wraps the fragment in a complete, schema-valid snapshot
and judges it with the same engine every other mode uses, one rule at a time, so a case shows
exactly what the rule does and nothing else interferes.

Case files live beside the rules (``policies/tests/*.yaml``)::

    version: 1
    rule: APIMCP-003                  # default rule for the cases below
    target: {function: my-fn}         # merged under each case's own target
    cases:
      - name: failed-update
        sources:
          lambda: {function: my-fn, configuration: {State: Active, LastUpdateStatus: Failed}}
        expect: {my-fn: fail}
      - name: lambda-unreadable
        sources: {lambda: {error: AccessDenied}}     # a failed source
        expect: {my-fn: error}

``expect`` is strict about failures: a subject that comes out ``fail`` or ``error`` without being
listed fails the case; subjects that pass, pend or do not apply may be left out.

Git-based rules take ``git: {commits: [...], files_at_head: {...}}``; with ``target.runbook`` set, the
runbook source is read from those files as a collection reads it (or given as ``sources.runbook``); a commit needs only
``subject``, ``committed_at`` and ``files``. Commit N (1-based) gets the SHA made of the hex
digit N repeated (``1111…``), so its subject in ``expect`` is ``111111111111``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any

from compliance.base.errors import EXIT_FAIL, EXIT_OK, ComplianceError, InputError, Located
from compliance.base.ids import find_task_ids
from compliance.base.redact import clip
from compliance.base.timeutil import iso, parse_time
from compliance.inputs import builtin
from compliance.inputs.rules import load_rules
from compliance.inputs.schema_messages import did_you_mean, validate
from compliance.inputs.yamlpos import Positions, load_yaml
from compliance.judge.engine import Context, evaluate
from compliance.model.findings import STATUSES, Finding, is_worse
from compliance.model.snapshot import build_snapshot, def_schema, load_schema, schema_problems
from compliance.sources.registry import NAMES
from compliance.sources.runbook import runbook_data

SOURCES = tuple(n for n in NAMES if n != "git")  # a case gives git as commits, the rest as data
# A case passes only if every failing or unevaluable subject is one it expects: a rule that starts
# failing a subject nobody listed (a broadened scope, a new check) must fail its tests, not pass them
# quietly (Cloud Custodian's policy tests let such matches through; their users asked for this).
UNEXPECTED = ("fail", "error")
DEFAULT_WINDOW = {"since": "2026-01-01T00:00:00Z", "until": "2026-12-31T23:59:59Z"}
_TIME = {"type": "string", "minLength": 10}
_ERROR_ONLY = {"type": "object", "required": ["error"], "additionalProperties": False,
               "properties": {"error": {"type": "string", "minLength": 1}}}

_COMMIT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["subject", "committed_at", "files"],
    "properties": {
        "sha": {"type": "string", "pattern": r"^[0-9a-f]{40}$(?!\n)"},
        "kind": {"enum": ["pr_merge", "squash", "direct_push", "other_merge", "root"]},
        "pr": {"type": ["integer", "null"]},
        "subject": {"type": "string"},
        "body": {"type": "string"},
        "source_branch": {"type": ["string", "null"]},
        "author": {"type": "string"},
        "committed_at": _TIME,
        "authored_at": _TIME,
        "files": {"type": "array", "items": {"oneOf": [
            {"type": "string", "minLength": 1},
            {"type": "object", "required": ["path"], "additionalProperties": False,
             "properties": {"path": {"type": "string"}, "status": {"type": "string"}}},
        ]}},
        "task_ids": {"type": "array", "items": {"type": "string"}},
    },
}

CASE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "rule test cases",
    "type": "object",
    "additionalProperties": False,
    "required": ["version", "cases"],
    "properties": {
        "version": {"enum": [1]},
        "rule": {"type": "string", "minLength": 1},
        "target": {"type": "object"},
        "cases": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "expect"],
                "properties": {
                    "name": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]*$(?!\n)"},
                    "rule": {"type": "string", "minLength": 1},
                    "description": {"type": "string"},
                    "target": {"type": "object"},
                    "window": {"type": "object", "additionalProperties": False,
                               "properties": {"since": _TIME, "until": _TIME}},
                    "collected_at": _TIME,
                    "git": {"oneOf": [
                        _ERROR_ONLY,
                        {"type": "object", "additionalProperties": False, "required": ["commits"],
                         "properties": {"branch": {"type": "string"}, "shallow": {"type": "boolean"},
                                        "commits": {"type": "array", "items": _COMMIT},
                                        "files_at_head": {"type": "object",
                                                          "additionalProperties": {"type": ["string", "null"]}}}},
                    ]},
                    "sources": {"type": "object", "additionalProperties": False,
                                "properties": {name: {"type": "object"} for name in SOURCES}},
                    "expect": {"type": "object", "minProperties": 1,
                               "additionalProperties": {"enum": list(STATUSES)}},
                },
            },
        },
    },
}


@dataclass
class Case:
    path: str
    line: int
    rule_id: str
    name: str
    snapshot: dict[str, Any]
    expect: dict[str, str]

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass
class Outcome:
    case: Case
    mismatches: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.mismatches


def default_cases_dir(policies: list[str]) -> str:
    """``tests/`` inside the first rules folder (or beside the first rule file); a built-in set's own cases."""
    first = builtin.resolve(policies[0] if policies else builtin.DEFAULT_POLICIES[0])
    base = first if os.path.isdir(first) else os.path.dirname(first) or "."
    return os.path.join(base, "tests")


def _sub(pos: Positions, prefix: tuple[Any, ...]) -> Positions:
    """Positions of a subtree, so a source's data is validated with lines in the case file."""
    n = len(prefix)
    return Positions({k[n:]: v for k, v in pos.values.items() if k[:n] == prefix},
                     {k[n:]: v for k, v in pos.keys.items() if k[:n] == prefix})


def _time(value: Any) -> str | None:
    return iso(parse_time(value)) if isinstance(value, str) else None


def _envelope(name: str, case: str, data: dict[str, Any] | None, error: str | None, at: str) -> dict[str, Any]:
    err = None
    if error is not None:
        kind, _, msg = error.partition(":")
        err = {"type": kind.strip() or "Error", "message": msg.strip() or f"{kind.strip()} (rules test case)"}
    return {"status": "error" if err else "ok", "data": None if err else data, "error": err,
            "provenance": {"kind": "rules-test", "requested": f"{name} for case {case}", "started_at": at,
                           "duration_ms": 0, "requests": 0}}


class _Builder:
    """Turns one validated case file into cases with complete snapshots, collecting problems."""

    def __init__(self, path: str, data: dict[str, Any], pos: Positions, rule_ids: set[str]):
        self.path, self.data, self.pos, self.rule_ids = path, data, pos, rule_ids
        self.problems: list[Located] = []

    def at(self, jpath: tuple[Any, ...], message: str) -> None:
        line, col = self.pos.value(jpath)
        self.problems.append(Located(self.path, line, col, message))

    def cases(self) -> list[Case]:
        out: list[Case] = []
        seen: dict[tuple[str, str], int] = {}
        for i, raw in enumerate(self.data["cases"]):
            here = ("cases", i)
            rule_id = raw.get("rule") or self.data.get("rule")
            if not rule_id:
                self.at(here, "no rule: set 'rule' on the case or at the top of the file")
                continue
            if rule_id not in self.rule_ids:
                guess = did_you_mean(rule_id, sorted(self.rule_ids))
                where = (*here, "rule") if raw.get("rule") else ("rule",)
                self.at(where, f"unknown rule {rule_id!r}" + (f"; did you mean {guess!r}?" if guess else ""))
                continue
            key = (rule_id, raw["name"])
            if key in seen:
                self.at((*here, "name"), f"duplicate case name {raw['name']!r} for {rule_id} "
                        f"(first on line {seen[key]})")
                continue
            seen[key] = self.pos.value((*here, "name"))[0]
            target = {"name": "rules test", "branch": "main", **(self.data.get("target") or {}),
                      **(raw.get("target") or {})}
            window = {**DEFAULT_WINDOW, **{k: v for k, v in (raw.get("window") or {}).items()}}
            for k in ("since", "until"):
                window[k] = _time(window[k]) or ""
                if not window[k]:
                    self.at((*here, "window", k), f"window.{k} is not a timestamp")
            collected = _time(raw.get("collected_at", window["until"]))
            if not collected:
                self.at((*here, "collected_at"), "collected_at is not a timestamp")
                continue
            sources: dict[str, Any] = {}
            before = len(self.problems)
            if "git" in raw:
                sources["git"] = self.git(raw["git"], (*here, "git"), target, raw["name"], collected)
            for name, value in (raw.get("sources") or {}).items():
                spath = (*here, "sources", name)
                if set(value) == {"error"} and isinstance(value["error"], str):
                    sources[name] = _envelope(name, raw["name"], None, value["error"], collected)
                    continue
                self.problems += validate(value, _sub(self.pos, spath), def_schema(name), self.path)
                sources[name] = _envelope(name, raw["name"], value, None, collected)
            if target.get("runbook") and "runbook" not in sources and sources.get("git", {}).get("status") == "ok":
                sources["runbook"] = self.runbook(sources["git"]["data"], target, raw["name"], collected)
            snapshot = build_snapshot(tool_version="rules-test", collected_at=collected,
                                      window={**window, "branch": target["branch"]}, target=target, rules={},
                                      sources=sources)
            if len(self.problems) == before:  # a last net for what the per-source checks cannot place
                for p in schema_problems(snapshot, load_schema("snapshot"), self.path):
                    self.at(here, f"the case does not make a valid snapshot: {p.message}")
            if len(self.problems) == before:
                out.append(Case(self.path, self.pos.value(here)[0], rule_id, raw["name"], snapshot,
                                dict(raw["expect"])))
        return out

    @staticmethod
    def runbook(git: dict[str, Any], target: dict[str, Any], case: str, at: str) -> dict[str, Any]:
        """The runbook source as a collection would derive it from the case's git files (the runbook's
        Markdown in ``files_at_head``), so a case shows the runbook a reviewer reads, not parsed data."""
        try:
            return _envelope("runbook", case, runbook_data(git, target["runbook"], url=target.get("runbook_url")),
                             None, at)
        except LookupError as exc:
            return _envelope("runbook", case, None, f"LookupError: {exc}", at)

    def git(self, raw: dict[str, Any], jpath: tuple[Any, ...], target: dict[str, Any], case: str,
            at: str) -> dict[str, Any]:
        if "error" in raw:
            return _envelope("git", case, None, raw["error"], at)
        commits: list[dict[str, Any]] = []
        for n, c in enumerate(raw["commits"]):
            cpath = (*jpath, "commits", n)
            sha = c.get("sha")
            if sha is None:
                if n >= 15:
                    self.at(cpath, "commits after the 15th need an explicit 40-hex 'sha'")
                    continue
                sha = format(n + 1, "x") * 40
            when = _time(c["committed_at"])
            if not when:
                self.at((*cpath, "committed_at"), f"committed_at {c['committed_at']!r} is not a timestamp")
                continue
            kind = c.get("kind") or ("squash" if c.get("pr") else "direct_push")
            parents = [commits[-1]["sha"]] if commits else []
            if kind in ("pr_merge", "other_merge"):
                parents.append("e" * 39 + format(n % 16, "x"))
            body, branch = c.get("body", ""), c.get("source_branch")
            ids = c.get("task_ids")
            if ids is None:
                ids = find_task_ids(c["subject"], body, branch or "", pattern=target.get("task_id_pattern"))
            commits.append({
                "sha": sha, "parents": parents, "kind": kind, "pr": c.get("pr"), "subject": c["subject"],
                "body": body, "source_branch": branch, "author": c.get("author", "dev"),
                "authored_at": _time(c.get("authored_at")) or when, "committed_at": when,
                "files": [{"path": f, "status": "M"} if isinstance(f, str) else {"status": "M", **f}
                          for f in c["files"]],
                "task_ids": list(ids),
            })
        data = {"branch": raw.get("branch", target["branch"]), "head": commits[-1]["sha"] if commits else "0" * 40,
                "shallow": raw.get("shallow", False), "commits": commits,
                "files_at_head": dict(raw.get("files_at_head") or {})}
        return _envelope("git", case, data, None, at)


def load_cases(cases_dir: str, rule_ids: set[str]) -> list[Case]:
    """Every case in ``cases_dir``; raise ``InputError`` with every problem in every file."""
    if not os.path.isdir(cases_dir):
        raise ComplianceError(f"no case folder {cases_dir} (give one with --cases)")
    files = sorted(os.path.join(cases_dir, n) for n in os.listdir(cases_dir) if n.endswith((".yaml", ".yml")))
    problems: list[Located] = []
    cases: list[Case] = []
    for path in files:
        try:
            data, pos = load_yaml(path)
        except InputError as exc:
            problems += exc.problems
            continue
        found = validate(data, pos, CASE_SCHEMA, path)
        if found:
            problems += found
            continue
        builder = _Builder(path, data, pos, rule_ids)
        cases += builder.cases()
        problems += builder.problems
    if problems:
        raise InputError(problems, what="rule test cases")
    return cases


def run_case(case: Case, rule: Any, ruleset: list[Any] | None = None) -> Outcome:
    """Judge the case with ``rule`` alone; checks that compare rules (runbook_sync) see ``ruleset``."""
    findings: list[Finding] = evaluate(case.snapshot, [rule], Context(case.snapshot, rules=list(ruleset or [rule])))
    worst: dict[str, Finding] = {}
    for f in findings:
        if f.subject not in worst or is_worse(f.status, worst[f.subject].status):
            worst[f.subject] = f
    out = Outcome(case)
    for subject, want in case.expect.items():
        got = worst.get(subject)
        if got is None:
            seen = ", ".join(sorted(worst)) or "none"
            out.mismatches.append(f"expected {want} got nothing for {subject} (subjects judged: {seen})")
        elif got.status != want:
            out.mismatches.append(f"expected {want} got {got.status} for {subject}: {clip(got.message, 200)}")
    for subject, got in sorted(worst.items()):
        if subject not in case.expect and got.status in UNEXPECTED:
            out.mismatches.append(f"unexpected {got.status} for {subject} (not in expect; list every subject "
                                  f"that fails or errors): {clip(got.message, 200)}")
    return out


def run_rule_tests(policies: list[str], cases_dir: str | None = None, only: list[str] | None = None,
                   out: Any = None) -> int:
    """Run every case; print like a test runner; 0 all passed, 1 any failed or untested rule (no cases, or none
    expecting pass or none expecting fail), 2 invalid."""
    out = out or sys.stdout
    ruleset = load_rules(policies)
    rules = {r.id: r for r in ruleset.rules}
    cases = load_cases(cases_dir or default_cases_dir(policies), set(rules))
    if only:
        unknown = [r for r in only if r not in rules]
        if unknown:
            raise ComplianceError(f"no rule {unknown[0]!r} in {', '.join(policies)}")
        cases = [c for c in cases if c.rule_id in only]
    passed = failed = 0
    for case in sorted(cases, key=lambda c: (c.rule_id, c.path, c.line)):
        result = run_case(case, rules[case.rule_id], ruleset.rules)
        if result.passed:
            passed += 1
            print(f"PASS {case.rule_id} {case.name}", file=out)
        else:
            failed += 1
            for m in result.mismatches:
                print(f"FAIL {case.rule_id} {case.name}: {m}  [{case.where}]", file=out)
    tested = {c.rule_id for c in cases}
    untested = [r for r in sorted(rules) if r not in tested and (not only or r in only)]
    for rule_id in untested:
        r = rules[rule_id]
        print(f"FAIL {rule_id} (no cases): every rule needs test cases  [{r.source}:{r.line}]", file=out)
    # A rule no case sees fail is a rule that may never fail (a no-op reads as compliant), and one no case
    # sees pass may never pass: either is untested where it matters, as a rule with no cases is.
    one_sided = []
    for rule_id in sorted(tested):
        wants = {s for c in cases if c.rule_id == rule_id for s in c.expect.values()}
        missing = [s for s in ("pass", "fail") if s not in wants]
        if missing:
            one_sided.append(rule_id)
            r = rules[rule_id]
            print(f"FAIL {rule_id} (no case expecting {' or '.join(missing)}): every rule needs a case it passes "
                  f"and a case it fails  [{r.source}:{r.line}]", file=out)
    failed += len(untested) + len(one_sided)
    print(f"{passed} passed, {failed} failed", file=out)
    return EXIT_FAIL if failed else EXIT_OK


__all__ = ["CASE_SCHEMA", "Case", "default_cases_dir", "load_cases", "run_case", "run_rule_tests"]
