"""report.json version 2: what it keeps, that it reads back as judged, and that readers of both versions agree.

The demo system's real findings and chains are written and read back; then the document is made
awkward on purpose (values the templates use inside other text, braces, a status or a stage key the
format does not know, a change whose short SHA is not its SHA's head, evidence that only looks like
the change's commit) to show that nothing is left out or templated unless it reads back the same.
"""

from __future__ import annotations

import copy
import json

import pytest

from compliance.model.snapshot import canonical_json, load_schema, schema_problems
from compliance.report.compact import compact_report
from compliance.report.expand import CompactError, expand_report
from tests.reportfile import without_pass_details


def _written(doc):
    """What a reader gets from the report.json of ``doc``: compacted, serialised, parsed, expanded."""
    text = canonical_json(compact_report(doc), allow_nan=False)
    return json.loads(text), expand_report(json.loads(text))


def test_the_demo_reads_back_as_judged_but_for_passing_details(demo_doc):
    raw, back = _written(demo_doc)
    assert raw["report_version"] == 3 and back["report_version"] == 1
    assert schema_problems(raw, load_schema("report"), "report.json") == []
    assert schema_problems(back, load_schema("report"), "report.json") == []
    assert back["changes"] == demo_doc["changes"]  # every chain, stage for stage
    assert without_pass_details(back) == without_pass_details(demo_doc)
    failing = [f for f in demo_doc["findings"] if f["status"] != "pass"]
    assert failing and all(f in back["findings"] for f in failing)  # full evidence, message, remediation
    assert all(f["status"] != "pass" for f in raw["findings"])
    assert sum(f["status"] == "pass" for f in back["findings"]) == demo_doc["summary"]["pass"]
    assert any(e["subjects"] == "verdicts" for e in raw["passed"])  # the change rows' verdicts say which passed


def test_every_change_answers_its_verdict_per_rule_and_its_chain(demo_doc):
    raw, _ = _written(demo_doc)
    cols = raw["change_columns"]
    for row, change in zip(raw["changes"], demo_doc["changes"], strict=True):
        entry = dict(zip(cols, row, strict=True))
        codes = {r: c for r, c in zip(raw["change_rules"], entry["verdicts"], strict=True) if c != "-"}
        assert codes == {r: raw["status_codes"][s] for r, s in change["verdicts"].items()}
        stages = [raw["stages"][i] for i in entry["timeline"]]
        assert [raw["strings"][s[0]] for s in stages] == [st["stage"] for st in change["timeline"]]
        assert [raw["strings"][s[1]] for s in stages] == [st["state"] for st in change["timeline"]]


def test_a_tenth_of_the_size_of_every_finding_written_whole(demo_doc):
    v1 = canonical_json(demo_doc, allow_nan=False)
    v2 = canonical_json(compact_report(demo_doc), allow_nan=False)
    assert len(v2) < len(v1) / 2  # the demo is small; at 10,000 commits it is a tenth (BENCHMARKS.md)


def test_awkward_values_read_back_exactly(demo_doc):
    doc = copy.deepcopy(demo_doc)
    change = doc["changes"][0]
    sha, short = change["sha"], change["short"]
    change["timeline"][0]["label"] = f"{{braces}} {{sha}} {short}{{ and }} #{change.get('pr')} {sha}"
    change["timeline"][1]["detail"] = "{short}"  # a literal placeholder name
    change["timeline"][1]["label"] = change["subject"] + " and more"
    change["timeline"][2]["url"] = None
    del change["timeline"][3]["detail"]
    change["timeline"][3]["note"] = {"from": "another version"}
    change["verdicts"] = {**change["verdicts"], "X-NEW": "some_new_status"}
    change["delivery"] = {"lead_time_s": 3600}  # a key another version adds
    doc["changes"][-1]["short"] = doc["changes"][-1]["sha"][:8]
    doc["changes"][-1]["author"] = None
    doc["extra_section"] = {"kept": True}
    _, back = _written(doc)
    assert back["changes"] == doc["changes"]
    assert back["extra_section"] == {"kept": True}


def test_evidence_and_remediation_only_derived_when_identical(demo_doc):
    doc = copy.deepcopy(demo_doc)
    failing = next(f for f in doc["findings"] if f["status"] == "fail" and f["subject_type"] == "change")
    commit = next(e for e in failing["evidence"] if e["kind"] == "commit")
    commit["label"] += " (edited)"  # looks like the change's commit evidence, is not
    failing["remediation"] = {"text": "a remediation of its own", "command": "true"}
    failing["title"] = "a title of its own"
    raw, back = _written(doc)
    kept = next(f for f in raw["findings"] if f.get("title") == "a title of its own")
    assert commit in kept["evidence"] and kept["remediation"] == failing["remediation"]
    assert kept["title"] == "a title of its own"
    assert failing in back["findings"]


