"""The CLI end to end: demo, offline re-evaluation, exit codes, rule validation, changes listing."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from compliance.cli import main
from tests.reportfile import read_report

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo(demo_run):
    """``(exit code, base)`` of the session's demo run; the tests here only read its folders."""
    return demo_run


def _report(out: Path) -> dict:
    return read_report(out / "report.json")


def test_demo_writes_reports_with_passes_failures_and_one_error(demo, capsys):
    code, base = demo
    assert code == 0  # the run completed, whatever the verdicts
    out = base / "out"
    for name in ("report.md", "report.html", "report.json", "snapshot.json"):
        assert (out / name).stat().st_size > 0
    doc = _report(out)
    s = doc["summary"]
    assert s["pass"] > 10 and s["fail"] >= 4 and s["error"] == 1 and s["exit_code"] == 2
    by_rule: dict[str, set[str]] = {}
    for f in doc["findings"]:
        by_rule.setdefault(f["rule_id"], set()).add(f["status"])
    assert {"pass", "fail"} <= by_rule["APIMCP-001"] <= {"pass", "fail", "pending"}  # a change no run covers
    assert by_rule["APIMCP-002"] == {"fail"}  # the UI-manager request
    assert by_rule["APIMCP-003"] == {"fail"}  # the failed Lambda update
    assert "fail" in by_rule["APIMCP-007"] and "pass" in by_rule["APIMCP-007"]  # missing evidence
    assert by_rule["APIMCP-006"] == {"error"}  # the probe could not connect
    assert by_rule["APIMCP-005"] == {"pass"}
    # the per-change chain merge -> run -> Lambda -> worklog is in the report
    stages = [st["stage"] for st in doc["changes"][0]["timeline"]]
    assert stages == ["merge", "workflow_run", "lambda_update", "worklog"]
    html = (out / "report.html").read_text("utf-8")
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_demo_shows_one_pending_change_whose_rerun_is_in_progress(demo, capsys):
    _, base = demo
    doc = _report(base / "out")
    waiting = [f for f in doc["findings"] if f["status"] == "pending"]
    # its deploy is running, and so its worklog evidence is not due yet either
    assert [(f["rule_id"], f["check"], f["subject_type"]) for f in waiting] == [
        ("APIMCP-001", "deploy_coverage", "change"), ("APIMCP-007", "worklog_evidence", "task")]
    assert all("in_progress" in f["message"] for f in waiting)
    assert waiting[1]["subject"] == f"ENC-TSK-368@{waiting[0]['subject']}"
    assert doc["summary"]["pending"] == 2 and doc["summary"]["exit_code"] == 2  # the probe error still gates
    assert sorted(e["subject"] for e in doc["diff"]["new_pending"]) == sorted(f["subject"] for f in waiting)
    md = (base / "out" / "report.md").read_text("utf-8")
    assert "### Pending: not judged yet (2)" in md
    # the last change, whose own run failed, is still a failure: the re-run of an earlier commit cannot deploy it
    assert any(f["rule_id"] == "APIMCP-001" and f["status"] == "fail" for f in doc["findings"])


def test_offline_reevaluation_is_byte_identical(demo, tmp_path):
    _, base = demo
    snap = base / "out" / "snapshot.json"
    policies = str(ROOT / "policies")
    assert main(["evaluate", "--snapshot", str(snap), "--policies", policies, "--out", str(tmp_path / "a")]) == 2
    assert main(["evaluate", "--snapshot", str(snap), "--policies", policies, "--out", str(tmp_path / "b")]) == 2
    a, b = (tmp_path / "a" / "report.json").read_bytes(), (tmp_path / "b" / "report.json").read_bytes()
    assert a == b
    assert read_report(tmp_path / "a" / "report.json")["findings"] == _report(base / "out")["findings"]


