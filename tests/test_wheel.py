"""The built wheel works on its own: installed into a fresh virtual environment and run from an empty
directory, it finds its rules, their test cases and its schemas (issue 17: the wheel used to hold no
rules, so `compliance demo` exited 2 with "rules path not found: .../site-packages/policies").

Built offline from a copy of the sources (the build's egg-info and build/ folders stay out of the
worktree). The fresh environment gets the wheel with ``--no-deps`` and sees the dependencies of the
venv running the tests through a ``.pth`` line: installing them from the package index took 59 s
here against 4 s (measured with ``time`` on both), and the test venv is exactly what ``.ci/run``
has just installed on a fresh machine. The package itself can only come from the wheel: the test
venv's editable install is a ``.pth`` hook, and ``.pth`` files on a path added by a ``.pth`` line
are not run; the test checks where ``compliance`` was imported from.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "compliance"

# one worker builds the module fixture once (--dist loadfile keeps a file on one worker; the group keeps it so under loadgroup)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("test_wheel")]


def _run(cmd: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(wheel, the fresh venv's bin folder, an empty working directory)."""
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(PACKAGE, src / "compliance", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    built = _run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
                  "-q", "-w", str(base / "dist")], cwd=base)
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (base / "dist").glob("deploy_compliance-*.whl")

    venv = base / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=base)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    done = _run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)],
                cwd=base)
    assert done.returncode == 0, done.stderr[-2000:]
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     cwd=base).stdout.strip())
    deps = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (site / "test-venv-dependencies.pth").write_text("".join(f"{d}\n" for d in deps), encoding="utf-8")

    empty = base / "empty"
    empty.mkdir()
    return wheel, venv / "bin", empty


def test_the_wheel_holds_the_rules_their_cases_and_the_schemas(installed):
    wheel, _, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    data = [p for p in PACKAGE.rglob("*") if p.suffix in (".yaml", ".json") and "__pycache__" not in p.parts]
    expected = {p.relative_to(ROOT).as_posix() for p in data}
    assert "compliance/builtin/api-mcp-runbook/api-mcp-runbook.yaml" in expected
    assert "compliance/builtin/api-mcp-runbook/tests/APIMCP-001.yaml" in expected
    assert not expected - names, sorted(expected - names)


def test_the_package_is_imported_from_the_wheel(installed):
    _, bin_dir, empty = installed
    where = _run([str(bin_dir / "python"), "-c", "import compliance; print(compliance.__file__)"], cwd=empty)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(bin_dir.parent), where.stdout


def test_the_demo_runs_from_an_empty_directory(installed, tmp_path):
    _, bin_dir, empty = installed
    done = _run([str(bin_dir / "compliance"), "demo", "--workdir", str(tmp_path / "system"), "--out", "reports"],
                cwd=empty)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "verdict: ERROR  pass 50  fail 14  error 1  waived 2  n/a 1  pending 2" in done.stdout
    assert (empty / "reports" / "report.json").is_file()
    rules = (tmp_path / "system" / "compliance.yaml").read_text("utf-8")
    assert "builtin:api-mcp-runbook" in rules


def test_rules_list_and_rules_test_use_the_built_in_rules(installed):
    _, bin_dir, empty = installed
    listed = _run([str(bin_dir / "compliance"), "rules", "list"], cwd=empty)
    assert listed.returncode == 0, listed.stderr
    assert "judging with the built-in rules (builtin:api-mcp-runbook)" in listed.stderr
    ids = [line.split()[0] for line in listed.stdout.splitlines()]
    assert "APIMCP-001" in ids and "GUARD-002" in ids and len(ids) == 16
    grouped = _run([str(bin_dir / "compliance"), "rules", "list", "--builtin"], cwd=empty)
    assert grouped.returncode == 0 and grouped.stdout.startswith("builtin:api-mcp-runbook (16 rules)\n")
    tested = _run([str(bin_dir / "compliance"), "rules", "test"], cwd=empty)
    assert tested.returncode == 0, tested.stdout[-2000:]
    assert tested.stdout.rstrip().endswith(" passed, 0 failed")
    assert "PASS APIMCP-001" in tested.stdout
