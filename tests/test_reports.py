"""Reporters: the contract with the engine, determinism, atomic writes and hostile input."""

from __future__ import annotations

import copy
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest

import compliance.report as report
from compliance.base.errors import ComplianceError
from compliance.base.fsutil import StagedSet
from compliance.report import FORMATS, Format, render_all, write_reports
from compliance.report import html as html_report
from compliance.report import markdown as md_report
from compliance.report import markdown_text as md_text
from compliance.report.expand import expand_report
from tests.reportfile import read_report, without_pass_details

SCHEMA = json.loads((Path(report.__file__).parent.parent / "model" / "schemas" / "report.schema.json").read_text())
D = "sha256:" + "ab" * 32
SHA1 = "9febe19f1368" + "0" * 28
SHA2 = "1234567890ab" + "f" * 28
HOSTILE = (
    "<script>alert(1)</script> <img src=x onerror=alert(2)> [x](javascript:alert(1)) @octocat \x1b[31m a|b\nc"
)
CMD = "compliance deploy --target enceladus --sha 9febe19f1368"


def _stage(stage, state, url=None, label="", time="2026-02-25T08:31:02Z", detail=None):
    return {"stage": stage, "state": state, "time": time, "label": label, "url": url, "detail": detail}


@pytest.fixture
def doc():
    fix = {"text": "Run the canonical deploy workflow for this merge.", "command": CMD}
    return {
        "report_version": 1,
        "tool": {"name": "compliance", "version": "0.1.0"},
        "mode": "demo",
        "snapshot": {
            "digest": D,
            "collected_at": "2026-03-01T00:00:00Z",
            "window": {"since": "2026-02-01T00:00:00Z", "until": "2026-03-01T00:00:00Z", "branch": "main"},
            "target": {
                "name": "enceladus-api",
                "github_repo": "NX-2021-L/enceladus",
                "function": "devops-coordination-api",
                "region": "us-west-2",
                "workflow": ".github/workflows/api-mcp-backend-deploy.yml",
                "branch": "main",
            },
            "rules": {"policies/runbook.yaml": D},
        },
        "summary": {
            "pass": 2,
            "fail": 2,
            "error": 1,
            "pending": 0,
            "waived": 1,
            "not_applicable": 1,
            "exit_code": 2,
            "verdict": "error",
        },
        "sources": [
            {
                "name": "git",
                "status": "ok",
                "kind": "git",
                "requested": "first-parent history of main",
                "requests": 2,
                "duration_ms": 35,
                "cached": 0,
                "warnings": [],
                "error": None,
            },
            {
                "name": "probe",
                "status": "error",
                "kind": "http",
                "requested": "GET capability endpoint",
                "requests": 1,
                "duration_ms": 12,
                "cached": 0,
                "warnings": ["retried once"],
                "error": {"type": "ConnectionRefusedError", "message": "connection refused"},
            },
        ],
        "rules": [
            {
                "id": "API-MCP-001",
                "title": "Every scoped merge is deployed by the canonical workflow",
                "severity": "high",
                "runbook_section": "Canonical Automation",
                "rationale": "Runbook says so.",
                "checks": ["deploy_coverage"],
                "remediation": fix,
                "counts": {"pass": 1, "fail": 2, "error": 0, "pending": 0, "waived": 0, "not_applicable": 0},
            },
            {
                "id": "API-MCP-005",
                "title": "Capability endpoint answers",
                "severity": "medium",
                "runbook_section": "Validation Requirements",
                "rationale": "Smoke test.",
                "checks": ["probe"],
                "remediation": {
                    "text": "Check the endpoint.",
                    "command": "curl -fsS https://api.example/cap",
                },
                "counts": {"pass": 1, "fail": 0, "error": 1, "pending": 0, "waived": 1, "not_applicable": 1},
            },
        ],
        "findings": [
            {
                "rule_id": "API-MCP-001",
                "check": "deploy_coverage",
                "title": "Scoped merge deployed",
                "severity": "high",
                "runbook_section": "Canonical Automation",
                "subject_type": "change",
                "subject": "9febe19f1368",
                "status": "fail",
                "message": "no successful run of the deploy workflow for this merge",
                "evidence": [
                    {
                        "kind": "commit",
                        "label": "9febe19 Merge pull request #12",
                        "url": None,
                        "time": "2026-02-25T08:29:47Z",
                    },
                    {
                        "kind": "run",
                        "label": "run 4242 #17 failure",
                        "url": "https://github.com/NX-2021-L/enceladus/actions/runs/4242",
                        "time": "2026-02-25T08:31:02Z",
                        "conclusion": "failure",
                    },
                ],
                "remediation": fix,
                "location": {"path": ".github/workflows/api-mcp-backend-deploy.yml", "line": 12},
            },
            {
                "rule_id": "API-MCP-001",
                "check": "deploy_coverage",
                "title": "Scoped merge deployed",
                "severity": "high",
                "runbook_section": "Canonical Automation",
                "subject_type": "change",
                "subject": "1234567890ab",
                "status": "fail",
                "message": HOSTILE,
                "evidence": [
                    {"kind": "worklog", "label": HOSTILE, "url": "javascript:alert(1)", "time": None}
                ],
                "remediation": fix,
            },
            {
                "rule_id": "API-MCP-001",
                "check": "deploy_coverage",
                "title": "Scoped merge deployed",
                "severity": "high",
                "runbook_section": "Canonical Automation",
                "subject_type": "change",
                "subject": "aaaaaaaaaaaa",
                "status": "pass",
                "message": "deployed by run 4243",
                "evidence": [],
                "remediation": fix,
            },
            {
                "rule_id": "API-MCP-005",
                "check": "probe",
                "title": "Capability endpoint answers",
                "severity": "medium",
                "runbook_section": "Validation Requirements",
                "subject_type": "endpoint",
                "subject": "https://api.example/cap",
                "status": "error",
                "message": "source 'probe' failed: ConnectionRefusedError",
                "evidence": [
                    {"kind": "source", "label": "probe: connection refused", "url": None, "time": None}
                ],
                "remediation": {
                    "text": "Check the endpoint.",
                    "command": "curl -fsS https://api.example/cap",
                },
            },
            {
                "rule_id": "API-MCP-005",
                "check": "probe",
                "title": "Capability endpoint answers",
                "severity": "medium",
                "runbook_section": "Validation Requirements",
                "subject_type": "endpoint",
                "subject": "other",
                "status": "waived",
                "message": "waived until 2026-04-01",
                "evidence": [],
                "remediation": {},
            },
        ],
        "changes": [
            {
                "sha": SHA1,
                "short": "9febe19f1368",
                "kind": "pr_merge",
                "pr": 12,
                "subject": "Merge pull request #12 from NX-2021-L/feature",
                "author": "dev",
                "committed_at": "2026-02-25T08:29:47Z",
                "task_ids": ["ENC-TSK-325"],
                "files_in_scope": ["backend/lambda/coordination_api/x.py"],
                "timeline": [
                    _stage("merge", "ok", label="merged #12"),
                    _stage(
                        "workflow_run",
                        "failed",
                        url="https://github.com/NX-2021-L/enceladus/actions/runs/4242",
                        label="run 4242 failure",
                    ),
                    _stage("lambda_update", "missing", time=None, label="no update after merge"),
                    _stage("worklog", "unknown", time=None, label="tracker unavailable"),
                ],
                "verdicts": {"API-MCP-001": "fail", "API-MCP-006": "pass"},
            },
            {
                "sha": SHA2,
                "short": "1234567890ab",
                "kind": "direct_push",
                "pr": None,
                "subject": HOSTILE,
                "author": "@octocat",
                "committed_at": "2026-02-26T08:29:47Z",
                "task_ids": [],
                "files_in_scope": ["tools/enceladus-mcp-server/server.py"],
                "timeline": [
                    _stage("merge", "ok", label=HOSTILE, url="javascript:alert(1)"),
                    _stage("workflow_run", "missing", time=None),
                    _stage("lambda_update", "ok", label="LastModified 2026-02-26"),
                    _stage("worklog", "missing", time=None),
                ],
                "verdicts": {"API-MCP-001": "fail"},
            },
        ],
        "not_evaluated": [
            {
                "rule_id": "API-MCP-005",
                "subject": "https://api.example/cap",
                "reason": "source 'probe' failed: ConnectionRefusedError connection refused",
            },
        ],
    }


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.hrefs += [v for k, v in attrs if k in ("href", "src")]


