"""Secrets never reach an output: not stdout/stderr, logs, the snapshot, any report, nor the ETag cache.

The secrets are planted where they really turn up: in the environment (as the CLI reads them), in
error bodies that echo the request's Authorization header back, and in the governed system's own
data (a worklog someone pasted a token into, a commit message, a probe answer).
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
import responses

from compliance.cli import main
from tests import moto_env
from tests.github_payloads import FakeGitHub
from tests.live_system import GOOD_BODY, POLICIES, audit_args, evidence, system_builder

GH_TOKEN = "ghp_" + "Zq7" * 12  # 36 characters after the prefix, as GitHub issues them
AWS_KEY_ID = "AKIA" + "QX7VJ2M4T6B8N3LR"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq8Xk2Lw9P"
API_KEY = "cik-7f3a9b1c5d2e4f60a8b7c6d5e4f3a2b1"
SECRETS = {"GITHUB_TOKEN": GH_TOKEN, "AWS_ACCESS_KEY_ID": AWS_KEY_ID, "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
           "COORDINATION_INTERNAL_API_KEY": API_KEY}
ALL_FORMATS = ["--format", "md,html,json,sarif,junit"]


@pytest.fixture
def secret_env(monkeypatch):
    def plant():  # after the system fixture set its own test values
        for name, value in SECRETS.items():
            monkeypatch.setenv(name, value)
    return plant


def _leaks(text: str) -> list[str]:
    found = [name for name, value in SECRETS.items() if value in text]
    # the shapes too: a secret reaching an output by another route (e.g. a header dump) is still a leak
    found += re.findall(r"ghp_[A-Za-z0-9]{36}|AKIA[A-Z0-9]{16}", text)
    return found


def _files(*folders: Path) -> dict[str, str]:
    out = {}
    for folder in folders:
        for p in sorted(folder.rglob("*")) if folder.exists() else ():
            if p.is_file():
                out[str(p)] = p.read_bytes().decode("utf-8", "replace")
    return out


def _assert_clean(texts: dict[str, str]) -> None:
    leaked = {where: _leaks(text) for where, text in texts.items() if _leaks(text)}
    assert not leaked, leaked


def _echo_authorization(handler):
    """An AWS endpoint that puts the caller's Authorization header (the access key id) in its error."""
    auth = handler.headers.get("Authorization", "")
    return 403, {"x-amzn-ErrorType": "AccessDeniedException", "Content-Type": "application/json"}, \
        json.dumps({"message": f"User is not authorized; request was signed with {auth}"}).encode()


def test_audit_outputs_hold_no_secret(make_system, http_server, secret_env, capsys, caplog):
    caplog.set_level(logging.DEBUG, logger="compliance")
    caplog.set_level(logging.INFO)
    pasted = f"{evidence('0' * 12)} (debug: GITHUB_TOKEN={GH_TOKEN} aws {AWS_KEY_ID}:{AWS_SECRET})"
    system = make_system(worklog=pasted, dm_summary=f"deploy with x-internal-key {API_KEY}",
                         probe_body=json.dumps({"success": True, "capabilities": {
                             "contract_version": "0.3.0", "debug_key": API_KEY}}).encode())
    system.repo.commit(f"rotate key {API_KEY} ENC-TSK-327 token={GH_TOKEN}",
                       {"backend/lambda/coordination_api/lambda_function.py": "v = 3\n"},
                       author_date="2026-03-02T12:00:00+00:00")
    echo = http_server(_echo_authorization)
    system.add_config(f"sources:\n  lambda: {{endpoint_url: '{echo.url}'}}\n")
    secret_env()
    out = system.root / "out"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        def echo_github(request):
            return 502, {"Content-Type": "application/json"}, json.dumps(
                {"message": f"proxy error for Authorization: {request.headers.get('Authorization')}"})
        rsps.add_callback(responses.GET, re.compile(r"https://api\.github\.com/.*"), callback=echo_github)
        gh = FakeGitHub(rsps, system.runs())
        code = main(audit_args(system.config, out, *ALL_FORMATS))
        assert GH_TOKEN in gh.calls[0].headers.get("Authorization", "")  # the token was really sent and echoed
    cap = capsys.readouterr()
    assert code == 2
    assert {p.name for p in out.iterdir()} >= {"report.md", "report.html", "report.json", "report.sarif",
                                              "report.junit.xml", "snapshot.json"}
    snapshot = (out / "snapshot.json").read_text("utf-8")
    assert "***" in snapshot  # the planted values were there and were masked, not silently dropped
    _assert_clean({"stdout": cap.out, "stderr": cap.err, "logs": caplog.text,
                   **_files(out, system.root / "cache")})

    # offline re-evaluation of that snapshot, into every format
    again = system.root / "again"
    code = main(["evaluate", "--snapshot", str(out / "snapshot.json"), "--policies", str(POLICIES), "--out",
                 str(again), *ALL_FORMATS])
    cap = capsys.readouterr()
    _assert_clean({"stdout": cap.out, "stderr": cap.err, **_files(again)})


