"""The canonical workflow and deploy script, read from the governed repository as of the window's end.

Both drift in real life: the runbook's scope grew while the workflow's ``paths`` did not; the
validation step prints State/LastUpdateStatus and asserts nothing; the deploy script became a
one-line tombstone while runs kept succeeding.
"""

from __future__ import annotations

import copy
import functools
import re
from typing import Any

from compliance.base.globs import example_path, filter_match
from compliance.base.redact import clip
from compliance.judge.checks import workflow_yaml
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


def _parse(text: str) -> tuple[Any, str | None, int]:
    """``(doc, problem, line)``: the workflow as YAML, or why it is not one and where.

    A judge reads the same workflow text several times (the trigger check, the validation check,
    the per-change history, the runbook's named files), and PyYAML's pure-Python loader costs ~2 ms
    a parse of a 1.5 KB workflow. The result is kept per text and each caller gets its own copy.
    libyaml's CSafeLoader would be ten times faster, but it accepts texts the pure-Python loader
    refuses (measured: 589 of 20,000 fuzzed workflow texts), which would turn a "not valid YAML"
    failure into a judged workflow; the verdict must not depend on which loader is installed.
    """
    doc, problem, line = _parse_once(text)
    return copy.deepcopy(doc), problem, line


@functools.lru_cache(maxsize=64)
def _parse_once(text: str) -> tuple[Any, str | None, int]:
    return workflow_yaml.load(text)


def _load_workflow(ctx, rule, params) -> tuple[str, str | None, Any, Finding | None]:
    """The workflow as of the window's end (``ctx.files``); every problem names the commit it read."""
    path = _workflow_path(ctx, params)
    files = ctx.files
    if not files.collected(path):
        return path, None, None, Finding(rule.id, "file", path or "-", ERROR,
                                         "the workflow file was not collected (re-collect with these rules)")
    text = files.text(path)
    ev = [file_evidence(path, f"{path}: {'absent' if text is None else 'read'} {files.label}", 1, files.ref_sha)]
    if text is None:
        return path, None, None, Finding(rule.id, "file", path, FAIL, f"the canonical workflow is absent {files.label}",
                                         ev, location={"path": path, "line": 1})
    doc, problem, line = _parse(text)
    if problem:
        return path, text, None, Finding(rule.id, "file", path, FAIL, f"{problem} ({files.label})", ev,
                                         location={"path": path, "line": line})
    return path, text, doc, None


def _repo_files_workflow(params, target) -> list[str]:
    return [params.get("workflow") or target.get("workflow") or ""]


def _triggers(doc: dict) -> dict:
    on = doc.get("on")  # the text "on": workflows are read as YAML 1.2 (``workflow_yaml``), as GitHub reads them
    if isinstance(on, str):
        return {on: {}}
    if isinstance(on, list):
        return {k: {} for k in on if isinstance(k, str)}
    return on if isinstance(on, dict) else {}


def _filter_problems(push: dict) -> list[str]:
    """What GitHub refuses in a push filter: a value that is not a list of strings (its schema), or a
    filter given together with its ``-ignore`` twin ("you cannot use both")."""
    out = []
    for key in ("branches", "branches-ignore", "paths", "paths-ignore"):
        value = push.get(key)
        if key in push and not (isinstance(value, list) and all(isinstance(v, (str, int, float)) and
                                                                  not isinstance(v, bool) for v in value)):
            out.append(f"push.{key} is not a list of patterns ({clip(repr(value), 60)}), which GitHub refuses")
    for key in ("branches", "paths"):
        if key in push and f"{key}-ignore" in push:
            out.append(f"it sets both push.{key} and push.{key}-ignore, which GitHub refuses")
    return out


