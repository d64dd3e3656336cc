"""The outcome grammar: every way a worklog states a validation outcome, as one ordered table.

A worklog states several facts that are judged separately and then combined (``outcome.py``);
the order of the table is the order in which spans are claimed, so a negation or a neutral
phrase consumes its words before a bare word could be read alone. Each row also carries the
literals its matches start with and contain, so ``signal_plan`` can leave out the rows that
cannot match a given text.
"""

from __future__ import annotations

import re
from functools import lru_cache

from compliance.judge.evidence.scan import NOCASE
from compliance.judge.evidence.signals import UNSETTLED

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
_BENIGN_COUNT = (r"(?:failed|failures?|failing|errors?|issues?|warnings?|regressions?|skipped|flaky|problems?|incidents?"
                 r"|alarms?|timeouts?|retries|exceptions?|crash(?:es)?)(?![a-z])")
_BAD_LITS = ("fail", "roll", "revert", "error", "exception", "time", "crash")
_NEG_LITS = ("not", "n't", "never", "unable", "failed")

_TABLE: list[tuple[re.Pattern[str], str | None, tuple[str, ...] | None, tuple[tuple[str, ...], ...]]] = [
    # a state negated in the past is history, not this deploy's: "Previously State!=Active during the update",
    # "State was not Active until the update finished" (claimed first, as nothing)
    (re.compile(r"(?<![a-z])(?:(?:previously|earlier|initially|formerly|before\s+(?:the\s+)?deploy(?:ment|ing)?"
                r"|during\s+(?:the\s+|an\s+)?update)[,:]?\s+(?:the\s+)?"
                r"(?:state|last[\s_-]?update[\s_-]?status)(?![a-z0-9_])\s*(?:!=|<>|\u2260|is\s+not|isn't|was\s+not|wasn't)"
                r"|(?:state|last[\s_-]?update[\s_-]?status)(?![a-z0-9_])\s*(?:was\s+not|wasn't|were\s+not|weren't)(?:\s+yet)?)"
                r"\s*[:=]?\s*[\"'`]?\s*(?:active|successful)(?![a-z])"
                # ... or negated with what says it is expected or passing: "State is not Active during an update"
                r"|(?<![a-z])(?:state|last[\s_-]?update[\s_-]?status)(?![a-z0-9_])\s*(?:!=|<>|\u2260|is\s+not|isn't)\s*"
                r"[\"'`]?(?:active|successful)[\"'`]?\s+\(?(?:(?:was\s+|is\s+)?expected\s+(?:during|while)|during\s+(?:the\s+|an\s+)?"
                r"update)(?![a-z])", NOCASE), None,
     ("previously", "before", "earlier", "initially", "formerly", "during", "state", "last"),
     (("!=", "<>", "\u2260", "not", "n't"), ("active", "successful"))),
    # a negated state now says the function is not as it should be: "State!=Active", "State is not Active",
    # "State: not Active", "LastUpdateStatus isn't Successful" (claimed before "Active" could be read alone)
    (re.compile(r"(?<![a-z])(?:state|last[\s_-]?update[\s_-]?status)(?![a-z0-9_])\s*(?:!=|<>|\u2260|(?:is|are)?"
                r"\s*(?:not|never|no\s+longer)\s|[:=]\s*(?:not|never)\s|isn'?t\s)\s*(?:yet\s+)?[:=]?\s*[\"'`]?\s*"
                r"(?:active|successful)(?![a-z])", NOCASE), "fail",
     ("state", "last"), (("!=", "<>", "\u2260", "not", "never", "longer", "isnt", "n't"), ("active", "successful"))),
    (re.compile(r"(?<![a-z])state(?![a-z0-9_])" + _SEP + r"([a-z]+)(?![a-z])", NOCASE), "state",
     ("state",), (_COLON,)),
    (re.compile(r"(?<![a-z])last[\s_-]?update[\s_-]?status(?![a-z])" + _SEP + r"([a-z]+(?:[\s_-]progress)?)(?![a-z])",
                NOCASE), "lus",
     ("last",), (("update",), ("status",), _COLON)),
    # "could not fix the timeout" states the failure remains, before "fix ... timeout" is neutralised
    (re.compile(r"(?<![a-z])" + _NEG + r"\s+(?:[a-z]+\s+){0,2}?" + _FIX_VERB + r"(?![a-z])", NOCASE), "fail",
     None, (_NEG_LITS, ("fix", "resolv", "handl", "catch", "caught", "prevent", "avoid"))),
    # describing the change: "fixed the 500 error", "handled cold-start timeouts"
    (re.compile(r"(?<![a-z])" + _FIX_VERB + r"\s+(?:(?:the|a|an|any|some|that|this|those|these|its|[1-5]\d\d|[1-5]xx|http"
                r"|intermittent|occasional|spurious|known|reported|cold[\s-]start|capabilit(?:y|ies)|endpoint|lambda|api"
                r"|mcp|route|smoke[\s-]tests?|health[\s-]checks?|tests?|flaky)\s+){0,3}"
                r"(?:" + _ERROR_WORD + r"|failures?|failing\s+tests?|bugs?)(?![a-z])", NOCASE), None,
     ("fix", "resolv", "handl", "catch", "caught", "prevent", "avoid"), (("error", "exception", "time", "crash", "fail", "bug"),)),
    (re.compile(r"(?<![a-z])(?:errors?|exceptions?|timeouts?|failures?|crash)[\s_-]+(?:handling|handlers?|messages?"
                r"|logging|paths?|cases?|types?|classes?|mapping|reporting|budget)(?![a-z])", NOCASE), None,
     ("error", "exception", "timeout", "failure", "crash"), ()),
    # a configured duration, not an event: "timeout: 30s", "raised the Lambda timeout"
    (re.compile(r"(?<![a-z])(?:(?:timeouts?|time[\s-]outs?)\s*(?:[:=]|is|was|to|from|set\s+to|raised\s+to|increased\s+to)?"
                r"\s*\d+(?:\.\d+)?\s*(?:ms|s|secs?|seconds?|m|mins?|minutes?)(?![a-z])"
                r"|(?:set|sets|setting|raise[ds]?|raising|increase[ds]?|increasing|bump(?:ed|s)?|lower(?:ed|s)?"
                r"|reduce[ds]?|configur(?:e|ed|es)|chang(?:e|ed|es)|adjust(?:ed|s)?)\s+(?:the\s+)?(?:(?:lambda|function"
                r"|request|http|client|api|default|read|connect(?:ion)?|handler|idle)\s+){0,2}(?:timeouts?|time[\s-]outs?)"
                r"(?![a-z]))", NOCASE), None,
     ("time", "set", "raise", "raising", "increas", "bump", "lower", "reduc", "configur", "chang", "adjust"), (("time",),)),
    # "not 200", "non-2xx": a negated success code is a failure
    (re.compile(r"(?<![a-z])(?:not|non|no)[\s-]+(?:an?\s+)?(?:HTTP\s*)?(2\d\d|2xx)(?![0-9a-z])", NOCASE), "fail",
     ("not", "non", "no"), (("2",),)),
    (re.compile(r"(?<![a-z])(?:no|empty)\s+(?:http\s+)?(?:response|answer|reply|body)(?![a-z])", NOCASE), "fail",
     ("no", "empty"), (("response", "answer", "reply", "body"),)),
    # "-> 200?" asks, "200? no" answers no
    (re.compile(r"(?:(?:->|→|=>)\s*)?(?:[1-5](?<![0-9a-z.][1-5])\d\d|[1-5]xx)\s*\?+(?:\s*(yes|yep|true|no|nope|false)(?![a-z]))?", NOCASE),
     "question",
     None, (("?",),)),
    (re.compile(r"(?:->|→|=>)\s*(?:HTTP\s*)?" + _CODE_REASON, NOCASE), "http_arrow",
     ("->", "→", "=>"), ()),
    (re.compile(r"(?<![a-z])(?:returned|returns|returning|got|responded|responds|answered|answers|replied|replies|gave)"
                r"(?:\s+with)?\s+(?:an?\s+)?(?:HTTP(?:/\d(?:\.\d)?)?\s*|status(?:\s*code)?\s*)?[:=]?\s*" + _CODE_REASON, NOCASE), "http",
     ("return", "got", "respond", "answer", "repl", "gave"), ()),
    (re.compile(r"(?<![a-z])HTTP(?:/\d(?:\.\d)?)?\s+" + _CODE_REASON, NOCASE), "http",
     ("http",), ()),
    # "GET .../capabilities: 500", "GET /capabilities 200" (a URL reads as "/" here, see _outcome_hits)
    (re.compile(r"(?<![a-z])(?:GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS)\s+[./][^\s:=]*(?:\s*[:=]\s*|\s+)"
                r"(?:HTTP(?:/\d(?:\.\d)?)?\s*)?" + _CODE_REASON, NOCASE), "http",
     ("get", "head", "post", "put", "patch", "delete", "options"), (("/", "."),)),
    (re.compile(r"(?<![a-z])(?:status(?:[\s_-]?code)?|response(?:[\s_-]?code)?|http[\s_-]?(?:status|code)|actual|received"
                r"|capabilit(?:y|ies)(?:[\s_-](?:endpoint|check|probe))?|endpoint|probe|mcp)" + _SEP + r"(?:HTTP\s*)?" + _CODE_REASON,
                NOCASE),
     "http",
     ("status", "response", "http", "actual", "received", "capabilit", "endpoint", "probe", "mcp"), (_COLON,)),
    # "capabilities 404": the endpoint and a bare code, when no word follows (not "capabilities 100 routes")
    (re.compile(r"(?<![a-z])(?:capabilit(?:y|ies)|endpoint|probe|mcp|health|smoke|route|status(?:[\s_-]?code)?"
                r"|response[\s_-]?code|http[\s_-]?(?:status|code))(?:[\s_-](?:endpoint|check|probe|test))?\s+(?:HTTP\s*)?"
                + _CODE_REASON + r"(?!\s*[a-z])", NOCASE), "http",
     ("capabilit", "endpoint", "probe", "mcp", "health", "smoke", "route", "status", "response", "http"), ()),
    # "503 Service Unavailable", "200 OK"; the code's first digit carries the word-start check
    (re.compile(r"([1-5])(?<![0-9a-z.][1-5])(\d\d)\s+" + _REASON + r"(?![a-z])", NOCASE), "code_reason",
     None, (("ok", "content", "request", "unauthori", "forbidden", "found", "allowed", "time", "many", "error",
             "implemented", "gateway", "unavailable"),)),
    # "3/5 passed", "3 of 5 checks passed", "passed 4/5": a pass only when every one passed
    (re.compile(r"(\d)(?<![0-9a-z.]\d)(\d*)\s*(?:/|of|out\s+of)\s*(\d+)\s+(?:[a-z]+[\s-]+){0,2}?"
                r"(?:pass(?:ed|es)?|succeeded|ok|green)(?![a-z])", NOCASE), "fraction",
     None, (("pass", "succe", "ok", "green"), ("/", "of"))),
    (re.compile(r"(?<![a-z])(?:pass(?:ed|es)?|succeeded|ok)\s*[:=]?\s*(\d)(\d*)\s*(?:/|of|out\s+of)\s*(\d+)(?![0-9])", NOCASE),
     "fraction",
     ("pass", "succe", "ok"), (("/", "of"),)),
    # a qualified pass is not a pass: "partially passed", "passed (except capabilities)", "ok but not for MCP"
    (re.compile(r"(?<![a-z])partial(?:ly)?[\s-]+(?:pass(?:ed|es)?|succe[a-z]*|ok|successful|green)(?![a-z])", NOCASE), "fail",
     ("partial",), ()),
    (re.compile(r"(?<![a-z])(?:pass(?:ed|es)?|ok|okay|succeeded|successful|green)[\s,;:(\[*-]{0,6}(?:except|excluding"
                r"|apart\s+from|other\s+than|but\s+(?:not|for|with|failed|failing))(?![a-z])", NOCASE), "fail",
     ("pass", "ok", "succe", "green"), (("except", "excluding", "apart", "other", "but"),)),
    (re.compile(r"(?<![a-z])(?:validation|outcome|result)" + _SEP + r"(pass|passed|fail|failed)(?![a-z])", NOCASE),
     "keyed_word",
     ("validation", "outcome", "result"), (_COLON, ("pass", "fail"))),
    (re.compile(r"(?<![a-z])(?:success|successful|succeeded|ok|passed|pass)" + _SEP + r"(true|false|yes|no)(?![a-z])", NOCASE),
     "keyed_bool",
     ("succe", "ok", "pass"), (_COLON, ("true", "false", "yes", "no"))),
    # a check keyed to a negative: "validation: false", "validated=no", "healthy=false", "smoke_ok=0", "verified: ko"
    # ("tests: 0 failed", "validation: 0 issues", "health check: no regressions" count bad things: no verdict;
    # "tests: 0 passed", "health check: 0 healthy targets", "validation: 0%" count good ones: a failure)
    (re.compile(r"(?<![a-z])(?:validation|validated|valid|verified|verification|healthy|health(?:[\s_-]?check)?"
                r"|tests?|smoke(?:[\s_-]?(?:ok|test))?)" + _SEP +
                r"(?:(?:false|ko|nok|nope|red|n)(?![a-z0-9_])|(?:no|none|0)(?![a-z0-9_])(?!\s*" + _BENIGN_COUNT + r"))",
                NOCASE), "fail",
     ("valid", "verif", "health", "smoke", "test"), (_COLON, ("false", "no", "ko", "0", "red", "n"))),
    # Negated success is a failure: "did not pass", "validation not ok", "unable to succeed".
    (re.compile(r"(?<![a-z])" + _NEG + r"\s+(?:[a-z]+\s+){0,3}?" + _SUCCESS_WORD + r"(?![a-z])", NOCASE), "fail",
     None, (_NEG_LITS, ("pass", "succe", "ok", "green", "healthy", "available", "reachable", "respon", "working"))),
    # An expectation, plan or condition is not an outcome: "should pass", "expected to pass", "if validation passed".
    (re.compile(r"(?<![a-z])(?:should|will|would|shall|supposed\s+to|expected\s+to|expect(?:s|ed|ing)?|hope(?:s|d|fully)?"
                r"|if|once|until|unless|assuming|when)\s+(?:(?:be|to|the|all|validation|smoke[\s-]?tests?|health[\s-]?checks?"
                r"|checks?|tests?|it|they|this|that|capabilit(?:y|ies)|endpoint|mcp|probe)\s+){0,3}"
                r"(?:pass(?:ed|es)?|succeed(?:ed|s)?|successful|ok|okay|green)(?![a-z])", NOCASE), UNSETTLED,
     ("should", "will", "would", "shall", "suppos", "expect", "hope", "if", "once", "until", "unless", "assum", "when"),
     (("pass", "succe", "ok", "green"),)),
    # A question is not an answer: "passed?" is unsettled, "passed? no" a failure.
    (re.compile(r"(?<![a-z])(?:pass(?:ed|es)?|ok|okay|succe[a-z]*|green)\s*\?+(?:\s*(yes|yep|true|no|nope|false)(?![a-z]))?",
                NOCASE), "question",
     ("pass", "ok", "succe", "green"), (("?",),)),
    # Negated failure is no signal at all (it is not a pass either).
    (re.compile(r"(?<![a-z0-9])(?:no|zero|0|without|never)\s+" + _SUBJECT + r"(?:(?:timeout|http|5xx|4xx|server|client)\s+)?"
                + _BAD + r"(?![a-z])", NOCASE), None,
     ("no", "zero", "0", "without", "never"), (_BAD_LITS,)),
    (re.compile(r"(?<![a-z0-9])(?:no|zero|0|without|never|not)\s+(?:(?:http|4xx|5xx|40[13])\s+)?(?:forbidden|unauthori[sz]ed"
                r"|access[\s_-]?denied|abort(?:ed|s)?)(?![a-z])", NOCASE), None,
     ("no", "zero", "0", "without", "never", "not"), (("forbidden", "unauthori", "access", "abort"),)),
    (re.compile(r"(?<![a-z])(?:did\s+not|didn't|does\s+not|doesn't|not|never)\s+(?:fail(?:ed|s)?|error(?:ed|s)?"
                r"|crash(?:ed|es)?|time[\s-]?out|timed[\s-]?out|throw|threw|revert(?:ed)?|roll(?:ed)?[\s-]?back)(?![a-z])", NOCASE),
     None,
     ("did", "does", "not", "never"), (("fail", "error", "crash", "time", "throw", "threw", "revert", "roll"),)),
    (re.compile(r"(?<![a-z])" + _BAD + r"(?:[\s_-]?rate)?" + _SEP + r"(?:0+(?:\.0+)?%?|none|no|false)(?![0-9a-z.])", NOCASE),
     None,
     ("fail", "roll", "revert", "error", "exception", "time", "crash"), (_COLON,)),
    (re.compile(r"(?<![a-z])" + _BAD + r"[\s-]free(?![a-z])", NOCASE), None,
     ("fail", "roll", "revert", "error", "exception", "time", "crash"), (("free",),)),
    (re.compile(r"(?<![a-z])" + _ROLLBACK + r"\s+(?:was\s+|is\s+)?not\s+(?:needed|required|performed|triggered)", NOCASE),
     None,
     ("roll", "revert"), (("not",),)),
    (re.compile(r"(?<![a-z0-9])(?:no|zero|0|none)\s+" + _SUBJECT + r"pass(?:ed|es)?(?![a-z])", NOCASE), None,
     ("no", "zero", "0"), (("pass",),)),
    (re.compile(r"(?<![a-z])pass(?:ed|es)?" + _SEP + r"(?:0+|none)(?![0-9a-z.])", NOCASE), None,
     ("pass",), (_COLON,)),
    # Unchecked: "(unverified)", "unable to verify the capabilities", "couldn't validate the deploy" (not a description
    # of the change: "removed the untested handler", "failed to validate the token" say nothing of the deploy)
    (re.compile(r"\(\s*(?:unverified|untested|unvalidated|unconfirmed)\s*\)"
                r"|(?<![a-z])(?:unable\s+to|failed\s+to|could\s*not|couldn'?t|did\s*not|didn'?t|cannot|can'?t)\s+(?:yet\s+)?"
                r"(?:verify|validate|confirm|probe|check|test|run)\s+(?:the\s+|its\s+|any\s+)?(?:deploy(?:ment)?|capabilit(?:y|ies)"
                r"|endpoint|state|lambda|function|smoke|health|routes?|api|validation|probe)(?![a-z])", NOCASE), UNSETTLED,
     None, (("unverified", "untested", "unvalidated", "unconfirmed", "verify", "validate", "confirm", "probe", "check",
             "test", "run"),)),
    # A rehearsal validates nothing: "validation=pass (dry run)", "--dry-run".
    (re.compile(r"(?<![a-z])(?:--)?dry[\s_-]?runs?(?![a-z])", NOCASE), UNSETTLED, ("dry",), (("dry",),)),
    # Not final: "validation: pending", "smoke tests skipped", "retry pending", "to be rerun".
    (re.compile(r"(?<![a-z])" + _CHECK_SUBJECT + r"(?:" + _SEP + r"|\s+(?:(?:is|was|are|were|still|currently)\s+){0,2})"
                + _UNSETTLED_WORD + r"(?![a-z/])(?!" + _SEP + r"(?:0+|none|no)(?![0-9a-z.]))", NOCASE), UNSETTLED,
     ("validat", "verif", "smoke", "health", "check", "test", "outcome", "result", "capabilit", "probe"),
     (("pending", "progress", "running", "queued", "waiting", "skipped", "not", "unknown", "n/a", "tbd", "todo",
       "inconclusive", "partial", "flaky", "deferred", "postponed", "incomplete", "unverified", "untested"),)),
    (re.compile(r"(?<![a-z])(?:pending|awaiting|skipped|skipping|deferred|postponed|without|no)\s+(?:the\s+|any\s+)?"
                r"(?:validations?|verification|smoke[\s-]?tests?|health[\s-]?checks?|capabilit(?:y|ies)\s+(?:checks?|probes?"
                r"|tests?))(?![a-z])", NOCASE), UNSETTLED,
     ("pending", "awaiting", "skipp", "deferred", "postponed", "without", "no"),
     (("validat", "verif", "smoke", "health", "capabilit"),)),
    (re.compile(r"(?<![a-z])(?:(?:retry|retries|re-?runs?|re-?tests?)\s+(?:is\s+|are\s+)?(?:pending|scheduled|needed|required"
                r"|queued|in[\s-]?progress|planned)|pending\s+(?:retry|re-?runs?|re-?tests?|confirmation))(?![a-z])",
                NOCASE), UNSETTLED,
     ("retr", "rerun", "re-run", "retest", "re-test", "pending"), ()),
    (re.compile(r"(?<![a-z])(?:(?:will|to)\s+be\s+(?:re-?)?(?:tried|retried|run|tested|validated|checked|confirmed|verified)"
                r"|(?:will|must|need\s+to|needs\s+to)\s+(?:re-?)?(?:try|retry|run|test|validate|check|confirm|verify))(?![a-z])",
                NOCASE), UNSETTLED,
     ("will", "to", "must", "need"), (("tri", "try", "run", "test", "validat", "check", "confirm", "verif"),)),
    (re.compile(r"(?<![a-z])(?:not|never|[a-z]*n't)\s+(?:(?:yet|been|be|being|fully|properly)\s+)*(?:checked|validated|verified"
                r"|tested|smoke[\s-]tested|confirmed|probed)(?![a-z])", NOCASE), UNSETTLED,
     None, (("not", "never", "n't"), ("checked", "validated", "verified", "tested", "confirmed", "probed"))),
    (re.compile(r"(?<![a-z])(?:ok|okay|pass(?:ed|ing)?|green|fine|good|healthy)-?ish(?![a-z])", NOCASE), UNSETTLED,
     ("ok", "pass", "green", "fine", "good", "healthy"), (("ish",),)),
    # Counted failures name their count: "errors: 3", "200 errors" (zero counts were claimed above).
    (re.compile(r"(?<![a-z])(?:" + _FAIL_WORD + "|" + _ERROR_WORD + r")" + _SEP + r"\d+(?![0-9a-z.])", NOCASE), "fail",
     ("fail", "error", "exception", "time", "crash"), (_COLON,)),
    (re.compile(r"([1-9])(?<![0-9a-z.][1-9])\d*\s+(?:" + _FAIL_WORD + "|" + _ERROR_WORD + r")(?![a-z])", NOCASE), "fail",
     None, (("fail", "error", "exception", "time", "crash"),)),
    (re.compile(r"(?<![a-z])(?:" + _FAIL_WORD + r"|unsuccessful|errored|" + _ROLLBACK + r")(?![a-z])", NOCASE), "fail",
     ("fail", "unsuccessful", "errored", "roll", "revert"), ()),
    # Failure words that also name things in code and paths, so not glued to identifiers or file names.
    (re.compile(r"(?<![a-z0-9_/\\.])(?<![a-z]-)(?:errors?|exceptions?|threw|crash(?:es|ed|ing)?|timed[\s-]out|timing[\s-]out"
                r"|timeouts?|time[\s-]outs?|unhealthy|unavailable|unreachable|refused|degraded|forbidden|unauthori[sz]ed"
                r"|access[\s_-]?denied(?:exception)?|abort(?:ed|ing)?)(?![a-z0-9_]|\.[a-z0-9]|-[a-z])", NOCASE),
     "fail",
     ("error", "exception", "threw", "crash", "time", "unhealthy", "unavailable", "unreachable", "refused", "degraded",
      "forbidden", "unauthori", "access", "abort"), ()),
    (re.compile(r"(?<![a-z])(?:endpoint|service|api|server|site|backend|lambda|function|capabilit(?:y|ies)|routes?|mcp"
                r"|gateway|health[\s-]?checks?)\s+(?:(?:is|was|are|were|went|still|goes|going)\s+)?down(?![a-z-])", NOCASE), "fail",
     ("endpoint", "service", "api", "server", "site", "backend", "lambda", "function", "capabilit", "route", "mcp",
      "gateway", "health"), (("down",),)),
    # "KO" is a verdict only in capitals ("ko" is a syllable).
    (re.compile(r"(?<![A-Za-z0-9])KO(?![A-Za-z0-9])", re.A), "fail",
     ("ko",), ()),
    (re.compile("[" + _FAIL_MARKS + "]"), "fail",
     tuple(_FAIL_MARKS), ()),
    (re.compile("[" + _PASS_MARKS + "]"), "pass",
     tuple(_PASS_MARKS), ()),
    (re.compile(r"(?<![a-z])(?<![a-z]-)(?:pass|passed|passes|passing)(?![a-z]|-[a-z])", NOCASE), "pass",
     ("pass",), ()),
    (re.compile(r"(?<![a-z])(?:validation|validated|smoke[\s-]?tests?|health[\s-]?checks?|checks?|outcome|result)"
                r"""["'`]?\s*[:=]?\s*["'`]?\s*(?:(?:is|was|were|are)\s+)?(ok|okay|succeeded|successful|success|green)(?![a-z]|-[a-z])""",
                NOCASE), "pass",
     ("validat", "smoke", "health", "check", "outcome", "result"), (("ok", "succe", "green"),)),
]

