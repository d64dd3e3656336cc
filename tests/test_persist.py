"""One persistence path: every mode, killed between any two stages, leaves the old set or the new one.

Each mode runs once to publish an "old" set, then again on different input with a kill injected at
one stage of ``app.persist`` (judge, document, validate, stage a report, stage the snapshot, stage
the waivers, the commit). The kill is a ``BaseException`` (as an interrupt is), raised by wrapping
the real function at that point; one test kills a real process with ``os._exit``. Afterwards the
folder must hold one run's files: the report names the digest of the snapshot beside it, every
name leads into the same set, and ``waivers.yaml`` is there exactly when that run applied waivers.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from compliance.base import fsutil
from compliance.base.timeutil import utcnow
from compliance.cli import main
from compliance.demo import DEMO_SINCE, DEMO_UNTIL
from compliance.model.snapshot import load_snapshot
from tests.reportfile import read_report

# its module fixture is built once, on one worker (--dist loadfile keeps a file on one worker; the group keeps it so under loadgroup)
pytestmark = pytest.mark.xdist_group("test_persist")

ROOT = Path(__file__).resolve().parents[1]
POLICIES = str(ROOT / "policies")


class Killed(BaseException):
    """Stands for the process dying at that point: nothing after it runs, no handler turns it into an error."""


def _stage_points() -> dict[str, tuple[object, str, int]]:
    from compliance.app import persist

    return {
        "judge": (persist, "judge", 1),
        "document": (persist, "build_report", 1),
        "validate": (persist, "validate_snapshot", 1),
        "first-report": (fsutil.StagedSet, "write", 1),
        "snapshot": (fsutil.StagedSet, "write", 0),
        "waivers": (fsutil.StagedSet, "copy", 1),
        "commit": (fsutil.StagedSet, "commit", 1),
    }


ALL_POINTS = sorted(_stage_points())


def _kill_at(monkeypatch, point: str) -> None:
    """Wrap the function at ``point`` so that its n-th call dies (n=0: the call staging ``snapshot.json``)."""
    owner, name, nth = _stage_points()[point]
    real = getattr(owner, name)
    calls = {"n": 0}

    def wrapper(*args, **kwargs):
        calls["n"] += 1
        if (nth == 0 and args[1] == "snapshot.json") or calls["n"] == nth:
            raise Killed(point)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapper)


def one_set(out: Path) -> dict:
    """The set a reader finds in ``out``: fails unless it is exactly one run's files."""
    report = read_report(out / "report.json")
    snapshot = (out / "snapshot.json").read_bytes()
    assert report["snapshot"]["digest"] == "sha256:" + hashlib.sha256(snapshot).hexdigest()
    names = [p for p in out.iterdir() if p.name.startswith(("report.", "snapshot.", "waivers."))]
    sets = {Path(os.path.realpath(p)).parent.name for p in names}
    assert len(sets) == 1, f"files of {len(sets)} sets: {sorted(sets)}"
    waivers = out / "waivers.yaml"
    assert waivers.exists() == bool((report.get("waivers") or {}).get("file")), "waivers of another run"
    return {"digest": report["snapshot"]["digest"], "mode": report["mode"], "waivers": waivers.exists(),
            "set": sets.pop()}


def _killed_or_new(monkeypatch, point: str, run, out: Path, old: dict) -> None:
    """Run with the kill at ``point``: either it fired and the old set is intact, or it did not and the set is new."""
    killed = False
    with monkeypatch.context() as m:
        _kill_at(m, point)
        try:
            run()
        except Killed:
            killed = True
    if killed:
        assert one_set(out) == old, f"killed at {point}: the folder no longer holds the old set"
        run()  # the next run, unharmed, publishes its set over the litter
    new = one_set(out)
    assert new["digest"] != old["digest"] or new["set"] != old["set"]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def demo(demo_run, small_snapshots) -> dict:
    """The demo system (its config reads files and a local git repository; the session's one demo run,
    which these tests only read) and two different snapshots: the demo's cut to one change, as these
    tests are about the set, not the demo's content (the control: tests/adversarial/test_output_set.py's
    ``test_the_small_snapshot_makes_every_file_of_the_set``)."""
    code, base = demo_run
    assert code == 0
    a, b = small_snapshots
    day = load_snapshot(a)["sources"]["git"]["data"]["commits"][1]["committed_at"][:10]
    assert DEMO_SINCE <= day <= DEMO_UNTIL
    return {"work": base / "work", "config": str(base / "work" / "compliance.yaml"), "a": a, "b": b,
            "waivers": str(base / "work" / "waivers.yaml"), "out": base / "out",
            "window": ["--since", day, "--until", day]}  # an audit of the day of that one change


