"""Path globs with GitHub Actions' filter semantics.

The runbook's scope and the canonical workflow's ``on.push.paths`` are both written as
GitHub Actions filter patterns, so the checker must read them exactly as GitHub does:

- ``*`` matches any characters except ``/``; ``**`` matches anything, ``/`` included;
  ``**/`` also matches no directory at all (``docs/**/*.md`` matches ``docs/a.md``);
- ``?`` makes the preceding character optional; ``+`` repeats it one or more times;
- ``[abc]`` / ``[a-z]`` match one listed character; ``\\`` escapes the next character;
- in an ordered list, a pattern starting with ``!`` excludes paths matched so far, and a
  later positive pattern can include them again (last match wins).
"""

from __future__ import annotations

import re
from functools import lru_cache


class GlobError(ValueError):
    """A pattern GitHub would not accept; the message says where."""


@lru_cache(maxsize=4096)
def compile_glob(pattern: str) -> re.Pattern[str]:
    if not pattern:
        raise GlobError("empty pattern")
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**/", i):
                out.append("(?:.*/)?")
                i += 3
            elif pattern.startswith("**", i):
                out.append(".*")
                i += 2
            else:
                out.append("[^/]*")
                i += 1
            continue
        if c in "?+":
            if not out or out[-1].endswith(("*", "?", "+", ")?")) and out[-1] != re.escape("*"):
                raise GlobError(f"'{c}' at column {i + 1} has no character before it to apply to")
            out[-1] = f"(?:{out[-1]}){c}"
            i += 1
            continue
        if c == "[":
            end = pattern.find("]", i + 1)
            if end == -1 or end == i + 1:
                raise GlobError(f"unclosed or empty '[' at column {i + 1}")
            body = pattern[i + 1 : end]
            if body.startswith("!"):
                body = "^" + body[1:]
            # every character of the set stands for itself ("-" ranges and a leading "^" aside): "[", "&&",
            # "~~" and "||" would otherwise read as the nested sets and set operations a future re adds
            out.append("[" + "".join("\\" + ch if ch in "[&~|\\" else ch for ch in body) + "]")
            i = end + 1
            continue
        if c == "\\":
            if i + 1 >= n:
                raise GlobError("trailing '\\' escapes nothing")
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(re.escape(c))
        i += 1
    try:
        return re.compile("(?s:" + "".join(out) + r")\Z")
    except re.error as exc:  # e.g. a bad range such as [z-a]
        raise GlobError(f"invalid pattern: {exc}") from None


def glob_match(pattern: str, path: str) -> bool:
    return compile_glob(pattern).match(path) is not None


def filter_match(patterns: list[str] | tuple[str, ...], path: str) -> bool:
    """Evaluate an ordered GitHub filter list (with ``!`` negations); last match wins."""
    matched = False
    for pat in patterns:
        if pat.startswith("!"):
            if matched and glob_match(pat[1:], path):
                matched = False
        elif not matched and glob_match(pat, path):
            matched = True
    return matched


def example_path(pattern: str) -> str:
    """A concrete path that the pattern matches, used to ask whether another filter covers it."""
    text = pattern.replace("**/", "x/").replace("**", "x/y.txt").replace("*", "x")
    text = re.sub(r"\[!?([^\]])[^\]]*\]", r"\1", text)
    text = re.sub(r"(.)[?+]", r"\1", text)
    return text.replace("\\", "")
