"""Progress events: what the long parts of a run tell the person waiting, and nothing else.

Sources, the plan and persistence sit below the command line and must not know whether a terminal,
a CI log or nobody is watching, so they only emit events here (``stage``, ``update``, ``note``); the
CLI installs a reporter (``compliance.cli.progress``) that decides how to show them. With no
reporter installed (tests, library use, ``--quiet``) every call is a cheap no-op, and no event ever
changes what a run collects, judges or writes: progress is a side channel.

Stages nest per thread (a multi-target audit collects targets on several threads), so a retry
noted deep inside the GitHub client lands on the stage that is waiting for it without being passed
the stage object.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class Stage:
    """One unit of long work as a reporter sees it; mutated only through ``update``/``note``."""

    name: str
    started: float = field(default_factory=time.monotonic)
    done: int | None = None
    total: int | None = None
    unit: str = ""
    notes: list[str] = field(default_factory=list)
    ended: float | None = None

    @property
    def elapsed(self) -> float:
        return (self.ended or time.monotonic()) - self.started


class Reporter(Protocol):
    """What the CLI's renderer implements; every method may be called from any thread."""

    def started(self, stage: Stage) -> None: ...

    def changed(self, stage: Stage) -> None: ...

    def noted(self, stage: Stage, text: str) -> None: ...

    def ended(self, stage: Stage) -> None: ...


_reporter: Reporter | None = None
_local = threading.local()


def install(reporter: Reporter | None) -> Reporter | None:
    """Make ``reporter`` receive every event (None: nobody); returns the one it replaces."""
    global _reporter
    previous, _reporter = _reporter, reporter
    return previous


def _stack() -> list[Stage]:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


@contextmanager
def stage(name: str) -> Iterator[Stage | None]:
    """Report the block as one stage; yields None (and costs nothing more) when nobody listens."""
    reporter = _reporter
    if reporter is None:
        yield None
        return
    current = Stage(name)
    stack = _stack()
    stack.append(current)
    reporter.started(current)
    try:
        yield current
    finally:
        stack.remove(current)
        current.ended = time.monotonic()
        reporter.ended(current)


def update(done: int | None = None, total: int | None = None, unit: str = "") -> None:
    """The innermost stage of this thread has done ``done`` of ``total`` ``unit`` (e.g. pages)."""
    stack = getattr(_local, "stack", None)
    if _reporter is None or not stack:
        return
    current = stack[-1]
    current.done, current.total, current.unit = done, total, unit or current.unit
    _reporter.changed(current)


def note(text: str) -> None:
    """Something the waiting person should know about the innermost stage (a retry, a rate-limit wait).

    The text must already be redacted: it is shown as given (after the console's escaping).
    """
    stack = getattr(_local, "stack", None)
    if _reporter is None or not stack:
        return
    current = stack[-1]
    current.notes.append(text)
    _reporter.noted(current, text)


__all__ = ["Reporter", "Stage", "install", "note", "stage", "update"]
