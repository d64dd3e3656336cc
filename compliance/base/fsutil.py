"""Atomic writes: a file, or a whole set of files, is either wholly there or not at all.

One file (a cache entry, a ``collect --snapshot``) is staged and renamed over its path.

A *set* (the reports, the snapshot and the waivers a run wrote into ``<out>/``) is one unit: a
reader must never find new reports beside the previous snapshot. It is staged complete in a fresh
``<out>/.set-<pid>-<rand>/``, fsynced, and published by renaming one symlink, ``<out>/.current``,
onto it. The files keep their fixed paths: ``<out>/report.json`` is a symlink to
``.current/report.json``, so every name switches at the same instant. The previous set stays on
disk until the next run (a reader that resolved ``.current`` keeps a whole set to read); older ones,
staging folders of killed runs and ``.*.tmp`` litter are removed by the next writer. Writers take
``<out>/.lock`` (``flock``), so two runs into one folder publish one after the other.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import stat
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from compliance.base.errors import ComplianceError

CURRENT = ".current"
PREVIOUS = ".previous"  # the set published before, kept one more run for readers that resolved .current
LOCK = ".lock"
SET_PREFIX = ".set-"
DEFAULT_LOCK_TIMEOUT = 30.0
_STALE_TMP_SECONDS = 600  # a temp file of unknown owner this old is litter of a killed run
_held: dict[str, int] = {}  # folders this process holds the lock of (the lock is reentrant per process)
lock_timeout = DEFAULT_LOCK_TIMEOUT  # set from --lock-timeout by the CLI


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write one file so readers see the whole old or the whole new text; the temp name carries the pid."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; reports are meant to be read
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """``atomic_write_text`` for bytes (an audit package): the whole old file or the whole new one."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


# --- the lock -------------------------------------------------------------------------------


