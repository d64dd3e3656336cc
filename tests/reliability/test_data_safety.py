"""Crashes mid-write never lose or tear data, and evidence writes to the tracker never duplicate or clobber.

A crash is played by making ``os.replace`` or ``os.fsync`` raise at the worst moment (an ``OSError``
like a full disk, or a ``KeyboardInterrupt``); afterwards every file is either the whole old version
or the whole new one, and no ``.tmp`` file is left behind.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import responses

from compliance.app import evidence_writer
from compliance.base.errors import ComplianceError
from compliance.base.fsutil import StagedSet
from compliance.cli import main
from compliance.model.snapshot import load_snapshot, save_snapshot
from compliance.report import write_reports
from tests import moto_env
from tests.github_payloads import FakeGitHub
from tests.live_system import audit_args, no_temp_files, one_generation

DOC = json.loads((Path(__file__).resolve().parents[1] / "data" / "report_doc.json").read_text("utf-8"))
FORMATS = ("md", "html", "json", "sarif", "junit")


def _contents(folder: Path) -> dict[str, bytes]:
    """What a reader opening the folder's files by name gets (the lock file aside)."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and p.name != ".lock"}


def _failing(real, fail_on: int, exc: BaseException):
    calls = {"n": 0}

    def wrapper(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == fail_on:
            raise exc
        return real(*args, **kwargs)

    return wrapper


def _second_doc() -> dict:
    return {**DOC, "mode": "evaluate", "summary": {**DOC["summary"], "pass": DOC["summary"]["pass"] + 1}}


@pytest.mark.parametrize("where,fail_on", [("fsync", 1), ("fsync", 3), ("write", 2), ("replace", 1)])
def test_report_crash_before_the_switch_keeps_the_old_reports(tmp_path, monkeypatch, where, fail_on):
    """A full disk anywhere before the set is published: a clear error, the old set byte for byte."""
    out = tmp_path / "out"
    write_reports(DOC, out, FORMATS)
    before = _contents(out)
    if where == "write":
        monkeypatch.setattr(StagedSet, "write", _failing(StagedSet.write, fail_on, OSError(28, "No space left on device")))
    else:
        real = os.fsync if where == "fsync" else os.replace
        monkeypatch.setattr(f"compliance.base.fsutil.os.{where}", _failing(real, fail_on, OSError(28, "No space left on device")))
    with pytest.raises(ComplianceError, match="No space left on device.*previous reports and snapshot are unchanged"):
        write_reports(_second_doc(), out, FORMATS)
    assert _contents(out) == before
    assert no_temp_files(out) == [] and _sets(out) == 1


@pytest.mark.parametrize("exc", [OSError(5, "Input/output error"), KeyboardInterrupt()])
@pytest.mark.parametrize("fail_on", [1, 2, 3])
def test_report_crash_at_any_rename_leaves_one_whole_set_and_no_temp(tmp_path, monkeypatch, exc, fail_on):
    """Renames 1..3 of a second write: before the switch the old set stays, after it the new one is whole."""
    out = tmp_path / "out"
    write_reports(DOC, out, FORMATS)
    before = _contents(out)
    new = _second_doc()
    write_reports(new, tmp_path / "new", FORMATS)
    after = _contents(tmp_path / "new")
    monkeypatch.setattr("compliance.base.fsutil.os.replace", _failing(os.replace, fail_on, exc))
    try:
        write_reports(new, out, FORMATS)
    except (ComplianceError, KeyboardInterrupt):
        pass
    now = _contents(out)
    assert now in (before, after)  # the whole old set or the whole new one, never a mix
    assert no_temp_files(out) == []


def _sets(out: Path) -> int:
    return sum(1 for p in out.iterdir() if p.name.startswith(".set-"))


@pytest.mark.parametrize("target", ["replace", "fsync"])
def test_snapshot_crash_keeps_the_old_snapshot(tmp_path, monkeypatch, target):
    doc = {"snapshot_version": 1, "tool": {"name": "compliance", "version": "t"},
           "collected_at": "2026-03-31T00:00:00Z",
           "window": {"since": "2026-03-01T00:00:00Z", "until": "2026-03-31T00:00:00Z", "branch": "main"},
           "target": {"branch": "main"}, "rules": {}, "sources": {}}
    path = tmp_path / "snapshot.json"
    save_snapshot(doc, path)
    before = path.read_bytes()
    real = os.replace if target == "replace" else os.fsync
    monkeypatch.setattr(f"compliance.base.fsutil.os.{target}", _failing(real, 1, OSError(28, "No space left on device")))
    with pytest.raises(OSError):
        save_snapshot({**doc, "collected_at": "2026-04-01T00:00:00Z"}, path)
    assert path.read_bytes() == before and load_snapshot(path)["collected_at"] == "2026-03-31T00:00:00Z"
    assert no_temp_files(tmp_path) == []


def test_interrupted_audit_leaves_one_whole_run(make_system, monkeypatch, capsys):
    """Ctrl-C at each rename of the second audit: exit 130, and the folder holds one run's reports and
    the snapshot they came from (report.json names its digest), no litter."""
    system = make_system()
    out = system.root / "out"
    with responses.RequestsMock() as rsps:
        FakeGitHub(rsps, system.runs())
        assert main(audit_args(system.config, out)) == 1
    before = _contents(out)
    for fail_on in (1, 2):
        with monkeypatch.context() as m:
            m.setattr("compliance.base.fsutil.os.replace", _failing(os.replace, fail_on, KeyboardInterrupt()))
            with responses.RequestsMock() as rsps:
                FakeGitHub(rsps, system.runs())
                code = main(audit_args(system.config, out))
        err = capsys.readouterr().err
        assert code == 130 and "interrupted" in err and "Traceback" not in err
        now = _contents(out)
        assert set(now) == set(before) and no_temp_files(out) == []
        assert one_generation(out)
        for name in now:
            if name.startswith("report."):
                json.loads(now[name]) if name.endswith(".json") else now[name].decode("utf-8")


# --------------------------------------------------------------------------- evidence in the tracker

LINE = ("Deployed commit 9febe19f1368 via compliance deploy; devops-coordination-api "
        "LastModified=2026-03-02T10:00:00.000+0000 State=Active LastUpdateStatus=Successful; -> 200")
KEY = evidence_writer.evidence_key("9febe19f1368" + "0" * 28, "2026-03-02T10:00:00.000+0000", "pass")


def _history(task: str) -> list[dict]:
    import boto3

    table = boto3.resource("dynamodb", region_name=moto_env.REGION).Table(moto_env.TRACKER_TABLE)
    item = table.get_item(Key={"project_id": moto_env.PROJECT, "record_id": f"task#{task}"}).get("Item")
    return item["history"] if item else []


def _record(tasks):
    return evidence_writer.record_evidence(moto_env.TRACKER_TABLE, moto_env.PROJECT, tasks, LINE, KEY,
                                           moto_env.REGION, timestamp="2026-03-02T10:05:00Z")


def test_retried_evidence_write_does_not_duplicate(aws_env):
    moto_env.create_tracker_table([moto_env.tracker_item("ENC-TSK-325", "Capabilities"),
                                   moto_env.tracker_item("ENC-TSK-326", "MCP")])
    first = _record(["ENC-TSK-325", "ENC-TSK-326", "ENC-TSK-999"])
    assert first.recorded == ["ENC-TSK-325", "ENC-TSK-326"] and first.missing == ["ENC-TSK-999"]
    again = _record(["ENC-TSK-325", "ENC-TSK-326", "ENC-TSK-999"])  # a resumed or retried deploy
    assert again.recorded == [] and again.already == ["ENC-TSK-325", "ENC-TSK-326"] and again.ok
    assert [h["description"] for h in _history("ENC-TSK-325")].count(LINE) == 1
    assert _history("ENC-TSK-999") == []  # a task that is not in the tracker is never created


def test_evidence_write_never_overwrites_a_concurrent_worklog(aws_env):
    import boto3

    moto_env.create_tracker_table([moto_env.tracker_item("ENC-TSK-325", "Capabilities", "first note")])
    table = boto3.resource("dynamodb", region_name=moto_env.REGION).Table(moto_env.TRACKER_TABLE)
    assert _record(["ENC-TSK-325"]).recorded == ["ENC-TSK-325"]
    # an operator adds a worklog between our write and its retry
    table.update_item(Key={"project_id": moto_env.PROJECT, "record_id": "task#ENC-TSK-325"},
                      UpdateExpression="SET history = list_append(history, :e)",
                      ExpressionAttributeValues={":e": [{"timestamp": "2026-03-02T10:06:00Z", "status": "worklog",
                                                         "description": "operator: rolled forward"}]})
    assert _record(["ENC-TSK-325"]).already == ["ENC-TSK-325"]
    texts = [h.get("description") for h in _history("ENC-TSK-325")]
    assert texts.count(LINE) == 1 and "operator: rolled forward" in texts and "first note" in texts
    assert texts.index(LINE) < texts.index("operator: rolled forward")  # appended, in order, nothing replaced
