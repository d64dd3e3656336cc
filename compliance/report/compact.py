"""report.json version 3: the report document as written, a tenth of its in-memory size at 100,000 commits.

Version 1 wrote the document as the renderers read it: every passing finding with its evidence, and
each finding repeating its rule's title, severity, runbook section and a remediation filled in from
the rule's template; every change's four-stage chain spelt out in words, URLs and times. At 100,000
commits that was 222 MB, 90% of it passing findings and chains that say the same few things again.

Version 2 kept what a reader acts on and wrote the rest once:

- ``findings`` holds every finding that is not a pass, with its full evidence and message. A key equal
  to what its rule gives (``title``, ``severity``, ``runbook_section``, the rule's one ``check``, the
  ``remediation`` its template fills in for this finding) is left out and put back on reading.
- ``passed`` lists passing findings per rule, check, subject type and proof (what a deploy-matching pass
  rests on: artifact, principal or timing): the subjects only. Their messages and evidence are not kept
  (the HTML report shows them for the report it renders); their verdicts and counts are.
- ``changes`` is a table (``change_columns``): per change its verdict per rule (``change_rules``, one
  status code each: ``status_codes``) and its chain merge -> run -> Lambda update -> worklog, each
  stage an index into ``stages``, whose strings are indexes into ``strings``, written as templates of
  the change's own values (``compact_stages``), so what the changes one run covered share is written
  once. In ``findings`` and ``passed`` a change is named by its row: an integer in a finding's evidence
  is that change's commit evidence (as the judge writes it), a subject ``i`` is row i's short SHA and
  ``[task, i]`` is ``task@short``.

That was still 30.8 MB at 100,000 commits, a quarter of it the metrics repeating the change rows and
deploys, a seventh the run-own strings of the stages. Version 3 (this writer) also

- names, in the metrics' tables, the change rows and deploys a deploy, lead time or restore repeats and
  derives what follows from them (``compact_tables``);
- writes a ``passed`` entry as ``"verdicts"`` when its subjects are exactly the change rows whose
  verdict for the rule is pass;
- names a finding's subject by its row and writes its message as a template (in ``strings``) of that
  change's values: the 1,000 "no tracker id" messages are one string;
- writes a stage's run-own tokens (times, ids, SHAs) as its arguments (``compact_stages``).

``expand.expand_report`` gives back the version-1 document (passing findings without message or evidence)
for everything that reads a report.json (``--previous``, ``merge``); a version-1 file is read as it is,
a version-2 file as version 2 wrote it (``compact_report(doc, version=2)`` still writes one). Compaction
is checked as it goes: a value is left out, referenced or templated only when putting it back gives the
very same value, so the reader cannot get a different chain, figure or finding than the one judged.
Keys this module does not know (a section or a column another version adds) pass through unchanged.
"""

from __future__ import annotations

from typing import Any

from compliance.judge.engine import fill, remediation_values
from compliance.model.findings import PASS
from compliance.report.compact_sections import compact_controls, compact_metrics, failing_key
from compliance.report.compact_stages import (
    NO_VALUES,
    STAGE_FIELDS,
    StageWriter,
    needles_of,
    stage_rows,
    template,
)
from compliance.report.compact_tables import ref_index

VERSION = 3
VERSIONS = (2, 3)  # the compact versions expand reads
RULE_DEFAULTS = ("title", "severity", "runbook_section")
CHANGE_COLUMNS = ("sha", "kind", "pr", "subject", "author", "committed_at", "task_ids", "files_in_scope",
                  "verdicts", "timeline", "extra")
STATUS_CODES = {"pass": "p", "fail": "f", "error": "e", "pending": "d", "waived": "w", "not_applicable": "n"}
NOT_JUDGED = "-"
FINDING_KEYS = frozenset({"rule_id", "check", "title", "severity", "runbook_section", "subject_type", "subject",
                          "status", "message", "evidence", "remediation", "target"})
TABLES = ("passed", "change_columns", "stage_fields", "change_rules", "status_codes", "stages", "strings")


