"""The fast paths of the evidence parser read exactly what running every pattern reads.

``compliance.judge.evidence`` skips a pattern when a literal the pattern needs is missing from
the text, and starts it where such a literal first occurs. These tests generate text from
fragments that mean something to the parser (in any letter case, glued together or apart)
and check that the shortcuts never change a result: first the claims the shortcuts rest on,
for every match of every pattern, then each fast function against a reference written here
that uses the same patterns with none of the shortcuts (every step runs, every pattern is
tried at every position). The parser itself has no slow twin to drift from the code it checks.
"""

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from compliance.judge import evidence as ev
from compliance.judge.evidence import claims, grammar, outcome, scan, shas, signals, timestamps
from tests.hypothesis_budget import examples

FRAGMENTS = [
    # outcome
    "state",
    "State",
    "STATE",
    "State=Active",
    "state: failed",
    "State = Pending",
    "Active",
    "Inactive",
    "Failed",
    "LastUpdateStatus",
    "LastUpdateStatus=Successful",
    "last update status: in progress",
    "last_update_status=InProgress",
    "Last-Update-Status",
    "status",
    "Status=",
    "status code: 503",
    "status_code=2xx",
    "HTTP 200",
    "HTTP/1.1 503",
    "http/2 404",
    "-> 503",
    "->200",
    "→ 200",
    "=> 5xx",
    "-> HTTP 301",
    "returned 200",
    "returns an HTTP 500",
    "got status 404",
    "responded with 204",
    "passed",
    "pass",
    "PASS",
    "passes",
    "passing",
    "pre-pass",
    "pass-through",
    "did not pass",
    "didn't pass",
    "doesn't succeed",
    "does not",
    "never",
    "not ",
    "n't",
    "was not ok",
    "unable to",
    "failed to",
    "cannot",
    "could not",
    "ok",
    "okay",
    "OK",
    "green",
    "succeeded",
    "success",
    "successful",
    "unsuccessful",
    "errored",
    "fail",
    "fails",
    "failing",
    "failure",
    "failures",
    "no failures",
    "0 failures",
    "zero failed tests",
    "without failures",
    "never failed",
    "did not fail",
    "failures=0",
    "failed: none",
    "rollback",
    "rollbacks",
    "rolled back",
    "rolling-back",
    "roll back",
    "rollback was not needed",
    "rolled back: false",
    "no smoke tests passed",
    "none passed",
    "passed=0",
    "passes: none",
    "validation",
    "Validation: passed",
    "validation=fail",
    "validated",
    "outcome",
    "result: ok",
    "smoke test",
    "smoke-tests",
    "health check",
    "health-checks are green",
    "checks",
    "check was successful",
    "is",
    "was",
    # whole matches, one for each literal a pattern may start with
    "outcome: failed",
    "result=pass",
    "does not fail",
    "doesn't fail",
    "not failed",
    "never fails",
    "zero checks passed",
    "0 passed",
    "without rollback",
    "validated ok",
    "validation successful",
    "smoke tests: OK",
    "outcome: success",
    "Result is green",
    # endpoint answers, error words, unsettled outcomes
    "GET /capabilities: 500",
    "GET .../capabilities 200",
    "POST ./x=503",
    "get /",
    "500 Internal Server Error",
    "200 OK",
    "204 no content",
    "503 Service Unavailable",
    "504 gateway time-out",
    "answered 503",
    "replied with HTTP 200",
    "capabilities: 502",
    "actual=500",
    "errors",
    "error",
    "errors: 3",
    "200 errors",
    "3 failures",
    "exception",
    "threw",
    "crashed",
    "timed out",
    "timeout",
    "time-outs",
    "timeout: 30s",
    "raised the Lambda timeout",
    "unhealthy",
    "unavailable",
    "refused",
    "endpoint down",
    "service is down",
    "down",
    "KO",
    "Ko",
    "\u274c",
    "\u2705",
    "\u2714",
    "reverted",
    "revert",
    "no revert",
    "no errors",
    "0 timeout errors",
    "errors: 0",
    "error rate: 0%",
    "error-free",
    "did not time out",
    "fixed the 500 error",
    "could not fix",
    "exception handling",
    "passed?",
    "passed? no",
    "ok? yes",
    "success: false",
    "passed: no",
    "ok=true",
    "validation: pending",
    "smoke tests skipped",
    "checks are still running",
    "capabilities check in progress",
    "validation: n/a",
    "tests skipped: 0",
    "pending validation",
    "without smoke tests",
    "retry pending",
    "pending re-run",
    "to be rerun",
    "will validate",
    "not healthy",
    "did not respond",
    "?",
    "3/5 passed",
    "4 of 4 checks ok",
    "passed 2 out of 3",
    "partially passed",
    "passed (except",
    "ok but not",
    "not 200",
    "non-2xx",
    "-> 200?",
    "200? no",
    "000",
    "degraded",
    "capabilities 404",
    "endpoint 200 OK",
    "probe check 503",
    "not yet validated",
    "hasn't been verified",
    "ok-ish",
    "passedish",
    "no response",
    "empty body",
    # shas
    "commit",
    "Commit ",
    "commit abc1234",
    "commit: 9febe19f1368",
    "commit_sha=",
    "sha ",
    "SHA:",
    "rev ",
    "revision #",
    "sha: deadbeef",
    "rev abc1234",
    "rev 20260301",
    "Revision: 20260301",
    "sha=12345678",
    "revision #0a1b2c3d",
    "commit-sha=ABCDEF1234",
    "abc1234",
    "ABCDEF1",
    "deadbeef",
    "9febe19f1368",
    "0123456789abcdef0123456789abcdef01234567",
    "0123456789abcdef0123456789abcdef012345678",
    "20260301",
    "20260301100000",
    "12345678",
    "550e8400-e29b-41d4-a716-446655440000",
    "1-5f84c7a1-2b3c4d5e6f7a8b9c0d1e2f3a",
    "abc-def-012",
    "a.b-c-d",
    "REQ-20260225T083102Z-a1b2c3",
    "req.20260301T100000Z",
    "arn:aws:lambda:us-west-2:123456789012:function:f",
    "ARN:AWS-CN:x:abcdef12",
    "arn:aws",
    # times
    "LastModified",
    "LastModified=",
    "last_modified: ",
    "Last-Modified",
    "function last modified",
    "FunctionLastModified",
    "LastModified=2026-02-25T08:29:47.000+0000",
    "function last modified: 2026-03-01 10:00",
    "function_lastmodified 2026-03-01T10:00:00Z",
    "last-modified was 2026-03-01T10:00:00Z",
    '"LastModified": "',
    "2026-03-01T10:00:00Z",
    "2026-03-01 10:00",
    "2026-03-01t10:00:00.123456789+05:30",
    "2026-02-25T08:29:47.000+0000",
    "2026-02-25 08:29:47 UTC",
    "12026-03-01T10:00",
    "2026-13-45T99:99",
    "20260301T100000Z",
    "T100000",
    # deploy
    "deployed",
    "Deployed",
    "redeployed",
    "not deployed",
    "not yet deployed",
    "never been deployed",
    "to be deployed",
    "will be redeployed",
    "won't be deployed",
    "deploy.sh",
    "deploy script",
    "api-mcp-backend-deploy",
    "deploy",
    # another environment ("devops" is none: the gate wants the word whole)
    "in staging",
    "on the dev",
    "against sandbox",
    " env",
    " stack",
    "dev",
    "devops",
    "dev-",
    "dev_",
    "preview",
    "Staging",
    # another function or region
    "us-west-2",
    "US-EAST-1",
    "us-gov-west-1",
    "region=eu-central-1",
    "devops-coordination-api",
    "devops-coordination-api-staging",
    "Devops-Coordination-API_gamma",
    # urls and punctuation
    "https://x.example/runs/1?status=failed",
    "http://ci/job/200",
    "://",
    "https",
    ": ",
    ":",
    "=",
    " = ",
    '"',
    "'",
    "`",
    "#",
    "-",
    "_",
    ".",
    ",",
    ";",
    "; ",
    "(",
    ")",
    "/",
    "0",
    "1",
    "5",
    "no",
    "none",
    "zero",
    "without",
    "x",
    "T",
    "t",
    "Z",
    "+0000",
    # unicode that case-folds to ASCII, or is non-ASCII whitespace or digits
    "\u212a",  # KELVIN SIGN
    "\u0130",  # I WITH DOT ABOVE: str.lower() makes two characters of it
    "\u017f",  # LONG S
    "\u00df",
    "\u00e9",
    "\u00a0",
    "\u0663",  # ARABIC-INDIC DIGIT THREE
    "\u2192",
]

