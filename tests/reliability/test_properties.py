"""Property-based tests: the parsers never crash with anything but our own errors, and nothing missing
ever reads as a pass.

Our own errors are ``ComplianceError`` (``InputError`` included) and, for the glob compiler whose
callers place the message themselves, ``GlobError``. Anything else escaping is a crash the CLI would
print as a traceback.
"""

from __future__ import annotations

import copy
import json
import os
import re
import tempfile

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance.base.errors import ComplianceError, InputError
from compliance.base.globs import GlobError, compile_glob, example_path, filter_match, glob_match
from compliance.base.ids import DEFAULT_PATTERN, compile_pattern, find_task_ids
from compliance.inputs.yamlpos import loads_yaml
from compliance.sources.registry import NAMES
from tests.demo_snapshot import one_change
from tests.hypothesis_budget import examples
from tests.jsoncopy import copy_json
from tests.reliability.docpaths import doc_paths

FAST = settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=examples(60), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10**12) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12)

# --------------------------------------------------------------------------- YAML and the rule loader

YAML_BITS = ["version: 1\n", "rules:\n", "  - id: X-1\n", "    kind: field\n", "&a ", "*a ", "<<: ", "!!python/object ",
             "{", "}", "[", "]", ": ", "- ", "'", '"', "\t", "\n  ", "? ", "|\n", ">-\n", "%YAML 1.1\n", "---\n",
             "...\n", "2026-02-30", "0x1F", ".nan", "~", "\ufeff", "\x00", "\x85", "\u2028", "#", "@", "`"]


@FAST
@given(st.lists(st.sampled_from(YAML_BITS) | st.text(max_size=8), max_size=30).map("".join))
def test_loads_yaml_raises_only_input_error(text):
    try:
        data, pos = loads_yaml(text, "rules.yaml")
    except InputError as exc:
        assert exc.problems and all(p.path == "rules.yaml" and p.line >= 1 and p.col >= 1 for p in exc.problems)
    else:
        json.dumps(data)  # plain data only: no dates, sets or Python objects
        assert pos.value(()) >= (1, 1)


VALID_RULE = {"id": "T-001", "title": "t", "severity": "high", "rationale": "r", "runbook_section": "S",
              "scope": {"include": ["backend/**"], "exclude": ["**/x.json"]},
              "effective": {"from": "2026-01-01"},
              "checks": [{"kind": "tracker_ref", "pattern": "ENC-[0-9]+"}],
              "remediation": {"text": "fix", "command": "run {sha}"}}
PATHS = [("id",), ("title",), ("severity",), ("scope",), ("scope", "include"), ("scope", "include", 0),
         ("scope", "exclude"), ("effective",), ("effective", "from"), ("checks",), ("checks", 0),
         ("checks", 0, "kind"), ("checks", 0, "pattern"), ("remediation",), ("remediation", "text")]


def _mutate(doc, path, how, value):
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    if how == "delete":
        del parent[key]
    elif how == "null":
        parent[key] = None
    else:
        parent[key] = value


@SLOW
@given(st.lists(st.tuples(st.sampled_from(PATHS), st.sampled_from(["delete", "null", "set"]),
                          json_values | st.sampled_from(["[z-a]", "(", "**/[", "!x", "", "a?", "2026-13-01"])),
                max_size=4),
       st.integers(1, 3))
def test_rule_loader_raises_only_our_errors(mutations, copies):
    from compliance.inputs.rules import load_rules

    rule = copy.deepcopy(VALID_RULE)
    for path, how, value in mutations:
        try:
            _mutate(rule, path, how, value)
        except (KeyError, IndexError, TypeError):
            continue  # an ancestor is already gone or not a container
    doc = {"version": 1, "rules": [rule] * copies}
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "rules.yaml")
        with open(path, "w", encoding="utf-8") as fh:
            yaml.safe_dump(doc, fh, allow_unicode=True)
        try:
            ruleset = load_rules([path])
        except InputError as exc:
            assert all(p.path == path for p in exc.problems)
            return
        except ComplianceError:
            return
    assert copies == 1  # the same id twice can never load
    assert [r.id for r in ruleset.rules] == [rule["id"]]


