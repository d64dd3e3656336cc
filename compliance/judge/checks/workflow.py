"""The canonical workflow and deploy script, read from the governed repository at the branch head.

Both drift in real life: the runbook's scope grew while the workflow's ``paths`` did not; the
validation step prints State/LastUpdateStatus and asserts nothing; the deploy script became a
one-line tombstone while runs kept succeeding.
"""

from __future__ import annotations

import re
from typing import Any

from compliance.base.globs import example_path, filter_match
from compliance.base.redact import clip
from compliance.judge.checks.common import file_evidence
from compliance.judge.registry import register
from compliance.model.findings import ERROR, FAIL, PASS, Finding


def _workflow_path(ctx, params) -> str:
    return params.get("workflow") or ctx.target.get("workflow") or ""


def _line_of(text: str, pattern: str, start: int = 0) -> int | None:
    rx = re.compile(pattern)
    for n, line in enumerate(text.splitlines()[start:], start + 1):
        if rx.search(line):
            return n
    return None


def _load_workflow(ctx, rule, params) -> tuple[str, str | None, Any, Finding | None]:
    import yaml

    path = _workflow_path(ctx, params)
    files = ctx.source("git").get("files_at_head", {})
    if path not in files:
        return path, None, None, Finding(rule.id, "file", path or "-", ERROR,
                                         "the workflow file was not collected (re-collect with these rules)")
    text = files[path]
    if text is None:
        return path, None, None, Finding(rule.id, "file", path, FAIL, "the canonical workflow is absent at the branch head",
                                         location={"path": path, "line": 1})
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return path, text, None, Finding(rule.id, "file", path, FAIL, f"the workflow is not valid YAML: {exc}",
                                         location={"path": path, "line": (mark.line + 1) if mark else 1})
    if not isinstance(doc, dict):
        return path, text, None, Finding(rule.id, "file", path, FAIL, "the workflow is not a YAML mapping",
                                         location={"path": path, "line": 1})
    return path, text, doc, None


def _repo_files_workflow(params, target) -> list[str]:
    return [params.get("workflow") or target.get("workflow") or ""]


