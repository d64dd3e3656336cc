"""Deployment evidence recorded in tracker worklogs, parsed into facts.

The runbook asks for commit, function LastModified and validation outcome to be written
into tracker worklogs, but people and agents write that as free text, in many shapes.
This module reads it conservatively: a fact is only reported when the text states it,
anything ambiguous about the outcome reads as ``None`` (never as a pass), and any sign of
failure outweighs any sign of success.

Outcome grammar (the table in the "outcome" section below lists every form):

* The Lambda state and the endpoint/smoke outcome are separate facts. ``State=Active`` with
  ``LastUpdateStatus=Successful`` is a pass of the state check only; any other value fails.
* An HTTP status for the endpoint (``-> 500``, ``returned 503``, ``GET /path: 500``, ``HTTP/1.1
  404``, ``status: 500``, ``capabilities 404``, ``500 Internal Server Error``, curl's ``000``)
  passes only when it is 2xx and its reason phrase, if any, agrees; ``not 200`` fails. A bare
  number (``expected 200``, ``200 errors``) is no answer.
* Failure words fail (``failed``, ``error``, ``exception``, ``threw``, ``timed out``, ``down``,
  ``unavailable``, ``degraded``, ``KO``, ``❌``, ``rollback``, ``reverted``), as do nonzero counts
  (``errors: 3``, ``3/5 passed``), qualified passes (``partially passed``, ``passed (except
  ...)``) and negated passes (``not passed``, ``passed? no``, ``success: false``).
* Negated failures (``no errors``, ``0 failures``, ``errors: 0``, ``did not time out``) and
  descriptions of the change (``fixed the 500 error``, ``raised the timeout to 30s``) say nothing.
* Unsettled outcomes (``validation: pending``, ``retry pending``, ``skipped``, ``to be rerun``,
  ``passed?``, ``not validated``, ``ok-ish``) keep the text from being a pass.

Any failure makes the outcome ``fail``; else anything unsettled makes it ``None``; else a pass
signal or the Lambda state pair makes it ``pass``; no recognisable outcome is ``None``.

SHA extraction is deliberately the other way round: the engine resolves candidates
against real commits, so an extra candidate costs nothing while a missed one hides
evidence. Only obvious non-commits (dates, timestamps, UUIDs, request ids, ARNs) are
left out.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from compliance.base.timeutil import parse_time

PASS, FAIL = "pass", "fail"

# ASCII-only matching everywhere: under re.I a KELVIN SIGN (U+212A) matches "k", so
# "o\u212a" would read as "ok"; and a Unicode \d would accept digits no timestamp uses.
_F = re.I | re.A

DEFAULT_FUNCTION = "devops-coordination-api"
DEFAULT_VIA = "api-mcp-backend-deploy"


@dataclass(frozen=True)
class Evidence:
    task_id: str
    origin: str  # "worklog" or "field:<name>"
    timestamp: datetime | None
    text: str
    shas: tuple[str, ...]
    last_modified: tuple[datetime, ...]
    outcome: str | None  # "pass" | "fail" | None
    outcome_details: tuple[str, ...]
    mentions_deploy: bool
    index: int  # position in the item's history; -1 for structured fields


# ------------------------------------------------------------------------- fast paths

# Speed: most patterns below need a word such as "state" or "fail" to match at all. Testing
# for that word in an ASCII-lowercased copy of the text is far cheaper than letting ``re``
# try a case-insensitive pattern with lookbehinds at every position, so each pattern is
# only run where it can match, and from the first place a match could start. A pre-check
# may let a pattern run needlessly (the result is the same) but must never skip a match:
# ``tests/test_evidence_speed.py`` compares against running everything.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _lower(text: str) -> str:
    """ASCII-only lowercase, index for index (``str.lower`` can change a non-ASCII length)."""
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)


def _first(low: str, starts: tuple[str, ...]) -> int:
    """The first index where any of ``starts`` occurs in ``low``; -1 when none does."""
    if len(starts) == 1:
        return low.find(starts[0])
    found = [i for lit in starts if (i := low.find(lit)) != -1]
    return min(found) if found else -1


def _finditer_at(
    pattern: re.Pattern[str], text: str, low: str, starts: tuple[str, ...]
) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text)`` for a pattern whose every match begins with one of ``starts``.

    ``low`` is ``_lower(text)``. ``re`` is tried only where a literal of ``starts`` occurs,
    which gives the same matches in the same order. Worth it for literals that are rare in
    the text (a Python step per occurrence); otherwise ``pattern.finditer(text, _first(...))``.
    """
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


# --------------------------------------------------------------------------- timestamps

_TS = re.compile(
    r"(?<![0-9])(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})"
    r"(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"(?:\s*(Z|z|[+-]\d{2}:?\d{2}|UTC|utc|GMT|gmt))?"
    r"(?![0-9A-Za-z])",
    re.A,
)
_LM_WORD = r"(?<![a-z])(?:function[\s_-]?)?last[\s_-]?modified(?![a-z])"
# A label directly introduces its value: ``LastModified=``, ``"LastModified": "``, ``last-modified:``.
_LM_LABELLED = re.compile(_LM_WORD + r"""["'`]?\s*[:=]?\s*["'`]?\s*(?=\d{4}-)""", _F)
_LM_MENTION = re.compile(_LM_WORD, _F)
_LM_STARTS = ("function", "last")  # where an _LM_WORD match starts


def _ts_to_datetime(m: re.Match[str]) -> datetime | None:
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


def _last_modified(text: str, fast: bool = True) -> tuple[datetime, ...]:
    # Both patterns need "last" and "modified"; a match starts at "function" or "last", so
    # at most len("function_") before the first "last".
    labels: Iterable[re.Match[str]]
    start = 0
    if fast:
        low = _lower(text)
        if "modified" not in low or (start := low.find("last")) == -1:
            return ()
        start = max(start - 9, 0)
        labels = _finditer_at(_LM_LABELLED, text, low, _LM_STARTS)
    else:
        labels = _LM_LABELLED.finditer(text)
    found: dict[datetime, None] = {}
    for label in labels:
        m = _TS.match(text, label.end())
        dt = _ts_to_datetime(m) if m else None
        if dt is not None:
            found.setdefault(dt)
    if found:
        return tuple(found)
    # Loose mention ("LastModified was then 2026-..."): the first timestamp after the word.
    # A timestamp in text that never mentions LastModified is some other time entirely.
    mention = _LM_MENTION.search(text, start)
    if mention:
        for m in _TS.finditer(text, mention.end()):
            dt = _ts_to_datetime(m)
            if dt is not None:
                return (dt,)
    return ()


# --------------------------------------------------------------------------------- shas

_HEX = re.compile(r"(?<![0-9A-Za-z])[0-9a-fA-F]{7,40}(?![0-9A-Za-z])")
# "commit 20260225" is a commit even though it looks like a date; the label decides.
# The lookahead refuses the first group of a UUID ("commit 550e8400-e29b-...").
_LABELLED_SHA = re.compile(
    r"(?<![a-z])(?:commit|sha|revision|rev)(?:[_-]?sha)?[\s:=#\"'`]*"
    r"([0-9a-f]{7,40})(?![0-9a-z]|-[0-9a-z])",
    _F,
)
_LABELLED_SHA_STARTS = ("commit", "sha", "rev")  # "revision" starts with "rev"
_COMPOUND = re.compile(r"[0-9A-Za-z_]+(?:[-.][0-9A-Za-z_]+)*")
_COMPACT_TS = re.compile(r"\d{8}T\d{6}", _F)
_HEX_GROUPS = re.compile(r"[0-9a-f]+(?:-[0-9a-f]+){2,}", _F)
_ARN = re.compile(r"arn:aws[\w-]*:[^\s;,)\]}\"']*", _F)


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
    """``_TS.sub(_blank, text)``, trying _TS only where _TS_HINT shows a match could start."""
    parts: list[str] = []
    last = pos = 0
    while (hint := _TS_HINT.search(text, pos + 4)) is not None:
        m = _TS.match(text, hint.start() - 4)
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