SEPARATORS = ["", " ", "  ", "\n", "\t", "; ", ", ", "-", "_", "=", ":", "/", "."]


def _recase(fragment: str, how: int) -> str:
    return (fragment, fragment.upper(), fragment.lower(), fragment.title(), fragment.swapcase())[how]


fragment = st.builds(_recase, st.sampled_from(FRAGMENTS), st.integers(0, 4))
piece = st.one_of(fragment, fragment, fragment, st.sampled_from(SEPARATORS), st.text(max_size=4))
texts = st.lists(piece, max_size=16).map("".join)

DOMAIN = (
    "Deployed commit bf125277817b via api-mcp-backend-deploy; devops-coordination-api "
    "LastModified=2026-03-17T04:25:58.000+0000 State=Active LastUpdateStatus=Successful; "
    "GET /api/v1/coordination/capabilities -> 200"
)
EXAMPLES = [
    "validation passed in STAGING; smoke tests passed On The Sandbox",
    "",
    DOMAIN,
    DOMAIN.replace("Successful", "Failed"),
    "Implementation merged; deploy pending.",
    "no failures, validation passed, rollback was not needed",
    "commit 550e8400-e29b-41d4-a716-446655440000 at 20260301T100000Z, sha deadbeef0",
    "arn:aws:lambda:us-west-2:123456789012:function:f:abcdef12 returned HTTP/1.1 503",
    "see https://ci.example/runs/1?status=failed -> 200 (did not pass the smoke tests)",
    "LastModified was then 2026-03-01 10:00 UTC; \u0130 \u212a ok; State\u00a0=\u00a0Active",
]


