"""After the script: wait for the update, judge a fresh snapshot through the one pipeline, record evidence.

The validation outcome is the runbook's validation rules (``lambda_state``, ``api_routes``,
``capability_endpoint``) as judged into the deploy's report set; the evidence goes on every
covered task with idempotent conditional writes.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from compliance.app import evidence_writer
from compliance.app.collect import collect
from compliance.app.deploy.evidence_line import artifact_of, evidence_line, probe_detail
from compliance.app.deploy.facts import SCRIPT_TIMEOUT, VALIDATION_KINDS, Output, Plan, ScriptRun
from compliance.app.deploy.state import rebind_settled
from compliance.app.persist import persist
from compliance.base.errors import EXIT_ERROR, EXIT_FAIL, EXIT_OK
from compliance.base.redact import clip
from compliance.base.timeutil import parse_time, utcnow
from compliance.judge.evidence import FAIL, PASS
from compliance.sources import aws
from compliance.sources.base import Meter

WAIT_DELAY = 2.0



def wait_for_update(function: str, region: str, options: dict[str, Any], timeout: float) -> str | None:
    """None when the update finished; else why not (a timeout, or the update failed)."""
    from botocore.exceptions import WaiterError

    client = aws.client_for("lambda", region, Meter(), options)
    deadline = time.monotonic() + max(0.0, timeout)
    for name in ("function_updated_v2", "function_active_v2"):
        left = max(0.0, deadline - time.monotonic())
        attempts = max(1, int(left // WAIT_DELAY) + 1)
        try:
            with aws.calling(f"wait {name}"):
                client.get_waiter(name).wait(FunctionName=function,
                                             WaiterConfig={"Delay": WAIT_DELAY, "MaxAttempts": attempts})
        except WaiterError as exc:
            return f"{name}: {exc.last_response.get('LastUpdateStatusReason') or exc}"
        except aws.AwsSourceError as exc:
            return f"{name}: {exc}"
    return None



def _validation(findings: list[Any], rules: list[Any]) -> tuple[bool, list[str]]:
    """Pass only if every finding of the runbook's validation kinds passed, and each kind was judged."""
    problems: list[str] = []
    for kind in VALIDATION_KINDS:
        ids = {r.id for r in rules if any(c.kind == kind for c in r.checks)}
        mine = [f for f in findings if f.rule_id in ids and f.check == kind]
        if not mine:
            problems.append(f"no {kind} rule judged the deploy")
        for f in mine:
            if f.status != "pass":
                problems.append(f"{f.rule_id} {f.subject} {f.status}: {clip(f.message, 160)}")
    return not problems, problems



def _details(snapshot: dict[str, Any], findings: list[Any], target: dict[str, Any]) -> list[str]:
    """What the validation saw, stated in the words the evidence parser reads."""
    out: list[str] = []
    lam = snapshot["sources"].get("lambda") or {}
    cfg = (lam.get("data") or {}).get("configuration") or {}
    if cfg.get("State"):
        out.append(f"State={cfg['State']}")
    if cfg.get("LastUpdateStatus"):
        out.append(f"LastUpdateStatus={cfg['LastUpdateStatus']}")
    routes = [f for f in findings if f.check == "api_routes"]
    if routes:
        ok = sum(1 for f in routes if f.status == "pass")
        out.append(f"routes {ok}/{len(routes)} present")
    probe = (snapshot["sources"].get("probe") or {}).get("data") or {}
    if probe.get("status_code") is not None:
        out.append(probe_detail(target.get("capability_url"), probe.get("url"), probe["status_code"]))
    return out



def _script_details(run: ScriptRun | None, timeout: float) -> list[str]:
    """What the evidence says about a script that did not succeed (nothing when it did, or on resume)."""
    if run is None or (run.ended == "finished" and run.code == 0):
        return []
    if run.ended == "timed out":
        return [f"deploy script timed out after {timeout:.0f}s"]
    return [f"deploy script exit {run.code}"]



