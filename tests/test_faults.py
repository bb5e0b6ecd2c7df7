"""Each kind of fault, from each source: control API, command line, Prefer header."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

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
    assert [len(book.take("get-notifications-settings", None))
            for _ in range(4)] == [1, 0, 1, 0]


def test_counted_faults_go_away_after_their_last_call() -> None:
    book = FaultBook()
    book.add(Fault(status=500, times=2))
    assert [len(book.take("x", None)) for _ in range(3)] == [1, 1, 0]
    assert book.faults() == []


@asynccontextmanager
async def client_for(config: MockConfig) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client of a mock built from `config`."""
    transport = httpx.ASGITransport(app=MockServer(config).app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.mark.anyio
async def test_a_user_fault_hits_only_that_user() -> None:
    async with client_for(MockConfig(faults=("get-notifications-settings@member=503",))) as client:
        hit = await client.get(SETTINGS, headers=auth(MEMBER))
        assert hit.status_code == 503
        assert hit.json() == {"message": "Service Unavailable.",
                              "detail": "Injected by the mock (fault 1: status 503)."}
        assert (await client.get(SETTINGS, headers=auth(OWNER))).status_code == 200


@pytest.mark.anyio
async def test_latency_and_status_faults_both_apply() -> None:
    async with client_for(MockConfig(latency="150")) as client:
        added = await client.post("/__mock/faults", json={
            "operation_id": "get-notifications-settings", "status": 503, "times": 1})
        assert added.status_code == 201, added.text
        started = time.perf_counter()
        hit = await client.get(SETTINGS, headers=auth(OWNER))
        assert (hit.status_code, time.perf_counter() - started >= 0.15) == (503, True)
        entry = (await client.get("/__mock/journal", params={"limit": 1})).json()[0]
        assert entry["fault"] == "fault 1: latency 150 ms; fault 2: status 503"
        assert (await client.get(SETTINGS, headers=auth(OWNER))).status_code == 200


@pytest.mark.anyio
async def test_a_prefer_fault_replaces_the_configured_ones() -> None:
    async with client_for(MockConfig(latency="400")) as client:
        started = time.perf_counter()
        hit = await client.get(DISPATCH, headers={**auth(OWNER), "Prefer": "status=418"})
        assert hit.status_code == 418
        assert time.perf_counter() - started < 0.3, "the configured latency still applied"
        started = time.perf_counter()
        assert (await client.get(DISPATCH, headers=auth(OWNER))).status_code == 200
        assert time.perf_counter() - started >= 0.4


@pytest.mark.anyio
@pytest.mark.parametrize(("prefer", "status"), [("status=500", 500), ("code=429", 429),
                                                ("status=503, latency=20", 503)])
async def test_prefer_header_faults_one_call(client: httpx.AsyncClient, prefer: str,
                                            status: int) -> None:
    hit = await client.get(SETTINGS, headers={**auth(OWNER), "Prefer": prefer})
    assert hit.status_code == status
    assert hit.headers["content-type"] == "application/json; charset=utf-8"
    assert (await client.get(SETTINGS, headers=auth(OWNER))).status_code == 200
    journal = (await client.get("/__mock/journal", params={"limit": 2})).json()
    assert journal[0]["fault"].startswith("Prefer header: status")


@pytest.mark.anyio
@pytest.mark.parametrize(("prefer", "detail"), [
    ("status=200", "status 200 must be an error status"),
    ("status=999", "status 999 must be an error status"),
    ("latency=500-100", "latency [500, 100] must be 0 <= min <= max"),
    ("latency=" + "9" * 300, "must be 0 <= min <= max <= 60000 milliseconds"),
])
async def test_a_bad_prefer_header_is_a_400(client: httpx.AsyncClient, prefer: str,
                                            detail: str) -> None:
    hit = await client.get(SETTINGS, headers={**auth(OWNER), "Prefer": prefer})
    assert hit.status_code == 400
    assert hit.json()["message"] == "Invalid Prefer header."
    assert detail in hit.json()["detail"]


@pytest.mark.anyio
async def test_faults_never_touch_the_control_api(client: httpx.AsyncClient) -> None:
    added = await client.post("/__mock/faults", json={"operation_id": "*", "status": 500})
    assert added.status_code == 201, added.text
    assert (await client.get("/__mock/faults")).status_code == 200
    assert (await client.get(SETTINGS, headers=auth(OWNER))).status_code == 500
    assert (await client.delete("/__mock/faults")).status_code == 204
    assert (await client.get(SETTINGS, headers=auth(OWNER))).status_code == 200


@pytest.mark.parametrize("how", ["fault", "prefer"])
def test_a_dropped_connection_gives_the_client_no_answer(how: str) -> None:
    config = MockConfig(faults=("get-notification-dispatch-methods=drop,times=1",)
                        if how == "fault" else ())
    headers = {**auth(OWNER), **({"Prefer": "drop"} if how == "prefer" else {})}
    with MockServer(config) as mock, httpx.Client(base_url=mock.url, timeout=5) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.get(DISPATCH, headers=headers)
        entry = client.get("/__mock/journal", params={"limit": 2}).json()[0]
        assert entry["status"] is None
        assert entry["fault"] == ("fault 1: drop" if how == "fault" else "Prefer header: drop")
        assert client.get(DISPATCH, headers=auth(OWNER)).status_code == 200
