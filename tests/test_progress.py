"""Progress on stderr while work is long, and the summary grouped by cause (issue 20).

The end-to-end tests run the real CLI in a subprocess: on a pseudo-terminal (``os.openpty``) for the
live line, on a pipe for the plain lines, with GitHub played by a loopback server that answers every
request with a secondary rate limit (``Retry-After: 1``), so the source really waits, retries three
times and fails: every finding that needs it errs with one cause.
"""

from __future__ import annotations

import io
import json
import os
import re
import select
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import pytest
import responses

from compliance.base import progress
from compliance.cli.progress import Renderer, describe
from compliance.model.causes import causes, source_notes
from compliance.publish.check_run import summary_markdown
from compliance.sources.base import Meter
from compliance.sources.github import collect_github
from compliance.sources.github_client import RetryPolicy
from tests.browser import CHROMIUM, dump_dom
from tests.github_payloads import REPO, WORKFLOW_FILE, WORKFLOW_PATH, FakeGitHub, runs_spread
from tests.moto_env import LoopbackServer
from tests.reportfile import read_report
from tests.scenario import build_repo

ROOT = Path(__file__).resolve().parents[1]
COMPLIANCE = [sys.executable, "-m", "compliance"]
STAMP = re.compile(r"^\d\d:\d\d:\d\d ")


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def reporter():
    """Install a renderer for one test and take it out again, whatever happens."""
    installed = []

    def make(stream, **kw):
        renderer = Renderer(stream, **kw)
        progress.install(renderer)
        installed.append(renderer)
        return renderer

    yield make
    progress.install(None)
    for renderer in installed:
        renderer.close()


# --------------------------------------------------------------------------- the event interface


def test_without_a_reporter_every_event_is_a_no_op():
    progress.install(None)
    with progress.stage("git history") as current:
        progress.update(3, 7, "pages")
        progress.note("retry 1/3 in 2 s")
    assert current is None


def test_events_reach_the_innermost_stage_of_the_thread(reporter):
    out = io.StringIO()
    reporter(out, tty=False, after=0)
    with progress.stage("source github") as outer:
        with progress.stage("page") as inner:
            progress.note("inner note")
        progress.update(2, 5, "pages")
        progress.note("retry 1/3 in 2 s: GitHubServerError 502")
    assert inner.notes == ["inner note"] and outer.notes == ["retry 1/3 in 2 s: GitHubServerError 502"]
    assert (outer.done, outer.total, outer.unit) == (2, 5, "pages")
    assert describe(outer).startswith("source github: 2/5 pages, ")


def test_plain_lines_are_timestamped_and_name_the_stage(reporter):
    out = io.StringIO()
    reporter(out, tty=False, after=0)
    with progress.stage("source github"):
        progress.note("retry 1/3 in 2 s: GitHubServerError 502")
    lines = out.getvalue().splitlines()
    assert all(STAMP.match(line) for line in lines), lines
    assert [STAMP.sub("", line).split(" in ")[0] for line in lines] == [
        "source github: started", "source github: retry 1/3", "source github: done"]
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()


def test_a_quick_stage_prints_nothing(reporter):
    """Shown only once a stage runs longer than the threshold: a quick run prints what it printed before."""
    out = io.StringIO()
    reporter(out, tty=False, after=30)
    with progress.stage("judging"):
        progress.note("a retry the stage recovered from at once")
    assert out.getvalue() == ""


def test_a_stage_that_runs_long_shows_itself_with_the_notes_it_had(reporter):
    out = io.StringIO()
    reporter(out, tty=False, after=0.05)
    with progress.stage("source git"):
        progress.note("waiting for the clone")
        deadline = time.monotonic() + 10
        while "started" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.05)
    text = out.getvalue()
    assert "source git: started" in text and "source git: waiting for the clone" in text
    assert "source git: done in" in text


def test_under_github_actions_a_stage_is_a_group(reporter):
    out = io.StringIO()
    reporter(out, tty=False, actions=True, after=0)
    with progress.stage("source github"):
        pass
    lines = out.getvalue().splitlines()
    assert lines[0] == "::group::source github" and lines[-1] == "::endgroup::"


def test_on_a_terminal_one_line_is_redrawn_and_cleared(reporter):
    out = Tty()
    reporter(out, tty=True, color=False, after=0)
    with progress.stage("source github"):
        progress.update(1, 3, "pages")
        progress.update(2, 3, "pages")
    text = out.getvalue()
    assert "\r\x1b[Ksource github: 2/3 pages" in text
    assert text.count("\n") == 1 and "source github: done in" in text  # the finished stage stays, once
    assert "\x1b[36m" not in text  # no colour asked


