"""jsonschema-rs (compliance.model.schemacheck) agrees with jsonschema, the authority.

``schema_problems`` trusts a "valid" from jsonschema-rs and never runs jsonschema then, so a
document jsonschema-rs passes but jsonschema rejects would be a bad snapshot read as good. These
tests compare the two verdicts on the demo's real snapshot, on that snapshot mutated at random
places, and on random source data, for every schema we ship; and they hold the schemas' patterns
to what both regex dialects read the same way.
"""

from __future__ import annotations

import copy

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from compliance.model.schemacheck import is_valid, rs_problems
from compliance.model.snapshot import def_schema, load_schema, schema_problems
from tests.hypothesis_budget import examples
from tests.jsoncopy import copy_json
from tests.reliability.docpaths import doc_paths, representatives, shape
from tests.schema_authority import authority

SOURCES = ["git", "github", "lambda", "apigateway", "tracker", "deploy_manager", "probe"]
SETTINGS = settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                               HealthCheck.function_scoped_fixture])
SHA = "0123456789abcdef0123456789abcdef01234567"

odd_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from([0.0, 1.0, -1.5, 2**53, 1e300])
    | st.sampled_from(["", "x", "error", "ok", "pass", "abc123", "2026-03-01T00:00:00Z", "A", "M", "R100",
                       SHA, SHA + "\n", "2026-03-01T00:00:00Z\n", "sha256:" + "0" * 64 + "\n",
                       "\u0662\u0660\u0662\u0666-03-01T00:00:00Z"]),  # Arabic-Indic digits: a Unicode \d
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["a", "status", "data", "path"]),
                                                                inner, max_size=3),
    max_leaves=6)


def _agree(schema, doc, authority_doc=None) -> None:
    """jsonschema-rs's verdict on ``doc`` is jsonschema's. ``authority_doc``: a part of ``doc`` jsonschema's
    verdict on ``doc`` provably rests on alone (``_what_a_mutation_can_change``), judged in its place."""
    fast = is_valid(doc, schema)
    slow = authority(schema).is_valid(doc if authority_doc is None else authority_doc)
    assert fast == slow, f"jsonschema-rs says {fast}, jsonschema says {slow}"


# The keywords of the snapshot schema's root and of its ``sources`` object: each judges one member at a time
# (``properties``, ``additionalProperties``, ``propertyNames``) or only which keys there are (``type``,
# ``required``). No ``minProperties``, ``dependentRequired``, ``dependentSchemas``, ``if``, ``oneOf``...
# reads two members together (test_the_snapshot_schema_judges_each_source_on_its_own holds it to that).
_MEMBER_BY_MEMBER = {"type", "required", "additionalProperties", "properties", "propertyNames"}
_ANNOTATIONS = {"$schema", "$id", "$defs", "title", "description"}


def _what_a_mutation_can_change(doc, where):
    """``doc`` (the cut snapshot damaged at ``where``) with the sources the damage did not touch left out.

    jsonschema's verdict on a snapshot is the conjunction of its keywords, and at the root and at
    ``sources`` each keyword judges one member on its own (``_MEMBER_BY_MEMBER``; ``sources`` has no
    ``required``). A source the mutation did not touch is the cut snapshot's own, which jsonschema judges
    valid (test_the_cut_snapshot_keeps_every_place_and_type_and_is_valid_to_both): leaving it out removes
    a "valid" from the conjunction and nothing else, so jsonschema's verdict on the rest is its verdict on
    the whole. Pure Python, it walked every source in every example (~17 ms); one source costs ~3.
    jsonschema-rs, the validator under test, still judges the whole damaged document."""
    if where == ("sources",) or not isinstance(doc.get("sources"), dict):
        return doc  # the sources object itself was replaced or deleted: nothing in it is the cut's own
    touched = where[1] if where[0] == "sources" else None
    return {**doc, "sources": {k: v for k, v in doc["sources"].items() if k == touched}}


@pytest.fixture(scope="module")
def demo_snapshot(demo):
    """The demo's snapshot (the session's ``demo`` fixture: built and collected once per worker, never
    changed; tests here copy it) and every path into it."""
    snap, _ = demo
    return snap, list(doc_paths(snap))


