"""The previous report is compared only as what it is: this target's, and each commit by its full SHA.

Found by a hostile probe: a merged previous report compared with every target's findings, another target's
report, and a commit made to share a failing one's short SHA each turned a new failure into "still failing",
so ``--fail-on-new`` passed it.
"""

from __future__ import annotations

import json

import pytest

from compliance.app.gating import gate, gating_findings
from compliance.base.errors import ComplianceError, InputError
from compliance.report.diff import diff_reports, load_previous, previous_for_target

OLD = "bfa8efdf813480b911ac4a99c1a318c07c4749ac"
TWIN = "bfa8efdf81340000000000000000000000000000"  # the same 12-character short SHA, another commit


def _f(rule, subject, status, sha=None, target=None, severity="high"):
    f = {"rule_id": rule, "subject_type": "change", "subject": subject, "status": status, "message": "m",
         "severity": severity, "evidence": [{"kind": "commit", "sha": sha}] if sha else []}
    return {**f, "target": target} if target else f


def _single(name, findings, **target):
    return {"snapshot": {"target": {"name": name, **target} if name else target}, "findings": findings}


def test_a_commit_sharing_a_failing_ones_short_sha_is_a_new_failure_and_gates():
    previous = {"findings": [_f("APIMCP-012", OLD[:12], "fail", OLD)]}
    current = [_f("APIMCP-012", OLD[:12], "fail", OLD), _f("APIMCP-012", TWIN[:12], "fail", TWIN)]
    d = diff_reports(previous, current)
    assert [(e["subject"], e["sha"]) for e in d["new"]] == [(TWIN[:12], TWIN)]
    assert [e["sha"] for e in d["still_failing"]] == [OLD]
    doc = {"findings": current, "diff": d}
    assert gating_findings(doc, fail_on_new=True) == [current[1]]  # only the new commit gates, not the old one
    assert gate(doc, fail_on_new=True) == 1
    # control: the same commit failing again is still failing and does not gate
    same = {"findings": current[:1], "diff": diff_reports(previous, current[:1])}
    assert same["diff"]["counts"]["new"] == 0 and gate(same, fail_on_new=True) == 0


def test_upper_case_sha_in_evidence_is_the_same_commit():
    previous = {"findings": [_f("R", OLD[:12], "fail", OLD.upper())]}
    assert diff_reports(previous, [_f("R", OLD[:12], "fail", OLD)])["counts"]["still_failing"] == 1


def test_a_merged_previous_report_gives_each_target_only_its_own_findings():
    merged = {"targets": [{"name": "api-us"}, {"name": "api-eu"}],
              "findings": [_f("R", "a", "fail", target="api-us"), _f("R", "b", "pass", target="api-eu")],
              "metrics": {"by_target": [{"target": "api-eu", "deployment_frequency": {"deploys": 3}}]}}
    eu = previous_for_target(merged, {"name": "api-eu"})
    assert [f["subject"] for f in eu["findings"]] == ["b"]
    assert eu["metrics"] == {"target": "api-eu", "deployment_frequency": {"deploys": 3}}
    # api-eu's new failure on "a" is new: api-us failing "a" says nothing about api-eu
    assert diff_reports(eu, [_f("R", "a", "fail")])["counts"]["new"] == 1
    # a target the merged report does not hold: nothing before it, so every failure is new
    assert previous_for_target(merged, {"name": "api-ap"})["findings"] == []
    with pytest.raises(ComplianceError, match="merged report of api-us, api-eu; this target has no name"):
        previous_for_target(merged, {"function": "f"})


def test_another_targets_report_is_refused_not_compared():
    us = _single("api-us", [_f("R", "a", "fail")], function="fn", region="us-west-2")
    assert previous_for_target(us, {"name": "api-us", "function": "fn", "region": "us-west-2"}) is us
    with pytest.raises(ComplianceError, match="another target .name 'api-us', not 'api-eu'"):
        previous_for_target(us, {"name": "api-eu", "function": "fn", "region": "us-west-2"})
    # unnamed on either side: told apart by repository, function and region
    unnamed = _single(None, [], function="fn", region="us-west-2", github_repo="o/r")
    assert previous_for_target(unnamed, {"function": "fn", "region": "us-west-2", "github_repo": "o/r"}) is unnamed
    assert previous_for_target(unnamed, {"name": "api-us", "function": "fn"}) is unnamed
    with pytest.raises(ComplianceError, match="region 'us-west-2', not 'eu-west-1'"):
        previous_for_target(unnamed, {"name": "api-eu", "function": "fn", "region": "eu-west-1"})
    assert previous_for_target(None, {"name": "x"}) is None


