"""The journal's layer: every call, its caller, operation, fault and final status, as answered;
for a watch socket also its opening, each message sent and how it closed."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server.context import RequestContext, open_context
from mock_server.journal import Journal


class JournalMiddleware:
    """Record every HTTP call with its final status, including errors and CORS preflights, and
    every WebSocket handshake (as the GET it is) with what its socket did."""

    def __init__(self, app: ASGIApp, *, journal: Journal) -> None:
        self.app = app
        self.journal = journal
        self._writes: set[asyncio.Task[None]] = set()  # a socket's entries, being written

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        context = open_context(scope)
        started = time.perf_counter()
        status = 0
        if context.websocket is not None:
            context.websocket.listen(lambda kind, fields: self._record_soon(
                {**_entry(scope, context, 101, started), "websocket": kind, **fields}))

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            entry = _entry(scope, context, status, started)
            upgrade = context.websocket
            if upgrade is None:
                context.entry = entry
            else:
                entry = {**entry, **upgrade.summary()}
            await self.journal.record(entry)

    def _record_soon(self, entry: dict[str, Any]) -> None:
        """A socket's event, told synchronously, written by a task of its own (kept till done)."""
        task = asyncio.get_running_loop().create_task(self.journal.record(entry))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)


def _entry(scope: Scope, context: RequestContext, status: int,
           started: float) -> dict[str, Any]:
    caller = context.caller
    query = scope.get("query_string", b"").decode("latin-1")
    if context.websocket is not None and context.websocket.accepted:
        status = 101  # Switching Protocols, which no http.response.start reports
    return {
        "time": time.time(),
        "method": scope["method"],
        "path": scope["path"] + (f"?{query}" if query else ""),
        "operation_id": context.operation_id,
        "user": caller.user.username if caller else None,
        "status": None if context.dropped else status,
        "latency_ms": _latency_ms(started),
        "fault": context.fault,
    }


def restamped(entry: dict[str, Any], started: float) -> dict[str, Any]:
    """A recorded call's entry for the same call made again (a replayed answer): its time and
    latency are this call's."""
    return {**entry, "time": time.time(), "latency_ms": _latency_ms(started)}


def _latency_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