# Every _TS match has this right after its four-digit year. A pattern that begins with a
# literal ("-") or a character set is scanned for quickly by ``re``; one that begins with a
# lookbehind, like _TS or _HEX, is tried at every position, which is far slower.
_TS_HINT = re.compile(r"-\d\d-\d\d[Tt ]\d\d:\d\d", re.A)
# Every token _blank_compound blanks contains one of these: hyphen-joined hex groups
# (UUIDs, X-Ray ids: at least three groups), or a compact timestamp's date and "T".
_HEX_GROUPS_HINT = re.compile(r"-[0-9a-fA-F]+-[0-9a-fA-F]", re.A)
_COMPACT_TS_HINT = re.compile(r"\d\d\d\d\d\d\d\d[Tt]\d", re.A)
# _HEX, starting with its first hex digit: the lookbehind moved one character later.
_HEX_FAST = re.compile(r"[0-9a-fA-F](?<![0-9A-Za-z][0-9a-fA-F])[0-9a-fA-F]{6,39}(?![0-9A-Za-z])")


def _mask_non_commits(text: str, fast: bool = True) -> str:
    """Blank out ids and times whose hex-looking pieces are not commits (same length kept).

    ``fast`` skips each step that cannot change the text; ``False`` runs every step.
    """
    if not fast:
        text = _ARN.sub(_blank, text)
        text = _TS.sub(_blank, text)
        return _COMPOUND.sub(_blank_compound, text)
    if "arn:aws" in _lower(text):
        text = _ARN.sub(_blank, text)
    text = _blank_timestamps(text)
    if _HEX_GROUPS_HINT.search(text) or _COMPACT_TS_HINT.search(text):
        text = _COMPOUND.sub(_blank_compound, text)
    return text


def _is_hex_group_id(token: str) -> bool:
    """UUIDs and X-Ray style ids: three or more hyphen-joined hex groups inside a token."""
    return any(_HEX_GROUPS.fullmatch(part) for part in token.split(".") if part.count("-") >= 2)


def _shas_uncached(text: str, fast: bool = True) -> tuple[str, ...]:
    labelled: Iterable[re.Match[str]]
    if fast:
        labelled = _finditer_at(_LABELLED_SHA, text, _lower(text), _LABELLED_SHA_STARTS)
    else:
        labelled = _LABELLED_SHA.finditer(text)
    found = [(m.start(1), m.group(1).lower()) for m in labelled]
    for m in (_HEX_FAST if fast else _HEX).finditer(_mask_non_commits(text, fast)):
        token = m.group(0)
        if token.isdigit() and len(token) in (8, 14) and _looks_like_date(token):
            continue
        found.append((m.start(), token.lower()))
    return tuple(dict.fromkeys(sha for _, sha in sorted(found)))


@lru_cache(maxsize=8192)  # worklogs repeat (templates, copied notes); the answer is immutable
def _shas(text: str) -> tuple[str, ...]:
    return _shas_uncached(text)


# ------------------------------------------------------------------------------ outcome
#
# The outcome grammar. A worklog states several facts that are judged separately and then
# combined; the order of the table below is the order in which spans are claimed, so a
# negation or a neutral phrase consumes its words before a bare word could be read alone.
#
# * Lambda state: ``State=Active`` and ``LastUpdateStatus=Successful`` together are a pass
#   of the runbook's first check; any other State or LastUpdateStatus value is a failure.
# * Endpoint answers: an HTTP status for the capability endpoint or a smoke test, written
#   ``-> 500``, ``returned 503``, ``answered 503 Service Unavailable``, ``HTTP/1.1 404``,
#   ``status: 500``, ``GET /path: 500``, ``500 Internal Server Error``. 2xx is a pass,
#   anything else (3xx included) a failure; ``200 Internal Server Error`` contradicts
#   itself and is a failure. A bare number (``expected 200``, ``200 errors``) is no answer.
# * Stated verdicts: pass words (``passed``, ``validation=pass``, ``validation ok``,
#   ``success: true``, ``200 OK``, ``✅``) and failure words (``failed``, ``error``,
#   ``exception``, ``threw``, ``crashed``, ``timed out``, ``timeout``, ``unavailable``,
#   ``unreachable``, ``refused``, ``unhealthy``, ``<endpoint> down``, ``KO``, ``❌``,
#   ``rollback``, ``reverted``); counts (``errors: 3``, ``200 errors``) are failures.
# * Negations: negated success is a failure (``not passed``, ``did not pass``,
#   ``passed? no``, ``passed: no``, ``success: false``, ``not healthy``, ``could not fix``);
#   negated failure is no signal at all, neither pass nor fail (``no errors``,
#   ``0 failures``, ``errors: 0``, ``did not time out``, ``error-free``, ``no revert needed``).
# * Descriptions of the change are not verdicts: ``fixed the 500 error``, ``exception
#   handling``, ``raised the Lambda timeout to 30s``.
# * Unsettled: a stated outcome that is not final (``validation: pending``, ``smoke tests
#   skipped``, ``retry pending``, ``to be rerun``, ``passed?``) keeps the text from reading
#   as a pass, whatever else it says.
#
# Combination: any failure signal, in any part, makes the outcome ``fail``; otherwise any
# unsettled signal makes it ``None``; otherwise a pass signal, or the Lambda state pair,
# makes it ``pass``; text with no recognisable outcome is ``None`` (never a pass).

UNSETTLED = "unsettled"  # a detail's signal: an outcome stated as not final

_SEP = r"""["'`]?\s*[:=]\s*["'`]?\s*"""
_CODE = r"([1-5]\d\d|[1-5]xx|000)(?![0-9a-z]|\.\d)"  # curl writes 000 when nothing answered
_NEG = (
    r"(?:(?:did|does|do|has|have|had|was|were|is|are|could|would)\s+not|[a-z]*n't|not|never"
    r"|unable\s+to|failed\s+to|cannot)"
)
_SUBJECT = r"(?:(?:tests?|checks?|requests?|smoke[\s-]?tests?|health[\s-]?checks?|validations?|deploy(?:ment)?s?)\s+)?"
_FAIL_WORD = r"(?:fail|fails|failed|failing|failure|failures)"
_ROLLBACK = r"(?:rollbacks?|roll(?:ed|ing)?[\s-]back|revert(?:s|ed|ing)?)"
_ERROR_WORD = r"(?:errors?|exceptions?|timeouts?|time[\s-]outs?|crash(?:es)?)"
_BAD = r"(?:" + _FAIL_WORD + "|" + _ERROR_WORD + "|" + _ROLLBACK + r")"
_SUCCESS_WORD = (
    r"(?:pass(?:ed|es)?|succe[a-z]*|ok|okay|green|healthy|available|reachable|respond(?:ing|s|ed)?|responsive"
    r"|working)"
)
_FIX_VERB = r"(?:fix(?:ed|es|ing)?|resolv(?:e|ed|es|ing)|handl(?:e|ed|es|ing)|catch(?:es|ing)?|caught|prevent(?:s|ed|ing)?|avoid(?:s|ed|ing)?)"
_UNSETTLED_WORD = (
    r"(?:pending|in[\s_-]?progress|running|queued|waiting|skipped|not[\s_-]+(?:yet[\s_-]+)?"
    r"(?:run|done|executed|performed|started|checked|tested|verified)|unknown|n/a|tbd|todo|inconclusive|partial"
    r"|flaky|deferred|postponed|incomplete|unverified|untested)"
)
_CHECK_SUBJECT = (
    r"(?:validations?|validat(?:ed|ing)|verification|verify|smoke[\s-]?tests?|health[\s-]?checks?|checks?|tests?"
    r"|outcome|result|capabilit(?:y|ies)(?:\s+(?:check|probe|test)s?)?|probe)"
)
_REASON = (
    r"(ok|no\s+content|bad\s+request|unauthori[sz]ed|forbidden|not\s+found|method\s+not\s+allowed"
    r"|request\s+time-?\s?out|too\s+many\s+requests|internal\s+server\s+error|not\s+implemented|bad\s+gateway"
    r"|service\s+unavailable|gateway\s+time-?\s?out)"
)
_CODE_REASON = _CODE + r"(?:\s+" + _REASON + r"(?![a-z]))?"  # "500 Internal Server Error": one statement
_FAIL_MARKS = "\u274c\u2717\u2718\u2716\u26d4\U0001f6ab\U0001f534"  # ❌ ✗ ✘ ✖ ⛔ 🚫 🔴
_PASS_MARKS = "\u2705\u2714\u2713\u2611\U0001f7e2"  # ✅ ✔ ✓ ☑ 🟢

