"""A worklog that disguises a status word is a lie, not silence (probe4).

Before the fix, ``State=\u0410ctive`` (Cyrillic A) beside ``-> 200`` read as a passing validation: the disguised
value went unread and a 2xx alone passes by the grammar. A pass statement that only the canonical reading
finds now fails, and the finding names the character.
"""

from __future__ import annotations

import pytest

from compliance.judge.evidence import FAIL, PASS, detail_signal, parse_text
from tests.scenario import build_repo, judge, snapshot, verdicts

LINE = ("Deployed commit {sha} via api-mcp-backend-deploy; devops-coordination-api "
        "LastModified=2026-03-01T12:05:00.000+0000 State=Active LastUpdateStatus=Successful; "
        "GET /api/v1/coordination/capabilities -> 200")

DISGUISES = [
    ("State=Active", "State=\u0410ctive", "U+0410"),  # Cyrillic capital A
    ("State=Active", "State=Act\u0456ve", "U+0456"),  # Cyrillic i
    ("State=Active", "State=Act\u0131ve", "U+0131"),  # dotless i (case folding: its upper case is I)
    ("State=Active", "State=Act\u0130ve", "U+0130"),  # dotted capital I (its lower case is not one letter)
    ("State=Active", "State=Act\u200bive", "U+200B"),  # zero-width space inside the word
    ("State=Active", "State=&#1040;ctive", "U+0410"),  # the Cyrillic letter as an HTML entity
    ("Successful", "Succ\u0435ssful", "U+0435"),  # Cyrillic e
    ("LastUpdateStatus", "LastUpdate\u00adStatus", "U+00AD"),  # soft hyphen in the key
    ("-> 200", "-> 2\u200d00", "U+200D"),  # zero-width joiner inside the code
    ("State=Active", "State=\U0001d400ctive", "U+1D400"),  # mathematical bold A
    ("State=Active", "State=Act\x00ive", "U+0000"),  # NUL: dropped by every renderer
    ("Successful", "Succ\x1bessful", "U+001B"),  # an escape character
    ("State=Active", "State=Act\U000e0069ive", "U+E0069"),  # a Unicode tag character ("ASCII smuggling")
]


@pytest.mark.parametrize("honest, disguised, char", DISGUISES)
def test_a_disguised_status_word_fails_and_names_the_character(honest, disguised, char):
    text = LINE.format(sha="0d908c3321f1").replace(honest, disguised)
    assert disguised in text
    got = parse_text(text)
    assert got["outcome"] == FAIL, got
    named = [d for d in got["outcome_details"] if char in d]
    assert named and all(detail_signal(d) == FAIL for d in named), got


def test_a_disguised_pass_word_beside_a_real_pass_fails():
    got = parse_text("capabilities -> 200; validation p\u0430ssed")
    assert got["outcome"] == FAIL
    assert any("U+0430" in d for d in got["outcome_details"])


@pytest.mark.parametrize("text", [
    LINE.format(sha="0d908c3321f1"),
    LINE.format(sha="0d908c3321f1") + " (Zo\u00eb's \ufb01x)",  # honest non-ASCII beside the statements
    LINE.format(sha="0d908c3321f1").replace("State=Active", "State=**Active**"),  # markup disguises no letter
    LINE.format(sha="0d908c3321f1") + "; validation \u2705",
    LINE.format(sha="0d908c3321f1").replace("-> 200", "-> \uff12\uff10\uff10"),  # fullwidth: typed, not disguised
])
def test_honest_lines_still_pass(text):
    assert parse_text(text)["outcome"] == PASS


def test_a_no_break_space_only_goes_unread():
    """A look-alike space disguises no letter: the statement it breaks is not read, nothing more."""
    got = parse_text("State=Active LastUpdateStatus=Successful; capabilities ->\u00a0200")
    assert got["outcome"] == PASS  # the state pair passes; the "-> 200" is neither a pass nor a lie
    assert "-> 200" not in got["outcome_details"]


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return build_repo(tmp_path_factory.mktemp("repo") / "enceladus")


def test_the_worklog_check_fails_a_disguised_state_and_names_the_character(repo):
    r, s = repo
    text = LINE.format(sha=s["squash"][:12]).replace("State=Active", "State=\u0410ctive")
    items = {"ENC-TSK-326": {"item_id": "ENC-TSK-326", "record_id": "task#ENC-TSK-326", "history": [
        {"timestamp": "2026-03-01T12:30:00Z", "status": "worklog", "description": text}]}}
    snap = snapshot(r.path, tracker={"project": "enceladus", "items": items, "missing": []})
    subject = f"ENC-TSK-326@{s['squash'][:12]}"
    assert verdicts(judge(snap, "worklog_evidence"))[subject] == "fail"
    message = {f.subject: f.message for f in judge(snap, "worklog_evidence")}[subject]
    assert "State=Active disguised with U+0410" in message
