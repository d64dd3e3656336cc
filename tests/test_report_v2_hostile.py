"""report.json version 2 read back from a hostile file: nothing it holds may read as another value than the
one it names, and nothing it holds may make the reader obey it (``str.format`` fields, Python's negative
indexes) or drop its tables unread. And the round trip holds for strings chosen to confuse the templates.

The demo system's real report is written, then edited the way someone editing a file by hand (or another
tool) would; every edit is a clear ``CompactError`` (``--previous`` and ``merge``: exit 2), never a
different verdict, chain or a traceback.
"""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance.base.errors import InputError
from compliance.model.snapshot import canonical_json
from compliance.report.compact import compact_report
from compliance.report.diff import load_previous
from compliance.report.expand import CompactError, expand_report
from compliance.report.merge import load_report
from tests.jsoncopy import copy_json


@pytest.fixture(scope="module")
def doc(demo_doc):
    return demo_doc


@pytest.fixture(scope="module")
def raw(doc):
    return json.loads(canonical_json(compact_report(doc), allow_nan=False))


def _col(raw, name):
    return raw["change_columns"].index(name)


def _with_stage_string(raw, text):
    """Change row 0's chain made one stage whose name is the string ``text``."""
    r = copy.deepcopy(raw)
    r["strings"].append(text)
    r["stages"].append([len(r["strings"]) - 1] + [None] * (len(r["stage_fields"]) - 1))
    r["changes"][0][_col(r, "timeline")] = [len(r["stages"]) - 1]
    return r


def _set(raw, row, name, value):
    r = copy.deepcopy(raw)
    r["changes"][row][_col(r, name)] = value
    return r


@pytest.mark.parametrize("text", [
    "{sha.__class__.__mro__}",  # attribute access: reads Python internals, not the change
    "{sha[0]}",  # an index into the value
    "{sha!r}",  # a conversion
    "{subject:>400000000}",  # a format spec: a 400 MB string from a 20-byte template
    "{sha:>99999999999}",  # MemoryError, a traceback
])
def test_a_template_is_only_the_fields_the_writer_writes(raw, text):
    with pytest.raises(CompactError, match="not one of the change's values"):
        expand_report(_with_stage_string(raw, text))


def test_the_fields_the_writer_writes_still_read(raw, doc):
    back = expand_report(_with_stage_string(raw, "{short} #{pr} {{sha}}"))
    change = doc["changes"][0]
    pr = "" if change.get("pr") is None else str(change["pr"])
    assert back["changes"][0]["timeline"][0]["stage"] == f"{change['short']} #{pr} {{sha}}"


@pytest.mark.parametrize("column", ["kind", "author"])
@pytest.mark.parametrize("index", [-1, True, 1.0])
def test_a_string_index_python_would_read_as_another_entry_is_refused(raw, column, index):
    with pytest.raises(CompactError, match="no string"):
        expand_report(_set(raw, 0, column, index))


def test_a_negative_stage_or_file_index_is_refused(raw):
    with pytest.raises(CompactError, match="no stage -1"):
        expand_report(_set(raw, 0, "timeline", [-1]))
    with pytest.raises(CompactError, match="no string -1"):
        expand_report(_set(raw, 0, "files_in_scope", [-1]))


@pytest.mark.parametrize("name, value", [
    ("sha", "0" * 40),  # the row's SHA replaced by one beside it
    ("verdicts", "all-pass"),  # verdicts beside the row while the row has its codes
    ("kind", "push"),
    ("files_in_scope", []),
])
def test_beside_the_row_never_overrides_the_row(raw, name, value):
    extra_value = {r: "pass" for r in raw["change_rules"]} if value == "all-pass" else value
    with pytest.raises(CompactError, match=f"gives {name} both in its row and beside it"):
        expand_report(_set(raw, 0, "extra", {name: extra_value}))


def test_verdicts_beside_an_emptied_row_still_read(raw, doc):
    r = _set(_set(raw, 0, "verdicts", ""), 0, "extra", {"verdicts": {"X-1": "odd"}})
    assert expand_report(r)["changes"][0]["verdicts"] == {"X-1": "odd"}


def test_a_stage_field_beside_the_stage_never_overrides_it(raw):
    r = copy.deepcopy(raw)
    r["stages"][0] = r["stages"][0] + [{"stage": "FORGED"}]
    with pytest.raises(CompactError, match="both in the stage and beside it"):
        expand_report(r)
    r["stages"][0] = r["stages"][0][:-1] + [{"absent": "stage"}]
    with pytest.raises(CompactError, match="absent"):
        expand_report(r)