# Fast-path hints per pattern, for skipping patterns that cannot match: (starts, requires).
# ``starts``: every match begins at one of these (lowercase) literals, so the scan starts at
# the first of them, and is skipped when there is none; None when a match can start
# anywhere. ``requires``: groups of literals, every match contains at least one literal of
# each group. SEP needs ":" or "="; FAIL_WORD is "fail..."; ROLLBACK "roll..." or "revert...".
_COLON = (":", "=")
_BAD_LITS = ("fail", "roll", "revert", "error", "exception", "time", "crash")
_NEG_LITS = ("not", "n't", "never", "unable", "failed")

_TABLE: list[tuple[re.Pattern[str], str | None, tuple[str, ...] | None, tuple[tuple[str, ...], ...]]] = [
    (re.compile(r"(?<![a-z])state(?![a-z0-9_])" + _SEP + r"([a-z]+)(?![a-z])", _F), "state",
     ("state",), (_COLON,)),
    (re.compile(r"(?<![a-z])last[\s_-]?update[\s_-]?status(?![a-z])" + _SEP + r"([a-z]+(?:[\s_-]progress)?)(?![a-z])",
                _F), "lus",
     ("last",), (("update",), ("status",), _COLON)),
    # "could not fix the timeout" states the failure remains, before "fix ... timeout" is neutralised
    (re.compile(r"(?<![a-z])" + _NEG + r"\s+(?:[a-z]+\s+){0,2}?" + _FIX_VERB + r"(?![a-z])", _F), "fail",
     None, (_NEG_LITS, ("fix", "resolv", "handl", "catch", "caught", "prevent", "avoid"))),
    # describing the change: "fixed the 500 error", "handled cold-start timeouts"
    (re.compile(r"(?<![a-z])" + _FIX_VERB + r"\s+(?:(?:the|a|an|any|some|that|this|those|these|its|[1-5]\d\d|[1-5]xx|http"
                r"|intermittent|occasional|spurious|known|reported|cold[\s-]start|capabilit(?:y|ies)|endpoint|lambda|api"
                r"|mcp|route|smoke[\s-]tests?|health[\s-]checks?|tests?|flaky)\s+){0,3}"
                r"(?:" + _ERROR_WORD + r"|failures?|failing\s+tests?|bugs?)(?![a-z])", _F), None,
     ("fix", "resolv", "handl", "catch", "caught", "prevent", "avoid"), (("error", "exception", "time", "crash", "fail", "bug"),)),
    (re.compile(r"(?<![a-z])(?:errors?|exceptions?|timeouts?|failures?|crash)[\s_-]+(?:handling|handlers?|messages?"
                r"|logging|paths?|cases?|types?|classes?|mapping|reporting|budget)(?![a-z])", _F), None,
     ("error", "exception", "timeout", "failure", "crash"), ()),
    # a configured duration, not an event: "timeout: 30s", "raised the Lambda timeout"
    (re.compile(r"(?<![a-z])(?:(?:timeouts?|time[\s-]outs?)\s*(?:[:=]|is|was|to|from|set\s+to|raised\s+to|increased\s+to)?"
                r"\s*\d+(?:\.\d+)?\s*(?:ms|s|secs?|seconds?|m|mins?|minutes?)(?![a-z])"
                r"|(?:set|sets|setting|raise[ds]?|raising|increase[ds]?|increasing|bump(?:ed|s)?|lower(?:ed|s)?"
                r"|reduce[ds]?|configur(?:e|ed|es)|chang(?:e|ed|es)|adjust(?:ed|s)?)\s+(?:the\s+)?(?:(?:lambda|function"
                r"|request|http|client|api|default|read|connect(?:ion)?|handler|idle)\s+){0,2}(?:timeouts?|time[\s-]outs?)"
                r"(?![a-z]))", _F), None,
     ("time", "set", "raise", "raising", "increas", "bump", "lower", "reduc", "configur", "chang", "adjust"), (("time",),)),
    # "not 200", "non-2xx": a negated success code is a failure
    (re.compile(r"(?<![a-z])(?:not|non|no)[\s-]+(?:an?\s+)?(?:HTTP\s*)?(2\d\d|2xx)(?![0-9a-z])", _F), "fail",
     ("not", "non", "no"), (("2",),)),
    (re.compile(r"(?<![a-z])(?:no|empty)\s+(?:http\s+)?(?:response|answer|reply|body)(?![a-z])", _F), "fail",
     ("no", "empty"), (("response", "answer", "reply", "body"),)),
    # "-> 200?" asks, "200? no" answers no
    (re.compile(r"(?:(?:->|→|=>)\s*)?(?:[1-5](?<![0-9a-z.][1-5])\d\d|[1-5]xx)\s*\?+(?:\s*(yes|yep|true|no|nope|false)(?![a-z]))?", _F),
     "question",
     None, (("?",),)),
    (re.compile(r"(?:->|→|=>)\s*(?:HTTP\s*)?" + _CODE_REASON, _F), "http_arrow",
     ("->", "→", "=>"), ()),
    (re.compile(r"(?<![a-z])(?:returned|returns|returning|got|responded|responds|answered|answers|replied|replies|gave)"
                r"(?:\s+with)?\s+(?:an?\s+)?(?:HTTP(?:/\d(?:\.\d)?)?\s*|status(?:\s*code)?\s*)?[:=]?\s*" + _CODE_REASON, _F), "http",
     ("return", "got", "respond", "answer", "repl", "gave"), ()),
    (re.compile(r"(?<![a-z])HTTP(?:/\d(?:\.\d)?)?\s+" + _CODE_REASON, _F), "http",
     ("http",), ()),
    # "GET .../capabilities: 500", "GET /capabilities 200" (a URL reads as "/" here, see _outcome_hits)
    (re.compile(r"(?<![a-z])(?:GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS)\s+[./][^\s:=]*(?:\s*[:=]\s*|\s+)"
                r"(?:HTTP(?:/\d(?:\.\d)?)?\s*)?" + _CODE_REASON, _F), "http",
     ("get", "head", "post", "put", "patch", "delete", "options"), (("/", "."),)),
    (re.compile(r"(?<![a-z])(?:status(?:[\s_-]?code)?|response(?:[\s_-]?code)?|http[\s_-]?(?:status|code)|actual|received"
                r"|capabilit(?:y|ies)(?:[\s_-](?:endpoint|check|probe))?|endpoint|probe|mcp)" + _SEP + r"(?:HTTP\s*)?" + _CODE_REASON,
                _F),
     "http",
     ("status", "response", "http", "actual", "received", "capabilit", "endpoint", "probe", "mcp"), (_COLON,)),
    # "capabilities 404": the endpoint and a bare code, when no word follows (not "capabilities 100 routes")
    (re.compile(r"(?<![a-z])(?:capabilit(?:y|ies)|endpoint|probe|mcp|health|smoke|route|status(?:[\s_-]?code)?"
                r"|response[\s_-]?code|http[\s_-]?(?:status|code))(?:[\s_-](?:endpoint|check|probe|test))?\s+(?:HTTP\s*)?"
                + _CODE_REASON + r"(?!\s*[a-z])", _F), "http",
     ("capabilit", "endpoint", "probe", "mcp", "health", "smoke", "route", "status", "response", "http"), ()),
    # "503 Service Unavailable", "200 OK"; the code's first digit carries the word-start check
    (re.compile(r"([1-5])(?<![0-9a-z.][1-5])(\d\d)\s+" + _REASON + r"(?![a-z])", _F), "code_reason",
     None, (("ok", "content", "request", "unauthori", "forbidden", "found", "allowed", "time", "many", "error",
             "implemented", "gateway", "unavailable"),)),
    # "3/5 passed", "3 of 5 checks passed", "passed 4/5": a pass only when every one passed
    (re.compile(r"(\d)(?<![0-9a-z.]\d)(\d*)\s*(?:/|of|out\s+of)\s*(\d+)\s+(?:[a-z]+[\s-]+){0,2}?"
                r"(?:pass(?:ed|es)?|succeeded|ok|green)(?![a-z])", _F), "fraction",
     None, (("pass", "succe", "ok", "green"), ("/", "of"))),
    (re.compile(r"(?<![a-z])(?:pass(?:ed|es)?|succeeded|ok)\s*[:=]?\s*(\d)(\d*)\s*(?:/|of|out\s+of)\s*(\d+)(?![0-9])", _F),
     "fraction",
     ("pass", "succe", "ok"), (("/", "of"),)),
    # a qualified pass is not a pass: "partially passed", "passed (except capabilities)", "ok but not for MCP"
    (re.compile(r"(?<![a-z])partial(?:ly)?[\s-]+(?:pass(?:ed|es)?|succe[a-z]*|ok|successful|green)(?![a-z])", _F), "fail",
     ("partial",), ()),
    (re.compile(r"(?<![a-z])(?:pass(?:ed|es)?|ok|okay|succeeded|successful|green)[\s,;:(\[*-]{0,6}(?:except|excluding"
                r"|apart\s+from|other\s+than|but\s+(?:not|for|with|failed|failing))(?![a-z])", _F), "fail",
     ("pass", "ok", "succe", "green"), (("except", "excluding", "apart", "other", "but"),)),
    (re.compile(r"(?<![a-z])(?:validation|outcome|result)" + _SEP + r"(pass|passed|fail|failed)(?![a-z])", _F),
     "keyed_word",
     ("validation", "outcome", "result"), (_COLON, ("pass", "fail"))),
    (re.compile(r"(?<![a-z])(?:success|successful|succeeded|ok|passed|pass)" + _SEP + r"(true|false|yes|no)(?![a-z])", _F),
     "keyed_bool",
     ("succe", "ok", "pass"), (_COLON, ("true", "false", "yes", "no"))),
    # Negated success is a failure: "did not pass", "validation not ok", "unable to succeed".
    (re.compile(r"(?<![a-z])" + _NEG + r"\s+(?:[a-z]+\s+){0,3}?" + _SUCCESS_WORD + r"(?![a-z])", _F), "fail",
     None, (_NEG_LITS, ("pass", "succe", "ok", "green", "healthy", "available", "reachable", "respon", "working"))),
    # An expectation, plan or condition is not an outcome: "should pass", "expected to pass", "if validation passed".
    (re.compile(r"(?<![a-z])(?:should|will|would|shall|supposed\s+to|expected\s+to|expect(?:s|ed|ing)?|hope(?:s|d|fully)?"
                r"|if|once|until|unless|assuming|when)\s+(?:(?:be|to|the|all|validation|smoke[\s-]?tests?|health[\s-]?checks?"
                r"|checks?|tests?|it|they|this|that|capabilit(?:y|ies)|endpoint|mcp|probe)\s+){0,3}"
                r"(?:pass(?:ed|es)?|succeed(?:ed|s)?|successful|ok|okay|green)(?![a-z])", _F), UNSETTLED,
     ("should", "will", "would", "shall", "suppos", "expect", "hope", "if", "once", "until", "unless", "assum", "when"),
     (("pass", "succe", "ok", "green"),)),
    # A question is not an answer: "passed?" is unsettled, "passed? no" a failure.
    (re.compile(r"(?<![a-z])(?:pass(?:ed|es)?|ok|okay|succe[a-z]*|green)\s*\?+(?:\s*(yes|yep|true|no|nope|false)(?![a-z]))?",
                _F), "question",
     ("pass", "ok", "succe", "green"), (("?",),)),
    # Negated failure is no signal at all (it is not a pass either).
    (re.compile(r"(?<![a-z0-9])(?:no|zero|0|without|never)\s+" + _SUBJECT + r"(?:(?:timeout|http|5xx|4xx|server|client)\s+)?"
                + _BAD + r"(?![a-z])", _F), None,
     ("no", "zero", "0", "without", "never"), (_BAD_LITS,)),
    (re.compile(r"(?<![a-z0-9])(?:no|zero|0|without|never|not)\s+(?:(?:http|4xx|5xx|40[13])\s+)?(?:forbidden|unauthori[sz]ed"
                r"|access[\s_-]?denied|abort(?:ed|s)?)(?![a-z])", _F), None,
     ("no", "zero", "0", "without", "never", "not"), (("forbidden", "unauthori", "access", "abort"),)),
    (re.compile(r"(?<![a-z])(?:did\s+not|didn't|does\s+not|doesn't|not|never)\s+(?:fail(?:ed|s)?|error(?:ed|s)?"
                r"|crash(?:ed|es)?|time[\s-]?out|timed[\s-]?out|throw|threw|revert(?:ed)?|roll(?:ed)?[\s-]?back)(?![a-z])", _F),
     None,
     ("did", "does", "not", "never"), (("fail", "error", "crash", "time", "throw", "threw", "revert", "roll"),)),
    (re.compile(r"(?<![a-z])" + _BAD + r"(?:[\s_-]?rate)?" + _SEP + r"(?:0+(?:\.0+)?%?|none|no|false)(?![0-9a-z.])", _F),
     None,
     ("fail", "roll", "revert", "error", "exception", "time", "crash"), (_COLON,)),
    (re.compile(r"(?<![a-z])" + _BAD + r"[\s-]free(?![a-z])", _F), None,
     ("fail", "roll", "revert", "error", "exception", "time", "crash"), (("free",),)),
    (re.compile(r"(?<![a-z])" + _ROLLBACK + r"\s+(?:was\s+|is\s+)?not\s+(?:needed|required|performed|triggered)", _F),
     None,
     ("roll", "revert"), (("not",),)),
    (re.compile(r"(?<![a-z0-9])(?:no|zero|0|none)\s+" + _SUBJECT + r"pass(?:ed|es)?(?![a-z])", _F), None,
     ("no", "zero", "0"), (("pass",),)),
    (re.compile(r"(?<![a-z])pass(?:ed|es)?" + _SEP + r"(?:0+|none)(?![0-9a-z.])", _F), None,
     ("pass",), (_COLON,)),
    # A rehearsal validates nothing: "validation=pass (dry run)", "--dry-run".
    (re.compile(r"(?<![a-z])(?:--)?dry[\s_-]?runs?(?![a-z])", _F), UNSETTLED, ("dry",), (("dry",),)),
    # Not final: "validation: pending", "smoke tests skipped", "retry pending", "to be rerun".
    (re.compile(r"(?<![a-z])" + _CHECK_SUBJECT + r"(?:" + _SEP + r"|\s+(?:(?:is|was|are|were|still|currently)\s+){0,2})"
                + _UNSETTLED_WORD + r"(?![a-z/])(?!" + _SEP + r"(?:0+|none|no)(?![0-9a-z.]))", _F), UNSETTLED,
     ("validat", "verif", "smoke", "health", "check", "test", "outcome", "result", "capabilit", "probe"),
     (("pending", "progress", "running", "queued", "waiting", "skipped", "not", "unknown", "n/a", "tbd", "todo",
       "inconclusive", "partial", "flaky", "deferred", "postponed", "incomplete", "unverified", "untested"),)),
    (re.compile(r"(?<![a-z])(?:pending|awaiting|skipped|skipping|deferred|postponed|without|no)\s+(?:the\s+|any\s+)?"
                r"(?:validations?|verification|smoke[\s-]?tests?|health[\s-]?checks?|capabilit(?:y|ies)\s+(?:checks?|probes?"
                r"|tests?))(?![a-z])", _F), UNSETTLED,
     ("pending", "awaiting", "skipp", "deferred", "postponed", "without", "no"),
     (("validat", "verif", "smoke", "health", "capabilit"),)),
    (re.compile(r"(?<![a-z])(?:(?:retry|retries|re-?runs?|re-?tests?)\s+(?:is\s+|are\s+)?(?:pending|scheduled|needed|required"
                r"|queued|in[\s-]?progress|planned)|pending\s+(?:retry|re-?runs?|re-?tests?|confirmation))(?![a-z])",
                _F), UNSETTLED,
     ("retr", "rerun", "re-run", "retest", "re-test", "pending"), ()),
    (re.compile(r"(?<![a-z])(?:(?:will|to)\s+be\s+(?:re-?)?(?:tried|retried|run|tested|validated|checked|confirmed|verified)"
                r"|(?:will|must|need\s+to|needs\s+to)\s+(?:re-?)?(?:try|retry|run|test|validate|check|confirm|verify))(?![a-z])",
                _F), UNSETTLED,
     ("will", "to", "must", "need"), (("tri", "try", "run", "test", "validat", "check", "confirm", "verif"),)),
    (re.compile(r"(?<![a-z])(?:not|never|[a-z]*n't)\s+(?:(?:yet|been|be|being|fully|properly)\s+)*(?:checked|validated|verified"
                r"|tested|smoke[\s-]tested|confirmed|probed)(?![a-z])", _F), UNSETTLED,
     None, (("not", "never", "n't"), ("checked", "validated", "verified", "tested", "confirmed", "probed"))),
    (re.compile(r"(?<![a-z])(?:ok|okay|pass(?:ed|ing)?|green|fine|good|healthy)-?ish(?![a-z])", _F), UNSETTLED,
     ("ok", "pass", "green", "fine", "good", "healthy"), (("ish",),)),
    # Counted failures name their count: "errors: 3", "200 errors" (zero counts were claimed above).
    (re.compile(r"(?<![a-z])(?:" + _FAIL_WORD + "|" + _ERROR_WORD + r")" + _SEP + r"\d+(?![0-9a-z.])", _F), "fail",
     ("fail", "error", "exception", "time", "crash"), (_COLON,)),
    (re.compile(r"([1-9])(?<![0-9a-z.][1-9])\d*\s+(?:" + _FAIL_WORD + "|" + _ERROR_WORD + r")(?![a-z])", _F), "fail",
     None, (("fail", "error", "exception", "time", "crash"),)),
    (re.compile(r"(?<![a-z])(?:" + _FAIL_WORD + r"|unsuccessful|errored|" + _ROLLBACK + r")(?![a-z])", _F), "fail",
     ("fail", "unsuccessful", "errored", "roll", "revert"), ()),
    # Failure words that also name things in code and paths, so not glued to identifiers or file names.
    (re.compile(r"(?<![a-z0-9_/\\.])(?<![a-z]-)(?:errors?|exceptions?|threw|crash(?:es|ed|ing)?|timed[\s-]out|timing[\s-]out"
                r"|timeouts?|time[\s-]outs?|unhealthy|unavailable|unreachable|refused|degraded|forbidden|unauthori[sz]ed"
                r"|access[\s_-]?denied(?:exception)?|abort(?:ed|ing)?)(?![a-z0-9_]|\.[a-z0-9]|-[a-z])", _F),
     "fail",
     ("error", "exception", "threw", "crash", "time", "unhealthy", "unavailable", "unreachable", "refused", "degraded",
      "forbidden", "unauthori", "access", "abort"), ()),
    (re.compile(r"(?<![a-z])(?:endpoint|service|api|server|site|backend|lambda|function|capabilit(?:y|ies)|routes?|mcp"
                r"|gateway|health[\s-]?checks?)\s+(?:(?:is|was|are|were|went|still|goes|going)\s+)?down(?![a-z-])", _F), "fail",
     ("endpoint", "service", "api", "server", "site", "backend", "lambda", "function", "capabilit", "route", "mcp",
      "gateway", "health"), (("down",),)),
    # "KO" is a verdict only in capitals ("ko" is a syllable).
    (re.compile(r"(?<![A-Za-z0-9])KO(?![A-Za-z0-9])", re.A), "fail",
     ("ko",), ()),
    (re.compile("[" + _FAIL_MARKS + "]"), "fail",
     tuple(_FAIL_MARKS), ()),
    (re.compile("[" + _PASS_MARKS + "]"), "pass",
     tuple(_PASS_MARKS), ()),
    (re.compile(r"(?<![a-z])(?<![a-z]-)(?:pass|passed|passes|passing)(?![a-z]|-[a-z])", _F), "pass",
     ("pass",), ()),
    (re.compile(r"(?<![a-z])(?:validation|validated|smoke[\s-]?tests?|health[\s-]?checks?|checks?|outcome|result)"
                r"""["'`]?\s*[:=]?\s*["'`]?\s*(?:(?:is|was|were|are)\s+)?(ok|okay|succeeded|successful|success|green)(?![a-z]|-[a-z])""",
                _F), "pass",
     ("validat", "smoke", "health", "check", "outcome", "result"), (("ok", "succe", "green"),)),
]

