"""``compliance package``: one report set, its evidence and its rules, as a verifiable audit package.

The report folder holds the reports, the snapshot and the waivers applied (``app.persist``); the
rule files are wherever the audit read them, and the report records each one's path and SHA-256.
A rule file is taken from its recorded path when its bytes still match, otherwise from ``policies``
(files, folders or ``builtin:NAME``) by digest: a rule file edited since the audit is never packaged
in its place. The package is verified (``verify_package``) before it is written, so a package this
command writes always verifies where it was made; the format is in ``package_format``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compliance.app.package_format import (
    MANIFEST,
    MAX_MEMBER_BYTES,
    PREVIOUS,
    REPORT_FILES,
    REPORT_PREFIX,
    RULES_PREFIX,
    SNAPSHOT,
    STATEMENT,
    WAIVERS,
    PackageError,
    manifest_text,
    read_capped,
    sha256_hex,
    statement,
    statement_text,
    tar_bytes,
)
from compliance.app.verify_package import Verified, verify_bytes
from compliance.base.fsutil import atomic_write_bytes
from compliance.base.timeutil import parse_time
from compliance.inputs.rules import discover
from compliance.model.snapshot import load_schema, schema_problems
from compliance.model.strict_json import strict_loads


@dataclass
class Packaged:
    path: Path
    size: int
    verified: Verified


def _read(path: Path, what: str) -> bytes:
    """A regular file's bytes, up to what a package member may hold (a link to ``/dev/zero`` never ends)."""
    return read_capped(path, MAX_MEMBER_BYTES, f"{what} {path}", regular=True)


def _rule_file(path: str, digest: str, candidates: list[str]) -> bytes:
    for where in [path, *candidates]:
        try:
            data = _read(Path(where), "rule file")
        except PackageError:
            continue
        if "sha256:" + sha256_hex(data) == digest:
            return data
    raise PackageError(f"the report was judged with the rule file {path} ({digest[:23]}…), which is no longer "
                       "there with those bytes; pass --policies FILE_OR_DIR holding that version")


def _member_name(path: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]", "_", Path(path).name).lstrip("._-") or "rules.yaml"
    if not base.endswith((".yaml", ".yml")):
        base += ".yaml"
    name, n = RULES_PREFIX + base, 1
    while name in taken:  # two rule files of one name in different folders
        n += 1
        name = f"{RULES_PREFIX}{n}-{base}"
    return name


def _previous(report: dict[str, Any], folder: Path, current: Path, given: str | None) -> bytes:
    """The previous report, from the published set itself when it holds one (the demo's ``previous/``
    switches with its reports), else from ``<folder>/previous/`` as an older version wrote it."""
    wanted = (report["diff"].get("previous") or {}).get("digest")
    own = current / "previous" / "report.json"
    path = Path(given) if given else own if own.is_file() else folder / "previous" / "report.json"
    if not path.is_file():
        raise PackageError(f"the report diffs against a previous report (snapshot {str(wanted)[:23]}…) and "
                           f"{path} does not exist; pass that report with --previous FILE")
    data = _read(path, "previous report")
    doc = strict_loads(data.decode("utf-8", "replace"), str(path), "previous report")
    if not isinstance(doc, dict) or (doc.get("snapshot") or {}).get("digest") != wanted:
        raise PackageError(f"{path} is not the previous report this report diffs against (its snapshot "
                           f"is not {str(wanted)[:23]}…); pass that report with --previous FILE")
    return data


def collect_members(report_dir: str | Path, policies: list[str] | None = None,
                    previous: str | None = None) -> tuple[dict[str, bytes], dict[str, str], dict[str, Any]]:
    """The members (name -> bytes), the paths the report records them by, and the report."""
    folder = Path(report_dir)
    link = folder / "report.json"
    if not link.is_file():
        raise PackageError(f"no report.json in {folder}: pass the folder an audit, evaluate or demo wrote")
    current = link.resolve().parent  # the published set, read as one even if a new run publishes meanwhile
    members: dict[str, bytes] = {}
    for name in REPORT_FILES:
        if (current / name).is_file():
            members[REPORT_PREFIX + name] = _read(current / name, "report")
    report = strict_loads(members[REPORT_PREFIX + "report.json"].decode("utf-8", "replace"), str(link), "report")
    if not isinstance(report, dict) or "snapshot" not in report or "findings" not in report:
        raise PackageError(f"{link} is not a compliance report.json")
    shape = schema_problems(report, load_schema("report"), str(link), limit=1)
    if shape:  # everything below reads the report's fields
        raise PackageError(f"{link} is not a valid compliance report ({shape[0].message})")
    if report.get("targets"):
        raise PackageError(f"{link} is a merged report of several targets: package each target's folder "
                           "(each has its own snapshot)")
    snap = report["snapshot"]
    members[SNAPSHOT] = _read(current / SNAPSHOT, "snapshot")
    if "sha256:" + sha256_hex(members[SNAPSHOT]) != snap.get("digest"):
        raise PackageError(f"{current / SNAPSHOT} is not the snapshot {link} was judged from")
    recorded: dict[str, str] = {}
    label = (report.get("waivers") or {}).get("file")
    if label:
        if not (current / WAIVERS).is_file():
            raise PackageError(f"the report applied waivers ({label}) but {folder} holds no {WAIVERS}")
        members[WAIVERS] = _read(current / WAIVERS, "waivers")
        recorded[WAIVERS] = label
    if report.get("diff"):
        members[PREVIOUS] = _previous(report, folder, current, previous)
    candidates = discover(policies) if policies else []
    for path, digest in sorted((snap.get("rules") or {}).items()):
        name = _member_name(path, set(members))
        members[name] = _rule_file(path, digest, candidates)
        recorded[name] = path
    if not any(n.startswith(RULES_PREFIX) for n in members):
        raise PackageError(f"{link} records no rule files: nothing to re-judge it with")
    return members, recorded, report


def build_package(report_dir: str | Path, out: str | Path, policies: list[str] | None = None,
                  previous: str | None = None) -> Packaged:
    members, recorded, report = collect_members(report_dir, policies, previous)
    manifest = manifest_text(members, recorded).encode()
    snapshot = strict_loads(members[SNAPSHOT].decode("utf-8", "replace"), SNAPSHOT, "snapshot")
    doc = statement(report, snapshot, sha256_hex(manifest), list(report["snapshot"]["rules"].values()))
    all_members = {**members, MANIFEST: manifest, STATEMENT: statement_text(doc).encode()}
    mtime = int(parse_time(report["snapshot"]["collected_at"]).timestamp())
    data = tar_bytes(all_members, mtime)
    target = Path(out)
    try:
        verified = verify_bytes(data, str(target))
    except PackageError as exc:
        raise PackageError(f"not packaged: the report set in {report_dir} does not verify: {exc}") from None
    atomic_write_bytes(target, data)
    return Packaged(target, len(data), verified)


__all__ = ["Packaged", "build_package", "collect_members"]
