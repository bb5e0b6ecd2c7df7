"""Driving the inbox watch socket from a test: open it, read its messages, deliver notifications,
and see how a refused handshake was answered. Every wait is bounded (a hang guard only)."""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from mock_server.server import MockServer
from tests.conftest import MEMBER

WAIT = 10.0  # seconds: guards against a hang, never a speed requirement
TEST_NOTIFICATION = "c425f63e-716a-4bf4-ae24-78348f706c3f"
WORKSPACE_DELETED = "f517da0b-cdc9-410f-ab89-a86107c420ed"
_unique = itertools.count()


@dataclass(frozen=True)
class Refusal:
    """How the server answered a handshake it did not upgrade."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body, as JSON."""
        return json.loads(self.body)


async def open_watch(mock: MockServer, token: str | None = MEMBER, *,
                     headers: dict[str, str] | None = None, **query: str) -> ClientConnection:
    """A watch socket on `mock` for `token` (sent as Coder's header; None sends none)."""
    sent = dict(headers or {})
    if token is not None:
        sent["Coder-Session-Token"] = token
    return await connect(mock.watch_url(**query), additional_headers=sent, open_timeout=WAIT,
                         close_timeout=WAIT)


async def refusal(mock: MockServer, token: str | None = MEMBER, *, path: str | None = None,
                  headers: dict[str, str] | None = None, **query: str) -> Refusal:
    """The HTTP answer to a handshake that must be refused (on the watch path, or `path`)."""
    url = mock.watch_url(**query)
    if path is not None:
        url = mock.url.replace("http://", "ws://", 1) + path
    sent = dict(headers or {})
    if token is not None:
        sent["Coder-Session-Token"] = token
    try:
        async with connect(url, additional_headers=sent, open_timeout=WAIT):
            pass
    except InvalidStatus as refused:
        response = refused.response
        headers = {name.lower(): value for name, value in response.headers.raw_items()}
        return Refusal(response.status_code, headers, bytes(response.body or b""))
    raise AssertionError(f"{url} was upgraded; a refusal was expected")


async def next_message(socket: ClientConnection) -> dict[str, Any]:
    """The next frame, which must be text holding one JSON message."""
    frame = await asyncio.wait_for(socket.recv(), WAIT)
    assert isinstance(frame, str), f"a binary frame: {frame!r}"
    assert frame.endswith("}\n"), "Go's json.Encoder ends every message with a newline"
    return json.loads(frame)


async def deliver(mock: MockServer, user: str = "member", template: str = TEST_NOTIFICATION,
                  **body: Any) -> dict[str, Any]:
    """Deliver a notification through the control API; the inbox message it made."""
    body.setdefault("data", {"unique": next(_unique)})  # never the same day's duplicate
    answer = await asyncio.to_thread(httpx.post, f"{mock.url}/__mock/notifications",
                                     json={"template_id": template, "user": user, **body},
                                     timeout=WAIT)
    assert answer.status_code == 201, answer.text
    receipt = answer.json()
    assert not receipt["duplicate"], receipt
    return next(m for m in receipt["messages"] if m["method"] == "inbox")


async def closes_journaled(mock: MockServer, count: int = 1) -> list[dict[str, Any]]:
    """The journal once `count` socket sessions have ended (the server writes the close entry
    when its side of the socket is done, which may be after the client's side)."""
    for _ in range(int(WAIT / 0.02)):
        entries = await mock.journal.entries()
        if sum(1 for entry in entries if entry.get("websocket") == "close") >= count:
            return entries
        await asyncio.sleep(0.02)
    entries = await mock.journal.entries()
    raise AssertionError(f"fewer than {count} socket sessions ended: {entries}")
