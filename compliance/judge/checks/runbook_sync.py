"""Runbook drift: where the runbook, the rules and the workflow it names disagree.

The runbook is the governance; the rules are a copy of it and the workflow its implementation.
In the real repository all three drifted: the runbook's Scope gained a file the rules and the
workflow's ``paths`` never covered, the deploy script became a tombstone and the workflow was
deleted while the runbook still named both. Each disagreement is one finding located at the
runbook's line (as of the commit judged), so a reviewer can fix the side that is wrong.

What the runbook says comes from the ``runbook`` source, parsed with a Markdown parser; a part
of it that cannot be read (no Scope section, two of them, an entry with no path) is ``error``:
a drift check that cannot read the runbook has checked nothing.
"""

from __future__ import annotations

from typing import Any

from compliance.base.globs import example_path, filter_match
from compliance.judge.checks.common import file_evidence
from compliance.judge.checks.workflow import _parse, _push_filter, _triggers
from compliance.judge.files import RepoFiles
from compliance.judge.registry import register
from compliance.model.findings import ERROR, FAIL, NOT_APPLICABLE, PASS, Finding
from compliance.model.runbook import SECTION_LEVEL, norm

DRIFTS = ("scope", "files", "triggers", "sections", "validation")


class _Out:
    """The findings of one runbook: each drift named once, at its line, with the ref it judged."""

    def __init__(self, rule, path: str, label: str, ref: str | None, url: str | None):
        self.rule, self.path, self.label, self.ref, self.url = rule, path, label, ref, url
        self.findings: list[Finding] = []
        self._seen: set[str] = set()

    def has(self, what: str) -> bool:
        return f"{self.path}: {what}" in self._seen

    def add(self, status: str, what: str, line: int, message: str) -> None:
        subject = f"{self.path}: {what}"
        if subject in self._seen:
            return
        self._seen.add(subject)
        ev = file_evidence(self.path, f"{self.path}:{line} {self.label}", line, self.ref)
        if self.url:
            ev["url"] = self.url
        self.findings.append(Finding(self.rule.id, "file", subject, status, f"{message} ({self.path}:{line}, "
                                     f"{self.label})", [ev], location={"path": self.path, "line": max(line, 1)}))


def _rules_with_scope(ctx, rule) -> list[Any]:
    rules = ctx.rules or [rule]
    return [r for r in rules if not r.scope.is_empty]


def _unusual(path: str) -> str:
    """Say what a reader cannot see: a look-alike letter (Cyrillic а for a) or an invisible character
    makes a path that prints like a governed one a different path."""
    odd = [f"U+{ord(c):04X}" for c in dict.fromkeys(path) if not (c.isascii() and c.isprintable())]
    return f"; it holds character(s) {', '.join(odd)}, which may look like (or hide beside) ASCII" if odd else ""


def _scope_drift(out: _Out, ctx, rule, scope: dict[str, Any]) -> None:
    """1. A runbook Scope path no rule governs (the rules are stale), a rule scope the runbook does not list."""
    scoped = _rules_with_scope(ctx, rule)
    entries = scope["entries"]
    for e in entries:
        if not any(r.scope.matches(example_path(e["path"])) for r in scoped):
            out.add(FAIL, f"scope {e['path']}", e["line"],
                    f"the runbook's Scope lists {e['path']}, which no rule's scope governs (the rules are stale)"
                    f"{_unusual(e['path'])}")
    listed = [e["path"] for e in entries]
    by_glob: dict[str, list[str]] = {}
    for r in scoped:
        for glob in r.scope.include:
            by_glob.setdefault(glob, []).append(r.id)
    for glob, ids in sorted(by_glob.items()):
        if glob not in listed and not (listed and filter_match(listed, example_path(glob))):
            out.add(FAIL, f"rule scope {glob}", scope["line"],
                    f"{', '.join(ids)} govern(s) {glob}, which the runbook's Scope does not list")


def _named(data: dict[str, Any], path: str) -> tuple[bool, str | None]:
    files = data.get("named_files") or {}
    return path in files, files.get(path)


