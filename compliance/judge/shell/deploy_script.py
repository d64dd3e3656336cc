"""Which commands deploy: the deploy script's own verdict, and the test for "this step runs the deploy".

``judge_deploy_script`` says whether a deploy script invokes anything that deploys, on some path it
can take (a tombstone whose commands never run, or that only echoes, deploys nothing);
``deploy_matcher`` is how ``verdicts.judge_validation`` finds the job step that runs the deploy. Both
read commands by their words as the shell sees them (``nodes.command_words``), never by substring.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

from compliance.judge.shell.lexer import ShellSyntaxError, refuse_nul
from compliance.judge.shell.nodes import Simple, command_words, walk
from compliance.judge.shell.parser import parse
from compliance.judge.shell.runner import Runner
from compliance.judge.shell.state import Hypothesis, State, emulated, function_matches, option_value
from compliance.judge.shell.steps import Verdict

# --------------------------------------------------------------------------- deploy commands


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
