"""Reading report.json of any version: versions 2 and 3 (``compact``) back to the version-1 document.

``--previous`` and ``merge`` read earlier reports as data; they work on the version-1 shape, so a
report written by any release compares and merges alike. What version 3 added (references and
derived columns in the metrics, ``"verdicts"`` passes, finding subjects as rows and messages as
templates, stage arguments) is refused in a file that says version 2: it would be read as another
value. Passing findings come back with their rule's metadata and remediation but without message or
evidence, which neither compact version keeps; everything else comes back as it was judged.
"""

from __future__ import annotations

import functools
import string
from typing import Any

from compliance.model.findings import PASS, STATUSES, summary_of
from compliance.report.compact import (
    NO_VALUES,
    NOT_JUDGED,
    RULE_DEFAULTS,
    TABLES,
    VERSIONS,
    commit_evidence,
    derived_remediation,
    passed_remediation,
    repo_of,
    subject_values,
    target_values,
    values_of,
    verdict_subjects,
)
from compliance.report.compact_sections import expand_controls, expand_metrics


class CompactError(ValueError):
    """A compact report.json that does not expand (hand-edited, truncated, another tool's)."""


def expand_report(doc: Any) -> Any:
    """The version-1 document of a report.json of either version (version 1, or not a report: as it is)."""
    if not isinstance(doc, dict):
        return doc
    version = doc.get("report_version")
    if version not in VERSIONS or isinstance(version, bool) or not isinstance(version, int):
        tables = sorted(k for k in TABLES if k in doc)
        if tables:  # a compact file that says it is not one: its passes and chains would be dropped unread
            raise CompactError(f"report_version {doc.get('report_version')!r}, but it holds the compact "
                               f"tables {', '.join(tables)} (versions {', '.join(map(str, VERSIONS))})")
        return doc
    try:
        return _expand(doc, version)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise CompactError(f"a version-{version} report whose compact tables do not expand ({type(exc).__name__}: {exc})"
                           ) from None


def _expand(doc: dict[str, Any], version: int) -> dict[str, Any]:
    rules = {r["id"]: r for r in doc.get("rules") or []}
    targets = target_values(doc)
    strings: list[str] = doc["strings"]
    stages: list[list[Any]] = doc["stages"]
    columns: list[str] = doc["change_columns"]
    fields: list[str] = doc["stage_fields"]
    change_rules: list[str] = doc["change_rules"]
    status_of = {code: status for status, code in doc["status_codes"].items()}
    if set(status_of.values()) - set(STATUSES):
        raise ValueError("status_codes name an unknown status")
    if len(status_of) != len(doc["status_codes"]) or NOT_JUDGED in status_of \
            or not all(isinstance(c, str) and len(c) == 1 for c in status_of):
        raise ValueError(f"status_codes {doc['status_codes']!r} are not one distinct character per status "
                         f"(nor {NOT_JUDGED!r}, not judged): a code would read as two verdicts")
    repo = repo_of(doc)
    if not isinstance(fields, list) or not isinstance(strings, list):
        raise TypeError("stage_fields and strings are lists")
    _check_stages(stages, strings, fields, version)
    budget = _Budget(doc)
    changes = [_change(dict(zip(columns, row, strict=True)), strings, stages, fields, change_rules, status_of, repo,
                       budget) for row in doc["changes"]]
    findings = [_finding(f, rules.get(f.get("rule_id")), targets, changes, strings, repo, version, budget)
                for f in doc["findings"]]
    controls = expand_controls(doc["controls"], findings) if "controls" in doc else None
    for entry in doc["passed"]:
        findings += _passed(entry, rules.get(entry["rule_id"]), changes, targets, version)
    findings.sort(key=_finding_order)
    out = {k: v for k, v in doc.items() if k not in TABLES}
    out.update(report_version=1, findings=findings, changes=changes)
    if controls is not None:
        out["controls"] = controls
    if "metrics" in doc:
        out["metrics"] = expand_metrics(doc["metrics"], {"changes": changes, "strings": strings, "repo": repo},
                                        version)
    return out


