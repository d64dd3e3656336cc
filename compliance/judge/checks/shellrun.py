"""The abstract run of parsed shell text: every path a script can take, under one hypothesis.

``prove_fails`` runs the script with the function's State (or LastUpdateStatus) wrong and says whether
every path ends non-zero; the reasons it gives name the line and why a check did not stop the script.
Only values read from the function *after* the deploy count, and a substring match on the whole
configuration proves nothing about State. Anything it cannot follow ends its path as unknown.
"""

from __future__ import annotations

import copy
import fnmatch
import re
from dataclasses import dataclass, field

from compliance.judge.checks.shelltext import (
    _ASSIGN,
    AndOr,
    Case,
    For,
    FuncDef,
    Group,
    If,
    Lexer,
    Loop,
    Pipeline,
    Redir,
    Script,
    Seq,
    ShellSyntaxError,
    Simple,
    Word,
    command_words,
    parse,
    walk,
)

# --------------------------------------------------------------------------- abstract run

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


class Runner:
    """Runs a parsed script on every path it can take under one hypothesis."""

    def __init__(self, hyp: Hypothesis):
        self.hyp = hyp
        self.executed: set[int] = set()
        self.untainted_checks: set[int] = set()
        self.whole_greps: set[int] = set()
        self.case_greps: set[int] = set()  # case-insensitive substring matches of "active"  # substring matches on the whole configuration
        self.steps = 0
        self._subst: dict[str, Script | None] = {}

    # ----------------------------------------------------------------- entry

    def run(self, script: Script, state: State) -> list[PathEnd]:
        state.armed = self.hyp.armed
        ends = []
        for st in self.seq(script.tree, state, False, None):
            if st.unknown:
                ends.append(PathEnd(None, st.unknown))
            else:
                code = st.exited if st.exited is not None else st.status
                ends.append(PathEnd(code, self._why_zero(st) if code == 0 else None))
        return ends

    def _why_zero(self, st: State) -> str | None:
        if st.last_bad:
            line, text, why = st.last_bad
            return f"line {line}: `{_short(text)}`: {why}"
        return None

    # ----------------------------------------------------------------- structure

    def _limit(self, states: list[State]) -> list[State]:
        """Paths that reached the same state are one path from here on; past the cap, the rest is unknown."""
        if len(states) > 1:
            states = list({st.key(): st for st in states}.values())
        if len(states) <= _MAX_PATHS:
            return states
        keep = states[:_MAX_PATHS - 1]
        over = states[-1]
        over.unknown = over.unknown or "the script has too many paths to follow"
        return [*keep, over]

    def seq(self, node: Seq, st: State, cond: bool, why: str | None) -> list[State]:
        states = [st]
        for item in node.items:
            nxt: list[State] = []
            for s in states:
                if s.done:
                    nxt.append(s)
                elif item.background:
                    self.and_or(item, s.fork(), True, why)  # runs (its commands count as run), decides nothing
                    s.status = 0
                    nxt.append(s)
                else:
                    nxt.extend(self.and_or(item, s, cond, why))
            states = self._limit(nxt)
        return states

    def and_or(self, node: AndOr, st: State, cond: bool, why: str | None) -> list[State]:
        elements = [("", node.first), *node.rest]
        cur = [st]
        for idx, (op, pipe) in enumerate(elements):
            last = idx == len(elements) - 1
            inner_why = why
            if not last:
                nop, npipe = elements[idx + 1]
                inner_why = f"its failure is handled by `{nop} {_short(_pipe_text(npipe))}`, which does not fail " \
                            "the step" if nop == "||" else f"a failure only skips `&& {_short(_pipe_text(npipe))}`"
            nxt: list[State] = []
            for s in cur:
                if s.done or (idx and not ((op == "&&" and s.status == 0) or (op == "||" and s.status != 0))):
                    nxt.append(s)
                    continue
                nxt.extend(self.pipeline(pipe, s, cond or not last, inner_why))
            cur = self._limit(nxt)
        return cur

    def pipeline(self, node: Pipeline, st: State, cond: bool, why: str | None) -> list[State]:
        if node.negated:
            why = "`!` turns its failure into success"
        if len(node.cmds) == 1:
            outs = self.command(node.cmds[0], st, cond or node.negated, why, False)
        else:
            outs = self._piped(node, st, why)
        for s in outs:
            if s.done:
                continue
            if node.negated:
                s.status = 0 if s.status else 1
            if s.status and s.errexit and not cond:
                s.exited = s.status
        return outs

    def _piped(self, node: Pipeline, st: State, why: str | None) -> list[State]:
        combos = [(st, [], 0)]
        n = len(node.cmds)
        for i, cmd in enumerate(node.cmds):
            nxt = []
            for base, statuses, taint in combos:
                sub = base.fork()
                sub.exited = None
                inner = why if i == n - 1 or base.pipefail else \
                    "its status is lost: it is not the last command of a pipeline and pipefail is off"
                for r in self.command(cmd, sub, True, inner, taint):
                    main = base.fork()
                    main.files.update(r.files)
                    main.last_bad = r.last_bad
                    main.armed = r.armed
                    if r.unknown:
                        main.unknown = r.unknown
                    code = r.exited if r.exited is not None else r.status
                    nxt.append((main, [*statuses, code], r.out_taint))
            combos = nxt[:_MAX_PATHS]
        out = []
        for main, statuses, _ in combos:
            failed = [c for c in statuses if c]
            main.status = (failed[-1] if failed else 0) if main.pipefail else statuses[-1]
            out.append(main)
        return out

    def command(self, node, st: State, cond: bool, why: str | None, stdin_taint: int) -> list[State]:
        st.out_taint = 0
        if isinstance(node, Simple):
            return self.simple(node, st, cond, why, stdin_taint)
        if isinstance(node, FuncDef):
            st.funcs[node.name] = node
            st.status = 0
            return [st]
        stdin_taint = stdin_taint | self._redir_taint(getattr(node, "redirs", []), st)
        if isinstance(node, Group):
            if node.subshell:
                sub = st.fork()
                outs = []
                for r in self.seq(node.body, sub, cond, why):
                    main = st.fork()
                    main.status = r.exited if r.exited is not None else r.status
                    main.unknown, main.last_bad, main.files, main.armed = r.unknown, r.last_bad, r.files, r.armed
                    outs.append(main)
                return outs
            return self.seq(node.body, st, cond, why)
        if isinstance(node, If):
            return self._if(node, st, cond, why)
        if isinstance(node, Loop):
            return self._loop(node, st, cond, why)
        if isinstance(node, For):
            return self._for(node, st, cond, why)
        if isinstance(node, Case):
            return self._case(node, st, cond, why)
        st.unknown = f"line {getattr(node, 'line', '?')}: a construct this check cannot follow"
        return [st]

    def _if(self, node: If, st: State, cond: bool, why: str | None) -> list[State]:
        pending = [st]
        out: list[State] = []
        cwhy = f"it only decides the `if` at line {node.line}, which does not fail the step"
        for test, body in node.clauses:
            nxt = []
            for s in pending:
                for r in self.seq(test, s, True, cwhy):
                    if r.done:
                        out.append(r)
                    elif r.status == 0:
                        out.extend(self.seq(body, r, cond, why))
                    else:
                        nxt.append(r)
            pending = self._limit(nxt)
        for s in pending:
            if node.orelse is not None:
                out.extend(self.seq(node.orelse, s, cond, why))
            else:
                s.status = 0
                out.append(s)
        return self._limit(out)

    def _loop(self, node: Loop, st: State, cond: bool, why: str | None) -> list[State]:
        active, out = [st], []
        cwhy = f"it only controls the loop at line {node.line}"
        for _ in range(_MAX_LOOP):
            nxt = []
            for s in active:
                for r in self.seq(node.cond, s, True, cwhy):
                    if r.done:
                        out.append(r)
                    elif (r.status == 0) == node.until:
                        r.status = 0
                        out.append(r)
                    else:
                        for b in self.seq(node.body, r, cond, why):
                            self._loop_exit(b, nxt, out)
            active = self._limit(nxt)
            if not active:
                return self._limit(out)
        for s in active:
            s.unknown = f"line {node.line}: the loop does not end when the value is wrong (it would only time out)"
            out.append(s)
        return self._limit(out)

    @staticmethod
    def _loop_exit(b: State, again: list[State], out: list[State]) -> None:
        if b.brk:
            b.brk -= 1
            out.append(b)
        elif b.cont:
            b.cont -= 1
            (again if not b.cont else out).append(b)
        elif b.done:
            out.append(b)
        else:
            again.append(b)

    def _for(self, node: For, st: State, cond: bool, why: str | None) -> list[State]:
        items: list[str | None] | None = []
        for w in node.words or []:
            counted = _counted(w)
            if counted is not None:
                items.extend(counted)
                continue
            value, _ = self.value(w, st)
            if value is None or w.literal is None and re.search(r"[*?\[]", value or ""):
                items = None
                break
            if re.fullmatch(r"\{\d+\.\.\d+\}", value):
                items = None  # a brace range runs at least once; modelled like an unknown list below
                break
            items.extend(value.split())
        if node.words is None:
            items = None
        out: list[State] = []
        if items is None:  # unknown list: it may run zero times; the iterations are alike under the hypothesis
            zero = st.fork()
            zero.status = 0
            out.append(zero)
            active = [st]
            for _ in range(2):
                nxt = []
                for s in active:
                    s.env[node.var] = (None, 0)
                    for b in self.seq(node.body, s, cond, why):
                        self._loop_exit(b, nxt, out)
                active = self._limit(nxt)
            out.extend(active)
            return self._limit(out)
        active = [st]
        for item in items[:50]:
            nxt = []
            for s in active:
                s.env[node.var] = (item, 0)
                for b in self.seq(node.body, s, cond, why):
                    self._loop_exit(b, nxt, out)
            active = self._limit(nxt)
        out.extend(active)
        for s in out:
            if not s.done and not items:
                s.status = 0
        return self._limit(out)

    def _case(self, node: Case, st: State, cond: bool, why: str | None) -> list[State]:
        value, taint = self.value(node.subject, st)
        bad = self.hyp.bad if st.armed else None
        out: list[State] = []
        possible: list[Seq] = []
        for pats, body in node.arms:
            statics = [p.static for p in pats]
            props = {prop for p in statics for prop in EXPECTED if mentions(p, prop)}
            if any(re.search(r"[*?\[]", p) for p in statics):
                props = substring_props(props, taint)
            if taint and props:
                if bad in props:
                    continue  # the wrong value does not match the arm written for the right one
                possible.append(body)
                break
            if value is not None and all(p.literal is not None for p in pats):
                if any(fnmatch.fnmatchcase(value, p.literal) for p in pats):
                    possible.append(body)
                    break
                continue
            possible.append(body)
            if any(p.literal == "*" for p in pats):
                break
        else:
            possible.append(None)
        for body in possible:
            s = st.fork()
            if body is None:
                s.status = 0
                if taint and bad:
                    s.last_bad = (node.line, f"case {node.subject.raw} in ...",
                                  "no arm of the case fails the step for the wrong value")
                out.append(s)
            else:
                out.extend(self.seq(body, s, cond, why))
        return self._limit(out)

    # ----------------------------------------------------------------- values

    def _subst_script(self, text: str) -> Script | None:
        if text not in self._subst:
            try:
                self._subst[text] = parse(text)
            except ShellSyntaxError:
                self._subst[text] = None
        return self._subst[text]

    def _subst_taint(self, text: str, st: State) -> int:
        script = self._subst_script(text)
        if script is None:
            return 0
        taint = 0
        for node, _ in walk(script.tree):
            if not isinstance(node, Simple):
                continue
            words = [w.literal for w in command_words(node)]
            op, _w = aws_lambda(words)
            if op in _READS and self._names_function(words):
                taint |= read_bits(words)
            for w in node.words:
                for k, t in w.parts:
                    if k == "var":
                        taint |= st.env.get(_var_name(t), (None, 0))[1]
                taint |= st.files.get(w.literal or "", 0)
            if words and words[0] == "jq" and taint:
                taint = _jq_bits(" ".join(w.static for w in node.words[1:])) or taint
        return taint

    def _names_function(self, words: list[str | None]) -> bool:
        present, value = option_value(words, "--function-name")
        return present and function_matches(value, self.hyp.function)

    def value(self, word: Word, st: State) -> tuple[str | None, int]:
        out: list[str] = []
        known, taint = True, 0
        for kind, text in word.parts:
            if kind in ("lit", "q"):
                out.append(text)
            elif kind == "var":
                name = _var_name(text)
                if text == "?":
                    out.append(str(st.status))
                    continue
                v, t = st.env.get(name, (None, 0))
                taint |= t
                if v is None or text != name:
                    known = False
                else:
                    out.append(v)
            elif kind == "cmd":
                known = False
                taint |= self._subst_taint(text, st)
            else:
                known = False
        # only what is read after the deploy counts: a value read before it is the old function's
        return ("".join(out) if known else None), (taint if st.armed else 0)

    def _redir_taint(self, redirs: list[Redir], st: State) -> int:
        taint = 0
        for r in redirs:
            if r.op == "<<<" and r.target is not None:
                taint |= self.value(r.target, st)[1]
            elif r.op in ("<<", "<<-") and r.heredoc and r.heredoc.body:
                taint |= self.value(r.heredoc.body, st)[1]
            elif r.op == "<" and r.target is not None:
                taint |= st.files.get(r.target.literal or "", 0)
        return taint

    # ----------------------------------------------------------------- simple commands

    def simple(self, cmd: Simple, st: State, cond: bool, why: str | None, stdin_taint: int) -> list[State]:
        self.executed.add(id(cmd))
        self.steps += 1
        if self.steps > _MAX_STEPS:
            st.unknown = "the script has too many paths to follow"
            return [st]
        stdin_taint = stdin_taint | self._redir_taint(cmd.redirs, st)
        words = command_words(cmd)
        if not words:
            for name, w in cmd.assigns:
                st.env[name] = self.value(w, st) if w else ("", 0)
            st.status = 0
            return [st]
        name = words[0].literal
        values = [self.value(w, st) for w in words]
        lits = [v for v, _ in values]
        arg_taint = 0
        for _, t in values[1:]:
            arg_taint |= t
        if name is None:
            st.unknown = f"line {cmd.line}: `{_short(cmd.text)}` runs a command named by an expansion, " \
                         "which this check cannot follow"
            return [st]
        outs = self._builtin(name, cmd, words, lits, st, cond, why, stdin_taint, arg_taint)
        for s in outs:
            self._redirect_out(cmd, s, words, lits)
            if not s.armed and self.hyp.is_deploy and self.hyp.is_deploy(lits):
                s.armed = True
        return outs

    def _redirect_out(self, cmd: Simple, st: State, words, lits) -> None:
        op, _ = aws_lambda(lits)
        if op in _READS and self._names_function(lits) and st.armed:
            st.out_taint = read_bits(lits)
        for r in cmd.redirs:
            if r.op in (">", ">>", ">|", "&>", "&>>") and r.target is not None and r.target.literal:
                if st.out_taint:
                    st.files[r.target.literal] = st.out_taint
                else:
                    st.files.pop(r.target.literal, None)

    def _builtin(self, name, cmd, words, lits, st, cond, why, stdin_taint, arg_taint) -> list[State]:
        line = cmd.line
        if name in st.funcs:  # a function shadows every builtin, `exit` and `test` included
            return self._call(st.funcs[name], st, cond, why)
        if name in ("alias", "trap") and (name == "alias" or re.search(r"\b(exit|return)\b", " ".join(
                v or "" for v in lits[1:]))):
            st.unknown = f"line {line}: `{_short(cmd.text)}` can change what the step's commands do or how it " \
                         "ends, which this check cannot follow"
            return [st]
        if name in ("exit", "return"):
            if len(lits) > 1 and (lits[1] is None or not re.fullmatch(r"-?\d+", lits[1])):
                st.unknown = f"line {line}: `{_short(cmd.text)}` exits with a status this check cannot tell"
                return [st]
            code = int(lits[1]) % 256 if len(lits) > 1 else st.status
            if name == "exit" or st.depth == 0:
                st.exited = code
            else:
                st.status, st.ret = code, True
            return [st]
        if name in ("break", "continue"):
            n = int(lits[1]) if len(lits) > 1 and (lits[1] or "").isdigit() else 1
            if name == "break":
                st.brk = n
            else:
                st.cont = n
            st.status = 0
            return [st]
        if name == "set":
            self._set(lits[1:], st, line)
            st.status = 0
            return [st]
        if name in ("true", ":"):
            st.status = 0
            return [st]
        if name == "false":
            st.status = 1
            return self._failed(st, cond, why, None)
        if name in ("echo", "printf"):
            st.status = 0
            st.out_taint = arg_taint
            if name == "printf" and len(lits) > 2 and lits[1] == "-v" and lits[2]:
                st.env[lits[2]] = (None, arg_taint)
            return [st]
        if name in ("eval", "source", ".", "trap_eval"):
            st.unknown = f"line {line}: `{_short(cmd.text)}` runs code this check cannot see ({name})"
            return [st]
        if name in ("local", "declare", "typeset", "export", "readonly"):
            for w in words[1:]:
                m = _ASSIGN.match(w.raw)
                if m:
                    rest = w.raw[m.end():]
                    st.env[m.group(1)] = self.value(Lexer(rest, w.line)._word(), st) if rest else ("", 0)
            st.status = 0
            return [st]
        if name == "unset":
            for v in lits[1:]:
                st.env.pop(v or "", None)
            st.status = 0
            return [st]
        if name == "read":
            for v in lits[1:]:
                if v and not v.startswith("-") and re.fullmatch(r"[A-Za-z_]\w*", v):
                    st.env[v] = (None, stdin_taint)
            st.status = 0
            return [st]
        if name in ("test", "[", "[["):
            return self._test(cmd, words, st, cond, why)
        if name in ("grep", "egrep", "fgrep"):
            return self._grep(cmd, words, lits, st, cond, why, stdin_taint)
        if name == "jq":
            return self._jq(cmd, words, lits, st, cond, why, stdin_taint)
        op, waiter = aws_lambda(lits)
        if op == "wait" and waiter in WAITERS and self._names_function(lits):
            bad = st.armed and self.hyp.bad == WAITERS[waiter]
            st.status = 255 if bad else 0
            if bad:
                return self._failed(st, cond, why, (line, cmd.text))
            return [st]
        st.out_taint = stdin_taint | arg_taint
        if cond:  # a command of unknown outcome that decides something: both outcomes are possible
            fail = st.fork()
            fail.status = 1
            st.status = 0
            return [st, fail]
        st.status = 0
        return [st]

    def _set(self, args: list[str | None], st: State, line: int) -> None:
        i = 0
        while i < len(args):
            a = args[i] or ""
            if a in ("-o", "+o") and i + 1 < len(args):
                self._flag(args[i + 1] or "", a == "-o", st, line)
                i += 2
                continue
            if re.fullmatch(r"[-+][a-zA-Z]+", a):
                on = a[0] == "-"
                for letter in a[1:]:
                    if letter == "e":
                        self._flag("errexit", on, st, line)
                    elif letter == "o" and i + 1 < len(args):
                        i += 1
                        self._flag(args[i] or "", on, st, line)
            elif a == "--":
                break
            i += 1

    @staticmethod
    def _flag(name: str, on: bool, st: State, line: int) -> None:
        if name == "errexit":
            st.errexit = on
            st.errexit_off = None if on else line
        elif name == "pipefail":
            st.pipefail = on

    def _call(self, func: FuncDef, st: State, cond: bool, why: str | None) -> list[State]:
        if st.depth >= _MAX_DEPTH:
            st.unknown = f"line {func.line}: function {func.name} recurses deeper than this check follows"
            return [st]
        st.depth += 1
        outs = []
        for r in self.command(func.body, st, cond, why, False):
            r.depth -= 1
            r.ret = False
            outs.append(r)
        return outs

    def _failed(self, st: State, cond: bool, why: str | None, bad: tuple[int, str] | None) -> list[State]:
        """A check saw the wrong value; remember why that does not stop the script, should it not."""
        if bad:
            if st.status == 0 and (why is None or why.startswith("its failure is handled")):
                why = "it succeeds when the value is wrong"
            elif why is None and not st.errexit:
                where = f" (`set +e` at line {st.errexit_off})" if st.errexit_off else \
                    " (the step's shell runs without -e)"
                why = f"errexit is off{where} and nothing checks its status"
            st.last_bad = (bad[0], bad[1], why or "its failure does not stop the step")
        return [st]

    def _seen_bad(self, props: set[str], st: State) -> bool:
        return st.armed and self.hyp.bad in props

    def _outcome(self, props: set[str], st: State) -> bool:
        """The check's result under the hypothesis: True = the right value is seen."""
        return not self._seen_bad(props, st)

    def _finish(self, st, cond, why, result: bool | None, cmd: Simple, saw_bad: bool) -> list[State]:
        if result is None:
            other = st.fork()
            st.status, other.status = 0, 1
            if saw_bad:
                self._failed(st, cond, why, (cmd.line, cmd.text))
                self._failed(other, cond, why, (cmd.line, cmd.text))
            return [st, other]
        st.status = 0 if result else 1
        return self._failed(st, cond, why, (cmd.line, cmd.text) if saw_bad else None)

    def _test(self, cmd: Simple, words: list[Word], st, cond, why) -> list[State]:
        args = words[1:]
        if words[0].literal in ("[", "[["):
            if not args or args[-1].literal not in ("]", "]]"):
                st.unknown = f"line {cmd.line}: `{_short(cmd.text)}` is not a well-formed test"
                return [st]
            args = args[:-1]
        ev = _TestEval(self, st, args, words[0].literal == "[[")
        result = ev.parse()
        if ev.whole and not ev.tainted_check:
            self.whole_greps.add(id(cmd))
        elif ev.checked and not ev.tainted_check:
            self.untainted_checks.add(id(cmd))
        return self._finish(st, cond, why, result, cmd, ev.bad_seen)

    def _grep(self, cmd, words, lits, st, cond, why, stdin_taint) -> list[State]:
        flags, pattern, files, i = set(), None, [], 1
        while i < len(words):
            w = lits[i] or ""
            if w == "-e" and i + 1 < len(words):
                pattern = words[i + 1].static
                i += 2
                continue
            if w.startswith("-") and len(w) > 1 and pattern is None or w.startswith("--"):
                flags.update(w.lstrip("-") if not w.startswith("--") else [w])
            elif pattern is None:
                pattern = words[i].static
            else:
                files.append(lits[i])
            i += 1
        if words[0].literal == "grep" and {"v", "--invert-match"} & flags:
            inverted = True
        else:
            inverted = False
        ignore_case = bool({"i", "--ignore-case"} & flags)
        written = {p for p in EXPECTED if pattern is not None and mentions(pattern, p, ignore_case)}
        taint = stdin_taint if not files else _or(st.files.get(f or "", 0) for f in files)
        props = substring_props(written, taint)
        if ignore_case and not {"x", "w", "--line-regexp", "--word-regexp"} & flags:
            if "state" in props:
                props.discard("state")  # `grep -i active` also matches "Inactive"
                self.case_greps.add(id(cmd))
        if written and not taint:
            self.untainted_checks.add(id(cmd))
        elif written - props:
            self.whole_greps.add(id(cmd))
        st.out_taint = taint
        if props and taint:
            matched = self._outcome(props, st)
            return self._finish(st, cond, why, matched != inverted, cmd, self._seen_bad(props, st))
        return self._finish(st, cond, why, None if cond else True, cmd, False)

    def _jq(self, cmd, words, lits, st, cond, why, stdin_taint) -> list[State]:
        takes = {"--arg": 2, "--argjson": 2, "--slurpfile": 2, "--rawfile": 2, "--indent": 1, "-f": 1,
                 "--from-file": 1, "-L": 1, "--tab": 0}
        exit_status, filt, files, i = False, None, [], 1
        while i < len(words):
            w = lits[i] or ""
            if w in takes:
                i += 1 + takes[w]
                continue
            if w == "--exit-status" or re.fullmatch(r"-[a-zA-Z]*e[a-zA-Z]*", w):
                exit_status = True
            elif w.startswith("-") and len(w) > 1:
                pass
            elif filt is None:
                filt = words[i].static
            else:
                files.append(lits[i])
            i += 1
        taint = stdin_taint if not files else _or(st.files.get(f or "", 0) for f in files)
        st.out_taint = (_jq_bits(filt or "") or taint) if taint else 0
        props = {p for p in EXPECTED if filt is not None and re.search(rf"[\"']{EXPECTED[p]}[\"']", filt)}
        if exit_status and props and taint:
            if re.search(r"!=|\bnot\b|//|\balternative\b|\bempty\b|\btrue\b", filt or ""):
                return self._finish(st, cond, why, None, cmd, self._seen_bad(props, st))
            return self._finish(st, cond, why, self._outcome(props, st), cmd, self._seen_bad(props, st))
        if props and exit_status and not taint:
            self.untainted_checks.add(id(cmd))
        return self._finish(st, cond, why, None if cond else True, cmd, False)


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


