"""The audit package's format, shared by ``compliance package`` and ``compliance verify-package``.

A package is a gzipped tar an auditor keeps and checks later without trusting the tool that made it:

- ``snapshot.json``: the evidence as collected; ``report/report.*``: the reports judged from it;
  ``rules/*``: the rule files the report was judged with (the report records their digests);
  ``waivers.yaml`` when waivers were applied; ``previous/report.json`` when the report diffs against one.
- ``manifest.json``: the SHA-256 of every one of those members (canonical JSON).
- ``statement.intoto.json``: an in-toto Statement v1 whose predicate is a SLSA Verification Summary
  Attestation: the verifier (this tool and version), timeVerified (the snapshot's collection time),
  the policy (the rules' digest), the snapshot as the input attestation, PASSED or FAILED, and as
  subject the governed commits (``gitCommit`` digests). It also records the manifest's digest, so
  signing the statement (cosign, sigstore: optional, outside this tool) binds every member.

Both documents are pure functions of the members, so verification rebuilds them and compares bytes,
and the tar itself is deterministic (sorted members, fixed mtime, uid/gid 0, no user names, gzip
without a name or time): packaging the same report set twice gives the same bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import posixpath
import re
import stat
import tarfile
import zlib
from functools import cache
from typing import Any
from urllib.parse import quote

from compliance import __version__
from compliance.base.errors import ComplianceError, SourceUnavailable
from compliance.base.timeutil import parse_time
from compliance.inputs import builtin
from compliance.judge.context import Context
from compliance.model.snapshot import canonical_json

MANIFEST = "manifest.json"
STATEMENT = "statement.intoto.json"
SNAPSHOT = "snapshot.json"
WAIVERS = "waivers.yaml"
PREVIOUS = "previous/report.json"
REPORT_PREFIX = "report/"
RULES_PREFIX = "rules/"
REPORT_JSON = REPORT_PREFIX + "report.json"
REPORT_FILES = ("report.json", "report.md", "report.html", "report.sarif", "report.junit.xml")

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
VSA_TYPE = "https://slsa.dev/verification_summary/v1"
VERIFIER_ID = "https://deploy-compliance.invalid/verifier/compliance"
MANIFEST_FIELD = "https://deploy-compliance.invalid/package/manifest"  # an extension field: a URI (VSA parsing rules)
PASSED_LEVEL = "DEPLOY_COMPLIANCE_POLICY_PASSED"  # custom SlsaResult values must not start with SLSA_
PACKAGE_VERSION = 1
MAX_MEMBER_BYTES = 1 << 30  # a member larger than this is not one this tool wrote
MAX_TOTAL_BYTES = 1 << 30  # the whole tar, decompressed: read no further (a gzip bomb stops here)
MAX_MEMBERS = 4096  # twelve members and the rule files: a tar of millions of empty headers is no package
_CHUNK = 1 << 16
_GZIP_MAGIC = b"\x1f\x8b\x08"  # gzip, deflate
_GZIP_HIDING = 0xfc  # FEXTRA, FNAME, FCOMMENT and the reserved bits: room for bytes no extractor shows

EXIT_TAMPERED = 3  # a member's bytes do not match the digests recorded for them
EXIT_NOT_REPRODUCED = 4  # every digest matches, but the evidence does not give the packaged report
_RULE_NAME = re.compile(r"rules/[A-Za-z0-9][A-Za-z0-9._-]{0,120}\.ya?ml")  # fullmatch: no trailing newline


class PackageError(ComplianceError):
    """A package that cannot be read or trusted: exit 2, or ``exit_code`` (3 tampered, 4 not reproduced)."""

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def kind_of(name: str) -> str | None:
    """What a member is, by name; None for a name no package holds."""
    if name in (MANIFEST, STATEMENT, SNAPSHOT, WAIVERS, PREVIOUS):
        return name.split(".")[0].split("/")[0]
    if name.startswith(REPORT_PREFIX) and name[len(REPORT_PREFIX):] in REPORT_FILES:
        return "report"
    if _RULE_NAME.fullmatch(name):
        return "rules"
    return None


def policy_digest(rule_digests: list[str]) -> str:
    """One digest for the rule set: of the sorted SHA-256s of its files, so neither where the files
    lay nor the order they were named changes it (``sha256:<hex>`` or bare hex accepted)."""
    hexes = sorted(d.removeprefix("sha256:") for d in rule_digests)
    return sha256_hex(canonical_json(hexes).encode())


def manifest_text(members: dict[str, bytes], recorded: dict[str, str]) -> str:
    """``recorded``: member name -> the path the report knows it by (rule files, the waiver file)."""
    entries = []
    for name in sorted(members):
        entry: dict[str, Any] = {"name": name, "kind": kind_of(name), "sha256": sha256_hex(members[name]),
                                 "bytes": len(members[name])}
        if name in recorded:
            entry["recorded_as"] = recorded[name]
        entries.append(entry)
    return canonical_json({"package_version": PACKAGE_VERSION, "tool": {"name": "compliance", "version": __version__},
                           "members": entries})


def governed_commits(snapshot: dict[str, Any]) -> list[str]:
    """The window's first-parent commits, oldest first, as the judge saw them (``Context.window``)."""
    try:
        ctx = Context(snapshot)
        return [ctx.history.commits[i]["sha"] for i in ctx.window]
    except SourceUnavailable:
        return []