def _file_drift(out: _Out, ctx, data: dict[str, Any], doc: dict[str, Any], report: bool) -> dict[str, Any]:
    """2. A workflow or script the runbook names that is absent at the ref or a tombstone (reported
    when ``report``). Returns the parsed workflows that exist, by path, for the trigger drift."""
    # deliberate lazy import, as in the workflow checks: the shell parser is paid for when a runbook names a
    # script, not by every import of the check registry (rules validate is start-up bound)
    from compliance.judge.shell.deploy_script import judge_deploy_script

    workflows: dict[str, Any] = {}
    if not report:
        out = _Out(out.rule, out.path, out.label, out.ref, out.url)  # judged, not reported
    function = ctx.target.get("function") or ""
    for auto in [doc.get("canonical"), *doc.get("automations", [])]:
        if not auto:
            continue
        for key in ("workflow", "script"):
            item = auto.get(key)
            if not item:
                continue
            p, line = item["path"], item["line"]
            collected, text = _named(data, p)
            what = f"{'workflow' if key == 'workflow' else 'script'} {p}"
            if not collected:
                out.add(ERROR, what, line, f"could not evaluate: the runbook's {auto['heading']} names {p}, which "
                                           "was not read at the judged commit (re-collect from the repository)")
            elif text is None:
                out.add(FAIL, what, line, f"the runbook's {auto['heading']} names {p}, which does not exist")
            elif key == "script":
                verdict = judge_deploy_script(text, function)
                if not verdict.ok:
                    out.add(FAIL, what, line, f"the runbook's {auto['heading']} names {p}, which deploys nothing: "
                                              f"{verdict.message}")
            else:
                parsed, problem, _ = _parse(text)
                if problem or not isinstance(parsed.get("jobs"), dict) or not parsed["jobs"]:
                    out.add(FAIL, what, line, f"the runbook's {auto['heading']} names {p}, which runs nothing "
                                              f"({problem or 'it has no jobs'})")
                else:
                    workflows[p] = parsed
    return workflows


def _target_drift(out: _Out, ctx, params, doc: dict[str, Any]) -> None:
    """The canonical workflow and script the runbook names are the ones the rules judge."""
    canonical = doc.get("canonical") or {}
    for key, mine, label in (("workflow", params.get("workflow") or ctx.target.get("workflow"), "workflow"),
                             ("script", params.get("deploy_script") or ctx.target.get("deploy_script"),
                              "deploy script")):
        item = canonical.get(key)
        if item and mine and item["path"] != mine:
            out.add(FAIL, f"canonical {label}", item["line"],
                    f"the runbook's canonical {label} is {item['path']}, but the rules judge {mine}")


def _trigger_drift(out: _Out, ctx, rule, doc: dict[str, Any], workflows: dict[str, Any]) -> None:
    """3. A Scope path the canonical workflow does not run on, unless another automation section of the
    runbook names its own (existing) workflow for exactly that path."""
    canonical, scope = doc.get("canonical"), doc.get("scope")
    wf = (canonical or {}).get("workflow")
    if not wf or not scope:
        return  # the section cannot be read: already an `error` of its own
    if wf["path"] not in workflows:
        if not out.has(f"workflow {wf['path']}"):  # judged but not reported (drifts without files): say so
            out.add(ERROR, "triggers", wf["line"], f"could not evaluate the triggers: {wf['path']} is absent, a "
                                                   "tombstone or unread at this commit")
        return
    branch = rule.scope.branch or ctx.target.get("branch", "main")
    problems, covered = _push_filter(workflows[wf["path"]], branch)
    pushes = [t for t in canonical["triggers"] if t["event"] == "push"] or [None]
    for problem in problems:
        line = pushes[0]["line"] if pushes[0] else wf["line"]
        out.add(FAIL, "trigger push", line, f"the runbook says {wf['path']} runs on push to {branch}, but {problem}")
    if any(t["event"] == "workflow_dispatch" for t in canonical["triggers"]) \
            and "workflow_dispatch" not in _triggers(workflows[wf["path"]]):
        line = next(t["line"] for t in canonical["triggers"] if t["event"] == "workflow_dispatch")
        out.add(FAIL, "trigger workflow_dispatch", line, f"the runbook says {wf['path']} can be run by hand, but it "
                                                         "has no workflow_dispatch trigger")
    if problems:
        return
    for e in scope["entries"]:
        if covered(example_path(e["path"])):
            continue
        others = [a for a in doc.get("automations", []) if a.get("workflow")
                  and any(m["value"] == e["path"] for m in a["mentions"])]
        real = [a for a in others if a["workflow"]["path"] in workflows]
        if any(_runs_on(workflows[a["workflow"]["path"]], branch, e["path"]) for a in real):
            continue
        if real:  # it exists, but a push touching the path never runs it: merged and never deployed
            why = (f"; the runbook's {real[0]['heading']} names {real[0]['workflow']['path']} for it, which does "
                   f"not run on a push to {branch} touching it either")
        else:
            why = (f"; the runbook's {others[0]['heading']} names {others[0]['workflow']['path']} for it, which runs "
                   "nothing here") if others else "; no other automation section of the runbook names a workflow for it"
        out.add(FAIL, f"trigger {e['path']}", e["line"],
                f"a push touching {e['path']} does not run the canonical workflow {wf['path']}{why}")


