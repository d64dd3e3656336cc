"""Secret redaction applied to every message that leaves a source.

Tokens and keys must never reach logs, snapshots or reports. Known secret values from
the environment are masked wherever they appear, and common token shapes are masked too.
"""

from __future__ import annotations

import os
import re

SECRET_ENV = (
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ACCESS_KEY_ID",
    "COORDINATION_INTERNAL_API_KEY",
)
_SHAPES = re.compile(
    r"(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|(?:AKIA|ASIA)[A-Z0-9]{16})"
)
MASK = "***"


def redact(text: str | None) -> str:
    if not text:
        return text or ""
    for name in SECRET_ENV:
        value = os.environ.get(name)
        if value and len(value) >= 4:
            text = text.replace(value, MASK)
    return _SHAPES.sub(MASK, text)
