import json
import os
from datetime import datetime, timezone
from importlib import resources

import pytest
from jsonschema import Draft202012Validator

from compliance.base.errors import ComplianceError
from compliance.sources.base import Meter
from compliance.sources.git import GitRunner, collect_git
from compliance.sources.git_history import classify
from tests.gitrepo import GitRepo

# its module fixture is built once, on one worker (--dist loadfile keeps a file on one worker; the group keeps it so under loadgroup)
pytestmark = pytest.mark.xdist_group("test_git_source")

UNICODE_PATH = "docs/ünïcødé 文件.md"
ODD_PATH = "odd dir/a b#$&'\"(1)\\x;{}.txt"
API = "backend/lambda/coordination_api/app.py"


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """A main branch with every kind of first-parent commit, in three time zones."""
    repo = GitRepo(tmp_path_factory.mktemp("hist") / "repo").init()
    s = {}
    s["root"] = repo.commit(
        "initial import", {"README.md": "hello\n", API: "v1\n"}, author_date="2026-02-24T03:00:00-08:00"
    )
    repo.branch("agent/enc-tsk-734-fix")
    s["side1"] = repo.commit(
        "ENC-TSK-734 fix handler", {API: "v2\n", "docs/runbook.md": "rb\n"},
        author_date="2026-02-24T09:00:00-07:00",
    )
    s["side2"] = repo.commit("more fixes", {"tools/enceladus-mcp-server/s.py": "s\n"},
                             author_date="2026-02-24T10:00:00-07:00")
    repo.checkout("main")
    s["direct"] = repo.commit(
        "hotfix for ENC-ISS-640", {"tools/enceladus-mcp-server/x.py": "x\n"},
        author_date="2026-02-24T12:00:00+00:00", author="Zoë Ωmega",
    )
    s["pr"] = repo.merge_pr(
        12, "NX-2021-L", "agent/enc-tsk-734-fix", "Fix handler", body="Refs enc-iss-641",
        date="2026-02-25T00:31:02-08:00",
    )
    s["squash"] = repo.squash(13, "Tidy docs ENC-FTR-056", {"docs/a.md": "a\n"}, date="2026-02-25T09:00:00Z")
    repo.branch("local-work")
    repo.commit("local", {"notes.txt": "n\n"}, author_date="2026-02-25T10:00:00Z")
    repo.checkout("main")
    s["other"] = repo.merge("local-work", "Merge branch 'local-work'", date="2026-02-25T11:00:00Z")
    s["odd"] = repo.commit(
        "<b>html</b> & \x07bell \x1f unit",
        {UNICODE_PATH: "ünï\n", ODD_PATH: "odd\n", "README.md": None},
        author_date="2026-02-25T12:00:00-07:00",
        committer_date="2026-02-25T12:30:00-07:00",
    )
    s["fake_squash"] = repo.commit("Merge pull request #99 from someone/branch", {"x.txt": "x"},
                                   author_date="2026-02-25T20:00:00Z")
    return repo, s


def by_sha(data):
    return {c["sha"]: c for c in data["commits"]}


def collect(repo, **kw):
    kw.setdefault("meter", Meter())
    return collect_git(str(repo.path if isinstance(repo, GitRepo) else repo), kw.pop("branch", "main"),
                       kw.pop("since", None), **kw)


def paths(commit):
    return sorted(((f["status"], f["path"]) for f in commit["files"]), key=lambda sp: sp[1])


def test_first_parent_chain_oldest_first(history):
    repo, s = history
    data = collect(repo)
    assert [c["sha"] for c in data["commits"]] == [
        s["root"], s["direct"], s["pr"], s["squash"], s["other"], s["odd"], s["fake_squash"]
    ]
    assert data["head"] == s["fake_squash"] == repo.rev("main")
    assert data["branch"] == "main"
    assert data["shallow"] is False
    assert s["side1"] not in by_sha(data) and s["side2"] not in by_sha(data)


