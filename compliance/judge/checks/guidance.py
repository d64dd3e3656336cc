"""Runbook governance note: governance guidance keeps referencing the runbook."""

from __future__ import annotations

from compliance.judge.checks.common import file_evidence
from compliance.judge.registry import register
from compliance.model.findings import FAIL, PASS, Finding


def check_guidance_references(ctx, rule, params) -> list[Finding]:
    files = ctx.files
    ref = params["reference"]
    results = {}
    for path in params["files"]:
        text = files.text(path)
        if not files.collected(path):
            return [Finding(rule.id, "file", path, FAIL, f"{path} was not collected (re-collect with these rules)")]
        if text is None:
            results[path] = (False, f"absent {files.label}", None)
            continue
        line = next((n for n, ln in enumerate(text.splitlines(), 1) if ref in ln), None)
        results[path] = (line is not None, f"line {line}" if line else "does not mention it", line)
    ok = [p for p, (hit, _, _) in results.items() if hit]
    need_all = params.get("mode", "any") == "all"
    passed = len(ok) == len(results) if need_all else bool(ok)
    subject = ", ".join(params["files"])
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
        "required": ["files", "reference"],
        "properties": {
            "files": {"type": "array", "items": {"type": "string"}, "minItems": 1,
                      "description": "guidance files (e.g. AGENTS.md, docs/governance.md)"},
            "reference": {"type": "string", "minLength": 1, "description": "text that must appear (the runbook path)"},
            "mode": {"enum": ["any", "all"], "default": "any",
                     "description": "whether any one file or every file must reference it"},
        },
    },
    repo_files=lambda params, target: list(params.get("files", [])),
    example={"kind": "guidance_references", "files": ["AGENTS.md"], "reference": "docs/runbooks/api-mcp-deploy.md"},
)(check_guidance_references)