def _every_match(pattern: re.Pattern[str], text: str):
    """Each match the pattern has at any position, not only those finditer reports."""
    for pos in range(len(text) + 1):
        m = pattern.match(text, pos)
        if m is not None:
            yield m

# ------------------------------------------------------------------- the reference reading
# The parser's steps with every shortcut removed: each pattern is searched everywhere, each
# masking step always runs. Only the patterns and the per-match rules are the parser's own.


def reference_mask(text: str) -> str:
    text = shas._ARN.sub(shas._blank, text)
    text = timestamps.TIMESTAMP.sub(shas._blank, text)
    return shas._COMPOUND.sub(shas._blank_compound, text)


def reference_shas(text: str) -> tuple[str, ...]:
    found = [(m.start(1), m.group(1).lower()) for m in shas._LABELLED_SHA.finditer(text)]
    for m in shas._HEX.finditer(reference_mask(text)):
        token = m.group(0)
        if token.isdigit() and len(token) in (8, 14) and shas._looks_like_date(token):
            continue
        found.append((m.start(), token.lower()))
    return tuple(dict.fromkeys(sha for _, sha in sorted(found)))


def reference_last_modified(text: str) -> tuple:
    found: dict = {}
    for label in timestamps._LM_LABELLED.finditer(text):
        m = timestamps.TIMESTAMP.match(text, label.end())
        dt = timestamps.timestamp_value(m) if m else None
        if dt is not None:
            found.setdefault(dt)
    if found:
        return tuple(found)
    mention = timestamps._LM_MENTION.search(text)
    if mention:
        for m in timestamps.TIMESTAMP.finditer(text, mention.end()):
            dt = timestamps.timestamp_value(m)
            if dt is not None:
                return (dt,)
    return ()


def reference_hits(text: str) -> list:
    text = outcome._URL.sub(outcome._blank_url, text)
    claimed = [False] * len(text)
    hits = []
    for pattern, kind in grammar.SIGNALS:
        for m in pattern.finditer(text):
            start, end = m.span()
            if any(claimed[start:end]):
                continue
            claimed[start:end] = [True] * (end - start)
            classified = outcome._classify(kind, m)
            if classified is not None:
                hits.append((start, *classified))
    hits.sort(key=lambda h: h[0])
    return hits


