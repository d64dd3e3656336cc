"""Shell text read as a shell would run it, for the static checks over workflows and deploy scripts.

A line that mentions ``State=Active`` proves nothing: it may be a comment, an ``echo`` argument, a
test whose failure ``|| true`` swallows, or code after ``exit 0``. So the text is parsed (words with
their quoting, ``$(...)``, heredocs, line continuations, ``&&``/``||``/``;``/pipes, ``if``/``case``/
loops/functions) and then *run abstractly* (``shellrun.prove_fails``): every path of the script under the
hypothesis "the function's value is wrong", and whether each path ends the script non-zero.
Anything the model cannot follow (``eval``, ``source``, a loop that never ends, too many paths)
ends its path as *unknown*, which never counts as proof.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

# --------------------------------------------------------------------------- words


@dataclass
class Word:
    """One shell word: ``parts`` are (kind, text) with kind lit | q (quoted literal) | var | cmd | unknown."""

    parts: list[tuple[str, str]]
    line: int
    raw: str

    @property
    def static(self) -> str:
        """The literal text in the word (expansions dropped): what a reader sees written."""
        return "".join(t for k, t in self.parts if k in ("lit", "q"))

    @property
    def literal(self) -> str | None:
        """The word's value when it has no expansion at all."""
        return self.static if all(k in ("lit", "q") for k, _ in self.parts) else None


class ShellSyntaxError(ValueError):
    def __init__(self, line: int, message: str):
        super().__init__(f"line {line}: {message}")
        self.line = line


_OPS = ("&&", "||", ";;", "|&", "&>>", "&>", ">>", ">|", "<<<", "<<-", "<<", "<&", ">&", "<>",
        "|", "&", ";", "(", ")", "<", ">")
_GH_EXPR = "\x00"  # a GitHub `${{ }}` expression the runner replaces before the shell sees the text


@dataclass
class Heredoc:
    line: int
    delim: str
    quoted: bool
    strip: bool
    body: Word | None = None


@dataclass
class Token:
    kind: str  # word | op | nl
    value: object
    line: int


