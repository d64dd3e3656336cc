"""In-memory form of a rule, after the file has been validated."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from compliance.base.globs import compile_glob


@lru_cache(maxsize=1024)
def _union(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    """One regex for a list of globs: one match call per path instead of one per glob."""
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{compile_glob(p).pattern})" for p in patterns))


@dataclass(frozen=True)
class Scope:
    """Which paths (GitHub Actions glob semantics) and which branch a rule governs."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    branch: str | None = None  # None: the target's branch

    def matches(self, path: str) -> bool:
        inc = _union(self.include)
        if inc is None or not inc.match(path):
            return False
        exc = _union(self.exclude)
        return exc is None or not exc.match(path)

    def select(self, paths: list[str]) -> list[str]:
        inc, exc = _union(self.include), _union(self.exclude)
        if inc is None:
            return []
        return [p for p in paths if inc.match(p) and not (exc and exc.match(p))]

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
    controls: tuple[str, ...] = ()  # FRAMEWORK:ID (compliance.model.controls), as the rule file lists them
    source: str = ""  # rule file path
    line: int = 0  # line of the rule in that file

    def effective_at(self, when: datetime) -> bool:
        if self.effective_from and when < self.effective_from:
            return False
        if self.effective_until and when > self.effective_until:
            return False
        return True