class _TestEval:
    """``test`` / ``[`` / ``[[`` expressions: True, False, or None when the outcome cannot be told."""

    _BIN = {"=", "==", "!=", "=~", "-eq", "-ne", "-lt", "-le", "-gt", "-ge", "<", ">"}
    _UN = {"-z", "-n", "-e", "-f", "-d", "-s", "-r", "-w", "-x", "-L", "-h", "-v", "-t", "-p", "-S", "-b", "-c"}

    def __init__(self, runner: Runner, st: State, words: list[Word], bracket: bool = False):
        self.r, self.st, self.w = runner, st, words
        self.bracket = bracket  # [[ ]]: an unquoted right side of == is a glob pattern
        self.whole = False  # a pattern matched against the whole configuration
        self.i = 0
        self.checked = False  # a comparison with the expected value was written
        self.tainted_check = False  # ... and it reads the function's configuration
        self.bad_seen = False

    def parse(self) -> bool | None:
        try:
            value = self._or()
        except IndexError:
            return None
        return value if self.i == len(self.w) else None

    def _tok(self) -> str | None:
        return self.w[self.i].literal if self.i < len(self.w) else None

    def _or(self):
        left = self._and()
        while self._tok() in ("-o", "||"):
            self.i += 1
            right = self._and()
            left = True if left is True or right is True else (None if None in (left, right) else False)
        return left

    def _and(self):
        left = self._not()
        while self._tok() in ("-a", "&&"):
            self.i += 1
            right = self._not()
            left = False if left is False or right is False else (None if None in (left, right) else True)
        return left

    def _not(self):
        if self._tok() == "!" and self.i + 1 < len(self.w):
            self.i += 1
            v = self._not()
            return None if v is None else not v
        return self._primary()

    def _primary(self):
        tok = self._tok()
        if tok == "(":
            self.i += 1
            v = self._or()
            if self._tok() == ")":
                self.i += 1
            return v
        if tok in self._UN and self.i + 1 < len(self.w):
            self.i += 2
            value, _ = self.r.value(self.w[self.i - 1], self.st)
            if tok == "-z" and value is not None:
                return value == ""
            if tok == "-n" and value is not None:
                return value != ""
            return None
        if self.i + 2 <= len(self.w) - 1 and self.w[self.i + 1].literal in self._BIN:
            left, op, right = self.w[self.i], self.w[self.i + 1].literal, self.w[self.i + 2]
            self.i += 3
            return self._compare(left, op, right)
        word = self.w[self.i]
        self.i += 1
        value, _ = self.r.value(word, self.st)
        return None if value is None else value != ""

    def _compare(self, left: Word, op: str, right: Word):
        lv, lt = self.r.value(left, self.st)
        rv, rt = self.r.value(right, self.st)
        props = set()
        for word, tainted_other in ((left, rt), (right, lt)):
            if tainted_other:
                written = {p for p in EXPECTED if mentions(word.static, p)}
                if op == "=~" or (self.bracket and op in ("=", "==") and any(
                        k in ("lit",) and re.search(r"[*?\[]", t) for k, t in word.parts)):
                    narrowed = substring_props(written, tainted_other)  # a pattern, not an equality
                    self.whole = self.whole or narrowed != written
                    written = narrowed
                props |= written
        if any(mentions(w.static, p) for w in (left, right) for p in EXPECTED):
            self.checked = True
        if props and op in ("=", "==", "!=", "=~"):
            self.tainted_check = True
            same = self.r._outcome(props, self.st)
            if not same:
                self.bad_seen = True
            return same if op != "!=" else not same
        if lv is None or rv is None:
            return None
        if op in ("=", "=="):
            return lv == rv if op == "=" or "*" not in rv else fnmatch.fnmatchcase(lv, rv)
        if op == "!=":
            return lv != rv
        if op == "=~":
            try:
                return re.search(rv, lv) is not None
            except re.error:
                return None
        try:
            a, b = int(lv), int(rv)
        except ValueError:
            return None if op not in ("<", ">") else ((lv < rv) if op == "<" else (lv > rv))
        return {"-eq": a == b, "-ne": a != b, "-lt": a < b, "-le": a <= b, "-gt": a > b, "-ge": a >= b,
                "<": lv < rv, ">": lv > rv}[op]


