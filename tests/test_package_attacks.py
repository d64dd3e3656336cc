"""`verify-package` against a hostile tar: content hidden where `tarfile` stops reading, and bombs.

The verifier reads the tar with Python's `tarfile`, which stops at the first zero block and never
looks past the gzip stream's end; `tar --ignore-zeros`, `gzip -d | tar` and other extractors read on.
A package that verifies must therefore be the very bytes its members give, or an auditor extracting
it could be shown a report the verifier never read. The other extractor here is `tarfile` itself with
``ignore_zeros=True`` (GNU tar's ``-i``), so each test first proves the hidden member is really there.
"""

from __future__ import annotations

import gzip
import io
import json
import struct
import tarfile
import tracemalloc
import zlib

import pytest

from compliance.app import package_format
from compliance.app.package_format import (
    MANIFEST,
    MANIFEST_FIELD,
    STATEMENT,
    manifest_text,
    read_tar,
    sha256_hex,
    statement_text,
    tar_bytes,
    tar_raw,
)
from compliance.base.timeutil import parse_time
from compliance.cli import main

FORGED = {"report/report.md": b"# Compliance: PASS\n\nEverything passed.\n"}


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    out = tmp_path_factory.mktemp("attack") / "demo"
    assert main(["-q", "demo", "--workdir", str(out.parent / "system"), "--out", str(out)]) == 0  # no temp dir left
    path = out.parent / "audit.tar.gz"
    assert main(["package", str(out), "--out", str(path)]) == 0
    return path


def _verify(path, capsys) -> tuple[int, str]:
    code = main(["verify-package", str(path)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def _plain_tar(members: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def _end_of_members(raw: bytes) -> int:
    """Where the last member's data ends (the end-of-archive zero blocks start there)."""
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
        last = tar.getmembers()[-1]
    return last.offset_data + -(-last.size // 512) * 512


def _seen_by_a_lenient_extractor(data: bytes) -> bytes | None:
    """report.md as an extractor that reads on past zero blocks and gzip members gets it (the last copy wins)."""
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data)), mode="r:", ignore_zeros=True) as tar:
        got = None
        for info in tar:
            if info.name == "report/report.md":
                got = tar.extractfile(info).read()
    return got


def _hidden(kind: str, data: bytes) -> bytes:
    raw = gzip.decompress(data)
    if kind == "archive after the end":
        return gzip.compress(raw + _plain_tar(FORGED), mtime=0)
    if kind == "lone zero block":
        return gzip.compress(raw[:_end_of_members(raw)] + b"\0" * 512 + _plain_tar(FORGED), mtime=0)
    if kind == "second gzip member":
        return data + gzip.compress(_plain_tar(FORGED), mtime=0)
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["archive after the end", "lone zero block", "second gzip member"])
def test_a_report_hidden_where_tarfile_stops_reading_is_refused(package, tmp_path, capsys, kind):
    data = package.read_bytes()
    hostile = _hidden(kind, data)
    assert _seen_by_a_lenient_extractor(hostile) == FORGED["report/report.md"]  # the attack is real
    path = tmp_path / "hidden.tar.gz"
    path.write_bytes(hostile)
    code, err = _verify(path, capsys)
    assert code == 3, err
    assert "after the gzip stream" in err or "not the one its members give" in err


def test_trailing_bytes_after_the_gzip_stream_are_refused(package, tmp_path, capsys):
    path = tmp_path / "trailing.tar.gz"
    path.write_bytes(package.read_bytes() + b"GARBAGE")
    code, err = _verify(path, capsys)
    assert code == 3 and "after the gzip stream" in err


def test_a_gzip_comment_carrying_bytes_is_refused(package, tmp_path, capsys):
    data = package.read_bytes()
    flags = data[3] | 0x10  # FCOMMENT: a zero-terminated comment follows the 10-byte header
    path = tmp_path / "comment.tar.gz"
    path.write_bytes(data[:3] + bytes([flags]) + data[4:10] + b"hidden payload\0" + data[10:])
    assert gzip.decompress(path.read_bytes()) == gzip.decompress(data)  # the same tar inside
    code, err = _verify(path, capsys)
    assert code == 3 and "comment" in err


def _mtime(members: dict[str, bytes]) -> int:
    return int(parse_time(json.loads(members["report/report.json"])["snapshot"]["collected_at"]).timestamp())