def test_kinds_pr_numbers_and_source_branch(history):
    repo, s = history
    c = by_sha(collect(repo))
    assert [(c[s[k]]["kind"], c[s[k]]["pr"], c[s[k]]["source_branch"]) for k in
            ("root", "direct", "pr", "squash", "other", "odd", "fake_squash")] == [
        ("root", None, None),
        ("direct_push", None, None),
        ("pr_merge", 12, "agent/enc-tsk-734-fix"),
        ("squash", 13, None),
        ("other_merge", None, None),
        ("direct_push", None, None),
        ("direct_push", None, None),  # a GitHub-looking subject with one parent is no merge
    ]
    assert c[s["root"]]["parents"] == []
    assert c[s["pr"]]["parents"] == [s["direct"], s["side2"]]
    assert c[s["squash"]]["parents"] == [s["pr"]]


def test_subject_and_body(history):
    repo, s = history
    pr = by_sha(collect(repo))[s["pr"]]
    assert pr["subject"] == "Merge pull request #12 from NX-2021-L/agent/enc-tsk-734-fix"
    assert pr["body"] == "Fix handler\n\nRefs enc-iss-641"


def test_merge_files_are_the_diff_against_the_first_parent(history):
    repo, s = history
    c = by_sha(collect(repo))
    # everything the PR brought, from both side-branch commits
    assert paths(c[s["pr"]]) == [("M", API), ("A", "docs/runbook.md"), ("A", "tools/enceladus-mcp-server/s.py")]
    assert paths(c[s["root"]]) == [("A", "README.md"), ("A", API)]
    assert paths(c[s["direct"]]) == [("A", "tools/enceladus-mcp-server/x.py")]
    assert paths(c[s["other"]]) == [("A", "notes.txt")]
    assert paths(c[s["squash"]]) == [("A", "docs/a.md")]


def test_rename_is_delete_plus_add(tmp_path):
    repo = GitRepo(tmp_path / "r").init()
    repo.commit("a", {"old/name.txt": "same content, long enough to be a rename\n" * 5})
    repo.path.joinpath("new").mkdir()
    repo.git("mv", "old/name.txt", "new/name.txt")
    sha = repo.commit("move")
    assert paths(by_sha(collect(repo))[sha]) == [("A", "new/name.txt"), ("D", "old/name.txt")]


def test_times_are_utc(history):
    repo, s = history
    c = by_sha(collect(repo))
    assert c[s["root"]]["authored_at"] == "2026-02-24T11:00:00Z"  # -08:00
    assert c[s["direct"]]["committed_at"] == "2026-02-24T12:00:00Z"  # +00:00
    assert c[s["pr"]]["committed_at"] == "2026-02-25T08:31:02Z"
    assert c[s["odd"]]["authored_at"] == "2026-02-25T19:00:00Z"  # -07:00
    assert c[s["odd"]]["committed_at"] == "2026-02-25T19:30:00Z"


def test_task_ids_from_subject_body_and_branch(history):
    repo, s = history
    c = by_sha(collect(repo))
    assert c[s["pr"]]["task_ids"] == ["ENC-TSK-734", "ENC-ISS-641"]
    assert c[s["direct"]]["task_ids"] == ["ENC-ISS-640"]
    assert c[s["squash"]]["task_ids"] == ["ENC-FTR-056"]
    assert c[s["root"]]["task_ids"] == []


def test_custom_id_pattern(history):
    repo, s = history
    c = by_sha(collect(repo, id_pattern=r"(?i)#(?P<id>\d+)"))
    assert c[s["pr"]]["task_ids"] == ["12"]
    assert c[s["squash"]]["task_ids"] == ["13"]


def test_branch_name_alone_yields_ids(tmp_path):
    repo = GitRepo(tmp_path / "r").init()
    repo.commit("base")
    repo.branch("agent/enc-tsk-b10-0a-retry")
    repo.commit("work")
    repo.checkout("main")
    sha = repo.merge_pr(5, "o", "agent/enc-tsk-b10-0a-retry", "No id in the title")
    commit = by_sha(collect(repo))[sha]
    assert commit["source_branch"] == "agent/enc-tsk-b10-0a-retry"
    assert commit["task_ids"] == ["ENC-TSK-B10-0A"]


