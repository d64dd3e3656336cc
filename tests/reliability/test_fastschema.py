"""The compiled schema check (compliance.model.fastschema) agrees with jsonschema, the authority.

``schema_problems`` trusts a "valid" from the compiled check and skips jsonschema, so a document the
check passes but jsonschema rejects would be a bad snapshot read as good. These tests compare the
two verdicts on the demo's real snapshot, on that snapshot mutated at random places, and on random
source data, for every schema we ship.
"""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from compliance.model.fastschema import Unsupported, compile_schema
from compliance.model.snapshot import def_schema, load_schema, schema_problems
from tests.reliability.docpaths import doc_paths

SOURCES = ["git", "github", "lambda", "apigateway", "tracker", "deploy_manager", "probe"]
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                               HealthCheck.function_scoped_fixture])

odd_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from([0.0, 1.0, -1.5, 2**53, 1e300])
    | st.sampled_from(["", "x", "error", "ok", "pass", "abc123", "2026-03-01T00:00:00Z", "A", "M", "R100"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["a", "status", "data", "path"]),
                                                                inner, max_size=3),
    max_leaves=6)


def _agree(schema, doc) -> None:
    fast = compile_schema(schema)(doc)
    slow = Draft202012Validator(schema).is_valid(doc)
    assert fast == slow, f"compiled check says {fast}, jsonschema says {slow}"


@pytest.fixture(scope="module")
def demo_snapshot(tmp_path_factory):
    from compliance.app.collect import collect
    from compliance.base.timeutil import parse_bound
    from compliance.demo import DEMO_SINCE, DEMO_UNTIL, build_demo
    from compliance.inputs.config import load_config
    from compliance.inputs.rules import load_rules

    config = load_config(str(build_demo(tmp_path_factory.mktemp("demo"))))
    snap = collect(config, load_rules(config.policies), parse_bound(DEMO_SINCE), parse_bound(DEMO_UNTIL, end=True))
    return snap, list(doc_paths(snap))


def test_every_shipped_schema_compiles():
    for name in ("snapshot", "report"):
        compile_schema(load_schema(name))
    for source in SOURCES:
        compile_schema(def_schema(source))


def test_the_demo_snapshot_is_valid_to_both(demo_snapshot):
    snap, _ = demo_snapshot
    _agree(load_schema("snapshot"), snap)
    assert schema_problems(snap, load_schema("snapshot"), "s.json") == []


@SETTINGS
@given(data=st.data())
def test_a_mutated_snapshot_gets_the_same_verdict(demo_snapshot, data):
    snap, paths = demo_snapshot
    doc = copy.deepcopy(snap)
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
    _agree(load_schema("snapshot"), doc)
    if len(where) > 3 and where[0] == "sources" and where[2] == "data" and where[1] in doc["sources"]:
        _agree(def_schema(where[1]), doc["sources"][where[1]]["data"])


@SETTINGS
@given(st.sampled_from(SOURCES), odd_values)
def test_random_source_data_gets_the_same_verdict(source, value):
    _agree(def_schema(source), value)


def test_a_mutation_is_explained_by_jsonschema(demo_snapshot):
    """The fast path only decides "valid"; a bad document still gets jsonschema's located message."""
    snap, _ = demo_snapshot
    doc = copy.deepcopy(snap)
    doc["collected_at"] = 5
    problems = schema_problems(doc, load_schema("snapshot"), "s.json")
    assert problems and problems[0].message.startswith("at /collected_at: 5 is not of type 'string'")


def test_unknown_keywords_are_refused_so_jsonschema_decides():
    with pytest.raises(Unsupported):
        compile_schema({"type": "string", "dependentSchemas": {}})
    with pytest.raises(Unsupported):
        compile_schema({"$ref": "https://example.invalid/other.json"})


@pytest.mark.parametrize("schema, good, bad", [
    ({"type": "integer", "minimum": 0}, [0, 3, 2.0], [-1, True, 1.5, "1", None]),
    ({"enum": [1, "a"]}, [1, 1.0, "a"], [True, "b", [1]]),
    ({"const": False}, [False], [0, None]),
    ({"oneOf": [{"type": "null"}, {"type": "string", "minLength": 2}]}, [None, "ab"], ["a", 1]),
    ({"if": {"properties": {"s": {"const": "e"}}}, "then": {"required": ["m"]}, "else": {"not": {"required": ["m"]}}},
     [{"s": "e", "m": 1}, {"s": "o"}, 3], [{"s": "e"}, {"s": "o", "m": 1}]),
    ({"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False,
      "propertyNames": {"pattern": "^[a-z]$"}}, [{}, {"a": "x"}], [{"b": 1}, {"a": 1}, {"A": "x"}]),
    ({"$defs": {"n": {"type": "array", "items": {"$ref": "#/$defs/n"}}}, "$ref": "#/$defs/n"},
     [[], [[], [[]]]], [[1], [[], ["x"]]]),
    ({"type": ["string", "null"], "pattern": "^v[0-9]"}, ["v1", None, "v2x"], ["x", 1]),
])
def test_keywords(schema, good, bad):
    check = compile_schema(schema)
    for value in good:
        assert check(value), value
        _agree(schema, value)
    for value in bad:
        assert not check(value), value
        _agree(schema, value)
