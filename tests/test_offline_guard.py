"""The offline guard (tests/offline_guard.py) refuses lookups past loopback at once and remembers them,
and leaves loopback alone: without it a test that forgets to serve a source waits out a client's back-off."""

from __future__ import annotations

import socket

import pytest

from tests.offline_guard import Guard


@pytest.mark.parametrize("host", ["api.github.com", b"api.github.com", "169.254.169.254", "10.0.0.1", "localhost.evil"])
def test_a_lookup_past_loopback_is_refused_and_named(host):
    guard = Guard()
    with pytest.raises(socket.gaierror, match="tests are offline"):
        guard.getaddrinfo(host, 443)
    name = host.decode() if isinstance(host, bytes) else host
    assert guard.asked == [name]


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.0.0.2", "::1"])
def test_loopback_resolves_and_is_not_recorded(host):
    guard = Guard()
    assert guard.getaddrinfo(host, 80)
    assert guard.asked == []


def test_a_localhost_subdomain_is_left_to_the_resolver():
    # bucket.localhost style names (S3 virtual hosts on an emulator) are loopback by RFC 6761: not the guard's
    guard = Guard()
    try:
        guard.getaddrinfo("bucket.localhost", 80)
    except socket.gaierror as exc:
        assert "tests are offline" not in str(exc)
    assert guard.asked == []


def test_every_test_runs_with_the_guard_in_place(offline):
    assert socket.getaddrinfo == offline.getaddrinfo
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("example.com", 443)
    offline.asked.clear()  # this test asked on purpose: the fixture would fail it at teardown
