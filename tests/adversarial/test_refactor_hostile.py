"""Hostile review of the issue-14 refactor: lying snapshots and a hostile report folder against the new
seams (deferred sources as data, the one persistence path, the jsonschema-rs check, timelines, safe_url).

Each test here failed before its fix (named in the test's docstring) or pins an attack that held.
"""

from __future__ import annotations

import copy
import os
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from compliance.app.deferred import with_deferred_sources
from compliance.base.errors import InputError
from compliance.base.timeutil import iso
from compliance.cli import main
from compliance.judge.context import Context
from compliance.judge.engine import evaluate
from compliance.judge.runs import deploy_window
from compliance.judge.timeline import change_chains
from compliance.model.findings import ERROR, NOT_APPLICABLE
from compliance.model.rules import CheckSpec
from compliance.model.snapshot import read_snapshot, save_snapshot, validate_snapshot
from compliance.model.strict_json import strict_loads
from compliance.sources.registry import after_merge, deferred_envelope
from tests.reportfile import read_report

ROOT = Path(__file__).resolve().parents[2]
POLICIES = str(ROOT / "policies")


def _forged_pr(snap: dict) -> dict:
    """An audit snapshot (a 30-commit history) with a pull_request section pasted in."""
    out = copy.deepcopy(snap)
    out["pull_request"] = {"number": 1, "head_sha": "0" * 40, "base_ref": "main"}
    return out


def _reads_after_merge(finding, rules) -> bool:
    from compliance.judge.registry import reads_of

    rule = next(r for r in rules if r.id == finding.rule_id)
    return bool(reads_of([rule]) & set(after_merge()))


# --- deferred sources ---------------------------------------------------------------------------


def test_a_pasted_pull_request_section_does_not_let_an_audit_snapshot_defer_its_deploys(demo):
    """Fix: judge/context.py ``_may_defer`` also asks that the git data be the pull request's one change.

    Before, a pull_request section with any number made lambda/github/tracker/probe/apigateway
    deferrals count in a 30-commit audit snapshot: its deploy rules read `not_applicable` (error 27 ->
    n/a 7 on the demo), whether the sources were marked deferred or simply deleted (``evaluate`` records
    the missing ones as deferred for a PR snapshot saved by an older version)."""
    snap, rules = demo
    marked = _forged_pr(snap)
    for name in after_merge():
        marked["sources"][name] = deferred_envelope(name, "later", marked["collected_at"])
    deleted = _forged_pr(snap)
    for name in after_merge():
        del deleted["sources"][name]
    deleted = with_deferred_sources(deleted)
    for forged in (marked, deleted):
        validate_snapshot(forged)  # the schema cannot tell: the judge must
        findings = evaluate(forged, rules)
        deploy = [f for f in findings if _reads_after_merge(f, rules)]
        assert deploy and all(f.status == ERROR for f in deploy), {(f.rule_id, f.status) for f in deploy}
        assert not any(f.status == NOT_APPLICABLE and f.message == "later" for f in findings)


def test_a_pull_request_section_naming_another_head_or_number_does_not_defer(demo):
    """The PR snapshot's one change must be that pull request: same number, same head."""
    snap, rules = demo
    change = dict(snap["sources"]["git"]["data"]["commits"][-1], kind="pull_request", pr=5, parents=[])
    base = copy.deepcopy(snap)
    base["sources"]["git"]["data"]["commits"] = [change]
    for name in after_merge():
        base["sources"][name] = deferred_envelope(name, "later", base["collected_at"])
    probe_rules = [r for r in rules if r.checks[0].kind == "capability_endpoint"]
    assert probe_rules
    genuine = {**copy.deepcopy(base), "pull_request": {"number": 5, "head_sha": change["sha"], "base_ref": "main"}}
    assert {f.status for f in evaluate(genuine, probe_rules)} == {NOT_APPLICABLE}  # the real shape still defers
    for pr in ({"number": 6, "head_sha": change["sha"], "base_ref": "main"},
               {"number": 5, "head_sha": "f" * 40, "base_ref": "main"},
               {"number": True, "head_sha": change["sha"], "base_ref": "main"}):
        forged = {**copy.deepcopy(base), "pull_request": pr}
        assert {f.status for f in evaluate(forged, probe_rules)} == {ERROR}, pr
    two = copy.deepcopy(genuine)
    two["sources"]["git"]["data"]["commits"] = [change, dict(change, sha="e" * 40)]
    assert {f.status for f in evaluate(two, probe_rules)} == {ERROR}


