"""What a deploy knows and says: its plan, how the script ended, and the one redacting printer.

Shared by the preflight, the script runner, the state file and the validation, which is why these
types live apart from each of them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from compliance.base.errors import ComplianceError
from compliance.base.redact import MASK, SECRET_ENV, LineRedactor

LOOKBACK_DAYS = 30

DEPLOY_KINDS = ("deploy_coverage", "worklog_evidence")

VALIDATION_KINDS = ("lambda_state", "api_routes", "capability_endpoint")

KEY_ENV = "COORDINATION_INTERNAL_API_KEY"

EXIT_INTERRUPTED = 130  # as the CLI's for an interrupt

SCRIPT_TIMEOUT = 3600.0  # default --timeout: a deploy script that runs an hour is stuck



class PreflightError(ComplianceError):
    """A reason not to deploy; raised before anything has changed."""



@dataclass
class Plan:
    repo_root: Path
    script: str
    function: str
    region: str
    commit: str
    subject: str
    branch: str
    behind: int  # first-parent commits between the deployed commit and the branch tip
    since: datetime
    last_evidenced: str | None
    changes: list[dict[str, Any]]
    tasks: list[str]
    missing_tasks: list[str]
    lambda_before: dict[str, Any]
    resume: dict[str, Any] | None = None
    not_resumed: str | None = None  # why a state file found was not trusted
    warnings: list[str] = field(default_factory=list)



@dataclass
class ScriptRun:
    """How the script ended: ``ended`` is finished, timed out, interrupted or not started."""

    code: int
    log_path: Path
    ended: str
    log_sha256: str | None = None



class Output:
    """Every line the command prints goes through one redactor, including the script's output."""

    def __init__(self, stream: IO[str], env: dict[str, str]):
        self.stream = stream
        self.secrets = sorted({v for k in SECRET_ENV for v in (env.get(k), os.environ.get(k))
                               if v and len(v) >= 4}, key=len, reverse=True)
        self.redact = LineRedactor()  # remembers a PEM private key across the lines it spans

    def clean(self, text: str) -> str:
        for value in self.secrets:
            text = text.replace(value, MASK)
        return self.redact(text)

    def __call__(self, text: str = "") -> None:
        self.stream.write(self.clean(text) + "\n")
        flush = getattr(self.stream, "flush", None)
        if flush:
            flush()
