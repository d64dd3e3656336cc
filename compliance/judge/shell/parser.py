"""A recursive-descent parser for the part of bash that CI steps and deploy scripts use.

Separate from the lexer (words) and the nodes (tree) so each stays small; ``parse`` is the entry point.
"""

from __future__ import annotations

import re

from compliance.judge.shell.lexer import (
    _ASSIGN,
    _GH_EXPR,
    Heredoc,
    Lexer,
    ShellSyntaxError,
    Token,
    Word,
    refuse_nul,
)
from compliance.judge.shell.nodes import (
    AndOr,
    Case,
    For,
    FuncDef,
    Group,
    If,
    Loop,
    Pipeline,
    Redir,
    Script,
    Seq,
    Simple,
)

_RESERVED_END = {"then", "elif", "else", "fi", "do", "done", "esac", "}"}
# Compound commands nested deeper than this are not read: each level is a few Python frames, and a script in a
# pull request's workflow could nest hundreds deep to exhaust the recursion (an "internal error in check").
# A real CI step or deploy script nests a handful deep.
MAX_NESTING = 50


class Parser:
    """A recursive-descent parser for the part of bash that CI steps and deploy scripts use."""

    def __init__(self, tokens: list[Token]):
        self.t = tokens
        self.i = 0
        self.depth = 0

    def parse(self) -> Seq:
        seq = self.seq(set())
        if self.i < len(self.t):
            tok = self.t[self.i]
            raise ShellSyntaxError(tok.line, f"unexpected {self._show(tok)}")
        return seq

    @staticmethod
    def _show(tok: Token) -> str:
        return repr(tok.value.raw if isinstance(tok.value, Word) else tok.value)

    def peek(self) -> Token | None:
        return self.t[self.i] if self.i < len(self.t) else None

    def _is_word(self, value: str) -> bool:
        tok = self.peek()
        return bool(tok and tok.kind == "word" and tok.value.literal == value and tok.value.raw == value)

    def _skip_nl(self) -> None:
        while (tok := self.peek()) and tok.kind == "nl":
            self.i += 1

    def expect_word(self, value: str) -> None:
        self._skip_nl()
        if not self._is_word(value):
            tok = self.peek()
            raise ShellSyntaxError(tok.line if tok else (self.t[-1].line if self.t else 1),
                                   f"expected {value!r}, got {self._show(tok) if tok else 'end of text'}")
        self.i += 1

    def seq(self, stops: set[str]) -> Seq:
        items: list[AndOr] = []
        while True:
            self._skip_nl()
            tok = self.peek()
            if tok is None or (tok.kind == "op" and tok.value in (")", ";;")):
                break
            if tok.kind == "word" and tok.value.raw in stops:
                break
            if tok.kind == "op" and tok.value in (";", "&"):
                raise ShellSyntaxError(tok.line, f"unexpected {tok.value!r}")
            items.append(self.and_or())
            tok = self.peek()
            if tok and tok.kind == "op" and tok.value in (";", "&"):
                items[-1].background = tok.value == "&"
                self.i += 1
        return Seq(items)

    def and_or(self) -> AndOr:
        first = self.pipeline()
        rest = []
        while (tok := self.peek()) and tok.kind == "op" and tok.value in ("&&", "||"):
            self.i += 1
            self._skip_nl()
            rest.append((tok.value, self.pipeline()))
        return AndOr(first, rest)

    def pipeline(self) -> Pipeline:
        tok = self.peek()
        line = tok.line if tok else 1
        negated = False
        while self._is_word("!") or self._is_word("time"):
            negated ^= self.peek().value.raw == "!"
            self.i += 1
        cmds = [self.command()]
        while (tok := self.peek()) and tok.kind == "op" and tok.value in ("|", "|&"):
            self.i += 1
            self._skip_nl()
            cmds.append(self.command())
        return Pipeline(cmds, negated, line)

    def command(self):
        tok = self.peek()
        if tok is None:
            raise ShellSyntaxError(self.t[-1].line if self.t else 1, "a command is missing at the end")
        if self.depth >= MAX_NESTING:
            raise ShellSyntaxError(tok.line, f"commands nest deeper than {MAX_NESTING} levels; the script is not read")
        self.depth += 1
        try:
            return self._command(tok)
        finally:
            self.depth -= 1

    def _command(self, tok: Token):
        if tok.kind == "op" and tok.value == "(":
            self.i += 1
            if (nxt := self.peek()) and nxt.kind == "op" and nxt.value == "(":  # (( arithmetic ))
                return self._arith(tok.line)
            body = self.seq(set())
            self._close_paren(tok.line)
            return self._redirs_after(Group(body, True, tok.line))
        if tok.kind == "word":
            raw = tok.value.raw
            if raw == "{":
                self.i += 1
                body = self.seq({"}"})
                self.expect_word("}")
                return self._redirs_after(Group(body, False, tok.line))
            if raw == "if":
                return self._redirs_after(self._if())
            if raw in ("while", "until"):
                self.i += 1
                cond = self.seq({"do"})
                self.expect_word("do")
                body = self.seq({"done"})
                self.expect_word("done")
                return self._redirs_after(Loop(raw == "until", cond, body, tok.line))
            if raw in ("for", "select"):
                return self._redirs_after(self._for())
            if raw == "case":
                return self._redirs_after(self._case())
            if raw == "function":
                self.i += 1
                name = self.peek()
                if not name or name.kind != "word":
                    raise ShellSyntaxError(tok.line, "function without a name")
                self.i += 1
                if (p := self.peek()) and p.kind == "op" and p.value == "(":
                    self.i += 1
                    self._close_paren(tok.line)
                self._skip_nl()
                return FuncDef(name.value.raw, self.command(), tok.line)
            if raw == "[[":
                return self._double_bracket()
            if raw in _RESERVED_END:
                raise ShellSyntaxError(tok.line, f"unexpected {raw!r}")
            nxt = self.t[self.i + 1] if self.i + 1 < len(self.t) else None
            after = self.t[self.i + 2] if self.i + 2 < len(self.t) else None
            if nxt and after and nxt.kind == "op" and nxt.value == "(" and after.kind == "op" and after.value == ")" \
                    and re.fullmatch(r"[A-Za-z_][\w:.-]*", raw):
                self.i += 3
                self._skip_nl()
                return FuncDef(raw, self.command(), tok.line)
        return self.simple()

    def _close_paren(self, line: int) -> None:
        self._skip_nl()
        tok = self.peek()
        if not tok or tok.kind != "op" or tok.value != ")":
            raise ShellSyntaxError(line, "'(' is never closed")
        self.i += 1

    def _arith(self, line: int) -> Simple:
        self.i += 1
        depth, words = 2, []
        while depth:
            tok = self.peek()
            if tok is None:
                raise ShellSyntaxError(line, "'((' is never closed")
            self.i += 1
            if tok.kind == "op" and tok.value == "(":
                depth += 1
            elif tok.kind == "op" and tok.value == ")":
                depth -= 1
            elif tok.kind == "word":
                words.append(tok.value)
        return Simple([], [Word([("lit", "((")], line, "(("), *words], [], line)

    def _double_bracket(self) -> Simple:
        start = self.peek()
        words = []
        while True:
            tok = self.peek()
            if tok is None:
                raise ShellSyntaxError(start.line, "'[[' is never closed")
            self.i += 1
            if tok.kind == "word":
                words.append(tok.value)
                if tok.value.raw == "]]":
                    break
            elif tok.kind == "op":
                words.append(Word([("lit", str(tok.value))], tok.line, str(tok.value)))
        return self._redirs_after(Simple([], words, [], start.line))

    def _if(self) -> If:
        line = self.peek().line
        self.i += 1
        clauses = []
        cond = self.seq({"then"})
        self.expect_word("then")
        body = self.seq({"elif", "else", "fi"})
        clauses.append((cond, body))
        orelse = None
        while True:
            self._skip_nl()
            if self._is_word("elif"):
                self.i += 1
                cond = self.seq({"then"})
                self.expect_word("then")
                clauses.append((cond, self.seq({"elif", "else", "fi"})))
            elif self._is_word("else"):
                self.i += 1
                orelse = self.seq({"fi"})
            else:
                self.expect_word("fi")
                return If(clauses, orelse, line)

    def _for(self) -> For:
        line = self.peek().line
        self.i += 1
        tok = self.peek()
        if tok and tok.kind == "op" and tok.value == "(":  # for (( ; ; )): an unknown number of iterations
            self.i += 1
            self._arith(line)
            words = None
            var = "_"
        else:
            if not tok or tok.kind != "word":
                raise ShellSyntaxError(line, "for without a variable")
            var = tok.value.raw
            self.i += 1
            words = None
            self._skip_nl()
            if self._is_word("in"):
                self.i += 1
                words = []
                while (tok := self.peek()) and tok.kind == "word":
                    words.append(tok.value)
                    self.i += 1
            else:
                words = [Word([("var", "@")], line, '"$@"')]
        while (tok := self.peek()) and (tok.kind == "nl" or tok.kind == "op" and tok.value == ";"):
            self.i += 1
        self.expect_word("do")
        body = self.seq({"done"})
        self.expect_word("done")
        return For(var, words, body, line)

    def _case(self) -> Case:
        line = self.peek().line
        self.i += 1
        subject = self.peek()
        if not subject or subject.kind != "word":
            raise ShellSyntaxError(line, "case without a word")
        self.i += 1
        self.expect_word("in")
        arms = []
        while True:
            self._skip_nl()
            if self._is_word("esac"):
                self.i += 1
                return Case(subject.value, arms, line)
            if (tok := self.peek()) and tok.kind == "op" and tok.value == "(":
                self.i += 1
            pats = []
            while True:
                tok = self.peek()
                if tok is None:
                    raise ShellSyntaxError(line, "case is never closed with esac")
                self.i += 1
                if tok.kind == "word":
                    pats.append(tok.value)
                elif tok.kind == "op" and tok.value == ")":
                    break
                elif not (tok.kind == "op" and tok.value == "|"):
                    raise ShellSyntaxError(tok.line, f"unexpected {self._show(tok)} in a case pattern")
            body = self.seq({"esac"})
            if (tok := self.peek()) and tok.kind == "op" and tok.value == ";;":
                self.i += 1
            arms.append((pats, body))

    def _redirs_after(self, node):
        while (tok := self.peek()) and tok.kind == "op" and tok.value.lstrip("0123456789") in _REDIR_OPS:
            node.redirs.append(self._redir())
        return node

    def _redir(self) -> Redir:
        tok = self.peek()
        self.i += 1
        op = tok.value.lstrip("0123456789")
        target = self.peek()
        if not target or target.kind != "word":
            raise ShellSyntaxError(tok.line, f"redirection {op!r} without a target")
        self.i += 1
        doc = None
        if op in ("<<", "<<-"):
            doc = next((d for d in self._heredocs if d.line == target.line and d.delim in
                        (target.value.static, target.value.raw)), None)
        return Redir(op, target.value, doc)

    _heredocs: list[Heredoc] = []

    def simple(self) -> Simple:
        line = self.peek().line
        assigns, words, redirs = [], [], []
        while (tok := self.peek()) is not None:
            if tok.kind == "op" and tok.value.lstrip("0123456789") in _REDIR_OPS:
                redirs.append(self._redir())
                continue
            if tok.kind != "word":
                if tok.kind == "op" and tok.value == "(" and assigns and not words and assigns[-1][1] is None:
                    self._array(assigns)  # NAME=( a b c )
                    continue
                break
            w = tok.value
            m = _ASSIGN.match(w.raw)
            if not words and m:
                rest = w.raw[m.end():]
                value = Lexer(rest, w.line)._word() if rest else None
                assigns.append((m.group(1), value))
                self.i += 1
                continue
            words.append(w)
            self.i += 1
        if not assigns and not words and not redirs:
            tok = self.peek()
            raise ShellSyntaxError(tok.line if tok else line, f"unexpected {self._show(tok) if tok else 'end'}")
        return Simple(assigns, words, redirs, line)

    def _array(self, assigns) -> None:
        self.i += 1
        parts: list[tuple[str, str]] = []
        while (tok := self.peek()) and not (tok.kind == "op" and tok.value == ")"):
            self.i += 1
            if tok.kind == "word":
                parts.extend(tok.value.parts)
        self.i += 1
        name = assigns[-1][0]
        assigns[-1] = (name, Word(parts or [("q", "")], self.t[self.i - 1].line, "(...)"))


