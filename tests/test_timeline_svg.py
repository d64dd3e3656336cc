"""The timeline picture (issue 19, part 1): the window overview and each card's swimlane, drawn from what was judged.

Layout is tested as numbers (the scale only grows with time, dense lanes become bins, labels never share
a spot), the picture against the judged chains (a red finding is never a green mark, whatever the run's
record says), and the page in a real headless Chromium: the SVG paints, its labels do not overlap at
1280 px, and hostile text stays text.
"""

from __future__ import annotations

import copy
import random
import re
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from xml.sax.saxutils import escape

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from compliance.base.console import INVISIBLE_RE
from compliance.base.redact import strip_hidden
from compliance.base.timeutil import iso
from compliance.judge.engine import evaluate
from compliance.model.snapshot import load_schema
from compliance.report import FORMATS
from compliance.report import svg_timeline as svgt
from compliance.report import timeline_layout as tl
from compliance.report import timeline_view as tv
from compliance.report.document import build_report
from compliance.report.svg_primitives import xml_text
from tests.browser import CHROMIUM, dump_dom, measure, read_png, screenshot
from tests.hypothesis_budget import examples
from tests.scenario import build_repo, make_rule, run, snapshot

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
SHA = "9febe19f1368" + "0" * 28


def _stage(stage, state, time=None, label="", outcome=None, detail=""):
    out = {"stage": stage, "state": state, "time": iso(time) if time else None, "label": label, "url": None,
           "detail": detail}
    return {**out, "outcome": outcome} if outcome else out


def _change(i, at, verdict="pass", run_state="ok", outcome="success", short=None, subject=None):
    return {
        "sha": f"{i:040x}", "short": short or f"{i:012x}", "kind": "squash", "pr": i, "subject": subject or f"change {i}",
        "author": "a", "committed_at": iso(at), "task_ids": ["ENC-TSK-1"], "files_in_scope": ["x.py"],
        "timeline": [_stage("merge", "ok", at, f"{i:012x} merged"),
                     _stage("workflow_run", run_state, at + timedelta(minutes=4), f"run {i} (push, {outcome})",
                            outcome),
                     _stage("lambda_update", "ok", at + timedelta(minutes=3, seconds=50), "deployed by run"),
                     _stage("worklog", "ok", at + timedelta(minutes=20), "ENC-TSK-1: recorded")],
        "verdicts": {"R-1": verdict},
    }


def _doc(changes, since=T0, until=T0 + timedelta(days=30)):
    return {"snapshot": {"window": {"since": iso(since), "until": iso(until), "branch": "main"},
                         "collected_at": iso(until), "target": {"name": "t"}},
            "changes": changes, "findings": [], "rules": [], "summary": {}, "sources": []}


# --- layout, as numbers ------------------------------------------------------------------------------------

def test_the_scale_only_grows_with_time_and_keeps_late_events_in_a_gutter():
    rng = random.Random(7)
    times = sorted({T0 + timedelta(seconds=rng.randrange(-5 * 86400, 300 * 86400)) for _ in range(500)})
    scale = tl.window_scale({"since": iso(T0), "until": iso(T0 + timedelta(days=30))}, times, 100.0, 900.0)
    xs = [scale.x(t) for t in times]
    assert all(a < b for a, b in zip(xs, xs[1:], strict=False)), "x must grow strictly with time"
    assert 100.0 <= xs[0] and xs[-1] <= 900.0
    assert scale.first is not None and scale.last is not None  # events before and after the window
    # the window itself keeps all but the two gutters: a run months later does not squash it into a line
    assert scale.right - scale.left == pytest.approx(800.0 - 2 * scale.gutter)
    inside = [x for t, x in zip(times, xs, strict=False) if scale.start <= t <= scale.end]
    assert min(inside) >= scale.left and max(inside) <= scale.right


