"""Section 2: GitHub requests for a 30-day audit, first run and repeat run, against one request per commit
(and the cloudtrail source's requests, ``api_cloudtrail``).

The live GitHub source (``collect_github``) runs unchanged against ``tests.github_payloads.FakeGitHub``
served through ``responses``: the fake lists newest first, filters ``created`` by whole UTC days,
caps a listing at 1,000 results while reporting the true ``total_count`` (so the source must
slice the window), links pages like GitHub and answers ``If-None-Match`` with 304. Jobs are asked
for only for the run whose deploy contains the Lambda's LastModified, as ``collect`` passes it, and
that run's deploy log once (the API's 302 and the download: two requests, never cached).

The comparison is the naive design: one request per in-scope commit (runs by ``head_sha``) plus
the jobs of the run that deployed. The scenario is 300 in-scope changes and 400 runs in 30 days,
then ten times both.
"""

from __future__ import annotations

import hashlib
import math
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from benchmarks import api_cloudtrail
from benchmarks.measure import Row

SINCE = datetime(2026, 2, 1, tzinfo=timezone.utc)
UNTIL = datetime(2026, 3, 2, 23, 59, 59, tzinfo=timezone.utc)  # 30 days


def scenario(changes: int, runs: int) -> tuple[list[dict[str, Any]], datetime]:
    """``runs`` runs over 30 days: one push run per change, the rest re-runs and dispatches of them."""
    from tests.github_payloads import workflow_run

    span = UNTIL - SINCE
    shas = [hashlib.sha1(f"change-{i}".encode()).hexdigest() for i in range(changes)]
    out = []
    for i in range(runs):
        created = SINCE + span * (i / runs) + timedelta(minutes=1)
        c = min(changes - 1, int(i * changes / runs))
        extra = i * changes // runs == (i - 1) * changes // runs if i else False  # a second run of one change
        conclusion = ("success", "cancelled", "failure", "cancelled", "success", "cancelled")[i % 6]
        out.append(workflow_run(13_415_370_000 + i * 17, created, sha=shas[c], run_number=400 + i,
                                run_attempt=2 if extra else 1, event="workflow_dispatch" if extra and i % 2 else "push",
                                conclusion=conclusion))
    last_ok = next(r for r in reversed(out) if r["conclusion"] == "success")
    started = datetime.strptime(last_ok["run_started_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return out, started + timedelta(seconds=40)  # LastModified inside that run's deploy step


def _collect(fake, cache: Path, moment: datetime) -> dict[str, Any]:
    from compliance.sources.base import Meter
    from compliance.sources.github import RetryPolicy, collect_github
    from tests.github_payloads import REPO, WORKFLOW_FILE

    before = len(fake.calls)
    meter = Meter()
    data = collect_github(REPO, WORKFLOW_FILE, "main", SINCE, UNTIL, meter=meter, token="",
                          base_url="https://api.github.com", cache_dir=cache, jobs_near=[moment],
                          retry=RetryPolicy(sleep=lambda _s: None))
    calls = fake.calls[before:]
    return {"requests": meter.requests, "cached": meter.cached, "runs": len(data["runs"]),
            "with_jobs": sum(1 for r in data["runs"] if "jobs" in r),
            "ok": sum(c.status == 200 for c in calls), "not_modified": sum(c.status == 304 for c in calls),
            "listing_calls": sum("/runs" in c.path and c.path.endswith("/runs") for c in calls),
            "slices": len({c.params.get("created") for c in calls if "created" in c.params})}


def measure(changes: int, runs: int) -> dict[str, Any]:
    import responses

    from tests.github_payloads import FakeGitHub, deploy_log, runs_spread

    listed, moment = scenario(changes, runs)
    # the deploying run's job log, with the CodeSha256= line the governed workflow prints (its id as jobs_list makes it)
    deployed = next(r for r in reversed(listed) if r["conclusion"] == "success")
    logs = {deployed["id"] * 3 + 1: deploy_log("LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE=",
                                               "6b0e6c9a-4c1f-4d7e-9a0b-1c2d3e4f5a6b")}
    with tempfile.TemporaryDirectory(prefix="bench-gh-") as tmp, \
            responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake = FakeGitHub(rsps, listed, logs=logs)
        cache = Path(tmp) / "github"
        first = _collect(fake, cache, moment)
        repeat = _collect(fake, cache, moment)
        fake.runs.append(runs_spread(1, UNTIL - timedelta(hours=2), 1, first_id=99)[0])  # one new run
        after_new = _collect(fake, cache, moment)
    return {"changes": changes, "runs": runs, "pages": math.ceil(runs / 100), "naive": changes + 1,
            "first": first, "repeat": repeat, "after_new_run": after_new}


def run_section(log) -> tuple[list[Row], str]:
    results = [measure(300, 400), measure(3000, 4000)]
    for r in results:
        log(f"  github {r['changes']} changes / {r['runs']} runs: first {r['first']['requests']} requests, "
            f"repeat {r['repeat']['requests']} ({r['repeat']['not_modified']} x 304)")
    small, big = results
    rows = []
    for r in results:
        first = r["first"]["requests"]
        ok = first <= math.ceil(1.5 * r["pages"]) + 3 and first * 5 <= r["naive"]  # + jobs + the log (302, download)
        rows.append(Row("2 API economy", f"first run, {r['changes']} changes / {r['runs']} runs in 30 days",
                        f"{first} requests ({r['pages']} pages of 100 runs; one-per-commit would be {r['naive']})",
                        "about one per page of runs; far below one per commit", ok))
    growth = big["first"]["requests"] / small["first"]["requests"]
    rows.append(Row("2 API economy", "10x changes and runs -> requests", f"{growth:.1f}x "
                    f"({small['first']['requests']} -> {big['first']['requests']}; pages {small['pages']} -> "
                    f"{big['pages']}; one-per-commit {small['naive']} -> {big['naive']})",
                    "grows with pages, not commits", growth <= 1.5 * big["pages"] / small["pages"]))
    for r in results:
        rep = r["repeat"]
        share = rep["not_modified"] / max(rep["requests"], 1)
        rows.append(Row("2 API economy", f"repeat run with the ETag cache, {r['changes']} / {r['runs']}",
                        f"{rep['not_modified']} of {rep['requests']} answered 304 ({share:.0%})",
                        "most requests 304", share > 0.5))
    lines = ["## 2. API economy: GitHub requests for a 30-day audit", "",
             "`collect_github` (the live source, unchanged) against `tests.github_payloads.FakeGitHub` through "
             "`responses`, with an on-disk ETag cache in a temp dir and `jobs_near` = the Lambda's LastModified "
             "(inside the last successful run's deploy step). One-per-commit is the naive design: one "
             "`runs?head_sha=` request per in-scope commit plus the one jobs request.", "",
             "| changes / runs | run | requests | 200 | 304 | runs listed | runs with jobs | date slices | "
             "one-per-commit |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        for key, label in (("first", "first (empty cache)"), ("repeat", "repeat, nothing changed"),
                           ("after_new_run", "repeat after one new run")):
            m = r[key]
            lines.append(f"| {r['changes']} / {r['runs']} | {label} | {m['requests']} | {m['ok']} | "
                         f"{m['not_modified']} | {m['runs']} | {m['with_jobs']} | {m['slices']} | {r['naive']} |")
    lines += ["", "GitHub lists at most 1,000 runs per query, so 4,000 runs in 30 days are read in date slices; "
              "a slice whose first page reports more than 1,000 runs is split, and that first page is spent. "
              "After one new run, every page of the newest slice shifts by one run, so those pages come back "
              "200 (listing is newest first); 304s on a repeat run also cost nothing against the rate limit.", ""]
    trail_rows, trail_text = api_cloudtrail.run_section(log)
    return rows + trail_rows, "\n".join(lines) + "\n" + trail_text