def compact_report(doc: dict[str, Any], version: int = VERSION) -> dict[str, Any]:
    """The version-3 form of a report document (``json_report`` writes it); ``version=2`` the form of the
    version before (what a report.json of an earlier release holds, for the tests that read both)."""
    if version not in VERSIONS:
        raise ValueError(f"report.json versions {VERSIONS}, not {version!r}")
    v3 = version >= 3
    rules = {r["id"]: r for r in doc.get("rules") or [] if isinstance(r, dict) and "id" in r}
    targets = target_values(doc)
    changes = doc.get("changes") or []
    rows = _ChangeIndex(changes)
    out = {k: v for k, v in doc.items() if k not in ("findings", "changes")}
    out["report_version"] = version
    strings, stages = _Table(), _Table()
    change_rules = sorted({r for c in changes for r in c.get("verdicts") or {}})
    repo = repo_of(doc)
    writer = StageWriter(strings, stages, repo, args=v3)
    compact_changes = [_compact_change(c, change_rules, strings, stages, writer, repo) for c in changes]
    findings, passed = [], {}
    at: dict[tuple, int] = {}  # a non-pass finding's index in findings, by what a control's failing entry says
    for f in doc.get("findings") or []:
        if _tabled(f, rules.get(f.get("rule_id"))):
            key = (f["rule_id"], f.get("check", ""), f["subject_type"], f.get("target"), proof_of(f))
            passed.setdefault(key, []).append(rows.subject(f["subject"], f.get("target")))
        else:
            at.setdefault(failing_key(f), len(findings))
            findings.append(_compact_finding(f, rules.get(f.get("rule_id")), targets, rows, strings, repo, v3))
    out["findings"] = findings
    if "controls" in doc:
        out["controls"] = compact_controls(doc["controls"], at)
    if "metrics" in doc:
        ctx = {"refs": not doc.get("targets"), "changes": changes, "strings": strings.values, "repo": repo}
        index = ref_index(changes, (doc.get("metrics") or {}).get("deploys") if isinstance(doc.get("metrics"), dict)
                          else None, strings)
        out["metrics"] = compact_metrics(doc["metrics"], ctx, index) if v3 else compact_metrics(doc["metrics"])
    out["passed"] = [{"rule_id": r, "check": c, "subject_type": t, **({"target": g} if g else {}),
                      **({"proof": p} if p else {}), "subjects": _passed_subjects(s, r, t, g, changes, rows) if v3 else s}
                     for (r, c, t, g, p), s in passed.items()]
    out["changes"] = compact_changes
    out.update(change_columns=list(CHANGE_COLUMNS), stage_fields=list(STAGE_FIELDS), change_rules=change_rules,
               status_codes=dict(STATUS_CODES),
               stages=stage_rows(stages.values), strings=strings.values)
    return out


def verdict_subjects(rule_id: str, subject_type: str, target: Any, changes: list[dict[str, Any]]) -> list[str] | None:
    """The subjects a ``passed`` entry written as ``"verdicts"`` stands for: the changes (of its target) whose
    verdict for the rule is pass, by short SHA; for task subjects, ``task@short`` for each of their tasks."""
    out: list[str] = []
    for c in changes:
        if c.get("target") != target or (c.get("verdicts") or {}).get(rule_id) != PASS:
            continue
        if subject_type == "change":
            out.append(str(c.get("short")))
        elif subject_type == "task":
            out += [f"{t}@{c.get('short')}" for t in c.get("task_ids") or []]
        else:
            return None
    return out


def _passed_subjects(subjects: list[Any], rule_id: str, subject_type: str, target: Any,
                     changes: list[dict[str, Any]], rows: _ChangeIndex) -> Any:
    """``"verdicts"`` when the subjects are exactly what the change rows' verdicts say passed (each once):
    compared as ``_ChangeIndex.subject`` wrote them (a row, ``[task, row]``), so a SHA two rows share is
    never taken for either; else the list."""
    if subject_type not in ("change", "task") or not subjects or not all(isinstance(s, (int, list)) for s in subjects):
        return subjects
    derived: list[Any] = []
    for i, c in enumerate(changes):
        if c.get("target") == target and (c.get("verdicts") or {}).get(rule_id) == PASS:
            if subject_type == "change":
                derived.append(i)
            else:
                derived += [(t, i) for t in c.get("task_ids") or []]
            if len(derived) > len(subjects):
                return subjects
    if len(derived) != len(subjects):
        return subjects
    written = sorted(subjects) if subject_type == "change" else sorted(tuple(s) for s in subjects)
    return "verdicts" if sorted(derived) == written else subjects