def test_hostile_stage_text_is_shown_not_obeyed(reporter):
    out = Tty()
    reporter(out, tty=True, color=True, after=0)
    with progress.stage("source github [\x1b[2Jevil]"):
        progress.note("GitHubRequestError \x1b]0;PWNED\x07 \u202eexe")
    text = out.getvalue()
    assert "\x1b]0;" not in text and "\\x1b]0;PWNED\\x07" in text and "\\u202e" in text
    assert "\x1b[2J" not in text and text.count("\\x1b[2Jevil") >= 2  # the live line and the "done" line
    assert "\x1b[36m" in text  # colour is the renderer's own


# --------------------------------------------------------------------------- grouping by cause


def _finding(rule, subject, status="error", message=None, severity="high"):
    return {"rule_id": rule, "subject_type": "change", "subject": subject, "status": status,
            "severity": severity, "message": message or "could not evaluate: source 'github' unavailable: "
                                                        "GitHubUnreachable: GET /repos/acme/x/actions/runs"}


def test_errors_sharing_a_cause_are_one_cause_across_rules():
    found = causes([_finding("APIMCP-001", f"{i:012x}") for i in range(20)]
                   + [_finding("APIMCP-007", "aaaabbbbcccc"),
                      _finding("GUARD-001", "0123456789ab", "fail", "changed 0123456789ab without the dictionary",
                               "critical"),
                      _finding("GUARD-001", "ba9876543210", "fail", "changed ba9876543210 without the dictionary",
                               "critical")])
    assert [(c.status, c.count, c.rules) for c in found] == [
        ("fail", 2, ["GUARD-001"]), ("error", 21, ["APIMCP-001", "APIMCP-007"])]  # most severe first
    assert found[0].message == "changed <subject> without the dictionary"
    assert found[1].examples == ["change 000000000000", "change 000000000001", "change 000000000002"]


def test_retries_fold_into_a_count_with_their_waits():
    url = "GET https://api.github.com/repos/acme/x/actions/runs?per_page=100"
    failure = f"{url}: ConnectionError: Max retries exceeded with url: /repos/acme/x/actions/runs"
    src = {"error": {"type": "GitHubUnreachable", "message": f"{failure} (gave up after 4 attempts)"},
           "warnings": [f"retried {url} after {w}s: {failure}" for w in (2, 4, 8)] + ["a shallow clone"]}
    notes = source_notes(src)
    assert notes.retries == 3 and notes.retry_cause is None and notes.warnings == ["a shallow clone"]
    assert notes.retry_phrase() == "3 retries, waited 2 s + 4 s + 8 s = 14 s"


# --------------------------------------------------------------------------- the real CLI


def _rate_limited(handler):
    body = json.dumps({"message": "You have exceeded a secondary rate limit."}).encode()
    return 403, {"Retry-After": "1", "Content-Type": "application/json"}, body


@pytest.fixture(scope="module")
def stalled(tmp_path_factory):
    """An audit whose GitHub source waits 3 x 1 s on a secondary rate limit and then fails.

    Module-scoped with the runs below: each run really waits its 3 s, so a run several tests read
    is made once (and the tests that share one are kept on one xdist worker by their group)."""
    tmp_path = tmp_path_factory.mktemp("stalled")
    build_repo(tmp_path / "enceladus")
    server = LoopbackServer(_rate_limited)
    config = tmp_path / "compliance.yaml"
    # AWS, the tracker and the probe are not configured: they fail at once, without the network
    config.write_text(f"""version: 1
target:
  name: stalled
  repo: enceladus
  github_repo: {REPO}
  branch: main
  workflow: {WORKFLOW_PATH}
policies: [{ROOT / "policies"}]
""", "utf-8")
    env = {**os.environ, "GITHUB_API_URL": server.url, "GITHUB_TOKEN": "ghp_" + "0" * 36,
           "COMPLIANCE_CACHE_DIR": str(tmp_path / "cache"), "COMPLIANCE_PROGRESS_AFTER": "0", "PYTHONPATH": str(ROOT)}
    for name in ("NO_COLOR", "GITHUB_ACTIONS", "TERM"):
        env.pop(name, None)
    args = ["audit", "--config", str(config), "--since", "2026-02-21", "--until", "2026-03-31"]
    yield tmp_path, args, env
    server.close()


