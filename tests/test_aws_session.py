"""The kept boto3 session: reused while the AWS environment is unchanged, rebuilt when it changes,
credentials looked for anew by every client while none are found, and clients (with their meters) still one per caller."""

from __future__ import annotations

import threading

import botocore.session
import pytest

from compliance.sources import aws, aws_session, lambda_fn
from compliance.sources.base import Meter, run_source
from tests import moto_env as me


@pytest.fixture
def built(monkeypatch):
    """Count the botocore sessions really built (the real get_session, counted)."""
    aws_session.clear()
    calls: list[int] = []
    real = botocore.session.get_session

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(botocore.session, "get_session", counting)
    yield calls
    aws_session.clear()


def test_one_session_for_many_clients_in_an_unchanged_environment(offline_aws, built):
    clients = [aws.client_for(svc, me.REGION, Meter()) for svc in ("lambda", "dynamodb", "lambda", "s3")]
    assert len(built) == 1
    assert len({id(c) for c in clients}) == 4  # clients are never shared
    assert len({id(c.meta.events) for c in clients}) == 4


def test_a_changed_aws_variable_or_config_file_builds_a_fresh_session(offline_aws, built, monkeypatch, tmp_path):
    aws.client_for("lambda", me.REGION, Meter())
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "other")
    client = aws.client_for("lambda", me.REGION, Meter())
    assert len(built) == 2
    assert client._request_signer._credentials.access_key == "other"
    config = tmp_path / "config"
    config.write_text("[default]\nregion = eu-west-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    aws.client_for("lambda", me.REGION, Meter())
    aws.client_for("lambda", me.REGION, Meter())
    assert len(built) == 3
    config.write_text("[default]\nregion = eu-west-1\nmax_attempts = 2\n")
    aws.client_for("lambda", me.REGION, Meter())
    assert len(built) == 4
    aws.client_for("lambda", "us-east-1", Meter())  # another region: its own session
    assert len(built) == 5


def test_missing_credentials_are_an_error_every_time_and_found_once_they_appear(offline_aws, built, monkeypatch,
                                                                              tmp_path):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for _ in range(2):  # the kept session holds no "no credentials" answer: each client asks again
        env = run_source("boto3", "fn", lambda m: lambda_fn.collect_lambda(me.FUNCTION, me.REGION, meter=m))
        assert env["status"] == "error" and env["error"]["type"] == "NoCredentials"
    assert len(built) == 1
    credentials = tmp_path / "credentials"
    credentials.write_text("[default]\naws_access_key_id = fromfile\naws_secret_access_key = x\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    client = aws.client_for("lambda", me.REGION, Meter())
    assert client._request_signer._credentials.access_key == "fromfile"


def test_a_missing_profile_is_an_error(offline_aws, built):
    env = run_source("boto3", "fn", lambda m: lambda_fn.collect_lambda(
        me.FUNCTION, me.REGION, meter=m, options={"profile": "no-such-profile"}))
    assert env["status"] == "error" and env["error"]["type"] == "NoCredentials"
    assert "no-such-profile" in env["error"]["message"]


def test_meters_count_per_source_on_one_session(aws_env, built):
    me.create_function()  # the fixture's own boto3 clients may build sessions: count from here
    start = len(built)
    first, second = Meter(), Meter()
    lambda_fn.collect_lambda(me.FUNCTION, me.REGION, meter=first, versions=False)
    lambda_fn.collect_lambda(me.FUNCTION, me.REGION, meter=second)
    lambda_fn.collect_lambda(me.FUNCTION, me.REGION, meter=second, versions=False)
    assert (first.requests, second.requests) == (1, 3)
    assert len(built) - start == 1


def test_parallel_creation_shares_one_session_and_every_client_works(aws_env, built):
    me.create_function()
    start = len(built)
    meters = [Meter() for _ in range(8)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(meters))

    def work(meter: Meter) -> None:
        try:
            barrier.wait()
            lambda_fn.collect_lambda(me.FUNCTION, me.REGION, meter=meter, versions=False)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(m,)) for m in meters]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [m.requests for m in meters] == [1] * 8
    assert 1 <= len(built) - start <= 8  # racing first builds may each build one; afterwards one is kept
    before = len(built)
    lambda_fn.collect_lambda(me.FUNCTION, me.REGION, meter=Meter(), versions=False)
    assert len(built) == before
