"""``git log`` records parsed into commits: the kind of each commit (PR merge, squash, direct push) and its files.

Pure text handling, kept apart from running git so it can be read (and used by the waiver matcher's
``classify``) without any process machinery.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

_PR_MERGE = re.compile(r"Merge pull request #(\d+) from ([^/\s]+)/(\S.*)", re.DOTALL)
_SQUASH = re.compile(r"\(#(\d+)\)\s*\Z")
def classify(parents: list[str], subject: str) -> tuple[str, int | None, str | None]:
    """``(kind, pr, source_branch)`` from a commit's parent count and GitHub's subject forms."""
    if not parents:
        return "root", None, None
    if len(parents) >= 2:
        m = _PR_MERGE.fullmatch(subject)
        if m:
            return "pr_merge", int(m.group(1)), m.group(3)
        return "other_merge", None, None
    m = _SQUASH.search(subject)
    if m:
        return "squash", int(m.group(1)), None
    return "direct_push", None, None


def _records(chunks: Iterable[bytes], start: bytes) -> Iterator[str]:
    """Whole records, decoded once each: invalid UTF-8 never spans the NUL field separators."""
    tail = b""
    for chunk in chunks:
        parts = (tail + chunk).split(start)
        tail = parts.pop()
        for part in parts:
            if part:
                yield part.decode("utf-8", "replace")
    if tail:
        yield tail.decode("utf-8", "replace")


def _parse_record(record: str, end: str) -> dict[str, Any]:
    sha, parents, author, authored, committed, subject, rest = record.split("\0", 6)
    body, _, changes = rest.partition(end)
    parent_list = parents.split()
    kind, pr, source_branch = classify(parent_list, subject)
    fields = changes.lstrip("\0\n").split("\0")
    return {
        "sha": sha,
        "parents": parent_list,
        "kind": kind,
        "pr": pr,
        "subject": subject,
        "body": body.strip(),
        "source_branch": source_branch,
        "author": author,
        "authored_at": authored,
        "committed_at": committed,
        "files": [{"path": fields[i + 1], "status": fields[i]} for i in range(0, len(fields) - 1, 2)],
        "task_ids": [],
    }
