"""GitHub App authentication: app id + private key -> an installation token through PyGithub, served by
`responses` with GitHub's payload shapes (the token answer as in PyGithub's tests/ReplayData
Authentication.testAppInstallationAuthAuthentication; the installation as GitHub's REST reference shows it)."""

from __future__ import annotations

import json

import pytest
import responses

from compliance.base.errors import ComplianceError
from compliance.base.redact import forget_secrets, redact
from compliance.sources import github_app
from compliance.sources.github_client import api_token, auth_identity
from tests.github_payloads import REPO, FakeGitHub, pull_request

serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization",
                                    reason="cryptography (PyGithub's pyjwt[crypto]) signs the App's JWT")
rsa = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.rsa", reason="as above")
jwt = pytest.importorskip("jwt", reason="PyGithub's JWT library, to check what it signed")

API = "https://api.github.com:443"
APP_ID, INSTALLATION = "873412", 29782936
TOKEN = "ghs_" + "A1b2C3d4E5f6G7h8I9j0" * 2


def installation_payload(installation: int = INSTALLATION) -> dict:
    """GET /repos/{owner}/{repo}/installation, as GitHub answers it."""
    return {
        "id": installation, "client_id": "Iv1.8a61f9b3a7aba766", "app_id": int(APP_ID), "app_slug": "acme-compliance",
        "target_id": 90210, "target_type": "Organization", "repository_selection": "selected",
        "account": {"login": "acme-ops", "id": 90210, "node_id": "MDEyOk9yZ2FuaXphdGlvbjkwMjEw", "type": "Organization",
                    "url": "https://api.github.com/users/acme-ops", "html_url": "https://github.com/acme-ops",
                    "site_admin": False},
        "access_tokens_url": f"https://api.github.com/app/installations/{installation}/access_tokens",
        "repositories_url": "https://api.github.com/installation/repositories",
        "html_url": f"https://github.com/organizations/acme-ops/settings/installations/{installation}",
        "permissions": {"actions": "read", "checks": "write", "contents": "read", "metadata": "read",
                        "pull_requests": "write", "statuses": "write", "issues": "write"},
        "events": [], "created_at": "2026-01-05T09:12:44Z", "updated_at": "2026-02-01T10:00:00Z",
        "single_file_name": None, "has_multiple_single_files": False, "single_file_paths": [],
        "suspended_by": None, "suspended_at": None,
    }


def token_payload(token: str = TOKEN, expires: str = "2099-11-25T01:00:02Z") -> dict:
    """POST /app/installations/{id}/access_tokens (201), as recorded in PyGithub's ReplayData."""
    return {"token": token, "expires_at": expires, "permissions": {"metadata": "read"},
            "repository_selection": "selected"}