@pytest.mark.parametrize("change", ["setuid mode", "other mtime", "members reordered"])
def test_a_header_changed_is_refused_though_every_member_matches(package, tmp_path, capsys, change):
    members = read_tar(package.read_bytes(), "x")
    raw = io.BytesIO()
    names = sorted(members, reverse=change == "members reordered")
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in names:
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(members[name]), _mtime(members) + (3600 if change == "other mtime" else 0)
            info.mode = 0o4755 if change == "setuid mode" and name == "report/report.html" else 0o644
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(members[name]))
    path = tmp_path / "header.tar.gz"
    path.write_bytes(gzip.compress(raw.getvalue(), mtime=0))
    assert read_tar(path.read_bytes(), "x") == members
    code, err = _verify(path, capsys)
    assert code == 3 and "not the one its members give" in err


def test_the_canonical_tar_is_what_the_packager_wrote(package):
    members = read_tar(package.read_bytes(), "x")
    assert gzip.decompress(package.read_bytes()) == tar_raw(members, _mtime(members))


def _bomb(claimed: int) -> bytes:
    """A gzip stream whose tar starts with a pax header claiming ``claimed`` bytes of zeros, compressed
    a megabyte at a time (a few hundred kilobytes on disk)."""
    info = tarfile.TarInfo("././@PaxHeader")
    info.type, info.size = tarfile.XHDTYPE, claimed
    head = info.tobuf(format=tarfile.USTAR_FORMAT)
    squeeze = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [squeeze.compress(head)]
    chunk = bytes(1 << 20)
    for _ in range(claimed >> 20):
        parts.append(squeeze.compress(chunk))
    parts.append(squeeze.flush())
    return b"".join(parts)


