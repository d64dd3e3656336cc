"""`compliance backtest`: what a draft rule would have failed on a real repository's past window."""

from __future__ import annotations

import pytest

from compliance.cli import main
from tests.reportfile import read_report
from tests.scenario import build_repo, snapshot

DRAFT = """\
version: 1
rules:
  - id: DRAFT-001
    title: Changes to the API or MCP server name a task
    severity: medium
    rationale: trial before enforcement
    runbook_section: Governance / Compliance Notes
    scope:
      include: ["backend/lambda/coordination_api/**", "tools/enceladus-mcp-server/**"]
      exclude: ["**/governance_data_dictionary.json"]
    checks:
      - kind: tracker_ref
    remediation: {text: name the task, command: "git show --stat {sha}"}
  - id: DRAFT-002
    title: API changes come with a changelog entry
    severity: low
    rationale: trial
    runbook_section: Notes
    scope: {include: ["backend/lambda/coordination_api/**"]}
    checks:
      - {kind: co_change, when: ["backend/lambda/coordination_api/**"], require: [CHANGELOG.md]}
    remediation: {text: add a changelog entry}
"""


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    base = tmp_path_factory.mktemp("bt")
    repo, shas = build_repo(base / "enceladus")
    (base / "draft.yaml").write_text(DRAFT, "utf-8")
    (base / "compliance.yaml").write_text("version: 1\ntarget:\n  repo: enceladus\n  branch: main\n", "utf-8")
    return base, repo, shas


def _run(capsys, *args):
    code = main(["backtest", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_lists_the_changes_a_draft_rule_would_have_failed(setup, capsys, tmp_path, monkeypatch):
    base, _, s = setup
    monkeypatch.chdir(tmp_path)
    code, out, _ = _run(capsys, "--policy", str(base / "draft.yaml"), "--rule", "DRAFT-001",
                        "--config", str(base / "compliance.yaml"), "--since", "2026-02-21", "--until", "2026-03-31")
    assert code == 0  # informational, even though something would have failed
    lines = out.splitlines()
    assert lines[0].split() == ["rule", "subject", "status", "message"]
    [row] = [ln for ln in lines if ln.startswith("DRAFT-001")]
    assert f"change {s['direct'][:12]}" in row and " fail " in row and "no tracker id" in row
    assert "1 fail" in out and "2 pass" in out
    assert "1 change(s) would have failed DRAFT-001 between 2026-02-21 and 2026-03-31 on main" in out
    assert list(tmp_path.iterdir()) == []  # writes nothing without --out


def test_all_rules_of_the_draft_and_a_narrower_window(setup, capsys):
    base, _, s = setup
    code, out, _ = _run(capsys, "--policy", str(base / "draft.yaml"), "--config", str(base / "compliance.yaml"),
                        "--since", "2026-02-26", "--until", "2026-02-28", "--all")
    assert code == 0
    rows = [ln for ln in out.splitlines() if ln.startswith("DRAFT-")]
    assert any(r.startswith("DRAFT-001") and s["squash"][:12] in r and " pass " in r for r in rows)
    assert not any(s["direct"][:12] in r for r in rows)  # outside the window
    assert not any(s["pr"][:12] in r for r in rows)


def test_from_a_snapshot_with_reports_only_when_asked(setup, capsys, tmp_path):
    base, repo, s = setup
    from compliance.model.snapshot import save_snapshot

    snap = tmp_path / "snap.json"
    save_snapshot(snapshot(repo.path), snap)
    out_dir = tmp_path / "out"
    code, out, err = _run(capsys, "--policy", str(base / "draft.yaml"), "--rule", "DRAFT-002",
                          "--snapshot", str(snap), "--out", str(out_dir))
    assert code == 0
    doc = read_report(out_dir / "report.json")
    assert doc["mode"] == "backtest" and doc["summary"]["fail"] == 3
    assert {f["subject"] for f in doc["findings"] if f["status"] == "fail"} == {s["pr"][:12], s["dict"][:12], s["direct"][:12]}
    assert (out_dir / "report.md").exists() and (out_dir / "snapshot.json").exists()


def test_invalid_input_exits_2(setup, capsys, tmp_path):
    base, _, _ = setup
    code, _, err = _run(capsys, "--policy", str(base / "draft.yaml"), "--rule", "DRAFT-01",
                        "--config", str(base / "compliance.yaml"))
    assert code == 2 and "did you mean 'DRAFT-001'" in err
    broken = tmp_path / "broken.yaml"
    broken.write_text(DRAFT.replace("kind: tracker_ref", "kind: tracker_rf"), "utf-8")
    code, _, err = _run(capsys, "--policy", str(broken), "--config", str(base / "compliance.yaml"))
    assert code == 2 and f"{broken}:12:15:" in err
    code, _, err = _run(capsys, "--policy", str(base / "draft.yaml"), "--snapshot", str(tmp_path / "none.json"))
    assert code == 2


def test_a_change_failing_a_change_rule_and_a_task_rule_is_counted_once(demo_run, capsys):
    """The demo's 3c41... fails APIMCP-001 (the change) and APIMCP-007 (its task, ``TASK@3c41...``): one change
    that would have failed, not two. The count is the distinct changes of the failing rows."""
    _, base = demo_run
    code, out, _ = _run(capsys, "--policy", "builtin:api-mcp-runbook", "--rule", "APIMCP-001", "--rule", "APIMCP-007",
                        "--snapshot", str(base / "out" / "snapshot.json"))
    assert code == 0
    rows = [ln.split()[:4] for ln in out.splitlines() if ln.startswith("APIMCP-")]
    failing = [(kind, subject) for _, kind, subject, status in rows if status == "fail"]
    changes = {subject for kind, subject in failing if kind == "change"}
    tasks = {subject.rsplit("@", 1)[1] for kind, subject in failing if kind == "task"}
    assert changes & tasks  # the case: one change failing both rules
    assert len(failing) > len(changes | tasks)
    assert f"{len(failing)} fail" in out
    assert f"\n{len(changes | tasks)} change(s) would have failed APIMCP-001, APIMCP-007 between" in out
