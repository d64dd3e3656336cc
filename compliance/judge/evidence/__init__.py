"""Deployment evidence recorded in tracker worklogs, parsed into facts.

The runbook asks for commit, function LastModified and validation outcome to be written
into tracker worklogs, but people and agents write that as free text, in many shapes.
This module reads it conservatively: a fact is only reported when the text states it,
anything ambiguous about the outcome reads as ``None`` (never as a pass), and any sign of
failure outweighs any sign of success.

Outcome grammar (the table in the "outcome" section below lists every form):

* The Lambda state and the endpoint/smoke outcome are separate facts. ``State=Active`` with
  ``LastUpdateStatus=Successful`` is a pass of the state check only; any other value fails.
* An HTTP status for the endpoint (``-> 500``, ``returned 503``, ``GET /path: 500``, ``HTTP/1.1
  404``, ``status: 500``, ``capabilities 404``, ``500 Internal Server Error``, curl's ``000``)
  passes only when it is 2xx and its reason phrase, if any, agrees; ``not 200`` fails. A bare
  number (``expected 200``, ``200 errors``) is no answer.
* Failure words fail (``failed``, ``error``, ``exception``, ``threw``, ``timed out``, ``down``,
  ``unavailable``, ``degraded``, ``KO``, ``❌``, ``rollback``, ``reverted``), as do nonzero counts
  (``errors: 3``, ``3/5 passed``), qualified passes (``partially passed``, ``passed (except
  ...)``) and negated passes (``not passed``, ``passed? no``, ``success: false``).
* Negated failures (``no errors``, ``0 failures``, ``errors: 0``, ``did not time out``) and
  descriptions of the change (``fixed the 500 error``, ``raised the timeout to 30s``) say nothing.
* Unsettled outcomes (``validation: pending``, ``retry pending``, ``skipped``, ``to be rerun``,
  ``passed?``, ``not validated``, ``ok-ish``) keep the text from being a pass.

Any failure makes the outcome ``fail``; else anything unsettled makes it ``None``; else a pass
signal or the Lambda state pair makes it ``pass``; no recognisable outcome is ``None``.

SHA extraction is deliberately the other way round: the engine resolves candidates
against real commits, so an extra candidate costs nothing while a missed one hides
evidence. Only obvious non-commits (dates, timestamps, UUIDs, request ids, ARNs) are
left out.

The artifact a deploy left live is read only where labelled: ``CodeSha256=`` (44 base64 characters
ending in ``=``, as AWS prints it) and ``RevisionId=`` (a UUID), the patterns of
``compliance.base.digests``; a labelled digest is blanked before the other parsers run, so its
letters never read as a failure word or a commit.

Modules: ``records`` (an item's evidence and ``parse_text``), ``outcome`` and ``grammar`` (the
validation outcome), ``shas``, ``timestamps`` (LastModified), ``claims`` (deployed, by which path,
to which target), ``line`` (the line the deploy command writes), ``scan`` (literal-anchored
matching that keeps all of it fast). The names below are the package's interface.
"""

from __future__ import annotations

import importlib
from typing import Any

from compliance.judge.evidence.signals import FAIL, PASS, UNSETTLED

# The grammar compiles about 90 patterns (most of this package's import time), and every check module
# imports this package to validate a rule file. So the interface is loaded on first use (PEP 562):
# the name table below is the whole interface, and each name's home module is imported when it is read.
_HOME = {
    "DEFAULT_FUNCTION": "claims", "DEFAULT_VIA": "claims", "names_manual_run": "claims",
    "names_other_target": "claims", "names_workflow": "claims",
    "format_evidence_line": "line", "parse_evidence_line": "line",
    "detail_signal": "outcome",
    "Evidence": "records", "evidence_for_item": "records", "parse_text": "records",
}

__all__ = ["FAIL", "PASS", "UNSETTLED", *sorted(_HOME)]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
