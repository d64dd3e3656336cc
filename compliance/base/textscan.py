"""Watching a document's JSON text go by for anything ``redact`` would mask, without encoding it again.

``model.snapshot.canonical_and_masked`` hashes a snapshot's canonical chunks as they are encoded and
asks this scan whether masking would change any of them: the file read can then be copied as it is.
The scan runs on JSON text, so its tests look for secrets and hidden characters as JSON escapes them.
"""

from __future__ import annotations

import bisect
import itertools
import json
import re
from collections.abc import Iterable, Iterator

from compliance.base.redact import (
    _HIDDEN_JSON,
    _SECRET_NAMES,
    _SHAPES,
    _SURROGATE,
    _URL_PASSWORD,
    _hint_positions,
    _hinted,
    _may_hold_shape,
    _secrets,
    hint_lower,
)
from compliance.base.redact_doc import _ENCODE, _anything_to_mask

_WATCH_BATCH = 1 << 18


class TextScan:
    """Watches a document's JSON text go by (``json_report.stream``) for anything ``redact`` would mask.

    The text is written anyway, so checking it costs only the searches, not a second encoding of
    the document. Strings are escaped the same way as in ``_anything_to_mask``, and each string sits
    whole inside one chunk (a chunk is a record, a key or a scalar).
    """

    def __init__(self) -> None:
        self.secrets = _secrets()
        self.encoded = [_ENCODE(s)[1:-1] for s in self.secrets]
        self.dirty = False
        self._key = ""  # the last chunk of the batch before, when it is a key

    def watch(self, chunks: Iterable[str]) -> Iterator[str]:
        """The chunks, passed on until the first one holding something to mask (then ``dirty``).

        Chunks are held back in batches of about 256 KB and each batch is tested once with substring
        tests (``_may_be_dirty``: a key and its value are contiguous in it); only a batch with a hint
        word is tested chunk by chunk, which a report of 20,000 chunks otherwise paid for every chunk."""
        held: list[str] = []
        size = 0
        for chunk in chunks:
            held.append(chunk)
            size += len(chunk)
            if size >= _WATCH_BATCH:
                if not self._clean(held):
                    return
                yield from held
                held, size = [], 0
        if self._clean(held):
            yield from held

    def _clean(self, held: list[str]) -> bool:
        text = self._key + "".join(held)
        if not _may_be_dirty(text, self.encoded):
            self._key = held[-1] if held and held[-1].endswith(": ") else ""
            return True
        suspects = self._suspects(held, text)
        key = self._key  # the key chunk before a value: together they may name a secret ("SessionToken": "...")
        for i, chunk in enumerate(held):
            # a chunk with an escape is decoded and asked as the walk asks (exactly what masking would change);
            # the expressions on its JSON text would only repeat that, at ~0.5 us a character of a file's text
            if (suspects is None or i in suspects) and (
                    _decoded_dirty(key, chunk, self.secrets) if "\\" in key or "\\" in chunk
                    else _text_dirty(key + chunk, self.encoded)):
                self.dirty = True
                return False
            key = chunk if chunk.endswith(": ") else ""
        self._key = key
        return True

    def _suspects(self, held: list[str], text: str) -> set[int] | None:
        """The chunks a hint word of ``text`` starts in, and each one's next chunk (the value after a key
        that names a secret), when hint words are all the batch holds; None (every chunk) otherwise.

        A snapshot's paths and subjects put a harmless hint word (``key``, ``token``) in nearly every
        batch: searching each of its chunks again cost more than encoding them (issue 18)."""
        low = hint_lower(text)
        if len(low) != len(text) or _beyond_hints(text, self.encoded):
            return None
        ends = list(itertools.accumulate(map(len, held), initial=len(self._key)))
        found: set[int] = set()
        for at in _hint_positions(low):
            i = max(bisect.bisect_right(ends, at) - 1, 0)  # in the key before the batch: its first chunk
            found.update((i, i + 1))
        return found


def _decoded_dirty(key: str, chunk: str, secrets: tuple[str, ...]) -> bool:
    """``_anything_to_mask`` of what a chunk (and the key chunk before it) holds, decoded.

    The shapes read JSON text as they read a string only where nothing is escaped: an escaped backslash or
    control character before a name's separator or a value (``api_key\\: ...``, ``password=\\u0000...``)
    hides a shape the masking of the string finds, and the snapshot would be copied with it. So a suspect
    chunk with an escape is decoded and asked as the walk asks; anything it cannot decode is not vouched for."""
    try:
        value = _decoded(chunk)
        if key:
            value = {next(iter(_decoded(key))): value}  # the key chunk's name
    except (ValueError, RecursionError):
        return True
    return _anything_to_mask(value, secrets)


def _decoded(chunk: str):
    """The JSON value of one chunk of ``canonical_chunks``: a key (``"name": ``), a scalar or record, or
    None for the brackets that open and close an expanded object or list."""
    body = chunk.lstrip(",\n ")
    if body.endswith(": "):
        return {json.loads(body[:-2]): None}
    if body in ("{", "[", "}", "]"):
        return None
    return json.loads(body)


def _may_be_dirty(text: str, encoded: list[str]) -> bool:
    """``_text_dirty`` without the expressions: False only where ``_text_dirty`` is False."""
    low = hint_lower(text)
    return _hinted(low) or _beyond_hints(text, encoded)


def _beyond_hints(text: str, encoded: list[str]) -> bool:
    """``_may_be_dirty`` but for the hint words: a lone surrogate, a URL's password, a secret, a hidden character."""
    if not text.isascii() and _SURROGATE.search(text):
        return True
    if ("://" in text and _URL_PASSWORD.search(text) is not None) or any(s in text for s in encoded):
        return True
    if text.isascii():  # the encoder escapes every control character but DEL: substring tests first
        return any(m in text for m in _ASCII_HIDDEN_MARKS) and _HIDDEN_JSON.search(text) is not None
    return _HIDDEN_JSON.search(text) is not None


# What ``_HIDDEN_JSON`` needs in encoded ASCII text: an escape it matches, or DEL (not escaped by json)
_ASCII_HIDDEN_MARKS = ("\\u00", "\\b", "\\f", "\x7f")


# A key that names a secret with one newline after it: ``_secret_key`` ends in ``$``, which also matches
# before a final newline, so the walk masks ``{"password\n": "hunter2hunter2"}``; in JSON text the escaped
# newline stands between the name and its quote, where no ``_SHAPES`` separator reads.
_KEY_NEWLINE = re.compile(rf'(?:(?i:{_SECRET_NAMES})|"(?i:authorization))\\n"')


def _text_dirty(text: str, encoded: list[str]) -> bool:
    """Whether JSON text holds a token shape, a lone surrogate or an (escaped) secret value.

    Plain substring tests first: they are several times faster than the regular expressions, which
    then run only on text that could match them (ASCII text cannot hold a surrogate)."""
    if not text.isascii() and _SURROGATE.search(text):
        return True
    if _may_hold_shape(text) and (_SHAPES.search(text) or ('\\n"' in text and _KEY_NEWLINE.search(text))):
        return True
    if any(s in text for s in encoded):
        return True
    # a token or a known secret split by a hidden character; DEL is the one json leaves raw in ASCII text
    # (``ghp_abc\x7fdef...`` was judged clean and the file copied with the token in it; probe 20)
    if (not text.isascii() or "\\" in text or "\x7f" in text) and _HIDDEN_JSON.search(text):
        stripped = _HIDDEN_JSON.sub("", text)
        return (_may_hold_shape(stripped) and _SHAPES.search(stripped) is not None) or any(s in stripped for s in encoded)
    return False
