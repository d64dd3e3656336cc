"""Masking of whole JSON-like documents: every string (values and keys) through ``redact.redact``.

A snapshot or report document holds millions of values at 100,000 commits, and almost none needs
masking, so ``redact_data`` first asks whether anything would change (``_anything_to_mask``, a walk of the
distinct strings with batched substring pre-tests) and walks the document to mask it only when so. A
document masked once is marked ``Masked`` and never walked again.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import json
import re
from collections.abc import Iterable
from typing import Any

from compliance.base.redact import (
    _ASCII_HIDDEN,
    _HIDDEN,
    _SECRET_NAMES,
    _SURROGATE,
    _URL_PASSWORD,
    _VALUE,
    MASK,
    _hint_positions,
    _hinted,
    _may_hold_shape,
    _secrets,
    hint_lower,
    redact,
)


def redact_data(value: Any) -> Any:
    """``redact`` applied to every string of a JSON-like document (keys kept: they name fields, not values).

    Collected data is the user's own system's text (worklogs, commit messages, probe bodies), and
    people paste tokens into it; reports and snapshots are shared more widely than that system.
    Every string bound for a file passes here, so lone surrogates (JSON may carry half an emoji)
    become U+FFFD too: UTF-8 cannot encode them and a whole report would fail over one character.
    """
    if isinstance(value, Masked):
        return value
    secrets = _secrets()
    if not _anything_to_mask(value, secrets):
        return Masked(value) if isinstance(value, dict) else value
    return mask_walk(value, secrets)


def mask_walk(value: Any, secrets: tuple[str, ...] | None = None) -> Any:
    """``redact_data`` without the quick check: every string visited (for a document known to need it)."""
    walked = _walk(value, _secrets() if secrets is None else secrets)
    return Masked(walked) if isinstance(walked, dict) else walked


class Masked(dict):
    """A document ``redact_data`` has already masked: masking it again returns it as it is, so a
    report masked once for the CLI is not walked again for every format. It is the data and
    nothing else (no attributes): a copy of it is as masked as it is."""

    __slots__ = ()


_ENCODE = json.JSONEncoder(ensure_ascii=False).encode


def _anything_to_mask(value: Any, secrets: tuple[str, ...]) -> bool:
    """Whether ``mask_walk`` would change ``value``: a string (a value or a key) holding a secret, a token
    shape, a hidden character or a lone surrogate, or an entry whose key names a secret.

    The document is walked once for its strings (no JSON encoding: that was most of the cost), the
    distinct strings met are tested a few tens of thousands at a time (a report repeats its titles
    and rule ids on every finding), joined into batches that substring tests clear wholesale; only the
    strings a pre-test hit lands in are searched with the shape expressions, which cost about a
    microsecond per character. Every test is on each string alone, as masking is, so no hit is lost
    between strings, and the strings held at a time are bounded, not the document's.
    """
    try:
        return _strings_dirty(value, secrets)
    except _NeedsWalk:
        return True


class _NeedsWalk(Exception):
    """A value the quick check cannot vouch for (not plain JSON data), or something found to mask."""


_PLAIN = frozenset({int, float, bool, type(None)})
_SHOWN_ASCII = bytes([9, 10, 13, *range(32, 127)])  # ASCII that is not ``_ASCII_HIDDEN``
_SCAN_BATCH = 1 << 20  # characters of strings joined for one round of substring tests
_HELD = 1 << 17  # distinct strings held before they are tested (and let go)


def _strings_dirty(value: Any, secrets: tuple[str, ...]) -> bool:
    """``_anything_to_mask`` of plain data; raises ``_NeedsWalk`` for anything else.

    The loop is the whole cost of the check at 100,000 commits (a few million values), hence exact type
    tests first and isinstance only after. Recursive as ``mask_walk`` is: a document too deep for it
    (or holding itself) raises ``RecursionError``, which sends it to that walk, as JSON encoding did."""
    found: set[str] = set()
    keys: set[Any] = set()
    add, push = found.add, keys.update

    def gather(v: Any) -> None:
        if isinstance(v, dict):
            push(v)
            v = v.values()
        for x in v:
            t = type(x)
            if t is str:
                add(x)
            elif t is dict or t is list:
                gather(x)
            elif t not in _PLAIN:
                if isinstance(x, str):
                    add(x)
                elif isinstance(x, (dict, list, tuple)):
                    gather(x)
                elif not isinstance(x, (int, float)):
                    raise _NeedsWalk  # json would not write it (or would through a default): not vouched for
        if len(found) > _HELD:
            if _any_dirty(list(found), secrets):
                raise _NeedsWalk  # found: the walk masks it
            found.clear()

    try:
        gather([value])
    except RecursionError:
        raise _NeedsWalk from None
    if any(isinstance(k, str) and _secret_key(k) for k in keys) and _has_secret_entry(value):
        return True
    found.update(k for k in keys if isinstance(k, str))
    return _any_dirty(list(found), secrets)


def _has_secret_entry(value: Any) -> bool:
    """Whether some mapping in ``value`` holds an entry ``_secret_entry`` masks (only run when a key of
    the document names a secret at all, which a report's keys never do)."""
    stack, seen = [value], set()
    while stack:
        v = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        if isinstance(v, dict):
            if any(_secret_entry(k, x) for k, x in v.items()):
                return True
            v = v.values()
        stack.extend(x for x in v if isinstance(x, (dict, list, tuple)))
    return False


def _any_dirty(strings: list[str], secrets: tuple[str, ...]) -> bool:
    """Whether masking changes any of ``strings``, tested a batch at a time (see ``_anything_to_mask``)."""
    batch: list[str] = []
    size = 0
    for s in strings:
        batch.append(s)
        size += len(s) + 1
        if size >= _SCAN_BATCH:
            if _batch_dirty(batch, secrets):
                return True
            batch, size = [], 0
    return _batch_dirty(batch, secrets)


def _batch_dirty(batch: list[str], secrets: tuple[str, ...]) -> bool:
    """The strings of ``batch`` joined by newlines (a newline is neither hidden nor part of any
    pre-test's match) and cleared by the substring tests, or searched one by one where a test hit."""
    text = "\n".join(batch)
    ascii_text = text.isascii()
    low = hint_lower(text)
    hits = _hinted(low)
    urls = "://" in text and _URL_PASSWORD.search(text) is not None
    odd = not ascii_text and _SURROGATE.search(text) is not None
    if ascii_text:  # deleting what may show leaves the control characters, far faster than a search
        hidden = bool(text.encode("ascii").translate(None, _SHOWN_ASCII))
    else:
        hidden = _HIDDEN.search(text) is not None
    known = [v for v in secrets if v in text]
    if not (hits or urls or odd or hidden or known):
        return False
    if urls or odd or hidden or known or len(low) != len(text):
        suspects: Iterable[str] = (s for s in batch if _may_hold(s, secrets))
    else:  # only hint words: the strings they sit in, found by position (lowering kept every length)
        ends = list(itertools.accumulate(len(s) + 1 for s in batch))
        suspects = (batch[i] for i in sorted({bisect.bisect_right(ends, at) for at in _hint_positions(low)}))
    return any(_SURROGATE.sub("\ufffd", redact(s, secrets)) != s for s in suspects)


def _may_hold(text: str, secrets: tuple[str, ...]) -> bool:
    """``redact`` may change ``text`` (a pre-test: never False where it does)."""
    if _may_hold_shape(text) or any(v in text for v in secrets):
        return True
    if text.isascii():
        return _ASCII_HIDDEN.search(text) is not None
    return _SURROGATE.search(text) is not None or _HIDDEN.search(text) is not None


_SECRET_KEY = re.compile(rf"(?i:{_SECRET_NAMES}|^authorization)$")  # a parsed header is a key too
_VALUE_START = re.compile(_VALUE)


def _secret_entry(key: Any, value: Any) -> bool:
    """A mapping entry holding a secret by its key (``{"SecretAccessKey": "..."}`` in parsed JSON): the
    value alone has no shape, but its JSON text matches ``_SHAPES``, so the quick check and the walk agree."""
    return isinstance(value, str) and isinstance(key, str) and _secret_key(key) and _VALUE_START.match(value) is not None


@functools.lru_cache(maxsize=4096)
def _secret_key(key: str) -> bool:
    """Cached: a document repeats a few key names hundreds of thousands of times. Read as a renderer shows
    it, without invisible characters: ``{"pass\x7fword": "hunter2hunter2"}`` reads as a password's entry."""
    return _SECRET_KEY.search(_HIDDEN.sub("", key)) is not None


def _walk(value: Any, secrets: tuple[str, ...], keys: dict[Any, Any] | None = None) -> Any:
    """One environment read per document, not per string: documents hold hundreds of thousands.

    Keys are masked too (a mapping keyed by collected text would carry a token into every report);
    ``keys`` remembers each key's mask, as a document repeats a few key names on every record."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", redact(value, secrets))
    if isinstance(value, dict):
        keys = {} if keys is None else keys
        return {_key(k, secrets, keys): MASK if _secret_entry(k, v) else _walk(v, secrets, keys)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_walk(v, secrets, keys) for v in value]
    return value


def _key(key: Any, secrets: tuple[str, ...], keys: dict[Any, Any]) -> Any:
    if not isinstance(key, str):
        return key
    masked = keys.get(key)
    if masked is None:
        masked = keys[key] = _SURROGATE.sub("\ufffd", redact(key, secrets))
    return masked


__all__ = ["Masked", "mask_walk", "redact_data"]
