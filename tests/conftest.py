"""Shared fixtures: one moto server per session, a clean fake account per test.

The built systems are fixtures of their own modules, registered here as plugins so every suite gets
them by name (importing a fixture into a test module shadows it and needs a lint exception per file).
"""

from __future__ import annotations

import gc
import time
from pathlib import Path

import pytest
import responses

from compliance.base import redact
from tests import browser, hypothesis_budget, moto_env, offline_guard

hypothesis_budget.load()  # HYPOTHESIS_PROFILE: default (make test) or thorough; before any test module is imported

pytest_plugins = ["tests.live_system", "tests.deploy_fixture", "tests.pr_system", "tests.demo_snapshot"]


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """Every test runs offline (tests/offline_guard.py): asking for a host past loopback fails the test."""
    guard = offline_guard.Guard()
    monkeypatch.setattr(offline_guard.socket, "getaddrinfo", guard.getaddrinfo)
    yield guard
    if guard.asked:
        pytest.fail(f"the test asked the network for {sorted(set(guard.asked))}: serve that source in the test")


@pytest.fixture(scope="module", autouse=True)
def secrets_learnt_per_module():
    """What a module's runs taught ``redact`` (a GitHub App's installation tokens) forgotten after it: a
    run is one process, and a worker carrying every earlier module's tokens made each later masking
    search hundreds of them. Also keeps a module from passing on a secret an earlier one taught."""
    yield
    redact.forget_secrets()


@pytest.fixture(scope="session", autouse=True)
def one_browser():
    """The Chromium that tests/browser.py starts for the first page a worker loads, stopped with the session."""
    yield
    browser.close()


@pytest.fixture(scope="session")
def moto_server():
    """moto over real HTTP on a free loopback port; yields its endpoint URL."""
    server, endpoint = moto_env.start_server()
    try:
        yield endpoint
    finally:
        server.stop()


@pytest.fixture
def aws_env(moto_server, monkeypatch):
    """Point boto3 at moto with fake credentials, and start from an empty account."""
    moto_env.point_at(monkeypatch, moto_server)
    moto_env.reset(moto_server)
    yield moto_server
    moto_env.reset(moto_server)


@pytest.fixture
def offline_aws(monkeypatch):
    """Fake credentials and an endpoint nothing listens on: for Stubber tests that must not reach a network."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{moto_env.closed_port()}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", moto_env.REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")


@pytest.fixture
def http_server():
    """Start real loopback HTTP servers answering with ``respond(handler) -> (status, headers, body)``.

    ``respond`` may sleep to play a slow server. Each started server records its requests as
    ``(method, path)`` in ``server.seen``; all are shut down after the test.
    """
    started = []

    def start(respond):
        server = moto_env.LoopbackServer(respond)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


# The modules that cost most (per-file CPU, issue 14), handed out first under `--dist loadfile`: each is one
# unit of work, and a long one handed out last keeps one worker busy while the other has nothing to do.
LONG_FIRST = ("adversarial/test_deploy_hostile.py", "adversarial/test_deploy_hostile_processes.py",
              "test_persist.py", "test_wheel.py", "reliability/test_faults.py",
              "test_deploy.py", "adversarial/test_output_set.py", "test_progress.py", "reliability/test_properties.py",
              "reliability/test_secrets.py", "test_timeline_svg.py", "reliability/test_bad_input.py")
_TESTS = Path(__file__).resolve().parent


def _long_first(items) -> None:
    """Stable: the listed modules first in the listed order, every other test where it was."""
    rank = {name: n for n, name in enumerate(LONG_FIRST)}

    def key(item) -> int:
        try:
            return rank.get(Path(item.path).relative_to(_TESTS).as_posix(), len(LONG_FIRST))
        except ValueError:
            return len(LONG_FIRST)

    items.sort(key=key)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """In an xdist worker, the long modules first (``LONG_FIRST``; every worker sorts alike, as xdist requires).

    Make ``--dist loadgroup`` group again on pytest 9.2 (pytest-dev/pytest-xdist#1386, open).

    xdist tells its scheduler an ``xdist_group`` by appending ``@GROUP`` to the node id, writing
    ``item._nodeid``; pytest 9.2 keeps the id in ``item._id`` instead, so the suffix is lost and the
    tests of a group are spread over the workers, each rebuilding the group's module fixture. This
    writes the same suffix where pytest 9.2 reads it, only in an xdist worker of a loadgroup run and
    only where xdist's own suffix is missing (so a fixed xdist makes it a no-op)."""
    if hasattr(config, "workerinput"):
        _long_first(items)
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        groups = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                         for m in item.iter_markers("xdist_group")})
        node_id = getattr(item, "_id", None)
        if groups and node_id is not None and hasattr(node_id, "parse") and "@" not in item.nodeid:
            item._id = type(node_id).parse(f"{item.nodeid}@{'_'.join(groups)}")


def pytest_collection_finish(session):
    """Fewer, cheaper garbage collections in the test process (each xdist worker, or the one of ``-n 0``).

    Collection leaves ~136,000 long-lived objects (modules, classes, plugins) that every full collection
    traversed again: ``gc.freeze()`` moves them out of the collector's generations (they live as long as
    the process anyway). Full collections were the cost, not the young ones: at the default thresholds
    (700, 10, 10) a worker ran 12-19 of them, ~4-6 s of CPU; the oldest generation now waits for 100
    collections of the middle one instead of 10, and the youngest for 10,000 allocations instead of 700.
    Measured with ``gc.callbacks`` over the full suite on 2 xdist workers (CPU in the collector, both
    workers): 13.2 s before, 12.0 s with the freeze alone, 5.1 s with these thresholds (5.9 s at
    (50,000, 50, 100)); a worker's peak RSS 315-411 MB before, 305-484 MB after. Cycles are still
    collected, only less often; no test depends on when."""
    gc.freeze()
    gc.set_threshold(10_000, 10, 100)


@pytest.fixture
def github_env(monkeypatch):
    """GitHub's REST API as the tests serve it: no GITHUB_API_URL from the machine, a token set by the test,
    and no real sleep (a retry or rate-limit wait that really slept would make the suite slow, not wrong)."""
    monkeypatch.delenv("GITHUB_API_URL", raising=False)

    def no_real_sleep(seconds):
        raise AssertionError(f"a test tried to really sleep {seconds}s")

    monkeypatch.setattr(time, "sleep", no_real_sleep)
    return monkeypatch


@pytest.fixture
def rsps():
    """``responses`` serving GitHub's REST payloads (tests/github_payloads.py); a module may define its own."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
