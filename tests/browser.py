"""Headless Chromium for the tests that look at a page: load it, read what a script measured, take a screenshot.

The report itself carries no script; a test copies it into a harness page (the CSP removed, a measuring
script appended) and reads the script's answer from the dumped DOM. Screenshots are decoded here (8-bit
PNG, the only kind Chromium writes) so no imaging library is needed.

One Chromium per test process (started on first use, stopped at session end or exit) serves every page
over the DevTools protocol on a pipe (``--remote-debugging-pipe``: fd 3 carries our commands, fd 4 its
answers and events, each message JSON ended by a NUL byte). A browser per page cost ~1 s of CPU each, 19
times a run: most of the suite's browser time was start-up. Each page gets its own browser context (no
cookie, cache or storage shared with the page before), its own window size, and a virtual-time budget like
``--virtual-time-budget`` so timers set by the page run before we read it.
"""

from __future__ import annotations

import atexit
import base64
import fcntl
import json
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import tempfile
import time
import zlib
from html import unescape
from pathlib import Path

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
          "--remote-debugging-pipe")
_CSP = re.compile(r'<meta http-equiv="Content-Security-Policy"[^>]*>')
BUDGET_MS = 3000  # virtual time the page's timers get after it starts loading, as --virtual-time-budget=3000
PAGE_TIMEOUT = 60.0  # real seconds a page may take, all steps together, before the test fails (not hangs)
START_TIMEOUT = 60.0
# what today's `--enable-logging=stderr` grep for ":CONSOLE" saw, and more: console calls, uncaught
# exceptions, and the browser's own log (CSP violations, failed loads, deprecations); a dialog too
_CONSOLE_EVENTS = ("Runtime.consoleAPICalled", "Runtime.exceptionThrown", "Log.entryAdded",
                   "Page.javascriptDialogOpening")


class BrowserError(AssertionError):
    """The browser did not answer in time, died, or refused: the test fails with what it said."""


