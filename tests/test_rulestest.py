"""`compliance rules test`: the shipped cases pass, and a wrong or broken case fails loudly."""

from __future__ import annotations

import shutil
from pathlib import Path

from compliance.app.rulestest import load_cases
from compliance.cli import main
from compliance.inputs.rules import load_rules

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "policies"


def test_shipped_policies_pass_their_cases(capsys):
    assert main(["rules", "test", "--policies", str(POLICIES)]) == 0
    out = capsys.readouterr().out
    assert "PASS APIMCP-003 failed-update" in out and out.rstrip().endswith(" passed, 0 failed")
    assert "no case expecting" not in out  # every rule has a passing and a failing case


def test_every_rule_has_a_passing_and_a_failing_case():
    rules = {r.id for r in load_rules([str(POLICIES)]).rules}
    cases = load_cases(str(POLICIES / "tests"), rules)
    for rule in rules:
        wanted = {v for c in cases if c.rule_id == rule for v in c.expect.values()}
        assert {"pass", "fail"} <= wanted, rule


def _copy_cases(tmp_path) -> Path:
    cases = tmp_path / "cases"
    shutil.copytree(POLICIES / "tests", cases)
    return cases


def test_a_wrong_expectation_fails_loudly(tmp_path, capsys):
    cases = _copy_cases(tmp_path)
    path = cases / "APIMCP-003.yaml"
    text = path.read_text("utf-8")
    path.write_text(text.replace("expect: {devops-coordination-api: fail}", "expect: {devops-coordination-api: pass}",
                                 1), "utf-8")
    assert main(["rules", "test", "--policies", str(POLICIES), "--cases", str(cases)]) == 1
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("FAIL APIMCP-003 failed-update"))
    assert "expected pass got fail for devops-coordination-api" in line and f"{path}:" in line
    assert out.rstrip().endswith(" passed, 1 failed")


def test_a_rule_without_cases_fails(tmp_path, capsys):
    cases = _copy_cases(tmp_path)
    (cases / "GUARD-002.yaml").unlink()
    assert main(["rules", "test", "--policies", str(POLICIES), "--cases", str(cases)]) == 1
    assert "FAIL GUARD-002 (no cases)" in capsys.readouterr().out


def test_a_rule_no_case_sees_fail_fails_the_run(tmp_path, capsys):
    """A rule whose only cases expect could-not-evaluate (or only pass) is not shown to be able to fail."""
    cases = _copy_cases(tmp_path)
    (cases / "APIMCP-003.yaml").write_text(
        "version: 1\nrule: APIMCP-003\ncases:\n  - name: nothing-read\n    sources: {}\n"
        "    expect: {'-': error}\n", "utf-8")
    code = main(["rules", "test", "--policies", str(POLICIES), "--cases", str(cases)])
    out = capsys.readouterr().out
    line = next((ln for ln in out.splitlines() if ln.startswith("FAIL APIMCP-003 (no case expecting")), "")
    assert "pass or fail" in line and "policies" in line, out[-2000:]
    assert code == 1 and out.rstrip().endswith(" 1 failed")


def test_invalid_case_files_exit_2_with_locations(tmp_path, capsys):
    cases = _copy_cases(tmp_path)
    (cases / "broken.yaml").write_text(
        "version: 1\n"
        "rule: APIMCP-003\n"
        "cases:\n"
        "  - name: typo\n"
        "    expct: {devops-coordination-api: pass}\n"
        "  - name: bad-status\n"
        "    expect: {devops-coordination-api: passs}\n", "utf-8")
    (cases / "unknown.yaml").write_text(
        "version: 1\nrule: APIMCP-0003\ncases:\n  - name: x\n    sources:\n"
        "      lambda: {function: f, configuration: {State: 3}}\n    expect: {f: pass}\n", "utf-8")
    assert main(["rules", "test", "--policies", str(POLICIES), "--cases", str(cases)]) == 2
    err = capsys.readouterr().err
    assert f"{cases / 'broken.yaml'}:5:5: unknown key 'expct'; did you mean 'expect'?" in err
    assert f"{cases / 'broken.yaml'}:7:39:" in err and "did you mean 'pass'" in err
    assert f"{cases / 'unknown.yaml'}:2:7: unknown rule 'APIMCP-0003'; did you mean 'APIMCP-003'?" in err


def test_case_data_is_checked_against_the_source_schema(tmp_path, capsys):
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "c.yaml").write_text(
        "version: 1\nrule: APIMCP-003\ncases:\n  - name: x\n    sources:\n"
        "      lambda: {function: f, configuration: {State: 3}}\n    expect: {f: pass}\n", "utf-8")
    assert main(["rules", "test", "--policies", str(POLICIES / "api-mcp-runbook.yaml"), "--cases", str(cases),
                 "--rule", "APIMCP-003"]) == 2
    assert f"{cases / 'c.yaml'}:6:52: expected a string, got integer 3" in capsys.readouterr().err
