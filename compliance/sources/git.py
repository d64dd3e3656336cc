"""The git source: what changed on the governed branch, read from a local clone.

A "change on main" is a first-parent commit and what it changed is its diff against its first
parent (a PR merge therefore carries everything the PR brought; side-branch commits never
appear). That is exactly ``git log --first-parent --diff-merges=first-parent``, so the whole
history is read by ONE ``git log`` process and parsed as a byte stream: per-commit processes
would make a 50,000-commit repository take minutes instead of about a second.

Git is driven by the command line rather than a library so that what is reported is what
``git log`` shows a human, and nothing is needed beyond git itself. Every option that user
or system configuration could change (renames, mailmap, signatures, quoting, colour, external
diff, root-commit diffs, log encoding) is pinned on the command line so the snapshot does not
depend on whose machine collected it.

Running git is ``git_runner``; turning its records into commits is ``git_history``; this module
is the source itself: the window, the files as of its head, and the warnings a reviewer must see.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from compliance.base.errors import ComplianceError
from compliance.base.ids import compile_pattern, find_task_ids
from compliance.base.timeutil import chain_span, iso, parse_time, utcnow
from compliance.sources.base import Meter
from compliance.sources.git_runner import GitRunner, _shallow_boundary, _text


def collect_git(
    repo: str,
    branch: str,
    since: datetime | None,
    *,
    until: datetime | None = None,
    id_pattern: str | None = None,
    files: Iterable[str] = (),
    meter: Meter | None = None,
) -> dict[str, Any]:
    """Collect the ``git`` snapshot object (``snapshot.schema.json#/$defs/git``).

    ``since`` compares committer time in UTC, per commit: committer dates on a first-parent
    chain are not monotonic (rebases, clock skew), so git's own ``--since`` cut-off could
    drop a commit that belongs in the window.

    The files the rules read are read as of the window's end (``until``; the branch head when
    None), not the head: a past window is judged by the workflow and script it had, and every
    version of them across the collected chain is kept (``file_versions``) for per-change rules.
    """
    meter = meter if meter is not None else Meter()
    compile_pattern(id_pattern)  # a bad pattern fails before any git work
    runner = GitRunner(repo, meter)
    git_dir, shallow = runner.probe()
    head, _ref = runner.resolve_branch(branch)
    meter.warnings.extend(runner.history_rewrites())

    boundary: set[str] = set()
    if shallow:
        boundary = _shallow_boundary(git_dir)
        meter.warnings.append(
            f"{repo} is a shallow clone: history before the shallow boundary is invisible, so "
            f"changes on {branch} may be missed; fetch the full history (git fetch --unshallow)"
        )

    since_utc = parse_time(since) if since is not None else None
    selected: list[str] | None = None  # None: the whole chain
    if since_utc is not None:
        selected, total = runner.select_since(head, since_utc.timestamp())
        if len(selected) == total:
            selected = None

    commits: list[dict[str, Any]] = []
    if selected is None or selected:
        for commit in runner.log(head, selected):
            commit["task_ids"] = find_task_ids(
                commit["subject"], commit["body"], commit["source_branch"] or "", pattern=id_pattern
            )
            commits.append(commit)
    commits.reverse()

    meter.warnings.extend(_date_order_warnings(commits, branch))
    meter.warnings.extend(_future_warnings(commits, branch))
    _duplicate_pr_warnings(commits, meter)
    for commit in commits:
        if commit["sha"] in boundary:
            meter.warnings.append(
                f"commit {commit['sha']} is at the shallow boundary: its parents are not in the "
                "clone, so it is reported as a root commit and its files are its whole tree"
            )

    wanted = list(dict.fromkeys(files))
    as_of = _as_of(commits, until)
    if as_of is None and commits:  # nothing on the branch is that old: no file existed yet
        files_at, ref, versions = dict.fromkeys(wanted), None, {"blobs": {}, "paths": {}}
    elif not commits:
        files_at, ref = (runner.read_files(head, wanted) if wanted else {}), {"sha": head, "committed_at": None}
        versions = {"blobs": {}, "paths": {}}
    else:
        files_at, versions = _read_versions(runner, commits, wanted, as_of)
        ref = {"sha": commits[as_of]["sha"], "committed_at": commits[as_of]["committed_at"]}
    return {
        "branch": branch,
        "head": head,
        "shallow": shallow,
        "commits": commits,
        "files_at_head": files_at,
        "files_ref": ref,
        "file_versions": versions,
    }


_CLOCK_SKEW = timedelta(minutes=5)  # as the engine's window (judge.history.CLOCK_SKEW): one as-of for both


def _as_of(commits: list[dict[str, Any]], until: datetime | None) -> int | None:
    """Chain position of the last commit at or before ``until`` (the window's end), as the engine finds
    the window's end (``chain_span``): a commit dated after the collection stays in. None: none is."""
    if not commits:
        return None
    if until is None:
        return len(commits) - 1
    times = [c["committed_at"] for c in commits]  # canonical UTC strings compare as times
    _, stop, _ = chain_span(times, None, iso(parse_time(until)), now=iso(utcnow() + _CLOCK_SKEW))
    return stop - 1 if stop > 0 else None


def _read_versions(runner: GitRunner, commits: list[dict[str, Any]], paths: list[str], as_of: int
                   ) -> tuple[dict[str, str | None], dict[str, Any]]:
    """The files at the as-of commit and every version of them on the collected chain.

    A version is read at the first collected commit and at each commit whose diff touches the path;
    between those the file is unchanged, so any commit's version is the latest one at or before it.
    """
    wanted = set(paths)
    touched: dict[str, list[int]] = {p: [0] for p in paths}
    for i in range(1, len(commits)):
        for f in commits[i]["files"]:
            if f["path"] in wanted:
                touched[f["path"]].append(i)
    pairs = [(commits[i]["sha"], p) for p in paths for i in touched[p]]
    ids, blobs = runner.read_versions(pairs) if pairs else ({}, {})
    by_path = {p: [{"sha": commits[i]["sha"], "blob": ids[(commits[i]["sha"], p)]} for i in touched[p]]
               for p in paths}
    files_at: dict[str, str | None] = {}
    for p in paths:
        last = max(i for i in touched[p] if i <= as_of) if touched[p][0] <= as_of else None
        blob = ids.get((commits[last]["sha"], p)) if last is not None else None
        files_at[p] = blobs.get(blob) if blob is not None else None
    return files_at, {"blobs": blobs, "paths": by_path}


def read_files_at(repo: str, ref: str, paths: Iterable[str], *, meter: Meter | None = None
                  ) -> tuple[str, dict[str, str | None]]:
    """Files as they are at any commit-ish (a pull request's head), for checks that read content."""
    runner = GitRunner(repo, meter if meter is not None else Meter())
    runner.probe()
    code, out, err = runner.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if code != 0:
        raise ComplianceError(f"'{ref}' is not a commit in {repo}")
    sha = _text(out).strip()
    wanted = list(dict.fromkeys(paths))
    return sha, (runner.read_files(sha, wanted) if wanted else {})


_MAX_LISTED = 20  # warnings of one kind listed one by one; the rest are counted


def _date_order_warnings(commits: list[dict[str, Any]], branch: str) -> list[str]:
    """One warning per commit dated before an earlier commit of the chain (a reported fact).

    Such a commit was committed after that ancestor, whatever its date says; the window follows
    the chain (``chain_span``), so it is judged where it sits. ``committed_at`` is canonical UTC,
    so the strings compare as the times do.
    """
    times = [c["committed_at"] for c in commits]
    _, _, late = chain_span(times)
    out = []
    top = None
    late_set = set(late)
    for i, t in enumerate(times):
        if i in late_set and len(out) < _MAX_LISTED:
            out.append(f"commit {commits[i]['sha'][:12]} on {branch} is dated {t}, before an earlier commit of the "
                       f"first-parent chain ({top}): committer dates are out of order (rebased, clock skew or "
                       "backdated); it is judged by its place on the chain, not by its date")
        elif i not in late_set:
            top = t
    if len(late) > _MAX_LISTED:
        out.append(f"{len(late) - _MAX_LISTED} more commit(s) on {branch} are dated before an earlier commit")
    return out


def _future_warnings(commits: list[dict[str, Any]], branch: str) -> list[str]:
    """Commits dated after the collection: a forward-dated commit is a fact a reviewer must see.

    It is judged by its date like any other (a window that ends before that date leaves it out), so
    the warning is what keeps it from passing unnoticed; every audit until then repeats it."""
    now = iso(utcnow())
    late = [c for c in commits if c["committed_at"] > now]  # canonical UTC strings compare as times
    out = [f"commit {c['sha'][:12]} on {branch} is dated {c['committed_at']}, after this collection ({now}): windows "
           "that end before that date do not judge it" for c in late[:_MAX_LISTED]]
    if len(late) > _MAX_LISTED:
        out.append(f"{len(late) - _MAX_LISTED} more commit(s) on {branch} are dated in the future")
    return out


def _duplicate_pr_warnings(commits: list[dict[str, Any]], meter: Meter) -> None:
    """Two commits claiming one PR number: at most one can be its merge (neither is trusted for waivers)."""
    claims: dict[int, list[str]] = {}
    for c in commits:
        if c["pr"] is not None:
            claims.setdefault(c["pr"], []).append(c["sha"][:12])
    dupes = sorted((n, shas) for n, shas in claims.items() if len(shas) > 1)
    for n, shas in dupes[:_MAX_LISTED]:
        meter.warnings.append(f"PR #{n} is claimed by {len(shas)} commits ({', '.join(shas)}): its attribution is "
                              "unconfirmed, so pr: waivers do not apply to them")
    if len(dupes) > _MAX_LISTED:
        meter.warnings.append(f"{len(dupes) - _MAX_LISTED} more PR number(s) are claimed by several commits")
