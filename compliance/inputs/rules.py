"""Reading rule files into ``Rule`` objects, refusing the whole set if any part is wrong.

A rule set that is half valid would evaluate half the policy and report green for the
rest, so every file is validated, every problem in every file is collected, and only a
fully valid set is returned. The digests let a report prove which rule bytes produced it.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from compliance.base.errors import ComplianceError, InputError, Located
from compliance.base.globs import GlobError, compile_glob
from compliance.base.timeutil import parse_day_bound
from compliance.inputs import builtin
from compliance.inputs.ruleschema import rule_file_schema
from compliance.inputs.schema_messages import validate
from compliance.inputs.yamlpos import Positions, load_yaml
from compliance.judge.engine import COMMAND_FIELD, PLACEHOLDER
from compliance.judge.registry import kind_params
from compliance.model.rules import CheckSpec, Remediation, Rule, Scope

_QUOTE_NAMES = {"'": "single", '"': "double"}


def command_quoting_problems(command: str) -> list[tuple[int, str]]:
    """(offset, why) for each placeholder ``command`` puts inside shell quotes, and for an unclosed quote.

    Filled values are shell-quoted words (``engine.shell_word``); inside '...' or "..." that quoting
    would be read as literal quote characters, and a value holding the surrounding quote would end
    the string and run the rest. The shell's own rules: a backslash escapes outside quotes and
    inside double quotes, nothing inside single quotes.
    """
    placeholders = {m.start(): m.group(0) for m in PLACEHOLDER.finditer(command)}
    problems: list[tuple[int, str]] = []
    quote, opened, i = "", 0, 0
    backtick = -1  # where an open `...` began: the shell re-reads its text, so a ` in a value would end it
    heredoc_body = -1  # where the body of an unquoted <<WORD begins (the next line): the shell expands $(...) there
    while i < len(command):
        c = command[i]
        if i in placeholders and 0 <= heredoc_body <= i:
            problems.append((i, f"placeholder {placeholders[i]} is inside a here-document in the command: the shell "
                                f"expands $(...) and `...` there whatever the quotes; pass the value as an argument"))
        if not quote and c == "#" and (i == 0 or command[i - 1] in " \t\n;&|()<>"):
            # a comment: a value's newline would end it and the shell would run the value's next line
            end = command.find("\n", i)
            end = len(command) if end < 0 else end
            problems += [(j, f"placeholder {name} is inside a comment in the command: a newline in its value "
                             f"would end the comment and run the rest; put the value outside the comment")
                         for j, name in placeholders.items() if i < j < end]
            i = end
            continue
        if not quote and (command.startswith("((", i) or command.startswith("[[", i)):
            # arithmetic (( )), $(( )) and [[ -eq ]] evaluate a quoted word as an expression: a[$(id)] runs id
            close = command.find("))" if c == "(" else "]]", i + 2)
            close = len(command) if close < 0 else close
            problems += [(j, f"placeholder {name} is inside {command[i:i + 2]}...{'))' if c == '(' else ']]'} in "
                             f"the command, where the shell evaluates a quoted value as arithmetic (a[$(id)] runs "
                             f"id); compare the value outside it")
                         for j, name in placeholders.items() if i < j < close]
        if not quote and command.startswith("<<", i) and not command.startswith("<<<", i) and heredoc_body < 0:
            newline = command.find("\n", i)
            heredoc_body = len(command) if newline < 0 else newline + 1
        if not quote and c == "`":
            backtick = i if backtick < 0 else -1
        elif not quote and backtick >= 0 and i in placeholders:
            problems.append((i, f"placeholder {placeholders[i]} is inside `...` in the command: the shell re-reads "
                                f"that text, so a value holding ` or \\ escapes its quoting; use $(...) instead"))
        if not quote and i in placeholders and _command_position(command, i):
            problems.append((i, f"placeholder {placeholders[i]} is where the shell expects a command name: the "
                                f"value would be run as a program (x.sh, reboot); put it after the program"))
        if not quote and c in "\\$" and i + 1 in placeholders:
            # \'value' escapes the opening quote and $'value' is ANSI-C quoting: either way the value is
            # no longer one quoted word (a value ending in " #" comments the closing quote out)
            problems.append((i, f"'{c}' right before placeholder {placeholders[i + 1]} in the command undoes "
                                f"the quoting of its value; remove the '{c}'"))
        if c == "\\" and quote != "'":
            i += 2
            continue
        if quote and c == quote:
            quote = ""
        elif not quote and c in _QUOTE_NAMES:
            quote, opened = c, i
        elif quote and i in placeholders:
            name = placeholders[i]
            problems.append((i, f"placeholder {name} is inside {_QUOTE_NAMES[quote]} quotes in the command: "
                                f"each value is filled in as one shell-quoted word, and quoting cannot nest "
                                f"inside quotes; close the quotes before it (e.g. -f reason='some text '{name})"))
        i += 1
    if quote:
        problems.append((opened, f"unterminated {_QUOTE_NAMES[quote]} quote in the command"))
    if backtick >= 0:
        problems.append((backtick, "unterminated ` in the command"))
    return problems


_RUNS_NEXT_WORD = {"eval", "exec", "then", "do", "else", "elif", "if", "while", "until", "time", "!", "command",
                   "builtin", "nohup", "xargs", "sudo", "env", "-c"}  # -c: sh -c and bash -c run their argument


def _command_position(command: str, i: int) -> bool:
    """Whether offset ``i`` starts a command name: the beginning, after ; & | ( or a newline (``$(`` too),
    or after a word that runs the next one (``eval``, ``then``, ``xargs``...)."""
    j = i - 1
    while j >= 0 and command[j] in " \t":
        j -= 1
    if j < 0 or command[j] in ";&|(\n":
        return True
    start = j
    while start >= 0 and command[start] not in " \t;&|(\n":
        start -= 1
    return command[start + 1: j + 1] in _RUNS_NEXT_WORD


@dataclass
class RuleSet:
    """The rules plus the digests of the bytes they came from, recorded in every snapshot."""

    rules: list[Rule] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)  # path -> "sha256:<hex>" of the file bytes


def discover(paths: list[str]) -> list[str]:
    """Rule files named by ``paths``: files as given, folders as their ``*.yaml``/``*.yml`` (not recursive),
    ``builtin:NAME`` as the folder of that built-in set (``compliance.inputs.builtin``)."""
    files: list[str] = []
    for given in map(builtin.resolve, paths):
        if os.path.isdir(given):
            names = sorted(n for n in os.listdir(given) if n.endswith((".yaml", ".yml")))
            files += [os.path.join(given, n) for n in names if os.path.isfile(os.path.join(given, n))]
        elif os.path.isfile(given):
            files.append(given)
        else:
            raise ComplianceError(f"rules path not found: {given}")
    seen: set[str] = set()
    unique = []
    for f in files:  # the same file named twice would report every rule as a duplicate of itself
        real = os.path.realpath(f)
        if real not in seen:
            seen.add(real)
            unique.append(f)
    return unique


def _digest(path: str) -> str:
    with open(path, "rb") as fh:
        return "sha256:" + hashlib.sha256(fh.read()).hexdigest()


class _FileChecker:
    """Semantic checks JSON Schema cannot express, for one already schema-checked file."""

    def __init__(self, path: str, data: Any, pos: Positions, kinds: dict[str, dict[str, Any]]):
        """``kinds``: each check kind's parameter schema, by name."""
        self.path = path
        self.data = data
        self.pos = pos
        self.kinds = kinds
        self.problems: list[Located] = []

    def at(self, jpath: tuple[Any, ...], message: str) -> None:
        line, col = self.pos.value(jpath)
        self.problems.append(Located(self.path, line, col, message))

    def rules(self) -> list[tuple[int, dict[str, Any]]]:
        rules = self.data.get("rules") if isinstance(self.data, dict) else None
        if not isinstance(rules, list):
            return []
        return [(i, r) for i, r in enumerate(rules) if isinstance(r, dict)]

    def run(self) -> None:
        for i, rule in self.rules():
            base: tuple[Any, ...] = ("rules", i)
            scope = rule.get("scope")
            if isinstance(scope, dict):
                for part in ("include", "exclude"):
                    self.globs(scope.get(part), (*base, "scope", part), negation_hint=part)
            controls = rule.get("controls")
            if isinstance(controls, list):
                self.controls(controls, (*base, "controls"))
            effective = rule.get("effective")
            if isinstance(effective, dict):
                self.effective(effective, (*base, "effective"))
            checks = rule.get("checks")
            if isinstance(checks, list):
                for j, check in enumerate(checks):
                    if isinstance(check, dict):
                        self.check(check, (*base, "checks", j))
            remediation = rule.get("remediation")
            if isinstance(remediation, dict) and isinstance(remediation.get(COMMAND_FIELD), str):
                self.command(remediation[COMMAND_FIELD], (*base, "remediation", COMMAND_FIELD))

    def controls(self, controls: list[Any], jpath: tuple[Any, ...]) -> None:
        """The same control twice is a copy-paste slip that would count the rule twice under it."""
        seen: dict[str, int] = {}
        for k, control in enumerate(controls):
            if not isinstance(control, str):
                continue
            if control in seen:
                line = self.pos.value((*jpath, seen[control]))[0]
                self.at((*jpath, k), f"control {control!r} is listed twice in this rule (first at line {line})")
            else:
                seen[control] = k

    def command(self, command: str, jpath: tuple[Any, ...]) -> None:
        for offset, message in command_quoting_problems(command):
            line, col = self.pos.value(jpath)
            self.problems.append(Located(self.path, line, col + self._column_shift(line, col, command, offset),
                                         message))

    def _column_shift(self, line: int, col: int, command: str, offset: int) -> int:
        """Columns from the value's start to ``offset`` in it, where the file shows the text as it is
        (a plain or simply quoted scalar on one line); otherwise 0, pointing at the value."""
        try:
            with open(self.path, encoding="utf-8") as fh:
                text = fh.read().splitlines()[line - 1][col - 1:]
        except (OSError, UnicodeDecodeError, IndexError):
            return 0
        head = command[: offset + 1]
        if "\n" in head:
            return 0
        if text.startswith(head):
            return offset
        if text[:1] in "'\"" and text[1:].startswith(head):
            return offset + 1
        return 0

    def globs(self, patterns: Any, jpath: tuple[Any, ...], *, negation_hint: str | None = None) -> None:
        if not isinstance(patterns, list):
            return
        for k, pattern in enumerate(patterns):
            if not isinstance(pattern, str):
                continue
            body = pattern
            if pattern.startswith("!"):
                if negation_hint:
                    # Scope matches each glob on its own; a '!' would be read as a literal character
                    where = "put the pattern under scope.exclude" if negation_hint == "include" else "drop the '!'"
                    self.at((*jpath, k), f"negated glob {pattern!r} is not supported in scope.{negation_hint}; {where}")
                    continue
                body = pattern[1:]  # ordered filter lists (GitHub style) may negate
            try:
                compile_glob(body)
            except GlobError as exc:
                self.at((*jpath, k), f"invalid glob {pattern!r}: {exc}")

    def regex(self, value: Any, jpath: tuple[Any, ...]) -> None:
        if not isinstance(value, str):
            return
        try:
            re.compile(value)
        except re.error as exc:
            where = f" at position {exc.pos}" if exc.pos is not None else ""
            self.at(jpath, f"invalid regular expression {value!r}: {exc.msg}{where}")

    def effective(self, effective: dict[str, Any], jpath: tuple[Any, ...]) -> None:
        bounds: dict[str, datetime] = {}
        for name in ("from", "until"):
            text = effective.get(name)
            if not isinstance(text, str):
                continue
            dt = parse_day_bound(text, end=name == "until")
            if dt is None:
                self.at((*jpath, name), f"effective.{name} {text!r} is not a date or timestamp (use YYYY-MM-DD)")
            else:
                bounds[name] = dt
        if "from" in bounds and "until" in bounds and bounds["from"] > bounds["until"]:
            self.at(
                (*jpath, "until"),
                f"effective.until ({effective['until']}) is before effective.from ({effective['from']})",
            )

    def check(self, check: dict[str, Any], jpath: tuple[Any, ...]) -> None:
        name = check.get("kind")
        params = self.kinds.get(name) if isinstance(name, str) else None  # a list or mapping is unhashable
        if params is None:
            return  # the schema already reported the unknown kind, with a did-you-mean
        props = params.get("properties", {})
        for name, value in check.items():
            prop = props.get(name)
            if not isinstance(prop, dict):
                continue
            self.param(prop, value, (*jpath, name))

    def param(self, prop: dict[str, Any], value: Any, jpath: tuple[Any, ...]) -> None:
        fmt = prop.get("format")
        if fmt == "regex":
            self.regex(value, jpath)
        elif fmt == "glob" and isinstance(value, str):
            self._one_glob(value, jpath)
        items = prop.get("items")
        if isinstance(items, dict) and isinstance(value, list):
            for k, item in enumerate(value):
                self.param(items, item, (*jpath, k))

    def _one_glob(self, pattern: str, jpath: tuple[Any, ...]) -> None:
        try:
            compile_glob(pattern[1:] if pattern.startswith("!") else pattern)
        except GlobError as exc:
            self.at(jpath, f"invalid glob {pattern!r}: {exc}")


def _to_rule(raw: dict[str, Any], path: str, line: int) -> Rule:
    scope = raw.get("scope")
    effective = raw.get("effective") or {}
    remediation = raw["remediation"]
    return Rule(
        id=raw["id"],
        title=raw["title"],
        severity=raw["severity"],
        rationale=raw["rationale"],
        runbook_section=raw["runbook_section"],
        scope=Scope(tuple(scope["include"]), tuple(scope.get("exclude", ())), scope.get("branch"))
        if scope
        else Scope(),
        checks=tuple(
            CheckSpec(c["kind"], {k: v for k, v in c.items() if k != "kind"}) for c in raw["checks"]
        ),
        remediation=Remediation(remediation["text"], remediation.get("command", "")),
        effective_from=parse_day_bound(effective["from"], end=False) if "from" in effective else None,
        effective_until=parse_day_bound(effective["until"], end=True) if "until" in effective else None,
        controls=tuple(raw.get("controls", ())),
        source=path,
        line=line,
    )


def load_rules(paths: list[str]) -> RuleSet:
    """Load, validate and convert every rule file; raise ``InputError`` with every problem found."""
    files = discover(paths)
    if not files:
        raise ComplianceError(f"no rule files (*.yaml, *.yml) found in: {', '.join(paths) or '(nothing given)'}")
    kinds = kind_params()
    schema = rule_file_schema(kinds)
    problems: list[Located] = []
    digests: dict[str, str] = {}
    loaded: list[tuple[str, Any, Positions]] = []
    for path in files:
        digests[path] = _digest(path)
        try:
            data, pos = load_yaml(path)
        except InputError as exc:
            problems += exc.problems
            continue
        problems += validate(data, pos, schema, path)
        checker = _FileChecker(path, data, pos, kinds)
        checker.run()
        problems += checker.problems
        loaded.append((path, data, pos))

    # ids are unique across the whole set: a waiver or a finding names a rule by id alone
    places: dict[str, list[tuple[str, int, int]]] = {}
    for path, _data, pos in loaded:
        for i, rule in _FileChecker(path, _data, pos, kinds).rules():
            rid = rule.get("id")
            if isinstance(rid, str):
                line, col = pos.value(("rules", i, "id"))
                places.setdefault(rid, []).append((path, line, col))
    for rid, where in places.items():
        if len(where) < 2:
            continue
        for here in where:
            others = ", ".join(f"{p}:{ln}" for p, ln, c in where if (p, ln, c) != here)
            problems.append(Located(here[0], here[1], here[2], f"duplicate rule id {rid!r} (also defined at {others})"))

    if problems:
        raise InputError(problems, what="rules")
    rules = []
    for path, data, pos in loaded:
        for i, raw in enumerate(data["rules"]):
            rules.append(_to_rule(raw, path, pos.key(("rules", i, "id"))[0]))
    rules.sort(key=lambda r: r.id)
    return RuleSet(rules=rules, digests=dict(sorted(digests.items())))


__all__ = ["RuleSet", "discover", "load_rules"]
