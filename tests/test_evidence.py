import json
from datetime import datetime, timezone

import pytest

from compliance.judge.evidence import (
    Evidence,
    evidence_for_item,
    format_evidence_line,
    parse_evidence_line,
    parse_text,
)

DOMAIN_EXAMPLE = (
    "Deployed commit 9febe19f1368 via api-mcp-backend-deploy; devops-coordination-api "
    "LastModified=2026-02-25T08:29:47.000+0000 State=Active LastUpdateStatus=Successful; "
    "GET /api/v1/coordination/capabilities -> 200"
)
LM = datetime(2026, 2, 25, 8, 29, 47, tzinfo=timezone.utc)


def item(*history, **fields):
    return {"item_id": "ENC-TSK-325", "record_id": "task#ENC-TSK-325", "history": list(history), **fields}


def worklog(description, timestamp="2026-02-25T08:31:02Z", status="worklog"):
    return {"timestamp": timestamp, "status": status, "description": description}


# ------------------------------------------------------------------ the domain example


def test_domain_example_parses_to_every_fact():
    facts = parse_text(DOMAIN_EXAMPLE)
    assert facts["shas"] == ("9febe19f1368",)
    assert facts["last_modified"] == (LM,)
    assert facts["last_modified"][0].tzinfo is not None
    assert facts["outcome"] == "pass"
    assert facts["outcome_details"] == ("State=Active", "LastUpdateStatus=Successful", "-> 200")
    assert facts["mentions_deploy"] is True


def test_domain_example_as_worklog_evidence():
    [ev] = evidence_for_item("ENC-TSK-325", item(worklog(DOMAIN_EXAMPLE)))
    assert ev == Evidence(
        task_id="ENC-TSK-325",
        origin="worklog",
        timestamp=datetime(2026, 2, 25, 8, 31, 2, tzinfo=timezone.utc),
        text=DOMAIN_EXAMPLE,
        shas=("9febe19f1368",),
        last_modified=(LM,),
        outcome="pass",
        outcome_details=("State=Active", "LastUpdateStatus=Successful", "-> 200"),
        mentions_deploy=True,
        index=0,
    )


# ------------------------------------------------------------------------- outcomes


@pytest.mark.parametrize(
    "text",
    [
        "Deployed commit 9febe19 via deploy.sh; State=Active LastUpdateStatus=Failed",
        "Deployed commit 9febe19; State=Pending LastUpdateStatus=InProgress",
        "State=Inactive",
        "LastUpdateStatus=In Progress",
        "GET /api/v1/coordination/capabilities -> 502",
        "smoke test returned 500",
        "capabilities returned 5xx",
        "HTTP/1.1 403 Forbidden",
        "validation failed",
        "VALIDATION FAILED",
        "smoke test failure",
        "rollback to previous version",
        "rolled back after alarms",
        "validation did not pass",
        "validation didn't pass",
        "validation not ok",
        "deploy unsuccessful",
        # fail wins over any pass signal
        DOMAIN_EXAMPLE + "; second smoke test failed",
        "State=Active LastUpdateStatus=Successful; GET /a -> 200; GET /b -> 404",
        "10 failed",
        "GET /capabilities -> 302",  # not 2xx: a redirect is not the endpoint answering
    ],
)
def test_failure_signals_read_as_fail(text):
    assert parse_text(text)["outcome"] == "fail"


@pytest.mark.parametrize(
    "text",
    [
        "State=Active LastUpdateStatus=Successful",
        "state: active, last_update_status: successful",
        '{"State": "Active", "LastUpdateStatus": "Successful"}',
        "GET /capabilities -> 200",
        "capabilities returned 200",
        "HTTP 200",
        "smoke tests passed",
        "validation: PASS",
        "validation ok",
        "validation succeeded",
        "validation successful",
        "validation green",
        "State=Active; smoke tests passed",
    ],
)
def test_pass_signals_read_as_pass(text):
    assert parse_text(text)["outcome"] == "pass"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Deployed commit 9febe19f1368 via api-mcp-backend-deploy",
        "State=Active",  # a detail, not enough alone
        "LastUpdateStatus=Successful",
        "validation pending",
        "password rotated; bypassed cache; compass",
        "pass-through proxy configured",
        "Deploy succeeded",  # the deploy, not the validation
    ],
)
def test_no_stated_outcome_is_none(text):
    assert parse_text(text)["outcome"] is None


