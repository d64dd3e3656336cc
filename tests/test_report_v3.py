"""report.json version 3: what it takes out of version 2 reads back as the very value, across versions.

Version 3 names what the file already holds instead of writing it again: the metrics' lead times and
restores by their change row and deploy, a deploy's SHA by its change row and its URL derived from the
run; the passes of change and task rules as the change rows' verdicts; a finding's subject by its row and
its message as a template of that change's values; a stage's run-own tokens as its arguments. Each is
shown to read back exactly, to be written out in full where the data only looks derivable (a URL of
another repository, seconds one off, a verdict that says pass without its finding), to be refused when a
file says what this version never writes, and version 1, 2 and 3 files of one report to diff and merge
alike.
"""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance.model.snapshot import canonical_json, load_schema, schema_problems
from compliance.report.compact import compact_report
from compliance.report.diff import diff_reports, load_previous
from compliance.report.expand import CompactError, expand_report
from compliance.report.merge import load_report, merge_reports
from tests.jsoncopy import copy_json
from tests.reportfile import without_pass_details


@pytest.fixture(scope="module")
def doc(demo_doc):
    return demo_doc


def _file(doc, version=3):
    return json.loads(canonical_json(compact_report(doc, version), allow_nan=False))


def _back(doc, version=3):
    return expand_report(_file(doc, version))


def test_version_3_reads_back_as_version_2_does_and_is_smaller(doc):
    v2, v3 = _file(doc, 2), _file(doc, 3)
    assert v2["report_version"] == 2 and v3["report_version"] == 3
    for raw in (v2, v3):
        assert schema_problems(raw, load_schema("report"), "report.json") == []
    assert expand_report(copy.deepcopy(v3)) == expand_report(copy.deepcopy(v2))
    assert without_pass_details(expand_report(v3)) == without_pass_details(doc)
    assert len(canonical_json(v3)) < len(canonical_json(v2))
    assert any(e["subjects"] == "verdicts" for e in v3["passed"])
    assert any(isinstance(f["subject"], int) and isinstance(f["message"], int) for f in v3["findings"])
    assert any(len(s) > 6 and isinstance(s[6], list) for s in v3["stages"])  # a stage with arguments
    lead = v3["metrics"]["lead_times"]
    assert lead["derived"] == ["merged_at", "deployed_at", "seconds"] and all(isinstance(r, list) for r in lead["rows"])


def test_previous_and_merge_read_versions_1_2_and_3_alike(doc, tmp_path):
    current = [f for f in expand_report(_file(doc))["findings"]]
    diffs, loaded = [], []
    for version in (1, 2, 3):
        path = tmp_path / f"v{version}" / "report.json"
        path.parent.mkdir()
        text = canonical_json(expand_report(_file(doc)) if version == 1 else compact_report(doc, version))
        path.write_text(text, encoding="utf-8")
        previous = load_previous(path)
        diffs.append(diff_reports(previous, current, expand_report(_file(doc)).get("metrics")))
        loaded.append(load_report(path))
    assert diffs[0] == diffs[1] == diffs[2]
    assert {k: v for k, v in loaded[1].items() if k != "report_version"} == \
        {k: v for k, v in loaded[2].items() if k != "report_version"}
    merged = merge_reports([("one", loaded[1], "v2/report.json"), ("two", loaded[2], "v3/report.json")])
    written = _file(merged)  # a merged report is version 3 too: each finding and change names its target
    assert schema_problems(written, load_schema("report"), "report.json") == []
    assert without_pass_details(expand_report(written)) == without_pass_details(merged)


# -- the metrics' tables ---------------------------------------------------------------------------------

_REPO = "NX-2021-L/enceladus"


def _change(i):
    sha = f"{i:x}" * 40
    return {"sha": sha[:40], "short": sha[:12], "kind": "merge", "pr": i, "subject": f"change {i}", "author": "a",
            "committed_at": f"2026-01-0{i}T00:00:00Z", "task_ids": [], "files_in_scope": [], "timeline": [],
            "verdicts": {}}


def _deploy(run_id, sha, done, url=None, why=None):
    return {"attempt": 1, "completed_at": done, "conclusion": "failure" if why else "success", "deployed": not why,
            "failed": bool(why), "run_id": run_id, "run_number": run_id - 100, "sha": sha, "why": why,
            "url": url or f"https://github.com/{_REPO}/actions/runs/{run_id}"}