def test_a_deferred_source_that_also_carries_data_is_refused(demo):
    """Held: the schema's if/then makes ``data`` null for a deferred source, in jsonschema-rs and jsonschema."""
    snap, _ = demo
    forged = copy.deepcopy(snap)
    forged["sources"]["lambda"].update(status="deferred", reason="later")
    with pytest.raises(InputError):
        validate_snapshot(forged)


# --- JSON the parser cannot take ----------------------------------------------------------------


def test_an_integer_of_5000_digits_is_an_input_error_not_a_traceback(demo, tmp_path, capsys):
    """Fix: model/strict_json.py ``strict_loads`` turns the ValueError of Python's int-digits limit into an
    ``InputError``. Before, ``evaluate --snapshot`` died with a traceback and exit 1 (which reads as "fail")."""
    snap, _ = demo
    path = tmp_path / "snapshot.json"
    save_snapshot(snap, path)
    text = path.read_text("utf-8").replace('"duration_ms": ', '"duration_ms": ' + "9" * 5000, 1)
    path.write_text(text, "utf-8")
    with pytest.raises(InputError) as err:
        read_snapshot(path)
    assert "4300 digits" in str(err.value) and "set_int_max_str_digits" not in str(err.value)
    assert main(["evaluate", "--snapshot", str(path), "--policies", POLICIES, "--out", str(tmp_path / "out")]) == 2
    assert "Traceback" not in capsys.readouterr().err
    with pytest.raises(InputError):  # the other readers of JSON files share it (a previous report, an input file)
        strict_loads("[" + "1" * 5000 + "]", "x.json", "report")


# --- the one persistence path -------------------------------------------------------------------


def test_a_planted_waivers_link_does_not_survive_a_run_that_applied_no_waivers(demo, tmp_path):
    """Fix: base/fsutil.py ``StagedSet._tidy`` retires a name the new set lacks when it is a link that does not
    lead into the current set, as it did a plain file. Before, ``<out>/waivers.yaml -> elsewhere`` survived
    a ``--no-waivers`` run, so the next ``evaluate --snapshot <out>/snapshot.json`` applied exceptions the
    run never used (the set's own promise: waivers.yaml is there exactly when that run applied waivers)."""
    snap, _ = demo
    saved = tmp_path / "in" / "snapshot.json"
    save_snapshot(snap, saved)
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "planted.yaml"
    victim.write_text("version: 1\nwaivers: []\n", "utf-8")
    (out / "waivers.yaml").symlink_to(victim)
    (out / "report.sarif").symlink_to(victim)  # a format this run does not write: same rule
    args = ["evaluate", "--snapshot", str(saved), "--policies", POLICIES, "--out", str(out), "--no-waivers"]
    assert main(args) == 1  # the demo with a live probe: FAIL
    assert not os.path.lexists(out / "waivers.yaml") and not os.path.lexists(out / "report.sarif")
    assert victim.read_text("utf-8") == "version: 1\nwaivers: []\n"  # removed the link, never followed it
    assert read_report(out / "report.json")["mode"] == "evaluate"


# --- timeline vs findings -----------------------------------------------------------------------


def _two_rules_of(rules, kind: str, loose: dict, strict: dict):
    """The rule set with its ``kind`` rule judged twice: a loose copy first, a strict one after."""
    base = next(r for r in rules if r.checks[0].kind == kind)
    others = [r for r in rules if r is not base]
    return [replace(base, id=f"{base.id}-LOOSE", checks=(CheckSpec(kind, loose),)),
            replace(base, id=f"{base.id}-STRICT", checks=(CheckSpec(kind, strict),)), *others]


