"""`compliance pr --base REF`: the local pre-merge check, on a real repository, judged as the GitHub PR check
judges the same change (the GitHub side served by `responses`, as in tests/test_pr_mode.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses

from compliance.app.pr_local import changed_files, local_pull_request
from compliance.cli import main
from tests.github_payloads import WORKFLOW_PATH, FakeGitHub, pull_request
from tests.pr_system import ROOT
from tests.pr_system import pr_file as _file
from tests.reportfile import read_report

KEEP = ("rule_id", "subject_type", "subject", "status", "message")


def _findings(out: Path) -> list[dict]:
    doc = read_report(out / "report.json")
    return [{k: f[k] for k in KEEP} for f in doc["findings"]]


def test_a_drifting_branch_fails_locally_exactly_as_the_github_pr_check_fails(setup, tmp_path):
    config, repo, s, drift = setup
    # the same change as GitHub would list it: the branch's one commit, its message and branch name
    pr = pull_request(43, changed_files=1, head_sha=drift, body="")
    pr["title"], pr["head"]["ref"], pr["user"] = "narrow the filter", "agent/drift", None
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        FakeGitHub(rsps, pr=pr, files=[_file(WORKFLOW_PATH)])
        github_code = main(["pr", "--config", str(config), "--pr", "43", "--out", str(tmp_path / "gh")])
    with responses.RequestsMock() as rsps:  # no request at all may reach GitHub
        local_code = main(["pr", "--config", str(config), "--base", "main", "--head", "agent/drift",
                           "--out", str(tmp_path / "local")])
        assert not rsps.calls
    assert github_code == local_code == 1
    local, github = _findings(tmp_path / "local"), _findings(tmp_path / "gh")
    assert local == github
    assert {f["status"] for f in local if f["rule_id"] == "APIMCP-008"} == {"fail"}
    snap = json.loads((tmp_path / "local" / "snapshot.json").read_text("utf-8"))
    assert snap["pull_request"]["number"] == 0 and snap["pull_request"]["head_sha"] == drift
    assert snap["pull_request"]["head_ref"] == "agent/drift"
    assert snap["sources"]["git"]["data"]["commits"][0]["files"] == [{"path": WORKFLOW_PATH, "status": "M"}]


def test_the_local_snapshot_replays_offline_with_deferred_sources(setup, tmp_path):
    config, repo, s, drift = setup
    repo.checkout("agent/drift")  # the default head: HEAD, its branch name from git
    assert main(["pr", "--config", str(config), "--base", "main", "--out", str(tmp_path / "local")]) == 1
    snap = json.loads((tmp_path / "local" / "snapshot.json").read_text("utf-8"))
    assert snap["pull_request"]["head_ref"] == "agent/drift"
    assert {n for n, src in snap["sources"].items() if src["status"] == "deferred"} == {
        "github", "lambda", "apigateway", "tracker", "probe", "cloudtrail"}
    code = main(["evaluate", "--snapshot", str(tmp_path / "local" / "snapshot.json"), "--policies",
                 str(ROOT / "policies"), "--out", str(tmp_path / "offline")])
    assert code == 1
    assert _findings(tmp_path / "offline") == _findings(tmp_path / "local")
    assert {f["status"] for f in _findings(tmp_path / "local") if f["rule_id"] == "APIMCP-006"} == {"not_applicable"}


def test_title_and_body_options_carry_the_task_id(setup, tmp_path):
    config, repo, s, drift = setup
    repo.branch("chore/tidy")
    repo.commit("tidy the server", {"tools/enceladus-mcp-server/server.py": "print('tidy')\n"})
    head = repo.rev("HEAD")
    assert main(["pr", "--config", str(config), "--base", "main", "--out", str(tmp_path / "a")]) == 1
    before = {f["subject"]: f["status"] for f in _findings(tmp_path / "a") if f["rule_id"] == "APIMCP-012"}
    assert before == {head[:12]: "fail"}  # no tracker id in the message or the branch name
    assert main(["pr", "--config", str(config), "--base", "main", "--title", "Tidy it",
                 "--body", "Refs ENC-TSK-734", "--out", str(tmp_path / "b")]) == 0
    after = {f["subject"]: f["status"] for f in _findings(tmp_path / "b") if f["rule_id"] == "APIMCP-012"}
    assert after == {head[:12]: "pass"}


def test_renames_and_deletions_are_listed_as_github_lists_them(setup, tmp_path):
    config, repo, s, drift = setup
    repo.branch("agent/move")
    body = "line\n" * 40
    repo.commit("add two", {"docs/a.md": body, "docs/b.md": "gone soon\n"})
    base = repo.rev("HEAD")
    repo.commit("move and delete", {"docs/a.md": None, "docs/moved.md": body, "docs/b.md": None,
                                    "docs/new.md": "new\n"})
    pr = local_pull_request(str(repo.path), base, "agent/move")
    by_name = {f["filename"]: f for f in pr["files"]}
    assert by_name["docs/moved.md"] == {"filename": "docs/moved.md", "status": "renamed",
                                        "previous_filename": "docs/a.md"}
    assert by_name["docs/b.md"]["status"] == "removed" and by_name["docs/new.md"]["status"] == "added"
    assert pr["title"] == "move and delete" and pr["body"] == "" and pr["head_ref"] == "agent/move"
    # merge-base diff: commits on the base after the fork are not the branch's files
    assert changed_files("M\0x.py\0R087\0old.py\0new.py\0") == [
        {"filename": "x.py", "status": "modified"},
        {"filename": "new.py", "status": "renamed", "previous_filename": "old.py"}]


def test_the_merge_base_diff_ignores_what_the_base_gained_since(setup, tmp_path):
    config, repo, s, drift = setup
    repo.commit("main moves on", {"docs/later.md": "later\n"})  # on main, after agent/drift forked
    pr = local_pull_request(str(repo.path), "main", "agent/drift")
    assert [f["filename"] for f in pr["files"]] == [WORKFLOW_PATH]


@pytest.mark.parametrize("argv, says", [
    (["--base", "main", "--publish", "check-run"], "publishes nothing"),
    (["--base", "main", "--comment"], "publishes nothing"),
    (["--title", "x"], "need --base"),
    (["--base", "no-such-branch"], "names no commit"),
    (["--base=--upload-pack=x"], "not a git ref"),
])
def test_usage_errors_exit_2(setup, tmp_path, capsys, argv, says):
    config, *_ = setup
    assert main(["pr", "--config", str(config), "--out", str(tmp_path / "o"), *argv]) == 2
    assert says in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
