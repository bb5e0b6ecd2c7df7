"""The request journal: what each call was, who made it and how it was answered, newest last."""

from __future__ import annotations

import threading
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server import wire
from mock_server.context import RequestContext, open_context


class Journal:
    """A bounded log of calls, so a UI developer can see what their page sent."""

    def __init__(self, size: int = 1000) -> None:
        if size < 1:
            raise ValueError(f"journal size {size} must be at least 1")
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)
        self._lock = threading.Lock()

    def record(self, entry: dict[str, Any]) -> None:
        """Add one call; the oldest falls out when the journal is full."""
        with self._lock:
            self._entries.append(entry)

    def entries(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The last `limit` calls (all when None), oldest first; times rendered only now."""
        return [{**entry, "time": wire.format_time(datetime.fromtimestamp(entry["time"], UTC))}
                for entry in self._recent(limit)]

    def _recent(self, limit: int | None) -> list[dict[str, Any]]:
        """The stored entries behind `entries`, so a shared backend replaces only this."""
        with self._lock:
            entries = list(self._entries)
        return entries[-limit:] if limit else entries

    def clear(self) -> None:
        """Forget every call."""
        with self._lock:
            self._entries.clear()


class JournalMiddleware:
    """Record every HTTP call with its final status, including errors and CORS preflights."""

    def __init__(self, app: ASGIApp, *, journal: Journal) -> None:
        self.app = app
        self.journal = journal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        context = open_context(scope)
        started = time.perf_counter()
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            self.journal.record(_entry(scope, context, status, started))


def _entry(scope: Scope, context: RequestContext, status: int,
           started: float) -> dict[str, Any]:
    caller = context.caller
    query = scope.get("query_string", b"").decode("latin-1")
    return {
        "time": time.time(),
        "method": scope["method"],
        "path": scope["path"] + (f"?{query}" if query else ""),
        "operation_id": context.operation_id,
        "user": caller.user.username if caller else None,
        "status": None if context.dropped else status,
        "latency_ms": round((time.perf_counter() - started) * 1000, 3),
        "fault": context.fault,
    }
