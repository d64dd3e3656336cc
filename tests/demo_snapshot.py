"""The demo system's realistic snapshot, for suites that damage a copy and judge it (fixture ``demo``),
and one real ``compliance demo`` run whose folders suites read (fixture ``demo_run``).

Registered as a plugin by tests/conftest.py.
"""

from __future__ import annotations

import copy

import pytest

from compliance.app.collect import collect
from compliance.app.persist import judge_snapshot
from compliance.base.timeutil import parse_bound
from compliance.cli import main
from compliance.demo import DEMO_SINCE, DEMO_UNTIL, build_demo
from compliance.inputs.config import load_config
from compliance.inputs.rules import load_rules
from compliance.report.document import build_report


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """The demo system's realistic snapshot (every source populated from files), and its rules.

    Built once per session: every test deep-copies the snapshot before damaging it."""
    config = load_config(str(build_demo(tmp_path_factory.mktemp("demo"))))
    ruleset = load_rules(config.policies)
    snap = collect(config, ruleset, parse_bound(DEMO_SINCE), parse_bound(DEMO_UNTIL, end=True))
    snap["sources"]["probe"] = {"status": "ok", "provenance": snap["sources"]["probe"]["provenance"], "error": None,
                                "data": {"url": "http://127.0.0.1:9/c", "status_code": 200, "latency_ms": 3,
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
