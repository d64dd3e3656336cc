"""The shared synthetic-history writer (compliance.base.synthetic) that the demo, the benchmarks and the
tests' GitHub payloads all use: git reads what it writes, and the steps add up."""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta, timezone

from compliance.base import synthetic


def test_a_fast_import_stream_is_read_by_git_with_dates_merges_and_modes(tmp_path):
    pacific = timezone(timedelta(hours=-8))
    when = datetime(2026, 2, 25, 10, 0, tzinfo=pacific)
    who = "Zoë Ωmega <zoe@example.com>"
    stream = b"".join([
        synthetic.commit("refs/heads/main", 1, who, synthetic.raw_date(when), who, synthetic.raw_date(when),
                         "first\n", [], [("100644", "a.txt", "é\n".encode()), ("100755", "run.sh", b"true\n")]),
        synthetic.commit("refs/heads/side", 2, who, "1772042400 +0000", who, "1772042400 +0000", "side\n", [1],
                         [("100644", "b.txt", b"b\n")]),
        synthetic.commit("refs/heads/main", 3, who, "1772046000 +0000", who, "1772046000 +0000", "merge\n", [1, 2],
                         [("100644", "b.txt", b"b\n"), ("100755", "run.sh", b"true\n")], deleteall=True),
    ]) + b"done\n"
    git = ["git", "-C", str(tmp_path)]
    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path)], check=True)
    subprocess.run([*git, "fast-import", "--quiet", "--done"], input=stream, check=True)
    log = subprocess.run([*git, "log", "--format=%P|%ad|%s", "--date=iso-strict", "main"], check=True,
                         capture_output=True, text=True).stdout.splitlines()
    by_subject = {line.split("|")[2]: line.split("|") for line in log}
    assert log[0].startswith(by_subject["merge"][0]) and sorted(by_subject) == ["first", "merge", "side"]
    assert len(by_subject["merge"][0].split()) == 2  # the merge has both parents
    assert by_subject["first"][1] == "2026-02-25T10:00:00-08:00"  # the offset is kept, not turned into UTC
    tree = subprocess.run([*git, "ls-tree", "main"], check=True, capture_output=True, text=True).stdout
    assert "100755 blob" in tree and "run.sh" in tree and "a.txt" not in tree  # deleteall: the whole tree


def test_data_counts_bytes_not_characters():
    assert synthetic.data("é".encode()) == b"data 2\n\xc3\xa9\n"


def test_completed_steps_follow_each_other():
    start = datetime(2026, 2, 25, 8, 0, tzinfo=timezone.utc)
    steps, end = synthetic.completed_steps(start, [("Checkout", 3), ("Deploy", 60)])
    assert [s["number"] for s in steps] == [1, 2] and {s["conclusion"] for s in steps} == {"success"}
    assert steps[0]["completed_at"] == steps[1]["started_at"] == "2026-02-25T08:00:03Z"
    assert end == start + timedelta(seconds=63)