def _ok(argv: list[str]) -> None:
    assert main(argv) in (0, 1, 2)


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """``publish(argv, out)``: the set ``argv --out out`` publishes, as the "old" set a test starts from.

    The tests of one mode all start from the same first run (same input, same waivers), so it is run once
    per module and its folder copied into each test's ``out``, the set's relative symlinks kept as links:
    the copy is that run's folder byte for byte (``one_set`` checks it as it checks any set). What each
    test proves is the second run, the one killed, which stays its own."""
    made: dict[tuple[str, ...], Path] = {}

    def publish(argv: list[str], out: Path) -> None:
        key = tuple(argv)
        if key not in made:
            first = tmp_path_factory.mktemp("published") / "out"
            _ok([*argv, "--out", str(first)])
            made[key] = first
        shutil.copytree(made[key], out, symlinks=True)

    return publish


# --------------------------------------------------------------------------- one test per mode


@pytest.mark.parametrize("point", ALL_POINTS)
def test_evaluate_killed_at_any_stage_leaves_one_set(demo, published, tmp_path, monkeypatch, point):
    out = tmp_path / "out"
    published(["evaluate", "--snapshot", str(demo["a"]), "--policies", POLICIES, "--waivers", demo["waivers"]], out)
    old = one_set(out)
    assert old["waivers"]
    _killed_or_new(monkeypatch, point, lambda: _ok(["evaluate", "--snapshot", str(demo["b"]), "--policies",
                                                    POLICIES, "--out", str(out), "--no-waivers"]), out, old)
    assert not one_set(out)["waivers"]  # the new run applied none: the old file went with the old set


@pytest.mark.parametrize("point", ["judge", "first-report", "snapshot", "commit"])
def test_backtest_killed_at_any_stage_leaves_one_set(demo, published, tmp_path, monkeypatch, point):
    out = tmp_path / "out"
    published(["evaluate", "--snapshot", str(demo["a"]), "--policies", POLICIES, "--waivers", demo["waivers"]], out)
    old = one_set(out)
    _killed_or_new(monkeypatch, point, lambda: _ok(["backtest", "--policy", POLICIES, "--snapshot",
                                                    str(demo["b"]), "--out", str(out)]), out, old)
    new = one_set(out)
    assert new["mode"] == "backtest" and not new["waivers"]


@pytest.mark.parametrize("point", ["validate", "waivers", "commit"])
def test_audit_killed_at_any_stage_leaves_one_set(demo, published, tmp_path, monkeypatch, point):
    out = tmp_path / "out"
    audit = ["audit", "--config", demo["config"], *demo["window"]]
    published([*audit, "--waivers", demo["waivers"]], out)
    audit += ["--out", str(out)]
    old = one_set(out)
    _killed_or_new(monkeypatch, point, lambda: _ok([*audit, "--waivers", demo["waivers"]]), out, old)
    assert one_set(out)["mode"] == "audit"


@pytest.mark.parametrize("point", ["document", "commit"])
def test_demo_killed_at_any_stage_leaves_one_set(demo, tmp_path, monkeypatch, point):
    out = tmp_path / "out"
    runs = iter(range(2))

    def run() -> None:  # a fresh sample system each time: the demo builds into an empty folder
        assert main(["demo", "--workdir", str(tmp_path / f"work{next(runs)}"), "--out", str(out)]) == 0

    shutil.copytree(demo["out"], out, symlinks=True)  # the old set: the module's own demo run (see ``published``)
    old = one_set(out)
    _killed_or_new(monkeypatch, point, run, out, old)
    assert one_set(out)["mode"] == "demo"


