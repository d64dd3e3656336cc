"""The capability endpoint's contract: what its JSON answer must hold for the runbook's check to pass.

Here, below both the probe (which records the problems) and the check (which re-reads the saved body),
so judging a snapshot does not import the probe's HTTP client (urllib.request, ~10 ms per process)."""

from __future__ import annotations

from typing import Any


def body_problems(body: Any) -> list[str]:
    """What the capability body lacks: the probe records it and the check re-reads a saved body with it
    instead of trusting the recorded flag."""
    if not isinstance(body, dict):
        return ["body is not a JSON object"]
    out = []
    if body.get("success") is not True:
        out.append("body.success is not true")
    caps = body.get("capabilities")
    if not isinstance(caps, dict):
        out.append("body.capabilities is missing")
    elif not isinstance(caps.get("contract_version"), str) or not caps["contract_version"].strip():
        out.append("body.capabilities.contract_version is missing")
    return out
