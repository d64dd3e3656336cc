"""The abstract run of parsed shell text: every path a script can take, under one hypothesis.

This module follows the control flow (sequences, ``&&``/``||``, pipes, ``if``, loops, ``case``,
functions) and forks a path's state where the outcome is not known; what a single command does to a
path is in ``commands`` (the ``Commands`` mixin), so neither half outgrows a reader.
"""

from __future__ import annotations

import fnmatch
import re

from compliance.judge.shell.commands import Commands
from compliance.judge.shell.nodes import (
    AndOr,
    Case,
    For,
    FuncDef,
    Group,
    If,
    Loop,
    Pipeline,
    Script,
    Seq,
    Simple,
)
from compliance.judge.shell.state import (
    _MAX_DEPTH,
    _MAX_LOOP,
    _MAX_PATHS,
    EXPECTED,
    Hypothesis,
    PathEnd,
    State,
    _counted,
    _pipe_text,
    _short,
    mentions,
    substring_props,
)


class Runner(Commands):
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
