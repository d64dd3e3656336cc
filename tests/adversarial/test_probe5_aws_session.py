"""Hostile probe of the kept boto3 session: can a client get what was resolved for another environment?

Three ways it could, each shown with real boto3 clients (no network: ``offline_aws``):
the fingerprint was taken before the session was built (and before waiting for the lock), so a
session that resolved a changed environment was kept under the old environment's fingerprint; a
credentials file rewritten in place with its size and mtime unchanged kept the old credentials; and
the model loader shared by every session kept the ``AWS_DATA_PATH`` of the first one for the life of
the process, ``clear()`` included.
"""

from __future__ import annotations

import json
import os

import botocore.session
import pytest

from compliance.sources import aws, aws_session, lambda_fn
from compliance.sources.base import Meter, run_source
from tests import moto_env as me


@pytest.fixture
def fresh():
    aws_session.clear()
    yield
    aws_session.clear()


def _access_key(client) -> str:
    return client._request_signer._credentials.access_key


def test_a_session_built_while_the_environment_changes_is_not_kept_for_the_old_one(offline_aws, fresh,
                                                                                   monkeypatch):
    """Another thread changes the environment while a client is being built (here: just as botocore
    starts looking for credentials, the one instant that decides what the session holds).

    The session resolves the new credentials; kept under the fingerprint of the old environment, it
    was handed to every later client in the old environment. The real credential chain runs; the
    wrapper only changes the environment at that instant, once.
    """
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "FIRSTKEY")
    real = botocore.session.Session.get_credentials
    changed: list[bool] = []

    def changing(self, *args, **kwargs):
        if not changed:
            changed.append(True)
            monkeypatch.setenv("AWS_ACCESS_KEY_ID", "SECONDKEY")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(botocore.session.Session, "get_credentials", changing)
    assert _access_key(aws.client_for("lambda", me.REGION, Meter())) == "SECONDKEY"
    assert changed
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "FIRSTKEY")  # back to the first environment
    assert _access_key(aws.client_for("lambda", me.REGION, Meter())) == "FIRSTKEY"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "SECONDKEY")  # and the second again
    assert _access_key(aws.client_for("lambda", me.REGION, Meter())) == "SECONDKEY"


def test_a_credentials_file_rewritten_with_the_same_size_and_mtime_is_read_again(offline_aws, fresh, monkeypatch,
                                                                                 tmp_path):
    """Same inode, same size, mtime put back (a tool keeping times, or two writes in one clock tick)."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    credentials = tmp_path / "credentials"
    credentials.write_text("[default]\naws_access_key_id = AAAAAAAA\naws_secret_access_key = x\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    assert _access_key(aws.client_for("lambda", me.REGION, Meter())) == "AAAAAAAA"
    before = credentials.stat()
    credentials.write_text("[default]\naws_access_key_id = BBBBBBBB\naws_secret_access_key = x\n")
    os.utime(credentials, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = credentials.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (before.st_ino, before.st_size, before.st_mtime_ns)
    assert _access_key(aws.client_for("lambda", me.REGION, Meter())) == "BBBBBBBB"


MODEL = {
    "version": "2.0",
    "metadata": {"apiVersion": "2020-01-01", "endpointPrefix": "probesvc", "protocol": "json",
                 "jsonVersion": "1.1", "serviceId": "probesvc", "signatureVersion": "v4",
                 "targetPrefix": "ProbeSvc", "uid": "probesvc-2020-01-01"},
    "operations": {},
    "shapes": {},
}


def test_a_data_path_set_after_the_first_client_is_read(offline_aws, fresh, monkeypatch, tmp_path):
    """``AWS_DATA_PATH`` adds models and endpoint data; a session built for it must read them."""
    aws.client_for("lambda", me.REGION, Meter())  # a first session: the loader that was shared
    folder = tmp_path / "data" / "probesvc" / "2020-01-01"
    folder.mkdir(parents=True)
    (folder / "service-2.json").write_text(json.dumps(MODEL))
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path / "data"))
    client = aws.client_for("probesvc", me.REGION, Meter())
    assert client.meta.service_model.service_name == "probesvc"
    monkeypatch.delenv("AWS_DATA_PATH")
    with pytest.raises(aws.AwsSourceError, match="Unknown service"):  # and only while it is set
        aws.client_for("probesvc", me.REGION, Meter())


def test_a_failing_credential_process_is_no_credentials_and_its_output_never_shown(offline_aws, fresh,
                                                                                   monkeypatch, tmp_path):
    """botocore quotes the process's stderr; a helper that echoes what it handles would leak it."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    helper = tmp_path / "creds.sh"
    helper.write_text("#!/bin/sh\necho 'refused: secret key wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEY, "
                      "token FQoGZXIvYXdzPROBETOKEN' >&2\nexit 1\n")
    helper.chmod(0o755)
    config = tmp_path / "config"
    config.write_text(f"[profile helper]\ncredential_process = {helper}\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    env = run_source("boto3", "fn", lambda m: lambda_fn.collect_lambda(
        me.FUNCTION, me.REGION, meter=m, options={"profile": "helper", "max_attempts": 1}))
    assert env["status"] == "error" and env["error"]["type"] == "NoCredentials"
    assert "credential_process" in env["error"]["message"]
    text = json.dumps(env)
    assert "wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEY" not in text and "FQoGZXIvYXdzPROBETOKEN" not in text
