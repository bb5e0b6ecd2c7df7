"""Hardening: many concurrent clients, hostile bytes, huge and slow bodies, half-open sockets.

Every test talks to a real `python -m mock_server` process on a loopback port, with bounded
request counts. No test measures time: a timeout here only turns a hang into a failure.
"""

from __future__ import annotations

import random
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from mock_server.config import DEFAULT_FIXTURES
from mock_server.fixtures import load_seed
from tests.conftest import BOB, MEMBER, OWNER, auth
from tests.helpers import run_threads
from tests.processes import MockProcess, mock_process

TEMPLATES = [str(t.id) for t in load_seed(DEFAULT_FIXTURES).templates
             if t.kind == "system" and not t.feature]
USERS = {"admin": OWNER, "member": MEMBER, "bob": BOB}
REPO = Path(__file__).resolve().parent.parent  # openapi.yaml and schemathesis.toml
READS = ["/api/v2/notifications/settings", "/api/v2/notifications/dispatch-methods",
         "/api/v2/notifications/templates/system", "/api/v2/users/me",
         "/api/v2/users/me/notifications/preferences"]
REQUESTS_PER_CLIENT = 16  # 64 clients: 1024 requests, half of them writes
HANG = 30  # seconds: a call that takes this long is not slow, it is never answered


@pytest.fixture(scope="module")
def mock() -> Iterator[MockProcess]:
    """One mock process for the module (its state is checked, never assumed fresh)."""
    with mock_process("--no-access-log", "--max-body-bytes", "65536") as process:
        yield process


def address(mock: MockProcess) -> tuple[str, int]:
    """Host and port of the mock, for raw sockets."""
    parts = urlsplit(mock.url)
    return parts.hostname or "127.0.0.1", parts.port or 80


def raw(mock: MockProcess, request: bytes, *, timeout: float = HANG) -> bytes:
    """Send bytes as they are; return the response (headers and Content-Length body), or what
    came before the server closed. A reset after the answer (unread bytes) is not an error."""
    received = b""
    with socket.create_connection(address(mock), timeout=timeout) as sock:
        try:
            sock.sendall(request)
            while not _complete(received) and (chunk := sock.recv(65536)):
                received += chunk
        except (ConnectionResetError, BrokenPipeError):
            pass
    return received


def _complete(response: bytes) -> bool:
    head, found, body = response.partition(b"\r\n\r\n")
    if not found:
        return False
    for line in head.lower().split(b"\r\n"):
        if line.startswith(b"content-length:"):
            return len(body) >= int(line.split(b":", 1)[1])
    return True


def status_of(response: bytes) -> int:
    """The status code of a raw HTTP/1.1 response."""
    return int(response.split(b" ", 2)[1])


def test_64_concurrent_clients_lose_no_update_and_see_no_5xx(mock: MockProcess) -> None:
    writers = [_Writer(index) for index in range(64)]
    assert all(w.unique for w in writers), "every client must own its own preference"
    run_threads(len(writers), lambda index: writers[index].run(mock.url), hang=3 * HANG)
    assert [w.failure for w in writers if w.failure] == []
    assert [w.requests for w in writers] == [REQUESTS_PER_CLIENT] * len(writers)
    assert all(w.last is not None for w in writers), "a client never wrote"
    with httpx.Client(base_url=mock.url, timeout=HANG) as client:
        for writer in writers:
            stored = client.get(f"/api/v2/users/{writer.user}/notifications/preferences",
                                headers=auth(OWNER)).json()
            value = {p["id"]: p["disabled"] for p in stored or []}.get(writer.template)
            assert value == writer.last, f"{writer.user}/{writer.template}: lost update"
        assert client.get("/__mock/health").json()["status"] == "ok"


class _Writer:
    """One client (its own connection): it owns one (user, template) preference, writes it,
    sometimes as that user and sometimes as the owner, and reads around it; its first call is
    a write, so every client has a value to find afterwards."""

    def __init__(self, index: int) -> None:
        self.user = list(USERS)[index % len(USERS)]
        self.template = TEMPLATES[index // len(USERS) % len(TEMPLATES)]
        self.unique = index < len(USERS) * len(TEMPLATES)
        self.last: bool | None = None
        self.requests = 0
        self.failure = ""
        self.rng = random.Random(index)

    def run(self, url: str) -> None:
        with httpx.Client(base_url=url, timeout=HANG) as client:
            while self.requests < REQUESTS_PER_CLIENT and not self.failure:
                write = self.requests == 0 or self.rng.random() < 0.5
                response = self.write(client) if write else client.get(
                    self.rng.choice(READS), headers=auth(USERS[self.user]))
                self.requests += 1
                if response.status_code != 200:
                    self.failure = f"{response.request.url}: {response.status_code}"

    def write(self, client: httpx.Client) -> httpx.Response:
        value = self.rng.random() < 0.5
        as_owner = self.rng.random() < 0.5
        response = client.put(
            f"/api/v2/users/{self.user if as_owner else 'me'}/notifications/preferences",
            json={"template_disabled_map": {self.template: value}},
            headers=auth(OWNER if as_owner else USERS[self.user]))
        if response.status_code == 200:
            self.last = value
        return response


@pytest.mark.parametrize("request_bytes", [
    b"GET /api/v2/users/%ff%fe%00/notifications/preferences HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Coder-Session-Token: AdminToken-adminSecretValue000000\r\n\r\n",
    b"GET /api/v2/notifications/settings HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Coder-Session-Token: \xff\xfe\xfd-\x80\x81\r\n\r\n",
    b"GET /api/v2/notifications/settings HTTP/1.1\r\nHost: 127.0.0.1\r\nX-\x01Bad: y\r\n\r\n",
    b"GET /api/v2/" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    b"GET /api/v2/notifications/settings HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"b" * 100_000
    + b"\r\n\r\n",
    b"PUT /api/v2/notifications/settings HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n"
    b"Coder-Session-Token: AdminToken-adminSecretValue000000\r\n\r\n\x00\xff{",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(64)),
    b"GET /api/v2/users/..%2f..%2f..%2fetc%2fpasswd HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Coder-Session-Token: AdminToken-adminSecretValue000000\r\n\r\n",
], ids=["bad-path-bytes", "bad-token-bytes", "bad-header-name", "100kB-path", "100kB-header",
        "binary-body", "tls-hello", "path-traversal"])
