"""Runbooks shaped to hide drift from runbook_sync (a hostile probe): each is read as a person reads the rendered
Markdown, and what the parser cannot place is a problem (so ``error``), never a silently shorter Scope.
"""

from __future__ import annotations

import pytest

from compliance.base.errors import InputError
from compliance.base.timeutil import iso, parse_time
from compliance.inputs.config import load_config
from compliance.inputs.rules import load_rules
from compliance.judge.engine import Context, evaluate
from compliance.judge.registry import reads_of, repo_files_of
from compliance.model.snapshot import build_snapshot, validate_snapshot
from compliance.sources.base import Meter
from compliance.sources.git_runner import GitRunner
from compliance.sources.plan import collect_sources
from compliance.sources.runbook_parse import parse_runbook
from tests.gitrepo import GitRepo
from tests.runbook_texts import CFN_WORKFLOW, V1, V2, V3
from tests.scenario import DEPLOY_SH, GOOD_WORKFLOW, TARGET, WORKFLOW

API = "`backend/lambda/coordination_api/**`"
STACK = "infrastructure/cloudformation/03-api.yaml"


def _scope(text: str) -> tuple[list[str], list[str]]:
    doc = parse_runbook(text)
    entries = [e["path"] for e in (doc["scope"] or {}).get("entries") or []]
    return entries, [p["message"] for p in doc["problems"] if p["section"] == "Scope"]


@pytest.mark.parametrize(("name", "scope"), [
    ("nested list under an entry", f"- {API}\n  - `{STACK}`\n"),
    ("second paragraph of an entry", f"- {API}\n\n  `{STACK}`\n"),
    ("HTML list", f"- {API}\n\n<ul><li><code>{STACK}</code></li></ul>\n"),
    ("prose after the list", f"- {API}\n\nAlso `{STACK}` deploys with them.\n"),
    ("blockquote", f"- {API}\n\n> - `{STACK}`\n"),
    ("a table (a paragraph in CommonMark)", f"- {API}\n\n| path |\n|---|\n| `{STACK}` |\n"),
])
def test_a_scope_path_outside_the_entries_is_a_problem_not_dropped(name, scope):
    entries, problems = _scope(f"# Runbook\n\n## Scope\n\n{scope}\n## Canonical Automation\n")
    assert entries == ["backend/lambda/coordination_api/**"], name
    assert any(STACK in p for p in problems), (name, problems)  # the hidden path is named, at its line


def test_an_html_comment_and_prose_naming_files_are_not_scope():
    # a comment is not rendered; the real runbook's prose names `server.py` (a file, not a scope path)
    entries, problems = _scope(f"## Scope\n\n- {API}\n<!-- - `{STACK}` -->\n\n"
                               "The package embeds the MCP runtime (`server.py` and `dispatch_plan_generator.py`).\n")
    assert entries == ["backend/lambda/coordination_api/**"] and problems == []


def test_the_real_runbook_versions_still_read_cleanly():
    for text in (V1, V2, V3):
        assert parse_runbook(text)["problems"] == []


def test_a_byte_order_mark_does_not_hide_the_first_heading():
    doc = parse_runbook("\ufeff## Scope\n\n- `a/**`\n")
    assert [e["path"] for e in doc["scope"]["entries"]] == ["a/**"]
    assert doc["headings"][0] == {"text": "Scope", "level": 2, "line": 1}


def test_crlf_line_endings_keep_entries_and_lines():
    doc = parse_runbook(V2.replace("\n", "\r\n"))
    assert doc["problems"] == []
    assert [e["path"] for e in doc["scope"]["entries"]] == [e["path"] for e in parse_runbook(V2)["scope"]["entries"]]
    assert [e["line"] for e in doc["scope"]["entries"]] == [5, 6, 7]


# ----------------------------------------------------------------------------- runbook_sync on a real history

RUNBOOK = "backend/API_MCP_DEPLOY_PROCESS.md"
SCRIPT = "backend/lambda/coordination_api/deploy.sh"
CFN = ".github/workflows/cloudformation-api-stack-deploy.yml"
RULES = load_rules(["builtin:api-mcp-runbook"]).rules
SYNC = next(r for r in RULES if r.id == "APIMCP-014")