def reference_outcome(text: str) -> tuple:
    text = outcome._STRUCK.sub(" ", text)
    hits = reference_hits(text)
    plain = list(hits)
    m = outcome._ELSEWHERE.search(text)
    if m:
        hits = [*hits, (m.start(), m.group(0), signals.UNSETTLED)]
    shadow = outcome._canonical(text)
    if shadow != text:
        shadow_hits = reference_hits(shadow)
        hits += [hit for hit in shadow_hits if hit[2] in (signals.FAIL, signals.UNSETTLED)]
        hits += outcome.disguised_passes(text, plain, shadow_hits)
    details = tuple(dict.fromkeys(detail for _, detail, _ in hits))
    return outcome._decide({signal for _, _, signal in hits}), details


def reference_mentions_deploy(text: str) -> bool:
    return bool(claims._DEPLOY.search(claims._NOT_DEPLOYED.sub(" ", text)))


def reference_names_other_target(text: str, function: str, region: str | None) -> str | None:
    low = scan.ascii_lower(text)
    for m in re.finditer(re.escape(function.lower()) + r"([a-z0-9_-]*)", low):
        if m.group(1).strip("-_"):
            return text[m.start() : m.end()]
    segments = function.lower().split("-")
    stem = "-".join(segments[:2]) + "-"
    for m in re.finditer(r"(?<![a-z0-9_-])" + re.escape(stem) + r"[a-z0-9_-]*", low) if len(segments) >= 2 else ():
        token, name = m.group(0).rstrip("-_"), function.lower()
        if token != name and (not name.startswith(token) or (name.startswith(token + "-") and token.count("-") >= 2)):
            return text[m.start() : m.start() + len(token)]
    for m in claims._REGION.finditer(text) if region else ():
        if m.group(0).lower() != region.lower():
            return m.group(0)
    return None


def reference_parse(text: str) -> dict:
    found, details = reference_outcome(text)
    return {"shas": reference_shas(text), "last_modified": reference_last_modified(text), "outcome": found,
            "outcome_details": details, "mentions_deploy": reference_mentions_deploy(text)}


# ------------------------------------------------------------- the claims the shortcuts use


def _check_signal_claims(text: str) -> None:
    low = scan.ascii_lower(text)
    assert len(low) == len(text)
    for (pattern, _), (starts, requires) in zip(grammar.SIGNALS, grammar.SIGNAL_HINTS, strict=True):
        for m in _every_match(pattern, text):
            matched = low[m.start() : m.end()]
            if starts is not None:
                assert matched.startswith(starts), (pattern.pattern, m)
            for group in requires:
                assert any(w in matched for w in group), (pattern.pattern, m, group)


def _check_other_claims(text: str) -> None:
    low = scan.ascii_lower(text)
    for m in _every_match(shas._LABELLED_SHA, text):
        assert low.startswith(shas._LABELLED_SHA_STARTS, m.start())
    for pattern in (timestamps._LM_LABELLED, timestamps._LM_MENTION):
        for m in _every_match(pattern, text):
            assert low.startswith(timestamps._LM_STARTS, m.start())
            assert "modified" in low[m.start() : m.end()]
            assert low.find("last", m.start()) - m.start() <= 9
    for m in _every_match(timestamps.TIMESTAMP, text):
        assert shas._TS_HINT.match(text, m.start() + 4)
    for m in _every_match(shas._ARN, text):
        assert low.startswith("arn:aws", m.start())
    for m in _every_match(outcome._ELSEWHERE, text):
        assert any(w in low[m.start() : m.end()] for w in outcome._ELSEWHERE_WORDS)
        # the gate: one of the words, followed by no [a-z0-9_-], starts inside the match
        gate = outcome._ELSEWHERE_GATE.search(low, m.start())
        assert gate is not None and gate.start() < m.end(), (text, m)
    for m in _every_match(claims._REGION, text):
        gate = claims._REGION_GATE.search(low, m.start())
        assert gate is not None and gate.end() <= m.end(), (text, m)
    for m in _every_match(outcome._URL, text):
        assert "://" in m.group(0)
    for m in _every_match(claims._DEPLOY, text):
        assert "deploy" in low[m.start() : m.end()]
    for m in _every_match(claims._NOT_DEPLOYED, text):
        matched = low[m.start() : m.end()]
        assert "deployed" in matched
        assert any(w in matched for w in ("n't", "not", "never", "to", "will"))


@settings(max_examples=examples(1000), deadline=None)
@given(texts)
@example(DOMAIN)
def test_every_signal_match_starts_and_contains_its_hint_literals(text):
    _check_signal_claims(text)


