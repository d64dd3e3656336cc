"""SARIF and JUnit reporters: the official SARIF schema, what becomes a result, escaping, determinism."""

from __future__ import annotations

import copy
import json
import random
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from compliance.report import FORMATS, junit, sarif, write_reports
from tests.reportfile import read_report

DATA = Path(__file__).parent / "data"
SARIF_SCHEMA = json.loads((DATA / "sarif-2.1.0-rtm.5.json").read_text(encoding="utf-8"))
REPORT_SCHEMA = json.loads(
    (Path(sarif.__file__).parent.parent / "model" / "schemas" / "report.schema.json").read_text(encoding="utf-8")
)
WF = ".github/workflows/api-mcp-backend-deploy.yml"


@pytest.fixture
def doc():
    d = json.loads((DATA / "report_doc.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(d)  # the fixture is a real report document
    return d


@pytest.fixture(scope="module")
def demo_doc(demo_run):
    _, base = demo_run
    return read_report(base / "out" / "report.json")


def validate_sarif(text: str) -> dict:
    log = json.loads(text)
    assert SARIF_SCHEMA["$schema"] == "http://json-schema.org/draft-04/schema#"
    validator = jsonschema.Draft4Validator(SARIF_SCHEMA, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
    return log


def shuffled(doc: dict) -> dict:
    other = copy.deepcopy(doc)
    random.Random(7).shuffle(other["findings"])
    other["rules"].reverse()
    return other


# --------------------------------------------------------------------------- SARIF


def test_sarif_is_valid_against_the_official_schema(doc, demo_doc):
    validate_sarif(sarif.render(doc))
    log = validate_sarif(sarif.render(demo_doc))
    # The demo's workflow finding has a file location, so it must arrive as a result.
    assert any(r["ruleId"] == "APIMCP-009" for r in log["runs"][0]["results"])


def test_sarif_schema_rejects_a_broken_log(doc):
    """Guards the validation itself: a result without a message must not pass."""
    log = json.loads(sarif.render(doc))
    del log["runs"][0]["results"][0]["message"]
    with pytest.raises(AssertionError):
        validate_sarif(json.dumps(log))


def test_only_failing_findings_with_a_file_location_become_results(doc):
    run = json.loads(sarif.render(doc))["runs"][0]
    got = sorted((r["ruleId"], r["properties"]["status"], r["properties"]["subject"]) for r in run["results"])
    assert got == [("APIMCP-009", "error", "deploy.sh"), ("APIMCP-009", "fail", WF), ("APIMCP-009", "fail", WF)]
    # The located pass, the unlocated fail and the unlocated error are left out, and counted.
    assert run["properties"]["failing_without_location"] == 2
    assert run["properties"]["verdict"] == "error"


def test_result_shape(doc):
    run = json.loads(sarif.render(doc))["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "compliance" and driver["version"] == "0.1.0"
    for result in run["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        loc = result["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert loc["region"]["startLine"] >= 1
        assert set(result["partialFingerprints"]) == {sarif.FINGERPRINT_KEY}
    by_line = {r["locations"][0]["physicalLocation"]["region"]["startLine"]: r for r in run["results"]
               if r["properties"]["subject"] == WF}
    assert set(by_line) == {12, 49}
    assert by_line[12]["message"]["text"] == "push filter misses tools/enceladus-mcp-server/**"
    assert by_line[12]["level"] == "error"  # high
    # "./" is dropped so the path matches the repository tree.
    assert by_line[49]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == WF
    err = next(r for r in run["results"] if r["properties"]["status"] == "error")
    # A space is percent-encoded (a URI reference), and a finding without a line points at line 1.
    assert err["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "tools/deploy%20dir/deploy.sh"
    assert err["locations"][0]["physicalLocation"]["region"] == {"startLine": 1}
    assert err["level"] == "error"


def test_rule_descriptors(doc):
    rules = json.loads(sarif.render(doc))["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["APIMCP-001", "APIMCP-006", "APIMCP-009", "APIMCP-010"]
    r1 = rules[0]
    assert r1["name"] == "EveryScopedMergeIsDeployedByTheCanonicalWorkflow"
    assert r1["shortDescription"]["text"] == "Every scoped merge is deployed by the canonical workflow"
    assert r1["fullDescription"]["text"] == "UI deploys bypass validation."
    assert "Run the canonical deploy workflow" in r1["help"]["text"]
    assert "gh workflow run api-mcp-backend-deploy.yml --ref main" in r1["help"]["text"]
    assert r1["properties"]["severity"] == "critical"
    assert r1["properties"]["runbook_section"] == "Canonical Automation"
    assert r1["defaultConfiguration"]["level"] == "error"
    assert "help" not in rules[3]  # no remediation, no empty help


@pytest.mark.parametrize(("severity", "status", "expected"), [
    ("critical", "fail", "error"),
    ("high", "fail", "error"),
    ("medium", "fail", "warning"),
    ("low", "fail", "note"),
    ("info", "fail", "note"),
    ("info", "error", "error"),
    ("low", "error", "error"),
])
def test_level_mapping(severity, status, expected):
    assert sarif.level({"severity": severity, "status": status}) == expected


@pytest.mark.parametrize(("path", "uri"), [
    ("a/b.yml", "a/b.yml"),
    ("./a/./b.yml", "a/b.yml"),
    ("a\\b.yml", "a/b.yml"),
    ("dir with space/ü.yml", "dir%20with%20space/%C3%BC.yml"),
    ("/etc/passwd", None),
    ("../outside.yml", None),
    ("a/../../outside.yml", None),
    ("C:/x.yml", None),
    ("", None),
    (None, None),
])
def test_artifact_uri(path, uri):
    assert sarif.artifact_uri(path) == uri


def test_fingerprint_is_rule_plus_subject_only(doc):
    a = {"rule_id": "R-1", "subject": "x", "message": "one", "location": {"path": "f", "line": 1}}
    b = {**a, "message": "two", "location": {"path": "f", "line": 90}}
    assert sarif.fingerprint(a) == sarif.fingerprint(b)
    assert sarif.fingerprint(a) != sarif.fingerprint({**a, "subject": "y"})
    assert sarif.fingerprint(a) != sarif.fingerprint({**a, "rule_id": "R-2"})
    # Same across renders of the same document.
    first = [r["partialFingerprints"] for r in json.loads(sarif.render(doc))["runs"][0]["results"]]
    assert first == [r["partialFingerprints"] for r in json.loads(sarif.render(doc))["runs"][0]["results"]]


def test_untrusted_message_is_plain_text(doc):
    text = sarif.render(doc)
    text.encode("utf-8")  # a lone surrogate would make the write fail
    hostile = next(r for r in json.loads(text)["runs"][0]["results"]
                   if r["locations"][0]["physicalLocation"]["region"]["startLine"] == 49)
    msg = hostile["message"]["text"]
    assert "\\[link\\](1)" in msg  # not an embedded link to relatedLocations[1]
    assert "\x1b" not in msg and "\x00" not in msg and "\ud800" not in msg
    assert "<script>" in msg  # plain text: shown literally, not HTML


def test_sarif_is_deterministic(doc):
    assert sarif.render(doc) == sarif.render(copy.deepcopy(doc)) == sarif.render(shuffled(doc))


def test_sarif_with_nothing_to_report(doc):
    for f in doc["findings"]:
        f["status"] = "pass"
    log = validate_sarif(sarif.render(doc))
    assert log["runs"][0]["results"] == []
    assert len(log["runs"][0]["tool"]["driver"]["rules"]) == 4


# --------------------------------------------------------------------------- JUnit


def _attrs(el):
    return {k: int(el.get(k)) for k in ("tests", "failures", "errors", "skipped")}


def test_junit_parses_and_counts_match(doc):
    root = ET.fromstring(junit.render(doc).encode("utf-8"))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [
        "APIMCP-001 Every scoped merge is deployed by the canonical workflow",
        "APIMCP-006 Capability endpoint answers",
        "APIMCP-009 Workflow push filter covers every scoped path",
        "APIMCP-010 Guidance references the runbook",
    ]
    for suite in suites:
        cases = suite.findall("testcase")
        assert _attrs(suite) == {
            "tests": len(cases),
            "failures": sum(1 for c in cases if c.find("failure") is not None),
            "errors": sum(1 for c in cases if c.find("error") is not None),
            "skipped": sum(1 for c in cases if c.find("skipped") is not None),
        }
    s = doc["summary"]
    assert _attrs(root) == {"tests": len(doc["findings"]), "failures": s["fail"], "errors": s["error"],
                            "skipped": s["waived"] + s["not_applicable"] + s["pending"]}


def test_junit_testcases(doc):
    root = ET.fromstring(junit.render(doc))
    cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
    fail = cases[("APIMCP-001", "change 9febe19f1368")].find("failure")
    assert fail.get("type") == "critical"
    assert fail.get("message") == "no successful canonical deploy covers this change"
    assert "run: run 4242 failure" in fail.text and "conclusion: failure" in fail.text
    assert "Fix: Run the canonical deploy workflow for this merge." in fail.text
    assert "Run: gh workflow run api-mcp-backend-deploy.yml --ref main" in fail.text
    err = cases[("APIMCP-006", "endpoint https://api.example/cap")].find("error")
    assert err is not None and "could not evaluate" in err.get("message")
    assert cases[("APIMCP-001", "change bbbbbbbbbbbb")].find("skipped").get("message").startswith("waived:")
    assert cases[("APIMCP-006", "endpoint other")].find("skipped").get("message").startswith("not applicable:")
    passed = cases[("APIMCP-001", "change aaaaaaaaaaaa")]
    assert list(passed) == []
    # Two checks of one rule judged the same file: the names stay unique.
    assert ("APIMCP-009", f"file {WF} [workflow_push_filter]") in cases
    assert ("APIMCP-009", f"file {WF} [workflow_validation_asserts]") in cases


def test_junit_strips_characters_xml_cannot_carry(doc):
    text = junit.render(doc)
    for bad in ("\x00", "\x1b", "\ud800", "\ufffe"):
        assert bad not in text
    text.encode("utf-8")
    root = ET.fromstring(text)
    hostile = root.find(f".//testcase[@name='file {WF} [workflow_validation_asserts]']/failure")
    assert hostile.get("message").startswith("<script>alert(1)</script> ]]> [link](1)")
    assert "a&b \"q\"" in hostile.get("message")


def test_junit_is_deterministic(doc):
    assert junit.render(doc) == junit.render(shuffled(doc))


def test_junit_for_the_demo(demo_doc):
    root = ET.fromstring(junit.render(demo_doc))
    s = demo_doc["summary"]
    assert _attrs(root) == {"tests": len(demo_doc["findings"]), "failures": s["fail"], "errors": s["error"],
                            "skipped": s["waived"] + s["not_applicable"] + s["pending"]}
    assert len(root.findall("testsuite")) == len(demo_doc["rules"])


# --------------------------------------------------------------------------- registry


def test_formats_are_registered_and_written(doc, tmp_path):
    assert FORMATS["sarif"].render(doc) == sarif.render(doc) and FORMATS["junit"].render(doc) == junit.render(doc)
    assert FORMATS["junit"].suffix == "junit.xml"
    paths = write_reports(doc, tmp_path, formats=("sarif", "junit"))
    validate_sarif(paths["sarif"].read_text(encoding="utf-8"))
    ET.parse(paths["junit"])


def test_a_finding_whose_rule_is_missing_still_gets_a_descriptor(doc):
    doc["findings"].append({**doc["findings"][5], "rule_id": "ZZZ-1", "title": "Orphan"})
    log = validate_sarif(sarif.render(doc))
    run = log["runs"][0]
    orphan = next(r for r in run["results"] if r["ruleId"] == "ZZZ-1")
    assert run["tool"]["driver"]["rules"][orphan["ruleIndex"]]["shortDescription"]["text"] == "Orphan"


def test_the_junit_writer_drops_exactly_what_xml_1_0_cannot_hold():
    """Every code point against XML 1.0's Char production (#x9 | #xA | #xD | [#x20-#xD7FF] |
    [#xE000-#xFFFD] | [#x10000-#x10FFFF]): the refused class is written as its complement."""
    allowed = ((0x9, 0x9), (0xA, 0xA), (0xD, 0xD), (0x20, 0xD7FF), (0xE000, 0xFFFD), (0x10000, 0x10FFFF))
    every = "".join(map(chr, range(0x110000)))
    refused = {m.start() for m in junit._INVALID_XML.finditer(every)}
    assert refused == set(range(0x110000)).difference(*(range(lo, hi + 1) for lo, hi in allowed))
    assert len(refused) == 9 + 2 + 18 + 2048 + 2