def counts_disagreement(doc: dict[str, Any]) -> str | None:
    """How a report's own counts (``summary``, ``rules[].counts``) differ from its findings (the version-1
    document, as ``expand_report`` gives it), or None. ``merge`` counts the findings while a reader of the
    file reads its summary: a file whose two disagree holds two verdicts, and is refused, not merged by one."""
    findings = [f for f in doc.get("findings") or [] if isinstance(f, dict) and f.get("status") in STATUSES]
    told = summary_of(f["status"] for f in findings)
    summary = doc.get("summary") if isinstance(doc.get("summary"), dict) else {}
    wrong = {k: summary[k] for k in (*STATUSES, "verdict", "exit_code") if k in summary and summary[k] != told[k]}
    if wrong:
        return f"its summary says {wrong}, its findings {({k: told[k] for k in wrong})}"
    for rule in doc.get("rules") or []:
        counts = rule.get("counts") if isinstance(rule, dict) else None
        if isinstance(counts, dict):
            held = summary_of(f["status"] for f in findings if f.get("rule_id") == rule.get("id"))
            off = {k: v for k, v in counts.items() if k in STATUSES and v != held[k]}
            if off:
                return f"rule {rule.get('id')!r} counts {off}, its findings {({k: held[k] for k in off})}"
    return None


def _finding_order(f: dict[str, Any]) -> tuple:
    """The engine's order (``Finding.sort_key``), a merged report's target after the rule as ``merge`` sorts."""
    return tuple(str(f.get(k, "")) for k in ("rule_id", "target", "subject_type", "subject", "check", "status",
                                               "message"))


def _at(table: list[Any], i: Any, what: str) -> Any:
    """``table[i]`` for an index the writer could have written: a non-negative int in range (Python would read
    -1 or True as another entry)."""
    if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < len(table):
        raise IndexError(f"no {what} {i!r} (of {len(table)})")
    return table[i]


class _Budget:
    """The characters the templates may still fill in: a file names a template and its values once and may
    use them in every change, so a hand-edited file of some KB can ask for terabytes (a template of ten
    thousand ``{0}``). What this tool writes fills in to about ten times its tables (226 MB from 20 MB at
    100,000 commits); sixty-four times them, and 64 M characters besides, is refused before it is filled."""

    FACTOR, FLOOR = 64, 1 << 26

    def __init__(self, doc: dict[str, Any]) -> None:
        size = sum(len(s) for s in doc["strings"] if isinstance(s, str))
        size += sum(len(str(v)) for row in doc["stages"] if isinstance(row, list)
                    for a in row if isinstance(a, list) for v in a)
        for row in doc["changes"]:  # the values a template may name: its texts, and those of its lists (tasks)
            for v in row if isinstance(row, list) else ():
                if type(v) is str:
                    size += len(v)
                elif type(v) is list:
                    size += sum(len(x) for x in v if type(x) is str)
        self.left = self.FACTOR * size + self.FLOOR

        self.stages: dict[int, tuple[int, tuple[str, ...]]] = {}  # a stage row's fixed cost, the values it names

    def spend(self, template: str, args: tuple[Any, ...], values: dict[str, str]) -> None:
        literal, names = _lengths(template)
        self._take(literal + sum(len(str(args[n] if isinstance(n, int) else values[n])) for n in names), template)

    def stage_cost(self, i: int, row: list[Any], strings: list[str], n: int) -> tuple[int, tuple[str, ...]]:
        """What filling stage row ``i`` costs every change (its literals and arguments), and the values it names."""
        args = tuple(row[n]) if len(row) > n and isinstance(row[n], list) else ()
        fixed, named = 0, []
        for v in row[:n]:
            if v is not None:
                literal, names = _lengths(strings[v])
                fixed += literal + sum(len(str(args[m])) for m in names if isinstance(m, int))
                named += [m for m in names if not isinstance(m, int)]
        cost = self.stages[i] = (fixed, tuple(named))
        return cost

    def _take(self, need: int, template: str) -> None:
        self.left -= need
        if self.left < 0:
            self.refuse(need, template)

    def refuse(self, need: int, template: str) -> None:
        raise ValueError(f"its templates fill in to more than {self.FACTOR} times the characters of its "
                         f"tables (one of {need:,} characters filled from {template[:40]!r}...): not what a "
                         f"report writes")


@functools.lru_cache(maxsize=4096)
def _lengths(template: str) -> tuple[int, tuple[Any, ...]]:
    """The literal characters of a checked template and the fields it fills (an argument by its index)."""
    literal, names = 0, []
    for text, name, _, _ in _FORMATTER.parse(template):
        literal += len(text)
        if name is not None:
            names.append(int(name) if name.isdecimal() else name)
    return literal, tuple(names)


_FORMATTER = string.Formatter()
_VALUE_NAMES = frozenset(values_of({}, ""))  # what a stage's template may name (``compact.values_of``)