def test_state_active_alone_is_a_detail_but_no_pass():
    facts = parse_text("State=Active")
    assert facts["outcome"] is None
    assert facts["outcome_details"] == ("State=Active",)


@pytest.mark.parametrize(
    "text, outcome",
    [
        ("no failures", None),
        ("0 failed", None),
        ("zero failures; smoke tests passed", "pass"),
        ("failures: 0, validation ok", "pass"),
        ('"failed": 0 and GET /x -> 200', "pass"),
        ("no rollback needed; validation ok", "pass"),
        ("rollback not required -> 200", "pass"),
        ("did not fail", None),
        ("0 tests failed, HTTP 200", "pass"),
        ("no failures but smoke test failed", "fail"),
        ("no rollback; 3 tests failed", "fail"),
        ("0 passed", None),
        ("0 passed, 2 failed", "fail"),
    ],
)
def test_negations(text, outcome):
    assert parse_text(text)["outcome"] == outcome


def test_failure_words_inside_urls_are_not_statements():
    text = "validation ok; report: https://ci.example/runs/1?status=failed"
    assert parse_text(text)["outcome"] == "pass"


# ----------------------------------------------------------------------- LastModified


@pytest.mark.parametrize(
    "text",
    [
        "LastModified=2026-02-25T08:29:47.000+0000",
        "LastModified: 2026-02-25T08:29:47Z",
        "last-modified 2026-02-25T08:29:47+00:00",
        "last_modified=2026-02-25 08:29:47 UTC",
        '"LastModified": "2026-02-25T08:29:47.000+0000"',
        "LastModified=2026-02-25T00:29:47.000-0800",
        "LastModified=2026-02-25T08:29:47.000000000Z",
    ],
)
def test_last_modified_formats(text):
    assert parse_text(text)["last_modified"] == (LM,)


def test_labelled_last_modified_wins_over_other_timestamps():
    text = "at 2026-02-25T09:00:00Z checked; LastModified=2026-02-25T08:29:47Z; next 2026-02-26T00:00:00Z"
    assert parse_text(text)["last_modified"] == (LM,)


def test_loose_last_modified_mention_takes_the_first_timestamp_after_it():
    text = "verified 2026-02-24T00:00:00Z. Function LastModified was then 2026-02-25T08:29:47Z, later 2026-02-26T00:00:00Z"
    assert parse_text(text)["last_modified"] == (LM,)


def test_unlabelled_timestamp_is_not_last_modified():
    assert parse_text("Deployed commit 9febe19 at 2026-02-25T08:29:47Z; -> 200")["last_modified"] == ()


def test_missing_last_modified():
    facts = parse_text("Deployed commit 9febe19f1368 via deploy.sh; State=Active LastUpdateStatus=Successful")
    assert facts["last_modified"] == ()
    assert facts["shas"] == ("9febe19f1368",)
    assert facts["outcome"] == "pass"


def test_unparseable_last_modified_is_dropped():
    assert parse_text("LastModified=2026-13-45T99:99:99Z")["last_modified"] == ()


# ---------------------------------------------------------------------------- SHAs


def test_missing_commit():
    facts = parse_text("devops-coordination-api LastModified=2026-02-25T08:29:47.000+0000 State=Active")
    assert facts["shas"] == ()
    assert facts["last_modified"] == (LM,)


def test_shas_are_lowercased_ordered_and_deduplicated():
    text = (
        "commits 9FEBE19F1368, abc1234 and 9febe19f1368 again; full 0123456789abcdef0123456789abcdef01234567"
    )
    assert parse_text(text)["shas"] == ("9febe19f1368", "abc1234", "0123456789abcdef0123456789abcdef01234567")


