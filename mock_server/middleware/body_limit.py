"""The request body's bounds: its size (413) and how long it may take to arrive (408).

A body over the limit is answered 413 as soon as that is known (by Content-Length up front, or
while it streams in), and the connection then closes. Closing at once would reset the
connection under a client still sending (Python's http.client and Node's fetch send the whole
body before they read): the kernel answers unread bytes with a reset, and the client never
sees the 413. So the answer is written first, then up to DRAIN_BYTES of the rest are read and
discarded (for at most DRAIN_SECONDS), and only then does the response end, with
`Connection: close`. A client that asked `Expect: 100-continue` sends no body after a final
answer, so nothing is drained for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server import errors

DRAIN_BYTES = 16 * 1024 * 1024  # a client sending more than this sees a reset after the 413
DRAIN_SECONDS = 10.0


class _Refused(Exception):
    """Raised out of the app from the body's receive: the answer this layer sends instead."""

    def __init__(self, error: errors.CoderError, *, drain: bool) -> None:
        super().__init__(error.message)
        self.error = error
        self.drain = drain


class _Body:
    """The app's receive, counted and timed until the body is complete; then passed through
    (later receives wait for the client to leave, which takes as long as it takes)."""

    def __init__(self, receive: Receive, *, limit: int, timeout: float) -> None:
        self._receive = receive
        self.limit = limit
        self.timeout = timeout
        self.received = 0
        self.complete = False
        self._deadline: float | None = None

    async def receive(self) -> Message:
        if self.complete:
            return await self._receive()
        loop = asyncio.get_running_loop()
        if self._deadline is None:
            self._deadline = loop.time() + self.timeout
        try:
            async with asyncio.timeout_at(self._deadline):
                message = await self._receive()
        except TimeoutError:
            raise _Refused(errors.request_timeout(
                f"The request body did not arrive within {self.timeout:g} s "
                f"(--body-timeout); {self.received} bytes came."), drain=False) from None
        self.received += len(message.get("body", b""))
        if self.received > self.limit:
            raise _Refused(errors.payload_too_large(self.limit),
                           drain=bool(message.get("more_body")))
        self.complete = message["type"] != "http.request" or not message.get("more_body")
        return message


class BodyLimitMiddleware:
    """Refuse bodies over `limit` bytes, or slower than `timeout` seconds, then close."""

    def __init__(self, app: ASGIApp, *, limit: int, timeout: float,
                 paths: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.timeout = timeout
        self.paths = dict(paths or {})  # a limit of their own (PUT /__mock/state: any state)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.paths.get(scope["path"], self.limit)
        drain, too_large = True, False  # one pass over the headers
        for name, value in scope["headers"]:
            if name == b"expect" and value.lower() == b"100-continue":
                drain = False
            elif name == b"content-length" and value.isdigit() and int(value) > limit:
                too_large = True
        if too_large:
            await answer(errors.payload_too_large(limit), receive, send, drain=drain)
            return
        body = _Body(receive, limit=limit, timeout=self.timeout)
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, body.receive, tracked)
        except _Refused as refused:
            if started:  # an answer is under way: ending it unfinished is all that is left
                return
            await answer(refused.error, receive, send, drain=drain and refused.drain)


async def answer(error: errors.CoderError, receive: Receive, send: Send, *, drain: bool) -> None:
    """Send the refusal, read what the client still sends (bounded), then end the response;
    its `Connection: close` makes the server close the connection with nothing left unread."""
    start, content = error.asgi()
    await send(start)
    await send({"type": "http.response.body", "body": content, "more_body": True})
    if drain:
        await _drain(receive)
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _drain(receive: Receive) -> None:
    """Discard the rest of the body: up to DRAIN_BYTES, for up to DRAIN_SECONDS."""
    left = DRAIN_BYTES
    try:
        async with asyncio.timeout(DRAIN_SECONDS):
            while left > 0:
                message = await receive()
                if message["type"] != "http.request" or not message.get("more_body"):
                    return
                left -= len(message.get("body", b""))
    except TimeoutError:
        return
