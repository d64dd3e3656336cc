"""One boto3 session per profile, region and AWS environment, reused by every client of a process.

Building a botocore session costs ~5 ms (it registers ~120 event handlers, each through
``inspect``) and its first client pays again for the endpoint data and the credential chain;
a deploy builds ~15 clients, an audit ~10. A session is kept per (profile, region) together
with a fingerprint of what credential and config resolution read: every ``AWS_*`` variable
and the config and credentials files' contents (hashed, so no secret sits in a key; contents, not
size and mtime, which a rewrite can leave as they were). A changed fingerprint builds a fresh
session, so a test or a long-running process that changes its environment never gets credentials
resolved for another one. The fingerprint is taken under the lock, and again once the session has
resolved its credentials: a session is kept only if the environment did not change meanwhile.

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
_LOADERS: dict[Any, Any] = {}  # model loader per data path (AWS_DATA_PATH or the config's data_path)


def environment_fingerprint() -> str:
    """A digest of everything credential/config resolution reads from the process environment."""
    digest = hashlib.sha256()
    for name, value in sorted(os.environ.items()):
        if name.startswith("AWS_"):
            digest.update(f"{name}\0{value}\0".encode("utf-8", "surrogateescape"))
    for path in (os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config",
                 os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials"):
        full = os.path.abspath(os.path.expanduser(path))
        digest.update(full.encode("utf-8", "surrogateescape") + b"\0")
        try:
            with open(full, "rb") as fh:
                digest.update(b"file\0" + hashlib.sha256(fh.read()).digest())
        except OSError:
            digest.update(b"missing\0")
    return digest.hexdigest()


def new_client(service: str, region: str, profile: str | None, **kwargs: Any) -> Any:
    """A fresh client from the session kept for this profile, region and environment."""
    key = (profile, region)
    with _LOCK:
        fingerprint = environment_fingerprint()  # under the lock: the environment this session is built in
        kept = _SESSIONS.get(key)
        if kept is not None and kept[0] == fingerprint:
            return kept[1].client(service, **kwargs)
        _SESSIONS.pop(key, None)
        session = _new_session(profile, region)
        client = session.client(service, **kwargs)  # the session resolves config and credentials here
        if environment_fingerprint() == fingerprint:  # else it may mix two environments: used once, not kept
            _SESSIONS[key] = (fingerprint, session)
        return client


def clear() -> None:
    """Forget every kept session (tests that patch botocore itself call this)."""
    with _LOCK:
        _SESSIONS.clear()
        _LOADERS.clear()


def _new_session(profile: str | None, region: str) -> Any:
    """A boto3 session around a fresh botocore session that shares a model loader per data path.

    A loader caches the models and endpoint data it finds on its search path: botocore's own files
    and the folders of ``AWS_DATA_PATH`` (or the config's ``data_path``). Sessions with the same data
    path share one, which saves parsing those files again; one with another data path gets its own,
    or it would read the models of another environment. Called under the lock: boto3 appends its
    data folder to the shared loader's search path for every session it wraps.
    """
    import boto3
    import botocore.session

    core = botocore.session.get_session()
    if profile is not None:
        core.set_config_variable("profile", profile)  # as boto3 does, so the data path is the profile's
    data_path = core.get_config_variable("data_path")
    loader = _LOADERS.get(data_path)
    if loader is None:
        loader = _LOADERS[data_path] = core.get_component("data_loader")
    else:
        core.register_component("data_loader", loader)
    session = boto3.session.Session(botocore_session=core, profile_name=profile, region_name=region)
    loader.search_paths[:] = list(dict.fromkeys(loader.search_paths))
    return session
