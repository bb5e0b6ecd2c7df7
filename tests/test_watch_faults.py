"""Faults on the inbox watch socket: the Fault model's `after_messages`, and what a refusal, a
drop (at once or after N messages) and a delay do to a real socket."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosedError, InvalidMessage

from mock_server.config import MockConfig
from mock_server.faults import Fault, FaultError, parse_fault, parse_prefer
from mock_server.middleware.watch import WATCH_PATH
from mock_server.server import MockServer
from tests.conftest import BOB
from tests.watching import (
    WAIT,
    closes_journaled,
    deliver,
    next_message,
    open_watch,
    refusal,
)

pytestmark = pytest.mark.anyio
WATCH = "watch-for-new-inbox-notifications"


@pytest.mark.parametrize(("spec", "fault"), [
    (f"{WATCH}=drop,after_messages=2", Fault(operation_id=WATCH, drop=True, after_messages=2)),
    (f"{WATCH}=drop,after_messages=0,times=1",
     Fault(operation_id=WATCH, drop=True, after_messages=0, times=1)),
    (f"{WATCH}=latency=250", Fault(operation_id=WATCH, latency_ms=(250, 250))),
    (f"{WATCH}@member=503", Fault(operation_id=WATCH, user="member", status=503)),
])
def test_socket_faults_parse_from_the_command_line(spec: str, fault: Fault) -> None:
    assert parse_fault(spec) == fault


@pytest.mark.parametrize(("spec", "message"), [
    (f"{WATCH}=503,after_messages=1", "after_messages 1 needs drop"),
    (f"{WATCH}=drop,after_messages=-1", "after_messages -1 must be at least 0"),
    (f"{WATCH}=drop,after_messages=x", "'after_messages=x' is not a number"),
])
def test_bad_socket_faults_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(FaultError, match=message):
        parse_fault(spec)


@pytest.mark.parametrize(("header", "fault"), [
    ("drop; after_messages=1", Fault(drop=True, after_messages=1)),
    ("drop", Fault(drop=True)),
    ("latency=40", Fault(latency_ms=(40, 40))),
])
def test_prefer_carries_socket_faults(header: str, fault: Fault) -> None:
    assert parse_prefer(header) == fault


def test_a_socket_fault_names_itself_and_round_trips_through_json() -> None:
    fault = Fault(operation_id=WATCH, drop=True, after_messages=3, id=7)
    assert fault.describe() == "fault 7: drop after 3 messages"
    assert Fault.from_json(fault.to_json()) == Fault(operation_id=WATCH, drop=True,
                                                     after_messages=3)


# On a real socket -------------------------------------------------------------------------


def add_fault(mock: MockServer, **fault: Any) -> dict[str, Any]:
    response = httpx.post(f"{mock.url}/__mock/faults", json={"operation_id": WATCH, **fault})
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_status_fault_refuses_the_upgrade_then_goes_away(live_mock: MockServer) -> None:
    add_fault(live_mock, status=503, times=1)
    refused = await refusal(live_mock)
    assert (refused.status, refused.json()["message"]) == (503, "Service Unavailable.")
    async with await open_watch(live_mock):
        pass
    sessions = [(e["status"], e["fault"], e["websocket"])
                for e in await closes_journaled(live_mock) if e["path"].startswith(WATCH_PATH)]
    assert sessions == [(503, "fault 1: status 503", "refused"), (101, None, "open"),
                        (101, None, "close")]


async def test_a_command_line_fault_refuses_the_upgrade() -> None:
    with MockServer(MockConfig(faults=(f"{WATCH}@member=500",))) as mock:
        assert (await refusal(mock)).status == 500
        async with await open_watch(mock, token=BOB):
            pass


async def test_a_drop_cuts_the_handshake_before_any_answer(live_mock: MockServer) -> None:
    with pytest.raises(InvalidMessage):
        await open_watch(live_mock, headers={"Prefer": "drop"})
    entry = (await live_mock.journal.entries())[-1]
    assert (entry["status"], entry["fault"]) == (None, "Prefer header: drop")


@pytest.mark.parametrize("after", [0, 1, 2])
async def test_a_drop_after_n_messages_cuts_the_socket_without_a_close_frame(
        live_mock: MockServer, after: int) -> None:
    add_fault(live_mock, drop=True, after_messages=after)
    socket = await open_watch(live_mock)
    received = []
    for _ in range(after):
        sent = await deliver(live_mock)
        received.append((await next_message(socket))["notification"]["id"])
        assert received[-1] == sent["id"]
    with pytest.raises(ConnectionClosedError):
        await asyncio.wait_for(socket.recv(), WAIT)
    assert socket.close_code == 1006  # abnormal closure: no close frame was sent
    close = (await closes_journaled(live_mock))[-1]
    assert (close["websocket"], close["messages"], close["closed_by"], close["status"]) == (
        "close", after, "drop", None)


async def test_browsers_fault_a_socket_through_mock_prefer(live_mock: MockServer) -> None:
    socket = await open_watch(live_mock, read_status="unread",
                              mock_prefer="drop; after_messages=1")
    await deliver(live_mock)
    await next_message(socket)
    with pytest.raises(ConnectionClosedError):
        await asyncio.wait_for(socket.recv(), WAIT)
    refused = await refusal(live_mock, mock_prefer="status=429")
    assert refused.status == 429
    bad = await refusal(live_mock, mock_prefer="drop; after_messages=x; status=600")
    assert (bad.status, bad.json()["message"]) == (400, "Invalid mock_prefer parameter.")


async def test_a_latency_fault_delays_every_message() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    with MockServer(MockConfig(faults=(f"{WATCH}=latency=250",)), sleep=sleep) as mock:
        async with await open_watch(mock) as socket:
            for _ in range(2):
                await deliver(mock)
                await next_message(socket)
    assert slept == [0.25, 0.25]  # per message; the upgrade itself was not delayed


def test_the_control_api_knows_the_sockets_operation(live_mock: MockServer) -> None:
    fault = add_fault(live_mock, drop=True, after_messages=2, times=1)
    assert (fault["operation_id"], fault["after_messages"]) == (WATCH, 2)
    response = httpx.post(f"{live_mock.url}/__mock/faults",
                          json={"operation_id": WATCH, "status": 503, "after_messages": 1})
    assert (response.status_code, response.json()["detail"]) == (
        400, "after_messages 1 needs drop: it is how many messages a watch socket sends before "
             "it is dropped")
