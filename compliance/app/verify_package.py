"""``compliance verify-package``: check every digest of an audit package, then re-judge its evidence offline.

The package is evidence kept for later, so nothing in it is taken on trust. In order:

1. the tar holds regular files only, at safe paths, each once, and decompresses within bounds (else
   exit 2: not a package);
2. the gzip stream ends the file and the tar is byte for byte the one its members give (nothing hidden
   in headers or past the end-of-archive, which extractors may read), the manifest's digest is the one the statement records, every member's bytes match the manifest,
   no member is missing or extra, the report names this snapshot and these rule files, and the
   statement is exactly the one these members give (else exit 3: tampered);
3. the snapshot is judged again with the packaged rules and waivers (and the previous report the
   diff was made against; one of them that does not load is exit 3, as the packager loaded them all),
   and every packaged report file must come out byte for byte (else exit 4: the digests are
   consistent, but the report does not follow from the evidence).

Exit 0 only after all three. The waiver file's path in the report is a label (the machine that ran
the audit); its content is what is checked.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from compliance import __version__
from compliance.app.deferred import with_deferred_sources
from compliance.app.package_format import (
    EXIT_NOT_REPRODUCED,
    EXIT_TAMPERED,
    MANIFEST,
    MANIFEST_FIELD,
    PREVIOUS,
    REPORT_JSON,
    REPORT_PREFIX,
    RULES_PREFIX,
    SNAPSHOT,
    STATEMENT,
    WAIVERS,
    PackageError,
    canonical_problem,
    kind_of,
    manifest_text,
    read_package,
    read_package_file,
    sha256_hex,
    statement,
    statement_text,
)
from compliance.app.persist import read_waivers
from compliance.base.errors import ComplianceError
from compliance.base.timeutil import parse_time
from compliance.inputs.builtin import is_builtin
from compliance.inputs.rules import load_rules
from compliance.judge.engine import Context, judge
from compliance.model.snapshot import load_schema, read_snapshot, schema_problems
from compliance.model.strict_json import strict_loads
from compliance.report import write_reports
from compliance.report.diff import load_previous, previous_for_target
from compliance.report.document import build_report

FORMAT_OF = {"report.json": "json", "report.md": "md", "report.html": "html", "report.sarif": "sarif",
             "report.junit.xml": "junit"}


@dataclass
class Verified:
    """What a verified package holds: its members, the report's verdict and the statement's result."""

    members: list[str]
    verdict: str
    result: str
    subjects: int
    notes: list[str] = field(default_factory=list)


def verify_package(path: str | Path) -> Verified:
    return verify_bytes(read_package_file(str(path), str(path)), str(path))


def _tampered(message: str) -> PackageError:
    return PackageError(message, EXIT_TAMPERED)


def _json(members: dict[str, bytes], name: str, where: str) -> Any:
    try:
        return strict_loads(members[name].decode("utf-8"), f"{where}:{name}", name)
    except (UnicodeDecodeError, ComplianceError) as exc:
        raise _tampered(f"{name}: not valid UTF-8 JSON ({str(exc).splitlines()[0]})") from None


def _check_manifest(members: dict[str, bytes], where: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The statement's record of the manifest, then the manifest's record of every member."""
    for name in (MANIFEST, STATEMENT):
        if name not in members:
            raise PackageError(f"{where}: not an audit package: no {name}")
    stmt = _json(members, STATEMENT, where)
    recorded = (((stmt.get("predicate") or {}).get(MANIFEST_FIELD) or {}).get("digest") or {}).get("sha256") \
        if isinstance(stmt, dict) else None
    actual = sha256_hex(members[MANIFEST])
    if recorded != actual:
        raise _tampered(f"{MANIFEST}: its SHA-256 {actual[:16]}… is not the {str(recorded)[:16]}… that {STATEMENT} "
                        "records: the manifest or the statement was altered")
    manifest = _json(members, MANIFEST, where)
    entries = manifest.get("members") if isinstance(manifest, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) and isinstance(e.get("name"), str)
                                                for e in entries):
        raise _tampered(f"{MANIFEST}: no list of members")
    listed = {e["name"]: e for e in entries}
    extra = sorted(set(members) - set(listed) - {MANIFEST, STATEMENT})
    if extra:
        raise _tampered(f"{extra[0]}: a member the manifest does not list (added to the package)")
    for name in sorted(listed):
        if name not in members:
            raise _tampered(f"{name}: listed in the manifest but missing from the package")
        if kind_of(name) is None or name in (MANIFEST, STATEMENT):
            raise _tampered(f"{MANIFEST}: lists {name!r}, which no audit package holds")
        got = sha256_hex(members[name])
        if listed[name].get("sha256") != got:
            raise _tampered(f"{name}: SHA-256 {got[:16]}… does not match the manifest's "
                            f"{str(listed[name].get('sha256'))[:16]}… (the member was altered)")
    recorded_as = {n: e["recorded_as"] for n, e in listed.items() if isinstance(e.get("recorded_as"), str)}
    content = {n: b for n, b in members.items() if n not in (MANIFEST, STATEMENT)}
    if manifest_text(content, recorded_as).encode() != members[MANIFEST]:
        raise _tampered(f"{MANIFEST}: altered (its digests match the members, but it is not the manifest they give)")
    return stmt, recorded_as


