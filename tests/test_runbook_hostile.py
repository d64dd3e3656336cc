"""Runbooks shaped to hide drift from runbook_sync (a hostile probe): each is read as a person reads the rendered
Markdown, and what the parser cannot place is a problem (so ``error``), never a silently shorter Scope.
"""

from __future__ import annotations

import pytest

from compliance.sources.runbook_parse import parse_runbook
from tests.runbook_texts import V1, V2, V3

API = "`backend/lambda/coordination_api/**`"
STACK = "infrastructure/cloudformation/03-api.yaml"


def _scope(text: str) -> tuple[list[str], list[str]]:
    doc = parse_runbook(text)
    entries = [e["path"] for e in (doc["scope"] or {}).get("entries") or []]
    return entries, [p["message"] for p in doc["problems"] if p["section"] == "Scope"]


@pytest.mark.parametrize(("name", "scope"), [
    ("nested list under an entry", f"- {API}\n  - `{STACK}`\n"),
    ("second paragraph of an entry", f"- {API}\n\n  `{STACK}`\n"),
    ("HTML list", f"- {API}\n\n<ul><li><code>{STACK}</code></li></ul>\n"),
    ("prose after the list", f"- {API}\n\nAlso `{STACK}` deploys with them.\n"),
    ("blockquote", f"- {API}\n\n> - `{STACK}`\n"),
    ("a table (a paragraph in CommonMark)", f"- {API}\n\n| path |\n|---|\n| `{STACK}` |\n"),
])
def test_a_scope_path_outside_the_entries_is_a_problem_not_dropped(name, scope):
    entries, problems = _scope(f"# Runbook\n\n## Scope\n\n{scope}\n## Canonical Automation\n")
    assert entries == ["backend/lambda/coordination_api/**"], name
    assert any(STACK in p for p in problems), (name, problems)  # the hidden path is named, at its line


def test_an_html_comment_and_prose_naming_files_are_not_scope():
    # a comment is not rendered; the real runbook's prose names `server.py` (a file, not a scope path)
    entries, problems = _scope(f"## Scope\n\n- {API}\n<!-- - `{STACK}` -->\n\n"
                               "The package embeds the MCP runtime (`server.py` and `dispatch_plan_generator.py`).\n")
    assert entries == ["backend/lambda/coordination_api/**"] and problems == []


def test_the_real_runbook_versions_still_read_cleanly():
    for text in (V1, V2, V3):
        assert parse_runbook(text)["problems"] == []


def test_a_byte_order_mark_does_not_hide_the_first_heading():
    doc = parse_runbook("\ufeff## Scope\n\n- `a/**`\n")
    assert [e["path"] for e in doc["scope"]["entries"]] == ["a/**"]
    assert doc["headings"][0] == {"text": "Scope", "level": 2, "line": 1}


def test_crlf_line_endings_keep_entries_and_lines():
    doc = parse_runbook(V2.replace("\n", "\r\n"))
    assert doc["problems"] == []
    assert [e["path"] for e in doc["scope"]["entries"]] == [e["path"] for e in parse_runbook(V2)["scope"]["entries"]]
    assert [e["line"] for e in doc["scope"]["entries"]] == [5, 6, 7]
