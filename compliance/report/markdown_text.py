"""Text made inert for GitHub Markdown: escaping, code spans, links, and the small phrases every section uses.

Everything in a Markdown report that is not our own scaffolding goes through ``text`` or ``code``, and
only http(s) URLs become links; those rules live here, in one short file a reviewer can check.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from compliance.base.console import INVISIBLE
from compliance.base.redact import strip_hidden
from compliance.report.view import EVIDENCE_CORE, extra_text

MAX_CHARS = 65_536
STAGES = (("merge", "merge"), ("workflow_run", "run"), ("lambda_update", "Lambda"), ("worklog", "worklog"))
STATUS_MARK = {"pass": "✓", "fail": "✗", "error": "⚠", "pending": "⏳", "waived": "○", "not_applicable": "–"}
VERDICT_HEAD = {
    "pass": "✅ Compliance: PASS",
    "fail": "❌ Compliance: FAIL",
    "error": "⚠️ Compliance: ERROR (could not evaluate everything)",
    "pending": "⏳ Compliance: PENDING (nothing failed; some findings are not judged yet)",
}

# C0/C1 controls (terminal escapes), invisible formatting and bidi overrides that can disguise text.
_INVISIBLE = re.compile(f"[{INVISIBLE}]")  # the class the console makes visible (compliance.base.console)
_NEWLINES = re.compile(r"[\t\r\n\u2028\u2029]+")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()|~$!])")
_ENTITIES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_BLOCK_START = re.compile(r"^[#\-+=]")
_AUTOLINK = re.compile(r"(?i)(https?|ftp|sftp|javascript|vbscript|data|file|mailto|www)(?=[:.])")
_ZWJ = "\u200d"


def clean(value: Any) -> str:
    """Untrusted value -> one line of visible text."""
    text = "" if value is None else str(value)
    return _NEWLINES.sub(" ", strip_hidden(_INVISIBLE, text))


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def text(value: Any, limit: int = 500) -> str:
    """Escape untrusted text so GitHub renders it literally, in prose and in table cells alike."""
    # Entities rather than backslashes for <, > and &: the raw text then holds no tag at all, which
    # also protects consumers that feed it to a lax HTML renderer.
    out = _MD_SPECIAL.sub(r"\\\1", clip(clean(value), limit)).translate(_ENTITIES)
    if _BLOCK_START.match(out):
        out = "\\" + out
    # A zero-width joiner breaks @mentions (which notify), owner/repo#N cross-references (which
    # post on the other issue) and bare-URL autolinks, without changing what a reader sees.
    out = out.replace("@", "@" + _ZWJ).replace("#", "#" + _ZWJ)
    return _AUTOLINK.sub(lambda m: m.group(1) + _ZWJ, out)


def code(value: Any, limit: int = 200, *, in_table: bool = False) -> str:
    """Inline code span; a fence longer than any backtick run inside keeps the span closed."""
    body = clip(clean(value), limit)
    if not body:
        return ""
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * (longest + 1)
    if body.startswith("`") or body.endswith("`"):
        body = f" {body} "
    if in_table:
        body = body.replace("|", "\\|")
    return f"{fence}{body}{fence}"


def code_block(value: Any, indent: str = "") -> list[str]:
    lines = [strip_hidden(_INVISIBLE, line) for line in str(value).replace("\r\n", "\n").split("\n")]
    longest = max((len(run) for run in re.findall(r"`+", "\n".join(lines))), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{indent}{fence}", *(f"{indent}{line}" for line in lines), f"{indent}{fence}"]


_URL_SAFE = re.compile(r"[A-Za-z0-9\-._~:/?#@!$&*+,;=%]*")


def safe_url(url: Any) -> str | None:
    """The URL, percent-encoded for a link destination, or None unless it is plain http(s)."""
    if not isinstance(url, str) or _INVISIBLE.search(url) or _NEWLINES.search(url) or " " in url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if _URL_SAFE.fullmatch(url):
        return url
    return "".join(
        ch if ch.isascii() and (ch.isalnum() or ch in "-._~:/?#@!$&*+,;=%") else _pct(ch) for ch in url
    )


def _pct(ch: str) -> str:
    return "".join(f"%{b:02X}" for b in ch.encode("utf-8"))


def link(label: str, url: Any) -> str:
    """``label`` must already be escaped; it stays plain text when the URL is not http(s)."""
    href = safe_url(url)
    return f"[{label}]({href})" if href and label else label


def evidence_line(ev: dict[str, Any]) -> str:
    parts = [f"{text(ev.get('kind'), 40)}: {link(text(ev.get('label'), 300), ev.get('url'))}"]
    if ev.get("time"):
        parts.append(text(ev["time"], 40))
    for key in sorted(k for k in ev if k not in EVIDENCE_CORE):
        parts.append(f"{text(key, 40)}: {text(extra_text(ev[key]), 200)}")
    return " · ".join(parts)


def counts_phrase(counts: dict[str, Any]) -> str:
    return (
        f"{counts.get('fail', 0)} failed · {counts.get('error', 0)} could not be evaluated · "
        f"{counts.get('pending', 0)} pending · {counts.get('pass', 0)} passed · {counts.get('waived', 0)} waived · "
        f"{counts.get('not_applicable', 0)} not applicable"
    )