def _push_filter(doc: dict, branch: str) -> tuple[list[str], Any]:
    """``(problems, covered)``: what keeps the workflow from running on push to ``branch``, and a
    predicate saying whether a push touching a path triggers it."""
    on = _triggers(doc)
    push = on.get("push")
    problems = []
    if "push" not in on:
        problems.append("it has no push trigger")
    push = push if isinstance(push, dict) else {}
    bad = _filter_problems(push)
    if bad:  # a filter GitHub refuses runs nothing
        return problems + bad, lambda p: False
    if "push" in on:
        if push.get("branches") is not None and not filter_match([str(b) for b in push["branches"]], branch):
            problems.append(f"push.branches does not include {branch}")
        if push.get("branches-ignore") and filter_match([str(b) for b in push["branches-ignore"]], branch):
            problems.append(f"push.branches-ignore excludes {branch}")
        # GitHub: with only tags (or tags-ignore) filtered and no branch filter, a push of a branch runs nothing
        if ("tags" in push or "tags-ignore" in push) and "branches" not in push and "branches-ignore" not in push:
            problems.append(f"push filters only tags, so a push to {branch} runs nothing")
    paths, ignore = push.get("paths"), push.get("paths-ignore")

    def covered(p: str) -> bool:
        if "push" not in on:
            return False
        if paths is not None:
            return filter_match([str(x) for x in paths], p)
        return not (ignore and filter_match([str(x) for x in ignore], p))

    return problems, covered


def _change_problems(ctx, rule, path: str, branch: str, fallback, seen: set[str]) -> list[str]:
    """Each in-scope file of each window change, judged by the push filter in force at that change.

    GitHub runs the workflow as it is in the pushed commit, so a commit that edits the filter
    changes it from then on (itself included), and a change pushed while the workflow was absent (or
    did not run on the branch) triggered nothing. Without collected versions (an older snapshot, a
    pull request) the window's-end filter is the one there is. One entry per path: its first miss."""
    files = ctx.files
    parsed: dict[str | None, Any] = {}
    out = []
    for change in ctx.changes(rule.scope):
        set_at, blob = files.blob_at(path, change.position)
        where = None
        covered = fallback
        if set_at is not None:
            where = files.commit_label(set_at)
            if blob not in parsed:
                text = files.text_of(blob)
                doc = _parse(text)[0] if text is not None else None
                runs = doc is not None and not _push_filter(doc, branch)[0]
                parsed[blob] = _push_filter(doc, branch)[1] if runs else None
            covered = parsed[blob]
        for f in rule.scope.select(change.files):
            if f in seen or (covered is not None and covered(f)):
                continue
            seen.add(f)
            if covered is None:
                out.append(f"changed in {change.short} ({f}) while the workflow in force (as of {where}) did not "
                           f"run on push to {branch}")
            else:
                out.append(f"changed in {change.short} ({f})" + (f", by the filter as of {where}" if where else ""))
    return out


def check_workflow_push_filter(ctx, rule, params) -> list[Finding]:
    path, text, doc, problem = _load_workflow(ctx, rule, params)
    if problem:
        return [problem]
    files = ctx.files
    branch = rule.scope.branch or ctx.target.get("branch", "main")
    problems, covered = _push_filter(doc, branch)
    wanted: dict[str, str] = {}
    for glob in rule.scope.include:
        wanted.setdefault(example_path(glob), f"scope {glob}")
    for extra in params.get("also_paths", []):
        wanted.setdefault(example_path(extra), f"required path {extra}")
    uncovered = sorted([why for p, why in wanted.items() if not covered(p)]
                       + _change_problems(ctx, rule, path, branch, covered, set(wanted)))
    if uncovered:
        problems.append("push.paths does not cover: " + "; ".join(uncovered[:10])
                        + (f" and {len(uncovered) - 10} more" if len(uncovered) > 10 else ""))
    if params.get("require_dispatch", True) and "workflow_dispatch" not in _triggers(doc):
        problems.append("it cannot be run by hand (no workflow_dispatch)")
    push = _triggers(doc).get("push")
    paths = push.get("paths") if isinstance(push, dict) else None
    line = _line_of(text, r"^\s+paths:") or _line_of(text, r"^\s*push:") or _line_of(text, r"^\s*['\"]?on['\"]?:") or 1
    ev = [file_evidence(path, clip(f"{path} {files.label}: on.push.paths = {paths!r}", 300), line, files.ref_sha)]
    if problems:
        return [Finding(rule.id, "file", path, FAIL, f"{path} ({files.label}): " + "; ".join(problems), ev,
                        location={"path": path, "line": line})]
    return [Finding(rule.id, "file", path, PASS,
                    f"push filter covers {len(wanted)} scoped path(s) and every in-scope change on {branch} "
                    f"({files.label})", ev)]


