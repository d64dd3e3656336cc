"""The source registry is the one list of sources, and the engine judges a deferred source from
the snapshot alone (no mode): a rule reading one is `not_applicable` with the recorded reason."""

from __future__ import annotations

import ast
import copy
from pathlib import Path

import pytest

from compliance.inputs.config import CONFIG_SCHEMA
from compliance.judge.engine import evaluate
from compliance.judge.registry import all_kinds, reads_of
from compliance.model.findings import ERROR, NOT_APPLICABLE
from compliance.model.rules import CheckSpec, Remediation, Rule, Scope
from compliance.model.snapshot import load_schema, validate_snapshot
from compliance.sources import plan  # noqa: F401 - importing it attaches the collectors
from compliance.sources.registry import (
    BY_NAME,
    DEFERRED,
    NAMES,
    SOURCES,
    after_merge,
    before_merge,
    collection_order,
    collector,
    collects,
    deferred_envelope,
)

PACKAGE = Path(__file__).resolve().parents[1] / "compliance"
REGISTRY_FILE = PACKAGE / "sources" / "registry.py"


def _name_lists(tree: ast.AST) -> list[tuple[int, list[str]]]:
    """Literal tuples, lists and sets holding three or more source names (a check declaring what it
    reads, ``reads=(...)``, names its own sources, not the list of them)."""
    nodes = list(ast.walk(tree))  # walked once, read twice: see test_import_contract.py's reach_ins
    declared = {id(k.value) for k in nodes if isinstance(k, ast.keyword)
                and k.arg in ("reads", "optional_reads")}
    out = []
    for node in nodes:
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and id(node) not in declared:
            names = [e.value for e in node.elts if isinstance(e, ast.Constant) and e.value in NAMES]
            if len(names) >= 3:
                out.append((node.lineno, names))
    return out


def test_no_module_but_the_registry_spells_out_a_list_of_sources():
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == REGISTRY_FILE:
            continue
        lists = _name_lists(ast.parse(path.read_text("utf-8")))
        if lists:
            found[str(path.relative_to(PACKAGE))] = lists
    assert found == {}
    assert _name_lists(ast.parse(REGISTRY_FILE.read_text("utf-8"))) == []  # the table names each source once


def test_the_schemas_and_vocabularies_name_exactly_the_registered_sources():
    snapshot = load_schema("snapshot")
    assert snapshot["properties"]["sources"]["propertyNames"]["enum"] == list(NAMES)
    assert all(BY_NAME[n].schema_def in snapshot["$defs"] for n in NAMES)
    assert list(CONFIG_SCHEMA["properties"]["sources"]["properties"]) == list(NAMES)
    assert all_kinds()["field"].params["properties"]["source"]["enum"] == list(NAMES)
    assert all(collector(n) is not None for n in NAMES)  # every declared source can be collected
    assert set(before_merge()) | set(after_merge()) == set(NAMES)
    assert not set(before_merge()) & set(after_merge())


def test_a_collector_for_an_undeclared_source_is_refused():
    with pytest.raises(RuntimeError, match="no source 'gitlab'"):
        collects("gitlab")


def test_collection_order_puts_each_source_after_those_it_uses():
    order = collection_order(NAMES)
    assert sorted(order) == sorted(NAMES)
    for s in SOURCES:
        assert all(order.index(first) < order.index(s.name) for first in s.after)
    assert collection_order(["tracker", "github"]) == ["github", "tracker"]  # only what was asked for


def test_check_kinds_declare_what_they_read():
    kinds = all_kinds()
    assert kinds["field"].reads_for({"source": "probe", "path": "x", "op": "exists"}) == ("probe",)
    assert kinds["deploy_coverage"].reads == ("git", "github")
    assert "tracker" in kinds["deploy_coverage"].optional_reads
    for kind in kinds.values():
        assert set(kind.reads) | set(kind.optional_reads) <= set(NAMES), kind.name
        assert not set(kind.reads) & set(kind.optional_reads), kind.name
    rule = _rule("R-1", "field", {"source": "lambda", "path": "configuration.Runtime", "op": "exists"})
    assert reads_of([rule]) == {"lambda"}
    # the pipeline's uploads, when a trail is configured, prove what a run deployed
    assert reads_of([_rule("R-2", "deploy_coverage", {})]) == {"git", "github", "tracker", "cloudtrail"}