def test_no_gutter_when_everything_is_inside_the_window():
    scale = tl.window_scale({"since": iso(T0), "until": iso(T0 + timedelta(days=1))}, [T0 + timedelta(hours=5)],
                            0.0, 1000.0)
    assert (scale.first, scale.last, scale.left, scale.right) == (None, None, 0.0, 1000.0)
    assert scale.x(T0 + timedelta(hours=12)) == pytest.approx(500.0)


def test_ticks_are_in_the_window_in_order_and_never_closer_than_their_labels():
    for days in (0.5, 3, 30, 400, 3000):
        scale = tl.Scale(T0, T0 + timedelta(days=days), 128.0, 990.0)
        width = svgt.text_width("0000-00-00 00:00")
        ticks = tl.ticks(scale, width)
        assert ticks, days
        xs = [x for x, _ in ticks]
        assert all(b - a >= width for a, b in zip(xs, xs[1:], strict=False)), (days, ticks)
        assert all(128.0 <= x <= 990.0 for x in xs)


def test_dense_lanes_are_binned_and_every_event_is_counted():
    changes = [_change(i, T0 + timedelta(hours=3 * i)) for i in range(svgt.MAX_MARKS + 80)]
    changes[7] = _change(7, T0 + timedelta(hours=21), verdict="fail", run_state="failed", outcome="failure")
    events = tv.overview_events(changes)
    scale = tl.window_scale(_doc(changes)["snapshot"]["window"], [e.at for e in events["merge"]], 128.0, 990.0)
    step, name = tl.bin_step(scale, svgt.BIN_MIN_PX)
    bins = tl.bins(events["merge"], scale, step)
    assert sum(b.total for b in bins) == len(changes)
    assert all(a.end <= b.start for a, b in zip(bins, bins[1:], strict=False))
    assert all(scale.x(b.end) - scale.x(b.start) >= svgt.BIN_MIN_PX - 0.01 or b.end == scale.end for b in bins)
    picture = svgt.overview(_doc(changes))
    assert f"drawn as bars per {name}" in picture
    assert picture.count("<circle") == 0  # runs drawn as bars, not one dot each
    assert "1 fail" in picture and re.search(r"\d+ pass", picture)  # a bin's tooltip counts per colour
    assert f">{changes[7]['short']}<" in picture  # the failing change is still labelled


def test_below_the_density_every_event_is_its_own_mark():
    changes = [_change(i, T0 + timedelta(days=i)) for i in range(12)]
    picture = svgt.overview(_doc(changes))
    assert "drawn as bars" not in picture
    assert picture.count("<circle") == 12  # one dot per run
    assert picture.count("<polygon") == 24  # a diamond per Lambda update, a triangle per worklog


def test_labels_never_share_a_spot_and_a_leader_never_crosses_a_label():
    rng = random.Random(3)
    wanted = [(rng.uniform(0, 1000), rng.uniform(40, 120)) for _ in range(80)]
    spots = tl.place_labels(wanted, 0.0, 1000.0, 3)
    placed = [(row, left, left + w, a) for (a, w), s in zip(wanted, spots, strict=False) if s for row, left in [s]]
    assert 5 < len(placed) < len(wanted)  # crowded: some placed, the rest reported as not placed
    for i, (row, left, right, anchor) in enumerate(placed):
        assert 0.0 <= left and right <= 1000.0 and left - 6 <= anchor <= right + 6
        for row2, left2, right2, anchor2 in placed[i + 1:]:
            if row == row2:
                assert right <= left2 or right2 <= left
            if row2 > row:  # the farther label's leader passes this row
                assert not left <= anchor2 <= right
            if row > row2:
                assert not left2 <= anchor <= right2


def test_durations_are_short_and_signed():
    assert [tv.duration(s) for s in (45, 233, 7500, 2 * 86400 + 4 * 3600, 259 * 86400, -9)] == [
        "+45s", "+3m53s", "+2h05m", "+2d04h", "+259d", "-9s"]


# --- the picture says what was judged ---------------------------------------------------------------------

