"""Each kind of fault, from each source: control API, command line, Prefer header."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from mock_server.config import MockConfig
from mock_server.faults import Fault, FaultBook, FaultError, parse_fault, parse_prefer
from mock_server.server import MockServer
from tests.conftest import MEMBER, OWNER, auth

SETTINGS = "/api/v2/notifications/settings"
DISPATCH = "/api/v2/notifications/dispatch-methods"


@pytest.mark.parametrize(("spec", "fault"), [
    ("get-notifications-settings=503", Fault(operation_id="get-notifications-settings",
                                             status=503)),
    ("*=drop", Fault(drop=True)),
    ("update-notifications-settings@member=403,times=2",
     Fault(operation_id="update-notifications-settings", user="member", status=403, times=2)),
    ("*=500,percent=25%", Fault(status=500, percent=25)),
    ("*=latency=100-400", Fault(latency_ms=(100, 400))),
    ("get-user-by-name=latency=250,429", Fault(operation_id="get-user-by-name",
                                               latency_ms=(250, 250), status=429)),
])
def test_command_line_faults_parse(spec: str, fault: Fault) -> None:
    assert parse_fault(spec) == fault


@pytest.mark.parametrize(("spec", "message"), [
    ("settings", "expected OPERATION[@USER]=STATUS|drop"),
    ("*=teapot", "unknown part 'teapot'"),
    ("*=500,times=many", "'times=many' is not a number"),
    ("*=200", "must be an error status"),
    ("*=500,times=0", "times 0 must be at least 1"),
    ("*=500,percent=150", "percent 150.0 must be above 0 and at most 100"),
    ("*=latency=fast", "expected milliseconds"),
])
def test_bad_command_line_faults_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(FaultError) as raised:
        parse_fault(spec)
    assert message in str(raised.value)


@pytest.mark.parametrize(("header", "fault"), [
    ("status=503", Fault(status=503)),
    ("code=429", Fault(status=429)),
    ("respond-async, status=500", Fault(status=500)),
    ("latency=120", Fault(latency_ms=(120, 120))),
    ("latency=10-30; drop", Fault(latency_ms=(10, 30), drop=True)),
    ("return=minimal", None),
])
def test_prefer_headers_parse(header: str, fault: Fault | None) -> None:
    assert parse_prefer(header) == fault


def test_percent_faults_fire_on_that_share_of_calls() -> None:
    draws = iter([0.10, 0.40, 0.24, 0.99])
    book = FaultBook(rng=lambda: next(draws))
    book.add(Fault(status=500, percent=25))
    assert [book.take("get-notifications-settings", None) is not None
            for _ in range(4)] == [True, False, True, False]


def test_counted_faults_go_away_after_their_last_call() -> None:
    book = FaultBook()
    book.add(Fault(status=500, times=2))
    assert [book.take("x", None) is not None for _ in range(3)] == [True, True, False]
    assert book.faults() == []


@pytest.fixture
def faulty() -> Iterator[httpx.Client]:
    """A live mock with faults from its configuration (the --fault/--latency route)."""
    config = MockConfig(faults=("get-notifications-settings@member=503",
                                "get-notification-dispatch-methods=drop,times=1"),
                        latency="60")
    with MockServer(config) as mock, httpx.Client(base_url=mock.url, timeout=5) as client:
        yield client


def test_a_user_fault_hits_only_that_user(faulty: httpx.Client) -> None:
    hit = faulty.get(SETTINGS, headers=auth(MEMBER))
    assert hit.status_code == 503
    assert hit.json() == {"message": "Service Unavailable.",
                          "detail": "Injected by the mock (fault 1: status 503)."}
    assert faulty.get(SETTINGS, headers=auth(OWNER)).status_code == 200


def test_a_dropped_connection_gives_the_client_no_answer(faulty: httpx.Client) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        faulty.get(DISPATCH, headers=auth(OWNER))
    assert faulty.get(DISPATCH, headers=auth(OWNER)).status_code == 200


def test_global_latency_delays_every_call(faulty: httpx.Client) -> None:
    started = time.perf_counter()
    assert faulty.get(DISPATCH, headers={**auth(OWNER), "Prefer": "status=418"}).status_code \
        == 418
    assert time.perf_counter() - started < 0.06, "a Prefer fault replaces the configured ones"
    started = time.perf_counter()
    faulty.get(SETTINGS, headers=auth(OWNER))
    assert time.perf_counter() - started >= 0.06


@pytest.mark.parametrize(("prefer", "status"), [("status=500", 500), ("code=429", 429),
                                                ("status=503, latency=20", 503)])
def test_prefer_header_faults_one_call(live_mock: MockServer, prefer: str, status: int) -> None:
    with httpx.Client(base_url=live_mock.url, timeout=5) as client:
        hit = client.get(SETTINGS, headers={**auth(OWNER), "Prefer": prefer})
        assert hit.status_code == status
        assert hit.headers["content-type"] == "application/json; charset=utf-8"
        assert client.get(SETTINGS, headers=auth(OWNER)).status_code == 200
        journal = client.get("/__mock/journal", params={"limit": 2}).json()
        assert journal[0]["fault"].startswith("Prefer header: status")


def test_a_prefer_drop_is_journaled_without_a_status(live_mock: MockServer) -> None:
    with httpx.Client(base_url=live_mock.url, timeout=5) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.get(SETTINGS, headers={**auth(OWNER), "Prefer": "drop"})
        entry = client.get("/__mock/journal", params={"limit": 2}).json()[0]
        assert (entry["status"], entry["fault"]) == (None, "Prefer header: drop")


def test_faults_never_touch_the_control_api(live_mock: MockServer) -> None:
    with httpx.Client(base_url=live_mock.url, timeout=5) as client:
        client.post("/__mock/faults", json={"operation_id": "*", "drop": True})
        assert client.get("/__mock/faults").status_code == 200
        assert client.delete("/__mock/faults").status_code == 204
        assert client.get(SETTINGS, headers=auth(OWNER)).status_code == 200
