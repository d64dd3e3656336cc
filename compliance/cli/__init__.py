"""Command line: every mode goes through collect -> snapshot -> evaluate -> report.

This package is argparse (``parser``), printing (``printing``) and dispatch (``commands``, one
function per command calling its mode in ``compliance.app``); nothing here judges or writes reports.

Exit codes (also in the README):
  0  every finding passed, was waived or was not applicable
  1  at least one finding failed
  2  at least one finding could not be evaluated (`error`), or the input was invalid
     (rule/config/snapshot file, bad arguments, repository not found), or compliance itself failed
     (an internal error: one line saying so, no traceback; COMPLIANCE_DEBUG=1 shows it, masked)
--fail-on SEVERITY and --soft-fail reshape 1 and 2 for findings (see compliance/app/gating.py); invalid
input always exits 2. Publishing to GitHub never changes the exit code: its failures are warnings.
`compliance demo` exits 0 when the demo run itself completed, whatever its verdicts; `compliance backtest`
is informational and exits 0 whenever it ran. `compliance rules test` exits 1 when a case fails.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Callable

from compliance.base.errors import EXIT_ERROR, ComplianceError, InputError
from compliance.cli.parser import DEFAULT_FORMATS, FORMATS, build_parser, shared_parser

__all__ = ["COMMANDS", "DEFAULT_FORMATS", "FORMATS", "build_parser", "main"]


def main(argv: list[str] | None = None) -> int:
    _closed_streams_to_devnull()
    try:
        return _main(argv)
    finally:
        _flush_or_drop()


def _closed_streams_to_devnull() -> None:
    """``compliance ... >&-``: Python has no ``sys.stdout`` then, and every print would be an error of ours."""
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115 - for the process's life


def _flush_or_drop() -> None:
    """What is still buffered goes out now; a stream that cannot take it (``2>/dev/full``) is pointed at the null
    device, so the interpreter's own flush at exit cannot turn the run's exit code into 120."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
            except (OSError, ValueError):
                pass


def _say(text: str) -> None:
    """A line for the user on stderr; a stderr that cannot take it never changes the exit code."""
    try:
        print(text, file=sys.stderr)
    except (OSError, ValueError):
        pass


def _main(argv: list[str] | None) -> int:
    args = shared_parser().parse_args(argv)
    for name, value in vars(args).items():  # a default list is the shared parser's own object: never hand it out
        if isinstance(value, list):
            setattr(args, name, list(value))
    # A run builds millions of small acyclic objects (a dict per commit, file and finding) and
    # exits; the cyclic collector would re-scan them all again and again, 10-15% of an audit of
    # 100,000 commits. Reference counting still frees everything; cycles wait for the end.
    from compliance.base.console import sanitized_output

    gc_was_enabled = gc.isenabled()
    gc.disable()
    # on the raw stderr, before the sanitizer wraps it: its own \r and ESC [K must reach the terminal.
    # Only commands that collect, judge or write have stages; the others (rules, targets, changes) do
    # not pay for the renderer's import.
    renderer = None
    if args.command in STAGED and not getattr(args, "quiet", False):
        from compliance.cli import progress

        renderer = progress.start(sys.stderr)
    try:
        with sanitized_output():  # one sanitizer for every line any mode prints
            return _run(args)
    finally:
        if renderer is not None:
            try:
                renderer.stop()
            except Exception:  # noqa: BLE001 - the run's outcome stands whatever the progress line does
                pass
        if gc_was_enabled:
            gc.enable()


def _run(args: argparse.Namespace) -> int:
    from compliance.base import fsutil

    timeout = getattr(args, "lock_timeout", None)
    fsutil.lock_timeout = fsutil.DEFAULT_LOCK_TIMEOUT if timeout is None else timeout
    try:
        return COMMANDS[args.command](args)
    except InputError as exc:
        for problem in exc.problems:
            _say(str(problem))
        _say(f"compliance: invalid {exc.what}: {len(exc.problems)} problem(s); nothing was evaluated")
        return EXIT_ERROR
    except ComplianceError as exc:
        _say(f"compliance: error: {exc}")
        return exc.exit_code
    except BrokenPipeError:
        # the printed lines survive a reader that left (``console.VisibleStream``: ``| head`` keeps the verdict's
        # code); one that reaches here came from elsewhere, and the run's code is not known: never a pass
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_ERROR
    except KeyboardInterrupt:
        _say("compliance: interrupted; nothing half-written")
        return 130
    except OSError as exc:  # a file the run had to read or write: a clear message, never a traceback
        where = f": {exc.filename}" if exc.filename else ""
        _say(f"compliance: error: {exc.strerror or exc}{where}")
        return EXIT_ERROR
    except SystemExit as exc:  # argparse's own exits carry a code; one carrying text is not ours to print
        if exc.code is None or isinstance(exc.code, int):
            raise
        return _internal_error(exc)
    except Exception as exc:  # noqa: BLE001 - a bug of ours: never a traceback, never read as a verdict
        return _internal_error(exc)


def _internal_error(exc: BaseException) -> int:
    """One line naming a bug of ours, its message masked; if even that fails, its type alone. With
    ``COMPLIANCE_DEBUG=1`` the traceback comes first, through the same masking and sanitising as every line."""
    from compliance.base.redact import clip, redact

    if os.environ.get("COMPLIANCE_DEBUG", "").strip().lower() in ("1", "true", "yes"):
        import traceback

        try:
            _say("".join(traceback.format_exception(exc)).rstrip())
        except Exception:  # noqa: BLE001 - a traceback that cannot be formatted is left out, the line below stays
            pass
    try:
        said = " ".join(clip(redact(str(exc)), 300).split())  # one line, whatever the message holds
    except Exception:  # noqa: BLE001 - an exception whose text cannot be read (or masked) is named by its type
        said = ""
    kind = clip(redact(type(exc).__name__), 80)  # a class made at run time can be named by anything
    _say(f"compliance: internal error (a bug in compliance, not a verdict): {kind}"
         f"{': ' + said if said else ''}. Report folders hold one whole set, the previous one unless this run "
         "had published its own. Set COMPLIANCE_DEBUG=1 to see where it happened.")
    return EXIT_ERROR


def _command(name: str) -> Callable[[argparse.Namespace], int]:
    """The command's function, imported when it runs: start-up pays only for argparse and this package."""
    def run(args: argparse.Namespace) -> int:
        from compliance.cli import commands

        return getattr(commands, f"cmd_{name}")(args)

    run.__name__ = f"cmd_{name}"
    return run


STAGED = frozenset({"backtest", "evaluate", "collect", "audit", "merge", "pr", "deploy", "demo", "package",
                    "verify-package"})
COMMANDS = {name: _command(name) for name in (
    "backtest", "rules", "changes", "evaluate", "collect", "audit", "targets", "merge", "pr", "deploy", "demo",
    "package")}
COMMANDS["verify-package"] = _command("verify_package")