def _repo_uri(target: dict[str, Any]) -> str | None:
    repo = str(target.get("github_repo") or "")
    return f"git+https://github.com/{repo}" if re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", repo) else None


def statement(report: dict[str, Any], snapshot: dict[str, Any], manifest_sha: str, rule_digests: list[str]) -> dict:
    """The in-toto Statement v1 with its SLSA VSA predicate, from the packaged report and snapshot.

    PASSED only for a report whose verdict is ``pass``: a failure, an error (not evaluated) or a
    pending change is not a verified policy, so each is FAILED with ``verifiedLevels: ["FAILED"]``.
    """
    snap = report["snapshot"]
    target = snap.get("target") or {}
    repo = _repo_uri(target)
    branch = snap["window"]["branch"]
    commits = governed_commits(snapshot)
    label = str(target.get("github_repo") or target.get("name") or "repository")
    subject = [{"name": f"{label}@{sha}", **({"uri": f"{repo}@{sha}"} if repo else {}), "digest": {"gitCommit": sha}}
               for sha in commits]
    snapshot_hex = snap["digest"].removeprefix("sha256:")
    if not subject:  # no commit was judged (git unavailable, an empty window): the evidence itself is the subject
        subject = [{"name": SNAPSHOT, "digest": {"sha256": snapshot_hex}}]
    passed = report["summary"]["verdict"] == "pass"
    predicate = {
        "verifier": {"id": VERIFIER_ID, "version": {"compliance": report["tool"]["version"]}},
        "timeVerified": parse_time(snap["collected_at"]).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "resourceUri": f"{repo}@refs/heads/{branch}" if repo else quote(f"{label}@refs/heads/{branch}", safe="@/:"),
        "policy": {"uri": policy_uri(rule_digests), "digest": {"sha256": policy_digest(rule_digests)}},
        "inputAttestations": [{"uri": SNAPSHOT, "digest": {"sha256": snapshot_hex}}],
        "verificationResult": "PASSED" if passed else "FAILED",
        "verifiedLevels": [PASSED_LEVEL] if passed else ["FAILED"],
        "slsaVersion": "1.0",
        MANIFEST_FIELD: {"uri": MANIFEST, "digest": {"sha256": manifest_sha}},
    }
    return {"_type": STATEMENT_TYPE, "subject": subject, "predicateType": VSA_TYPE, "predicate": predicate}


