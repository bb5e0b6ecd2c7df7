"""Hardening of the connection: every client sees the 413, heads are bounded (431) and timed
(408), and unfinished huge heads cost no memory.

Each test talks to a real `python -m mock_server` process (the connection limits live in its
HTTP protocol, which in-process transports skip), with bounded request counts. Timeouts here
only turn a hang into a failure; no test measures time.
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import OWNER, auth
from tests.processes import MockProcess, mock_process
from tests.test_hardening import HANG, address, raw, status_of

NODE = shutil.which("node") or "/usr/bin/node"
LIMIT = 65536
BIG_BODY = 5_000_000  # what Python's http.client and Node's fetch were reset under
SETTINGS = "/api/v2/notifications/settings"
TOO_LARGE = {"message": "Request body too large.",
             "detail": f"The body exceeds the limit of {LIMIT} bytes (--max-body-bytes)."}


@pytest.fixture(scope="module")
def mock() -> Iterator[MockProcess]:
    """One mock with a small body limit and one-second head and body deadlines."""
    with mock_process("--no-access-log", "--max-body-bytes", str(LIMIT), "--header-timeout",
                      "1", "--body-timeout", "1") as process:
        yield process


def body_of(response: bytes) -> object:
    """The JSON body of a raw response."""
    return json.loads(response.partition(b"\r\n\r\n")[2])


def with_http_client(mock: MockProcess) -> tuple[int, object]:
    """Python's http.client: it sends the whole body, then reads the answer."""
    host, port = address(mock)
    connection = http.client.HTTPConnection(host, port, timeout=HANG)
    try:
        connection.request("PUT", SETTINGS, body=b"x" * BIG_BODY, headers=auth(OWNER))
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


NODE_FETCH = """
const [url, token, size] = process.argv.slice(1);
fetch(url, {method: "PUT", body: "x".repeat(Number(size)),
            headers: {"Coder-Session-Token": token}})
  .then(async (r) => console.log(JSON.stringify({status: r.status, body: await r.json()})))
  .catch((e) => console.log(JSON.stringify({error: String(e.cause?.code ?? e)})));
"""


def with_node_fetch(mock: MockProcess) -> tuple[int, object]:
    """Node's fetch (undici), as a browser-less JavaScript client sends a body."""
    if not Path(NODE).exists():
        pytest.skip(f"no node at {NODE}")
    result = subprocess.run([NODE, "-e", NODE_FETCH, f"{mock.url}{SETTINGS}", OWNER,
                             str(BIG_BODY)], capture_output=True, text=True, timeout=HANG)
    outcome = json.loads(result.stdout)
    assert "error" not in outcome, outcome
    return outcome["status"], outcome["body"]


def with_raw_socket(mock: MockProcess) -> tuple[int, object]:
    """Bytes on a socket: the head and the whole body in one send, then the read."""
    response = raw(mock, b"PUT " + SETTINGS.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   b"Coder-Session-Token: " + OWNER.encode() + b"\r\nContent-Length: "
                   + str(BIG_BODY).encode() + b"\r\n\r\n" + b"x" * BIG_BODY)
    return status_of(response), body_of(response)


CLIENTS: dict[str, Callable[[MockProcess], tuple[int, object]]] = {
    "python-http.client": with_http_client, "node-fetch": with_node_fetch,
    "raw-socket": with_raw_socket}


@pytest.mark.parametrize("send", CLIENTS.values(), ids=CLIENTS.keys())
def test_every_client_sending_5_mb_sees_the_413(
        mock: MockProcess, send: Callable[[MockProcess], tuple[int, object]]) -> None:
    assert send(mock) == (413, TOO_LARGE)


def test_a_client_expecting_100_continue_gets_the_413_and_no_continue(
        mock: MockProcess) -> None:
    response = raw(mock, b"PUT " + SETTINGS.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   b"Expect: 100-continue\r\nContent-Length: 5000000\r\n\r\n")
    assert status_of(response) == 413, response[:200]
    assert body_of(response) == TOO_LARGE


FIELDS = b"".join(b"X-Field-%d: %d\r\n" % (index, index) for index in range(101))
HEADS = {
    "one-2-MiB-header": (b"X-Big: " + b"b" * (2 << 20) + b"\r\n",
                         "The request head exceeds 1048576 bytes (--max-header-bytes)."),
    "101-fields": (FIELDS, "The request has more than 100 header fields."),
    "many-fields-over-1-MiB": (b"".join(b"X-%d: %s\r\n" % (i, b"v" * 4000) for i in range(99)
                                        ) + b"X-Last: " + b"v" * (700 << 10) + b"\r\n",
                               "The request head exceeds 1048576 bytes (--max-header-bytes)."),
}