def test_a_success_record_on_a_judged_failure_is_never_green():
    """Lying data: the run's record says success, the judge found it covers nothing."""
    liar = _change(1, T0 + timedelta(days=2), verdict="fail", run_state="failed", outcome="success")
    lane = svgt.swimlane(liar)
    assert "success, covers nothing" in lane
    run_dot = re.findall(r'<circle cx="[\d.]+" cy="([\d.]+)" r="5" fill="(#\w+)"', lane)[1]
    assert run_dot[1] == svgt.COLOURS["fail"]
    over = svgt.overview(_doc([liar]))
    runs = re.findall(r'<circle[^>]*fill="(#\w+)"', over)
    assert runs == [svgt.COLOURS["fail"]]
    # an ok stage whose record does not say success contradicts itself: could not evaluate, not pass
    odd = _change(2, T0, run_state="ok", outcome="cancelled")
    assert tv.stage_class(odd["timeline"][1]) == "error"
    pending = _stage("workflow_run", "missing", T0, "run 5 (push, in_progress)", "in_progress", "pending: running")
    assert tv.stage_class(pending) == "pending"
    assert tv.stage_class(_stage("workflow_run", "missing", None, "no canonical run covers this change")) == "fail"


def test_the_card_lane_gives_each_stage_its_delay_after_the_merge():
    change = _change(1, T0)
    change["timeline"][3] = _stage("worklog", "missing", None, "ENC-TSK-1: no evidence")
    lane = svgt.swimlane(change)
    for text in ("merged 2026-03-01 00:00Z", "+4m00s success", "+3m50s ok", "no time recorded: missing"):
        assert f">{text}<" in lane, text
    xs = [float(x) for x in re.findall(r'<circle cx="([\d.]+)"', lane)]
    assert len(xs) == 3 and xs[0] < xs[2] < xs[1]  # merge, then the update (3m50s), then the run (4m)
    assert tv.text_lane(change) == "run +4m00s success → update +3m50s ok → worklog (no time) missing"


def test_the_judge_records_each_run_stage_outcome(tmp_path):
    """From a real repository and a failed canonical run: the stage carries the run's conclusion, the report
    validates against its schema, and the picture and the Markdown lane say it failed."""
    r, s = build_repo(tmp_path / "enceladus")
    runs = [run(4242, s["squash"], "failure", "2026-02-26T12:01:00Z", "2026-02-26T12:09:00Z")]
    snap = snapshot(r.path, github={"workflow": "x", "runs": runs})
    rules = [make_rule("deploy_coverage", rule_id="T-001")]
    doc = build_report(snap, rules, evaluate(snap, rules), "audit")
    jsonschema.Draft202012Validator(load_schema("report")).validate(doc)
    change = next(c for c in doc["changes"] if c["sha"] == s["squash"])
    stage = next(st for st in change["timeline"] if st["stage"] == "workflow_run")
    assert (stage["state"], stage["outcome"]) == ("failed", "failure")
    assert all("outcome" not in st for st in change["timeline"] if st["stage"] != "workflow_run")
    assert "run +" in tv.text_lane(change) and " failure" in tv.text_lane(change)
    page = FORMATS["html"].render(doc)
    assert "Window at a glance" in page and page.count('class="tl tl-lane"') == len(doc["changes"])
    md = FORMATS["md"].render(doc)
    assert "Window at a glance: merges" in md and "canonical runs" in md and "1 failed" in md


def test_the_picture_is_deterministic_and_holds_no_time_of_run():
    doc = _doc([_change(i, T0 + timedelta(days=i), verdict=("fail", "pass", "pending")[i % 3]) for i in range(9)])
    one = FORMATS["html"].render(doc)
    assert one == FORMATS["html"].render(copy.deepcopy(doc))
    assert one.count("<svg") == 1 + 9


# --- in a real browser -------------------------------------------------------------------------------------

