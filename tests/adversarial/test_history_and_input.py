"""History tricks and impossible input: what is audited is the recorded chain, and nothing escapes by its date.

Real repositories built in temp dirs; every case goes through the real git source (and the CLI
where a user would see the result). Each trick is shaped to look clean: a replaced commit, a
graft that skips the failing change, a commit whose date puts it outside every window.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from compliance.cli import main
from compliance.judge.engine import Context
from compliance.model.rules import Scope
from compliance.sources.base import Meter, run_source
from compliance.sources.git import collect_git
from tests.gitrepo import GitRepo
from tests.snapshot_docs import good_snapshot

API = "backend/lambda/coordination_api/app.py"
UTC = timezone.utc


def _collect(repo: GitRepo, since: datetime | None = None, meter: Meter | None = None) -> dict:
    return collect_git(str(repo.path), "main", since, meter=meter if meter is not None else Meter())


def _changes(capsys, repo: GitRepo, *argv: str) -> tuple[int, list[dict], str]:
    code = main(["changes", "--repo", str(repo.path), "--format", "json", *argv])
    cap = capsys.readouterr()
    assert "Traceback" not in cap.err
    return code, [json.loads(line) for line in cap.out.splitlines()], cap.err


@pytest.fixture
def three(tmp_path):
    """a -> bad (touches the API, the change a trick wants to hide) -> c, one day apart."""
    repo = GitRepo(tmp_path / "r").init()
    a = repo.commit("a", {"README.md": "a\n"}, author_date="2026-03-01T10:00:00Z")
    bad = repo.commit("unreviewed API change", {API: "evil\n"}, author_date="2026-03-02T10:00:00Z")
    c = repo.commit("c", {"docs/x.md": "c\n"}, author_date="2026-03-03T10:00:00Z")
    return repo, a, bad, c


# --------------------------------------------------------------------------- replace refs and grafts

def test_replace_ref_cannot_hide_a_change(three, capsys):
    repo, a, bad, c = three
    repo.git("replace", "--graft", c, a)  # git log would now show c's parent as a: `bad` vanishes
    assert bad not in repo.git("log", "--format=%H", "main")  # the trick works on plain git
    meter = Meter()
    data = _collect(repo, meter=meter)
    assert [x["sha"] for x in data["commits"]] == [a, bad, c]
    assert any("replace ref" in w and "ignored" in w for w in meter.warnings), meter.warnings
    code, rows, err = _changes(capsys, repo, "--since", "2026-03-01", "--until", "2026-03-31", "--path", API)
    assert code == 0 and [r["sha"] for r in rows] == [bad]
    assert "warning:" in err and "replace ref" in err


def test_replace_of_a_commit_object_is_not_read_either(three):
    """`git replace OLD NEW` with a whole new commit (other files, other subject) is ignored too."""
    repo, a, bad, c = three
    tree = repo.git("rev-parse", f"{a}^{{tree}}")
    fake = repo.git("commit-tree", tree, "-p", a, "-m", "harmless docs tweak", env={
        **repo.env(), "GIT_AUTHOR_DATE": "2026-03-02T10:00:00Z", "GIT_COMMITTER_DATE": "2026-03-02T10:00:00Z"})
    repo.git("replace", bad, fake)
    data = _collect(repo)
    rec = next(x for x in data["commits"] if x["sha"] == bad)
    assert rec["subject"] == "unreviewed API change" and [f["path"] for f in rec["files"]] == [API]


def test_grafts_file_is_ignored_and_reported(three, capsys):
    repo, a, bad, c = three
    (repo.path / ".git" / "info").mkdir(exist_ok=True)
    (repo.path / ".git" / "info" / "grafts").write_text(f"{c} {a}\n", "ascii")
    assert bad not in repo.git("log", "--format=%H", "main")  # git itself honours the graft
    meter = Meter()
    data = _collect(repo, meter=meter)
    assert [x["sha"] for x in data["commits"]] == [a, bad, c]
    assert any("grafts file" in w and "ignored" in w for w in meter.warnings), meter.warnings
    env = run_source("git", "r", lambda m: _collect(repo, meter=m))
    assert any("grafts" in w for w in env["provenance"]["warnings"])  # what every report lists per source


def test_empty_grafts_file_is_no_warning(three):
    repo, *_ = three
    (repo.path / ".git" / "info").mkdir(exist_ok=True)
    (repo.path / ".git" / "info" / "grafts").write_text("# nothing\n", "ascii")
    meter = Meter()
    _collect(repo, meter=meter)
    assert meter.warnings == []


def test_shallow_clone_is_still_recognised(three, tmp_path):
    repo, *_ = three
    shallow = repo.clone(tmp_path / "shallow", "--depth", "1", "--no-single-branch")
    meter = Meter()
    data = collect_git(str(shallow), "main", None, meter=meter)
    assert data["shallow"] is True and len(data["commits"]) == 1
    assert any("shallow clone" in w for w in meter.warnings)


# --------------------------------------------------------------------------- dates are claims

def test_backdated_commit_between_window_commits_is_a_change(tmp_path, capsys):
    repo = GitRepo(tmp_path / "r").init()
    repo.commit("old", {"README.md": "o\n"}, author_date="2026-01-10T00:00:00Z")
    first = repo.commit("in window", {API: "1\n"}, author_date="2026-03-02T00:00:00Z")
    sneaky = repo.commit("backdated API change", {API: "2\n"}, author_date="2026-03-03T00:00:00Z",
                         committer_date="2025-06-01T00:00:00Z")
    last = repo.commit("later", {API: "3\n"}, author_date="2026-03-04T00:00:00Z")
    code, rows, err = _changes(capsys, repo, "--since", "2026-03-01", "--until", "2026-03-31", "--path", API)
    assert code == 0 and [r["sha"] for r in rows] == [first, sneaky, last]
    assert "out of order" in err and sneaky[:12] in err


def test_backdated_commit_pushed_just_before_the_window_start_is_kept(tmp_path, capsys):
    """Dated before --since and before its own parent: it was committed after the parent, so it may be ours."""
    repo = GitRepo(tmp_path / "r").init()
    repo.commit("old", {"README.md": "o\n"}, author_date="2026-02-10T00:00:00Z")
    sneaky = repo.commit("backdated", {API: "x\n"}, author_date="2026-03-05T00:00:00Z",
                         committer_date="2026-01-01T00:00:00Z")
    after = repo.commit("in window", {API: "y\n"}, author_date="2026-03-06T00:00:00Z")
    code, rows, _ = _changes(capsys, repo, "--since", "2026-03-01", "--until", "2026-03-31", "--path", API)
    assert [r["sha"] for r in rows] == [sneaky, after]


def test_backdated_head_is_kept(tmp_path, capsys):
    repo = GitRepo(tmp_path / "r").init()
    repo.commit("old", {"README.md": "o\n"}, author_date="2026-02-10T00:00:00Z")
    sneaky = repo.commit("backdated head", {API: "x\n"}, committer_date="2026-01-01T00:00:00Z",
                         author_date="2026-01-01T00:00:00Z")
    code, rows, _ = _changes(capsys, repo, "--since", "2026-03-01", "--until", "2026-03-31", "--path", API)
    assert [r["sha"] for r in rows] == [sneaky]


def test_control_in_order_history_keeps_its_window(tmp_path, capsys):
    repo = GitRepo(tmp_path / "r").init()
    repo.commit("before", {API: "0\n"}, author_date="2026-02-20T00:00:00Z")
    inside = repo.commit("inside", {API: "1\n"}, author_date="2026-03-10T00:00:00Z")
    repo.commit("after", {API: "2\n"}, author_date="2026-04-10T00:00:00Z")
    code, rows, err = _changes(capsys, repo, "--since", "2026-03-01", "--until", "2026-03-31", "--path", API)
    assert code == 0 and [r["sha"] for r in rows] == [inside]
    assert "warning" not in err


def test_engine_window_follows_the_chain():
    """A hand-made snapshot: the engine applies the same chain window as the collector."""
    def commit(n: int, when: str) -> dict:
        return {"sha": f"{n}" * 40, "parents": [f"{n - 1}" * 40] if n > 1 else [], "kind": "direct_push",
                "pr": None, "subject": f"c{n}", "body": "", "source_branch": None, "author": "a",
                "authored_at": when, "committed_at": when, "files": [{"path": API, "status": "M"}],
                "task_ids": []}
    commits = [commit(1, "2026-02-01T00:00:00Z"), commit(2, "2026-03-02T00:00:00Z"),
               commit(3, "2025-01-01T00:00:00Z"), commit(4, "2026-03-04T00:00:00Z"),
               commit(5, "2026-04-02T00:00:00Z")]
    snap = {"target": {"branch": "main"}, "collected_at": "2026-04-05T00:00:00Z",
            "window": {"since": "2026-03-01T00:00:00Z", "until": "2026-03-31T23:59:59Z", "branch": "main"},
            "sources": {"git": {"status": "ok", "data": {"branch": "main", "commits": commits}}}}
    got = [c.commit["subject"] for c in Context(snap).changes(Scope())]
    assert got == ["c2", "c3", "c4"]


def test_out_of_order_dates_are_listed_but_capped(tmp_path):
    repo = GitRepo(tmp_path / "r").init()
    repo.commit("future-dated", {"a": "0"}, author_date="2026-06-01T00:00:00Z")
    for i in range(25):
        repo.commit(f"c{i}", {"a": str(i)}, author_date=f"2026-03-{i + 1:02d}T00:00:00Z")
    meter = Meter()
    _collect(repo, meter=meter)
    dated = [w for w in meter.warnings if "out of order" in w]
    assert len(dated) == 20 and any("5 more commit(s)" in w for w in meter.warnings)


def test_packed_replace_refs_are_ignored_too(three):
    repo, a, bad, c = three
    repo.git("replace", "--graft", c, a)
    repo.git("pack-refs", "--all")
    assert not (repo.path / ".git" / "refs" / "replace").exists() or not any(
        (repo.path / ".git" / "refs" / "replace").iterdir())
    meter = Meter()
    assert [x["sha"] for x in _collect(repo, meter=meter)["commits"]] == [a, bad, c]
    assert any("replace ref" in w for w in meter.warnings)


def test_replace_ref_base_from_the_environment_cannot_reroute(three, monkeypatch):
    repo, a, bad, c = three
    repo.git("update-ref", "refs/other/" + c, repo.git("replace", "--graft", c, a) or repo.git("rev-parse",
                                                                                               f"refs/replace/{c}"))
    repo.git("update-ref", "-d", f"refs/replace/{c}")
    monkeypatch.setenv("GIT_REPLACE_REF_BASE", "refs/other/")
    assert bad not in repo.git("log", "--format=%H", "main", env={**repo.env(), "GIT_REPLACE_REF_BASE": "refs/other/"})
    assert [x["sha"] for x in _collect(repo)["commits"]] == [a, bad, c]


def test_impossible_run_time_in_a_snapshot_is_an_input_error(tmp_path, capsys):
    doc = good_snapshot()
    doc["sources"]["github"] = {"status": "ok", "provenance": {"kind": "file", "requested": "r",
                                "started_at": "2026-03-31T00:00:00Z", "duration_ms": 1, "requests": 0},
                                "data": {"workflow": "w.yml", "runs": [{
                                    "id": 1, "head_sha": "1" * 40, "head_branch": "main", "event": "push",
                                    "status": "completed", "conclusion": "success",
                                    "created_at": "2026-03-01T00:00:00Z", "updated_at": "2026-02-30T00:05:00Z"}]},
                                "error": None}
    snap = tmp_path / "snapshot.json"
    snap.write_text(json.dumps(doc), "utf-8")
    code = main(["evaluate", "--snapshot", str(snap), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "$.sources.github.data.runs[0].updated_at: not a real date" in err, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("value", ["2026-02-30T00:00:00.000Z", "2023-02-29T00:00:00Z", "2026-06-30T23:59:60Z"])
def test_other_impossible_shapes_in_the_window(tmp_path, capsys, value):
    doc = good_snapshot()
    doc["window"]["since"] = value
    snap = tmp_path / "snapshot.json"
    snap.write_text(json.dumps(doc), "utf-8")
    code = main(["evaluate", "--snapshot", str(snap), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "$.window.since: not a real date" in err, err


def test_impossible_time_deep_in_a_previous_report(tmp_path, capsys):
    snap = tmp_path / "snapshot.json"
    snap.write_text(json.dumps(good_snapshot()), "utf-8")
    previous = tmp_path / "prev.json"
    previous.write_text(json.dumps({"findings": [{"rule_id": "R", "subject_type": "change", "subject": "s",
                                                  "status": "fail", "evidence": [{"time": "2026-04-31T00:00:00Z"}]}]}),
                        "utf-8")
    code = main(["evaluate", "--snapshot", str(snap), "--previous", str(previous), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "$.findings[0].evidence[0].time: not a real date" in err, err


def test_forward_dated_commit_is_a_source_warning(tmp_path):
    repo = GitRepo(tmp_path / "r").init()
    repo.commit("now", {"a": "0"}, author_date="2026-03-01T00:00:00Z")
    future = repo.commit("dated years ahead", {API: "x"}, author_date="2099-01-01T00:00:00Z")
    meter = Meter()
    _collect(repo, since=datetime(2026, 2, 1, tzinfo=UTC), meter=meter)
    assert any(future[:12] in w and "after this collection" in w for w in meter.warnings), meter.warnings