def _parse(text: str) -> _Tags:
    parser = _Tags()
    parser.feed(text)
    return parser


def test_fixture_validates_against_schema(doc):
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)


def test_schema_rejects_bad_documents(doc):
    validator = jsonschema.Draft202012Validator(SCHEMA)
    bad_verdict = copy.deepcopy(doc)
    bad_verdict["summary"]["verdict"] = "ok"
    missing = copy.deepcopy(doc)
    del missing["findings"][0]["remediation"]
    bad_state = copy.deepcopy(doc)
    bad_state["changes"][0]["timeline"][0]["state"] = "done"
    for broken in (bad_verdict, missing, bad_state):
        assert not validator.is_valid(broken)
    extra_evidence = copy.deepcopy(doc)
    extra_evidence["findings"][0]["evidence"][0]["anything"] = {"nested": 1}
    assert validator.is_valid(extra_evidence)


def test_json_is_deterministic_and_round_trips(doc):
    first = FORMATS["json"].render(doc)
    assert first == FORMATS["json"].render(copy.deepcopy(doc))
    assert first.endswith("\n")
    assert json.loads(first)["report_version"] == 3
    assert without_pass_details(expand_report(json.loads(first))) == without_pass_details(doc)
    reordered = dict(reversed(list(doc.items())))
    assert FORMATS["json"].render(reordered) == first


