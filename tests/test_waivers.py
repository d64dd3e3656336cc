"""Waivers: matching by each subject kind, expiry on the snapshot's clock, and never waiving errors."""

from __future__ import annotations

from datetime import datetime, timezone

import jsonschema
import pytest

from compliance.base.errors import InputError
from compliance.cli import main
from compliance.demo import demo_commits
from compliance.inputs.waivers import load_waivers
from compliance.judge.engine import judge
from compliance.model.snapshot import load_schema, save_snapshot
from compliance.report import render_all
from compliance.report.document import build_report
from tests.reportfile import read_report
from tests.scenario import FUNCTION, build_repo, lambda_data, make_rule, snapshot

NOW = datetime(2026, 3, 31, tzinfo=timezone.utc)
HEAD = "version: 1\nwaivers:\n"


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    repo, s = build_repo(tmp_path_factory.mktemp("repo") / "enceladus")
    s["both"] = repo.commit("api and mcp together ENC-TSK-500", {
        "backend/lambda/coordination_api/lambda_function.py": "v = 3\n",
        "tools/enceladus-mcp-server/server.py": "print('mcp 2')\n"}, author_date="2026-03-02T12:00:00+00:00")
    return repo, s


def _waivers(tmp_path, body: str, *, rules=None, now=NOW, **kw):
    path = tmp_path / "waivers.yaml"
    path.write_text(HEAD + body, "utf-8")
    return load_waivers(str(path), now=now, rule_ids=rules, **kw)


def _one(rule="T-001", subject="{resource: x}", expires="2026-04-30", extra=""):
    return (f"  - rule: {rule}\n    subject: {subject}\n    owner: alice@example.com\n    reason: accepted risk\n"
            f"    ticket: SEC-1\n    expires: {expires}\n{extra}")


def _co_change_rule():
    # every in-scope change fails: none touches CHANGELOG.md
    return make_rule("co_change", {"when": ["**"], "require": ["CHANGELOG.md"]})


def _statuses(findings):
    return {f.subject: f.status for f in findings}


def test_sha_waiver_waives_only_that_change_and_records_who_and_until_when(repo, tmp_path):
    r, s = repo
    snap = snapshot(r.path)
    rule = _co_change_rule()
    w = _waivers(tmp_path, _one(subject=f"{{sha: {s['direct'][:9].upper()}}}"))
    findings, section = judge(snap, [rule], w)
    got = _statuses(findings)
    assert got[s["direct"][:12]] == "waived"
    assert got[s["pr"][:12]] == "fail" and got[s["squash"][:12]] == "fail"
    waived = next(f for f in findings if f.status == "waived")
    assert "alice@example.com" in waived.message and "2026-04-30" in waived.message and "SEC-1" in waived.message
    assert waived.evidence[-1]["kind"] == "waiver" and waived.evidence[-1]["owner"] == "alice@example.com"
    assert [a["findings"][0]["subject"] for a in section["applied"]] == [s["direct"][:12]]


def test_pr_waiver_matches_merges_and_squashes_by_number(repo, tmp_path):
    r, s = repo
    # a squash's number is only a claim: here a run of that commit names PR 13 (tests/test_waivers_attribution.py)
    run = {"id": 1, "head_sha": s["squash"], "head_branch": "main", "event": "push", "status": "completed",
           "conclusion": "success", "created_at": "2026-03-01T12:00:00Z", "updated_at": "2026-03-01T12:05:00Z",
           "pull_requests": [{"number": 13}]}
    snap = snapshot(r.path, github={"workflow": ".github/workflows/x.yml", "runs": [run]})
    findings, _ = judge(snap, [_co_change_rule()], _waivers(tmp_path, _one(subject="{pr: 13}")))
    got = _statuses(findings)
    assert got[s["squash"][:12]] == "waived" and got[s["pr"][:12]] == "fail"
    findings, _ = judge(snap, [_co_change_rule()], _waivers(tmp_path, _one(subject="{pr: 12}")))
    assert _statuses(findings)[s["pr"][:12]] == "waived"


def test_resource_waiver_matches_the_subject_string(repo, tmp_path):
    r, _ = repo
    snap = snapshot(r.path, **{"lambda": lambda_data(update="Failed")})
    rule = make_rule("lambda_state")
    findings, section = judge(snap, [rule], _waivers(tmp_path, _one(subject=f"{{resource: {FUNCTION}}}")))
    assert _statuses(findings) == {FUNCTION: "waived"}
    assert section["applied"][0]["subject"] == {"resource": FUNCTION}


def test_path_waiver_needs_every_in_scope_file_to_match(repo, tmp_path):
    r, s = repo
    snap = snapshot(r.path)
    w = _waivers(tmp_path, _one(subject='{path: "tools/enceladus-mcp-server/**"}'))
    got = _statuses(judge(snap, [_co_change_rule()], w)[0])
    assert got[s["squash"][:12]] == "waived"  # only MCP files
    assert got[s["both"][:12]] == "fail"  # also an API file the waiver does not name
    assert got[s["direct"][:12]] == "fail"


