"""GitHub Actions steps and deploy scripts judged as they would run, not by the words they contain.

``judge_validation`` finds the job step that runs the deploy script, then asks of every later step of
the same job whether it *can* fail the job (it runs: no statically false ``if:``; no
``continue-on-error``; a shell this module can read) and whether its script ends non-zero on every
path when State or LastUpdateStatus is wrong (``prove.prove_fails``). ``judge_deploy_script``
says whether a deploy script invokes anything that deploys, on some path it can take.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache

from compliance.judge.shell.lexer import ShellSyntaxError, refuse_nul
from compliance.judge.shell.nodes import Script, Simple, command_words, walk
from compliance.judge.shell.parser import parse, replace_gh_expressions
from compliance.judge.shell.prove import prove_fails
from compliance.judge.shell.runner import Runner
from compliance.judge.shell.state import (
    PROPERTY_NAMES,
    Hypothesis,
    State,
    emulated,
    function_matches,
    option_value,
)
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

# --------------------------------------------------------------------------- deploy commands


_DEPLOY_TOOLS = {
    "aws": ("lambda update-function-code", "lambda update-function-configuration", "lambda publish-version",
            "cloudformation deploy", "cloudformation create-stack", "cloudformation update-stack",
            "s3 cp", "s3 sync", "apigatewayv2 ", "lambda create-function"),
}
# deploying tools and the sub-commands that deploy (``terraform plan`` or ``cdk synth`` deploy nothing)
_DEPLOYERS = {"sam": {"deploy", "sync"}, "cdk": {"deploy"}, "terraform": {"apply"}, "tofu": {"apply"},
              "pulumi": {"up"}, "serverless": {"deploy"}, "sls": {"deploy"}, "sst": {"deploy"},
              "copilot": {"deploy"}, "eb": {"deploy"}, "kubectl": {"apply", "rollout", "set"},
              "helm": {"upgrade", "install"}, "make": {"deploy", "release"}, "npx": {"deploy"}, "npm": {"deploy"}}
_INTERPRETERS = {"bash", "sh", "zsh", "dash", "python", "python3", "node", "ruby", "perl", "source", "."}


def deploy_matcher(script_path: str):
    """The test for "this command runs the deploy script" (the configured one, or a generic deploy)."""
    want = script_path.lstrip("./")

    def path_like(word: str) -> bool:
        return "/" in word or word.endswith(".sh")

    def names_script(word: str) -> bool:
        word = re.sub(r"^(\./)+", "", word)
        if want:
            return word == want or word.endswith("/" + want) or \
                ("/" in word and os.path.basename(word) == os.path.basename(want)
                 and want.endswith(word.lstrip("/")))
        return bool(re.search(r"(^|/)deploy[\w.-]*\.sh$", word))

    def is_deploy(statics: list[str]) -> bool:
        if not statics:
            return False
        head = statics[0]
        if head in _INTERPRETERS:
            args = [w for w in statics[1:] if not w.startswith("-")]
            return bool(args) and path_like(args[0]) and names_script(args[0])
        if path_like(head) and names_script(head):
            return True
        if not want:
            joined = " ".join(statics[:4])
            return _deploys_with(statics) or joined.startswith("aws lambda update-function-code")
        return False

    return is_deploy


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


# --------------------------------------------------------------------------- deploy scripts

_INERT = {"echo", "printf", "true", "false", ":", "exit", "return", "set", "shopt", "export", "readonly",
          "local", "declare", "typeset", "unset", "trap", "sleep", "cd", "pwd", "read", "shift", "wait",
          "break", "continue", "umask", "exec", "test", "[", "[["}


@lru_cache(maxsize=256)
def judge_deploy_script(text: str, function: str) -> Verdict:
    """Whether a run of the script invokes anything that deploys; which commands, with their lines.

    Remembered per (text, function): a pure function of both with a frozen answer, asked for every
    version of the script by several rules in every evaluation (parsing and running it symbolically
    again each time cost the test suite ~7 s of CPU, and a backtest over many windows the same).
    """
    shebang = re.match(r"#!\s*(\S+)(?:\s+(\S+))?", text)
    if shebang:  # run directly, the script is the argument of its #! program: /bin/true runs none of it
        program = os.path.basename(shebang.group(1))
        program = os.path.basename(shebang.group(2) or "") if program == "env" else program
        if program in ("true", "false", ":"):
            return Verdict(False, f"a tombstone: its #! line runs {program}, which runs nothing the script says",
                           1, f"#! {program}")
    try:
        refuse_nul(text)
        script = parse(text, 1)
    except ShellSyntaxError as exc:
        return Verdict(False, f"cannot judge the script: it cannot be read ({exc})", exc.line, "unreadable")
    runner = Runner(Hypothesis(None, function))
    ends = runner.run(script, State({}, False, False))
    deploying, inert, other, unjudged = [], [], [], []
    for outer, _funcs in walk(script.tree):
        if not isinstance(outer, Simple):
            continue
        ran = id(outer) in runner.executed
        for node in (outer, *_substituted(outer)):
            statics = [w.static for w in command_words(node)]
            if not statics:
                continue
            kind = _command_kind(node, statics, function)
            entry = (node.line, " ".join(statics[:3]) if kind == "deploy" else statics[0], ran, _funcs)
            {"deploy": deploying, "inert": inert, "other": other, "unknown": unjudged}[kind].append(entry)
    live = [e for e in deploying if e[2]]
    if live:
        shown = ", ".join(f"{t} (line {n})" for n, t, _, _ in live[:4])
        return Verdict(True, f"invokes {shown}", live[0][0], f"invokes {shown}")
    dead = [e for e in deploying if not e[2]]
    unknown = [e.reason for e in ends if e.code is None]
    if unjudged or unknown:
        line, head = unjudged[0][:2] if unjudged else (None, "")
        where = unknown[0] if unknown else f"line {line}: `{head}` runs code this check cannot see" + (
            " (inline, or from its input)" if head in _INTERPRETERS else " (a command named by an expansion)")
        return Verdict(False, f"cannot judge the script: {where}; no command it is seen to run deploys",
                       unjudged[0][0] if unjudged else None, "not judged")
    if dead:
        line, tool, _, funcs = dead[0]
        where = f"is in function {funcs[-1]}, which is never called" if funcs else \
            "is never reached (after an exit, or in a branch that cannot run)"
        return Verdict(False, f"a tombstone: its deploy commands never run (`{tool}` at line {line} {where})",
                       line, "deploy commands unreachable")
    if other:
        names = ", ".join(dict.fromkeys(t + (" (reads, help, an emulator's endpoint or another function)" if t == "aws" else "") for _, t, _, _ in other))
        return Verdict(False, f"invokes nothing that deploys (it runs only {names}; no aws/sam/cdk/terraform or "
                       "other script)", other[0][0], f"runs only {names}")
    names = ", ".join(dict.fromkeys(t for _, t, _, _ in inert)) or "no command"
    return Verdict(False, f"a tombstone: its commands are only {names}, which deploy nothing",
                   inert[0][0] if inert else 1, f"only {names}")


_READ_ONLY_AWS = re.compile(r"^(get-|list-|describe-|wait$|ls$|help$|head-|sts$|configure$|validate-|estimate-|"
                            r"simulate-|lookup-|search-|scan$|query$|batch-get-|invoke$|test-)")


def _aws_kind(statics: list[str], function: str = "", literals: list[str | None] | None = None) -> str:
    """aws writes something (deploys) unless every operation named is a read, a wait or --version; nor
    does a write sent to an emulator (``--endpoint-url``), a command asked for its ``help``, or a Lambda
    write naming, as a literal, another function than the target's (probe 12: each read as a deploy)."""
    words = _operation_words(statics[1:])
    if len(words) < 2:
        return "other"  # aws --version, aws help
    if _READ_ONLY_AWS.match(words[1]) or words[0] == "sts" or "help" in words[2:]:
        return "other"
    if any(w in _NO_CALL or w.startswith("--generate-cli-skeleton") for w in statics[1:]):
        return "other"  # prints its version, a skeleton of input, or what it would do
    if emulated(list(statics[1:])):  # as written, expansions dropped ("$ENDPOINT" is not known)
        return "other"
    if words[0] == "lambda" and function and literals is not None:
        named = option_value(literals, "--function-name")[1]  # only a value written out: "$FN" may be the target
        if named and not function_matches(named, function):
            return "other"
    return "deploy"