_SIGNALS: list[tuple[re.Pattern[str], str | None]] = [(p, kind) for p, kind, _, _ in _TABLE]
_SIGNAL_HINTS: list[tuple[tuple[str, ...] | None, tuple[tuple[str, ...], ...]]] = [(s, r) for _, _, s, r in _TABLE]
_GATE_WORDS = tuple(sorted({w for _, req in _SIGNAL_HINTS for group in req for w in group}))


_PLAN_ITEMS = [
    (pattern, kind, starts, tuple(frozenset(group) for group in requires))
    for (pattern, kind), (starts, requires) in zip(_SIGNALS, _SIGNAL_HINTS, strict=True)
]


@lru_cache(maxsize=4096)
def _signal_plan(
    present: frozenset[str],
) -> tuple[tuple[re.Pattern[str], str | None, re.Pattern[str] | None], ...]:
    """The signals that can match text containing exactly ``present`` of _GATE_WORDS.

    Each as (pattern, kind, starts). Every signal with ``starts`` is tried only where one of its
    literals occurs (``_finditer_at``): the patterns begin with a lookbehind, which ``re`` would
    otherwise try at every position of the text, once per pattern.

    Cheap enough to compute for every text: with this many gate words, combinations rarely repeat.
    """
    return tuple(
        (pattern, kind, starts)
        for pattern, kind, starts, requires in _PLAN_ITEMS
        if all(not present.isdisjoint(group) for group in requires)
    )