def _lead(change, run_id, done, seconds):
    return {"deployed_at": done, "merged_at": change["committed_at"], "run_id": run_id, "seconds": seconds,
            "sha": change["short"]}


def _metrics_doc():
    c1, c2, c3 = _change(1), _change(2), _change(3)
    deploys = [_deploy(101, c1["sha"], "2026-01-01T01:00:00Z", why="the run concluded failure"),
               _deploy(102, c2["sha"], "2026-01-02T01:00:00Z"),
               _deploy(103, "f" * 40, "2026-01-03T01:00:00Z"),  # a SHA no change of the report has
               _deploy(104, c3["sha"], "2026-01-04T01:00:00Z",
                       url="https://github.com/someone/else/actions/runs/104")]  # looks derived, is not
    lead = [_lead(c1, 102, "2026-01-02T01:00:00Z", 90000),
            _lead(c2, 102, "2026-01-02T01:00:00Z", 3601),  # one second off what the times say: not derived
            _lead(c3, 999, "2026-01-05T00:00:00Z", 172800)]  # a run no deploy of the report is
    restores = [{"failed_at": "2026-01-01T01:00:00Z", "failed_run_id": 101, "restored_at": "2026-01-02T01:00:00Z",
                 "restored_run_id": 102, "seconds": 86400},
                {"failed_at": "2026-01-04T01:00:00Z", "failed_run_id": 104, "restored_at": None,
                 "restored_run_id": None, "seconds": None}]
    return {"report_version": 1, "rules": [], "findings": [], "changes": [c1, c2, c3],
            "snapshot": {"target": {"github_repo": _REPO}},
            "metrics": {"deploys": deploys, "lead_times": lead, "restores": restores}}


def test_metrics_name_changes_and_deploys_and_read_back_exactly():
    doc = _metrics_doc()
    small = _file(doc)
    deploys, lead, restores = (small["metrics"][k] for k in ("deploys", "lead_times", "restores"))
    assert "url" not in deploys["columns"] and deploys["derived"] == ["url"]
    sha = deploys["columns"].index("sha")
    assert [r[sha] if isinstance(r, list) else None for r in deploys["rows"]] == [0, 1, "f" * 40, None]
    assert deploys["rows"][3] == doc["metrics"]["deploys"][3]  # another repository's URL: written whole
    assert lead["columns"] == ["run_id", "sha"] and lead["rows"][0] == [1, 0]
    assert lead["rows"][1] == doc["metrics"]["lead_times"][1] and lead["rows"][2] == doc["metrics"]["lead_times"][2]
    assert restores["rows"][0] == [0, 1] and restores["rows"][1] == doc["metrics"]["restores"][1]
    assert expand_report(small)["metrics"] == doc["metrics"]


def test_a_merged_reports_metrics_are_plain_tables():
    doc = {**_metrics_doc(), "targets": [{"name": "a"}]}
    small = _file(doc)
    assert all("refs" not in small["metrics"][k] and "derived" not in small["metrics"][k]
               for k in ("deploys", "lead_times", "restores"))
    assert expand_report(small)["metrics"] == doc["metrics"]


@pytest.mark.parametrize(("damage", "says"), [
    (lambda m: m["lead_times"].__setitem__("derived", ["run_id"]), "derived"),  # a column this version never derives
    (lambda m: m["lead_times"].__setitem__("derived", ["seconds", "merged_at", "deployed_at"]), "derived"),
    (lambda m: m["lead_times"]["refs"].__setitem__("sha", "changes.author"), "refs"),
    (lambda m: m["deploys"]["refs"].__setitem__("run_number", "strings"), "refs"),
    (lambda m: m["lead_times"]["rows"][0].__setitem__(0, 7), "names deploys row 7"),
    (lambda m: m["lead_times"]["rows"][0].__setitem__(1, -1), "names changes row -1"),
    (lambda m: m["lead_times"].__setitem__("derived", ["merged_at", "deployed_at", "seconds", "x"]), "derived"),
    (lambda m: m["deploys"]["rows"][1].__setitem__(m["deploys"]["columns"].index("run_id"), "102"), "repository"),
])
def test_a_table_naming_what_this_version_never_writes_is_refused(damage, says):
    small = _file(_metrics_doc())
    damage(small["metrics"])
    with pytest.raises(CompactError, match=says):
        expand_report(small)