class _Browser:
    """One Chromium on a DevTools pipe. Not thread-safe: one test at a time per process, as pytest runs."""

    def __init__(self) -> None:
        assert CHROMIUM is not None
        self.profile = tempfile.mkdtemp(prefix="chromium-tests-")
        self.stderr = open(os.path.join(self.profile, "stderr.log"), "w+b")  # noqa: SIM115 (kept for diagnostics)
        cmd_read, self._cmd = os.pipe()  # we write commands; Chromium reads them on its fd 3
        self._out, out_write = os.pipe()  # Chromium writes answers on its fd 4; we read them
        # above fd 4 so the dup2 onto 3 and 4 in the child cannot overwrite one with the other
        child = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (cmd_read, out_write)]
        os.close(cmd_read)
        os.close(out_write)

        def onto_3_and_4() -> None:
            os.dup2(child[0], 3)
            os.dup2(child[1], 4)

        try:
            self.proc = subprocess.Popen(
                [CHROMIUM, *_FLAGS, f"--user-data-dir={self.profile}/profile", "about:blank"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.stderr,
                pass_fds=(3, 4), preexec_fn=onto_3_and_4, start_new_session=True)  # noqa: PLW1509 (dup2 only)
        finally:
            for fd in child:
                os.close(fd)
        self._buf = b""
        self._next_id = 0
        self.events: list[dict] = []
        self.sessions: set[str] = set()  # the page's and its children's: whose console events count
        self.broken = False
        self.version = self.call("Browser.getVersion", deadline=time.monotonic() + START_TIMEOUT)

    # --- the pipe ------------------------------------------------------------------------------------------

    def alive(self) -> bool:
        return self.proc.poll() is None

    def _said(self) -> str:
        self.stderr.flush()
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace")[-2000:]

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> int:
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        data = json.dumps(msg).encode() + b"\0"
        try:
            while data:
                data = data[os.write(self._cmd, data):]
        except OSError as exc:
            raise BrowserError(f"chromium's pipe is closed ({exc}); it said:\n{self._said()}") from exc
        return self._next_id

    def _read_one(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError(f"chromium did not answer within the time allowed; it said:\n{self._said()}")
            ready, _, _ = select.select([self._out], [], [], left)
            if ready:
                chunk = os.read(self._out, 1 << 20)
                if not chunk:
                    raise BrowserError(f"chromium closed its pipe (exit {self.proc.poll()}); it said:\n{self._said()}")
                self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        msg = json.loads(raw)
        if msg.get("method") == "Page.javascriptDialogOpening":  # a dialog stops the page until answered
            self.send("Page.handleJavaScriptDialog", {"accept": False}, msg.get("sessionId"))
        elif msg.get("method") == "Target.attachedToTarget" and msg.get("sessionId") in self.sessions:
            self._watch(msg["params"]["sessionId"])  # a worker or out-of-process frame of the page: its console too
        return msg

    def _watch(self, session: str) -> None:
        """Console, exceptions and log of ``session`` and of what it starts, before its first script runs (it
        waits for us; the answers are not awaited, ``call`` passes over them)."""
        self.sessions.add(session)
        for method, params in (("Runtime.enable", {}), ("Log.enable", {}),
                               ("Target.setAutoAttach", {"autoAttach": True, "waitForDebuggerOnStart": True,
                                                         "flatten": True}),
                               ("Runtime.runIfWaitingForDebugger", {})):
            self.send(method, params, session)

    def call(self, method: str, params: dict | None = None, session: str | None = None, *,
             deadline: float) -> dict:
        """The result of one command; events that arrive meanwhile are kept for :meth:`wait_for`."""
        wanted = self.send(method, params, session)
        while True:
            msg = self._read_one(deadline)
            if msg.get("id") == wanted:
                if "error" in msg:
                    raise BrowserError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def wait_for(self, session: str, method: str, deadline: float, match=lambda params: True) -> dict:
        """The first event ``method`` of ``session`` whose params ``match``, kept or yet to come."""
        pos = 0
        while True:
            for ev in self.events[pos:]:
                if ev.get("sessionId") == session and ev["method"] == method and match(ev.get("params", {})):
                    return ev["params"]
            pos = len(self.events)
            msg = self._read_one(deadline)
            if "method" in msg:
                self.events.append(msg)

    def close(self) -> None:
        if self.alive():
            try:
                self.send("Browser.close")
                self.proc.wait(timeout=10)
            except (BrowserError, subprocess.TimeoutExpired):
                pass
        if self.alive():
            self.proc.kill()
            self.proc.wait()
        try:  # its own session: helpers that outlived it (a renderer stuck in a script) go too
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for fd in (self._cmd, self._out):
            try:
                os.close(fd)
            except OSError:
                pass
        self.stderr.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    # --- a page ----------------------------------------------------------------------------------------------

    def load(self, url: str, width: int, height: int, then) -> tuple[object, list[dict]]:
        """``then(session, deadline)`` on ``url`` loaded in a fresh context at ``width`` x ``height`` px, after
        its load event and the virtual-time budget; with the console events the page caused."""
        deadline = time.monotonic() + PAGE_TIMEOUT
        self.events.clear()
        self.sessions.clear()
        context_id = self._own("Target.createBrowserContext", {"disposeOnDetach": True}, deadline)["browserContextId"]
        try:
            result, console = self._in_context(context_id, url, width, height, then, deadline)
        except Exception:
            # the context and its renderer go (a script stuck in a loop with them); the browser stays
            self._own("Target.disposeBrowserContext", {"browserContextId": context_id}, time.monotonic() + 10)
            raise
        self._own("Target.disposeBrowserContext", {"browserContextId": context_id}, deadline)
        return result, console

    def _own(self, method: str, params: dict, deadline: float) -> dict:
        """A command to the browser itself: if it fails the browser is not trusted with the next page."""
        try:
            return self.call(method, params, deadline=deadline)
        except BrowserError:
            self.broken = True
            raise

    def _in_context(self, context_id: str, url: str, width: int, height: int, then, deadline: float):
        target = self.call("Target.createTarget", {"url": "about:blank", "browserContextId": context_id,
                                                   "width": width, "height": height}, deadline=deadline)
        session = self.call("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True},
                            deadline=deadline)["sessionId"]
        self._watch(session)
        for method, params in (("Page.enable", {}), ("Page.setLifecycleEventsEnabled", {"enabled": True}),
                               ("Emulation.setDeviceMetricsOverride",
                                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})):
            self.call(method, params, session, deadline=deadline)
        nav = self.call("Page.navigate", {"url": url}, session, deadline=deadline)
        if nav.get("errorText"):
            raise BrowserError(f"{url}: {nav['errorText']}")
        self.wait_for(session, "Page.lifecycleEvent", deadline,
                      lambda p: p.get("name") == "load" and p.get("loaderId") == nav.get("loaderId"))
        # then the timers: virtual time from the load on (a budget set before the navigation can run out
        # before the new document commits, and the page then stalls with its time paused)
        self.call("Emulation.setVirtualTimePolicy", {"policy": "pauseIfNetworkFetchesPending", "budget": BUDGET_MS},
                  session, deadline=deadline)
        self.wait_for(session, "Emulation.virtualTimeBudgetExpired", deadline)
        self.call("Emulation.setVirtualTimePolicy", {"policy": "advance"}, session, deadline=deadline)
        result = then(session, deadline)
        console = [ev for ev in self.events if ev.get("sessionId") in self.sessions
                   and ev["method"] in _CONSOLE_EVENTS]
        return result, console


_ONE: list[_Browser] = []


def browser() -> _Browser:
    """This process's Chromium, started on first use and again if it died."""
    if _ONE and (_ONE[0].broken or not _ONE[0].alive()):
        _ONE.pop().close()
    if not _ONE:
        _ONE.append(_Browser())
    return _ONE[0]


def close() -> None:
    """Stop this process's Chromium (session end; at exit too, should the session not end cleanly)."""
    while _ONE:
        _ONE.pop().close()


atexit.register(close)


def _load(page: Path, width: int, height: int, then) -> tuple[object, list[dict]]:
    return browser().load(page.as_uri(), width, height, then)


def _dom(b: _Browser, session: str, deadline: float) -> str:
    got = b.call("Runtime.evaluate", {"expression": "(document.doctype ? new XMLSerializer().serializeToString("
                                                    "document.doctype) + '\\n' : '') + document.documentElement.outerHTML",
                                      "returnByValue": True}, session, deadline=deadline)
    if "exceptionDetails" in got:
        raise BrowserError(f"reading the DOM failed: {got['exceptionDetails']}")
    return got["result"]["value"]


def console_lines(events: list[dict]) -> list[str]:
    """One line per console event, each carrying ``:CONSOLE`` as Chromium's own stderr log does."""
    lines = []
    for ev in events:
        p = ev.get("params", {})
        if ev["method"] == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", a.get("type")))) for a in p.get("args", []))
            what = f"console.{p.get('type')}: {text}"
        elif ev["method"] == "Runtime.exceptionThrown":
            details = p.get("exceptionDetails", {})
            what = f"uncaught: {details.get('exception', {}).get('description') or details.get('text')}"
        elif ev["method"] == "Log.entryAdded":
            entry = p.get("entry", {})
            what = f"{entry.get('source')} {entry.get('level')}: {entry.get('text')} {entry.get('url', '')}"
        else:
            what = f"dialog {p.get('type')}: {p.get('message')}"
        lines.append(f"[browser:CONSOLE] {json.dumps(what)}")
    return lines


def harness(html: str, script: str) -> str:
    """The page without its CSP (so the harness script may run) and with ``script`` at the end of the body."""
    return _CSP.sub("", html).replace("</body>", f"<script>{script}</script></body>")


def measure(html: str, script: str, workdir: Path, width: int = 1280, height: int = 900) -> object:
    """What ``script`` left as JSON in ``<pre id="measured">``, with the page laid out at ``width`` px."""
    page = workdir / "measure.html"
    page.write_text(harness(html, script), "utf-8")
    dom, console = _load(page, width, height, lambda s, d: _dom(browser(), s, d))
    found = re.search(r'<pre id="measured">(.*?)</pre>', dom, re.S)
    assert found, ("no <pre id=measured> in the page", console_lines(console), dom[-2000:])
    return json.loads(unescape(found.group(1)))


def dump_dom(page: Path, workdir: Path, width: int = 1280, height: int = 900) -> tuple[str, str]:
    """The DOM serialised after load and the budget, and the console log (one ``:CONSOLE`` line per message)."""
    dom, console = _load(page, width, height, lambda s, d: _dom(browser(), s, d))
    return dom, "\n".join(console_lines(console))


def screenshot(page: Path, out: Path, workdir: Path, width: int, height: int) -> Path:
    """``page`` painted at ``width`` x ``height`` px into the PNG ``out``."""
    def shoot(session: str, deadline: float) -> bytes:
        got = browser().call("Page.captureScreenshot", {"format": "png"}, session, deadline=deadline)
        return base64.b64decode(got["data"])

    png, _ = _load(page, width, height, shoot)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (width, height), png[:24]
    out.write_bytes(png)
    return out


def read_png(path: Path) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB(A) bytes) of a non-interlaced 8-bit PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, head = 8, [], b""
    while pos < len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + size]
        if kind == b"IHDR":
            head = body
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + size
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", head)
    assert depth == 8 and interlace == 0 and colour in (2, 6), (depth, colour, interlace)
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up, corner = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        rows.append(bytes(line) if bpp == 3 else bytes(b for j, b in enumerate(line) if j % 4 != 3))
        prev = line
    return width, height, rows
