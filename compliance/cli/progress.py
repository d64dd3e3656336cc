"""How progress is shown: one updating line on a terminal, timestamped lines in a log, ``::group::`` in Actions.

Only on stderr: stdout stays machine-readable (``changes --format json``). A stage is shown once it
has run for ``COMPLIANCE_PROGRESS_AFTER`` seconds (default 1), so a quick run prints exactly what it
printed before and a slow one explains itself while it works. Hand-written rather than tqdm/rich:
one line of ANSI needs no library, and start-up pays for nothing until a stage actually runs.

The renderer writes to the stream it was given before the console sanitizer wrapped ``sys.stderr``
(its own ``\\r`` and ``ESC [K`` must reach the terminal); every text from a stage passes through
``visible`` first, so a hostile source error is shown, not obeyed.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any, TextIO

from compliance.base import progress
from compliance.base.console import visible
from compliance.base.progress import Stage

AFTER_ENV = "COMPLIANCE_PROGRESS_AFTER"
TICK = 0.2  # seconds between redraws of the live line


def _after() -> float:
    try:
        return max(0.0, float(os.environ.get(AFTER_ENV) or 1.0))
    except ValueError:
        return 1.0


def describe(stage: Stage) -> str:
    """``github (acme): 3/7 pages, 4.2 s, retry 2: waiting 8 s (GitHubServerError 503)`` — one stage in one line."""
    parts = [f"{stage.elapsed:.1f} s"]
    if stage.done is not None:
        count = f"{stage.done}/{stage.total}" if stage.total else f"{stage.done}"
        parts.insert(0, f"{count} {stage.unit}".strip())
    if stage.notes:
        parts.append(stage.notes[-1] if len(stage.notes) == 1 else f"{stage.notes[-1]} ({len(stage.notes)} so far)")
    return f"{stage.name}: " + ", ".join(parts)


class Renderer:
    """The reporter the CLI installs; ``tty``, ``actions`` and ``color`` pick the form."""

    def __init__(self, stream: TextIO, *, tty: bool, actions: bool = False, color: bool = False,
                 after: float | None = None):
        self.stream, self.tty, self.actions, self.color = stream, tty, actions, color
        self.after = _after() if after is None else after
        self._lock = threading.RLock()
        self._active: list[Stage] = []
        self._shown: set[int] = set()  # id() of stages whose start was printed (plain) or drawn (tty)
        self._pending: dict[int, list[str]] = {}  # notes of a stage not shown yet
        self._group: int | None = None  # the stage whose ::group:: is open
        self._line = False  # a live line is on the terminal
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    # --- Reporter ---------------------------------------------------------------------------
    def started(self, stage: Stage) -> None:
        with self._lock:
            self._active.append(stage)
            if self.after == 0:
                self._show(stage)
            elif self._ticker is None:
                self._ticker = threading.Thread(target=self._tick, name="progress", daemon=True)
                self._ticker.start()

    def changed(self, stage: Stage) -> None:
        with self._lock:
            if self.tty and id(stage) in self._shown:
                self._draw()

    def noted(self, stage: Stage, text: str) -> None:
        with self._lock:
            if id(stage) not in self._shown:
                self._pending.setdefault(id(stage), []).append(text)
            elif self.tty:
                self._draw()
            else:
                self._plain(f"{stage.name}: {text}")

    def ended(self, stage: Stage) -> None:
        with self._lock:
            if stage in self._active:
                self._active.remove(stage)
            self._pending.pop(id(stage), None)
            shown = id(stage) in self._shown
            self._shown.discard(id(stage))
            if not shown:
                return
            done = f"{stage.name}: done in {stage.elapsed:.1f} s" + (
                f" ({stage.done} {stage.unit})".rstrip() if stage.done is not None else "")
            if self.tty:
                self._clear()
                self._write(self._paint(visible(done), "2") + "\n")  # a finished long stage stays, dim
                self._draw()
            else:
                self._plain(done)
                if self._group == id(stage):
                    self._write("::endgroup::\n")
                    self._group = None

    # --- drawing ----------------------------------------------------------------------------
    def _show(self, stage: Stage) -> None:
        self._shown.add(id(stage))
        pending = self._pending.pop(id(stage), [])
        if self.tty:
            self._draw()
            return
        if self.actions and self._group is None:
            self._write(f"::group::{visible(stage.name)}\n")
            self._group = id(stage)
        self._plain(f"{stage.name}: started")
        for text in pending:
            self._plain(f"{stage.name}: {text}")

    def _tick(self) -> None:
        try:
            while not self._stop.wait(TICK):
                with self._lock:
                    for stage in list(self._active):
                        if id(stage) not in self._shown and stage.elapsed >= self.after:
                            self._show(stage)
                    if self.tty and self._shown:
                        self._draw()
        except Exception:  # noqa: BLE001 - a progress line that cannot be drawn stops, it never fails the run
            return

    def _draw(self) -> None:
        shown = [s for s in self._active if id(s) in self._shown]
        if not shown:
            self._clear()
            return
        width = max(20, self._columns() - 1)
        line = visible(" · ".join(describe(s) for s in shown))
        if len(line) > width:
            line = line[: width - 1] + "…"
        self._write("\r\x1b[K" + self._paint(line, "36"))
        self._line = True

    def _columns(self) -> int:
        try:
            columns = int(os.environ.get("COLUMNS") or 0) or os.get_terminal_size(self.stream.fileno()).columns
        except (OSError, ValueError, AttributeError):
            columns = 0
        return columns or 100  # a pseudo-terminal nobody sized says 0

    def _clear(self) -> None:
        if self._line:
            self._write("\r\x1b[K")
            self._line = False

    def _paint(self, text: str, sgr: str) -> str:
        return f"\x1b[{sgr}m{text}\x1b[0m" if self.color else text

    def _plain(self, text: str) -> None:
        self._write(f"{time.strftime('%H:%M:%S')} {visible(text)}\n")

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed or broken stderr must never fail the run
            pass

    def stop(self) -> None:
        """No more events for this renderer; the terminal is left as found."""
        progress.install(None)
        self.close()

    def close(self) -> None:
        """Stop the ticker and leave the terminal as found (no half-drawn line, no open group)."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=1)
        with self._lock:
            self._clear()
            if self._group is not None:
                self._write("::endgroup::\n")
                self._group = None


def start(stream: Any) -> Renderer:
    """Install a renderer on ``stream`` (the raw stderr); the caller ``stop``s it."""
    isatty = getattr(stream, "isatty", None)
    tty = bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"
    renderer = Renderer(stream, tty=tty, actions=os.environ.get("GITHUB_ACTIONS") == "true",
                        color=tty and not os.environ.get("NO_COLOR"))
    progress.install(renderer)
    return renderer
