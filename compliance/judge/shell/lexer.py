"""Shell text cut into words and operators, with each word's quoting kept.

Quoting is what decides whether ``$STATE`` is one word or many and whether a glob can match, so the
words carry their parts (literal, quoted, ``$var``, ``$(...)``) and the lexer collects comments and
heredoc bodies on the side, where the proof explains "only in a comment".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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


def refuse_nul(text: str) -> None:
    """Script text as written may hold no NUL: this reader marks ``${{ }}`` expressions with NUL (two of the
    script's own would pair as a marker and hide what lies between), and bash drops them where it runs the text."""
    if _GH_EXPR in text:
        raise ShellSyntaxError(text.count("\n", 0, text.index(_GH_EXPR)) + 1,
                               "it holds a NUL byte, which no shell reads as script text")


def _expression_end(text: str, start: int, line: int) -> int:
    """Where the ``${{ }}`` marker opened at ``start`` closes. A NUL of the script's own (a binary file, a
    pasted byte) closes nothing: the script cannot be read, which is "cannot judge", never a crash."""
    end = text.find(_GH_EXPR, start + 1)
    if end < 0:
        raise ShellSyntaxError(line, "it holds a NUL byte, which no shell reads as script text")
    return end


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
                end = _expression_end(s, self.i, self.line)
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
            end = _expression_end(text, i, line)
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
_ASSIGN = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(\[[^\]]*\])?\+?=")
