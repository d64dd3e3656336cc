"""The pre-commit hooks (.pre-commit-hooks.yaml): a manifest pre-commit itself accepts, entries that are
real commands of this checker, and file patterns that hand each hook the files it is for."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from pre_commit.clientlib import load_manifest

from compliance.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / ".pre-commit-hooks.yaml"


@pytest.fixture(scope="module")
def hooks() -> dict[str, dict]:
    return {h["id"]: h for h in load_manifest(str(MANIFEST))}  # pre-commit's own schema check


def _argv(hook: dict) -> list[str]:
    entry = shlex.split(hook["entry"])
    assert entry[0] == "compliance"
    return [*entry[1:], *hook["args"]]


def _parses(argv: list[str]) -> bool:
    try:
        build_parser().parse_args(argv)
    except SystemExit:
        return False
    return True


def test_the_three_hooks(hooks):
    assert set(hooks) == {"compliance-rules-validate", "compliance-rules-test", "compliance-pre-push"}
    assert all(h["language"] == "python" for h in hooks.values())  # pre-commit installs the checker itself


def test_validate_gets_rule_files_and_not_their_cases(hooks):
    hook = hooks["compliance-rules-validate"]
    pattern = re.compile(hook["files"])
    assert hook["pass_filenames"] is True
    assert pattern.search("policies/api-mcp-runbook.yaml") and pattern.search("policies/team-guards.yml")
    assert not pattern.search("policies/tests/APIMCP-001.yaml")  # a case file is not a rule file
    assert not pattern.search("docs/rules.yaml")


def test_validate_runs_on_the_files_it_is_given(hooks, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "policies").glob("*.yaml"))
    assert files and all(re.search(hooks["compliance-rules-validate"]["files"], f) for f in files)
    assert main([*_argv(hooks["compliance-rules-validate"]), *files]) == 0
    assert "rule(s) valid in 2 file(s)" in capsys.readouterr().out


def test_the_rules_test_hook_runs_the_cases(hooks, monkeypatch, capsys):
    hook = hooks["compliance-rules-test"]
    assert hook["pass_filenames"] is False and re.search(hook["files"], "policies/tests/APIMCP-001.yaml")
    monkeypatch.chdir(ROOT)  # in this repository policies/ is the built-in set
    assert main(_argv(hook)) == 0
    assert capsys.readouterr().out.rstrip().endswith(" passed, 0 failed")


def test_the_pre_push_hook_runs_the_local_check(hooks):
    hook = hooks["compliance-pre-push"]
    assert hook["stages"] == ["pre-push"] and hook["always_run"] and hook["pass_filenames"] is False
    assert _argv(hook) == ["pr", "--base", "origin/main"]
    assert _parses(_argv(hook))  # the local check (tests/test_pr_local.py judges with it)