def _fill(template: Any, values: dict[str, str], args: tuple[Any, ...] = (), budget: _Budget | None = None) -> str:
    """A string back from its template: only the plain fields the writer uses (``{sha}``, ..., and a stage's
    arguments ``{0}``, ``{1}``, ... as many as it has), never an attribute, index, conversion or format spec
    (``{sha.__class__}``, ``{sha:>999999999}``, ``{}``), which ``str.format`` would obey and the writer never
    writes."""
    if not isinstance(template, str):
        raise TypeError(f"string {template!r} is not text")
    bad = _foreign_field(template, len(args)) if "{" in template or "}" in template else None
    if bad:
        raise ValueError(f"template {template!r} names {bad}, not one of the change's values")
    if budget is not None:
        budget.spend(template, args, values)
    return template.format(*args, **values)


@functools.lru_cache(maxsize=4096)  # a run's stages share their templates: each is parsed once, not per change
def _foreign_field(template: str, nargs: int) -> str | None:
    for _, name, spec, conversion in _FORMATTER.parse(template):
        if name is None:
            continue
        positional = name.isdecimal() and name.isascii() and name == str(int(name)) and int(name) < nargs
        if (name not in _VALUE_NAMES and not positional) or spec or conversion:
            return "{" + name + ("!" + conversion if conversion else "") + (":" + spec if spec else "") + "}"
    return None


# a column the writer moves beside the row only when it leaves the column empty: (column, its empty value)
_MOVABLE = {"verdicts": "", "kind": None, "author": None, "files_in_scope": []}


def _row(changes: list[dict[str, Any]], i: Any) -> dict[str, Any]:
    if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < len(changes):
        raise IndexError(f"no change row {i!r}")
    return changes[i]


def _finding(f: dict[str, Any], rule: dict[str, Any] | None, targets: dict[str, str] | None,
             changes: list[dict[str, Any]], strings: list[str], repo: str, version: int,
             budget: _Budget | None = None) -> dict[str, Any]:
    out = dict(f)
    if isinstance(out.get("evidence"), list):
        out["evidence"] = [commit_evidence(_row(changes, e)) if isinstance(e, int) else e for e in out["evidence"]]
    if version >= 3:  # the subject may name a change row, the message be a template of its values
        subject = out.get("subject")
        named = isinstance(subject, (int, list)) and not isinstance(subject, bool)
        if named:
            out["subject"] = _subject(subject, changes)
        message = out.get("message")
        if isinstance(message, (int, bool)):
            out["message"] = _fill(_at(strings, message, "string"),
                                   subject_values(subject, changes, repo) if named else NO_VALUES, budget=budget)
    elif isinstance(out.get("subject"), (int, list)) or isinstance(out.get("message"), int):
        raise TypeError(f"a finding's subject as a change row and its message as a template are version 3, "
                        f"not {version}")
    rule = rule or {}
    for key in RULE_DEFAULTS:
        out.setdefault(key, rule.get(key, ""))
    checks = rule.get("checks") or []
    if "check" not in out:
        out["check"] = checks[0] if len(checks) == 1 else ""
    if "remediation" not in out:
        out["remediation"] = derived_remediation(out, rule, targets) or dict(rule.get("remediation") or {})
    return out


def _passed(entry: dict[str, Any], rule: dict[str, Any] | None, changes: list[dict[str, Any]],
            targets: dict[str, str] | None, version: int) -> list[dict[str, Any]]:
    """A pass row back as findings: the rule's metadata and remediation, no message or evidence (not kept)."""
    if rule is None:
        raise KeyError(f"passed names rule {entry['rule_id']!r}, which the report does not list")
    base = {"rule_id": entry["rule_id"], "check": entry["check"], "subject_type": entry["subject_type"],
            "status": PASS, "message": f"proof: {entry['proof']}" if entry.get("proof") else "", "evidence": [],
            "remediation": passed_remediation(rule, targets),
            **{key: rule.get(key, "") for key in RULE_DEFAULTS}}
    if entry.get("target"):
        base["target"] = entry["target"]
    subjects = entry["subjects"]
    if subjects == "verdicts" and version >= 3:  # the changes whose verdict for the rule is pass
        named = verdict_subjects(entry["rule_id"], entry["subject_type"], entry.get("target"), changes)
        if named is None:
            raise ValueError(f"passed subjects of type {entry['subject_type']!r} are not changes' verdicts")
        return [{**base, "subject": s} for s in named]
    if not isinstance(subjects, list):
        raise TypeError(f"passed subjects {subjects!r} are not a list")
    return [{**base, "subject": _subject(s, changes)} for s in subjects]


def _subject(s: Any, changes: list[dict[str, Any]]) -> str:
    if isinstance(s, str):
        return s
    if isinstance(s, list):
        task, i = s
        if not isinstance(task, str):
            raise TypeError(f"subject {s!r}: a task is text")
        return f"{task}@{_row(changes, i)['short']}"
    return str(_row(changes, s)["short"])