@contextmanager
def folder_lock(out: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold ``<out>/.lock`` for the block; wait at most ``timeout`` seconds, then exit 2.

    ``flock`` dies with its process, so a killed run never leaves the folder locked. Reentrant
    within one process (a multi-target audit locks ``<out>`` and then writes the merged set in it).
    """
    import fcntl

    _prepare(out, ())
    key = str(out.resolve())
    if _held.get(key):
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    wait = lock_timeout if timeout is None else timeout
    try:
        fd = os.open(out / LOCK, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError as exc:
        raise ComplianceError(f"cannot lock the report folder {out}: {_reason(exc)}") from None
    try:
        deadline = time.monotonic() + max(wait, 0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise ComplianceError(
                        f"another run is writing {out} (it holds {out / LOCK}; waited {wait:g} s); "
                        "try again when it has finished, or raise --lock-timeout") from None
                time.sleep(0.1)
        _held[key] = 1
        try:
            yield
        finally:
            del _held[key]
    finally:
        os.close(fd)  # releases the flock


def not_regular(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` (followed through links) is not a regular file to read whole, or None when it is
    one (or cannot be examined: the caller's open reports that). A named pipe would block the run
    forever and /dev/zero fill its memory; both are refused before the file is opened."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "is a named pipe, not a regular file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a regular file"
    return "is not a regular file"


# --- the set --------------------------------------------------------------------------------


class StagedSet:
    """Files of one set, written into a staging folder until ``commit`` publishes them together."""

    def __init__(self, out: Path):
        self.out = out
        self.dir = out / f"{SET_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        self.dir.mkdir()
        self.names: list[str] = []
        self.retire: list[str] = []  # see commit
        self.published = False

    def write(self, name: str, text: str | Iterable[str]) -> Path:
        """Stage ``name`` (text or pieces of it), fsynced and readable by all (reports are shared)."""
        path = self.dir / name
        with open(path, "x", encoding="utf-8", newline="") as fh:
            if isinstance(text, str):
                fh.write(text)
            else:
                fh.writelines(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(path, 0o644)
        self._add(name)
        return path

    def folder(self, name: str) -> Path:
        """Stage a folder member (its files written by the caller): ``<out>/<name>`` then leads into it, and it
        switches with the rest of the set."""
        path = self.dir / name
        path.mkdir()
        self._add(name)
        return path

    def copy(self, name: str, source: Path) -> Path:
        """Stage a copy of an existing file (the snapshot ``evaluate`` read, the waivers applied)."""
        path = self.dir / name
        shutil.copyfile(source, path)
        with open(path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(path, 0o644)
        self._add(name)
        return path

    def drop(self, name: str) -> None:
        (self.dir / name).unlink(missing_ok=True)
        if name in self.names:
            self.names.remove(name)

    def _add(self, name: str) -> None:
        if name not in self.names:
            self.names.append(name)

    def commit(self) -> dict[str, Path]:
        """Publish: one rename of ``.current`` switches every name; returns the public paths.

        ``retire``: names an older version wrote here as plain files that are not part of this
        set (a stale copy of waivers would re-apply exceptions this run did not use)."""
        out = self.out
        _fsync_dir(self.dir)
        for name in self.names:  # links to names the old set lacked dangle until the switch: still "not there"
            link = out / name
            if link.is_dir() and not link.is_symlink():
                _adopt_folder(out, name)
            if (not link.is_symlink() and not link.exists()) or _foreign_link(link, name):
                _symlink(f"{CURRENT}/{name}", link)
        previous = _current_target(out)
        _symlink(self.dir.name, out / CURRENT)  # the commit point
        self.published = True
        _fsync_dir(out)
        try:
            self._tidy(previous)
        except OSError:
            pass  # the set is published; what is left to tidy, the next run tidies
        return {name: out / name for name in self.names}

    def _tidy(self, previous: str | None) -> None:
        out = self.out
        if previous and previous != self.dir.name:
            _symlink(previous, out / PREVIOUS)
        for name in self.names:  # a file an older version wrote here becomes a link (once per folder)
            link = out / name
            if not link.is_symlink():
                _symlink(f"{CURRENT}/{name}", link)
        for name in set(self.retire) - set(self.names):
            path = out / name
            # a link planted elsewhere goes too (never followed): a waivers.yaml this run did not apply must not stay
            if (path.is_file() and not path.is_symlink()) or _foreign_link(path, name):
                path.unlink()
        _drop_dangling_links(out)
        _remove_sets(out, keep={self.dir.name, previous})
        _fsync_dir(out)

    def abort(self) -> None:
        """Remove the staging folder, unless it was published (an interrupt after the switch keeps it)."""
        if not self.published:
            shutil.rmtree(self.dir, ignore_errors=True)


@contextmanager
def staged_set(out: str | os.PathLike[str], names: Iterable[str] = (), timeout: float | None = None
               ) -> Iterator[StagedSet]:
    """Lock ``out``, stage a set into it and publish it when the block ends without an exception.

    ``names`` are the files the set will hold, checked before anything is written: a folder in the
    way, ``--out`` naming a file, a full disk are user-facing errors (exit 2), and on any failure the
    staging folder is removed, leaving the previous set exactly as it was.
    """
    folder = Path(out)
    _prepare(folder, names)
    with folder_lock(folder, timeout):
        _clean_litter(folder)
        try:
            staged = StagedSet(folder)
        except OSError as exc:
            raise _write_error(folder, exc) from None
        try:
            yield staged
            staged.commit()
        except OSError as exc:
            staged.abort()
            raise _write_error(folder, exc) from None
        except BaseException:
            staged.abort()
            raise


def _prepare(folder: Path, names: Iterable[str]) -> None:
    """The folder exists (or is made) and nothing that is not ours sits where a file of the set goes."""
    if folder.exists() and not folder.is_dir():
        raise ComplianceError(f"the report folder {folder} is a file, not a folder; choose another --out")
    if folder.is_symlink() and not folder.exists():
        raise ComplianceError(f"the report folder {folder} is a link to {os.readlink(folder)}, which does not exist")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ComplianceError(f"cannot create the report folder {folder}: {_reason(exc)}") from None
    for name in (*names, CURRENT):
        path = folder / name
        if path.is_dir() and not path.is_symlink():
            raise ComplianceError(f"{path} is a folder where the file {name} belongs; "
                                  "move it away or choose another --out")


def _write_error(folder: Path, exc: OSError) -> ComplianceError:
    return ComplianceError(f"cannot write the reports into {folder}: {_reason(exc)}; "
                           "the previous reports and snapshot are unchanged")


def _reason(exc: OSError) -> str:
    what = exc.strerror or str(exc)
    where = f" ({exc.filename})" if exc.filename else ""
    return f"{what}{where}"


def _symlink(target: str, link: Path) -> None:
    """Point ``link`` at ``target`` atomically (a new link renamed over the old name)."""
    tmp = link.with_name(f".{link.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    os.symlink(target, tmp)
    try:
        os.replace(tmp, link)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _adopt_folder(out: Path, name: str) -> None:
    """A folder member (the demo's ``previous/``) that an older version wrote as a plain folder of ``out``: moved
    into the published set it belongs with, so that set keeps it at every instant (``<out>/.current/<name>``:
    readers that resolve ``.current`` find it there; ``<out>/<name>`` is missing only until the link is made,
    a moment later). Without a published set (an older layout still), it is moved aside as a set of no run,
    which the tidy-up removes."""
    link = out / name
    current = _current_target(out)
    home = out / current / name if current and (out / current).is_dir() else None
    if home is not None and not os.path.lexists(home):
        os.replace(link, home)
    else:
        os.replace(link, out / f"{SET_PREFIX}retired-{os.getpid()}-{secrets.token_hex(4)}")


def _foreign_link(link: Path, name: str) -> bool:
    """A link of that name that does not lead into the current set (planted, or left by hand)."""
    return link.is_symlink() and os.readlink(link) != f"{CURRENT}/{name}"


def _current_target(out: Path, name: str = CURRENT) -> str | None:
    try:
        return os.readlink(out / name)
    except OSError:
        return None


def _drop_dangling_links(out: Path) -> None:
    """A name the new set does not have (a format not asked for, waivers not used) is gone with the old set."""
    for entry in os.scandir(out):
        if entry.is_symlink() and entry.name != CURRENT:
            target = os.readlink(entry.path)
            if target.startswith(f"{CURRENT}/") and not os.path.exists(entry.path):
                os.unlink(entry.path)


def _remove_sets(out: Path, keep: set[str | None]) -> None:
    for entry in os.scandir(out):
        if entry.name.startswith(SET_PREFIX) and entry.name not in keep and entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)


def _clean_litter(out: Path) -> None:
    """Under the lock: staging folders of killed runs, older sets, ``.*.tmp`` files whose writer is gone."""
    _remove_sets(out, keep={_current_target(out), _current_target(out, PREVIOUS)})
    for entry in os.scandir(out):
        if entry.name.startswith(".") and entry.name.endswith(".tmp") and entry.is_file(follow_symlinks=False):
            if _litter(entry):
                Path(entry.path).unlink(missing_ok=True)
        elif entry.name.startswith(".") and entry.name.endswith(".tmp") and entry.is_symlink():
            Path(entry.path).unlink(missing_ok=True)  # a link staged for a rename that never happened


def _litter(entry: os.DirEntry[str]) -> bool:
    parts = entry.name.split(".")
    pid = next((int(p) for p in parts[2:-1] if p.isdigit()), None)
    if pid is not None and pid != os.getpid():
        return not _alive(pid)
    try:
        return time.time() - entry.stat(follow_symlinks=False).st_mtime > _STALE_TMP_SECONDS
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError as exc:
        return exc.errno != errno.ESRCH
    return True


def _fsync_dir(path: Path) -> None:
    """Persist the renames themselves; not every platform can open a directory, which is fine."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
