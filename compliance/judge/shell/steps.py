"""GitHub Actions steps as the runner would run them: their lines, ``if:``, shell and environment.

The part of judging a workflow that reads YAML, not shell; ``verdicts`` uses it to decide which steps
can fail a job and what shell flags their scripts start with.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from typing import Any

PROPS = ("state", "update")


@dataclass(frozen=True)
class Verdict:
    ok: bool
    message: str
    line: int | None = None
    evidence: str = ""


@dataclass
class StepInfo:
    job: str
    index: int
    step: dict[str, Any]
    line: int  # the step's first line in the file
    run_line: int  # the file line of the script's first line

    @property
    def name(self) -> str:
        name = self.step.get("name") or self.step.get("id")
        if name:
            return str(name)
        run = str(self.step.get("run") or self.step.get("uses") or "step")
        return run.strip().splitlines()[0][:60] if run.strip() else "step"

    @property
    def label(self) -> str:
        return f"step '{self.name}' (line {self.line})"


# --------------------------------------------------------------------------- positions


def _step_lines(text: str) -> dict[tuple[str, int], tuple[int, int]]:
    """(job, step index) -> (line of the step, file line of its script's first line)."""
    import yaml

    try:
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return {}
    out: dict[tuple[str, int], tuple[int, int]] = {}
    jobs = _child(root, "jobs")
    if not isinstance(jobs, yaml.MappingNode):
        return out
    for key, job in jobs.value:
        steps = _child(job, "steps")
        if not isinstance(steps, yaml.SequenceNode):
            continue
        for i, step in enumerate(steps.value):
            run = _child(step, "run")
            first = step.start_mark.line + 1
            if isinstance(run, yaml.ScalarNode):
                block = run.style in ("|", ">")
                out[(str(key.value), i)] = (first, run.start_mark.line + (2 if block else 1))
            else:
                out[(str(key.value), i)] = (first, first)
    return out


def _child(node, key: str):
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return None
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return v
    return None


# --------------------------------------------------------------------------- static expressions


def static_bool(value: Any) -> bool | None:
    """A GitHub ``if:`` / ``continue-on-error`` value on the success path: True, False, or None (unknown).

    ``success()``/``always()``/``!cancelled()`` hold after a successful deploy; ``failure()`` and
    ``cancelled()`` do not; literals are read as GitHub reads them (``0``, ``''``, ``null``, ``false``).
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    text = str(value).strip()
    m = re.fullmatch(r"\$\{\{(.*)\}\}", text, re.S)
    if m:
        text = m.group(1).strip()
    return _Expr(text).parse()


class _Expr:
    _TOKEN = re.compile(r"\s*(&&|\|\||!=|==|!|\(|\)|'[^']*'|[A-Za-z_][\w.\-]*(?:\(\s*\))?|-?\d+(?:\.\d+)?)")
    _ATOMS = {"true": True, "false": False, "null": False, "success()": True, "always()": True,
              "failure()": False, "cancelled()": False}

    def __init__(self, text: str):
        self.toks: list[str] = []
        pos = 0
        while pos < len(text):
            m = self._TOKEN.match(text, pos)
            if not m:
                self.toks = ["<unknown>"]
                break
            self.toks.append(m.group(1).replace(" ", ""))
            pos = m.end()
            while pos < len(text) and text[pos].isspace():
                pos += 1
        self.i = 0

    def parse(self) -> bool | None:
        if not self.toks:
            return None
        value = self._or()
        return value if self.i == len(self.toks) else None

    def _peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def _or(self):
        left = self._and()
        while self._peek() == "||":
            self.i += 1
            right = self._and()
            left = True if True in (left, right) else (None if None in (left, right) else False)
        return left

    def _and(self):
        left = self._not()
        while self._peek() == "&&":
            self.i += 1
            right = self._not()
            left = False if False in (left, right) else (None if None in (left, right) else True)
        return left

    def _not(self):
        if self._peek() == "!":
            self.i += 1
            v = self._not()
            return None if v is None else not v
        return self._atom()

    def _atom(self):
        tok = self._peek()
        if tok is None:
            return None
        self.i += 1
        if tok == "(":
            v = self._or()
            if self._peek() == ")":
                self.i += 1
            return v
        if tok.lower() in self._ATOMS:
            return self._ATOMS[tok.lower()]
        if re.fullmatch(r"-?\d+(?:\.\d+)?", tok):
            return float(tok) != 0
        if tok.startswith("'"):
            return tok != "''"
        if self._peek() in ("==", "!="):  # a comparison of run-time values
            self.i += 2
        return None


# --------------------------------------------------------------------------- shells


def shell_flags(shell: Any, runs_on: Any) -> tuple[bool, bool] | str:
    """(errexit, pipefail) of the shell GitHub runs the step with, or why it cannot be judged."""
    if shell is None:
        if "windows" in str(runs_on).lower():
            return "the step runs in PowerShell (the Windows default), which this check does not read"
        return True, False  # bash -e {0}
    text = str(shell).strip()
    if text == "bash":
        return True, True  # bash --noprofile --norc -eo pipefail {0}
    if text == "sh":
        return True, False  # sh -e {0}
    if "{0}" not in text:
        return f"shell `{text}` is not a POSIX shell this check reads"
    try:
        argv = shlex.split(text)
    except ValueError:
        return f"shell `{text}` cannot be read"
    if not argv or os.path.basename(argv[0]) not in ("bash", "sh", "dash", "ksh", "zsh"):
        return f"shell `{text}` is not a POSIX shell this check reads"
    errexit = pipefail = False
    args = argv[1:]
    for i, a in enumerate(args):
        if a in ("-o", "+o") and i + 1 < len(args):
            if args[i + 1] == "errexit":
                errexit = a == "-o"
            if args[i + 1] == "pipefail":
                pipefail = a == "-o"
        elif re.fullmatch(r"-[a-zA-Z]+", a):
            if "c" in a:
                return f"shell `{text}` runs the script through -c, which this check does not read"
            errexit = errexit or "e" in a
            if "o" in a and i + 1 < len(args) and args[i + 1] == "pipefail":
                pipefail = True
    return errexit, pipefail


def _run_defaults(holder: dict) -> Any:
    defaults = holder.get("defaults")
    return defaults.get("run") if isinstance(defaults, dict) else None


def defaults_problem(job: dict, doc: dict) -> str | None:
    """Why GitHub refuses the job's or the workflow's ``defaults`` (not a mapping, or its ``run`` not one):
    such a workflow runs nothing, so no step of it can be judged to fail the job."""
    for where, holder in (("the job's", job), ("the workflow's", doc)):
        defaults = holder.get("defaults")
        if defaults is not None and not (isinstance(defaults, dict) and
                                         isinstance(defaults.get("run"), (dict, type(None)))):
            return f"{where} defaults is not a mapping of run defaults ({str(defaults)[:60]!r}), which GitHub refuses"
    return None


def _shell_of(step: dict, job: dict, doc: dict) -> Any:
    for holder in (step, _run_defaults(job), _run_defaults(doc)):
        if isinstance(holder, dict) and holder.get("shell") is not None:
            return holder["shell"]
    return None


def _env(*holders: Any) -> dict[str, str]:
    """Literal env values (workflow, then job, then step); one that holds an expression is unknown."""
    out: dict[str, str] = {}
    for holder in holders:
        env = holder.get("env") if isinstance(holder, dict) else None
        if not isinstance(env, dict):
            continue
        for k, v in env.items():
            if isinstance(v, (str, int, float, bool)) and "${{" not in str(v):
                out[str(k)] = str(v).lower() if isinstance(v, bool) else str(v)
            else:
                out.pop(str(k), None)
    return out
