"""The artifact proof (issue 16): CodeSha256 / RevisionId recorded by every deploy, and
``lambda_deploy_match`` comparing the live digest with the one recorded for the deploy it matches.

Each part has a passing, a failing, a could-not-evaluate and a lying case: a CodeSha256 that
matches another deploy, a value with a trailing newline or a lookalike character, two deploys in
one window.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta, timezone

import pytest
import responses

from compliance.base.digests import code_sha256_in, is_code_sha256, is_revision_id, revision_id_in
from compliance.judge.evidence import evidence_for_item, format_evidence_line, parse_evidence_line, parse_text
from compliance.sources.base import Meter
from compliance.sources.github import RetryPolicy, collect_github
from tests.github_payloads import LOG_HOST, REPO, WORKFLOW_FILE, FakeGitHub, deploy_log, runs_spread
from tests.scenario import LIVE_CODE, build_repo, judge, lambda_data, run, snapshot
from tests.schema_authority import source_validator


def digest(seed: str) -> str:
    return base64.b64encode(hashlib.sha256(seed.encode()).digest()).decode()


OTHER_CODE = digest("another build")
REVISION = "6b0e6c9a-4c1f-4d7e-9a0b-1c2d3e4f5a6b"
_AT = LIVE_CODE.index("c")
LOOKALIKE = LIVE_CODE[:_AT] + "\u0441" + LIVE_CODE[_AT + 1:]  # a Cyrillic "с" where the digest has a Latin one
NO_TRACKER = {"project": "p", "items": {}, "missing": []}
assert LOOKALIKE != LIVE_CODE and len(LOOKALIKE) == len(LIVE_CODE)


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return build_repo(tmp_path_factory.mktemp("repo") / "enceladus")


# ---------------------------------------------------------------------------------- the values


def test_a_digest_is_44_ascii_base64_characters_ending_in_padding():
    assert is_code_sha256(LIVE_CODE) and is_code_sha256(OTHER_CODE)
    assert not is_code_sha256(LIVE_CODE + "\n")  # what a `$`-anchored pattern would accept
    assert not is_code_sha256(LOOKALIKE)
    assert not is_code_sha256(LIVE_CODE[:-1]) and not is_code_sha256("abc=") and not is_code_sha256(None)
    assert is_revision_id(REVISION) and not is_revision_id(REVISION + "\n") and not is_revision_id("r1")


def test_labelled_values_are_read_whole_and_never_cut_out_of_a_longer_run():
    text = f"CodeSha256={LIVE_CODE}\nRevisionId={REVISION}\n"
    assert code_sha256_in(text) == (LIVE_CODE,) and revision_id_in(text) == (REVISION,)
    assert code_sha256_in(f"CodeSha256={LIVE_CODE[:-1]}A{LIVE_CODE}") == ()  # 88 characters are not a digest
    assert code_sha256_in(f"CodeSha256={LOOKALIKE}") == ()
    assert code_sha256_in(f'"CodeSha256": "{OTHER_CODE}" then CodeSha256={LIVE_CODE}') == (OTHER_CODE, LIVE_CODE)
    # printed again later: the last value is the one a log left live
    assert code_sha256_in(f"CodeSha256={LIVE_CODE} CodeSha256={OTHER_CODE} CodeSha256={LIVE_CODE}") == \
        (OTHER_CODE, LIVE_CODE)


# ------------------------------------------------------------------------ worklog evidence


def test_worklog_evidence_reads_code_sha256_and_revision_id():
    text = (f"Ran deploy.sh by hand; deployed commit 9febe19f1368; LastModified=2026-03-02T07:59:00.000+0000 "
            f"CodeSha256={LIVE_CODE} RevisionId={REVISION} State=Active LastUpdateStatus=Successful")
    [ev] = evidence_for_item("ENC-TSK-1", {"history": [{"status": "worklog", "description": text,
                                                         "timestamp": "2026-03-02T08:00:00Z"}]})
    assert ev.code_sha256 == (LIVE_CODE,) and ev.revision_id == (REVISION,)
    assert ev.shas == ("9febe19f1368",) and ev.outcome == "pass"


def test_structured_evidence_reads_the_same_fields():
    item = {"deploy_evidence": {"commit": "9febe19f1368", "CodeSha256": LIVE_CODE, "RevisionId": REVISION}}
    [ev] = [e for e in evidence_for_item("ENC-TSK-1", item) if e.origin == "field:deploy_evidence"]
    assert ev.code_sha256 == (LIVE_CODE,) and ev.revision_id == (REVISION,)


def test_a_lookalike_or_truncated_value_is_not_read_as_a_digest():
    for bad in (LOOKALIKE, LIVE_CODE[:-2] + "=", LIVE_CODE.replace("=", "")):
        [ev] = evidence_for_item("T", {"history": [{"status": "worklog", "description": f"CodeSha256={bad}"}]})
        assert ev.code_sha256 == (), bad


def test_base64_letters_are_never_read_as_an_outcome_or_a_commit():
    # "/KO/" is a failure word and "+deadbeef1/" a hex run between separators, inside one digest
    hostile = "AAAAAAAAAA/KO/+deadbeef1/AAAAAAAAAAAAAAAAAA="
    assert is_code_sha256(hostile)
    facts = parse_text(f"Deployed commit 9febe19f1368 via deploy.sh; CodeSha256={hostile}; validation passed")
    assert facts["outcome"] == "pass" and facts["shas"] == ("9febe19f1368",)
    # the same letters outside a labelled digest still count: nothing else is hidden
    assert parse_text("smoke /KO/ after deploy")["outcome"] == "fail"


# ----------------------------------------------------------------------- the deploy's line


def test_deploy_line_records_and_reads_back_the_artifact():
    line = format_evidence_line("9febe19f1368", "2026-03-02T07:59:00.000+0000", "pass",
                                ["State=Active", "LastUpdateStatus=Successful", "GET /x -> 200"],
                                code_sha256=LIVE_CODE, revision_id=REVISION)
    assert f"LastModified=2026-03-02T07:59:00.000+0000 CodeSha256={LIVE_CODE} RevisionId={REVISION} State=" in line
    back = parse_evidence_line(line)
    assert back["code_sha256"] == LIVE_CODE and back["revision_id"] == REVISION and back["outcome"] == "pass"
    assert parse_text(line)["shas"] == ("9febe19f1368",)
    without = format_evidence_line("9febe19f1368", "2026-03-02T07:59:00.000+0000", "pass", ["State=Active"])
    assert "CodeSha256" not in without and parse_evidence_line(without)["code_sha256"] is None


@pytest.mark.parametrize("field, value", [("code_sha256", LIVE_CODE + "\n"), ("code_sha256", LOOKALIKE),
                                          ("revision_id", "r1")])
def test_deploy_line_refuses_a_value_it_would_not_read_back(field, value):
    with pytest.raises(ValueError, match="not a"):
        format_evidence_line("9febe19f1368", "2026-03-02T07:59:00.000+0000", "pass", [], **{field: value})


# --------------------------------------------------------------------- lambda_deploy_match


def _run(r, s, run_id=2, code=LIVE_CODE, deploy=("2026-02-26T12:03:00Z", "2026-02-26T12:06:00Z"), **artifact):
    out = run(run_id, s["squash"], "success", "2026-02-26T12:01:00Z", "2026-02-26T12:09:00Z", deploy=deploy)
    if code is not None or artifact:
        out["artifact"] = {"job_id": run_id * 3 + 1, "code_sha256": code, "revision_id": REVISION, **artifact}
    return out


def _match(r, runs, tracker=NO_TRACKER, **cfg):
    snap = snapshot(r.path, github={"workflow": "x", "runs": runs}, tracker=tracker,
                    **{"lambda": lambda_data(**cfg)})
    [finding] = judge(snap, "lambda_deploy_match")
    return finding


def test_recorded_live_digest_is_an_artifact_pass(repo):
    r, s = repo
    f = _match(r, [_run(r, s)])
    assert f.status == "pass" and "proof: artifact" in f.message and "run 2" in f.message
    assert f.evidence[1]["proof"] == "artifact" and f.evidence[0]["code_sha256"] == LIVE_CODE


def test_no_recorded_digest_stays_a_timing_pass_and_says_why(repo):
    r, s = repo
    f = _match(r, [_run(r, s, code=None)])
    assert f.status == "pass" and "timing match only" in f.message and "no deploy log on record" in f.message
    assert f.evidence[1]["proof"] == "timing"
    f = _match(r, [_run(r, s, code=None, error="GET .../logs -> 404: Not Found")])
    assert f.status == "pass" and "could not be read" in f.message and f.evidence[1]["proof"] == "timing"


def test_another_recorded_digest_fails_and_says_both_values(repo):
    r, s = repo
    f = _match(r, [_run(r, s, code=OTHER_CODE)])
    assert f.status == "fail" and LIVE_CODE in f.message and OTHER_CODE in f.message
    assert "not what that deploy uploaded" in f.message


def test_a_malformed_live_digest_cannot_be_evaluated(repo):
    r, s = repo
    for bad in (LIVE_CODE + "\n", LOOKALIKE):
        f = _match(r, [_run(r, s)], CodeSha256=bad)
        assert f.status == "error" and "not one base64 SHA-256 digest" in f.message


def test_a_lookalike_in_the_run_log_is_not_an_artifact_match(repo):
    r, s = repo
    f = _match(r, [_run(r, s, code=LOOKALIKE)])
    assert f.status == "pass" and "proof: timing" in f.message and "not a digest" in f.message


def test_two_deploys_in_one_window_credit_the_one_whose_digest_is_live(repo):
    r, s = repo
    wrong, right = _run(r, s, run_id=2, code=OTHER_CODE), _run(r, s, run_id=3, code=LIVE_CODE)
    for runs in ([wrong, right], [right, wrong]):
        f = _match(r, runs)
        assert f.status == "pass" and "run 3" in f.message and "proof: artifact" in f.message
        assert "run 2 in the same window recorded" in f.message
        assert [e.get("run_id") for e in f.evidence[1:]] == [3]
    both_wrong = _match(r, [wrong, _run(r, s, run_id=3, code=digest("third"))])
    assert both_wrong.status == "fail" and "run 2" in both_wrong.message and "run 3" in both_wrong.message


def test_a_digest_that_matches_another_deploy_does_not_pass(repo):
    r, s = repo
    earlier = run(1, s["pr"], "success", "2026-02-25T18:01:00Z", "2026-02-25T18:09:00Z",
                  deploy=("2026-02-25T18:03:00Z", "2026-02-25T18:06:00Z"))
    earlier["artifact"] = {"job_id": 4, "code_sha256": LIVE_CODE, "revision_id": REVISION}
    # LastModified in run 2's deploy, which uploaded other code; the live code is run 1's build
    f = _match(r, [earlier, _run(r, s, code=OTHER_CODE)])
    assert f.status == "fail" and "what run 1 recorded" in f.message
    # LastModified in no deploy at all: the pipeline's build uploaded again by hand is still out of band
    f = _match(r, [earlier], modified="2026-03-05T01:00:00.000+0000")
    assert f.status == "fail" and "out-of-band" in f.message and "run 1" in f.message


MANUAL = ("Ran backend/lambda/coordination_api/deploy.sh by hand; deployed commit {sha}; "
          "LastModified=2026-03-02T07:59:00.000+0000 {code}State=Active LastUpdateStatus=Successful")


def _manual(r, s, code: str) -> object:
    text = MANUAL.format(sha=s["direct"][:9], code=f"CodeSha256={code} " if code else "")
    items = {"ENC-TSK-326": {"item_id": "ENC-TSK-326", "history": [
        {"status": "worklog", "description": text, "timestamp": "2026-03-02T08:00:00Z"}]}}
    return _match(r, [], {"project": "p", "items": items, "missing": []}, modified="2026-03-02T07:59:00.000+0000")


def test_manual_deploy_worklog_is_matched_by_its_digest(repo):
    r, s = repo
    f = _manual(r, s, LIVE_CODE)
    assert f.status == "pass" and "proof: artifact" in f.message and f.evidence[1]["proof"] == "artifact"
    f = _manual(r, s, "")
    assert f.status == "pass" and "proof: timing" in f.message and "the worklog records no CodeSha256" in f.message
    f = _manual(r, s, OTHER_CODE)
    assert f.status == "fail" and OTHER_CODE in f.message and LIVE_CODE in f.message
    f = _manual(r, s, LOOKALIKE)
    assert f.status == "pass" and "proof: timing" in f.message  # never an artifact match


# -------------------------------------------------------------------- the github source


SINCE = datetime(2026, 2, 1, tzinfo=timezone.utc)
UNTIL = datetime(2026, 3, 2, 23, 59, 59, tzinfo=timezone.utc)


@pytest.fixture
def rsps(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_" + "Q7x9TzK2mW4pL8vN3bR6yH1cJ5dF0gS2aE4u")
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def _collect(runs, target):
    started = datetime.strptime(target["run_started_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    meter = Meter()
    data = collect_github(REPO, WORKFLOW_FILE, "main", SINCE, UNTIL, meter=meter,
                          jobs_near=[started + timedelta(seconds=40)], retry=RetryPolicy(sleep=lambda s: None))
    return data, meter


def test_the_matched_runs_deploy_log_is_read_with_one_request(rsps):
    runs = runs_spread(250, SINCE, 30)
    target = runs[136]
    assert target["conclusion"] == "success"
    job_id = target["id"] * 3 + 1
    fake = FakeGitHub(rsps, runs, logs={job_id: deploy_log(LIVE_CODE, REVISION)})
    data, meter = _collect(runs, target)
    assert meter.requests == 3 + 1 + 2  # three pages of runs, the jobs, the log (the API's 302, the download)
    assert fake.paths()[-1] == f"/repos/{REPO}/actions/jobs/{job_id}/logs" and fake.calls[-1].status == 302
    [got] = [r for r in data["runs"] if "artifact" in r]
    assert got["id"] == target["id"]
    assert got["artifact"] == {"job_id": job_id, "code_sha256": LIVE_CODE, "revision_id": REVISION}
    [blob] = fake.blob_calls
    assert "Authorization" not in blob.headers  # the token stays with the API host
    assert LOG_HOST.endswith("blob.core.windows.net")
    source_validator("github").validate(data)


def test_an_expired_log_is_recorded_and_the_source_still_reads(rsps):
    runs = runs_spread(250, SINCE, 30)
    target = runs[136]
    FakeGitHub(rsps, runs)  # no log served: GitHub answers 404 once a log is past its retention
    data, meter = _collect(runs, target)
    [got] = [r for r in data["runs"] if "artifact" in r]
    assert got["artifact"]["code_sha256"] is None and "404" in got["artifact"]["error"]
    assert meter.requests == 3 + 1 + 1


def test_a_failed_run_gets_no_log_request(rsps):
    runs = runs_spread(250, SINCE, 30)
    target = runs[137]
    assert target["conclusion"] == "failure"
    fake = FakeGitHub(rsps, runs)
    data, meter = _collect(runs, target)
    assert meter.requests == 3 + 1 and not any("artifact" in r for r in data["runs"])
    assert not any(p.endswith("/logs") for p in fake.paths())
