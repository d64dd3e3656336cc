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

``--fail-on-new`` (with ``--previous``) narrows the findings the rows look at *before* rows 3-7: only
a failure or an error whose key (``rule_id, subject_type, subject``, as ``report.diff`` keys findings)
is in the report's ``diff.new`` can gate, so a team adopts rules without first waiving its old debt.
The report still lists every finding. Row 1 and row 2 are unchanged (invalid input is 2, ``--soft-fail``
is 0), and ``--fail-on`` still applies to the new ones. A document without a ``diff`` section cannot
say what is new: that is a usage error (``ComplianceError``, exit 2), never a pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from compliance.base.errors import EXIT_ERROR, EXIT_FAIL, EXIT_OK, ComplianceError
from compliance.model.findings import ERROR, FAIL, SEVERITIES, STATUSES, Finding
from compliance.report.diff import full_sha

RANK = {s: i for i, s in enumerate(SEVERITIES)}  # lower is more severe


def check_fail_on(fail_on: str | None) -> str | None:
    """Normalise a ``--fail-on`` value; an unknown one is a usage error, not a silent default."""
    if fail_on is None:
        return None
    value = fail_on.strip().lower()
    if value not in RANK:
        raise ComplianceError(f"--fail-on: unknown severity {fail_on!r}; use one of {', '.join(SEVERITIES)}")
    return value


def _key(entry: Mapping[str, Any], sha: str | None) -> tuple[Any, ...]:
    """A finding's diff key; a merged report's findings and diff entries also carry their target, and both name
    the full SHA of the commit judged where there is one (two commits can share the short SHA of ``subject``)."""
    return entry.get("target"), entry.get("rule_id"), entry.get("subject_type"), entry.get("subject"), sha


def new_keys(doc: Any) -> set[tuple[Any, ...]]:
    """The keys ``--fail-on-new`` gates on: the report's ``diff.new`` (failing or erroring now, not before)."""
    diff = doc.get("diff") if isinstance(doc, Mapping) else None
    new = diff.get("new") if isinstance(diff, Mapping) else None
    if not isinstance(new, list):
        raise ComplianceError("--fail-on-new needs --previous: without a previous report nothing can be called new")
    return {_key(e, e.get("sha")) for e in new if isinstance(e, Mapping)}


def gating_findings(doc: Mapping[str, Any], *, fail_on_new: bool = False) -> list[Mapping[str, Any]]:
    """The findings the exit code is computed from: all of them, or with ``fail_on_new`` only those whose
    key is new since the previous report (the others are reported, not gated on)."""
    findings = doc.get("findings")
    if not fail_on_new or not isinstance(findings, list):
        return findings
    keys = new_keys(doc)
    return [f for f in findings if isinstance(f, Mapping) and _key(f, full_sha(f)) in keys]


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


def gate(source: Any, *, fail_on: str | None = None, soft_fail: bool = False, fail_on_new: bool = False) -> int:
    """The exit code for a report document, its ``summary``, or a list of findings (see the table).

    A bare summary has counts but no severities, so it cannot answer ``--fail-on`` when something
    failed; that is a programming error (``ValueError``), not something to guess. ``fail_on_new``
    needs a report document with a ``diff`` section (see the module's docstring).
    """
    threshold = check_fail_on(fail_on)
    if fail_on_new:
        if not isinstance(source, Mapping) or not isinstance(source.get("findings"), list):
            raise ComplianceError("--fail-on-new needs a report document with its findings and a diff")
        source = gating_findings(source, fail_on_new=True) if _outcomes(source) is not None else source
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
