"""Delivery metrics (issue 19, part 2) against values computed by hand on a built history.

The history is a real git repository (tests/gitrepo.py); runs, worklogs and the function are the
data the sources would have returned. Every expected figure is worked out in the comments from
the table below, not read back from the code.

    pos commit  time (UTC)           what                                   runs (completed)
    0   c0      2026-02-25 10:00     initial import (before the window)     R100 success 02-25 10:10
    1   c1      2026-03-02 10:00     feature A ENC-TSK-501                  R101 success 03-02 10:30
    2   c2      2026-03-03 09:00     feature B ENC-TSK-502                  R102 success 03-03 09:40
    3   c3      2026-03-03 12:00     Revert "feature B" (reverts c2)        R103 success 03-03 12:20
    4   c4      2026-03-05 08:00     feature C ENC-TSK-503                  R104 attempt 1 failure 08:25,
                                                                            attempt 2 success 03-05 09:00
    5   c5      2026-03-06 10:00     hotfix: ... ENC-TSK-504                R105 success 03-06 10:40
    6   c6      2026-03-08 10:00     feature D ENC-TSK-505                  R106 failure 03-08 10:20,
                                                                            R107 success 03-08 11:20 (dispatch)
    7   c7      2026-03-09 10:00     feature E ENC-TSK-506                  R108 success 03-12 10:30 (after)

Window 2026-03-01T00:00Z .. 2026-03-10T00:00Z (9 days); a worklog at 03-02 11:00 records a failed
validation of c1. Runs that must count for nothing: another branch, a pull_request event, another
workflow's path, a run with no path.
"""

from __future__ import annotations

import json

import jsonschema
import pytest

from compliance.app.loading import previous_for
from compliance.judge.engine import evaluate
from compliance.model.snapshot import canonical_json, load_schema
from compliance.report import html as html_report
from compliance.report import markdown as md_report
from compliance.report.diff import diff_reports
from compliance.report.document import build_report
from compliance.report.merge import merge_reports
from compliance.report.metrics_view import chart_svg, duration
from tests.gitrepo import GitRepo
from tests.scenario import DEPLOY_SH, GOOD_WORKFLOW, TARGET, WORKFLOW, lambda_data, make_rule, run, snapshot

SINCE, UNTIL = "2026-03-01T00:00:00Z", "2026-03-10T00:00:00Z"
API = "backend/lambda/coordination_api/lambda_function.py"
HEALTHY_AT_R108 = "2026-03-12T10:20:00.000+0000"  # the live code: R108's deploy (after the window)
AT_R107 = "2026-03-08T11:10:00.000+0000"  # inside R107's run (11:00 .. 11:20)


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    repo = GitRepo(tmp_path_factory.mktemp("metrics") / "enceladus").init()
    c = [repo.commit("initial import", {
        "README.md": "enceladus\n", WORKFLOW: GOOD_WORKFLOW, "backend/lambda/coordination_api/deploy.sh": DEPLOY_SH,
        API: "v = 0\n"}, author_date="2026-02-25T10:00:00Z")]
    c.append(repo.commit("feature A ENC-TSK-501", {API: "v = 1\n"}, author_date="2026-03-02T10:00:00Z"))
    c.append(repo.commit("feature B ENC-TSK-502", {API: "v = 2\n"}, author_date="2026-03-03T09:00:00Z"))
    c.append(repo.commit(f'Revert "feature B ENC-TSK-502"\n\nThis reverts commit {c[2]}.\n', {API: "v = 1\n"},
                         author_date="2026-03-03T12:00:00Z"))
    c.append(repo.commit("feature C ENC-TSK-503", {API: "v = 3\n"}, author_date="2026-03-05T08:00:00Z"))
    c.append(repo.commit("hotfix: feature C broke the capability endpoint ENC-TSK-504", {API: "v = 4\n"},
                         author_date="2026-03-06T10:00:00Z"))
    c.append(repo.commit("feature D ENC-TSK-505", {API: "v = 5\n"}, author_date="2026-03-08T10:00:00Z"))
    c.append(repo.commit("feature E ENC-TSK-506", {API: "v = 6\n"}, author_date="2026-03-09T10:00:00Z"))
    return repo, c