def _own(stalled, name: str) -> tuple[Path, list[str], dict[str, str]]:
    """``stalled`` for one run: its own report folder ``out-NAME`` and its own cache, so runs sharing
    the setup never see each other's files."""
    tmp_path, args, env = stalled
    return tmp_path, [*args, "--out", str(tmp_path / f"out-{name}")], {
        **env, "COMPLIANCE_CACHE_DIR": str(tmp_path / f"cache-{name}")}


def _on_a_terminal(args, env, cwd) -> tuple[str, str, int]:
    """Run with stderr on a pseudo-terminal and stdout on a pipe: (stdout, terminal, exit code)."""
    master, slave = os.openpty()
    proc = subprocess.Popen([*COMPLIANCE, *args], stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL,
                            env={**env, "TERM": "xterm", "COLUMNS": "160"}, cwd=cwd)
    os.close(slave)
    screen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        screen += chunk
    out = proc.stdout.read().decode("utf-8")
    code = proc.wait(timeout=60)
    os.close(master)
    return out, screen.decode("utf-8", "replace"), code


# The runs several tests read: made once per module (see ``stalled``). Six tests paid 3 s each before.
SHARED = pytest.mark.xdist_group("test_progress-stalled-runs")


def _coloured(stalled):
    """stderr on a pseudo-terminal, colours allowed, progress shown at once: (stdout, screen, exit code)."""
    tmp_path, args, env = _own(stalled, "coloured")
    return _on_a_terminal(args, env, tmp_path)


def _plain_terminal_default_threshold(stalled):
    """stderr on a pseudo-terminal with ``NO_COLOR`` and no threshold set (the default, 1 s)."""
    tmp_path, args, env = _own(stalled, "no-color")
    env = {k: v for k, v in env.items() if k != "COMPLIANCE_PROGRESS_AFTER"}
    return _on_a_terminal(args, {**env, "NO_COLOR": "1"}, tmp_path)


