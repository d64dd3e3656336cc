"""Evidence records: the facts each worklog entry and structured field of a tracker item states.

Free text and structured fields (``deploy_evidence``, ``live_validation_evidence``, JSON or
text) go through one parser: a structured record is re-stated as text first, so the two shapes
cannot drift apart in their verdicts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from compliance.base.digests import CODE_SHA256_LABELLED, code_sha256_in, revision_id_in
from compliance.base.jsonpairs import items_of, loads_all_pairs
from compliance.base.redact import clip
from compliance.base.timeutil import parse_time
from compliance.judge.evidence.claims import mentions_deploy
from compliance.judge.evidence.outcome import outcome_of
from compliance.judge.evidence.shas import shas_in
from compliance.judge.evidence.timestamps import last_modified_in


@dataclass(frozen=True)
class Evidence:
    task_id: str
    origin: str  # "worklog" or "field:<name>"
    timestamp: datetime | None
    text: str
    shas: tuple[str, ...]
    last_modified: tuple[datetime, ...]
    outcome: str | None  # "pass" | "fail" | None
    outcome_details: tuple[str, ...]
    mentions_deploy: bool
    index: int  # position in the item's history; -1 for structured fields
    code_sha256: tuple[str, ...] = ()  # labelled ``CodeSha256=`` values (base64, as AWS prints them)
    revision_id: tuple[str, ...] = ()  # labelled ``RevisionId=`` values (UUIDs)

    @cached_property
    def shown(self) -> str:
        """The text as a finding shows it: masked, then cut (``clip``), once per entry rather than once per
        finding citing it (an entry naming a later commit backs every change that commit contains)."""
        return clip(self.text, SHOWN_CHARS)


SHOWN_CHARS = 300


def _blank_digests(text: str) -> str:
    """The text with each labelled CodeSha256 value blanked (same length): base64 is letters and
    digits, so "/KO/" or a hex run between "+" and "/" inside one would read as a failure word or
    a commit to the parsers that follow."""
    if "sha256" not in text.lower():
        return text
    return CODE_SHA256_LABELLED.sub(lambda m: m.group(0)[: m.start(1) - m.start()] + " " * 44, text)


def parse_text(text: str) -> dict[str, Any]:
    """The facts one piece of evidence text states; non-text reads as stating nothing."""
    if not isinstance(text, str):
        text = ""
    text = _blank_digests(text)
    outcome, details = outcome_of(text)
    return {
        "shas": shas_in(text),
        "last_modified": last_modified_in(text),
        "outcome": outcome,
        "outcome_details": details,
        "mentions_deploy": mentions_deploy(text),
    }


_COMMIT_KEYS = {"commit", "commitsha", "sha", "gitsha", "revision"}
_LM_KEYS = {"lastmodified", "functionlastmodified"}
_OUTCOME_KEYS = {"validation", "outcome", "result", "status", "validationresult", "validationoutcome"}
_STATE_KEYS = {"state"}
_LUS_KEYS = {"lastupdatestatus"}
_ARTIFACT_KEYS = {"codesha": "CodeSha256", "revisionid": "RevisionId"}  # keys lose digits: "CodeSha256" -> "codesha"
# keys whose boolean value is itself the verdict: {"passed": false}, {"ok": false}, {"success": false}
_VERDICT_KEYS = {"passed", "pass", "ok", "success", "successful", "succeeded", "healthy"}
_BOOL_WORDS = {"true": True, "false": False, "yes": True, "no": False}
_COUNT_KEYS = {"errors", "error", "failures", "failed", "failing", "exceptions", "timeouts", "errorcount", "failurecount"}
_MAX_DEPTH = 64  # deeper than any real record; bounds recursion on hostile input


def _render(value: Any, key: str = "", depth: int = 0) -> Iterable[str]:
    """Re-state a structured record as text the free-text parser reads unambiguously.

    One parser for both shapes keeps their verdicts from drifting apart. Unknown keys are
    dropped but their text values kept, so a note like "rollback performed" still counts.
    """
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, dict):
        for k, v in items_of(value):
            yield from _render(v, re.sub(r"[^a-z]", "", str(k).lower()), depth + 1)
        return
    if isinstance(value, (list, tuple)):
        for v in value:
            yield from _render(v, key, depth + 1)
        return
    if isinstance(value, str) and key in _OUTCOME_KEYS | _VERDICT_KEYS and value.strip().lower() in _BOOL_WORDS:
        value = _BOOL_WORDS[value.strip().lower()]  # "validation": "false" is a boolean written as text
    if isinstance(value, bool):
        if key in _OUTCOME_KEYS | _VERDICT_KEYS:
            yield "validation passed" if value else "validation failed"
        elif key in _COUNT_KEYS and value:
            yield "validation failed"  # {"failed": true}
        return
    if isinstance(value, int) and key in _OUTCOME_KEYS | {"statuscode", "httpstatus"}:
        yield f"HTTP {value}"
        return
    if isinstance(value, (int, float)) and key in _COUNT_KEYS:
        yield f"{key}: {value:g}"  # "errors": 3 is a count of failures ("errors": 0 says nothing)
        return
    if not isinstance(value, str) or not value.strip():
        return
    if key in _COMMIT_KEYS:
        yield f"commit {value}"
    elif key in _LM_KEYS:
        yield f"LastModified={value}"
    elif key in _ARTIFACT_KEYS:
        yield f"{_ARTIFACT_KEYS[key]}={value}"
    elif key in _STATE_KEYS:
        yield f"State={value}"
    elif key in _LUS_KEYS:
        yield f"LastUpdateStatus={value}"
    elif key in _OUTCOME_KEYS:
        yield f"validation {value}"
    else:
        yield value


def _structured_text(value: Any) -> tuple[str, str] | None:
    """(raw text, text to parse) for a JSON-or-text field; None when the type is unusable."""
    if isinstance(value, str):
        if not value.strip():
            return None
        try:  # a key named twice keeps both values ("State": "Failed", "State": "Active" states both)
            decoded = loads_all_pairs(value)
        except (ValueError, RecursionError):
            return value, value
        if isinstance(decoded, (dict, list)):
            return value, "; ".join(_render(decoded))
        return value, value
    if isinstance(value, dict):
        try:
            raw = json.dumps(value, default=str)
        except (ValueError, TypeError, RecursionError):
            raw = repr(value)
        return raw, "; ".join(_render(value))
    return None


def _evidence(
    task_id: str, origin: str, timestamp: datetime | None, raw: str, parse: str, index: int
) -> Evidence:
    facts = parse_text(parse)
    return Evidence(
        task_id=task_id,
        origin=origin,
        timestamp=timestamp,
        text=raw,
        shas=facts["shas"],
        last_modified=facts["last_modified"],
        outcome=facts["outcome"],
        outcome_details=facts["outcome_details"],
        mentions_deploy=facts["mentions_deploy"],
        index=index,
        code_sha256=code_sha256_in(parse),
        revision_id=revision_id_in(parse),
    )


def evidence_for_item(task_id: str, item: dict) -> list[Evidence]:
    """Every piece of deployment evidence a tracker item carries, worklogs first.

    Tracker records are hand-edited, so any malformed part is skipped rather than
    trusted or allowed to abort the whole check.
    """
    if not isinstance(item, dict):
        return []
    task_id = str(task_id)
    out: list[Evidence] = []
    history = item.get("history")
    if isinstance(history, list):
        for index, entry in enumerate(history):
            if not isinstance(entry, dict):
                continue
            status = entry.get("status")
            if not isinstance(status, str) or status.strip().lower() != "worklog":
                continue
            description = entry.get("description")
            if not isinstance(description, str) or not description.strip():
                continue
            ts = entry.get("timestamp")
            timestamp = parse_time(ts) if isinstance(ts, str) else None
            out.append(_evidence(task_id, "worklog", timestamp, description, description, index))

    commit = item.get("commit_sha")
    if isinstance(commit, str) and commit.strip():
        out.append(_evidence(task_id, "field:commit_sha", None, commit, f"commit {commit.strip()}", -1))
    for name in ("deploy_evidence", "live_validation_evidence"):
        texts = _structured_text(item.get(name))
        if texts is not None:
            out.append(_evidence(task_id, f"field:{name}", None, texts[0], texts[1], -1))
    return out
