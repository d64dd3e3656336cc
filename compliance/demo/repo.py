"""Writing the demo repository with git, and reading back its commit and tree ids."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from compliance.demo.fastimport import fast_import_stream
from compliance.demo.history import History
from compliance.demo.story import story
from compliance.demo.system import BRANCH, OWNER_P, REPO


def _git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": OWNER_P[0],
        "GIT_AUTHOR_EMAIL": OWNER_P[1],
        "GIT_COMMITTER_NAME": OWNER_P[0],
        "GIT_COMMITTER_EMAIL": OWNER_P[1],
        "GIT_AUTHOR_DATE": "2026-02-12T10:00:00-08:00",
        "GIT_COMMITTER_DATE": "2026-02-12T10:00:00-08:00",
        "LC_ALL": "C",
    })
    return env


def _git(repo: Path, *args: str, stdin: bytes | None = None) -> str:
    proc = subprocess.run(
        ["git", "-c", "commit.gpgsign=false", "-c", "core.autocrlf=false", *args],
        cwd=repo, input=stdin, capture_output=True, env=_git_env(), check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {proc.stderr.decode('utf-8', 'replace').strip()}")
    return proc.stdout.decode("utf-8")


def build_repo(repo: Path, history: History) -> dict[str, str]:
    """Write the history into a fresh repository; return commit key -> SHA."""
    repo.mkdir(parents=True)
    _git(repo, "init", "-q", "-b", BRANCH)
    _git(repo, "config", "commit.gpgsign", "false")
    marks_file = repo / ".git" / "demo-marks"
    _git(repo, "fast-import", "--quiet", "--done", f"--export-marks={marks_file}",
         stdin=fast_import_stream(history))
    by_mark = dict(line.split(" ", 1) for line in marks_file.read_text().split("\n") if line)
    marks_file.unlink()
    shas = {c.key: by_mark[f":{i}"].strip() for i, c in enumerate(history.commits, start=1)}
    # Merged side branches are deleted on GitHub too; their commits stay reachable via the merges.
    side_refs = sorted({c.ref for c in history.commits if c.ref != f"refs/heads/{BRANCH}"})
    _git(repo, "update-ref", "--stdin", stdin="".join(f"delete {r}\n" for r in side_refs).encode())
    _git(repo, "reset", "-q", "--hard", BRANCH)
    return shas


def tree_ids(repo: Path) -> dict[str, str]:
    out = _git(repo, "log", "--format=%H %T", BRANCH)
    return dict(line.split(" ") for line in out.splitlines() if line)


def demo_commits(workdir: Path) -> dict[str, str]:
    """Commit key -> SHA of a built demo, so tests and docs can name commits by role."""
    repo = Path(workdir) / REPO
    history = story()
    subjects = {c.message.split("\n", 1)[0]: c.key for c in history.commits}
    out = _git(repo, "log", "--all", "--format=%H%x00%s", BRANCH)
    by_key: dict[str, str] = {}
    for line in out.splitlines():
        sha, subject = line.split("\x00", 1)
        key = subjects.get(subject)
        if key is not None:
            by_key.setdefault(key, sha)
    return by_key