def _change(row: dict[str, Any], strings: list[str], stages: list[list[Any]], fields: list[str],
            change_rules: list[str], status_of: dict[str, str], repo: str, budget: _Budget | None = None
            ) -> dict[str, Any]:
    codes = row["verdicts"]
    extra = row.get("extra") or {}
    for name in extra:  # beside the row only what the row leaves out: never both
        if name in row and (name not in _MOVABLE or row[name] != _MOVABLE[name]):
            raise ValueError(f"change {row['sha']!r} gives {name} both in its row and beside it")
    if not isinstance(codes, str):
        raise TypeError(f"verdicts {codes!r} are not a string of status codes")
    if len(codes) != len(change_rules) and codes != "":
        raise ValueError(f"verdicts {codes!r} do not match the {len(change_rules)} change rules")
    sha = row["sha"]
    change = {
        "sha": sha,
        "short": str(sha)[:12],
        "kind": _at(strings, row["kind"], "string") if row["kind"] is not None else None,
        "pr": row["pr"],
        "subject": row["subject"],
        "author": _at(strings, row["author"], "string") if row["author"] is not None else None,
        "committed_at": row["committed_at"],
        "task_ids": row["task_ids"],
        "files_in_scope": [_at(strings, p, "string") for p in row["files_in_scope"]],
        # "" when the verdicts were written beside the row (a status this version does not know)
        "verdicts": {r: status_of[c] for r, c in (zip(change_rules, codes, strict=True) if codes else ())
                     if c != NOT_JUDGED},
    }
    change.update(extra)
    values = values_of(change, repo)
    timeline = []
    for i in row["timeline"]:
        stage = _at(stages, i, "stage")
        if budget is not None:  # inline: once per stage of every change
            fixed, named = budget.stages.get(i) or budget.stage_cost(i, stage, strings, len(fields))
            for m in named:
                fixed += len(values[m])
            budget.left -= fixed
            if budget.left < 0:
                budget.refuse(fixed, f"stage {i}")
        timeline.append(_stage(stage, strings, fields, values))
    change["timeline"] = timeline
    return change


def _check_stages(stages: list[Any], strings: list[str], fields: list[str], version: int) -> None:
    """Every stage of the table as the writer writes it, checked once (a run's stages are shared by the
    changes it covered, so ``_stage`` then only fills them in): its fields' strings in the table and
    templates of the plain fields and its arguments only (version 3: a list after the fields); beside them
    only fields it leaves None."""
    n = len(fields)
    for row in stages:
        if not isinstance(row, list) or not n <= len(row) <= n + (2 if version >= 3 else 1):
            raise ValueError(f"stage {row!r} is not {n} fields and what lies beside them")
        args = _args_of(row, n)
        if args is None or (args and version < 3) or len(row) > n + 1 + bool(args):
            raise ValueError(f"stage {row!r}: after its fields come its arguments (a list of texts and integers, "
                             f"version 3) and an object")
        for v in row[:n]:
            if v is not None:
                _fill(_at(strings, v, "string"), _NO_VALUES, args)
        if len(row) > n + bool(args):
            extra = row[-1]
            if not isinstance(extra, dict) or not isinstance(extra.get("absent", []), list):
                raise TypeError(f"stage {row!r}: beside its fields is not an object with a list of absent ones")
            given = {name for name, v in zip(fields, row, strict=False) if v is not None}
            for name in [*extra.get("absent", []), *extra]:  # the writer leaves None what it puts beside or drops
                if name in given:
                    raise ValueError(f"stage field {name!r} is both in the stage and beside it")


def _args_of(row: list[Any], n: int) -> tuple[Any, ...] | None:
    """A stage row's arguments (``()`` when it has none); None when they are not texts and integers."""
    if len(row) <= n or not isinstance(row[n], list):
        return ()
    args = row[n]
    if not args or not all(isinstance(a, str) or (isinstance(a, int) and not isinstance(a, bool)) for a in args):
        return None
    return tuple(args)


_NO_VALUES = NO_VALUES


def _stage(row: list[Any], strings: list[str], fields: list[str], values: dict[str, str]) -> dict[str, Any]:
    """A stage of the table (``_check_stages``) filled in with its change's values."""
    n = len(fields)
    args = tuple(row[n]) if len(row) > n and isinstance(row[n], list) else ()
    stage = {name: strings[v].format(*args, **values) if v is not None else None
             for name, v in zip(fields, row[:n], strict=True)}
    if len(row) > n + bool(args):
        extra = dict(row[-1])
        for name in extra.pop("absent", []):
            stage.pop(name, None)
        stage.update(extra)
    return stage


__all__ = ["CompactError", "counts_disagreement", "expand_report"]