@pytest.fixture(scope="module")
def audited(moto_server, tmp_path_factory):
    """``(shas, snapshot text)`` of one audit of the default live system, made once for this module:
    the tests below only plant text in their own copy of the snapshot (ten audits before)."""
    root = tmp_path_factory.mktemp("audited")
    servers: list[moto_env.LoopbackServer] = []

    def http_server(respond):
        servers.append(moto_env.LoopbackServer(respond))
        return servers[-1]

    try:
        with pytest.MonkeyPatch.context() as mp:
            moto_env.point_at(mp, moto_server)
            moto_env.reset(moto_server)
            system = system_builder(root, http_server, mp)()
            with responses.RequestsMock() as rsps:
                FakeGitHub(rsps, system.runs())
                main(audit_args(system.config, root / "out"))
    finally:
        moto_env.reset(moto_server)
        for server in servers:
            server.close()
    return system.shas, (root / "out" / "snapshot.json").read_text("utf-8")


def _audited_snapshot(audited, secret_env, tmp_path):
    """An audit's snapshot, read back for a test to plant text in as a snapshot from elsewhere would hold it."""
    shas, text = audited
    secret_env()
    return shas, tmp_path, json.loads(text)


def test_evaluate_masks_secrets_held_in_a_snapshot(audited, secret_env, capsys, tmp_path):
    """A snapshot written elsewhere (an older version, by hand) may hold a token: reports still mask it."""
    shas, root, doc = _audited_snapshot(audited, secret_env, tmp_path)
    item = doc["sources"]["tracker"]["data"]["items"]["ENC-TSK-326"]
    item["history"].append({"timestamp": "2026-03-02T10:00:00Z", "status": "worklog",
                            "description": f"Deployed commit {shas['squash'][:12]} with {GH_TOKEN} "
                                           f"and {AWS_SECRET} key {API_KEY} LastModified=2026-02-26T12:05:00.000+0000 "
                                           "State=Active LastUpdateStatus=Successful -> 200"})
    item["title"] = f"title {API_KEY}"
    doc["sources"]["git"]["data"]["commits"][-1]["subject"] += f" {GH_TOKEN} {AWS_KEY_ID}"
    snap = root / "held.json"
    snap.write_text(json.dumps(doc), "utf-8")
    again = root / "again"
    main(["evaluate", "--snapshot", str(snap), "--policies", str(POLICIES), "--out", str(again), *ALL_FORMATS])
    cap = capsys.readouterr()
    _assert_clean({"stdout": cap.out, "stderr": cap.err, **_files(again)})


def test_demo_outputs_hold_no_secret(tmp_path, secret_env, capsys, monkeypatch):
    secret_env()
    monkeypatch.setenv("COMPLIANCE_CACHE_DIR", str(tmp_path / "cache"))
    code = main(["demo", "--workdir", str(tmp_path / "work"), "--out", str(tmp_path / "out")])
    cap = capsys.readouterr()
    assert code == 0
    _assert_clean({"stdout": cap.out, "stderr": cap.err, **_files(tmp_path / "out", tmp_path / "cache")})


def test_etag_cache_holds_no_request_header(make_system, secret_env, capsys):
    system = make_system()
    secret_env()
    with responses.RequestsMock() as rsps:
        FakeGitHub(rsps, system.runs())
        main(audit_args(system.config, system.root / "out"))
    capsys.readouterr()
    cached = _files(system.root / "cache")
    assert cached  # the page was cached...
    _assert_clean(cached)  # ...without the token that fetched it
    assert GOOD_BODY  # the probe answered normally; only GitHub is cached


# Secrets nobody put in the environment, in the shapes they are pasted in (issue 13, item 3).
STS_SECRET = "Kx9vB2mQ7zT4nR8cW1yH6jL3pF5dS0aE/gU+iO7k"
STS_TOKEN = "FwoGZXIvYXdzEBYaDH" + "q1Zq7" * 20
PEM_BODY = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"
BEARER = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZXBsb3kifQ.c2lnbmF0dXJlLXZhbHVl"
URL_PASSWORD = "Pa55-in-the-url"
PASTED = {"aws secret": STS_SECRET, "session token": STS_TOKEN, "pem": PEM_BODY, "bearer": BEARER,
          "url password": URL_PASSWORD}
PASTED_TEXT = (f" aws_secret_access_key={STS_SECRET}\n"
               f'{{"Credentials": {{"AccessKeyId": "ASIAQX7VJ2M4T6B8N3LR", "SecretAccessKey": "{STS_SECRET}", '
               f'"SessionToken": "{STS_TOKEN}"}}}}\n'
               f"-----BEGIN PRIVATE KEY-----\n{PEM_BODY}\n-----END PRIVATE KEY-----\n"
               f"curl -H 'Authorization: Bearer {BEARER}' https://deploy:{URL_PASSWORD}@ci.example/hook")


