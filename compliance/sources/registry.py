"""The sources: the one list of what can be collected, and what each needs to be collected.

Every other place that names sources (the config schema, the ``field`` check's vocabulary, rule
test cases, the collection order, which sources a pull request defers) reads this list, so a new
source is added here and nowhere else. The table is plain data and imports no collector: the rule
and config vocabularies need the names, not the network clients. Collectors attach themselves
with ``collects(name)`` (``compliance.sources.plan``), which refuses a name not declared here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Source:
    name: str
    summary: str  # what it holds, for people reading the registry
    before_merge: bool  # exists before a pull request is merged (a PR collects only these; the rest is deferred)
    after: tuple[str, ...] = ()  # sources whose collected data this one's collection uses
    defaults: dict[str, Any] = field(default_factory=dict)  # option values when compliance.yaml sets none
    # a target key without which there is nothing to collect (the runbook source without target.runbook):
    # the source is then left out of the snapshot, and the checks that use it say it is not configured
    needs_target: str | None = None

    @property
    def schema_def(self) -> str:
        """Its data's schema: ``snapshot.schema.json#/$defs/<schema_def>``."""
        return self.name


SOURCES: tuple[Source, ...] = (
    Source("git", "first-parent history of the governed branch and the repository files the rules read", True),
    Source("github", "runs of the canonical workflow (with the deploy steps of the run near LastModified)", False,
           after=("lambda",)),
    Source("lambda", "the function's configuration: state, update status, LastModified, code digest", False),
    Source("apigateway", "the HTTP API's routes and integrations", False),
    Source("tracker", "worklogs of the tasks the window's changes name", False, after=("git",)),
    Source("deploy_manager", "deployment-manager requests and specs of the window", True),
    Source("probe", "one GET of the capability endpoint", False, defaults={"timeout_seconds": 5}),
    Source("cloudtrail", "Lambda control-plane events for the function in the window: who updated it", False),
    Source("runbook", "the runbook (target.runbook) as of the window's end, parsed: Scope, automation, validation",
           True, after=("git",), needs_target="runbook"),
)
NAMES: tuple[str, ...] = tuple(s.name for s in SOURCES)
BY_NAME: dict[str, Source] = {s.name: s for s in SOURCES}

DEFERRED = "deferred"  # a source's status in a snapshot when the mode leaves it to a later collection

Collector = Callable[..., dict[str, Any]]
_COLLECTORS: dict[str, Collector] = {}


def collects(name: str) -> Callable[[Collector], Collector]:
    """Attach the live collector of a declared source (a typo cannot add an undeclared one)."""
    if name not in BY_NAME:
        raise RuntimeError(f"no source {name!r} is declared in compliance.sources.registry")

    def deco(fn: Collector) -> Collector:
        if name in _COLLECTORS:
            raise RuntimeError(f"source {name!r} has two collectors")
        _COLLECTORS[name] = fn
        return fn

    return deco


def collector(name: str) -> Collector | None:
    return _COLLECTORS.get(name)


def applicable(name: str, target: dict[str, Any]) -> bool:
    """Whether the target configures what this source reads (``needs_target``)."""
    key = BY_NAME[name].needs_target if name in BY_NAME else None
    return key is None or bool(target.get(key))


def before_merge() -> tuple[str, ...]:
    return tuple(s.name for s in SOURCES if s.before_merge)


def after_merge() -> tuple[str, ...]:
    """What only exists once a change is merged and deployed: a pull request defers these."""
    return tuple(s.name for s in SOURCES if not s.before_merge)


def collection_order(names: Iterable[str]) -> list[str]:
    """``names`` in an order where each source comes after the ones its collection uses
    (``after``), otherwise in registry order, so the order is the same on every run."""
    wanted = set(names)
    out: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in out or name not in wanted:
            return
        if name in path:
            raise RuntimeError(f"sources depend on each other in a cycle: {' -> '.join((*path, name))}")
        for first in BY_NAME[name].after:
            visit(first, (*path, name))
        out.append(name)

    for s in SOURCES:
        visit(s.name, ())
    return out


def deferred_envelope(name: str, reason: str, at: str) -> dict[str, Any]:
    """The snapshot entry of a source a mode leaves to later: nothing was asked, and why is data,
    so re-judging the snapshot offline gives the same verdicts without knowing the mode."""
    return {"status": DEFERRED, "reason": reason, "data": None, "error": None,
            "provenance": {"kind": DEFERRED, "requested": f"{name}: not collected", "started_at": at,
                           "duration_ms": 0, "requests": 0}}
