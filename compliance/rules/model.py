"""In-memory form of a rule, after the file has been validated."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from compliance.globs import compile_glob


@dataclass(frozen=True)
class Scope:
    """Which paths (GitHub Actions glob semantics) and which branch a rule governs."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    branch: str | None = None  # None: the target's branch

    def matches(self, path: str) -> bool:
        if not any(compile_glob(p).match(path) for p in self.include):
            return False
        return not any(compile_glob(p).match(path) for p in self.exclude)

    def select(self, paths: list[str]) -> list[str]:
        return [p for p in paths if self.matches(p)]

    @property
    def is_empty(self) -> bool:
        return not self.include


@dataclass(frozen=True)
class CheckSpec:
    kind: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Remediation:
    text: str = ""
    command: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"text": self.text, "command": self.command}


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: str
    rationale: str
    runbook_section: str
    scope: Scope
    checks: tuple[CheckSpec, ...]
    remediation: Remediation
    effective_from: datetime | None = None
    effective_until: datetime | None = None
    source: str = ""  # rule file path
    line: int = 0  # line of the rule in that file

    def effective_at(self, when: datetime) -> bool:
        if self.effective_from and when < self.effective_from:
            return False
        if self.effective_until and when > self.effective_until:
            return False
        return True