register(
    "workflow_push_filter",
    summary="The canonical workflow runs on push to the branch for every scoped path (the rule's scope, extra "
    "required paths, and every in-scope file changed in the window) and can be dispatched by hand.",
    reads=("git",),
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
    # deliberate lazy import: the shell parser is paid for when a rule judges a workflow's steps, not by every
    # import of the check registry (``rules validate`` is start-up bound)
    from compliance.judge.shell import verdicts

    path, text, doc, problem = _load_workflow(ctx, rule, params)
    if problem:
        return [problem]
    script = params.get("deploy_script") or ctx.target.get("deploy_script") or ""
    verdict = verdicts.judge_validation(text, doc, ctx.target.get("function", ""), script)
    line = verdict.line or _line_of(text, r"^\s*steps:") or 1
    files = ctx.files
    ev = [file_evidence(path, f"{path} {files.label}: {verdict.evidence}"[:300], line, files.ref_sha)]
    message = f"{verdict.message} ({files.label})"
    if verdict.ok:
        return [Finding(rule.id, "file", path, PASS, message, ev)]
    return [Finding(rule.id, "file", path, FAIL, message, ev, location={"path": path, "line": line})]


register(
    "workflow_validation_asserts",
    summary="The canonical workflow's validation step asserts (not just prints) State=Active and "
    "LastUpdateStatus=Successful after the deploy step in the same job, so a failed deploy fails the run.",
    reads=("git",),
    subject="file",
    params={"properties": {
        "workflow": {"type": "string", "description": "workflow file; default: the target's"},
        "deploy_script": {"type": "string", "description": "the script the deploy step runs; default: the target's"},
    }},
    repo_files=_repo_files_workflow,
    example={"kind": "workflow_validation_asserts"},
)(check_workflow_validation_asserts)


def check_deploy_script_present(ctx, rule, params) -> list[Finding]:
    from compliance.judge.shell import deploy_script  # deliberate lazy import, as above

    path = params.get("path") or ctx.target.get("deploy_script") or ""
    files = ctx.files
    if not files.collected(path):
        return [Finding(rule.id, "file", path or "-", ERROR, "the deploy script was not collected")]
    text = files.text(path)
    if text is None:
        return [Finding(rule.id, "file", path, FAIL, f"the deploy script is absent {files.label}",
                        [file_evidence(path, f"{path}: absent {files.label}", 1, files.ref_sha)],
                        location={"path": path, "line": 1})]
    verdict = deploy_script.judge_deploy_script(text, ctx.target.get("function", ""))
    code = [ln for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    line = verdict.line or 1
    ev = [file_evidence(path, f"{path} {files.label}: {verdict.evidence}"[:300], line, files.ref_sha)]
    if not verdict.ok:
        return [Finding(rule.id, "file", path, FAIL, f"{verdict.message} ({files.label})", ev,
                        location={"path": path, "line": line})]
    if len(code) < params.get("min_lines", 3):
        return [Finding(rule.id, "file", path, FAIL,
                        f"{len(code)} line(s) of code, fewer than the rule's min_lines "
                        f"{params.get('min_lines', 3)} ({verdict.message}; {files.label})", ev,
                        location={"path": path, "line": 1})]
    return [Finding(rule.id, "file", path, PASS, f"{verdict.message} ({files.label})", ev)]


register(
    "deploy_script_present",
    summary="The deploy script exists as of the window's end and is not a tombstone: some command it runs invokes a "
    "deploying tool (aws, sam, cdk, terraform, ...) or another script, not only echo/exit/set/true.",
    reads=("git",),
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
