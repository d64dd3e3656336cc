"""Files judged as of the window's end, and per change as they were in force (issue 15, "As of").

Every history here is a real git repository: the past window is audited from a clone whose head
has moved on (the workflow deleted, the deploy script tombstoned, a workflow restored), as the
real repository's history holds every one of these states.
"""

from __future__ import annotations

from compliance.base.timeutil import parse_time
from compliance.sources.base import Meter
from compliance.sources.git import collect_git
from tests.gitrepo import GitRepo
from tests.scenario import DEPLOY_SH, GOOD_WORKFLOW, WORKFLOW, judge, run, snapshot

SCRIPT = "backend/lambda/coordination_api/deploy.sh"
FILES = [WORKFLOW, SCRIPT, "AGENTS.md"]
TOMBSTONE = "# retired: deploys via the platform pipeline now\n"
NO_TOOLS = GOOD_WORKFLOW.replace('      - "tools/enceladus-mcp-server/**"\n', "")
MARCH = {"since": "2026-03-01T00:00:00Z", "until": "2026-03-31T00:00:00Z"}


def _retired(tmp_path) -> tuple[GitRepo, dict[str, str]]:
    """Workflow and real script in March; the script tombstoned in April, then the workflow deleted."""
    r = GitRepo(tmp_path / "retired").init()
    s = {"init": r.commit("init ENC-TSK-1", {"README.md": "x\n", WORKFLOW: GOOD_WORKFLOW, SCRIPT: DEPLOY_SH,
                                             "backend/lambda/coordination_api/app.py": "1\n"},
                          author_date="2026-02-22T00:00:00Z")}
    s["march"] = r.commit("api change ENC-TSK-2", {"backend/lambda/coordination_api/app.py": "2\n"},
                          author_date="2026-03-05T00:00:00Z")
    s["tomb"] = r.commit("retire deploy.sh ENC-TSK-3", {SCRIPT: TOMBSTONE}, author_date="2026-04-10T00:00:00Z")
    s["gone"] = r.commit("retire workflow ENC-TSK-4", {WORKFLOW: None}, author_date="2026-04-20T00:00:00Z")
    return r, s


def test_past_window_reads_the_workflow_it_had_not_the_head(tmp_path):
    r, s = _retired(tmp_path)
    march = snapshot(r.path, files=FILES, **MARCH)
    git = march["sources"]["git"]["data"]
    assert git["head"] == s["gone"] and git["files_ref"]["sha"] == s["march"]
    found = judge(march, "workflow_push_filter")
    assert [f.status for f in found] == ["pass"]
    assert f"as of {s['march'][:8]}, 2026-03-05" in found[0].message
    assert found[0].evidence[0]["ref"] == s["march"]
    # audited until now, the same history judges today's head: the workflow is gone
    now = snapshot(r.path, files=FILES, since=MARCH["since"], until="2026-04-30T00:00:00Z")
    found = judge(now, "workflow_push_filter")
    assert found[0].status == "fail"
    assert found[0].message == f"the canonical workflow is absent as of {s['gone'][:8]}, 2026-04-20"


def test_tombstone_at_head_real_script_in_the_window(tmp_path):
    r, s = _retired(tmp_path)
    found = judge(snapshot(r.path, files=FILES, **MARCH), "deploy_script_present")
    assert found[0].status == "pass" and f"as of {s['march'][:8]}" in found[0].message
    april = snapshot(r.path, files=FILES, since="2026-04-01T00:00:00Z", until="2026-04-15T00:00:00Z")
    found = judge(april, "deploy_script_present")
    assert found[0].status == "fail" and "tombstone" in found[0].message
    assert f"as of {s['tomb'][:8]}, 2026-04-10" in found[0].message
    assert found[0].evidence[0]["ref"] == s["tomb"]


def test_workflow_restored_at_head_does_not_pass_a_window_without_it(tmp_path):
    """Lying case: a workflow put back after the window must not make the window compliant."""
    r = GitRepo(tmp_path / "restored").init()
    r.commit("init", {"README.md": "x\n", WORKFLOW: GOOD_WORKFLOW, SCRIPT: DEPLOY_SH}, author_date="2026-02-01T00:00:00Z")
    dropped = r.commit("drop workflow", {WORKFLOW: None}, author_date="2026-02-25T00:00:00Z")
    r.commit("api change", {"backend/lambda/coordination_api/app.py": "2\n"}, author_date="2026-03-05T00:00:00Z")
    r.commit("restore workflow", {WORKFLOW: GOOD_WORKFLOW}, author_date="2026-04-20T00:00:00Z")
    march = snapshot(r.path, files=FILES, **MARCH)
    found = judge(march, "workflow_push_filter")
    assert found[0].status == "fail" and "absent as of" in found[0].message
    assert found[0].location == {"path": WORKFLOW, "line": 1}
    assert judge(march, "workflow_validation_asserts")[0].status == "fail"
    # audited to today, the restored file is read, and the March change still is not covered: it landed
    # while there was no workflow to run
    found = judge(snapshot(r.path, files=FILES, until="2026-04-30T00:00:00Z"), "workflow_push_filter")
    assert found[0].status == "fail" and "absent as of" not in found[0].message
    assert f"while the workflow in force (as of {dropped[:8]}, 2026-02-25) did not run" in found[0].message
    # the version collected at the drop is a known absence, not a missing read
    versions = march["sources"]["git"]["data"]["file_versions"]["paths"][WORKFLOW]
    assert {"sha": dropped, "blob": None} in versions


