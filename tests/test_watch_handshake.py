"""A malformed WebSocket handshake is the plain HTTP request it is, as Coder's router serves it:
the route's own answer, coder/websocket's 400 on the watch endpoint, never uvicorn's own
"Failed to open a WebSocket connection" (mock_server/handshake_protocol.py)."""

from __future__ import annotations

import socket

import httpx
import pytest

from mock_server.handshake_protocol import acceptable
from mock_server.server import MockServer
from tests.conftest import MEMBER, auth
from tests.watching import WAIT

KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455's sample key
GOOD = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Key": KEY,
        "Sec-WebSocket-Version": "13"}


def exchange(mock: MockServer, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    """Send one raw request (httpx cannot send a handshake) and read the whole answer."""
    host, port = mock.url.removeprefix("http://").rsplit(":", 1)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Content-Length: 0",
             *(f"{name}: {value}" for name, value in headers.items()), "", ""]
    with socket.create_connection((host, int(port)), timeout=WAIT) as connection:
        connection.sendall("\r\n".join(lines).encode())
        data = b""
        while b"\r\n\r\n" not in data or len(data) < _expected(data):
            chunk = connection.recv(65536)
            assert chunk, f"the server closed the connection early: {data!r}"
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    answer = dict(line.split(": ", 1) for line in header_lines)
    return httpx.Response(int(status_line.split()[1]), headers=answer, content=body)


def _expected(data: bytes) -> int:
    head, found, _ = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(head) + len(found) + int(value)
    return len(data)


@pytest.mark.parametrize(("method", "headers"), [
    ("GET", {**GOOD, "Sec-WebSocket-Version": "8"}),
    ("GET", {k: v for k, v in GOOD.items() if k != "Sec-WebSocket-Key"}),
    ("GET", {**GOOD, "Sec-WebSocket-Key": "short"}),
    ("POST", GOOD),
], ids=["version-8", "no-key", "bad-key", "post"])
def test_a_malformed_handshake_on_an_http_route_is_that_routes_answer(
        live_mock: MockServer, method: str, headers: dict[str, str]) -> None:
    path = "/api/v2/users/me"
    answer = exchange(live_mock, method, path, {**headers, **auth(MEMBER)})
    plain = httpx.request(method, live_mock.url + path, headers=auth(MEMBER))
    assert (answer.status_code, answer.content) == (plain.status_code, plain.content)
    assert answer.status_code in (200, 405)


def test_a_malformed_handshake_on_the_watch_endpoint_gets_coder_websockets_400(
        live_mock: MockServer) -> None:
    answer = exchange(live_mock, "GET", "/api/v2/notifications/inbox/watch",
                      {**GOOD, "Sec-WebSocket-Version": "8", **auth(MEMBER)})
    reason = 'unsupported WebSocket protocol version (only 13 is supported): "8"'
    assert (answer.status_code, answer.headers["sec-websocket-version"]) == (400, "13")
    assert answer.text.split("\n", 1)[0] == reason


@pytest.mark.parametrize(("method", "headers", "upgrades"), [
    ("GET", GOOD, True),
    ("GET", {**GOOD, "Connection": "keep-alive, Upgrade"}, True),
    ("POST", GOOD, False),
    ("GET", {**GOOD, "Sec-WebSocket-Version": "13, 8"}, False),
    ("GET", {**GOOD, "Upgrade": "h2c"}, False),
])
def test_only_a_handshake_websockets_accepts_is_upgraded(
        method: str, headers: dict[str, str], upgrades: bool) -> None:
    raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    assert acceptable(method, raw) is upgrades