def _tabled(f: dict[str, Any], rule: dict[str, Any] | None) -> bool:
    """A pass the ``passed`` table holds: nothing but the keys every finding has, and its rule's metadata
    (any other pass stays in ``findings``, whole)."""
    return (f.get("status") == PASS and rule is not None and FINDING_KEYS.issuperset(f)
            and f.get("title") == rule.get("title") and f.get("severity") == rule.get("severity")
            and f.get("runbook_section") == rule.get("runbook_section") and isinstance(f.get("subject"), str))


def proof_of(f: dict[str, Any]) -> str | None:
    """What a pass rests on (``artifact``, ``principal``, ``timing``) where its check says: a timing pass is a
    weaker claim than an artifact one, so the table keeps it even though it keeps no message."""
    for e in f.get("evidence") or []:
        if isinstance(e, dict) and isinstance(e.get("proof"), str):
            return e["proof"]
    return None


def passed_remediation(rule: dict[str, Any], targets: dict[str, str] | None) -> dict[str, str]:
    """What a tabled pass reads back as its remediation: the rule's, filled in for no commit."""
    return derived_remediation({"evidence": []}, rule, targets) or dict(rule.get("remediation") or {})


# -- what both directions derive alike ---------------------------------------------------------------------


def target_values(doc: dict[str, Any]) -> dict[str, str] | None:
    """The target's remediation values; None for a merged report (each finding has its own target)."""
    if doc.get("targets"):
        return None
    target = (doc.get("snapshot") or {}).get("target")
    return remediation_values(target) if isinstance(target, dict) else None


def repo_of(doc: dict[str, Any]) -> str:
    if doc.get("targets"):
        return ""
    target = (doc.get("snapshot") or {}).get("target")
    repo = target.get("github_repo") if isinstance(target, dict) else None
    return repo if isinstance(repo, str) and len(repo) >= 3 else ""


def derived_remediation(f: dict[str, Any], rule: dict[str, Any] | None, targets: dict[str, str] | None
                        ) -> dict[str, str] | None:
    """The remediation the engine fills in for ``f`` (``engine._remediation``), from the rule's template."""
    template = (rule or {}).get("remediation_template")
    if not isinstance(template, dict) or targets is None:
        return None
    sha = next((e.get("sha", "") for e in f.get("evidence") or [] if isinstance(e, dict) and e.get("kind") == "commit"),
               "")
    return fill(template, {"subject": f.get("subject"), "sha": sha, **targets})


def commit_evidence(change: dict[str, Any]) -> dict[str, Any]:
    """A change's commit as evidence, as the judge writes it (``history.Change.evidence_item``); compared,
    never trusted: evidence that differs in any way is written as it is."""
    pr = f" PR #{change.get('pr')}" if change.get("pr") else ""
    return {"kind": "commit", "label": f"{change.get('short')} {change.get('kind')}{pr}: {change.get('subject')}",
            "sha": change.get("sha"), "time": change.get("committed_at"), "url": None}


def values_of(change: dict[str, Any], repo: str) -> dict[str, str]:
    """What a stage's template may name of its change."""
    pr, tasks = change.get("pr"), change.get("task_ids") or []
    return {"sha": str(change.get("sha") or ""), "short": str(change.get("short") or ""),
            "pr": "" if pr is None else str(pr), "subject": str(change.get("subject") or ""),
            "committed_at": str(change.get("committed_at") or ""),
            "task": str(tasks[0]) if tasks else "", "repo": repo}


class _ChangeIndex:
    """Rows by (target, short SHA) and by SHA, for naming a change by its row (unique ones only)."""

    def __init__(self, changes: list[dict[str, Any]]):
        self.changes = changes
        self.by_short: dict[tuple[Any, str], int | None] = {}
        self.by_sha: dict[tuple[Any, str], int | None] = {}
        for i, c in enumerate(changes):
            for index, key in ((self.by_short, c.get("short")), (self.by_sha, c.get("sha"))):
                if isinstance(key, str):
                    k = (c.get("target"), key)
                    index[k] = None if k in index else i

    def subject(self, subject: str, target: Any) -> Any:
        i = self.by_short.get((target, subject))
        if i is not None:
            return i
        task, at, short = subject.rpartition("@")
        if at and task:
            i = self.by_short.get((target, short))
            if i is not None:
                return [task, i]
        return subject

    def name(self, s: Any) -> str:
        """A subject as ``subject`` wrote it, back as text."""
        if isinstance(s, list):
            return f"{s[0]}@{self.changes[s[1]].get('short')}"
        return s if isinstance(s, str) else str(self.changes[s].get("short"))

    def evidence(self, item: Any, target: Any) -> Any:
        if isinstance(item, dict) and item.get("kind") == "commit" and isinstance(item.get("sha"), str):
            i = self.by_sha.get((target, item["sha"]))
            if i is not None and item == commit_evidence(self.changes[i]):
                return i
        return item


