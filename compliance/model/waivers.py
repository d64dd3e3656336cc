"""Waivers as typed values: owned, ticketed, expiring exceptions (loaded in inputs/, applied in judge/)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from compliance.base.timeutil import end_of_day

DEFAULT_MAX_DAYS = 90
DEFAULT_WARN_DAYS = 14


@dataclass(frozen=True)
class Waiver:
    index: int
    rule: str
    kind: str  # sha | pr | resource | path
    value: Any
    owner: str
    reason: str
    ticket: str
    expires: date
    created: date | None
    line: int

    @property
    def ends(self) -> datetime:
        """A waiver holds through the whole of its expiry day (UTC)."""
        return end_of_day(self.expires)

    def describe(self) -> str:
        shown = f"#{self.value}" if self.kind == "pr" else str(self.value)
        return f"{self.kind} {shown}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule,
            "subject": {self.kind: self.value},
            "owner": self.owner,
            "reason": self.reason,
            "ticket": self.ticket,
            "expires": self.expires.isoformat(),
            "created": self.created.isoformat() if self.created else None,
            "line": self.line,
        }


@dataclass
class WaiverFile:
    path: str
    waivers: list[Waiver]
    max_days: int = DEFAULT_MAX_DAYS
    warn_days: int = DEFAULT_WARN_DAYS


