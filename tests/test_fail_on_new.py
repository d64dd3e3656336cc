"""`--fail-on-new`: only failures and errors new since `--previous` gate; every finding is still reported."""

from __future__ import annotations

import pytest

from compliance.app.gating import gate, gating_findings
from compliance.base.errors import ComplianceError
from tests.reportfile import read_report


def f(rule: str, subject: str, status: str, severity: str = "medium", **extra) -> dict:
    return {"rule_id": rule, "subject_type": "change", "subject": subject, "status": status, "severity": severity,
            **extra}


def doc(findings: list[dict], new: list[dict]) -> dict:
    keys = ("rule_id", "subject_type", "subject")
    return {"findings": findings, "diff": {"new": [{k: e[k] for k in (*keys, "target") if k in e} for e in new]}}


OLD_FAIL, OLD_ERROR = f("R-1", "aaa", "fail", "critical"), f("R-2", "bbb", "error")
NEW_FAIL, NEW_ERROR = f("R-1", "ccc", "fail", "low"), f("R-3", "ddd", "error")


def test_old_failures_and_errors_do_not_gate():
    assert gate(doc([OLD_FAIL, OLD_ERROR, f("R-4", "e", "pass")], []), fail_on_new=True) == 0
    assert gate(doc([OLD_FAIL, OLD_ERROR], []), fail_on_new=False) == 2  # without the flag: as before


def test_a_new_failure_gates_1_and_a_new_error_2():
    assert gate(doc([OLD_FAIL, NEW_FAIL], [NEW_FAIL]), fail_on_new=True) == 1
    assert gate(doc([OLD_ERROR, NEW_FAIL, NEW_ERROR], [NEW_FAIL, NEW_ERROR]), fail_on_new=True) == 2
    assert [x["subject"] for x in gating_findings(doc([OLD_FAIL, NEW_FAIL], [NEW_FAIL]), fail_on_new=True)] == ["ccc"]


def test_precedence_with_fail_on_and_soft_fail():
    d = doc([OLD_FAIL, NEW_FAIL], [NEW_FAIL])  # the old failure is critical, the new one low
    assert gate(d, fail_on_new=True, fail_on="high") == 0  # --fail-on applies to the new ones only
    assert gate(d, fail_on_new=True, fail_on="low") == 1
    assert gate(d, fail_on_new=True, soft_fail=True) == 0
    assert gate({"findings": [f("R-1", "x", "fail", "urgent")], "diff": {"new": []}}, fail_on_new=True) == 2


def test_a_merged_report_keys_on_the_target_too():
    old = f("R-1", "aaa", "fail", target="api")
    new = f("R-1", "aaa", "fail", target="web")  # same rule and subject, another target: new there only
    assert gate(doc([old], [new]), fail_on_new=True) == 0
    assert gate(doc([old, new], [new]), fail_on_new=True) == 1


@pytest.mark.parametrize("source", [{"findings": [OLD_FAIL]}, [OLD_FAIL], {"findings": [OLD_FAIL], "diff": None}])
def test_without_a_diff_it_is_a_usage_error(source):
    with pytest.raises(ComplianceError, match="--previous|diff"):
        gate(source, fail_on_new=True)


def test_cli_gates_on_new_failures_only_and_says_which(setup, tmp_path, capsys):
    from compliance.cli import main

    config, repo, s, drift = setup
    base = ["pr", "--config", str(config), "--base", "main", "--head", "agent/drift"]
    assert main([*base, "--out", str(tmp_path / "first")]) == 1
    previous = str(tmp_path / "first" / "report.json")
    capsys.readouterr()
    assert main([*base, "--out", str(tmp_path / "again"), "--previous", previous, "--fail-on-new"]) == 0
    out = capsys.readouterr().out
    assert "gating on 0 failure(s)/error(s) new since the previous report" in out
    again = read_report(tmp_path / "again" / "report.json")
    assert any(x["status"] == "fail" for x in again["findings"])  # still reported
    # a branch that adds a failure: only that one gates
    repo.branch("agent/more", "agent/drift")
    repo.commit("tidy the server", {"tools/enceladus-mcp-server/server.py": "print('tidy')\n"})
    assert main(["pr", "--config", str(config), "--base", "main", "--out", str(tmp_path / "more"),
                 "--previous", previous, "--fail-on-new"]) == 1
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("  gating ")]
    assert lines and all("APIMCP-008" not in line for line in lines)


def test_cli_fail_on_new_without_previous_exits_2(setup, tmp_path, capsys):
    from compliance.cli import main

    config, *_ = setup
    code = main(["pr", "--config", str(config), "--base", "main", "--head", "agent/drift", "--fail-on-new",
                 "--out", str(tmp_path / "o")])
    assert code == 2
    assert "--fail-on-new needs --previous" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