_MEASURE = """
var out = [];
document.querySelectorAll('svg.tl').forEach(function (s) {
  var r = s.getBoundingClientRect(), texts = [];
  s.querySelectorAll('text').forEach(function (t) {
    var b = t.getBoundingClientRect();
    texts.push([b.left, b.top + scrollY, b.right, b.bottom + scrollY, t.firstChild ? t.firstChild.nodeValue : '']);
  });
  out.push({cls: s.getAttribute('class'), box: [r.left, r.top + scrollY, r.right, r.bottom + scrollY],
            texts: texts});
});
var pre = document.createElement('pre');
pre.id = 'measured';
pre.textContent = JSON.stringify({width: document.documentElement.scrollWidth, svgs: out});
document.body.appendChild(pre);
"""
HOSTILE = ("<script>document.title='PWNED'</script></svg><svg onload=\"document.title='PWNED'\"> & &amp; "
           "\x07\x1b[31m\u202e " + "W" * 3000)
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")


def _pages(tmp: Path) -> dict[str, str]:
    """The pages the browser tests load: a plain window, a long dense one, and one full of hostile text."""
    plain = _doc([_change(i, T0 + timedelta(days=2 * i, hours=i), verdict=("pass", "fail", "pending", "waived")[i % 4],
                          run_state="failed" if i % 4 == 1 else "ok", outcome="failure" if i % 4 == 1 else "success")
                  for i in range(14)])
    plain["changes"][-1]["timeline"][1] = _stage("workflow_run", "missing", T0 + timedelta(days=200),
                                                 "run 9 (push, in_progress)", "in_progress", "pending: running")
    dense = _doc([_change(i, T0 + timedelta(minutes=37 * i), verdict="fail" if i % 9 == 0 else "pass")
                  for i in range(1500)], until=T0 + timedelta(days=40))
    hostile = _doc([_change(i, T0 + timedelta(days=i, hours=3), verdict="fail", short=HOSTILE[:40] + str(i),
                            subject=HOSTILE, outcome=HOSTILE) for i in range(6)])
    for change in hostile["changes"]:
        for st in change["timeline"]:
            st["label"] = HOSTILE
    return {name: FORMATS["html"].render(doc) for name, doc in (("plain", plain), ("dense", dense),
                                                                 ("hostile", hostile))}


@pytest.fixture(scope="module")
def pages(tmp_path_factory, demo):
    """The synthetic pages, and the demo system's snapshot as the engine judges it (real chains)."""
    snap, rules = copy.deepcopy(demo[0]), demo[1]
    return {**_pages(tmp_path_factory.mktemp("pages")),
            "demo": FORMATS["html"].render(build_report(snap, rules, evaluate(snap, rules), "audit"))}


def _overlaps(texts):
    boxes = [t for t in texts if t[2] - t[0] > 0]
    bad = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5:
                bad.append((a[4], b[4]))
    return bad


@needs_chromium
@pytest.mark.parametrize("name", ["plain", "dense", "hostile", "demo"])
def test_labels_do_not_overlap_at_1280_px(pages, name, tmp_path):
    got = measure(pages[name], _MEASURE, tmp_path)
    if name != "hostile":  # (a 3,000-character word in a card's heading widens the page, not the pictures)
        assert got["width"] <= 1280, got["width"]
    svgs = got["svgs"]
    assert svgs and svgs[0]["cls"] == "tl tl-overview"
    for s in svgs:
        left, top, right, bottom = s["box"]
        assert right <= 1280 and right - left > 600 and bottom - top > 40, s["box"]  # drawn, at a readable size
        assert s["texts"], s["cls"]
        assert _overlaps(s["texts"]) == [], (s["cls"], _overlaps(s["texts"])[:5])
        for t in s["texts"]:  # every label inside its picture
            assert left - 0.5 <= t[0] and t[2] <= right + 0.5 and top - 0.5 <= t[1] and t[3] <= bottom + 0.5, t


def _glance_only(html: str) -> str:
    start = html.index("<section>\n<h2>Window at a glance")
    end = html.index("</section>", start) + len("</section>")
    return html.split("<body>")[0] + "<body>\n" + html[start:end] + "\n</body>\n</html>\n"