@pytest.mark.parametrize("doc, where", [
    ({"findings": [], "targets": [{"name": "api-us"}], "metrics": {"by_target": 5}}, "/metrics/by_target"),
    ({"findings": [], "targets": [{"name": "api-us"}], "metrics": {"by_target": [1]}}, "/metrics/by_target"),
    ({"findings": [], "targets": [{"nom": "api-us"}]}, "/targets"),
    ({"findings": [], "targets": "api-us"}, "/targets"),
])
def test_a_damaged_merged_previous_report_is_refused_with_its_place(tmp_path, doc, where):
    path = tmp_path / "prev.json"
    path.write_text(json.dumps({"report_version": 1, **doc}), "utf-8")
    with pytest.raises(InputError, match=f"prev.json:1:1: at {where}"):
        load_previous(path)


def _named(src, name, out):
    doc = json.loads(src.read_text("utf-8"))
    doc["target"]["name"] = name
    out.write_text(json.dumps(doc), "utf-8")
    return str(out)


def test_evaluate_compares_with_its_own_targets_part_of_a_merged_report_and_refuses_anothers(
        small_snapshots, tmp_path, capsys):
    from compliance.cli import main

    a, _ = small_snapshots
    us, eu, ap = (_named(a, n, tmp_path / f"{n}.json") for n in ("api-us", "api-eu", "api-ap"))
    for name, snap in (("us", us), ("ap", ap)):
        assert main(["evaluate", "--snapshot", snap, "--out", str(tmp_path / name), "--no-waivers"]) in (1, 2)
    assert main(["merge", str(tmp_path / "us" / "report.json"), str(tmp_path / "ap" / "report.json"),
                 "--out", str(tmp_path / "merged")]) in (1, 2)
    failing = [f for f in load_previous(tmp_path / "us" / "report.json")["findings"] if f["status"] in ("fail", "error")]
    assert failing
    capsys.readouterr()
    # api-eu is not in the merged report: every failure of it is new, whatever api-us and api-ap failed
    code = main(["evaluate", "--snapshot", eu, "--out", str(tmp_path / "eu"), "--no-waivers",
                 "--previous", str(tmp_path / "merged" / "report.json"), "--fail-on-new"])
    out = capsys.readouterr().out
    assert code in (1, 2) and f"gating on {len(failing)} failure(s)/error(s) new" in out
    # api-us against the merged report: its own part, nothing new
    assert main(["evaluate", "--snapshot", us, "--out", str(tmp_path / "us-again"), "--no-waivers",
                 "--previous", str(tmp_path / "merged" / "report.json"), "--fail-on-new"]) == 0
    # api-eu against api-us's own report: refused before anything is written
    capsys.readouterr()
    assert main(["evaluate", "--snapshot", eu, "--out", str(tmp_path / "refused"), "--no-waivers",
                 "--previous", str(tmp_path / "us" / "report.json"), "--fail-on-new"]) == 2
    assert "another target (name 'api-us', not 'api-eu')" in capsys.readouterr().err
    assert not (tmp_path / "refused").exists()


def test_a_previous_report_whose_summary_contradicts_its_findings_is_refused(small_snapshots, tmp_path, capsys):
    """An edited copy (an unsigned package's previous/report.json, a hand-made file) holds two verdicts."""
    from compliance.cli import main

    a, _ = small_snapshots
    assert main(["evaluate", "--snapshot", str(a), "--out", str(tmp_path / "prev"), "--no-waivers"]) in (1, 2)
    report = json.loads((tmp_path / "prev" / "report.json").read_text("utf-8"))
    assert report["summary"]["fail"] > 0
    assert load_previous(tmp_path / "prev" / "report.json")["findings"]  # the honest file loads
    report["summary"].update(fail=0, error=0, verdict="pass", exit_code=0)
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(report), "utf-8")
    with pytest.raises(InputError, match="edited.json:1:1: not a valid compliance report: its summary says"):
        load_previous(edited)
    capsys.readouterr()
    assert main(["evaluate", "--snapshot", str(a), "--out", str(tmp_path / "o"), "--no-waivers",
                 "--previous", str(edited)]) == 2
    assert not (tmp_path / "o").exists()