def policy_uri(rule_digests: list[str]) -> str:
    """``builtin:NAME`` when the rule files are exactly a set this installation ships (their policy digest is
    that set's), else the package's ``rules/`` folder. Decided by content, never by path: a file at
    ``/tmp/x/builtin/NAME/rules.yaml`` is not the shipped set, and the shipped set named through a link
    (``policies/``) or copied elsewhere still is."""
    return shipped_policies().get(policy_digest(rule_digests), RULES_PREFIX)


@cache
def shipped_policies() -> dict[str, str]:
    """Policy digest -> ``builtin:NAME`` of each rule set shipped in ``compliance/builtin/`` (its rule files
    as a folder of rules loads them: ``*.yaml``/``*.yml``, not recursive)."""
    try:
        root, names = builtin.builtin_root(), builtin.builtin_sets()
    except ComplianceError:  # imported from an archive: no shipped set on disk to compare with
        return {}
    out: dict[str, str] = {}
    for name in names:
        folder = root / name
        files = sorted(n for n in os.listdir(folder) if n.endswith((".yaml", ".yml")) and (folder / n).is_file())
        out[policy_digest([sha256_hex((folder / n).read_bytes()) for n in files])] = builtin.PREFIX + name
    return out


def statement_text(doc: dict[str, Any]) -> str:
    return canonical_json(doc, allow_nan=False)


# --- the tar -------------------------------------------------------------------------------------


def tar_raw(members: dict[str, bytes], mtime: int) -> bytes:
    """The uncompressed tar. Deterministic: sorted names, one fixed mtime, mode 0644, uid/gid 0, no owner
    names, no directories; so verification can rebuild it and compare bytes (``read_package``)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(members):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(members[name]), mtime, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(members[name]))
    return raw.getvalue()


def tar_bytes(members: dict[str, bytes], mtime: int) -> bytes:
    """``tar_raw`` gzipped without a name or time (one gzip member, nothing after it)."""
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
        gz.write(tar_raw(members, mtime))
    return out.getvalue()


def read_capped(path: str | os.PathLike[str], limit: int, what: str, *, regular: bool = False, why: str = "") -> bytes:
    """A file's bytes, read no further than ``limit`` (``/dev/zero`` or a FIFO never ends), and only a
    regular file when ``regular``: one bounded reader for what is packaged and for the package."""
    try:
        with open(path, "rb") as handle:
            if regular and not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise PackageError(f"cannot read {what}: not a regular file")
            data = handle.read(limit + 1)
    except OSError as exc:
        raise PackageError(f"cannot read {what}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise PackageError(f"{what}: larger than {limit:,} bytes{why} (read no further)")
    return data


def read_package_file(path: str, where: str) -> bytes:
    """The package's bytes, read no further than a package can be: deflate never grows data by more than a
    few bytes per 64 KiB block, so a file much larger than ``MAX_TOTAL_BYTES`` cannot decompress within it."""
    limit = MAX_TOTAL_BYTES + (MAX_TOTAL_BYTES >> 10) + (64 << 10)
    return read_capped(path, limit, where, why=": too large for an audit package")


def gunzip(data: bytes, where: str) -> bytes:
    """The tar inside one gzip member, decompressed a chunk at a time and never past ``MAX_TOTAL_BYTES``.

    What ``tarfile`` would not see is refused: a second gzip member or bytes after the first (``tar``
    and ``gzip -d`` read on into them, so an extractor could be shown files this check never read), and
    a header carrying a name, comment or extra field.
    """
    if data[:3] != _GZIP_MAGIC or len(data) < 10:
        raise PackageError(f"{where}: not a readable .tar.gz audit package (not a gzip stream)")
    if data[3] & _GZIP_HIDING:
        raise PackageError(f"{where}: the gzip header carries a name, comment or extra field, which no package of "
                           "this tool has (bytes an extractor does not show)", EXIT_TAMPERED)
    unzip = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = bytearray()
    try:
        for at in range(0, len(data), _CHUNK):
            pending = data[at:at + _CHUNK]
            while pending and not unzip.eof:
                out += unzip.decompress(pending, MAX_TOTAL_BYTES + 1 - len(out))
                if len(out) > MAX_TOTAL_BYTES:
                    raise PackageError(f"{where}: decompresses to more than {MAX_TOTAL_BYTES:,} bytes: too large for "
                                       "an audit package (read no further)")
                pending = unzip.unconsumed_tail
            if unzip.eof:
                if unzip.unused_data or data[at + _CHUNK:]:
                    raise PackageError(f"{where}: bytes after the gzip stream (appended data or a second archive, "
                                       "which tar and gzip would read and this check would not)", EXIT_TAMPERED)
                break
    except zlib.error as exc:
        raise PackageError(f"{where}: not a readable .tar.gz audit package ({exc})") from None
    if not unzip.eof:
        raise PackageError(f"{where}: not a readable .tar.gz audit package (the gzip stream is truncated)")
    return bytes(out)


def read_tar(data: bytes, where: str) -> dict[str, bytes]:
    """Every member's bytes (``read_package`` without the tar itself)."""
    return read_package(data, where)[1]


