"""Replayed answers (mock_server/replay.py): the same request bytes get, from the table, exactly
what the whole stack answers, and the journal the same entries; whatever may change an answer
sends the request through the stack again.

Each case runs one sequence of raw requests on one keep-alive connection against two servers,
one with replay and one with `--no-replay`, and compares every answer (but its `date`) and
every journal entry (but its time and latency); the replay count shows that replay happened
where the case says it must, so the comparison is not vacuous.
"""

from __future__ import annotations

import re
import shutil
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from mock_server.config import DEFAULT_FIXTURES, MockConfig
from mock_server.server import MockServer

OWNER = "AdminToken-adminSecretValue000000"
MEMBER = "MemberTokn-memberSecretValue00000"


def request(method: str, target: str, *, token: str | None = OWNER, body: bytes | None = None,
            headers: tuple[str, ...] = (), version: str = "1.1") -> bytes:
    """One request's exact bytes."""
    lines = [f"{method} {target} HTTP/{version}", "Host: 127.0.0.1"]
    lines += [f"Coder-Session-Token: {token}"] if token else []
    lines += list(headers)
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


_FIRST_ROW = "da941a54-e0e9-43c8-a929-c75418f6c548"  # the owner's newest notification (inbox.yaml)
GET_SETTINGS = request("GET", "/api/v2/notifications/settings")
PAUSE = request("PUT", "/api/v2/notifications/settings", body=b'{"notifier_paused":true}')
UNPAUSE = request("PUT", "/api/v2/notifications/settings", body=b'{"notifier_paused":false}')
GET_INBOX = request("GET", "/api/v2/notifications/inbox")
MARK_ALL = request("PUT", "/api/v2/notifications/inbox/mark-all-as-read")
ADD_FAULT = request("POST", "/__mock/faults", token=None,
                    body=b'{"operation_id":"get-notifications-settings","status":503}')
CLEAR_FAULTS = request("DELETE", "/__mock/faults", token=None)
RESET = request("POST", "/__mock/reset", token=None)
CUSTOM = request("POST", "/api/v2/notifications/custom",
                 body=b'{"content":{"title":"t","message":"m"}}')

# (name, requests sent in order, replays the replaying server must have made)
SEQUENCES = [
    ("a repeated GET", [GET_SETTINGS] * 3, 2),
    ("every read, twice", [request("GET", path) for path in (
        "/api/v2/notifications/dispatch-methods", "/api/v2/notifications/templates/system",
        "/api/v2/notifications/templates/custom", "/api/v2/users/me/notifications/preferences",
        "/api/v2/users/me", "/api/v2/notifications/inbox?read_status=unread")] * 2, 6),
    ("a PUT is kept once it changes nothing (after one skipped offer)", [UNPAUSE] * 4, 1),
    ("a PUT that changes, then reads", [GET_SETTINGS, PAUSE, GET_SETTINGS, PAUSE, GET_SETTINGS,
                                        UNPAUSE, GET_SETTINGS], 1),
    ("a fault added and cleared", [GET_SETTINGS, GET_SETTINGS, ADD_FAULT, GET_SETTINGS,
                                   GET_SETTINGS, CLEAR_FAULTS, GET_SETTINGS, GET_SETTINGS], 2),
    ("a delivery changes the inbox", [GET_INBOX, GET_INBOX, CUSTOM, GET_INBOX, GET_INBOX], 2),
    ("mark-all-as-read once it has nothing left", [GET_INBOX, MARK_ALL, GET_INBOX, MARK_ALL,
                                                   MARK_ALL, MARK_ALL, GET_INBOX, GET_INBOX], 3),
    ("read-status stamps a new read_at every time", [GET_INBOX, MARK_ALL] + [request(
        "PUT", f"/api/v2/notifications/inbox/{_FIRST_ROW}/read-status",
        body=b'{"is_read":true}')] * 5 + [GET_INBOX] * 2, 1),
    ("a reset", [PAUSE, GET_SETTINGS, RESET, GET_SETTINGS, GET_SETTINGS], 1),
    ("refusals", [request("GET", "/api/v2/notifications/settings", token=None),
                  request("GET", "/api/v2/notifications/settings", token=None),
                  request("GET", "/api/v2/notifications/nope"),
                  request("GET", "/api/v2/notifications/nope"),
                  request("GET", "/api/v2/notifications/inbox?read_status=bogus"),
                  request("GET", "/api/v2/notifications/inbox?read_status=bogus"),
                  request("PUT", "/api/v2/notifications/settings", body=b"{"),
                  request("PUT", "/api/v2/notifications/settings", body=b"{")], 4),
    ("members and owners apart", [request("GET", "/api/v2/users/me", token=MEMBER),
                                  request("GET", "/api/v2/users/me"),
                                  request("GET", "/api/v2/users/me", token=MEMBER)], 1),
    ("as browsers and requests send it: Connection: keep-alive",
     [request("GET", "/api/v2/users/me", headers=("Connection: keep-alive",))] * 2
     + [request("GET", "/api/v2/users/me", headers=("Connection: keep-alive, foo",))] * 2, 1),
    ("a CORS preflight", [request("OPTIONS", "/api/v2/notifications/settings", token=None,
                                  headers=("Origin: http://localhost:3000",
                                           "Access-Control-Request-Method: PUT"))] * 2, 1),
    ("never kept: Prefer, Expect, POST, the control API",
     [request("GET", "/api/v2/notifications/settings", headers=("Prefer: mock=latency=1",))] * 2
     + [CUSTOM] * 2 + [request("GET", "/__mock/faults", token=None)] * 2, 0),
]


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[MockServer, MockServer]]:
    """One replaying and one plain mock, for the whole module (each case resets both)."""
    replaying = MockServer(MockConfig()).start()
    plain = MockServer(MockConfig(replay=False)).start()
    try:
        yield replaying, plain
    finally:
        replaying.stop()
        plain.stop()


