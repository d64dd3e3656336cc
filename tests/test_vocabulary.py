"""One vocabulary: statuses, their ranks, the verdict headlines, the counts sentence and the link rule
exist once (compliance.model.findings, compliance.base.urls) and every output says them the same way."""

from __future__ import annotations

import pytest

from compliance.base.console import CONTROL_RE, INVISIBLE_RE
from compliance.base.urls import safe_url
from compliance.model.findings import (
    STATUS_RANK,
    STATUSES,
    counts_phrase,
    is_worse,
    summary_of,
    verdict_text,
)
from compliance.publish import github as gh_publish
from compliance.report import html_view as html_report
from compliance.report import markdown_text as md_report


def test_every_status_has_one_rank_and_error_is_worst():
    assert set(STATUS_RANK) == set(STATUSES)
    assert max(STATUSES, key=STATUS_RANK.get) == "error"
    assert is_worse("fail", "pass") and is_worse("pending", "waived") and not is_worse("pass", "fail")
    assert not is_worse("bogus", "pass") and not is_worse("pass", "bogus")  # unknown ranks as pass


def test_summary_is_counts_exit_code_and_verdict():
    assert summary_of(["pass", "pending"]) == {"pass": 1, "fail": 0, "error": 0, "pending": 1, "waived": 0,
                                               "not_applicable": 0, "exit_code": 0, "verdict": "pending"}
    assert summary_of(["fail", "error"])["exit_code"] == 2 and summary_of(["fail"])["verdict"] == "fail"
    assert list(summary_of([])) == [*STATUSES, "exit_code", "verdict"]  # the report's key order


def test_headlines_are_unchanged_in_markdown_and_the_check_run():
    assert md_report.VERDICT_HEAD == {
        "pass": "✅ Compliance: PASS",
        "fail": "❌ Compliance: FAIL",
        "error": "⚠️ Compliance: ERROR (could not evaluate everything)",
        "pending": "⏳ Compliance: PENDING (nothing failed; some findings are not judged yet)",
    }
    assert gh_publish.VERDICT_TITLE["error"] == "Compliance: error (could not evaluate everything)"
    assert gh_publish.VERDICT_TITLE["pass"] == "Compliance: pass"
    assert verdict_text("pending", upper=True, colon=True) == "PENDING: nothing failed; some findings are not judged yet"


def test_counts_sentence_in_both_styles():
    counts = {"fail": 1, "error": 2, "pending": 3, "pass": 4, "waived": 5, "not_applicable": 6}
    assert counts_phrase(counts) == ("1 failed · 2 could not be evaluated · 3 pending · 4 passed · 5 waived · "
                                     "6 not applicable")
    assert gh_publish.counts_phrase(counts) == ("1 failed, 2 could not be evaluated, 3 pending, 4 passed, "
                                                "5 waived, 6 n/a")
    assert counts_phrase({}).startswith("0 failed · 0 could not be evaluated")


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "data:text/html,hi", "//evil.example", "https://", "ftp://x.example/f",
    "https://x.example/a b", "https://x.example/a\u00a0b", "https://x.example/a\tb", "https://x.example/\u2028",
    "https://x.example/a\u200bb", "https://x.example/\u202egnp.exe", None, 42, "https://[::1",
])
def test_an_unsafe_url_is_never_a_link_in_any_format(url):
    assert safe_url(url) is None
    assert md_report.link("label", url) == "label"
    assert html_report.link("label", url) == "label"


def test_a_safe_url_is_encoded_the_same_for_every_format():
    assert safe_url("https://github.com/o/r/actions/runs/1") == "https://github.com/o/r/actions/runs/1"
    assert safe_url("https://x.example/a(b)") == "https://x.example/a%28b%29"  # would end a Markdown link
    assert safe_url('https://x.example/"q"') == "https://x.example/%22q%22"  # would end an HTML attribute
    assert safe_url("https://x.example/déploiement") == "https://x.example/d%C3%A9ploiement"
    assert md_report.link("l", "https://x.example/a(b)") == "[l](https://x.example/a%28b%29)"
    assert html_report.link("l", "https://x.example/a(b)") == (
        '<a href="https://x.example/a%28b%29" rel="noopener noreferrer">l</a>')


def test_one_invisible_class_and_one_with_lone_surrogates():
    for ch in ("\x1b", "\u200b", "\u202e", "\U000e0041", "\x85"):
        assert INVISIBLE_RE.search(ch) and CONTROL_RE.search(ch)
    assert CONTROL_RE.search("\ud800") and not INVISIBLE_RE.search("\ud800")
    assert not INVISIBLE_RE.search("plain text, déjà vu\t\n")
