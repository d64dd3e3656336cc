"""The local pre-merge check: the current branch judged as the pull request it would become, without GitHub.

``compliance pr --base origin/main`` builds, from git alone, the same pull-request record that
``sources.github.fetch_pull_request`` reads from GitHub: the files of the merge-base diff
(``git diff base...head``, renames and deletions listed as GitHub lists them), the head commit's
message as title and body, and the branch name. ``app.pr.pr_snapshot`` then makes the same snapshot
from it, so a branch that breaks a rule fails here exactly as the PR check on GitHub fails on it, and
the snapshot it writes replays with ``evaluate --snapshot``. Nothing is published.
"""

from __future__ import annotations

from typing import Any

from compliance.base.errors import ComplianceError
from compliance.sources.base import Meter
from compliance.sources.git import GitRunner

# git diff --name-status letters -> the "status" GitHub's pull-request files API gives the same change
GITHUB_STATUS = {"A": "added", "D": "removed", "M": "modified", "T": "changed", "R": "renamed", "C": "copied"}
LOCAL_NUMBER = 0  # not opened yet: no number (``--pr N`` names one); the snapshot still is a PR snapshot


def _git(runner: GitRunner, *args: str) -> str:
    rc, out, err = runner.run(*args)
    if rc != 0:
        raise ComplianceError(f"git {args[0]} failed in {runner.repo}: "
                              f"{err.decode('utf-8', 'replace').strip() or f'exit {rc}'}")
    return out.decode("utf-8", "replace")


def _commit(runner: GitRunner, ref: str, option: str) -> str:
    """The full SHA a ref names; a ref that reads as an option is refused, not passed to git."""
    if not ref or ref.startswith("-"):
        raise ComplianceError(f"{option}: not a git ref: {ref!r}")
    rc, out, _ = runner.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if rc != 0:
        raise ComplianceError(f"{option}: {ref!r} names no commit in {runner.repo} (fetch it first?)")
    return out.decode().strip()


def changed_files(raw: str) -> list[dict[str, Any]]:
    """``git diff --name-status -z -M`` output as GitHub's pull-request file entries."""
    tokens = raw.split("\0")
    files, i = [], 0
    while i < len(tokens) and tokens[i]:
        letter = tokens[i][:1]
        if letter in ("R", "C"):
            old, new = tokens[i + 1], tokens[i + 2]
            files.append({"filename": new, "status": GITHUB_STATUS[letter], "previous_filename": old})
            i += 3
        else:
            files.append({"filename": tokens[i + 1], "status": GITHUB_STATUS.get(letter, "modified")})
            i += 2
    return files


def _branch(runner: GitRunner, head: str) -> str | None:
    """The head's branch name as GitHub's ``head.ref`` says it (no ``refs/heads/``); None when detached."""
    if head == "HEAD":
        rc, out, _ = runner.run("symbolic-ref", "--short", "--quiet", "HEAD")
        return out.decode().strip() or None if rc == 0 else None
    rc, out, _ = runner.run("rev-parse", "--symbolic-full-name", head)
    name = out.decode().strip() if rc == 0 else ""
    for prefix in ("refs/heads/", "refs/remotes/"):
        if name.startswith(prefix):
            name = name[len(prefix):]
            return name.split("/", 1)[1] if prefix == "refs/remotes/" and "/" in name else name
    return None


def local_pull_request(repo: str, base: str, head: str = "HEAD", *, title: str | None = None,
                       body: str | None = None, number: int | None = None, meter: Meter | None = None,
                       base_ref: str | None = None) -> dict[str, Any]:
    """The pull request ``head`` would open against ``base``, in ``fetch_pull_request``'s shape."""
    runner = GitRunner(repo, meter or Meter())
    head_sha, base_sha = _commit(runner, head, "--head"), _commit(runner, base, "--base")
    rc, out, _ = runner.run("merge-base", base_sha, head_sha)
    if rc != 0:
        raise ComplianceError(f"--base {base} and --head {head} share no history: nothing to compare")
    merge_base = out.decode().strip()
    diff = _git(runner, "diff", "--name-status", "-z", "-M", "--no-ext-diff", "--no-textconv", "--no-color",
                merge_base, head_sha, "--")
    message = _git(runner, "show", "-s", "--format=%B", head_sha).strip("\n")
    subject, _, rest = message.partition("\n")
    return {
        "number": number or LOCAL_NUMBER,
        "title": subject.strip() if title is None else title,
        "body": rest.strip() if body is None else body,
        "head_sha": head_sha,
        "head_ref": _branch(runner, head),
        "base_ref": base_ref,
        "html_url": None,
        "user": None,
        "files": changed_files(diff),
        "warnings": [],
    }


__all__ = ["GITHUB_STATUS", "LOCAL_NUMBER", "changed_files", "local_pull_request"]
