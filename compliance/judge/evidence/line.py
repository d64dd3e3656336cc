"""The evidence line ``compliance deploy`` writes, and reading such a line back.

The line is built so that ``parse_text`` reads exactly what was written (checked at write time),
and ``parse_evidence_line`` recovers its fields to show what was recorded.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from compliance.base.digests import code_sha256_in, is_code_sha256, is_revision_id, revision_id_in
from compliance.base.timeutil import parse_time
from compliance.judge.evidence.claims import DEFAULT_FUNCTION, DEFAULT_VIA
from compliance.judge.evidence.records import parse_text
from compliance.judge.evidence.scan import NOCASE
from compliance.judge.evidence.signals import FAIL, PASS
from compliance.judge.evidence.timestamps import TIMESTAMP, timestamp_value

_HEX_SHA = re.compile(r"[0-9a-fA-F]{7,40}")
_RUNTIME_DETAIL = re.compile(r"(?:State|LastUpdateStatus)\s*[:=]", NOCASE)


def _lambda_time(value: str | datetime) -> tuple[str, datetime]:
    if isinstance(value, datetime):
        dt = parse_time(value) or value
        frac = f"{dt.microsecond // 1000:03d}" if dt.microsecond % 1000 == 0 else f"{dt.microsecond:06d}"
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + frac + "+0000", dt
    text = str(value).strip()
    m = TIMESTAMP.fullmatch(text)
    dt = timestamp_value(m) if m else None
    if dt is None:
        raise ValueError(f"not a LastModified timestamp: {value!r}")
    return text, dt


def format_evidence_line(
    commit: str,
    last_modified: str | datetime,
    outcome: str,
    details: list[str],
    report_url: str | None = None,
    *,
    function: str = DEFAULT_FUNCTION,
    via: str = DEFAULT_VIA,
    code_sha256: str | None = None,
    revision_id: str | None = None,
) -> str:
    """The worklog line the deploy command records, guaranteed to read back as written.

    CI cannot write to the tracker, so this line is what a person or agent pastes; it is
    checked against ``parse_text`` here so a line that would later read differently (a
    "pass" whose details show a 5xx, say) is refused at write time instead. ``code_sha256`` and
    ``revision_id`` name the artifact the deploy left live, so ``lambda_deploy_match`` can prove the
    live code is this deploy's rather than infer it from the time.
    """
    if code_sha256 is not None and not is_code_sha256(code_sha256):
        raise ValueError(f"not a CodeSha256 (44 base64 characters ending in '='): {code_sha256!r}")
    if revision_id is not None and not is_revision_id(revision_id):
        raise ValueError(f"not a RevisionId (a UUID): {revision_id!r}")
    commit = str(commit).strip()
    if not _HEX_SHA.fullmatch(commit):
        raise ValueError(f"not a commit sha (7-40 hex): {commit!r}")
    if outcome not in (PASS, FAIL):
        raise ValueError(f"outcome must be 'pass' or 'fail', not {outcome!r}")
    lm_text, lm = _lambda_time(last_modified)
    clean = [" ".join(str(d).split()) for d in details or []]
    clean = [d for d in clean if d]
    runtime = [d for d in clean if _RUNTIME_DETAIL.match(d)]
    checks = [d for d in clean if d not in runtime]
    artifact = ([f"CodeSha256={code_sha256}"] if code_sha256 else []) + \
        ([f"RevisionId={revision_id}"] if revision_id else [])
    function_part = " ".join([" ".join(str(function).split()), f"LastModified={lm_text}", *artifact, *runtime])
    validation = f"validation={outcome}" + (f" ({', '.join(checks)})" if checks else "")
    parts = [f"Deployed commit {commit.lower()} via {' '.join(str(via).split())}", function_part, validation]
    if report_url:
        parts.append(f"report: {' '.join(str(report_url).split())}")
    line = "; ".join(parts)

    facts = parse_text(line)
    if not facts["shas"] or facts["shas"][0] != commit.lower():
        raise ValueError(f"evidence line would not read back commit {commit}: {line!r}")
    if facts["last_modified"] != (lm,):
        raise ValueError(f"evidence line would not read back LastModified {lm_text}: {line!r}")
    if code_sha256_in(line) != ((code_sha256,) if code_sha256 else ()) or \
            revision_id_in(line) != ((revision_id,) if revision_id else ()):
        raise ValueError(f"evidence line would not read back its CodeSha256 / RevisionId: {line!r}")
    if facts["outcome"] != outcome:
        raise ValueError(f"evidence line would read as {facts['outcome']!r}, not {outcome!r}: {line!r}")
    return line


_LINE = re.compile(
    r"Deployed commit (?P<commit>[0-9a-f]{7,40}) via (?P<via>[^;]+); "
    r"(?P<function>\S+) LastModified=(?P<last_modified>\S+)"
    r"(?: CodeSha256=(?P<code_sha256>\S+))?(?: RevisionId=(?P<revision_id>\S+))?(?P<runtime>[^;]*); "
    r"validation=(?P<outcome>pass|fail)(?: \((?P<checks>.*?)\))?"
    r"(?:; report: (?P<report_url>\S+))?"
)


def parse_evidence_line(line: str) -> dict[str, Any] | None:
    """The fields of a line written by ``format_evidence_line``; None for any other text.

    Lets the deploy command show exactly what it recorded. Checks must still use
    ``parse_text``, which also reads lines people wrote by hand.
    """
    if not isinstance(line, str):
        return None
    m = _LINE.fullmatch(line.strip())
    if m is None:
        return None
    ts = TIMESTAMP.fullmatch(m["last_modified"])
    lm = timestamp_value(ts) if ts else None
    if lm is None:
        return None
    details = m["runtime"].split() + (m["checks"].split(", ") if m["checks"] else [])
    return {
        "commit": m["commit"],
        "via": m["via"],
        "function": m["function"],
        "last_modified": lm.astimezone(timezone.utc),
        "code_sha256": m["code_sha256"],
        "revision_id": m["revision_id"],
        "outcome": m["outcome"],
        "details": details,
        "report_url": m["report_url"],
    }
