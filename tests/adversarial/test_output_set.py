"""The report folder under attack: killed runs, concurrent runs, litter, planted files and links.

Every test runs the real CLI; the crash tests run it in a real subprocess that SIGKILLs itself at
a chosen point of publishing (the kill is injected by wrapping the one function at that point, the
rest of the run is the real code). Runs that only prepare a folder or need only the exit code are
``main()`` in this process (a subprocess costs an interpreter and every import); runs whose being
another process matters (killed, concurrent, holding or waiting for the lock, a live writer's pid,
the entry point's stderr) stay subprocesses. Afterwards a reader opening ``<out>/report.json`` and
``<out>/snapshot.json`` must find one run's pair: the report names the digest of the snapshot.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from compliance.cli import main
from tests.live_system import no_temp_files, one_generation
from tests.reportfile import read_report

ROOT = Path(__file__).resolve().parents[2]
POLICIES = str(ROOT / "policies")

# Runs the CLI with one function wrapped to SIGKILL the process at KILL_AT (see _points).
HARNESS = r"""
import os, signal, sys
import compliance.base.fsutil as f

point, n = os.environ["KILL_AT"].split(":")
n = int(n)
calls = {"n": 0}

def die():
    os.kill(os.getpid(), signal.SIGKILL)

def counted(real):
    def wrapper(*a, **k):
        result = real(*a, **k)
        calls["n"] += 1
        if calls["n"] == n:
            die()
        return result
    return wrapper

if point == "write":
    f.StagedSet.write = counted(f.StagedSet.write)
elif point == "copy":
    f.StagedSet.copy = counted(f.StagedSet.copy)
elif point in ("before-switch", "after-switch", "after-previous"):
    real = f._symlink
    def link(target, path):
        if point == "before-switch" and path.name == ".current":
            die()
        real(target, path)
        if (point == "after-switch" and path.name == ".current") or (
                point == "after-previous" and path.name == ".previous"):
            die()
    f._symlink = link

from compliance.cli import main
sys.exit(main(sys.argv[1:]))
"""

POINTS = ["write:1", "write:3", "write:4", "before-switch:0", "after-switch:0", "after-previous:0"]


@pytest.fixture(scope="module")
def snapshots(small_snapshots) -> tuple[Path, Path]:
    """Two different snapshots (A, and A collected a day later) of the demo system, cut to one change:
    these tests are about the folder, not the demo's content (``test_the_small_snapshot_makes_every_file``)."""
    return small_snapshots


@pytest.fixture(scope="module")
def first_run(snapshots, tmp_path_factory):
    """``start(out)``: ``out`` holds the set a first ``evaluate`` of A publishes, as the tests start from.

    That run is the same for every test that starts from it, so it is run once per module and its folder
    copied (the set's relative symlinks kept as links); what each test proves is the run after it."""
    first = tmp_path_factory.mktemp("first") / "out"
    assert main(_args(snapshots[0], first)) == 2  # the demo's verdict is ERROR

    def start(out: Path) -> None:
        shutil.copytree(first, out, symlinks=True)

    return start


def _args(snapshot: Path, out: Path, *extra: str) -> list[str]:
    return ["evaluate", "--snapshot", str(snapshot), "--policies", POLICIES, "--out", str(out), "--no-waivers", *extra]


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", HARNESS if env else "import sys\nfrom compliance.cli import "
                           "main\nsys.exit(main(sys.argv[1:]))", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, cwd=ROOT, timeout=300)


def _digest_of_report(out: Path) -> str:
    return read_report(out / "report.json")["snapshot"]["digest"]


def _sets(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.name.startswith(".set-"))


@pytest.mark.parametrize("point", POINTS)
def test_sigkill_anywhere_leaves_one_complete_run(snapshots, first_run, tmp_path, point):
    _, b = snapshots
    out = tmp_path / "out"
    first_run(out)
    old = _digest_of_report(out)
    killed = _run(_args(b, out), KILL_AT=point)
    assert killed.returncode == -9, killed.stderr
    assert one_generation(out)  # report.json and snapshot.json are one run's
    published = _digest_of_report(out)
    assert published == old if point.split(":")[0] in ("write", "before-switch") else published != old
    for name in ("report.md", "report.html", "report.json"):
        assert (out / name).is_file()
    # the next run cleans what the killed one left and publishes normally
    assert main(_args(b, out)) == 2
    assert one_generation(out) and _digest_of_report(out) != old
    assert no_temp_files(out) == [] and len(_sets(out)) <= 2


