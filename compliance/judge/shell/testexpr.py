"""``test`` / ``[`` / ``[[`` expressions evaluated on a path: true, false, or not known.

Its own module because it is a small parser of its own, with its own notion of which comparison is
a check of the function's value.
"""

from __future__ import annotations

import fnmatch
import re
from typing import TYPE_CHECKING

from compliance.judge.shell.lexer import Word
from compliance.judge.shell.state import EXPECTED, State, mentions, substring_props

if TYPE_CHECKING:  # the runner imports this module; the type is only for readers
    from compliance.judge.shell.runner import Runner


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