def test_hostile_bytes_get_a_4xx_and_never_a_5xx(mock: MockProcess,
                                                 request_bytes: bytes) -> None:
    response = raw(mock, request_bytes)
    if response:  # a server may also just close the connection on bytes that are not HTTP
        assert 400 <= status_of(response) < 500, response[:300]
    with httpx.Client(base_url=mock.url, timeout=HANG) as client:
        assert client.get("/api/v2/notifications/settings", headers=auth(OWNER)).status_code \
            == 200


def test_an_oversized_body_is_refused_before_it_is_sent(mock: MockProcess) -> None:
    # 19 of the 1,000,000,000 announced bytes are ever sent: an answer at all is one that did
    # not wait for the body
    response = raw(mock, b"PUT /api/v2/notifications/settings HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Coder-Session-Token: AdminToken-adminSecretValue000000\r\n"
                         b"Content-Length: 1000000000\r\n\r\n{\"notifier_paused\":")
    assert status_of(response) == 413
    assert b"The body exceeds the limit of 65536 bytes" in response


def test_an_oversized_chunked_body_is_cut_off(mock: MockProcess) -> None:
    chunk = b"x" * 16384
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(8)) + b"0\r\n\r\n"
    response = raw(mock, b"PUT /api/v2/notifications/settings HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Coder-Session-Token: AdminToken-adminSecretValue000000\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n" + body)
    assert status_of(response) == 413  # read to the end: no reset under the unread rest
    with httpx.Client(base_url=mock.url, timeout=HANG) as client:
        assert client.get("/__mock/health").status_code == 200


def test_slow_and_half_open_connections_do_not_block_others(mock: MockProcess) -> None:
    host, port = address(mock)
    stalled = [socket.create_connection((host, port), timeout=HANG) for _ in range(100)]
    try:
        for index, sock in enumerate(stalled):
            sock.sendall(b"GET /api/v2/notifications/settings HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         if index % 2 else b"PUT /api/v2/notifications/settings HTTP/1.1\r\n"
                         b"Content-Length: 100\r\nHost: 127.0.0.1\r\n\r\n{")
        # a server those sockets blocked would never answer: HANG turns that into a failure
        with httpx.Client(base_url=mock.url, timeout=HANG) as client:
            for _ in range(50):
                assert client.get("/api/v2/notifications/dispatch-methods",
                                  headers=auth(OWNER)).status_code == 200
    finally:
        for sock in stalled:
            sock.close()


def test_it_listens_on_loopback_only_unless_told_otherwise(mock: MockProcess) -> None:
    assert urlsplit(mock.url).hostname == "127.0.0.1"


@pytest.mark.parametrize("options", [
    ["--checks", "all", "--mode", "all", "--max-examples", "100"],
    ["--checks", "not_a_server_error", "--mode", "negative", "--max-examples", "300",
     "--phases", "examples,coverage,fuzzing"],
], ids=["every-check-both-modes", "negative-fuzzing-no-5xx"])
@pytest.mark.timeout(300)  # beyond the run's own 240 s limit: a hang guard, not a speed claim
def test_schemathesis_run_finds_nothing(mock: MockProcess, options: list[str]) -> None:
    # from the fixture state: the other tests leave templates (the test notification's too)
    # disabled, and a disabled test notification is Coder's 500
    httpx.post(f"{mock.url}/__mock/reset", timeout=10).raise_for_status()
    result = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "run", "openapi.yaml",
         "--url", f"{mock.url}/api/v2", "--header", f"Coder-Session-Token: {OWNER}",
         "--seed", "1", "--no-color", *options],
        capture_output=True, text=True, timeout=240, cwd=REPO)
    assert result.returncode == 0, result.stdout[-3000:]
    generated = re.search(r"(\d+) generated, \1 passed", result.stdout)
    assert generated, result.stdout[-1000:]
    assert int(generated.group(1)) > 300