@pytest.mark.parametrize(("name", "sent", "replays"), SEQUENCES, ids=[s[0] for s in SEQUENCES])
def test_a_replay_answers_and_journals_what_the_stack_does(
        servers: tuple[MockServer, MockServer], name: str, sent: list[bytes],
        replays: int) -> None:
    replaying, plain = servers
    assert replaying.replays is not None
    assert plain.replays is None
    before = replaying.replays.replayed
    outcomes = [_run(server, sent) for server in (replaying, plain)]
    assert outcomes[0] == outcomes[1], name
    assert replaying.replays.replayed - before == replays, name


def test_every_answer_is_one_write_and_the_date_is_current(
        servers: tuple[MockServer, MockServer]) -> None:
    replaying, _ = servers
    _reset(replaying)
    with socket.create_connection(("127.0.0.1", _port(replaying)), timeout=5) as sock:
        first = _exchange(sock, GET_SETTINGS)
        second = _exchange(sock, GET_SETTINGS)
    assert _without_date(first) == _without_date(second)
    assert second.count(b"\r\ndate: ") == 1
    assert b"\r\nserver: uvicorn\r\n" in second


@pytest.mark.parametrize(("name", "sent"), [
    ("two requests in one write (pipelined)", [GET_SETTINGS + GET_SETTINGS]),
    ("a request cut across two writes", [GET_SETTINGS[:20], GET_SETTINGS[20:]]),
    ("HTTP/1.0", [request("GET", "/api/v2/notifications/settings", version="1.0")]),
    ("Connection: close", [request("GET", "/api/v2/notifications/settings",
                                   headers=("Connection: close",))]),
])
def test_what_does_not_come_whole_in_one_read_is_never_kept(
        servers: tuple[MockServer, MockServer], name: str, sent: list[bytes]) -> None:
    replaying, plain = servers
    before = replaying.replays.replayed if replaying.replays else 0
    answers = []
    for server in (replaying, plain):
        _reset(server)
        answers.append([_raw_round(server, sent) for _ in range(2)])
    assert answers[0] == answers[1], name
    assert replaying.replays is not None
    assert replaying.replays.replayed == before, name


def test_an_answer_is_not_replayed_after_its_key_expires(tmp_path: Path) -> None:
    fixtures = _fixtures_with_key_expiring(tmp_path, in_seconds=1.5)
    server = MockServer(MockConfig(fixtures=fixtures)).start()
    try:
        probe = request("GET", "/api/v2/users/me", token=_EXPIRING)
        with socket.create_connection(("127.0.0.1", _port(server)), timeout=5) as sock:
            assert _status(_exchange(sock, probe)) == 200
            assert _status(_exchange(sock, probe)) == 200
            assert server.replays is not None
            assert server.replays.replayed == 1
            time.sleep(1.6)  # the key's lifetime, not a speed
            assert _status(_exchange(sock, probe)) == 401
    finally:
        server.stop()


