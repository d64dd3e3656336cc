"""Secret redaction applied to every message that leaves a source.

Tokens and keys must never reach logs, snapshots or reports. Known secret values from
the environment are masked wherever they appear, and common token shapes are masked too.
This module masks text; ``redact_doc`` applies it to whole JSON-like documents (snapshots, reports).
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterator
from urllib.parse import quote

from compliance.base.console import INVISIBLE_RE as _HIDDEN

SECRET_ENV = (
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ACCESS_KEY_ID",
    "COORDINATION_INTERNAL_API_KEY",
    "GITHUB_APP_PRIVATE_KEY",  # a GitHub App's PEM key (sources/github_app.py); the PEM shape is masked too
)
# Secret values learnt while running, masked like those above: a GitHub App's installation token and a
# private key read from GITHUB_APP_PRIVATE_KEY_PATH (``remember_secret``)
_LEARNT: set[str] = set()
# Secret *names*: a value assigned to one of these (``NAME=value``, ``"Name": "value"``, ``Name: value``)
# is masked, the name kept. Contextual on purpose: a bare 40-character string may be a git SHA and a
# 44-character one ending in '=' a CodeSha256, both of which reports must keep.
_SECRET_NAMES = (
    r"secret[_-]?access[_-]?key|session[_-]?token|security[_-]?token|access[_-]?token|auth[_-]?token"
    r"|refresh[_-]?token|id[_-]?token|api[_-]?key|internal[_-]?key|client[_-]?secret|private[_-]?key"
    r"|password|passwd|[_-]token|[_-]secret"
)
# Between a name and its value: an optional closing quote of the key, ':' or '=', an optional opening
# quote. ``\\?`` and ``\\t`` let the same expression find them in JSON-escaped text (``TextScan``).
_SEP = r"\\?[\"']?(?:[ \t]|\\t)*[:=](?:[ \t]|\\t)*(?:\\?[\"'])?"
_SEP_OPEN = r"\\?[\"']?(?:[ \t]|\\t)*[:=](?:[ \t]|\\t)*"  # _SEP up to the value's opening quote
_PEM_BEGIN = r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"  # RSA, EC, OPENSSH, ENCRYPTED, PGP ...
_PEM_END = r"-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
# A named value: not a reference such as ${{ secrets.X }}, $VAR or <placeholder>, which names a secret
# ('\/' too: some JSON encoders escape '/', which base64 secrets are full of)
_VALUE = r"(?![$%{<(])(?:[^\s\"'\\,;&<>]|\\{1,2}/){6,}"
# A URL's ``user:password`` (before ``@``): one expression for the shape and its pre-test, which cannot drift apart
_USERINFO = r"[^\s/@:\"'\\]+:[^\s/@\"'\\]+"
_SHAPES = re.compile(
    # a quoted value runs to its closing quote, spaces and all (a passphrase: "correct horse battery staple")
    rf"(?P<qname>(?i:{_SECRET_NAMES}){_SEP_OPEN}(?P<q>\\?[\"']))(?P<qvalue>(?![$%{{<(])[^\"'\r\n]{{6,}}?)(?=(?P=q))"
    rf"|(?P<name>(?i:{_SECRET_NAMES}){_SEP})(?P<value>{_VALUE})"
    # an HTTP Authorization header (Bearer, token, Basic, AWS4-HMAC-SHA256 ...): the rest of the line
    rf"|(?P<header>(?i:authorization){_SEP})(?P<credentials>[^\r\n\"\\]{{4,}})"
    rf"|{_PEM_BEGIN}.*?(?:{_PEM_END}|\Z)"
    # an access key id, and the 40-character secret key right after it (credentials files, "id:secret")
    r"|(?:AKIA|ASIA)[A-Z0-9]{16}(?:[:,/ \t]+[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=]))?"
    r"|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"
    # a JWT (header.payload.signature, both JSON parts base64url of '{"'), a Slack token or webhook URL
    r"|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"
    r"|xox[abprs]-[A-Za-z0-9-]{10,}|(?<=hooks\.slack\.com/)(?:services|workflows|triggers)/[A-Za-z0-9/_-]{8,}"
    # STS session tokens ("FwoGZXIvYXdz..." is base64 of AWS's token header; newer ones begin "IQoJb3JpZ2lu")
    r"|(?:FwoGZXIvYXdz|IQoJb3JpZ2lu)(?:[A-Za-z0-9/+=]|%2[FfBb]|%3[Dd]){16,}"  # percent-encoded in a URL too
    # the password of a URL's userinfo (https://user:password@host)
    rf"|(?<=://){_USERINFO}(?=@)"
    # an environment variable's name, a space and its value (``env`` output without '=', a pasted
    # "AWS_SECRET_ACCESS_KEY wJalr..."): upper-case names only, and a long value, so prose stays readable
    r"|(?P<ename>(?<![A-Za-z0-9_])[A-Z0-9_]*(?:SECRET_ACCESS_KEY|SESSION_TOKEN|SECURITY_TOKEN|ACCESS_TOKEN|AUTH_TOKEN"
    r"|API_KEY|INTERNAL_KEY|CLIENT_SECRET|PRIVATE_KEY|PASSWORD|_TOKEN|_SECRET)[ \t]+)"
    r"(?P<evalue>(?![$%{<(])[^\s\"'\\,;&<>]{16,})",
    re.DOTALL,
)
# Cheap pre-test for ``_SHAPES``: every match holds one of these words (case-insensitively) or is a
# URL's password. Substring tests are tens of times faster than the expression, run only where they hit.
_HINT_WORDS = ("secret", "token", "passw", "key", "authorization", "akia", "asia", "ghp_", "gho_", "ghu_",
               "ghs_", "ghr_", "github_pat_", "fwogzxivyxdz", "iqojb3jpz2lu", "eyj", "xox", "hooks.slack")
# The URL alternative of ``_SHAPES``, look-arounds made literal: it matches exactly where that one does. Any
# ``://`` and ``@`` was the test before: a report's JSON (run URLs, e-mail addresses) then hit in every batch.
_URL_PASSWORD = re.compile(rf"://{_USERINFO}@")
# The same words searched faster: the five GitHub token prefixes as one expression (its literal "gh" is
# rare in text, where each word's own search paid for every '_' of a JSON key), the others one by one.
_HINT_GH = re.compile("gh[pousr]_")
_HINT_PLAIN = tuple(w for w in _HINT_WORDS if _HINT_GH.fullmatch(w) is None)


# Letters Python's case-insensitive matching takes for ASCII ones that ``str.lower`` leaves alone (or makes two
# characters of): LONG S matches "s", DOTLESS I and CAPITAL I WITH DOT match "i" in ``_SHAPES``' names, so
# "pa\u017f\u017fword=..." is a shape. (KELVIN SIGN lowers to "k" already.) Folded before the hint words are
# looked for, one character for one, or the pre-tests skip what the expression masks.
_FOLD = (("\u017f", "s"), ("\u0131", "i"), ("\u0130", "i"))


def hint_lower(text: str) -> str:
    """``text`` lowered for the hint words: ``str.lower``, with the letters above folded as ``_SHAPES`` folds them.

    Folded by ``str.replace``, one letter at a time and only when present: ``str.translate`` looks every character
    up in its table (15 ms for 250,000 characters of non-ASCII text, against 0.16 ms), and the snapshot scan
    lowers each 256 KB batch of a snapshot holding any non-ASCII character (the demo's does) twice."""
    if text.isascii():
        return text.lower()
    for letter, ascii_letter in _FOLD:
        if letter in text:
            text = text.replace(letter, ascii_letter)
    return text.lower()


def _hinted(low: str) -> bool:
    """Whether lowered text holds a hint word. A plain loop, not ``any()`` over a generator: called for
    every string a report masks, and on short strings (SHAs, paths, times) the generator's frame was
    most of the cost (measured: 1,255 -> 712 ns a string; the same on long text, where ``in`` dominates)."""
    for word in _HINT_PLAIN:
        if word in low:
            return True
    return _HINT_GH.search(low) is not None


def _hint_positions(low: str) -> Iterator[int]:
    """Where each hint word starts in lowered text (a word found twice: each time)."""
    for word in _HINT_PLAIN:
        at = low.find(word)
        while at >= 0:
            yield at
            at = low.find(word, at + 1)
    yield from (m.start() for m in _HINT_GH.finditer(low))


def _may_hold_shape(text: str) -> bool:
    return _hinted(hint_lower(text)) or ("://" in text and _URL_PASSWORD.search(text) is not None)


MASK = "***"
ELLIPSIS = "\u2026"
_SURROGATE = re.compile("[\ud800-\udfff]")


def _secrets() -> tuple[str, ...]:
    """Secret values in the environment now (read per call, so a changed environment is honoured),
    longest first, so masking one never leaves part of another that contains it."""
    values = {v for v in (os.environ.get(name) for name in SECRET_ENV) if v and len(v) >= 4}
    return _with_encodings(frozenset(values | _LEARNT))


def remember_secret(value: str | None) -> None:
    """Mask ``value`` from now on wherever it appears, as an environment secret is (too short: ignored)."""
    if value and len(value) >= 4:
        _LEARNT.add(value)


def forget_secrets() -> None:
    """Forget what ``remember_secret`` learnt. A process runs one check and ends, so only a process that
    runs many in turn needs this (the test suite, between modules): each learnt value adds about four
    forms that every later ``redact`` call searches for (one worker had learnt 173, 704 forms)."""
    _LEARNT.clear()


@functools.lru_cache(maxsize=8)
def _with_encodings(values: frozenset[str]) -> tuple[str, ...]:
    """Each value and the forms it takes inside other text: percent-encoded (a query string, a
    presigned URL) and JSON-escaped (a JSON document held in a string, ``\\/`` included), longest first.
    An AWS secret key is full of '/' and '+', so its URL form shares no 40-character run with it.

    Each form of ``HEAD + 4`` characters or more also gives its first ``HEAD`` characters, a secret of its
    own (``_HEADS``): a server echoing the start of a token ("token ghs_pr00pr00pr00 revoked") must not
    print what the whole value would not, and ``redact`` masks such a head with all that follows it of
    the value. Every test that asks "does this text hold a known secret" then finds heads alike."""
    forms = set(values)
    for v in _seen_parts(values):
        escaped = json.dumps(v, ensure_ascii=False)[1:-1]
        forms.update((v, quote(v, safe=""), quote(v), escaped, escaped.replace("/", "\\/")))
    heads = set()
    # a PEM key's first characters are its public armour ("-----BEGIN"): as a head they masked the armour of
    # any other key first, and the PEM shape then missed that key and showed its body (probe 21)
    for form in [f for f in forms if len(f) >= HEAD + 4 and not f.startswith("-----")]:
        heads.add(form[:HEAD])
        _HEADS.setdefault(form[:HEAD], set()).add(form)
    return tuple(sorted(forms | heads, key=len, reverse=True))


def _seen_parts(values: frozenset[str]) -> set[str]:
    """Each value and what a reader may be shown of it: the value without its invisible characters
    (``abc\u200bdef`` reads as ``abcdef``, which is what the text stripped of them holds) and without the
    blank around it (a key read from a file keeps its final newline; the text the key is pasted into does
    not), each of 4 characters or more, as a value must be. A value of several lines is not split into its
    lines: a line of 8 characters ("password") would then be masked in every text, and a bundle of many
    lines made thousands of forms (probe 21); the PEM key, the one such secret named, has a shape of its own."""
    out = set()
    for v in values:
        for form in {v, _HIDDEN.sub("", v)}:
            for part in (form, form.strip()):
                if len(part) >= 4:
                    out.add(part)
    return out


HEAD = 8  # the shortest start of a known secret masked on its own (a GitHub token's type and 4 of its characters)
_HEADS: dict[str, set[str]] = {}  # head -> the known values (and forms) it begins


def _mask_known(text: str, value: str) -> str:
    """``value`` masked in ``text``; a head (``_HEADS``) masked with as much of its secret as follows it."""
    whole = _HEADS.get(value)
    if not whole:
        return text.replace(value, MASK)
    out, at = [], 0
    while (hit := text.find(value, at)) >= 0:
        end = hit + max(_common(text, hit, form) for form in whole)
        out += [text[at:hit], MASK]
        at = end
    return "".join(out) + text[at:]


def _common(text: str, at: int, form: str) -> int:
    """How many characters of ``form`` ``text`` holds from ``at`` on."""
    n = 0
    for a, b in zip(text[at:at + len(form)], form, strict=False):  # the text may end first
        if a != b:
            break
        n += 1
    return n


def _mask_match(m: re.Match[str]) -> str:
    """The mask for one shape: a named value keeps its name (``aws_secret_access_key=***``)."""
    if m.group("qvalue") is not None:
        return m.group("qname") + MASK
    if m.group("evalue") is not None:
        return m.group("ename") + MASK
    if m.group("value") is not None:
        return m.group("name") + MASK
    if m.group("credentials") is not None:
        return m.group("header") + MASK
    return MASK


def _mask_shapes(text: str) -> str:
    """``_SHAPES.sub(_mask_match, text)``, the expression run only on the lines a pre-test hits.

    The expression reads about half a microsecond per character, and a file's text (a workflow, a deploy script,
    a runbook, a deploy log) has a hint word on a few of its lines. No shape but a PEM key runs past a line
    end: every other one stops at whitespace, a quote or a line end, and its look-arounds (``://`` before,
    ``@`` or a quote after, no letter before an environment name) read the line end as they read the end of
    the text. Every match holds a hint word or a URL's password (``_may_hold_shape``), so the lines that fail
    the pre-test are left as they were, as the expression leaves them. A text that may hold a PEM key is
    masked whole. Measured (best of 5): the demo's deploy script 1.45 -> 0.24 ms, the project's README 56 -> 6.7 ms."""
    if "\n" not in text or "-----BEGIN" in text:
        return _SHAPES.sub(_mask_match, text)
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if _may_hold_shape(line):
            lines[i] = _SHAPES.sub(_mask_match, line)
    return "\n".join(lines)


def redact(text: str | None, secrets: tuple[str, ...] | None = None) -> str:
    """Environment secret values (``secrets``: those to mask instead, longest first) and secret shapes masked."""
    if not text:
        return text or ""
    original = text
    for value in _secrets() if secrets is None else secrets:
        if value in text:
            text = _mask_known(text, value)
    text = _mask_shapes(text) if _may_hold_shape(text) else text
    if (not original.isascii() or _ASCII_HIDDEN.search(original)) and _HIDDEN.search(original):
        # ``ghp_abc\u200bdef...``: an invisible character hides a token from every shape, and any
        # reader that drops it (a renderer, a terminal, a copy-paste) gets the whole token back.
        # Masked here, at the source, every output agrees; the hidden characters go with the token.
        # The text as read is stripped, not the text masked above: a known secret split by one
        # (``wJalrXUtnFEMI\u200b/K7MDENG...``) had its head masked above, and the rest stripped of
        # the masked head no longer read as the secret (27 of its 40 characters were shown; probe 20).
        # Then with terminal sequences taken out whole (``ESC [0m``, ``ESC ]8;;BEL``): only their ESC is hidden,
        # and the rest of one would still split the token for every shape (found by a hostile probe).
        for stripped in dict.fromkeys((_HIDDEN.sub("", original), _unhidden(original))):
            masked = redact(stripped, secrets)
            if masked != stripped:
                return masked
    return text


def _unhidden(text: str) -> str:
    """``text`` without terminal sequences and hidden characters: what a screen shows of it."""
    if text.isascii() and not _ASCII_HIDDEN.search(text):
        return text
    return _HIDDEN.sub("", _TERMINAL_SEQUENCE.sub("", text))


# ECMA-48 control sequences (CSI ``ESC [ ... final``, OSC ``ESC ] ... BEL or ESC \``) and two-character escapes:
# what a terminal consumes without showing, so what they split reads joined on screen.
_TERMINAL_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"  # CSI, 7- and 8-bit
    r"|(?:\x1b[\]PX^_]|[\x9d\x90\x98\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c|$)"  # OSC, DCS, SOS, PM, APC
    r"|\x1b[ -/]*[0-~]")  # other escapes, with intermediates (``ESC ( B``, ``ESC # 8``)
