"""PR mode: judge a pull request before merge, publish the set, then tell GitHub.

The verdict is published (check run, commit status, job summary, one comment) only after the
report set is on disk, and publishing never changes the exit code: a reviewer can always find
the reports the check run summarises.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compliance.app.gating import gate
from compliance.app.loading import precheck, previous_for
from compliance.app.persist import Persisted, persist
from compliance.app.pr import pr_number_from_event, pr_snapshot
from compliance.app.pr_local import local_pull_request
from compliance.base.errors import ComplianceError
from compliance.base.fsutil import atomic_write_text
from compliance.base.redact import redact
from compliance.publish import publish_check_run, publish_commit_status, upsert_pr_comment, write_step_summary
from compliance.report.markdown import render
from compliance.sources.base import Meter
from compliance.sources.github import fetch_pull_request


@dataclass
class PrRun:
    """A judged PR: the set published, the exit code and what the GitHub side needs."""

    persisted: Persisted
    code: int
    repo: str
    number: int
    head_sha: str
    markdown: str


def judge_pr(config: Any, ruleset: Any, out: Path, formats: Iterable[str], *, number: int | None = None,
             head_ref: str | None = None, sarif: str | None = None, junit: str | None = None,
             waivers: str | None = None, warn_days: int | None = None, fail_on: str | None = None,
             soft_fail: bool = False, previous: str | None = None, fail_on_new: bool = False) -> PrRun:
    """Read the PR, make its snapshot, persist the set (plus copies of SARIF/JUnit where CI wants them)."""
    prior = previous_for(precheck(ruleset, waivers, warn_days, previous), config.target)
    repo = config.target.get("github_repo")
    if not repo:
        raise ComplianceError("compliance pr needs target.github_repo in the config")
    number = number or pr_number_from_event()
    try:
        pr = fetch_pull_request(repo, number, meter=Meter())
    except Exception as exc:  # noqa: BLE001 - the PR itself is the input: without it nothing can be judged
        raise ComplianceError(f"cannot read PR #{number} of {repo}: {type(exc).__name__}: "
                              f"{redact(str(exc))}") from None
    snapshot = pr_snapshot(config, ruleset, pr, head_ref=head_ref)
    return _judged(snapshot, ruleset, out, formats, repo, pr, sarif=sarif, junit=junit, waivers=waivers,
                   warn_days=warn_days, fail_on=fail_on, soft_fail=soft_fail, previous=prior,
                   fail_on_new=fail_on_new)


def judge_local(config: Any, ruleset: Any, out: Path, formats: Iterable[str], *, base: str, head: str = "HEAD",
                title: str | None = None, body: str | None = None, number: int | None = None,
                sarif: str | None = None, junit: str | None = None, waivers: str | None = None,
                warn_days: int | None = None, fail_on: str | None = None, soft_fail: bool = False,
                previous: str | None = None, fail_on_new: bool = False) -> PrRun:
    """The local pre-merge check: the branch as the PR it would become (``app.pr_local``), judged and
    persisted exactly as ``judge_pr`` does, so its verdicts, reports and exit code are the PR check's."""
    prior = previous_for(precheck(ruleset, waivers, warn_days, previous), config.target)
    pr = local_pull_request(config.target.get("repo", "."), base, head, title=title, body=body, number=number,
                            base_ref=config.target["branch"])
    snapshot = pr_snapshot(config, ruleset, pr)
    return _judged(snapshot, ruleset, out, formats, config.target.get("github_repo") or "", pr, sarif=sarif,
                   junit=junit, waivers=waivers, warn_days=warn_days, fail_on=fail_on, soft_fail=soft_fail,
                   previous=prior, fail_on_new=fail_on_new)


def _judged(snapshot: dict[str, Any], ruleset: Any, out: Path, formats: Iterable[str], repo: str,
            pr: dict[str, Any], *, sarif: str | None, junit: str | None, waivers: str | None,
            warn_days: int | None, fail_on: str | None, soft_fail: bool, previous: dict[str, Any] | None,
            fail_on_new: bool) -> PrRun:
    formats = tuple(dict.fromkeys((*formats, *(("sarif",) if sarif else ()), *(("junit",) if junit else ()))))
    result = persist(snapshot, ruleset, out, "pr", formats, waivers=waivers, warn_days=warn_days,
                     previous=previous)
    written = result.written
    for fmt, dest in (("sarif", sarif), ("junit", junit)):
        if dest and Path(dest).resolve() != written[fmt].resolve():
            written[fmt] = atomic_write_text(dest, written[fmt].read_text("utf-8"))
    code = gate(result.doc, fail_on=fail_on, soft_fail=soft_fail, fail_on_new=fail_on_new)
    markdown = written["md"].read_text("utf-8") if "md" in written else render(result.doc)
    return PrRun(result, code, repo, pr["number"], pr["head_sha"], markdown)


def details_url(repo: str) -> str | None:
    """The Actions run that judged the PR, when running in Actions."""
    server, run_id = os.environ.get("GITHUB_SERVER_URL"), os.environ.get("GITHUB_RUN_ID")
    if not (server and run_id):
        return None
    return f"{server}/{os.environ.get('GITHUB_REPOSITORY', repo)}/actions/runs/{run_id}"


def publish_verdict(run: PrRun, how: str) -> str | None:
    """Publish as a check run (falling back to a commit status) or a status; the line saying where, or None."""
    details = details_url(run.repo)
    if how == "check-run":
        result = publish_check_run(run.repo, run.head_sha, run.persisted.doc, exit_code=run.code,
                                   markdown=run.markdown, details_url=details)
        via = f" (fallback: {result['reason']})" if result.get("fallback_from") else ""
        return f"  publish  {result.get('kind', 'check run')} {result.get('url') or ''}{via}".rstrip()
    if how == "status":
        publish_commit_status(run.repo, run.head_sha, run.persisted.doc, exit_code=run.code, target_url=details)
        return "  publish  commit status"
    return None


def step_summary(run: PrRun) -> None:
    write_step_summary(run.markdown)


def comment(run: PrRun) -> None:
    upsert_pr_comment(run.repo, run.number, run.markdown)


__all__ = ["PrRun", "comment", "details_url", "judge_local", "judge_pr", "publish_verdict", "step_summary"]
