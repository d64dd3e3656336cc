"""The report formats: one small interface (``Format``: suffix, stream, render) and one registry.

Writing masks the document once for every format; the one format that declares its text the
document's own JSON doubles as the masking check while it is written, and nothing else may.
"""

from __future__ import annotations

import pytest

from compliance import report
from compliance.base.redact_doc import Masked
from compliance.report import FORMATS, Format, write_masked

TOKEN = "ghp_" + "a" * 36


def _doc(message: str = "plain") -> dict:
    return {"report_version": 1, "summary": {"verdict": "fail", "pass": 0, "fail": 1},
            "findings": [{"rule_id": "A-1", "status": "fail", "subject": "s", "subject_type": "change",
                          "message": message, "severity": "high", "evidence": [], "title": "t"}]}


def test_one_registry_names_every_format_and_its_file(tmp_path):
    assert {name: fmt.suffix for name, fmt in FORMATS.items()} == {
        "md": "md", "html": "html", "json": "json", "sarif": "sarif", "junit": "junit.xml"}
    written = report.write_reports(_doc(), tmp_path, formats=tuple(FORMATS))
    assert {name: path.name for name, path in written.items()} == {
        name: f"report.{fmt.suffix}" for name, fmt in FORMATS.items()}


@pytest.mark.parametrize("name", list(FORMATS))
def test_render_is_the_streamed_text_whole(name, tmp_path):
    fmt = FORMATS[name]
    doc = _doc()
    pieces = list(fmt.stream(doc))
    assert pieces and all(isinstance(p, str) for p in pieces)
    assert fmt.render(doc) == "".join(pieces)
    written = report.write_reports(doc, tmp_path, formats=(name,))
    assert written[name].read_text("utf-8") == fmt.render(doc)


def test_a_format_whose_text_leaves_a_secret_out_does_not_vouch_for_the_others(tmp_path, monkeypatch):
    """A "json" format whose text leaves the message out must not vouch that nothing needs masking."""
    monkeypatch.setitem(FORMATS, "json", Format("json", lambda doc: ['{"findings": "left out"}\n']))
    masked, written = write_masked(_doc(f"pasted {TOKEN}"), tmp_path, ("json", "md"))
    assert isinstance(masked, Masked) and masked["findings"][0]["message"] == "pasted ***"
    assert TOKEN not in written["md"].read_text("utf-8")


def test_the_documents_masking_check_finds_a_secret_and_every_format_is_masked(tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "tok-zq9x-secret")
    masked, written = write_masked(_doc("pasted tok-zq9x-secret"), tmp_path, ("md", "json", "html"))
    assert masked["findings"][0]["message"] == "pasted ***"
    for path in written.values():
        assert "zq9x" not in path.read_text("utf-8"), path.name
    clean, _ = write_masked(_doc(), tmp_path, ("md", "json"))
    assert isinstance(clean, Masked) and clean == _doc()  # proved clean by the check of the document itself
