"""The ``git fast-import`` stream of a history: one process writes the whole repository.

Author and committer dates, time zones and identities are all in the stream, so the SHAs are
identical on every machine. Kept in its own module so the benchmarks and tests can share one
writer.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from compliance.demo.history import History


def _raw_date(dt: datetime) -> str:
    offset = dt.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{int(dt.timestamp())} {sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def _data(text: str) -> bytes:
    raw = text.encode("utf-8")
    return b"data %d\n" % len(raw) + raw + b"\n"


def fast_import_stream(history: History) -> bytes:
    """The stream for ``git fast-import --done``: marks in commit order, each commit's whole tree.

    ``deleteall`` then every file inline, so a commit's tree is exactly the one the history holds
    (moves and deletions need no bookkeeping); only ``*.sh`` files are executable.
    """
    marks = {c.key: i for i, c in enumerate(history.commits, start=1)}
    out: list[bytes] = []
    for c in history.commits:
        out.append(f"commit {c.ref}\nmark :{marks[c.key]}\n".encode())
        out.append(f"author {c.author[0]} <{c.author[1]}> {_raw_date(c.authored)}\n".encode())
        out.append(f"committer {c.committer[0]} <{c.committer[1]}> {_raw_date(c.committed)}\n".encode())
        out.append(_data(c.message + "\n"))
        if c.parents:
            out.append(f"from :{marks[c.parents[0]]}\n".encode())
        for extra in c.parents[1:]:
            out.append(f"merge :{marks[extra]}\n".encode())
        out.append(b"deleteall\n")
        for path in sorted(c.tree):
            mode = "100755" if path.endswith(".sh") else "100644"
            out.append(f"M {mode} inline {path}\n".encode())
            out.append(_data(c.tree[path]))
        out.append(b"\n")
    out.append(b"done\n")
    return b"".join(out)
