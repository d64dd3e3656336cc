"""Reading the validation outcome of a piece of evidence text with the grammar's table.

Any failure, in any part, makes the outcome ``fail``; otherwise anything unsettled makes it
``None``; otherwise a pass signal, or the Lambda state pair, makes it ``pass``; text with no
recognisable outcome is ``None`` (never a pass). Text disguised from the ASCII grammar
(lookalike letters, invisible characters, entities, markup) is read a second time in a canonical
form, for failures only.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

from compliance.base.console import INVISIBLE
from compliance.judge.evidence.grammar import literals_in, signal_plan
from compliance.judge.evidence.scan import NOCASE, ascii_lower, finditer_at
from compliance.judge.evidence.signals import FAIL, PASS, UNSETTLED

_STATE_VALUES = {"active": "Active", "pending": "Pending", "inactive": "Inactive", "failed": "Failed",
                 "unknown": "Unknown", "error": "Error"}  # the last two: no pass, whatever Lambda calls them
_LUS_VALUES = {"successful": "Successful", "success": "Successful", "failed": "Failed", "inprogress": "InProgress"}
_URL = re.compile(r"https?://\S+", NOCASE)
_NON_LOWER = re.compile(r"[^a-z]")
_PASS_REASONS = {"ok", "no content"}


def _classify(kind: str | None, m: re.Match[str]) -> tuple[str, str | None] | None:
    """The canonical detail and signal of one match; None when the match means nothing."""
    # "state: clean" (a git tree), "state=updated" (an alias) are prose, not a Lambda State: they say nothing;
    # a LastUpdateStatus is Lambda's alone, so a value it never reports ("Unsuccessful") states no pass
    if kind == "state":
        value = _STATE_VALUES.get(m.group(1).lower())
        if value is None:
            return None
        return f"State={value}", ("state_active" if value == "Active" else FAIL)
    if kind == "lus":
        value = _LUS_VALUES.get(_NON_LOWER.sub("", m.group(1).lower()))
        if value is None:
            return f"LastUpdateStatus={m.group(1)} (not a status Lambda reports)", UNSETTLED
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


def _outcome_hits(text: str) -> list[tuple[int, str, str | None]]:
    """(position, detail, signal) of every outcome statement in ``text``, in text order."""
    # A URL is a reference, not a statement: ".../runs/1?status=failed" says nothing itself.
    if "://" in text:
        text = _URL.sub(_blank_url, text)
    low = ascii_lower(text)
    plan = signal_plan(literals_in(low))
    claimed = bytearray(len(text))  # 1 where an earlier pattern already matched
    hits: list[tuple[int, str, str | None]] = []
    for pattern, kind, starts in plan:
        for m in (pattern.finditer(text) if starts is None else finditer_at(pattern, text, low, starts)):
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
# What every renderer strips (``console.INVISIBLE``: C0/C1 controls but tab and line ends, the Unicode tag block)
# hides a letter as well as a zero-width space does: "State=Act\x00ive" reads as "State=Active" on a page.
_INVISIBLE = re.compile(f"[{INVISIBLE}\u034f\u115f\u1160\u17b4\u17b5\u2060-\u206f\ufe00-\ufe0f]")
_ASCII_HIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONFUSABLES = str.maketrans(
    "\u0430\u0432\u0435\u043a\u043c\u043d\u043e\u0440\u0441\u0442\u0443\u0445\u0456\u0458\u0455\u0501\u04bb"
    "\u0410\u0412\u0415\u041a\u041c\u041d\u041e\u0420\u0421\u0422\u0423\u0425\u0406\u0408\u0405"
    "\u03b1\u03b5\u03b9\u03ba\u03bd\u03bf\u03c1\u03c4\u03c5\u03c7"
    "\u0391\u0392\u0395\u0396\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a5\u03a7\u0261"
    "\u0130\u0131",  # dotted capital I and dotless i: the Turkish letters case folding mixes with I and i
    "aBekMHopcTyxijsdh"
    "ABEKMHOPCTYXIJS"
    "aeikvopTux"
    "ABEZHIKMNOPTYXg"
    "Ii",
)
_MARKUP = re.compile(r"</?[a-z]{1,10}\s*/?>|[*`~]", re.I | re.A)


def _canonical(text: str) -> str:
    """``text`` with lookalikes, invisibles, entities and markup reduced to plain ASCII forms."""
    if text.isascii() and not any(c in text for c in "&*`~<") and _ASCII_HIDDEN.search(text) is None:
        return text
    text = html.unescape(text) if "&" in text else text
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text).translate(_CONFUSABLES)
    return _MARKUP.sub("", text)


# Struck-through text is retracted: "~~validation passed~~", "<s>ok</s>", "<del>200</del>".
_STRUCK = re.compile(r"~~[^~\n]{1,400}?~~|<(s|del|strike)>.{0,400}?</\1>", NOCASE | re.S)
# A validation of another environment says nothing about this function: "validation passed in staging".
_ELSEWHERE = re.compile(r"(?<![a-z])(?:in|on|against)\s+(?:the\s+)?(?:staging|sandbox|preview|dev)"
                        r"(?:\s+(?:env(?:ironment)?|stack|account))?(?![a-z0-9_-])", NOCASE)
_ELSEWHERE_WORDS = ("stag", "sandbox", "preview", "dev")  # every _ELSEWHERE match holds one
# ... as a whole word of the match: followed by whitespace or anything but [a-z0-9_-] ("devops" is no "dev").
# Searched in the ASCII-lowercased text; no lookbehind, so ``re`` skips to the letters s, p and d.
_ELSEWHERE_GATE = re.compile(r"(?:staging|sandbox|preview|dev)(?![a-z0-9_-])")


# A pass statement that only the canonical reading finds was written with characters that are not the
# ASCII it looks like ("State=\u0410ctive", "LastUpdate\u200bStatus=Successful", "State=Act\u0131ve"): the
# writer states a pass no reader of the plain text can check, which is a lie, not silence. It fails, and
# the detail names the characters (as the runbook check does). Markup, look-alike spaces and fullwidth forms
# alone ("State=**Active**", a no-break space) disguise no letter of the statement: they only go unread.
_PASS_SIGNALS = (PASS, "state_active", "lus_successful")
_DISGUISED = re.compile(r" disguised with U\+[0-9A-F]{4,6}(?:, U\+[0-9A-F]{4,6})*")


def _disguising(text: str) -> list[str]:
    """The characters of ``text`` the canonical form changes, other than spaces and fullwidth forms, as
    ``U+XXXX``. Fullwidth digits and letters are what a CJK keyboard types and read as wide, not as ASCII
    ("-> \uff12\uff10\uff10 OK" is an honest pass, tests/adversarial/test_probe_verdicts.py)."""
    text = html.unescape(text) if "&" in text else text
    return [f"U+{ord(c):04X}" for c in dict.fromkeys(text)
            if (not c.isascii() or _ASCII_HIDDEN.match(c)) and not "\uff00" <= c <= "\uffef"
            and (canon := _canonical(c)) != c and not canon.isspace()]


def disguised_passes(text: str, plain: list, shadow: list) -> list[tuple[int, str, str | None]]:
    """A failing hit per pass statement the canonical reading has more of than the plain reading."""
    odd = None
    found = []
    for signal in _PASS_SIGNALS:
        extra = [h for h in shadow if h[2] == signal][sum(1 for h in plain if h[2] == signal):]
        if extra:
            odd = _disguising(text) if odd is None else odd
            if odd:
                found += [(pos, f"{detail} disguised with {', '.join(odd)}", FAIL) for pos, detail, _ in extra]
    return found


def _read_outcome(text: str) -> tuple[str | None, tuple[str, ...]]:
    if ("~" in text or "<" in text) and _STRUCK.search(text):
        text = _STRUCK.sub(" ", text)
    plain = _outcome_hits(text)
    hits = list(plain)
    low = ascii_lower(text)  # _ELSEWHERE ignores case, so its pre-check must too ("in STAGING")
    if _ELSEWHERE_GATE.search(low) and (m := _ELSEWHERE.search(text)):
        hits = [*hits, (m.start(), m.group(0), UNSETTLED)]
    shadow = _canonical(text)
    if shadow != text:
        shadow_hits = _outcome_hits(shadow)
        hits += [hit for hit in shadow_hits if hit[2] in (FAIL, UNSETTLED)]
        hits += disguised_passes(text, plain, shadow_hits)
    details = tuple(dict.fromkeys(detail for _, detail, _ in hits))
    return _decide({signal for _, _, signal in hits}), details


@lru_cache(maxsize=8192)
def outcome_of(text: str) -> tuple[str | None, tuple[str, ...]]:
    return _read_outcome(text)


@lru_cache(maxsize=4096)
def detail_signal(detail: str) -> str | None:
    """What one outcome detail says on its own: "pass", "fail", ``UNSETTLED`` or None.

    Details are canonical statements ("-> 500", "State=Failed", "validation: pending"), so
    reading one again gives its own signal; checks use this to say *which* part failed.
    """
    if isinstance(detail, str) and _DISGUISED.search(detail):
        return FAIL
    signals = {signal for _, _, signal in _outcome_hits(detail)} if isinstance(detail, str) else set()
    if signals == set() and isinstance(detail, str) and _ELSEWHERE.fullmatch(detail):
        signals = {UNSETTLED}
    if FAIL in signals or UNSETTLED in signals:
        return FAIL if FAIL in signals else UNSETTLED
    return PASS if PASS in signals else None