def test_html_and_markdown_are_deterministic(doc):
    assert render_all(doc, ["md", "html"]) == render_all(copy.deepcopy(doc), ["md", "html"])


def test_render_all_rejects_unknown_format(doc):
    with pytest.raises(ValueError, match="pdf"):
        render_all(doc, ["md", "pdf"])


def test_write_reports_writes_three_files(doc, tmp_path):
    out = tmp_path / "nested" / "reports"
    paths = write_reports(doc, out)
    assert {p.name for p in paths.values()} == {"report.md", "report.html", "report.json"}
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["report.html", "report.json", "report.md"]
    assert without_pass_details(read_report(paths["json"])) == without_pass_details(doc)
    assert paths["html"].read_text(encoding="utf-8") == FORMATS["html"].render(doc)
    assert paths["md"].stat().st_mode & 0o777 == 0o644


def test_write_reports_writes_nothing_when_a_renderer_raises(doc, tmp_path, monkeypatch):
    out = tmp_path / "reports"
    out.mkdir()
    (out / "report.md").write_text("old md")
    (out / "report.json").write_text("old json")

    def boom(_doc):
        raise RuntimeError("renderer bug")

    monkeypatch.setitem(FORMATS, "html", Format("html", boom))
    with pytest.raises(RuntimeError, match="renderer bug"):
        write_reports(doc, out)
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["report.json", "report.md"]
    assert (out / "report.md").read_text() == "old md"
    assert (out / "report.json").read_text() == "old json"


def test_write_reports_leaves_old_files_when_staging_fails(doc, tmp_path, monkeypatch):
    out = tmp_path / "reports"
    out.mkdir()
    (out / "report.md").write_text("old md")
    real_write = StagedSet.write

    def fail_on_json(self, name, text):
        if name.endswith(".json"):
            raise OSError("disk full")
        return real_write(self, name, text)

    monkeypatch.setattr(StagedSet, "write", fail_on_json)
    with pytest.raises(ComplianceError, match="disk full"):
        write_reports(doc, out)
    assert [p.name for p in out.iterdir() if not p.name.startswith(".")] == ["report.md"]
    assert (out / "report.md").read_text() == "old md"


def test_html_escapes_hostile_text(doc):
    page = FORMATS["html"].render(doc)
    parsed = _parse(page)
    assert "script" not in parsed.tags
    assert "img" not in parsed.tags
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "\x1b" not in page
    assert all(href.startswith("https://") for href in parsed.hrefs)
    assert "javascript:" not in " ".join(parsed.hrefs)
    assert page.count("<a ") == page.count('rel="noopener noreferrer"')


def test_html_is_self_contained(doc):
    page = FORMATS["html"].render(doc)
    parsed = _parse(page)
    assert '<meta charset="utf-8">' in page
    assert "default-src &#x27;none&#x27;; style-src &#x27;unsafe-inline&#x27;" in page
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(parsed.tags)
    assert not re.search(r"\son\w+=", page.replace("onerror=alert(2)", ""))
    assert "<details>" in page


