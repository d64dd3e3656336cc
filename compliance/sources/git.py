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
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO, Any

from compliance.base.errors import ComplianceError
from compliance.base.ids import compile_pattern, find_task_ids
from compliance.base.timeutil import chain_span, iso, parse_time, utcnow
from compliance.sources.base import Meter

_PR_MERGE = re.compile(r"Merge pull request #(\d+) from ([^/\s]+)/(\S.*)", re.DOTALL)
_SQUASH = re.compile(r"\(#(\d+)\)\s*\Z")
_HEX40 = re.compile(rb"[0-9a-f]{40}|[0-9a-f]{64}")

# Options that make ``git log`` output independent of the collector's configuration.
_CONFIG = (
    # what is audited is the recorded history: replace refs (``git replace``) and a grafts file
    # would substitute other commits and parents, so a failing change could vanish unseen
    "--no-replace-objects",
    "-c", "advice.graftFileDeprecated=false",
    "-c", "core.quotepath=off",
    "-c", "log.showSignature=false",
    "-c", "color.ui=never",
    "-c", "diff.noprefix=false",
)
_LOG_OPTIONS = (
    "--no-color",
    "--no-mailmap",
    "--no-ext-diff",
    "--no-textconv",
    "--no-renames",
    "--no-relative",
    "--root",
    "--encoding=UTF-8",
    # git formats the dates itself, in UTC (TZ=UTC in the environment): far cheaper than
    # parsing 100,000 offsets in Python, and the same form as ``timeutil.iso``.
    "--date=format-local:%Y-%m-%dT%H:%M:%SZ",
    "--first-parent",
    "--diff-merges=first-parent",
    "--name-status",
    "-z",
)
# Variables that would point git at another repository than the one asked for.
_REPO_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_COMMON_DIR",
    "GIT_INDEX_FILE",
    "GIT_NAMESPACE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_PREFIX",
    "GIT_REPLACE_REF_BASE",  # replace refs in another namespace would escape the refs/replace/ warning
    "GIT_SHALLOW_FILE",  # another shallow file would hide (or fake) a shallow clone
)
_CHUNK = 1 << 18
_QUEUED = 32  # at most this many chunks read ahead of the parser