def _pasted_leaks(texts: dict[str, str]) -> dict[str, list[str]]:
    found = {where: [name for name, v in PASTED.items() if v in text] for where, text in texts.items()}
    return {where: names for where, names in found.items() if names}


def test_pasted_aws_sts_pem_and_header_secrets_reach_no_output(make_system, capsys):
    system = make_system(worklog=evidence("0" * 12) + PASTED_TEXT, dm_summary="deploy" + PASTED_TEXT)
    system.repo.commit(f"debug ENC-TSK-327{PASTED_TEXT}", {"backend/lambda/coordination_api/lambda_function.py":
                                                            "v = 4\n"}, author_date="2026-03-02T12:00:00+00:00")
    out = system.root / "out"
    with responses.RequestsMock() as rsps:
        FakeGitHub(rsps, system.runs())
        main(audit_args(system.config, out, *ALL_FORMATS))
    cap = capsys.readouterr()
    files = _files(out)
    assert not _pasted_leaks({"stdout": cap.out, "stderr": cap.err, **files})
    snapshot = files[str(out / "snapshot.json")]
    assert "aws_secret_access_key=***" in snapshot and '\\"SecretAccessKey\\": \\"***\\"' in snapshot
    # what the reader needs is intact: the commit SHAs the evidence names
    assert system.shas["squash"] in files[str(out / "report.json")]


PASTED_GH = "ghp_" + "Wd4" * 12  # a token of no environment variable: only its shape identifies it


@pytest.mark.parametrize("head", [12, 19, 23])
@pytest.mark.parametrize("token", [PASTED_GH, API_KEY, AWS_KEY_ID], ids=["github-shape", "env-secret", "akia"])
def test_a_secret_straddling_the_evidence_cut_leaves_no_head(audited, secret_env, capsys, tmp_path, head, token):
    """A snapshot from elsewhere (not masked when written): the worklog label is cut at 300 characters, and
    the cut must come after masking, or the token's first ``head`` characters stay in the reports."""
    shas, root, doc = _audited_snapshot(audited, secret_env, tmp_path)
    item = doc["sources"]["tracker"]["data"]["items"]["ENC-TSK-325"]
    text = evidence(shas["squash"]) + " "
    text += "x" * (300 - head - len(text)) + token + " trailing words"
    item["history"].append({"timestamp": "2026-03-02T10:00:00Z", "status": "worklog", "description": text})
    snap = root / "held.json"
    snap.write_text(json.dumps(doc), "utf-8")
    again = root / "again"
    main(["evaluate", "--snapshot", str(snap), "--policies", str(POLICIES), "--out", str(again), *ALL_FORMATS])
    cap = capsys.readouterr()
    texts = {"stdout": cap.out, **_files(again)}
    assert not [where for where, t in texts.items() if token[:head] in t]
    # the label is there, masked, then cut (a 20-character AKIA id cut after 23 fits whole: a control)
    assert "x" * 50 + "***" in texts[str(again / "report.html")]  # a pass: report.json (v2) keeps no evidence


def test_the_start_of_a_known_secret_is_masked_as_the_whole_is(audited, secret_env, capsys, tmp_path):
    """Probe 13: an error body echoing a token's first 16 characters ("token ghs_pr00pr00pr00 revoked") printed
    them. Every known secret's head (8 characters on) is masked with all of the value that follows it, in
    the console, every report and the snapshot saved beside them."""
    from compliance.base.redact import HEAD
    shas, root, doc = _audited_snapshot(audited, secret_env, tmp_path)
    heads = [value[:n] for value in SECRETS.values() for n in (HEAD, HEAD + 3, len(value) - 1)]
    item = doc["sources"]["tracker"]["data"]["items"]["ENC-TSK-326"]
    item["history"].append({"timestamp": "2026-03-02T10:00:00Z", "status": "worklog",
                            "description": f"Deployed commit {shas['squash'][:12]}; " + " / ".join(heads)})
    doc["sources"]["probe"] = {**doc["sources"]["probe"], "status": "error", "data": None,
                               "error": {"type": "HTTPError", "message": f"401: token {GH_TOKEN[:16]} revoked"}}
    snap = root / "heads.json"
    snap.write_text(json.dumps(doc), "utf-8")
    again = root / "again"
    main(["evaluate", "--snapshot", str(snap), "--policies", str(POLICIES), "--out", str(again), *ALL_FORMATS])
    cap = capsys.readouterr()
    texts = {"stdout": cap.out, "stderr": cap.err, **_files(again)}
    leaked = {where: [v[:HEAD] for v in SECRETS.values() if v[:HEAD] in text] for where, text in texts.items()}
    assert not {k: v for k, v in leaked.items() if v}, leaked
    assert "401: token *** revoked" in cap.out