def test_a_decompression_bomb_is_refused_within_bounded_memory(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(package_format, "MAX_TOTAL_BYTES", 8 << 20)
    data = _bomb(96 << 20)
    assert len(data) < 2 << 20
    path = tmp_path / "bomb.tar.gz"
    path.write_bytes(data)
    tracemalloc.start()
    try:
        code, err = _verify(path, capsys)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 2 and "too large" in err
    assert peak < 40 << 20, f"{peak:,} bytes held for a bomb refused at {8 << 20:,}"


def test_a_tar_of_very_many_members_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(package_format, "MAX_MEMBERS", 50)
    path = tmp_path / "many.tar.gz"
    path.write_bytes(gzip.compress(_plain_tar({f"rules/r{i}.yaml": b"" for i in range(51)}), mtime=0))
    code, err = _verify(path, capsys)
    assert code == 2 and "more than 50 members" in err


def test_a_truncated_gzip_stream_is_refused(package, tmp_path, capsys):
    path = tmp_path / "cut.tar.gz"
    path.write_bytes(package.read_bytes()[:-40])
    code, err = _verify(path, capsys)
    assert code == 2 and "not a readable" in err


def test_the_gzip_header_this_tool_writes_hides_nothing(package):
    """No name, comment or extra field, and no time: what ``gunzip`` accepts is what ``tar_bytes`` writes."""
    magic, method, flags, mtime = struct.unpack("<HBBI", package.read_bytes()[:8])
    assert (magic, method, flags, mtime) == (0x8b1f, 8, 0, 0)


def _with_report(members: dict[str, bytes], report: dict) -> bytes:
    """The package with ``report`` as report.json, its manifest rebuilt and the statement's record of the
    manifest updated: what a forger writes to get past the digest checks to the report's fields."""
    out = {n: b for n, b in members.items() if n not in (MANIFEST, STATEMENT)}
    out["report/report.json"] = json.dumps(report).encode()
    recorded = {e["name"]: e["recorded_as"] for e in json.loads(members[MANIFEST])["members"] if "recorded_as" in e}
    out[MANIFEST] = manifest_text(out, recorded).encode()
    stmt = json.loads(members[STATEMENT])
    stmt["predicate"][MANIFEST_FIELD]["digest"]["sha256"] = sha256_hex(out[MANIFEST])
    out[STATEMENT] = statement_text(stmt).encode()
    when = report["snapshot"].get("collected_at")
    return tar_bytes(out, int(parse_time(when).timestamp()) if isinstance(when, str) else 0)


@pytest.mark.parametrize("field, value", [
    (("snapshot", "rules"), ["rules/api-mcp-runbook.yaml"]),
    (("snapshot", "window"), None),
    (("snapshot", "collected_at"), 5),
    (("waivers",), "waivers.yaml"),
    (("summary",), []),
    (("tool",), None),
])
def test_a_report_of_a_shape_no_report_has_is_refused_without_a_traceback(package, tmp_path, capsys, field, value):
    members, report = _report_with(package, field, value)
    path = tmp_path / "shape.tar.gz"
    path.write_bytes(_with_report(members, report))
    code, err = _verify(path, capsys)
    assert code == 3 and "not a valid compliance report" in err and f"/{'/'.join(field)}" in err, err


def _report_with(package, field: tuple[str, ...], value):
    """The package's members and its report.json with the value at ``field`` replaced."""
    members = read_tar(package.read_bytes(), "x")
    report = json.loads(members["report/report.json"])
    holder = report
    for key in field[:-1]:
        holder = holder[key]
    holder[field[-1]] = value
    return members, report


@pytest.mark.parametrize("field, value", [(("snapshot",), [1]), (("diff",), [1]), (("snapshot", "rules"), ["x"])])
def test_a_report_folder_with_a_report_of_another_shape_is_not_packaged(package, tmp_path, capsys, field, value):
    folder = tmp_path / "set"
    folder.mkdir()
    members, report = _report_with(package, field, value)
    (folder / "report.json").write_text(json.dumps(report))
    (folder / "snapshot.json").write_bytes(members["snapshot.json"])
    code = main(["package", str(folder), "--out", str(tmp_path / "out.tar.gz")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "not a valid compliance report" in err, err
    assert not (tmp_path / "out.tar.gz").exists()


def test_a_report_folder_whose_report_md_links_outside_is_not_packaged(package, tmp_path, capsys):
    """A report file replaced by a link to another file (here one with a secret-looking line) is read,
    does not re-compute, and is neither packaged nor echoed."""
    folder = tmp_path / "set"
    folder.mkdir()
    members = read_tar(package.read_bytes(), "x")
    for name in ("report/report.json", "report/report.md", "snapshot.json", "waivers.yaml"):
        (folder / name.split("/")[-1]).write_bytes(members[name])
    (folder / "previous").mkdir()
    (folder / "previous" / "report.json").write_bytes(members["previous/report.json"])
    outside = tmp_path / "outside.txt"
    outside.write_text("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")
    (folder / "report.md").unlink()
    (folder / "report.md").symlink_to(outside)
    code = main(["package", str(folder), "--out", str(tmp_path / "out.tar.gz")])
    err = capsys.readouterr().err
    assert code == 2 and "report.md" in err and "does not follow" in err, err
    assert "wJalrXUtnFEMI" not in err and not (tmp_path / "out.tar.gz").exists()


def _with_entry(members: dict[str, bytes], info: tarfile.TarInfo, data: bytes | None) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, body in sorted(members.items()):
            member = tarfile.TarInfo(name)
            member.size = len(body)
            tar.addfile(member, io.BytesIO(body))
        tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return gzip.compress(raw.getvalue(), mtime=0)


@pytest.mark.parametrize("name, kind, link, words", [
    ("rules/dev.yaml", tarfile.CHRTYPE, "", "not a file"),
    ("rules/blk.yaml", tarfile.BLKTYPE, "", "not a file"),
    ("rules/fifo.yaml", tarfile.FIFOTYPE, "", "not a file"),
    ("rules/hard.yaml", tarfile.LNKTYPE, "snapshot.json", "is a link"),
    ("./snapshot.json", tarfile.REGTYPE, "", "unsafe path"),
    ("report//report.json", tarfile.REGTYPE, "", "unsafe path"),
    ("rules\\..\\..\\x.yaml", tarfile.REGTYPE, "", "unsafe path"),
])
def test_special_members_and_unnormal_names_are_refused(package, tmp_path, capsys, name, kind, link, words):
    members = read_tar(package.read_bytes(), "x")
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    data = b"x" if kind == tarfile.REGTYPE else None
    info.size = len(data or b"")
    path = tmp_path / "special.tar.gz"
    path.write_bytes(_with_entry(members, info, data))
    code, err = _verify(path, capsys)
    assert code == 2 and words in err, err


@pytest.mark.parametrize("name", ["rules/\uff41.yaml", "rules/A\u030a.yaml", "Snapshot.json", "report/REPORT.md"])
def test_a_look_alike_name_is_a_member_no_package_holds(package, tmp_path, capsys, name):
    """Names that read like ours after case folding or Unicode normalisation are not ours: refused."""
    members = read_tar(package.read_bytes(), "x")
    info = tarfile.TarInfo(name)
    info.size = 1
    path = tmp_path / "lookalike.tar.gz"
    path.write_bytes(_with_entry(members, info, b"x"))
    code, err = _verify(path, capsys)
    assert code == 3 and "does not list" in err, err


def _resigned(members: dict[str, bytes], **changed: bytes) -> bytes:
    """Members changed, the manifest rebuilt and the statement's record of it updated (the report untouched)."""
    out = {n: b for n, b in members.items() if n not in (MANIFEST, STATEMENT)}
    out.update(changed)
    recorded = {e["name"]: e["recorded_as"] for e in json.loads(members[MANIFEST])["members"] if "recorded_as" in e}
    out[MANIFEST] = manifest_text(out, recorded).encode()
    stmt = json.loads(members[STATEMENT])
    stmt["predicate"][MANIFEST_FIELD]["digest"]["sha256"] = sha256_hex(out[MANIFEST])
    out[STATEMENT] = statement_text(stmt).encode()
    return tar_bytes(out, _mtime(members))


@pytest.mark.parametrize("member, content, where", [
    ("waivers.yaml", b"version: 1\nwaivers: [{rule: X}]\n", "waivers.yaml:2:"),
    ("waivers.yaml", b"\xff\xfe\x00", "waivers.yaml:1:1"),
    ("previous/report.json", b'{"report_version": 1, "snapshot": 1}', "previous/report.json:1:1"),
])
def test_a_packaged_input_that_does_not_load_is_tampered_and_named_by_member(package, tmp_path, capsys, member,
                                                                              content, where):
    """The packager verifies before it writes, so a packaged waiver file or previous report that does not
    load was put there afterwards: exit 3, named by its member, not by a temp file that no longer exists."""
    path = tmp_path / "input.tar.gz"
    path.write_bytes(_resigned(read_tar(package.read_bytes(), "x"), **{member: content}))
    code, err = _verify(path, capsys)
    assert code == 3 and where in err, err
    assert "compliance-verify-" not in err


def test_an_endless_file_is_read_no_further_than_a_package_can_be(tmp_path, capsys, monkeypatch):
    """``verify-package /dev/zero`` (or a FIFO someone keeps writing): refused after a bounded read, not
    read until memory runs out."""
    monkeypatch.setattr(package_format, "MAX_TOTAL_BYTES", 4 << 20)
    tracemalloc.start()
    try:
        code, err = _verify("/dev/zero", capsys)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 2 and "larger than" in err
    assert peak < 24 << 20


@pytest.mark.parametrize("link", ["snapshot.json", "rule"])
def test_a_report_folder_linking_a_member_to_an_endless_device_is_refused(package, tmp_path, capsys, link):
    """A snapshot.json linked to /dev/zero, or a report recording /dev/zero as a rule file: read no further."""
    members = read_tar(package.read_bytes(), "x")
    folder = tmp_path / "set"
    folder.mkdir()
    report = json.loads(members["report/report.json"])
    if link == "rule":
        rules = report["snapshot"]["rules"]
        rules["/dev/zero"] = rules.pop(sorted(rules)[0])
        (folder / "snapshot.json").write_bytes(members["snapshot.json"])
    else:
        (folder / "snapshot.json").symlink_to("/dev/zero")
    (folder / "report.json").write_text(json.dumps(report))
    for name in ("waivers.yaml",):
        (folder / name).write_bytes(members[name])
    (folder / "previous").mkdir()
    (folder / "previous" / "report.json").write_bytes(members["previous/report.json"])
    code = main(["package", str(folder), "--out", str(tmp_path / "out.tar.gz")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    assert ("not a regular file" in err) if link == "snapshot.json" else ("/dev/zero" in err and "--policies" in err)
    assert not (tmp_path / "out.tar.gz").exists()
