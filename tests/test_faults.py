"""Each kind of fault, from each source: control API, command line, Prefer header."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from mock_server.app import create_app
from mock_server.config import MockConfig
from mock_server.faults import Fault, FaultBook, FaultError, combine, parse_fault, parse_prefer
from mock_server.server import MockServer
from tests.conftest import MEMBER, OWNER, auth
from tests.helpers import settled

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


def fired(book: FaultBook, operation_id: str = "get-notifications-settings") -> list[Fault]:
    """The faults that fire for one call (none: an empty list)."""
    outcome = settled(book.take(operation_id, None))
    return list(outcome.fired) if outcome else []


def test_percent_faults_fire_on_that_share_of_calls() -> None:
    draws = iter([0.10, 0.40, 0.24, 0.99])
    book = FaultBook(rng=lambda: next(draws))
    settled(book.add(Fault(status=500, percent=25)))
    assert [len(fired(book)) for _ in range(4)] == [1, 0, 1, 0]


def test_counted_faults_go_away_after_their_last_call() -> None:
    book = FaultBook()
    settled(book.add(Fault(status=500, times=2)))
    assert [len(fired(book, "x")) for _ in range(3)] == [1, 1, 0]
    assert settled(book.faults()) == []


@asynccontextmanager
async def client_for(config: MockConfig) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client of a mock built from `config`."""
    transport = httpx.ASGITransport(app=MockServer(config).app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        yield client


@pytest.mark.anyio
async def test_a_user_fault_hits_only_that_user() -> None:
    async with client_for(MockConfig(faults=("get-notifications-settings@member=503",))) as client:
        hit = await client.get(SETTINGS, headers=auth(MEMBER))
        assert hit.status_code == 503
        assert hit.json() == {"message": "Service Unavailable.",
                              "detail": "Injected by the mock (fault 1: status 503)."}
        assert (await client.get(SETTINGS, headers=auth(OWNER))).status_code == 200


LATENCY, STATUS, DROP = Fault(latency_ms=(10, 30)), Fault(status=503), Fault(drop=True)


@pytest.mark.parametrize(("faults", "delay", "decider"), [
    ((), None, None),
    ((LATENCY,), 20.0, None),
    ((STATUS, LATENCY), 20.0, STATUS),
    ((LATENCY, DROP, STATUS), 20.0, DROP),
    ((Fault(status=500, latency_ms=(5, 5)), LATENCY, STATUS), 25.0, Fault(
        status=500, latency_ms=(5, 5))),
])
def test_combine_adds_every_delay_and_the_first_status_or_drop_decides(
        faults: tuple[Fault, ...], delay: float | None, decider: Fault | None) -> None:
    outcome = combine(faults, draw=lambda low, high: (low + high) / 2)
    assert (outcome.delay_ms, outcome.decider) == (delay, decider) if faults else outcome is None


def test_a_decided_call_does_not_use_up_later_status_faults() -> None:
    book = FaultBook()
    settled(book.add(Fault(status=503)))
    later = settled(book.add(Fault(status=500, times=1)))
    settled(book.add(Fault(latency_ms=(1, 1))))
    assert [f.status for f in fired(book)] == [503, None]
    assert later in settled(book.faults())


# Every ordering of a latency, a status and a drop fault (one, two or all three): the delays
# add, the first status or drop decides. Each source states the faults in its own form.
KINDS = {"latency": (7, None), "status": (0, 503), "drop": (0, None)}
ORDERINGS = [order for size in (1, 2, 3) for order in itertools.permutations(KINDS, size)]
CLI_FORM = {"latency": "*=latency=7", "status": "*=503", "drop": "*=drop"}
API_FORM = {"latency": {"latency_ms": 7}, "status": {"status": 503}, "drop": {"drop": True}}


def expected(order: tuple[str, ...]) -> tuple[list[float], int | None]:
    """The sleeps the call waits and the status it ends with (None: dropped)."""
    delay = sum(KINDS[kind][0] for kind in order)
    decider = next((kind for kind in order if kind != "latency"), None)
    status = {"status": 503, "drop": None, None: 200}[decider]
    return ([delay / 1000] if delay else []), status


async def sleeps_and_status(config: MockConfig, setup: list[dict[str, Any]],
                            headers: dict[str, str]) -> tuple[list[float], int | None]:
    """Call the settings once with these faults active; what was slept and answered."""
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    transport = httpx.ASGITransport(app=create_app(config, sleep=sleep))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        for fault in setup:
            assert (await client.post("/__mock/faults", json=fault)).status_code == 201
        # a dropped answer never completes: httpx's ASGI transport asserts that it did
        with contextlib.suppress(httpx.HTTPError, AssertionError):
            await client.get(SETTINGS, headers={**auth(OWNER), **headers})
        entry = (await client.get("/__mock/journal", params={"limit": 1})).json()[0]
        assert entry["path"] == SETTINGS
    return slept, entry["status"]


@pytest.mark.anyio
@pytest.mark.parametrize("source", ["command line", "control API"])
@pytest.mark.parametrize("order", ORDERINGS, ids="-".join)
async def test_faults_combine_the_same_whatever_their_order_and_source(
        source: str, order: tuple[str, ...]) -> None:
    if source == "command line":
        result = await sleeps_and_status(
            MockConfig(faults=tuple(CLI_FORM[kind] for kind in order)), [], {})
    else:
        result = await sleeps_and_status(MockConfig(), [API_FORM[kind] for kind in order], {})
    assert result == expected(order)


@pytest.mark.anyio
async def test_the_latency_option_adds_to_a_status_fault() -> None:
    """README's pairing: `--fault get-notifications-settings=503 --latency 5`."""
    config = MockConfig(faults=("get-notifications-settings=503",), latency="5")
    assert await sleeps_and_status(config, [], {}) == ([0.005], 503)


@pytest.mark.anyio
@pytest.mark.parametrize(("prefer", "result"), [
    ("latency=7", ([0.007], 200)), ("status=503", ([], 503)), ("drop", ([], None)),
    ("status=503, latency=7", ([0.007], 503)), ("latency=7; drop", ([0.007], None)),
])
async def test_a_prefer_fault_replaces_the_configured_ones(prefer: str, result: Any) -> None:
    config = MockConfig(faults=("*=429", "*=latency=400"))
    assert await sleeps_and_status(config, [], {"Prefer": prefer}) == result


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
