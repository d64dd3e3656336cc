"""A report that lies about itself is refused by ``merge`` and ``--previous``; a genuine one never is.

The lies are hostile probe 11's (``report/consistency.py``): each edits one genuine report (the demo's, with
waivers, a diff, metrics, errors and pending findings) so that one section, or the findings themselves, say
what the rest of the report does not. The genuine side: the same report, two targets judging the same
commits differently, and two targets mapping a rule to different controls, all merged and compared.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from compliance.cli import main
from compliance.report.consistency import report_disagreement
from compliance.report.controls import control_view
from compliance.report.merge import merge_reports
from tests.reportfile import read_report, recount


@pytest.fixture(scope="module")
def genuine(demo_run) -> dict:
    _, base = demo_run
    doc = read_report(base / "out" / "report.json")
    assert report_disagreement(doc) is None
    assert doc["diff"] and doc["waivers"]["applied"] and doc["metrics"]["deploys"] and doc["controls"]
    return doc


def _recount(doc: dict) -> None:
    """What a careful forger makes agree: the summary, the rules' counts and the control view."""
    recount(doc, controls=True)


def _failing(doc: dict, subject_type: str = "change") -> dict:
    return next(f for f in doc["findings"] if f["status"] == "fail" and f["subject_type"] == subject_type
                and any(e.get("kind") == "commit" for e in f.get("evidence") or ()))


def _row_of(doc: dict, f: dict) -> dict:
    sha = next(e["sha"] for e in f["evidence"] if e.get("kind") == "commit")
    return next(c for c in doc["changes"] if c["sha"] == sha)


def lie_verdict_without_commit_evidence(doc: dict) -> None:
    """R1: the failing finding loses its commit evidence and its change row says pass."""
    f = _failing(doc, "task")
    row = _row_of(doc, f)
    f["evidence"] = [e for e in f["evidence"] if e.get("kind") != "commit"]
    row["verdicts"][f["rule_id"]] = "pass"


def lie_severity(doc: dict) -> None:
    """R2: failures marked low beside a critical rule slip under ``--fail-on medium``."""
    for f in doc["findings"]:
        if f["status"] == "fail":
            f["severity"] = "low"


def lie_unknown_rule(doc: dict) -> None:
    """R6: a rule taken out of ``rules``, so a merged control view built from the rules loses its failure."""
    f = _failing(doc)
    doc["rules"] = [r for r in doc["rules"] if r["id"] != f["rule_id"]]


def lie_control_mapping(doc: dict) -> None:
    """R6b: a control taken out of its rule's mapping, the control view left as it was."""
    rule = next(r for r in doc["rules"] if r.get("controls") and r["counts"]["fail"])
    rule["controls"] = rule["controls"][1:]


def lie_unowned_waiver(doc: dict) -> None:
    """R7: a failure turned waived with no waiver naming it."""
    f = next(f for f in doc["findings"] if f["status"] == "fail" and f["subject_type"] == "function")
    f["status"] = "waived"
    doc["not_evaluated"] = [n for n in doc["not_evaluated"]]
    for bucket in ("new", "still_failing"):
        doc["diff"][bucket] = [e for e in doc["diff"][bucket] if (e["rule_id"], e["subject"]) != (f["rule_id"], f["subject"])]
        doc["diff"]["counts"][bucket] = len(doc["diff"][bucket])
    _recount(doc)


def lie_laundered_previous(doc: dict) -> None:
    """R8: a failure of a commit the report never judged, added to make it read as "still failing"."""
    f = copy.deepcopy(_failing(doc))
    commit = next(e for e in f["evidence"] if e.get("kind") == "commit")
    commit["sha"] = "3c4111006a92" + "0" * 28
    f["subject"] = "3c4111006a92"
    doc["findings"].append(f)
    _recount(doc)


def lie_backwards_window(doc: dict) -> None:
    """R10: a window that ends before it starts."""
    w = doc["snapshot"]["window"]
    w["since"], w["until"] = w["until"], w["since"]


def lie_expired_waiver_applied(doc: dict) -> None:
    """R11: an expired waiver listed as applied."""
    entry = doc["waivers"]["applied"][0]
    entry["expires"], entry["days_left"] = "2001-01-01", 30


def lie_days_left(doc: dict) -> None:
    doc["waivers"]["applied"][0]["days_left"] += 300


def lie_diff_drops_a_new_failure(doc: dict) -> None:
    """R4a: a new failure removed from ``diff.new`` and the count fixed."""
    doc["diff"]["new"].pop(0)
    doc["diff"]["counts"]["new"] -= 1


def lie_diff_wrong_bucket(doc: dict) -> None:
    """R4c: an entry that was passing before filed as still failing."""
    e = doc["diff"]["new"][0]
    e["previous"] = "pass"
    doc["diff"]["new"].remove(e)
    doc["diff"]["still_failing"].append(e)
    doc["diff"]["counts"].update(new=len(doc["diff"]["new"]), still_failing=len(doc["diff"]["still_failing"]))


