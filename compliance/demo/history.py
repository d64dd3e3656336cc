"""An in-memory commit history: each commit records its complete tree, its people and dates.

The shapes GitHub gives merges (``squash``, ``pr_merge``, plain ``merge``, ``direct`` pushes)
are methods here so the story reads as what happened on the branch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from compliance.demo.system import GITHUB_P, OWNER, UTC, Person
from compliance.demo.tree import initial_tree

Change = Callable[[dict[str, str]], None]


@dataclass
class Commit:
    """One commit as fast-import writes it; ``key`` names it for the data builders (``"tsk370"``)."""

    key: str
    message: str
    author: Person
    authored: datetime
    committer: Person
    committed: datetime
    parents: list[str]
    tree: dict[str, str]
    ref: str


@dataclass
class History:
    """Builds commits in memory; each commit records its complete tree."""

    commits: list[Commit] = field(default_factory=list)
    by_key: dict[str, Commit] = field(default_factory=dict)
    main: str | None = None

    def _add(self, commit: Commit) -> Commit:
        self.commits.append(commit)
        self.by_key[commit.key] = commit
        return commit

    def _tree_of(self, key: str | None) -> dict[str, str]:
        return dict(self.by_key[key].tree) if key else initial_tree()

    def root(self, key: str, subject: str, who: Person, when: datetime) -> None:
        self._add(Commit(key, subject, who, when, who, when, [], initial_tree(), "refs/heads/main"))
        self.main = key

    def direct(self, key: str, subject: str, who: Person, when: datetime, *changes: Change,
               body: str = "") -> None:
        tree = self._tree_of(self.main)
        for change in changes:
            change(tree)
        message = subject + (f"\n\n{body}" if body else "")
        self._add(Commit(key, message, who, when, who, when, [self.main], tree, "refs/heads/main"))
        self.main = key

    def squash(self, key: str, pr: int, title: str, who: Person, when: datetime, *changes: Change,
               body: str = "") -> None:
        """GitHub "Squash and merge": one parent, committed by GitHub in UTC."""
        tree = self._tree_of(self.main)
        for change in changes:
            change(tree)
        message = f"{title} (#{pr})" + (f"\n\n{body}" if body else "")
        self._add(Commit(key, message, who, when, GITHUB_P, when.astimezone(UTC), [self.main], tree,
                          "refs/heads/main"))
        self.main = key

    def branch(self, branch: str, commits: list[tuple[str, str, Person, datetime, list[Change]]]) -> str:
        """Side-branch commits forked from the current main; returns the branch tip key."""
        parent = self.main
        for key, subject, who, when, changes in commits:
            tree = self._tree_of(parent)
            for change in changes:
                change(tree)
            self._add(Commit(key, subject, who, when, who, when, [parent], tree,
                              f"refs/heads/demo-side/{branch}"))
            parent = key
        return parent

    def merge(self, key: str, subject: str, body: str, tip: str, who: Person, when: datetime,
              committer: Person | None = None) -> None:
        """A two-parent merge; the side branch forked from main and main did not move since."""
        tree = dict(self.by_key[tip].tree)
        committed = when.astimezone(UTC) if committer == GITHUB_P else when
        message = subject + (f"\n\n{body}" if body else "")
        self._add(Commit(key, message, who, when, committer or who, committed, [self.main, tip], tree,
                          "refs/heads/main"))
        self.main = key

    def pr_merge(self, key: str, pr: int, branch: str, title: str, who: Person, when: datetime,
                 commits: list[tuple[str, str, Person, datetime, list[Change]]]) -> None:
        """GitHub "Create a merge commit": subject names the branch, body line 1 is the PR title."""
        tip = self.branch(branch, commits)
        self.merge(key, f"Merge pull request #{pr} from {OWNER}/{branch}", title, tip, who, when,
                   committer=GITHUB_P)