def _rule(rule_id: str, kind: str, params: dict) -> Rule:
    return Rule(id=rule_id, title="t", severity="high", runbook_section="s", rationale="r", scope=Scope(),
                checks=(CheckSpec(kind, params),), remediation=Remediation(text="fix it"))


def _snapshot() -> dict:
    now = "2026-03-20T12:00:00Z"
    return {
        "snapshot_version": 1, "tool": {"name": "compliance", "version": "0"}, "collected_at": now,
        "window": {"since": "2026-03-01T00:00:00Z", "until": now, "branch": "main"},
        "target": {"branch": "main", "capability_url": "https://api.example.invalid/capabilities",
                   "function": "fn"},
        "rules": {},
        "sources": {"probe": deferred_envelope("probe", "left to the nightly run: no endpoint yet", now),
                    "git": _pr_git(now)},
        "pull_request": {"number": 7, "head_sha": "a" * 40, "base_ref": "main"},
    }


def _pr_git(now: str) -> dict:
    """The git source a pull-request snapshot holds: the PR as its one change (what lets it defer)."""
    change = {"sha": "a" * 40, "parents": [], "kind": "pull_request", "pr": 7, "subject": "t", "body": "",
              "source_branch": "feature", "author": "", "authored_at": now, "committed_at": now, "files": [],
              "task_ids": []}
    return {"status": "ok", "error": None,
            "provenance": {"kind": "git", "requested": "PR #7", "started_at": now, "duration_ms": 0, "requests": 0},
            "data": {"branch": "main", "head": "a" * 40, "shallow": False, "commits": [change], "files_at_head": {}}}


def test_a_rule_reading_a_deferred_source_is_not_applicable_with_the_recorded_reason():
    snap = _snapshot()  # the engine reads the source's status, not the mode
    validate_snapshot(snap)
    [finding] = evaluate(snap, [_rule("R-PROBE", "capability_endpoint", {})])
    assert (finding.status, finding.message) == (NOT_APPLICABLE, "left to the nightly run: no endpoint yet")
    assert finding.subject == "https://api.example.invalid/capabilities"  # the kind's default subject
    [via_field] = evaluate(snap, [_rule("R-F", "field", {"source": "probe", "path": "status_code", "op": "exists"})])
    assert via_field.status == NOT_APPLICABLE and via_field.message == "left to the nightly run: no endpoint yet"


def test_a_deferral_outside_a_pull_request_snapshot_is_not_collected():
    """Lying data: an audit snapshot edited to defer the probe (or one deferring git, which exists before any
    merge) would turn its rules into "not applicable" and the verdict into a pass."""
    snap = _snapshot()
    del snap["pull_request"]
    validate_snapshot(snap)
    for rule in (_rule("R-PROBE", "capability_endpoint", {}),
                 _rule("R-F", "field", {"source": "probe", "path": "status_code", "op": "exists"})):
        [finding] = evaluate(snap, [rule])
        assert finding.status == ERROR and "only a pull-request snapshot may" in finding.message
    snap = _snapshot()
    # a negative number is no pull request at all (0 is the local check, `compliance pr --base`: a PR not opened yet)
    snap["pull_request"] = {"number": -1, "head_sha": "a" * 40, "base_ref": "main"}
    [finding] = evaluate(snap, [_rule("R-PROBE", "capability_endpoint", {})])
    assert finding.status == ERROR
    snap = _snapshot()
    snap["sources"]["git"] = deferred_envelope("git", "later", snap["collected_at"])
    [finding] = evaluate(snap, [_rule("R-F", "field", {"source": "git", "path": "commits", "op": "exists"})])
    assert finding.status == ERROR and "exists after the merge" in finding.message


def test_a_source_neither_collected_nor_deferred_is_still_could_not_evaluate():
    snap = _snapshot()
    del snap["sources"]["probe"]
    [finding] = evaluate(snap, [_rule("R-PROBE", "capability_endpoint", {})])
    assert finding.status == ERROR and "not collected" in finding.message


def test_a_deferred_entry_must_say_why_and_hold_no_data():
    snap = _snapshot()
    bad = copy.deepcopy(snap)
    del bad["sources"]["probe"]["reason"]
    with pytest.raises(Exception, match="reason"):
        validate_snapshot(bad)
    bad = copy.deepcopy(snap)
    bad["sources"]["probe"]["data"] = {"url": "x"}
    with pytest.raises(Exception):  # noqa: B017 - the InputError names the pointer, its text is the schema's
        validate_snapshot(bad)
    assert snap["sources"]["probe"]["status"] == DEFERRED