def _head(repo: Path) -> str:
    return subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.mark.parametrize("point", ["first-report", "waivers", "commit"])
def test_pr_killed_at_any_stage_leaves_one_set(demo, published, tmp_path, monkeypatch, point):
    sha = _head(demo["work"] / "enceladus")
    pr = {"number": 7, "head_sha": sha, "title": "ENC-TSK-101 tighten the route table", "body": "",
          "head_ref": "feature/ENC-TSK-101", "base_ref": "main", "html_url": None,
          "files": [{"filename": "backend/lambda/coordination_api/app.py", "status": "modified"}]}
    monkeypatch.setattr("compliance.app.pr_check.fetch_pull_request", lambda repo, number, meter: dict(pr))
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    out = tmp_path / "out"
    run = ["pr", "--config", demo["config"], "--pr", "7", "--waivers", demo["waivers"]]
    published(run, out)
    run += ["--out", str(out)]
    old = one_set(out)
    _killed_or_new(monkeypatch, point, lambda: _ok(run), out, old)
    assert one_set(out)["mode"] == "pr"


def test_audit_process_killed_before_the_commit_leaves_the_old_set(demo, tmp_path):
    """A real death (``os._exit`` at the commit, no handler runs): the old set stays, the next run tidies."""
    out = tmp_path / "out"
    audit = ["audit", "--config", demo["config"], *demo["window"], "--out", str(out)]
    _ok(audit)
    old = one_set(out)
    harness = ("import os, sys\nimport compliance.base.fsutil as f\n"
               "f.StagedSet.commit = lambda self: os._exit(9)\n"
               "from compliance.cli import main\nsys.exit(main(sys.argv[1:]))\n")
    died = subprocess.run([sys.executable, "-c", harness, *audit, "--waivers", demo["waivers"]], cwd=ROOT,
                          capture_output=True, timeout=300)
    assert died.returncode == 9
    assert one_set(out) == old
    _ok([*audit, "--waivers", demo["waivers"]])
    new = one_set(out)
    assert new["waivers"] and new["set"] != old["set"]
    assert len([p for p in out.iterdir() if p.name.startswith(fsutil.SET_PREFIX)]) <= 2  # the litter is gone


# --------------------------------------------------------------------------- deploy


def _deploy_waivers(system, path: Path) -> str:
    """A valid waiver file for the deploy system's rules (unused: it only has to be carried or not)."""
    _, ruleset = system.load()
    today = utcnow().date()
    path.write_text(f"version: 1\nwaivers:\n  - rule: {ruleset.rules[0].id}\n    subject: {{sha: abcdef1}}\n"
                    f"    owner: lead@example.com\n    reason: incident\n    ticket: ENC-ISS-702\n"
                    f"    created: {today}\n    expires: {today + timedelta(days=30)}\n", "utf-8")
    return str(path)


def test_deploy_killed_while_persisting_leaves_one_set_and_evaluate_after_it_uses_no_old_waivers(
        deploy_system, tmp_path, monkeypatch, capsys):
    """Regression: a deploy into a folder an audit wrote with waivers used to leave that audit's
    waivers.yaml beside the deploy's snapshot, and ``evaluate --snapshot`` then applied them."""
    from tests.deploy_fixture import run_deploy

    system = deploy_system
    out = system.out_dir
    code, text = run_deploy(system)
    assert code == 0, text
    deployed = one_set(out)
    assert deployed["mode"] == "deploy" and not deployed["waivers"]

    # "the audit": the same folder, with waivers applied
    saved = tmp_path / "audit-snapshot.json"
    saved.write_bytes((out / "snapshot.json").read_bytes())
    waivers = _deploy_waivers(system, tmp_path / "w.yaml")
    _, ruleset = system.load()
    policies = [str(p) for p in system.load()[0].policies]
    _ok(["evaluate", "--snapshot", str(saved), "--policies", *policies, "--out", str(out), "--waivers", waivers])
    audited = one_set(out)
    assert audited["waivers"] and audited["mode"] == "evaluate"

    # a deploy killed while it persists: the audit's set is intact
    with monkeypatch.context() as m:
        _kill_at(m, "commit")
        with pytest.raises(Killed):
            run_deploy(system)
    assert one_set(out) == audited

    code, text = run_deploy(system)  # resumes: validates and persists without running the script again
    assert code == 0, text
    after = one_set(out)
    assert after["mode"] == "deploy" and not after["waivers"]
    assert not (out / "waivers.yaml").exists()

    capsys.readouterr()
    assert main(["evaluate", "--snapshot", str(out / "snapshot.json"), "--policies", *policies,
                 "--out", str(tmp_path / "again")]) in (0, 1, 2)
    err = capsys.readouterr().err
    assert "applying the waivers saved with the snapshot" not in err
    again = read_report(tmp_path / "again" / "report.json")
    assert not (again.get("waivers") or {}).get("file")
    assert again["snapshot"]["digest"] == after["digest"]


