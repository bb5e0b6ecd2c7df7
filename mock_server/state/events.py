"""Inbox events: each inbox notification delivered, pushed to the watch sockets that want it.

An EventStorage (backend.py) carries events between processes: this process's memory, or Redis
pub/sub (redis_events.py). Either hands what arrives to a FanOut. Fan-out costs per socket, so
the FanOut does as little per socket as it can: one hand-over per event to each event loop that
serves the event's user (from whatever thread delivered it), one task per loop that takes the
events in order, and per event one `Memo` its receivers share, so that what is the same for
every socket of the user (the unread count, the frame of each format) is made once. Each
Subscription's receiver is awaited in turn and must not wait on its socket: a socket that
cannot take a frame at once buffers it (mock_server/outbox.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, TypeVar

from mock_server.state.model import InboxRow

logger = logging.getLogger(__name__)

Accepts = Callable[[InboxRow], bool]
T = TypeVar("T")


class Memo:
    """What the receivers of one event share: each value made once, by the first that asks."""

    __slots__ = ("_failures", "_values")

    def __init__(self) -> None:
        self._values: dict[Hashable, Any] = {}
        self._failures: dict[Hashable, Exception] = {}

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        """The value under `key`, made now if no receiver made it before."""
        if key not in self._values:
            self._values[key] = make()
        return self._values[key]  # type: ignore[no-any-return]

    async def get_async(self, key: Hashable, make: Callable[[], Awaitable[T]]) -> T:
        """The same, for a value that takes awaiting (the unread count is a state read); a
        failure is kept too, so an unreachable state costs one attempt per event, not per
        socket."""
        if key not in self._values:
            try:
                self._values[key] = await make()
            except Exception as exc:
                self._failures[key] = exc
                self._values[key] = None
        if key in self._failures:
            raise self._failures[key]
        return self._values[key]  # type: ignore[no-any-return]


Receiver = Callable[[InboxRow, Memo], Awaitable[None]]


class Subscription:
    """One watch socket's interest: its user, its filters, and who receives what passes."""

    def __init__(self, user_id: str, accepts: Accepts, receiver: Receiver,
                 on_close: Callable[[Subscription], Awaitable[None]]) -> None:
        self.user_id = user_id
        self.accepts = accepts
        self.receiver = receiver
        self.loop = asyncio.get_running_loop()  # the loop its socket is served on
        self.closed = False
        self._on_close = on_close

    async def close(self) -> None:
        """Stop receiving (the socket is closing); a second call does nothing."""
        if not self.closed:
            self.closed = True
            await self._on_close(self)


class LoopFanOut:
    """The subscriptions served on one event loop, and the one task that feeds them events."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.by_user: dict[str, list[Subscription]] = {}
        self._events: deque[InboxRow] = deque()
        self._worker: asyncio.Task[None] | None = None

    def hand_over(self, row: InboxRow) -> None:
        """From any thread: the event joins this loop's queue (a closed loop has no sockets)."""
        try:
            here = asyncio.get_running_loop() is self.loop
        except RuntimeError:
            here = False
        if here:
            self._take(row)
            return
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self._take, row)

    def _take(self, row: InboxRow) -> None:
        self._events.append(row)
        if self._worker is None:
            self._worker = self.loop.create_task(self._drain(), name="inbox-fan-out")

    async def _drain(self) -> None:
        """Every queued event in order, each to every receiver of its user before the next."""
        try:
            while self._events:
                await self._fan(self._events.popleft())
        finally:
            self._worker = None

    async def _fan(self, row: InboxRow) -> None:
        memo = Memo()
        for subscription in list(self.by_user.get(row["user_id"], ())):
            if subscription.closed:
                continue
            try:
                if subscription.accepts(row):
                    await subscription.receiver(row, memo)
            except Exception:  # one socket's failure is its own; the others still get the event
                logger.exception("inbox event %s: a watch socket's receiver failed", row["id"])


class FanOut:
    """This process's subscriptions, by event loop and user; `deliver` from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loops: dict[asyncio.AbstractEventLoop, LoopFanOut] = {}
        self._count = 0

    def add(self, subscription: Subscription) -> None:
        """Start handing events to `subscription` (on its own loop)."""
        with self._lock:
            hub = self._loops.get(subscription.loop)
            if hub is None:
                hub = self._loops[subscription.loop] = LoopFanOut(subscription.loop)
            hub.by_user.setdefault(subscription.user_id, []).append(subscription)
            self._count += 1

    def remove(self, subscription: Subscription) -> int:
        """Stop handing events to `subscription`; how many remain."""
        with self._lock:
            hub = self._loops.get(subscription.loop)
            mine = hub.by_user.get(subscription.user_id, []) if hub is not None else []
            if subscription in mine:
                mine.remove(subscription)
                self._count -= 1
            if hub is not None and not mine:
                hub.by_user.pop(subscription.user_id, None)
                if not hub.by_user:
                    del self._loops[subscription.loop]
            return self._count

    def deliver(self, row: InboxRow) -> None:
        """Hand one event to every loop that serves a socket of its user."""
        with self._lock:
            hubs = [hub for hub in self._loops.values() if row["user_id"] in hub.by_user]
        for hub in hubs:
            hub.hand_over(row)


class MemoryEvents:
    """EventStorage in this process: publishing is delivering to this process's sockets."""

    def __init__(self) -> None:
        self._fanout = FanOut()

    async def publish(self, rows: Sequence[InboxRow]) -> None:
        """Deliver each row now, from whatever thread recorded it."""
        for row in rows:
            self._fanout.deliver(row)

    async def subscribe(self, user_id: str, accepts: Accepts,
                        receiver: Receiver) -> Subscription:
        """Events from now on; nothing published before is replayed."""
        subscription = Subscription(user_id, accepts, receiver, self._unsubscribe)
        self._fanout.add(subscription)
        return subscription

    async def _unsubscribe(self, subscription: Subscription) -> None:
        self._fanout.remove(subscription)
