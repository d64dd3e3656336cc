"""The quick schema check in ``yamlpos.validate`` agrees with jsonschema, the authority.

``validate`` trusts a "valid" from ``conforms`` and never runs jsonschema then, so a file the quick
check passes but jsonschema rejects would be a bad rule, config, waiver or test-case file read as
good. These tests compare the two verdicts on the real files, on those files mutated at random
places, and on random data, for every schema ``validate`` is used with.
"""

from __future__ import annotations

import copy
import glob
import json
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from compliance.app.rulestest import CASE_SCHEMA
from compliance.inputs.config import CONFIG_SCHEMA
from compliance.inputs.ruleschema import rule_file_schema
from compliance.inputs.waivers import WAIVER_SCHEMA
from compliance.inputs.yamlpos import conforms, load_yaml
from compliance.model.snapshot import def_schema
from tests.reliability.docpaths import doc_paths

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                               HealthCheck.function_scoped_fixture])

WAIVERS = {"version": 1, "max_days": 90, "waivers": [
    {"rule": "T-001", "subject": {"sha": "abc1234"}, "owner": "a@example.com", "reason": "r", "ticket": "T-1",
     "expires": "2026-04-30", "created": "2026-03-01"},
    {"rule": "T-002", "subject": {"pr": 3}, "owner": "a@example.com", "reason": "r", "ticket": "T-2",
     "expires": "2026-04-30"}]}


def _docs() -> list[tuple[str, dict, object]]:
    """(name, schema, a valid document) for every schema ``validate`` checks files against."""
    rules = rule_file_schema()
    out = [(f, rules, load_yaml(f)[0]) for f in sorted(glob.glob(os.path.join(ROOT, "policies", "*.yaml")))]
    out += [(f, CASE_SCHEMA, load_yaml(f)[0])
            for f in sorted(glob.glob(os.path.join(ROOT, "policies", "tests", "*.yaml")))]
    out.append(("compliance.example.yaml", CONFIG_SCHEMA, load_yaml(os.path.join(ROOT, "compliance.example.yaml"))[0]))
    out.append(("waivers", WAIVER_SCHEMA, WAIVERS))
    return out


DOCS = _docs()

odd_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from([0.0, 1.0, -1.5, 2**53, 1e300, float("nan")])
    | st.sampled_from(["", "x", "high", "field", "co_change", "equals", "2026-03-01", "T-001", "A-B-1", "**", "!x"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["kind", "id", "text", "include", "sha", "when", "source", "x"]), inner, max_size=3),
    max_leaves=6)


def _agree(schema, doc) -> bool:
    quick = conforms(doc, schema)
    slow = Draft202012Validator(schema).is_valid(doc)
    assert quick in (None, slow), f"quick check says {quick}, jsonschema says {slow}"
    return slow


@pytest.mark.parametrize("name, schema, doc", DOCS, ids=[os.path.basename(d[0]) for d in DOCS])
def test_real_files_are_judged_valid_without_jsonschema(name, schema, doc):
    assert conforms(doc, schema) is True  # the fast path is taken: no keyword it cannot decide
    assert _agree(schema, doc)


@SETTINGS
@given(st.data())
def test_mutated_files_get_jsonschemas_verdict(data):
    _, schema, original = data.draw(st.sampled_from(DOCS))
    doc = copy.deepcopy(original)
    places = list(doc_paths(doc))[1:]
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.sampled_from(places))
        parent = doc
        try:
            for key in where[:-1]:
                parent = parent[key]
            how = data.draw(st.sampled_from(["delete", "set", "add"]))
            if how == "delete":
                del parent[where[-1]]
            elif how == "set":
                parent[where[-1]] = data.draw(odd_values)
            elif isinstance(parent, dict):
                parent[data.draw(st.sampled_from(["kind", "extra", "from", "command", "exclude"]))] = data.draw(
                    odd_values)
            elif isinstance(parent, list):
                parent.append(data.draw(odd_values))
        except (KeyError, IndexError, TypeError):
            continue  # an ancestor is already gone or no longer a container
    _agree(schema, doc)


@SETTINGS
@given(st.sampled_from(DOCS), odd_values)
def test_random_data_gets_jsonschemas_verdict(entry, value):
    _agree(entry[1], value)


@pytest.mark.parametrize("source", ["git", "github", "lambda", "apigateway", "tracker", "deploy_manager", "probe"])
@SETTINGS
@given(value=odd_values)
def test_snapshot_source_schemas_get_jsonschemas_verdict(source, value):
    _agree(def_schema(source), value)  # what ``rules test`` validates case sources with


def test_unknown_keywords_and_remote_refs_are_left_to_jsonschema():
    assert conforms("x", {"type": "string", "contentMediaType": "text/plain"}) is None
    assert conforms("x", {"$ref": "https://example.invalid/s.json"}) is None
    assert conforms([1], {"prefixItems": [{"type": "integer"}], "items": False}) is None
    assert conforms({"a": 1}, {"properties": {"a": {"$id": "x", "type": "integer"}}}) is None
    assert conforms([1, 2], {"not": {"enum": [(1, 2)]}}) is None  # a tuple: jsonschema's Sequence rules
    assert conforms(1.0, {"type": "integer"}) is True and conforms(True, {"enum": [1]}) is False
    assert conforms({"x": 1}, {"patternProperties": {"^x": {"type": "integer"}}, "additionalProperties": False})


def test_valid_rules_are_validated_without_jsonschema_or_check_modules():
    """`rules validate` on valid files is start-up bound: it must not import what it does not need."""
    code = ("import sys\nfrom compliance.cli import main\nassert main(['rules', 'validate', 'policies']) == 0\n"
            "print(json.dumps(sorted(sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", "import json\n" + code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    loaded = set(json.loads(proc.stdout.splitlines()[-1]))
    assert not {"jsonschema", "referencing"} & loaded
    assert not {m for m in loaded if m.startswith("compliance.judge.checks.")}