# --------------------------------------------------------------------------- globs

GLOB_BITS = ["*", "**", "**/", "?", "+", "[", "]", "[!", "a-z", "z-a", "\\", "!", "/", ".", "a", "b", "x.py", "-", "^"]


@FAST
@given(st.lists(st.sampled_from(GLOB_BITS) | st.text(max_size=3), max_size=10).map("".join),
       st.text(alphabet="ab/.xyz-*?[]\\", max_size=20))
def test_glob_raises_only_glob_error(pattern, path):
    try:
        rx = compile_glob(pattern)
    except GlobError:
        return
    assert isinstance(glob_match(pattern, path), bool)
    assert rx.pattern.endswith(r"\Z")


@FAST
@given(st.text(alphabet="abcxyz_.-/", min_size=1, max_size=30))
def test_a_plain_pattern_matches_exactly_itself(name):
    assert glob_match(name, name)
    assert not glob_match(name, name + "x") and not glob_match(name, "x" + name)


@FAST
@given(st.lists(st.sampled_from(["src", "a", "b.py", "*", "**", "**/", "*.py", "[ab]", "x?", "y+"]), min_size=1,
                max_size=5).map(lambda parts: "/".join(parts).replace("//", "/")))
def test_example_path_is_matched_by_its_pattern(pattern):
    try:
        compile_glob(pattern)
    except GlobError:
        return
    assert glob_match(pattern, example_path(pattern)), (pattern, example_path(pattern))


@FAST
@given(st.lists(st.sampled_from(["backend/**", "!backend/x/**", "**/*.md", "!**/README.md", "docs/**"]),
                max_size=5), st.sampled_from(["backend/a.py", "backend/x/y.py", "docs/README.md", "docs/a.md", "z"]))
def test_filter_list_last_match_wins(patterns, path):
    expected = False
    for pat in patterns:
        if pat.startswith("!"):
            expected = expected and not glob_match(pat[1:], path)
        else:
            expected = expected or glob_match(pat, path)
    assert filter_match(patterns, path) == expected


# --------------------------------------------------------------------------- tracker ids

ID_BITS = ["ENC-TSK-325", "enc-tsk-b10-0a", "ENC-TSK-1005", "ENC-ISS-640", "ABCDEFG-TSK-123", "ENC-TSK-12345",
           "ENC-FTR-F65", "agent/enc-tsk-734-ui", "_", "-", " ", "\n", "K", "\u212a", "ENC-XYZ-123", "ı"]
_FULL = re.compile(DEFAULT_PATTERN.replace("(?<![0-9a-z])", "^").replace("(?![0-9a-z])", "$"))


@FAST
@given(st.lists(st.sampled_from(ID_BITS) | st.text(max_size=5), max_size=12).map("".join))
def test_ids_are_well_formed_and_stable(text):
    ids = find_task_ids(text, None, "")
    assert len(ids) == len(set(ids))
    for task_id in ids:
        assert task_id == task_id.upper() and task_id.isascii() and _FULL.match(task_id), task_id
    assert find_task_ids(" ".join(ids)) == ids  # reading the ids back gives the same ids


@FAST
@given(st.text(max_size=20))
def test_custom_id_pattern_raises_only_compliance_error(pattern):
    try:
        compile_pattern(pattern)
    except ComplianceError as exc:
        assert "invalid task id pattern" in str(exc)
        return
    find_task_ids("ENC-TSK-325 text", pattern=pattern)


# --------------------------------------------------------------------------- snapshots

@FAST
@given(st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_load_snapshot_raises_only_our_errors(raw):
    from compliance.model.snapshot import load_snapshot

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "snapshot.json")
        with open(path, "wb") as fh:
            fh.write(raw)
        try:
            load_snapshot(path)
        except InputError as exc:
            assert all(p.path == path for p in exc.problems)
        else:
            pytest.fail("random bytes were accepted as a snapshot")


# --------------------------------------------------------------------------- nothing missing reads as pass

def _needs(rule) -> set[str]:
    from compliance.judge.registry import all_kinds

    kinds = all_kinds()
    out: set[str] = set()
    for spec in rule.checks:
        out.update(kinds[spec.kind].reads_for(spec.params))
    return out


