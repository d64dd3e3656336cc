"""The syntax tree of a parsed script, and the walks over it that the checks and the proof share.

Kept apart from the parser so the abstract run and the step judges read nodes without the parsing code.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from compliance.judge.shell.lexer import _ASSIGN, Heredoc, Word

# --------------------------------------------------------------------------- syntax tree


@dataclass
class Redir:
    op: str
    target: Word | None
    heredoc: Heredoc | None = None


@dataclass
class Simple:
    assigns: list[tuple[str, Word | None]]
    words: list[Word]
    redirs: list[Redir]
    line: int

    @property
    def text(self) -> str:
        shown = [f"{n}={w.raw if w else ''}" for n, w in self.assigns] + [w.raw for w in self.words]
        return " ".join(shown)


@dataclass
class Pipeline:
    cmds: list[object]
    negated: bool
    line: int


@dataclass
class AndOr:
    first: Pipeline
    rest: list[tuple[str, Pipeline]]
    background: bool = False  # ended by `&`: runs on its own, its status and exit are not the script's


@dataclass
class Seq:
    items: list[AndOr]


@dataclass
class Group:
    body: Seq
    subshell: bool
    line: int
    redirs: list[Redir] = field(default_factory=list)


@dataclass
class If:
    clauses: list[tuple[Seq, Seq]]
    orelse: Seq | None
    line: int
    redirs: list[Redir] = field(default_factory=list)


@dataclass
class Loop:
    until: bool
    cond: Seq
    body: Seq
    line: int
    redirs: list[Redir] = field(default_factory=list)


@dataclass
class For:
    var: str
    words: list[Word] | None
    body: Seq
    line: int
    redirs: list[Redir] = field(default_factory=list)


@dataclass
class Case:
    subject: Word
    arms: list[tuple[list[Word], Seq]]
    line: int
    redirs: list[Redir] = field(default_factory=list)


@dataclass
class FuncDef:
    name: str
    body: object
    line: int


@dataclass
class Script:
    tree: Seq
    comments: list[tuple[int, str]]
    heredocs: list[Heredoc]


# --------------------------------------------------------------------------- walking


def walk(node) -> Iterator[tuple[object, tuple[str, ...]]]:
    """Every node with the names of the functions it is defined inside."""
    yield from _walk(node, ())


def _walk(node, funcs):
    yield node, funcs
    if isinstance(node, Seq):
        for item in node.items:
            yield from _walk(item, funcs)
    elif isinstance(node, AndOr):
        yield from _walk(node.first, funcs)
        for _, p in node.rest:
            yield from _walk(p, funcs)
    elif isinstance(node, Pipeline):
        for c in node.cmds:
            yield from _walk(c, funcs)
    elif isinstance(node, Group):
        yield from _walk(node.body, funcs)
    elif isinstance(node, If):
        for cond, body in node.clauses:
            yield from _walk(cond, funcs)
            yield from _walk(body, funcs)
        if node.orelse:
            yield from _walk(node.orelse, funcs)
    elif isinstance(node, Loop):
        yield from _walk(node.cond, funcs)
        yield from _walk(node.body, funcs)
    elif isinstance(node, (For,)):
        yield from _walk(node.body, funcs)
    elif isinstance(node, Case):
        for _, body in node.arms:
            yield from _walk(body, funcs)
    elif isinstance(node, FuncDef):
        yield from _walk(node.body, (*funcs, node.name))


_WRAPPERS = {"env", "sudo", "time", "nohup", "command", "builtin", "exec", "nice", "stdbuf", "xargs"}


def command_words(cmd: Simple) -> list[Word]:
    """The words after wrappers such as ``env X=1``, ``sudo``, ``exec``, ``timeout 60``."""
    words = list(cmd.words)
    while words:
        name = words[0].literal
        if name and "/" in name and name.rsplit("/", 1)[1] in _WRAPPERS:
            name = name.rsplit("/", 1)[1]
        if name in _WRAPPERS:
            words = words[1:]
            while words and ((words[0].literal or "").startswith("-") or _ASSIGN.match(words[0].raw)):
                words = words[1:]
        elif name == "timeout" and len(words) > 1:
            words = [w for w in words[1:] if not (w.literal or "").startswith("-")][1:]
        else:
            break
    return words