@settings(max_examples=examples(500), deadline=None)
@given(texts)
def test_every_other_shortcut_claim_holds(text):
    _check_other_claims(text)


# Each fragment on its own, in every letter case: a fragment is often one whole match.
SINGLES = sorted({_recase(f, how) for f in FRAGMENTS for how in range(5)} | set(EXAMPLES))


def test_claims_and_results_on_every_fragment():
    for text in SINGLES:
        _check_signal_claims(text)
        _check_other_claims(text)
        assert ev.parse_text(text) == reference_parse(text), text


# ------------------------------------------------------------ fast path against reference


@settings(max_examples=examples(500), deadline=None)
@given(texts)
def test_fast_parse_reads_what_running_every_pattern_reads(text):
    assert ev.parse_text(text) == reference_parse(text)


@pytest.mark.parametrize("text", EXAMPLES)
def test_fast_parse_on_examples(text):
    reference = reference_parse(text)
    assert ev.parse_text(text) == reference
    assert ev.parse_text(text) == reference  # and again, from the caches


@settings(max_examples=examples(300), deadline=None)
@given(texts)
@example(DOMAIN)
def test_fast_pieces_match_their_reference(text):
    assert shas._mask_non_commits(text) == reference_mask(text)
    assert shas._blank_timestamps(text) == timestamps.TIMESTAMP.sub(shas._blank, text)
    assert [m.span() for m in shas._HEX_FAST.finditer(text)] == [m.span() for m in shas._HEX.finditer(text)]
    low = scan.ascii_lower(text)
    for (pattern, _), (starts, _) in zip(grammar.SIGNALS, grammar.SIGNAL_HINTS, strict=True):
        if starts is None:
            continue
        want = [m.span() for m in pattern.finditer(text)]
        assert [m.span() for m in scan.finditer_at(pattern, text, low, starts)] == want
        first = scan.first_index(low, starts)
        assert (first == -1 and not want) or [m.span() for m in pattern.finditer(text, first)] == want
    assert outcome._read_outcome(text) == reference_outcome(text)
    assert shas._find_shas(text) == reference_shas(text)
    assert timestamps.last_modified_in(text) == reference_last_modified(text)
    assert claims.mentions_deploy(text) == reference_mentions_deploy(text)
    for function, region in (("devops-coordination-api", "us-west-2"), ("Devops-Coordination-API", "US-WEST-2"),
                             ("devops-coordination-api", None), ("devops-coordination-api-gamma", None)):
        want = reference_names_other_target(text, function, region)
        assert claims.names_other_target(text, function, region) == want


def test_signal_plan_keeps_only_what_can_match():
    nothing = grammar.signal_plan(frozenset())
    kinds = [kind for _, kind, _ in nothing]
    assert "keyed_word" not in kinds and "lus" not in kinds  # both need ":" or "="
    everything = grammar.signal_plan(frozenset(grammar.LITERALS))
    assert [p for p, _, _ in everything] == [p for p, _ in grammar.SIGNALS]
    assert [starts for _, _, starts in everything] == [starts for starts, _ in grammar.SIGNAL_HINTS]
    # a start literal the text lacks is left out, and a pattern none of whose start literals it holds
    gates = frozenset(grammar.GATE_WORDS)
    without_starts = grammar.signal_plan(gates)
    assert all(starts is None or set(starts) <= gates for _, _, starts in without_starts)
    assert not any(starts == ("state",) for _, _, starts in without_starts)  # "state" is no gate word
    assert any(starts == ("state",) for _, _, starts in grammar.signal_plan(gates | {"state"}))


# The usual deploy line, and near misses of it that only a full reading tells apart: another environment
# behind a word the gate could mistake ("devops"), letters in another case or split across lines, and
# lookalike letters that only the second, canonical reading sees.
DEPLOY_LINE = ("Deployed commit 0d908c3321f1 via api-mcp-backend-deploy; devops-coordination-api "
               "LastModified=2025-10-14T05:33:22.000+0000 State=Active LastUpdateStatus=Successful; "
               "GET /api/v1/coordination/capabilities -> 200")