def test_sha_bounds():
    assert parse_text("abcdef fe12345 " + "a" * 41)["shas"] == ("fe12345",)
    assert parse_text("x9febe19f1368 9febe19f1368y 9febe19_ok")["shas"] == ("9febe19",)


def test_all_digit_tokens_are_kept_unless_date_like():
    assert parse_text("sha 1234567 and 20260225 and 12345678")["shas"] == ("1234567", "12345678")


def test_a_labelled_commit_is_kept_even_if_it_looks_like_a_date():
    assert parse_text("Deployed commit 20260225 via deploy.sh")["shas"] == ("20260225",)


@pytest.mark.parametrize(
    "text",
    [
        "REQ-20260225T083102Z-a1b2c3",
        "request REQ-20260225T083102Z-a1b2c3d4e5f6",
        "at 2026-02-25T08:29:47.000+0000",
        "at 20260225T083102Z or 20260225083102 or 2026-02-25 08:29:47 UTC",
        "RequestId: 550e8400-e29b-41d4-a716-446655440000",
        "commit 550E8400-E29B-41D4-A716-446655440000",
        "trace 1-5759e988-bd862e3fe1be46a994272793",
        "arn:aws:lambda:us-west-2:123456789012:function:devops-coordination-api",
    ],
)
def test_ids_and_timestamps_yield_no_shas(text):
    assert parse_text(text)["shas"] == ()


def test_sha_next_to_request_id_is_still_found():
    text = "REQ-20260225T083102Z-a1b2c3 deployed 9febe19 at 2026-02-25T08:29:47Z (550e8400-e29b-41d4-a716-446655440000)"
    assert parse_text(text)["shas"] == ("9febe19",)


# ------------------------------------------------------------------ deploy mentions


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Deployed commit abc1234", True),
        ("redeployed after fix", True),
        ("ran backend/lambda/coordination_api/deploy.sh", True),
        ("via api-mcp-backend-deploy", True),
        ("ran the deploy script", True),
        ("not deployed yet", False),
        ("to be deployed tomorrow", False),
        ("wasn't deployed", False),
        ("deployment planned", False),
    ],
)
def test_mentions_deploy(text, expected):
    assert parse_text(text)["mentions_deploy"] is expected


# --------------------------------------------------------------------- tracker items


def test_failed_validation_worklog():
    text = (
        "Deployed commit 9febe19f1368 via api-mcp-backend-deploy; devops-coordination-api "
        "LastModified=2026-02-25T08:29:47.000+0000 State=Active LastUpdateStatus=Successful; "
        "GET /api/v1/coordination/capabilities -> 503; validation failed"
    )
    [ev] = evidence_for_item("ENC-TSK-325", item(worklog(text)))
    assert ev.outcome == "fail"
    assert "-> 503" in ev.outcome_details
    assert ev.shas == ("9febe19f1368",)


def test_non_worklog_statuses_are_ignored():
    history = [
        worklog("Deployed commit aaaaaaa1 -> 200", status="created"),
        worklog("Deployed commit bbbbbbb2 -> 200", status="reopened"),
        worklog("Deployed commit ccccccc3 -> 200", status="close_audit"),
        worklog("Deployed commit ddddddd4 -> 200"),
        {"timestamp": "2026-02-25T08:31:02Z", "description": "Deployed commit eeeeeee5"},
    ]
    evs = evidence_for_item("ENC-TSK-325", item(*history))
    assert [(e.shas, e.index) for e in evs] == [(("ddddddd4",), 3)]


def test_commit_sha_field():
    [ev] = evidence_for_item("T", {"commit_sha": "9FEBE19F1368"})
    assert (ev.origin, ev.shas, ev.outcome, ev.index, ev.text) == (
        "field:commit_sha",
        ("9febe19f1368",),
        None,
        -1,
        "9FEBE19F1368",
    )