def _check_links(members: dict[str, bytes], report: dict[str, Any], recorded_as: dict[str, str]) -> None:
    """The report names this snapshot, these rule files, this waiver file and this previous report."""
    snap = report.get("snapshot") or {}
    if snap.get("digest") != "sha256:" + sha256_hex(members[SNAPSHOT]):
        raise _tampered(f"{SNAPSHOT}: not the snapshot {REPORT_JSON} was judged from "
                        f"(the report names {str(snap.get('digest'))[:23]}…)")
    rules = sorted(n for n in members if n.startswith(RULES_PREFIX))
    want = sorted((snap.get("rules") or {}).items())
    have = {recorded_as.get(n): "sha256:" + sha256_hex(members[n]) for n in rules}
    for path, digest in want:
        if have.get(path) != digest:
            raise _tampered(f"{RULES_PREFIX}: the report was judged with {path} ({digest[:23]}…), "
                            "which the package does not hold as recorded")
    if len(rules) != len(want):
        raise _tampered(f"{RULES_PREFIX}: holds rule files the report was not judged with")
    label = (report.get("waivers") or {}).get("file")
    if bool(label) != (WAIVERS in members) or (label and recorded_as.get(WAIVERS) != label):
        raise _tampered(f"{WAIVERS}: the report {'applied ' + repr(label) if label else 'applied no waivers'}, "
                        f"the package {'holds a waiver file recorded as ' + repr(recorded_as.get(WAIVERS)) if WAIVERS in members else 'holds none'}")
    diff = report.get("diff")
    if bool(diff) != (PREVIOUS in members):
        raise _tampered(f"{PREVIOUS}: the report {'diffs against' if diff else 'has no diff against'} a previous "
                        f"report, the package {'holds one' if PREVIOUS in members else 'holds none'}")


def _check_statement(members: dict[str, bytes], report: dict[str, Any], snapshot: dict[str, Any],
                     stmt: Any) -> dict[str, Any]:
    rule_digests = list((report["snapshot"].get("rules") or {}).values())
    expected = statement(report, snapshot, sha256_hex(members[MANIFEST]), rule_digests)
    if statement_text(expected).encode() != members[STATEMENT]:
        got = stmt.get("predicate") if isinstance(stmt, dict) else None
        claimed = got.get("policy") if isinstance(got, dict) else None
        uri = claimed.get("uri") if isinstance(claimed, dict) else None
        if isinstance(uri, str) and is_builtin(uri) and uri != expected["predicate"]["policy"]["uri"]:
            raise _tampered(f"{STATEMENT}: claims the policy {uri}, but the packaged rules are not that shipped rule "
                            f"set (policy digest {expected['predicate']['policy']['digest']['sha256'][:16]}…, "
                            f"not the digest of the set compliance {__version__} ships)")
        differs = sorted(k for k in expected["predicate"] if not isinstance(got, dict) or got.get(k) !=
                         expected["predicate"][k])
        which = ("predicate " + ", ".join(differs)) if differs else "subject, type or form"
        raise _tampered(f"{STATEMENT}: not the statement these members give (differs in {which})")
    return expected