_REDIR_OPS = {">", ">>", "<", "<<", "<<-", "<<<", ">&", "<&", "&>", "&>>", ">|", "<>"}

def parse(text: str, first_line: int = 1) -> Script:
    """Parse shell text; raises ShellSyntaxError with the line it could not read."""
    lexer = Lexer(text, first_line)
    tokens = lexer.run()
    parser = Parser(tokens)
    parser._heredocs = lexer.heredocs
    return Script(parser.parse(), lexer.comments, lexer.heredocs)


def replace_gh_expressions(text: str, known: dict[str, str]) -> str:
    """``${{ expr }}`` as the runner substitutes it: known env values and constants inline, others unknown.

    A NUL of the text's own cannot be read: this reader marks expressions with NUL (two of them would pair
    as a marker and hide what lies between), and bash drops them where it runs such text at all."""
    refuse_nul(text)

    def sub(m: re.Match) -> str:
        expr = m.group(1).strip()
        if expr in ("true", "false"):
            return expr
        env = re.fullmatch(r"env\.([A-Za-z_][A-Za-z0-9_]*)", expr)
        if env and env.group(1) in known:
            return known[env.group(1)]
        return f"{_GH_EXPR}{expr.replace(_GH_EXPR, '')}{_GH_EXPR}"

    return re.sub(r"\$\{\{(.*?)\}\}", sub, text, flags=re.S)
