"""``compliance deploy``: deploy the canonical way, validate, and record the evidence.

The runbook asks people to run the deploy script and then validate and document by hand;
the hand-written part is what audits keep finding missing. This command does the whole
sequence, so the compliant path is also the easy one:

1. preflight (nothing changes if any of it fails, exit 2): clean working tree, the commit to
   deploy is on the governed branch's first-parent chain, no deploy-manager request for the
   function is pending (the runbook forbids that flow, and a pending one would race), the
   function is readable; then the PLAN: which in-scope changes and tasks this deploy covers,
   i.e. those after the newest commit named by complete, passing worklog evidence;
2. run the deploy script from the repository root, streaming its output to the terminal and a
   log file (secrets redacted in both);
3. wait for the Lambda update with boto3's waiters, collect a fresh snapshot and judge it
   through the normal pipeline; the validation outcome is the runbook's validation rules
   (``lambda_state``, ``api_routes``, ``capability_endpoint``);
4. record the evidence on every covered task with idempotent conditional writes.

A state file written right after the script succeeded lets a run interrupted between deploy
and evidence be finished by the next run without deploying twice. It is bound to what it
claims (the function's CodeSha256, RevisionId and LastModified read right after the script,
and the digest of the script's log); a state that does not match the live function and the
log, or that is a symlink, someone else's or malformed, is not trusted: the script runs again.

The script runs in its own process group with a time limit; an interrupt (SIGINT, SIGTERM) or
the limit stops the whole group, so no child of the script keeps deploying unobserved.

Exit codes: 0 deployed, validated and recorded; 1 deployed but validation failed (recorded as
failed); 2 preflight failed, the script failed or timed out, or the evidence could not be
written; 130 interrupted while the script ran (nothing recorded; the next run deploys again).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO

from compliance.app.deploy.evidence_line import check_evidence_inputs
from compliance.app.deploy.facts import (
    EXIT_INTERRUPTED,
    SCRIPT_TIMEOUT,
    Output,
    Plan,
    PreflightError,
    ScriptRun,
)
from compliance.app.deploy.preflight import check_limits, check_out_dir, deploy_scopes, preflight, print_plan
from compliance.app.deploy.script import LOG_NAME_TRIES, create_log, run_script
from compliance.app.deploy.state import STATE_FILE, read_state, resume_mismatch, write_state
from compliance.app.deploy.validate import validate_and_record
from compliance.app.persist import read_waivers
from compliance.base.errors import EXIT_ERROR, EXIT_OK, ComplianceError
from compliance.base.timeutil import utcnow
from compliance.inputs.config import Config
from compliance.inputs.rules import RuleSet

__all__ = ["EXIT_INTERRUPTED", "LOG_NAME_TRIES", "STATE_FILE", "Output", "Plan", "PreflightError", "ScriptRun",
           "check_evidence_inputs", "create_log", "deploy", "deploy_scopes", "preflight", "print_plan",
           "read_state", "resume_mismatch", "run_script"]


def deploy(config: Config, ruleset: RuleSet, *, ref: str | None = None, dry_run: bool = False, out_dir: Path,
           env: dict[str, str] | None = None, stream: IO[str] | None = None, rotate_key: bool = False,
           wait_timeout: float = 300, report_url: str | None = None, waivers: str | None = None,
           timeout: float = SCRIPT_TIMEOUT) -> int:
    """Deploy, validate and record; returns the exit code (see the module docstring).

    ``waivers`` are applied to the report exactly as in every other mode; they never make a failed
    validation pass (the deploy is validated only by passing findings). ``timeout`` bounds the
    script's run in seconds.
    """
    base_env = dict(os.environ if env is None else env)
    out = Output(stream or sys.stdout, base_env)
    out_dir = Path(out_dir)
    read_waivers(waivers, ruleset, utcnow())  # a broken waiver file is found before anything is deployed
    try:
        check_limits(timeout, wait_timeout)
        plan = preflight(config, ruleset, ref=ref, out_dir=out_dir, env=base_env, rotate_key=rotate_key)
        check_evidence_inputs(plan, config.target, report_url)
        check_out_dir(out_dir)
    except ComplianceError as exc:
        out(f"deploy refused (preflight): {exc}")
        out("nothing was deployed or recorded")
        return EXIT_ERROR
    print_plan(plan, out)
    if dry_run:
        out("dry run: nothing deployed, nothing recorded")
        return EXIT_OK

    run: ScriptRun | None = None
    if plan.resume:
        out(f"resuming: {plan.commit[:12]} was deployed at LastModified={plan.resume['last_modified']} "
            f"(state file {out_dir / STATE_FILE}); the function still shows its CodeSha256 and RevisionId and "
            "the script's log is intact; not re-running the script")
    else:
        if plan.not_resumed:
            out(f"not resuming from {out_dir / STATE_FILE}: {plan.not_resumed}; running the script")
        try:
            run = run_script(plan, out_dir, base_env, rotate_key, out, timeout=timeout)
        except ComplianceError as exc:
            out(f"deploy refused: {exc}")
            out("nothing was deployed or recorded")
            return EXIT_ERROR
        if run.ended == "interrupted":
            write_state(plan, out_dir, config, run, out)
            out("deploy INTERRUPTED: the script and every process it started were stopped; nothing was "
                "recorded as evidence; the next `compliance deploy` runs the script again")
            return EXIT_INTERRUPTED
        write_state(plan, out_dir, config, run, out)
    try:
        return validate_and_record(config, ruleset, plan, out_dir, run, wait_timeout, report_url, out, waivers,
                                    timeout)
    except ComplianceError as exc:
        out(f"error after the deploy step: {exc}")
        out("re-run `compliance deploy`: once the state file was written, the deployed commit is validated "
            "and recorded without running the script again")
        return EXIT_ERROR