SIGNALS: list[tuple[re.Pattern[str], str | None]] = [(p, kind) for p, kind, _, _ in _TABLE]
SIGNAL_HINTS: list[tuple[tuple[str, ...] | None, tuple[tuple[str, ...], ...]]] = [(s, r) for _, _, s, r in _TABLE]
GATE_WORDS = tuple(sorted({w for _, req in SIGNAL_HINTS for group in req for w in group}))
# Every literal a plan reads: the gate words and the literals matches start with. A start literal the text
# lacks is one ``finditer_at`` would look for and not find, so the plan leaves it out (and a pattern none of
# whose start literals occur can match nowhere): 27 patterns tried on the usual deploy line become 12.
LITERALS = tuple(sorted(set(GATE_WORDS) | {w for starts, _ in SIGNAL_HINTS if starts for w in starts}))

# Which LITERALS a text holds, asked of each piece between whitespace and digits rather than of the whole
# text: no literal holds whitespace, and the only ones with a digit are the one-character "0" and "2", so a
# literal occurs in the text exactly when it occurs in one piece (or is a digit the text holds). Worklogs
# repeat their words, and a commit or a time splits into pieces seen before ("d", "c", "t", ":", "."), so
# most pieces are remembered: 200 substring tests per text become a split and a few lookups. Text whose
# pieces are new (the first of their kind, or hostile) is asked as a whole after a few new pieces, so it
# never costs more than the plain test plus those few.
_DIGIT_LITERALS = tuple(w for w in LITERALS if any(c in "0123456789" for c in w))
_PIECE_LITERALS = tuple(w for w in LITERALS if w not in _DIGIT_LITERALS)
assert all(len(w) == 1 for w in _DIGIT_LITERALS), "a literal with a digit and more would span pieces"
assert not any(c.isspace() for w in LITERALS for c in w), "a literal with whitespace would span pieces"
_PIECES = re.compile(r"[\s0-9]+")
_PIECE_CACHE: dict[str, frozenset[str]] = {}
_PIECE_CACHE_MAX = 1 << 15
_NEW_PIECES_MAX = 8  # new pieces in one text before it is asked as a whole