def test_error_findings_are_never_waived(repo, tmp_path):
    r, _ = repo
    snap = snapshot(r.path, **{"lambda": PermissionError("AccessDenied")})
    findings, section = judge(snap, [make_rule("lambda_state")],
                              _waivers(tmp_path, _one(subject=f"{{resource: {FUNCTION}}}")))
    assert _statuses(findings) == {FUNCTION: "error"}
    assert section["applied"] == [] and section["unused"] == []
    assert section["errors_not_waived"][0]["findings"][0]["subject"] == FUNCTION
    doc = build_report(snap, [make_rule("lambda_state")], findings, "audit", waivers=section)
    assert doc["summary"]["exit_code"] == 2
    text = render_all(doc, ["md", "html"])
    assert "never waived" in text["md"] and "never waived" in text["html"]


def test_expiry_uses_the_snapshot_clock_and_lasts_through_the_expiry_day(repo, tmp_path):
    r, s = repo
    rule = _co_change_rule()
    body = _one(subject=f"{{sha: {s['direct'][:12]}}}", expires="2026-03-30", extra="    created: 2026-03-01\n")
    snap = snapshot(r.path)
    snap["collected_at"] = "2026-03-30T23:59:00Z"  # still the expiry day
    findings, section = judge(snap, [rule], _waivers(tmp_path, body))
    assert _statuses(findings)[s["direct"][:12]] == "waived"
    assert section["expiring"] and section["expiring"][0]["days_left"] == 0
    snap["collected_at"] = "2026-03-31T00:00:00Z"  # the day after
    findings, section = judge(snap, [rule], _waivers(tmp_path, body))
    assert _statuses(findings)[s["direct"][:12]] == "fail"
    assert section["applied"] == [] and section["expired"][0]["days_left"] == -1
    assert section["expired"][0]["findings"][0]["subject"] == s["direct"][:12]  # what it no longer covers


def test_waiver_expiring_soon_is_a_warning(repo, tmp_path, capsys):
    r, s = repo
    rule = _co_change_rule()
    snap = snapshot(r.path)  # collected 2026-03-31
    body = _one(subject=f"{{sha: {s['direct'][:12]}}}", expires="2026-04-05")
    _, section = judge(snap, [rule], _waivers(tmp_path, body))
    assert [w["days_left"] for w in section["expiring"]] == [5]
    _, section = judge(snap, [rule], _waivers(tmp_path, body, warn_days=3))
    assert section["expiring"] == [] and len(section["applied"]) == 1


def test_max_span_is_measured_from_created_or_the_evaluation_time(tmp_path):
    with pytest.raises(InputError) as exc:
        _waivers(tmp_path, _one(expires="2026-06-01", extra="    created: 2026-01-01\n"))
    [problem] = exc.value.problems
    assert (problem.line, problem.col) == (8, 14) and "151 days" in problem.message and "maximum is 90" in problem.message
    with pytest.raises(InputError, match="from the evaluation date 2026-03-31"):
        _waivers(tmp_path, _one(expires="2026-07-30"))
    longer = tmp_path / "longer.yaml"
    longer.write_text("version: 1\nmax_days: 180\nwaivers:\n" + _one(expires="2026-07-30"), "utf-8")
    assert load_waivers(str(longer), now=NOW).max_days == 180
    ok = _waivers(tmp_path, _one(expires="2026-06-29"))  # exactly 90 days
    assert ok.waivers[0].expires.isoformat() == "2026-06-29"


def test_invalid_waiver_file_points_at_every_problem(tmp_path):
    path = tmp_path / "waivers.yaml"
    path.write_text(
        "version: 1\n"
        "waivers:\n"
        "  - rule: APIMCP-12\n"
        "    subject: {sha: xyz}\n"
        "    owner: bob\n"
        "    reson: typo\n"
        "    ticket: T-1\n"
        "    expires: 2026-04-01\n"
        "  - rule: APIMCP-012\n"
        "    subject: {pr: 4, resource: r}\n"
        "    owner: bob\n"
        "    reason: two subjects\n"
        "    ticket: T-2\n", "utf-8")
    assert main(["evaluate", "--snapshot", "nothing.json", "--waivers", str(path)]) == 2  # snapshot missing
    with pytest.raises(InputError) as exc:
        load_waivers(str(path), now=NOW, rule_ids={"APIMCP-012"})
    shown = [str(p) for p in exc.value.problems]
    assert any(p.startswith(f"{path}:4:20:") and "pattern" in p for p in shown)
    assert any(p.startswith(f"{path}:6:5:") and "did you mean 'reason'" in p for p in shown)
    assert any(p.startswith(f"{path}:9:5:") and "'expires'" in p for p in shown)
    assert any(p.startswith(f"{path}:10:14:") for p in shown)  # two subject kinds
    path.write_text(HEAD + _one(rule="APIMCP-12"), "utf-8")
    with pytest.raises(InputError, match=r"waivers.yaml:3:11: unknown rule 'APIMCP-12'; did you mean 'APIMCP-012'"):
        load_waivers(str(path), now=NOW, rule_ids={"APIMCP-012", "APIMCP-001"})


