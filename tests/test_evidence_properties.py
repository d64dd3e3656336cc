import re
from datetime import datetime, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.judge.evidence import evidence_for_item, format_evidence_line, parse_evidence_line, parse_text
from tests.hypothesis_budget import examples

SHA_SHAPE = re.compile(r"[0-9a-f]{7,40}")

# Text fragments that mean something to the parser, mixed into random text so the
# generators reach the interesting branches rather than only noise.
FRAGMENTS = [
    "Deployed commit ",
    "9febe19f1368",
    "ABCDEF1",
    "LastModified=",
    "last_modified: ",
    "2026-02-25T08:29:47.000+0000",
    "2026-02-25 08:29:47 UTC",
    "State=Active",
    "LastUpdateStatus=Successful",
    "LastUpdateStatus=Failed",
    " -> 200",
    " -> 503",
    "returned ",
    "HTTP/1.1 ",
    "validation ",
    "passed",
    "failed",
    "no failures",
    "0 failed",
    "did not ",
    "rollback",
    "REQ-20260225T083102Z-a1b2c3",
    "550e8400-e29b-41d4-a716-446655440000",
    "arn:aws:lambda:us-west-2:123456789012:function:f",
    "https://x.example/",
    '{"commit": "',
    '"}',
    "; ",
]

texty = st.lists(st.one_of(st.text(max_size=20), st.sampled_from(FRAGMENTS)), max_size=12).map("".join)

json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texty,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.text(max_size=20)
            | st.sampled_from(
                [
                    "history",
                    "status",
                    "description",
                    "timestamp",
                    "commit_sha",
                    "deploy_evidence",
                    "live_validation_evidence",
                    "commit",
                    "LastModified",
                    "validation",
                    "State",
                ]
            ),
            children,
            max_size=6,
        )
    ),
    max_leaves=30,
)

worklogs = st.fixed_dictionaries(
    {"status": st.sampled_from(["worklog", "created", "reopened", "close_audit", "WORKLOG"]) | json_like},
    optional={"timestamp": texty | json_like, "description": texty | json_like},
)

items = st.fixed_dictionaries(
    {},
    optional={
        "history": st.lists(worklogs | json_like, max_size=5) | json_like,
        "commit_sha": texty | json_like,
        "deploy_evidence": texty | json_like,
        "live_validation_evidence": texty | json_like,
        "transition_type": json_like,
    },
)


@given(st.text())
def test_parse_text_never_raises_on_any_text(text):
    parse_text(text)


@given(texty)
def test_parse_text_never_raises_on_evidence_like_text(text):
    facts = parse_text(text)
    assert facts["outcome"] in ("pass", "fail", None)
    assert all(dt.utcoffset().total_seconds() == 0 for dt in facts["last_modified"])


@given(json_like)
def test_parse_text_ignores_non_text(value):
    if not isinstance(value, str):
        assert parse_text(value)["outcome"] is None


@given(items | json_like)
@settings(max_examples=examples(300))
def test_evidence_for_item_never_raises(it):
    for ev in evidence_for_item("ENC-TSK-1", it):
        assert ev.outcome in ("pass", "fail", None)
        assert all(SHA_SHAPE.fullmatch(s) for s in ev.shas)


@given(texty | st.text())
def test_shas_are_lowercase_hex_of_7_to_40(text):
    shas = parse_text(text)["shas"]
    assert all(SHA_SHAPE.fullmatch(s) for s in shas)
    assert len(set(shas)) == len(shas)


# Every pass signal needs one of these characters: "pass"/"HTTP"/"GET /x 200" (p), "ok"/"okay" (k),
# "green"/"got" (g), "success*"/"Active" (c), a 2xx code (2), "->"/"=>" (>), "→", or a
# check mark. Text without any of them can state no pass, whatever else it says.
NO_PASS_ALPHABET = st.characters(
    blacklist_characters="pPkKgGcC2>→\u2705\u2714\u2713\u2611\U0001f7e2",
    blacklist_categories=("Cs",),
)
no_pass_fragments = [
    f
    for f in FRAGMENTS
    + ["validation ", "returned 500", "status: 404", "State=Inactive", "no failures", "rollback"]
    if not set(f) & set("pPkKgGcC2>→\u2705\u2714\u2713\u2611\U0001f7e2")
]


@given(
    st.lists(st.text(NO_PASS_ALPHABET, max_size=20) | st.sampled_from(no_pass_fragments), max_size=12).map(
        "".join
    )
)
def test_no_pass_signal_never_reads_as_pass(text):
    assert parse_text(text)["outcome"] != "pass"


@given(
    st.lists(
        st.sampled_from(
            ["State=Active", "LastUpdateStatus=Successful", " -> 200", "passed", "validation ok"]
        ),
        max_size=4,
    ).map("; ".join),
    st.sampled_from(
        ["failed", "-> 500", "State=Failed", "rollback", "LastUpdateStatus=InProgress", "did not pass"]
    ),
)
def test_any_fail_signal_outweighs_pass_signals(passes, fail):
    assert parse_text(f"{passes}; {fail}")["outcome"] == "fail"


shas = st.text("0123456789abcdefABCDEF", min_size=7, max_size=40)
lambda_times = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2199, 12, 30), timezones=st.just(timezone.utc)
).map(lambda dt: dt.replace(microsecond=dt.microsecond // 1000 * 1000))


@given(
    shas,
    lambda_times,
    st.sampled_from(["pass", "fail"]),
    st.booleans(),
    st.sampled_from([None, "https://reports.example/run/42", "https://github.com/o/r/actions/runs/123"]),
)
def test_format_round_trips(sha, lm, outcome, as_text, url):
    details = ["State=Active", "LastUpdateStatus=Successful", "GET /api/v1/coordination/capabilities -> 200"]
    if outcome == "fail":
        details = ["State=Active", "LastUpdateStatus=Failed"]
    value = lm.strftime("%Y-%m-%dT%H:%M:%S.") + f"{lm.microsecond // 1000:03d}+0000" if as_text else lm
    line = format_evidence_line(sha, value, outcome, details, url)
    facts = parse_text(line)
    assert facts["shas"][0] == sha.lower()
    assert facts["last_modified"] == (lm,)
    assert facts["outcome"] == outcome
    assert facts["mentions_deploy"] is True
    parsed = parse_evidence_line(line)
    assert (parsed["commit"], parsed["last_modified"], parsed["outcome"], parsed["report_url"]) == (
        sha.lower(),
        lm,
        outcome,
        url,
    )
