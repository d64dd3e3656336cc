"""The built-in rules (``builtin:NAME``, package data), the default when no rules are named, and the
strict ``rules test`` (issue 17 items 1 and 7)."""

from __future__ import annotations

from pathlib import Path

import pytest

import compliance
from compliance.base.errors import ComplianceError, InputError
from compliance.cli import main
from compliance.inputs import builtin
from compliance.inputs.config import load_config
from compliance.inputs.rules import load_rules

ROOT = Path(__file__).resolve().parents[1]
BUILTIN = Path(compliance.__file__).resolve().parent / "builtin" / "api-mcp-runbook"
GUARD_CASES = """\
version: 1
rule: GUARD-001
cases:
  - name: two-model-changes
    git:
      commits:
        - {subject: "ENC-TSK-361 paginate", committed_at: "2026-03-10T17:45:00Z",
           files: [backend/lambda/coordination_api/models/request.py]}
        - {subject: "ENC-TSK-362 page size", committed_at: "2026-03-11T17:45:00Z",
           files: [backend/lambda/coordination_api/models/request.py]}
    expect: EXPECT
  - name: model-and-dictionary
    git:
      commits:
        - {subject: "ENC-TSK-363 regenerate", committed_at: "2026-03-12T17:45:00Z",
           files: [backend/lambda/coordination_api/models/request.py,
                   backend/lambda/coordination_api/governance_data_dictionary.json]}
    expect: {"111111111111": pass}
"""


def test_a_builtin_name_is_the_folder_inside_the_package():
    assert builtin.builtin_sets() == ["api-mcp-runbook"]
    assert builtin.resolve("builtin:api-mcp-runbook") == str(BUILTIN)
    assert builtin.resolve("policies") == "policies"  # any other path is left alone
    ruleset = load_rules(["builtin:api-mcp-runbook"])
    assert {r.id for r in ruleset.rules} >= {"APIMCP-001", "GUARD-002"}
    assert all(Path(r.source).parent == BUILTIN for r in ruleset.rules)


def test_the_repository_policies_folder_is_the_builtin_set():
    """Docs and tests name policies/ at the repository root; it is the same files (a symlink)."""
    assert (ROOT / "policies").resolve() == BUILTIN
    assert sorted(p.name for p in (ROOT / "policies").glob("*.yaml")) == ["api-mcp-runbook.yaml", "team-guards.yaml"]


def test_an_unknown_builtin_name_is_refused_with_the_known_ones():
    with pytest.raises(ComplianceError, match=r"no built-in rule set 'api-mcp' \(built-in: builtin:api-mcp-runbook\)"):
        load_rules(["builtin:api-mcp"])


def test_a_config_may_name_builtin_and_local_rules(tmp_path, capsys):
    path = tmp_path / "compliance.yaml"
    path.write_text("version: 1\ntarget: {branch: main}\npolicies: [builtin:api-mcp-runbook, mine/]\n", "utf-8")
    cfg = load_config(str(path))
    assert cfg.policies == ["builtin:api-mcp-runbook", str(tmp_path / "mine")]
    assert "note:" not in capsys.readouterr().err  # named rules: nothing to say


def test_a_misspelt_builtin_in_the_config_is_located(tmp_path):
    path = tmp_path / "compliance.yaml"
    path.write_text("version: 1\ntarget: {branch: main}\npolicies:\n  - builtin:api-mcp\n", "utf-8")
    with pytest.raises(InputError) as info:
        load_config(str(path))
    assert [str(p) for p in info.value.problems] == [
        f"{path}:4:5: no built-in rule set 'api-mcp' (built-in: builtin:api-mcp-runbook)"]


def test_without_policies_the_note_names_a_local_folder_it_does_not_read(tmp_path, capsys):
    (tmp_path / "policies").mkdir()
    path = tmp_path / "compliance.yaml"
    path.write_text("version: 1\ntarget: {branch: main}\n", "utf-8")
    assert load_config(str(path)).policies == ["builtin:api-mcp-runbook"]
    err = capsys.readouterr().err
    assert "judging with the built-in rules (builtin:api-mcp-runbook)" in err
    assert f"the folder {tmp_path / 'policies'} is not read unless named (policies: [policies/])" in err


def test_rules_commands_default_to_the_builtins_and_say_so(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # nothing here: no policies/ folder
    assert main(["rules", "validate"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("16 rule(s) valid in 2 file(s)")
    assert err == "note: no rules named: judging with the built-in rules (builtin:api-mcp-runbook)\n"
    assert main(["rules", "list", "--builtin"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == "builtin:api-mcp-runbook (16 rules)" and err == ""
    assert out.splitlines()[1].split()[0] == "APIMCP-001"


def test_rules_list_builtin_also_lists_paths_given(tmp_path, capsys):
    mine = tmp_path / "mine.yaml"
    mine.write_text((BUILTIN / "team-guards.yaml").read_text("utf-8").replace("GUARD-", "MINE-"), "utf-8")
    assert main(["rules", "list", "--builtin", str(mine)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"{mine} (2 rules)" in lines and "  MINE-001" in {ln[:10] for ln in lines}


def _guard_cases(tmp_path: Path, expect: str) -> Path:
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "GUARD-001.yaml").write_text(GUARD_CASES.replace("EXPECT", expect), "utf-8")
    return cases


def test_rules_test_fails_a_case_on_a_failure_it_does_not_expect(tmp_path, capsys):
    """Two model changes without the dictionary: listing only the first must not pass quietly."""
    cases = _guard_cases(tmp_path, '{"111111111111": fail}')
    assert main(["rules", "test", "--policies", "builtin:api-mcp-runbook", "--cases", str(cases),
                 "--rule", "GUARD-001"]) == 1
    out = capsys.readouterr().out
    (line,) = [ln for ln in out.splitlines() if ln.startswith("FAIL GUARD-001 two-model-changes")]
    assert "unexpected fail for 222222222222 (not in expect" in line
    assert out.rstrip().endswith("1 passed, 1 failed")


def test_rules_test_passes_when_every_failure_is_expected(tmp_path, capsys):
    cases = _guard_cases(tmp_path, '{"111111111111": fail, "222222222222": fail}')
    assert main(["rules", "test", "--policies", "builtin:api-mcp-runbook", "--cases", str(cases),
                 "--rule", "GUARD-001"]) == 0
    assert "PASS GUARD-001 two-model-changes" in capsys.readouterr().out.splitlines()


def test_rules_test_defaults_to_the_builtin_set_and_its_cases(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["rules", "test", "--rule", "GUARD-002"]) == 0
    out, err = capsys.readouterr()
    assert "PASS GUARD-002 deprecated-runtime" in out and out.rstrip().endswith(" passed, 0 failed")
    assert "built-in rules (builtin:api-mcp-runbook)" in err
