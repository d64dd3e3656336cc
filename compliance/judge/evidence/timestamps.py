"""Timestamps in worklog text, and the Lambda LastModified values among them.

A timestamp is only a LastModified when the text labels it so (``LastModified=``,
``"LastModified": "``) or, failing any label, is the first timestamp after a mention of the word:
a timestamp in text that never mentions LastModified is some other time entirely.
"""

from __future__ import annotations

import re
from datetime import datetime

from compliance.base.timeutil import parse_time
from compliance.judge.evidence.scan import NOCASE, ascii_lower, finditer_at

TIMESTAMP = re.compile(
    r"(?<![0-9])(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})"
    r"(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"(?:\s*(Z|z|[+-]\d{2}:?\d{2}|UTC|utc|GMT|gmt))?"
    r"(?![0-9A-Za-z])",
    re.A,
)
_LM_WORD = r"(?<![a-z])(?:function[\s_-]?)?last[\s_-]?modified(?![a-z])"
# A label directly introduces its value: ``LastModified=``, ``"LastModified": "``, ``last-modified:``.
_LM_LABELLED = re.compile(_LM_WORD + r"""["'`]?\s*[:=]?\s*["'`]?\s*(?=\d{4}-)""", NOCASE)
_LM_MENTION = re.compile(_LM_WORD, NOCASE)
_LM_STARTS = ("function", "last")  # where an _LM_WORD match starts


def timestamp_value(m: re.Match[str]) -> datetime | None:
    """Normalise one matched timestamp so ``parse_time`` sees a form it accepts on 3.10+."""
    year, month, day, hour, minute, second, frac, tz = m.groups()
    text = f"{year}-{month}-{day}T{hour}:{minute}:{second or '00'}"
    if frac:
        text += "." + frac[:6].ljust(6, "0")
    if tz is None or tz.upper() in ("Z", "UTC", "GMT"):
        text += "+00:00"
    else:
        text += tz if ":" in tz else f"{tz[:3]}:{tz[3:]}"
    return parse_time(text)


def last_modified_in(text: str) -> tuple[datetime, ...]:
    """The LastModified times the text states, labelled ones first; a loose mention gives at most one."""
    # Both patterns need "last" and "modified"; a match starts at "function" or "last", so
    # at most len("function_") before the first "last".
    low = ascii_lower(text)
    if "modified" not in low or (start := low.find("last")) == -1:
        return ()
    start = max(start - 9, 0)
    found: dict[datetime, None] = {}
    for label in finditer_at(_LM_LABELLED, text, low, _LM_STARTS):
        m = TIMESTAMP.match(text, label.end())
        dt = timestamp_value(m) if m else None
        if dt is not None:
            found.setdefault(dt)
    if found:
        return tuple(found)
    # Loose mention ("LastModified was then 2026-..."): the first timestamp after the word.
    # A timestamp in text that never mentions LastModified is some other time entirely.
    mention = _LM_MENTION.search(text, start)
    if mention:
        for m in TIMESTAMP.finditer(text, mention.end()):
            dt = timestamp_value(m)
            if dt is not None:
                return (dt,)
    return ()