def test_push_filter_in_force_at_each_change(tmp_path):
    """A commit that edits the filter changes it from then on: the change after it is judged by it."""
    r = GitRepo(tmp_path / "filter").init()
    r.commit("init", {"README.md": "x\n", WORKFLOW: GOOD_WORKFLOW, SCRIPT: DEPLOY_SH}, author_date="2026-02-22T00:00:00Z")
    r.commit("mcp change, covered", {"tools/enceladus-mcp-server/a.py": "1\n"}, author_date="2026-03-03T00:00:00Z")
    edit = r.commit("narrow the filter", {WORKFLOW: NO_TOOLS}, author_date="2026-03-10T00:00:00Z")
    missed = r.commit("mcp change, not deployed", {"tools/enceladus-mcp-server/b.py": "1\n"},
                      author_date="2026-03-12T00:00:00Z")
    r.commit("widen it again", {WORKFLOW: GOOD_WORKFLOW}, author_date="2026-03-15T00:00:00Z")
    found = judge(snapshot(r.path, files=FILES, **MARCH), "workflow_push_filter")
    assert found[0].status == "fail"
    msg = found[0].message
    assert f"changed in {missed[:12]} (tools/enceladus-mcp-server/b.py), by the filter as of " \
           f"{edit[:8]}, 2026-03-10" in msg
    assert "a.py" not in msg and "scope " not in msg  # the window's-end filter covers the scope itself
    # the same history without the narrowing passes: the verdict comes from the version in force
    r2 = GitRepo(tmp_path / "steady").init()
    r2.commit("init", {"README.md": "x\n", WORKFLOW: GOOD_WORKFLOW}, author_date="2026-02-22T00:00:00Z")
    r2.commit("mcp change", {"tools/enceladus-mcp-server/b.py": "1\n"}, author_date="2026-03-12T00:00:00Z")
    assert judge(snapshot(r2.path, files=FILES, **MARCH), "workflow_push_filter")[0].status == "pass"
    # GitHub runs the workflow as it is in the pushed commit: widening the filter in the same commit as
    # the scoped edit triggers it
    r3 = GitRepo(tmp_path / "same-commit").init()
    r3.commit("init", {"README.md": "x\n", WORKFLOW: NO_TOOLS}, author_date="2026-02-22T00:00:00Z")
    r3.commit("mcp change with its filter", {WORKFLOW: GOOD_WORKFLOW, "tools/enceladus-mcp-server/b.py": "1\n"},
              author_date="2026-03-12T00:00:00Z")
    assert judge(snapshot(r3.path, files=FILES, **MARCH), "workflow_push_filter")[0].status == "pass"


def test_change_landed_while_the_workflow_was_absent(tmp_path):
    r = GitRepo(tmp_path / "gap").init()
    r.commit("init", {"README.md": "x\n", WORKFLOW: GOOD_WORKFLOW}, author_date="2026-02-22T00:00:00Z")
    dropped = r.commit("drop it", {WORKFLOW: None}, author_date="2026-03-02T00:00:00Z")
    lost = r.commit("api change", {"backend/lambda/coordination_api/app.py": "1\n"}, author_date="2026-03-04T00:00:00Z")
    r.commit("bring it back", {WORKFLOW: GOOD_WORKFLOW}, author_date="2026-03-06T00:00:00Z")
    found = judge(snapshot(r.path, files=FILES, **MARCH), "workflow_push_filter")
    assert found[0].status == "fail"
    assert f"changed in {lost[:12]} (backend/lambda/coordination_api/app.py) while the workflow in force (as of " \
           f"{dropped[:8]}, 2026-03-02) did not run" in found[0].message