def collect_git(
    repo: str,
    branch: str,
    since: datetime | None,
    *,
    id_pattern: str | None = None,
    files: Iterable[str] = (),
    meter: Meter | None = None,
) -> dict[str, Any]:
    """Collect the ``git`` snapshot object (``snapshot.schema.json#/$defs/git``).

    ``since`` compares committer time in UTC, per commit: committer dates on a first-parent
    chain are not monotonic (rebases, clock skew), so git's own ``--since`` cut-off could
    drop a commit that belongs in the window.
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
    files_at_head = runner.read_files(head, wanted) if wanted else {}
    return {
        "branch": branch,
        "head": head,
        "shallow": shallow,
        "commits": commits,
        "files_at_head": files_at_head,
    }


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


def classify(parents: list[str], subject: str) -> tuple[str, int | None, str | None]:
    """``(kind, pr, source_branch)`` from a commit's parent count and GitHub's subject forms."""
    if not parents:
        return "root", None, None
    if len(parents) >= 2:
        m = _PR_MERGE.fullmatch(subject)
        if m:
            return "pr_merge", int(m.group(1)), m.group(3)
        return "other_merge", None, None
    m = _SQUASH.search(subject)
    if m:
        return "squash", int(m.group(1)), None
    return "direct_push", None, None


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _shallow_boundary(git_dir: str) -> set[str]:
    try:
        with open(os.path.join(git_dir, "shallow"), encoding="ascii", errors="replace") as fh:
            return {line.strip() for line in fh if line.strip()}
    except OSError:
        return set()


class GitRunner:
    """One repository, every process counted on the meter."""

    def __init__(self, repo: str, meter: Meter):
        self.repo = repo
        self.meter = meter
        path = os.path.abspath(repo)
        if not os.path.exists(path):
            raise ComplianceError(f"repository path {repo} does not exist")
        if not os.path.isdir(path):
            raise ComplianceError(f"repository path {repo} is not a directory")
        self.path = path
        self.common_dir = path
        self.replace_refs: list[str] = []
        env = {k: v for k, v in os.environ.items() if k not in _REPO_ENV}
        # Git must not walk up from a plain directory into some enclosing repository.
        env["GIT_CEILING_DIRECTORIES"] = os.path.dirname(path)
        env["LC_ALL"] = "C"
        env["TZ"] = "UTC"
        env["LANGUAGE"] = "C"
        env["GIT_TERMINAL_PROMPT"] = "0"
        env["GIT_PAGER"] = "cat"
        env["GIT_NO_REPLACE_OBJECTS"] = "1"
        env["GIT_GRAFT_FILE"] = os.devnull  # grafts are ignored (and reported); shallow clones are not grafts
        self.env = env

    def _argv(self, *args: str) -> list[str]:
        return ["git", "-C", self.path, *_CONFIG, *args]

    def _popen(self, *args: str, stdin: int | None = None) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
        """Start git with stderr in a file: a chatty stderr must not block a streaming stdout."""
        self.meter.requests += 1
        errfile = tempfile.TemporaryFile()
        try:
            proc = subprocess.Popen(
                self._argv(*args),
                stdin=stdin if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=errfile,
                env=self.env,
            )
        except FileNotFoundError:
            errfile.close()
            raise ComplianceError("git is not installed or not on PATH") from None
        return proc, errfile

    @staticmethod
    def _finish(proc: subprocess.Popen[bytes], errfile: IO[bytes]) -> tuple[int, bytes]:
        code = proc.wait()
        errfile.seek(0)
        err = errfile.read()
        errfile.close()
        return code, err

    def run(self, *args: str, input: bytes | None = None) -> tuple[int, bytes, bytes]:
        proc, errfile = self._popen(*args, stdin=subprocess.PIPE if input is not None else None)
        out, _ = proc.communicate(input)
        code, err = self._finish(proc, errfile)
        return code, out, err

    def _fail(self, what: str, err: bytes) -> ComplianceError:
        """git's own reason, one line: its ``fatal:`` line, not the hints printed after it."""
        lines = [ln.strip() for ln in _text(err).splitlines() if ln.strip()]
        reasons = [ln for ln in lines if ln.startswith(("fatal: ", "error: "))]
        detail = (reasons or lines or ["no error output"])[0]
        if detail.startswith(("fatal: ", "error: ")):
            detail = detail.split(": ", 1)[1]
        return ComplianceError(f"git {what} failed in {self.repo}: {detail}")

    def probe(self) -> tuple[str, bool]:
        """Fail early, and clearly, when the path is not a repository."""
        code, out, err = self.run("rev-parse", "--absolute-git-dir", "--is-shallow-repository",
                                   "--git-common-dir")
        if code != 0:
            if b"not a git repository" in err:
                raise ComplianceError(f"{self.repo} is not a git repository")
            raise self._fail("rev-parse", err)
        lines = _text(out).splitlines()
        if len(lines) < 3:
            raise ComplianceError(f"git rev-parse gave unexpected output in {self.repo}: {lines!r}")
        self.common_dir = os.path.normpath(os.path.join(self.path, lines[2]))
        return lines[0], lines[1].strip() == "true"

    def history_rewrites(self) -> list[str]:
        """Warnings for what would have rewritten the history had git been allowed to apply it.

        Both are ignored (every git call runs with replace objects and grafts off); the warning
        says they exist, since someone put them there and a reviewer should know.
        """
        found = []
        grafts = os.path.join(self.common_dir, "info", "grafts")
        try:
            with open(grafts, "rb") as fh:
                lines = [ln for ln in fh.read().splitlines() if ln.strip() and not ln.startswith(b"#")]
        except OSError:
            lines = None
        if lines:
            found.append(f"{self.repo} has a grafts file ({grafts}, {len(lines)} graft(s)) that rewrites commit "
                         "parents: it was ignored, the recorded history is audited (remove it, or run "
                         "git replace --convert-graft-file and delete the replace refs)")
        if self.replace_refs:
            shown = ", ".join(self.replace_refs[:3]) + (", ..." if len(self.replace_refs) > 3 else "")
            found.append(f"{self.repo} has {len(self.replace_refs)} replace ref(s) ({shown}) that substitute "
                         "other objects for recorded commits: they were ignored, the recorded history is audited")
        return found

    def resolve_branch(self, branch: str) -> tuple[str, str]:
        """A local branch wins over origin's; CI checkouts often have only the remote one."""
        candidates = [f"refs/heads/{branch}", f"refs/remotes/origin/{branch}"]
        code, out, err = self.run(  # replace refs are listed by the same process, for history_rewrites
            "for-each-ref", "--format=%(objectname)%00%(objecttype)%00%(refname)", *candidates, "refs/replace/"
        )
        if code != 0:
            raise self._fail("for-each-ref", err)
        found: dict[str, tuple[str, str]] = {}
        self.replace_refs = []
        for line in out.split(b"\n"):
            if not line:
                continue
            sha, kind, name = line.split(b"\0", 2)
            if name.startswith(b"refs/replace/"):
                self.replace_refs.append(_text(name))
                continue
            found[_text(name)] = (sha.decode("ascii"), kind.decode("ascii"))
        for ref in candidates:
            if ref in found:
                sha, kind = found[ref]
                if kind != "commit":
                    raise ComplianceError(f"{ref} in {self.repo} points to a {kind}, not a commit")
                return sha, ref
        raise ComplianceError(
            f"branch '{branch}' not found in {self.repo} "
            f"(looked for refs/heads/{branch} and refs/remotes/origin/{branch})"
        )

    def select_since(self, head: str, since_ts: float) -> tuple[list[str], int]:
        """The first-parent shas from the window's start to the head (newest first), and the chain length.

        A diff-free walk is cheap; it lets the expensive diffing walk skip the history before the
        window. The start is found on the chain (``timeutil.chain_span``), not per commit date, and
        the commit just before it is kept as well: the boundary, so the engine sees the same chain
        order (it is never a change of the window, being dated before it and not out of order).
        """
        proc, errfile = self._popen("log", "--no-color", "--first-parent", "--format=%H %ct", head, "--")
        assert proc.stdout is not None
        shas: list[bytes] = []
        stamps: list[int] = []
        for line in proc.stdout:
            sha, _, ts = line.partition(b" ")
            shas.append(sha)
            stamps.append(int(ts))
        code, err = self._finish(proc, errfile)
        if code != 0:
            raise self._fail("log", err)
        stamps.reverse()  # oldest first, as chain_span reads a chain
        start, _, _ = chain_span(stamps, since_ts)
        total = len(shas)
        keep = shas[: total - max(start - 1, 0)]
        return [s.decode("ascii") for s in keep], total

    def log(self, head: str, only: list[str] | None) -> Iterator[dict[str, Any]]:
        """Stream first-parent commits, newest first, parsing records as the bytes arrive."""
        token = uuid.uuid4().hex
        start = f"\x1fREC{token}\x1f".encode()
        end = f"\0END{token}"
        fmt = f"--format=%x1fREC{token}%x1f%H%x00%P%x00%an%x00%ad%x00%cd%x00%s%x00%b%x00END{token}"
        if only is None:
            proc, errfile = self._popen("log", *_LOG_OPTIONS, fmt, head, "--")
        else:
            proc, errfile = self._popen(
                "log", *_LOG_OPTIONS, "--no-walk=unsorted", "--stdin", fmt, stdin=subprocess.PIPE
            )
            assert proc.stdin is not None
            # git reads all of stdin before printing anything, so this cannot deadlock.
            proc.stdin.write("".join(f"{sha}\n" for sha in only).encode("ascii"))
            proc.stdin.close()
        assert proc.stdout is not None
        chunks = _Pump(proc.stdout)
        try:
            for record in _records(chunks, start):
                yield _parse_record(record, end)
        finally:
            if proc.poll() is None and not chunks.done:
                proc.kill()  # abandoned early: stop git rather than read what nobody wants
            chunks.drain()
            proc.stdout.close()
            code, err = self._finish(proc, errfile)
        if code != 0:
            raise self._fail("log", err)

    def read_files(self, head: str, paths: list[str]) -> dict[str, str | None]:
        """All requested files from one ``cat-file --batch``; absent paths and directories are None."""
        result: dict[str, str | None] = {p: None for p in paths}
        askable = [p for p in paths if "\n" not in p and p]
        if not askable:
            return result
        request = "".join(f"{head}:{p}\n" for p in askable).encode("utf-8", "surrogateescape")
        code, out, err = self.run("cat-file", "--batch", input=request)
        if code != 0:
            raise self._fail("cat-file", err)
        pos = 0
        for path in askable:
            nl = out.index(b"\n", pos)
            header = out[pos:nl].split(b" ")
            pos = nl + 1
            if len(header) == 3 and _HEX40.fullmatch(header[0]) and header[2].isdigit():
                size = int(header[2])
                body = out[pos : pos + size]
                pos += size + 1
                if header[1] == b"blob":
                    result[path] = _text(body)
        return result


