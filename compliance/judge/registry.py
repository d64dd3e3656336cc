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


# what a could-not-evaluate finding names when the check never got to name its subject: the target's
# own resource of that subject type (a kind may declare its own ``default_subject``)
SUBJECT_TARGET: dict[str, Callable[[dict[str, Any]], Any]] = {
    "function": lambda t: t.get("function"),
    "endpoint": lambda t: t.get("capability_url"),
    "route": lambda t: t.get("http_api"),
    "request": lambda t: (t.get("deploy_manager") or {}).get("table"),
    "file": lambda t: t.get("workflow"),
}


@dataclass(frozen=True)
class CheckKind:
    """A check and what it declares, so no caller special-cases a kind: which sources it reads
    (collected for it; if one failed, its findings are `error`; if one is deferred, `not_applicable`),
    which it uses when present, and what a finding names when the check could not run."""

    name: str
    summary: str  # one line for the reference
    params: dict[str, Any]  # JSON Schema of the check's parameters (an object schema)
    reads: tuple[str, ...]  # sources the check reads; if any failed, the check yields `error`
    subject: str  # what one finding is about: change | task | function | route | endpoint | request | file | source
    func: CheckFunc
    repo_files: Callable[[dict[str, Any], dict[str, Any]], list[str]] | None = None
    example: dict[str, Any] = field(default_factory=dict)
    # used when collected and ok, never a reason for the engine's `error`; a check may still refuse to pass on
    # less when a configured optional source failed (deploy_coverage / lambda_deploy_match: proof.read_trail)
    optional_reads: tuple[str, ...] = ()
    reads_param: str | None = None  # a parameter whose value names one more source the check reads
    default_subject: Callable[[dict[str, Any], dict[str, Any]], str | None] | None = None  # (params, target)
    # the workflows whose runs the check judges (params, target): the GitHub source lists each one
    run_workflows: Callable[[dict[str, Any], dict[str, Any]], list[str]] | None = None

    def reads_for(self, params: dict[str, Any]) -> tuple[str, ...]:
        """The sources this check, with these parameters, cannot be judged without."""
        named = params.get(self.reads_param) if self.reads_param else None
        return self.reads + ((named,) if isinstance(named, str) and named not in self.reads else ())

    def subject_for(self, params: dict[str, Any], target: dict[str, Any]) -> str:
        """What a finding names when the check did not run, so reviewers see what was not judged."""
        if self.default_subject is not None:
            return self.default_subject(params, target) or "-"
        if self.repo_files is not None:
            return ", ".join(f for f in self.repo_files(params, target) if f) or "-"
        by_type = SUBJECT_TARGET.get(self.subject)
        return (by_type(target) if by_type else None) or "-"


REGISTRY: dict[str, CheckKind] = {}


def register(
    name: str,
    *,
    summary: str,
    params: dict[str, Any],
    reads: tuple[str, ...],
    subject: str,
    optional_reads: tuple[str, ...] = (),
    reads_param: str | None = None,
    default_subject: Callable[[dict[str, Any], dict[str, Any]], str | None] | None = None,
    repo_files: Callable[[dict[str, Any], dict[str, Any]], list[str]] | None = None,
    run_workflows: Callable[[dict[str, Any], dict[str, Any]], list[str]] | None = None,
    example: dict[str, Any] | None = None,
) -> Callable[[CheckFunc], CheckFunc]:
    def deco(func: CheckFunc) -> CheckFunc:
        if name in REGISTRY:
            raise RuntimeError(f"check kind {name!r} registered twice")
        schema = {"type": "object", "additionalProperties": False, **params}
        REGISTRY[name] = CheckKind(name, summary, schema, reads, subject, func, repo_files, example or {},
                                   optional_reads, reads_param, default_subject, run_workflows)
        return func

    return deco


def reads_of(rules: list[Rule]) -> set[str]:
    """Every source these rules' checks read or use when present: what a collection fetches for them."""
    kinds = all_kinds()
    out: set[str] = set()
    for rule in rules:
        for spec in rule.checks:
            kind = kinds[spec.kind]
            out.update(kind.reads_for(spec.params))
            out.update(kind.optional_reads)
    return out


def _hooked(rules: list[Rule], target: dict[str, Any], hook_name: str) -> set[str]:
    """What one per-kind hook (``repo_files``, ``run_workflows``) names for these rules' checks, blanks dropped."""
    kinds = all_kinds()
    out: set[str] = set()
    for rule in rules:
        for spec in rule.checks:
            hook = getattr(kinds[spec.kind], hook_name)
            if hook:
                out.update(f for f in hook(spec.params, target) if f)
    return out


def repo_files_of(rules: list[Rule], target: dict[str, Any]) -> list[str]:
    """The repository files these rules' checks read at the judged head (sorted, no blanks)."""
    return sorted(_hooked(rules, target, "repo_files"))


def run_workflows_of(rules: list[Rule], target: dict[str, Any]) -> list[str]:
    """The workflows whose runs these rules judge besides the target's own (sorted, no blanks): the
    GitHub source lists each of them beside the target's workflow."""
    out = _hooked(rules, target, "run_workflows")
    out.discard(target.get("workflow") or "")
    return sorted(out)


def all_kinds() -> dict[str, CheckKind]:
    """Every registered kind (importing the check modules registers them)."""
    # deliberate lazy import: the check modules import this registry to register themselves
    from compliance.judge.checks import MODULES

    for module in MODULES:
        importlib.import_module(f"compliance.judge.checks.{module}")
    return dict(sorted(REGISTRY.items()))


def kind_params() -> dict[str, dict[str, Any]]:
    """Every kind's parameter schema by name (sorted): all that validating a rule file needs."""
    return {name: kind.params for name, kind in all_kinds().items()}