def _piped(stalled):
    """stderr on a pipe, progress shown at once: the process, and the report folder it wrote."""
    tmp_path, args, env = _own(stalled, "piped")
    proc = subprocess.run([*COMPLIANCE, *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    return proc, tmp_path / "out-piped"


def _quiet(stalled):
    tmp_path, args, env = _own(stalled, "quiet")
    return subprocess.run([*COMPLIANCE, *args, "--quiet"], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=120)


@pytest.fixture(scope="module")
def stalled_runs(stalled):
    """The four runs, started together: each mostly waits its 3 s on GitHub's Retry-After, so run one
    after the other they held their worker ~12 s, and side by side about one run's time. Each has its
    own report folder and cache (``_own``) and the server answers every request alike, so running them
    at once changes nothing they show."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        yield {name: pool.submit(run, stalled) for name, run in (
            ("coloured", _coloured), ("no-color", _plain_terminal_default_threshold),
            ("piped", _piped), ("quiet", _quiet))}


@pytest.fixture(scope="module")
def coloured_terminal(stalled_runs):
    return stalled_runs["coloured"].result()


@pytest.fixture(scope="module")
def plain_terminal_default_threshold(stalled_runs):
    return stalled_runs["no-color"].result()


@pytest.fixture(scope="module")
def piped(stalled_runs):
    return stalled_runs["piped"].result()


@pytest.fixture(scope="module")
def quiet(stalled_runs):
    return stalled_runs["quiet"].result()


@SHARED
def test_a_retrying_source_shows_live_on_a_terminal_and_nothing_reaches_stdout(coloured_terminal):
    out, screen, code = coloured_terminal
    assert code == 2, (out, screen)
    assert "\r\x1b[K" in screen and "\x1b[36m" in screen  # one redrawn, coloured line
    assert "source git [stalled]: done in" in screen
    assert "retry 1/3 in 1 s: GitHubRateLimited 403 (secondary rate limit)" in screen
    assert "retry 3/3 in 1 s" in screen and "judging [stalled]" in screen and "report html" in screen
    assert "\x1b" not in out and "\r" not in out and "retry 1/3" not in out and "started" not in out
    # the summary: every finding that needed GitHub is one line with its count
    lines = [ln for ln in out.splitlines() if "source 'github' unavailable" in ln]
    assert len(lines) == 1 and re.match(r"^  ERROR x\d+ ", lines[0]), out
    assert int(lines[0].split()[1][1:]) > 1
    assert "    3 retries, waited 1 s + 1 s + 1 s = 3 s" in out
    assert re.search(r"^  collected in \d+\.\d s; slowest: github \d+\.\d s \(3 s of it waiting to retry\)$", out, re.M)
    assert "  reports:" in out


@SHARED
def test_no_color_is_honoured(plain_terminal_default_threshold):
    _, screen, _ = plain_terminal_default_threshold
    assert "\r\x1b[K" in screen and "\x1b[36m" not in screen and "\x1b[2m" not in screen


@SHARED
def test_plain_timestamped_lines_when_stderr_is_not_a_terminal(piped):
    proc, _ = piped
    progress_lines = [ln for ln in proc.stderr.splitlines() if STAMP.match(ln)]
    assert any(ln.endswith("source github [stalled]: retry 2/3 in 1 s: GitHubRateLimited 403 "
                           "(secondary rate limit)") for ln in progress_lines), proc.stderr
    assert "\r" not in proc.stderr and "\x1b" not in proc.stderr
    assert not any(STAMP.match(ln) for ln in proc.stdout.splitlines())


@SHARED
def test_quiet_is_silent(quiet):
    assert quiet.returncode == 2
    assert not any(STAMP.match(ln) for ln in quiet.stderr.splitlines()), quiet.stderr
    assert "verdict: ERROR" in quiet.stdout


@SHARED
def test_the_markdown_first_screen_and_the_check_run_say_the_cause_once(piped):
    _, out = piped
    md = (out / "report.md").read_text("utf-8")
    first = md.split("### Sources")[0]
    rows = [ln for ln in first.splitlines() if "source 'github' unavailable" in ln]
    assert len(rows) == 1 and rows[0].startswith("| ⚠ error | "), first
    assert "3 retries, waited 1 s + 1 s + 1 s = 3 s" in md
    assert re.search(r"^Collected in \d+\.\d s; slowest: github \d+\.\d s \\?\(3 s of it waiting to retry\\?\)\.$", md, re.M)
    doc = read_report(out / "report.json")
    summary = summary_markdown(doc)
    assert summary.split("### Sources")[0].count("source 'github' unavailable") == 1
    html = (out / "report.html").read_text("utf-8")
    sources = html.split("<h2>Sources</h2>")[1].split("</section>")[0]
    assert sources.count("retries, waited") == 1 and sources.count("/runs?branch=main") == 1


@SHARED
def test_a_long_stage_shows_with_the_default_threshold(plain_terminal_default_threshold):
    """No threshold set: the GitHub source waits 3 s, so it shows itself on the terminal."""
    out, screen, _ = plain_terminal_default_threshold
    assert "source github [stalled]: " in screen and "retry" in screen
    assert "source github [stalled]" not in out


_MEASURE = ("<script>var t=document.querySelector('table.sources');var r=t.getBoundingClientRect();"
            "var s=t.parentElement.getBoundingClientRect();document.title=[document.documentElement.scrollWidth,"
            "Math.ceil(r.right),Math.ceil(s.right)].join('x')</script>")


@SHARED
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_the_sources_table_fits_a_1280_px_page(piped, tmp_path):
    """The GitHub error (a URL of ~200 characters with no space) wraps instead of running off the page."""
    _, out = piped
    html = (out / "report.html").read_text("utf-8")
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)  # let the measuring script run
    page = tmp_path / "measure.html"
    page.write_text(html.replace("</body>", _MEASURE + "</body>"), "utf-8")
    dom, log = dump_dom(page, tmp_path, 1280, 900)
    title = re.search(r"<title>(\d+)x(\d+)x(\d+)</title>", dom)
    assert title, log[-2000:]
    page_width, table_right, section_right = (int(x) for x in title.groups())
    # without the wrapping the table ran 30 px past its section (and past the page with a longer URL)
    assert page_width <= 1280 and table_right <= section_right, (page_width, table_right, section_right)


def test_github_pages_are_counted_against_the_total_github_announces(reporter, monkeypatch):
    """Three pages of runs: the stage reads 1/3, 2/3, 3/3 pages as they arrive (``rel="last"``)."""
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_" + "1" * 36)
    since, until = datetime(2026, 2, 1, tzinfo=timezone.utc), datetime(2026, 3, 2, 23, 59, tzinfo=timezone.utc)
    seen = []

    class Watch(Renderer):
        def changed(self, stage):
            seen.append((stage.done, stage.total, stage.unit))

    watch = Watch(io.StringIO(), tty=False, after=30)
    progress.install(watch)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        FakeGitHub(rsps, runs_spread(250, since, 30))
        with progress.stage("source github"):
            collect_github(REPO, WORKFLOW_FILE, "main", since, until, meter=Meter(),
                           retry=RetryPolicy(sleep=lambda s: None))
    watch.close()
    assert seen[:3] == [(1, 3, "pages"), (2, 3, "pages"), (3, 3, "pages")], seen
