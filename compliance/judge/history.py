"""The governed branch as the engine sees it: its first-parent chain, and one change per commit.

Commits are indexed by first-parent position and by sorted SHA, so a short SHA named in a worklog
resolves in O(log n) and a window is a range of positions, never a scan by date.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from compliance.base.timeutil import chain_span, parse_time

CLOCK_SKEW = timedelta(minutes=5)  # how far ahead of the collection a recorded time may be before it is a lie


@lru_cache(maxsize=1 << 17)
def _time_of_text(value: str) -> datetime | None:
    return parse_time(value)


def time_of(value: Any) -> datetime | None:
    """``parse_time``, remembered for text (a datetime is immutable, so one object can serve every reader).

    The same recorded times are read again and again: a run's completion once per change it may cover, a
    commit's time once per finding about it; 800,000 parses at 100,000 commits, most of them repeats."""
    return _time_of_text(value) if type(value) is str else parse_time(value)


@dataclass
class Change:
    """A first-parent commit of the governed branch, judged against its first parent."""

    commit: dict[str, Any]
    position: int
    committed_at: datetime
    files: list[str]
    task_ids: list[str]

    @property
    def sha(self) -> str:
        return self.commit["sha"]

    @property
    def short(self) -> str:
        return self.commit["sha"][:12]

    def evidence_item(self) -> dict[str, Any]:
        """The change's commit evidence: one dict shared by every finding about this change (15 rules x
        42,000 changes at 100,000 commits made 142,000 equal dicts). Shared, so never mutated: readers copy."""
        item = self.__dict__.get("_evidence_item")
        if item is None:
            c = self.commit
            pr = f" PR #{c['pr']}" if c.get("pr") else ""
            item = self.__dict__["_evidence_item"] = {
                "kind": "commit",
                "label": f"{self.short} {c['kind']}{pr}: {c['subject']}",
                "sha": self.sha,
                "time": c["committed_at"],
                "url": None,
            }
        return item


class History:
    """The branch's first-parent chain with O(log n) short-SHA resolution."""

    def __init__(self, git: dict[str, Any]):
        self.branch: str = git["branch"]
        self.commits: list[dict[str, Any]] = git["commits"]
        self.position = {c["sha"]: i for i, c in enumerate(self.commits)}
        self._sorted = sorted(self.position)
        self.times = [parse_time(c["committed_at"]) for c in self.commits]

    def window(self, since: datetime, until: datetime, now: datetime | None = None) -> range:
        """Positions of the window's commits: a range of the chain between its boundary commits.

        Not each commit judged by its own date: a commit dated before ``since`` but sitting among
        the window's commits (or dated before its own parent) is in the window (``chain_span``)."""
        start, stop, _ = chain_span(self.times, since, until, now + CLOCK_SKEW if now is not None else None)
        return range(start, stop)

    def resolve(self, prefix: str) -> int | None:
        """Position of the unique first-parent commit starting with ``prefix`` (7+ hex), else None."""
        prefix = prefix.lower()
        if len(prefix) < 7:
            return None
        i = bisect.bisect_left(self._sorted, prefix)
        if i >= len(self._sorted) or not self._sorted[i].startswith(prefix):
            return None
        if i + 1 < len(self._sorted) and self._sorted[i + 1].startswith(prefix):
            return None  # ambiguous: never guess
        return self.position[self._sorted[i]]

    def change(self, i: int) -> Change:
        c = self.commits[i]
        return Change(c, i, self.times[i], [f["path"] for f in c["files"]], list(c["task_ids"]))
