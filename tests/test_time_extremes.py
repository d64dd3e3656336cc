"""Times at the edges of what a datetime holds: git takes a commit dated 9999-12-31T23:59:30Z, and the
snapshot schema any real time in a run record or the function's LastModified. The report must still be
written (a traceback writes no report set at all), and an impossible time proves nothing.

The history is a real git repository; the commit's dates are given in git's raw ``@seconds`` form.
"""

from __future__ import annotations

import pytest

from compliance.judge.engine import evaluate
from compliance.report import html as html_report
from compliance.report import markdown as md_report
from compliance.report import svg_timeline as svgt
from compliance.report.document import build_report
from tests.gitrepo import GitRepo
from tests.scenario import DEPLOY_SH, GOOD_WORKFLOW, WORKFLOW, lambda_data, make_rule, run, snapshot

API = "backend/lambda/coordination_api/lambda_function.py"
LAST_MINUTE = "@253402300770 +0000"  # 9999-12-31T23:59:30Z, the last minute a datetime can hold


def test_a_commit_dated_in_the_last_minute_of_year_9999_still_renders(tmp_path):
    repo = GitRepo(tmp_path / "enceladus").init()
    repo.commit("initial import", {"README.md": "x\n", WORKFLOW: GOOD_WORKFLOW, API: "v = 0\n",
                                   "backend/lambda/coordination_api/deploy.sh": DEPLOY_SH},
                author_date="2026-03-02T10:00:00Z")
    late = repo.commit("feature ENC-TSK-1", {API: "v = 1\n"}, author_date=LAST_MINUTE, committer_date=LAST_MINUTE)
    rules = [make_rule("deploy_coverage", rule_id="T-001")]
    # no run, no function: the merge is the change's only recorded time
    snap = snapshot(repo.path, since="2026-03-01T00:00:00Z", until="2026-03-10T00:00:00Z",
                    github={"workflow": "x", "runs": []}, **{"lambda": RuntimeError("AccessDenied")})
    doc = build_report(snap, rules, evaluate(snap, rules), "audit")
    change = next(c for c in doc["changes"] if c["sha"] == late)
    assert change["committed_at"] == "9999-12-31T23:59:30Z"
    assert [s.get("time") for s in change["timeline"] if s.get("time")] == ["9999-12-31T23:59:30Z"]
    lane = svgt.swimlane(change)
    assert "merged 9999-12-31 23:59Z" in lane and lane.startswith("<svg")
    page = html_report.render(doc)
    assert lane in page
    assert late[:12] in md_report.render(doc)


@pytest.mark.parametrize("edge", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"])
def test_runs_and_a_function_dated_at_the_ends_of_time_are_judged_not_a_traceback(tmp_path, edge):
    """Lying data: a run record and the function's LastModified at year 1 or 9999 (the snapshot schema takes
    any real time). Matching the function to a run compared ``end + slack``, which overflowed."""
    repo = GitRepo(tmp_path / "enceladus").init()
    repo.commit("initial import", {"README.md": "x\n", WORKFLOW: GOOD_WORKFLOW, API: "v = 0\n",
                                   "backend/lambda/coordination_api/deploy.sh": DEPLOY_SH},
                author_date="2026-02-25T10:00:00Z")
    c1 = repo.commit("feature ENC-TSK-1", {API: "v = 1\n"}, author_date="2026-03-02T10:00:00Z")
    rules = [make_rule(kind, rule_id=f"T-00{i}") for i, kind in
             enumerate(("deploy_coverage", "lambda_state", "lambda_deploy_match"), 1)]
    runs = [run(1, c1, "success", edge, edge), run(2, c1, "failure", "2026-03-02T10:05:00Z", edge)]
    snap = snapshot(repo.path, since="2026-03-01T00:00:00Z", until="2026-03-10T00:00:00Z",
                    github={"workflow": "x", "runs": runs},
                    **{"lambda": lambda_data(modified=edge.replace("Z", ".000+0000"))})
    findings = evaluate(snap, rules)
    doc = build_report(snap, rules, findings, "audit")
    assert html_report.render(doc).startswith("<!DOCTYPE html>") and md_report.render(doc)
    verdicts = {(f.rule_id, f.subject): f.status for f in findings}
    assert verdicts[("T-001", c1[:12])] != "pass"  # neither impossible run deployed c1
    # the live code cannot be credited to a run dated in year 9999 (after the collection) or in year 1
    # (before its commit was made); a LastModified after the collection is a false record
    match = next(f for f in findings if f.rule_id == "T-003")
    assert match.status != "pass", match.message
    if edge.startswith("9999"):
        assert match.status == "error" and "after the collection" in match.message
    assert doc["metrics"]["deployment_frequency"]["deploys"] == 0