@pytest.fixture
def deploy_system(tmp_path, aws_env, http_server, monkeypatch):
    from tests.deploy_fixture import build_system, bump_last_modified_on_code_update

    bump_last_modified_on_code_update(monkeypatch)
    return build_system(tmp_path, http_server, upload="fast")  # about persisting, not the script's aws CLI


def test_evaluate_copies_its_canonical_snapshot_and_refuses_one_changed_while_judged(demo, tmp_path, monkeypatch,
                                                                                      capsys):
    """A snapshot file already canonical and masked is copied into the set, not re-encoded and held; a file
    replaced between reading and copying would pair the reports with a snapshot they were not judged from,
    so the run writes nothing and says why."""
    from compliance.app import persist

    snap = tmp_path / "snap.json"
    snap.write_bytes(demo["a"].read_bytes())
    out = tmp_path / "out"
    _ok(["evaluate", "--snapshot", str(snap), "--policies", POLICIES, "--out", str(out)])
    assert (out / "snapshot.json").read_bytes() == snap.read_bytes()
    assert read_report(out / "report.json")["snapshot"]["digest"] == \
        "sha256:" + hashlib.sha256(snap.read_bytes()).hexdigest()
    before = one_set(out)
    real = persist.build_report

    def swap_then_build(*args, **kwargs):
        snap.write_bytes(demo["b"].read_bytes())  # another snapshot, after this one was judged
        return real(*args, **kwargs)

    monkeypatch.setattr(persist, "build_report", swap_then_build)
    snap.write_bytes(demo["a"].read_bytes())
    capsys.readouterr()
    assert main(["evaluate", "--snapshot", str(snap), "--policies", POLICIES, "--out", str(out)]) == 2
    assert "changed while it was judged" in capsys.readouterr().err
    assert one_set(out) == before


# --------------------------------------------------------------------------- the snapshot staged first, streamed


