"""`pr:` waivers need a PR attribution the data confirms; `created` cannot be in the future.

A subject ending `(#13)` is what a squash merge writes and what anyone can type into a direct
push, so it is a claim: a `pr:` waiver applies to it only when a workflow run of that very commit
names the pull request. Merge commits (two parents, GitHub's subject) are confirmed by their shape,
unless two commits claim the same number: then neither is trusted, and the git source says so.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from compliance.base.errors import InputError
from compliance.cli import main
from compliance.inputs.waivers import load_waivers
from compliance.judge.engine import judge
from compliance.judge.waivers import UNCONFIRMED
from compliance.model.snapshot import save_snapshot
from compliance.report import render_all
from compliance.report.document import build_report
from tests.scenario import build_repo, make_rule, snapshot

NOW = datetime(2026, 3, 31, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return build_repo(tmp_path_factory.mktemp("repo") / "enceladus")


def _waivers(tmp_path, subject: str, *, created: str | None = None, expires: str = "2026-04-30", now=NOW):
    path = tmp_path / "waivers.yaml"
    extra = f"    created: {created}\n" if created else ""
    path.write_text("version: 1\nwaivers:\n  - rule: T-001\n    subject: " + subject +
                    "\n    owner: alice@example.com\n    reason: accepted\n    ticket: SEC-1\n"
                    f"    expires: {expires}\n{extra}", "utf-8")
    return load_waivers(str(path), now=now)


def _rule():
    return make_rule("co_change", {"when": ["**"], "require": ["CHANGELOG.md"]})  # every change fails


def _github(*runs: dict) -> dict:
    return {"repository": "NX-2021-L/enceladus", "workflow": ".github/workflows/deploy.yml", "runs": list(runs)}


def _run(run_id: int, sha: str, prs: list[int]) -> dict:
    return {"id": run_id, "head_sha": sha, "head_branch": "main", "event": "push", "status": "completed",
            "conclusion": "success", "created_at": "2026-03-01T12:00:00Z", "updated_at": "2026-03-01T12:05:00Z",
            "pull_requests": [{"number": n, "head": {"ref": "x", "sha": sha}} for n in prs]}


def _status(findings, sha):
    return next(f.status for f in findings if f.subject == sha[:12])


def test_squash_claim_alone_does_not_take_a_pr_waiver(repo, tmp_path):
    r, s = repo
    findings, section = judge(snapshot(r.path), [_rule()], _waivers(tmp_path, "{pr: 13}"))
    assert _status(findings, s["squash"]) == "fail"
    [unused] = section["unused"]
    assert UNCONFIRMED in unused["note"] and s["squash"][:12] in unused["note"] and "#13" in unused["note"]
    assert section["applied"] == []


def test_squash_confirmed_by_a_run_of_that_commit_is_waived(repo, tmp_path):
    r, s = repo
    snap = snapshot(r.path, github=_github(_run(1, s["squash"], [13])))
    findings, section = judge(snap, [_rule()], _waivers(tmp_path, "{pr: 13}"))
    assert _status(findings, s["squash"]) == "waived"
    assert [a["findings"][0]["subject"] for a in section["applied"]] == [s["squash"][:12]]
    assert "note" not in section["applied"][0]


@pytest.mark.parametrize("how", ["other-number", "other-commit", "no-runs-listed", "malformed"])
def test_lying_confirmations_do_not_count(repo, tmp_path, how):
    r, s = repo
    runs = {"other-number": [_run(1, s["squash"], [14])],
            "other-commit": [_run(1, s["direct"], [13])],
            "no-runs-listed": [_run(1, s["squash"], [])],
            "malformed": [{**_run(1, s["squash"], []), "pull_requests": [{"number": "13"}, 13, None]}]}[how]
    snap = snapshot(r.path, github=_github(*runs))
    findings, section = judge(snap, [_rule()], _waivers(tmp_path, "{pr: 13}"))
    assert _status(findings, s["squash"]) == "fail"
    assert UNCONFIRMED in section["unused"][0]["note"]


def test_pr_merge_commit_is_confirmed_by_its_shape(repo, tmp_path):
    r, s = repo
    findings, section = judge(snapshot(r.path), [_rule()], _waivers(tmp_path, "{pr: 12}"))
    assert _status(findings, s["pr"]) == "waived" and "note" not in section["applied"][0]


def test_direct_push_claiming_a_merged_pr_number_is_not_waived_and_spoils_both(tmp_path):
    """A direct push titled `(#12)` after PR 12's real merge: neither commit takes the waiver."""
    r, s = build_repo(tmp_path / "enceladus")
    sneaky = r.commit("Quick fix (#12)", {"backend/lambda/coordination_api/lambda_function.py": "v = 9\n"},
                      author_date="2026-03-05T12:00:00+00:00")
    snap = snapshot(r.path, github=_github(_run(1, sneaky, [12])))  # even a run naming it cannot settle two claims
    findings, section = judge(snap, [_rule()], _waivers(tmp_path, "{pr: 12}"))
    assert _status(findings, sneaky) == "fail" and _status(findings, s["pr"]) == "fail"
    note = section["unused"][0]["note"]
    assert UNCONFIRMED in note and sneaky[:12] in note and s["pr"][:12] in note
    warnings = snap["sources"]["git"]["provenance"]["warnings"]
    assert any("PR #12 is claimed by 2 commits" in w for w in warnings), warnings