def _runs(c):
    rerun = run(104, c[4], "success", "2026-03-05T08:40:00Z", "2026-03-05T09:00:00Z")
    rerun["run_attempt"] = 2
    other_path = run(111, c[1], "success", "2026-03-02T10:05:00Z", "2026-03-02T10:20:00Z")
    other_path["path"] = ".github/workflows/other.yml"
    no_path = run(112, c[6], "success", "2026-03-08T12:00:00Z", "2026-03-08T12:10:00Z")
    no_path["path"] = None
    return [
        run(100, c[0], "success", "2026-02-25T10:02:00Z", "2026-02-25T10:10:00Z"),
        run(101, c[1], "success", "2026-03-02T10:05:00Z", "2026-03-02T10:30:00Z"),
        run(102, c[2], "success", "2026-03-03T09:10:00Z", "2026-03-03T09:40:00Z"),
        run(103, c[3], "success", "2026-03-03T12:05:00Z", "2026-03-03T12:20:00Z"),
        run(104, c[4], "failure", "2026-03-05T08:05:00Z", "2026-03-05T08:25:00Z"), rerun,
        run(105, c[5], "success", "2026-03-06T10:10:00Z", "2026-03-06T10:40:00Z"),
        run(106, c[6], "failure", "2026-03-08T10:05:00Z", "2026-03-08T10:20:00Z"),
        run(107, c[6], "success", "2026-03-08T11:00:00Z", "2026-03-08T11:20:00Z", event="workflow_dispatch"),
        run(108, c[7], "success", "2026-03-12T10:05:00Z", "2026-03-12T10:30:00Z"),
        # lying runs: green, in the window, and none of them is a canonical deploy of main
        run(109, c[7], "success", "2026-03-09T10:05:00Z", "2026-03-09T10:20:00Z", branch="feature"),
        run(110, c[6], "success", "2026-03-08T10:05:00Z", "2026-03-08T10:15:00Z", event="pull_request"),
        other_path, no_path,
    ]


def _tracker(c, extra=()):
    failed = (f"Deployed commit {c[1][:12]} via api-mcp-backend-deploy; devops-coordination-api "
              "State=Active LastUpdateStatus=Successful; GET /api/v1/coordination/capabilities -> 500")
    items = {"ENC-TSK-501": {"item_id": "ENC-TSK-501", "history": [
        {"timestamp": "2026-03-02T11:00:00Z", "status": "worklog", "description": failed}, *extra]}}
    return {"project": "p", "items": items, "missing": []}


RULES = [make_rule("deploy_coverage", rule_id="T-001"), make_rule("lambda_state", rule_id="T-003"),
         make_rule("worklog_evidence", rule_id="T-004")]


def _snap(history, *, runs=None, tracker=None, modified=HEALTHY_AT_R108, update="Successful", **src):
    repo, c = history
    sources = {"github": {"workflow": "x", "runs": _runs(c) if runs is None else runs},
               "tracker": _tracker(c) if tracker is None else tracker,
               "lambda": lambda_data(modified=modified, update=update), **src}
    return snapshot(repo.path, since=SINCE, until=UNTIL, **sources)


def _doc(history, *, previous=None, **kw):
    snap = _snap(history, **kw)
    doc = build_report(snap, RULES, evaluate(snap, RULES), "audit", previous=previous)
    jsonschema.Draft202012Validator(load_schema("report")).validate(doc)
    return doc


def _by_run(m):
    return {d["run_id"]: d for d in m["deploys"]}