@pytest.fixture
def app_env(monkeypatch):
    """An App in the environment with a throwaway RSA key; returns (PEM text, public key)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    for name in ("GITHUB_TOKEN", "GH_TOKEN", "GITHUB_APP_INSTALLATION_ID", "GITHUB_APP_PRIVATE_KEY_PATH",
                 "GITHUB_REPOSITORY", "GITHUB_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GITHUB_APP_ID", APP_ID)
    monkeypatch.setenv("GITHUB_APP_PRIVATE_KEY", pem)
    github_app.forget_tokens()
    yield pem, key.public_key()
    github_app.forget_tokens()


def _serve(rsps, *, installation_status: int = 200, token: str = TOKEN):
    rsps.add(responses.GET, f"{API}/repos/{REPO}/installation", status=installation_status,
             json=installation_payload() if installation_status == 200 else
             {"message": "Not Found", "documentation_url": "https://docs.github.com/rest/apps/apps"})
    rsps.add(responses.POST, f"{API}/app/installations/{INSTALLATION}/access_tokens", status=201,
             json=token_payload(token))


def test_the_installation_is_found_from_the_repository_and_its_token_used(app_env):
    pem, public = app_env
    with responses.RequestsMock() as rsps:
        _serve(rsps)
        assert api_token(repo=REPO) == TOKEN
        assert [c.request.method for c in rsps.calls] == ["GET", "POST"]
        for call in rsps.calls:  # both signed as the App: a JWT PyGithub made with our key
            scheme, _, signed = call.request.headers["Authorization"].partition(" ")
            assert scheme == "Bearer"
            claims = jwt.decode(signed, public, algorithms=["RS256"])
            assert str(claims["iss"]) == APP_ID
        # cached until shortly before it expires: a second client asks nothing
        assert api_token(repo=REPO) == TOKEN
        assert len(rsps.calls) == 2


def test_an_installation_id_skips_the_lookup_and_a_key_file_works(app_env, monkeypatch, tmp_path):
    pem, _ = app_env
    key_file = tmp_path / "app.pem"
    key_file.write_text(pem, "utf-8")
    monkeypatch.delenv("GITHUB_APP_PRIVATE_KEY")
    monkeypatch.setenv("GITHUB_APP_PRIVATE_KEY_PATH", str(key_file))
    monkeypatch.setenv("GITHUB_APP_INSTALLATION_ID", str(INSTALLATION))
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, f"{API}/app/installations/{INSTALLATION}/access_tokens", status=201,
                 json=token_payload())
        assert api_token() == TOKEN
        assert json.loads(rsps.calls[0].request.body) == {"permissions": {}}


def test_an_expiring_token_is_replaced(app_env, monkeypatch):
    monkeypatch.setenv("GITHUB_APP_INSTALLATION_ID", str(INSTALLATION))
    fresh = "ghs_" + "Z9y8X7w6V5u4T3s2R1q0" * 2
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, f"{API}/app/installations/{INSTALLATION}/access_tokens", status=201,
                 json=token_payload(expires="2000-01-01T00:00:00Z"))
        rsps.add(responses.POST, f"{API}/app/installations/{INSTALLATION}/access_tokens", status=201,
                 json=token_payload(fresh))
        assert api_token() == TOKEN
        assert api_token() == fresh


def test_a_token_in_the_environment_wins_and_nothing_is_asked(app_env, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_" + "x" * 36)
    with responses.RequestsMock():
        assert api_token(repo=REPO) == "ghp_" + "x" * 36
        assert auth_identity() == "ghp_" + "x" * 36


def test_the_key_and_the_token_are_masked(app_env):
    pem, _ = app_env
    with responses.RequestsMock() as rsps:
        _serve(rsps)
        api_token(repo=REPO)
    body = pem.split("\n")[5]
    out = redact(f"key {pem} line {body} token {TOKEN}")
    assert TOKEN not in out and body not in out and out.startswith("key ***")
    assert auth_identity() == f"github-app:{APP_ID}"  # the slot key asks GitHub nothing


def test_a_cached_token_is_masked_after_the_learnt_secrets_are_forgotten(app_env):
    """A token of no known shape (GitHub's older ``v1.`` form) is masked only because it was learnt; the
    cache hands it out again after ``forget_secrets`` (a process running checks in turn) and must teach it again."""
    token = "v1." + "0f1e2d3c4b5a6978" * 2 + "01234567"
    assert token in redact(f"token {token}")  # nothing but learning it masks it
    with responses.RequestsMock() as rsps:
        _serve(rsps, token=token)
        assert api_token(repo=REPO) == token
        forget_secrets()
        assert token in redact(f"token {token}")
        assert api_token(repo=REPO) == token and len(rsps.calls) == 2  # from the cache: nothing asked
    assert redact(f"token {token}") == "token ***"


def test_an_app_not_installed_on_the_repository_is_a_clear_error(app_env):
    pem, _ = app_env
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        _serve(rsps, installation_status=404)
        with pytest.raises(ComplianceError) as caught:
            api_token(repo=REPO)
    text = str(caught.value)
    assert "HTTP 404" in text and APP_ID in text and REPO in text
    assert "PRIVATE KEY" not in text and pem.split("\n")[3] not in text


@pytest.mark.parametrize("key, says", [("not a key", "not a PEM private key"),
                                       ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "not usable")])
def test_an_unusable_key_is_a_clear_error(app_env, monkeypatch, key, says):
    monkeypatch.setenv("GITHUB_APP_PRIVATE_KEY", key)
    monkeypatch.setenv("GITHUB_APP_INSTALLATION_ID", str(INSTALLATION))
    with responses.RequestsMock(assert_all_requests_are_fired=False):
        with pytest.raises(ComplianceError, match=says) as caught:
            api_token()
    assert "AAAA" not in str(caught.value)


def test_no_installation_and_no_repository_is_a_clear_error(app_env):
    with pytest.raises(ComplianceError, match="GITHUB_APP_INSTALLATION_ID"):
        api_token()


def test_the_pr_check_reads_github_with_the_installation_token(setup, tmp_path, app_env, capsys, monkeypatch):
    """End to end: `compliance pr` authenticated as the App; the PR is read with the installation token."""
    from compliance.cli import main
    from tests.pr_system import pr_file

    config, repo, s, _ = setup
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)  # the `setup` fixture sets one; an App is the alternative to it
    pr = pull_request(42, changed_files=1, head_sha=s["direct"], body="Refs ENC-TSK-734")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        _serve(rsps)
        FakeGitHub(rsps, pr=pr, files=[pr_file("tools/enceladus-mcp-server/server.py")])
        assert main(["pr", "--config", str(config), "--pr", "42", "--out", str(tmp_path / "out")]) == 0
        reads = [c for c in rsps.calls if "/pulls/42" in c.request.url]
    assert reads and all(c.request.headers["Authorization"] == f"token {TOKEN}" for c in reads)
    captured = capsys.readouterr()
    assert TOKEN not in captured.out + captured.err
    assert TOKEN not in (tmp_path / "out" / "snapshot.json").read_text("utf-8")
