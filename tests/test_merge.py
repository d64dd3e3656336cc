"""`compliance merge`: per-target report.json files (a CI matrix's artifacts) into one report.

The inputs are real reports: snapshots of a real git repository judged through `compliance
evaluate`, one target with a failing change, one whose Lambda source failed."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from compliance.cli import main
from compliance.model.snapshot import load_schema, save_snapshot
from tests import scenario
from tests.reportfile import read_report, recount

RULES = """version: 1
rules:
  - id: T-STATE
    title: The function is Active and Successful
    severity: high
    rationale: a failed update serves old code
    runbook_section: Validation
    checks: [{kind: lambda_state, state: Active, last_update_status: Successful}]
    remediation: {text: redeploy, command: "aws lambda get-function-configuration --function-name {function}"}
  - id: T-REF
    title: Changes name a task
    severity: medium
    rationale: evidence is recorded on tasks
    runbook_section: Evidence
    scope: {include: ["backend/lambda/coordination_api/**", "tools/enceladus-mcp-server/**"]}
    checks: [{kind: tracker_ref}]
    remediation: {text: name the task, command: "git show --stat {sha}"}
"""


def _target(name: str) -> dict:
    return {**scenario.TARGET, "name": name}


def _report(tmp_path: Path, repo_path: Path, name: str, *, lambda_ok: bool) -> Path:
    lam = scenario.lambda_data() if lambda_ok else RuntimeError("AccessDeniedException: not authorized")
    snap = scenario.snapshot(repo_path, target=_target(name), **{"lambda": lam})
    folder = tmp_path / "reports" / name
    save_snapshot(snap, folder / "snapshot.json")
    policies = tmp_path / "rules.yaml"
    policies.write_text(RULES, "utf-8")
    code = main(["evaluate", "--snapshot", str(folder / "snapshot.json"), "--policies", str(policies),
                 "--out", str(folder), "--format", "json"])
    assert code in (1, 2)
    return folder / "report.json"


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("merge")
    scenario.build_repo(tmp / "enceladus")
    alpha = _report(tmp, tmp / "enceladus", "alpha", lambda_ok=True)
    beta = _report(tmp, tmp / "enceladus", "beta", lambda_ok=False)
    return tmp, alpha, beta


def _load(path: Path) -> dict:
    return read_report(path)


def test_merge_adds_up_and_every_finding_names_its_target(reports, capsys):
    tmp, alpha, beta = reports
    out = tmp / "merged"
    code = main(["merge", str(beta), str(alpha), "--out", str(out), "--format", "md,html,json,sarif,junit"])
    a, b, merged = _load(alpha), _load(beta), _load(out / "report.json")
    assert a["summary"]["exit_code"] == 1 and b["summary"]["exit_code"] == 2
    assert code == 2 == merged["summary"]["exit_code"]  # the worst target decides
    assert merged["summary"]["verdict"] == "error"
    # the schema itself is checked once, in test_reports.py (jsonschema.validate re-checked it, ~0.24 s)
    jsonschema.Draft202012Validator(load_schema("report")).validate(merged)
    for status in ("pass", "fail", "error", "waived", "not_applicable"):
        assert merged["summary"][status] == a["summary"][status] + b["summary"][status], status
    assert len(merged["findings"]) == len(a["findings"]) + len(b["findings"])
    assert {f["target"] for f in merged["findings"]} == {"alpha", "beta"}
    mine = sorted((f["rule_id"], f["subject"], f["status"]) for f in merged["findings"] if f["target"] == "beta")
    assert mine == sorted((f["rule_id"], f["subject"], f["status"]) for f in b["findings"])
    assert [t["name"] for t in merged["targets"]] == ["alpha", "beta"]  # sorted, not argument order
    entry = {t["name"]: t for t in merged["targets"]}
    assert entry["alpha"]["verdict"] == "fail" and entry["beta"]["verdict"] == "error"
    assert entry["beta"]["counts"]["error"] == b["summary"]["error"]
    assert entry["alpha"]["path"] == "../reports/alpha/report.json"
    assert {(s["target"], s["name"]) for s in merged["sources"]} == {
        (t, n) for t in ("alpha", "beta") for n in ("git", "lambda")}
    assert [(n["target"], n["rule_id"]) for n in merged["not_evaluated"]] == [("beta", "T-STATE")]
    counts = {r["id"]: r["counts"] for r in merged["rules"]}
    assert counts["T-STATE"]["pass"] == 1 and counts["T-STATE"]["error"] == 1
    assert counts["T-REF"]["fail"] == 2  # the direct push, in both targets
    assert {(c["target"], c["short"]) for c in merged["changes"]} == {
        (t, c["short"]) for t, d in (("alpha", a), ("beta", b)) for c in d["changes"]}
    md = (out / "report.md").read_text("utf-8")
    assert "### Targets (2)" in md and "| alpha |" in md and "beta ·" in md
    assert "Targets (2)" in (out / "report.html").read_text("utf-8")
    assert (out / "report.sarif").is_file()
    assert "beta: " in (out / "report.junit.xml").read_text("utf-8")
    assert "target alpha: FAIL" in capsys.readouterr().out


def test_merge_is_byte_identical_on_repeat(reports):
    tmp, alpha, beta = reports
    main(["merge", str(alpha), str(beta), "--out", str(tmp / "one"), "--format", "json,md,html"])
    main(["merge", str(beta), str(alpha), "--out", str(tmp / "two"), "--format", "json,md,html"])
    for name in ("report.json", "report.md", "report.html"):
        assert (tmp / "one" / name).read_bytes() == (tmp / "two" / name).read_bytes(), name


def test_gating_options_apply_to_the_merged_report(reports):
    tmp, alpha, _ = reports
    assert main(["merge", str(alpha), "--out", str(tmp / "g1")]) == 1
    assert main(["merge", str(alpha), "--out", str(tmp / "g2"), "--soft-fail"]) == 0


@pytest.mark.parametrize("content, words", [
    ("not json at all", "invalid JSON"),
    ('{"snapshot_version": 1, "sources": {}}', "not a compliance report.json"),
    ('{"report_version": 1, "findings": []}', "not a valid compliance report"),
    (b"\xff\xfe", "not UTF-8"),
    ("[1, 2]", "not a compliance report.json"),
])
def test_a_file_that_is_not_a_report_exits_2(reports, tmp_path, capsys, content, words):
    _, alpha, _ = reports
    bad = tmp_path / "bad.json"
    bad.write_bytes(content if isinstance(content, bytes) else content.encode())
    code = main(["merge", str(alpha), str(bad), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{bad}:" in err and words in err, err
    assert not (tmp_path / "out").exists()  # nothing merged


def test_missing_file_duplicate_target_and_merged_input_exit_2(reports, tmp_path, capsys):
    tmp, alpha, beta = reports
    assert main(["merge", str(alpha), str(tmp_path / "nope.json"), "--out", str(tmp_path / "o1")]) == 2
    assert "cannot read report" in capsys.readouterr().err
    twin = tmp_path / "copy" / "report.json"
    twin.parent.mkdir()
    twin.write_bytes(alpha.read_bytes())
    assert main(["merge", str(alpha), str(twin), "--out", str(tmp_path / "o2")]) == 2
    assert "target 'alpha' is also in" in capsys.readouterr().err
    assert main(["merge", str(alpha), str(beta), "--out", str(tmp_path / "m")]) == 2
    assert main(["merge", str(tmp_path / "m" / "report.json"), "--out", str(tmp_path / "o3")]) == 2
    assert "already a merged report" in capsys.readouterr().err


def test_an_unnamed_target_is_known_by_its_report_folder(reports, tmp_path):
    _, alpha, _ = reports
    doc = _load(alpha)
    del doc["snapshot"]["target"]["name"]
    path = tmp_path / "gamma" / "report.json"
    path.parent.mkdir()
    path.write_text(json.dumps(doc), "utf-8")
    assert main(["merge", str(path), "--out", str(tmp_path / "out"), "--soft-fail"]) == 0
    merged = _load(tmp_path / "out" / "report.json")
    assert [t["name"] for t in merged["targets"]] == ["gamma"]
    assert {f["target"] for f in merged["findings"]} == {"gamma"}


def test_an_unnamed_target_is_named_by_the_folder_given_not_the_set_its_report_links_into(reports, tmp_path,
                                                                                        monkeypatch, capsys):
    """``evaluate --out reports/gamma`` writes ``report.json`` as a link into ``.current/`` -> ``.set-<pid>-...``:
    the target is ``gamma`` (the folder the user gave), as it is for a ``cp -rL`` copy of the folder."""
    import shutil
    tmp, alpha, _ = reports
    snap = json.loads((alpha.parent / "snapshot.json").read_text("utf-8"))
    del snap["target"]["name"]
    save_snapshot(snap, tmp_path / "unnamed.json")
    folder = tmp_path / "reports" / "gamma"
    assert main(["evaluate", "--snapshot", str(tmp_path / "unnamed.json"), "--policies", str(tmp / "rules.yaml"),
                 "--out", str(folder), "--format", "json"]) == 1
    assert (folder / "report.json").is_symlink() and ".set-" in str((folder / "report.json").resolve())
    copy = tmp_path / "copied" / "gamma"
    shutil.copytree(folder, copy, symlinks=False)  # cp -rL
    assert not (copy / "report.json").is_symlink()
    monkeypatch.chdir(copy)
    for i, path in enumerate([folder / "report.json", copy / "report.json", Path("report.json")]):
        capsys.readouterr()
        assert main(["merge", str(path), "--out", str(tmp_path / f"out{i}"), "--soft-fail"]) == 0
        assert capsys.readouterr().out.startswith("target gamma: FAIL"), path
        merged = _load(tmp_path / f"out{i}" / "report.json")
        assert [t["name"] for t in merged["targets"]] == ["gamma"]


# --- a report that contradicts itself: its sections state verdicts its findings do not hold ---------------------

def _demo_doc(demo_run) -> dict:
    _, base = demo_run
    return _load(base / "out" / "report.json")


def _write(tmp_path: Path, name: str, doc: dict) -> Path:
    path = tmp_path / name / "report.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(doc), "utf-8")
    return path


_recount = recount


def test_a_report_whose_sections_say_fail_while_its_findings_pass_is_refused(demo_run, tmp_path, capsys):
    """The probe's report: every non-pass finding deleted and the counts recomputed, its changes table,
    not_evaluated, waivers and diff left saying fail and error. Read by its findings it would merge as PASS."""
    doc = _demo_doc(demo_run)
    doc["findings"] = [f for f in doc["findings"] if f["status"] not in ("fail", "error", "pending")]
    _recount(doc)
    assert doc["summary"]["verdict"] == "pass"
    assert any(v == "fail" for c in doc["changes"] for v in c["verdicts"].values()) and doc["not_evaluated"]
    path = _write(tmp_path, "hostile", doc)
    code = main(["merge", str(path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"{path}:" in err and "not a valid compliance report: its changes table says" in err, err
    assert not (tmp_path / "out").exists()  # nothing merged


def _lie_in_changes(doc: dict) -> None:
    row = next(c for c in doc["changes"] if "pass" in c["verdicts"].values())
    rule = next(r for r, v in row["verdicts"].items() if v == "pass")
    row["verdicts"][rule] = "fail"


def _a_pass(doc: dict) -> dict:
    return next(f for f in doc["findings"] if f["status"] == "pass")


def _lie_in_not_evaluated(doc: dict) -> None:
    f = _a_pass(doc)
    doc["not_evaluated"].append({"rule_id": f["rule_id"], "subject": f["subject"], "reason": "could not evaluate"})


def _lie_in_waivers(doc: dict) -> None:
    f = _a_pass(doc)
    entry = {**doc["waivers"]["applied"][0],
             "findings": [{k: f[k] for k in ("rule_id", "subject_type", "subject")}]}
    doc["waivers"]["errors_not_waived"].append(entry)


def _lie_in_diff(doc: dict) -> None:
    f = _a_pass(doc)
    doc["diff"]["new"].append({k: f[k] for k in ("rule_id", "subject_type", "subject")}
                              | {"previous": None, "current": "fail", "message": "failed"})
    doc["diff"]["counts"]["new"] += 1


def _lie_in_diff_counts(doc: dict) -> None:
    doc["diff"]["counts"]["new"] += 1


def _lie_in_controls(doc: dict) -> None:
    f = _a_pass(doc)
    control = next(c for c in doc["controls"] if f["rule_id"] in {r["id"] for r in c["rules"]})
    control["failing"].append({k: f[k] for k in ("rule_id", "subject_type", "subject")} | {"status": "fail"})


def _lie_in_control_verdict(doc: dict) -> None:
    control = next(c for c in doc["controls"] if c["verdict"] == "pass")
    control["verdict"] = "fail"


@pytest.mark.parametrize("lie, words", [
    (_lie_in_changes, "its changes table says"),
    (_lie_in_not_evaluated, "its not_evaluated lists"),
    (_lie_in_waivers, "its waivers.errors_not_waived names"),
    (_lie_in_diff, "its diff.new says"),
    (_lie_in_diff_counts, "its diff counts"),
    (_lie_in_controls, "its control"),
    (_lie_in_control_verdict, "its control"),
])
def test_one_section_stating_what_the_findings_do_not_hold_is_refused(demo_run, tmp_path, capsys, lie, words):
    doc = _demo_doc(demo_run)
    lie(doc)
    path = _write(tmp_path, "api", doc)
    code = main(["merge", str(path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "not a valid compliance report: " + words in err, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("version", [1, 2, 3])
def test_an_honest_report_with_waived_pending_and_not_applicable_findings_still_merges(demo_run, tmp_path, version):
    from compliance.report.compact import compact_report
    _, base = demo_run
    doc = _demo_doc(demo_run)
    assert all(doc["summary"][s] for s in ("waived", "pending", "not_applicable", "error", "fail"))
    assert doc["diff"] and doc["waivers"]["applied"] and doc["not_evaluated"]
    if version == 3:
        path = base / "out" / "report.json"  # the file the demo wrote, as it is
    else:
        path = _write(tmp_path, "api", doc if version == 1 else compact_report(doc, version=2))
    assert main(["merge", str(path), "--out", str(tmp_path / "out"), "--soft-fail"]) == 0
    merged = _load(tmp_path / "out" / "report.json")
    assert merged["summary"] == doc["summary"]