class _Pump:
    """Read git's stdout on a thread so git keeps writing while Python parses.

    Without it the two take turns (git blocks on a full pipe during parsing) and the time is
    the sum of both instead of roughly the larger.
    """

    def __init__(self, stream: IO[bytes]):
        self.queue: queue.Queue[bytes | None] = queue.Queue(maxsize=_QUEUED)
        self.done = False
        self._thread = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self._thread.start()

    def _run(self, stream: IO[bytes]) -> None:
        try:
            while True:
                chunk = stream.read1(_CHUNK)  # type: ignore[attr-defined]
                if not chunk:
                    break
                self.queue.put(chunk)
        except (OSError, ValueError):
            pass
        finally:
            self.queue.put(None)

    def __iter__(self) -> Iterator[bytes]:
        while (chunk := self.queue.get()) is not None:
            yield chunk
        self.done = True

    def drain(self) -> None:
        """Unblock and finish the thread whatever state the consumer left it in."""
        while not self.done:
            if self.queue.get() is None:
                self.done = True
        self._thread.join()


def _records(chunks: Iterable[bytes], start: bytes) -> Iterator[str]:
    """Whole records, decoded once each: invalid UTF-8 never spans the NUL field separators."""
    tail = b""
    for chunk in chunks:
        parts = (tail + chunk).split(start)
        tail = parts.pop()
        for part in parts:
            if part:
                yield part.decode("utf-8", "replace")
    if tail:
        yield tail.decode("utf-8", "replace")


def _parse_record(record: str, end: str) -> dict[str, Any]:
    sha, parents, author, authored, committed, subject, rest = record.split("\0", 6)
    body, _, changes = rest.partition(end)
    parent_list = parents.split()
    kind, pr, source_branch = classify(parent_list, subject)
    fields = changes.lstrip("\0\n").split("\0")
    return {
        "sha": sha,
        "parents": parent_list,
        "kind": kind,
        "pr": pr,
        "subject": subject,
        "body": body.strip(),
        "source_branch": source_branch,
        "author": author,
        "authored_at": authored,
        "committed_at": committed,
        "files": [{"path": fields[i + 1], "status": fields[i]} for i in range(0, len(fields) - 1, 2)],
        "task_ids": [],
    }
