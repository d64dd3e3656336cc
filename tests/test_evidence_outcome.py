"""The outcome grammar: the Lambda state and the endpoint/smoke outcome are separate facts.

A healthy Lambda (State=Active, LastUpdateStatus=Successful) says nothing about whether the
capability endpoint answered: a non-2xx answer, an error, a timeout, a revert or a stated
"pending" must each keep the worklog from reading as a pass.
"""

import pytest

from compliance.judge.evidence import FAIL, PASS, UNSETTLED, detail_signal, parse_text

LAMBDA_OK = "Deployed commit 9febe19f1368; LastModified=2026-03-01T12:05:00.000+0000 State=Active LastUpdateStatus=Successful; "


@pytest.mark.parametrize(
    "tail",
    [
        "GET .../capabilities: 500 Internal Server Error",
        "GET /api/v1/coordination/capabilities: 500",
        "GET https://api.example.com/api/v1/coordination/capabilities: 502",
        "capabilities answered 503 Service Unavailable",
        "503 Service Unavailable",
        "smoke test: timed out",
        "error (timeout)",
        "health check errors: 3",
        "endpoint down",
        "threw an exception",
        "KO",
        "smoke: KO",
        "\u274c capabilities",
        "reverted the deploy",
        "200 errors",
        "passed? no",
        "not passed",
        "expected 200 got 500",
        "GET /capabilities -> 302",
        "connection refused",
        "capabilities unreachable",
        "success: false",
        '{"success": false}',
        "passed: no",
        "200 Internal Server Error",  # contradictory: never a pass
        "could not fix the timeout; validation pass",
        # found by trying to fool the parser: each read as a pass before
        "smoke tests: 3/5 passed",
        "3 of 5 checks passed",
        "validation: passed (except capabilities)",
        "validation passed, but not for MCP",
        "health: degraded",
        "validation: partially passed",
        "GET /capabilities: not 200",
        "non-200 from capabilities",
        "capabilities -> 200? no, 404",
        "http_code=000",
        "0/0 passed",
        "validation: PASS -- capabilities 404",
        "capabilities check returned no response",
        "smoke test got an empty body",
        # found by the coordinator's own fooling attempts after the parser was done
        "validation: passed*  (*except the MCP endpoint)",
        "capabilities 200; mcp 503",
        "health check 500",
    ],
)
def test_endpoint_failures_outweigh_a_healthy_lambda(tail):
    facts = parse_text(LAMBDA_OK + tail)
    assert facts["outcome"] == FAIL, facts["outcome_details"]
    assert any(detail_signal(d) == FAIL for d in facts["outcome_details"]), facts["outcome_details"]


@pytest.mark.parametrize(
    "tail",
    [
        "validation: pending",
        "validation: pass (retry pending)",
        "smoke tests skipped",
        "capabilities check in progress",
        "pending validation",
        "passed?",
        "smoke test to be rerun",
        # found by trying to fool the parser: each read as a pass before
        "validation ok-ish",
        "tests passing locally; prod not checked",
        "hasn't been validated",
        "smoke green? mostly",
        "validation=pass (dry run)",
        "ran deploy.sh --dry-run; validation pass",
        "validation passed in staging",
        "validation passed on dev environment",
        "validation passed in STAGING",  # the environment in capitals read as a pass before
        "validation passed on DEV",
    ],
)
def test_unsettled_outcomes_are_no_outcome(tail):
    facts = parse_text(LAMBDA_OK + tail)
    assert facts["outcome"] is None, facts["outcome_details"]
    assert any(detail_signal(d) == UNSETTLED for d in facts["outcome_details"]), facts["outcome_details"]


@pytest.mark.parametrize(
    "tail",
    [
        "validation=pass",
        "GET /capabilities -> 200",
        "GET /api/v1/coordination/capabilities: 200",
        "200 OK",
        "capabilities answered 200 OK",
        "smoke tests passed with 0 errors",
        "no errors",
        "0 failures",
        "errors: 0",
        "\u2705",
        "no exceptions, no timeouts",
        "did not time out",
        "rollback not needed",
        "no revert needed",
        "fixed the 500 error on /requests; GET /capabilities -> 200",
        "raised the Lambda timeout to 30s; smoke tests passed",
        "added exception handling; validation ok",
        "error-free run",
        '{"success": true}',
        "5/5 passed",
        "smoke tests passed 4 of 4",
        "HTTP/1.1 200 OK",
        "capabilities 200",
        "capabilities 100 routes registered; smoke tests passed",
    ],
)
def test_controls_stay_passes(tail):
    facts = parse_text(LAMBDA_OK + tail)
    assert facts["outcome"] == PASS, facts["outcome_details"]


@pytest.mark.parametrize(
    "text, outcome",
    [
        ("200 OK", PASS),
        ("GET /capabilities: 200", PASS),
        ("\u2705 smoke tests", PASS),
        ("no errors", None),  # a negated failure is not a pass on its own
        ("0 failures", None),
        ("expected 200", None),  # an expectation, not an answer
        ("we get 200 requests a minute", None),
        ("KO", FAIL),
        ("ko", None),  # only the upper-case verdict, not a syllable
        ("\u274c", FAIL),
        ("validation: pending", None),
    ],
)
def test_outcome_without_lambda_state(text, outcome):
    assert parse_text(text)["outcome"] == outcome


def test_failure_details_are_named():
    facts = parse_text(LAMBDA_OK + "GET .../capabilities: 500 Internal Server Error")
    fails = [d for d in facts["outcome_details"] if detail_signal(d) == FAIL]
    assert any("500" in d for d in fails)
    assert "State=Active" in facts["outcome_details"]  # the Lambda fact is kept, but does not decide


@pytest.mark.parametrize("struck", ["~~validation passed~~", "<s>validation passed</s>", "<del>GET /capabilities -> 200</del>"])
def test_struck_through_text_is_retracted(struck):
    """Found by the verdict probe: a pass struck out in the tracker's Markdown still read as a pass."""
    base = "Deployed commit 9febe19f1368; LastModified=2026-03-01T12:05:00.000+0000; "
    assert parse_text(base + struck)["outcome"] is None
    assert parse_text(base + "~~failed~~ validation passed")["outcome"] == PASS  # a retracted failure too