def test_html_shows_timeline_in_order_and_remediation(doc):
    page = FORMATS["html"].render(doc)
    card = page[page.index("9febe19f1368</code> Merge pull request") :]
    positions = [card.index(label) for label in ("Merge", "Workflow run", "Lambda update", "Worklog")]
    assert positions == sorted(positions)
    assert "<pre><code>compliance deploy --target enceladus --sha 9febe19f1368</code></pre>" in page
    assert 'href="https://github.com/NX-2021-L/enceladus/actions/runs/4242"' in page
    assert 'href="https://github.com/NX-2021-L/enceladus/pull/12"' in page
    for needle in ("ConnectionRefusedError", "Not evaluated (1)", D, "policies/runbook.yaml", "API-MCP-006"):
        assert needle in page


def _md_links(markdown: str) -> list[str]:
    return re.findall(r"(?<!\\)\]\(([^)]*)\)", markdown)


def test_markdown_escapes_hostile_text(doc):
    text = FORMATS["md"].render(doc)
    assert "<script" not in text and "<img" not in text
    assert "\x1b" not in text
    assert re.search(r"(?<!\\)\[x\]", text) is None
    assert "javascript:" not in text.replace("javascript\u200d:", "")
    assert all(url.startswith("https://") for url in _md_links(text))
    assert re.search(r"@(?!\u200d)\w", text) is None
    assert "@\u200doctocat" in text


def test_markdown_tables_stay_intact(doc):
    text = FORMATS["md"].render(doc)
    for header in ("| Source |", "| Change |", "| Rule |"):
        block = text[text.index(header) :].split("\n\n")[0].splitlines()
        width = _cells(block[0])
        assert all(_cells(row) == width for row in block), block


def _cells(row: str) -> int:
    return len(re.findall(r"(?<!\\)\|", row))


def test_markdown_content(doc):
    text = FORMATS["md"].render(doc)
    assert text.startswith("## ⚠️ Compliance: ERROR")
    assert "2 failed · 1 could not be evaluated · 0 pending · 2 passed · 1 waived · 1 not applicable" in text
    assert (
        text.index("### Failures and errors") < text.index("### Changes in scope") < text.index("### Passing")
    )
    assert text.index("### Passing") < text.index("### Not evaluated")
    assert "```\ncompliance deploy --target enceladus --sha 9febe19f1368\n```" in text
    row = next(line for line in text.splitlines() if line.startswith("| `9febe19f1368`"))
    assert row.split(" | ")[1:5] == [
        "✓",
        "[✗](https://github.com/NX-2021-L/enceladus/actions/runs/4242)",
        "–",
        "?",
    ]
    assert "ConnectionRefusedError" in text
    assert D in text.split("---")[-1]


def test_markdown_url_sanitising():
    assert md_text.safe_url("https://x.example/a b") is None
    assert md_text.safe_url("javascript:alert(1)") is None
    assert md_text.safe_url("data:text/html,hi") is None
    assert md_text.safe_url("https://x.example/a(b)") == "https://x.example/a%28b%29"
    assert html_report.safe_url("JaVaScRiPt:alert(1)") is None
    assert html_report.safe_url("//evil.example") is None


def test_long_markdown_is_cut_with_summary_intact(doc):
    big = copy.deepcopy(doc)
    template = big["findings"][0]
    big["findings"] = [
        {**template, "subject": f"{i:012x}", "message": "no successful run " + "x" * 300} for i in range(600)
    ]
    big["changes"] = [copy.deepcopy(doc["changes"][0]) for _ in range(400)]
    text = FORMATS["md"].render(big)
    assert len(text.encode("utf-16-le")) // 2 < md_report.MAX_CHARS
    head = FORMATS["md"].render(doc).split("### Failures and errors")[0]
    by_cause = re.compile(r"### By cause\n.*?\n\n(?=###)", re.S)  # counts this document's own findings
    assert re.search(r"^\| \S+ \S+ \| 600 \| ", by_cause.search(text).group(), re.M)  # 600 findings, one row
    assert by_cause.sub("", text).startswith(by_cause.sub("", head))
    assert "Report truncated" in text.splitlines()[-1]
    assert "of 600 failure/error findings" in text
    assert "### Failures and errors (600)" in text
    assert D in text
    assert "### Changes in scope (400)" in text and "| `9febe19f1368` [PR" in text


