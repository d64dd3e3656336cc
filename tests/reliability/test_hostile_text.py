"""Hostile text from commits, branches, PR titles, run titles, worklogs and deploy requests renders inert.

Everything a report quotes comes from people or systems we do not control. Each payload tries to run
script (``document.title='PWNED'``, ``location=...``), smuggle links or images, notify people, or
disguise itself with terminal escapes and bidi overrides. The HTML report is loaded in a real headless
Chromium (with and without its CSP, so escaping alone must hold); the Markdown, SARIF, JUnit and the
GitHub annotations are checked for what their consumers would interpret.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest
import responses

from compliance.cli import main
from compliance.publish.github import annotations
from compliance.report import render_all
from tests.browser import CHROMIUM, browser, dump_dom
from tests.github_payloads import FakeGitHub, workflow_run
from tests.live_system import audit_args, evidence
from tests.reportfile import read_report

# its module fixture is built once, on one worker (--dist loadfile keeps a file on one worker; the group keeps it so under loadgroup)
pytestmark = pytest.mark.xdist_group("test_hostile_text")

PAYLOADS = [
    "<script>document.title='PWNED'</script>",
    '<img src=x onerror="document.title=\'PWNED\'">',
    '"><svg onload=location="https://evil.example/steal">',
    "</td></tr></table><a href=\"javascript:document.title='PWNED'\">click</a>",
    "[click me](javascript:document.title='PWNED') ![pixel](https://evil.example/p.png)",
    "<https://evil.example/autolink> javascript:location='https://evil.example'",
    "cc @octocat @acme-ops/admins and acme-ops/enceladus#1",
    "\x1b[31mRED\x1b[0m\x1b]8;;https://evil.example\x07link\x1b]8;;\x07 bell\x07 back\x08 \u202egnp.exe",
]
HOSTILE = " ".join(PAYLOADS)
CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def _hostile_history(repo) -> dict[str, str]:
    """A PR from a hostile branch with a hostile title, a hostile squash and a hostile direct push."""
    code = "backend/lambda/coordination_api/lambda_function.py"
    branch = "agent/enc-tsk-330-<img_src=x_onerror=document.title='PWNED'>"
    repo.branch(branch)
    repo.commit(f"work {PAYLOADS[0]}", {code: "v = 10\n"}, author_date="2026-03-02T09:00:00+00:00")
    repo.checkout("main")
    out = {"hostile_pr": repo.merge_pr(14, "acme-ops", branch, f"ENC-TSK-330 {PAYLOADS[1]} {PAYLOADS[4]}",
                                       date="2026-03-02T10:00:00+00:00", body=HOSTILE)}
    out["hostile_squash"] = repo.squash(15, f"ENC-TSK-331 {PAYLOADS[2]} {PAYLOADS[3]}", {code: "v = 11\n"},
                                        date="2026-03-03T10:00:00+00:00", body=HOSTILE)
    out["hostile_push"] = repo.commit(f"ENC-TSK-332 {PAYLOADS[7]} {PAYLOADS[6]} {PAYLOADS[5]}\n\n{HOSTILE}",
                                      {code: "v = 12\n"}, author_date="2026-03-04T10:00:00+00:00")
    return out


_BUILT: dict[str, Path] = {}


@pytest.fixture
def hostile_reports(request, tmp_path_factory, capsys):
    """Built once per session (an audit of the hostile history into every format); the tests only read it."""
    if "out" not in _BUILT:
        _BUILT["out"] = _build(request.getfixturevalue("make_system"), capsys, tmp_path_factory.mktemp("hostile"))
    return _BUILT["out"]


def _build(make_system, capsys, keep: Path) -> Path:
    system = make_system(worklog=f"{evidence('0' * 12)} {HOSTILE}", dm_summary=HOSTILE,
                         extra_commits=_hostile_history)
    runs = system.runs() + [workflow_run(9003, datetime(2026, 3, 4, 11, tzinfo=timezone.utc),
                                         sha=system.shas["hostile_push"], conclusion="failure", message=HOSTILE)]
    out = system.root / "out"
    with responses.RequestsMock() as rsps:
        FakeGitHub(rsps, runs)
        code = main(audit_args(system.config, out, "--format", "md,html,json,sarif,junit"))
    cap = capsys.readouterr()
    assert code in (1, 2) and "Traceback" not in cap.err
    assert "\x1b" not in cap.out + cap.err  # the terminal summary is not an escape channel either
    shutil.copytree(out, keep / "out")
    return keep / "out"


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []
        self.title = ""
        self._in_title = False
        self._in_svg = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))
        self._in_svg = self._in_svg or tag == "svg"
        self._in_title = tag == "title" and not self._in_svg  # an SVG <title> is a tooltip, not the page's

    def handle_endtag(self, tag):
        self._in_title = False
        if tag == "svg":
            self._in_svg = False

    def handle_data(self, data):
        self.text.append(data)
        if self._in_title:
            self.title += data


def _parse(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


# the report's own pictures (the timeline, the metrics chart) draw with these elements and nothing else
SVG_TAGS = {"g", "rect", "line", "circle", "polygon", "text", "title"}
_PAGE_TAGS = {"html", "head", "meta", "title", "style", "body", "section", "h1", "h2", "h3", "h4", "p", "div", "span",
              "code", "pre", "table", "tr", "th", "td", "ol", "ul", "li", "a", "details", "summary", "strong", "footer",
              "header", "br", "em", "tbody", "thead"}


def _active_tags(parsed: _Tags) -> set[str]:
    """The tags found, less the report's own inline charts (an ``<svg role="img">`` with its label; the
    payloads' ``<svg onload=...>`` is neither, and every tag's ``on*`` attributes are refused anyway).
    Inside those charts only ``SVG_TAGS`` may appear (no ``foreignObject``, ``use``, ``image`` or animation)."""
    tags = {t for t, _ in parsed.tags}
    svgs = [dict(attrs) for t, attrs in parsed.tags if t == "svg"]
    if svgs and all(a.get("role") == "img" and a.get("aria-label") for a in svgs):
        tags.discard("svg")
    drawn = tags - _PAGE_TAGS - {"svg"}
    assert drawn <= SVG_TAGS, drawn - SVG_TAGS
    return tags


def test_html_has_no_active_content(hostile_reports):
    html = (hostile_reports / "report.html").read_text("utf-8")
    parsed = _parse(html)
    assert "<svg" in html  # the timeline picture is there, drawn over the hostile history
    tags = _active_tags(parsed)
    assert not tags & {"script", "img", "svg", "iframe", "object", "embed", "form", "base", "link", "foreignobject",
                       "use", "image", "animate", "set"}, tags
    for tag, attrs in parsed.tags:
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name, value)
            if name in ("href", "src", "action", "formaction"):
                assert (value or "").startswith(("https://", "http://", "#")), (tag, name, value)
    text = "".join(parsed.text)
    assert "document.title='PWNED'" in text  # the payloads are there, shown as text
    assert not CONTROLS.search(text)
    assert "Content-Security-Policy" in html


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_html_is_inert_in_a_real_browser(hostile_reports, tmp_path):
    """Loaded as-is and with the CSP removed: no script runs, nothing navigates, nothing logs to the console."""
    original = (hostile_reports / "report.html").read_text("utf-8")
    title = _parse(original).title
    assert title and "PWNED" not in title
    bare = tmp_path / "no-csp.html"
    bare.write_text(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", original), "utf-8")
    assert "Content-Security-Policy" not in bare.read_text("utf-8")
    for page in (hostile_reports / "report.html", bare):
        dom, log = dump_dom(page, tmp_path)
        assert dom.strip(), log[-2000:]
        loaded = _parse(dom)
        assert loaded.title == title, (page, loaded.title)
        assert not _active_tags(loaded) & {"script", "img", "svg", "iframe"}
        console = [line for line in log.splitlines() if ":CONSOLE" in line]
        assert console == [], console
        assert "document.title='PWNED'" in "".join(loaded.text)  # same page, payload shown as text


# --- the browser harness can fail: what the inert test relies on is seen when it happens ----------------------

_NOISY = """<!DOCTYPE html><html><head><title>before</title>
<meta http-equiv="Content-Security-Policy" content="script-src 'unsafe-inline'; worker-src blob:; img-src 'none'">
</head><body><p>noisy</p><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<script>
console.log('said-log');
new Worker(URL.createObjectURL(new Blob(["console.error('said-worker')"])));
setTimeout(function () { console.warn('said-late'); document.title = 'after'; }, 2500);
alert('said-alert');
null.said_throw;
</script></body></html>"""


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_the_browser_sees_a_page_that_logs_throws_alerts_or_breaks_its_csp(tmp_path):
    """The control for ``console == []`` above: each channel a script could show itself on yields a ``:CONSOLE``
    line (a worker's console too), a timer due 2.5 s after load runs (the virtual-time budget), and an alert
    neither hangs nor hides."""
    page = tmp_path / "noisy.html"
    page.write_text(_NOISY, "utf-8")
    dom, log = dump_dom(page, tmp_path)
    console = [line for line in log.splitlines() if ":CONSOLE" in line]
    for said in ("console.log: said-log", "console.warning: said-late", "dialog alert: said-alert",
                 "said_throw", "img-src", "console.error: said-worker"):  # the last: the CSP's refusal of the image, from the browser's log
        assert [line for line in console if said in line], (said, console)
    assert "<title>after</title>" in dom, dom[:300]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_a_page_that_hangs_or_a_browser_that_dies_fails_one_test_not_the_suite(tmp_path, monkeypatch):
    """A script that never yields: a clear assertion within the page bound, not a hung suite; its context (and
    the renderer stuck in the loop) is thrown away and the browser serves the next page. A browser that died is
    replaced by the next page."""
    quiet = tmp_path / "quiet.html"
    quiet.write_text("<!DOCTYPE html><html><head><title>quiet</title></head><body>ok</body></html>", "utf-8")
    hang = tmp_path / "hang.html"
    hang.write_text("<!DOCTYPE html><html><body><script>for (;;) {}</script></body></html>", "utf-8")
    dump_dom(quiet, tmp_path)
    first = browser().proc
    with monkeypatch.context() as patch, pytest.raises(AssertionError, match="did not answer within the time allowed"):
        patch.setattr("tests.browser.PAGE_TIMEOUT", 0.5)
        dump_dom(hang, tmp_path)
    dom, log = dump_dom(quiet, tmp_path)
    assert "<title>quiet</title>" in dom and log == "" and browser().proc is first
    os.killpg(first.pid, signal.SIGKILL)  # the browser this process started (its own session), and its helpers
    first.wait()
    dom, _ = dump_dom(quiet, tmp_path)
    assert "<title>quiet</title>" in dom and browser().proc.pid != first.pid


def _outside_code(md: str) -> str:
    """Markdown with fenced blocks and code spans removed: only what GitHub would interpret."""
    md = re.sub(r"(?ms)^(\s*)(`{3,}).*?^\1\2\s*$", "", md)
    return re.sub(r"(`+)(?:(?!\1).)+?\1", "", md)


def test_markdown_is_inert(hostile_reports):
    md = (hostile_reports / "report.md").read_text("utf-8")
    assert "PWNED" in md  # the text is there...
    live = _outside_code(md)
    for raw in ("<script", "<img", "<svg", "<a href", "</td>", "<https://evil"):
        assert raw not in live.lower(), raw  # ...but no raw HTML or autolink survives
    assert not re.search(r"(?<!\\)\]\((?:javascript|data|vbscript):", live, re.I)
    assert not re.search(r"(?<!\\)!\[[^\]]*(?<!\\)\]\(https://evil", live)
    assert not re.search(r"@[A-Za-z0-9]", live)  # every @ is broken so nobody is notified
    assert not re.search(r"acme-ops/enceladus#[0-9]", live)  # no cross-reference to another issue
    assert not re.search(r"(?<![\w\u200d])javascript:", live)  # not even as a bare scheme GitHub would link
    assert not CONTROLS.search(md)


def _strings(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield k
            yield from _strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v)


def test_sarif_is_inert(hostile_reports):
    sarif = json.loads((hostile_reports / "report.sarif").read_text("utf-8"))
    for s in _strings(sarif):
        assert not CONTROLS.search(s), s
    for result in sarif["runs"][0]["results"]:
        text = result["message"]["text"]
        assert not re.search(r"(?<!\\)\[[^\]]*(?<!\\)\]\(", text), text  # no embedded link survives


def test_sarif_and_annotations_neutralise_a_hostile_located_finding(hostile_reports):
    """Located findings rarely quote commit text; put the payloads there to exercise the escaping."""
    doc = read_report(hostile_reports / "report.json")
    doc["findings"].append({**doc["findings"][0], "status": "fail", "message": HOSTILE, "subject": HOSTILE,
                            "location": {"path": ".github/workflows/api-mcp-backend-deploy.yml", "line": 3}})
    sarif = json.loads(render_all(doc, ["sarif"])["sarif"])
    texts = [r["message"]["text"] for r in sarif["runs"][0]["results"] if "PWNED" in r["message"]["text"]]
    assert texts
    for text in texts:
        assert not CONTROLS.search(text)
        assert not re.search(r"(?<!\\)\[[^\]]*(?<!\\)\]\(", text), text
    notes = [a for a in annotations(doc) if "PWNED" in a["message"]]
    assert notes
    for note in notes:
        assert not CONTROLS.search(note["message"] + note["title"]), note
        assert "\x1b" not in note.get("raw_details", "")


def test_junit_is_well_formed_and_inert(hostile_reports):
    text = (hostile_reports / "report.junit.xml").read_text("utf-8")
    root = ET.fromstring(text)  # one stray control character and the whole file is rejected
    seen = []
    for el in root.iter():
        for value in [el.text or "", *el.attrib.values()]:
            assert not CONTROLS.search(value), value
            seen.append(value)
    assert any("document.title='PWNED'" in v for v in seen)
    assert "<script>" not in text  # escaped as &lt;script&gt;