def prove_fails(script: Script, prop: str, *, function: str, errexit: bool, pipefail: bool,
                env: dict[str, str] | None = None, armed: bool = True, is_deploy=None) -> tuple[bool, str | None]:
    """Does the script end non-zero on every path when ``prop`` has the wrong value? (proved, why not)."""
    runner = Runner(Hypothesis(prop, function, armed, is_deploy))
    start = State({k: (v, 0) for k, v in (env or {}).items()}, errexit, pipefail)
    ends = runner.run(script, start)
    for end in ends:
        if end.code is None:
            return False, end.reason
    for end in ends:
        if end.code == 0:
            return False, end.reason or _static_reason(script, prop, runner)
    return True, None


def _static_reason(script: Script, prop: str, runner: Runner) -> str:
    """Why no check of ``prop`` ran: where the expected value is written, and why each place checks nothing."""
    notes: list[str] = []
    for line, text in script.comments:
        if mentions(text, prop):
            notes.append(f"line {line}: only in a comment")
    for doc in script.heredocs:
        if doc.body and mentions(doc.body.raw, prop):
            notes.append(f"line {doc.line}: only in heredoc text")
    for node, funcs in walk(script.tree):
        if not isinstance(node, Simple):
            continue
        words = command_words(node)
        lits = [w.literal for w in words]
        op, waiter = aws_lambda(lits)
        is_wait = op == "wait" and WAITERS.get(waiter or "") == prop
        if not is_wait and id(node) not in runner.case_greps and not any(mentions(w.static, prop) for w in node.words):
            continue
        name = lits[0] if lits else None
        if name in ("echo", "printf"):
            notes.append(f"line {node.line}: only in {name} text, which prints and asserts nothing")
        elif id(node) not in runner.executed:
            where = f"inside function {funcs[-1]}, which is never called" if funcs else "on no path the step takes"
            notes.append(f"line {node.line}: `{_short(node.text)}` is {where}")
        elif id(node) in runner.case_greps and prop == "state":
            notes.append(f"line {node.line}: `{_short(node.text)}` ignores case, so it matches Inactive too: "
                         "use -x or compare exactly")
        elif id(node) in runner.whole_greps:
            notes.append(f"line {node.line}: `{_short(node.text)}` matches text anywhere in the whole configuration "
                         "(Active is also TracingConfig.Mode there): narrow the read with --query State")
        elif id(node) in runner.untainted_checks:
            notes.append(f"line {node.line}: `{_short(node.text)}` compares text that does not come from the "
                         "function (no `aws lambda get-function-configuration` output reaches it)")
        elif is_wait:
            notes.append(f"line {node.line}: `{_short(node.text)}` waits for another function")
        else:
            notes.append(f"line {node.line}: `{_short(node.text)}` checks nothing")
    if not notes:
        reads = [n.line for n, _ in walk(script.tree) if isinstance(n, Simple)
                 and aws_lambda([w.literal for w in command_words(n)])[0] in _READS]
        if reads:
            return f"it reads the function's configuration but nothing in it checks {PROPERTY_NAMES[prop]}: " \
                "it only prints"
        return f"nothing in it checks {PROPERTY_NAMES[prop]}"
    return "; ".join(dict.fromkeys(notes))