def _runs_on(workflow: dict[str, Any], branch: str, path: str) -> bool:
    """Whether a push to ``branch`` touching ``path`` runs ``workflow`` (another automation section's)."""
    problems, covered = _push_filter(workflow, branch)
    return not problems and covered(example_path(path))


def _section_drift(out: _Out, ctx, rule, doc: dict[str, Any]) -> None:
    """4. A rule's runbook_section that is no longer a `##` heading ("Canonical Automation (Trigger)"
    cites the section "Canonical Automation")."""
    sections = {norm(h["text"]) for h in doc["headings"] if h["level"] == SECTION_LEVEL}
    for r in ctx.rules or [rule]:
        cited = (r.runbook_section or "").strip()
        if not cited:
            continue
        base = cited.split(" (", 1)[0] if cited.endswith(")") else cited
        if norm(cited) in sections or norm(base) in sections:
            continue
        other = next((h for h in doc["headings"] if norm(h["text"]) in (norm(cited), norm(base))), None)
        hint = f"; line {other['line']} is a level-{other['level']} heading, not a section" if other else ""
        out.add(FAIL, f"section of {r.id}", other["line"] if other else 1,
                f"{r.id} cites the runbook section {cited!r}, which is not a section of the runbook{hint}")


def _kind_params(ctx, rule, kind: str) -> list[tuple[str, dict[str, Any]]]:
    return [(r.id, spec.params) for r in ctx.rules or [rule] for spec in r.checks if spec.kind == kind]


def _validation_drift(out: _Out, ctx, rule, v: dict[str, Any]) -> None:
    """5. The validation requirements (function, states, route prefix, capability endpoint) against the
    target and the rules' parameters."""
    function = ctx.target.get("function")
    if v["function"] and function and v["function"]["value"] != function:
        out.add(FAIL, "validation function", v["function"]["line"],
                f"the runbook validates {v['function']['value']}, but the target's function is {function}")
    if v["states"]:
        want = v["states"]["values"]
        checks = _kind_params(ctx, rule, "lambda_state")
        if not checks:
            out.add(FAIL, "validation states", v["states"]["line"],
                    f"the runbook requires {', '.join(f'{k}={x}' for k, x in want.items())}, and no lambda_state rule "
                    "checks it")
        for rid, p in checks:
            have = {"State": p.get("state", "Active"), "LastUpdateStatus": p.get("last_update_status", "Successful")}
            diff = [f"{k}={want.get(k, '(not stated)')} in the runbook, {x} in {rid}" for k, x in have.items()
                    if want.get(k) != x]
            diff += [f"{k}={x} in the runbook, not checked by {rid}" for k, x in want.items() if k not in have]
            if diff:
                out.add(FAIL, f"validation states of {rid}", v["states"]["line"], "; ".join(diff))
    if v["route_prefix"]:
        prefix = v["route_prefix"]["value"]
        checks = _kind_params(ctx, rule, "api_routes")
        if not checks:
            out.add(FAIL, "validation routes", v["route_prefix"]["line"],
                    f"the runbook requires the routes under {prefix} to remain, and no api_routes rule checks them")
        for rid, p in checks:
            have = p.get("prefix", "/api/v1/coordination/")
            if have.rstrip("/") != prefix.rstrip("/"):
                out.add(FAIL, f"validation routes of {rid}", v["route_prefix"]["line"],
                        f"the runbook's route prefix is {prefix}, but {rid} checks {have}")
    if v["capability"] and not _kind_params(ctx, rule, "capability_endpoint"):
        out.add(FAIL, "validation capability endpoint", v["capability"]["line"],
                "the runbook requires the capability endpoint to answer, and no capability_endpoint rule checks it")


