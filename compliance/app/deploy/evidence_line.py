"""The deploy's worklog line: made one way, tried in preflight with every input it will be made of.

A line refused after the deploy would record nothing, so preflight builds the same line with both
outcomes and reads it back field by field before anything is deployed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from compliance.app.deploy.facts import SCRIPT_TIMEOUT, Plan, PreflightError
from compliance.base.digests import is_code_sha256, is_revision_id
from compliance.base.redact import redact
from compliance.judge.evidence import FAIL, PASS, format_evidence_line, parse_evidence_line


def check_evidence_inputs(plan: Plan, target: dict[str, Any], report_url: str | None) -> None:
    """Every input the evidence line is made of, tried now: a line refused after the deploy records nothing.

    The trial lines use the commit, function, script and report URL that the real one will, with
    both outcomes and the details validation can add, and must read back field by field.
    """
    if report_url is not None:
        _check_report_url(report_url)
    lm = plan.lambda_before.get("LastModified") or "2000-01-01T00:00:00.000+0000"
    artifact = artifact_of(plan.lambda_before) or {"CodeSha256": "A" * 43 + "=",
                                                   "RevisionId": "00000000-0000-4000-8000-000000000000"}
    probe = probe_detail(target.get("capability_url"), None, 200)
    trials = [(PASS, ["State=Active", "LastUpdateStatus=Successful", "routes 1/1 present", probe]),
              (FAIL, ["deploy script exit 1", f"deploy script timed out after {SCRIPT_TIMEOUT:.0f}s", "State=Failed",
                      "LastUpdateStatus=Failed", "routes 0/1 present", probe_detail(target.get("capability_url"),
                                                                                      None, 503)])]
    for outcome, details in trials:
        try:
            line = evidence_line(plan, lm, outcome, details, report_url, artifact)
        except ValueError as exc:
            raise PreflightError(f"the evidence line could not be written with this configuration: {exc}") from None
        back = parse_evidence_line(line) or {}
        want = {"commit": plan.commit, "function": plan.function, "via": via_script(plan), "outcome": outcome,
                "report_url": report_url, "code_sha256": artifact.get("CodeSha256"),
                "revision_id": artifact.get("RevisionId")}
        wrong = [k for k, v in want.items() if back.get(k) != v]
        if wrong:
            raise PreflightError(f"the evidence line would not read back its {', '.join(wrong)} "
                                 f"(function {plan.function!r}, script {plan.script!r}, report URL "
                                 f"{report_url!r}): {line!r}")



def _check_report_url(url: str) -> None:
    """An http(s) URL in one token: the worklog line names it after ``report:`` up to the next space."""
    if not url or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url) or ";" in url:
        raise PreflightError(f"--report-url {url!r}: must be one http(s) URL without spaces, control "
                             "characters or ';'")
    parsed = urlparse(url)
    try:
        parsed.port  # noqa: B018 - raises for a port out of range
    except ValueError:
        raise PreflightError(f"--report-url {url!r}: the port is not a number from 0 to 65535") from None
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise PreflightError(f"--report-url {url!r}: must be an http:// or https:// URL with a host")
    if parsed.username is not None or parsed.password is not None or redact(url) != url:
        # the worklog line is kept and read by everyone who reads the tracker
        raise PreflightError(f"--report-url {redact(url.replace(parsed.netloc, parsed.hostname))!r}: carries "
                             "credentials or a token; give a URL without secrets")



def probe_detail(configured: str | None, probed: str | None, status: Any) -> str:
    path = urlparse(probed or configured or "").path or "/"
    return f"GET {path} -> {status}"



def via_script(plan: Plan) -> str:
    return f"compliance deploy ({plan.script})"



def artifact_of(cfg: dict[str, Any]) -> dict[str, str]:
    """The function's ``CodeSha256`` and ``RevisionId`` as the line may record them: a value that is
    not exactly one digest or UUID is left out (the line then proves the deploy by time only), never
    written in a form the checker would not read back."""
    out = {}
    if is_code_sha256(cfg.get("CodeSha256")):
        out["CodeSha256"] = cfg["CodeSha256"]
    if is_revision_id(cfg.get("RevisionId")):
        out["RevisionId"] = cfg["RevisionId"]
    return out


def evidence_line(plan: Plan, last_modified: str, outcome: str, details: list[str], report_url: str | None,
                  artifact: dict[str, str] | None = None) -> str:
    """The one way the deploy's worklog line is made, in preflight's trial and for real; ``artifact``
    is what ``artifact_of`` read from the function right after the deploy."""
    safe = [d.replace(";", ",") for d in details]
    artifact = artifact or {}
    return format_evidence_line(plan.commit, last_modified, outcome, safe, report_url, function=plan.function,
                                via=via_script(plan), code_sha256=artifact.get("CodeSha256"),
                                revision_id=artifact.get("RevisionId"))
