"""Git driven by its command line, with every option that configuration could change pinned.

``GitRunner`` is the one way this package runs git (the git source, the deploy plan): the pinned
options and the scrubbed environment make the snapshot independent of whose machine collected it,
and ``log`` streams one ``git log`` through a reader thread instead of one process per commit.
"""


import os
import queue
import re
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from typing import IO, Any

from compliance.base.errors import ComplianceError
from compliance.base.timeutil import chain_span
from compliance.sources.base import Meter
from compliance.sources.git_history import _parse_record, _records

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


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _shallow_boundary(git_dir: str) -> set[str]:
    try:
        with open(os.path.join(git_dir, "shallow"), encoding="ascii", errors="replace") as fh:
            return {line.strip() for line in fh if line.strip()}
    except OSError:
        return set()


def _tree_path(path: str) -> bool:
    """A path a tree can hold: git answers ``<commit>:../x`` (or ``:/x``) with a fatal error that ends the
    whole batch, so such a path (a rule's ``reference: ../x.md``) is absent, not the end of the git source."""
    parts = path.split("/") if path and "\n" not in path else []
    return bool(parts) and all(p not in ("", ".", "..") for p in parts)


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
        """All requested files at one commit; absent paths and directories are None."""
        ids, blobs = self.read_versions([(head, p) for p in paths])
        return {p: blobs[ids[(head, p)]] if ids.get((head, p)) else None for p in paths}

    def read_versions(self, pairs: list[tuple[str, str]]) -> tuple[dict[tuple[str, str], str | None], dict[str, str]]:
        """Many (commit, path) versions from ONE ``cat-file --batch``, whatever their number.

        Each answer names its blob, so a content that stays the same across a thousand commits is
        decoded (and stored in the snapshot) once; absent paths and directories are None.
        """
        ids: dict[tuple[str, str], str | None] = dict.fromkeys(pairs)
        askable = [pr for pr in ids if _tree_path(pr[1])]
        blobs: dict[str, str] = {}
        if not askable:
            return ids, blobs
        request = "".join(f"{sha}:{path}\n" for sha, path in askable).encode("utf-8", "surrogateescape")
        code, out, err = self.run("cat-file", "--batch", input=request)
        if code != 0:
            raise self._fail("cat-file", err)
        pos = 0
        for pair in askable:
            nl = out.index(b"\n", pos)
            header = out[pos:nl].split(b" ")
            pos = nl + 1
            if len(header) == 3 and _HEX40.fullmatch(header[0]) and header[2].isdigit():
                size = int(header[2])
                if header[1] == b"blob":
                    blob = header[0].decode("ascii")
                    ids[pair] = blob
                    if blob not in blobs:
                        blobs[blob] = _text(out[pos:pos + size])
                pos += size + 1
        return ids, blobs


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