class Lexer:
    """Bash-like tokens: words keep their quoting; comments, continuations and heredoc bodies handled."""

    def __init__(self, text: str, first_line: int = 1):
        self.s = text
        self.i = 0
        self.line = first_line
        self.tokens: list[Token] = []
        self.comments: list[tuple[int, str]] = []
        self.heredocs: list[Heredoc] = []  # every heredoc, with its body text
        self._pending: list[Heredoc] = []

    def run(self) -> list[Token]:
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c == "\\" and s.startswith("\\\n", self.i):
                self.i += 2
                self.line += 1
            elif c in " \t\r":
                self.i += 1
            elif c == "\n":
                self.tokens.append(Token("nl", "\n", self.line))
                self.i += 1
                self.line += 1
                self._read_heredocs()
            elif c == "#":
                end = s.find("\n", self.i)
                end = len(s) if end < 0 else end
                self.comments.append((self.line, s[self.i + 1:end]))
                self.i = end
            else:
                op = self._op()
                if op:
                    self.tokens.append(Token("op", op, self.line))
                    if op in ("<<", "<<-"):
                        self._heredoc_start(op)
                else:
                    self.tokens.append(Token("word", self._word(), self.line))
        if self._pending:
            raise ShellSyntaxError(self._pending[0].line, f"heredoc {self._pending[0].delim!r} is never closed")
        return self.tokens

    def _op(self) -> str | None:
        s, i = self.s, self.i
        if s[i] in "<>" and s.startswith("(", i + 1):  # <(...) process substitution is a word
            return None
        m = re.match(r"\d+(?=[<>])", s[i:])  # 2>&1, 1>/dev/null
        j = i + (m.end() if m else 0)
        for op in _OPS:
            if s.startswith(op, j):
                if m and op[0] not in "<>":
                    return None
                self.i = j + len(op)
                return op
        return None

    def _heredoc_start(self, op: str) -> None:
        while self.i < len(self.s) and self.s[self.i] in " \t":
            self.i += 1
        start_line = self.line
        word = self._word()
        self.tokens.append(Token("word", word, start_line))
        quoted = any(k == "q" for k, _ in word.parts) or "\\" in word.raw
        doc = Heredoc(start_line, word.static or word.raw, quoted, op == "<<-")
        self._pending.append(doc)
        self.heredocs.append(doc)

    def _read_heredocs(self) -> None:
        for doc in self._pending:
            lines, start = [], self.line
            while True:
                if self.i >= len(self.s):
                    raise ShellSyntaxError(doc.line, f"heredoc {doc.delim!r} is never closed")
                end = self.s.find("\n", self.i)
                end = len(self.s) if end < 0 else end
                text = self.s[self.i:end]
                self.i = min(end + 1, len(self.s))
                self.line += 1
                if (text.lstrip("\t") if doc.strip else text) == doc.delim:
                    break
                lines.append(text)
            body = "\n".join(lines)
            doc.body = Word([("q", body)], start, body) if doc.quoted else Word(_dq_parts(body, start), start, body)
        self._pending = []

    def _word(self) -> Word:
        s, start, line = self.s, self.i, self.line
        parts: list[tuple[str, str]] = []
        while self.i < len(s):
            c = s[self.i]
            if c in " \t\r\n;&|()<>" and not (c in "<>" and s.startswith("(", self.i + 1)):
                break
            if c == "\\":
                if s.startswith("\\\n", self.i):
                    self.i += 2
                    self.line += 1
                    continue
                parts.append(("q", s[self.i + 1:self.i + 2]))
                self.i += 2
            elif c == "'":
                end = s.find("'", self.i + 1)
                if end < 0:
                    raise ShellSyntaxError(line, "unterminated single quote")
                parts.append(("q", s[self.i + 1:end]))
                self.line += s.count("\n", self.i, end)
                self.i = end + 1
            elif c == '"':
                end = _dq_end(s, self.i + 1, line)
                parts.extend(_dq_parts(s[self.i + 1:end], self.line))
                self.line += s.count("\n", self.i, end)
                self.i = end + 1
            elif c == "$" and s.startswith("'", self.i + 1):  # $'...' ANSI-C quoting
                end = self.i + 2
                while end < len(s) and s[end] != "'":
                    end += 2 if s[end] == "\\" else 1
                if end >= len(s):
                    raise ShellSyntaxError(line, "unterminated $'...' quote")
                parts.append(("q", _ansi_c(s[self.i + 2:end])))
                self.i = end + 1
            elif c == "$" or c == "`" or (c in "<>" and s.startswith("(", self.i + 1)):
                kind, text, end = _expansion(s, self.i, line)
                parts.append((kind, text))
                self.line += s.count("\n", self.i, end)
                self.i = end
            elif c == _GH_EXPR:
                end = s.index(_GH_EXPR, self.i + 1)
                parts.append(("unknown", s[self.i + 1:end]))
                self.i = end + 1
            else:
                parts.append(("lit", c))
                self.i += 1
        return Word(_merge(parts), line, s[start:self.i])


def _ansi_c(text: str) -> str:
    table = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "a": "\a", "b": "\b", "e": "\x1b",
             "f": "\f", "v": "\v"}
    return re.sub(r"\\(.)", lambda m: table.get(m.group(1), "\\" + m.group(1)), text)