def test_a_snapshot_is_staged_a_record_at_a_time_and_the_document_names_its_digest(demo, tmp_path, monkeypatch):
    """``write_set`` with ``snapshot_doc``: the file is the text ``snapshot_text`` gives (masked: a token
    planted in the data does not reach it), written from pieces, never one string; the document is built
    from the digest of the bytes written; a document that fails leaves the old set."""
    from compliance.model.snapshot import snapshot_text
    from compliance.report import write_set

    doc = load_snapshot(demo["a"])
    token = "ghp_" + "Q7w" * 12
    doc["sources"]["git"]["data"]["commits"][0]["body"] = f"pasted {token} by mistake"
    given: dict[str, object] = {}
    real = fsutil.StagedSet.write

    def write(self, name, text):
        given[name] = type(text)
        return real(self, name, text)

    monkeypatch.setattr(fsutil.StagedSet, "write", write)
    digests: list[str] = []

    def document(digest: str) -> dict:
        digests.append(digest)
        return {"report_version": 1, "mode": "audit", "snapshot": {"digest": digest}, "summary": {}, "findings": [],
                "changes": [], "rules": [], "sources": []}

    out = tmp_path / "out"
    _, written = write_set(document, out, ("json",), snapshot_doc=doc)
    saved = (out / "snapshot.json").read_bytes()
    assert saved == snapshot_text(doc).encode("utf-8") and token not in saved.decode("utf-8")
    assert digests == ["sha256:" + hashlib.sha256(saved).hexdigest()]
    assert given["snapshot.json"] is not str and written["snapshot"] == out / "snapshot.json"
    assert read_report(out / "report.json")["snapshot"]["digest"] == digests[0]

    def broken(digest: str) -> dict:
        raise Killed("document")

    with pytest.raises(Killed):
        write_set(broken, out, ("json",), snapshot_doc=load_snapshot(demo["b"]))
    assert (out / "snapshot.json").read_bytes() == saved and read_report(out / "report.json")["snapshot"]["digest"] \
        == digests[0]
    assert [p.name for p in out.iterdir() if p.name.startswith(".set-")] == [os.readlink(out / ".current")]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_a_snapshot_holding_nan_is_refused_where_it_is_and_the_old_set_stays(demo, tmp_path, value):
    """NaN/Infinity are not JSON: saved, the snapshot could never be read back (``evaluate`` refuses it) and
    the reports beside it could not be re-computed. Refused by path, before the set is published."""
    from compliance.base.errors import InputError
    from compliance.report import write_set

    out = tmp_path / "out"
    first = load_snapshot(demo["a"])
    write_set(lambda digest: {"report_version": 1, "snapshot": {"digest": digest}, "summary": {}, "findings": [],
                              "changes": [], "rules": [], "sources": []}, out, ("json",), snapshot_doc=first)
    old = (out / "snapshot.json").read_bytes()
    doc = load_snapshot(demo["b"])
    doc["sources"]["probe"]["data"] = {"body": {"success": True, "capabilities": {"version": value}}}
    with pytest.raises(InputError) as caught:
        write_set(lambda digest: {}, out, ("json",), snapshot_doc=doc)
    assert [p.message for p in caught.value.problems] == [
        f"$.sources.probe.data.body.capabilities.version: {value!r} is not a JSON number; the snapshot cannot be saved"]
    assert (out / "snapshot.json").read_bytes() == old
    assert [p.name for p in out.iterdir() if p.name.startswith(".set-")] == [os.readlink(out / ".current")]