def test_references_and_object_rows_in_a_version_2_file_are_refused():
    small = _file(_metrics_doc())
    small["report_version"] = 2
    for name in ("deploys", "lead_times", "restores"):
        small["metrics"][name].pop("refs", None)
        small["metrics"][name].pop("derived", None)
    with pytest.raises(CompactError, match="version 3"):  # the object rows
        expand_report(small)


# -- passes as verdicts, findings by their row -------------------------------------------------------------


def test_a_verdict_that_says_pass_without_its_finding_keeps_the_list(doc):
    d = copy.deepcopy(doc)
    dropped = next(f for f in d["findings"] if f["status"] == "pass" and f["subject_type"] == "change"
                   and f["rule_id"] in d["changes"][0]["verdicts"])
    d["findings"].remove(dropped)  # the change row still says pass for the rule
    raw = _file(d)
    entry = next(e for e in raw["passed"] if e["rule_id"] == dropped["rule_id"] and e["subject_type"] == "change")
    assert isinstance(entry["subjects"], list)
    assert without_pass_details(expand_report(raw)) == without_pass_details(d)


def test_a_pass_the_verdicts_do_not_say_keeps_the_list(doc):
    d = copy.deepcopy(doc)
    failing = next(f for f in d["findings"] if f["status"] == "fail" and f["subject_type"] == "change")
    extra = {**failing, "status": "pass", "message": "", "evidence": [], "check": failing.get("check")}
    rule = next(r for r in d["rules"] if r["id"] == failing["rule_id"])
    extra.update({k: rule.get(k) for k in ("title", "severity", "runbook_section")})
    extra["remediation"] = rule.get("remediation")
    d["findings"].append(extra)  # a pass on a change whose verdict for the rule is fail
    raw = _file(d)
    row = raw["changes"].index(next(r for r in raw["changes"] if r[0] == next(
        c["sha"] for c in d["changes"] if c["short"] == failing["subject"])))
    assert any(isinstance(e["subjects"], list) and row in e["subjects"] for e in raw["passed"])
    assert without_pass_details(expand_report(raw)) == without_pass_details(d)


def test_passes_as_verdicts_in_a_version_2_file_are_refused(doc):
    raw = _file(doc, 2)
    next(e for e in raw["passed"] if e["subject_type"] == "change")["subjects"] = "verdicts"
    with pytest.raises(CompactError, match="subjects 'verdicts' are not a list"):
        expand_report(raw)


@pytest.mark.parametrize(("damage", "says"), [
    (lambda r: next(e for e in r["passed"] if e["subjects"] == "verdicts").__setitem__("subject_type", "file"),
     "not changes' verdicts"),
    (lambda r: next(f for f in r["findings"] if isinstance(f["message"], int)).__setitem__("message", 10 ** 6),
     "no string"),
    (lambda r: next(f for f in r["findings"] if isinstance(f["message"], int)).__setitem__("message", True),
     "no string"),
    (lambda r: next(f for f in r["findings"] if isinstance(f["subject"], int)).__setitem__("subject", 10 ** 6),
     "no change row"),
    (lambda r: next(f for f in r["findings"] if isinstance(f["subject"], int)).__setitem__("subject", [1, 0]),
     "a task is text"),
])
def test_passes_and_findings_naming_what_is_not_there_are_refused(doc, damage, says):
    raw = _file(doc)
    damage(raw)
    with pytest.raises(CompactError, match=says):
        expand_report(raw)


def test_a_message_template_names_only_the_changes_values(doc):
    raw = _file(doc)
    f = next(f for f in raw["findings"] if isinstance(f["message"], int))
    for text in ("{sha.__class__}", "{short!r}", "{subject:>99999}", "{0}", "{}"):
        r = copy.deepcopy(raw)
        r["strings"].append(text)
        next(g for g in r["findings"] if g == f)["message"] = len(r["strings"]) - 1
        with pytest.raises(CompactError, match="names"):
            expand_report(r)


# -- stage arguments -------------------------------------------------------------------------------------