def _live_from_a_covering_run(snap: dict, rules, after_end: timedelta | None, **cfg) -> tuple[dict, dict]:
    """A copy whose function was last updated ``after_end`` past the deploy window (10 s into it when None)
    of the run covering the latest covered change (so that change's timeline judges the live code)."""
    snap = copy.deepcopy(snap)
    ctx = Context(snap)
    scope = next(r.scope for r in rules if r.checks[0].kind == "deploy_coverage")
    run = next(r for ch in reversed(ctx.changes(scope)) if (r := ctx.runs.covering(ch, ctx.now)))
    start, end = deploy_window(run)
    lam = snap["sources"]["lambda"]["data"]["configuration"]
    when = start + timedelta(seconds=10) if after_end is None else end + after_end
    lam.update(cfg, LastModified=iso(when))
    # CloudTrail records that update, by the pipeline's role (a copy of one of its uploads, moved there)
    trail = snap["sources"]["cloudtrail"]["data"]
    upload = next(e for e in trail["events"] if not e.get("errorCode")
                  and not e["userIdentity"]["sessionCredentialFromConsole"]
                  and e["userIdentity"]["sessionIssuer"]["arn"] == snap["target"]["principals"]["workflow_role"])
    trail["events"].append({**upload, "eventID": "moved-upload", "eventTime": iso(when), "lastModified": iso(when),
                            "codeSha256": lam["CodeSha256"]})
    return snap, run


def _lambda_stages(snap: dict, rules, findings) -> list:
    return [s for chain in change_chains(snap, rules, findings) for s in chain.stages if s.stage == "lambda_update"]


def test_the_timeline_does_not_call_a_deploy_healthy_that_a_second_lambda_state_rule_fails(demo):
    """Fix: judge/timeline.py judges health by every ``lambda_state`` rule (and the live run by the tightest
    ``lambda_deploy_match`` tolerance), not by the first rule's parameters only. Before, a rule set with a
    loose rule first and a strict one after showed the live deploy ``ok`` beside the strict rule's failure."""
    snap, rules = demo
    snap, run = _live_from_a_covering_run(snap, rules, None, State="Active",
                                          LastUpdateStatus="InProgress")
    both = _two_rules_of(rules, "lambda_state", {"state": "Active", "last_update_status": "InProgress"},
                         {"state": "Active", "last_update_status": "Successful"})
    findings = evaluate(snap, both)
    assert [f.status for f in findings if f.rule_id.endswith("-STRICT")] == ["fail"]
    live = [s for s in _lambda_stages(snap, both, findings) if f"comes from run {run['id']}" in s.detail]
    assert live and {s.state for s in live} == {"failed"}


def test_the_timeline_names_the_live_run_only_within_the_tightest_tolerance(demo):
    snap, rules = demo
    snap, run = _live_from_a_covering_run(snap, rules, timedelta(seconds=300), State="Active",
                                          LastUpdateStatus="Successful")
    both = _two_rules_of(rules, "lambda_deploy_match", {"tolerance_seconds": 600}, {"tolerance_seconds": 0})
    findings = evaluate(snap, both)
    by_id = {f.rule_id: f.status for f in findings if f.check == "lambda_deploy_match"}
    assert by_id[both[0].id] == "pass" and by_id[both[1].id] == "fail"
    stages = _lambda_stages(snap, both, findings)
    assert stages and not any(f"the live code comes from run {run['id']}" in s.detail for s in stages)


# --- safe_url -----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "http://@", "http://:80", "https://@/x",  # no host at all
    "https://github.com@evil.example/o/r",  # the host a reader sees is the userinfo
    "https://github.com\\@evil.example/",  # browsers read "\" as "/"; encoded to %5C the host became evil.example
    "https://github.com%2F@evil.example/",
])
def test_a_link_has_a_host_and_no_userinfo(url):
    """Fix: base/urls.py ``safe_url`` refuses a URL without a hostname or with a userinfo. Before, each of these
    was written as a clickable link (the backslash one percent-encoded into a userinfo that hides the host)."""
    from compliance.base.urls import safe_url
    from compliance.report import html_view, markdown_text

    assert safe_url(url) is None
    assert markdown_text.link("label", url) == "label" and html_view.link("label", url) == "label"


@pytest.mark.parametrize("url,link", [
    ("https://x.example/&quot;onmouseover=1", "https://x.example/&quot;onmouseover=1"),  # & is escaped by esc
    ("https://x.example/%0d%0a", "https://x.example/%0d%0a"),
    ("https://x.example/[x](javascript:1)", "https://x.example/%5Bx%5D%28javascript:1%29"),
    ("https://x.example/<b>`", "https://x.example/%3Cb%3E%60"),
])
def test_what_survives_encoding_stays_inside_the_link(url, link):
    """Held: nothing encoded can end a Markdown destination or an HTML attribute."""
    from compliance.base.urls import safe_url
    from compliance.report import html_view

    assert safe_url(url) == link
    assert html_view.link("l", url) == f'<a href="{link.replace("&", "&amp;")}" rel="noopener noreferrer">l</a>'
