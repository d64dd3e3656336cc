"""`compliance package` / `verify-package`: the audit package of a real report set, verified, then tampered with.

The report sets are real: `compliance demo` (reports, snapshot, waivers, a previous report to diff
against) and `compliance evaluate` of its snapshot with a copy of the rules in a temp folder. Tampered
packages are re-packed with the package's own deterministic tar writer, one member changed by one byte.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest

from compliance.app.package_format import (
    MANIFEST,
    STATEMENT,
    manifest_text,
    policy_digest,
    read_tar,
    statement,
    statement_text,
    tar_bytes,
)
from compliance.base.timeutil import parse_time
from compliance.cli import main
from compliance.inputs import builtin
from compliance.model.snapshot import canonical_json, save_snapshot
from compliance.report.expand import expand_report


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("pkg") / "demo"
    assert main(["-q", "demo", "--workdir", str(out.parent / "system"), "--out", str(out)]) == 0  # no temp dir left
    return out


@pytest.fixture(scope="module")
def package(demo_dir, tmp_path_factory):
    path = tmp_path_factory.mktemp("pkgout") / "audit.tar.gz"
    assert main(["package", str(demo_dir), "--out", str(path)]) == 0
    return path


def _members(path) -> dict[str, bytes]:
    return read_tar(path.read_bytes(), str(path))


def _mtime(members: dict[str, bytes]) -> int:
    report = json.loads(members["report/report.json"])
    return int(parse_time(report["snapshot"]["collected_at"]).timestamp())


def _repack(members: dict[str, bytes], path, mtime: int | None = None) -> str:
    path.write_bytes(tar_bytes(members, _mtime(members) if mtime is None else mtime))
    return str(path)


def _flip(data: bytes, at: int | None = None) -> bytes:
    """One byte changed, staying printable ASCII (so the change is in the content, not the encoding)."""
    i = len(data) // 2 if at is None else at
    while not 0x30 <= data[i] <= 0x7a:
        i += 1
    return data[:i] + bytes([data[i] ^ 0x01 if data[i] ^ 0x01 != 0x5c else data[i] ^ 0x02]) + data[i + 1:]


def _verify(path, capsys) -> tuple[int, str]:
    code = main(["verify-package", str(path)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def _resign(members: dict[str, bytes]) -> dict[str, bytes]:
    """Recompute the manifest and the statement over the members as they now are (what a forger would do)."""
    content = {n: b for n, b in members.items() if n not in (MANIFEST, STATEMENT)}
    recorded = {e["name"]: e["recorded_as"] for e in json.loads(members[MANIFEST])["members"] if "recorded_as" in e}
    manifest = manifest_text(content, recorded).encode()
    report, snapshot = json.loads(content["report/report.json"]), json.loads(content["snapshot.json"])
    doc = statement(report, snapshot, hashlib.sha256(manifest).hexdigest(), list(report["snapshot"]["rules"].values()))
    return {**content, MANIFEST: manifest, STATEMENT: statement_text(doc).encode()}


# --- a package as written -----------------------------------------------------------------------


def test_the_demo_package_verifies_and_is_byte_identical_when_made_again(demo_dir, package, tmp_path, capsys):
    code, _ = _verify(package, capsys)
    assert code == 0
    again = tmp_path / "again.tar.gz"
    assert main(["package", str(demo_dir), "--out", str(again)]) == 0
    assert again.read_bytes() == package.read_bytes()
    members = _members(package)
    assert sorted(members) == ["manifest.json", "previous/report.json", "report/report.html", "report/report.json",
                               "report/report.junit.xml", "report/report.md", "report/report.sarif",
                               "rules/api-mcp-runbook.yaml", "rules/team-guards.yaml", "snapshot.json",
                               "statement.intoto.json", "waivers.yaml"]
    assert members["report/report.json"] == (demo_dir / "report.json").read_bytes()
    assert members["snapshot.json"] == (demo_dir / "snapshot.json").read_bytes()
    # the demo made the same package itself, beside its report set
    assert (demo_dir / "audit-package.tar.gz").read_bytes() == package.read_bytes()


def test_the_tar_is_deterministic_in_every_header(package):
    with tarfile.open(package, "r:gz") as tar:
        infos = tar.getmembers()
    members = _members(package)
    assert [i.name for i in infos] == sorted(i.name for i in infos)
    assert {(i.mtime, i.uid, i.gid, i.uname, i.gname, i.mode) for i in infos} == {(_mtime(members), 0, 0, "", "", 0o644)}
    assert package.read_bytes()[4:8] == b"\0\0\0\0"  # gzip header: no time


def test_the_manifest_lists_every_member_with_its_sha256(package):
    members = _members(package)
    manifest = json.loads(members[MANIFEST])
    listed = {e["name"]: e for e in manifest["members"]}
    assert set(listed) == set(members) - {MANIFEST, STATEMENT}
    for name, entry in listed.items():
        assert entry["sha256"] == hashlib.sha256(members[name]).hexdigest() and entry["bytes"] == len(members[name])
    report = json.loads(members["report/report.json"])
    assert {listed[n]["recorded_as"] for n in listed if n.startswith("rules/")} == set(report["snapshot"]["rules"])
    assert listed["waivers.yaml"]["recorded_as"] == report["waivers"]["file"]


def test_the_statement_is_an_in_toto_v1_slsa_vsa_of_the_governed_commits(package):
    members = _members(package)
    stmt = json.loads(members[STATEMENT])
    report = expand_report(json.loads(members["report/report.json"]))
    snapshot = json.loads(members["snapshot.json"])
    assert stmt["_type"] == "https://in-toto.io/Statement/v1"
    assert stmt["predicateType"] == "https://slsa.dev/verification_summary/v1"
    pred = stmt["predicate"]
    assert pred["verifier"] == {"id": pred["verifier"]["id"], "version": {"compliance": report["tool"]["version"]}}
    assert pred["verifier"]["id"].startswith("https://")
    assert parse_time(pred["timeVerified"]) == parse_time(snapshot["collected_at"])
    assert pred["policy"]["digest"] == {"sha256": policy_digest(list(report["snapshot"]["rules"].values()))}
    rule_hexes = [hashlib.sha256(b).hexdigest() for n, b in members.items() if n.startswith("rules/")]
    assert pred["policy"]["digest"]["sha256"] == policy_digest(rule_hexes)
    assert pred["policy"]["uri"] == "builtin:api-mcp-runbook"
    assert pred["inputAttestations"] == [{"uri": "snapshot.json",
                                          "digest": {"sha256": hashlib.sha256(members["snapshot.json"]).hexdigest()}}]
    assert report["summary"]["verdict"] == "error"
    assert pred["verificationResult"] == "FAILED" and pred["verifiedLevels"] == ["FAILED"]
    commits = [s["digest"]["gitCommit"] for s in stmt["subject"]]
    assert all(len(c) == 40 for c in commits) and len(commits) == len(set(commits))
    assert {c["sha"] for c in report["changes"]} <= set(commits)  # every judged change is a subject
    assert pred["resourceUri"] == "git+https://github.com/NX-2021-L/enceladus@refs/heads/main"


def test_a_passing_report_is_passed_and_nothing_else_is():
    base = {"tool": {"version": "1"}, "snapshot": {"digest": "sha256:" + "0" * 64, "collected_at": "2026-03-01T00:00:00Z",
                                                   "window": {"branch": "main"}, "target": {}, "rules": {}}}
    snapshot = {"sources": {}, "window": {"since": "2026-02-01T00:00:00Z", "until": "2026-03-01T00:00:00Z"}}
    for verdict, result in (("pass", "PASSED"), ("pending", "FAILED"), ("fail", "FAILED"), ("error", "FAILED")):
        doc = statement({**base, "summary": {"verdict": verdict}}, snapshot, "1" * 64, [])
        assert doc["predicate"]["verificationResult"] == result
        assert doc["predicate"]["verifiedLevels"] == (["FAILED"] if result == "FAILED" else ["DEPLOY_COMPLIANCE_POLICY_PASSED"])
        # no git data: the snapshot is the subject, never an empty subject list
        assert doc["subject"] == [{"name": "snapshot.json", "digest": {"sha256": "0" * 64}}]


# --- tampered with ------------------------------------------------------------------------------


@pytest.mark.parametrize("member", ["report/report.json", "report/report.md", "report/report.html", "snapshot.json",
                                    "rules/api-mcp-runbook.yaml", "waivers.yaml", "previous/report.json",
                                    MANIFEST, STATEMENT])
def test_one_byte_changed_in_any_member_is_refused_naming_it(package, tmp_path, capsys, member):
    members = _members(package)
    mtime = _mtime(members)  # read before the flip, which may leave report.json unparseable
    members[member] = _flip(members[member])
    code, err = _verify(_repack(members, tmp_path / "t.tar.gz", mtime), capsys)
    assert code == 3, err
    assert member in err


def test_a_resigned_package_whose_snapshot_was_changed_does_not_reproduce(package, tmp_path, capsys):
    """Lying data: the Lambda's failed update made to read Successful, and every digest recomputed to
    match (the report's snapshot digest, the manifest, the statement): only re-judging catches it."""
    members = _members(package)
    text = members["snapshot.json"].decode()
    assert '"LastUpdateStatus": "Failed"' in text
    members["snapshot.json"] = text.replace('"LastUpdateStatus": "Failed"', '"LastUpdateStatus": "Successful"').encode()
    report = members["report/report.json"].decode()
    old = json.loads(report)["snapshot"]["digest"]
    members["report/report.json"] = report.replace(
        old, "sha256:" + hashlib.sha256(members["snapshot.json"]).hexdigest()).encode()
    code, err = _verify(_repack(_resign(members), tmp_path / "resigned.tar.gz"), capsys)
    assert code == 4, err
    assert "report/report.json" in err and "does not follow from this evidence" in err


def test_a_resigned_report_edited_to_pass_does_not_reproduce(package, tmp_path, capsys):
    members = _members(package)
    report = json.loads(members["report/report.json"])
    report["summary"]["verdict"], report["summary"]["exit_code"] = "pass", 0
    members["report/report.json"] = canonical_json(report).encode()
    resigned = _resign(members)
    assert json.loads(resigned[STATEMENT])["predicate"]["verificationResult"] == "PASSED"
    code, err = _verify(_repack(resigned, tmp_path / "pass.tar.gz"), capsys)
    assert code == 4 and "report/report.json" in err


def test_rules_swapped_for_others_with_a_resigned_manifest_are_refused(package, tmp_path, capsys):
    members = _members(package)
    members["rules/team-guards.yaml"] = members["rules/team-guards.yaml"].replace(b"severity: medium", b"severity: high")
    code, err = _verify(_repack(_resign(members), tmp_path / "rules.tar.gz"), capsys)
    assert code == 3 and "team-guards.yaml" in err


def _raw_tar(path, entries) -> str:
    """A tar.gz holding ``entries`` (TarInfo, bytes|None) as given: what a hostile package may hold."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    path.write_bytes(raw.getvalue())
    return str(path)


def _info(name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.type, info.linkname = (len(data) if kind == tarfile.REGTYPE else 0), kind, link
    return info


@pytest.mark.parametrize("hostile, words", [
    ("../escape.json", "unsafe path"),
    ("/etc/passwd", "unsafe path"),
    ("report/../../x", "unsafe path"),
    ("link", "is a link"),
    ("dup", "appears twice"),
    ("dir", "a directory"),
])
def test_hostile_tar_members_are_refused(package, tmp_path, capsys, hostile, words):
    members = _members(package)
    entries = [(_info(n, b), b) for n, b in sorted(members.items())]
    if hostile == "link":
        entries.append((_info("rules/evil.yaml", kind=tarfile.SYMTYPE, link="/etc/passwd"), None))
    elif hostile == "dup":
        entries.append((_info("snapshot.json", members["snapshot.json"]), members["snapshot.json"]))
    elif hostile == "dir":
        entries.append((_info("rules", kind=tarfile.DIRTYPE), None))
    else:
        entries.append((_info(hostile, b"x"), b"x"))
    code, err = _verify(_raw_tar(tmp_path / "hostile.tar.gz", entries), capsys)
    assert code == 2 and words in err, err
    assert not (tmp_path / "escape.json").exists()


def test_an_extra_or_a_missing_member_is_refused(package, tmp_path, capsys):
    members = _members(package)
    code, err = _verify(_repack({**members, "rules/extra.yaml": b"version: 1\nrules: []\n"}, tmp_path / "x.tgz"), capsys)
    assert code == 3 and "rules/extra.yaml" in err and "does not list" in err
    fewer = {n: b for n, b in members.items() if n != "waivers.yaml"}
    code, err = _verify(_repack(fewer, tmp_path / "y.tgz"), capsys)
    assert code == 3 and "waivers.yaml" in err and "missing" in err


def test_not_a_package_exits_2_with_a_message(tmp_path, capsys):
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"\x1f\x8b not really")
    assert _verify(junk, capsys)[0] == 2
    empty = _raw_tar(tmp_path / "empty.tar.gz", [])
    code, err = _verify(empty, capsys)
    assert code == 2 and "no manifest.json" in err


# --- what can be packaged -------------------------------------------------------------------------


def _evaluated(demo_dir, tmp_path, capsys):
    """A snapshot collected with the rules in a folder of its own (its ``rules`` name those files), evaluated."""
    rules = tmp_path / "rules"
    shutil.copytree(builtin.resolve(builtin.PREFIX + "api-mcp-runbook"), rules, ignore=shutil.ignore_patterns("tests"))
    snapshot = json.loads((demo_dir / "snapshot.json").read_text("utf-8"))
    by_digest = {d: p for p, d in snapshot["rules"].items()}
    snapshot["rules"] = {str(rules / Path(p).name): d for d, p in by_digest.items()}
    save_snapshot(snapshot, tmp_path / "snapshot.json")
    shutil.copy(demo_dir / "waivers.yaml", tmp_path / "waivers.yaml")
    out = tmp_path / "eval"
    assert main(["-q", "evaluate", "--snapshot", str(tmp_path / "snapshot.json"), "--policies", str(rules),
                 "--out", str(out)]) == 2
    capsys.readouterr()
    return rules, out


def test_an_evaluated_set_with_moved_rules_needs_policies(demo_dir, tmp_path, capsys):
    rules, out = _evaluated(demo_dir, tmp_path, capsys)
    keep = tmp_path / "kept"
    shutil.copytree(rules, keep)
    guards = rules / "team-guards.yaml"
    guards.write_text(guards.read_text("utf-8").replace("severity: medium", "severity: high"), "utf-8")
    assert main(["package", str(out), "--out", str(tmp_path / "p.tar.gz")]) == 2
    err = capsys.readouterr().err
    assert "team-guards.yaml" in err and "--policies" in err and not (tmp_path / "p.tar.gz").exists()
    assert main(["package", str(out), "--out", str(tmp_path / "p.tar.gz"), "--policies", str(keep)]) == 0
    assert _verify(tmp_path / "p.tar.gz", capsys)[0] == 0
    names = sorted(_members(tmp_path / "p.tar.gz"))
    assert "previous/report.json" not in names and "waivers.yaml" in names  # evaluate: no diff, the saved waivers


def test_a_set_judged_with_other_rules_than_it_records_is_not_packaged(demo_dir, tmp_path, capsys):
    """The report records the rules of its snapshot; judged with edited ones it cannot be reproduced from
    them, so no package claims it can."""
    rules, out = _evaluated(demo_dir, tmp_path, capsys)
    other = tmp_path / "other"
    shutil.copytree(rules, other)
    guards = other / "team-guards.yaml"
    guards.write_text(guards.read_text("utf-8").replace("severity: medium", "severity: high"), "utf-8")
    assert main(["-q", "evaluate", "--snapshot", str(tmp_path / "snapshot.json"), "--policies", str(other),
                 "--out", str(out)]) == 2
    capsys.readouterr()
    assert main(["package", str(out), "--out", str(tmp_path / "o.tar.gz")]) == 2
    err = capsys.readouterr().err
    assert "does not verify" in err and "report/report.json" in err and not (tmp_path / "o.tar.gz").exists()


def test_a_merged_report_folder_is_refused(demo_dir, tmp_path, capsys):
    out = tmp_path / "merged"
    main(["merge", str(demo_dir / "report.json"), "--out", str(out), "--format", "json"])
    capsys.readouterr()
    assert main(["package", str(out), "--out", str(tmp_path / "m.tar.gz")]) == 2
    assert "merged report" in capsys.readouterr().err


def test_a_report_folder_whose_snapshot_was_edited_is_not_packaged(demo_dir, tmp_path, capsys):
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("report.json", "report.md", "snapshot.json", "waivers.yaml"):
        shutil.copy(demo_dir / name, copy / name)
    shutil.copytree(demo_dir / "previous", copy / "previous", symlinks=False)
    snap = copy / "snapshot.json"
    snap.write_bytes(_flip(snap.read_bytes()))
    assert main(["package", str(copy), "--out", str(tmp_path / "c.tar.gz")]) == 2
    assert "is not the snapshot" in capsys.readouterr().err


def test_the_scheduled_audit_keeps_a_verified_package_as_an_artifact():
    import yaml

    audit = yaml.safe_load((Path(__file__).parent.parent / ".github/workflows/compliance-audit.yml").read_text("utf-8"))
    (job,) = audit["jobs"].values()
    names = [s.get("name") for s in job["steps"]]
    make = job["steps"][names.index("Audit package")]
    keep = job["steps"][names.index("Keep the audit package")]
    assert names.index("Audit") < names.index("Audit package") < names.index("Keep the audit package")
    assert make["if"] == "always()" and keep["if"] == "always()"  # a failing verdict fails the Audit step
    assert "package reports/audit --out compliance-audit-package.tar.gz" in make["run"]
    assert "verify-package compliance-audit-package.tar.gz" in make["run"]
    assert keep["uses"].startswith("actions/upload-artifact@")
    assert keep["with"]["path"] == "compliance-audit-package.tar.gz"


def test_a_statement_edited_to_claim_passed_is_refused(package, tmp_path, capsys):
    """Lying data: the statement says PASSED for a failing report; the manifest is untouched (it does not
    cover the statement), so only rebuilding the statement from the members catches it."""
    members = _members(package)
    stmt = json.loads(members[STATEMENT])
    stmt["predicate"]["verificationResult"], stmt["predicate"]["verifiedLevels"] = "PASSED", ["SLSA_BUILD_LEVEL_3"]
    members[STATEMENT] = statement_text(stmt).encode()
    code, err = _verify(_repack(members, tmp_path / "claim.tar.gz"), capsys)
    assert code == 3 and STATEMENT in err and "verificationResult" in err and "verifiedLevels" in err


def test_a_flip_that_leaves_report_json_unparseable_is_refused_naming_it(package, tmp_path, capsys):
    """The CI failure of 2026-12-02: the middle byte of that day's report.json was a ':' and its flip made the
    JSON unreadable. verify-package must refuse such a member by digest, without a traceback."""
    members = _members(package)
    mtime = _mtime(members)
    data = members["report/report.json"]
    members["report/report.json"] = data[:data.index(b":")] + b";" + data[data.index(b":") + 1:]
    with pytest.raises(json.JSONDecodeError):
        json.loads(members["report/report.json"])
    code, err = _verify(_repack(members, tmp_path / "colon.tar.gz", mtime), capsys)
    assert code == 3, err
    assert "report/report.json" in err
    assert "Traceback" not in err


# --- the policy's label: builtin:NAME only for the rule set this installation ships -----------------------------

ONE_RULE = """version: 1
rules:
- id: APIMCP-010
  title: The canonical deploy script is real, not a tombstone
  severity: high
  rationale: a stub deploys nothing
  runbook_section: Canonical Automation (Job action)
  checks:
  - kind: deploy_script_present
    min_lines: 3
  remediation:
    text: Restore the deploy script
    command: git log --oneline -- backend/lambda/coordination_api/deploy.sh
"""


def _judged_with(demo_dir, tmp_path, capsys, rules: Path) -> Path:
    """The demo's snapshot recorded as collected with the rule files in ``rules`` and evaluated with them."""
    snapshot = json.loads((demo_dir / "snapshot.json").read_text("utf-8"))
    snapshot["rules"] = {str(p): "sha256:" + hashlib.sha256(p.read_bytes()).hexdigest()
                         for p in sorted(rules.glob("*.yaml"))}
    save_snapshot(snapshot, tmp_path / "snapshot.json")
    out = tmp_path / "eval"
    main(["-q", "evaluate", "--snapshot", str(tmp_path / "snapshot.json"), "--policies", str(rules),
          "--out", str(out), "--no-waivers"])
    capsys.readouterr()
    return out


def _policy(path: Path) -> dict:
    return json.loads(_members(path)[STATEMENT])["predicate"]["policy"]


def test_a_rule_file_in_a_folder_named_builtin_is_not_labelled_the_shipped_set(demo_dir, tmp_path, capsys):
    """The probe's package: one passing rule at .../builtin/api-mcp-runbook/ was stated as
    ``builtin:api-mcp-runbook`` and verified. The label follows the files' content, not their path."""
    rules = tmp_path / "evil" / "builtin" / "api-mcp-runbook"
    rules.mkdir(parents=True)
    (rules / "api-mcp-runbook.yaml").write_text(ONE_RULE, "utf-8")
    out = _judged_with(demo_dir, tmp_path, capsys, rules)
    assert expand_report(json.loads((out / "report.json").read_text("utf-8")))["summary"]["verdict"] == "pass"
    pkg = tmp_path / "p.tar.gz"
    assert main(["package", str(out), "--out", str(pkg)]) == 0
    capsys.readouterr()
    policy = _policy(pkg)
    assert policy["uri"] == "rules/"
    assert policy["digest"]["sha256"] == policy_digest([hashlib.sha256(ONE_RULE.encode()).hexdigest()])
    assert _verify(pkg, capsys)[0] == 0


def test_a_statement_claiming_the_builtin_set_for_other_rules_is_refused(demo_dir, tmp_path, capsys):
    rules = tmp_path / "mine"
    rules.mkdir()
    (rules / "api-mcp-runbook.yaml").write_text(ONE_RULE, "utf-8")
    pkg = tmp_path / "p.tar.gz"
    assert main(["package", str(_judged_with(demo_dir, tmp_path, capsys, rules)), "--out", str(pkg)]) == 0
    members = _members(pkg)
    stmt = json.loads(members[STATEMENT])
    stmt["predicate"]["policy"]["uri"] = "builtin:api-mcp-runbook"  # what the previous release wrote
    members[STATEMENT] = statement_text(stmt).encode()
    code, err = _verify(_repack(members, tmp_path / "claim.tar.gz"), capsys)
    assert code == 3, err
    assert "claims the policy builtin:api-mcp-runbook, but the packaged rules are not that shipped rule set" in err


def test_the_shipped_set_copied_to_a_folder_of_its_own_is_still_labelled_builtin(demo_dir, tmp_path, capsys):
    """Content, not path: the shipped files, wherever they lay (``policies/`` links to them), are the shipped set;
    one of its two files alone is not."""
    rules = tmp_path / "copied"
    shutil.copytree(builtin.resolve(builtin.PREFIX + "api-mcp-runbook"), rules, ignore=shutil.ignore_patterns("tests"))
    pkg = tmp_path / "p.tar.gz"
    assert main(["package", str(_judged_with(demo_dir, tmp_path, capsys, rules)), "--out", str(pkg)]) == 0
    assert _policy(pkg)["uri"] == "builtin:api-mcp-runbook"
    assert _verify(pkg, capsys)[0] == 0
    (rules / "team-guards.yaml").unlink()
    part = tmp_path / "part"
    part.mkdir()
    pkg2 = part / "p.tar.gz"
    assert main(["package", str(_judged_with(demo_dir, part, capsys, rules)), "--out", str(pkg2)]) == 0
    assert _policy(pkg2)["uri"] == "rules/"