def validate_and_record(config: Any, ruleset: Any, plan: Plan, out_dir: Path, run: ScriptRun | None,
                        wait_timeout: float, report_url: str | None, out: Output, waivers: str | None = None,
                        timeout: float = SCRIPT_TIMEOUT) -> int:
    """Steps 3 and 4 of the module docstring of ``compliance.app.deploy``; returns the exit code."""
    script_failed = _script_details(run, timeout)
    log_path = run.log_path if run else None
    lambda_opts = config.source_options("lambda")
    out("VALIDATE")
    waited = wait_for_update(plan.function, plan.region, lambda_opts, wait_timeout)
    if waited:
        out(f"  wait: {waited}")
    now = utcnow()
    times = [t for t in (parse_time(c["committed_at"]) for c in plan.changes) if t]
    since = min([plan.since, *times]) - timedelta(seconds=1)
    snapshot = collect(config, ruleset, since, max(now, plan.since))
    # the one persistence path every mode takes: the set holds this deploy's report, snapshot and waivers
    persisted = persist(snapshot, ruleset, out_dir, "deploy", waivers=waivers, keep_findings=True)
    doc, written, findings = persisted.doc, persisted.written, persisted.findings
    passed, problems = _validation(findings, ruleset.rules)
    if script_failed:
        problems.insert(0, f"{plan.script}: {script_failed[0]}")
    if waited:
        problems.insert(0, f"Lambda update did not finish: {waited}")
    outcome = PASS if passed and not script_failed and not waited else FAIL
    out(f"  validation: {outcome.upper()}  (rules of kinds {', '.join(VALIDATION_KINDS)})")
    summary = doc["summary"]
    out(f"  report verdict (every rule): {summary['verdict'].upper()}  pass {summary['pass']}  "
        f"fail {summary['fail']}  error {summary['error']}  n/a {summary['not_applicable']}")
    for p in problems:
        out(f"    {p}")
    for kind, path in written.items():
        out(f"  {kind:<8} {path}")
    if log_path:
        out(f"  log      {log_path}")

    cfg = ((snapshot["sources"].get("lambda") or {}).get("data") or {}).get("configuration") or {}
    rebind_settled(out_dir, plan, cfg, out)
    last_modified = cfg.get("LastModified") or (plan.resume or {}).get("last_modified")
    # the artifact read with the LastModified recorded: the live one, else the one a resumed deploy bound
    resume = plan.resume or {}
    artifact = artifact_of(cfg) if cfg.get("LastModified") else \
        artifact_of({"CodeSha256": resume.get("code_sha256"), "RevisionId": resume.get("revision_id")})
    details = [*script_failed, *_details(snapshot, findings, config.target)]
    code = EXIT_OK if outcome == PASS else EXIT_FAIL
    if script_failed:
        code = EXIT_ERROR
    return _record(config, plan, last_modified, outcome, details, report_url, code, out, artifact)



def _record(config: Any, plan: Plan, last_modified: str | None, outcome: str, details: list[str],
            report_url: str | None, code: int, out: Output, artifact: dict[str, str] | None = None) -> int:
    out("EVIDENCE")
    if not plan.tasks:
        out("  no covered task: nothing to record")
        return code
    if not last_modified:
        out(f"  cannot record: the function's LastModified is unknown (the lambda source failed); tasks "
            f"{', '.join(plan.tasks)} need evidence once it can be read")
        return EXIT_ERROR
    try:
        line = evidence_line(plan, last_modified, outcome, details, report_url, artifact)
    except ValueError as exc:  # preflight tried every input but what the function reported after the deploy
        out(f"  cannot record: {exc}; tasks {', '.join(plan.tasks)} need evidence written by hand")
        return EXIT_ERROR
    key = evidence_writer.evidence_key(plan.commit, last_modified, outcome)
    tracker = config.target.get("tracker") or {}
    wanted = [t for t in plan.tasks if t not in plan.missing_tasks]
    if not tracker.get("table") or not tracker.get("project"):
        out("  cannot record: target.tracker.table and target.tracker.project are not configured")
        _paste(wanted, line, out)
        return EXIT_ERROR
    result = evidence_writer.record_evidence(tracker["table"], tracker["project"], wanted, line, key, plan.region,
                                             options=config.source_options("tracker"))
    out(f"  line: {line}")
    out(f"  recorded on {len(result.recorded)} task(s){': ' + ', '.join(result.recorded) if result.recorded else ''}; "
        f"already recorded on {len(result.already)}{': ' + ', '.join(result.already) if result.already else ''}")
    gone = [*plan.missing_tasks, *result.missing]
    if gone:
        out(f"  warning: not in the tracker (not created): {', '.join(dict.fromkeys(gone))}")
    if result.ok:
        return code
    if result.denied:
        out(f"  ACCESS DENIED writing to {tracker['table']}: {result.denied_message}")
        out("  the CI deploy role may not write to the tracker: re-run with the operator's credentials, "
            "or paste the line below into the worklog of each task")
    for task, why in result.failed.items():
        out(f"  could not write {task}: {why}")
    _paste(result.unwritten, line, out)
    return EXIT_ERROR



def _paste(tasks: list[str], line: str, out: Output) -> None:
    out("  worklog lines to paste (status: worklog):")
    for task in tasks:
        out(f"    {task}: {line}")