_NO_CALL = {"--version", "--dryrun", "--dry-run", "--no-execute-changeset"}
# aws's global options that take a value: ``aws --region us-west-2 lambda ...`` names the service third
_GLOBAL_VALUED = {"--region", "--output", "--profile", "--endpoint-url", "--query", "--color", "--ca-bundle",
                  "--cli-read-timeout", "--cli-connect-timeout", "--cli-binary-format"}


def _operation_words(args: list[str]) -> list[str]:
    """The service, the operation and what follows, without options and the values of aws's global options."""
    out: list[str] = []
    skip = False
    for w in args:
        if skip:
            skip = False
            continue
        if w.startswith("-"):
            skip = w in _GLOBAL_VALUED and len(out) < 2  # a global option before the operation takes a value
            continue
        out.append(w)
    return out


def _deploys_with(statics: list[str]) -> bool:
    """A deploying tool run with a deploying sub-command (``sam deploy``, ``npx cdk deploy``, ``terraform apply``)."""
    base = os.path.basename(statics[0])
    if base not in _DEPLOYERS:
        return False
    args = [w for w in statics[1:] if not w.startswith("-")]
    if base in ("npx", "npm") and args and args[0] in ("run", "exec"):
        args = args[1:]
    if base in ("npx",) and args and os.path.basename(args[0]) in _DEPLOYERS:
        return _deploys_with(args)
    return any(a in _DEPLOYERS[base] for a in args[:3])


def _command_kind(node: Simple, statics: list[str], function: str = "") -> str:
    head = statics[0]
    base = os.path.basename(head)
    if base in _INERT:
        return "inert"  # /bin/true, /bin/echo
    if "/" in head or head.endswith((".sh", ".py")):
        return "deploy"  # another script
    first = command_words(node)[0]
    if not head or any(k not in ("lit", "q") for k, _ in first.parts) or head == "eval":
        return "unknown"
    if head in _INERT:
        return "inert"
    if head == "aws":
        return _aws_kind(statics, function, [w.literal for w in command_words(node)])
    if base in _DEPLOYERS:
        return "deploy" if _deploys_with(statics) else "other"
    if head in _INTERPRETERS:
        if "-c" in statics[1:3]:
            return "unknown"
        if head in ("python", "python3") and "-m" in statics[1:3]:
            return "other"
        # with no script named it runs whatever reaches its stdin
        return "deploy" if [w for w in statics[1:] if not w.startswith("-")] else "unknown"
    return "other"


def _substituted(node: Simple):
    """Commands inside the ``$(...)`` of a command's words: they run when the command runs."""
    for w in [*node.words, *(v for _, v in node.assigns if v)]:
        for kind, text in w.parts:
            if kind != "cmd":
                continue
            try:
                inner = parse(text, w.line)
            except ShellSyntaxError:
                continue
            for sub, _ in walk(inner.tree):
                if isinstance(sub, Simple):
                    yield sub
                    yield from _substituted(sub)