def test_json_deploy_evidence_string():
    raw = json.dumps(
        {
            "commit": "9febe19f1368",
            "function_last_modified": "2026-02-25T08:29:47.000+0000",
            "State": "Active",
            "LastUpdateStatus": "Successful",
            "validation": "pass",
        }
    )
    [ev] = evidence_for_item("T", {"deploy_evidence": raw})
    assert ev.origin == "field:deploy_evidence"
    assert ev.text == raw
    assert ev.shas == ("9febe19f1368",)
    assert ev.last_modified == (LM,)
    assert ev.outcome == "pass"
    assert ev.timestamp is None


@pytest.mark.parametrize(
    "value, outcome",
    [
        ({"sha": "abc1234", "LastModified": "2026-02-25T08:29:47Z", "outcome": "ok"}, "pass"),
        ({"commit_sha": "abc1234", "result": "failed"}, "fail"),
        ({"commit_sha": "abc1234", "status": 200}, "pass"),
        ({"commit_sha": "abc1234", "status": 503}, "fail"),
        ({"commit_sha": "abc1234", "validation": True}, "pass"),
        ({"commit_sha": "abc1234", "validation": False}, "fail"),
        ({"commit_sha": "abc1234", "state": "Active", "last_update_status": "InProgress"}, "fail"),
        ({"commit_sha": "abc1234", "state": "Active"}, None),
        ({"commit_sha": "abc1234", "notes": "rollback performed", "validation": "pass"}, "fail"),
        (
            {
                "commit_sha": "abc1234",
                "checks": [{"endpoint": "/x", "status": 200}, {"endpoint": "/y", "status": 500}],
            },
            "fail",
        ),
    ],
)
def test_deploy_evidence_objects(value, outcome):
    [ev] = evidence_for_item("T", {"deploy_evidence": value})
    assert ev.outcome == outcome
    assert ev.shas == ("abc1234",)
    assert json.loads(ev.text) == value


def test_non_json_deploy_evidence_is_free_text():
    raw = "deployed 9febe19f1368 via deploy.sh, LastModified 2026-02-25T08:29:47Z, smoke tests passed"
    [ev] = evidence_for_item("T", {"deploy_evidence": raw})
    assert (ev.shas, ev.last_modified, ev.outcome, ev.mentions_deploy) == (
        ("9febe19f1368",),
        (LM,),
        "pass",
        True,
    )


def test_live_validation_evidence_text_and_json():
    evs = evidence_for_item("T", {"live_validation_evidence": "GET /api/v1/coordination/capabilities -> 200"})
    assert [(e.origin, e.outcome) for e in evs] == [("field:live_validation_evidence", "pass")]
    evs = evidence_for_item("T", {"live_validation_evidence": '{"result": "fail"}'})
    assert [e.outcome for e in evs] == ["fail"]


def test_worklogs_come_first_then_fields_in_fixed_order():
    it = item(
        worklog("note"),
        worklog(DOMAIN_EXAMPLE),
        commit_sha="abc1234",
        deploy_evidence="{}",
        live_validation_evidence="-> 200",
        transition_type="lambda_deploy",
    )
    evs = evidence_for_item("ENC-TSK-325", it)
    assert [(e.origin, e.index) for e in evs] == [
        ("worklog", 0),
        ("worklog", 1),
        ("field:commit_sha", -1),
        ("field:deploy_evidence", -1),
        ("field:live_validation_evidence", -1),
    ]


@pytest.mark.parametrize(
    "it",
    [
        None,
        [],
        "task",
        {},
        {"history": None},
        {"history": "worklog"},
        {"history": {"status": "worklog", "description": "x"}},
        {"history": [None, 1, "x", [], {"status": None}, {"status": 3, "description": "deployed"}]},
        {"history": [{"status": "worklog", "description": 12345678}]},
        {"history": [{"status": "worklog", "description": ["Deployed commit abc1234"]}]},
        {"history": [{"status": "worklog", "description": {"commit": "abc1234"}}]},
        {"commit_sha": 1234567, "deploy_evidence": 5, "live_validation_evidence": ["-> 200"]},
        {"commit_sha": None, "deploy_evidence": None, "live_validation_evidence": None},
        {"commit_sha": ["abc1234"], "deploy_evidence": True, "live_validation_evidence": 3.5},
        {"deploy_evidence": "[" * 100_000},
        {"deploy_evidence": "null"},
    ],
)
def test_wrong_types_are_skipped_without_crashing(it):
    evs = evidence_for_item("T", it)
    assert all(e.outcome is None and e.shas == () for e in evs)
    if not (isinstance(it, dict) and isinstance(it.get("deploy_evidence"), str)):
        assert evs == []


