"""Commit SHAs named in worklog text.

Deliberately generous: the engine resolves candidates against real commits, so an extra
candidate costs nothing while a missed one hides evidence. Only obvious non-commits (dates,
timestamps, UUIDs, request ids, ARNs) are left out.
"""

from __future__ import annotations

import re
from functools import lru_cache

from compliance.judge.evidence.scan import NOCASE, ascii_lower, finditer_at
from compliance.judge.evidence.timestamps import TIMESTAMP

_HEX = re.compile(r"(?<![0-9A-Za-z])[0-9a-fA-F]{7,40}(?![0-9A-Za-z])")
# "commit 20260225" is a commit even though it looks like a date; the label decides.
# The lookahead refuses the first group of a UUID ("commit 550e8400-e29b-...").
_LABELLED_SHA = re.compile(
    r"(?<![a-z])(?:commit|sha|revision|rev)(?:[_-]?sha)?[\s:=#\"'`]*"
    r"([0-9a-f]{7,40})(?![0-9a-z]|-[0-9a-z])",
    NOCASE,
)
_LABELLED_SHA_STARTS = ("commit", "sha", "rev")  # "revision" starts with "rev"
_COMPOUND = re.compile(r"[0-9A-Za-z_]+(?:[-.][0-9A-Za-z_]+)*")
_COMPACT_TS = re.compile(r"\d{8}T\d{6}", NOCASE)
_HEX_GROUPS = re.compile(r"[0-9a-f]+(?:-[0-9a-f]+){2,}", NOCASE)
_ARN = re.compile(r"arn:aws[\w-]*:[^\s;,)\]}\"']*", NOCASE)


def _looks_like_date(digits: str) -> bool:
    """YYYYMMDD (or YYYYMMDDHHMMSS) with plausible fields: a date, not a commit."""
    try:
        y, mo, d = int(digits[:4]), int(digits[4:6]), int(digits[6:8])
        ok = 1900 <= y <= 2199 and 1 <= mo <= 12 and 1 <= d <= 31
        if ok and len(digits) == 14:
            h, mi, s = int(digits[8:10]), int(digits[10:12]), int(digits[12:14])
            ok = h <= 23 and mi <= 59 and s <= 60
        return ok
    except ValueError:
        return False


def _blank(m: re.Match[str]) -> str:
    return " " * len(m.group(0))


def _blank_compound(m: re.Match[str]) -> str:
    token = m.group(0)
    if _COMPACT_TS.search(token) or _HEX_GROUPS.fullmatch(token) or _is_hex_group_id(token):
        return " " * len(token)
    return token


def _blank_timestamps(text: str) -> str:
    """``TIMESTAMP.sub(_blank, text)``, trying TIMESTAMP only where _TS_HINT shows a match could start."""
    parts: list[str] = []
    last = pos = 0
    while (hint := _TS_HINT.search(text, pos + 4)) is not None:
        m = TIMESTAMP.match(text, hint.start() - 4)
        if m is None:
            pos = hint.start() - 3
            continue
        start, end = m.span()
        parts.append(text[last:start])
        parts.append(" " * (end - start))
        last = pos = end
    if not parts:
        return text
    parts.append(text[last:])
    return "".join(parts)


# Every TIMESTAMP match has this right after its four-digit year. A pattern that begins with a
# literal ("-") or a character set is scanned for quickly by ``re``; one that begins with a
# lookbehind, like TIMESTAMP or _HEX, is tried at every position, which is far slower.
_TS_HINT = re.compile(r"-\d\d-\d\d[Tt ]\d\d:\d\d", re.A)
# Every token _blank_compound blanks contains one of these: hyphen-joined hex groups
# (UUIDs, X-Ray ids: at least three groups), or a compact timestamp's date and "T".
_HEX_GROUPS_HINT = re.compile(r"-[0-9a-fA-F]+-[0-9a-fA-F]", re.A)
_COMPACT_TS_HINT = re.compile(r"\d\d\d\d\d\d\d\d[Tt]\d", re.A)
# _HEX, starting with its first hex digit: the lookbehind moved one character later.
_HEX_FAST = re.compile(r"[0-9a-fA-F](?<![0-9A-Za-z][0-9a-fA-F])[0-9a-fA-F]{6,39}(?![0-9A-Za-z])")


def _mask_non_commits(text: str) -> str:
    """Blank out ids and times whose hex-looking pieces are not commits (same length kept).

    Each step runs only where it can change the text (an ARN, a timestamp, a hex-group id).
    """
    if "arn:aws" in ascii_lower(text):
        text = _ARN.sub(_blank, text)
    text = _blank_timestamps(text)
    if _HEX_GROUPS_HINT.search(text) or _COMPACT_TS_HINT.search(text):
        text = _COMPOUND.sub(_blank_compound, text)
    return text


def _is_hex_group_id(token: str) -> bool:
    """UUIDs and X-Ray style ids: three or more hyphen-joined hex groups inside a token."""
    return any(_HEX_GROUPS.fullmatch(part) for part in token.split(".") if part.count("-") >= 2)


def _find_shas(text: str) -> tuple[str, ...]:
    labelled = finditer_at(_LABELLED_SHA, text, ascii_lower(text), _LABELLED_SHA_STARTS)
    found = [(m.start(1), m.group(1).lower()) for m in labelled]
    for m in _HEX_FAST.finditer(_mask_non_commits(text)):
        token = m.group(0)
        if token.isdigit() and len(token) in (8, 14) and _looks_like_date(token):
            continue
        found.append((m.start(), token.lower()))
    return tuple(dict.fromkeys(sha for _, sha in sorted(found)))


@lru_cache(maxsize=8192)  # worklogs repeat (templates, copied notes); the answer is immutable
def shas_in(text: str) -> tuple[str, ...]:
    return _find_shas(text)
