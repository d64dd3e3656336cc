"""GitHub Actions steps and deploy scripts judged as they would run, not by the words they contain.

``judge_validation`` finds the job step that runs the deploy script, then asks of every later step of
the same job whether it *can* fail the job (it runs: no statically false ``if:``; no
``continue-on-error``; a shell this module can read) and whether its script ends non-zero on every
path when State or LastUpdateStatus is wrong (``prove.prove_fails``). Which step runs the deploy,
and whether a deploy script deploys at all, is ``deploy_script``'s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from compliance.judge.shell.deploy_script import deploy_matcher
from compliance.judge.shell.lexer import ShellSyntaxError
from compliance.judge.shell.nodes import Script, Simple, command_words, walk
from compliance.judge.shell.parser import parse, replace_gh_expressions
from compliance.judge.shell.prove import prove_fails
from compliance.judge.shell.state import PROPERTY_NAMES
from compliance.judge.shell.steps import (
    PROPS,
    StepInfo,
    Verdict,
    _env,
    _shell_of,
    _step_lines,
    defaults_problem,
    shell_flags,
    static_bool,
)

# --------------------------------------------------------------------------- validation


@dataclass
class _Parsed:
    info: StepInfo
    script: Script | None
    problem: str | None  # why the step's script cannot be read


def _steps(doc: dict, text: str) -> list[tuple[str, dict, list[StepInfo]]]:
    lines = _step_lines(text)
    out = []
    jobs = doc.get("jobs") if isinstance(doc.get("jobs"), dict) else {}
    for job_id, job in jobs.items():
        if not isinstance(job, dict):
            continue
        infos = []
        steps = job.get("steps")
        for i, step in enumerate(steps if isinstance(steps, list) else []):
            if isinstance(step, dict):
                first, run_line = lines.get((str(job_id), i), (None, None))
                infos.append(StepInfo(str(job_id), i, step, first or 1, run_line or first or 1))
        out.append((str(job_id), job, infos))
    return out


def _parse_step(info: StepInfo, env: dict[str, str]) -> _Parsed:
    run = info.step.get("run")
    if not isinstance(run, str):
        return _Parsed(info, None, "it runs no shell script")
    try:
        return _Parsed(info, parse(replace_gh_expressions(run, env), info.run_line), None)
    except ShellSyntaxError as exc:
        return _Parsed(info, None, f"its script cannot be read ({exc})")


def _runs_deploy(parsed: _Parsed, is_deploy) -> int | None:
    """The line of the command that runs the deploy script, if this step has one."""
    if parsed.script is None:
        return None
    for node, _funcs in walk(parsed.script.tree):
        if isinstance(node, Simple) and is_deploy([w.static for w in command_words(node)]):
            return node.line
    return None


def _reads_function(parsed: _Parsed) -> bool:
    run = str(parsed.info.step.get("run") or "")
    return bool(re.search(r"get-function|lambda\s+wait|\bActive\b|\bSuccessful\b", run))


def _can_fail_job(info: StepInfo, deploy: StepInfo) -> str | None:
    """Why the step cannot fail the job after a successful deploy, or None when it can."""
    cond = info.step.get("if")
    if cond is not None and str(cond).strip() != str(deploy.step.get("if", "")).strip():
        runs = static_bool(cond)
        if runs is False:
            return f"it never runs after a successful deploy (if: {cond})"
        if runs is None:
            return f"it runs only when `{cond}`, so a run may skip it"
    coe = info.step.get("continue-on-error")
    if coe is not None:
        value = static_bool(coe)
        if value is True:
            return "it has continue-on-error: true, so its failure does not fail the job"
        if value is None:
            return f"continue-on-error is `{coe}`, which may be true, so its failure may not fail the job"
    return None


def _job_problem(job_id: str, job: dict) -> str | None:
    if job.get("if") is not None and static_bool(job["if"]) is False:
        return f"job '{job_id}' never runs (if: {job['if']})"
    coe = job.get("continue-on-error")
    if coe is not None and static_bool(coe) is not False:
        return f"job '{job_id}' has continue-on-error: {coe}, so a failed validation does not fail the run"
    return None


def _judge_step(parsed: _Parsed, prop: str, deploy: StepInfo, is_deploy, job: dict, doc: dict,
                function: str, env: dict[str, str]) -> tuple[bool, str]:
    info = parsed.info
    why = _can_fail_job(info, deploy) or defaults_problem(job, doc)
    if why:
        return False, why
    if parsed.problem:
        return False, parsed.problem
    flags = shell_flags(_shell_of(info.step, job, doc), job.get("runs-on"))
    if isinstance(flags, str):
        return False, flags
    same_step = info.index == deploy.index
    proved, reason = prove_fails(parsed.script, prop, function=function, errexit=flags[0], pipefail=flags[1],
                                    env=env, armed=not same_step, is_deploy=is_deploy if same_step else None)
    return proved, reason or ""


def judge_validation(text: str, doc: dict, function: str, script_path: str) -> Verdict:
    """Does some step after the deploy step, in the same job, fail the job unless State and LastUpdateStatus
    are right? Every job that deploys must; the message says why each candidate step does not."""
    is_deploy = deploy_matcher(script_path)
    jobs = _steps(doc, text)
    wf_env = _env(doc)
    deploys = []
    others: list[_Parsed] = []
    for job_id, job, infos in jobs:
        parsed = [_parse_step(i, _env(doc, job, i.step)) for i in infos]
        idx = [n for n, p in enumerate(parsed) if _runs_deploy(p, is_deploy) is not None]
        if idx:
            deploys.append((job_id, job, parsed, idx[-1]))
        else:
            others.extend(p for p in parsed if _reads_function(p))
    what = f"runs {script_path}" if script_path else "runs a deploy script"
    if not deploys:
        noted = "; ".join(f"{p.info.label} reads the function but no step before it deploys" for p in others[:3])
        return Verdict(False, f"no step {what}, so no validation can be judged to follow a deploy"
                       + (f" ({noted})" if noted else ""), others[0].info.line if others else None,
                       "no deploy step")
    results = []
    for job_id, job, parsed, d in deploys:
        results.append(_judge_job(job_id, job, parsed, d, doc, function, is_deploy, wf_env, others))
    failed = [r for r in results if not r.ok]
    if failed:
        first = failed[0]
        return Verdict(False, "; ".join(r.message for r in failed), first.line, first.evidence)
    return Verdict(True, "; ".join(r.message for r in results), results[0].line, results[0].evidence)


def _judge_job(job_id, job, parsed: list[_Parsed], d: int, doc, function, is_deploy, wf_env, others) -> Verdict:
    deploy = parsed[d].info
    problem = _job_problem(job_id, job)
    if problem:
        return Verdict(False, f"the deploy in {deploy.label} is not validated: {problem}", deploy.line,
                       f"deploy {deploy.label}")
    proofs: dict[str, StepInfo] = {}
    reasons: dict[str, list[tuple[int, str]]] = {p: [] for p in PROPS}
    for p in parsed[d:]:
        if not _reads_function(p):
            continue
        for prop in PROPS:
            if prop in proofs:
                continue
            ok, why = _judge_step(p, prop, deploy, is_deploy, job, doc, function, _env(doc, job, p.info.step))
            if ok:
                proofs[prop] = p.info
            else:
                reasons[prop].append((_first_line(why, p.info.line), f"{p.info.label}: {why}"))
    for p in parsed[:d]:
        if _reads_function(p):
            for prop in PROPS:
                reasons[prop].append((p.info.line, f"{p.info.label} runs before the deploy {deploy.label}"))
    for p in others:
        for prop in PROPS:
            reasons[prop].append((p.info.line, f"{p.info.label} is in job '{p.info.job}', not in the deploy job "
                                  f"'{job_id}'"))
    missing = [prop for prop in PROPS if prop not in proofs]
    if not missing:
        steps = dict.fromkeys(proofs[p].label for p in PROPS)
        return Verdict(True, f"{' and '.join(steps)} fail(s) job '{job_id}' unless State=Active and "
                       f"LastUpdateStatus=Successful, after the deploy in {deploy.label}", proofs["state"].line,
                       f"validated by {', '.join(steps)}")
    grouped: dict[tuple[str, ...], list[str]] = {}
    line = None
    for prop in missing:
        why = reasons[prop] or [(deploy.line, "no step after it reads the function")]
        line = line or why[0][0]
        key = tuple(re.sub(r"State=Active|LastUpdateStatus=Successful", "the value", w) for _, w in why[:4])
        grouped.setdefault(key, []).append(PROPERTY_NAMES[prop])
    parts = [f"nothing after the deploy {deploy.label} fails job '{job_id}' unless {' and '.join(props)}: "
             + "; ".join(key) for key, props in grouped.items()]
    return Verdict(False, "; ".join(parts), line, f"deploy {deploy.label}")


def _first_line(text: str, default: int) -> int:
    m = re.search(r"\bline (\d+)", text)
    return int(m.group(1)) if m else default
