"""One boto3 session per profile, region and AWS environment, reused by every client of a process.

Building a botocore session costs ~5 ms (it registers ~120 event handlers, each through
``inspect``) and its first client pays again for the endpoint data and the credential chain;
a deploy builds ~15 clients, an audit ~10. A session is kept per (profile, region) together
with a fingerprint of what credential and config resolution read: every ``AWS_*`` variable
(hashed, so no secret sits in a key) and the config and credentials files' identity, size and
mtime. A changed fingerprint builds a fresh session, so a test or a long-running process that
changes its environment never gets credentials resolved for another one.

Clients are *not* shared: each ``client_for`` gets its own client from the kept session. A
client carries its own event registry (the request counter of its meter, a test's Stubber) and
its own retry quota, so sharing one would leak them between sources; a client built from a
kept session costs 2-5 ms. boto3 sessions are not thread-safe for creating clients, so
creation from a kept session holds a lock.

A session whose credential chain found nothing is kept too: botocore caches only credentials it
found, so every client of such a session runs the chain again (once per client, as a fresh session
would); asking the session first whether it found any would run the chain, IMDS included, twice.
"""

from __future__ import annotations

import hashlib
import os
import threading
from typing import Any

_LOCK = threading.Lock()
_SESSIONS: dict[tuple[str | None, str], tuple[str, Any]] = {}
_LOADER: Any = None


def environment_fingerprint() -> str:
    """A digest of everything credential/config resolution reads from the process environment."""
    digest = hashlib.sha256()
    for name, value in sorted(os.environ.items()):
        if name.startswith("AWS_"):
            digest.update(f"{name}\0{value}\0".encode("utf-8", "surrogateescape"))
    for path in (os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config",
                 os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials"):
        full = os.path.expanduser(path)
        try:
            st = os.stat(full)
            ident = f"{full}\0{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"
        except OSError:
            ident = f"{full}\0missing"
        digest.update(ident.encode("utf-8", "surrogateescape") + b"\0")
    return digest.hexdigest()


def new_client(service: str, region: str, profile: str | None, **kwargs: Any) -> Any:
    """A fresh client from the session kept for this profile, region and environment."""
    key = (profile, region)
    fingerprint = environment_fingerprint()
    with _LOCK:
        kept = _SESSIONS.get(key)
        if kept is not None and kept[0] == fingerprint:
            return kept[1].client(service, **kwargs)
        session = _new_session(profile, region)
        _SESSIONS[key] = (fingerprint, session)
        return session.client(service, **kwargs)


def clear() -> None:
    """Forget every kept session (tests that patch botocore itself call this)."""
    with _LOCK:
        _SESSIONS.clear()


def _new_session(profile: str | None, region: str) -> Any:
    """A boto3 session around a fresh botocore session that shares one model loader.

    The loader only caches files shipped with botocore, so sharing it across sessions changes
    nothing but the cost of parsing the endpoint and service models again. Called under the lock:
    boto3 appends its data folder to the shared loader's search path for every session it wraps.
    """
    import boto3
    import botocore.session

    global _LOADER
    core = botocore.session.get_session()
    if _LOADER is None:
        _LOADER = core.get_component("data_loader")
    else:
        core.register_component("data_loader", _LOADER)
    session = boto3.session.Session(botocore_session=core, profile_name=profile, region_name=region)
    _LOADER.search_paths[:] = list(dict.fromkeys(_LOADER.search_paths))
    return session
