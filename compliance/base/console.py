"""Everything the CLI prints goes through one sanitizer: hostile text is shown, never obeyed.

Commit subjects, worklog text, source errors, waiver owners, target names and diff lines come
from people and systems we do not control. Printed raw, ``ESC [2J`` clears the screen,
``ESC ] 0;...BEL`` retitles the terminal and U+202E turns ``exe.txt`` into ``txt.exe``. The
report renderers drop such characters; the console makes them visible instead (``\\x1b``,
``\\u202e``), so a reader sees that something was there. Tab and newline are kept: they are the
CLI's own layout.
"""

from __future__ import annotations

import io
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

# C0/C1 controls (terminal escapes), invisible formatting and bidi overrides that can disguise
# text; the report renderers strip this same class (compliance.report.markdown).
# Also the Arabic letter mark (a bidi control), soft hyphen, Mongolian vowel separator, interlinear
# annotation marks and the Unicode tag block (invisible "ASCII smuggling").
INVISIBLE = ("\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\xad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064"
             "\u2066-\u2069\ufeff\ufff9-\ufffb\U000e0000-\U000e007f")
INVISIBLE_RE = re.compile(f"[{INVISIBLE}]")  # what every renderer strips (one compiled copy for all)
# The same and lone surrogates: what plain-text outputs (SARIF, GitHub's API) drop, since a lone
# surrogate cannot even be encoded as UTF-8.
CONTROL_RE = re.compile(f"[{INVISIBLE}\ud800-\udfff]")
_SHOWN = re.compile(f"[{INVISIBLE}\r\u2028\u2029\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    # C0 as \\xNN (it never occurs raw in JSON lines, which escape it); the rest as \\uNNNN, which is
    # also a JSON escape, so a line of JSON output (``changes --format json``) stays valid JSON
    code = ord(match.group())
    if code < 0x20:
        return f"\\x{code:02x}"
    if code > 0xFFFF:  # as the JSON escape of its UTF-16 pair, so JSON lines stay valid
        high, low = divmod(code - 0x10000, 0x400)
        return f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}"
    return f"\\u{code:04x}"


def visible(text: Any) -> str:
    """``text`` with every control, invisible and bidi character written as an escape."""
    return _SHOWN.sub(_escape, "" if text is None else str(text))


# GitHub Actions obeys a line of a step's output that starts (after blanks) with ``::`` (``::add-mask::``,
# ``::error file=...::``, ``::stop-commands::``) and, in the older form, holds ``##[``: a workflow's step
# name or a commit subject quoted in a finding would write annotations, mask words or stop the log's
# commands. The first colon (or hash) is written as its escape, so the line shows what was there.
_WORKFLOW_COMMAND = re.compile(r"(?:(?<=\n)|^)([ \t]*):(?=:)|#(?=#\[)")


def _defuse(match: re.Match[str]) -> str:
    # as JSON escapes, like the others: a line of JSON output stays valid JSON
    return match.group(1) + "\\u003a" if match.group(0).endswith(":") else "\\u0023"


def inert(text: Any) -> str:
    """``visible`` and no line (of this text, or the text itself) a CI runner reads as a workflow command."""
    return _WORKFLOW_COMMAND.sub(_defuse, visible(text))


def _masked(text: str) -> str:
    """``redact`` of each line on its own: what masking does to one line (a PEM header masks to the end of its
    text, a hidden character found strips the text it is in) must not reach the lines written with it.
    Imported at the first line printed, not by every start (``--version`` prints none here)."""
    # deliberate lazy import: redact imports this module (its invisible-character class), and start-up is budgeted
    from compliance.base.redact import LineRedactor, _secrets, redact

    if not text or text.isspace():
        return text
    if redact(text) == text:
        return text  # nothing to mask in the whole is nothing in any line: every shape but a PEM key is line-local
    # line by line, each line's end kept out of its mask, remembering a PEM key's body (``LineRedactor``); a
    # secret value that spans lines is masked in the whole first, so no line of it survives alone

    multi = tuple(v for v in _secrets() if "\n" in v and v in text)
    if multi:
        text = redact(text, multi)
    line_of = LineRedactor()
    body, end = (text[:-1], "\n") if text.endswith("\n") else (text, "")  # the last line end stays a line end
    return "\n".join(line_of(line) for line in body.split("\n")) + end


def _masked_rows(text: str) -> str:
    """``_masked`` for rows that cannot span lines (a table whose cells show their line breaks escaped): each
    line on its own, so a cell that reads like a key's first line masks that cell, not the rows after it."""
    # deliberate lazy import, as in _masked
    from compliance.base.redact import redact

    if not text or redact(text) == text:
        return text
    return "\n".join(redact(line) for line in text.split("\n"))


class VisibleStream(io.TextIOBase):
    """A text stream that writes through ``visible`` to the stream it wraps, secrets masked.

    Every line the tool prints passes here, error messages included (a path or URL a user typed may hold a
    token). A reader that goes away (``| head``) does not end the run: the rest goes to the null device and the
    command finishes, so its exit code is still the verdict. A terminal whose encoding cannot show a character
    gets its escape (``\u2026``) instead of an encoding error."""

    def __init__(self, inner: TextIO):
        self._inner = inner

    def write(self, text: str) -> int:
        # each write as if it began a line: ``print`` writes a message and its newline apart, and the
        # progress renderer writes lines of its own between them on the same terminal
        return self._write(inert(_masked(text)), len(text))

    def _write(self, shown: str, size: int) -> int:
        try:
            self._inner.write(shown)
        except UnicodeEncodeError:
            enc = self.encoding or "utf-8"
            self._inner.write(shown.encode(enc, "backslashreplace").decode(enc, "replace"))
        except BrokenPipeError:
            self._reader_gone()
        return size

    def write_rows(self, text: str) -> int:
        """``write`` for table rows, one per line, each masked on its own (``_masked_rows``)."""
        return self._write(inert(_masked_rows(text)), len(text))

    def write_verbatim(self, text: str) -> int:
        """For text that is already masked and inert by construction (``json.dumps`` of masked data with
        ``ensure_ascii``: no control character, no line a CI runner obeys): masking it again could break its
        escapes (``password=\"...\"``)."""
        return self._write(text, len(text))

    def flush(self) -> None:
        try:
            self._inner.flush()
        except BrokenPipeError:
            self._reader_gone()

    def _reader_gone(self) -> None:
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), self._inner.fileno())
        except (OSError, ValueError):
            pass

    def fileno(self) -> int:
        return self._inner.fileno()

    def isatty(self) -> bool:
        return self._inner.isatty()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._inner, "encoding", "utf-8")


@contextmanager
def sanitized_output() -> Iterator[None]:
    """For the block, ``sys.stdout`` and ``sys.stderr`` show hostile characters instead of obeying them."""
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = VisibleStream(out), VisibleStream(err)
    try:
        yield
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        sys.stdout, sys.stderr = out, err