def test_the_four_figures_match_the_hand_computation(history):
    _, c = history
    m = _doc(history)["metrics"]
    deploys = _by_run(m)
    # In the window, completed 03-01..03-10: R101 R102 R103 R104 R105 R106 R107 (R100 before, R108 after;
    # 109-112 are not canonical; R104 is one deploy, its attempt 2). 7 deploys, 6 successful.
    assert list(deploys) == [101, 102, 103, 104, 105, 106, 107]
    assert deploys[104]["attempt"] == 2 and deploys[104]["conclusion"] == "success"
    # frequency: 6 successful deploys / 9 days = 0.6667 a day; / (9/7) weeks = 4.6667 a week
    assert m["deployment_frequency"] == {"deploys": 6, "per_day": 0.6667, "per_week": 4.6667, "reason": None}
    # failed: R101 (worklog: validation failed), R102 (c3 reverts c2, which R102 brought),
    # R104 (the next deploy R105 brings a hotfix), R106 (the run failed) -> 4 of 7 = 0.5714
    assert {k for k, d in deploys.items() if d["failed"]} == {101, 102, 104, 106}
    assert "ENC-TSK-501 worklog records a failed validation" in deploys[101]["why"]
    assert f"reverts {c[2][:12]}" in deploys[102]["why"] and "fix deploy run 103" in deploys[102]["why"]
    assert "fix deploy run 105" in deploys[104]["why"] and "a hotfix" in deploys[104]["why"]
    assert deploys[106]["why"] == "the run concluded failure"
    assert m["change_failure_rate"] == {"deploys": 7, "failed": 4, "rate": 0.5714, "reason": None}
    # lead times, merge -> covering run: c1 30m=1800, c2 40m=2400, c3 20m=1200, c4 (R104 attempt 2, 09:00) 1h=3600,
    # c5 40m=2400, c6 (R106 failed, R107 11:20) 80m=4800, c7 (R108, 03-12 10:30) 3d 30m=261000.
    # Sorted 1200 1800 2400 2400 3600 4800 261000: median the 4th = 2400; p90 nearest rank ceil(6.3)=7th = 261000
    assert [x["seconds"] for x in m["lead_times"]] == [1800, 2400, 1200, 3600, 2400, 4800, 261000]
    assert m["lead_time"]["median_seconds"] == 2400 and m["lead_time"]["p90_seconds"] == 261000
    assert m["lead_time"]["measured"] == 7 and m["lead_time"]["not_deployed"] == 0
    # restores: R101+R102 (a streak) -> R103: 03-02 10:30 -> 03-03 12:20 = 25h50m = 93000;
    # R104 -> R105: 03-05 09:00 -> 03-06 10:40 = 25h40m = 92400; R106 -> R107: 1h = 3600. Median 92400
    assert [(r["failed_run_id"], r["restored_run_id"], r["seconds"]) for r in m["restores"]] == [
        (101, 103, 93000), (104, 105, 92400), (106, 107, 3600)]
    assert m["time_to_restore"] == {"failures": 3, "restored": 3, "unrestored": 0, "median_seconds": 92400,
                                    "reason": None}


def test_the_chart_series_counts_each_day(history):
    m = _doc(history)["metrics"]
    series = m["series"]
    assert series["bucket_days"] == 1 and len(series["buckets"]) == 10  # 03-01 .. 03-10, whole days
    per_day = {b["start"][:10]: (b["deploys"], b["failed"]) for b in series["buckets"] if b["deploys"]}
    assert per_day == {"2026-03-02": (1, 1), "2026-03-03": (2, 1), "2026-03-05": (1, 1), "2026-03-06": (1, 0),
                       "2026-03-08": (2, 1)}


def test_unhealthy_live_function_fails_the_deploy_it_came_from(history):
    # the live code is R107's (LastModified inside its run) and LastUpdateStatus=Failed: R107 failed too,
    # so the streak R106, R107 is restored only by R108 after the window: 03-08 10:20 -> 03-12 10:30 = 4d 10m = 346200
    m = _doc(history, modified=AT_R107, update="Failed")["metrics"]
    deploys = _by_run(m)
    assert "LastUpdateStatus=Failed" in deploys[107]["why"]
    assert m["change_failure_rate"]["failed"] == 5 and m["change_failure_rate"]["rate"] == round(5 / 7, 4)
    assert m["restores"][-1] == {"failed_run_id": 106, "failed_at": "2026-03-08T10:20:00Z", "restored_run_id": 108,
                                 "restored_at": "2026-03-12T10:30:00Z", "seconds": 346200}


def test_green_run_whose_validation_step_failed_is_a_failed_deploy(history):
    """Lying data: the run is green (continue-on-error) but its collected validation step failed."""
    _, c = history
    runs = _runs(c)
    r103 = next(r for r in runs if r["id"] == 103)
    r103["jobs"] = [{"name": "deploy", "steps": [
        {"name": "Deploy coordination API", "status": "completed", "conclusion": "success",
         "started_at": "2026-03-03T12:06:00Z", "completed_at": "2026-03-03T12:10:00Z"},
        {"name": "Validate deployed Lambda state", "status": "completed", "conclusion": "failure",
         "started_at": "2026-03-03T12:10:00Z", "completed_at": "2026-03-03T12:11:00Z"}]}]
    m = _doc(history, runs=runs)["metrics"]
    assert "validation step 'Validate deployed Lambda state' concluded failure" in _by_run(m)[103]["why"]
    # R101 R102 R103 R104 are now one streak (R104 failed by the hotfix after it), restored by R105:
    # 03-02 10:30 -> 03-06 10:40 = 4d 10m = 346200
    assert m["restores"][0] == {"failed_run_id": 101, "failed_at": "2026-03-02T10:30:00Z", "restored_run_id": 105,
                                "restored_at": "2026-03-06T10:40:00Z", "seconds": 346200}


