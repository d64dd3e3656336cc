"""The registry of check kinds.

The rule-file JSON Schema, ``compliance rules validate`` and the rule reference in the
README are all generated from what is registered here, so they cannot drift apart.

Validating a rule file needs each kind's parameter schema, which is read from the registered
kinds themselves: importing every check module costs about 3 ms, not worth a generated copy of
the schemas that has to be kept in step with the code.

Check modules call ``register(...)(check_x)`` after the function instead of decorating it:
mutmut does not mutate decorated functions, so with ``@register`` every check body escaped
mutation testing (``make mutate``, docs/quality.md). It registers the very same function.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from compliance.judge.engine import Context
    from compliance.model.findings import Finding
    from compliance.model.rules import Rule

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
    from compliance.judge.checks import MODULES

    for module in MODULES:
        importlib.import_module(f"compliance.judge.checks.{module}")
    return dict(sorted(REGISTRY.items()))


def kind_params() -> dict[str, dict[str, Any]]:
    """Every kind's parameter schema by name (sorted): all that validating a rule file needs."""
    return {name: kind.params for name, kind in all_kinds().items()}
