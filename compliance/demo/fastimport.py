"""The ``git fast-import`` stream of a history: one process writes the whole repository.

Author and committer dates, time zones and identities are all in the stream, so the SHAs are
identical on every machine. Kept in its own module so the benchmarks and tests can share one
writer.
"""

from __future__ import annotations

from compliance.base import synthetic
from compliance.demo.history import History


def fast_import_stream(history: History) -> bytes:
    """The stream for ``git fast-import --done``: marks in commit order, each commit's whole tree.

    ``deleteall`` then every file inline, so a commit's tree is exactly the one the history holds
    (moves and deletions need no bookkeeping); only ``*.sh`` files are executable.
    """
    marks = {c.key: i for i, c in enumerate(history.commits, start=1)}
    return b"".join(
        synthetic.commit(c.ref, marks[c.key], f"{c.author[0]} <{c.author[1]}>", synthetic.raw_date(c.authored),
                         f"{c.committer[0]} <{c.committer[1]}>", synthetic.raw_date(c.committed), c.message + "\n",
                         [marks[p] for p in c.parents],
                         [("100755" if path.endswith(".sh") else "100644", path, c.tree[path].encode("utf-8"))
                          for path in sorted(c.tree)], deleteall=True)
        for c in history.commits) + b"done\n"