def test_the_demo_writes_its_baseline_set_and_package_under_one_lock_and_never_leaves_a_stale_package(
        demo, tmp_path, monkeypatch):
    """Found by a hostile probe: four demos into one folder paired one run's report with another's
    ``previous/`` or package. The baseline, the set and the package are now written while ``<out>/.lock``
    is held (another process could not take it), and a run stopped before its package leaves no package
    rather than the last run's beside its own set."""
    import fcntl

    from compliance.app import audit
    from compliance.app import persist as persist_mod
    from compliance.demo import DEMO_PACKAGE

    out = tmp_path / "out"
    shutil.copytree(demo["out"], out, symlinks=True)
    assert (out / DEMO_PACKAGE).is_file()
    held: list[str] = []

    def locked() -> bool:
        fd = os.open(out / ".lock", os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        except BlockingIOError:
            return True
        finally:
            os.close(fd)

    real_persist, real_package = persist_mod.persist, audit.build_package

    def persist(snapshot, ruleset, where, *args, **kwargs):
        held.append(f"persist {Path(where).name} locked={locked()}")
        return real_persist(snapshot, ruleset, where, *args, **kwargs)

    def package(folder, target, *args, **kwargs):
        held.append(f"package locked={locked()} old package there={Path(target).exists()}")
        raise Killed("package")

    monkeypatch.setattr(audit, "persist", persist)
    monkeypatch.setattr(audit, "build_package", package)
    with pytest.raises(Killed):
        main(["demo", "--workdir", str(tmp_path / "work"), "--out", str(out)])
    assert held == ["persist out locked=True", "persist previous locked=True",  # the baseline: inside the set
                    "package locked=True old package there=False"]
    assert not (out / DEMO_PACKAGE).exists() and one_set(out)["mode"] == "demo"
    monkeypatch.setattr(audit, "build_package", real_package)
    assert main(["demo", "--workdir", str(tmp_path / "work2"), "--out", str(out)]) == 0
    assert (out / DEMO_PACKAGE).is_file() and not locked()


def _paired(out: Path) -> str:
    """The digest the folder's report diffs against, failing unless ``previous/`` beside it is that report."""
    report = read_report(out / "report.json")
    wanted = report["diff"]["previous"]["digest"]
    assert read_report(out / "previous" / "report.json")["snapshot"]["digest"] == wanted
    return wanted


@pytest.mark.parametrize("nth", [1, 2])
def test_the_demo_baseline_switches_with_the_reports_that_diff_against_it(demo, tmp_path, monkeypatch, nth):
    """Found by a hostile probe: the baseline was published as a set of its own before the reports, so a run
    stopped between the two left a new ``previous/`` beside old reports (``package`` then refused the folder).
    ``previous/`` is now a folder of the run's set: stopped at the baseline's own commit (1) or at the set's (2),
    the folder keeps the old pair; the next run publishes a new pair, and the package builds from either."""
    from compliance.app.package import build_package

    out = tmp_path / "out"
    shutil.copytree(demo["out"], out, symlinks=True)
    old, old_set = _paired(out), one_set(out)["set"]
    real = fsutil.StagedSet.commit
    calls = {"n": 0}

    def commit(self):
        calls["n"] += 1
        if calls["n"] == nth:
            raise Killed("commit")
        return real(self)

    with monkeypatch.context() as m:
        m.setattr(fsutil.StagedSet, "commit", commit)
        with pytest.raises(Killed):
            main(["demo", "--workdir", str(tmp_path / "work"), "--out", str(out)])
    assert _paired(out) == old and one_set(out)["mode"] == "demo"
    build_package(out, tmp_path / "old.tar.gz")
    assert main(["demo", "--workdir", str(tmp_path / "work2"), "--out", str(out)]) == 0
    assert one_set(out)["set"] != old_set and _paired(out) and (out / "previous").is_symlink()
    build_package(out, tmp_path / "new.tar.gz")


def _old_layout(out: Path) -> None:
    """``out`` as the version before wrote it: ``previous/`` a folder of its own beside the set, not in it."""
    (out / "previous").unlink()
    os.replace(out / ".current" / "previous", out / "previous")


@pytest.mark.parametrize("stop", ["link", "commit"])
def test_a_folder_of_the_old_layout_keeps_its_pair_when_the_first_run_into_it_stops(demo, tmp_path, monkeypatch,
                                                                                      stop):
    """Found by a hostile probe: the old ``previous/`` folder was moved aside before the switch, so a run
    stopped in between left the old reports without their baseline (and the next run deleted it). It is now
    moved into the old set itself: stopped before the ``previous`` link is made (``link``) or at the set's
    commit, the folder's published set still pairs its reports with their baseline and packages."""
    from compliance.app.package import build_package

    out = tmp_path / "out"
    shutil.copytree(demo["out"], out, symlinks=True)
    old = _paired(out)
    _old_layout(out)
    assert (out / "previous").is_dir() and not (out / "previous").is_symlink() and _paired(out) == old
    real_link, real_commit = fsutil._symlink, fsutil.StagedSet.commit
    commits = {"n": 0}

    def link(target, path):
        if stop == "link" and path.name == "previous" and path.parent == out:
            raise Killed("link")
        return real_link(target, path)

    def commit(self):
        commits["n"] += 1
        if stop == "commit" and commits["n"] == 2:
            raise Killed("commit")
        return real_commit(self)

    with monkeypatch.context() as m:
        m.setattr(fsutil, "_symlink", link)
        m.setattr(fsutil.StagedSet, "commit", commit)
        with pytest.raises(Killed):
            main(["demo", "--workdir", str(tmp_path / "work"), "--out", str(out)])
    current = out / ".current"
    baseline = current / "previous" if stop == "link" else out / "previous"  # moved into the set only at the commit
    assert read_report(baseline / "report.json")["snapshot"]["digest"] == old
    assert read_report(current / "report.json")["diff"]["previous"]["digest"] == old
    build_package(out, tmp_path / "old.tar.gz")
    assert main(["demo", "--workdir", str(tmp_path / "work2"), "--out", str(out)]) == 0
    assert _paired(out) and (out / "previous").is_symlink()
    assert not [p for p in out.iterdir() if p.name.startswith(".set-retired")]