def lie_diff_twice(doc: dict) -> None:
    """R4b: one key in two buckets."""
    e = dict(doc["diff"]["still_failing"][0])
    doc["diff"]["new"].append({**e, "previous": None})
    doc["diff"]["counts"]["new"] += 1


def lie_diff_invented_bucket(doc: dict) -> None:
    doc["diff"]["counts"]["resolved"] = 7


def lie_rosy_metrics(doc: dict) -> None:
    """R5: a change failure rate of 0 beside failed deploys."""
    doc["metrics"]["change_failure_rate"].update(failed=0, rate=0.0)


def lie_control_failing_dropped(doc: dict) -> None:
    control = next(c for c in doc["controls"] if c["failing"])
    control["failing"].pop()


def lie_tagged_single(doc: dict) -> None:
    """Probe 14 C: another report's failures pasted in with a ``target`` tag, so no key of this one met them."""
    f = copy.deepcopy(_failing(doc))
    f["target"] = "x"
    doc["findings"].append(f)
    _recount(doc)


def lie_waiver_launders_other_findings(doc: dict) -> None:
    """Probe 14 E: every failure waived through the one waiver of another rule and subject."""
    entry = doc["waivers"]["applied"][0]
    for f in doc["findings"]:
        if f["status"] == "fail" and f["subject_type"] == "function":
            f["status"] = "waived"
            entry["findings"].append({k: f[k] for k in ("rule_id", "subject_type", "subject")})
    for bucket in ("new", "still_failing"):
        doc["diff"][bucket] = [e for e in doc["diff"][bucket] if e["subject_type"] != "function"]
        doc["diff"]["counts"][bucket] = len(doc["diff"][bucket])
    _recount(doc)


def lie_waivers_on_another_clock(doc: dict) -> None:
    """Probe 14 F: the waivers evaluated a month before the snapshot was collected."""
    doc["waivers"]["evaluated_at"] = "2026-11-01T00:00:00Z"


def lie_gone_hides_a_failure(doc: dict) -> None:
    """Probe 14 H: a new failure filed as "gone" (not judged now)."""
    e = doc["diff"]["new"].pop(0)
    doc["diff"]["gone"].append({**e, "previous": "fail", "current": None})
    doc["diff"]["counts"].update(new=len(doc["diff"]["new"]), gone=len(doc["diff"]["gone"]))


def lie_expiring_moved_to_applied(doc: dict) -> None:
    """Probe 14 L8: a waiver about to expire listed as applied only, so nobody is warned."""
    entry = doc["waivers"]["expiring"].pop(0)
    doc["waivers"]["applied"] = [e for e in doc["waivers"]["applied"] if e["line"] != entry["line"]] + [entry]


LIES = [
    (lie_verdict_without_commit_evidence, "its changes table says"),
    (lie_severity, "gives severity 'low'"),
    (lie_unknown_rule, "which its rules do not list"),
    (lie_control_mapping, "its control"),
    (lie_unowned_waiver, "is waived, and no waiver"),
    (lie_laundered_previous, "which its changes table does not list"),
    (lie_backwards_window, "its window ends"),
    (lie_expired_waiver_applied, "had expired"),
    (lie_days_left, "days left"),
    (lie_diff_drops_a_new_failure, "which no bucket of its diff lists"),
    (lie_diff_wrong_bucket, "which is not still_failing"),
    (lie_diff_twice, "in new and in still_failing"),
    (lie_diff_invented_bucket, "a bucket 'resolved'"),
    (lie_rosy_metrics, "its metrics give change_failure_rate"),
    (lie_control_failing_dropped, "failing subject"),
    (lie_tagged_single, "it is one target's report"),
    (lie_waiver_launders_other_findings, "names"),
    (lie_waivers_on_another_clock, "not when its snapshot was collected"),
    (lie_gone_hides_a_failure, "is not judged now"),
    (lie_expiring_moved_to_applied, "its waivers.expiring does not"),
]


@pytest.mark.parametrize("lie, words", LIES, ids=[f.__name__ for f, _ in LIES])
def test_each_lie_is_told_apart(genuine, lie, words):
    doc = copy.deepcopy(genuine)
    lie(doc)
    why = report_disagreement(doc)
    assert why is not None and words in why, why


def _write(tmp_path: Path, name: str, doc: dict) -> Path:
    path = tmp_path / name / "report.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(doc), "utf-8")
    return path


@pytest.mark.parametrize("lie", [lie_laundered_previous, lie_severity, lie_rosy_metrics],
                         ids=["laundered", "severity", "metrics"])
