"""Which URLs an output may link to, and how they are written into a link.

Evidence URLs come from the data (GitHub's ``html_url``, an endpoint in a config file, a worklog): a
report must never turn ``javascript:`` or a URL carrying hidden text into a clickable link. One rule
for every format: plain http(s) with a host and no userinfo, no whitespace (any Unicode space, not only ASCII) and no
invisible characters, percent-encoded where a character could end a link destination (``(`` ``)`` in
Markdown, a quote in HTML) or is not ASCII. The HTML and Markdown reports used to differ (the Markdown
one accepted a no-break space, the HTML one did not encode anything): the stricter union is right.
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import urlsplit

from compliance.base.console import INVISIBLE_RE

_SPACE = re.compile(r"\s")
_URL_SAFE_CHARS = "-._~:/?#@!$&*+,;=%"
_URL_SAFE = re.compile(r"[A-Za-z0-9\-._~:/?#@!$&*+,;=%]*")


def safe_url(url: Any) -> str | None:
    """The URL, percent-encoded for a link destination, or None unless it is plain http(s)."""
    return _safe_url(url) if isinstance(url, str) else None


@functools.lru_cache(maxsize=16384)
def _safe_url(url: str) -> str | None:
    """Cached: a function of the text alone, and a report links the same URL several times (a change's
    merge from its SHA and its merge mark, a run from every change it deploys, in each format)."""
    if INVISIBLE_RE.search(url) or _SPACE.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    # no host (``http://@``), or a userinfo that puts a trusted name before the real host
    # (``https://github.com@evil.example``, or ``\`` before ``@``, which a browser reads as a path)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return None
    if _URL_SAFE.fullmatch(url):
        return url
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch in _URL_SAFE_CHARS) else _pct(ch) for ch in url)


def _pct(ch: str) -> str:
    return "".join(f"%{b:02X}" for b in ch.encode("utf-8"))