# Invisible characters that can split a token are the console's class (``_HIDDEN``, tab/newline/CR
# excepted); this is its ASCII part, a cheap first test for the common all-ASCII text.
_ASCII_HIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# The same in JSON text: raw, or as the escapes json writes for control characters.
_HIDDEN_JSON = re.compile(_HIDDEN.pattern + r"|\\u00[0-9a-fA-F]{2}|\\[bf]")


def clip(text: str | None, limit: int, secrets: tuple[str, ...] | None = None) -> str:
    """``text`` masked, *then* cut to ``limit`` characters (an ellipsis marking the cut).

    Cutting first would leave the head of a token that straddles the cut, which no shape then
    recognises (the first 20 characters of a GitHub token, an access key id's first 12...).
    """
    masked = redact(text, secrets)
    if len(masked) <= limit:
        return masked
    return masked[: max(0, limit - 1)] + ELLIPSIS


def strip_hidden(pattern: re.Pattern[str], text: str) -> str:
    """``text`` without the characters ``pattern`` finds (a renderer's invisible class), masked again when
    any were removed: ``ghp_abc\u200bdef...`` hides from every shape, and stripping the zero-width
    space would otherwise rejoin a whole token in the rendered report."""
    stripped = pattern.sub("", text)
    return redact(stripped) if len(stripped) != len(text) else stripped


class LineRedactor:
    """``redact`` for a stream read line by line (a deploy script's output): it remembers being inside
    a PEM private key, whose base64 body lines look like nothing on their own."""

    def __init__(self) -> None:
        self.in_key = False

    def __call__(self, line: str, secrets: tuple[str, ...] | None = None) -> str:
        # the markers are looked for with hidden characters and terminal sequences taken out: a header split by
        # one (``-----BEGIN RSA PRI\u200bVATE KEY-----``) still opens the key (found by a hostile probe)
        plain = _unhidden(line)
        if plain != line:
            if self.in_key or re.search(_PEM_BEGIN, plain) or re.search(_PEM_END, plain):
                line = plain
        out = []
        while True:
            if self.in_key:
                end = re.search(_PEM_END, line)
                if end is None:
                    return "".join(out) + MASK
                self.in_key = False
                out.append(MASK)
                line = line[end.end():]
                continue  # the rest of the line may open another key (``cat a.pem b.pem``)
            begin = re.search(_PEM_BEGIN, line)
            if begin is None:
                return "".join(out) + redact(line, secrets)
            out.append(redact(line[: begin.start()], secrets))
            self.in_key = True
            line = line[begin.end():]
