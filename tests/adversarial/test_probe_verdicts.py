"""Hostile probes of the hardened verdicts (helper P2): data that lies must not read as a pass.

Each case here read as ``pass`` (or waived) before the fix in the same commit.
"""

from __future__ import annotations

import pytest

from compliance.judge.evidence import FAIL, PASS, parse_text

# A failure written with characters that look like (or render as) ASCII: the failure must
# still be read. Lookalike *pass* words are never promoted to a pass.
DISGUISED_FAILURES = [
    "capabilities -> \uff15\uff10\uff10; validation passed",  # fullwidth digits
    "capabilities -> **500**; validation passed",  # markdown bold
    "capabilities -> `500`; validation passed",  # markdown code
    "validation passed; capabilities returned HTTP&nbsp;500",  # HTML entity
    "validation passed; GET /api/v1/coordination/capabilities &rarr; 500",
    "validation passed; capabilities returned <b>500</b>",
    "validation passed; smoke test f\u0430iled",  # Cyrillic a
    "validation passed; smoke test fa\u00adiled",  # soft hyphen
    "validation passed; smoke test fa\u200biled",  # zero-width space
    "validation passed; State=Active LastUpdateStatus=\uff26ailed",  # fullwidth F
    "validation passed; \u041a\u041e",  # Cyrillic KO
]


@pytest.mark.parametrize("text", DISGUISED_FAILURES)
def test_disguised_failure_is_read(text):
    assert parse_text(text)["outcome"] == FAIL, text


@pytest.mark.parametrize("text", [
    "validation p\u0430ssed",  # Cyrillic a: not a pass word
    "State=\u0410ctive LastUpdateStatus=Successful",  # Cyrillic A: not the Active state
])
def test_lookalike_pass_is_not_a_pass(text):
    assert parse_text(text)["outcome"] != PASS, text


# Failure statements the grammar did not know.
UNKNOWN_FAILURES = [
    "validation passed; capabilities: Forbidden",
    "validation passed; Unauthorized 401",
    "validation passed; access denied",
    "validation passed; AccessDeniedException",
    "validation passed; deploy aborted",
    "validation ok; status 500",
    "validation ok; status code 503",
    "validation ok but mcp 500",
    "validation ok; mcp=500",
    "validation ok; mcp: 502",
]


@pytest.mark.parametrize("text", UNKNOWN_FAILURES)
def test_unknown_failure_forms(text):
    assert parse_text(text)["outcome"] == FAIL, text


# A pass stated as an expectation, a plan or a condition is not a stated outcome.
NOT_YET = [
    "validation should pass",
    "validation will pass after redeploy",
    "validation was supposed to pass",
    "validation is expected to pass",
    "expect validation passed",
    "if validation passed we'd be done",
    "hopefully smoke tests pass",
]


@pytest.mark.parametrize("text", NOT_YET)
def test_expected_pass_is_not_a_pass(text):
    assert parse_text(text)["outcome"] != PASS, text


@pytest.mark.parametrize("text", [
    "Deployed commit abc1234 via deploy.sh; State=Active LastUpdateStatus=Successful; capabilities -> 200",
    "validation passed with no unauthorized access and no forbidden responses",
    "smoke tests passed as expected",
    "validation **passed**; capabilities -> `200`",
    "capabilities -> \uff12\uff10\uff10 OK; validation passed",
])
def test_honest_passes_still_pass(text):
    assert parse_text(text)["outcome"] == PASS, text


# ---------------------------------------------------------------------------- waivers

def _waiver_case(prefix: str):
    from datetime import date

    from compliance.judge.waivers import apply_waivers
    from compliance.model.findings import Finding
    from compliance.model.waivers import Waiver, WaiverFile

    waived_sha = "abcdef1" + "0" * 33
    collider = "abcdef1" + "9" * 33  # a later commit made to share the waived commit's short sha
    snapshot = {"collected_at": "2026-11-20T00:00:00Z",
                "sources": {"git": {"data": {"commits": [
                    {"sha": waived_sha, "files": [{"path": "a.py"}], "pr": None},
                    {"sha": collider, "files": [{"path": "a.py"}], "pr": None}]}}}}
    findings = [Finding("APIMCP-012", "change", sha[:12], "fail", "no task id",
                        evidence=[{"kind": "commit", "sha": sha}]) for sha in (waived_sha, collider)]
    w = Waiver(0, "APIMCP-012", "sha", prefix, "o@example.com", "incident", "ENC-ISS-1",
               date(2026, 12, 31), date(2026, 11, 1), 1)
    section = apply_waivers(findings, WaiverFile("w.yaml", [w]), snapshot, [])
    return findings, section


def test_sha_waiver_prefix_naming_two_commits_waives_neither():
    findings, section = _waiver_case("abcdef1")
    assert [f.status for f in findings] == ["fail", "fail"]
    assert not section["applied"]
    assert "ambiguous sha prefix" in section["unused"][0]["note"]


def test_sha_waiver_unique_prefix_still_applies():
    findings, section = _waiver_case("abcdef10")
    assert [f.status for f in findings] == ["waived", "fail"]
    assert section["applied"] and "note" not in section["applied"][0]


# --------------------------------------------------------------------- grace parameters

@pytest.mark.parametrize("kind,param,value", [
    ("deploy_coverage", "grace_minutes", "99999999999999"),  # every undeployed change pending for good
    ("deploy_coverage", "grace_minutes", "5256000"),  # ten years
    ("worklog_evidence", "evidence_grace_hours", ".inf"),
    ("worklog_evidence", "evidence_grace_hours", "100000"),
])
def test_unbounded_grace_is_an_input_error(tmp_path, kind, param, value):
    from compliance.base.errors import InputError
    from compliance.inputs.rules import load_rules

    path = tmp_path / "rules.yaml"
    path.write_text(f"""version: 1
rules:
  - id: PROBE-001
    title: probe
    severity: high
    scope: {{include: ["**"]}}
    checks:
      - kind: {kind}
        {param}: {value}
""")
    with pytest.raises(InputError, match="maximum"):
        load_rules([str(path)])