def _merge(parts: list[tuple[str, str]]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for kind, text in parts:
        if out and kind in ("lit", "q") and out[-1][0] == kind:
            out[-1] = (kind, out[-1][1] + text)
        else:
            out.append((kind, text))
    return out


def _dq_end(s: str, i: int, line: int) -> int:
    while i < len(s):
        c = s[i]
        if c == "\\":
            i += 2
        elif c == '"':
            return i
        elif c == "$" and s[i + 1:i + 2] in ("(", "{") or c == "`":
            i = _expansion(s, i, line)[2]
        else:
            i += 1
    raise ShellSyntaxError(line, "unterminated double quote")


def _dq_parts(text: str, line: int) -> list[tuple[str, str]]:
    """Parts of double-quoted text (or an unquoted heredoc body): literal text and expansions."""
    parts: list[tuple[str, str]] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and text[i + 1] in '$`"\\\n':
            parts.append(("q", text[i + 1] if text[i + 1] != "\n" else ""))
            i += 2
        elif c in "$`" and i + 1 <= len(text):
            kind, body, end = _expansion(text, i, line)
            parts.append((kind, body))
            i = end
        elif c == _GH_EXPR:
            end = text.index(_GH_EXPR, i + 1)
            parts.append(("unknown", text[i + 1:end]))
            i = end + 1
        else:
            parts.append(("q", c))
            i += 1
    return _merge(parts)


def _balanced(s: str, i: int, open_: str, close: str, line: int) -> int:
    """Index just past the ``close`` matching the ``open_`` at ``i`` (quotes inside respected)."""
    depth, j = 0, i
    while j < len(s):
        c = s[j]
        if c == "\\":
            j += 2
            continue
        if c == "'" and open_ == "(":
            end = s.find("'", j + 1)
            if end < 0:
                raise ShellSyntaxError(line, "unterminated single quote")
            j = end + 1
            continue
        if c == '"':
            j = _dq_end(s, j + 1, line) + 1
            continue
        if c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    raise ShellSyntaxError(line, f"unbalanced {open_!r}")


def _expansion(s: str, i: int, line: int) -> tuple[str, str, int]:
    """One ``$...``/backtick/process substitution at ``i``: (kind, text, end index)."""
    if s[i] == "`":
        end = i + 1
        while end < len(s) and s[end] != "`":
            end += 2 if s[end] == "\\" else 1
        if end >= len(s):
            raise ShellSyntaxError(line, "unterminated backquote")
        return "cmd", re.sub(r"\\([`$\\])", r"\1", s[i + 1:end]), end + 1
    if s[i] in "<>":
        end = _balanced(s, i + 1, "(", ")", line)
        return "cmd", s[i + 2:end - 1], end
    nxt = s[i + 1:i + 2]
    if s.startswith("$((", i):
        end = _balanced(s, i + 1, "(", ")", line)
        return "unknown", s[i:end], end
    if nxt == "(":
        end = _balanced(s, i + 1, "(", ")", line)
        return "cmd", s[i + 2:end - 1], end
    if nxt == "{":
        end = _balanced(s, i + 1, "{", "}", line)
        return "var", s[i + 2:end - 1], end
    m = re.match(r"[A-Za-z_][A-Za-z0-9_]*|[0-9?#@*$!-]", s[i + 1:])
    if m:
        return "var", m.group(0), i + 1 + m.end()
    return "lit", "$", i + 1


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


_RESERVED_END = {"then", "elif", "else", "fi", "do", "done", "esac", "}"}
_ASSIGN = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(\[[^\]]*\])?\+?=")


class Parser:
    """A recursive-descent parser for the part of bash that CI steps and deploy scripts use."""

    def __init__(self, tokens: list[Token]):
        self.t = tokens
        self.i = 0

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


@dataclass
class Script:
    tree: Seq
    comments: list[tuple[int, str]]
    heredocs: list[Heredoc]


def parse(text: str, first_line: int = 1) -> Script:
    """Parse shell text; raises ShellSyntaxError with the line it could not read."""
    lexer = Lexer(text, first_line)
    tokens = lexer.run()
    parser = Parser(tokens)
    parser._heredocs = lexer.heredocs
    return Script(parser.parse(), lexer.comments, lexer.heredocs)


def replace_gh_expressions(text: str, known: dict[str, str]) -> str:
    """``${{ expr }}`` as the runner substitutes it: known env values and constants inline, others unknown."""

    def sub(m: re.Match) -> str:
        expr = m.group(1).strip()
        if expr in ("true", "false"):
            return expr
        env = re.fullmatch(r"env\.([A-Za-z_][A-Za-z0-9_]*)", expr)
        if env and env.group(1) in known:
            return known[env.group(1)]
        return f"{_GH_EXPR}{expr.replace(_GH_EXPR, '')}{_GH_EXPR}"

    return re.sub(r"\$\{\{(.*?)\}\}", sub, text, flags=re.S)


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
