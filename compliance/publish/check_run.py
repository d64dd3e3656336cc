"""The check run: conclusion, annotations in batches of 50, and the summary shown on the PR.

Created ``in_progress`` with the first batch; only the last update completes it, so nobody sees a
finished check with half its annotations. Falls back to a commit status when check runs are refused.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from compliance.model.findings import VERDICTS, verdict_text
from compliance.publish.github_api import (
    MAX_ANNOTATIONS_PER_REQUEST,
    MAX_SUMMARY,
    _clip,
    _count,
    _error,
    _plain,
    _repo,
    _setup,
    counts_phrase,
)
from compliance.publish.status import publish_commit_status
from compliance.report import render_all
from compliance.sources.base import Meter

ANNOTATION_LEVEL = {"critical": "failure", "high": "failure", "medium": "warning", "low": "notice", "info": "notice"}
VERDICT_TITLE = {v: f"Compliance: {verdict_text(v)}" for v in VERDICTS}
def conclusion(doc: dict[str, Any], exit_code: int | None = None) -> str:
    """Check-run conclusion: from the caller's gate result when given, else from the verdict."""
    verdict = doc.get("summary", {}).get("verdict")
    if exit_code is None:
        return {"pass": "success", "pending": "neutral"}.get(verdict, "failure")
    if exit_code == 0:
        return "success" if verdict == "pass" else "neutral"
    return "failure"


def annotations(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """One annotation per failed, unevaluable or pending finding that points at a file line.

    A pending one is a ``notice`` whatever the rule's severity: it is not a failure (yet)."""
    out = []
    for f in doc.get("findings", []):
        loc = f.get("location") or {}
        path = loc.get("path")
        status = f.get("status")
        if status not in ("fail", "error", "pending") or not isinstance(path, str) or not path:
            continue
        line = loc.get("line") if isinstance(loc.get("line"), int) and loc["line"] >= 1 else 1
        level = {"error": "failure", "pending": "notice"}.get(status) or ANNOTATION_LEVEL.get(f.get("severity"),
                                                                                              "warning")
        prefix = {"error": "could not evaluate: ", "pending": "pending (not judged yet): "}.get(status, "")
        item: dict[str, Any] = {
            "path": path.removeprefix("./"),
            "start_line": line,
            "end_line": line,
            "annotation_level": level,
            "message": _plain(f"{prefix}{f.get('subject_type', '')} {f.get('subject', '')}: {f.get('message', '')}",
                              4000),
            "title": _plain(f.get("rule_id"), 255),
        }
        command = (f.get("remediation") or {}).get("command")
        if command:
            item["raw_details"] = _plain(command, 8000)
        out.append(item)
    out.sort(key=lambda a: (a["path"], a["start_line"], a["title"], a["message"]))
    return out


def summary_markdown(doc: dict[str, Any], markdown: str | None = None) -> str:
    if markdown is None:
        markdown = render_all(doc, ["md"])["md"]
    note = "\n\n… (truncated: GitHub limits a check-run summary to 65,535 bytes; see the full report)\n"
    return _clip(markdown, MAX_SUMMARY, note)


def _batches(items: list[dict[str, Any]], size: int = MAX_ANNOTATIONS_PER_REQUEST) -> list[list[dict[str, Any]]]:
    return [items[i:i + size] for i in range(0, len(items), size)] or [[]]


# --------------------------------------------------------------------------- check run


def publish_check_run(
    repo: str,
    head_sha: str,
    doc: dict[str, Any],
    *,
    name: str = "compliance",
    token: str | None = None,
    base_url: str | None = None,
    meter: Meter | None = None,
    exit_code: int | None = None,
    details_url: str | None = None,
    markdown: str | None = None,
    gh: Any = None,
    **client_options: Any,
) -> dict[str, Any]:
    """Create a check run with annotations; fall back to a commit status when check runs are refused.

    ``exit_code`` is the caller's gate result (``gating.gate``), so ``--soft-fail`` and ``--fail-on``
    shape the conclusion; without it the verdict decides. Returns what was published.
    """
    from github import GithubException, RateLimitExceededException

    gh = _setup(token, base_url, gh, client_options, repo)
    repository = _repo(gh, repo)
    summary = doc.get("summary", {})
    title = f"{VERDICT_TITLE.get(summary.get('verdict'), 'Compliance')}: {counts_phrase(summary)}"
    text = summary_markdown(doc, markdown)
    notes = annotations(doc)
    batches = _batches(notes)
    final = conclusion(doc, exit_code)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    extra = {"details_url": details_url} if details_url else {}
    single = len(batches) == 1
    try:
        run = repository.create_check_run(
            name=name,
            head_sha=head_sha,
            status="completed" if single else "in_progress",
            **({"conclusion": final, "completed_at": now} if single else {}),
            output={"title": title, "summary": text, "annotations": batches[0]},
            **extra,
        )
        _count(meter)
    except RateLimitExceededException as exc:
        _count(meter)
        raise _error("check run", exc) from exc
    except GithubException as exc:
        _count(meter)
        if exc.status != 403:
            raise _error("check run", exc) from exc
        reason = _error("check run", exc).args[0]
        if meter is not None:
            meter.warnings.append(f"{reason}; published a commit status instead")
        result = publish_commit_status(repo, head_sha, doc, exit_code=exit_code, target_url=details_url,
                                       context=name, meter=meter, gh=gh)
        return {**result, "fallback_from": "check_run", "reason": reason}
    requests = 1
    try:
        for i, batch in enumerate(batches[1:], start=2):
            last = i == len(batches)
            run.edit(
                output={"title": title, "summary": text, "annotations": batch},
                **({"status": "completed", "conclusion": final, "completed_at": now} if last else {}),
            )
            _count(meter)
            requests += 1
    except GithubException as exc:
        _count(meter)
        raise _error("check run update", exc) from exc
    return {
        "kind": "check_run",
        "id": run.id,
        "url": run.html_url,
        "conclusion": final,
        "annotations": len(notes),
        "requests": requests,
    }
