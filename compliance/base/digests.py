"""The Lambda artifact's identity as AWS prints it: ``CodeSha256`` (base64 of a SHA-256) and ``RevisionId``.

One definition for every reader (the job log of a run, worklog text, the function's own
configuration), so a value one of them accepts is never refused by another. Matching is ASCII
only and whole-value: a lookalike letter (a Cyrillic "а" for "a") or a trailing newline makes a
value that is not a digest, never one that equals the live code.
"""

from __future__ import annotations

import re

_B64 = r"[A-Za-z0-9+/]{43}="  # 32 bytes in base64: 43 characters and one "=" of padding
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_CODE_VALUE = re.compile(_B64, re.A)
_REVISION_VALUE = re.compile(_UUID, re.A)
# A labelled value: ``CodeSha256=<b64>`` or ``"CodeSha256": "<b64>"``; the value must end where the
# base64 alphabet does, so 44 characters cut out of a longer run are not read as a digest.
CODE_SHA256_LABELLED = re.compile(
    r"(?<![A-Za-z0-9])code[_-]?sha256[\"'`]?\s*[:=]\s*[\"'`]?(" + _B64 + r")(?![A-Za-z0-9+/=])", re.I | re.A)
REVISION_ID_LABELLED = re.compile(
    r"(?<![A-Za-z0-9])revision[_-]?id[\"'`]?\s*[:=]\s*[\"'`]?(" + _UUID + r")(?![0-9A-Za-z-])", re.I | re.A)


def is_code_sha256(value: object) -> bool:
    """Whether ``value`` is exactly one CodeSha256 as AWS reports it (no whitespace around it)."""
    return isinstance(value, str) and _CODE_VALUE.fullmatch(value) is not None


def is_revision_id(value: object) -> bool:
    """Whether ``value`` is exactly one RevisionId (a lowercase UUID, as Lambda returns it)."""
    return isinstance(value, str) and _REVISION_VALUE.fullmatch(value) is not None


def code_sha256_in(text: str) -> tuple[str, ...]:
    """Every labelled CodeSha256 the text states, each once, in the order of its last mention (so the
    last item is the value printed last, what a deploy log left live)."""
    if not isinstance(text, str) or "sha256" not in text.lower():
        return ()
    return _last_order(m.group(1) for m in CODE_SHA256_LABELLED.finditer(text))


def revision_id_in(text: str) -> tuple[str, ...]:
    """Every labelled RevisionId the text states, each once, in the order of its last mention."""
    if not isinstance(text, str) or "revision" not in text.lower():
        return ()
    return _last_order(m.group(1) for m in REVISION_ID_LABELLED.finditer(text))


def _last_order(values) -> tuple[str, ...]:
    return tuple(reversed(dict.fromkeys(reversed(list(values)))))