def test_a_new_failure_beside_an_error_of_another_check_on_the_same_subject_is_new():
    """Hostile probe 9: a rule with two checks, both erring before; now one errs and one fails. The worst status
    of the key (error) was error both times, which called the first failure of that commit "still failing"."""
    previous = {"findings": [_f("TEAM-001", OLD[:12], "error", OLD), _f("TEAM-001", OLD[:12], "error", OLD)]}
    current = [_f("TEAM-001", OLD[:12], "error", OLD), _f("TEAM-001", OLD[:12], "fail", OLD)]
    d = diff_reports(previous, current)
    assert [(e["previous"], e["current"]) for e in d["new"]] == [("error", "fail")]
    assert d["counts"]["still_failing"] == 0
    assert gate({"findings": current, "diff": d}, fail_on_new=True) != 0
    # control: it failed before too, so it is still failing and does not gate
    before = {"findings": [_f("TEAM-001", OLD[:12], "error", OLD), _f("TEAM-001", OLD[:12], "fail", OLD)]}
    again = diff_reports(before, current)
    assert again["counts"]["new"] == 0 and again["counts"]["still_failing"] == 1


def test_the_same_stack_in_another_aws_account_is_another_target():
    staging = _single(None, [], function="fn", region="us-west-2", cloudtrail={"account": "999999999999"})
    prod = {"function": "fn", "region": "us-west-2", "cloudtrail": {"account": "123456789012"}}
    with pytest.raises(ComplianceError, match="cloudtrail.account '999999999999', not '123456789012'"):
        previous_for_target(staging, prod)
    assert previous_for_target(staging, {**prod, "cloudtrail": {"account": "999999999999"}}) is staging


@pytest.mark.parametrize("damage, where", [
    ({"findings": [{"rule_id": "R", "subject_type": "change", "subject": "a", "status": "fail", "message": 5}]},
     "/findings/0/message"),
    ({"snapshot": {"collected_at": 5}}, "/snapshot/collected_at"),
    ({"snapshot": {"window": "all"}}, "/snapshot/window"),
    ({"snapshot": "x"}, "/snapshot"),
])
def test_a_previous_report_with_values_the_diff_would_copy_wrongly_is_refused(tmp_path, damage, where):
    """What the diff copies into the new report (messages, the previous run's time and window) must have the
    report's types, or the new report would fail the tool's own schema (and merge and package would refuse it)."""
    path = tmp_path / "prev.json"
    path.write_text(json.dumps({"report_version": 1, "findings": [], **damage}), "utf-8")
    with pytest.raises(InputError, match=f"prev.json:1:1: at {where}"):
        load_previous(path)


def test_a_report_compared_with_a_merged_previous_report_packages_and_verifies(small_snapshots, tmp_path):
    """Hostile probe 9: verify-package judged the snapshot again against the whole merged report (every target's
    findings), so the diff came out otherwise and a genuine set was refused as tampered."""
    from compliance.cli import main

    a, _ = small_snapshots
    us, eu = (_named(a, n, tmp_path / f"{n}.json") for n in ("api-us", "api-eu"))
    for name, snap in (("us", us), ("eu", eu)):
        assert main(["evaluate", "--snapshot", snap, "--out", str(tmp_path / name), "--no-waivers"]) in (1, 2)
    merged = tmp_path / "merged" / "report.json"
    assert main(["merge", str(tmp_path / "us" / "report.json"), str(tmp_path / "eu" / "report.json"),
                 "--out", str(merged.parent)]) in (1, 2)
    assert main(["evaluate", "--snapshot", eu, "--out", str(tmp_path / "now"), "--no-waivers",
                 "--previous", str(merged)]) in (1, 2)
    package = tmp_path / "eu.tar.gz"
    assert main(["package", str(tmp_path / "now"), "--out", str(package), "--previous", str(merged)]) == 0
    assert main(["verify-package", str(package)]) == 0
