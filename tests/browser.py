"""Headless Chromium for the tests that look at a page: load it, read what a script measured, take a screenshot.

The report itself carries no script; a test copies it into a harness page (the CSP removed, a measuring
script appended) and reads the script's answer from the dumped DOM. Screenshots are decoded here (8-bit
PNG, the only kind Chromium writes) so no imaging library is needed.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import zlib
from html import unescape
from pathlib import Path

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars")
_CSP = re.compile(r'<meta http-equiv="Content-Security-Policy"[^>]*>')


def _run(page: Path, profile: Path, width: int, height: int, *action: str) -> subprocess.CompletedProcess[str]:
    profile.mkdir(parents=True, exist_ok=True)
    assert CHROMIUM is not None
    return subprocess.run([CHROMIUM, *_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
                           "--virtual-time-budget=3000", *action, page.as_uri()],
                          capture_output=True, text=True, timeout=120, check=False)


def harness(html: str, script: str) -> str:
    """The page without its CSP (so the harness script may run) and with ``script`` at the end of the body."""
    return _CSP.sub("", html).replace("</body>", f"<script>{script}</script></body>")


def measure(html: str, script: str, workdir: Path, width: int = 1280, height: int = 900) -> object:
    """What ``script`` left as JSON in ``<pre id="measured">``, with the page laid out at ``width`` px."""
    page = workdir / "measure.html"
    page.write_text(harness(html, script), "utf-8")
    proc = _run(page, workdir / "profile-measure", width, height, "--dump-dom")
    found = re.search(r'<pre id="measured">(.*?)</pre>', proc.stdout, re.S)
    assert found, proc.stderr[-2000:]
    return json.loads(unescape(found.group(1)))


def dump_dom(page: Path, workdir: Path, width: int = 1280, height: int = 900) -> tuple[str, str]:
    proc = _run(page, workdir / f"profile-dom-{page.stem}", width, height, "--enable-logging=stderr", "--v=0",
                "--dump-dom")
    return proc.stdout, proc.stderr


def screenshot(page: Path, out: Path, workdir: Path, width: int, height: int) -> Path:
    proc = _run(page, workdir / f"profile-shot-{page.stem}", width, height, f"--screenshot={out}")
    assert out.exists(), proc.stderr[-2000:]
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
