"""Delivery metrics against runs whose record is impossible: the figures may not look better than the evidence.

A real git history (tests/gitrepo.py), runs as GitHub's REST API shows them:

    pos commit  time (UTC)          runs (completed)
    0   c0      2026-02-25 10:00    R10 success 02-25 10:10 (before the window)
    1   c1      2026-03-02 10:00    R11 failure 03-02 10:20
    2   c2      2026-03-05 10:00    R12 success 03-02 10:22 (a forged record: it ended three days before c2 was made)
                                    R13 success 03-05 10:30

Window 2026-03-01 .. 2026-03-10 (9 days). R12 cannot have deployed c2, and coverage credits it with nothing
(a run covers a change only when it completed after the commit); here it is no deploy either, so it cannot
cut R11's time to restore from three days to two minutes nor dilute the failure rate.
"""

from __future__ import annotations

import pytest

from compliance.judge.engine import evaluate
from compliance.report.document import build_report
from tests.gitrepo import GitRepo
from tests.scenario import DEPLOY_SH, GOOD_WORKFLOW, WORKFLOW, lambda_data, make_rule, run, snapshot

API = "backend/lambda/coordination_api/lambda_function.py"
RULES = [make_rule("deploy_coverage", rule_id="T-001"), make_rule("lambda_state", rule_id="T-003")]


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    repo = GitRepo(tmp_path_factory.mktemp("lies") / "enceladus").init()
    c = [repo.commit("initial import", {"README.md": "x\n", WORKFLOW: GOOD_WORKFLOW,
                                        "backend/lambda/coordination_api/deploy.sh": DEPLOY_SH, API: "v = 0\n"},
                     author_date="2026-02-25T10:00:00Z")]
    c.append(repo.commit("feature A ENC-TSK-601", {API: "v = 1\n"}, author_date="2026-03-02T10:00:00Z"))
    c.append(repo.commit("feature B ENC-TSK-602", {API: "v = 2\n"}, author_date="2026-03-05T10:00:00Z"))
    return repo, c


def _metrics(history, runs):
    repo, _ = history
    snap = snapshot(repo.path, since="2026-03-01T00:00:00Z", until="2026-03-10T00:00:00Z",
                    github={"workflow": "x", "runs": runs}, tracker={"project": "p", "items": {}, "missing": []},
                    **{"lambda": lambda_data(modified="2026-03-05T10:25:00.000+0000")})
    return build_report(snap, RULES, evaluate(snap, RULES), "audit")["metrics"]


def _runs(c, forged=True):
    out = [run(10, c[0], "success", "2026-02-25T10:02:00Z", "2026-02-25T10:10:00Z"),
           run(11, c[1], "failure", "2026-03-02T10:05:00Z", "2026-03-02T10:20:00Z"),
           run(13, c[2], "success", "2026-03-05T10:05:00Z", "2026-03-05T10:30:00Z")]
    if forged:
        out.append(run(12, c[2], "success", "2026-03-02T10:21:00Z", "2026-03-02T10:22:00Z"))
    return out


def test_a_green_run_that_ended_before_its_commit_existed_is_no_deploy(history):
    _, c = history
    m = _metrics(history, _runs(c))
    assert [d["run_id"] for d in m["deploys"]] == [11, 13]
    # one successful deploy (R13) in 9 days: 0.1111 a day
    assert m["deployment_frequency"]["deploys"] == 1 and m["deployment_frequency"]["per_day"] == 0.1111
    # R11 failed of 2 deploys
    assert m["change_failure_rate"]["rate"] == 0.5
    # R11 03-02 10:20 -> R13 03-05 10:30 = 3d 10m = 259200 + 600 = 259800, not R12's 120 s
    assert [(r["failed_run_id"], r["restored_run_id"], r["seconds"]) for r in m["restores"]] == [(11, 13, 259800)]
    # c2's lead time is to R13: 30 min
    assert [(x["run_id"], x["seconds"]) for x in m["lead_times"] if x["sha"] == c[2][:12]] == [(13, 1800)]


def test_the_forged_run_changes_no_figure(history):
    _, c = history
    honest, forged = _metrics(history, _runs(c, forged=False)), _metrics(history, _runs(c))
    for figure in ("deployment_frequency", "lead_time", "change_failure_rate", "time_to_restore"):
        assert forged[figure] == honest[figure], figure


def test_coverage_does_not_credit_a_change_to_a_run_that_ended_before_its_own_commit(history):
    """The same lie seen by deploy_coverage: R12 (of c2, 'completed' before c2 was made) cannot have deployed c1."""
    repo, c = history
    snap = snapshot(repo.path, since="2026-03-01T00:00:00Z", until="2026-03-10T00:00:00Z",
                    github={"workflow": "x", "runs": _runs(c)}, tracker={"project": "p", "items": {}, "missing": []},
                    **{"lambda": lambda_data(modified="2026-03-05T10:25:00.000+0000")})
    coverage = {f.subject: f for f in evaluate(snap, RULES) if f.rule_id == "T-001"}
    assert coverage[c[1][:12]].status == "pass" and "successful run 13 " in coverage[c[1][:12]].message
    assert "run 12 " not in coverage[c[1][:12]].message