_EVERY_SIGNAL = tuple((pattern, kind, None) for pattern, kind in _SIGNALS)


_STATE_VALUES = {"active": "Active", "pending": "Pending", "inactive": "Inactive", "failed": "Failed"}
_LUS_VALUES = {"successful": "Successful", "failed": "Failed", "inprogress": "InProgress"}
_URL = re.compile(r"https?://\S+", _F)
_NON_LOWER = re.compile(r"[^a-z]")
_PASS_REASONS = {"ok", "no content"}


def _classify(kind: str | None, m: re.Match[str]) -> tuple[str, str | None] | None:
    """The canonical detail and signal of one match; None when the match means nothing."""
    if kind == "state":
        value = _STATE_VALUES.get(m.group(1).lower())
        if value is None:
            return None
        return f"State={value}", ("state_active" if value == "Active" else FAIL)
    if kind == "lus":
        value = _LUS_VALUES.get(_NON_LOWER.sub("", m.group(1).lower()))
        if value is None:
            return None
        return f"LastUpdateStatus={value}", ("lus_successful" if value == "Successful" else FAIL)
    detail = " ".join(m.group(0).split())
    if kind in ("http_arrow", "http"):
        code, reason = m.group(1).lower(), m.group(2)
        if kind == "http_arrow":
            detail = f"-> {code}" + (f" {' '.join(reason.split())}" if reason else "")
        # only 2xx is the endpoint answering (3xx is not), and a reason phrase must agree with it
        ok = code[0] == "2" and (reason is None or " ".join(reason.lower().split()) in _PASS_REASONS)
        return detail, (PASS if ok else FAIL)
    if kind == "fraction":
        passed, total = int(m.group(1) + m.group(2)), int(m.group(3))
        return detail, (PASS if passed == total > 0 else FAIL)
    if kind == "code_reason":
        reason = " ".join(m.group(3).lower().split())
        return detail, (PASS if m.group(1) == "2" and reason in _PASS_REASONS else FAIL)
    if kind == "keyed_word":
        return detail, (FAIL if m.group(1).lower().startswith("fail") else PASS)
    if kind == "keyed_bool":
        return detail, (PASS if m.group(1).lower() in ("true", "yes") else FAIL)
    if kind == "question":
        answer = (m.group(1) or "").lower()
        return detail, (UNSETTLED if not answer else PASS if answer in ("yes", "yep", "true") else FAIL)
    return detail, kind