def test_stage_arguments_in_a_version_2_file_are_refused(doc):
    raw = _file(doc, 2)
    raw["stages"][0].insert(6, ["2026-01-01T00:00:00Z"])
    with pytest.raises(CompactError, match="fields and what lies beside them|arguments"):
        expand_report(raw)


def _stage_with_args(raw):
    i = next(i for i, s in enumerate(raw["stages"]) if len(s) > 6 and isinstance(s[6], list))
    return i, raw["stages"][i]


@pytest.mark.parametrize(("edit", "says"), [
    (lambda r, s: r["strings"].__setitem__(s[3], "{9}"), "names"),  # an argument the stage does not have
    (lambda r, s: r["strings"].__setitem__(s[3], "{00}"), "names"),
    (lambda r, s: r["strings"].__setitem__(s[3], "{}"), "names"),
    (lambda r, s: r["strings"].__setitem__(s[3], "{0.__class__}"), "names"),
    (lambda r, s: r["strings"].__setitem__(s[3], "{0:>99999}"), "names"),
    (lambda r, s: s.__setitem__(6, []), "arguments"),
    (lambda r, s: s.__setitem__(6, [True]), "arguments"),
    (lambda r, s: s.__setitem__(6, [{"a": 1}]), "arguments"),
    (lambda r, s: s.insert(6, ["x"]), "fields and what lies beside them"),  # two argument lists
])
def test_stage_arguments_are_only_what_the_writer_writes(doc, edit, says):
    raw = _file(doc)
    _, stage = _stage_with_args(raw)
    edit(raw, stage)
    with pytest.raises(CompactError, match=says):
        expand_report(raw)


_TOKENS = st.sampled_from(["13000055433", "#1007", "2026-01-02T03:04:05Z", "0123", "deadbeef12", "{", "}", "{0}",
                           "{{1}}", " ", "run ", "for ", "(push, success)", "{short}", "{sha}", "é", "#"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.lists(_TOKENS, max_size=8), min_size=2, max_size=6), own=st.lists(st.booleans(), max_size=6))
def test_stages_shaped_alike_read_back_exactly(doc, parts, own):
    """Stages that look like the ones before them (the writer tries the last templates of a stage's name)
    or hold their change's SHA read back as they are, every one."""
    d = copy_json(doc)
    for i, (change, words) in enumerate(zip(d["changes"], parts, strict=False)):
        text = "".join(words)
        for stage in change["timeline"]:
            mine = own[i] if i < len(own) else False
            stage["label"] = text + (f" for {change['short']}" if mine else "")
            stage["time"] = "2026-01-02T03:04:05Z" if stage["time"] is None else stage["time"]
            stage["detail"] = words[0] if words else ""
    assert expand_report(_file(d))["changes"] == d["changes"]


def test_one_stage_shared_by_changes_that_each_name_it_differently(doc):
    """The same stage content, once naming nothing of its change and once its own SHA: the writer's cache of
    stages that name nothing must not serve the one that does."""
    d = copy.deepcopy(doc)
    a, b = d["changes"][0], d["changes"][1]
    shared = {"stage": "workflow_run", "state": "ok", "time": "2026-01-02T03:04:05Z",
              "label": f"run 13000055433 #1007 (push, success) for {b['short']}",
              "url": "https://github.com/NX-2021-L/enceladus/actions/runs/13000055433", "detail": "covered"}
    a["timeline"] = [dict(shared)]
    b["timeline"] = [dict(shared)]
    raw = _file(d)
    assert expand_report(raw)["changes"][:2] == [a, b]
    col = raw["change_columns"].index("timeline")
    assert raw["changes"][0][col] != raw["changes"][1][col]  # for b the label is its own commit: {short}


def test_findings_by_row_in_a_version_2_file_are_refused(doc):
    v3 = _file(doc)
    raw = _file(doc, 2)
    f = next(f for f in v3["findings"] if isinstance(f["subject"], int))
    g = next(g for g in raw["findings"] if g["rule_id"] == f["rule_id"] and g["subject_type"] == f["subject_type"])
    g["subject"] = f["subject"]  # what version 3 writes, in a file that says version 2
    with pytest.raises(CompactError, match="version 3, not 2"):
        expand_report(raw)
