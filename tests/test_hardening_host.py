"""The Host allow-list, over a real socket (the absolute-form target is the connection's to
read): every surface (API, control API, docs, the watch socket's handshake) refuses a host the
mock does not serve, and serves loopback names, IP addresses and the allowed names."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from mock_server.config import MockConfig
from mock_server.middleware.host import HostPolicy, host_name
from mock_server.server import MockServer
from tests.conftest import OWNER

HANDSHAKE = (b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
             b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")
SURFACES = {
    "api": (b"GET /api/v2/users/me", b"", 200),
    "control-api": (b"GET /__mock/fixtures", b"", 200),
    "docs": (b"GET /api/v2/openapi.json", b"", 200),
    "watch-socket": (b"GET /api/v2/notifications/inbox/watch", HANDSHAKE, 101),
}
HOSTS = {
    "rebinding-name": (b"Host: rebind.test:8080\r\n", 421),
    "name-with-a-trailing-dot": (b"Host: rebind.test.\r\n", 421),
    "localhost-subdomain-lookalike": (b"Host: localhost.rebind.test\r\n", 421),
    "missing": (b"", 400),
    "repeated": (b"Host: 127.0.0.1\r\nHost: 127.0.0.1\r\n", 400),
    "malformed": (b"Host: a b\r\n", 400),
    "userinfo": (b"Host: 127.0.0.1@rebind.test\r\n", 400),
    "localhost-any-port": (b"Host: localhost:1\r\n", None),
    "localhost-subdomain": (b"Host: app.localhost\r\n", None),
    "ipv4": (b"Host: 127.0.0.1\r\n", None),
    "ipv6": (b"Host: [::1]:9\r\n", None),
    "lan-address": (b"Host: 192.168.1.20:8080\r\n", None),
    "allowed-name": (b"Host: Mock.Internal:80\r\n", None),
    "allowed-domain": (b"Host: ui.example.test\r\n", None),
}


@pytest.fixture(scope="module")
def mock() -> Iterator[MockServer]:
    """A served mock that also answers for mock.internal and *.example.test."""
    with MockServer(MockConfig(allowed_hosts=("mock.internal", ".example.test"))) as server:
        yield server


def exchange(mock: MockServer, request: bytes) -> bytes:
    """Send one request; the answer's head and body as far as the server sent them."""
    host, port = mock.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while b"\r\n\r\n" not in received or (b" 101 " not in received[:13] and not
                                               _complete(received)):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    return received


def _complete(response: bytes) -> bool:
    head, _, body = response.partition(b"\r\n\r\n")
    for line in head.lower().split(b"\r\n"):
        if line.startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


@pytest.mark.parametrize(("start", "extra", "served"), SURFACES.values(), ids=SURFACES.keys())
@pytest.mark.parametrize(("host", "refused"), HOSTS.values(), ids=HOSTS.keys())
def test_every_surface_refuses_a_host_it_does_not_serve(
        mock: MockServer, start: bytes, extra: bytes, served: int, host: bytes,
        refused: int | None) -> None:
    closing = b"" if extra else b"Connection: close\r\n"  # a handshake says Upgrade instead
    response = exchange(mock, start + b" HTTP/1.1\r\n" + host + extra + b"Coder-Session-Token: "
                        + OWNER.encode() + b"\r\n" + closing + b"\r\n")
    status = int(response.split(b" ", 2)[1])
    assert status == (refused or served), response[:400]
    if refused:
        body = json.loads(response.partition(b"\r\n\r\n")[2])
        assert body["message"] == ("Invalid Host header." if refused == 400 else
                                   "Misdirected request: this mock does not serve that host.")
    if refused == 421:
        name = host.split(b": ", 1)[1].split(b":")[0].rstrip(b".\r\n").decode()
        assert body["detail"].endswith(f"start it with --allowed-host {name}.")


TARGETS = {
    "absolute-form-names-another-host": (b"GET http://rebind.test/api/v2/users/me HTTP/1.1\r\n"
                                         b"Host: 127.0.0.1\r\n", 421),
    "absolute-form-names-loopback": (b"GET http://127.0.0.1:9/api/v2/users/me HTTP/1.1\r\n"
                                     b"Host: rebind.test\r\n", 200),  # RFC 9112 3.2.2
    "absolute-form-with-userinfo": (b"GET http://127.0.0.1@rebind.test/api/v2/users/me "
                                    b"HTTP/1.1\r\nHost: 127.0.0.1\r\n", 421),
}


@pytest.mark.parametrize(("head", "status"), TARGETS.values(), ids=TARGETS.keys())
def test_an_absolute_form_target_is_judged_by_the_host_it_names(
        mock: MockServer, head: bytes, status: int) -> None:
    response = exchange(mock, head + b"Coder-Session-Token: " + OWNER.encode()
                        + b"\r\nConnection: close\r\n\r\n")
    assert int(response.split(b" ", 2)[1]) == status, response[:300]


NAMES = {"LocalHost:80": "localhost", "[::1]:8080": "::1", "example.test.": "example.test",
         "127.0.0.1": "127.0.0.1", "host:": "host", "a b": None, "[zz]": None, "": None,
         "x@y": None, "h:1:2": None}


@pytest.mark.parametrize(("value", "name"), NAMES.items(), ids=[repr(v) for v in NAMES])
def test_host_name_reads_a_host_header_as_go_would_accept_it(value: str,
                                                             name: str | None) -> None:
    assert host_name(value) == name


POLICY = {("*",): {"anything.example": True},
          (): {"localhost": True, "a.localhost": True, "10.1.2.3": True, "::1": True,
               "mock.internal": False, "localhost.evil": False},
          (".example.test",): {"example.test": True, "a.b.example.test": True,
                               "badexample.test": False},
          ("mock.internal",): {"mock.internal": True, "x.mock.internal": False}}


@pytest.mark.parametrize(("allowed", "cases"), POLICY.items(), ids=[str(a) for a in POLICY])
def test_the_policy_serves_names_no_dns_answer_can_repoint_and_the_allowed_ones(
        allowed: tuple[str, ...], cases: dict[str, bool]) -> None:
    policy = HostPolicy(allowed)
    assert {name: policy.allows(name) for name in cases} == cases


@pytest.mark.parametrize("bad", ["http://mock.internal", "mock.internal:8080", "a/b", ""])
def test_an_allowed_host_that_is_no_host_name_is_refused_at_start(bad: str) -> None:
    with pytest.raises(ValueError, match="expected a host name without scheme, port or path"):
        MockConfig(allowed_hosts=(bad,))