@pytest.mark.parametrize(("headers", "detail"), HEADS.values(), ids=HEADS.keys())
def test_a_head_over_the_limits_gets_431(mock: MockProcess, headers: bytes,
                                         detail: str) -> None:
    response = raw(mock, b"GET /api/v2/notifications/settings HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   + headers + b"\r\n")
    assert status_of(response) == 431, response[:200]
    assert body_of(response) == {"message": "Request header fields too large.",
                                 "detail": detail}
    assert b"\r\nconnection: close\r\n" in response.lower()


def test_100_header_fields_and_a_head_near_1_mib_are_served(mock: MockProcess) -> None:
    fields = b"".join(b"X-%d: v\r\n" % index for index in range(97))  # 100 with the rest
    response = raw(mock, b"GET /api/v2/notifications/settings HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   b"Coder-Session-Token: " + OWNER.encode() + b"\r\n" + fields
                   + b"X-Big: " + b"b" * (1000 << 10) + b"\r\n\r\n")
    assert status_of(response) == 200, response[:300]


SLOW = {
    "head-never-finished": (b"GET /api/v2/notifications/settings HTTP/1.1\r\nHost: 127.0.0.1"
                            b"\r\nX-Slow: ", "The request head did not arrive within 1 s "
                            "(--header-timeout)."),
    "body-never-finished": (b"PUT /api/v2/notifications/settings HTTP/1.1\r\nHost: 127.0.0.1"
                            b"\r\nCoder-Session-Token: " + OWNER.encode()
                            + b"\r\nContent-Length: 100\r\n\r\n{\"notifier_paused\":",
                            "The request body did not arrive within 1 s (--body-timeout); "
                            "19 bytes came."),
}


@pytest.mark.parametrize(("request_bytes", "detail"), SLOW.values(), ids=SLOW.keys())
def test_a_request_that_never_finishes_gets_408(mock: MockProcess, request_bytes: bytes,
                                                detail: str) -> None:
    response = raw(mock, request_bytes)
    assert status_of(response) == 408, response[:200]
    assert body_of(response) == {"message": "Request timed out.", "detail": detail}


def test_a_connection_that_sends_nothing_is_closed(mock: MockProcess) -> None:
    with socket.create_connection(address(mock), timeout=HANG) as sock:
        assert sock.recv(100) == b""  # closed without a word (a timeout here fails)


def rss_mib(pid: int) -> float:
    """The process's resident memory, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    assert match, status
    return int(match.group(1)) / 1024


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_unfinished_huge_heads_do_not_grow_memory(mock: MockProcess) -> None:
    """Eight clients each send 16 MiB of one header and never end it: without the head limit
    the mock held all 128 MiB; with it, each is answered 431 after 1 MiB and cut off."""
    httpx.get(f"{mock.url}/__mock/health", timeout=HANG).raise_for_status()
    before = rss_mib(mock.process.pid)
    seen: list[bytes] = []

    def attack() -> None:
        with socket.create_connection(address(mock), timeout=HANG) as sock:
            try:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
                for _ in range(16):
                    sock.sendall(b"a" * (1 << 20))
            except (BrokenPipeError, ConnectionResetError):
                pass  # cut off, as intended; the answer is already in the socket
            try:
                seen.append(sock.recv(64).split(b"\r\n")[0])
            except ConnectionResetError:
                seen.append(b"reset")

    threads = [threading.Thread(target=attack, daemon=True) for _ in range(8)]
    for thread in threads:
        thread.start()
    peak, deadline = before, time.monotonic() + 3 * HANG  # a hang guard, not a speed
    while any(thread.is_alive() for thread in threads) and time.monotonic() < deadline:
        peak = max(peak, rss_mib(mock.process.pid))
        time.sleep(0.02)
    grown = peak - before
    assert seen == [b"HTTP/1.1 431 Request Header Fields Too Large"] * 8
    assert grown < 32, f"RSS grew {grown:.0f} MiB"
    assert httpx.get(f"{mock.url}/api/v2/notifications/settings", headers=auth(OWNER),
                     timeout=HANG).status_code == 200
