"""Runbook governance note: governance guidance keeps referencing the runbook.

The reference looked for is the runbook's path (the rule's ``reference``, else ``target.runbook``),
and the runbook itself is read at the same commit: guidance pointing at a runbook that does not
exist proves nothing, and a rule naming a path the repository never had is misconfigured, which
is `error` (fix the rule), not a `fail` of the guidance.
"""

from __future__ import annotations

from compliance.judge.checks.common import file_evidence
from compliance.judge.registry import register
from compliance.model.findings import ERROR, FAIL, PASS, Finding


def check_guidance_references(ctx, rule, params) -> list[Finding]:
    files = ctx.files
    ref = params.get("reference") or ctx.target.get("runbook")
    subject = ", ".join(params["files"])
    if not ref:
        return [Finding(rule.id, "file", subject, ERROR, "no runbook to look for: set target.runbook (or the rule's "
                                                         "reference)")]
    if not files.collected(ref):
        return [Finding(rule.id, "file", subject, ERROR, f"could not evaluate: the runbook {ref} was not collected, so "
                                                         "nothing shows it exists (re-collect with these rules)")]
    if files.text(ref) is None:
        return [Finding(rule.id, "file", subject, ERROR,
                        f"could not evaluate: the runbook {ref} does not exist {files.label}, so a reference to it "
                        "proves nothing: the rule (or target.runbook) is misconfigured",
                        [file_evidence(ref, f"{ref}: absent {files.label}", None, files.ref_sha)])]
    results = {}
    for path in params["files"]:
        text = files.text(path)
        if not files.collected(path):
            return [Finding(rule.id, "file", path, ERROR, f"{path} was not collected (re-collect with these rules)")]
        if text is None:
            results[path] = (False, f"absent {files.label}", None)
            continue
        line = next((n for n, ln in enumerate(text.splitlines(), 1) if ref in ln), None)
        results[path] = (line is not None, f"line {line}" if line else "does not mention it", line)
    ok = [p for p, (hit, _, _) in results.items() if hit]
    need_all = params.get("mode", "any") == "all"
    passed = len(ok) == len(results) if need_all else bool(ok)
    ev = [file_evidence(p, f"{p}: {why} ({files.label})", line, files.ref_sha) for p, (_, why, line) in results.items()]
    if passed:
        return [Finding(rule.id, "file", subject, PASS, f"{', '.join(ok)} reference {ref} ({files.label})", ev)]
    missing = [p for p in results if p not in ok]
    return [Finding(rule.id, "file", subject, FAIL, f"{', '.join(missing)} do(es) not reference {ref} ({files.label})",
                    ev,
                    location={"path": missing[0], "line": 1})]


register(
    "guidance_references",
    summary="Governance guidance files in the repository reference the runbook.",
    reads=("git",),
    subject="file",
    params={
        "required": ["files"],
        "properties": {
            "files": {"type": "array", "items": {"type": "string"}, "minItems": 1,
                      "description": "guidance files (e.g. AGENTS.md, docs/governance.md)"},
            "reference": {"type": "string", "minLength": 1,
                          "description": "the runbook path that must appear; default: target.runbook"},
            "mode": {"enum": ["any", "all"], "default": "any",
                     "description": "whether any one file or every file must reference it"},
        },
    },
    repo_files=lambda params, target: [*params.get("files", []), params.get("reference") or target.get("runbook") or ""],
    example={"kind": "guidance_references", "files": ["AGENTS.md", "backend/README.md"]},
)(check_guidance_references)