def test_a_pass_with_anything_of_its_own_stays_whole(demo_doc):
    doc = copy.deepcopy(demo_doc)
    passing = next(f for f in doc["findings"] if f["status"] == "pass")
    passing["location"] = {"path": "README.md", "line": 3}
    raw, back = _written(doc)
    assert any(f.get("location") == passing["location"] and f["status"] == "pass" for f in raw["findings"])
    assert passing in back["findings"]


def test_same_document_same_bytes(demo_doc):
    assert canonical_json(compact_report(demo_doc)) == canonical_json(compact_report(copy.deepcopy(demo_doc)))


@pytest.mark.parametrize("damage", [
    lambda raw: raw["changes"][0].__setitem__(8, raw["changes"][0][8] + "p"),  # a verdict too many
    lambda raw: raw["changes"][0][9].append(10 ** 6),  # a stage that is not there
    lambda raw: next(e for e in raw["passed"] if isinstance(e["subjects"], list))["subjects"].append(10 ** 6),
    lambda raw: raw.__delitem__("strings"),
    lambda raw: raw["passed"][0].__setitem__("rule_id", "NOT-A-RULE"),
])
def test_damaged_tables_are_refused_not_misread(demo_doc, damage):
    raw, _ = _written(demo_doc)
    damage(raw)
    with pytest.raises(CompactError):
        expand_report(raw)


def test_the_schema_tells_the_versions_apart(demo_doc):
    raw, back = _written(demo_doc)
    schema = load_schema("report")
    assert schema_problems({**back, "strings": []}, schema, "r.json")  # version 1 holds no tables
    v2_with_v1_changes = {**raw, "changes": demo_doc["changes"]}
    assert schema_problems(v2_with_v1_changes, schema, "r.json")
    assert schema_problems({k: v for k, v in raw.items() if k != "passed"}, schema, "r.json")


def test_a_version_1_file_is_read_as_it_is(demo_doc):
    v1 = json.loads(canonical_json(demo_doc))
    assert expand_report(v1) == v1


def test_controls_and_metrics_are_written_once_and_read_back_as_judged(tmp_path):
    """A control's failing subjects are indexes into findings and the metrics' events are tables in version 2;
    reading the file gives back exactly the document's controls and metrics."""
    doc = {"report_version": 1, "rules": [], "findings": [
        {"rule_id": "R-1", "check": "k", "title": "t", "severity": "low", "runbook_section": "s", "subject_type": "file",
         "subject": "a.yml", "status": "fail", "message": "m", "evidence": [], "remediation": {}}],
        "changes": [],
        "controls": [{"control": "SOC2:CC8.1", "failing": [
            {"rule_id": "R-1", "status": "fail", "subject": "a.yml", "subject_type": "file"},
            {"rule_id": "R-9", "status": "error", "subject": "gone", "subject_type": "file"}]}],
        "metrics": {"deploys": [{"run_id": 1, "sha": "a" * 40}, {"run_id": 2, "sha": "b" * 40}],
                    "lead_times": [], "restores": [{"seconds": 1}, {"seconds": 2, "extra": True}]}}
    small = compact_report(doc)
    assert small["controls"][0]["failing"] == [0, {"rule_id": "R-9", "status": "error", "subject": "gone",
                                                   "subject_type": "file"}]  # not a finding of the file: kept
    assert small["metrics"]["deploys"] == {"columns": ["run_id", "sha"], "rows": [[1, "a" * 40], [2, "b" * 40]],
                                           "refs": {"sha": "changes.sha"}}  # no change holds the SHAs: as they are
    assert small["metrics"]["restores"] == doc["metrics"]["restores"]  # not one shape: kept as a list
    back = expand_report(json.loads(json.dumps(small)))
    assert back["controls"] == doc["controls"] and back["metrics"] == doc["metrics"]
    for wrong, says in ((5, "failing entry names finding 5"), (-1, "names finding -1"), (True, "true or false")):
        small["controls"][0]["failing"][0] = wrong
        with pytest.raises(CompactError, match=says):
            expand_report(json.loads(json.dumps(small)))
    small["controls"][0]["failing"][0] = 0
    small["metrics"]["deploys"]["rows"][0] = "ab"  # a string zips like a row of two
    with pytest.raises(CompactError, match="a row is a list or an object"):
        expand_report(json.loads(json.dumps(small)))