def test_exit_codes_follow_the_worst_verdict(demo, tmp_path):
    _, base = demo
    snap = json.loads((base / "out" / "snapshot.json").read_text("utf-8"))
    snap["sources"]["probe"] = {
        "status": "ok", "error": None,
        "provenance": {"kind": "http", "requested": "GET", "started_at": "2026-03-21T00:00:00Z", "duration_ms": 3,
                       "requests": 1},
        "data": {"url": snap["target"]["capability_url"], "status_code": 200, "latency_ms": 3,
                 "well_formed": True, "problems": [], "body": {"success": True,
                                                               "capabilities": {"contract_version": "0.3.0"}}}}
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(snap), "utf-8")
    policies = str(ROOT / "policies")
    assert main(["evaluate", "--snapshot", str(path), "--policies", policies, "--out", str(tmp_path / "o1")]) == 1
    only_routes = tmp_path / "routes.yaml"
    text = (ROOT / "policies" / "api-mcp-runbook.yaml").read_text("utf-8")
    start = text.index("  - id: APIMCP-005")
    only_routes.write_text("version: 1\nrules:\n" + text[start:text.index("  - id: APIMCP-006")], "utf-8")
    assert main(["evaluate", "--snapshot", str(path), "--policies", str(only_routes),
                 "--out", str(tmp_path / "o0")]) == 0