def read_package(data: bytes, where: str) -> tuple[bytes, dict[str, bytes]]:
    """The uncompressed tar and every member's bytes, refusing what no package of ours holds: a link or
    device, a directory, a path that is absolute or climbs out (``..``), one name twice, an oversized
    member or total, too many members. Whether the tar is exactly the one its members give (nothing
    hidden after its end or between its headers) needs the report's time: ``canonical_problem``."""
    raw = gunzip(data, where)
    members: dict[str, bytes] = {}
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
            for info in tar:
                if len(members) >= MAX_MEMBERS:
                    raise PackageError(f"{where}: more than {MAX_MEMBERS} members: not an audit package")
                name = info.name
                if name.startswith("/") or "\\" in name or posixpath.normpath(name) != name or ".." in name.split("/"):
                    raise PackageError(f"{where}: member {name!r} has an unsafe path (absolute, '..' or not normal)")
                if not info.isreg():
                    what = "a link" if info.issym() or info.islnk() else "a directory" if info.isdir() else "not a file"
                    raise PackageError(f"{where}: member {name!r} is {what}; a package holds regular files only")
                if name in members:
                    raise PackageError(f"{where}: member {name!r} appears twice")
                total += info.size
                if info.size > MAX_MEMBER_BYTES or total > MAX_TOTAL_BYTES:
                    raise PackageError(f"{where}: member {name!r} is too large for an audit package")
                handle = tar.extractfile(info)
                members[name] = handle.read() if handle else b""
    except (tarfile.TarError, OSError, EOFError, gzip.BadGzipFile) as exc:
        raise PackageError(f"{where}: not a readable .tar.gz audit package ({exc})") from None
    return raw, members


def canonical_problem(raw: bytes, members: dict[str, bytes], collected_at: object) -> str | None:
    """Why ``raw`` is not the tar ``tar_raw`` writes for these members at the collection time (None: it
    is). A tar holds more than its members: headers (modes, owners, pax records), their order, and bytes
    after the end-of-archive that ``tarfile`` stops before and ``tar --ignore-zeros`` extracts. Rebuilding
    it and comparing bytes closes all of them at once; gzip's own bytes are not compared (zlib versions
    compress differently), ``gunzip`` refuses what could hide there."""
    when = parse_time(collected_at) if isinstance(collected_at, str) else None
    if when is None:
        return "the report has no collection time to rebuild the tar with"
    if tar_raw(members, int(when.timestamp())) != raw:
        return ("the tar is not the one its members give: a header, the members' order or mtime, or bytes past "
                "the end of the archive differ (an extractor could be shown other files than this check read)")
    return None


__all__ = ["EXIT_NOT_REPRODUCED", "EXIT_TAMPERED", "MANIFEST", "PackageError", "STATEMENT", "canonical_problem",
           "governed_commits", "gunzip", "manifest_text", "policy_digest", "policy_uri", "read_capped", "read_package",
           "read_package_file", "read_tar", "shipped_policies", "statement", "statement_text", "tar_bytes", "tar_raw"]