def _blank_url(m: re.Match[str]) -> str:
    """A URL as "/" and blanks: a reference, not a statement, but still the path a request went to."""
    return "/" + " " * (len(m.group(0)) - 1)


def _outcome_hits(text: str, fast: bool = True) -> list[tuple[int, str, str | None]]:
    """(position, detail, signal) of every outcome statement in ``text``, in text order."""
    # A URL is a reference, not a statement: ".../runs/1?status=failed" says nothing itself.
    if not fast or "://" in text:
        text = _URL.sub(_blank_url, text)
    low = _lower(text)
    plan = _signal_plan(frozenset([w for w in _GATE_WORDS if w in low])) if fast else _EVERY_SIGNAL
    claimed = bytearray(len(text))  # 1 where an earlier pattern already matched
    hits: list[tuple[int, str, str | None]] = []
    for pattern, kind, starts in plan:
        for m in (pattern.finditer(text) if starts is None else _finditer_at(pattern, text, low, starts)):
            start, end = m.span()
            if claimed.find(1, start, end) != -1:
                continue
            claimed[start:end] = b"\x01" * (end - start)
            classified = _classify(kind, m)
            if classified is not None:
                hits.append((start, *classified))
    hits.sort(key=lambda h: h[0])
    return hits


def _decide(signals: set[str | None]) -> str | None:
    """Any failure wins; then anything unsettled; then a pass, or the Lambda state pair."""
    if FAIL in signals:
        return FAIL
    if UNSETTLED in signals:
        return None
    if PASS in signals or {"state_active", "lus_successful"} <= signals:
        return PASS
    return None


# A failure disguised from the ASCII grammar must still be read: digits and letters in other
# forms (fullwidth "\uff15\uff10\uff10", Cyrillic "f\u0430iled"), invisible characters inside a word,
# HTML entities and tags, markdown emphasis ("-> **500**"). The text is read a second time in a
# canonical form, and only that reading's failures and unsettled statements are added: a pass
# is never read from a disguised word ("p\u0430ssed" is no pass, and NFKC would turn a KELVIN
# SIGN into "K").
_INVISIBLE = re.compile("[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e"
                        "\u2060-\u206f\ufe00-\ufe0f\ufeff]")
_CONFUSABLES = str.maketrans(
    "\u0430\u0432\u0435\u043a\u043c\u043d\u043e\u0440\u0441\u0442\u0443\u0445\u0456\u0458\u0455\u0501\u04bb"
    "\u0410\u0412\u0415\u041a\u041c\u041d\u041e\u0420\u0421\u0422\u0423\u0425\u0406\u0408\u0405"
    "\u03b1\u03b5\u03b9\u03ba\u03bd\u03bf\u03c1\u03c4\u03c5\u03c7"
    "\u0391\u0392\u0395\u0396\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a5\u03a7\u0261",
    "aBekMHopcTyxijsdh"
    "ABEKMHOPCTYXIJS"
    "aeikvopTux"
    "ABEZHIKMNOPTYXg",
)
_MARKUP = re.compile(r"</?[a-z]{1,10}\s*/?>|[*`~]", re.I | re.A)


def _canonical(text: str) -> str:
    """``text`` with lookalikes, invisibles, entities and markup reduced to plain ASCII forms."""
    if text.isascii() and not any(c in text for c in "&*`~<"):
        return text
    text = html.unescape(text) if "&" in text else text
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text).translate(_CONFUSABLES)
    return _MARKUP.sub("", text)


# Struck-through text is retracted: "~~validation passed~~", "<s>ok</s>", "<del>200</del>".
_STRUCK = re.compile(r"~~[^~\n]{1,400}?~~|<(s|del|strike)>.{0,400}?</\1>", _F | re.S)
# A validation of another environment says nothing about this function: "validation passed in staging".
_ELSEWHERE = re.compile(r"(?<![a-z])(?:in|on|against)\s+(?:the\s+)?(?:staging|sandbox|preview|dev)"
                        r"(?:\s+(?:env(?:ironment)?|stack|account))?(?![a-z0-9_-])", _F)


def _outcome_uncached(text: str, fast: bool = True) -> tuple[str | None, tuple[str, ...]]:
    if ("~" in text or "<" in text) and _STRUCK.search(text):
        text = _STRUCK.sub(" ", text)
    hits = _outcome_hits(text, fast)
    if ("stag" in text or "sandbox" in text or "preview" in text or "dev" in text) and (m := _ELSEWHERE.search(text)):
        hits = [*hits, (m.start(), m.group(0), UNSETTLED)]
    shadow = _canonical(text)
    if shadow != text:
        hits += [hit for hit in _outcome_hits(shadow, fast) if hit[2] in (FAIL, UNSETTLED)]
    details = tuple(dict.fromkeys(detail for _, detail, _ in hits))
    return _decide({signal for _, _, signal in hits}), details


@lru_cache(maxsize=8192)
def _outcome(text: str) -> tuple[str | None, tuple[str, ...]]:
    return _outcome_uncached(text)


@lru_cache(maxsize=4096)
def detail_signal(detail: str) -> str | None:
    """What one outcome detail says on its own: "pass", "fail", ``UNSETTLED`` or None.

    Details are canonical statements ("-> 500", "State=Failed", "validation: pending"), so
    reading one again gives its own signal; checks use this to say *which* part failed.
    """
    signals = {signal for _, _, signal in _outcome_hits(detail)} if isinstance(detail, str) else set()
    if signals == set() and isinstance(detail, str) and _ELSEWHERE.fullmatch(detail):
        signals = {UNSETTLED}
    if FAIL in signals or UNSETTLED in signals:
        return FAIL if FAIL in signals else UNSETTLED
    return PASS if PASS in signals else None