def test_unconfirmed_note_is_in_every_report(repo, tmp_path):
    r, s = repo
    snap = snapshot(r.path)
    findings, section = judge(snap, [_rule()], _waivers(tmp_path, "{pr: 13}"))
    doc = build_report(snap, [_rule()], findings, mode="evaluate", waivers=section)
    text = render_all(doc, ["md", "html", "json"])
    for fmt in ("md", "html", "json"):
        assert UNCONFIRMED in text[fmt], fmt


def test_expired_pr_waiver_still_lists_what_it_named(repo, tmp_path):
    r, s = repo
    w = _waivers(tmp_path, "{pr: 13}", created="2026-01-01", expires="2026-03-01")
    _, section = judge(snapshot(r.path), [_rule()], w)
    assert [f["subject"] for f in section["expired"][0]["findings"]] == [s["squash"][:12]]


# --------------------------------------------------------------------------- created in the future

def test_created_in_the_future_is_an_input_error(tmp_path):
    # 851 days left on a 90-day cap: created 2028-07-01, expires 2028-07-30, evaluated 2026-03-31
    with pytest.raises(InputError) as exc:
        _waivers(tmp_path, "{resource: x}", created="2028-07-01", expires="2028-07-30")
    [problem] = exc.value.problems
    assert problem.line == 9 and "created 2028-07-01 is after the evaluation date 2026-03-31" in problem.message


def test_created_today_is_fine(tmp_path):
    w = _waivers(tmp_path, "{resource: x}", created="2026-03-31", expires="2026-04-30")
    assert w.waivers[0].created.isoformat() == "2026-03-31"


def test_created_one_day_after_the_snapshot_is_refused_by_evaluate(repo, tmp_path, capsys):
    r, _ = repo
    snap = snapshot(r.path)
    save_snapshot(snap, tmp_path / "snapshot.json")
    policy = tmp_path / "rules.yaml"
    policy.write_text(json.dumps({"version": 1, "rules": [{
        "id": "T-001", "title": "t", "severity": "high", "rationale": "r", "runbook_section": "S",
        "checks": [{"kind": "co_change", "when": ["**"], "require": ["CHANGELOG.md"]}],
        "remediation": {"text": "fix"}}]}), "utf-8")
    waivers = tmp_path / "w.yaml"
    waivers.write_text("version: 1\nwaivers:\n  - rule: T-001\n    subject: {pr: 12}\n    owner: a\n    reason: r\n"
                       "    ticket: T\n    created: 2026-04-01\n    expires: 2026-04-30\n", "utf-8")
    out = tmp_path / "out"
    code = main(["evaluate", "--snapshot", str(tmp_path / "snapshot.json"), "--policies", str(policy),
                 "--waivers", str(waivers), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and f"{waivers}:8:" in err and "after the evaluation date 2026-03-31" in err, err
    assert not out.exists()


def test_hand_edited_kind_does_not_confirm_a_claim(repo, tmp_path):
    """A snapshot is data: a squash relabelled `pr_merge` (one parent, no merge subject) is still a claim."""
    r, s = repo
    snap = snapshot(r.path)
    for c in snap["sources"]["git"]["data"]["commits"]:
        if c["sha"] == s["squash"]:
            c["kind"] = "pr_merge"
    findings, section = judge(snap, [_rule()], _waivers(tmp_path, "{pr: 13}"))
    assert _status(findings, s["squash"]) == "fail" and UNCONFIRMED in section["unused"][0]["note"]


def test_pull_request_kind_needs_the_snapshot_to_judge_that_pr(repo, tmp_path):
    r, s = repo
    snap = snapshot(r.path)
    for c in snap["sources"]["git"]["data"]["commits"]:
        if c["sha"] == s["squash"]:
            c["kind"] = "pull_request"
    findings, _ = judge(snap, [_rule()], _waivers(tmp_path, "{pr: 13}"))
    assert _status(findings, s["squash"]) == "fail"
    snap["pull_request"] = {"number": 13}
    findings, _ = judge(snap, [_rule()], _waivers(tmp_path, "{pr: 13}"))
    assert _status(findings, s["squash"]) == "waived"


def test_boolean_pr_number_in_a_run_is_not_a_confirmation(repo, tmp_path):
    r, s = repo
    run = {**_run(1, s["squash"], []), "pull_requests": [{"number": True}]}
    findings, _ = judge(snapshot(r.path, github=_github(run)), [_rule()], _waivers(tmp_path, "{pr: 1}"))
    assert "waived" not in {f.status for f in findings}


def test_sha_waiver_still_works_for_an_unconfirmed_squash(repo, tmp_path):
    r, s = repo
    findings, _ = judge(snapshot(r.path), [_rule()], _waivers(tmp_path, f"{{sha: {s['squash'][:10]}}}"))
    assert _status(findings, s["squash"]) == "waived"