def _with_steps(run_, deploy_conclusion):
    run_["jobs"] = [{"name": "deploy", "steps": [
        {"name": "Deploy coordination API", "status": "completed", "conclusion": deploy_conclusion,
         "started_at": run_["created_at"], "completed_at": run_["updated_at"]}]}]
    return run_


def test_forged_green_copy_of_a_failed_run_does_not_hide_the_failure(history):
    """Lying data: a second copy of R106's attempt says success. Coverage trusts neither copy; the
    failure rate counts the run as a failed deploy instead of dropping it."""
    _, c = history
    runs = _runs(c)
    forged = {**next(r for r in runs if r["id"] == 106), "conclusion": "success"}
    m = _doc(history, runs=[*runs, forged])["metrics"]
    assert _by_run(m)[106]["failed"] and "conflicting copies" in _by_run(m)[106]["why"]
    assert m["change_failure_rate"]["failed"] == 4 and m["change_failure_rate"]["deploys"] == 7


def test_green_run_whose_deploy_step_failed_or_was_skipped(history):
    """continue-on-error on a failed deploy step: a failed deploy; a skipped deploy step: no deploy."""
    _, c = history
    runs = [r for r in _runs(c) if r["id"] not in (105, 103)]
    runs.append(_with_steps(run(105, c[5], "success", "2026-03-06T10:10:00Z", "2026-03-06T10:40:00Z"), "failure"))
    runs.append(_with_steps(run(103, c[3], "success", "2026-03-03T12:05:00Z", "2026-03-03T12:20:00Z"), "skipped"))
    m = _doc(history, runs=runs)["metrics"]
    deploys = _by_run(m)
    assert 103 not in deploys  # it deployed nothing
    assert deploys[105]["failed"] and "its deploy step failed" in deploys[105]["why"]
    # successful now: R101 R102 R104 R107 = 4 (R105 failed, R103 none); 6 deploys
    assert m["deployment_frequency"]["deploys"] == 4 and m["change_failure_rate"]["deploys"] == 6


def test_no_deploys_is_not_zero_failures(history):
    _, c = history
    m = _doc(history, runs=[])["metrics"]
    # a known 9-day window with nothing deployed: frequency is measured (0); the rest is undefined
    assert m["deployment_frequency"] == {"deploys": 0, "per_day": 0.0, "per_week": 0.0, "reason": None}
    assert m["change_failure_rate"] == {"deploys": 0, "failed": 0, "rate": None, "reason": "no deploys in the window"}
    assert m["time_to_restore"]["median_seconds"] is None and m["time_to_restore"]["reason"] == \
        "no failed deploys in the window"
    assert m["lead_time"]["median_seconds"] is None and m["lead_time"]["not_deployed"] == 7
    assert m["lead_time"]["reason"]


def test_only_failures(history):
    _, c = history
    runs = [run(200 + i, c[i], "failure", f"2026-03-0{i + 1}T12:00:00Z", f"2026-03-0{i + 1}T12:10:00Z")
            for i in range(1, 8)]
    m = _doc(history, runs=runs)["metrics"]
    # 7 failed runs in the window (c1..c7 on 03-02..03-08), none successful
    assert m["deployment_frequency"]["deploys"] == 0 and m["deployment_frequency"]["per_day"] == 0.0
    assert m["change_failure_rate"] == {"deploys": 7, "failed": 7, "rate": 1.0, "reason": None}
    # one streak, never restored: no median, and the reason says so
    assert m["time_to_restore"]["failures"] == 1 and m["time_to_restore"]["unrestored"] == 1
    assert m["time_to_restore"]["median_seconds"] is None and "followed by a good deploy" in \
        m["time_to_restore"]["reason"]
    assert m["lead_time"]["measured"] == 0 and m["lead_time"]["not_deployed"] == 7


def test_a_failed_source_gives_null_figures_with_the_reason(history):
    m = _doc(history, github=RuntimeError("403 rate limited"))["metrics"]
    for figure, value in (("deployment_frequency", "per_day"), ("lead_time", "median_seconds"),
                          ("change_failure_rate", "rate"), ("time_to_restore", "median_seconds")):
        assert m[figure][value] is None and "the deploys cannot be read: source 'github' unavailable" in m[figure]["reason"]
    assert m["deploys"] == [] and m["series"] is None