def test_unused_waivers_are_listed(repo, tmp_path):
    r, _ = repo
    snap = snapshot(r.path, **{"lambda": lambda_data()})
    body = _one(subject=f"{{resource: {FUNCTION}}}") + _one(rule="T-001", subject="{pr: 999}")
    findings, section = judge(snap, [make_rule("lambda_state")], _waivers(tmp_path, body))
    assert _statuses(findings) == {FUNCTION: "pass"}
    assert [w["subject"] for w in section["unused"]] == [{"resource": FUNCTION}, {"pr": 999}]


def test_cli_applies_waivers_in_every_mode_and_every_report(repo, tmp_path, capsys):
    r, s = repo
    snap = snapshot(r.path, **{"lambda": lambda_data()})
    snap_path = tmp_path / "in" / "snapshot.json"
    save_snapshot(snap, snap_path)
    policy = tmp_path / "rule.yaml"
    policy.write_text(
        "version: 1\nrules:\n  - id: TR-001\n    title: t\n    severity: low\n    rationale: r\n"
        "    runbook_section: s\n    scope: {include: ['backend/lambda/coordination_api/**']}\n"
        "    checks: [{kind: tracker_ref}]\n    remediation: {text: x}\n", "utf-8")
    out = tmp_path / "out"
    args = ["evaluate", "--snapshot", str(snap_path), "--policies", str(policy), "--out", str(out)]
    assert main(args) == 1
    waivers = tmp_path / "w.yaml"
    waivers.write_text(HEAD + _one(rule="TR-001", subject=f"{{sha: {s['direct'][:7]}}}", expires="2026-04-10"),
                       "utf-8")
    assert main([*args, "--waivers", str(waivers)]) == 0
    captured = capsys.readouterr()
    assert "waivers  1 applied, 1 expiring soon" in captured.out and "expires 2026-04-10" in captured.err
    doc = read_report(out / "report.json")
    jsonschema.Draft202012Validator(load_schema("report")).validate(doc)
    assert doc["summary"]["waived"] == 1 and doc["waivers"]["applied"][0]["owner"] == "alice@example.com"
    assert "Waivers" in (out / "report.md").read_text("utf-8")
    assert "<h2>Waivers</h2>" in (out / "report.html").read_text("utf-8")
    # a waiver file saved beside the snapshot travels with it: re-evaluation applies the same exceptions
    (snap_path.parent / "waivers.yaml").write_text(waivers.read_text("utf-8"), "utf-8")
    assert main(args) == 0
    assert main([*args, "--no-waivers"]) == 1


def test_demo_shows_a_waived_finding_an_expired_waiver_and_a_diff(tmp_path, capsys):
    assert main(["demo", "--workdir", str(tmp_path / "work"), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "waivers  2 applied, 1 expiring soon, 1 expired, 1 unused, 1 not applied" in out
    assert "new, 1 fixed, 10 still failing, 2 now waived" in out  # + the two console edits (APIMCP-013)
    doc = read_report(tmp_path / "out" / "report.json")
    # 5 new failures (one the deploy manager's CodeBuild update, APIMCP-013; one the runbook's Scope gaining
    # 03-api.yaml after that audit, APIMCP-014), besides whatever the change still being deployed (ENC-TSK-368)
    # is judged now
    rerun = demo_commits(tmp_path / "work")["tsk368"][:12]
    assert len([e for e in doc["diff"]["new"] if rerun not in e["subject"]]) == 5
    jsonschema.Draft202012Validator(load_schema("report")).validate(doc)
    status = {(f["rule_id"], f["subject"]): f["status"] for f in doc["findings"]}
    w = doc["waivers"]
    assert [a["rule_id"] for a in w["applied"]] == ["APIMCP-012", "APIMCP-007"]
    assert status[("APIMCP-012", w["applied"][0]["findings"][0]["subject"])] == "waived"
    expired = w["expired"][0]
    assert expired["rule_id"] == "GUARD-001" and status[("GUARD-001", expired["findings"][0]["subject"])] == "fail"
    assert w["errors_not_waived"][0]["rule_id"] == "APIMCP-006"
    assert {f["status"] for f in doc["findings"] if f["rule_id"] == "APIMCP-006"} == {"error"}
    assert [e["subject"] for e in doc["diff"]["fixed"]] == ["GET /api/v1/coordination/mcp"]