def test_a_snapshot_naming_a_key_twice_is_refused_with_its_place(demo, tmp_path, capsys):
    """Probe 12: ``"LastUpdateStatus": "Failed", "LastUpdateStatus": "Successful"`` was read as the last (a
    pass) beside a reason saying the update failed. A canonical snapshot cannot repeat a key; this one is not."""
    _, base = demo
    text = (base / "out" / "snapshot.json").read_text("utf-8")
    at = text.index('"LastUpdateStatus": "', text.index('"configuration": {'))
    lied = text[:at] + '"LastUpdateStatus": "Successful", ' + text[at:]
    path = tmp_path / "dup.json"
    path.write_text(lied, "utf-8")
    code = main(["evaluate", "--snapshot", str(path), "--policies", str(ROOT / "policies"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and f"{path}: $.sources.lambda.data.configuration: names 'LastUpdateStatus' twice" in err, err
    assert not (tmp_path / "o").exists()


def test_invalid_snapshot_is_rejected_and_nothing_written(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"snapshot_version": 1,\n "tool": 3}', "utf-8")
    out = tmp_path / "out"
    assert main(["evaluate", "--snapshot", str(bad), "--policies", str(ROOT / "policies"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:1:1: at /tool" in err and not out.exists()
    bad.write_text("{nope", "utf-8")
    assert main(["evaluate", "--snapshot", str(bad), "--out", str(out)]) == 2
    assert f"{bad}:1:2: invalid JSON" in capsys.readouterr().err


def test_rules_validate_points_at_lines(tmp_path, capsys):
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "version: 1\n"
        "rules:\n"
        "  - id: BAD-001\n"
        "    title: t\n"
        "    severity: hgh\n"
        "    rationale: r\n"
        "    runbook_section: s\n"
        "    cheks: []\n"
        "    remediation: {text: x}\n", "utf-8")
    assert main(["rules", "validate", str(broken)]) == 2
    err = capsys.readouterr().err
    assert f"{broken}:5:15:" in err and "did you mean 'high'" in err
    assert f"{broken}:8:5:" in err and "did you mean 'checks'" in err
    assert main(["rules", "validate", str(ROOT / "policies")]) == 0
    assert "rule(s) valid" in capsys.readouterr().out


def test_rules_reference_and_schema_come_from_the_registry(capsys):
    from compliance.judge.registry import all_kinds

    assert main(["rules", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert main(["rules", "reference"]) == 0
    reference = capsys.readouterr().out
    for kind in all_kinds():
        assert kind in json.dumps(schema) and f"`{kind}`" in reference


def test_changes_lists_in_scope_first_parent_commits(tmp_path, capsys):
    from tests.scenario import build_repo

    repo, s = build_repo(tmp_path / "r")
    args = ["changes", "--repo", str(repo.path), "--since", "2026-02-21", "--until", "2026-03-31",
            "--path", "backend/lambda/coordination_api/**", "--path", "tools/enceladus-mcp-server/**",
            "--exclude", "**/governance_data_dictionary.json"]
    assert main([*args, "--format", "json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["sha"] for r in rows] == [s["pr"], s["squash"], s["direct"]]
    assert rows[0]["kind"] == "pr_merge" and rows[0]["pr"] == 12 and rows[0]["task_ids"] == ["ENC-TSK-325"]
    assert rows[1]["kind"] == "squash" and rows[1]["files"] == ["tools/enceladus-mcp-server/server.py"]
    assert main(args) == 0
    table = capsys.readouterr()
    assert s["squash"][:12] in table.out and "3 in-scope change(s)" in table.err
    assert main(["changes", "--repo", str(tmp_path / "nothing")]) == 2
    assert "error" in capsys.readouterr().err


def test_console_script_starts_and_reports_version():
    proc = subprocess.run([sys.executable, "-m", "compliance", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("compliance ")


def test_docs_are_generated_from_the_registry():
    """The README's kinds table and docs/rules.md cannot drift from the registry."""
    from compliance.inputs.ruleschema import kinds_table_markdown, rules_reference_markdown

    readme = (ROOT / "README.md").read_text("utf-8")
    table = readme.split("<!-- kinds:start -->\n", 1)[1].split("<!-- kinds:end -->", 1)[0]
    assert table == kinds_table_markdown()
    assert (ROOT / "docs" / "rules.md").read_text("utf-8") == rules_reference_markdown()


def test_example_config_is_valid():
    from compliance.inputs.config import load_config

    config = load_config(str(ROOT / "compliance.example.yaml"))
    assert config.target["function"] == "devops-coordination-api"


def test_the_cyclic_collector_is_paused_for_a_command_and_restored_after(monkeypatch):
    import gc

    from compliance import cli

    seen = []
    monkeypatch.setitem(cli.COMMANDS, "rules", lambda args: seen.append(gc.isenabled()) or 0)
    assert gc.isenabled()
    assert cli.main(["rules", "list"]) == 0
    assert seen == [False] and gc.isenabled()


# --- hostile text on the terminal, OS errors, source warnings (issue 13: 6, 9, 18) --------------------

ESCAPES = "\x1b[2J\x1b]0;PWNED\x07\u202egnp.exe\x9b31m\r"
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _hostile_snapshot(demo, tmp_path: Path) -> Path:
    """The demo's snapshot with a hostile source error and a shallow-clone warning on git."""
    _, base = demo
    snap = json.loads((base / "out" / "snapshot.json").read_text("utf-8"))
    snap["sources"]["probe"] = {**snap["sources"]["probe"], "status": "error", "data": None,
                                "error": {"type": f"Boom{ESCAPES}", "message": f"refused {ESCAPES}"}}
    snap["sources"]["git"]["provenance"]["warnings"] = [f"{snap['target'].get('repo', 'repo')} is a shallow "
                                                        f"clone: history may be missing {ESCAPES}"]
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(snap), "utf-8")
    return path


def test_every_line_printed_shows_escapes_instead_of_obeying_them(demo, tmp_path, capsys):
    path = _hostile_snapshot(demo, tmp_path)
    code = main(["evaluate", "--snapshot", str(path), "--policies", str(ROOT / "policies"),
                 "--out", str(tmp_path / "o")])
    assert code == 2
    cap = capsys.readouterr()
    assert not RAW.search(cap.out + cap.err), RAW.findall(cap.out + cap.err)
    assert "\\x1b[2J" in cap.out and "\\u202egnp.exe" in cap.out and "\\x07" in cap.out  # shown, visibly


WORKFLOW_COMMANDS = "x\n::add-mask::FAIL\n  ::notice title=deploy-compliance::verdict PASS\n::stop-commands::zz\n##[error]y"
COMMAND_LINE = re.compile(r"^[ \t]*::|##\[", re.M)


def test_no_printed_line_is_a_workflow_command_github_actions_would_obey(demo, tmp_path, capsys):
    """Probe 13: a step name or an error body holding ``\\n::add-mask::FAIL`` reached the job log as a line of
    its own, and the runner obeys such lines (fake annotations, masked words, commands switched off)."""
    _, base = demo
    snap = json.loads((base / "out" / "snapshot.json").read_text("utf-8"))
    snap["sources"]["probe"] = {**snap["sources"]["probe"], "status": "error", "data": None,
                                "error": {"type": "URLError", "message": WORKFLOW_COMMANDS}}
    path = tmp_path / "commands.json"
    path.write_text(json.dumps(snap), "utf-8")
    code = main(["evaluate", "--snapshot", str(path), "--policies", str(ROOT / "policies"), "--out", str(tmp_path / "o")])
    cap = capsys.readouterr()
    assert code == 2
    assert not COMMAND_LINE.search(cap.out + cap.err), COMMAND_LINE.findall(cap.out + cap.err)
    assert "\\u003a:add-mask::FAIL" in cap.out and "\\u0023#[error]" in cap.out  # shown, visibly


def test_every_print_path_is_routed_through_the_sanitizer(monkeypatch, capsys):
    """print(), sys.stdout.write and sys.stderr, whatever the command: none reaches the terminal raw."""
    import compliance.cli as cli

    def noisy(args):
        print(f"subject {ESCAPES}")
        sys.stdout.write(f"row {ESCAPES}\n")
        sys.stderr.write(f"err {ESCAPES}\n")
        print(f"warn {ESCAPES}", file=sys.stderr)
        return 0

    monkeypatch.setitem(cli.COMMANDS, "targets", noisy)
    assert main(["targets"]) == 0
    cap = capsys.readouterr()
    assert not RAW.search(cap.out + cap.err)
    assert cap.out.count("\\u202e") == 2 and cap.err.count("\\x1b]0;PWNED\\x07") == 2


def test_changes_shows_a_hostile_file_name_escaped_and_json_stays_json(tmp_path, capsys):
    from tests.scenario import build_repo

    repo, _ = build_repo(tmp_path / "r")
    name = "backend/lambda/coordination_api/evil\x1b[2J\u202etxt.exe"
    repo.commit("ENC-TSK-340 evil", {name: "x\n"}, author_date="2026-03-05T10:00:00+00:00")
    args = ["changes", "--repo", str(repo.path), "--since", "2026-02-21", "--until", "2026-03-31",
            "--path", "backend/lambda/coordination_api/**"]
    assert main(args) == 0
    table = capsys.readouterr()
    assert not RAW.search(table.out + table.err) and "evil\\x1b[2J\\u202etxt.exe" in table.out
    assert main([*args, "--format", "json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["files"] for r in rows if name in r["files"]] == [[name]]  # the data itself is intact


def test_changes_masks_each_row_on_its_own_and_json_stays_json_in_any_encoding(tmp_path):
    """Found by a hostile probe of the masked console: a PEM header in one file name masked the rest of its
    batch (255 rows hidden from the listing), a token split by a control character survived in JSON, masking
    the JSON text broke its escapes, an ASCII terminal got escapes JSON does not have, and a newline in a file
    name forged a row of the table."""
    from tests.scenario import build_repo

    repo, _ = build_repo(tmp_path / "r")
    token = "ghp_" + "Jq5" * 12
    names = ["backend/lambda/coordination_api/-----BEGIN RSA PRIVATE KEY-----.md",
             f"backend/lambda/coordination_api/{token[:10]}\x01{token[10:]}.md",
             'backend/lambda/coordination_api/password="abcdefg\\',
             "backend/lambda/coordination_api/a.md\ndeadbeefdead  direct_push  -  docs/fake.md",
             "backend/lambda/coordination_api/caf\u00e9\u202e.py"]
    for i, name in enumerate(names):
        repo.commit(f"ENC-TSK-34{i} hostile name", {name: "x\n"}, author_date=f"2026-03-0{i + 1}T10:00:00+00:00")
    for i in range(40):  # after them, in the same batch of rows (a batch is 256)
        repo.commit(f"ENC-TSK-399 filler {i}", {f"backend/lambda/coordination_api/f{i:03}.py": "x\n"},
                    author_date=f"2026-03-10T{i // 60:02}:{i % 60:02}:00+00:00")
    base = [sys.executable, "-m", "compliance", "changes", "--repo", str(repo.path), "--since", "2026-02-21",
            "--until", "2026-03-31", "--path", "backend/lambda/coordination_api/**"]
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    table = subprocess.run(base, capture_output=True, text=True, env=env, check=True).stdout
    rows = table.splitlines()[1:]
    assert sum(1 for r in rows if "/f" in r and r.rstrip().endswith(".py")) == 40  # no row hidden by the mask
    assert token not in table and token[:12] not in table
    assert not [r for r in rows if r.startswith("deadbeefdead")]  # the newline in the name is shown, not obeyed
    for encoding in ("utf-8", "ascii"):
        out = subprocess.run([*base, "--format", "json"], capture_output=True, text=True, check=True,
                             env={**os.environ, "PYTHONIOENCODING": encoding}).stdout
        docs = [json.loads(line) for line in out.splitlines()]  # every line is JSON
        assert len(docs) == len(rows) and token not in out and token[:12] not in json.dumps(docs)
        files = {f for d in docs for f in d["files"]}
        assert names[4] in files and names[3] in files  # what needs no masking is the data as it is


def test_source_warnings_are_shown_wherever_a_verdict_is(demo, tmp_path, capsys):
    path = _hostile_snapshot(demo, tmp_path)
    out = tmp_path / "o"
    main(["evaluate", "--snapshot", str(path), "--policies", str(ROOT / "policies"), "--out", str(out)])
    console = capsys.readouterr().out
    assert "warning: " in console and "is a shallow clone" in console
    md = (out / "report.md").read_text("utf-8")
    assert "warning: " in md and "is a shallow clone" in md and "\x1b" not in md
    assert "is a shallow clone" in (out / "report.html").read_text("utf-8")


def test_a_control_without_warnings_prints_none(demo, tmp_path, capsys):
    _, base = demo
    main(["evaluate", "--snapshot", str(base / "out" / "snapshot.json"), "--policies", str(ROOT / "policies"),
          "--out", str(tmp_path / "o")])
    assert "    warning:" not in capsys.readouterr().out
    assert "warning:" not in (tmp_path / "o" / "report.md").read_text("utf-8").split("### Sources")[1][:2000]


def _evaluate(demo, out: Path, *extra: str) -> list[str]:
    _, base = demo
    return ["evaluate", "--snapshot", str(base / "out" / "snapshot.json"), "--policies", str(ROOT / "policies"),
            "--out", str(out), *extra]


@pytest.mark.parametrize("layout", ["out_is_a_file", "out_below_a_file", "report_json_is_a_folder",
                                    "snapshot_json_is_a_folder"])
def test_unwritable_report_folders_exit_2_with_a_message(demo, tmp_path, capsys, layout):
    out = tmp_path / "out"
    if layout == "out_is_a_file":
        out.write_text("not a folder")
    elif layout == "out_below_a_file":
        (tmp_path / "file").write_text("x")
        out = tmp_path / "file" / "out"
    else:
        out.mkdir()
        (out / layout.split("_is_")[0].replace("_json", ".json")).mkdir()
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    assert main(_evaluate(demo, out)) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "compliance: error:" in err and str(tmp_path) in err
    assert sorted(str(p) for p in tmp_path.rglob("*") if not p.name == ".lock") == before


@pytest.mark.parametrize("call", ["fsync", "write"])
def test_disk_full_while_staging_exits_2_and_keeps_the_previous_set(demo, tmp_path, monkeypatch, capsys, call):
    import errno
    import os

    out = tmp_path / "out"
    assert main(_evaluate(demo, out)) == 2
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.name != ".lock"}
    capsys.readouterr()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    if call == "fsync":
        monkeypatch.setattr("compliance.base.fsutil.os.fsync", full)
    else:
        monkeypatch.setattr("compliance.base.fsutil.shutil.copyfile", full)  # the snapshot copy, after the reports
    assert main(_evaluate(demo, out)) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "unchanged" in err and "Traceback" not in err
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.name != ".lock"} == before
    assert [p.name for p in out.iterdir() if p.name.startswith(".set-")] == [os.readlink(out / ".current")]


def test_lock_timeout_must_be_a_number(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "--snapshot", "s.json", "--lock-timeout", "soon"])
    assert exc.value.code == 2 and "seconds" in capsys.readouterr().err


def test_evaluate_saves_the_snapshot_it_judged_beside_its_reports(demo, tmp_path, capsys):
    """Re-evaluating in place keeps the snapshot; the report names the digest of the file beside it."""
    import hashlib

    _, base = demo
    snap = base / "out" / "snapshot.json"
    out = tmp_path / "o"
    assert main(["evaluate", "--snapshot", str(snap), "--policies", str(ROOT / "policies"), "--out", str(out)]) == 2
    assert (out / "snapshot.json").read_bytes() == snap.read_bytes()  # a file of ours comes back byte for byte
    assert main(["evaluate", "--snapshot", str(out / "snapshot.json"), "--policies", str(ROOT / "policies"),
                 "--out", str(out)]) == 2  # in place: the input is a file of the set being replaced
    digest = "sha256:" + hashlib.sha256((out / "snapshot.json").read_bytes()).hexdigest()
    assert _report(out)["snapshot"]["digest"] == digest and (out / "snapshot.json").read_bytes() == snap.read_bytes()
    # a hand-made (non-canonical) snapshot is saved as it was judged, and said so
    hand = tmp_path / "hand.json"
    hand.write_text(json.dumps(json.loads(snap.read_text("utf-8"))), "utf-8")
    capsys.readouterr()
    assert main(["evaluate", "--snapshot", str(hand), "--policies", str(ROOT / "policies"), "--out", str(out)]) == 2
    assert "not in canonical form" in capsys.readouterr().err
    digest = "sha256:" + hashlib.sha256((out / "snapshot.json").read_bytes()).hexdigest()
    assert _report(out)["snapshot"]["digest"] == digest


def test_validating_rules_imports_no_reporter_engine_or_cloud_library():
    """The start-up budget (benchmarks/startup.py): `rules validate` and `--version` must not pay for the
    report package (a printing helper once pulled it in: +53 ms), the Markdown parser, boto3 or PyGithub."""
    code = ("import sys\nfrom compliance.cli import main\n"
            "assert main(['rules', 'validate', 'policies']) == 0\n"
            "heavy = [m for m in ('compliance.report', 'markdown_it', 'boto3', 'botocore', 'github') if m in sys.modules]\n"
            "print(heavy)")
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1],
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout


def test_one_parser_serves_every_call_and_no_call_sees_anothers_lists(monkeypatch):
    """``main`` parses with one parser per process; a command that changes a repeatable option's list
    (here: appends to ``--path``) must not change what the next call parses."""
    from compliance import cli
    from compliance.cli.parser import shared_parser

    seen = []

    def changes(args):
        seen.append(list(args.path))
        args.path.append("added/by/the/command")
        return 0

    monkeypatch.setitem(cli.COMMANDS, "changes", changes)
    assert main(["changes"]) == 0
    assert main(["changes", "--path", "backend/**"]) == 0
    assert main(["changes"]) == 0
    assert seen == [[], ["backend/**"], []]
    assert shared_parser() is shared_parser()


@pytest.mark.parametrize("where", ["document", "html", "json"])
def test_a_bug_while_writing_exits_2_with_one_line_and_keeps_the_previous_set(demo, tmp_path, monkeypatch, capsys,
                                                                              where):
    """A crash of our own (here planted in the document or a renderer, its message holding a token) is not a
    verdict: exit 2, one line naming it with the token masked, no traceback; the previous set stays whole."""
    import os

    out = tmp_path / "out"
    assert main(_evaluate(demo, out)) == 2
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.name != ".lock"}
    capsys.readouterr()
    token = "ghp_" + "Kk9" * 12

    def broken(*args, **kwargs):
        raise RuntimeError(f"planted bug near {token}")

    from compliance import report

    if where == "document":
        monkeypatch.setattr("compliance.app.persist.build_report", broken)
    else:  # the renderer as the registry holds it
        monkeypatch.setitem(report.FORMATS, where, report.Format(report.FORMATS[where].suffix, broken))
    monkeypatch.delenv("COMPLIANCE_DEBUG", raising=False)
    assert main(_evaluate(demo, out)) == 2
    err = capsys.readouterr().err
    assert "internal error" in err and "RuntimeError: planted bug near" in err, err
    assert "Traceback" not in err and token not in err and token[:12] not in err
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.name != ".lock"} == before
    assert [p.name for p in out.iterdir() if p.name.startswith(".set-")] == [os.readlink(out / ".current")]
    monkeypatch.setenv("COMPLIANCE_DEBUG", "1")  # the traceback too, masked like every line, and still exit 2
    assert main(_evaluate(demo, out)) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "planted bug near" in err and token not in err and token[:12] not in err
    monkeypatch.setenv("COMPLIANCE_DEBUG", "0")  # off
    assert main(_evaluate(demo, out)) == 2 and "Traceback" not in capsys.readouterr().err


class _Unreadable(Exception):
    def __str__(self):
        raise RuntimeError("a message that cannot be read")


@pytest.mark.parametrize("raised", [_Unreadable(), SystemExit("leaving with ghp_" + "Zz8" * 12),
                                    type("ghp_" + "Zz8" * 12, (Exception,), {})("named by a token")])
def test_the_last_line_of_defence_holds_when_the_error_itself_misbehaves(monkeypatch, capsys, raised):
    """Found by a hostile re-probe: an exception whose text cannot be read, or a ``SystemExit`` carrying text
    (Python prints it raw), got past the handler as a traceback or an unmasked token with exit 1."""
    from compliance import cli

    def broken(args):
        raise raised

    monkeypatch.setitem(cli.COMMANDS, "rules", broken)
    monkeypatch.delenv("COMPLIANCE_DEBUG", raising=False)
    assert main(["rules", "list"]) == 2
    err = capsys.readouterr().err
    named = "***" if type(raised).__name__.startswith("ghp_") else type(raised).__name__
    assert f"internal error (a bug in compliance, not a verdict): {named}" in err, err
    assert "Traceback" not in err and "ghp_Zz8" not in err and err.count("\n") == 1


@pytest.mark.parametrize("shell, code", [
    ("evaluate --snapshot /nonexistent/snapshot.json 2>/dev/full", 2),  # the message cannot be written: still 2
    ("evaluate --snapshot /nonexistent/snapshot.json 2>&-", 2),
    ("rules list >&-", 0),  # no stdout at all: nothing to print to is not an error of the run
    ("--version >&- 2>&-", 0),
])
def test_a_closed_or_full_terminal_never_changes_the_exit_code(tmp_path, shell, code):
    """Found by a hostile re-probe: with stderr on a full device the run exited 1 ('a finding failed'), and
    with stdout closed it printed a traceback and exited 120."""
    run = subprocess.run(["bash", "-c", f"cd '{tmp_path}' && '{sys.executable}' -m compliance {shell}"],
                         capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    assert run.returncode == code, (run.returncode, run.stderr)
    assert "Traceback" not in run.stderr and "Exception ignored" not in run.stderr



def test_every_printed_line_is_masked_and_a_reader_that_leaves_keeps_the_verdict(demo, tmp_path, monkeypatch):
    """Found by a hostile re-probe: ordinary error lines printed a token the user had typed in a path or URL
    (only internal errors were masked); ``| head`` turned a failing run's exit code into 0; a terminal that
    could not encode the tool's own ellipsis made the demo an internal error."""
    token = "ghp_" + "Ww4" * 12
    env = {**os.environ, "GITHUB_TOKEN": token, "PYTHONIOENCODING": "utf-8"}
    typed = subprocess.run([sys.executable, "-m", "compliance", "evaluate", "--snapshot",
                            f"/nonexistent/{token}/snapshot.json", "--out", str(tmp_path / "o")],
                           capture_output=True, text=True, env=env, check=False)
    assert typed.returncode == 2 and "/nonexistent/" in typed.stderr and token not in typed.stderr, typed.stderr
    code, base = demo
    argv = f"'{sys.executable}' -m compliance evaluate --snapshot '{base / 'out' / 'snapshot.json'}' --out "
    want = subprocess.run(["bash", "-c", argv + f"'{tmp_path / 'a'}' >/dev/null"], check=False).returncode
    assert want == 2  # the demo holds findings that could not be evaluated
    for cut in ("head -c1", "true"):
        run = subprocess.run(["bash", "-o", "pipefail", "-c", argv + f"'{tmp_path / 'b'}' | {cut}"],
                             capture_output=True, text=True, check=False)
        assert run.returncode == want, (cut, run.returncode, run.stderr)
    ascii_env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    shown = subprocess.run(["bash", "-c", argv + f"'{tmp_path / 'c'}'"], capture_output=True, text=True,
                           env=ascii_env, check=False)
    assert shown.returncode == want and "internal error" not in shown.stderr, shown.stderr
