"""Build real git repositories in temporary directories for tests.

Tests of anything that reads git history should run against what git really writes (merge
parents, first-parent diffs, time zones, quoting), not against hand-made dictionaries that
can only agree with the code's own assumptions. This helper keeps that cheap and
deterministic:

- the user's and the system's git configuration are ignored (``GIT_CONFIG_GLOBAL=/dev/null``,
  ``GIT_CONFIG_NOSYSTEM=1``; signing off), so a developer's aliases, hooks or signing setup
  cannot change what a test sees;
- every commit gets an explicit date. Without one, a clock tick stands in: each commit is one
  minute after the previous one, starting 2026-02-24T00:00:00Z, so no test ever sleeps and
  ordering by date is stable;
- dates are ISO 8601 strings with any offset (``"2026-02-25T00:31:02-08:00"``) or aware
  datetimes; the offset is kept, as real committers in several time zones produce.

Example::

    repo = GitRepo(tmp_path / "repo").init()
    base = repo.commit("initial", {"README.md": "hi"})
    repo.branch("agent/enc-tsk-734-fix")
    repo.commit("fix ENC-TSK-734", {"backend/app.py": "x = 1\\n"})
    repo.checkout("main")
    merge = repo.merge_pr(12, "NX-2021-L", "agent/enc-tsk-734-fix", "Fix the thing")
    sq = repo.squash(13, "Tidy docs", {"docs/a.md": "a"})
    repo.commit("drop file", {"README.md": None})   # None deletes

Every commit method returns the new commit's full sha.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

_EPOCH = datetime(2026, 2, 24, tzinfo=timezone.utc)

DateLike = str | datetime | None


class GitRepo:
    """A repository on disk plus a deterministic clock; see the module docstring."""

    def __init__(self, path: str | os.PathLike[str], *, author: str = "Test Author",
                 email: str = "author@example.invalid"):
        self.path = Path(path)
        self.author = author
        self.email = email
        self._tick = 0

    # -- plumbing ---------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        """An environment that isolates git from the machine's configuration."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update(
            GIT_CONFIG_GLOBAL=os.devnull,
            GIT_CONFIG_NOSYSTEM="1",
            GIT_AUTHOR_NAME=self.author,
            GIT_AUTHOR_EMAIL=self.email,
            GIT_COMMITTER_NAME=self.author,
            GIT_COMMITTER_EMAIL=self.email,
            GIT_TERMINAL_PROMPT="0",
            LC_ALL="C",
        )
        return env

    def git(self, *args: str, env: dict[str, str] | None = None, cwd: str | os.PathLike[str] | None = None,
            input: bytes | None = None) -> str:
        """Run git in the repository; raise with git's own message on failure."""
        proc = subprocess.run(
            ["git", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", *args],
            cwd=cwd or self.path,
            env=env or self.env(),
            capture_output=True,
            input=input,
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"git {' '.join(args)} failed ({proc.returncode}): {proc.stderr.decode(errors='replace')}"
            )
        return proc.stdout.decode("utf-8", "replace").strip()

    def _date(self, value: DateLike) -> str:
        if value is None:
            self._tick += 1
            value = _EPOCH + timedelta(minutes=self._tick)
        if isinstance(value, datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=timezone.utc)
            return value.isoformat()
        return value

    def _commit_env(self, author_date: DateLike, committer_date: DateLike,
                    author: str | None, committer: str | None) -> dict[str, str]:
        env = self.env()
        a_date = self._date(author_date)
        env["GIT_AUTHOR_DATE"] = a_date
        env["GIT_COMMITTER_DATE"] = self._date(committer_date) if committer_date is not None else a_date
        if author is not None:
            env["GIT_AUTHOR_NAME"] = author
        if committer is not None:
            env["GIT_COMMITTER_NAME"] = committer
        return env

    def _write(self, files: dict[str, str | bytes | None]) -> None:
        """The files written (or deleted) in the working tree and staged with one ``git rm`` and one
        ``git add`` for all of them: the index ends as one call per file left it (each path appears
        once), and each git call costs ~5 ms of CPU (fork, exec, git's start), ~600 a run of the suite."""
        removed, added = [], []
        for name, content in files.items():
            target = self.path / name
            if content is None:
                removed.append(name)
                if target.exists():
                    target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_bytes(content.encode("utf-8"))
            added.append(name)
        if removed:
            self.git("rm", "-q", "--cached", "--ignore-unmatch", "--", *removed)
        if added:
            self.git("add", "--", *added)

    def head(self) -> str:
        """HEAD's commit, read from the ref file a commit or merge just wrote (git writes a moved branch
        as a loose ref); ``rev("HEAD")`` where that does not apply (a packed ref, ``.git`` as a file)."""
        git_dir = self.path / ".git"
        try:
            head = (git_dir / "HEAD").read_text("ascii").strip()
            if head.startswith("ref: "):
                ref = head[5:]
                if ref.startswith("refs/") and ".." not in ref:
                    head = (git_dir / ref).read_text("ascii").strip()
            if len(head) in (40, 64) and all(c in "0123456789abcdef" for c in head):
                return head
        except (OSError, UnicodeDecodeError):
            pass
        return self.rev("HEAD")

    # -- porcelain --------------------------------------------------------------------------

    def init(self, branch: str = "main") -> GitRepo:
        self.path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", branch)
        return self

    def commit(self, message: str, files: dict[str, str | bytes | None] | None = None, *,
               author_date: DateLike = None, committer_date: DateLike = None,
               author: str | None = None, committer: str | None = None) -> str:
        """Commit ``files`` (path -> text, bytes, or None to delete) on the current branch."""
        self._write(files or {})
        env = self._commit_env(author_date, committer_date, author, committer)
        # the message goes through stdin: no argument-length limit, any bytes but NUL
        self.git("commit", "-q", "--allow-empty", "--no-verify", "--cleanup=verbatim", "-F", "-",
                 env=env, input=message.encode("utf-8"))
        return self.head()

    def branch(self, name: str, from_: str = "HEAD", *, checkout: bool = True) -> None:
        """Create a branch (and switch to it, as a PR author would)."""
        self.git("branch", name, from_)
        if checkout:
            self.checkout(name)

    def checkout(self, name: str) -> None:
        self.git("checkout", "-q", name)

    def merge_pr(self, number: int, owner: str, branch: str, title: str, *, date: DateLike = None,
                 body: str = "", author: str | None = None) -> str:
        """Merge ``branch`` into the current branch the way GitHub's "Create a merge commit" does."""
        message = f"Merge pull request #{number} from {owner}/{branch}\n\n{title}"
        if body:
            message += f"\n\n{body}"
        return self.merge(branch, message, date=date, author=author)

    def merge(self, branch: str, message: str, *, date: DateLike = None, author: str | None = None) -> str:
        """A two-parent merge with an arbitrary message (e.g. a non-GitHub merge)."""
        env = self._commit_env(date, None, author, None)
        self.git("merge", "-q", "--no-ff", "--no-edit", "--no-verify", "--cleanup=verbatim",
                 "-m", message, branch, env=env)
        return self.head()

    def squash(self, number: int, title: str, files: dict[str, str | bytes | None] | None = None, *,
               branch: str | None = None, date: DateLike = None, body: str = "",
               author: str | None = None) -> str:
        """A single-parent ``<title> (#N)`` commit, as GitHub's "Squash and merge" writes it.

        With ``branch``, the branch's changes are squashed in; ``files`` are applied on top.
        """
        if branch is not None:
            self.git("merge", "-q", "--squash", branch)
        message = f"{title} (#{number})"
        if body:
            message += f"\n\n{body}"
        return self.commit(message, files, author_date=date, author=author)

    def rev(self, ref: str = "HEAD") -> str:
        return self.git("rev-parse", "--verify", f"{ref}^{{commit}}")

    def clone(self, dest: str | os.PathLike[str], *args: str) -> Path:
        """``git clone ARGS file://THIS DEST``; e.g. ``clone(p, "--bare")`` or ``clone(p, "--depth", "2")``."""
        dest = Path(dest)
        self.git("clone", "-q", *args, f"file://{self.path.resolve()}", str(dest), cwd=dest.parent)
        return dest

    def copy(self, dest: str | os.PathLike[str]) -> GitRepo:
        """A byte-for-byte copy of the working tree and ``.git`` at ``dest``, with the same clock: the
        copy's next commit gets the SHA this repository's next commit would. A repository is
        relocatable, so a fixture built once can be handed to every test as a fresh copy."""
        shutil.copytree(self.path, dest, symlinks=True)
        twin = GitRepo(dest, author=self.author, email=self.email)
        twin._tick = self._tick
        return twin

