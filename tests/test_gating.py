"""Gating: every row of the precedence table in ``compliance.app.gating``, in order."""

from __future__ import annotations

import itertools

import pytest

from compliance.app.gating import check_fail_on, gate
from compliance.base.errors import ComplianceError
from compliance.model.findings import SEVERITIES, STATUSES, Finding, exit_code


def f(status: str, severity: str = "medium") -> dict:
    return {"rule_id": "R-1", "subject": "s", "status": status, "severity": severity}


ALL_GOOD = [f("pass"), f("waived", "critical"), f("not_applicable", "high")]


# Row 1: invalid input -> 2, and it beats --soft-fail.
@pytest.mark.parametrize("soft_fail", [False, True])
@pytest.mark.parametrize("source", [
    None,
    "not findings",
    42,
    [f("passed")],  # unknown status
    [f("fail", "urgent")],  # unknown severity
    [object()],
    {"findings": [f("pass"), {"status": "pass"}]},  # severity missing
    {"verdict": "pass"},  # neither findings nor summary counts
    {"pass": 1, "fail": -1, "error": 0},
    {"pass": 1, "fail": "0", "error": 0},
])
def test_row1_invalid_input_is_2_even_with_soft_fail(source, soft_fail):
    assert gate(source, soft_fail=soft_fail) == 2


@pytest.mark.parametrize("value", ["urgent", "", "HIGHEST"])
def test_row1_unknown_fail_on_is_a_usage_error(value):
    with pytest.raises(ComplianceError) as exc:
        gate([f("pass")], fail_on=value, soft_fail=True)
    assert exc.value.exit_code == 2
    assert "critical, high, medium, low, info" in str(exc.value)


def test_fail_on_is_case_insensitive():
    assert check_fail_on(" High ") == "high"
    assert check_fail_on(None) is None


# Row 2: --soft-fail -> 0 whatever the findings say.
@pytest.mark.parametrize("findings", [
    [f("error")],
    [f("fail", "critical")],
    [f("error"), f("fail", "critical")],
    ALL_GOOD,
])
@pytest.mark.parametrize("fail_on", [None, "critical", "info"])
def test_row2_soft_fail_is_always_0(findings, fail_on):
    assert gate(findings, fail_on=fail_on, soft_fail=True) == 0


# Row 3: any error -> 2, with or without --fail-on, even when failures are below the threshold.
@pytest.mark.parametrize("fail_on", [None, *SEVERITIES])
def test_row3_errors_gate_with_2(fail_on):
    assert gate([f("pass"), f("error", "info"), f("fail", "critical")], fail_on=fail_on) == 2
    assert gate([f("error", "info")], fail_on=fail_on) == 2


# Row 4: --fail-on SEV with a failure at or above SEV -> 1.
@pytest.mark.parametrize(("fail_on", "severity"), [
    (t, s) for t, s in itertools.product(SEVERITIES, SEVERITIES) if SEVERITIES.index(s) <= SEVERITIES.index(t)
])
def test_row4_failure_at_or_above_threshold_is_1(fail_on, severity):
    assert gate([*ALL_GOOD, f("fail", severity)], fail_on=fail_on) == 1


# Row 5: --fail-on SEV with failures only below SEV (or none) -> 0.
@pytest.mark.parametrize(("fail_on", "severity"), [
    (t, s) for t, s in itertools.product(SEVERITIES, SEVERITIES) if SEVERITIES.index(s) > SEVERITIES.index(t)
])
def test_row5_failure_below_threshold_is_0(fail_on, severity):
    assert gate([*ALL_GOOD, f("fail", severity)], fail_on=fail_on) == 0


@pytest.mark.parametrize("fail_on", SEVERITIES)
def test_row5_no_failure_under_threshold_is_0(fail_on):
    assert gate(ALL_GOOD, fail_on=fail_on) == 0


# Row 6 and 7: the default.
def test_row6_default_any_failure_is_1():
    assert gate([*ALL_GOOD, f("fail", "info")]) == 1


def test_row7_default_all_good_is_0():
    assert gate(ALL_GOOD) == 0
    assert gate([]) == 0


def test_fail_on_info_behaves_like_the_default():
    for findings in ([f("fail", "info")], ALL_GOOD, [f("error")]):
        assert gate(findings, fail_on="info") == gate(findings)


# Input shapes: a report document, its summary, Finding objects.
def test_accepts_a_report_document_and_finding_objects():
    doc = {"summary": {"pass": 1, "fail": 1, "error": 0}, "findings": [f("pass"), f("fail", "low")]}
    assert gate(doc) == 1
    assert gate(doc, fail_on="medium") == 0
    objs = [Finding("R-1", "change", "abc", "fail", "m", severity="high")]
    assert gate(objs) == 1 and gate(objs, fail_on="critical") == 0


def test_accepts_the_summary_alone_when_it_can_decide():
    assert gate({"pass": 3, "fail": 0, "error": 0, "waived": 0, "not_applicable": 0}) == 0
    assert gate({"pass": 3, "fail": 2, "error": 0}) == 1
    assert gate({"pass": 3, "fail": 2, "error": 1}, fail_on="critical") == 2
    assert gate({"pass": 3, "fail": 0, "error": 0}, fail_on="critical") == 0
    assert gate({"pass": 3, "fail": 2, "error": 1}, soft_fail=True) == 0
    with pytest.raises(ValueError, match="severities"):
        gate({"pass": 3, "fail": 2, "error": 0}, fail_on="high")


@pytest.mark.parametrize("statuses", list(itertools.product(STATUSES, repeat=2)))
def test_no_options_equals_findings_exit_code(statuses):
    objs = [Finding("R", "change", str(i), s, "m") for i, s in enumerate(statuses)]
    assert gate(objs) == exit_code(objs)


# Pending (not judged yet) is row 7: it never gates on its own, at any threshold, with any severity.
@pytest.mark.parametrize("fail_on", [None, *SEVERITIES])
@pytest.mark.parametrize("severity", SEVERITIES)
def test_row7_pending_never_gates(fail_on, severity):
    assert gate([*ALL_GOOD, f("pending", severity)], fail_on=fail_on) == 0
    assert gate({"pass": 1, "fail": 0, "error": 0, "pending": 3}) == 0


def test_pending_next_to_a_failure_or_error_changes_nothing():
    assert gate([f("pending", "critical"), f("fail", "low")]) == 1
    assert gate([f("pending", "critical"), f("fail", "low")], fail_on="high") == 0
    assert gate([f("pending"), f("error")], fail_on="critical") == 2
    assert exit_code([Finding("R", "change", "a", "pending", "waiting")]) == 0