def test_merge_and_previous_refuse_the_lie_and_write_nothing(demo_run, genuine, tmp_path, capsys, lie):
    """End to end: ``merge`` exits 2 with the place, and ``evaluate --previous --fail-on-new`` (which the
    laundered report would have passed: its copied failures read as still failing) evaluates nothing."""
    _, base = demo_run
    doc = copy.deepcopy(genuine)
    lie(doc)
    path = _write(tmp_path, "api", doc)
    assert main(["merge", str(path), "--out", str(tmp_path / "merged")]) == 2
    assert f"{path}:1:1: not a valid compliance report: " in capsys.readouterr().err
    code = main(["evaluate", "--snapshot", str(base / "out" / "snapshot.json"), "--policies",
                 "builtin:api-mcp-runbook", "--previous", str(path), "--fail-on-new", "--out", str(tmp_path / "ev")])
    err = capsys.readouterr().err
    assert code == 2 and "invalid previous report" in err and "not a valid compliance report: " in err, err
    assert not (tmp_path / "merged").exists() and not (tmp_path / "ev").exists()


@pytest.mark.parametrize("edit", [
    lambda d: d["diff"]["new"][0].update(current=[]),
    lambda d: d["controls"][0].update(failing=5),
    lambda d: d["waivers"]["applied"][0].update(findings=True),
    lambda d: d["waivers"].update(pending_not_waived=1.5),
    lambda d: d["controls"][0]["rules"][0].update(id=[1]),
], ids=["current-list", "failing-int", "findings-bool", "list-float", "rule-id-list"])
def test_a_damaged_previous_report_is_refused_with_its_place_not_a_traceback(demo_run, genuine, tmp_path, capsys,
                                                                            edit):
    _, base = demo_run
    doc = copy.deepcopy(genuine)
    edit(doc)
    path = _write(tmp_path, "api", doc)
    code = main(["evaluate", "--snapshot", str(base / "out" / "snapshot.json"), "--policies",
                 "builtin:api-mcp-runbook", "--previous", str(path), "--out", str(tmp_path / "ev")])
    err = capsys.readouterr().err
    assert code == 2 and f"{path}:" in err and "Traceback" not in err, err


def _second_target(doc: dict) -> dict:
    """The same commits judged for another function, one change's failure there a pass (and counted so)."""
    other = copy.deepcopy(doc)
    f = _failing(other)
    f["status"] = "pass"
    _row_of(other, f)["verdicts"][f["rule_id"]] = "pass"
    other["diff"] = None
    other["not_evaluated"] = [n for n in other["not_evaluated"]]
    _recount(other)
    assert report_disagreement(other) is None
    return other


def test_two_targets_judging_one_commit_differently_merge_and_compare(genuine, demo_run, tmp_path, capsys):
    """F1: a merged report of two targets over one repository is a previous report like any other."""
    merged = merge_reports([("api-prod", genuine, "a/report.json"), ("api-stage", _second_target(genuine),
                                                                      "b/report.json")])
    assert report_disagreement(merged) is None
    path = _write(tmp_path, "merged", merged)
    from compliance.report.diff import load_previous
    assert load_previous(path)["targets"]


def test_two_targets_mapping_a_rule_to_other_controls_merge_and_compare(genuine, tmp_path):
    """F2: each target's findings count under its own mapping; the merged view is still a valid previous."""
    other = _second_target(genuine)
    rule = next(r for r in other["rules"] if r.get("controls"))
    rule["controls"] = ["ISO27001:A.5.1"]
    other["controls"] = control_view(other["rules"], other["findings"])
    assert report_disagreement(other) is None
    merged = merge_reports([("api-prod", genuine, "a/report.json"), ("api-stage", other, "b/report.json")])
    assert report_disagreement(merged) is None
    from compliance.report.diff import load_previous
    assert load_previous(_write(tmp_path, "merged", merged))["targets"]


def test_a_merged_report_names_only_its_targets_and_counts_each_as_its_findings(genuine):
    """Probe 14 A and B: findings tagged with a target the merged report does not list (read as the next
    run's own, its failures looked old), and a target's entry counting other than its findings."""
    merged = merge_reports([("api-prod", genuine, "a/report.json"), ("api-stage", _second_target(genuine),
                                                                      "b/report.json")])
    hidden = copy.deepcopy(merged)
    for f in hidden["findings"]:
        if f["target"] == "api-stage":
            f["target"] = "enceladus-api-mcp"
    assert "which its targets do not list" in report_disagreement(hidden)
    twice = copy.deepcopy(merged)
    twice["targets"][1]["name"] = "api-prod"
    assert "twice" in report_disagreement(twice)
    counts = copy.deepcopy(merged)
    counts["targets"][0]["counts"]["fail"] -= 1
    assert "its targets entry 'api-prod' says" in report_disagreement(counts)