def test_messages_and_authors_verbatim(history):
    repo, s = history
    c = by_sha(collect(repo))
    assert c[s["odd"]]["subject"] == "<b>html</b> & \x07bell \x1f unit"
    assert c[s["direct"]]["author"] == "Zoë Ωmega"
    assert "@" not in c[s["direct"]]["author"]


def test_non_ascii_and_special_paths_exact(history):
    repo, s = history
    data = collect(repo, files=[UNICODE_PATH, ODD_PATH])
    assert paths(by_sha(data)[s["odd"]]) == [("D", "README.md"), ("A", UNICODE_PATH), ("A", ODD_PATH)]
    assert data["files_at_head"] == {UNICODE_PATH: "ünï\n", ODD_PATH: "odd\n"}


def test_files_at_head(history):
    repo, _ = history
    data = collect(repo, files=[API, "README.md", "docs", "no/such/file", API])
    assert data["files_at_head"] == {API: "v2\n", "README.md": None, "docs": None, "no/such/file": None}


def test_files_at_head_invalid_utf8_is_replaced(tmp_path):
    repo = GitRepo(tmp_path / "r").init()
    repo.commit("bin", {"blob.bin": b"ok \xff\xfe end", "empty.txt": ""})
    data = collect(repo, files=["blob.bin", "empty.txt"])
    assert data["files_at_head"] == {"blob.bin": "ok \ufffd\ufffd end", "empty.txt": ""}


def test_since_filters_by_committer_time(history):
    repo, s = history
    meter = Meter()
    data = collect(repo, since=datetime(2026, 2, 25, 8, 31, 2, tzinfo=timezone.utc), meter=meter)
    # the window's boundary commit (the last one before it) comes first, as context for the chain order
    assert [c["sha"] for c in data["commits"]] == [s["direct"], s["pr"], s["squash"], s["other"], s["odd"],
                                                   s["fake_squash"]]
    # the merge still diffs against its first parent when read by sha
    assert paths(data["commits"][1]) == [("M", API), ("A", "docs/runbook.md"),
                                         ("A", "tools/enceladus-mcp-server/s.py")]
    assert meter.requests == 4  # rev-parse, for-each-ref, date walk, log


def test_since_uses_committer_not_author_time(history):
    repo, s = history
    # 'odd' was authored at 19:00Z but committed at 19:30Z
    data = collect(repo, since=datetime(2026, 2, 25, 19, 15, tzinfo=timezone.utc))
    assert [c["sha"] for c in data["commits"]] == [s["other"], s["odd"], s["fake_squash"]]


def test_since_before_everything_and_after_everything(history):
    repo, s = history
    assert len(collect(repo, since=datetime(2000, 1, 1, tzinfo=timezone.utc))["commits"]) == 7
    data = collect(repo, since=datetime(2030, 1, 1, tzinfo=timezone.utc))
    assert [c["sha"] for c in data["commits"]] == [s["fake_squash"]]  # only the boundary: nothing in the window
    assert data["head"] == s["fake_squash"]


def test_since_with_non_monotonic_committer_dates(tmp_path):
    repo = GitRepo(tmp_path / "r").init()
    a = repo.commit("a", {"f": "1"}, author_date="2026-01-01T00:00:00Z")
    b = repo.commit("b", {"f": "2"}, author_date="2026-01-10T00:00:00Z")
    c = repo.commit("c skewed clock", {"f": "3"}, author_date="2026-01-05T00:00:00-08:00")
    d = repo.commit("d", {"f": "4"}, author_date="2026-01-20T00:00:00Z")
    since = datetime(2026, 1, 8, tzinfo=timezone.utc)
    # c is dated before b, its own parent: it was committed after b, so it stays in the window with
    # b and d (window membership follows the chain); a is the boundary before the window
    meter = Meter()
    assert [x["sha"] for x in collect(repo, since=since, meter=meter)["commits"]] == [a, b, c, d]
    assert any(c[:12] in w and "out of order" in w for w in meter.warnings), meter.warnings
    naive = collect(repo, since=datetime(2026, 1, 8))  # naive means UTC
    assert [x["sha"] for x in naive["commits"]] == [a, b, c, d]