@pytest.mark.parametrize("codes", [
    lambda c: {**c, "fail": c["pass"]},  # two statuses, one code: a 'p' reads as either
    lambda c: {**c, "pass": "-"},  # the not-judged mark
    lambda c: {**c, "pass": "pp"},
    lambda c: {**c, "pass": 1},
])
def test_status_codes_are_one_distinct_character_each(raw, codes):
    r = copy.deepcopy(raw)
    r["status_codes"] = codes(r["status_codes"])
    with pytest.raises(CompactError, match="status_codes"):
        expand_report(r)


@pytest.mark.parametrize("version", [1, "2", 4, None, True])
def test_a_compact_file_claiming_another_version_is_refused_not_read_without_its_tables(raw, version, tmp_path):
    r = copy.deepcopy(raw)
    r["report_version"] = version
    with pytest.raises(CompactError, match="holds the compact tables"):
        expand_report(r)
    path = tmp_path / "report.json"
    path.write_text(json.dumps(r), encoding="utf-8")
    with pytest.raises(InputError, match="cannot read previous report"):
        load_previous(path)


_HOSTILE = st.lists(st.sampled_from(list("{}#:!.[]0 \u202e\u0430é\U0001f600\\\"'")
                                    + ["{sha}", "{short}", "{pr}", "{subject}", "{task}", "{repo}", "{committed_at}",
                                       "{{", "}}", "{0}", "{sha:>9}", "NX-2021-L", "#1"]),
                    max_size=12).map("".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(subject=_HOSTILE, label=_HOSTILE, detail=_HOSTILE)
def test_hostile_strings_read_back_exactly(doc, subject, label, detail):
    d = copy_json(doc)
    change = d["changes"][0]
    change["subject"] = subject
    for stage in change["timeline"]:
        stage["label"] = f"{label} {change['short']} {subject}"
        stage["detail"] = detail + change["sha"]
    failing = next(f for f in d["findings"] if f["status"] != "pass")
    failing["message"] = subject + label
    failing["evidence"] = [*failing.get("evidence", []), {"kind": "note", "label": "{sha}" + detail}]
    back = expand_report(json.loads(canonical_json(compact_report(d), allow_nan=False)))
    assert back["changes"] == d["changes"]
    assert [f for f in back["findings"] if f["status"] != "pass"] == \
        sorted([f for f in d["findings"] if f["status"] != "pass"], key=lambda f: tuple(
            str(f.get(k, "")) for k in ("rule_id", "target", "subject_type", "subject", "check", "status", "message")))


def _merged(raw, tmp_path):
    path = tmp_path / "report.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    return load_report(path)


def test_a_summary_that_is_not_what_the_tables_hold_is_refused_by_merge(raw, tmp_path):
    """``merge`` counts the findings, a reader of the file reads its summary: one file, two verdicts."""
    assert _merged(raw, tmp_path)["findings"]  # the file as written merges
    r = copy.deepcopy(raw)
    failing = next(f for f in r["findings"] if f["status"] == "fail")
    failing["status"] = "pass"  # the failure turned into a pass; the summary still says fail
    # (the control view names that finding by its index, so it now lists a "pass" as failing: refused either way)
    with pytest.raises(InputError, match="its summary says|failing/0: .*'status': 'pass'"):
        _merged(r, tmp_path)
    r = copy.deepcopy(raw)
    listed = next(e for e in r["passed"] if isinstance(e["subjects"], list))
    listed["subjects"].append(listed["subjects"][0])  # one pass more than the summary counts
    with pytest.raises(InputError, match="its summary says"):
        _merged(r, tmp_path)
    r = copy.deepcopy(raw)
    r["summary"] = {**r["summary"], "verdict": "pass", "exit_code": 0}
    with pytest.raises(InputError, match="its summary says"):
        _merged(r, tmp_path)
    v1 = json.loads(canonical_json({**expand_report(copy.deepcopy(raw)), "summary": r["summary"]}))
    with pytest.raises(InputError, match="its summary says"):  # version 1 alike
        _merged(v1, tmp_path)


def test_rule_counts_that_are_not_what_the_tables_hold_are_refused_by_merge(raw, tmp_path):
    r = copy.deepcopy(raw)
    rule = next(x for x in r["rules"] if x["counts"].get("fail"))
    rule["counts"] = {**rule["counts"], "fail": 0, "pass": rule["counts"]["pass"] + rule["counts"]["fail"]}
    with pytest.raises(InputError, match=f"rule '{rule['id']}' counts"):
        _merged(r, tmp_path)