def test_bad_worklog_timestamp_is_none_not_an_error():
    [ev] = evidence_for_item("T", item(worklog(DOMAIN_EXAMPLE, timestamp="yesterday")))
    assert ev.timestamp is None
    [ev] = evidence_for_item("T", item(worklog(DOMAIN_EXAMPLE, timestamp=1700000000)))
    assert ev.timestamp is None


def test_timestamps_are_utc():
    [ev] = evidence_for_item(
        "T", item(worklog("LastModified=2026-02-25T00:29:47-08:00", timestamp="2026-02-25T00:31:02-08:00"))
    )
    assert ev.timestamp == datetime(2026, 2, 25, 8, 31, 2, tzinfo=timezone.utc)
    assert ev.timestamp.utcoffset().total_seconds() == 0
    assert ev.last_modified == (LM,)


# --------------------------------------------------------------------- writing side


def test_format_evidence_line_matches_the_domain_shape():
    line = format_evidence_line(
        "9febe19f1368",
        "2026-02-25T08:29:47.000+0000",
        "pass",
        ["State=Active", "LastUpdateStatus=Successful", "GET /api/v1/coordination/capabilities -> 200"],
        "https://reports.example/run/42",
    )
    assert line == (
        "Deployed commit 9febe19f1368 via api-mcp-backend-deploy; devops-coordination-api "
        "LastModified=2026-02-25T08:29:47.000+0000 State=Active LastUpdateStatus=Successful; "
        "validation=pass (GET /api/v1/coordination/capabilities -> 200); report: https://reports.example/run/42"
    )


def test_format_round_trips_through_parse_text():
    line = format_evidence_line(
        "9FEBE19F1368",
        datetime(2026, 2, 25, 8, 29, 47, tzinfo=timezone.utc),
        "fail",
        ["State=Active", "LastUpdateStatus=Failed"],
        function="other-fn",
    )
    facts = parse_text(line)
    assert facts["shas"] == ("9febe19f1368",)
    assert facts["last_modified"] == (LM,)
    assert facts["outcome"] == "fail"
    assert facts["mentions_deploy"] is True
    assert "other-fn LastModified=2026-02-25T08:29:47.000+0000" in line
    parsed = parse_evidence_line(line)
    assert parsed["commit"] == "9febe19f1368"
    assert parsed["function"] == "other-fn"
    assert parsed["last_modified"] == LM
    assert parsed["outcome"] == "fail"
    assert parsed["details"] == ["State=Active", "LastUpdateStatus=Failed"]
    assert parsed["report_url"] is None


@pytest.mark.parametrize(
    "args, match",
    [
        (("not-a-sha", "2026-02-25T08:29:47Z", "pass", []), "commit"),
        (("abc123", "2026-02-25T08:29:47Z", "pass", []), "commit"),
        (("abc1234", "yesterday", "pass", []), "LastModified"),
        (("abc1234", "2026-02-25T08:29:47Z", "unknown", []), "outcome"),
        (("abc1234", "2026-02-25T08:29:47Z", None, []), "outcome"),
        # a "pass" the details contradict would be read back as a fail: refused
        (("abc1234", "2026-02-25T08:29:47Z", "pass", ["GET /x -> 500"]), "read as 'fail'"),
    ],
)
def test_format_refuses_lines_that_would_not_read_back(args, match):
    with pytest.raises(ValueError, match=match):
        format_evidence_line(*args)


def test_parse_evidence_line_rejects_free_text():
    assert parse_evidence_line(DOMAIN_EXAMPLE) is None
    assert parse_evidence_line(None) is None