def test_requests_counted(history):
    repo, _ = history
    meter = Meter()
    collect(repo, meter=meter)
    assert meter.requests == 3
    meter = Meter()
    collect(repo, meter=meter, files=["README.md", API])
    assert meter.requests == 4
    assert meter.warnings == []


def test_bare_repository(history, tmp_path):
    repo, s = history
    bare = repo.clone(tmp_path / "bare.git", "--bare")
    data = collect(bare, files=[API])
    assert [c["sha"] for c in data["commits"]] == [c["sha"] for c in collect(repo)["commits"]]
    assert data["files_at_head"] == {API: "v2\n"}
    assert by_sha(data)[s["pr"]]["kind"] == "pr_merge"


def test_remote_tracking_branch_is_used_when_no_local_branch(history, tmp_path):
    repo, s = history
    repo.git("branch", "-f", "release", s["squash"])
    clone = repo.clone(tmp_path / "clone")
    data = collect(clone, branch="release")
    assert data["head"] == s["squash"]
    assert data["commits"][-1]["kind"] == "squash"


def test_local_branch_wins_over_remote(history, tmp_path):
    repo, s = history
    clone = GitRepo(repo.clone(tmp_path / "clone"))
    clone.git("checkout", "-q", "--detach", s["root"])
    clone.git("branch", "-f", "main", s["pr"])
    assert collect(clone.path)["head"] == s["pr"]


def test_shallow_clone_warns(history, tmp_path):
    repo, s = history
    shallow = repo.clone(tmp_path / "shallow", "--depth", "2")
    meter = Meter()
    data = collect(shallow, meter=meter)
    assert data["shallow"] is True
    assert [c["sha"] for c in data["commits"]] == [s["odd"], s["fake_squash"]]
    assert data["commits"][0]["kind"] == "root"  # git cannot see past the boundary
    assert any("shallow clone" in w and "may be missed" in w for w in meter.warnings)
    assert any(s["odd"] in w and "shallow boundary" in w for w in meter.warnings)


def test_missing_branch(history):
    repo, _ = history
    with pytest.raises(ComplianceError) as info:
        collect(repo, branch="nope")
    assert str(info.value) == (
        f"branch 'nope' not found in {repo.path} (looked for refs/heads/nope and refs/remotes/origin/nope)"
    )


def test_branch_prefix_is_not_a_match(history):
    repo, _ = history
    repo.git("branch", "-f", "feature/x", "main")
    with pytest.raises(ComplianceError, match="branch 'feature' not found"):
        collect(repo, branch="feature")


def test_not_a_repository(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(ComplianceError) as info:
        collect(plain)
    assert str(info.value) == f"{plain} is not a git repository"
    assert "Traceback" not in str(info.value)


def test_directory_inside_a_repository_is_not_that_repository(history):
    repo, _ = history
    with pytest.raises(ComplianceError, match="is not a git repository"):
        collect(repo.path / "docs")


def test_missing_path(tmp_path):
    with pytest.raises(ComplianceError, match="does not exist"):
        collect(tmp_path / "nowhere")


def test_git_not_installed(history, tmp_path, monkeypatch):
    repo, _ = history
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ComplianceError, match="git is not installed"):
        collect(repo)


def test_invalid_id_pattern_fails_before_git(history):
    repo, _ = history
    meter = Meter()
    with pytest.raises(ComplianceError, match="invalid task id pattern"):
        collect(repo, id_pattern="(", meter=meter)
    assert meter.requests == 0


def test_user_config_cannot_change_output(history, tmp_path, monkeypatch):
    repo, s = history
    cfg = tmp_path / "gitconfig"
    cfg.write_text("[log]\n\tshowRoot = false\n\tshowSignature = true\n[diff]\n\trenames = copies\n"
                   "\tnoprefix = true\n[core]\n\tquotepath = true\n[color]\n\tui = always\n")
    baseline = collect(repo)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(cfg))
    assert collect(repo) == baseline


