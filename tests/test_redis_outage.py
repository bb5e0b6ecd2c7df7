"""`--state redis://` when Redis fails: a killed or stopped Redis is a 503 in Coder's shape on
the same kept-alive connection, one log line when the outage starts and one when it ends,
health says so; a Redis that comes back empty is reported loudly and re-seeded without losing
a write answered since; two racing identical settings writes get one 200 and one 304."""

from __future__ import annotations

import http.client
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mock_server.config import MockConfig
from mock_server.server import MockServer
from tests.conftest import OWNER
from tests.helpers import run_threads
from tests.redis_server import RedisProcess, redis_process

SETTINGS = "/api/v2/notifications/settings"
PREFS = "/api/v2/users/me/notifications/preferences"
TEMPLATE = "f517da0b-cdc9-410f-ab89-a86107c420ed"
UNAVAILABLE = "The mock's state is unavailable."


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisProcess]:
    with redis_process(tmp_path) as server:
        yield server


@pytest.fixture
def mock(redis: RedisProcess) -> Iterator[MockServer]:
    with MockServer(MockConfig(state_url=redis.url, state_timeout=1.0)) as server:
        yield server


class Connection:
    """One kept-alive HTTP/1.1 connection: every call must come back on the same socket."""

    def __init__(self, mock: MockServer) -> None:
        self.http = http.client.HTTPConnection("127.0.0.1", int(mock.url.rsplit(":", 1)[1]),
                                               timeout=10)  # a guard against a hang
        self.http.connect()
        self.socket = self.http.sock

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Coder-Session-Token": OWNER, "Content-Type": "application/json"}
        self.http.request(method, path, body=None if body is None else json.dumps(body),
                          headers=headers)
        response = self.http.getresponse()
        content = response.read()
        assert response.getheader("Connection") != "close", "the connection was given up"
        assert self.http.sock is self.socket, "the server closed the connection"
        return response.status, json.loads(content) if content else None


def outage_lines(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "mock_server.state" and text in r.getMessage()]


@pytest.mark.parametrize("failure", ["kill", "pause"])
def test_a_failed_redis_is_a_503_on_the_same_connection_and_one_line_per_outage(
        redis: RedisProcess, mock: MockServer, caplog: pytest.LogCaptureFixture,
        failure: str) -> None:
    caplog.set_level(logging.INFO, logger="mock_server.state")
    connection = Connection(mock)
    assert connection.call("GET", SETTINGS)[0] == 200
    redis.kill() if failure == "kill" else redis.pause()
    calls = [("GET", SETTINGS, None), ("PUT", PREFS, {"template_disabled_map": {TEMPLATE: True}}),
             ("POST", "/api/v2/notifications/test", None), ("GET", "/__mock/outbox", None)]
    for method, path, body in calls * 2:
        status, answer = connection.call(method, path, body)
        assert status == 503, (method, path, answer)
        assert answer["message"] == UNAVAILABLE
        assert "unavailable" in answer["detail"]
    status, health = connection.call("GET", "/__mock/health")
    assert status == 503
    assert health["status"] == "unavailable"
    assert health["state"]["reachable"] is False
    assert len(outage_lines(caplog, "is unreachable")) == 1
    if failure == "kill":
        assert redis.start(), "restarted on the same port"
    else:
        redis.resume()
    assert connection.call("GET", SETTINGS)[0] == 200
    assert connection.call("GET", "/__mock/health")[0] == 200
    assert len(outage_lines(caplog, "is reachable again")) == 1
    assert len(outage_lines(caplog, "is unreachable")) == 1


def test_a_redis_that_lost_its_data_is_reported_and_reseeded_keeping_later_writes(
        redis: RedisProcess, mock: MockServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="mock_server.state")
    connection = Connection(mock)
    assert connection.call("PUT", SETTINGS, {"notifier_paused": True})[0] == 200
    seeded_inbox = connection.call("GET", "/api/v2/notifications/inbox")[1]["notifications"]
    redis.kill()
    assert redis.start()  # empty: no persistence
    written = {"template_disabled_map": {TEMPLATE: True}}
    assert connection.call("PUT", PREFS, written)[0] == 200, "answered after the loss"
    status, health = connection.call("GET", "/__mock/health")
    assert status == 200
    assert len(health["state"]["data_lost_at"]) == 1
    assert len(outage_lines(caplog, "LOST ITS DATA")) == 1
    assert [p["id"] for p in connection.call("GET", PREFS)[1]] == [TEMPLATE], "kept"
    inbox = connection.call("GET", "/api/v2/notifications/inbox")[1]["notifications"]
    assert inbox == seeded_inbox, "the fixture parts nobody wrote since are back"
    with MockServer(MockConfig(state_url=redis.url)) as replica:  # joins, seeds nothing over
        assert [p["id"] for p in Connection(replica).call("GET", PREFS)[1]] == [TEMPLATE]
        assert replica.store.data_lost == []


def test_two_racing_identical_settings_writes_get_one_200_and_one_304(
        redis: RedisProcess) -> None:
    patient = MockConfig(state_url=redis.url, state_timeout=10)  # a loaded machine is no outage
    with MockServer(patient) as first, MockServer(patient) as other:
        servers = (first, other)
        connections = [Connection(server) for server in servers]
        barrier = threading.Barrier(2)
        for round_ in range(20):
            statuses: list[int] = []

            def write(index: int, paused: bool = round_ % 2 == 0,
                      statuses: list[int] = statuses) -> None:
                barrier.wait()
                statuses.append(connections[index].call("PUT", SETTINGS,
                                                        {"notifier_paused": paused})[0])

            run_threads(2, write)
            assert sorted(statuses) == [200, 304], f"round {round_}"