@needs_chromium
def test_the_overview_paints_in_a_screenshot(pages, tmp_path):
    """Pixels in the SVG's box: mostly paper, but with the marks' greens and reds actually drawn."""
    html = _glance_only(pages["plain"])
    box = measure(html, _MEASURE, tmp_path)["svgs"][0]["box"]
    page = tmp_path / "glance.html"
    page.write_text(html, "utf-8")
    shot = screenshot(page, tmp_path / "glance.png", tmp_path, 1280, int(box[3]) + 20)
    width, height, rows = read_png(shot)
    assert (width, height, len(rows)) == (1280, int(box[3]) + 20, height)  # the size asked for
    bpp = len(rows[0]) // width
    x0, y0, x1, y1 = (int(v) for v in box)
    seen, inked = set(), 0
    for y in range(max(y0, 0), min(y1, height)):
        row = rows[y]
        for x in range(max(x0, 0), min(x1, width), 2):
            px = tuple(row[x * bpp:x * bpp + 3])
            if px != (255, 255, 255):
                inked += 1
                seen.add(px)
    area = (x1 - x0) * (y1 - y0) / 2
    assert 0.02 < inked / area < 0.9, inked / area
    green, red = (0x1A, 0x7F, 0x37), (0xCF, 0x22, 0x2E)
    assert any(sum(abs(a - b) for a, b in zip(px, green, strict=False)) < 30 for px in seen), "no pass-green mark painted"
    assert any(sum(abs(a - b) for a, b in zip(px, red, strict=False)) < 30 for px in seen), "no fail-red mark painted"


class _Dom(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.svg_text: list[str] = []
        self.depth = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.depth += tag == "svg"

    def handle_endtag(self, tag):
        self.depth -= tag == "svg"

    def handle_data(self, data):
        if self.depth:
            self.svg_text.append(data)


@needs_chromium
def test_hostile_text_stays_text_in_the_picture(pages, tmp_path):
    """``</svg>``, ``<script>``, ``&``, controls and a 3,000-character name: the browser builds exactly the
    pictures we drew, shows the payload as characters, and runs nothing (the CSP removed, so escaping alone holds)."""
    html = pages["hostile"]
    assert "<script" not in html and "</svg><svg onload" not in html
    bare = tmp_path / "hostile.html"
    bare.write_text(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html), "utf-8")
    dom, log = dump_dom(bare, tmp_path)
    parsed = _Dom()
    parsed.feed(dom)
    assert parsed.tags.count("svg") == html.count("<svg") == 1 + 6  # the overview and six card lanes
    assert "script" not in parsed.tags and "PWNED" not in re.search(r"<title>(.*?)</title>", dom).group(1)
    text = "".join(parsed.svg_text)
    assert "</svg><svg onload=" in text and "<script>document.title='PWNED'</script>" in text and "& &amp;" in text
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\u202e]", text)
    assert [line for line in log.splitlines() if ":CONSOLE" in line] == []


def test_xml_text_escapes_as_saxutils_did():
    """svg_primitives escapes in one pass instead of importing xml.sax.saxutils (and with it urllib, http and
    email at start-up); the bytes must be what saxutils gave, for every character that matters."""
    for text in ['a&b<c>d"e\'f', "&amp; already", "&&<<>>\"\"''", "plain", "", "</svg><script>x</script>",
                 "x' onload='y", "é ✓ 😀"]:
        assert xml_text(text) == escape(text, {'"': "&quot;", "'": "&apos;"}), text


@settings(max_examples=examples(600))
@given(hs.text(alphabet=hs.sampled_from('&<>"\'; a#\u200b\x00\n') | hs.characters(), max_size=40))
def test_xml_text_is_saxutils_on_the_visible_text(text):
    assert xml_text(text) == escape(strip_hidden(INVISIBLE_RE, text), {'"': "&quot;", "'": "&apos;"})