def test_validates_against_snapshot_schema(history):
    repo, _ = history
    schema = json.loads(resources.files("compliance").joinpath("model/schemas/snapshot.schema.json").read_text())
    validator = Draft202012Validator({"$ref": "#/$defs/git", "$defs": schema["$defs"]})
    data = collect(repo, files=[API, "missing.txt"])
    errors = list(validator.iter_errors(data))
    assert errors == []
    json.dumps(data, ensure_ascii=False).encode("utf-8")  # snapshot-writable as UTF-8
    assert not Draft202012Validator({"$ref": "#/$defs/git", "$defs": schema["$defs"]}).is_valid(
        {**data, "head": 1}
    )


@pytest.mark.parametrize(
    "parents, subject, expected",
    [
        ([], "anything", ("root", None, None)),
        (["a", "b"], "Merge pull request #7 from o/feat/x-y", ("pr_merge", 7, "feat/x-y")),
        (["a", "b", "c"], "Merge pull request #7 from o/b", ("pr_merge", 7, "b")),
        (["a", "b"], "Merge pull request #7 from nobranch", ("other_merge", None, None)),
        (["a", "b"], "Merge branch 'x'", ("other_merge", None, None)),
        (["a"], "Add thing (#42)", ("squash", 42, None)),
        (["a"], "Add thing (#42) more", ("direct_push", None, None)),
        (["a"], "Merge pull request #7 from o/b", ("direct_push", None, None)),
    ],
)
def test_classify(parents, subject, expected):
    assert classify(parents, subject) == expected


def test_invalid_utf8_in_messages_and_paths_is_replaced_not_fatal(tmp_path):
    repo = GitRepo(tmp_path / "r").init()
    with open(os.fsencode(str(repo.path)) + b"/caf\xe9.txt", "wb") as fh:
        fh.write(b"x")
    repo.git("add", "-A")
    tree = repo.git("write-tree")
    # `git commit` would transcode a Latin-1 message; other tools write the bytes as they are
    raw = (
        f"tree {tree}\nauthor A <a@x> 1772000000 -0800\ncommitter A <a@x> 1772000000 -0800\n\n".encode()
        + b"latin1 caf\xe9 ENC-TSK-325\n\nbody \xff ok\n"
    )
    sha = repo.git("hash-object", "-t", "commit", "-w", "--stdin", input=raw)
    repo.git("update-ref", "refs/heads/main", sha)
    (commit,) = collect(repo)["commits"]
    assert commit["sha"] == sha
    assert commit["subject"] == "latin1 caf\ufffd ENC-TSK-325"
    assert commit["body"] == "body \ufffd ok"
    assert commit["files"] == [{"path": "caf\ufffd.txt", "status": "A"}]
    assert commit["task_ids"] == ["ENC-TSK-325"]
    assert commit["committed_at"] == "2026-02-25T06:13:20Z"


def test_reader_stops_cleanly_when_abandoned(history):
    repo, _ = history
    runner = GitRunner(str(repo.path), Meter())
    head, _ = runner.resolve_branch("main")
    stream = runner.log(head, None)
    first = next(stream)
    stream.close()  # must neither hang nor leave git running
    assert first["sha"] == head


def test_many_commits_stream_across_chunks(tmp_path):
    repo = GitRepo(tmp_path / "r").init()
    big = "x" * 300_000  # one record larger than a read chunk
    shas = [repo.commit(f"c{i} " + (big if i == 3 else ""), {f"f{i % 3}.txt": str(i)}) for i in range(8)]
    data = collect(repo)
    assert [c["sha"] for c in data["commits"]] == shas
    assert data["commits"][3]["subject"] == "c3 " + big


def test_git_error_reports_the_fatal_line_not_the_hints(history):
    repo, _ = history
    err = (b"fatal: detected dubious ownership in repository at '/r'\n"
           b"To add an exception for this directory, call:\n\n\tgit config --global --add safe.directory /r\n")
    message = str(GitRunner(str(repo.path), Meter())._fail("rev-parse", err))
    assert message == f"git rev-parse failed in {repo.path}: detected dubious ownership in repository at '/r'"


def test_environment_cannot_redirect_to_another_repository(history, tmp_path, monkeypatch):
    repo, s = history
    other = GitRepo(tmp_path / "other").init()
    other.commit("elsewhere")
    monkeypatch.setenv("GIT_DIR", str(other.path / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other.path))
    assert collect(repo)["head"] == s["fake_squash"]
