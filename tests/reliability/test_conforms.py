"""The quick schema check in ``schema_messages.validate`` (jsonschema-rs) agrees with jsonschema.

``validate`` trusts a "valid" from jsonschema-rs and never runs jsonschema then, so a file the quick
check passes but jsonschema rejects would be a bad rule, config, waiver or test-case file read as
good. These tests compare the two verdicts on the real files, on those files mutated at random
places, and on random data, for every schema ``validate`` is used with. The one difference allowed
is jsonschema-rs refusing a NaN (YAML's ``.nan``) that jsonschema lets through as a number.
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
from compliance.inputs.schema_messages import validate
from compliance.inputs.waivers import WAIVER_SCHEMA
from compliance.inputs.yamlpos import load_yaml, loads_yaml
from compliance.model.schemacheck import is_valid
from compliance.model.snapshot import def_schema
from tests.hypothesis_budget import examples
from tests.reliability.docpaths import doc_paths

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SETTINGS = settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow,
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
    | st.sampled_from(["", "x", "high", "field", "co_change", "equals", "2026-03-01", "T-001", "A-B-1", "**", "!x",
                       "T-001\n", "2026-03-01\n", "abc1234\n", "123456789012\n", "a/b\n"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["kind", "id", "text", "include", "sha", "when", "source", "x"]), inner, max_size=3),
    max_leaves=6)


def _has_nan(value) -> bool:
    if isinstance(value, float):
        return value != value
    if isinstance(value, dict):
        return any(map(_has_nan, value.values()))
    return isinstance(value, list) and any(map(_has_nan, value))


def _agree(schema, doc) -> bool:
    quick = is_valid(doc, schema)
    slow = Draft202012Validator(schema).is_valid(doc)
    assert quick == slow or (not quick and _has_nan(doc)), f"jsonschema-rs says {quick}, jsonschema says {slow}"
    return slow


@pytest.mark.parametrize("name, schema, doc", DOCS, ids=[os.path.basename(d[0]) for d in DOCS])
def test_real_files_are_judged_valid_without_jsonschema(name, schema, doc):
    assert is_valid(doc, schema) is True
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


def test_a_nan_only_jsonschema_rs_refuses_is_still_refused_at_its_line():
    """YAML's ``.nan`` is a float jsonschema passes as a number; jsonschema-rs refuses it, and
    ``validate`` then words the refusal itself rather than passing the file."""
    schema = {"type": "object", "properties": {"every": {"type": "number", "minimum": 0}}}
    data, pos = loads_yaml("every: 1\n", "f.yaml")
    assert validate(data, pos, schema, "f.yaml") == []
    data, pos = loads_yaml("# x\nevery: .nan\n", "f.yaml")
    assert Draft202012Validator(schema).is_valid(data)
    problems = validate(data, pos, schema, "f.yaml")
    assert [(p.line, p.col, p.message) for p in problems] == [
        (2, 8, "nan is not a JSON number (NaN and Infinity are not allowed)")]


def test_valid_rules_are_validated_without_jsonschema():
    """`rules validate` on valid files is start-up bound: jsonschema (about 100 ms to import) only
    explains invalid ones."""
    code = ("import sys\nfrom compliance.cli import main\nassert main(['rules', 'validate', 'policies']) == 0\n"
            "print(json.dumps(sorted(sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", "import json\n" + code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    loaded = set(json.loads(proc.stdout.splitlines()[-1]))
    assert "jsonschema_rs" in loaded
    assert not {"jsonschema", "referencing"} & loaded
    assert "compliance.judge.evidence.grammar" not in loaded  # the worklog grammar compiles on first use
