"""Pull request payloads are input: one that cannot be judged is refused, and a file list GitHub cut
short is never judged as if it were whole."""

from __future__ import annotations

import json

import pytest
import responses

from compliance.cli import main
from tests.github_payloads import FakeGitHub, pull_request
from tests.pr_system import pr_file as _file
from tests.reportfile import read_report


@pytest.mark.parametrize("damage", ["no head", "head not an object", "short sha", "base a string", "other number"])
def test_a_pr_payload_that_cannot_be_judged_is_an_input_error(setup, tmp_path, capsys, damage):
    config, repo, s, _ = setup
    pr = pull_request(42, changed_files=1, head_sha=s["direct"])
    if damage == "no head":
        del pr["head"]
    elif damage == "head not an object":
        pr["head"] = "main"
    elif damage == "short sha":
        pr["head"]["sha"] = s["direct"][:12]
    elif damage == "base a string":
        pr["base"] = "main"
    else:
        pr["number"] = 41
    out = tmp_path / "out"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        FakeGitHub(rsps, pr=pr, files=[_file("README.md")])
        code = main(["pr", "--config", str(config), "--pr", "42", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert "cannot read PR #42" in err and "Traceback" not in err
    assert not out.exists() or not any(out.iterdir())


def test_a_truncated_file_list_is_a_visible_warning_and_no_change_rule_passes_on_it(setup, tmp_path):
    config, repo, s, _ = setup
    pr = pull_request(42, changed_files=3412, head_sha=s["direct"], body="Refs ENC-TSK-734")
    out = tmp_path / "out"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        FakeGitHub(rsps, pr=pr, files=[_file("tools/enceladus-mcp-server/server.py"), _file("README.md")])
        code = main(["pr", "--config", str(config), "--pr", "42", "--out", str(out)])
    doc = read_report(out / "report.json")
    git = next(src for src in doc["sources"] if src["name"] == "git")
    assert any("changes 3412 files" in w and "partial list" in w for w in git["warnings"])
    tracker = [f for f in doc["findings"] if f["rule_id"] == "APIMCP-012"]
    assert [f["status"] for f in tracker] == ["error"]  # the task id is there, but 3,410 files were never seen
    assert "only 2 of the 3412 files" in tracker[0]["message"]
    assert code == 2
    snap = json.loads((out / "snapshot.json").read_text("utf-8"))
    assert snap["pull_request"]["files_listed"] == 2 and snap["pull_request"]["files_changed"] == 3412


def test_a_complete_file_list_is_judged_as_before(setup, tmp_path):
    config, repo, s, _ = setup
    pr = pull_request(42, changed_files=2, head_sha=s["direct"], body="Refs ENC-TSK-734")
    out = tmp_path / "out"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        FakeGitHub(rsps, pr=pr, files=[_file("tools/enceladus-mcp-server/server.py"), _file("README.md")])
        assert main(["pr", "--config", str(config), "--pr", "42", "--out", str(out)]) == 0
    snap = json.loads((out / "snapshot.json").read_text("utf-8"))
    assert "files_changed" not in snap["pull_request"]
