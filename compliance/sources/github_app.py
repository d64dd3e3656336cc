"""GitHub App authentication: an app id and its private key, exchanged for an installation token.

The documented alternative to ``GITHUB_TOKEN`` for audits across many repositories: an App's
installation token has its own, higher rate limit and belongs to no person. The exchange is
PyGithub's own (``github.Auth.AppAuth`` signs the JWT, ``GithubIntegration`` finds the installation
and creates the token), so no JWT code lives here. Environment:

- ``GITHUB_APP_ID`` and ``GITHUB_APP_PRIVATE_KEY`` (the PEM text) or ``GITHUB_APP_PRIVATE_KEY_PATH``;
- ``GITHUB_APP_INSTALLATION_ID``, or else the installation is found from the repository
  (``GET /repos/{owner}/{repo}/installation``; the repository called, else ``GITHUB_REPOSITORY``).

The key and each token are added to the redaction set the moment they are read. Tokens are kept
per installation until five minutes before GitHub says they expire (an hour), so one run asks once.
"""

from __future__ import annotations

import os
import threading
from datetime import datetime, timedelta, timezone

from compliance.base.errors import ComplianceError
from compliance.base.redact import redact, remember_secret

APP_ID_ENV = "GITHUB_APP_ID"
APP_KEY_ENV = "GITHUB_APP_PRIVATE_KEY"
APP_KEY_PATH_ENV = "GITHUB_APP_PRIVATE_KEY_PATH"
APP_INSTALLATION_ENV = "GITHUB_APP_INSTALLATION_ID"
REFRESH_BEFORE = timedelta(minutes=5)

_TOKENS: dict[tuple[str, str, str], tuple[str, datetime]] = {}
_INSTALLATIONS: dict[tuple[str, str, str], str] = {}
_LOCK = threading.Lock()


def app_configured() -> bool:
    """Whether the environment names a GitHub App (an id and a key, inline or as a file)."""
    return bool((os.environ.get(APP_ID_ENV) or "").strip()
                and ((os.environ.get(APP_KEY_ENV) or "").strip() or (os.environ.get(APP_KEY_PATH_ENV) or "").strip()))


def _private_key() -> str:
    inline = os.environ.get(APP_KEY_ENV) or ""
    if inline.strip():
        # a key pasted into a CI variable often has literal "\n" for its line breaks
        key = inline.replace("\\n", "\n") if "\\n" in inline and "\n" not in inline.strip() else inline
    else:
        path = os.environ.get(APP_KEY_PATH_ENV, "").strip()
        try:
            with open(path, encoding="utf-8") as fh:
                key = fh.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise ComplianceError(f"{APP_KEY_PATH_ENV}: cannot read the GitHub App private key {path}: "
                                  f"{getattr(exc, 'strerror', None) or type(exc).__name__}") from None
    # the whole key, and each line of its body: an error quoting one line must not print it either
    for value in (key, key.strip(), *(line.strip() for line in key.splitlines()
                                      if len(line.strip()) >= 16 and not line.startswith("-----"))):
        remember_secret(value)
    if "PRIVATE KEY-----" not in key:
        raise ComplianceError("the GitHub App private key is not a PEM private key "
                              f"({APP_KEY_ENV} or {APP_KEY_PATH_ENV})")
    return key


def _integration(base_url: str):
    import github

    app_id = os.environ[APP_ID_ENV].strip()
    auth = github.Auth.AppAuth(app_id, _private_key())
    return github.GithubIntegration(auth=auth, base_url=base_url, retry=None, timeout=30), app_id


def installation_token(base_url: str, repo: str | None = None) -> str:
    """An installation token for the App in the environment (cached until shortly before it expires)."""
    from github import GithubException
    from jwt import PyJWTError  # PyGithub's JWT library, loaded with it (lazily, like github itself)

    app_id = os.environ.get(APP_ID_ENV, "").strip()
    installation = (os.environ.get(APP_INSTALLATION_ENV) or "").strip()
    repo = repo or (os.environ.get("GITHUB_REPOSITORY") or "").strip() or None
    if not installation and not repo:
        raise ComplianceError(f"GitHub App authentication needs {APP_INSTALLATION_ENV} or a repository "
                              "to find the installation from")
    with _LOCK:
        installation = installation or _INSTALLATIONS.get((base_url, app_id, repo or ""), "")
        cached = _TOKENS.get((base_url, app_id, installation)) if installation else None
        if cached and cached[1] - REFRESH_BEFORE > datetime.now(timezone.utc):
            remember_secret(cached[0])  # learnt again: a token handed out is masked even after forget_secrets()
            return cached[0]
        integration, app_id = _integration(base_url)
        try:
            if not installation:
                owner, _, name = (repo or "").partition("/")
                installation = str(integration.get_repo_installation(owner, name).id)
                _INSTALLATIONS[(base_url, app_id, repo or "")] = installation
            granted = integration.get_access_token(int(installation))
        except GithubException as exc:
            detail = exc.data.get("message") if isinstance(exc.data, dict) else ""
            raise ComplianceError(redact(f"GitHub App {app_id}: no installation token "
                                         f"({'installation ' + installation if installation else repo}): "
                                         f"HTTP {exc.status}{': ' + detail if detail else ''}")) from None
        except (ValueError, TypeError, PyJWTError) as exc:  # a key PyJWT cannot load, an id not a number
            raise ComplianceError(f"GitHub App {app_id}: {type(exc).__name__}: the private key or the "
                                  "installation id is not usable") from None
        finally:
            integration.close()
        token = granted.token
        remember_secret(token)
        expires = granted.expires_at or datetime.now(timezone.utc) + timedelta(hours=1)
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=timezone.utc)
        _TOKENS[(base_url, app_id, installation)] = (token, expires)
        return token


def forget_tokens() -> None:
    """Drop every cached token and installation (tests; a process that switches Apps)."""
    with _LOCK:
        _TOKENS.clear()
        _INSTALLATIONS.clear()


__all__ = ["APP_ID_ENV", "APP_INSTALLATION_ENV", "APP_KEY_ENV", "APP_KEY_PATH_ENV", "app_configured",
           "forget_tokens", "installation_token"]