def check_runbook_sync(ctx, rule, params) -> list[Finding]:
    path = ctx.target.get("runbook")
    if not path:
        return [Finding(rule.id, "file", "-", NOT_APPLICABLE,
                        "target.runbook is not configured: there is no runbook to compare the rules with")]
    data = ctx.source("runbook")
    label = RepoFiles({"files_ref": data.get("ref")}).label  # the commit the runbook was read at
    if data.get("path") != path:
        return [Finding(rule.id, "file", path, ERROR, f"could not evaluate: the runbook source read {data.get('path')}, "
                                                      f"not target.runbook {path} (re-collect)")]
    out = _Out(rule, path, label, (data.get("ref") or {}).get("sha") or None, data.get("url"))
    if not data["present"]:
        return [Finding(rule.id, "file", path, ERROR, f"could not evaluate: the runbook {path} does not exist "
                        f"{label}: target.runbook names no file of the repository (misconfigured)",
                        [file_evidence(path, f"{path}: absent {label}", None, out.ref)])]
    doc = data.get("document")
    if not isinstance(doc, dict):  # the schema refuses this; a snapshot judged unvalidated must not crash
        return [Finding(rule.id, "file", path, ERROR, f"could not evaluate: the runbook source says {path} exists "
                        f"{label} but holds no parsed document (a damaged snapshot: re-collect)")]
    wanted = set(params.get("drifts") or DRIFTS)
    by_section: dict[str, list[dict[str, Any]]] = {}
    for p in doc["problems"]:
        by_section.setdefault(p["section"], []).append(p)
    for section, problems in by_section.items():
        out.add(ERROR, f"section {section}", problems[0]["line"], "could not evaluate: " + "; ".join(
            f"{p['message']} (line {p['line']})" if n else p["message"] for n, p in enumerate(problems)))
    if "scope" in wanted and doc["scope"]:
        _scope_drift(out, ctx, rule, doc["scope"])
    workflows = _file_drift(out, ctx, data, doc, "files" in wanted)
    if "files" in wanted:
        _target_drift(out, ctx, params, doc)
    if "triggers" in wanted:
        _trigger_drift(out, ctx, rule, doc, workflows)
    if "sections" in wanted:
        _section_drift(out, ctx, rule, doc)
    if "validation" in wanted and doc["validation"]:
        _validation_drift(out, ctx, rule, doc["validation"])
    if out.findings:
        return out.findings
    entries = len(doc["scope"]["entries"]) if doc["scope"] else 0
    ev = [file_evidence(path, f"{path} {label}: {entries} Scope path(s), {len(doc['headings'])} heading(s)", 1,
                        out.ref)]
    return [Finding(rule.id, "file", path, PASS, f"the runbook, the rules and the workflows it names agree "
                                                 f"({', '.join(sorted(wanted))}; {label})", ev)]


register(
    "runbook_sync",
    summary="The runbook (target.runbook, as of the window's end) and the rules agree: every Scope path is governed "
    "by a rule and every rule scope is in the Scope; the workflows and scripts it names exist and are not "
    "tombstones; the canonical workflow runs on every Scope path (unless another automation section names its own "
    "workflow for it); every rule's runbook_section is a section; the validation requirements match the rules.",
    reads=("git",),
    optional_reads=("runbook",),
    subject="file",
    params={
        "properties": {
            "workflow": {"type": "string", "description": "the canonical workflow the rules judge; default: the "
                                                          "target's"},
            "deploy_script": {"type": "string", "description": "the canonical deploy script; default: the target's"},
            "drifts": {"type": "array", "items": {"enum": list(DRIFTS)}, "minItems": 1, "uniqueItems": True,
                       "description": "which drifts to report; default: all"},
        },
    },
    repo_files=lambda params, target: [target.get("runbook") or "",
                                       params.get("workflow") or target.get("workflow") or "",
                                       params.get("deploy_script") or target.get("deploy_script") or ""],
    default_subject=lambda params, target: target.get("runbook"),
    example={"kind": "runbook_sync"},
)(check_runbook_sync)