def _sync(tmp_path, files: dict[str, str | None]) -> dict[str, object]:
    r = GitRepo(tmp_path / "enceladus").init()
    r.commit("runbook with its workflows", {WORKFLOW: GOOD_WORKFLOW, SCRIPT: DEPLOY_SH, RUNBOOK: V2, CFN: CFN_WORKFLOW,
                                            "AGENTS.md": RUNBOOK, **files}, author_date="2026-03-02T00:00:00Z")
    target = {**TARGET, "repo": str(r.path), "runbook": RUNBOOK}
    since, until = parse_time("2026-03-01T00:00:00Z"), parse_time("2026-03-31T00:00:00Z")
    sources = collect_sources(reads_of([SYNC]), {}, target, RULES, since, until, repo_files_of(RULES, target))
    snap = build_snapshot(tool_version="test", collected_at="2026-04-30T00:00:00Z",
                          window={"since": iso(since), "until": iso(until), "branch": "main"},
                          target={k: v for k, v in target.items() if k != "repo"}, rules={}, sources=sources)
    validate_snapshot(snap)
    return {f.subject: f for f in evaluate(snap, [SYNC], Context(snap, rules=list(RULES)))}


def test_the_other_workflow_the_runbook_names_must_run_on_the_path(tmp_path):
    # the runbook's API Stack section names its own workflow for 03-api.yaml; that workflow existing is not enough:
    # one that never runs on a push of the template leaves the template merged and never deployed
    other = CFN_WORKFLOW.replace('paths: ["infrastructure/cloudformation/03-api.yaml"]',
                                 'paths: ["infrastructure/cloudformation/04-data.yaml"]')
    found = _sync(tmp_path, {CFN: other})
    f = found[f"{RUNBOOK}: trigger {STACK}"]
    assert f.status == "fail" and CFN in f.message and "does not run on a push to main touching it" in f.message


def test_the_other_workflow_running_on_the_path_still_covers_it(tmp_path):
    found = _sync(tmp_path, {})
    assert f"{RUNBOOK}: trigger {STACK}" not in found
    # what remains is the builtin rules not governing the template (enceladus's own rule does): no trigger drift
    assert [s for s, f in found.items() if f.status != "pass"] == [f"{RUNBOOK}: scope {STACK}"]


@pytest.mark.parametrize("value", ["../outside.md", "backend/../AGENTS.md", "/etc/passwd", "./AGENTS.md",
                                   "docs//runbook.md", "docs/runbook.md/"])
@pytest.mark.parametrize("key", ["runbook", "workflow", "deploy_script"])
def test_a_repository_path_leaving_or_bending_the_tree_is_refused_at_its_line(tmp_path, key, value):
    # `../outside.md` made git cat-file fail for the whole git source (every rule reading git errored); a path
    # the tree cannot hold is a configuration mistake, said where it is written
    cfg = tmp_path / "compliance.yaml"
    cfg.write_text(f"version: 1\ntarget:\n  branch: main\n  {key}: '{value}'\n")
    with pytest.raises(InputError) as info:
        load_config(str(cfg))
    [problem] = [str(p) for p in info.value.problems]
    assert problem.startswith(f"{cfg}:4:") and "is not a path in the repository's tree" in problem


def test_plain_repository_paths_load(tmp_path):
    cfg = tmp_path / "compliance.yaml"
    cfg.write_text("version: 1\ntarget:\n  branch: main\n  runbook: backend/API_MCP_DEPLOY_PROCESS.md\n"
                   "  workflow: .github/workflows/api-mcp-backend-deploy.yml\n  deploy_script: deploy.sh\n")
    assert load_config(str(cfg)).target["runbook"] == "backend/API_MCP_DEPLOY_PROCESS.md"


def test_a_rule_path_outside_the_tree_is_absent_not_the_end_of_the_git_source(tmp_path):
    r = GitRepo(tmp_path / "repo").init()
    sha = r.commit("init", {"AGENTS.md": "x\n", "docs/a.md": "a\n"}, author_date="2026-03-02T00:00:00Z")
    got = GitRunner(str(r.path), Meter()).read_files(sha, ["AGENTS.md", "../outside.md", "docs/../AGENTS.md", "/x",
                                                            "docs//a.md", "docs/a.md"])
    assert got == {"AGENTS.md": "x\n", "../outside.md": None, "docs/../AGENTS.md": None, "/x": None,
                   "docs//a.md": None, "docs/a.md": "a\n"}


@pytest.mark.parametrize(("odd", "code"), [("coordinаtion_api", "U+0430"), ("coordination\u200b_api", "U+200B")])
def test_a_look_alike_scope_path_is_drift_that_says_why(tmp_path, odd, code):
    found = _sync(tmp_path, {RUNBOOK: V2.replace("coordination_api/**", f"{odd}/**", 1)})
    f = found[f"{RUNBOOK}: scope backend/lambda/{odd}/**"]
    assert f.status == "fail" and code in f.message
    assert found[f"{RUNBOOK}: rule scope backend/lambda/coordination_api/**"].status == "fail"
