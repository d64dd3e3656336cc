"""Error types and the exit-code contract.

Every failure the user can cause (bad rule file, bad snapshot, missing repo) is a
``ComplianceError`` so the CLI can print a clean message and exit 2 without a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0  # every finding passed (or was waived / not applicable)
EXIT_FAIL = 1  # at least one finding failed
EXIT_ERROR = 2  # at least one finding could not be evaluated, or the input was invalid


@dataclass(frozen=True, order=True)
class Located:
    """A message tied to a place in a file, printed as ``FILE:LINE:COL: message``."""

    path: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        if not self.line:  # placed by a JSON path in the message instead of a line
            return f"{self.path}: {self.message}"
        return f"{self.path}:{self.line}:{self.col}: {self.message}"


class ComplianceError(Exception):
    """A user-facing error: printed without a traceback, exit code 2."""

    exit_code = EXIT_ERROR


class InputError(ComplianceError):
    """One or more located problems in an input file (rules, config, snapshot)."""

    def __init__(self, problems: list[Located], what: str = "input"):
        self.problems = sorted(set(problems))
        self.what = what
        super().__init__("\n".join(str(p) for p in self.problems))


class SourceUnavailable(Exception):
    """Raised inside a check when a source it needs failed or was not collected."""

    def __init__(self, source: str, reason: str):
        self.source = source
        self.reason = reason
        super().__init__(f"source '{source}' unavailable: {reason}")
