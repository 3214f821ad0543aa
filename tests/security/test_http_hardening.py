"""The HTTP server against clients that misbehave (issue 15): a foreign Host (DNS
rebinding), a bad Content-Length, a client that never sends, too many at once."""

from __future__ import annotations

import socket
import time

import pytest

from driftd.config import load_config
from driftd.daemon.builders import build_view
from driftd.daemon.web import server as http
from driftd.daemon.web.api import Actions

TOKEN = "hardening-token-0123456789"


@pytest.fixture
def server(binary_config_file, monkeypatch):
    monkeypatch.setenv("DRIFTD_TEST_TOKEN", TOKEN)
    monkeypatch.setattr(http, "TIMEOUT", 1.0)
    monkeypatch.setattr(http, "MAX_CONNECTIONS", 2)
    view = build_view(load_config(binary_config_file), use_redis=False)
    running = http.StatusServer(view, "127.0.0.1", 0, "DRIFTD_TEST_TOKEN",
                                actions=Actions(view)).start()  # fmt: skip
    yield running
    running.stop()


def _ask(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(request)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _get(port: int, host: str, path: str = "/healthz") -> bytes:
    return _ask(port, f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())


def test_only_loopback_names_are_answered_on_loopback(server):
    assert _get(server.port, f"localhost:{server.port}").startswith(b"HTTP/1.0 200")
    assert _get(server.port, "[::1]").startswith(b"HTTP/1.0 200")
    assert _get(server.port, f"evil.example:{server.port}").startswith(b"HTTP/1.0 421")
    assert http.host_allowed("evil.example", "0.0.0.0", ["driftd"]) is False
    assert http.host_allowed("driftd:80", "0.0.0.0", ["driftd"]) is True


def test_answers_carry_the_security_headers(server):
    answer = _get(server.port, "127.0.0.1", "/").decode(errors="replace")
    for name, value in http.SECURITY_HEADERS.items():
        assert f"{name}: {value}" in answer


@pytest.mark.parametrize("length", ["-1", "1e3", "99999999", "٣"])
def test_a_bad_content_length_is_a_400_not_a_blocked_thread(server, length):
    request = (f"POST /api/silences HTTP/1.0\r\nHost: 127.0.0.1\r\n"
               f"Authorization: Bearer {TOKEN}\r\nContent-Length: {length}\r\n\r\n")  # fmt: skip
    assert _ask(server.port, request.encode("utf-8")).startswith(b"HTTP/1.0 400")


def test_a_client_that_never_sends_is_cut_and_the_slots_are_capped(server):
    idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(2)]
    try:
        # Both slots held by clients that send nothing: the next one is turned away.
        assert _get(server.port, "127.0.0.1").startswith(b"HTTP/1.0 503")
        started = time.monotonic()
        for conn in idle:
            conn.settimeout(30)
            assert conn.recv(1024) == b""  # closed by the server (TIMEOUT 1 s)...
        assert time.monotonic() - started < 30
        # ...and their slots are free again.
        deadline = time.monotonic() + 30
        while not _get(server.port, "127.0.0.1").startswith(b"HTTP/1.0 200"):
            assert time.monotonic() < deadline, "the slots never came back"
            time.sleep(0.05)
    finally:
        for conn in idle:
            conn.close()