DEPLOY_LINE_LIES = [
    DEPLOY_LINE,
    DEPLOY_LINE + " (validated in dev)",
    DEPLOY_LINE + " on the DEV\tenvironment",
    DEPLOY_LINE.replace("devops-", "dev ops in dev\n"),
    DEPLOY_LINE.replace("State=Active", "STATE =\nfailed"),
    DEPLOY_LINE.replace("LastUpdateStatus=Successful", "last update\nstatus: in progress"),
    DEPLOY_LINE.replace("-> 200", "->\n503"),
    DEPLOY_LINE.replace("-> 200", "-> \uff15\uff10\uff10"),  # fullwidth 500
    DEPLOY_LINE.replace("Successful", "Succ\u0435ssful"),  # Cyrillic e: no pass, and no state pair either
    DEPLOY_LINE.replace("State=Active", "State=Act\u0456ve"),
    DEPLOY_LINE + "; f\u0430iled",  # Cyrillic a
    DEPLOY_LINE + "; KO",
    DEPLOY_LINE + "; ko",
]


@pytest.mark.parametrize("text", DEPLOY_LINE_LIES)
def test_deploy_line_and_its_lies_read_as_the_reference_reads_them(text):
    assert outcome._read_outcome(text) == reference_outcome(text)
    assert ev.parse_text(text) == reference_parse(text)


def test_the_deploy_line_lies_are_caught():
    """Not only equal to the reference: the lies do not read as the honest line's pass."""
    assert outcome._read_outcome(DEPLOY_LINE)[0] == signals.PASS
    # "ko" in lower case is a syllable, not a verdict; a lookalike letter in a state value is a disguised
    # pass statement, a lie that fails (tests/adversarial/test_disguised_status.py)
    still_pass = {DEPLOY_LINE + "; ko"}
    for text in DEPLOY_LINE_LIES[1:]:
        assert (outcome._read_outcome(text)[0] == signals.PASS) == (text in still_pass), text


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(st.one_of(fragment, st.sampled_from(SEPARATORS)), max_size=6).map("".join),
       st.integers(0, len(DEPLOY_LINE)))
def test_the_deploy_line_with_anything_inserted_reads_as_the_reference(insert, at):
    text = DEPLOY_LINE[:at] + insert + DEPLOY_LINE[at:]
    assert outcome._read_outcome(text) == reference_outcome(text)


def _literals_reference(low: str) -> frozenset:
    return frozenset(w for w in grammar.LITERALS if w in low)


@settings(max_examples=examples(500), deadline=None)
@given(texts, st.booleans())
@example(DEPLOY_LINE, False)
def test_literals_by_piece_are_the_literals_of_the_text(text, cold):
    """Pieces remembered from earlier texts, or none at all: the same literals as testing the whole text."""
    if cold:
        grammar._PIECE_CACHE.clear()
    low = scan.ascii_lower(text)
    assert grammar.literals_in(low) == _literals_reference(low)
    assert grammar.literals_in(low) == _literals_reference(low)  # and again, every piece remembered


def test_literals_of_a_text_of_new_pieces_are_read_from_the_whole_text():
    """A text past the bound of new pieces (hostile, or the first of its kind) is asked as a whole; literals
    split by digits or spaces ("fa1l", "pas s") are in no piece and are not found, as in the whole text."""
    grammar._PIECE_CACHE.clear()
    words = [f"zq{i}xw{chr(97 + i)}" for i in range(grammar._NEW_PIECES_MAX + 3)]
    low = scan.ascii_lower(" ".join(words) + " state=active 5o0 fa1l pas s n't ->200 \u2192 \u274c")
    assert grammar.literals_in(low) == _literals_reference(low)
    assert {"state", "->", "0", "2", "n't", "\u274c"} <= grammar.literals_in(low)
    assert "fail" not in grammar.literals_in(low) and "pass" not in grammar.literals_in(low)


_ASCII_TABLE = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@settings(max_examples=examples(300), deadline=None)
@given(st.one_of(st.text(), st.text(alphabet=st.sampled_from("AZaz\u00c9\u0130\u212a\u2014\ud800\udfff\U0001f600\x00"))))
def test_ascii_lowering_changes_only_ascii_letters_index_for_index(text):
    """``ascii_lower`` lowers a non-ASCII text's UTF-8 bytes: what a table of the 26 letters gives, lone
    surrogates and all, and never another length (the scanners index the text by the lowered copy)."""
    low = scan.ascii_lower(text)
    assert low == text.translate(_ASCII_TABLE) and len(low) == len(text)
