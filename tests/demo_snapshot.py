"""The demo system's realistic snapshot, for suites that damage a copy and judge it (fixture ``demo``),
and one real ``compliance demo`` run whose folders suites read (fixture ``demo_run``).

Registered as a plugin by tests/conftest.py.
"""

from __future__ import annotations

import copy
import json
from itertools import pairwise

import pytest

from compliance.app.collect import collect
from compliance.app.persist import judge_snapshot
from compliance.base.timeutil import parse_bound
from compliance.cli import main
from compliance.demo import DEMO_SINCE, DEMO_UNTIL, build_demo
from compliance.inputs.config import load_config
from compliance.inputs.rules import load_rules
from compliance.model.snapshot import snapshot_text, validate_snapshot
from compliance.report.document import build_report


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """The demo system's realistic snapshot (every source populated from files), and its rules.

    Built once per session: every test deep-copies the snapshot before damaging it."""
    config = load_config(str(build_demo(tmp_path_factory.mktemp("demo"))))
    ruleset = load_rules(config.policies)
    snap = collect(config, ruleset, parse_bound(DEMO_SINCE), parse_bound(DEMO_UNTIL, end=True))
    snap["sources"]["probe"] = {"status": "ok", "provenance": snap["sources"]["probe"]["provenance"], "error": None,
                                "data": {"url": snap["target"]["capability_url"], "status_code": 200, "latency_ms": 3,
                                         "well_formed": True, "problems": [],
                                         "body": {"success": True, "capabilities": {"contract_version": "1"}}}}
    return snap, ruleset.rules


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """``(exit code, base)`` of one ``compliance demo --workdir BASE/work --out BASE/out``.

    Built once per session (per xdist worker) for the suites that only read what it wrote (the
    report set, its snapshot): it was four identical runs per worker. A test that changes a file
    works on a copy."""
    base = tmp_path_factory.mktemp("demo-run")
    code = main(["demo", "--workdir", str(base / "work"), "--out", str(base / "out")])
    return code, base


def one_change(doc: dict) -> dict:
    """The demo snapshot cut down to one judged change: the root, the first change a canonical run
    deployed, and the head (the files, runbook and workflow stay as of the head); only that change's run.

    For the suites about persisting (old set or new set, locks, litter, links, formats), which need a
    snapshot every stage and every format handles but not the demo's 31 commits: judging and writing
    it costs about half of the demo's, in every child process that runs it."""
    doc = copy.deepcopy(doc)
    git, github = doc["sources"]["git"]["data"], doc["sources"]["github"]["data"]
    deployed = {r["head_sha"] for r in github["runs"] if r["conclusion"] == "success"}
    commits = git["commits"]
    change = next(c for c in commits[1:-1] if c["sha"] in deployed)
    kept = [commits[0], change, commits[-1]]
    for parent, child in pairwise(kept):  # first parents along what is kept; merge parents stay
        child["parents"] = [parent["sha"], *child["parents"][1:]]
    git["commits"] = kept
    github["runs"] = [r for r in github["runs"] if r["head_sha"] == change["sha"]]
    return doc


@pytest.fixture(scope="session")
def small_snapshots(demo_run, tmp_path_factory):
    """Two different one-change snapshots (``one_change`` of the demo's; B is A with another tool
    version: same data, another digest). A is saved as a snapshot is (canonical), B as plain JSON."""
    code, base = demo_run
    assert code == 0
    doc = one_change(json.loads((base / "out" / "snapshot.json").read_text("utf-8")))
    validate_snapshot(doc, "one-change")
    assert len(doc["sources"]["git"]["data"]["commits"]) == 3 and len(doc["sources"]["github"]["data"]["runs"]) == 1
    folder = tmp_path_factory.mktemp("small")
    a, b = folder / "a.json", folder / "b.json"
    a.write_text(snapshot_text(doc), "utf-8")
    doc["tool"]["version"] += "+b"
    b.write_text(json.dumps(doc), "utf-8")
    return a, b


class _RuleSet:
    def __init__(self, rules):
        self.rules = rules


@pytest.fixture(scope="module")
def demo_doc(demo):
    """The demo snapshot judged and built into its report document, once per module (tests copy before
    they damage it)."""
    snap, rules = copy.deepcopy(demo[0]), demo[1]
    judged = judge_snapshot(snap, _RuleSet(rules))
    return build_report(snap, rules, judged.findings, "demo", waivers=judged.waivers, ctx=judged.ctx)