# -- findings ------------------------------------------------------------------------------------------------


def _compact_finding(f: dict[str, Any], rule: dict[str, Any] | None, targets: dict[str, str] | None,
                     rows: _ChangeIndex, strings: _Table, repo: str, v3: bool = True) -> dict[str, Any]:
    out = dict(f)
    if rule is not None:
        for key in RULE_DEFAULTS:
            if key in out and out[key] == rule.get(key):
                del out[key]
        checks = rule.get("checks") or []
        if len(checks) == 1 and out.get("check") == checks[0]:
            del out["check"]
        if "remediation" in out and out["remediation"] == derived_remediation(f, rule, targets):
            del out["remediation"]
    if isinstance(out.get("evidence"), list):
        out["evidence"] = [rows.evidence(e, f.get("target")) for e in out["evidence"]]
    if not v3:
        return out
    if isinstance(f.get("subject"), str):
        out["subject"] = rows.subject(f["subject"], f.get("target"))
    if isinstance(f.get("message"), str):
        values = subject_values(out.get("subject"), rows.changes, repo)
        out["message"] = strings(template(f["message"], values))
    return out


def subject_values(subject: Any, changes: list[dict[str, Any]], repo: str) -> dict[str, str]:
    """What a finding's message template may name: the values of the change its subject names (``{task}``
    the subject's own task), or none."""
    if isinstance(subject, list):
        return {**values_of(changes[subject[1]], repo), "task": str(subject[0])}
    if isinstance(subject, int) and not isinstance(subject, bool):
        return values_of(changes[subject], repo)
    return NO_VALUES


# -- changes -------------------------------------------------------------------------------------------------


class _Table:
    """Each distinct value once; a row names it by index."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self._index: dict[Any, int] = {}

    def __call__(self, text: Any) -> int:
        i = self._index.get(text)
        if i is None:
            i = self._index[text] = len(self.values)
            self.values.append(text)
        return i


def _compact_change(change: dict[str, Any], change_rules: list[str], strings: _Table, stages: _Table,
                    writer: StageWriter, repo: str) -> list[Any]:
    values = values_of(change, repo)
    needles = needles_of(values)
    verdicts = change.get("verdicts") or {}
    extra = {k: v for k, v in change.items() if k not in _COLUMN_SET}
    codes: Any = "".join(STATUS_CODES.get(verdicts[r], "?") if r in verdicts else NOT_JUDGED for r in change_rules)
    if "?" in codes or not isinstance(verdicts, dict):  # a status this version does not know: as written
        extra["verdicts"], codes = verdicts, ""
    files = change.get("files_in_scope") or []
    for name in ("author", "kind"):
        if not isinstance(change.get(name), str):
            extra[name] = change.get(name)
    if not all(isinstance(p, str) for p in files):
        extra["files_in_scope"], files = files, []
    if change.get("short") == str(change.get("sha") or "")[:12]:
        extra.pop("short")  # sha[:12]; any other short stays beside the row
    return [  # in CHANGE_COLUMNS order
        change.get("sha"),
        strings(change["kind"]) if "kind" not in extra else None,
        change.get("pr"),
        change.get("subject"),
        strings(change["author"]) if "author" not in extra else None,
        change.get("committed_at"),
        change.get("task_ids"),
        [strings(p) for p in files],
        codes,
        [writer(s, values, needles) for s in change.get("timeline") or []],
        extra or None,
    ]


_COLUMN_SET = frozenset(CHANGE_COLUMNS)


__all__ = ["CHANGE_COLUMNS", "STAGE_FIELDS", "STATUS_CODES", "TABLES", "VERSION", "commit_evidence",
           "NO_VALUES", "VERSIONS", "compact_report", "derived_remediation", "passed_remediation", "repo_of",
           "subject_values", "target_values", "values_of", "verdict_subjects"]
