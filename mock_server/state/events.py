"""Inbox events: each inbox notification delivered, pushed to the watch sockets that want it.

An EventStorage (backend.py) carries events between processes: this process's memory, or Redis
pub/sub (redis_events.py). Either hands what arrives to a FanOut, which gives each Subscription
(one watch socket) the rows of its user that pass its filters, on the socket's own event loop,
from whatever thread delivered them. As in Coder, a socket's buffer holds 10 events and an
event that finds it full is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable, Sequence

from mock_server.state.model import InboxRow

logger = logging.getLogger(__name__)

BUFFER = 10  # coderd: notificationCh := make(chan codersdk.InboxNotification, 10)
Accepts = Callable[[InboxRow], bool]


class Subscription:
    """One watch socket's events: its user's rows that pass its filters, at most 10 waiting."""

    def __init__(self, user_id: str, accepts: Accepts,
                 on_close: Callable[[Subscription], Awaitable[None]]) -> None:
        self.user_id = user_id
        self.dropped = 0  # events that found the buffer full
        self._accepts = accepts
        self._on_close = on_close
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[InboxRow] = asyncio.Queue(BUFFER)

    def offer(self, row: InboxRow) -> None:
        """Hand an event over from any thread; it is filtered on the socket's loop."""
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is listening any more
            self._loop.call_soon_threadsafe(self._put, row)

    def _put(self, row: InboxRow) -> None:
        if not self._accepts(row):
            return
        if self._queue.full():
            self.dropped += 1
            logger.error("failed to push consumed notification into websocket handler, "
                         "check latency (notification %s dropped)", row["id"])
            return
        self._queue.put_nowait(row)

    async def get(self) -> InboxRow:
        """The next event, waiting for one."""
        return await self._queue.get()

    async def close(self) -> None:
        """Stop receiving (the socket is closing)."""
        await self._on_close(self)


class FanOut:
    """This process's subscriptions; `deliver` may be called from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscriptions: set[Subscription] = set()

    def add(self, subscription: Subscription) -> None:
        """Start handing events to `subscription`."""
        with self._lock:
            self._subscriptions.add(subscription)

    def remove(self, subscription: Subscription) -> int:
        """Stop handing events to `subscription`; how many remain."""
        with self._lock:
            self._subscriptions.discard(subscription)
            return len(self._subscriptions)

    def deliver(self, row: InboxRow) -> None:
        """Offer one event to every subscription of its user."""
        with self._lock:
            mine = [s for s in self._subscriptions if s.user_id == row["user_id"]]
        for subscription in mine:
            subscription.offer(row)


class MemoryEvents:
    """EventStorage in this process: publishing is delivering to this process's sockets."""

    def __init__(self) -> None:
        self._fanout = FanOut()

    def publish(self, rows: Sequence[InboxRow]) -> None:
        """Deliver each row now, from whatever thread recorded it."""
        for row in rows:
            self._fanout.deliver(row)

    async def subscribe(self, user_id: str, accepts: Accepts) -> Subscription:
        """Events from now on; nothing published before is replayed."""
        subscription = Subscription(user_id, accepts, self._unsubscribe)
        self._fanout.add(subscription)
        return subscription

    async def _unsubscribe(self, subscription: Subscription) -> None:
        self._fanout.remove(subscription)