def test_markdown_counts_what_it_left_out_without_rendering_it(doc):
    """Past what a comment can hold, items are counted, not rendered; the omission note stays exact."""
    big = copy.deepcopy(doc)
    template = big["findings"][0]
    big["findings"] = [{**template, "subject": f"{i:012x}"} for i in range(20_000)]
    text = FORMATS["md"].render(big)
    shown = sum(1 for line in text.splitlines() if line.startswith("- ✗ **fail**"))
    assert 0 < shown < 20_000
    assert f"{20_000 - shown} of 20000 failure/error findings" in text
    assert len(text.encode("utf-16-le")) // 2 < md_report.MAX_CHARS


def test_long_history_html_keeps_full_cards_for_attention_and_rows_for_passing(doc):
    """Above DETAIL_LIMIT changes, failing changes keep their timeline card and passing ones get a row."""
    big = copy.deepcopy(doc)
    failing, passing = doc["changes"][0], copy.deepcopy(doc["changes"][0])
    passing["verdicts"] = {"API-MCP-001": "pass", "API-MCP-006": "not_applicable"}
    passing["timeline"][0]["url"] = "https://github.com/NX-2021-L/enceladus/commit/" + SHA1
    n = html_report.DETAIL_LIMIT + 50
    big["changes"] = [failing] * 3 + [passing] * n
    big["findings"] += [{**doc["findings"][2], "subject": f"{i:012x}"} for i in range(n)]
    text = FORMATS["html"].render(big)
    assert text.count('<ol class="timeline">') == 3
    assert text.count('<td class="marks"') == 4 * n
    assert f"{n} passing change(s)" in text
    assert "https://github.com/NX-2021-L/enceladus/commit/" + SHA1 in text
    # passing findings are counted, not listed; the waived one is still shown in full
    assert "deployed by run 4243" not in text
    assert "waived until 2026-04-01" in text
    parsed = _parse(text)
    assert all(h.startswith("https://") for h in parsed.hrefs)
    small = FORMATS["html"].render(doc)
    assert small.count('<ol class="timeline">') == len(doc["changes"]) and '<td class="marks"' not in small


def test_long_history_html_caps_full_cards_and_keeps_every_failure_as_a_row(doc):
    big = copy.deepcopy(doc)
    n = html_report.DETAIL_LIMIT + 40
    failing = doc["changes"][0]
    big["changes"] = [{**failing, "short": f"{i:012x}"} for i in range(n)]
    big["findings"] = [{**doc["findings"][0], "subject": f"{i:012x}"} for i in range(n)]
    text = FORMATS["html"].render(big)
    assert text.count('<ol class="timeline">') == html_report.DETAIL_LIMIT
    assert "40 more change(s) needing attention" in text
    assert text.count('<div class="card bad">') == 2 * html_report.DETAIL_LIMIT  # finding cards + change cards
    assert "40 more API-MCP-001 finding(s)" in text
    for i in (0, n - 1):  # every failing change and finding is still named
        assert text.count(f"{i:012x}") >= 2
    assert "Run the canonical deploy workflow for this merge." in text.split("40 more API-MCP-001")[0]


@pytest.mark.parametrize("formats", [("json", "md", "html"), ("md", "html")])
def test_write_masked_masks_every_format_and_returns_the_masked_document(doc, tmp_path, monkeypatch, formats):
    """The document is masked once for every format, with or without report.json among them."""
    from compliance.base.redact_doc import Masked

    monkeypatch.setenv("GITHUB_TOKEN", 'tok-"zq9x"-secret')
    dirty = copy.deepcopy(doc)
    dirty["findings"][0]["message"] = 'pasted tok-"zq9x"-secret and ghp_' + "a" * 36
    masked, written = report.write_masked(dirty, tmp_path, formats)
    assert isinstance(masked, Masked) and masked["findings"][0]["message"] == "pasted *** and ***"
    for path in written.values():
        text = path.read_text("utf-8")
        assert "zq9x" not in text and "ghp_" not in text, path.name
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == sorted(f"report.{f}" for f in formats)  # no .tmp left
    clean, _ = report.write_masked(doc, tmp_path, formats)
    assert isinstance(clean, Masked) and clean == doc