# ----------------------------------------------------------------------------- deployed

_DEPLOY = re.compile(
    r"(?<![a-z])(?:re)?deployed(?![a-z])|deploy\.sh|api-mcp-backend-deploy|deploy\s+script", _F
)
_NOT_DEPLOYED = re.compile(
    r"(?:n't|(?<![a-z])(?:not|never|to\s+be|will\s+be))\s+(?:yet\s+|been\s+|be\s+)?(?:re)?deployed(?![a-z])",
    _F,
)


def _mentions_deploy(text: str, fast: bool = True) -> bool:
    if fast:
        # Every _DEPLOY match contains "deploy"; every _NOT_DEPLOYED match "deployed" and
        # one of n't / not / never / to (be) / will (be).
        low = _lower(text)
        if "deploy" not in low:
            return False
        if "deployed" not in low or not any(w in low for w in ("n't", "not", "never", "to", "will")):
            return bool(_DEPLOY.search(text))
    return bool(_DEPLOY.search(_NOT_DEPLOYED.sub(" ", text)))


# ----------------------------------------------------------------------------- public


def parse_text(text: str) -> dict[str, Any]:
    """The facts one piece of evidence text states; non-text reads as stating nothing."""
    if not isinstance(text, str):
        text = ""
    outcome, details = _outcome(text)
    return {
        "shas": _shas(text),
        "last_modified": _last_modified(text),
        "outcome": outcome,
        "outcome_details": details,
        "mentions_deploy": _mentions_deploy(text),
    }


def _parse_text_uncached(text: str, fast: bool = True) -> dict[str, Any]:
    """``parse_text`` without its caches; ``fast=False`` skips no pattern (the reference)."""
    outcome, details = _outcome_uncached(text, fast)
    return {
        "shas": _shas_uncached(text, fast),
        "last_modified": _last_modified(text, fast),
        "outcome": outcome,
        "outcome_details": details,
        "mentions_deploy": _mentions_deploy(text, fast),
    }


_COMMIT_KEYS = {"commit", "commitsha", "sha", "gitsha", "revision"}
_LM_KEYS = {"lastmodified", "functionlastmodified"}
_OUTCOME_KEYS = {"validation", "outcome", "result", "status", "validationresult", "validationoutcome"}
_STATE_KEYS = {"state"}
_LUS_KEYS = {"lastupdatestatus"}
# keys whose boolean value is itself the verdict: {"passed": false}, {"ok": false}, {"success": false}
_VERDICT_KEYS = {"passed", "pass", "ok", "success", "successful", "succeeded", "healthy"}
_BOOL_WORDS = {"true": True, "false": False, "yes": True, "no": False}
_COUNT_KEYS = {"errors", "error", "failures", "failed", "failing", "exceptions", "timeouts", "errorcount", "failurecount"}
_MAX_DEPTH = 64  # deeper than any real record; bounds recursion on hostile input


def _render(value: Any, key: str = "", depth: int = 0) -> Iterable[str]:
    """Re-state a structured record as text the free-text parser reads unambiguously.

    One parser for both shapes keeps their verdicts from drifting apart. Unknown keys are
    dropped but their text values kept, so a note like "rollback performed" still counts.
    """
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _render(v, re.sub(r"[^a-z]", "", str(k).lower()), depth + 1)
        return
    if isinstance(value, (list, tuple)):
        for v in value:
            yield from _render(v, key, depth + 1)
        return
    if isinstance(value, str) and key in _OUTCOME_KEYS | _VERDICT_KEYS and value.strip().lower() in _BOOL_WORDS:
        value = _BOOL_WORDS[value.strip().lower()]  # "validation": "false" is a boolean written as text
    if isinstance(value, bool):
        if key in _OUTCOME_KEYS | _VERDICT_KEYS:
            yield "validation passed" if value else "validation failed"
        elif key in _COUNT_KEYS and value:
            yield "validation failed"  # {"failed": true}
        return
    if isinstance(value, int) and key in _OUTCOME_KEYS | {"statuscode", "httpstatus"}:
        yield f"HTTP {value}"
        return
    if isinstance(value, (int, float)) and key in _COUNT_KEYS:
        yield f"{key}: {value:g}"  # "errors": 3 is a count of failures ("errors": 0 says nothing)
        return
    if not isinstance(value, str) or not value.strip():
        return
    if key in _COMMIT_KEYS:
        yield f"commit {value}"
    elif key in _LM_KEYS:
        yield f"LastModified={value}"
    elif key in _STATE_KEYS:
        yield f"State={value}"
    elif key in _LUS_KEYS:
        yield f"LastUpdateStatus={value}"
    elif key in _OUTCOME_KEYS:
        yield f"validation {value}"
    else:
        yield value


def _structured_text(value: Any) -> tuple[str, str] | None:
    """(raw text, text to parse) for a JSON-or-text field; None when the type is unusable."""
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            decoded = json.loads(value)
        except (ValueError, RecursionError):
            return value, value
        if isinstance(decoded, (dict, list)):
            return value, "; ".join(_render(decoded))
        return value, value
    if isinstance(value, dict):
        try:
            raw = json.dumps(value, default=str)
        except (ValueError, TypeError, RecursionError):
            raw = repr(value)
        return raw, "; ".join(_render(value))
    return None


def _evidence(
    task_id: str, origin: str, timestamp: datetime | None, raw: str, parse: str, index: int
) -> Evidence:
    facts = parse_text(parse)
    return Evidence(
        task_id=task_id,
        origin=origin,
        timestamp=timestamp,
        text=raw,
        shas=facts["shas"],
        last_modified=facts["last_modified"],
        outcome=facts["outcome"],
        outcome_details=facts["outcome_details"],
        mentions_deploy=facts["mentions_deploy"],
        index=index,
    )


def evidence_for_item(task_id: str, item: dict) -> list[Evidence]:
    """Every piece of deployment evidence a tracker item carries, worklogs first.

    Tracker records are hand-edited, so any malformed part is skipped rather than
    trusted or allowed to abort the whole check.
    """
    if not isinstance(item, dict):
        return []
    task_id = str(task_id)
    out: list[Evidence] = []
    history = item.get("history")
    if isinstance(history, list):
        for index, entry in enumerate(history):
            if not isinstance(entry, dict):
                continue
            status = entry.get("status")
            if not isinstance(status, str) or status.strip().lower() != "worklog":
                continue
            description = entry.get("description")
            if not isinstance(description, str) or not description.strip():
                continue
            ts = entry.get("timestamp")
            timestamp = parse_time(ts) if isinstance(ts, str) else None
            out.append(_evidence(task_id, "worklog", timestamp, description, description, index))

    commit = item.get("commit_sha")
    if isinstance(commit, str) and commit.strip():
        out.append(_evidence(task_id, "field:commit_sha", None, commit, f"commit {commit.strip()}", -1))
    for name in ("deploy_evidence", "live_validation_evidence"):
        texts = _structured_text(item.get(name))
        if texts is not None:
            out.append(_evidence(task_id, f"field:{name}", None, texts[0], texts[1], -1))
    return out


# ------------------------------------------------------------------------- writing side

_HEX_SHA = re.compile(r"[0-9a-fA-F]{7,40}")
_RUNTIME_DETAIL = re.compile(r"(?:State|LastUpdateStatus)\s*[:=]", _F)


def _lambda_time(value: str | datetime) -> tuple[str, datetime]:
    if isinstance(value, datetime):
        dt = parse_time(value) or value
        frac = f"{dt.microsecond // 1000:03d}" if dt.microsecond % 1000 == 0 else f"{dt.microsecond:06d}"
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + frac + "+0000", dt
    text = str(value).strip()
    m = _TS.fullmatch(text)
    dt = _ts_to_datetime(m) if m else None
    if dt is None:
        raise ValueError(f"not a LastModified timestamp: {value!r}")
    return text, dt