def test_versions_read_by_two_processes_each_blob_once(tmp_path):
    r = GitRepo(tmp_path / "many").init()
    r.commit("init", {"README.md": "x\n", WORKFLOW: GOOD_WORKFLOW}, author_date="2026-02-01T00:00:00Z")
    for n in range(6):  # the workflow flips between two contents: six versions, two distinct blobs
        r.commit(f"flip {n}", {WORKFLOW: NO_TOOLS if n % 2 == 0 else GOOD_WORKFLOW},
                 author_date=f"2026-03-0{n + 1}T00:00:00Z")
    meter = Meter()
    data = collect_git(str(r.path), "main", None, until=parse_time("2026-03-03T12:00:00Z"), files=[WORKFLOW, "nope"],
                       meter=meter)
    versions = data["file_versions"]
    assert len(versions["paths"][WORKFLOW]) == 7 and len(versions["blobs"]) == 2
    assert versions["paths"]["nope"] == [{"sha": data["commits"][0]["sha"], "blob": None}]
    assert data["files_at_head"][WORKFLOW] == NO_TOOLS  # flip 2 (2026-03-03) is the window's end
    assert data["files_ref"] == {"sha": data["commits"][3]["sha"], "committed_at": "2026-03-03T00:00:00Z"}
    before = meter.requests
    data = collect_git(str(r.path), "main", None, until=parse_time("2026-03-03T12:00:00Z"), files=[WORKFLOW],
                       meter=meter)
    assert meter.requests - before == before  # the same processes, however many versions


def test_window_before_every_commit_reads_no_files(tmp_path):
    r = GitRepo(tmp_path / "young").init()
    r.commit("init", {WORKFLOW: GOOD_WORKFLOW}, author_date="2026-03-10T00:00:00Z")
    data = collect_git(str(r.path), "main", None, until=parse_time("2026-03-01T00:00:00Z"), files=[WORKFLOW])
    assert data["files_at_head"] == {WORKFLOW: None} and data["files_ref"] is None


def _github(*runs) -> dict:
    return {"workflow": WORKFLOW, "runs": list(runs)}


def test_run_that_succeeded_while_the_script_was_a_tombstone_deployed_nothing(tmp_path):
    r = GitRepo(tmp_path / "tomb").init()
    r.commit("init", {"README.md": "x\n", WORKFLOW: GOOD_WORKFLOW, SCRIPT: DEPLOY_SH}, author_date="2026-02-22T00:00:00Z")
    tomb = r.commit("retire deploy.sh", {SCRIPT: TOMBSTONE}, author_date="2026-03-03T00:00:00Z")
    change = r.commit("api change", {"backend/lambda/coordination_api/app.py": "2\n"},
                      author_date="2026-03-05T00:00:00Z")
    ran = run(501, change, "success", "2026-03-05T00:01:00Z", "2026-03-05T00:09:00Z")
    found = judge(snapshot(r.path, files=FILES, github=_github(ran), **MARCH), "deploy_coverage", {"allow_manual_evidence": False})
    by_sha = {f.subject: f for f in found}
    assert by_sha[change[:12]].status == "fail"
    assert f"it deployed nothing: {SCRIPT} was a tombstone" in by_sha[change[:12]].message
    assert f"as of {tomb[:8]}, 2026-03-03, the version its commit ran" in by_sha[change[:12]].message
    # the script restored by a later commit: that commit's successful run deploys the change
    fixed = r.commit("restore deploy.sh", {SCRIPT: DEPLOY_SH}, author_date="2026-03-07T00:00:00Z")
    later = run(502, fixed, "success", "2026-03-07T00:01:00Z", "2026-03-07T00:09:00Z")
    found = judge(snapshot(r.path, files=FILES, github=_github(ran, later), **MARCH), "deploy_coverage", {"allow_manual_evidence": False})
    assert {f.subject: f.status for f in found}[change[:12]] == "pass"
    assert "run 502" in {f.subject: f for f in found}[change[:12]].message


def test_run_with_the_real_script_in_force_covers(tmp_path):
    r, s = _retired(tmp_path)  # the script is tombstoned only after the window
    ran = run(601, s["march"], "success", "2026-03-05T00:01:00Z", "2026-03-05T00:09:00Z")
    found = judge(snapshot(r.path, files=FILES, github=_github(ran), **MARCH), "deploy_coverage",
                  {"allow_manual_evidence": False})
    assert {f.subject: f.status for f in found}[s["march"][:12]] == "pass"


def test_every_report_format_names_the_ref_a_file_finding_judged(tmp_path):
    import json

    from compliance.judge.engine import evaluate
    from compliance.report import render_all
    from compliance.report.document import build_report
    from tests.scenario import make_rule

    r, s = _retired(tmp_path)
    snap = snapshot(r.path, files=FILES, since="2026-04-01T00:00:00Z", until="2026-04-15T00:00:00Z")
    rules = [make_rule("deploy_script_present")]
    doc = build_report(snap, rules, evaluate(snap, rules), "audit")
    out = render_all(doc, ["md", "html", "json", "sarif", "junit"])
    label = f"as of {s['tomb'][:8]}, 2026-04-10"
    for fmt, text in out.items():
        assert label in text, fmt
    result = json.loads(out["sarif"])["runs"][0]["results"][0]
    assert result["properties"]["as_of"] == s["tomb"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == SCRIPT