def test_with_a_state_file_every_write_reaches_the_stack(tmp_path: Path) -> None:
    """A state-file write is answered once it is on disk, even one that changes nothing: a
    disk that fails afterwards gets the stack's 503, never a kept 204."""
    statuses = []
    for replay in (True, False):
        folder = tmp_path / f"replay-{replay}"
        folder.mkdir()
        server = MockServer(MockConfig(state_file=folder / "state.json", replay=replay)).start()
        try:
            with socket.create_connection(("127.0.0.1", _port(server)), timeout=5) as sock:
                seen = [_status(_exchange(sock, MARK_ALL)) for _ in range(3)]
                shutil.rmtree(folder)
                seen += [_status(_exchange(sock, MARK_ALL)) for _ in range(2)]
            folder.mkdir()  # the disk is back: the writer's retry succeeds before the stop
        finally:
            server.stop()
        statuses.append(seen)
    assert statuses[0] == statuses[1] == [204, 204, 204, 503, 503]


_EXPIRING = "ExpireSoon-expiringSecretValue000"


def _fixtures_with_key_expiring(tmp_path: Path, *, in_seconds: float) -> Path:
    target = tmp_path / "fixtures"
    shutil.copytree(DEFAULT_FIXTURES, target)
    users = yaml.safe_load((target / "users.yaml").read_text())
    moment = datetime.now(UTC) + timedelta(seconds=in_seconds)
    users["users"][0]["tokens"].append({"value": _EXPIRING,
                                        "expires_at": moment.isoformat().replace("+00:00", "Z")})
    (target / "users.yaml").write_text(yaml.safe_dump(users))
    return target


def _run(server: MockServer, sent: list[bytes]) -> tuple[list[bytes], list[dict[str, Any]]]:
    """Reset, send each request on one connection, and read the journal of those calls."""
    _reset(server)
    with socket.create_connection(("127.0.0.1", _port(server)), timeout=5) as sock:
        answers = [_without_date(_exchange(sock, raw)) for raw in sent]
    entries = server.run(server.journal.entries())
    journal = [{k: v for k, v in entry.items() if k not in ("time", "latency_ms")}
               for entry in entries]
    return _canonical(answers), journal


_VOLATILE = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
                       rb"|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")


def _canonical(answers: list[bytes]) -> list[bytes]:
    """Ids and times as the order they first appear in (a delivery's id is random, a time is
    the clock's): two runs agree when the same ones recur in the same places. Content-Length
    is checked against the body, then left out (a time has as many digits as Go writes)."""
    seen: dict[bytes, bytes] = {}
    return [_VOLATILE.sub(lambda m: seen.setdefault(m.group(), b"<%d>" % len(seen)),
                          _length_checked(answer)) for answer in answers]


def _length_checked(answer: bytes) -> bytes:
    """The answer without its Content-Length, once that is found true (a time's digits vary)."""
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    lengths = [line for line in lines if line.lower().startswith(b"content-length: ")]
    assert all(int(line.split(b": ")[1]) == len(body) for line in lengths), answer
    return b"\r\n".join(line for line in lines if line not in lengths) + b"\r\n\r\n" + body


def _reset(server: MockServer) -> None:
    server.run(server.store.reset())
    server.run(server.faults.clear())
    server.run(server.journal.clear())


def _port(server: MockServer) -> int:
    return int(server.url.rsplit(":", 1)[1])


def _raw_round(server: MockServer, sent: list[bytes]) -> bytes:
    """Send the writes on a new connection; read until the server has answered them all."""
    with socket.create_connection(("127.0.0.1", _port(server)), timeout=5) as sock:
        for chunk in sent:
            sock.sendall(chunk)
            time.sleep(0.05)  # separate reads on the server side
        sock.shutdown(socket.SHUT_WR)
        return _without_date(b"".join(iter(lambda: sock.recv(65536), b"")))


def _exchange(sock: socket.socket, raw: bytes) -> bytes:
    """One request, and its whole answer (by Content-Length; none for 204 and 304)."""
    sock.sendall(raw)
    data = b""
    while b"\r\n\r\n" not in data:
        data += _recv(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += _recv(sock)
    return head + b"\r\n\r\n" + body


def _recv(sock: socket.socket) -> bytes:
    chunk = sock.recv(65536)
    if not chunk:
        raise ConnectionError("the server closed the connection mid-answer")
    return chunk


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def _without_date(answer: bytes) -> bytes:
    return b"\r\n".join(line for line in answer.split(b"\r\n")
                        if not line.lower().startswith(b"date: "))
