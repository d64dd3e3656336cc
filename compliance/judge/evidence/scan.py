"""Literal-anchored scanning: the speed of the evidence parser without changing what it reads.

Most patterns of the parser need a word such as "state" or "fail" to match at all. Testing for
that word in an ASCII-lowercased copy of the text is far cheaper than letting ``re`` try a
case-insensitive pattern with lookbehinds at every position, so each pattern is only run where it
can match, and from the first place a match could start. A pre-check may let a pattern run
needlessly (the result is the same) but must never skip a match: ``tests/test_evidence_speed.py``
checks the claims the pre-checks rest on for every match of every pattern, and compares the
parser with a reference that runs every pattern everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# ASCII-only matching everywhere: under re.I a KELVIN SIGN (U+212A) matches "k", so
# "o\u212a" would read as "ok"; and a Unicode \d would accept digits no timestamp uses.
NOCASE = re.I | re.A

def ascii_lower(text: str) -> str:
    """ASCII-only lowercase, index for index (``str.lower`` can change a non-ASCII length).

    Non-ASCII text is lowered as its UTF-8 bytes: ``bytes.lower`` changes only the bytes A-Z, which a multi-byte
    character never holds, so each character comes back as itself or its ASCII lowercase (lone surrogates,
    which JSON can carry, pass through ``surrogatepass``). ``str.translate`` with a table did the same at
    ~50 ns a character (a 240-character worklog with one em dash: 12.8 -> 0.58 us)."""
    if text.isascii():
        return text.lower()
    return text.encode("utf-8", "surrogatepass").lower().decode("utf-8", "surrogatepass")


def first_index(low: str, starts: tuple[str, ...]) -> int:
    """The first index where any of ``starts`` occurs in ``low``; -1 when none does."""
    if len(starts) == 1:
        return low.find(starts[0])
    found = [i for lit in starts if (i := low.find(lit)) != -1]
    return min(found) if found else -1


def finditer_at(
    pattern: re.Pattern[str], text: str, low: str, starts: tuple[str, ...]
) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text)`` for a pattern whose every match begins with one of ``starts``.

    ``low`` is ``ascii_lower(text)``. ``re`` is tried only where a literal of ``starts`` occurs,
    which gives the same matches in the same order. Worth it for literals that are rare in
    the text (a Python step per occurrence); otherwise ``pattern.finditer(text, first_index(...))``.
    """
    if len(starts) == 1:  # the usual case once the plan keeps only the literals a text holds: no lists
        lit, match = starts[0], pattern.match
        i = low.find(lit)
        while i != -1:
            m = match(text, i)
            if m is None:
                i = low.find(lit, i + 1)
            else:
                yield m
                i = low.find(lit, max(m.end(), i + 1))
        return
    nexts = [(i, lit) for lit in starts if (i := low.find(lit)) != -1]  # next occurrence of each
    while nexts:
        at = min(nexts)[0]
        m = pattern.match(text, at)
        if m is None:
            pos = at + 1
        else:
            yield m
            pos = max(m.end(), at + 1)  # the match holds a literal of ``starts``, so never empty
        moved = [(low.find(lit, pos) if i < pos else i, lit) for i, lit in nexts]
        nexts = [(i, lit) for i, lit in moved if i != -1]
