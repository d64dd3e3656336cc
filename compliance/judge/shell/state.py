"""What the abstract run tracks: the hypothesis, one path's state, and how a path ended.

Also the facts about ``aws lambda`` command lines (which function, which waiter) and small text helpers
that the runner, the command semantics and the proof all use.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

from compliance.judge.shell.lexer import Word
from compliance.judge.shell.nodes import FuncDef, Group, Pipeline, Simple

EXPECTED = {"state": "Active", "update": "Successful"}
PROPERTY_NAMES = {"state": "State=Active", "update": "LastUpdateStatus=Successful"}
WAITERS = {"function-active": "state", "function-active-v2": "state",
           "function-updated": "update", "function-updated-v2": "update"}
_READS = ("get-function-configuration", "get-function")
# What a value read from the function holds: the State field, the LastUpdateStatus field, or the whole
# configuration (no --query), where "Active" also appears as TracingConfig.Mode: a substring match on that
# proves nothing about State.
FIELD_BITS = {"state": 1, "update": 2}
WHOLE = 4


def read_bits(lits: list[str | None]) -> int:
    present, query = option_value(lits, "--query")
    if not present or query is None:
        return WHOLE
    return (1 if re.search(r"(?<![A-Za-z])State\b", query) else 0) | (2 if "LastUpdateStatus" in query else 0)


def substring_props(props: set[str], taint: int) -> set[str]:
    """The properties a substring match (grep, glob, =~) can prove on a value with these taint bits."""
    return {p for p in props if taint & FIELD_BITS[p] or (p == "update" and taint & WHOLE)}
_MAX_PATHS = 256
_MAX_LOOP = 4
_MAX_DEPTH = 8
_MAX_STEPS = 5000  # simple commands run over all paths; past it, the rest is unknown


def mentions(text: str, prop: str, ignore_case: bool = False) -> bool:
    """The expected value written as a word of its own (``\\tSuccessful`` counts: an escape, not a prefix)."""
    value = EXPECTED[prop]
    return bool(re.search(rf"(?:(?<![A-Za-z0-9_])|(?<=\\[a-z])){value}(?![A-Za-z0-9_])", text,
                          re.I if ignore_case else 0))


@dataclass
class Hypothesis:
    """What is assumed while running: which value is wrong (None: nothing is), and for which function."""

    bad: str | None
    function: str
    armed: bool = True  # checks see the wrong value from the start (False: only after the deploy command)
    is_deploy: object = None  # callable(words) -> bool that arms the checks once it has run


@dataclass
class State:
    env: dict[str, tuple[str | None, int]]  # value (None: unknown) and taint bits (see FIELD_BITS)
    errexit: bool
    pipefail: bool
    funcs: dict[str, FuncDef] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)  # files written from the function's configuration
    status: int = 0
    exited: int | None = None
    unknown: str | None = None
    brk: int = 0
    cont: int = 0
    ret: bool = False
    armed: bool = False
    errexit_off: int | None = None  # line of the `set +e`
    errexit_from_shell: bool = False  # -e comes from the shell itself, not from the script
    last_bad: tuple[int, str, str] | None = None  # (line, text, why the failure did not stop the script)
    out_taint: int = 0
    depth: int = 0

    @property
    def done(self) -> bool:
        return self.exited is not None or self.unknown is not None or bool(self.brk or self.cont or self.ret)

    def key(self) -> tuple:
        return (tuple(sorted(self.env.items())), tuple(sorted((k, id(v)) for k, v in self.funcs.items())),
                tuple(sorted(self.files.items())), self.errexit, self.pipefail, self.status, self.exited, self.unknown, self.brk,
                self.cont, self.ret, self.armed, self.errexit_off, self.last_bad, self.out_taint, self.depth)

    def fork(self) -> State:
        new = copy.copy(self)
        new.env = dict(self.env)
        new.funcs = dict(self.funcs)
        new.files = dict(self.files)
        return new


@dataclass
class PathEnd:
    code: int | None  # None: the path could not be followed
    reason: str | None


def function_matches(value: str | None, function: str) -> bool:
    """``--function-name`` names the target (by name or ARN, any qualifier); unknown values are accepted."""
    if value is None or not function:
        return True
    name = function.rsplit(":function:", 1)[-1].split(":")[0]
    if value == name or value == function:
        return True
    if value.split(":", 1)[0] == name and re.fullmatch(r"[\w-]+:[\w$-]+", value):  # name:alias, name:7
        return True
    m = re.fullmatch(r"(?:arn:[\w-]+:lambda:[\w-]+:)?\d{12}:function:([\w-]+)(?::[\w$-]+)?", value)
    return bool(m and m.group(1) == name)


def option_value(words: list[str | None], option: str) -> tuple[bool, str | None]:
    for i, w in enumerate(words):
        if w == option:
            return True, words[i + 1] if i + 1 < len(words) else None
        if w and w.startswith(option + "="):
            return True, w[len(option) + 1:]
    return False, None


def aws_lambda(words: list[str | None]) -> tuple[str | None, str | None]:
    """(operation, waiter) of an ``aws lambda`` command; (None, None) for anything else."""
    if not words or words[0] != "aws" or "lambda" not in words:
        return None, None
    rest = [w for w in words[words.index("lambda") + 1:]]
    op = next((w for w in rest if w and not w.startswith("-")), None)
    if op == "wait":
        after = rest[rest.index("wait") + 1:]
        return op, next((w for w in after if w and not w.startswith("-")), None)
    return op, None

def _counted(word: Word) -> list[str] | None:
    """The items of ``{1..30}`` or ``$(seq 1 30)``: loops whose count is written down."""
    text = word.literal
    m = re.fullmatch(r"\{(\d+)\.\.(\d+)\}", text or "")
    if not m and len(word.parts) == 1 and word.parts[0][0] == "cmd":
        m = re.fullmatch(r"\s*seq\s+(\d+)\s+(\d+)\s*", word.parts[0][1]) or \
            re.fullmatch(r"\s*seq\s+()(\d+)\s*", word.parts[0][1])
    if not m:
        return None
    lo, hi = int(m.group(1) or 1), int(m.group(2))
    return [str(i) for i in range(lo, min(hi, lo + 49) + 1)]


def _or(bits) -> int:
    out = 0
    for b in bits:
        out |= b
    return out


def _jq_bits(filt: str) -> int:
    """The fields a jq filter narrows its input to (0: it does not narrow)."""
    return (1 if re.search(r"\.State\b", filt) else 0) | (2 if re.search(r"\.LastUpdateStatus\b", filt) else 0)


def _var_name(text: str) -> str:
    m = re.match(r"[#!]?([A-Za-z_][A-Za-z0-9_]*|[0-9?#@*$!-])", text)
    return m.group(1) if m else text


def _pipe_text(p: Pipeline) -> str:
    return " | ".join(c.text if isinstance(c, Simple) else _compound_text(c) for c in p.cmds)


def _compound_text(node) -> str:
    if isinstance(node, Group):
        inner = "; ".join(_pipe_text(i.first) for i in node.body.items)
        return f"( {inner} )" if node.subshell else f"{{ {inner}; }}"
    return type(node).__name__.lower()


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


_AWS_ENDPOINT = re.compile(r"^https://[a-z0-9.-]+\.(?:amazonaws\.com(?:\.cn)?|api\.aws)(?::443)?/?$")


def emulated(words: list[str | None]) -> bool:
    """The aws command is sent to an endpoint that is not AWS's own (``--endpoint-url http://localhost:4566``,
    LocalStack): what it does or reads is the emulator's copy. The real regional and FIPS endpoints
    (``https://lambda.us-west-2.amazonaws.com``) are AWS; a value that cannot be read is taken as AWS's."""
    _, value = option_value(words, "--endpoint-url")
    return bool(value) and _not_aws(value.lower())  # "$ENDPOINT" (None or ""): not known, taken as AWS's


def _not_aws(value: str) -> bool:
    """An endpoint (as written, expansions dropped) that is not AWS's: plain http (AWS's are https), or a full
    URL of another host; ``https://lambda..amazonaws.com`` (a region from a variable) is AWS's."""
    if value.startswith("http://"):
        return True
    if _AWS_ENDPOINT.match(value) or re.search(r"\.(?:amazonaws\.com(?:\.cn)?|api\.aws)(?::443)?/?$", value):
        return False
    return bool(re.match(r"https://[a-z0-9.-]+", value))
