"""Exit codes for CI, with the options a team needs while it adopts the rules.

A new rule set usually finds old debt; teams want to see it without blocking every merge
(``--soft-fail``), or to block only on what matters most (``--fail-on high``). What must never
happen is that "could not evaluate" quietly becomes a pass, so errors keep gating under
``--fail-on``; only an explicit ``--soft-fail`` silences them. Modelled on Checkov's documented
hard-fail / soft-fail precedence. ``pending`` (a deploy still running, evidence not due yet) never
gates, at any ``--fail-on`` threshold: it is not a failure yet, and blocking on it would make a
merge wait for a deploy that only the merge can start.

Precedence, first matching row wins:

==== ============================================================ =====
row  situation                                                    exit
==== ============================================================ =====
1    invalid input: no findings document, a finding with an       2
     unknown status or severity, an unknown ``--fail-on`` value
     (the last raises ``ComplianceError``, which the CLI exits 2 on)
2    ``--soft-fail``                                              0
3    any finding ``error`` (could not evaluate)                   2
4    ``--fail-on SEV``: any ``fail`` at SEV or more severe         1
5    ``--fail-on SEV``: failures only below SEV (they are still   0
     reported) or no failures
6    default: any ``fail``                                        1
7    default: everything passed, is pending, was waived or not    0
     applicable
==== ============================================================ =====

Severity order, most severe first: critical, high, medium, low, info. ``--fail-on info`` therefore
behaves like the default. Without options the result equals ``findings.exit_code``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from compliance.base.errors import EXIT_ERROR, EXIT_FAIL, EXIT_OK, ComplianceError
from compliance.model.findings import ERROR, FAIL, SEVERITIES, STATUSES, Finding

RANK = {s: i for i, s in enumerate(SEVERITIES)}  # lower is more severe


def check_fail_on(fail_on: str | None) -> str | None:
    """Normalise a ``--fail-on`` value; an unknown one is a usage error, not a silent default."""
    if fail_on is None:
        return None
    value = fail_on.strip().lower()
    if value not in RANK:
        raise ComplianceError(f"--fail-on: unknown severity {fail_on!r}; use one of {', '.join(SEVERITIES)}")
    return value


def _outcomes(source: Any) -> list[tuple[str, str]] | dict[str, int] | None:
    """(status, severity) per finding, or the summary counts, or None when the input is unusable."""
    if source is None:
        return None
    if isinstance(source, Mapping):
        if "findings" in source:
            return _outcomes(source["findings"])
        if FAIL in source and ERROR in source:
            counts = {k: source[k] for k in (FAIL, ERROR)}
            if all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in counts.values()):
                return counts
        return None
    if isinstance(source, (str, bytes)) or not isinstance(source, Iterable):
        return None
    out = []
    for item in source:
        if isinstance(item, Finding):
            status, severity = item.status, item.severity
        elif isinstance(item, Mapping):
            status, severity = item.get("status"), item.get("severity")
        else:
            return None
        if status not in STATUSES or severity not in RANK:
            return None
        out.append((status, severity))
    return out


def gate(source: Any, *, fail_on: str | None = None, soft_fail: bool = False) -> int:
    """The exit code for a report document, its ``summary``, or a list of findings (see the table).

    A bare summary has counts but no severities, so it cannot answer ``--fail-on`` when something
    failed; that is a programming error (``ValueError``), not something to guess.
    """
    threshold = check_fail_on(fail_on)
    outcomes = _outcomes(source)
    if outcomes is None:
        return EXIT_ERROR
    if soft_fail:
        return EXIT_OK
    if isinstance(outcomes, dict):
        if outcomes[ERROR]:
            return EXIT_ERROR
        if outcomes[FAIL] and threshold is not None:
            raise ValueError("--fail-on needs the findings (their severities), not only the summary counts")
        return EXIT_FAIL if outcomes[FAIL] else EXIT_OK
    if any(status == ERROR for status, _ in outcomes):
        return EXIT_ERROR
    limit = RANK[threshold] if threshold is not None else len(SEVERITIES)
    if any(status == FAIL and RANK[severity] <= limit for status, severity in outcomes):
        return EXIT_FAIL
    return EXIT_OK
