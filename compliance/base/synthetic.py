"""Synthetic history, written one way for the demo, the benchmarks and the tests.

The demo builds its governed repository, ``benchmarks/make_history.py`` a 50,000-commit one, and the
tests serve GitHub job payloads: each used to carry its own ``git fast-import`` writer or its own
generator of a job's timed steps. One writer keeps them agreeing on the format (a stream the demo
writes must stay byte-identical: its commit SHAs are in the demo's expected output).

Commits go through ``git fast-import`` rather than ``git commit``: seconds instead of an hour for
a long history. Blobs are inline, so no marks are spent on them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any


def data(payload: bytes) -> bytes:
    """A fast-import ``data`` command: the exact byte count, the bytes, a newline."""
    return b"data %d\n" % len(payload) + payload + b"\n"


def raw_date(dt: datetime) -> str:
    """fast-import's ``raw`` date: epoch seconds and the datetime's own UTC offset (``1772035200 -0800``)."""
    offset = dt.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{int(dt.timestamp())} {sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def commit(ref: str, mark: int, author: str, authored: str, committer: str, committed: str, message: str,
           parents: Sequence[int], files: Iterable[tuple[str, str, bytes]], *, deleteall: bool = False) -> bytes:
    """One ``commit`` command. ``author``/``committer`` are ``Name <email>``, their dates ``raw_date``
    strings; ``parents`` are marks (the first is ``from``, the rest ``merge``); ``files`` are
    ``(mode, path, content)``. ``deleteall`` makes ``files`` the whole tree instead of the changes."""
    out = [f"commit {ref}\nmark :{mark}\nauthor {author} {authored}\ncommitter {committer} {committed}\n".encode(),
           data(message.encode())]
    if parents:
        out.append(f"from :{parents[0]}\n".encode())
        out.extend(f"merge :{p}\n".encode() for p in parents[1:])
    if deleteall:
        out.append(b"deleteall\n")
    for mode, path, content in files:
        out.append(f"M {mode} inline {path}\n".encode())
        out.append(data(content))
    out.append(b"\n")
    return b"".join(out)


def z(dt: datetime) -> str:
    """GitHub's timestamp form: UTC, whole seconds, ``Z``."""
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def timed_step(number: int, name: str, start: datetime, seconds: int, conclusion: str) -> tuple[dict[str, Any],
                                                                                                 datetime]:
    """A completed job step as the GitHub API lists it, and the time it ended."""
    end = start + timedelta(seconds=seconds)
    return {"name": name, "status": "completed", "conclusion": conclusion, "number": number,
            "started_at": z(start), "completed_at": z(end)}, end


def completed_steps(start: datetime, durations: Sequence[tuple[str, int]]) -> tuple[list[dict[str, Any]],
                                                                                     datetime]:
    """Steps that all succeeded, one after another from ``start`` (``durations``: name, seconds)."""
    steps, t = [], start
    for number, (name, seconds) in enumerate(durations, start=1):
        step, t = timed_step(number, name, t, seconds, "success")
        steps.append(step)
    return steps, t
