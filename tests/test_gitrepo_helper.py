"""The test repository builder stages a commit's files in one call and reads HEAD from its ref file;
both must leave exactly what the one-call-per-file, ``rev-parse`` way left (the SHAs tests pin)."""

from __future__ import annotations

import subprocess

from tests.gitrepo import GitRepo


def _tree(repo: GitRepo) -> str:
    return repo.git("ls-tree", "-r", "HEAD")


def test_one_staging_call_gives_the_index_a_call_per_file_gave(tmp_path):
    batched = GitRepo(tmp_path / "batched").init()
    by_file = GitRepo(tmp_path / "by_file").init()
    files = {"a.txt": "a\n", "dir/b.bin": b"\x00\x01", "dir/sub/c.txt": "c\n"}
    first = batched.commit("first", files)
    for name, content in files.items():  # the old way, by hand: one add per file
        target = by_file.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content if isinstance(content, bytes) else content.encode())
        by_file.git("add", "--", name)
    by_file.git("commit", "-q", "--no-verify", "--cleanup=verbatim", "-F", "-",
                env=by_file._commit_env(None, None, None, None), input=b"first")
    assert first == by_file.rev("HEAD")  # same tree, same clock: the same commit
    second = batched.commit("second", {"a.txt": None, "dir/b.bin": "now text\n", "new.txt": "n\n"})
    names = [ln.split("\t", 1)[1] for ln in _tree(batched).splitlines()]
    assert names == ["dir/b.bin", "dir/sub/c.txt", "new.txt"]
    assert batched.git("show", "HEAD:dir/b.bin") == "now text"
    assert second == batched.rev("HEAD") and second != first


def test_head_reads_the_ref_git_wrote_and_falls_back_where_it_cannot(tmp_path):
    repo = GitRepo(tmp_path / "r").init()
    sha = repo.commit("one", {"f": "1\n"})
    assert sha == repo.rev("HEAD") and len(sha) == 40
    repo.git("pack-refs", "--all")  # the loose ref is gone: only packed-refs has it
    assert not (repo.path / ".git" / "refs" / "heads" / "main").exists()
    assert repo.head() == sha
    repo.git("checkout", "-q", "--detach")
    assert repo.head() == sha  # a detached HEAD holds the SHA itself
    repo.git("checkout", "-q", "main")
    (repo.path / ".git" / "HEAD").write_text("ref: refs/heads/../../../outside\n")
    try:
        repo.head()
    except RuntimeError:
        pass  # falls back to git, which refuses such a HEAD: never a file outside .git read as a SHA
    else:
        raise AssertionError("a HEAD naming a path outside refs/ was read")
    subprocess.run(["git", "-C", str(repo.path), "symbolic-ref", "HEAD", "refs/heads/main"], check=True)
    assert repo.head() == sha