def test_without_worklogs_the_failure_rate_is_unknown(history):
    """Deploys and frequency are still measured; a rate that cannot see recorded validation is not given."""
    m = _doc(history, tracker=RuntimeError("AccessDenied"))["metrics"]
    assert m["deployment_frequency"]["deploys"] == 6
    assert m["change_failure_rate"]["rate"] is None and "worklogs not available" in m["change_failure_rate"]["reason"]
    assert m["time_to_restore"]["median_seconds"] is None


def test_worklog_dated_after_the_collection_fails_nothing(history):
    """A failure entry dated in the future is a false record; it does not move a deploy either way."""
    _, c = history
    late = {"timestamp": "2027-01-01T00:00:00Z", "status": "worklog",
            "description": f"Deployed commit {c[3][:12]} via api-mcp-backend-deploy; -> 500 failed"}
    m = _doc(history, tracker=_tracker(c, [late]))["metrics"]
    assert not _by_run(m)[103]["failed"]


def test_report_json_is_deterministic(history):
    snap = _snap(history)
    first, second = (canonical_json(build_report(snap, RULES, evaluate(snap, RULES), "audit")) for _ in range(2))
    assert first == second and '"change_failure_rate"' in first


def test_trend_against_previous_with_and_without_metrics(history):
    before = _doc(history, runs=[r for r in _runs(history[1]) if r["id"] != 105])
    doc = _doc(history, previous=before)
    trend = {d["metric"]: d for d in doc["diff"]["metrics"]["deltas"]}
    # without R105: 5 successful deploys -> now 6
    assert trend["deploys"] == {"metric": "deploys", "previous": 5, "current": 6, "delta": 1}
    assert doc["diff"]["metrics"]["previous_has_metrics"] is True
    old = {k: v for k, v in before.items() if k != "metrics"}  # a report from before metrics existed
    legacy = diff_reports(old, doc["findings"], doc["metrics"])["metrics"]
    assert legacy["previous_has_metrics"] is False
    assert all(d["previous"] is None and d["delta"] is None for d in legacy["deltas"])
    assert "Since the previous audit: successful deploys 5 → 6 (+1)" in md_report.render(doc)


def test_merged_figures_come_from_the_union_not_an_average(history):
    one = _doc(history)
    two = _doc(history, runs=[r for r in _runs(history[1]) if r["id"] in (100, 101)])
    one["snapshot"]["target"] = {**TARGET, "name": "api-us"}
    two["snapshot"]["target"] = {**TARGET, "name": "api-eu"}
    merged = merge_reports([("api-us", one, "api-us/report.json"), ("api-eu", two, "api-eu/report.json")])
    jsonschema.Draft202012Validator(load_schema("report")).validate(merged)
    m = merged["metrics"]
    # api-eu has R101 only (1 deploy, failed by the worklog; lead c1 = 1800, the other 6 changes not deployed)
    # union: 8 deploys, 5 failed -> 0.625; 7 successful over 9 days -> 0.7778/day
    assert m["change_failure_rate"] == {"deploys": 8, "failed": 5, "rate": 0.625, "reason": None}
    assert m["deployment_frequency"]["deploys"] == 7 and m["deployment_frequency"]["per_day"] == 0.7778
    # lead times 1200 1800 1800 2400 2400 3600 4800 261000: median (2400+2400)/2 = 2400, p90 ceil(7.2)=8th = 261000
    assert m["lead_time"]["median_seconds"] == 2400 and m["lead_time"]["p90_seconds"] == 261000
    assert {d["target"] for d in m["deploys"]} == {"api-us", "api-eu"}
    assert [t["target"] for t in m["by_target"]] == ["api-eu", "api-us"]
    assert m["by_target"][1]["change_failure_rate"]["rate"] == 0.5714


def test_merged_report_with_an_old_target_report_has_unknown_figures(history):
    one = _doc(history)
    old = {k: v for k, v in _doc(history).items() if k != "metrics"}
    merged = merge_reports([("new", one, "new/report.json"), ("old", old, "old/report.json")])
    assert merged["metrics"]["deployment_frequency"]["per_day"] is None
    assert "old: the report has no delivery metrics" in merged["metrics"]["deployment_frequency"]["reason"]