@pytest.fixture(scope="module")
def cut_snapshot(demo):
    """The demo's snapshot with its lists cut to representatives (docpaths.representatives: the snapshot
    schema judges list items one by one), and every path into it: what the mutation test damages.

    Each example validates the whole document twice, once in pure Python; on the cut one (a third of
    the places) that costs a third, and every place and type of the full snapshot can still be hit."""
    snap, _ = demo
    cut = representatives(snap)
    return cut, list(doc_paths(cut))


def _keywords(schema):
    if isinstance(schema, dict):
        for key, value in schema.items():
            yield key
            yield from _keywords(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _keywords(value)


def test_the_snapshot_schema_judges_list_items_one_by_one():
    """What the cut snapshot rests on: no keyword of the schema reads a list's length or its items together
    (if one is added, the mutation test must damage the full snapshot again)."""
    together = {"minItems", "maxItems", "uniqueItems", "contains", "minContains", "maxContains", "prefixItems",
                "unevaluatedItems"}
    assert together.isdisjoint(_keywords(load_schema("snapshot")))
    assert "items" in set(_keywords(load_schema("snapshot")))


def test_the_snapshot_schema_judges_each_source_on_its_own():
    """What the mutation test's shorter authority check rests on (``_what_a_mutation_can_change``): the root
    and ``sources`` read their members one at a time, and ``sources`` requires none (if a keyword is added
    here, jsonschema must judge the whole damaged snapshot again)."""
    schema = load_schema("snapshot")
    assert set(schema) <= _MEMBER_BY_MEMBER | _ANNOTATIONS
    sources = schema["properties"]["sources"]
    assert set(sources) <= _MEMBER_BY_MEMBER - {"required"}
    assert "sources" in schema["required"] and schema["type"] == sources["type"] == "object"


def test_the_cut_snapshot_keeps_every_place_and_type_and_is_valid_to_both(demo_snapshot, cut_snapshot):
    (snap, paths), (cut, cut_paths) = demo_snapshot, cut_snapshot
    assert shape(cut) == shape(snap)
    assert len(cut_paths) < len(paths) / 2
    _agree(load_schema("snapshot"), cut)
    assert schema_problems(cut, load_schema("snapshot"), "s.json") == []
    for name in SOURCES:
        assert is_valid(cut["sources"][name]["data"], def_schema(name))


def test_the_demo_snapshot_is_valid_to_both(demo_snapshot):
    snap, _ = demo_snapshot
    _agree(load_schema("snapshot"), snap)
    assert schema_problems(snap, load_schema("snapshot"), "s.json") == []


@SETTINGS
@given(data=st.data())
def test_a_mutated_snapshot_gets_the_same_verdict(cut_snapshot, data):
    snap, paths = cut_snapshot
    doc = copy_json(snap)
    where = data.draw(st.sampled_from(paths[1:]))
    parent = doc
    for key in where[:-1]:
        parent = parent[key]
    action = data.draw(st.sampled_from(["replace", "delete", "add"]))
    if action == "delete":
        del parent[where[-1]]
    elif action == "add" and isinstance(parent[where[-1]], dict):
        parent[where[-1]][data.draw(st.sampled_from(["extra", "status", "data", "sha"]))] = data.draw(odd_values)
    elif action == "add" and isinstance(parent[where[-1]], list):
        parent[where[-1]].append(data.draw(odd_values))
    else:
        parent[where[-1]] = data.draw(odd_values)
    _agree(load_schema("snapshot"), doc, _what_a_mutation_can_change(doc, where))
    if len(where) > 3 and where[0] == "sources" and where[2] == "data" and where[1] in doc["sources"]:
        _agree(def_schema(where[1]), doc["sources"][where[1]]["data"])


@SETTINGS
@given(st.sampled_from(SOURCES), odd_values)
def test_random_source_data_gets_the_same_verdict(source, value):
    _agree(def_schema(source), value)


def test_a_mutation_is_explained_by_jsonschema(demo_snapshot):
    """jsonschema-rs only decides "valid"; a bad document still gets jsonschema's located message."""
    snap, _ = demo_snapshot
    doc = copy.deepcopy(snap)
    doc["collected_at"] = 5
    problems = schema_problems(doc, load_schema("snapshot"), "s.json")
    assert problems and problems[0].message.startswith("at /collected_at: 5 is not of type 'string'")


def test_what_only_jsonschema_rs_refuses_is_refused_in_its_words():
    """NaN is no JSON number to jsonschema-rs, while jsonschema passes it: the refusal stands, worded."""
    schema = {"type": "object", "properties": {"n": {"type": "number"}}}
    assert Draft202012Validator(schema).is_valid({"n": float("nan")})
    problems = schema_problems({"n": float("nan")}, schema, "s.json")
    assert [p.message for p in problems] == ["at /n: nan is not a JSON number (NaN and Infinity are not allowed)"]
    assert rs_problems({"n": [1]}, {"properties": {"n": {"items": {"type": "string"}}}}) == \
        [(("n", 0), '1 is not of type "string"')]


def test_data_jsonschema_rs_cannot_take_is_left_to_jsonschema():
    from datetime import date

    assert is_valid({1: "a"}, {"type": "object"}) is True  # a non-string key: jsonschema reads it as an object
    assert is_valid(date(2026, 3, 1), {"type": "string"}) is False
    assert is_valid(date(2026, 3, 1), {"not": {"type": "string"}}) is True


@pytest.mark.parametrize("schema, good, bad", [
    ({"type": "integer", "minimum": 0}, [0, 3, 2.0], [-1, True, 1.5, "1", None]),
    ({"enum": [1, "a"]}, [1, 1.0, "a"], [True, "b", [1]]),
    ({"const": False}, [False], [0, None]),
    ({"oneOf": [{"type": "null"}, {"type": "string", "minLength": 2}]}, [None, "ab"], ["a", 1]),
    ({"if": {"properties": {"s": {"const": "e"}}}, "then": {"required": ["m"]}, "else": {"not": {"required": ["m"]}}},
     [{"s": "e", "m": 1}, {"s": "o"}, 3], [{"s": "e"}, {"s": "o", "m": 1}]),
    ({"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False,
      "propertyNames": {"pattern": "^[a-z]$(?!\n)"}}, [{}, {"a": "x"}], [{"b": 1}, {"a": 1}, {"A": "x"}]),
    ({"$defs": {"n": {"type": "array", "items": {"$ref": "#/$defs/n"}}}, "$ref": "#/$defs/n"},
     [[], [[], [[]]]], [[1], [[], ["x"]]]),
    ({"type": ["string", "null"], "pattern": "^v[0-9]"}, ["v1", None, "v2x"], ["x", 1]),
    ({"format": "regex"}, ["(", "x"], []),  # formats are annotations, as jsonschema runs without a checker
])
def test_keywords(schema, good, bad):
    for value in good:
        assert is_valid(value, schema), value
        _agree(schema, value)
    for value in bad:
        assert not is_valid(value, schema), value
        _agree(schema, value)


def test_a_validator_is_compiled_once_per_schema_object():
    schema = {"type": "string"}
    compiled = []
    real = jsonschema_rs.Draft202012Validator

    class Counting(real):  # type: ignore[misc, valid-type]
        def __new__(cls, *args, **kwargs):
            compiled.append(1)
            return real(*args, **kwargs)

    import compliance.model.schemacheck as schemacheck

    mp = pytest.MonkeyPatch()
    mp.setattr(schemacheck.jsonschema_rs, "Draft202012Validator", Counting)
    try:
        assert is_valid("a", schema) and not is_valid(1, schema) and is_valid("b", schema)
        assert is_valid("a", dict(schema))  # an equal but new object: compiled again (it may differ later)
    finally:
        mp.undo()
    assert len(compiled) == 2


def _both(schema, doc) -> tuple[bool, bool]:
    """(jsonschema, jsonschema-rs) verdicts, each validator used directly."""
    return (Draft202012Validator(schema).is_valid(doc),
            jsonschema_rs.Draft202012Validator(schema, validate_formats=False).is_valid(doc))


def _sub(name: str, pointer: str) -> dict:
    schema = load_schema(name)
    return {"$schema": schema["$schema"], "$ref": f"#{pointer}", "$defs": schema["$defs"]}


def test_a_sha_with_a_trailing_newline_is_refused_by_both_validators(demo_snapshot):
    """Python's ``$`` matches before a final newline, ECMA's (jsonschema-rs) does not: the shipped
    patterns end ``$(?!\\n)``, so "<sha>\\n" is refused by both, and a clean SHA passes both."""
    snap, _ = demo_snapshot
    doc = copy.deepcopy(snap)
    assert _both(load_schema("snapshot"), doc) == (True, True)
    doc["sources"]["git"]["data"]["commits"][0]["sha"] = SHA + "\n"
    assert _both(load_schema("snapshot"), doc) == (False, False)
    assert _both(def_schema("git"), doc["sources"]["git"]["data"]) == (False, False)
    for name, pointer in (("report", "/$defs/change/properties/sha"), ("report", "/$defs/change/properties/short")):
        assert _both(_sub(name, pointer), SHA) == (True, True)
        assert _both(_sub(name, pointer), SHA + "\n") == (False, False)
    for name, pointer, good in (("report", "/$defs/digest", "sha256:" + "0" * 64),
                                ("report", "/$defs/time", "2026-03-01T00:00:00Z"),
                                ("snapshot", "/$defs/time", "2026-03-01T00:00:00.5Z")):
        assert _both(_sub(name, pointer), good) == (True, True)
        assert _both(_sub(name, pointer), good + "\n") == (False, False)
        unicode_digits = good.translate(str.maketrans("0123456789", "\u0660\u0661\u0662\u0663\u0664\u0665\u0666"
                                                                      "\u0667\u0668\u0669"))
        assert _both(_sub(name, pointer), unicode_digits) == (False, False)  # [0-9], not Python's Unicode \d


def test_rule_waiver_and_case_patterns_refuse_a_trailing_newline_under_both():
    import glob
    import os

    from compliance.app.rulestest import CASE_SCHEMA
    from compliance.inputs.ruleschema import rule_file_schema
    from compliance.inputs.waivers import WAIVER_SCHEMA
    from compliance.inputs.yamlpos import load_yaml

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    rules, _ = load_yaml(sorted(glob.glob(os.path.join(root, "policies", "*.yaml")))[0])
    assert _both(rule_file_schema(), rules) == (True, True)
    rules["rules"][0]["id"] += "\n"
    assert _both(rule_file_schema(), rules) == (False, False)
    waiver = {"version": 1, "waivers": [{"rule": "T-001", "subject": {"sha": "abc1234\n"}, "owner": "a@example.com",
                                         "reason": "r", "ticket": "T-1", "expires": "2026-04-30"}]}
    assert _both(WAIVER_SCHEMA, waiver) == (False, False)
    waiver["waivers"][0]["subject"]["sha"] = "abc1234"
    assert _both(WAIVER_SCHEMA, waiver) == (True, True)
    case_shas = [p for _, p in _patterns(CASE_SCHEMA) if "{40}" in p]
    assert case_shas
    for pattern in case_shas:
        assert _both({"pattern": pattern}, SHA) == (True, True)
        assert _both({"pattern": pattern}, SHA + "\n") == (False, False)


def _patterns(schema, where=()):
    """Every regular expression in a schema: ``pattern`` values and ``patternProperties`` keys."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "pattern" and isinstance(value, str):
                yield where, value
            elif key == "patternProperties" and isinstance(value, dict):
                yield from (((*where, key), p) for p in value)
            yield from _patterns(value, (*where, key))
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            yield from _patterns(value, (*where, i))


def test_every_pattern_reads_the_same_in_both_regex_dialects():
    """A pattern ending ``$`` must end ``$(?!\\n)``, and none uses a class Python reads as Unicode."""
    from compliance.app.rulestest import CASE_SCHEMA
    from compliance.inputs.config import CONFIG_SCHEMA
    from compliance.inputs.ruleschema import rule_file_schema
    from compliance.inputs.waivers import WAIVER_SCHEMA

    schemas = {"snapshot": load_schema("snapshot"), "report": load_schema("report"), "rules": rule_file_schema(),
               "config": CONFIG_SCHEMA, "waivers": WAIVER_SCHEMA, "case": CASE_SCHEMA}
    found = [(name, where, p) for name, schema in schemas.items() for where, p in _patterns(schema)]
    assert len(found) >= 10
    for name, where, pattern in found:
        assert not pattern.endswith("$"), (name, where, pattern)
        assert not any(c in pattern for c in ("\\d", "\\w", "\\s", "\\b")), (name, where, pattern)
        for probe in ("", "a", "\n"):
            _agree({"type": "string", "pattern": pattern}, probe)
