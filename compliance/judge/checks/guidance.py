"""Runbook governance note: governance guidance keeps referencing the runbook.

The reference looked for is the runbook's path (the rule's ``reference``, else ``target.runbook``),
and the runbook itself is read at the same commit: guidance pointing at a runbook that does not
exist proves nothing, and a rule naming a path the repository never had is misconfigured, which
is `error` (fix the rule), not a `fail` of the guidance.
"""

from __future__ import annotations

import re
import string

from compliance.judge.checks.common import file_evidence
from compliance.judge.registry import register
from compliance.model.findings import ERROR, FAIL, PASS, Finding

_PATH = frozenset(string.ascii_letters + string.digits + "_-./")


def _this_repo_url(before: str, repo: str | None) -> bool:
    """Whether ``before`` ends in a link into this repository's tree (``github.com/OWNER/NAME/blob/REF/``)."""
    if not repo or "/" not in repo:
        return False
    owner, name = (re.escape(p) for p in repo.split("/", 1))
    return re.search(rf"(?:^|[^\w.-])(?:https?://)?(?:(?:www\.)?github\.com/{owner}/{name}/(?:blob|tree)|"
                     rf"raw\.githubusercontent\.com/{owner}/{name})/[^\s/]+/$(?!\n)", before, re.IGNORECASE) is not None


def refers(line: str, ref: str, repo: str | None) -> bool:
    """Whether ``line`` names the runbook path ``ref`` as a whole path: not as the tail of another path
    (``old-backend/...``, ``legacy/backend/...``), not as the head of one (``....md.bak``), not inside a
    URL to another repository or site; a link into this repository's tree (``repo``) and ``./`` count."""
    start = 0
    while (i := line.find(ref, start)) >= 0:
        start = i + 1
        before, after = line[:i], line[i + len(ref):]
        if after[:1] and (after[0] in _PATH - {"."} or (after[0] == "." and after[1:2] in _PATH - {"."})):
            continue  # the path goes on: another file
        plain = not before or before[-1] not in _PATH
        dotted = before.endswith("./") and (len(before) == 2 or before[-3] not in _PATH)
        if plain or dotted or _this_repo_url(before, repo):
            return True
    return False


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
    repo = ctx.target.get("github_repo")
    for path in params["files"]:
        text = files.text(path)
        if not files.collected(path):
            return [Finding(rule.id, "file", path, ERROR, f"{path} was not collected (re-collect with these rules)")]
        if text is None:
            results[path] = (False, f"absent {files.label}", None)
            continue
        line = next((n for n, ln in enumerate(text.splitlines(), 1) if refers(ln, ref, repo)), None)
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
