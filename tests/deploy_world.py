"""One genuine interrupted deploy per process, its world copied into every test that starts from it.

Seven hostile-deploy tests (and one end-to-end test) begin the same way: ``compliance deploy`` runs the
script for real and is killed in its evidence step, leaving a state file, the script's log, a report set
and a function whose code, LastModified and RevisionId the state is bound to. Each then tampers with one
part of that world. That deploy (the script's upload, then a collect/judge/persist against moto) runs once
per process and each later test gets a copy of what it left: such a test went from ~1.7 s to ~0.5 s of CPU
(with the aws CLI before, the fast upload now; per-test getrusage, see the branch's report):

- the report folder (state file, log, report set) is copied file for file, links as links;
- the function's code is uploaded again (same zip bytes, so the same CodeSha256) and moto's model is
  given back the LastModified and RevisionId the genuine deploy left (moto runs in this process; the
  RevisionId is the test's own patch, see ``deploy_fixture.bump_last_modified_on_code_update``);
- the tables need nothing: the killed deploy wrote no evidence, and ``build_system`` made them as before.

Every copy is checked against the original before the test may use it (``assert_world``): the same
function configuration, field for field, the same folder, byte for byte, the state's bindings equal to
the live function, the same commit as the repository under test. A test never runs against a world the
genuine deploy did not leave.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests import moto_env
from tests.deploy_fixture import deploy_state, function_config, no_evidence, run_deploy

_WORLD: dict[tuple[str, str], dict[str, Any]] = {}  # this process's genuine interrupted deploys, by (commit, upload)


def _live_function() -> dict[str, Any]:
    return {k: v for k, v in function_config().items() if k != "ResponseMetadata"}


def _model():
    from moto.awslambda.models import lambda_backends

    return lambda_backends[moto_env.ACCOUNT][moto_env.REGION].get_function(moto_env.FUNCTION)


def _tree(folder: Path) -> dict[str, tuple]:
    """Every entry under ``folder``: a link's target, a file's mode and digest, a folder's mode."""
    entries: dict[str, tuple] = {}
    for root, dirs, files in os.walk(folder):
        for name in [*dirs, *files]:
            path = Path(root) / name
            rel = path.relative_to(folder).as_posix()
            if path.is_symlink():
                entries[rel] = ("link", os.readlink(path))
            elif path.is_dir():
                entries[rel] = ("dir", path.stat().st_mode)
            else:
                entries[rel] = ("file", path.stat().st_mode, hashlib.sha256(path.read_bytes()).hexdigest())
    return entries


def kill_the_evidence_step(system, monkeypatch) -> None:
    """The genuine deploy: the script runs, the evidence step dies as an interrupt would make it."""
    from compliance.app import evidence_writer

    real = evidence_writer.record_evidence

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(evidence_writer, "record_evidence", killed)
    with pytest.raises(KeyboardInterrupt):
        run_deploy(system)
    monkeypatch.setattr(evidence_writer, "record_evidence", real)


def _capture(system) -> dict[str, Any]:
    keep = Path(tempfile.mkdtemp(prefix="deploy-world-"))
    atexit.register(shutil.rmtree, keep, ignore_errors=True)
    shutil.copytree(system.out_dir, keep / "reports", symlinks=True)
    model = _model()
    return {"commit": system.shas["direct"], "reports": keep / "reports", "tree": _tree(system.out_dir),
            "counter": system.counter.read_text(), "zip": bytes(model.code_bytes),
            "last_modified": model.last_modified, "revision_id": model._test_revision_id,
            "function": _live_function()}


def _restore(system, world: dict[str, Any]) -> None:
    shutil.copytree(world["reports"], system.out_dir, symlinks=True)
    system.counter.write_text(world["counter"])
    moto_env.client("lambda").update_function_code(FunctionName=moto_env.FUNCTION, ZipFile=world["zip"])
    model = _model()
    model.last_modified = world["last_modified"]
    model._test_revision_id = world["revision_id"]


def assert_world(system, world: dict[str, Any] | None = None) -> None:
    """The world in ``system`` is the one the genuine interrupted deploy left, in every part a test reads."""
    world = world or _WORLD[(system.shas["direct"], system.upload)]
    state = deploy_state(system)
    live = _live_function()
    assert live == world["function"]
    assert (state["code_sha256"], state["revision_id"], state["last_modified"]) == \
        (live["CodeSha256"], live["RevisionId"], live["LastModified"])
    assert state["commit"] == system.shas["direct"] == world["commit"]
    assert _tree(system.out_dir) == world["tree"]
    assert hashlib.sha256((system.out_dir / state["log"]).read_bytes()).hexdigest() == state["log_sha256"]
    assert system.runs() == 1 and no_evidence() and state["status"] == "deployed"


def interrupted_deploy(system, monkeypatch) -> None:
    """Leave ``system`` as a genuine deploy killed in its evidence step leaves it (a real, resumable state).

    The first call in a process runs that deploy; later ones copy its world. It runs for real again when
    the repository template was rebuilt since (its commits differ, see ``deploy_fixture.build_repo``) or
    the system uploads another way (``DeploySystem.upload``)."""
    key = (system.shas["direct"], system.upload)  # made the way this system's own deploy would make it
    world = _WORLD.get(key)
    if world is None:
        kill_the_evidence_step(system, monkeypatch)
        world = _WORLD[key] = _capture(system)
    else:
        _restore(system, world)
    assert_world(system, world)