def test_markdown_and_html_show_the_figures_and_keep_hostile_text_inert(history):
    doc = _doc(history)
    doc["metrics"]["deploys"][0]["why"] = '<script>alert(1)</script> [x](javascript:alert(1)) @team'
    md, page = md_report.render(doc), html_report.render(doc)
    assert "| Change failure rate | 57.1% |" in md and "median 40m 00s" in md
    assert "<script>" not in md and "](javascript:" not in md
    assert "<h2>Delivery metrics</h2>" in page and "<svg" in page and "57.1%" in page
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_chart_is_plain_svg_with_escaped_labels():
    series = {"bucket_days": 1, "buckets": [{"start": "2026-03-01T00:00:00Z<b>", "deploys": 2, "failed": 1},
                                            {"start": "2026-03-02T00:00:00Z", "deploys": 0, "failed": 0}]}
    svg = chart_svg(series)
    assert svg.startswith("<svg") and svg.endswith("</svg>") and "<script" not in svg
    assert "<b>" not in svg
    assert svg.count("<rect") == 2  # one failed, one good segment; the empty day draws nothing
    assert chart_svg(None) == "" and chart_svg({"bucket_days": 1, "buckets": []}) == ""


def test_durations_read_at_a_glance():
    assert [duration(x) for x in (None, 59, 61, 3600, 93000, 346200)] == \
        ["n/a", "59s", "1m 01s", "1h 00m", "1d 01h", "4d 00h"]


def test_long_windows_use_wider_bars(history):
    repo, c = history
    snap = snapshot(repo.path, since="2025-03-01T00:00:00Z", until=UNTIL,
                    github={"workflow": "x", "runs": _runs(c)}, tracker=_tracker(c),
                    **{"lambda": lambda_data(modified=HEALTHY_AT_R108)})
    m = build_report(snap, RULES, evaluate(snap, RULES), "audit")["metrics"]
    assert m["series"]["bucket_days"] == 7 and len(m["series"]["buckets"]) <= 62
    assert sum(b["deploys"] for b in m["series"]["buckets"]) == 8  # R100 joins: it is in this window
    json.dumps(m)


def test_changes_a_running_deploy_may_still_cover_are_pending_not_measured(history):
    """Collected at 03-09 11:00 while R120 (c7) is in progress: c2..c7 may all be deployed by it
    (a later commit's run deploys the earlier ones), so they are pending; only c1 (R101, 1800 s) is measured."""
    repo, c = history
    runs = [run(101, c[1], "success", "2026-03-02T10:05:00Z", "2026-03-02T10:30:00Z"),
            run(120, c[7], None, "2026-03-09T10:05:00Z", "2026-03-09T10:30:00Z", status="in_progress")]
    snap = _snap(history, runs=runs, tracker={"project": "p", "items": {}, "missing": []})
    snap["collected_at"] = "2026-03-09T11:00:00Z"
    m = build_report(snap, RULES, evaluate(snap, RULES), "audit")["metrics"]
    assert [d["run_id"] for d in m["deploys"]] == [101]  # a running run is no deploy yet
    assert m["lead_time"]["measured"] == 1 and m["lead_time"]["median_seconds"] == 1800
    assert m["lead_time"]["pending"] == 6 and m["lead_time"]["not_deployed"] == 0


def test_merged_trend_compares_each_target_with_its_own_past(history):
    def named(doc, name):
        doc["snapshot"]["target"] = {**TARGET, "name": name}
        return doc

    earlier = merge_reports([("api-us", named(_doc(history, runs=[]), "api-us"), "api-us/report.json"),
                             ("api-eu", named(_doc(history), "api-eu"), "api-eu/report.json")])
    mine = previous_for(earlier, {**TARGET, "name": "api-us"})
    assert mine["metrics"]["deployment_frequency"]["deploys"] == 0  # api-us's own figures, not the sum (6)
    now_us = named(_doc(history, previous=mine), "api-us")
    now_eu = named(_doc(history, previous=previous_for(earlier, {**TARGET, "name": "api-eu"})), "api-eu")
    merged = merge_reports([("api-us", now_us, "api-us/report.json"), ("api-eu", now_eu, "api-eu/report.json")])
    jsonschema.Draft202012Validator(load_schema("report")).validate(merged)
    deltas = {(d["target"], d["metric"]): d for d in merged["diff"]["metrics"]["deltas"]}
    assert deltas[("api-us", "deploys")] == {"metric": "deploys", "previous": 0, "current": 6, "delta": 6,
                                             "target": "api-us"}
    assert deltas[("api-eu", "deploys")]["delta"] == 0
    assert "Target</th>" in html_report.render(merged)


def test_a_pull_request_report_shows_no_metrics_table(history):
    doc = {**_doc(history), "mode": "pr"}
    assert "Delivery metrics" not in md_report.render(doc) and "Delivery metrics" not in html_report.render(doc)