def format_evidence_line(
    commit: str,
    last_modified: str | datetime,
    outcome: str,
    details: list[str],
    report_url: str | None = None,
    *,
    function: str = DEFAULT_FUNCTION,
    via: str = DEFAULT_VIA,
) -> str:
    """The worklog line the deploy command records, guaranteed to read back as written.

    CI cannot write to the tracker, so this line is what a person or agent pastes; it is
    checked against ``parse_text`` here so a line that would later read differently (a
    "pass" whose details show a 5xx, say) is refused at write time instead.
    """
    commit = str(commit).strip()
    if not _HEX_SHA.fullmatch(commit):
        raise ValueError(f"not a commit sha (7-40 hex): {commit!r}")
    if outcome not in (PASS, FAIL):
        raise ValueError(f"outcome must be 'pass' or 'fail', not {outcome!r}")
    lm_text, lm = _lambda_time(last_modified)
    clean = [" ".join(str(d).split()) for d in details or []]
    clean = [d for d in clean if d]
    runtime = [d for d in clean if _RUNTIME_DETAIL.match(d)]
    checks = [d for d in clean if d not in runtime]
    function_part = " ".join([" ".join(str(function).split()), f"LastModified={lm_text}", *runtime])
    validation = f"validation={outcome}" + (f" ({', '.join(checks)})" if checks else "")
    parts = [f"Deployed commit {commit.lower()} via {' '.join(str(via).split())}", function_part, validation]
    if report_url:
        parts.append(f"report: {' '.join(str(report_url).split())}")
    line = "; ".join(parts)

    facts = parse_text(line)
    if not facts["shas"] or facts["shas"][0] != commit.lower():
        raise ValueError(f"evidence line would not read back commit {commit}: {line!r}")
    if facts["last_modified"] != (lm,):
        raise ValueError(f"evidence line would not read back LastModified {lm_text}: {line!r}")
    if facts["outcome"] != outcome:
        raise ValueError(f"evidence line would read as {facts['outcome']!r}, not {outcome!r}: {line!r}")
    return line


_LINE = re.compile(
    r"Deployed commit (?P<commit>[0-9a-f]{7,40}) via (?P<via>[^;]+); "
    r"(?P<function>\S+) LastModified=(?P<last_modified>\S+)(?P<runtime>[^;]*); "
    r"validation=(?P<outcome>pass|fail)(?: \((?P<checks>.*?)\))?"
    r"(?:; report: (?P<report_url>\S+))?"
)


def parse_evidence_line(line: str) -> dict[str, Any] | None:
    """The fields of a line written by ``format_evidence_line``; None for any other text.

    Lets the deploy command show exactly what it recorded. Checks must still use
    ``parse_text``, which also reads lines people wrote by hand.
    """
    if not isinstance(line, str):
        return None
    m = _LINE.fullmatch(line.strip())
    if m is None:
        return None
    ts = _TS.fullmatch(m["last_modified"])
    lm = _ts_to_datetime(ts) if ts else None
    if lm is None:
        return None
    details = m["runtime"].split() + (m["checks"].split(", ") if m["checks"] else [])
    return {
        "commit": m["commit"],
        "via": m["via"],
        "function": m["function"],
        "last_modified": lm.astimezone(timezone.utc),
        "outcome": m["outcome"],
        "details": details,
        "report_url": m["report_url"],
    }


# --------------------------------------------------------------------- deploy path named

# Which deploy a claim is about. A claim naming the workflow (its file, its name, a run of it)
# is a claim about a run and is checked against the runs; only a claim naming the deploy
# script, and not the workflow, describes the manual path. Nothing here reads an outcome.
_WORKFLOW_WORDS = re.compile(
    r"(?<![a-z0-9])(?:github[\s_-]+actions?|workflow[\s_-]+(?:run|dispatch)|workflow_dispatch"
    r"|workflows?|actions/runs/|ci|pipeline)(?![a-z])",
    _F,
)
# A script mention that says it was not (or not yet) run: "did not run deploy.sh", "deploy.sh
# not run", "will run deploy.sh", "instead of deploy.sh". Judged within one clause.
_CLAUSE = re.compile(r"[^;.\n]+(?:\.(?!\s|$)[^;.\n]*)*", _F)
_NOT_RUN = re.compile(
    r"(?<![a-z])(?:not|never|without|instead|skip(?:ped|s)?|won't|will|todo|to-do|should|need(?:s|ed)?\s+to"
    r"|going\s+to|plan(?:ned|s)?\s+to|pending|later|tomorrow|next|fail(?:ed|s|ure)?\s+to|unable|cannot|can't"
    r"|no|nope|refused|blocked|abort(?:ed)?|edit(?:ed|s)?|updated?|changed?|modif(?:y|ied)|review(?:ed)?|see"
    # a run that deployed nothing, or not to production: "deploy.sh --dry-run", "against staging"
    r"|dry[\s_-]?run|noop|no-op|simulat(?:e|ed|ing|ion)|staging|stage|sandbox|dev|development|preview"
    r"|test(?:ing)?[\s_-]+(?:env(?:ironment)?|account|stack))"
    r"(?![a-z])|n't(?![a-z])",
    _F,
)


# The clause must say the script was run, not only name it ("edited deploy.sh", a link to it).
_RAN = re.compile(
    r"(?<![a-z])(?:run|ran|running|re-?ran|re-?run|execut(?:e|ed|ing)|invok(?:e|ed|ing)|via|using|with|through"
    r"|by\s+hand|manually)(?![a-z])",
    _F,
)


def _script_words(script: str | None) -> tuple[str, ...]:
    name = (script or "deploy.sh").replace("\\", "/").rsplit("/", 1)[-1].lower()
    return tuple(dict.fromkeys([name, "deploy.sh", "deploy script", "deploy-script"]))


def names_workflow(text: str, workflow: str | None = None) -> bool:
    """The text says the deploy went through the canonical workflow (its file or name, a workflow or CI run)."""
    if not isinstance(text, str):
        return False
    low = _lower(text)
    stem = (workflow or DEFAULT_VIA).replace("\\", "/").rsplit("/", 1)[-1].lower()
    stem = stem.rsplit(".", 1)[0] if stem.endswith((".yml", ".yaml")) else stem
    return bool((stem and stem in low) or DEFAULT_VIA in low or _WORKFLOW_WORDS.search(text))


def names_manual_run(text: str, script: str | None = None) -> bool:
    """The text says the deploy script was run, in a clause that does not deny, postpone or only edit it."""
    if not isinstance(text, str):
        return False
    words = _script_words(script)
    for m in _CLAUSE.finditer(text):
        clause = _lower(m.group(0))
        if any(w in clause for w in words) and _RAN.search(clause) and not _NOT_RUN.search(clause):
            return True
    return False


_REGION = re.compile(r"(?<![a-z0-9-])(?:us|eu|ap|sa|ca|me|af|il|mx|cn|us-gov)-[a-z]+-\d(?![a-z0-9])", _F)


def names_other_target(text: str, function: str | None = None, region: str | None = None) -> str | None:
    """The other function or region a deploy claim names ("devops-coordination-api-staging",
    "REGION=us-east-1"), or None. A claim about another deploy target is not evidence for this one."""
    if not isinstance(text, str):
        return None
    low = _lower(text)
    name = (function or DEFAULT_FUNCTION).lower()
    for m in re.finditer(re.escape(name) + r"([a-z0-9_-]*)", low):
        if m.group(1).strip("-_"):
            return text[m.start() : m.end()]
    if region:
        for m in _REGION.finditer(text):
            if m.group(0).lower() != region.lower():
                return m.group(0)
    return None