def test_two_concurrent_runs_never_mix_their_files(snapshots, tmp_path):
    a, b = snapshots
    out = tmp_path / "out"
    base = [sys.executable, "-c", "import sys\nfrom compliance.cli import main\nsys.exit(main(sys.argv[1:]))"]
    for _ in range(3):
        procs = [subprocess.Popen([*base, *_args(s, out)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for s in (a, b)]
        results = [p.communicate(timeout=300) for p in procs]
        assert [p.returncode for p in procs] == [2, 2], results
        assert all("another run" not in err for _, err in results)  # the second waited within the timeout
        assert one_generation(out) and no_temp_files(out) == [] and len(_sets(out)) <= 2


def _hold_lock(out: Path) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys\nfrom pathlib import Path\nfrom compliance.base.fsutil import folder_lock\n"
         "with folder_lock(Path(sys.argv[1])):\n    print('locked', flush=True)\n    sys.stdin.read()\n", str(out)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_a_locked_folder_makes_the_second_run_exit_2_or_wait(snapshots, tmp_path):
    a, _ = snapshots
    out = tmp_path / "out"
    holder = _hold_lock(out)
    try:
        refused = _run(_args(a, out, "--lock-timeout", "0.2"))
        assert refused.returncode == 2 and f"another run is writing {out}" in refused.stderr
        assert "Traceback" not in refused.stderr and not (out / "report.json").exists()
        waiting = subprocess.Popen([sys.executable, "-m", "compliance", *_args(a, out, "--lock-timeout", "120")],
                                   cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    _, err = waiting.communicate(timeout=300)
    assert waiting.returncode == 2 and "another run" not in err and one_generation(out)


def test_a_killed_lock_holder_does_not_lock_the_folder_forever(snapshots, tmp_path):
    a, _ = snapshots
    out = tmp_path / "out"
    holder = _hold_lock(out)
    holder.kill()
    holder.wait(timeout=60)
    done = _run(_args(a, out, "--lock-timeout", "5"))
    assert done.returncode == 2 and "another run" not in done.stderr and one_generation(out)


def test_litter_of_killed_runs_is_cleaned_and_a_live_writers_temp_file_is_not(snapshots, first_run, tmp_path):
    _, b = snapshots
    out = tmp_path / "out"
    first_run(out)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    legacy = out / ".report.json.k3x9q2_a.tmp"  # the old naming: no pid, cleaned by age
    legacy.write_bytes(b"x" * 1000)
    os.utime(legacy, (time.time() - 3600, time.time() - 3600))
    fresh_legacy = out / ".report.html.ab12cd34.tmp"  # could be a writer of the old version still at work
    fresh_legacy.write_text("x")
    of_dead = out / f".report.json.{dead_pid}.zz99.tmp"
    of_dead.write_text("x")
    of_live = out / f".deploy-state.json.{os.getpid()}.live.tmp"  # this test process is alive
    of_live.write_text("x")
    staging = out / f".set-{dead_pid}-deadbeef"
    staging.mkdir()
    (staging / "report.json").write_text("{half")
    assert _run(_args(b, out)).returncode == 2
    assert not legacy.exists() and not of_dead.exists() and not staging.exists()
    assert of_live.exists() and fresh_legacy.exists()
    assert one_generation(out) and len(_sets(out)) == 2  # the new set and the one it replaced


def test_a_folder_an_older_version_wrote_becomes_one_set(snapshots, tmp_path):
    """Plain report.* / snapshot.json / waivers.yaml files become links; stale names are retired."""
    a, _ = snapshots
    out = tmp_path / "out"
    out.mkdir()
    for name in ("report.json", "report.md", "report.sarif", "snapshot.json", "waivers.yaml"):
        (out / name).write_text("old")
    (out / "notes.txt").write_text("mine")  # not ours: never touched
    assert main(_args(a, out)) == 2
    assert one_generation(out) and (out / "report.json").is_symlink()
    assert not (out / "report.sarif").exists() and not (out / "waivers.yaml").exists()
    assert (out / "notes.txt").read_text() == "mine"


def test_a_planted_link_is_replaced_not_followed(snapshots, tmp_path):
    a, _ = snapshots
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.json"
    victim.write_text("precious")
    (out / "report.json").symlink_to(victim)
    (out / ".current").symlink_to(tmp_path)  # a pointer somewhere else entirely
    assert main(_args(a, out)) == 2
    assert victim.read_text() == "precious" and one_generation(out)
    assert os.readlink(out / "report.json") == ".current/report.json"


def test_formats_not_asked_for_any_more_are_gone_with_the_old_set(snapshots, tmp_path):
    a, b = snapshots
    out = tmp_path / "out"
    assert main(_args(a, out, "--format", "md,html,json,sarif,junit")) == 2
    assert (out / "report.sarif").is_file()
    assert main(_args(b, out, "--format", "json")) == 2
    names = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert names == ["report.json", "snapshot.json"] and one_generation(out)


def test_the_previous_set_stays_readable_for_one_more_run(snapshots, first_run, tmp_path):
    """A reader that resolved .current before a run finishes can still read that whole set."""
    _, b = snapshots
    out = tmp_path / "out"
    first_run(out)
    pinned = out / os.readlink(out / ".current")
    before = (pinned / "report.json").read_bytes()
    assert main(_args(b, out)) == 2
    assert (pinned / "report.json").read_bytes() == before
    assert os.readlink(out / ".previous") == pinned.name


def test_backtest_and_merge_write_through_the_same_set(snapshots, first_run, tmp_path):
    """Every mode that writes a folder publishes a set: backtest --out and merge as well as evaluate."""
    a, _ = snapshots
    bt = tmp_path / "bt"
    assert main(["backtest", "--policy", str(ROOT / "policies" / "api-mcp-runbook.yaml"), "--snapshot", str(a),
                 "--out", str(bt)]) == 0
    assert os.readlink(bt / "report.json") == ".current/report.json" and one_generation(bt)
    first_run(tmp_path / "x")
    merged = tmp_path / "merged"
    (merged / "report.json").parent.mkdir()
    (merged / "report.json").write_text("stale")  # an older plain file is replaced by the set's link
    done = _run(["merge", str(tmp_path / "x" / "report.json"), "--out", str(merged), "--format", "md,json,sarif"])
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert os.readlink(merged / "report.json") == ".current/report.json"
    assert read_report(merged / "report.json")["targets"]
    assert no_temp_files(merged) == [] and _sets(merged) and len(_sets(merged)) == 1


def test_the_small_snapshot_makes_every_file_of_the_set(snapshots, demo_run, tmp_path):
    """The control for the cut snapshot: every stage still runs (one judged change, every verdict the
    exit code depends on) and every file of a set is written, so no test above skips a stage silently."""
    a, b = snapshots
    out = tmp_path / "out"
    waivers = demo_run[1] / "work" / "waivers.yaml"
    assert main(["evaluate", "--snapshot", str(a), "--policies", POLICIES, "--out", str(out), "--waivers", str(waivers),
                 "--format", "md,html,json,sarif,junit"]) == 2
    names = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert names == ["report.html", "report.json", "report.junit.xml", "report.md", "report.sarif", "snapshot.json",
                     "waivers.yaml"]
    assert all((out / name).is_file() and (out / name).stat().st_size for name in names) and one_generation(out)
    report = read_report(out / "report.json")
    assert report["summary"]["verdict"] == "error" and report["summary"]["fail"] and report["summary"]["pass"]
    change = json.loads(a.read_text("utf-8"))["sources"]["git"]["data"]["commits"][1]["sha"]
    assert {f["subject"] for f in report["findings"] if f["subject_type"] == "change"} - {"-"} == {change[:12]}
    assert main(_args(b, tmp_path / "b")) == 2 and _digest_of_report(tmp_path / "b") != _digest_of_report(out)