def _recompute(members: dict[str, bytes], report: dict[str, Any], recorded_as: dict[str, str],
               snapshot_path: Path, tmp: Path) -> None:
    """Judge the packaged snapshot again and compare every packaged report file byte for byte."""
    rules_dir = tmp / "rules"
    rules_dir.mkdir()
    for name in (n for n in members if n.startswith(RULES_PREFIX)):
        (rules_dir / name[len(RULES_PREFIX):]).write_bytes(members[name])
    snapshot, digest = read_snapshot(snapshot_path)
    snapshot = with_deferred_sources(snapshot)
    section = report.get("waivers") or {}
    loaded = previous = None
    try:  # the packager loaded all of these before it wrote the package: one that does not load was changed
        ruleset = load_rules([str(rules_dir)])
        if WAIVERS in members:
            (tmp / WAIVERS).write_bytes(members[WAIVERS])
            loaded = read_waivers(str(tmp / WAIVERS), ruleset, parse_time(snapshot["collected_at"]),
                                  section.get("warn_days"))
            loaded = replace(loaded, path=recorded_as[WAIVERS])  # the label the report shows, not this temp path
        if PREVIOUS in members:
            (tmp / "previous.json").write_bytes(members[PREVIOUS])
            # this target's part of it, as the mode that wrote the report compared (a merged report's own part)
            previous = previous_for_target(load_previous(tmp / "previous.json"), snapshot["target"])
    except ComplianceError as exc:
        lines = str(exc).replace(str(tmp / "previous.json"), PREVIOUS).replace(str(tmp) + "/", "").splitlines()
        more = f" (and {len(lines) - 1} more)" if len(lines) > 1 else ""
        raise _tampered(f"a packaged input does not load: {lines[0] if lines else exc}{more}") from None
    ctx = Context(snapshot)
    findings, waivers = judge(snapshot, ruleset.rules, loaded, ctx=ctx)
    doc = build_report(snapshot, ruleset.rules, findings, report["mode"], waivers=waivers, previous=previous,
                       ctx=ctx, digest=digest)
    made_by = (report.get("tool") or {}).get("version")
    other = (f"; it was packaged by compliance {made_by} and this is {__version__}: verify with that version"
             if made_by != __version__ else "")
    files = sorted((n for n in members if n.startswith(REPORT_PREFIX)), key=lambda n: (n != REPORT_JSON, n))
    written = write_reports(doc, tmp / "out", [FORMAT_OF[n[len(REPORT_PREFIX):]] for n in files])
    for name in files:
        again = written[FORMAT_OF[name[len(REPORT_PREFIX):]]].read_bytes()
        if again != members[name]:
            raise PackageError(f"{name}: judging {SNAPSHOT} again with the packaged rules and waivers gives a "
                               f"different report ({_first_difference(members[name], again)}); the digests are "
                               f"consistent, but this report does not follow from this evidence{other}",
                               EXIT_NOT_REPRODUCED)


def _first_difference(packaged: bytes, again: bytes) -> str:
    old, new = packaged.decode("utf-8", "replace").splitlines(), again.decode("utf-8", "replace").splitlines()
    for i, (a, b) in enumerate(zip(old, new, strict=False), 1):
        if a != b:
            return f"first difference at line {i}"
    return f"{len(old)} lines packaged, {len(new)} re-computed"


def verify_bytes(data: bytes, where: str) -> Verified:
    raw, members = read_package(data, where)
    stmt, recorded_as = _check_manifest(members, where)
    for name in (REPORT_JSON, SNAPSHOT):
        if name not in members:
            raise _tampered(f"{name}: missing (every audit package holds the report and its snapshot)")
    report = _json(members, REPORT_JSON, where)
    if not isinstance(report, dict) or not isinstance(report.get("snapshot"), dict) or "summary" not in report:
        raise _tampered(f"{REPORT_JSON}: not a compliance report")
    # every later step reads the report's fields; a shape no report has is refused here, not as a traceback
    shape = schema_problems(report, load_schema("report"), REPORT_JSON, limit=1)
    if shape:
        raise _tampered(f"{REPORT_JSON}: not a valid compliance report ({shape[0].message})")
    problem = canonical_problem(raw, members, report["snapshot"].get("collected_at"))
    if problem:
        raise _tampered(f"{where}: {problem}")
    _check_links(members, report, recorded_as)
    with tempfile.TemporaryDirectory(prefix="compliance-verify-") as tmp_name:
        tmp = Path(tmp_name)
        snapshot_path = tmp / SNAPSHOT
        snapshot_path.write_bytes(members[SNAPSHOT])
        try:
            snapshot, _ = read_snapshot(snapshot_path)
        except ComplianceError as exc:
            raise _tampered(f"{SNAPSHOT}: not a valid snapshot ({str(exc).splitlines()[0]})") from None
        expected = _check_statement(members, report, snapshot, stmt)
        _recompute(members, report, recorded_as, snapshot_path, tmp)
    return Verified(sorted(members), report["summary"]["verdict"], expected["predicate"]["verificationResult"],
                    len(expected["subject"]))


__all__ = ["Verified", "verify_bytes", "verify_package"]
