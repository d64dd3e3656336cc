"""The capability probe against a real HTTP server on loopback: answers are data, no answer raises."""

from __future__ import annotations

import json
import time
import urllib.error

import pytest

from compliance.sources.base import Meter, run_source
from compliance.sources.probe import probe
from tests import moto_env

GOOD = {"success": True, "capabilities": {"contract_version": "0.3.0", "tools": ["x"]}, "extra": "dropped"}
PATH = "/api/v1/coordination/capabilities"


def _json(status: int, body, delay: float = 0.0):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()

    def respond(_handler):
        if delay:
            time.sleep(delay)
        return status, {"Content-Type": "application/json"}, raw

    return respond


def test_well_formed_200(http_server):
    server = http_server(_json(200, GOOD, delay=0.05))
    meter = Meter()
    result = probe(server.url + PATH, timeout=5, meter=meter)
    assert result["status_code"] == 200
    assert result["well_formed"] is True and result["problems"] == []
    assert result["body"] == {"success": True, "capabilities": GOOD["capabilities"]}
    assert result["latency_ms"] >= 50  # the server's delay is in the measured latency
    assert meter.requests == 1
    assert server.seen == [("GET", PATH)]


@pytest.mark.parametrize("body,problem", [
    ({"success": False, "capabilities": {"contract_version": "0.3.0"}}, "body.success is not true"),
    ({"success": True, "capabilities": {}}, "body.capabilities.contract_version is missing"),
    ({"success": True}, "body.capabilities is missing"),
    (b"<html>gateway says hi</html>", "body is not JSON"),
    (b"[1, 2]", "body is not a JSON object"),
    ({"success": True, "capabilities": {"contract_version": "  "}}, "body.capabilities.contract_version is missing"),
    (b'{"success": false, "success": true, "capabilities": {"contract_version": "0.3.0"}}', "body names 'success' twice"),
    # shaped to pass, but NaN and Infinity are not JSON: a snapshot holding them could never be read back
    (b'{"success": true, "capabilities": {"contract_version": "0.3.0", "routes": NaN}}', "body is not JSON"),
    (b'{"success": true, "capabilities": {"contract_version": "0.3.0", "limits": [-Infinity]}}', "body is not JSON"),
    (b'{"success": true, "capabilities": {"contract_version": "0.3.0", "limits": [1e400]}}', "body is not JSON"),
])
def test_malformed_200_is_data_not_a_pass(http_server, body, problem):
    server = http_server(_json(200, body))
    result = probe(server.url + PATH, timeout=5)
    assert result["status_code"] == 200
    assert result["well_formed"] is False
    assert problem in result["problems"]


def test_503_is_recorded_with_its_body(http_server):
    server = http_server(_json(503, {"message": "Service Unavailable"}))
    result = probe(server.url + PATH, timeout=5, meter=Meter())
    assert result["status_code"] == 503
    assert result["well_formed"] is False
    assert result["latency_ms"] >= 0


def test_slow_server_beyond_the_timeout_raises(http_server):
    server = http_server(_json(200, GOOD, delay=2.0))
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        probe(server.url + PATH, timeout=0.3)


def test_connection_refused_raises_and_run_source_records_it():
    url = f"http://127.0.0.1:{moto_env.closed_port()}{PATH}"
    with pytest.raises(urllib.error.URLError):
        probe(url, timeout=2)
    envelope = run_source("http", f"GET {url}", lambda m: probe(url, timeout=2, meter=m))
    assert envelope["status"] == "error" and envelope["data"] is None
    assert envelope["error"]["type"] == "URLError"
    assert envelope["provenance"]["requests"] == 1


def test_non_http_url_is_refused():
    with pytest.raises(ValueError):
        probe("file:///etc/passwd")


def test_an_answer_from_where_a_redirect_led_is_not_the_endpoints(http_server):
    """Probe 15: a 302 to another path (or host) was followed and its answer recorded as the URL asked for."""
    def respond(handler):
        if handler.path == PATH:
            return 302, {"Location": "/staging/capabilities"}, b""
        return 200, {"Content-Type": "application/json"}, json.dumps(GOOD).encode()

    server = http_server(respond)
    result = probe(server.url + PATH, timeout=5)
    assert result["url"] == server.url + PATH and result["status_code"] == 200
    assert result["well_formed"] is False
    assert result["problems"] == [f"the request was redirected to {server.url}/staging/capabilities"]


def test_a_server_sending_a_byte_at_a_time_does_not_hold_the_probe_past_its_timeout():
    """Probe 16: ``timeout`` bounded each socket read, so a byte every 50 ms kept the probe reading for as long as
    the server liked (10.8 s with timeout=2). The timeout is the whole answer's now: past it, no answer."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    stop = threading.Event()

    def trickle():
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n")
        for _ in range(400):  # 20 s at this pace, far past the probe's timeout
            if stop.is_set():
                break
            try:
                conn.sendall(b" ")
            except OSError:
                break
            time.sleep(0.05)
        conn.close()

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        with pytest.raises(TimeoutError, match="within the timeout"):
            probe(f"http://127.0.0.1:{listener.getsockname()[1]}{PATH}", timeout=0.5)
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