SOURCES = list(NAMES)


@SLOW
@given(st.dictionaries(st.sampled_from(SOURCES), st.sampled_from(["error", "absent"]), min_size=1))
def test_a_failed_or_missing_source_never_passes_its_rules(demo, broken):
    from compliance.judge.engine import evaluate
    from compliance.model.snapshot import validate_snapshot

    base, rules = demo
    snap = copy_json(base)
    for name, how in broken.items():
        if how == "absent":
            snap["sources"].pop(name, None)
        else:
            snap["sources"][name] = {**snap["sources"][name], "status": "error", "data": None,
                                     "error": {"type": "AccessDenied", "message": "denied"}}
    validate_snapshot(snap)
    for f in evaluate(snap, rules):
        rule = next(r for r in rules if r.id == f.rule_id)
        if _needs(rule) & set(broken):
            assert f.status in ("error", "not_applicable"), (f.rule_id, f.subject, f.status, f.message)


def _paths(node):
    return doc_paths(node, items=3)


@SLOW
@given(st.data())
def test_damaged_source_data_is_refused_or_judged_without_a_crash(demo, data):
    """Delete, null or retype any value of any source: the snapshot is refused by its schema, or the
    engine judges it without an internal error; either way the CLI never sees a crash."""
    from compliance.judge.engine import evaluate
    from compliance.model.snapshot import validate_snapshot

    base, rules = demo
    snap = copy_json(base)
    for _ in range(data.draw(st.integers(1, 3))):
        name = data.draw(st.sampled_from([n for n in SOURCES if snap["sources"].get(n, {}).get("data")]))
        paths = [p for p in _paths(snap["sources"][name]["data"]) if p]
        path = data.draw(st.sampled_from(paths))
        how = data.draw(st.sampled_from(["delete", "null", "set"]))
        _mutate(snap["sources"][name]["data"], path, how, data.draw(json_values))
    try:
        validate_snapshot(snap)
    except InputError:
        return  # refused: nothing is evaluated, so nothing passes
    findings = evaluate(snap, rules)
    crashed = [(f.rule_id, f.message) for f in findings if "internal error in check" in f.message]
    assert not crashed, crashed


@pytest.fixture(scope="module")
def lambda_state_demo(demo):
    """The demo cut to one change (tests/demo_snapshot.one_change) and its rule APIMCP-003, which reads
    the ``lambda`` source alone; the cut keeps that source whole.

    Each example validates the snapshot (a refused one is walked whole by jsonschema, to explain it) and
    judges it: the 30 commits and 15 runs the rule never reads made that three times longer."""
    base, rules = demo
    rule = [r for r in rules if r.id == "APIMCP-003"]
    assert len(rule) == 1 and _needs(rule[0]) == {"lambda"}
    from compliance.judge.engine import evaluate

    cut = one_change(base)
    assert cut["sources"]["lambda"] == base["sources"]["lambda"]
    healthy = copy_json(cut)
    healthy["sources"]["lambda"]["data"]["configuration"].update(State="Active", LastUpdateStatus="Successful")
    assert {f.status for f in evaluate(healthy, rule)} == {"pass"}  # so "never a pass" below is no empty claim
    return cut, rule


@SLOW
@given(st.sampled_from(["State", "LastUpdateStatus"]), st.sampled_from(["delete", "null", "set"]), json_values)
def test_lambda_state_unknown_is_never_a_pass(lambda_state_demo, key, how, value):
    from compliance.judge.engine import evaluate
    from compliance.model.snapshot import validate_snapshot

    base, rules = lambda_state_demo
    snap = copy_json(base)
    config = snap["sources"]["lambda"]["data"]["configuration"]
    config["State"], config["LastUpdateStatus"] = "Active", "Successful"
    if how == "set" and value in ("Active", "Successful"):
        return  # the one value that really means healthy
    _mutate(config, (key,), how, value)
    try:
        validate_snapshot(snap)
    except InputError:
        return
    statuses = {f.status for f in evaluate(snap, rules)}
    assert "pass" not in statuses, statuses