def _triggers(doc: dict) -> dict:
    on = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on:` key as the boolean True
    if isinstance(on, str):
        return {on: {}}
    if isinstance(on, list):
        return {k: {} for k in on if isinstance(k, str)}
    return on if isinstance(on, dict) else {}


def check_workflow_push_filter(ctx, rule, params) -> list[Finding]:
    path, text, doc, problem = _load_workflow(ctx, rule, params)
    if problem:
        return [problem]
    on = _triggers(doc)
    push = on.get("push")
    branch = rule.scope.branch or ctx.target.get("branch", "main")
    problems = []
    if "push" not in on:
        problems.append("it has no push trigger")
        push = None
    push = push if isinstance(push, dict) else {}
    if "push" in on:
        if push.get("branches") is not None and not filter_match([str(b) for b in push["branches"]], branch):
            problems.append(f"push.branches does not include {branch}")
        if push.get("branches-ignore") and filter_match([str(b) for b in push["branches-ignore"]], branch):
            problems.append(f"push.branches-ignore excludes {branch}")
    paths, ignore = push.get("paths"), push.get("paths-ignore")

    def covered(p: str) -> bool:
        if "push" not in on:
            return False
        if paths is not None:
            return filter_match([str(x) for x in paths], p)
        return not (ignore and filter_match([str(x) for x in ignore], p))

    wanted: dict[str, str] = {}
    for glob in rule.scope.include:
        wanted.setdefault(example_path(glob), f"scope {glob}")
    for extra in params.get("also_paths", []):
        wanted.setdefault(example_path(extra), f"required path {extra}")
    for change in ctx.changes(rule.scope):
        for f in rule.scope.select(change.files):
            wanted.setdefault(f, f"changed in {change.short}")
    uncovered = sorted(f"{why} ({p})" if why.startswith("changed") else why for p, why in wanted.items() if not covered(p))
    if uncovered:
        problems.append("push.paths does not cover: " + "; ".join(uncovered[:10])
                        + (f" and {len(uncovered) - 10} more" if len(uncovered) > 10 else ""))
    if params.get("require_dispatch", True) and "workflow_dispatch" not in on:
        problems.append("it cannot be run by hand (no workflow_dispatch)")
    line = _line_of(text, r"^\s+paths:") or _line_of(text, r"^\s*push:") or _line_of(text, r"^\s*['\"]?on['\"]?:") or 1
    ev = [file_evidence(path, clip(f"{path}: on.push.paths = {paths!r}", 300), line)]
    if problems:
        return [Finding(rule.id, "file", path, FAIL, f"{path}: " + "; ".join(problems), ev,
                        location={"path": path, "line": line})]
    return [Finding(rule.id, "file", path, PASS,
                    f"push filter covers {len(wanted)} scoped path(s) on {branch}", ev)]


register(
    "workflow_push_filter",
    summary="The canonical workflow runs on push to the branch for every scoped path (the rule's scope, extra "
    "required paths, and every in-scope file changed in the window) and can be dispatched by hand.",
    needs=("git",),
    subject="file",
    params={
        "properties": {
            "workflow": {"type": "string", "description": "workflow file; default: the target's workflow"},
            "also_paths": {"type": "array", "items": {"type": "string"},
                           "description": "further paths the runbook scopes (e.g. infrastructure/cloudformation/03-api.yaml)"},
            "require_dispatch": {"type": "boolean", "default": True, "description": "require workflow_dispatch"},
        },
    },
    repo_files=_repo_files_workflow,
    example={"kind": "workflow_push_filter", "also_paths": ["infrastructure/cloudformation/03-api.yaml"]},
)(check_workflow_push_filter)


def check_workflow_validation_asserts(ctx, rule, params) -> list[Finding]:
    from compliance.judge.shell import verdicts

    path, text, doc, problem = _load_workflow(ctx, rule, params)
    if problem:
        return [problem]
    script = params.get("deploy_script") or ctx.target.get("deploy_script") or ""
    verdict = verdicts.judge_validation(text, doc, ctx.target.get("function", ""), script)
    line = verdict.line or _line_of(text, r"^\s*steps:") or 1
    ev = [file_evidence(path, f"{path}: {verdict.evidence}"[:300], line)]
    if verdict.ok:
        return [Finding(rule.id, "file", path, PASS, verdict.message, ev)]
    return [Finding(rule.id, "file", path, FAIL, verdict.message, ev, location={"path": path, "line": line})]


register(
    "workflow_validation_asserts",
    summary="The canonical workflow's validation step asserts (not just prints) State=Active and "
    "LastUpdateStatus=Successful after the deploy step in the same job, so a failed deploy fails the run.",
    needs=("git",),
    subject="file",
    params={"properties": {
        "workflow": {"type": "string", "description": "workflow file; default: the target's"},
        "deploy_script": {"type": "string", "description": "the script the deploy step runs; default: the target's"},
    }},
    repo_files=_repo_files_workflow,
    example={"kind": "workflow_validation_asserts"},
)(check_workflow_validation_asserts)


def check_deploy_script_present(ctx, rule, params) -> list[Finding]:
    from compliance.judge.shell import verdicts

    path = params.get("path") or ctx.target.get("deploy_script") or ""
    files = ctx.source("git").get("files_at_head", {})
    if path not in files:
        return [Finding(rule.id, "file", path or "-", ERROR, "the deploy script was not collected")]
    text = files[path]
    if text is None:
        return [Finding(rule.id, "file", path, FAIL, "the deploy script is absent at the branch head",
                        location={"path": path, "line": 1})]
    verdict = verdicts.judge_deploy_script(text, ctx.target.get("function", ""))
    code = [ln for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    line = verdict.line or 1
    ev = [file_evidence(path, f"{path}: {verdict.evidence}"[:300], line)]
    if not verdict.ok:
        return [Finding(rule.id, "file", path, FAIL, verdict.message, ev, location={"path": path, "line": line})]
    if len(code) < params.get("min_lines", 3):
        return [Finding(rule.id, "file", path, FAIL,
                        f"{len(code)} line(s) of code, fewer than the rule's min_lines "
                        f"{params.get('min_lines', 3)} ({verdict.message})", ev, location={"path": path, "line": 1})]
    return [Finding(rule.id, "file", path, PASS, verdict.message, ev)]


register(
    "deploy_script_present",
    summary="The deploy script exists at the branch head and is not a tombstone: some command it runs invokes a "
    "deploying tool (aws, sam, cdk, terraform, ...) or another script, not only echo/exit/set/true.",
    needs=("git",),
    subject="file",
    params={
        "properties": {
            "path": {"type": "string", "description": "script path; default: the target's deploy_script"},
            "min_lines": {"type": "integer", "minimum": 1, "default": 3,
                          "description": "minimum non-blank, non-comment lines (on top of the command check)"},
        },
    },
    repo_files=lambda params, target: [params.get("path") or target.get("deploy_script") or ""],
    example={"kind": "deploy_script_present", "min_lines": 3},
)(check_deploy_script_present)