def literals_in(low: str) -> frozenset[str]:
    """``frozenset(w for w in LITERALS if w in low)``, for ``low`` lowercased (``ascii_lower``)."""
    found: list[frozenset[str]] = []
    new = 0
    for piece in set(_PIECES.split(low)):
        have = _PIECE_CACHE.get(piece)
        if have is None:
            new += 1
            if new > _NEW_PIECES_MAX:
                return frozenset([w for w in LITERALS if w in low])
            if len(_PIECE_CACHE) >= _PIECE_CACHE_MAX:
                _PIECE_CACHE.clear()
            have = _PIECE_CACHE[piece] = frozenset([w for w in _PIECE_LITERALS if w in piece])
        found.append(have)
    return frozenset().union(*found, [w for w in _DIGIT_LITERALS if w in low])


_PLAN_ITEMS = [
    (pattern, kind, starts, tuple(frozenset(group) for group in requires))
    for (pattern, kind), (starts, requires) in zip(SIGNALS, SIGNAL_HINTS, strict=True)
]


@lru_cache(maxsize=4096)
def signal_plan(
    present: frozenset[str],
) -> tuple[tuple[re.Pattern[str], str | None, re.Pattern[str] | None], ...]:
    """The signals that can match text containing exactly ``present`` of LITERALS.

    Each as (pattern, kind, starts), ``starts`` cut to the literals ``present`` holds. Every signal with
    ``starts`` is tried only where one of its literals occurs (``finditer_at``): the patterns begin with
    a lookbehind, which ``re`` would otherwise try at every position of the text, once per pattern.

    Cheap enough to compute for every text: with this many literals, combinations rarely repeat.
    """
    plan = []
    for pattern, kind, starts, requires in _PLAN_ITEMS:
        if not all(not present.isdisjoint(group) for group in requires):
            continue
        if starts is not None:
            starts = tuple(w for w in starts if w in present)
            if not starts:
                continue
        plan.append((pattern, kind, starts))
    return tuple(plan)
