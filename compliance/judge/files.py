"""Repository files as a rule judges them: as of the window's end, and as they were at any commit.

The git source reads the files at the window's end (its ``files_ref``) and every version of them on
the collected chain (``file_versions``, each distinct content once); this is the one place that
turns those into "the text a rule read, and which commit it came from", so every file finding can
name the ref it judged and per-change rules can read the file in force at that change.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import Any

from compliance.judge.history import History


class RepoFiles:
    """The files of one git snapshot: ``text`` as of the window's end, ``blob_at`` any chain position."""

    def __init__(self, git: dict[str, Any], history: History | None = None):
        self.files: dict[str, str | None] = git.get("files_at_head") or {}
        ref = git.get("files_ref")
        if ref is None and "files_ref" not in git:  # older snapshots read the files at the head
            ref = {"sha": git.get("head") or "", "committed_at": None}
        self.ref: dict[str, Any] | None = ref
        versions = git.get("file_versions") or {}
        self._blobs: dict[str, str] = versions.get("blobs") or {}
        self._history = history
        self._inert: dict[str | None, str | None] = {}
        self._versions: dict[str, tuple[list[int], list[str | None]]] = {}
        if history is not None:
            for path, entries in (versions.get("paths") or {}).items():
                pos = [(history.position.get(e["sha"]), e["blob"]) for e in entries]
                pos = sorted((p, b) for p, b in pos if p is not None)
                self._versions[path] = ([p for p, _ in pos], [b for _, b in pos])

    def collected(self, path: str) -> bool:
        return path in self.files

    def text(self, path: str) -> str | None:
        return self.files.get(path)

    @property
    def ref_sha(self) -> str | None:
        return (self.ref or {}).get("sha") or None

    @property
    def label(self) -> str:
        """``as of 6268ae46, 2026-03-31``: the commit a file finding judged, named in its message."""
        if not self.ref_sha:
            return "as of the window's end (no commit of the branch is that old)"
        when = (self.ref or {}).get("committed_at")
        return f"as of {self.ref_sha[:8]}, {when[:10]}" if when else f"as of {self.ref_sha[:8]}"

    def blob_at(self, path: str, position: int) -> tuple[int | None, str | None]:
        """``(set_at, blob)``: the version in force after the commit at ``position``, and the chain
        position of the commit that set it.

        ``set_at`` is None (unknown) when the path's versions were not collected or the position is
        before the first collected commit; a None blob with a position is a file absent there."""
        entry = self._versions.get(path)
        if entry is None or position < 0:
            return None, None
        positions, blobs = entry
        i = bisect.bisect_right(positions, position) - 1
        if i < 0:
            return None, None
        return positions[i], blobs[i]

    def text_of(self, blob: str | None) -> str | None:
        return self._blobs.get(blob) if blob is not None else None

    def commit_label(self, position: int) -> str:
        h = self._history
        if h is None or not 0 <= position < len(h.commits):
            return "before the collected history"
        c = h.commits[position]
        return f"{c['sha'][:8]}, {c['committed_at'][:10]}"

    def deployed_nothing(self, path: str, position: int, judge: Callable[[str], Any]) -> str | None:
        """Why a run of the commit at ``position`` could deploy nothing: the deploy script in force
        there was absent or a tombstone (runs kept succeeding while deploy.sh was a comment). None
        when it deploys, or when its version there is unknown (nothing to refuse the run on).
        ``judge`` is the deploy-script verdict (``shell.deploy_script.judge_deploy_script`` for the function)."""
        set_at, blob = self.blob_at(path, position)
        if set_at is None:
            return None
        if blob not in self._inert:
            text = self.text_of(blob)
            if text is None:
                self._inert[blob] = f"{path} did not exist"
            else:
                verdict = judge(text)
                self._inert[blob] = None if verdict.ok else f"{path} was a tombstone ({verdict.message})"
        why = self._inert[blob]
        return f"it deployed nothing: {why} as of {self.commit_label(set_at)}, the version its commit ran" if why else None
