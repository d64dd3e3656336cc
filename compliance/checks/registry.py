"""The registry of check kinds.

The rule-file JSON Schema, ``compliance rules validate`` and the rule reference in the
README are all generated from what is registered here, so they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from compliance.engine import Context
    from compliance.findings import Finding
    from compliance.rules import Rule

CheckFunc = Callable[["Context", "Rule", dict[str, Any]], Iterable["Finding"]]


@dataclass(frozen=True)
class CheckKind:
    name: str
    summary: str  # one line for the reference
    params: dict[str, Any]  # JSON Schema of the check's parameters (an object schema)
    needs: tuple[str, ...]  # sources the check reads; if any failed, the check yields `error`
    subject: str  # what one finding is about: change | task | function | route | endpoint | request | file | source
    func: CheckFunc
    repo_files: Callable[[dict[str, Any], dict[str, Any]], list[str]] | None = None
    example: dict[str, Any] = field(default_factory=dict)


REGISTRY: dict[str, CheckKind] = {}


def register(
    name: str,
    *,
    summary: str,
    params: dict[str, Any],
    needs: tuple[str, ...],
    subject: str,
    repo_files: Callable[[dict[str, Any], dict[str, Any]], list[str]] | None = None,
    example: dict[str, Any] | None = None,
) -> Callable[[CheckFunc], CheckFunc]:
    def deco(func: CheckFunc) -> CheckFunc:
        if name in REGISTRY:
            raise RuntimeError(f"check kind {name!r} registered twice")
        schema = {"type": "object", "additionalProperties": False, **params}
        REGISTRY[name] = CheckKind(name, summary, schema, needs, subject, func, repo_files, example or {})
        return func

    return deco


def all_kinds() -> dict[str, CheckKind]:
    """Every registered kind (importing the check modules registers them)."""
    import compliance.checks  # noqa: F401  (side effect: registration)

    return dict(sorted(REGISTRY.items()))
