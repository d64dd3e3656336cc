"""What one simple command does to a path: values, assignments, builtins, ``test``, ``grep`` and ``jq``.

A mixin of ``runner.Runner`` (which owns the control flow): the two halves share one object, the
per-run sets of which commands ran and which checks read the function, so the proof can explain itself.
"""

from __future__ import annotations

import re

from compliance.judge.shell.lexer import _ASSIGN, Lexer, ShellSyntaxError, Word
from compliance.judge.shell.nodes import Redir, Script, Simple, command_words, walk
from compliance.judge.shell.parser import parse
from compliance.judge.shell.state import (
    _MAX_STEPS,
    _READS,
    EXPECTED,
    WAITERS,
    State,
    _jq_bits,
    _or,
    _short,
    _var_name,
    aws_lambda,
    emulated,
    function_matches,
    mentions,
    option_value,
    read_bits,
    substring_props,
)
from compliance.judge.shell.testexpr import _TestEval


def _harmless_signal(args: list[str | None]) -> bool:
    """``kill -0 $$`` (is it alive?), ``kill -l`` (list signals), ``-CONT``: none ends the shell."""
    for i, a in enumerate(args):
        if a in ("-0", "-l", "-L", "--list", "-CONT", "-SIGCONT", "-18", "-s0", "-n0"):
            return True
        if a in ("-s", "-n") and i + 1 < len(args) and args[i + 1] in ("0", "CONT", "SIGCONT"):
            return True
    return False


class Commands:
    """The per-command half of the runner (mixed into ``Runner``)."""

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
        """The command reads the target function: it names it, and is not sent to an emulator's endpoint
        (``--endpoint-url http://localhost:4566``: a check of LocalStack's copy proves nothing of AWS's)."""
        present, value = option_value(words, "--function-name")
        asked_for_help = any(w in ("help", "--version", "--generate-cli-skeleton") or
                             (w or "").startswith("--generate-cli-skeleton") for w in words)
        return present and not emulated(words) and not asked_for_help and function_matches(value, self.hyp.function)

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
        # the shell is gone after `exec CMD` (replaced by it) and after `kill $$` (it killed itself):
        # nothing written after either runs (probe 12: both read as a deploy later in the script)
        replaced = ((cmd.words[0].literal or "").rsplit("/", 1)[-1] == "exec"
                    and not re.fullmatch(r"\{[A-Za-z_]\w*\}(?:[<>].*)?", words[0].raw))  # exec {fd}>file opens a file
        suicide = (name == "kill" and any(w.raw.strip("\"'") in ("$$", "${$}") for w in words[1:])
                   and not _harmless_signal(lits[1:]))
        for s in outs:
            self._redirect_out(cmd, s, words, lits)
            if not s.armed and self.hyp.is_deploy and self.hyp.is_deploy(lits):
                s.armed = True
            if (replaced or suicide) and s.exited is None:
                s.exited = s.status if replaced else 143
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
                    elif letter == "n":
                        self._flag("noexec", on, st, line)
                    elif letter == "o" and i + 1 < len(args):
                        i += 1
                        self._flag(args[i] or "", on, st, line)
            elif a == "--":
                break
            i += 1

    @staticmethod
    def _flag(name: str, on: bool, st: State, line: int) -> None:
        if name == "noexec" and on:  # `set -n`: the shell reads the rest and runs none of it
            st.exited = 0
            return
        if name == "errexit":
            st.errexit = on
            st.errexit_off = None if on else line
        elif name == "pipefail":
            st.pipefail = on


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
